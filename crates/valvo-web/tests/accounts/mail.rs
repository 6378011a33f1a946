//! Notifications by e-mail through a real SMTP server (aiosmtpd): queued in
//! the database with the event, kept while the server is down, sent once
//! when it is up, in the recipient's language, with a link and never the
//! report's text; digests, deadline reminders, replies to feedback senders
//! and the choice of how to hear.

use std::time::Duration;

use reqwest::StatusCode;
use valvo_core::access::{Principal, Role};
use valvo_core::feedback::{CaseKind, NewCase};
use valvo_core::incident::{Consequence, EventType, IncidentKind, NewIncident, ReporterRole};
use valvo_core::Lang;
use valvo_store::Notify;

use crate::support::oidc::free_port;
use crate::support::smtp::SmtpServer;
use crate::support::{fixture, TestApp};

const SECRET_TEXT: &str = "Lääkkeenjaossa sekaannus potilaan Matti M. kohdalla.";

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn incident(org: i64, kind: IncidentKind) -> NewIncident {
    NewIncident {
        org_unit_id: org,
        occurred_on: today(),
        occurred_time: None,
        place: String::new(),
        kind,
        event_type: EventType::defaults()[0].clone(),
        description: SECRET_TEXT.into(),
        consequence: Consequence::Mild,
        never_event: false,
        contributing_factors: String::new(),
        immediate_actions: String::new(),
        reporter_role: ReporterRole::Staff,
        reporter_name: None,
        reporter_contact: None,
    }
}

fn to(mails: &[crate::support::smtp::Mail], who: &str) -> Vec<crate::support::smtp::Mail> {
    mails
        .iter()
        .filter(|m| m.to.contains(who))
        .cloned()
        .collect()
}

#[tokio::test]
async fn handlers_hear_of_reports_and_deadlines_by_email_and_nothing_is_lost_while_the_server_is_down(
) {
    let smtp_port = free_port();
    let app = TestApp::spawn_with_addr(|c, addr| valvo_web::WebConfig {
        mail: Some(valvo_web::ops::mailer::MailSettings {
            smtp_url: format!("smtp://127.0.0.1:{smtp_port}"),
            from: "Valvo <valvo@county.test>".into(),
            public_url: format!("http://{addr}"),
            interval: Duration::from_millis(100),
            scan_every: Duration::from_secs(3600),
        }),
        ..c
    })
    .await;
    let f = fixture(&app).await;
    let sys = Principal::system("test");
    let s = &app.store;
    let sv = app
        .add_user("sv@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    let digest = app
        .add_user("digest@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    app.add_user("other@x.fi", Role::AreaManager, Some(f.area_a))
        .await;
    s.set_incident_handlers(&sys, f.unit_a1, &[sv, digest])
        .await
        .unwrap();
    let user = |id| async move {
        s.users()
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.id == id)
            .unwrap()
    };
    s.set_notify_prefs(&user(sv).await, Notify::Immediate, Lang::Sv)
        .await
        .unwrap();
    s.set_notify_prefs(&user(digest).await, Notify::Daily, Lang::Fi)
        .await
        .unwrap();

    // The mail server is down: the messages wait in the outbox.
    let (misconduct, _) = s
        .create_incident(
            None,
            &incident(f.unit_a1, IncidentKind::Misconduct),
            today(),
        )
        .await
        .unwrap();
    let mut waited = 0;
    loop {
        let outbox = s.outbox(100).await.unwrap();
        if outbox.len() == 2
            && outbox
                .iter()
                .all(|m| m.message.attempts >= 1 && m.last_error.is_some())
        {
            assert!(outbox.iter().all(|m| m.sent_at.is_none()));
            break;
        }
        waited += 1;
        assert!(waited < 100, "the sender tried and failed: {outbox:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Up again: each is sent once, after its wait (the first is a minute).
    let server = SmtpServer::start(smtp_port);
    app.sql("UPDATE outbox SET due_at = '2000-01-01T00:00:00Z' WHERE sent_at IS NULL")
        .await;
    let mails = server.wait_for(2).await;
    let link = app.url(&format!("/incidents/{misconduct}"));
    let sv_mail = &to(&mails, "sv@x.fi")[0];
    assert!(sv_mail.subject.contains("missförhållande"), "{sv_mail:?}");
    assert!(sv_mail.body.contains(&link), "{sv_mail:?}");
    assert!(sv_mail.from.contains("valvo@county.test"));
    // A misconduct report goes at once even to one who chose a digest; in Finnish.
    let fi_mail = &to(&mails, "digest@x.fi")[0];
    assert!(fi_mail.subject.contains("epäkohtailmoitus"), "{fi_mail:?}");
    for m in &mails {
        assert!(
            !m.body.contains("Matti") && !m.subject.contains("Matti"),
            "no report text: {m:?}"
        );
    }
    assert!(
        to(&mails, "other@x.fi").is_empty(),
        "only the named handlers"
    );

    // An incident that is no misconduct: at once to one, in the next day's digest to the other.
    let (plain, _) = s
        .create_incident(
            None,
            &incident(f.unit_a1, IncidentKind::ClientSafety),
            today(),
        )
        .await
        .unwrap();
    let mails = server.wait_for(3).await;
    assert_eq!(to(&mails, "sv@x.fi").len(), 2);
    assert_eq!(to(&mails, "digest@x.fi").len(), 1, "the digest waits");
    let waiting = s.outbox(100).await.unwrap();
    let queued = waiting.iter().find(|m| m.sent_at.is_none()).unwrap();
    assert!(queued.message.digest && queued.message.recipient == "digest@x.fi");
    assert!(
        queued.due_at > valvo_store::now_rfc3339(),
        "due at the next 07:00"
    );

    // Deadlines: a scan two days before the misconduct report's deadline
    // reminds (at once, and in the digest); after it, the overdue notice goes
    // at once to both. Scanning again queues nothing more.
    let policy = valvo_core::incident::DeadlinePolicy::default();
    let soon = today() + time::Duration::days(policy.misconduct_days - 1);
    assert_eq!(s.scan_deadlines(soon, &policy).await.unwrap(), 2);
    assert_eq!(s.scan_deadlines(soon, &policy).await.unwrap(), 0);
    let late = today() + time::Duration::days(policy.misconduct_days + 1);
    let queued_late = s.scan_deadlines(late, &policy).await.unwrap();
    assert_eq!(
        queued_late, 2,
        "overdue: the misconduct report, both handlers"
    );
    let mails = server.wait_for(6).await;
    let sv_mails = to(&mails, "sv@x.fi");
    assert!(
        sv_mails
            .iter()
            .any(|m| m.subject.contains("gått ut") && m.body.contains(&link)),
        "{sv_mails:?}"
    );
    assert!(to(&mails, "digest@x.fi")
        .iter()
        .any(|m| m.subject.contains("ylittynyt")));

    // Time passes to the digest: one message with both waiting items.
    app.sql("UPDATE outbox SET due_at = '2000-01-01T00:00:00Z' WHERE sent_at IS NULL")
        .await;
    let mails = server.wait_for(7).await;
    let digests: Vec<_> = to(&mails, "digest@x.fi")
        .into_iter()
        .filter(|m| m.subject.contains("koonti"))
        .collect();
    assert_eq!(digests.len(), 1, "{mails:?}");
    assert!(digests[0]
        .body
        .contains(&app.url(&format!("/incidents/{plain}"))));
    assert!(digests[0].body.contains(&link), "the reminder too");

    // A reply to a feedback sender who left an e-mail address, with the reply.
    let case = s
        .create_case(
            &sys,
            f.unit_a1,
            &NewCase {
                kind: CaseKind::Feedback,
                received_on: today(),
                due_on: today() + time::Duration::days(14),
                text: "Odotin kauan.".into(),
                contact: Some("sender@example.fi".into()),
            },
        )
        .await
        .unwrap();
    s.update_case(
        &sys,
        case,
        &valvo_store::CaseUpdate {
            reply: Some("Kiitos, olemme lisänneet aamuvuoroon hoitajan.".into()),
            ..Default::default()
        },
        today(),
    )
    .await
    .unwrap();
    let mails = server.wait_for(8).await;
    let reply = &to(&mails, "sender@example.fi")[0];
    assert!(reply.body.contains("lisänneet aamuvuoroon"), "{reply:?}");
    assert!(
        !reply.body.contains("Odotin kauan"),
        "not the sender's own text"
    );

    // One who turns e-mail off through their account page hears no more.
    let c = app.login("sv@x.fi").await;
    let r = app
        .post_form(
            &c,
            "/account/notify",
            &[("notify", "off"), ("notify_lang", "sv")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = c
        .get(app.url("/account?saved=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Ilmoitusasetukset tallennettu"));
    let before = s.outbox(1000).await.unwrap().len();
    s.create_incident(
        None,
        &incident(f.unit_a1, IncidentKind::ClientSafety),
        today(),
    )
    .await
    .unwrap();
    let after = s.outbox(1000).await.unwrap();
    assert_eq!(after.len(), before + 1, "only the digest reader's");
    assert!(after
        .iter()
        .all(|m| m.sent_at.is_some() || m.message.recipient != "sv@x.fi"));
    // Every message was sent exactly once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = server.messages();
    let sent = s
        .outbox(1000)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.sent_at.is_some())
        .count();
    assert_eq!(all.len(), 8);
    assert_eq!(sent, 9, "8 messages, one of them a digest of 2 items");
    // Sent messages are forgotten after 90 days; the one waiting is kept.
    app.sql("UPDATE outbox SET sent_at = '2000-01-01T00:00:00Z' WHERE sent_at IS NOT NULL")
        .await;
    // (The deadline reminders are kept, so an item overdue still is not told of again.)
    assert_eq!(s.prune_outbox(90).await.unwrap(), 5);
    assert_eq!(s.outbox(1000).await.unwrap().len(), 5);
    assert_eq!(s.scan_deadlines(late, &policy).await.unwrap(), 0);
    app.stop().await;
}
