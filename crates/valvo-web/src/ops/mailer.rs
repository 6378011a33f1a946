//! Sends the outbox's messages over SMTP: every instance runs a sender that
//! claims due messages (another instance's claim is never taken while it
//! holds), writes each in its recipient's language (subject and a link, no
//! report's text), sends it and marks it sent; a failure puts it back, due
//! again later, so nothing is lost while the mail server is down. Digests
//! gather a recipient's due messages into one. Every few minutes the sender
//! also scans for deadlines coming and passed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use valvo_core::Lang;
use valvo_i18n::Tr;
use valvo_store::Outgoing;

use crate::AppState;

/// How mail is sent.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465` (lettre's URL form).
    pub smtp_url: String,
    /// The sender (`Valvo <valvo@county.fi>`).
    pub from: String,
    /// The service's public address, for the links (`https://valvo.county.fi`).
    pub public_url: String,
    /// How often the outbox is looked at.
    pub interval: Duration,
    /// How often deadlines are scanned.
    pub scan_every: Duration,
}

impl MailSettings {
    /// Whether the URL and the sender can be used.
    pub fn check(&self) -> Result<(), String> {
        self.from
            .parse::<Mailbox>()
            .map_err(|e| format!("mail sender {:?}: {e}", self.from))?;
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.smtp_url)
            .map_err(|e| format!("SMTP URL: {e}"))?;
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err("mail needs the service's public address (--public-url)".into());
        }
        Ok(())
    }
}

/// A message as it is sent.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    /// Subject line.
    pub subject: String,
    /// Plain text.
    pub body: String,
}

fn langs(code: &str) -> Vec<Lang> {
    match code {
        "fi-sv" => vec![Lang::Fi, Lang::Sv],
        other => vec![Lang::parse(other).unwrap_or(Lang::Fi)],
    }
}

/// One message in its recipient's language(s).
pub fn write(m: &Outgoing, base: &str) -> Written {
    let langs = langs(&m.lang);
    let subject = langs
        .iter()
        .map(|l| Tr::new(*l).t(&format!("mail-{}-subject", m.kind)))
        .collect::<Vec<_>>()
        .join(" / ");
    let mut parts = Vec::new();
    for l in &langs {
        let tr = Tr::new(*l);
        let mut text = tr.t(&format!("mail-{}-body", m.kind));
        if !m.body.is_empty() {
            text.push_str("\n\n");
            text.push_str(&m.body);
        }
        if !m.link.is_empty() {
            text.push_str(&format!("\n\n{}", link(base, &m.link)));
        }
        text.push_str(&format!("\n\n-- \n{}", tr.t("mail-footer")));
        parts.push(text);
    }
    Written {
        subject: format!("Valvo: {subject}"),
        body: parts.join("\n\n========\n\n"),
    }
}

fn link(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// One digest of a recipient's messages.
pub fn write_digest(items: &[&Outgoing], base: &str) -> Written {
    let lang = items.first().map(|m| m.lang.as_str()).unwrap_or("fi");
    let langs = langs(lang);
    let subject = langs
        .iter()
        .map(|l| Tr::new(*l).t("mail-digest-subject"))
        .collect::<Vec<_>>()
        .join(" / ");
    let mut parts = Vec::new();
    for l in &langs {
        let tr = Tr::new(*l);
        let mut text = tr.t("mail-digest-body");
        text.push('\n');
        for m in items {
            text.push_str(&format!(
                "\n- {}: {}",
                tr.t(&format!("mail-{}-subject", m.kind)),
                link(base, &m.link)
            ));
        }
        text.push_str(&format!("\n\n-- \n{}", tr.t("mail-footer")));
        parts.push(text);
    }
    Written {
        subject: format!("Valvo: {subject}"),
        body: parts.join("\n\n========\n\n"),
    }
}

async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    to: &str,
    w: Written,
) -> Result<(), String> {
    let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
    let message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(w.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(w.body)
        .map_err(|e| format!("message: {e}"))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs the sender until the server drains.
pub async fn run(state: AppState, settings: MailSettings) {
    let (transport, from) = match (
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url),
        settings.from.parse::<Mailbox>(),
    ) {
        (Ok(t), Ok(f)) => (t.timeout(Some(Duration::from_secs(20))).build(), f),
        _ => {
            tracing::error!("mail settings unusable; no mail is sent");
            return;
        }
    };
    let sender = format!("{}-{}", std::process::id(), valvo_store::random_secret());
    let mut last_scan: Option<Instant> = None;
    while !state.draining() {
        if last_scan.is_none_or(|t| t.elapsed() >= settings.scan_every) {
            last_scan = Some(Instant::now());
            let today = valvo_core::period::finnish_time(time::OffsetDateTime::now_utc()).date();
            match state
                .store()
                .scan_deadlines(today, &state.config().deadlines)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(queued = n, "deadline reminders queued"),
                Err(e) => tracing::warn!(error = %e, "deadline scan failed"),
            }
            if let Err(e) = state.store().prune_outbox(90).await {
                tracing::warn!(error = %e, "outbox not pruned");
            }
        }
        // The lease outlasts the batch: 40 messages of at most 20 s each.
        let batch = match state.store().claim_outbox(&sender, 900, 40).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "outbox unreadable");
                Vec::new()
            }
        };
        let full = batch.len() == 40;
        let (digests, single): (Vec<&Outgoing>, Vec<&Outgoing>) =
            batch.iter().partition(|m| m.digest);
        let mut jobs: Vec<(Vec<i64>, String, Written)> = single
            .iter()
            .map(|m| {
                (
                    vec![m.id],
                    m.recipient.clone(),
                    write(m, &settings.public_url),
                )
            })
            .collect();
        let mut by_recipient: BTreeMap<&str, Vec<&Outgoing>> = BTreeMap::new();
        for m in digests {
            by_recipient
                .entry(m.recipient.as_str())
                .or_default()
                .push(m);
        }
        for (to, items) in by_recipient {
            jobs.push((
                items.iter().map(|m| m.id).collect(),
                to.to_string(),
                write_digest(&items, &settings.public_url),
            ));
        }
        for (ids, to, written) in jobs {
            let result = send(&transport, &from, &to, written).await;
            let store = state.store();
            let marked = match &result {
                Ok(()) => store.outbox_sent(&sender, &ids).await,
                Err(e) => {
                    tracing::warn!(error = %e, messages = ids.len(), "mail not sent; tried again later");
                    store.outbox_failed(&sender, &ids, e).await
                }
            };
            if let Err(e) = marked {
                tracing::warn!(error = %e, "outbox not updated");
            }
            metrics::counter!(
                "valvo_mail_total",
                "result" => if result.is_ok() { "sent" } else { "failed" }
            )
            .increment(1);
        }
        if !full {
            tokio::time::sleep(settings.interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: &str, lang: &str, body: &str, link: &str) -> Outgoing {
        Outgoing {
            id: 1,
            recipient: "a@x.fi".into(),
            lang: lang.into(),
            kind: kind.into(),
            link: link.into(),
            body: body.into(),
            digest: false,
            attempts: 0,
        }
    }

    #[test]
    fn every_kind_of_message_has_its_text_in_every_language() {
        let mut kinds = vec![
            "incident_new",
            "misconduct_new",
            "incident_forwarded",
            "incident_handled",
            "feedback_reply",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        for stem in [
            "incident",
            "misconduct",
            "action",
            "remark",
            "complaint",
            "correction",
        ] {
            kinds.push(format!("{stem}_due_soon"));
            kinds.push(format!("{stem}_overdue"));
        }
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            for kind in &kinds {
                for part in ["subject", "body"] {
                    let key = format!("mail-{kind}-{part}");
                    assert!(tr.has(&key), "{key} in {lang:?}");
                }
            }
            for key in ["mail-footer", "mail-digest-subject", "mail-digest-body"] {
                assert!(tr.has(key), "{key} in {lang:?}");
            }
        }
    }

    #[test]
    fn messages_are_written_in_the_recipients_language_with_a_link() {
        let w = write(
            &msg("misconduct_new", "sv", "", "/incidents/7"),
            "https://v.fi/",
        );
        assert!(w.subject.starts_with("Valvo: "));
        assert!(w.body.contains("https://v.fi/incidents/7"));
        assert!(!w.body.contains("mail-"), "{w:?}");
        let fi = write(
            &msg("misconduct_new", "fi", "", "/incidents/7"),
            "https://v.fi",
        );
        assert_ne!(w.subject, fi.subject);
        let both = write(
            &msg("incident_handled", "fi-sv", "", "/receipt"),
            "https://v.fi",
        );
        assert!(both.subject.contains(" / "));
        assert!(both.body.contains(&Tr::new(Lang::Sv).t("mail-footer")));
        let reply = write(
            &msg("feedback_reply", "fi", "Kiitos palautteesta!", ""),
            "https://v.fi",
        );
        assert!(reply.body.contains("Kiitos palautteesta!"));
    }
}
