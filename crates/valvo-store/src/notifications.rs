//! Notifications by e-mail: an outbox in the database. Messages are queued
//! in the same transaction as the event they tell of (a new report, a reply
//! to a feedback sender) or by the deadline scan, each under a key naming the
//! event and recipient, so that nothing is lost and nothing is queued twice;
//! senders on any instance claim due rows with a conditional update, send
//! them and mark them sent, or put them back with a later due time.
//!
//! The outbox keeps the kind of the message and a link, never a report's
//! text; the web layer writes the message in the recipient's language when
//! it is sent. A reply to a feedback sender keeps the reply (written for
//! that sender to read).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::Row;
use time::{Date, OffsetDateTime};
use valvo_core::incident::{DeadlinePolicy, IncidentKind};

use crate::{now, Result, Store, StoreError};

/// How a user wants to hear of reports and deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Notify {
    /// Each at once.
    Immediate,
    /// In one message a day (07:00 Finnish time); a misconduct report at once.
    Daily,
    /// In one message a week (Monday 07:00); a misconduct report at once.
    Weekly,
    /// Not at all.
    Off,
}

impl Notify {
    /// All choices.
    pub const ALL: [Notify; 4] = [
        Notify::Immediate,
        Notify::Daily,
        Notify::Weekly,
        Notify::Off,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Notify::Immediate => "immediate",
            Notify::Daily => "daily",
            Notify::Weekly => "weekly",
            Notify::Off => "off",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<Notify> {
        Notify::ALL.into_iter().find(|n| n.code() == s.trim())
    }
}

/// A message to send.
#[derive(Clone, Debug, Serialize)]
pub struct Outgoing {
    /// Id.
    pub id: i64,
    /// The address.
    pub recipient: String,
    /// `fi`, `sv` or `en`; `fi-sv` for someone whose language is unknown.
    pub lang: String,
    /// What it tells of (`incident_new`, `incident_overdue`, `feedback_reply`, …).
    pub kind: String,
    /// The page it points to (a path of the service).
    pub link: String,
    /// The text of a reply to a feedback sender; empty otherwise.
    pub body: String,
    /// Part of a digest.
    pub digest: bool,
    /// Tries so far.
    pub attempts: i64,
}

/// A queued message as the outbox holds it (for administrators and tests).
#[derive(Clone, Debug, Serialize)]
pub struct OutboxRow {
    /// The message.
    #[serde(flatten)]
    pub message: Outgoing,
    /// The event and recipient.
    pub dedupe_key: String,
    /// When it is (or was) due.
    pub due_at: String,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<String>,
}

fn outgoing_row(r: &sqlx::any::AnyRow) -> Result<Outgoing> {
    Ok(Outgoing {
        id: r.try_get("id")?,
        recipient: r.try_get("recipient")?,
        lang: r.try_get("lang")?,
        kind: r.try_get("kind")?,
        link: r.try_get("link")?,
        body: r.try_get("body")?,
        digest: r.try_get::<i64, _>("digest")? != 0,
        attempts: r.try_get("attempts")?,
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// When a digest of `notify` made at `now` is sent: the next 07:00 Finnish
/// time (daily), or the next Monday at 07:00 (weekly).
pub fn digest_due(notify: Notify, now: OffsetDateTime) -> OffsetDateTime {
    let local = valvo_core::period::finnish_time(now);
    let offset = local.offset();
    let mut day = local.date();
    let at = |d: Date| {
        d.with_hms(7, 0, 0)
            .map(|t| t.assume_offset(offset).to_offset(time::UtcOffset::UTC))
            .unwrap_or(now)
    };
    if at(day) <= now {
        day = day.next_day().unwrap_or(day);
    }
    if notify == Notify::Weekly {
        while day.weekday() != time::Weekday::Monday {
            day = day.next_day().unwrap_or(day);
        }
    }
    at(day)
}

/// One who is told.
#[derive(Clone, Debug)]
struct Recipient {
    user_id: i64,
    email: String,
    lang: String,
    notify: Notify,
}

/// The named incident handlers who want notifications: of one unit, or
/// (`None`) of every unit.
async fn handlers(
    conn: &mut AnyConnection,
    org: Option<i64>,
) -> Result<HashMap<i64, Vec<Recipient>>> {
    let rows = sqlx::query(
        "SELECT h.org_unit_id, u.id, u.email, u.lang, u.notify FROM incident_handlers h \
         JOIN users u ON u.id = h.user_id WHERE u.active = 1 AND u.notify <> 'off' \
         AND ($1 IS NULL OR h.org_unit_id = $1) ORDER BY h.org_unit_id, u.id",
    )
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: HashMap<i64, Vec<Recipient>> = HashMap::new();
    for row in rows {
        let notify: String = row.try_get("notify")?;
        out.entry(row.try_get("org_unit_id")?)
            .or_default()
            .push(Recipient {
                user_id: row.try_get("id")?,
                email: row.try_get("email")?,
                lang: row.try_get("lang")?,
                notify: Notify::parse(&notify).unwrap_or(Notify::Immediate),
            });
    }
    Ok(out)
}

/// Queues a message once: a second message under the same key is dropped.
/// Returns whether it was queued now.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    key: &str,
    recipient: &str,
    user_id: Option<i64>,
    lang: &str,
    kind: &str,
    link: &str,
    body: &str,
    digest: bool,
    due_at: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO outbox (dedupe_key, recipient, user_id, lang, kind, link, body, digest, created_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(key)
    .bind(recipient)
    .bind(user_id)
    .bind(lang)
    .bind(kind)
    .bind(link)
    .bind(body)
    .bind(i64::from(digest))
    .bind(now())
    .bind(due_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Tells the named handlers of `org` of an event: at once, or in their
/// digest (`urgent`: at once whatever they chose, as a misconduct report).
pub(crate) async fn tell_handlers(
    conn: &mut AnyConnection,
    org: i64,
    kind: &str,
    entity: i64,
    link: &str,
    urgent: bool,
) -> Result<usize> {
    let all = handlers(conn, Some(org)).await?;
    let Some(recipients) = all.get(&org) else {
        return Ok(0);
    };
    tell(
        conn,
        recipients,
        kind,
        entity,
        link,
        urgent,
        OffsetDateTime::now_utc(),
    )
    .await
}

async fn tell(
    conn: &mut AnyConnection,
    recipients: &[Recipient],
    kind: &str,
    entity: i64,
    link: &str,
    urgent: bool,
    now: OffsetDateTime,
) -> Result<usize> {
    let mut queued = 0;
    for r in recipients {
        let digest = !urgent && matches!(r.notify, Notify::Daily | Notify::Weekly);
        let due = if digest {
            digest_due(r.notify, now)
        } else {
            now
        };
        let key = format!("{kind}:{entity}:{}", r.user_id);
        if enqueue(
            conn,
            &key,
            &r.email,
            Some(r.user_id),
            &r.lang,
            kind,
            link,
            "",
            digest,
            &rfc3339(due),
        )
        .await?
        {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Whether `contact` is an e-mail address a message can go to.
pub fn is_email(contact: &str) -> bool {
    let c = contact.trim();
    match c.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !c.contains(char::is_whitespace)
                && c.len() <= 254
                && c.matches('@').count() == 1
        }
        None => false,
    }
}

/// How many days before a deadline handlers are reminded.
pub const REMIND_DAYS: i64 = 2;

impl Store {
    /// A user's notification choice and language.
    pub async fn notify_prefs(&self, user_id: i64) -> Result<(Notify, String)> {
        let row = sqlx::query("SELECT notify, lang FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let notify: String = row.try_get("notify")?;
        Ok((
            Notify::parse(&notify).unwrap_or(Notify::Immediate),
            row.try_get("lang")?,
        ))
    }

    /// Sets one's notification choice and language (audited).
    pub async fn set_notify_prefs(
        &self,
        user: &crate::User,
        notify: Notify,
        lang: valvo_core::Lang,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET notify = $1, lang = $2, lang_chosen = 1 WHERE id = $3")
            .bind(notify.code())
            .bind(lang.code())
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        crate::write::audit(
            &mut tx,
            &user.principal(),
            "set_notify",
            "user",
            &user.id.to_string(),
            user.scope,
            None,
            Some(serde_json::json!({ "notify": notify.code(), "lang": lang.code() })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues reminders of deadlines coming (within [`REMIND_DAYS`]) and
    /// passed, for the named handlers of the units: incident reports (the
    /// handling deadline of `policy`), their corrective actions, remarks and
    /// complaints, and the corrections a supervision visit asked for. Each
    /// reminder is queued once, however often (and on however many
    /// instances) the scan runs. Returns how many were queued now.
    pub async fn scan_deadlines(&self, today: Date, policy: &DeadlinePolicy) -> Result<usize> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let all = handlers(&mut tx, None).await?;
        if all.is_empty() {
            return Ok(0);
        }
        // (kind stem, entity, unit, link, deadline)
        let mut due: Vec<(&str, i64, i64, String, Date)> = Vec::new();
        let parse =
            |s: &str| Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok();
        let rows = sqlx::query(
            "SELECT id, org_unit_id, kind, reported_on FROM incidents \
             WHERE state IN ('new', 'in_handling', 'forwarded')",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let (id, org): (i64, i64) = (row.try_get("id")?, row.try_get("org_unit_id")?);
            let kind: String = row.try_get("kind")?;
            let reported: String = row.try_get("reported_on")?;
            if let (Some(kind), Some(reported)) = (IncidentKind::parse(&kind), parse(&reported)) {
                let stem = if kind == IncidentKind::Misconduct {
                    "misconduct"
                } else {
                    "incident"
                };
                due.push((
                    stem,
                    id,
                    org,
                    format!("/incidents/{id}"),
                    policy.deadline(kind, reported),
                ));
            }
        }
        let rows = sqlx::query(
            "SELECT a.id, a.incident_id, i.org_unit_id, a.due_on FROM incident_actions a \
             JOIN incidents i ON i.id = a.incident_id WHERE i.state IN ('new', 'in_handling', 'forwarded')",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let incident: i64 = row.try_get("incident_id")?;
            let d: String = row.try_get("due_on")?;
            if let Some(d) = parse(&d) {
                due.push((
                    "action",
                    row.try_get("id")?,
                    row.try_get("org_unit_id")?,
                    format!("/incidents/{incident}"),
                    d,
                ));
            }
        }
        let rows = sqlx::query(
            "SELECT id, org_unit_id, kind, due_on FROM feedback_cases \
             WHERE state <> 'handled' AND kind IN ('remark', 'complaint')",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let kind: String = row.try_get("kind")?;
            let d: String = row.try_get("due_on")?;
            let stem = if kind == "remark" {
                "remark"
            } else {
                "complaint"
            };
            if let Some(d) = parse(&d) {
                due.push((
                    stem,
                    id,
                    row.try_get("org_unit_id")?,
                    format!("/feedback/cases/{id}"),
                    d,
                ));
            }
        }
        let rows = sqlx::query(
            "SELECT f.id, f.visit_id, f.org_unit_id, f.correction_due FROM supervision_findings f \
             WHERE f.state = 'open' AND f.correction_due IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let visit: i64 = row.try_get("visit_id")?;
            let d: String = row.try_get("correction_due")?;
            if let Some(d) = parse(&d) {
                due.push((
                    "correction",
                    row.try_get("id")?,
                    row.try_get("org_unit_id")?,
                    format!("/supervision/visits/{visit}"),
                    d,
                ));
            }
        }
        let mut queued = 0;
        for (stem, id, org, link, deadline) in due {
            let Some(recipients) = all.get(&org) else {
                continue;
            };
            let days_left = (deadline - today).whole_days();
            let kind = if days_left < 0 {
                format!("{stem}_overdue")
            } else if days_left <= REMIND_DAYS {
                format!("{stem}_due_soon")
            } else {
                continue;
            };
            // A deadline passed is told at once; one coming in the digest.
            let urgent = days_left < 0;
            queued += tell(&mut tx, recipients, &kind, id, &link, urgent, now).await?;
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// Claims up to `limit` due messages for `sender` until `lease_secs`
    /// from now, and returns them. A conditional update: a row another
    /// sender holds (and has not let go of in time) is not taken, on any
    /// instance; on PostgreSQL rows being claimed are skipped, not waited for.
    pub async fn claim_outbox(
        &self,
        sender: &str,
        lease_secs: i64,
        limit: i64,
    ) -> Result<Vec<Outgoing>> {
        let now_t = OffsetDateTime::now_utc();
        let at = rfc3339(now_t);
        let until = rfc3339(now_t + time::Duration::seconds(lease_secs));
        let skip = match self.backend {
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 \
             WHERE sent_at IS NULL AND due_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) \
             AND id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND due_at <= $3 \
               AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY id LIMIT $4{skip})"
        ))
        .bind(sender)
        .bind(&until)
        .bind(&at)
        .bind(limit)
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "SELECT id, recipient, lang, kind, link, body, digest, attempts FROM outbox \
             WHERE claimed_by = $1 AND claimed_until = $2 AND sent_at IS NULL ORDER BY id",
        )
        .bind(sender)
        .bind(&until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(outgoing_row).collect()
    }

    /// Marks messages sent (those `sender` still holds).
    pub async fn outbox_sent(&self, sender: &str, ids: &[i64]) -> Result<()> {
        let at = now();
        for id in ids {
            sqlx::query(
                "UPDATE outbox SET sent_at = $1, claimed_until = NULL WHERE id = $2 AND claimed_by = $3 AND sent_at IS NULL",
            )
            .bind(&at)
            .bind(id)
            .bind(sender)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Puts messages back after a failure, due again after a wait that
    /// grows with the tries (1, 2, 4 … minutes, at most an hour).
    pub async fn outbox_failed(&self, sender: &str, ids: &[i64], error: &str) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        for id in ids {
            let row = sqlx::query("SELECT attempts FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            let attempts: i64 = match row {
                Some(r) => r.try_get("attempts")?,
                None => continue,
            };
            let wait = 60i64.saturating_mul(1 << attempts.clamp(0, 6)).min(3600);
            let due = rfc3339(OffsetDateTime::now_utc() + time::Duration::seconds(wait));
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $1, due_at = $2, \
                 claimed_by = NULL, claimed_until = NULL WHERE id = $3 AND claimed_by = $4 AND sent_at IS NULL",
            )
            .bind(&error)
            .bind(&due)
            .bind(id)
            .bind(sender)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Forgets messages sent more than `days` days ago (the audit log keeps
    /// the events; the outbox is only the way out). Returns how many.
    pub async fn prune_outbox(&self, days: i64) -> Result<u64> {
        let before = rfc3339(OffsetDateTime::now_utc() - time::Duration::days(days));
        // Deadline reminders are kept: their keys stop an item overdue for
        // longer from being told of again.
        let done = sqlx::query(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1 \
             AND kind NOT LIKE '%overdue' AND kind NOT LIKE '%due_soon'",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The outbox, newest first (at most `limit`).
    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "SELECT id, dedupe_key, recipient, lang, kind, link, body, digest, attempts, due_at, last_error, sent_at \
             FROM outbox ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxRow {
                    message: outgoing_row(r)?,
                    dedupe_key: r.try_get("dedupe_key")?,
                    due_at: r.try_get("due_at")?,
                    last_error: r.try_get("last_error")?,
                    sent_at: r.try_get("sent_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    #[test]
    fn digests_go_out_at_seven_finnish_time() {
        // Winter (UTC+2): 07:00 is 05:00 UTC.
        let d = digest_due(Notify::Daily, datetime!(2026-12-04 10:00 UTC));
        assert_eq!(d, datetime!(2026-12-05 05:00 UTC));
        let d = digest_due(Notify::Daily, datetime!(2026-12-04 04:59 UTC));
        assert_eq!(d, datetime!(2026-12-04 05:00 UTC));
        // Summer (UTC+3): 04:00 UTC. 2026-06-03 is a Wednesday.
        let d = digest_due(Notify::Weekly, datetime!(2026-06-03 12:00 UTC));
        assert_eq!(d, datetime!(2026-06-08 04:00 UTC));
        assert_eq!(d.weekday(), time::Weekday::Monday);
    }

    #[test]
    fn addresses() {
        assert!(is_email("anna@example.fi"));
        assert!(!is_email("040 123 4567"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@c.fi"));
        assert!(!is_email("a@@c.fi"));
    }
}
