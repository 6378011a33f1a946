//! The `valvo` binary as an operator and a newcomer use it: `demo`, `serve`,
//! `user add`, `token create`, configured by flags and VALVO_* variables.
//! SQLite by default; VALVO_TEST_DATABASE=postgres runs on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use rand::Rng;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_valvo");
const DEMO_PASSWORD: &str = "demo password 123";

struct Db {
    url: String,
    dir: PathBuf,
    pg: bool,
}

impl Db {
    async fn new() -> Db {
        let id = format!("{:016x}", rand::thread_rng().gen::<u64>());
        let dir = std::env::temp_dir().join(format!("valvo-cli-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        if matches!(
            std::env::var("VALVO_TEST_DATABASE").as_deref(),
            Ok("postgres")
        ) {
            let base = std::env::var("VALVO_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
            let url = format!("{}/valvo_test_{id}", base.trim_end_matches('/'));
            valvo_store::create_database(&url).await.unwrap();
            Db { url, dir, pg: true }
        } else {
            Db {
                url: format!("sqlite://{}", dir.join("valvo.db").display()),
                dir,
                pg: false,
            }
        }
    }

    async fn drop(self) {
        if self.pg {
            let _ = valvo_store::drop_database(&self.url).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn valvo(db: &Db) -> Command {
    let mut c = Command::new(BIN);
    c.env("VALVO_DATABASE_URL", &db.url)
        .env("VALVO_LOG", "warn")
        .env_remove("VALVO_ADDR");
    c
}

/// Starts a server command; returns the child and its base URL (read from stdout).
fn start(cmd: Command) -> (Child, String) {
    start_logging_to(cmd, Stdio::inherit())
}

/// [`start`] with the server's log (its stderr) sent to `log`.
fn start_logging_to(mut cmd: Command, log: Stdio) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(log).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("server ended early; printed {seen:?}"))
            .unwrap();
        if let Some(rest) = line.strip_prefix("Valvo listening on ") {
            let base = rest.trim_end_matches('/').to_string();
            std::thread::spawn(move || for _ in lines {});
            return (child, base);
        }
        seen.push(line);
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        // The server closes a connection idle for its header timeout (10 s);
        // a pooled one reused at that very moment fails as an incomplete
        // message. Idle connections are dropped well before.
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle).unwrap() + needle.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn login(base: &str, email: &str, password: &str) -> reqwest::Client {
    let c = client();
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&page, "token");
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
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login {email}");
    c
}

fn output(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn counts(url: &str) -> (usize, usize, usize, usize) {
    let store = valvo_store::Store::connect(url).await.unwrap();
    let tree = store.org_tree().await.unwrap();
    let (mut goals, mut inds, mut actions) = (0, 0, 0);
    for (_, n) in tree.walk() {
        for g in store.plan(n.id, 2024).await.unwrap() {
            goals += 1;
            inds += g.indicators.len();
            actions += g.actions.len();
        }
    }
    let users = store.users().await.unwrap().len();
    store.close().await;
    (goals, inds, actions, users + tree.len() * 1000)
}

/// The "done when": the demo county, the indicator in both languages,
/// a follow-up for 2024H2 (a tertial refused) with its status, the audit log; the same through the
/// API with a token from `valvo token create`; a second `demo` run adds nothing.
#[tokio::test]
async fn demo_county_end_to_end() {
    let db = Db::new().await;
    let mut cmd = valvo(&db);
    cmd.args(["demo", "--addr", "127.0.0.1:0"])
        .env("VALVO_DEMO_PASSWORD", DEMO_PASSWORD);
    let (mut server, base) = start(cmd);

    let c = login(&base, "admin@valvo.demo", DEMO_PASSWORD).await;
    let home = c
        .get(format!("{base}/?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for area in [
        "Kund- och resurscenter",
        "Hem och boendeservice",
        "Räddningsverket",
    ] {
        assert!(home.contains(area), "tree shows {area}");
    }
    // Find Kund- och resurscenter in the tree.
    let at = home.find("Kund- och resurscenter").unwrap();
    let href = home[..at].rsplit("href=\"/org/").next().unwrap();
    let area: i64 = href.split('"').next().unwrap().parse().unwrap();

    let sv = c
        .get(format!("{base}/org/{area}/plan/2024?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let name = sv
        .find("Antalet aktiva användare av taligenkänning")
        .expect("Swedish indicator name");
    assert!(sv[name..].contains("Utgångsläge</dt><dd>40</dd>"));
    assert!(sv[name..].contains("Mål</dt><dd>100</dd>"));
    assert!(
        sv.contains("Andelen visstidsanställda var i genomsnitt 43 %"),
        "the seed's follow-up text"
    );
    let ind: i64 = sv[..name]
        .rsplit("/indicators/")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let fi = c
        .get(format!("{base}/org/{area}/plan/2024?lang=fi"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let name_fi = fi
        .find("Puheentunnistuksen aktiivisten käyttäjien määrä")
        .expect("Finnish indicator name");
    assert!(
        fi[name_fi..].contains("Lähtötaso</dt><dd>40</dd>")
            && fi[name_fi..].contains("Tavoite</dt><dd>100</dd>")
    );
    let bi = c
        .get(format!("{base}/org/{area}/plan/2024/bilingual"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        bi.contains("Antalet aktiva användare av taligenkänning")
            && bi.contains("Puheentunnistuksen aktiivisten käyttäjien määrä")
    );

    // A follow-up through the form: the half-year indicator offers its own
    // periods only, starting at the one chosen on the plan page.
    let form = c
        .get(format!(
            "{base}/indicators/{ind}/follow-up?period=2024H2&lang=sv"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("<option value=\"2024H2\" selected>"),
        "{form}"
    );
    assert!(form.contains("<option value=\"2023H1\""));
    assert!(
        !form.contains("2024T3"),
        "a tertial is not this indicator's period"
    );
    let csrf = hidden(&form, "csrf");
    let post = |period: &'static str| {
        c.post(format!("{base}/indicators/{ind}/follow-up?lang=sv"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("period", period),
                ("value", "70"),
                ("assessment_sv", "Ökar enligt plan"),
            ])
            .send()
    };
    let refused = post("2024T3").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("uppföljningsperiod för den här mätaren"));
    let r = post("2024H2").await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = c
        .get(format!("{base}/indicators/{ind}?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("på väg") && page.contains("Ökar enligt plan"));
    let audit = c
        .get(format!("{base}/audit?lang=sv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains(&format!("{ind}/2024H2")) && audit.contains("admin@valvo.demo"));

    // The same through the API, with a token from the command line.
    let (ok, token, err) =
        output(valvo(&db).args(["token", "create", "--email", "admin@valvo.demo"]));
    assert!(ok, "token create: {err}");
    let token = token.trim().to_string();
    let api = client();
    let inds: Value = api
        .get(format!("{base}/api/v1/indicators?org_unit={area}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &inds["indicators"][0];
    assert_eq!(
        first["name"]["sv"],
        "Antalet aktiva användare av taligenkänning"
    );
    assert_eq!(
        first["name"]["fi"],
        "Puheentunnistuksen aktiivisten käyttäjien määrä"
    );
    assert_eq!(
        (first["baseline"].as_f64(), first["target"].as_f64()),
        (Some(40.0), Some(100.0))
    );
    let put = |period: &str| {
        api.put(format!("{base}/api/v1/indicators/{ind}/follow-ups/{period}"))
            .bearer_auth(&token)
            .json(&json!({ "value": 100, "assessment": { "fi": "Tavoite saavutettu", "sv": "Målet uppnått" } }))
            .send()
    };
    // Not its period: named, nothing written.
    let r = put("2024Q1").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["fields"][0]["field"],
        "period"
    );
    // The label Valvo prints is taken too (7–12/2024 is 2024H2).
    let r = put("7%E2%80%9312%2F2024").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "met");
    let log: Value = api
        .get(format!("{base}/api/v1/audit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["entries"][0]["entity_id"], format!("{ind}/2024H2"));
    assert_eq!(log["entries"][0]["before"]["value"], json!(70.0));
    assert_eq!(log["entries"][0]["after"]["value"], json!(100.0));

    server.kill().unwrap();
    server.wait().unwrap();

    // Demo data as the seed has it: eight areas, and a second run duplicates nothing.
    let first_counts = counts(&db.url).await;
    assert_eq!(first_counts.0, 24, "goals");
    assert!(
        first_counts.1 >= 35 && first_counts.2 >= 60,
        "indicators and actions: {first_counts:?}"
    );
    let (ok, out, err) = output(
        valvo(&db)
            .args(["demo", "--load-only"])
            .env("VALVO_DEMO_PASSWORD", "another password 456"),
    );
    assert!(ok, "second demo run: {err}");
    assert!(out.contains("another password 456"));
    assert_eq!(
        counts(&db.url).await,
        first_counts,
        "a second run adds nothing"
    );
    // The printed password is the one that works now.
    let mut cmd = valvo(&db);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--cookie-secure", "false"]);
    let (mut server, base) = start(cmd);
    login(&base, "admin@valvo.demo", "another password 456").await;
    server.kill().unwrap();
    server.wait().unwrap();
    db.drop().await;
}

#[tokio::test]
async fn users_tokens_and_configuration_from_the_command_line() {
    let db = Db::new().await;
    let (ok, _, err) = output(valvo(&db).args(["demo", "--load-only"]));
    assert!(ok, "{err}");

    // Clear errors for bad input, nothing created.
    let (ok, _, err) = output(valvo(&db).args([
        "user",
        "add",
        "--email",
        "x@test.fi",
        "--name",
        "X",
        "--role",
        "boss",
    ]));
    assert!(!ok && err.contains("unknown role"), "{err}");
    let (ok, _, err) = output(valvo(&db).args([
        "user",
        "add",
        "--email",
        "x@test.fi",
        "--name",
        "X",
        "--role",
        "area_manager",
    ]));
    assert!(!ok && err.contains("scope"), "{err}");
    let (ok, _, err) = output(valvo(&db).args([
        "user",
        "add",
        "--email",
        "x@test.fi",
        "--name",
        "X",
        "--role",
        "viewer",
        "--scope",
        "no-such-unit",
    ]));
    assert!(!ok && err.contains("no-such-unit"), "{err}");
    let (ok, _, err) = output(valvo(&db).args([
        "user",
        "add",
        "--email",
        "not-an-email",
        "--name",
        "X",
        "--role",
        "viewer",
    ]));
    assert!(!ok && err.contains("email"), "{err}");
    let (ok, _, err) = output(valvo(&db).args(["token", "create", "--email", "nobody@test.fi"]));
    assert!(!ok && err.contains("nobody@test.fi"), "{err}");

    // An area manager for the rescue department; password from VALVO_PASSWORD.
    let (ok, out, err) = output(
        valvo(&db)
            .args([
                "user",
                "add",
                "--email",
                "Manager@Test.fi",
                "--name",
                "Pelastus Päällikkö",
                "--role",
                "area_manager",
                "--scope",
                "pelastuslaitos",
            ])
            .env("VALVO_PASSWORD", "manager password 1"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("manager@test.fi") && !out.contains("Password:"));
    let (ok, _, err) = output(valvo(&db).args([
        "user",
        "add",
        "--email",
        "manager@test.fi",
        "--name",
        "Again",
        "--role",
        "viewer",
    ]));
    assert!(!ok && err.contains("exists"), "{err}");
    // A generated password is printed once.
    let (ok, out, _) = output(
        valvo(&db)
            .args([
                "user",
                "add",
                "--email",
                "viewer@test.fi",
                "--name",
                "Viewer",
                "--role",
                "viewer",
            ])
            .env_remove("VALVO_PASSWORD"),
    );
    assert!(ok && out.contains("Password: "));
    let (ok, list, _) = output(valvo(&db).args(["user", "list"]));
    assert!(
        ok && list.contains("manager@test.fi\tarea_manager")
            && list.contains("viewer@test.fi\tviewer")
    );

    let (ok, token, err) =
        output(valvo(&db).args(["token", "create", "--email", "manager@test.fi"]));
    assert!(ok, "{err}");
    let token = token.trim().to_string();
    assert!(token.starts_with("valvo_"));

    // `serve` configured only by environment variables.
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .env("VALVO_DATABASE_URL", &db.url)
        .env("VALVO_ADDR", "127.0.0.1:0")
        .env("VALVO_COOKIE_SECURE", "false")
        .env("VALVO_LOG_JSON", "true")
        .env("VALVO_LOG", "warn");
    let (mut server, base) = start(cmd);
    let c = client();
    assert_eq!(
        c.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let units: Value = c
        .get(format!("{base}/api/v1/org-units"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = units["org_units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["pelastuslaitos"],
        "the manager sees only its subtree"
    );
    login(&base, "manager@test.fi", "manager password 1").await;
    server.kill().unwrap();
    server.wait().unwrap();

    // The org tree from the command line.
    let (ok, out, err) = output(valvo(&db).args([
        "org",
        "add",
        "--code",
        "ensihoito",
        "--parent",
        "pelastuslaitos",
        "--name-fi",
        "Ensihoito",
        "--name-sv",
        "Prehospital akutsjukvård",
        "--producer",
        "purchased",
        "--service-type",
        "emergency",
    ]));
    assert!(ok, "{err}");
    assert!(out.contains("ensihoito"));
    let (ok, _, err) = output(valvo(&db).args([
        "org",
        "add",
        "--code",
        "y",
        "--name-fi",
        "Y",
        "--service-type",
        "dentistry",
    ]));
    assert!(
        !ok && err.contains("\"dentistry\"") && err.contains("oral_health"),
        "{err}"
    );
    let (ok, _, err) =
        output(valvo(&db).args(["org", "add", "--code", "ensihoito", "--name-fi", "Toinen"]));
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, _, err) =
        output(valvo(&db).args(["org", "add", "--code", "x", "--name-en", "Only English"]));
    assert!(!ok && err.contains("name"), "{err}");
    let (ok, _, err) = output(valvo(&db).args([
        "org",
        "add",
        "--code",
        "x",
        "--name-fi",
        "X",
        "--parent",
        "nowhere",
    ]));
    assert!(!ok && err.contains("nowhere"), "{err}");
    let (ok, list, _) = output(valvo(&db).args(["org", "list"]));
    assert!(
        ok && list
            .contains("ensihoito\tpurchased\tEnsihoito / Prehospital akutsjukvård\temergency"),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("    ") && l.contains("ensihoito")),
        "indented under the rescue department: {list}"
    );

    // A bad database URL is a clear error.
    let (ok, _, err) =
        output(Command::new(BIN).args(["--database-url", "mysql://x/y", "user", "list"]));
    assert!(!ok && err.contains("unsupported database URL"), "{err}");
    db.drop().await;
}

/// Every number of a text, as values ("4,8" and "4.8" alike; "1–6/2024" gives 1, 6, 2024).
fn numbers(text: &str) -> std::collections::BTreeSet<String> {
    // Clock times ("12:41") are not figures.
    let text: String = text
        .split_whitespace()
        .filter(|w| !w.contains(':') || !w.chars().any(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = std::collections::BTreeSet::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut std::collections::BTreeSet<String>| {
        let t = cur.trim_end_matches(['.', ',']).replace(',', ".");
        if let Ok(v) = t.parse::<f64>() {
            out.insert(format!("{v}"));
        }
        cur.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || ((c == ',' || c == '.') && !cur.is_empty()) {
            cur.push(c);
        } else {
            flush(&mut cur, &mut out);
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// Seed 002's customer and resource centre part: (Swedish, Finnish).
fn seed_krc() -> (String, String) {
    // The seed itself when shared/ lies beside the repository; else the copy of
    // its customer and resource centre part kept with the tests.
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seeds/002_9e6fed18f32760bf.txt"
    );
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/seed-002-krc.txt"
    );
    let seed = std::fs::read_to_string(shared)
        .or_else(|_| std::fs::read_to_string(fixture))
        .unwrap_or_else(|e| panic!("seed 002 ({shared} or {fixture}): {e}"));
    let krc = &seed[..seed.find("Hem och boendeservice").unwrap_or(seed.len())];
    let split = krc.find("Tavoite Mittarit").unwrap();
    let clean = |s: &str| s.replace("1-6/2024", "").replace("1-6/24", "");
    (clean(&krc[..split]), clean(&krc[split..]))
}

fn pdf_text(path: &std::path::Path) -> String {
    let info = Command::new("pdfinfo")
        .arg(path)
        .output()
        .expect("pdfinfo (poppler-utils) must be installed");
    assert!(
        info.status.success() && info.stderr.is_empty(),
        "pdfinfo reads it without an error: {}",
        String::from_utf8_lossy(&info.stderr)
    );
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    assert!(info.contains("Tagged:          yes"), "{info}");
    // Set in the report's own sans-serif typeface, embedded.
    let fonts = Command::new("pdffonts")
        .arg(path)
        .output()
        .expect("pdffonts (poppler-utils) must be installed");
    let fonts = String::from_utf8_lossy(&fonts.stdout).to_string();
    let faces: Vec<&str> = fonts
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        !faces.is_empty() && faces.iter().all(|f| f.contains("+Inter-")),
        "{fonts}"
    );
    assert!(
        fonts.lines().skip(2).all(|l| l.contains(" yes yes ")),
        "{fonts}"
    );
    let pages: usize = info.lines().find(|l| l.starts_with("Pages:")).unwrap()[6..]
        .trim()
        .parse()
        .unwrap();
    assert!(pages >= 1, "{info}");
    let out = Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The first ISO date (`2026-12-01`) in a text.
fn regex_lite_iso(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let w = &b[i..i + 10];
        let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        (digits(0..4)
            && w[4] == b'-'
            && digits(5..7)
            && w[7] == b'-'
            && digits(8..10)
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 10).is_none_or(|c| !c.is_ascii_digit()))
        .then(|| text[i..i + 10].to_owned())
    })
}

fn html_text(path: &std::path::Path) -> String {
    let html = std::fs::read_to_string(path).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let body = scraper::Selector::parse("body").unwrap();
    doc.select(&body)
        .next()
        .unwrap()
        .text()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The demo county's 1-6/2024 report for the customer and resource centre
/// reproduces every figure of seed 002 for that area, in Swedish and in
/// Finnish, read back from the PDF (poppler) and the HTML (an HTML parser).
#[tokio::test]
async fn demo_report_reproduces_seed_002() {
    let db = Db::new().await;
    let (ok, _, err) = output(valvo(&db).args(["demo", "--load-only"]));
    assert!(ok, "{err}");
    let (sv_seed, fi_seed) = seed_krc();
    for (lang, seed, name) in [
        ("sv", &sv_seed, "Antalet aktiva användare av taligenkänning"),
        (
            "fi",
            &fi_seed,
            "Puheentunnistuksen aktiivisten käyttäjien määrä",
        ),
    ] {
        let expected = numbers(seed);
        assert!(expected.len() >= 10, "{expected:?}");
        for format in ["pdf", "html"] {
            let out = db.dir.join(format!("krc-{lang}.{format}"));
            let (ok, stdout, err) = output(
                valvo(&db)
                    .args([
                        "report",
                        "--org",
                        "asiakas-ja-resurssikeskus",
                        "--period",
                        "2024H1",
                        "--lang",
                        lang,
                        "--format",
                        format,
                        "--out",
                    ])
                    .arg(&out),
            );
            assert!(ok, "report {lang} {format}: {err}");
            assert!(stdout.contains("Wrote"));
            let text = if format == "pdf" {
                pdf_text(&out)
            } else {
                html_text(&out)
            };
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(name), "{lang} {format} names the indicator");
            let found = numbers(&text);
            let missing: Vec<_> = expected.iter().filter(|n| !found.contains(*n)).collect();
            assert!(
                missing.is_empty(),
                "{lang} {format} lacks figures {missing:?} of seed 002"
            );
        }
    }
    // The county's published report has a chapter per area; JSON and CSV carry the figures.
    let json = db.dir.join("county.json");
    let (ok, _, err) = output(
        valvo(&db)
            .args([
                "report",
                "--org",
                "pohjanmaa",
                "--period",
                "2024H1",
                "--format",
                "json",
                "--out",
            ])
            .arg(&json),
    );
    assert!(ok, "{err}");
    let model: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(model["state"], "published");
    assert_eq!(
        model["chapters"].as_array().unwrap().len(),
        9,
        "the county and its eight areas"
    );
    let csv = db.dir.join("county.csv");
    let (ok, _, err) = output(
        valvo(&db)
            .args([
                "report",
                "--org",
                "pohjanmaa",
                "--period",
                "2024H1",
                "--lang",
                "sv",
                "--format",
                "csv",
                "--out",
            ])
            .arg(&csv),
    );
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.contains("Antalet aktiva användare av taligenkänning") && csv.lines().count() > 40);

    // Clear errors.
    for (args, message) in [
        (vec!["--period", "2024Q5"], "unknown period"),
        (vec!["--period", "2999T1"], "has not ended"),
        (
            vec!["--period", "2024H1", "--format", "docx"],
            "unknown format",
        ),
        (
            vec!["--period", "2024H1", "--lang", "de"],
            "unknown language",
        ),
    ] {
        let mut cmd = valvo(&db);
        cmd.args(["report", "--org", "pohjanmaa", "--out"])
            .arg(db.dir.join("x"))
            .args(&args);
        let (ok, _, err) = output(&mut cmd);
        assert!(!ok && err.contains(message), "{args:?}: {err}");
    }
    let (ok, _, err) = output(
        valvo(&db)
            .args(["report", "--org", "nowhere", "--period", "2024H1", "--out"])
            .arg(db.dir.join("x")),
    );
    assert!(!ok && err.contains("nowhere"), "{err}");
    db.drop().await;
}

#[tokio::test]
async fn acknowledged_feedback_survives_a_killed_server() {
    let db = Db::new().await;
    let (ok, _, err) = output(
        valvo(&db)
            .args(["demo", "--load-only"])
            .env("VALVO_DEMO_PASSWORD", DEMO_PASSWORD),
    );
    assert!(ok, "demo: {err}");
    let (ok, token, err) =
        output(valvo(&db).args(["token", "create", "--email", "admin@valvo.demo"]));
    assert!(ok, "token create: {err}");
    let token = token.trim().to_string();
    // What the demo already has this year.
    let year = time::OffsetDateTime::now_utc().year();
    let count = |url: String| async move {
        let store = valvo_store::Store::connect(&url).await.unwrap();
        let tree = store.org_tree().await.unwrap();
        let county = tree.roots()[0].id;
        let s = store
            .feedback_stats(
                &tree,
                county,
                valvo_core::Period::year(year).unwrap(),
                valvo_core::feedback::Filter::default(),
            )
            .await
            .unwrap();
        store.close().await;
        (s.current.answers, s.current.nps.n)
    };
    let before = count(db.url.clone()).await;
    let mut cmd = valvo(&db);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--cookie-secure", "false"]);
    let (mut server, base) = start(cmd);
    let api = client();
    let units: Value = api
        .get(format!("{base}/api/v1/org-units"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let county = units["org_units"]
        .as_array()
        .or_else(|| units.as_array())
        .unwrap()
        .iter()
        .find(|u| u["parent_id"].is_null())
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    // 200 answers from 20 clients at once; every one acknowledged 201.
    let mut tasks = Vec::new();
    for t in 0..20 {
        let api = api.clone();
        let url = format!("{base}/api/v1/feedback/answers");
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let r = api
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "org_unit": county, "nps": (t + i) % 11 }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Killed at once (SIGKILL): no shutdown, no flush.
    server.kill().unwrap();
    server.wait().unwrap();
    let after = count(db.url.clone()).await;
    assert_eq!(
        after.0,
        before.0 + 200,
        "every acknowledged answer is there"
    );
    assert_eq!(after.1, before.1 + 200);
    db.drop().await;
}

#[test]
fn text_analyze_reads_json_lines_and_redacts() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["text", "analyze"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "{\"id\": 7, \"text\": \"Soitin numeroon 040 123 4567 mutta kukaan ei vastannut, jonotin tunnin.\"}\n\
             {\"text\": \"Tack för bra och vänligt bemötande!\"}\n\
             not json\n"
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], 7);
    assert_eq!(lines[0]["language"], "fi");
    assert_eq!(lines[0]["sentiment"], "negative");
    assert!(lines[0]["redacted"].as_str().unwrap().contains("[PHONE]"));
    assert!(!lines[0]["redacted"].as_str().unwrap().contains("4567"));
    assert!(lines[0]["topics"]
        .as_array()
        .unwrap()
        .contains(&json!("telephone")));
    assert_eq!(lines[1]["language"], "sv");
    assert_eq!(lines[1]["sentiment"], "positive");
    assert_eq!(lines[2]["line"], 3);
    assert!(lines[2]["error"].is_string());
}

#[tokio::test]
async fn feedback_import_from_the_command_line_names_bad_lines() {
    let db = Db::new().await;
    let (ok, _, err) = output(valvo(&db).args([
        "org",
        "add",
        "--code",
        "hc1",
        "--name-fi",
        "Terveysasema",
        "--name-sv",
        "Hälsostation",
    ]));
    assert!(ok, "org add: {err}");
    let bad = db.dir.join("bad.csv");
    std::fs::write(&bad, "unit;nps;safe\nhc1;9;5\nhc1;12;5\nxx;3;1\n").unwrap();
    let (ok, out, err) = output(valvo(&db).args(["feedback", "import", bad.to_str().unwrap()]));
    assert!(!ok, "{out}");
    assert!(err.contains("line 3: nps: out_of_range"), "{err}");
    let good = db.dir.join("good.csv");
    std::fs::write(
        &good,
        "unit,nps,safe,text\nhc1,9,5,\nhc1,3,x,Jonot olivat pitkät\n",
    )
    .unwrap();
    let (ok, out, err) = output(valvo(&db).args(["feedback", "import", good.to_str().unwrap()]));
    assert!(ok, "{err}");
    assert!(out.contains("2 answers imported"), "{out}");
    let store = valvo_store::Store::connect(&db.url).await.unwrap();
    let tree = store.org_tree().await.unwrap();
    let year = time::OffsetDateTime::now_utc().year();
    let s = store
        .feedback_stats(
            &tree,
            tree.roots()[0].id,
            valvo_core::Period::year(year).unwrap(),
            valvo_core::feedback::Filter::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.current.answers, 2);
    assert_eq!(s.current.nps.nps, Some(0.0));
    store.close().await;
    db.drop().await;
}

/// Rows an import left in the answer table (counted or not).
async fn rows_of_import(db: &Db, id: i64) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM feedback_answers WHERE import_id = {id}");
    if db.pg {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let n = sqlx::query_scalar::<_, i64>(&sql)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        let n = sqlx::query_scalar::<_, i64>(&sql)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }
}

async fn answers_this_year(db: &Db) -> u64 {
    let store = valvo_store::Store::connect(&db.url).await.unwrap();
    let tree = store.org_tree().await.unwrap();
    let year = time::OffsetDateTime::now_utc().year();
    let s = store
        .feedback_stats(
            &tree,
            tree.roots()[0].id,
            valvo_core::Period::year(year).unwrap(),
            valvo_core::feedback::Filter::default(),
        )
        .await
        .unwrap();
    store.close().await;
    s.current.answers
}

#[tokio::test]
async fn an_import_killed_midway_leaves_nothing_and_is_cleaned_up() {
    let db = Db::new().await;
    let (ok, _, err) = output(valvo(&db).args([
        "org",
        "add",
        "--code",
        "hc1",
        "--name-fi",
        "Terveysasema",
        "--name-sv",
        "Hälsostation",
    ]));
    assert!(ok, "org add: {err}");
    let big = db.dir.join("big.csv");
    let mut text = String::from("unit;nps;safe\n");
    for i in 0..400_000 {
        text.push_str(&format!("hc1;{};{}\n", i % 11, 1 + i % 5));
    }
    std::fs::write(&big, text).unwrap();
    let mut child = valvo(&db)
        .args(["import", "feedback", big.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some chunks are written.
    let store = valvo_store::Store::connect(&db.url).await.unwrap();
    let mut written = 0;
    for _ in 0..3000 {
        if let Some(job) = store.import_job(1).await.unwrap() {
            written = job.rows_written;
            if written >= 2 * valvo_store::IMPORT_CHUNK as u64 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(written > 0, "the import wrote nothing to kill");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    store.close().await;
    // Its rows are there but count nowhere.
    assert!(rows_of_import(&db, 1).await >= written as i64);
    assert_eq!(answers_this_year(&db).await, 0);
    // The next import (or server start) finds it dead and removes them.
    let good = db.dir.join("good.csv");
    std::fs::write(&good, "unit;nps\nhc1;9\nhc1;10\n").unwrap();
    let (ok, out, err) = output(valvo(&db).args(["import", "feedback", good.to_str().unwrap()]));
    assert!(ok, "{out}{err}");
    assert_eq!(rows_of_import(&db, 1).await, 0);
    let store = valvo_store::Store::connect(&db.url).await.unwrap();
    let job = store.import_job(1).await.unwrap().unwrap();
    assert_eq!(job.state, valvo_store::ImportState::Failed);
    assert_eq!(job.message.as_deref(), Some("interrupted"));
    store.close().await;
    assert_eq!(answers_this_year(&db).await, 2);
    // --dry-run checks the whole file and writes nothing; a bad last line
    // names itself and writes nothing.
    let (ok, out, _) =
        output(valvo(&db).args(["import", "feedback", "--dry-run", big.to_str().unwrap()]));
    assert!(ok && out.contains("400000 lines checked"), "{out}");
    let mut text = std::fs::read_to_string(&big).unwrap();
    text.push_str("hc1;eleven;5\n");
    std::fs::write(&big, text).unwrap();
    let (ok, _, err) = output(valvo(&db).args(["import", "feedback", big.to_str().unwrap()]));
    assert!(!ok);
    assert!(err.contains("line 400002: nps: not_a_number"), "{err}");
    assert_eq!(answers_this_year(&db).await, 2);
    db.drop().await;
}

#[test]
fn a_county_can_give_its_own_topics() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!(
        "valvo-topics-{:016x}",
        rand::thread_rng().gen::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("topics.txt");
    std::fs::write(&file, "[parking]\nfi: pysäköin* parkki*\nsv: parker*\n\n[waiting]\nfi: jono* odot*\nsv: kö väntetid*\n").unwrap();
    let mut child = Command::new(BIN)
        .args(["--topics-file", file.to_str().unwrap(), "text", "analyze"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "{\"text\": \"Pysäköintipaikkoja oli liian vähän ja jono oli pitkä.\"}\n".as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let topics: Vec<&str> = line["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        topics.contains(&"parking") && topics.contains(&"waiting"),
        "{topics:?}"
    );
    // A broken list is refused with its line.
    std::fs::write(&file, "fi: ilman otsikkoa\n").unwrap();
    let out = Command::new(BIN)
        .args(["--topics-file", file.to_str().unwrap(), "text", "analyze"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM as a load balancer's drain: a request under way (its body still
/// arriving) is answered and its answer stored, the instance says it is not
/// ready meanwhile, takes no new connection, and then exits cleanly; its
/// log has every line up to the last, in order (request lines are written
/// a few times a second, and what is left when the process exits).
#[tokio::test]
async fn sigterm_lets_the_requests_under_way_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = Db::new().await;
    let env = |c: &mut Command| {
        c.env("VALVO_PASSWORD", DEMO_PASSWORD);
    };
    let mut add = valvo(&db);
    env(&mut add);
    let (ok, _, err) = output(add.args([
        "user", "add", "--email", "a@x.fi", "--name", "A", "--role", "admin",
    ]));
    assert!(ok, "{err}");
    let (ok, out, err) = output(valvo(&db).args([
        "org",
        "add",
        "--code",
        "c",
        "--name-fi",
        "Alue",
        "--name-sv",
        "Område",
    ]));
    assert!(ok, "{err}");
    let org: i64 = out.trim().rsplit(' ').next().unwrap().parse().unwrap();
    let (ok, token, err) = output(valvo(&db).args(["token", "create", "--email", "a@x.fi"]));
    assert!(ok, "{err}");
    let token = token.trim().to_string();
    let mut cmd = valvo(&db);
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--cookie-secure",
        "false",
        "--shutdown-grace",
        "10",
    ]);
    // Every request's line, as a server logs by default.
    cmd.env("VALVO_LOG", "info");
    let log_path = db.dir.join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (mut server, base) = start_logging_to(cmd, log.into());
    let addr = base.trim_start_matches("http://").to_string();
    assert_eq!(
        client()
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // A request whose body is only half sent when the signal comes.
    let body = json!({ "org_unit": org, "nps": 9 }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(
        format!(
            "POST /api/v1/feedback/answers HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Draining: no new connection is taken.
    assert!(
        client()
            .get(format!("{base}/readyz"))
            .timeout(std::time::Duration::from_secs(2))
            .send()
            .await
            .map(|r| r.status() != StatusCode::OK)
            .unwrap_or(true),
        "a draining instance is not ready"
    );
    // The rest of the body: the request is answered and the answer stored.
    conn.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("an answer within the grace time")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = server.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let at = |needle: &str| {
        log.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in the log:\n{log}"))
    };
    let ready = at("path=/readyz status=200");
    let draining = at("shutting down");
    let answered = at("path=/api/v1/feedback/answers status=201");
    assert!(
        ready < draining && draining < answered,
        "lines out of order:\n{log}"
    );
    let store = valvo_store::Store::connect(&db.url).await.unwrap();
    assert_eq!(store.count_answers(&[org]).await.unwrap(), 1);
    store.close().await;
    db.drop().await;
}

/// A client that never finishes its headers is dropped after --header-timeout,
/// one that never finishes its body after --body-timeout.
#[tokio::test]
async fn a_client_that_never_finishes_its_headers_or_body_is_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = Db::new().await;
    let mut cmd = valvo(&db);
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--cookie-secure",
        "false",
        "--header-timeout",
        "1",
    ]);
    let (mut server, base) = start(cmd);
    let addr = base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    // Closed (with or without a 408) well before a slow client would finish.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(closed, "the connection is still open");
    // Others are served meanwhile.
    assert_eq!(
        client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    server.kill().unwrap();
    server.wait().unwrap();
    // A body that never arrives: answered (408) or dropped after --body-timeout.
    let mut cmd = valvo(&db);
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--cookie-secure",
        "false",
        "--body-timeout",
        "1",
    ]);
    let (mut server, base) = start(cmd);
    let addr = base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(
        format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 100\r\n\r\nemail=slow"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        return true;
                    }
                }
            }
        }
    })
    .await
    .unwrap_or(false);
    let answer = String::from_utf8_lossy(&answer);
    assert!(ended, "the request still waits for its body");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
    db.drop().await;
}

/// Issue "figures flow in", as a county's IT meets it: a unit's plan made
/// through the API with an indicator of each value kind, seed 000's figures
/// of 9–12/2023 imported with `valvo import figures` from CSV and from XLSX,
/// read back through the API and in the Swedish PDF report as the seed
/// prints them, a national reference beside one; a file with one bad cell
/// exits non-zero naming its line and column and writes nothing; the same
/// file twice writes nothing new.
#[tokio::test]
async fn seed_000_figures_imported_from_csv_and_xlsx_read_back_in_the_swedish_pdf() {
    let db = Db::new().await;
    let (ok, _, err) = output(valvo(&db).args([
        "org",
        "add",
        "--code",
        "pohjanmaa",
        "--name-fi",
        "Pohjanmaa",
        "--name-sv",
        "Österbotten",
    ]));
    assert!(ok, "{err}");
    let (ok, _, err) = output(
        valvo(&db)
            .env("VALVO_PASSWORD", "import test password")
            .args([
                "user",
                "add",
                "--email",
                "it@county.fi",
                "--name",
                "IT",
                "--role",
                "admin",
            ]),
    );
    assert!(ok, "{err}");
    let (_, token, _) = output(valvo(&db).args(["token", "create", "--email", "it@county.fi"]));
    let token = token.trim().to_string();
    let (mut server, base) = start({
        let mut c = valvo(&db);
        c.args(["serve", "--addr", "127.0.0.1:0", "--cookie-secure", "false"]);
        c
    });
    let api = client();
    let post = |path: &str, body: Value| {
        api.post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let units: Value = api
        .get(format!("{base}/api/v1/org-units"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let county = units["org_units"][0]["id"].as_i64().unwrap();
    let unit: Value = post("/api/v1/org-units", json!({ "parent_id": county, "code": "krc", "name": { "fi": "Asiakas- ja resurssikeskus", "sv": "Kund- och resurscenter" } }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unit = unit["org_unit"]["id"].as_i64().unwrap();
    let goal: Value = post("/api/v1/goals", json!({ "org_unit": unit, "year": 2023, "area": "access", "title": { "sv": "Tillgänglighet per telefon", "fi": "Puhelinpalvelun saatavuus" } }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let goal = goal["goal"]["id"].as_i64().unwrap();
    let seed = [
        ("KRC-KO", "duration", "Kötid", "0:13:25", "0:13:25"),
        (
            "KRC-ATER",
            "duration",
            "Väntetid för återuppringning",
            "5:51:11",
            "5:51:11",
        ),
        ("KRC-SAMTAL", "count", "Antal samtal", "96 624", "96 624"),
        (
            "KRC-SVAR",
            "percent",
            "Andel besvarade samtal",
            "90 %",
            "90 %",
        ),
        (
            "KRC-PASS",
            "ratio",
            "Egna/utomstående pass",
            "192/469",
            "192/469 (29 %)",
        ),
        (
            "KRC-KOST",
            "money",
            "Kostnad per kontakt",
            "12,50",
            "12,50 €",
        ),
        (
            "KRC-OBS",
            "text",
            "Iakttagelse",
            "Kötiden förkortades under hösten.",
            "Kötiden förkortades under hösten.",
        ),
    ];
    let mut ids = Vec::new();
    for (code, kind, name, _, _) in seed {
        let r = post("/api/v1/indicators", json!({ "goal": goal, "code": code, "value_kind": kind, "name": { "sv": name, "fi": name }, "direction": "lower", "period_kind": "tertial" }))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(
            r.json::<Value>().await.unwrap()["indicator"]["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let dir = &db.dir;
    // CSV: the first four; XLSX: the rest.
    let mut csv = String::from("indicator;period;value;assessment_sv\n");
    for (code, _, _, typed, _) in &seed[..4] {
        csv.push_str(&format!("{code};2023T3;{typed};\n"));
    }
    std::fs::write(dir.join("figures.csv"), &csv).unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["indicator", "period", "value"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, (code, _, _, typed, _)) in seed[4..].iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *code).unwrap();
        sheet.write_string(r, 1, "9–12/2023").unwrap();
        sheet.write_string(r, 2, *typed).unwrap();
    }
    book.save(dir.join("figures.xlsx")).unwrap();
    for file in ["figures.csv", "figures.xlsx"] {
        let (ok, out, err) = output(valvo(&db).args(["import", "figures"]).arg(dir.join(file)));
        assert!(ok, "{file}: {err}");
        assert!(
            out.contains(" new, 0 changed, 0 unchanged"),
            "{file}: {out}"
        );
        // The same file again writes nothing new.
        let (ok, out, err) = output(valvo(&db).args(["import", "figures"]).arg(dir.join(file)));
        assert!(ok, "{err}");
        assert!(out.contains(": 0 new, 0 changed,"), "{file} again: {out}");
    }
    // One bad cell: non-zero, its line and column named, nothing written.
    std::fs::write(
        dir.join("bad.csv"),
        "indicator;period;value\nKRC-SAMTAL;2023T2;100\nKRC-KO;2023T2;13,4\n",
    )
    .unwrap();
    let (ok, _, err) = output(
        valvo(&db)
            .args(["import", "figures"])
            .arg(dir.join("bad.csv")),
    );
    assert!(!ok);
    assert!(err.contains("line 3: value: not_a_duration"), "{err}");
    let fu: Value = api
        .get(format!("{base}/api/v1/indicators/{}/follow-ups", ids[2]))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        fu["follow_ups"].as_array().unwrap().len(),
        1,
        "2023T2 not written"
    );
    // Read back through the API, raw and as printed.
    for (i, (code, _, _, _, printed)) in seed.iter().enumerate() {
        let f: Value = api
            .get(format!(
                "{base}/api/v1/indicators/{}/follow-ups/2023T3",
                ids[i]
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            f["formatted"]["sv"]
                .as_str()
                .unwrap()
                .replace('\u{a0}', " "),
            *printed,
            "{code}"
        );
    }
    // A national reference beside the share of answered calls.
    std::fs::write(
        dir.join("sotkanet.csv"),
        "indicator;region;year;gender;primary value;absolute value\n9001;658;2023;total;87,5;\n",
    )
    .unwrap();
    let (ok, out, err) = output(
        valvo(&db)
            .args(["import", "sotkanet"])
            .arg(dir.join("sotkanet.csv")),
    );
    assert!(
        ok && out.contains("1 reference values stored"),
        "{out} {err}"
    );
    let r = api
        .patch(format!("{base}/api/v1/indicators/{}", ids[3]))
        .bearer_auth(&token)
        .json(&json!({ "reference": { "series": "9001", "region": "658", "label": { "fi": "koko maa", "sv": "hela landet" } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    server.kill().unwrap();
    server.wait().unwrap();

    // The Swedish PDF report prints them as the seed does.
    let pdf = dir.join("report-sv.pdf");
    let (ok, _, err) = output(
        valvo(&db)
            .args([
                "report", "--org", "krc", "--period", "2023T3", "--lang", "sv", "--format", "pdf",
                "--out",
            ])
            .arg(&pdf),
    );
    assert!(ok, "{err}");
    let text = pdf_text(&pdf).replace('\u{a0}', " ");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (code, _, _, _, printed) in seed {
        assert!(
            flat.contains(printed),
            "{code}: {printed} in the PDF:\n{flat}"
        );
    }
    assert!(flat.contains("90 % (hela landet 87,5 %)"), "{flat}");
    assert!(!flat.contains("(h:min:s)"), "no unit beside a duration");
    db.drop().await;
}

/// A figure as the reports print it in Finnish and Swedish.
/// How far down each page of a PDF its text reaches, as a share of the
/// page's height (the running head and the page number left out).
fn page_fill(path: &std::path::Path) -> Vec<f64> {
    let out = Command::new("pdftotext")
        .args(["-bbox"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    let xml = String::from_utf8_lossy(&out.stdout).to_string();
    let attr = |s: &str, name: &str| -> Option<f64> {
        let at = s.find(&format!("{name}=\""))? + name.len() + 2;
        s[at..].split('"').next()?.parse().ok()
    };
    xml.split("<page ")
        .skip(1)
        .map(|page| {
            let height = attr(page, "height").unwrap();
            let bottom = page
                .split("<word ")
                .skip(1)
                .filter_map(|w| attr(w, "yMax"))
                // Under the running head, above the page number.
                .filter(|y| *y > 70.0 && *y < height - 50.0)
                .fold(0.0_f64, f64::max);
            bottom / height
        })
        .collect()
}

/// The PDF/UA-1 checkpoints a machine can check, by outloud (PyPI; the
/// test script installs it): no error.
fn pdf_ua_errors(path: &std::path::Path) -> u64 {
    let out = Command::new("outloud")
        .args([
            "--layer",
            "conformance",
            "--fail-on",
            "never",
            "--json",
            "-",
        ])
        .arg(path)
        .output()
        .expect("outloud must be installed: pip3 install outloud==0.2.1 (scripts/test does)");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "outloud's JSON: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let result = &report["results"][0];
    assert!(result["error"].is_null(), "outloud read the file: {result}");
    result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .inspect(|f| eprintln!("PDF/UA: {f}"))
        .count() as u64
}

fn fi_number(v: f64) -> String {
    valvo_core::format_number(v, valvo_core::Lang::Fi)
}

/// The demo's published 1–6/2024 report, as the public downloads it (PDF
/// and HTML, Swedish and Finnish): its safety and customer experience
/// sections carry the incident and feedback figures of the period and the
/// one before exactly as the API states them, the eight national
/// statements as `3,75 (3,84)`, in the shipped sans-serif face.
#[tokio::test]
async fn the_demos_published_report_carries_the_modules_figures_as_the_api_states_them() {
    let db = Db::new().await;
    let mut cmd = valvo(&db);
    cmd.args(["demo", "--addr", "127.0.0.1:0"])
        .env("VALVO_DEMO_PASSWORD", DEMO_PASSWORD);
    let (mut server, base) = start(cmd);
    let (ok, token, err) =
        output(valvo(&db).args(["token", "create", "--email", "admin@valvo.demo"]));
    assert!(ok, "{err}");
    let token = token.trim().to_string();
    let c = client();
    let get = |path: String| {
        let c = c.clone();
        let token = token.clone();
        async move {
            let r = c.get(path).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r
        }
    };
    let units: Value = get(format!("{base}/api/v1/org-units"))
        .await
        .json()
        .await
        .unwrap();
    let county = units["org_units"]
        .as_array()
        .or_else(|| units.as_array())
        .unwrap()
        .iter()
        .find(|u| u["code"] == "pohjanmaa")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let q = format!("org_unit={county}&period=2024H1");
    let inc: Value = get(format!("{base}/api/v1/incidents/stats?{q}"))
        .await
        .json()
        .await
        .unwrap();
    let fb: Value = get(format!("{base}/api/v1/feedback/stats?{q}"))
        .await
        .json()
        .await
        .unwrap();
    let n = |v: &Value| fi_number(v.as_f64().unwrap());
    let (cur, prev) = (&inc["stats"], &inc["previous"]);
    assert!(
        cur["total"].as_u64().unwrap() > 0,
        "the demo has reports in 1–6/2024"
    );
    let (fcur, fprev) = (&fb["stats"]["current"], &fb["stats"]["prev"]);
    assert!(
        fcur["answers"].as_u64().unwrap() > 0,
        "the demo has answers in 1–6/2024"
    );
    // The eight statements, the previous period's mean in brackets.
    let means: Vec<String> = fcur["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let key = &s["key"];
            let p = fprev["statements"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["key"] == *key)
                .unwrap();
            let two = |v: &Value| format!("{:.2}", v.as_f64().unwrap()).replace('.', ",");
            format!("{} ({})", two(&s["mean"]), two(&p["mean"]))
        })
        .collect();
    assert_eq!(means.len(), 8);
    for lang in ["sv", "fi"] {
        // Every area of the county in its summary.
        let areas: Vec<String> = units["org_units"]
            .as_array()
            .or_else(|| units.as_array())
            .unwrap()
            .iter()
            .filter(|u| u["parent_id"].as_i64() == Some(county))
            .map(|u| u["name"][lang].as_str().unwrap().to_owned())
            .collect();
        assert!(areas.len() >= 5, "{areas:?}");
        let (reports, answers) = if lang == "sv" {
            ("Avvikelseanmälningar", "Svar")
        } else {
            ("Vaaratapahtumailmoitukset", "Vastauksia")
        };
        // NPS per year before the report's, as the API states it.
        let years: Vec<String> = fb["stats"]["trend"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["year"].as_i64().unwrap() < 2024 && t["answers"].as_u64().unwrap() > 0)
            .map(|t| {
                format!(
                    "{} {} {}",
                    t["year"],
                    n(&t["answers"]),
                    n(&Value::from(t["nps"]["nps"].as_f64().unwrap().round()))
                )
            })
            .collect();
        assert!(years.len() >= 2, "the demo has earlier years: {years:?}");
        let expected = [
            format!("{reports} {} {}", n(&cur["total"]), n(&prev["total"])),
            format!("{answers} {} {}", n(&fcur["answers"]), n(&fprev["answers"])),
            format!(
                "NPS {} {}",
                n(&Value::from(fcur["nps"]["nps"].as_f64().unwrap().round())),
                n(&Value::from(fprev["nps"]["nps"].as_f64().unwrap().round()))
            ),
        ];
        for ext in ["pdf", "html"] {
            let url = format!("{base}/public/org/pohjanmaa/reports/2024H1/v1/report-{lang}.{ext}");
            let r = c.get(url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{lang} {ext}");
            let bytes = r.bytes().await.unwrap();
            let path = db.dir.join(format!("published-{lang}.{ext}"));
            std::fs::write(&path, &bytes).unwrap();
            let text = if ext == "pdf" {
                pdf_text(&path)
            } else {
                html_text(&path)
            };
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for e in expected.iter().chain(&means).chain(&areas).chain(&years) {
                assert!(
                    flat.contains(e.as_str()),
                    "{lang} {ext}: {e:?} not in\n{flat}"
                );
            }
            // Dates as d.m.yyyy, never ISO.
            let iso = regex_lite_iso(&flat);
            assert!(iso.is_none(), "{lang} {ext}: an ISO date {iso:?}");
            if ext == "pdf" {
                // No page but the last filled to less than a third.
                let fill = page_fill(&path);
                let (last, rest) = fill.split_last().unwrap();
                assert!(*last > 0.0);
                for (i, f) in rest.iter().enumerate() {
                    assert!(*f >= 1.0 / 3.0, "{lang}: page {} filled to {f:.2}", i + 1);
                }
                assert_eq!(pdf_ua_errors(&path), 0, "{lang}: PDF/UA errors");
                // The county's branding: its contact on the cover.
                assert!(flat.contains("(demo)"), "{lang}: the county's contact");
            }
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    db.drop().await;
}
