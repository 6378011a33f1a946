//! Two real `valvo serve` processes on one PostgreSQL database, as a county
//! runs Valvo behind a load balancer, with concurrent clients through both:
//! handling and forwarding the same reports, forwarding both ways, first
//! follow-ups, answers to a unit just added through the other instance,
//! statistics read while answers keep arriving, invitations and form keys
//! answered through both in opposite orders, failed logins, and a graceful
//! drain. Every figure is compared with a direct count of the rows
//! it reflects; no request may fail with a server error.
//!
//! Runs with VALVO_TEST_DATABASE=postgres (the second pass of
//! `scripts/test`); on SQLite, where one process owns the file, the tests
//! say so and return.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[path = "../../valvo-web/tests/support/smtp.rs"]
#[allow(dead_code)]
mod smtp;

const BIN: &str = env!("CARGO_BIN_EXE_valvo");
const PASSWORD: &str = "instances test password";

struct Db {
    url: String,
    /// `None` for an SQLite file.
    pool: Option<sqlx::PgPool>,
}

impl Db {
    /// A fresh PostgreSQL database, or `None` on SQLite runs.
    async fn new(test: &str) -> Option<Db> {
        if !matches!(
            std::env::var("VALVO_TEST_DATABASE").as_deref(),
            Ok("postgres")
        ) {
            eprintln!("{test}: two instances need PostgreSQL (VALVO_TEST_DATABASE=postgres); skipped on SQLite");
            return None;
        }
        let base = std::env::var("VALVO_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let id = format!("{:016x}", rand::thread_rng().gen::<u64>());
        let url = format!("{}/valvo_test_{id}", base.trim_end_matches('/'));
        valvo_store::create_database(&url).await.unwrap();
        // Migrations first, so that the two servers start on the same schema.
        valvo_store::Store::connect(&url)
            .await
            .unwrap()
            .close()
            .await;
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        Some(Db {
            url,
            pool: Some(pool),
        })
    }

    /// A fresh SQLite file for processes sharing it, or `None` on
    /// PostgreSQL runs (where the other tests here run the same code).
    fn sqlite_file(test: &str) -> Option<Db> {
        if matches!(
            std::env::var("VALVO_TEST_DATABASE").as_deref(),
            Ok("postgres")
        ) {
            eprintln!("{test}: an SQLite file shared by processes; skipped on PostgreSQL");
            return None;
        }
        let id = format!("{:016x}", rand::thread_rng().gen::<u64>());
        let path = std::env::temp_dir().join(format!("valvo_test_{test}_{id}.db"));
        Some(Db {
            url: format!("sqlite://{}", path.display()),
            pool: None,
        })
    }

    fn pg(&self) -> &sqlx::PgPool {
        self.pool.as_ref().expect("a PostgreSQL database")
    }

    fn valvo(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("VALVO_DATABASE_URL", &self.url)
            .env("VALVO_LOG", "warn")
            .env("VALVO_PASSWORD", PASSWORD)
            .env_remove("VALVO_ADDR");
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.valvo().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "valvo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds an org unit with the command line; returns its id.
    fn org(&self, code: &str, parent: Option<&str>) -> i64 {
        let mut args = vec![
            "org",
            "add",
            "--code",
            code,
            "--name-fi",
            code,
            "--name-sv",
            code,
        ];
        if let Some(p) = parent {
            args.extend(["--parent", p]);
        }
        let out = self.run(&args);
        out.trim().rsplit(' ').next().unwrap().parse().unwrap()
    }

    /// Adds a goal with `n` tertial indicators to a unit; returns their ids.
    async fn tertial_indicators(&self, unit: i64, n: usize) -> Vec<i64> {
        let store = valvo_store::Store::connect(&self.url).await.unwrap();
        let sys = valvo_core::access::Principal::system("test");
        let goal = store
            .create_goal(
                &sys,
                unit,
                &valvo_core::plan::GoalInput {
                    area: valvo_core::plan::Area::Access,
                    year: 2024,
                    title: valvo_core::I18nText::new(
                        Some("Tavoite".into()),
                        Some("Mål".into()),
                        None,
                    ),
                },
            )
            .await
            .unwrap();
        let mut indicators = Vec::new();
        for i in 0..n {
            let ind = store
                .create_indicator(
                    &sys,
                    goal.id,
                    &valvo_core::plan::IndicatorInput {
                        name: valvo_core::I18nText::new(
                            Some(format!("Mittari {i}")),
                            Some(format!("Mätare {i}")),
                            None,
                        ),
                        unit: valvo_core::I18nText::default(),
                        direction: valvo_core::Direction::Higher,
                        baseline: Some(1.0),
                        target: Some(10.0),
                        target_max: None,
                        period_kind: valvo_core::PeriodKind::Tertial,
                        note: valvo_core::I18nText::default(),
                        code: None,
                        value_kind: Default::default(),
                        until_year: None,
                        min_value: None,
                        max_value: None,
                        reference: None,
                    },
                )
                .await
                .unwrap();
            indicators.push(ind.id);
        }
        store.close().await;
        indicators
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(self.pg())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    async fn drop(self) {
        if let Some(pool) = &self.pool {
            pool.close().await;
        }
        let _ = valvo_store::drop_database(&self.url).await;
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &Db, extra: &[&str]) -> Server {
        let mut cmd = db.valvo();
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--cookie-secure", "false"]);
        // Eight connections unless the test gives its own number.
        if !extra.contains(&"--db-pool-size") {
            cmd.args(["--db-pool-size", "8"]);
        }
        cmd.args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines.next().expect("server ended early").unwrap();
            if let Some(rest) = line.strip_prefix("Valvo listening on ") {
                let base = rest.trim_end_matches('/').to_string();
                std::thread::spawn(move || for _ in lines {});
                return Server { child, base };
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn stop(self) {}
}

impl Drop for Server {
    /// Also when a test fails: no server outlives its test.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .pool_max_idle_per_host(64)
        // Below the server's header timeout, which closes idle connections.
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Counts server errors seen by a test's clients.
#[derive(Default, Clone)]
struct Errors(Arc<AtomicUsize>);

impl Errors {
    fn check(&self, r: &reqwest::Response, what: &str) {
        if r.status().is_server_error() {
            eprintln!("{what}: {}", r.status());
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

fn admin_token(db: &Db) -> String {
    db.run(&[
        "user",
        "add",
        "--email",
        "admin@x.fi",
        "--name",
        "Admin",
        "--role",
        "admin",
    ]);
    db.run(&["token", "create", "--email", "admin@x.fi"])
        .trim()
        .to_string()
}

/// `GET /api/v1/feedback/stats` of a unit's current year through a server.
async fn year_stats(c: &reqwest::Client, s: &Server, token: &str, unit: i64) -> reqwest::Response {
    let year = time::OffsetDateTime::now_utc().year();
    c.get(s.url(&format!(
        "/api/v1/feedback/stats?org_unit={unit}&period={year}"
    )))
    .bearer_auth(token)
    .send()
    .await
    .unwrap()
}

/// The number of answers in a unit's current year, through a server.
async fn year_answers(c: &reqwest::Client, s: &Server, token: &str, unit: i64) -> i64 {
    let stats: Value = year_stats(c, s, token, unit).await.json().await.unwrap();
    stats["stats"]["current"]["answers"].as_i64().unwrap()
}

async fn report(c: &reqwest::Client, s: &Server, token: &str, org: i64) -> i64 {
    report_to(c, &s.base, token, org).await
}

/// A report through the instance at `base`.
async fn report_to(c: &reqwest::Client, base: &str, token: &str, org: i64) -> i64 {
    let r = c
        .post(format!("{base}/api/v1/incidents"))
        .bearer_auth(token)
        .json(&json!({
            "org_unit": org, "occurred_on": time::OffsetDateTime::now_utc().date().to_string(), "kind": "client_safety",
            "event_type": "medication", "consequence": "mild", "reporter_role": "staff",
            "description": "Väärä annos.", "anonymous": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// The incident aggregates as a direct count of the reports computes them:
/// every marginal (kind, event type, consequence, never event,
/// client-reported) per unit and month, and every handling time.
const DIRECT_MARGINALS: &str = "\
    SELECT org_unit_id, month, 'kind' AS dim, kind AS key, COUNT(*) AS n FROM incidents GROUP BY 1, 2, 3, 4 \
    UNION ALL SELECT org_unit_id, month, 'event_type', event_type, COUNT(*) FROM incidents GROUP BY 1, 2, 3, 4 \
    UNION ALL SELECT org_unit_id, month, 'consequence', consequence, COUNT(*) FROM incidents GROUP BY 1, 2, 3, 4 \
    UNION ALL SELECT org_unit_id, month, 'never_event', 'yes', COUNT(*) FROM incidents WHERE never_event = 1 GROUP BY 1, 2, 3, 4 \
    UNION ALL SELECT org_unit_id, month, 'client_reported', 'yes', COUNT(*) FROM incidents \
        WHERE reporter_role IN ('client', 'relative') GROUP BY 1, 2, 3, 4";
const DIRECT_HANDLING_DAYS: &str = "\
    SELECT org_unit_id, month, GREATEST(handled_on::date - reported_on::date, 0)::BIGINT AS days, COUNT(*) AS n \
    FROM incidents WHERE state = 'handled' GROUP BY 1, 2, 3";
const DIRECT_OPEN_SPANS: &str = "\
    SELECT org_unit_id, kind, reported_on, opened_on, COUNT(*) AS n FROM incident_spans \
    WHERE closed_on IS NULL GROUP BY 1, 2, 3, 4";
/// The closed spans that covered the last day of a month, by month.
const DIRECT_MONTH_ENDS: &str = "\
    SELECT s.org_unit_id, substr(e.d, 1, 7) AS month, s.kind, s.reported_on, COUNT(*) AS n \
    FROM incident_spans s JOIN (SELECT to_char(m + interval '1 month' - interval '1 day', 'YYYY-MM-DD') AS d \
        FROM generate_series(date_trunc('month', (SELECT MIN(opened_on)::date FROM incident_spans)), \
        (SELECT MAX(closed_on)::date FROM incident_spans), interval '1 month') m) e \
      ON s.opened_on <= e.d AND e.d < s.closed_on \
    GROUP BY 1, 2, 3, 4";

/// `direct` (unit first, count last) summed into every scope of its unit.
fn in_scopes(direct: &str, keys: &str) -> String {
    format!(
        "{SCOPES}, d AS ({direct}) \
         SELECT up.scope, {keys}, SUM(d.n)::BIGINT FROM d JOIN up ON up.unit = d.org_unit_id \
         GROUP BY up.scope, {keys}"
    )
}

/// Every incident aggregate row against a direct count of the reports it
/// reflects, both ways (a row too many or too few, a count off by one), and
/// the handling history (one open span for each open report, at its unit):
/// the differences (empty when right).
/// The rows of `kept` that `direct` lacks, and the other way round (the
/// first ten of each), labelled with `what`.
async fn except_both_ways(db: &Db, what: &str, kept: &str, direct: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (label, sql) in [
        (
            "kept but not counted",
            format!("SELECT CAST(x AS TEXT) FROM (({kept}) EXCEPT ({direct})) x"),
        ),
        (
            "counted but not kept",
            format!("SELECT CAST(x AS TEXT) FROM (({direct}) EXCEPT ({kept})) x"),
        ),
    ] {
        let rows: Vec<String> = sqlx::query_scalar(&sql)
            .fetch_all(db.pg())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        for r in rows.into_iter().take(10) {
            out.push(format!("{what} {label}: {r}"));
        }
    }
    out
}

async fn incident_differences(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    let pairs = [
        (
            "marginal",
            "SELECT scope_id, month, dim, key, n FROM incident_scope_marginals WHERE n <> 0",
            in_scopes(DIRECT_MARGINALS, "d.month, d.dim, d.key"),
        ),
        (
            "handling time",
            "SELECT scope_id, month, days, n FROM incident_scope_days WHERE n <> 0",
            in_scopes(DIRECT_HANDLING_DAYS, "d.month, d.days"),
        ),
        (
            "open span",
            "SELECT scope_id, kind, reported_on, opened_on, n FROM incident_open_spans WHERE n <> 0",
            in_scopes(DIRECT_OPEN_SPANS, "d.kind, d.reported_on, d.opened_on"),
        ),
        (
            "span at a month end",
            "SELECT scope_id, month, kind, reported_on, n FROM incident_month_ends WHERE n <> 0",
            in_scopes(DIRECT_MONTH_ENDS, "d.month, d.kind, d.reported_on"),
        ),
    ];
    for (what, agg, direct) in pairs {
        out.extend(except_both_ways(db, what, agg, &direct).await);
    }
    let checks = [
        (
            "open reports without exactly one open span at their unit",
            "SELECT COUNT(*) FROM incidents i WHERE i.state <> 'handled' AND (SELECT COUNT(*) FROM incident_spans s \
             WHERE s.incident_id = i.id AND s.closed_on IS NULL AND s.org_unit_id = i.org_unit_id) <> 1",
        ),
        (
            "open spans of handled reports or at another unit",
            "SELECT COUNT(*) FROM incident_spans s JOIN incidents i ON i.id = s.incident_id \
             WHERE s.closed_on IS NULL AND (i.state = 'handled' OR s.org_unit_id <> i.org_unit_id)",
        ),
        (
            "reports with two open spans",
            "SELECT COUNT(*) FROM (SELECT incident_id FROM incident_spans WHERE closed_on IS NULL \
             GROUP BY incident_id HAVING COUNT(*) > 1) t",
        ),
        (
            "spans that overlap another span of the same report",
            "SELECT COUNT(*) FROM incident_spans a JOIN incident_spans b ON a.incident_id = b.incident_id AND a.id < b.id \
             WHERE a.opened_on < COALESCE(b.closed_on, '9999') AND b.opened_on < COALESCE(a.closed_on, '9999')",
        ),
    ];
    for (what, sql) in checks {
        let n = db.scalar(sql).await;
        if n != 0 {
            out.push(format!("{n} {what}"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handling_and_forwarding_through_two_instances_count_each_report_once() {
    let Some(db) = Db::new("handling_and_forwarding").await else {
        return;
    };
    let token = admin_token(&db);
    db.org("county", None);
    let u4 = db.org("u4", Some("county"));
    let u5 = db.org("u5", Some("county"));
    let (a, b) = (Server::start(&db, &[]), Server::start(&db, &[]));
    let c = client();
    let errors = Errors::default();

    // 40 reports handled twice at once, once through each instance.
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(report(&c, &a, &token, u4).await);
    }
    let mut tasks = Vec::new();
    for &id in &ids {
        for s in [&a, &b] {
            let (c, url, token, errors) = (
                c.clone(),
                s.url(&format!("/api/v1/incidents/{id}/handling")),
                token.clone(),
                errors.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let r = c
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "state": "handled", "outcome": "Käsitelty." }))
                    .send()
                    .await
                    .unwrap();
                errors.check(&r, "handle");
                r.status()
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(incident_differences(&db).await, Vec::<String>::new());
    assert_eq!(
        db.scalar(&format!(
            "SELECT COALESCE(SUM(n), 0)::BIGINT FROM incident_scope_days WHERE scope_id = {u4}"
        ))
        .await,
        40
    );

    // The same 40 new reports forwarded 4 → 5 through both instances at
    // once, and 40 others 5 → 4 at the same time (opposite lock orders).
    let mut at4 = Vec::new();
    let mut at5 = Vec::new();
    for _ in 0..40 {
        at4.push(report(&c, &a, &token, u4).await);
        at5.push(report(&c, &b, &token, u5).await);
    }
    let mut tasks = Vec::new();
    for (list, to) in [(&at4, u5), (&at5, u4)] {
        for &id in list {
            let servers: &[&Server] = if to == u5 { &[&a, &b] } else { &[&b] };
            for s in servers {
                let (c, url, token, errors) = (
                    c.clone(),
                    s.url(&format!("/api/v1/incidents/{id}/handling")),
                    token.clone(),
                    errors.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let r = c
                        .post(url)
                        .bearer_auth(token)
                        .json(&json!({ "state": "forwarded", "forward_to": to }))
                        .send()
                        .await
                        .unwrap();
                    errors.check(&r, "forward");
                    r.status()
                }));
            }
        }
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap().as_u16()).or_default() += 1;
    }
    // Of each pair forwarding the same report, one moves it and the other
    // finds it at the target already (409, never a second move).
    assert_eq!(statuses.get(&200).copied().unwrap_or(0), 80, "{statuses:?}");
    assert_eq!(statuses.get(&409).copied().unwrap_or(0), 40, "{statuses:?}");
    assert_eq!(errors.count(), 0);
    assert_eq!(incident_differences(&db).await, Vec::<String>::new());
    let at = |u: i64| format!("SELECT COUNT(*) FROM incidents WHERE org_unit_id = {u}");
    assert_eq!(db.scalar(&at(u5)).await, 40);
    assert_eq!(db.scalar(&at(u4)).await, 80);

    // History imported through one instance and handled through the other:
    // spans that cover the last days of months, counted at each of them
    // (closed on import, and closed today after waiting since 2024).
    let file = "unit;reported_on;kind;event_type;consequence;state;handled_on\n\
        u4;2024-01-10;client_safety;other;mild;handled;2024-03-02\n\
        u4;2024-02-20;misconduct;other;no_harm;new;\n\
        u5;2024-05-31;work_safety;other;mild;handled;2024-06-01\n\
        u5;2024-06-30;work_safety;other;mild;new;\n";
    let r = c
        .post(b.url("/api/v1/incidents/import"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(incident_differences(&db).await, Vec::<String>::new());
    let ends = "SELECT COALESCE(SUM(n), 0)::BIGINT FROM incident_month_ends";
    assert!(db.scalar(ends).await > 0);
    let old: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM incidents WHERE reported_on < '2025-01-01' AND state = 'new' ORDER BY id",
    )
    .fetch_all(db.pg())
    .await
    .unwrap();
    assert_eq!(old.len(), 2);
    for id in old {
        let r = c
            .post(a.url(&format!("/api/v1/incidents/{id}/handling")))
            .bearer_auth(&token)
            .json(&json!({ "state": "handled", "outcome": "Käsitelty." }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(incident_differences(&db).await, Vec::<String>::new());
    // The one of 30.6.2024 waited at the end of every month since, and
    // counts there in its unit and in the county.
    let june = "SELECT COALESCE(SUM(n), 0)::BIGINT FROM incident_month_ends \
        WHERE reported_on = '2024-06-30' AND month = '2024-06'";
    assert_eq!(db.scalar(june).await, 2);

    // The statistics through either instance agree with the rows.
    let year = time::OffsetDateTime::now_utc().year();
    for s in [&a, &b] {
        for (unit, n) in [(u5, 40), (u4, 80)] {
            assert_eq!(db.scalar(&at(unit)).await, n + 2);
            let stats: Value = c
                .get(s.url(&format!(
                    "/api/v1/incidents/stats?org_unit={unit}&period={year}"
                )))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(stats["stats"]["total"], n, "{stats}");
        }
    }
    a.stop();
    b.stop();
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_follow_ups_through_two_instances_make_one_row() {
    let Some(db) = Db::new("first_follow_ups").await else {
        return;
    };
    let token = admin_token(&db);
    db.org("county", None);
    let unit = db.org("u1", Some("county"));
    let indicators = db.tertial_indicators(unit, 20).await;
    let (a, b) = (Server::start(&db, &[]), Server::start(&db, &[]));
    let c = client();
    let errors = Errors::default();
    let mut tasks = Vec::new();
    for &id in &indicators {
        for (k, s) in [&a, &b].into_iter().enumerate() {
            let (c, url, token, errors) = (
                c.clone(),
                s.url(&format!("/api/v1/indicators/{id}/follow-ups/2024T1")),
                token.clone(),
                errors.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let r = c
                    .put(url)
                    .bearer_auth(token)
                    .json(&json!({ "value": 5 + k }))
                    .send()
                    .await
                    .unwrap();
                errors.check(&r, "follow-up");
                r.status().as_u16()
            }));
        }
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(errors.count(), 0, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM follow_ups").await, 20);
    assert_eq!(
        db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'follow_up' AND action = 'create'"
        )
        .await,
        20
    );
    a.stop();
    b.stop();
    db.drop().await;
}

async fn login_client(base: &str, email: &str, password: &str) -> (reqwest::Client, StatusCode) {
    let c = client();
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = "name=\"token\" value=\"";
    let start = page.find(needle).unwrap() + needle.len();
    let token = page[start..].split('"').next().unwrap().to_string();
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("token", token.as_str()),
            ("next", "/"),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (c, r.status())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_to_a_unit_just_added_through_the_other_instance_count_in_its_area_and_county() {
    let Some(db) = Db::new("answers_to_a_new_unit").await else {
        return;
    };
    let token = admin_token(&db);
    let county = db.org("county", None);
    let area = db.org("area", Some("county"));
    let (a, b) = (Server::start(&db, &[]), Server::start(&db, &[]));
    let c = client();
    // B reads the tree now, so its cache is warm and does not know the new unit.
    let r = c
        .get(b.url("/api/v1/org-units"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The unit is added through A's form.
    let (admin, status) = login_client(&a.base, "admin@x.fi", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let front = admin
        .get(a.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = "name=\"csrf\" value=\"";
    let start = front.find(needle).unwrap() + needle.len();
    let csrf = front[start..].split('"').next().unwrap().to_string();
    let r = admin
        .post(a.url(&format!("/org/{area}/units/new")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("code", "fresh"),
            ("name_fi", "Uusi yksikkö"),
            ("name_sv", "Ny enhet"),
            ("producer", "own"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let fresh = db
        .scalar("SELECT id FROM org_units WHERE code = 'fresh'")
        .await;
    // At once, 40 answers to it through B (and its public page through B).
    let errors = Errors::default();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (c, url, token, errors) = (
            c.clone(),
            b.url("/api/v1/feedback/answers"),
            token.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = c
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "org_unit": fresh, "nps": i % 11, "text": "Hyvä palvelu, kiitos." }))
                .send()
                .await
                .unwrap();
            errors.check(&r, "answer");
            r.status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    let year = time::OffsetDateTime::now_utc().year();
    for s in [&b, &a] {
        for (org, what) in [(fresh, "unit"), (area, "area"), (county, "county")] {
            let stats: Value = c
                .get(s.url(&format!(
                    "/api/v1/feedback/stats?org_unit={org}&period={year}"
                )))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                stats["stats"]["current"]["answers"], 40,
                "{what} through {}: {stats}",
                s.base
            );
        }
    }
    // The comments' counts too, in every scope.
    for org in [fresh, area, county] {
        assert_eq!(
            db.scalar(&format!(
                "SELECT COALESCE(SUM(n), 0)::BIGINT FROM feedback_text_agg WHERE scope_id = {org} AND topic = '' AND LENGTH(month) = 7"
            ))
            .await,
            40,
            "comments of {org}"
        );
    }
    assert_eq!(errors.count(), 0);
    a.stop();
    b.stop();
    db.drop().await;
}

/// Two processes on one SQLite file (a second server, or a command run
/// beside the server): each adds pending answers to the aggregates, reading
/// and counting them before it asks for the write lock and claiming them in
/// it with a conditional update, so that an answer the other added
/// meanwhile is not added twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_sqlite_file_add_every_answer_once() {
    let Some(db) = Db::sqlite_file("two_processes") else {
        return;
    };
    let token = admin_token(&db);
    let county = db.org("county", None);
    let units = [db.org("u1", Some("county")), db.org("u2", Some("county"))];
    // The second with the smallest pool there is (two connections): its
    // ingest and its aggregator share them under load.
    let servers = [
        Server::start(&db, &[]),
        Server::start(&db, &["--db-pool-size", "2"]),
    ];
    let c = client();
    let acked = Arc::new(AtomicUsize::new(0));
    let errors = Errors::default();
    let until = Instant::now() + Duration::from_secs(4);
    let mut writers = Vec::new();
    for w in 0..32usize {
        let (c, token, acked, errors) = (c.clone(), token.clone(), acked.clone(), errors.clone());
        let url = servers[w % 2].url("/api/v1/feedback/answers");
        let unit = units[w / 2 % 2];
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < until {
                let respondent = ["client", "relative"][i % 2];
                let age_group = ["18-34", "65-74", "75+"][i % 3];
                let r = c
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({
                        "org_unit": unit,
                        "nps": (w + i) % 11,
                        "respondent": respondent,
                        "age_group": age_group,
                        "scores": { "safe": 1 + (w + i) % 5 },
                    }))
                    .send()
                    .await
                    .unwrap();
                errors.check(&r, "answer");
                if r.status() == StatusCode::CREATED {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                i += 1;
            }
        }));
    }
    // Statistics read meanwhile through both: each read adds what is
    // pending first, racing the other process's aggregator.
    while Instant::now() < until {
        for s in &servers {
            let r = year_stats(&c, s, &token, county).await;
            errors.check(&r, "statistics");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.load(Ordering::SeqCst) as i64;
    assert_eq!(errors.count(), 0);
    assert!(acked > 100, "only {acked} answers acknowledged");
    eprintln!("{acked} answers through two processes on one SQLite file");
    for s in &servers {
        assert_eq!(year_answers(&c, s, &token, county).await, acked);
    }
    drop(servers);
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let scalar = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    };
    assert_eq!(scalar("SELECT COUNT(*) FROM feedback_answers").await, acked);
    assert_eq!(
        scalar("SELECT COUNT(*) FROM feedback_answers WHERE pending = 1").await,
        0
    );
    // Every answer counted once: in the county's and each unit's totals,
    // and in the totals and counts by stratum, kept apart by every writer.
    assert_eq!(
        scalar(
            "SELECT SUM(b0) FROM feedback_totals WHERE item = '_answers' \
             AND scope_id = (SELECT id FROM org_units WHERE code = 'county') \
             AND LENGTH(month) = 4"
        )
        .await,
        acked
    );
    assert_eq!(
        scalar(
            "SELECT SUM(b0) FROM feedback_totals WHERE item = '_answers' \
             AND scope_id IN (SELECT id FROM org_units WHERE code IN ('u1', 'u2')) \
             AND LENGTH(month) = 4"
        )
        .await,
        acked
    );
    let differences = scalar(
        "SELECT COUNT(*) FROM (\
         SELECT scope_id, month, item, SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), \
         SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs) FROM feedback_agg GROUP BY 1, 2, 3 \
         EXCEPT SELECT scope_id, month, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs \
         FROM feedback_totals)",
    )
    .await;
    assert_eq!(differences, 0, "totals differ from the background rows");
    let strata = scalar(
        "SELECT COUNT(*) FROM (\
         SELECT scope_id, month, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs \
         FROM feedback_totals WHERE item <> '_answers' \
         AND (month LIKE '%T%' OR month LIKE '%H%' OR LENGTH(month) = 4) \
         EXCEPT SELECT scope_id, month, item, SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), \
         SUM(b5), SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs) \
         FROM feedback_strata GROUP BY 1, 2, 3)",
    )
    .await;
    assert_eq!(strata, 0, "counts by stratum differ from the totals");
    pool.close().await;
    db.drop().await;
}

/// An import run beside the server on the same SQLite file writes its rows
/// in transactions of about 20 ms with a pause after each, and the
/// server's ingest asks for the write lock every millisecond meanwhile
/// (its own connection without SQLite's wait): no live answer fails, and
/// the imported reports and the answers each count once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_answers_beside_an_import_on_one_sqlite_file_all_land() {
    let Some(db) = Db::sqlite_file("import_beside_answers") else {
        return;
    };
    let token = admin_token(&db);
    let county = db.org("county", None);
    let unit = db.org("u1", Some("county"));
    db.org("u2", Some("county"));
    let today = time::OffsetDateTime::now_utc().date();
    let file = std::env::temp_dir().join(format!(
        "valvo_test_import_beside_{:016x}.csv",
        rand::thread_rng().gen::<u64>()
    ));
    let mut text = String::from(
        "unit;reported_on;occurred_on;kind;event_type;consequence;reporter_role;state;handled_on\n",
    );
    let rows = 60_000usize;
    for i in 0..rows {
        let day = today - time::Duration::days((i % 700) as i64);
        let handled =
            (i % 3 != 0).then(|| (day + time::Duration::days((i % 20) as i64)).min(today));
        text.push_str(&format!(
            "{};{day};{day};client_safety;{};no_harm;staff;{};{}\n",
            ["u1", "u2"][i % 2],
            ["medication", "fall_accident", "other"][i % 3],
            if handled.is_some() { "handled" } else { "new" },
            handled.map(|h| h.to_string()).unwrap_or_default()
        ));
    }
    std::fs::write(&file, text).unwrap();
    let server = Server::start(&db, &[]);
    let mut import = db
        .valvo()
        .args(["import", "incidents"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let c = client();
    let acked = Arc::new(AtomicUsize::new(0));
    let errors = Errors::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8usize {
        let (c, token, acked, errors, done) = (
            c.clone(),
            token.clone(),
            acked.clone(),
            errors.clone(),
            done.clone(),
        );
        let url = server.url("/api/v1/feedback/answers");
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !done.load(Ordering::SeqCst) {
                let r = c
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "org_unit": unit, "nps": (w + i) % 11 }))
                    .send()
                    .await
                    .unwrap();
                errors.check(&r, "answer");
                if r.status() == StatusCode::CREATED {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                i += 1;
            }
        }));
    }
    let status = loop {
        if let Some(s) = import.try_wait().unwrap() {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    done.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let _ = std::fs::remove_file(&file);
    let mut err = String::new();
    if let Some(mut e) = import.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "valvo import incidents: {err}");
    let acked = acked.load(Ordering::SeqCst) as i64;
    assert_eq!(errors.count(), 0);
    assert!(acked > 0, "no answer acknowledged during the import");
    eprintln!("{acked} answers acknowledged during an import of {rows} reports");
    assert_eq!(year_answers(&c, &server, &token, county).await, acked);
    let year = today.year();
    let stats: Value = c
        .get(server.url(&format!(
            "/api/v1/incidents/stats?org_unit={county}&period={year}"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(server);
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let direct: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM incidents WHERE reported_on LIKE '{year}-%'"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incidents")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(all, rows as i64);
    assert!(direct > 0);
    assert_eq!(stats["stats"]["total"], direct, "{stats}");
    // The log the server left (it was stopped, not closed).
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    db.drop().await;
    for end in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{end}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statistics_through_one_instance_include_every_answer_acknowledged_through_the_other() {
    let Some(db) = Db::new("reads_under_intake").await else {
        return;
    };
    let token = admin_token(&db);
    let county = db.org("county", None);
    let unit = db.org("u1", Some("county"));
    let (a, b) = (Server::start(&db, &[]), Server::start(&db, &[]));
    let c = client();
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let errors = Errors::default();
    // 32 clients keep answering through A.
    let mut writers = Vec::new();
    for w in 0..32 {
        let (c, url, token, acked, stop, errors) = (
            c.clone(),
            a.url("/api/v1/feedback/answers"),
            token.clone(),
            acked.clone(),
            stop.clone(),
            errors.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = c
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "org_unit": unit, "nps": (w + i) % 11 }))
                    .send()
                    .await
                    .unwrap();
                errors.check(&r, "answer");
                if r.status() == StatusCode::CREATED {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut slowest = Duration::ZERO;
    for round in 0..60 {
        let before = acked.load(Ordering::SeqCst);
        let started = Instant::now();
        let seen = year_answers(&c, &b, &token, county).await as usize;
        slowest = slowest.max(started.elapsed());
        assert!(
            seen >= before,
            "round {round}: the statistics show {seen} answers, {before} were acknowledged before the read"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    eprintln!(
        "reads through B while {} answers arrived through A: slowest {:?}",
        acked.load(Ordering::SeqCst),
        slowest
    );
    // At rest, the aggregates equal the rows exactly, through either instance.
    let direct = db.scalar("SELECT COUNT(*) FROM feedback_answers").await;
    for s in [&a, &b] {
        assert_eq!(year_answers(&c, s, &token, county).await, direct);
    }
    assert_eq!(acked.load(Ordering::SeqCst) as i64, direct);
    assert_eq!(errors.count(), 0);
    // The totals kept over the whole background, written by both
    // instances' aggregators, equal the background rows summed.
    let summed =
        "SELECT scope_id, month, item, SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), \
        SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs) FROM feedback_agg GROUP BY 1, 2, 3";
    let kept = "SELECT scope_id, month, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs \
        FROM feedback_totals";
    assert_eq!(
        except_both_ways(&db, "feedback_totals", kept, summed).await,
        Vec::<String>::new()
    );
    assert!(db.scalar("SELECT COUNT(*) FROM feedback_totals").await > 0);
    // So do the counts by stratum of every scope (what a fair comparison
    // reads, of counties and of service types).
    let strata =
        "SELECT scope_id, month, item, SUM(b0), SUM(b1), SUM(b2), SUM(b3), SUM(b4), SUM(b5), \
        SUM(b6), SUM(b7), SUM(b8), SUM(b9), SUM(b10), SUM(cs) FROM feedback_strata GROUP BY 1, 2, 3";
    // (below a county, by tertial, half year and year only).
    let totals = format!(
        "SELECT scope_id, month, item, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs \
        FROM feedback_totals WHERE item <> '_answers' AND (scope_id = {county} \
        OR month LIKE '%T%' OR month LIKE '%H%' OR LENGTH(month) = 4)"
    );
    assert_eq!(
        except_both_ways(&db, "feedback_strata", &totals, strata).await,
        Vec::<String>::new()
    );
    assert!(
        db.scalar(&format!(
            "SELECT COUNT(DISTINCT scope_id) FROM feedback_strata WHERE scope_id <> {county}"
        ))
        .await
            > 0
    );
    a.stop();
    b.stop();
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_logins_are_counted_across_instances_and_before_the_password_is_checked() {
    let Some(db) = Db::new("failed_logins").await else {
        return;
    };
    admin_token(&db);
    let (a, b) = (
        Server::start(&db, &["--login-rate-limit", "10"]),
        Server::start(&db, &["--login-rate-limit", "10"]),
    );
    // 30 wrong passwords at once, through both instances: at most 10 are checked.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        tasks.push(tokio::spawn(async move {
            login_client(&base, "admin@x.fi", "wrong").await.1
        }));
    }
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap().as_u16()).or_default() += 1;
    }
    assert_eq!(statuses.get(&401).copied().unwrap_or(0), 10, "{statuses:?}");
    assert_eq!(statuses.get(&429).copied().unwrap_or(0), 20, "{statuses:?}");
    // And the right password is refused too now, through either instance.
    for s in [&a, &b] {
        let (_, status) = login_client(&s.base, "admin@x.fi", PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    a.stop();
    b.stop();
    db.drop().await;
}

/// A client's request through one of the instances, its status and how long it took.
async fn timed(
    r: reqwest::RequestBuilder,
    errors: &Errors,
    what: &str,
) -> (StatusCode, Duration, Option<Value>) {
    let started = Instant::now();
    let r = r.send().await.unwrap();
    errors.check(&r, what);
    let status = r.status();
    let body = r.json::<Value>().await.ok();
    (status, started.elapsed(), body)
}

/// Every kind of work at once, through both instances, as a county's day
/// looks behind a load balancer: new reports, handling, reopening and
/// forwarding the same reports both ways, first follow-ups of the same
/// indicators, answers (also to a unit added meanwhile), and statistics
/// read all the while. Afterwards every aggregate equals a direct count of
/// the rows; no request failed with a server error; every statistics read
/// answered (how fast: `valvo bench --instances`) and showed every answer
/// acknowledged before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn all_kinds_of_work_at_once_through_two_instances_match_a_direct_count() {
    let Some(db) = Db::new("all_at_once").await else {
        return;
    };
    let token = admin_token(&db);
    let county = db.org("county", None);
    let area1 = db.org("area1", Some("county"));
    let area2 = db.org("area2", Some("county"));
    let units = vec![
        db.org("u11", Some("area1")),
        db.org("u12", Some("area1")),
        db.org("u21", Some("area2")),
        db.org("u22", Some("area2")),
    ];
    let indicators = db.tertial_indicators(units[0], 10).await;
    let servers = Arc::new([Server::start(&db, &[]), Server::start(&db, &[])]);
    let c = client();
    let errors = Errors::default();
    let acked = Arc::new(AtomicUsize::new(0));
    let reports = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let units = Arc::new(std::sync::Mutex::new(units));
    let year = time::OffsetDateTime::now_utc().year();
    let mut tasks = Vec::new();

    // Reporters: 4 × 40 new reports of every kind, through either instance.
    for w in 0..4u64 {
        let (c, servers, token, errors, reports, units) = (
            c.clone(),
            servers.clone(),
            token.clone(),
            errors.clone(),
            reports.clone(),
            units.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let kinds = [
                "client_safety",
                "work_safety",
                "data_protection",
                "misconduct",
            ];
            let consequences = [
                "no_harm",
                "near_miss",
                "mild",
                "moderate",
                "severe",
                "death",
            ];
            let roles = ["staff", "student", "client", "relative", "other"];
            let types = [
                "medication",
                "fall_accident",
                "information_flow",
                "violence_threat",
            ];
            for i in 0..40u64 {
                let n = w * 1000 + i;
                let unit = {
                    let u = units.lock().unwrap();
                    u[(n as usize) % u.len()]
                };
                let s = &servers[(n % 2) as usize];
                let (status, _, body) = timed(
                    c.post(s.url("/api/v1/incidents"))
                        .bearer_auth(&token)
                        .json(&json!({
                            "org_unit": unit,
                            "occurred_on": time::OffsetDateTime::now_utc().date().to_string(),
                            "kind": kinds[(n % 4) as usize],
                            "event_type": types[(n % 3) as usize],
                            "consequence": consequences[(n % 6) as usize],
                            "never_event": n % 7 == 0,
                            "reporter_role": roles[(n % 5) as usize],
                            "description": "Tapahtuma.", "anonymous": true
                        })),
                    &errors,
                    "report",
                )
                .await;
                assert_eq!(status, StatusCode::CREATED, "{body:?}");
                reports
                    .lock()
                    .unwrap()
                    .push(body.unwrap()["id"].as_i64().unwrap());
            }
        }));
    }
    // Handlers: 6 × 80 decisions on reports picked at random, through either
    // instance, often the same report at once: handled, taken back into
    // handling, forwarded to another unit.
    for w in 0..6u64 {
        let (c, servers, token, errors, reports, units) = (
            c.clone(),
            servers.clone(),
            token.clone(),
            errors.clone(),
            reports.clone(),
            units.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(w);
            for _ in 0..80 {
                let picked = {
                    let r = reports.lock().unwrap();
                    let u = units.lock().unwrap();
                    // The newest reports most often: they are the ones others touch too.
                    (!r.is_empty()).then(|| {
                        let pick = r.len() - 1 - rng.gen_range(0..r.len().min(8));
                        (r[pick], u[rng.gen_range(0..u.len())])
                    })
                };
                let Some((id, to)) = picked else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let body = match rng.gen_range(0..3) {
                    0 => json!({ "state": "handled", "outcome": "Käsitelty." }),
                    1 => json!({ "state": "in_handling", "analysis": "Selvitetään." }),
                    _ => json!({ "state": "forwarded", "forward_to": to }),
                };
                let s = &servers[rng.gen_range(0..2)];
                let (status, _, body) = timed(
                    c.post(s.url(&format!("/api/v1/incidents/{id}/handling")))
                        .bearer_auth(&token)
                        .json(&body),
                    &errors,
                    "handling",
                )
                .await;
                assert!(
                    [200, 409].contains(&status.as_u16()),
                    "handling {id}: {status} {body:?}"
                );
            }
        }));
    }
    // Follow-ups: the same ten first values written through both instances at once.
    for (k, s) in [0usize, 1].into_iter().enumerate() {
        let (c, servers, token, errors, indicators) = (
            c.clone(),
            servers.clone(),
            token.clone(),
            errors.clone(),
            indicators.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for &id in &indicators {
                let (status, _, body) = timed(
                    c.put(servers[s].url(&format!("/api/v1/indicators/{id}/follow-ups/2024T1")))
                        .bearer_auth(&token)
                        .json(&json!({ "value": 5 + k })),
                    &errors,
                    "follow-up",
                )
                .await;
                assert!([200, 201].contains(&status.as_u16()), "{status} {body:?}");
            }
        }));
    }
    // Answers: 8 clients × 60 through either instance, to every unit and,
    // once it exists, to the unit added meanwhile.
    for w in 0..8u64 {
        let (c, servers, token, errors, acked, units) = (
            c.clone(),
            servers.clone(),
            token.clone(),
            errors.clone(),
            acked.clone(),
            units.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in 0..60u64 {
                let unit = {
                    let u = units.lock().unwrap();
                    u[((w + i) as usize) % u.len()]
                };
                let s = &servers[((w + i) % 2) as usize];
                let (status, _, body) = timed(
                    c.post(s.url("/api/v1/feedback/answers")).bearer_auth(&token).json(&if i % 5 == 0 {
                        json!({ "org_unit": unit, "nps": (w + i) % 11, "text": "Odotin liian kauan." })
                    } else {
                        json!({ "org_unit": unit, "nps": (w + i) % 11 })
                    }),
                    &errors,
                    "answer",
                )
                .await;
                assert_eq!(status, StatusCode::CREATED, "{body:?}");
                acked.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // A unit added through A's form while all this goes on.
    {
        let (servers, units) = (servers.clone(), units.clone());
        let db_url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (admin, status) = login_client(&servers[0].base, "admin@x.fi", PASSWORD).await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            let front = admin
                .get(servers[0].url("/"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let needle = "name=\"csrf\" value=\"";
            let start = front.find(needle).unwrap() + needle.len();
            let csrf = front[start..].split('"').next().unwrap().to_string();
            let r = admin
                .post(servers[0].url(&format!("/org/{area2}/units/new")))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("code", "u23"),
                    ("name_fi", "Uusi"),
                    ("name_sv", "Ny"),
                    ("producer", "own"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
            let id: i64 = sqlx::query_scalar("SELECT id FROM org_units WHERE code = 'u23'")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            units.lock().unwrap().push(id);
        }));
    }
    // Readers: statistics through both instances all the while.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..4usize {
        let (c, servers, token, errors, acked, done) = (
            c.clone(),
            servers.clone(),
            token.clone(),
            errors.clone(),
            acked.clone(),
            done.clone(),
        );
        readers.push(tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) {
                let s = &servers[(r + reads) % 2];
                let before = acked.load(Ordering::SeqCst);
                let (status, took, body) = timed(
                    c.get(s.url(&format!(
                        "/api/v1/feedback/stats?org_unit={county}&period={year}"
                    )))
                    .bearer_auth(&token),
                    &errors,
                    "feedback statistics",
                )
                .await;
                assert_eq!(status, StatusCode::OK);
                let seen = body.unwrap()["stats"]["current"]["answers"]
                    .as_u64()
                    .unwrap() as usize;
                assert!(
                    seen >= before,
                    "{seen} answers shown, {before} acknowledged before the read"
                );
                slowest = slowest.max(took);
                let (status, took, _) = timed(
                    c.get(s.url(&format!(
                        "/api/v1/incidents/stats?org_unit={county}&period={year}"
                    ))),
                    &errors,
                    "incident statistics",
                )
                .await;
                assert_eq!(status, StatusCode::OK);
                slowest = slowest.max(took);
                reads += 1;
            }
            (reads, slowest)
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let mut slowest = Duration::ZERO;
    let mut reads = 0;
    for r in readers {
        let (n, s) = r.await.unwrap();
        reads += n;
        slowest = slowest.max(s);
    }
    // How fast is `valvo bench --instances`' figure; here every read
    // answers (none waits for the intake to end).
    eprintln!("{reads} statistics reads under load, slowest {slowest:?}");
    assert!(
        slowest < Duration::from_secs(10),
        "a statistics read waited {slowest:?}"
    );
    assert_eq!(errors.count(), 0);

    assert_eq!(incident_differences(&db).await, Vec::<String>::new());
    assert_eq!(db.scalar("SELECT COUNT(*) FROM incidents").await, 160);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM follow_ups").await, 10);
    assert_eq!(
        db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'follow_up' AND action = 'create'"
        )
        .await,
        10
    );
    // Every scope's answers, through either instance, against the rows.
    let scopes: Vec<i64> = sqlx::query_scalar("SELECT id FROM org_units ORDER BY id")
        .fetch_all(db.pg())
        .await
        .unwrap();
    for org in scopes {
        let direct = db
            .scalar(&format!(
                "WITH RECURSIVE sub(id) AS (SELECT {org}::BIGINT UNION ALL SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id) \
                 SELECT COUNT(*) FROM feedback_answers WHERE org_unit_id IN (SELECT id FROM sub)"
            ))
            .await;
        for s in servers.iter() {
            let stats: Value = c
                .get(s.url(&format!(
                    "/api/v1/feedback/stats?org_unit={org}&period={year}"
                )))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                stats["stats"]["current"]["answers"].as_i64().unwrap(),
                direct,
                "unit {org} through {}",
                s.base
            );
        }
    }
    assert_eq!(acked.load(Ordering::SeqCst), 480);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM feedback_answers").await,
        480
    );
    let new_unit = db
        .scalar("SELECT id FROM org_units WHERE code = 'u23'")
        .await;
    assert!(
        db.scalar(&format!(
            "SELECT COUNT(*) FROM feedback_answers WHERE org_unit_id = {new_unit}"
        ))
        .await
            > 0
    );
    let _ = (area1, area2);
    drop(servers);
    db.drop().await;
}

/// A TCP forwarder between a server and PostgreSQL that can be frozen: it
/// then keeps every connection open and passes nothing on, as a database
/// behind a failed network link does (no refusal, no answer).
struct Link {
    port: u16,
    frozen: Arc<std::sync::atomic::AtomicBool>,
}

impl Link {
    async fn to(target: &str) -> Link {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (target, f) = (target.to_string(), frozen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                let (target, f) = (target.clone(), f.clone());
                tokio::spawn(async move {
                    while f.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::spawn(Self::pass(ri, wo, f.clone()));
                    tokio::spawn(Self::pass(ro, wi, f));
                });
            }
        });
        Link { port, frozen }
    }

    async fn pass(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        frozen: Arc<std::sync::atomic::AtomicBool>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            while frozen.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    fn set_frozen(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
    }
}

/// The database stops answering (a failed link, no refusal): `/healthz`
/// keeps answering at once, `/readyz` says 503 within its two seconds, a
/// request that needs the database fails within the acquire timeout
/// instead of hanging, and everything works again when the link is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_database_is_reported_at_once_and_no_request_hangs() {
    let Some(db) = Db::new("unreachable").await else {
        return;
    };
    let token = admin_token(&db);
    db.org("county", None);
    let pg = db
        .url
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let link = Link::to(&pg).await;
    let via_link = db.url.replacen(&pg, &format!("127.0.0.1:{}", link.port), 1);
    let mut cmd = db.valvo();
    cmd.env("VALVO_DATABASE_URL", &via_link);
    let server = {
        let mut child = cmd
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--cookie-secure",
                "false",
                "--db-acquire-timeout",
                "2",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("server ended early").unwrap();
            if let Some(rest) = line.strip_prefix("Valvo listening on ") {
                break rest.trim_end_matches('/').to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    };
    let c = client();
    let get = |path: &str, auth: bool| {
        let mut r = c.get(server.url(path));
        if auth {
            r = r.bearer_auth(&token);
        }
        async move {
            let started = Instant::now();
            let status = match tokio::time::timeout(Duration::from_secs(30), r.send()).await {
                Ok(Ok(r)) => Some(r.status()),
                _ => None,
            };
            (status, started.elapsed())
        }
    };
    assert_eq!(get("/readyz", false).await.0, Some(StatusCode::OK));
    assert_eq!(get("/api/v1/org-units", true).await.0, Some(StatusCode::OK));

    link.set_frozen(true);
    let (status, took) = get("/healthz", false).await;
    assert_eq!(status, Some(StatusCode::OK));
    assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    let (status, took) = get("/readyz", false).await;
    assert_eq!(status, Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(took < Duration::from_secs(4), "/readyz took {took:?}");
    // Requests at once, each needing the database: none hangs, none is
    // told anything but that the service is unavailable for now.
    let mut tasks = Vec::new();
    for _ in 0..12 {
        tasks.push(tokio::spawn(get("/api/v1/org-units", true)));
    }
    for t in tasks {
        let (status, took) = t.await.unwrap();
        assert_eq!(
            status,
            Some(StatusCode::SERVICE_UNAVAILABLE),
            "after {took:?}"
        );
        assert!(took < Duration::from_secs(10), "a request waited {took:?}");
    }

    link.set_frozen(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = get("/readyz", false).await.0 == Some(StatusCode::OK);
        let api = get("/api/v1/org-units", true).await.0 == Some(StatusCode::OK);
        if ready && api {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again 20 s after the link came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(server);
    db.drop().await;
}

/// A unit and each unit above it: the scopes a unit's rows count in.
const SCOPES: &str = "WITH RECURSIVE up(unit, scope) AS (SELECT id, id FROM org_units \
    UNION ALL SELECT up.unit, o.parent_id FROM up JOIN org_units o ON o.id = up.scope WHERE o.parent_id IS NOT NULL) ";

/// The ombudsperson's counts as a direct count of the contacts and items,
/// per unit (its scope rows are then summed up the tree).
const DIRECT_OMBUDSMAN: &str = "\
    SELECT org_unit_id, month, CAST('contacts' AS TEXT) AS dim, CAST('' AS TEXT) AS key, COUNT(*) AS n FROM ombudsman_contacts GROUP BY 1, 2 \
    UNION ALL SELECT org_unit_id, month, 'channel', channel, COUNT(*) FROM ombudsman_contacts GROUP BY 1, 2, 4 \
    UNION ALL SELECT c.org_unit_id, c.month, 'measure', m, COUNT(*) FROM ombudsman_contacts c, \
        unnest(string_to_array(NULLIF(c.measures, ''), ',')) m GROUP BY 1, 2, 4 \
    UNION ALL SELECT i.org_unit_id, c.month, 'items', '', COUNT(*) FROM ombudsman_items i JOIN ombudsman_contacts c ON c.id = i.contact_id GROUP BY 1, 2 \
    UNION ALL SELECT i.org_unit_id, c.month, 'producer', i.producer, COUNT(*) FROM ombudsman_items i JOIN ombudsman_contacts c ON c.id = i.contact_id GROUP BY 1, 2, 4 \
    UNION ALL SELECT i.org_unit_id, c.month, 'sector', i.sector, COUNT(*) FROM ombudsman_items i JOIN ombudsman_contacts c ON c.id = i.contact_id GROUP BY 1, 2, 4 \
    UNION ALL SELECT i.org_unit_id, c.month, 'language', c.language, COUNT(*) FROM ombudsman_items i JOIN ombudsman_contacts c ON c.id = i.contact_id GROUP BY 1, 2, 4 \
    UNION ALL SELECT i.org_unit_id, c.month, 'client_group', c.client_group, COUNT(*) FROM ombudsman_items i JOIN ombudsman_contacts c ON c.id = i.contact_id GROUP BY 1, 2, 4 \
    UNION ALL SELECT i.org_unit_id, c.month, 'reason', r, COUNT(*) FROM ombudsman_items i JOIN ombudsman_contacts c ON c.id = i.contact_id, \
        unnest(string_to_array(i.reasons, ',')) r GROUP BY 1, 2, 4";

/// The supervision counts as a direct count of the visits and findings, per unit.
const DIRECT_SUPERVISION: &str = "\
    SELECT org_unit_id, month, CAST('visit' AS TEXT) AS dim, producer || '/' || kind AS key, COUNT(*) AS n FROM supervision_visits GROUP BY 1, 2, 4 \
    UNION ALL SELECT f.org_unit_id, v.month, 'finding_topic', f.topic, COUNT(*) FROM supervision_findings f JOIN supervision_visits v ON v.id = f.visit_id GROUP BY 1, 2, 4 \
    UNION ALL SELECT f.org_unit_id, v.month, 'finding_severity', f.severity, COUNT(*) FROM supervision_findings f JOIN supervision_visits v ON v.id = f.visit_id GROUP BY 1, 2, 4 \
    UNION ALL SELECT f.org_unit_id, v.month, 'corrections', '', COUNT(*) FROM supervision_findings f JOIN supervision_visits v ON v.id = f.visit_id \
        WHERE f.correction_due IS NOT NULL GROUP BY 1, 2";

async fn oversight_differences(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for (table, direct) in [
        ("ombudsman_marginals", DIRECT_OMBUDSMAN),
        ("supervision_marginals", DIRECT_SUPERVISION),
    ] {
        let kept = format!("SELECT org_unit_id, month, dim, key, n FROM {table} WHERE n <> 0");
        // Each unit's direct count, summed into the unit and every unit above it.
        let direct = format!(
            "{SCOPES} SELECT up.scope AS org_unit_id, d.month, d.dim, d.key, CAST(SUM(d.n) AS BIGINT) AS n \
             FROM ({direct}) d JOIN up ON up.unit = d.org_unit_id GROUP BY 1, 2, 3, 4"
        );
        out.extend(except_both_ways(db, table, &kept, &direct).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contacts_and_visits_through_two_instances_are_counted_once_each() {
    let Some(db) = Db::new("contacts_and_visits").await else {
        return;
    };
    let _admin = admin_token(&db);
    db.org("county", None);
    let areas = [db.org("a", Some("county")), db.org("b", Some("county"))];
    let units = [
        db.org("a1", Some("a")),
        db.org("a2", Some("a")),
        db.org("b1", Some("b")),
    ];
    let token_of = |email: &str, role: &str| {
        db.run(&[
            "user", "add", "--email", email, "--name", email, "--role", role,
        ]);
        db.run(&["token", "create", "--email", email])
            .trim()
            .to_string()
    };
    let omb = token_of("omb@x.fi", "ombudsperson");
    let sup = token_of("sup@x.fi", "supervisor");
    let (a, b) = (Server::start(&db, &[]), Server::start(&db, &[]));
    let c = client();
    let errors = Errors::default();
    let reasons = ["care", "conduct", "service", "fees", "access"];
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut tasks = Vec::new();
    // 240 contacts and 120 visits at once, every other one through each
    // instance, the same units and counters from both; statistics read meanwhile.
    for i in 0..360usize {
        let s = if i % 2 == 0 { &a } else { &b };
        let (c2, errors2) = (c.clone(), errors.clone());
        let month = 1 + rng.gen_range(0..3);
        let day = 1 + rng.gen_range(0..28);
        let (url, token, body) = if i % 3 != 2 {
            let items: Vec<Value> = (0..1 + rng.gen_range(0..3))
                .map(|_| {
                    let mut item = json!({
                        "sector": (["health", "social", "other"][rng.gen_range(0..3)]),
                        "reasons": [reasons[rng.gen_range(0..5)], reasons[rng.gen_range(0..5)]],
                    });
                    if rng.gen_range(0..5) == 0 {
                        item["producer"] = json!("other_organiser");
                    } else {
                        item["org_unit"] = json!(units[rng.gen_range(0..3)]);
                    }
                    item
                })
                .collect();
            (
                s.url("/api/v1/ombudsman/contacts"),
                omb.clone(),
                json!({
                    "contacted_on": format!("2024-{month:02}-{day:02}"),
                    "channel": (["phone", "email"][rng.gen_range(0..2)]),
                    "language": (["fi", "sv"][rng.gen_range(0..2)]),
                    "client_group": "adult",
                    "items": items,
                    "measures": ["advice"],
                }),
            )
        } else {
            let findings: Vec<Value> = (0..rng.gen_range(0..3))
                .map(|k| {
                    json!({
                        "topic": (["premises", "medication_safety", "staffing"][k]),
                        "severity": "shortcoming",
                        "text": { "fi": "Puute" },
                        "correction_due": "2024-06-30",
                    })
                })
                .collect();
            (
                s.url("/api/v1/supervision/visits"),
                sup.clone(),
                json!({
                    "org_unit": units[rng.gen_range(0..3)],
                    "visited_on": format!("2024-{month:02}-{day:02}"),
                    "kind": (["unannounced", "announced"][rng.gen_range(0..2)]),
                    "findings": findings,
                }),
            )
        };
        tasks.push(tokio::spawn(async move {
            let r = c2
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            errors2.check(&r, "record");
            r.status().as_u16()
        }));
        if i % 40 == 0 {
            let (c, errors, url, token) = (
                c.clone(),
                errors.clone(),
                s.url(&format!(
                    "/api/v1/ombudsman/stats?org_unit={}&period=2024Q1",
                    areas[i % 2]
                )),
                omb.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let r = c.get(url).bearer_auth(token).send().await.unwrap();
                errors.check(&r, "stats");
                if r.status() == StatusCode::OK {
                    201
                } else {
                    r.status().as_u16()
                }
            }));
        }
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(errors.count(), 0, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let differences = oversight_differences(&db).await;
    assert!(differences.is_empty(), "{differences:#?}");
    // Both instances answer the same, and as a direct count.
    let contacts = db.scalar("SELECT COUNT(*) FROM ombudsman_contacts").await;
    let visits = db.scalar("SELECT COUNT(*) FROM supervision_visits").await;
    assert_eq!((contacts, visits), (240, 120));
    let county = db
        .scalar("SELECT id FROM org_units WHERE code = 'county'")
        .await;
    for s in [&a, &b] {
        let o: Value = c
            .get(s.url(&format!(
                "/api/v1/ombudsman/stats?org_unit={county}&period=2024Q1"
            )))
            .bearer_auth(&omb)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(o["contacts"], contacts);
        let v: Value = c
            .get(s.url(&format!(
                "/api/v1/supervision/stats?org_unit={county}&period=2024Q1"
            )))
            .bearer_auth(&sup)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["table"]["total"], visits);
        assert_eq!(
            v["corrections_requested"].as_i64().unwrap(),
            db.scalar("SELECT COUNT(*) FROM supervision_findings WHERE correction_due IS NOT NULL")
                .await
        );
    }
    a.stop();
    b.stop();
    db.drop().await;
}

/// The one-time key of the form page (`name="once"`).
fn once_of(html: &str) -> String {
    let needle = "name=\"once\" value=\"";
    let start = html.find(needle).expect("a one-time key on the form") + needle.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_form_sent_to_both_instances_at_once_is_saved_once() {
    let Some(db) = Db::new("form_sent_twice").await else {
        return;
    };
    db.org("county", None);
    db.org("u1", Some("county"));
    let limit = ["--public-rate-limit", "1000"];
    let (a, b) = (Server::start(&db, &limit), Server::start(&db, &limit));
    let c = client();
    let errors = Errors::default();
    // Each form page is sent twice at the same moment, once through each
    // instance (a double click behind a load balancer).
    const PAGES: usize = 25;
    let mut tasks = Vec::new();
    for i in 0..PAGES {
        for (path, fields) in [
            (
                "/report/u1",
                vec![
                    ("kind", "client_safety"),
                    ("event_type", "medication"),
                    ("occurred_on", "2024-03-01"),
                    ("description", "Väärä lääke"),
                    ("consequence", "no_harm"),
                    ("reporter_role", "client"),
                    ("anonymous", "yes"),
                ],
            ),
            ("/feedback/u1", vec![("nps", "9")]),
        ] {
            let page = c.get(a.url(path)).send().await.unwrap();
            assert_eq!(page.status(), StatusCode::OK);
            let once = once_of(&page.text().await.unwrap());
            for s in [&a, &b] {
                let mut form: Vec<(String, String)> = fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                form.push(("once".into(), once.clone()));
                let (c, url, errors) = (c.clone(), s.url(path), errors.clone());
                tasks.push(tokio::spawn(async move {
                    let r = c.post(url).form(&form).send().await.unwrap();
                    errors.check(&r, "form");
                    // Where it leads, and the receipt code it carries.
                    let to = [reqwest::header::LOCATION, reqwest::header::SET_COOKIE]
                        .iter()
                        .filter_map(|h| r.headers().get(h))
                        .map(|v| v.to_str().unwrap().to_owned())
                        .collect::<Vec<_>>()
                        .join(" ");
                    (i, r.status(), to)
                }));
            }
        }
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert_eq!(errors.count(), 0, "{answers:?}");
    for (_, status, _) in &answers {
        assert_eq!(*status, StatusCode::SEE_OTHER, "{answers:?}");
    }
    // Both sends of a report lead to the same receipt.
    for pair in answers.chunks(2) {
        assert_eq!(pair[0].2, pair[1].2, "{pair:?}");
    }
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM incidents").await,
        PAGES as i64
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM feedback_answers").await,
        PAGES as i64
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM form_submissions").await,
        2 * PAGES as i64
    );
    // The kept counts agree with the rows.
    let diff = incident_differences(&db).await;
    assert!(diff.is_empty(), "{diff:?}");
    a.stop();
    b.stop();
    db.drop().await;
}

/// A server's counter from `/metrics` (0 when it has not been counted).
async fn metric(c: &reqwest::Client, s: &Server, name: &str) -> f64 {
    let text = c
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invitations_and_forms_answered_through_both_instances_in_opposite_orders_count_once_each()
{
    let Some(db) = Db::new("invitations_crossed").await else {
        return;
    };
    let admin = admin_token(&db);
    db.org("county", None);
    let unit = db.org("u1", Some("county"));
    let c = client();
    let limit = ["--public-rate-limit", "100000"];
    let (a, b) = (Server::start(&db, &limit), Server::start(&db, &limit));
    const N: usize = 600;
    let r = c
        .post(a.url("/api/v1/feedback/invitations"))
        .bearer_auth(&admin)
        .json(&json!({ "org_unit": unit, "service_date": time::OffsetDateTime::now_utc().date().to_string(), "count": N }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let tokens: Vec<String> = body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), N);
    // Every invitation is answered twice at about the same moment, through
    // one instance in the list's order and through the other backwards, a
    // round of 24 at a time: a batch of each (two writers in each
    // instance) holds some of the same invitations in opposite orders.
    let errors = Errors::default();
    let mut tasks = Vec::new();
    for round in tokens.chunks(24) {
        let mut these = Vec::new();
        for i in 0..round.len() {
            for (s, token) in [(&a, &round[i]), (&b, &round[round.len() - 1 - i])] {
                let (c, url, errors) =
                    (c.clone(), s.url("/api/v1/feedback/answers"), errors.clone());
                let token = token.clone();
                these.push(tokio::spawn(async move {
                    let r = c
                        .post(url)
                        .json(&json!({ "invitation": token, "nps": 9, "scores": { "useful": 4 } }))
                        .send()
                        .await
                        .unwrap();
                    errors.check(&r, "answer");
                    let status = r.status();
                    let body: Value = r.json().await.unwrap();
                    (token, status, body)
                }));
            }
        }
        for t in these {
            tasks.push(t.await.unwrap());
        }
    }
    let mut by_token: BTreeMap<String, Vec<(StatusCode, Value)>> = BTreeMap::new();
    for (token, status, body) in tasks {
        by_token.entry(token).or_default().push((status, body));
    }
    assert_eq!(errors.count(), 0);
    // Each invitation once: one answer saved, the other told it was used.
    for (token, outcomes) in &by_token {
        let mut statuses: Vec<StatusCode> = outcomes.iter().map(|(s, _)| *s).collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::CREATED, StatusCode::CONFLICT],
            "{token}: {outcomes:?}"
        );
        let refused = outcomes
            .iter()
            .find(|(s, _)| *s == StatusCode::CONFLICT)
            .unwrap();
        assert_eq!(
            refused.1["error"]["code"], "invitation_used",
            "{outcomes:?}"
        );
    }
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM feedback_answers").await,
        N as i64
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM feedback_invitations WHERE used_at IS NOT NULL")
            .await,
        N as i64
    );
    // The same with the public form's one-time keys: each page's key sent
    // through both instances, in opposite orders, is one answer.
    const PAGES: usize = 240;
    let mut keys = Vec::new();
    for _ in 0..PAGES {
        let page = c.get(a.url("/feedback/u1")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        keys.push(once_of(&page.text().await.unwrap()));
    }
    for round in keys.chunks(24) {
        let mut these = Vec::new();
        for i in 0..round.len() {
            for (s, key) in [(&a, &round[i]), (&b, &round[round.len() - 1 - i])] {
                let (c, url, errors) = (c.clone(), s.url("/feedback/u1"), errors.clone());
                let form = [("nps", "7".to_owned()), ("once", key.clone())];
                these.push(tokio::spawn(async move {
                    let r = c.post(url).form(&form).send().await.unwrap();
                    errors.check(&r, "form");
                    r.status()
                }));
            }
        }
        for t in these {
            assert_eq!(t.await.unwrap(), StatusCode::SEE_OTHER);
        }
    }
    assert_eq!(errors.count(), 0);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM feedback_answers").await,
        (N + PAGES) as i64
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM form_submissions").await,
        PAGES as i64
    );
    // No batch met another's locks in the opposite order: none was ended
    // by the database and written again an answer at a time.
    for s in [&a, &b] {
        assert_eq!(
            metric(&c, s, "valvo_feedback_batches_split_total").await,
            0.0,
            "{}",
            s.base
        );
    }
    a.stop();
    b.stop();
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_token_and_a_deactivated_user_stop_at_once_on_both_instances() {
    let Some(db) = Db::new("revocation").await else {
        return;
    };
    let admin = admin_token(&db);
    let county = db.org("county", None);
    db.run(&[
        "user",
        "add",
        "--email",
        "viewer@x.fi",
        "--name",
        "Viewer",
        "--role",
        "viewer",
    ]);
    let read_only = db
        .run(&[
            "token",
            "create",
            "--email",
            "viewer@x.fi",
            "--label",
            "reports",
            "--expires-in-days",
            "30",
            "--read-only",
        ])
        .trim()
        .to_string();
    let (a, b) = (Server::start(&db, &[]), Server::start(&db, &[]));
    let c = client();
    let get = |s: &Server, token: &str| {
        c.get(s.url(&format!("/api/v1/org-units/{county}")))
            .bearer_auth(token)
            .send()
    };
    for s in [&a, &b] {
        assert_eq!(get(s, &admin).await.unwrap().status(), StatusCode::OK);
        assert_eq!(get(s, &read_only).await.unwrap().status(), StatusCode::OK);
        // A read-only token writes nothing.
        let r = c
            .post(s.url("/api/v1/incidents"))
            .bearer_auth(&read_only)
            .json(&json!({"org_unit": county}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // The list names both tokens, with their life cycle.
    let list = db.run(&["token", "list"]);
    let line = list
        .lines()
        .find(|l| l.contains("viewer@x.fi"))
        .unwrap()
        .to_string();
    let cols: Vec<&str> = line.split('\t').collect();
    assert_eq!(cols[2], "reports");
    assert_eq!(cols[3], "live");
    assert_ne!(cols[5], "-", "an expiry: {line}");
    assert_ne!(cols[6], "-", "it was used: {line}");
    assert_eq!(cols[7], "read-only");
    // Revoked through the command line: 401 at once on both instances.
    let id = cols[0];
    assert!(db.run(&["token", "revoke", id]).contains("revoked"));
    for s in [&a, &b] {
        assert_eq!(
            get(s, &read_only).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(db
        .run(&["token", "list", "--email", "viewer@x.fi"])
        .contains("\trevoked\t"));
    assert!(db.run(&["token", "revoke", id]).contains("already"));

    // A user signed in through both instances, deactivated: both sessions
    // end at once, and the user's tokens stop.
    let viewer_token = db
        .run(&["token", "create", "--email", "viewer@x.fi"])
        .trim()
        .to_string();
    let (ca, status) = login_client(&a.base, "viewer@x.fi", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (cb, status) = login_client(&b.base, "viewer@x.fi", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let org_page = format!("/org/{county}");
    assert_eq!(
        ca.get(a.url(&org_page)).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        cb.get(b.url(&org_page)).send().await.unwrap().status(),
        StatusCode::OK
    );
    db.run(&["user", "deactivate", "--email", "viewer@x.fi"]);
    assert_eq!(
        ca.get(a.url(&org_page)).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        cb.get(b.url(&org_page)).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        get(&b, &viewer_token).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'viewer@x.fi'").await, 0);
    let (_, status) = login_client(&a.base, "viewer@x.fi", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Reactivated, with another role: signs in again, as a quality coordinator.
    db.run(&["user", "reactivate", "--email", "viewer@x.fi"]);
    assert!(db
        .run(&[
            "user",
            "set-role",
            "--email",
            "viewer@x.fi",
            "--role",
            "quality_coordinator"
        ])
        .contains("quality_coordinator"));
    let (_, status) = login_client(&b.base, "viewer@x.fi", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&a, &viewer_token).await.unwrap().status(),
        StatusCode::OK
    );
    let audit = db
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('revoke', 'deactivate', 'reactivate', 'set_role', 'sign_in', 'sign_in_failed')")
        .await;
    assert_eq!(
        audit, 8,
        "revoke, deactivate, reactivate, set_role, 3 sign-ins, 1 failed"
    );
    a.stop();
    b.stop();
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notifications_through_two_instances_are_each_sent_once() {
    let Some(db) = Db::new("notifications").await else {
        return;
    };
    let admin = admin_token(&db);
    let county = db.org("county", None);
    let unit = db.org("unit", Some("county"));
    let store = valvo_store::Store::connect(&db.url).await.unwrap();
    let sys = valvo_core::access::Principal::system("test");
    let mut handlers = Vec::new();
    for email in ["h1@x.fi", "h2@x.fi"] {
        db.run(&[
            "user", "add", "--email", email, "--name", email, "--role", "viewer",
        ]);
        handlers.push(store.user_by_email(email).await.unwrap().unwrap().id);
    }
    store
        .set_incident_handlers(&sys, unit, &handlers)
        .await
        .unwrap();
    store.close().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mail = smtp::SmtpServer::start(port);
    let url = format!("smtp://127.0.0.1:{port}");
    let args = [
        "--public-url",
        "https://valvo.county.test",
        "--smtp-url",
        url.as_str(),
        "--smtp-from",
        "Valvo <valvo@county.test>",
        "--mail-interval",
        "1",
    ];
    let (a, b) = (Server::start(&db, &args), Server::start(&db, &args));
    // 20 reports at once through both instances: 40 messages, each sent by
    // one of the two senders that look at the outbox together.
    let c = client();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (c, token, base) = (
            c.clone(),
            admin.clone(),
            if i % 2 == 0 {
                a.base.clone()
            } else {
                b.base.clone()
            },
        );
        tasks.push(tokio::spawn(async move {
            report_to(&c, &base, &token, unit).await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    let mails = mail.wait_for(40).await;
    // A little longer: a message sent twice would show now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mails = if mail.messages().len() > mails.len() {
        mail.messages()
    } else {
        mails
    };
    assert_eq!(
        mails.len(),
        40,
        "{:?}",
        mails
            .iter()
            .map(|m| (&m.to, &m.subject))
            .collect::<Vec<_>>()
    );
    let mut seen = std::collections::BTreeSet::new();
    for m in &mails {
        let link = m
            .body
            .lines()
            .find(|l| l.starts_with("https://valvo.county.test/incidents/"))
            .unwrap()
            .to_string();
        assert!(seen.insert((m.to.clone(), link)), "sent twice: {m:?}");
    }
    for id in ids {
        for h in ["h1@x.fi", "h2@x.fi"] {
            assert!(seen.contains(&(
                h.to_string(),
                format!("https://valvo.county.test/incidents/{id}")
            )));
        }
    }
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
            .await,
        40
    );
    let _ = county;
    a.stop();
    b.stop();
    db.drop().await;
}
