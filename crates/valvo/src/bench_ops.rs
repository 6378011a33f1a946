//! `valvo bench --instances 1,2` and `valvo bench --bursts`: the figures of
//! running Valvo as a county does, with real `valvo serve` processes.
//!
//! - Throughput: feedback answers and incident reports per second through
//!   one and through several server processes on one database, 64 clients
//!   spread over them, with the latency median and 99th percentile; the
//!   figures are then compared with a direct count of the rows.
//! - Memory: the peak resident size (VmHWM) of a server process under a
//!   burst of 60 password checks at once and of 40 PDF requests at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use valvo_store::Store;

/// A `valvo serve` child process.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(url: &str, extra: &[&str]) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args(["serve", "--addr", "127.0.0.1:0", "--cookie-secure", "false"])
            .args(extra)
            .env("VALVO_DATABASE_URL", url)
            .env("VALVO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start a server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no server output")?;
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .ok_or("the server ended before it listened")?
                .map_err(|e| e.to_string())?;
            if let Some(rest) = line.strip_prefix("Valvo listening on ") {
                let base = rest.trim_end_matches('/').to_string();
                std::thread::spawn(move || for _ in lines {});
                return Ok(Server { child, base });
            }
        }
    }

    /// The peak resident size so far, in MB (Linux: VmHWM of /proc/PID/status).
    fn peak_mb(&self) -> Option<f64> {
        status_kb(self.child.id(), "VmHWM:").map(|kb| kb as f64 / 1024.0)
    }

    /// The resident size now, in MB.
    fn rss_mb(&self) -> Option<f64> {
        status_kb(self.child.id(), "VmRSS:").map(|kb| kb as f64 / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

use crate::bench::{ms, percentile};

/// A fresh database beside the one `url` names (PostgreSQL) or in a
/// temporary folder (SQLite); returns its URL.
pub(crate) async fn fresh_database(url: Option<&str>) -> Result<String, String> {
    let id = format!("{:016x}", rand::random::<u64>());
    match url {
        Some(u) if u.starts_with("postgres") => {
            let base = u.rsplit_once('/').map(|(b, _)| b).unwrap_or(u);
            let fresh = format!("{base}/valvo_bench_{id}");
            valvo_store::create_database(&fresh)
                .await
                .map_err(|e| e.to_string())?;
            Ok(fresh)
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("valvo-bench-{id}"));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            Ok(format!("sqlite://{}", dir.join("valvo.db").display()))
        }
    }
}

pub(crate) async fn drop_database(url: &str) {
    if url.starts_with("postgres") {
        let _ = valvo_store::drop_database(url).await;
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        if let Some(dir) = std::path::Path::new(path).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Loads the demo county and returns an administrator's API token and the
/// ids of the areas.
async fn prepare(url: &str) -> Result<(String, Vec<i64>), String> {
    let store = Store::connect(url).await.map_err(|e| e.to_string())?;
    crate::demo::load(&store).await?;
    let token = crate::bench::admin_token(&store).await?;
    let tree = store.org_tree().await.map_err(|e| e.to_string())?;
    let areas = tree
        .walk()
        .into_iter()
        .filter(|(d, _)| *d == 1)
        .map(|(_, n)| n.id)
        .collect();
    store.close().await;
    Ok((token, areas))
}

/// `n` requests by 64 clients spread over `bases`; `body(i)` makes the i-th.
/// Returns (seconds, sorted latencies).
async fn load(
    bases: &[String],
    path: &str,
    token: &str,
    n: usize,
    body: Arc<dyn Fn(usize) -> Value + Send + Sync>,
) -> Result<(f64, Vec<Duration>), String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .map_err(|e| e.to_string())?;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..64 {
        let (client, next, body) = (client.clone(), next.clone(), body.clone());
        let url = format!("{}{path}", bases[c % bases.len()]);
        let token = token.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(lat);
                }
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body(i))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status() != StatusCode::CREATED {
                    return Err(format!("request {i}: {}", r.status()));
                }
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    let took = started.elapsed().as_secs_f64();
    all.sort_unstable();
    Ok((took, all))
}

/// The county (the root above the areas).
async fn areas_parent(url: &str) -> Result<i64, String> {
    let store = Store::connect(url).await.map_err(|e| e.to_string())?;
    let tree = store.org_tree().await.map_err(|e| e.to_string())?;
    store.close().await;
    tree.roots()
        .first()
        .map(|n| n.id)
        .ok_or_else(|| "no county".into())
}

/// The county's answers and incident reports of `year`, through `base`.
async fn figures(base: &str, token: &str, county: i64, year: i32) -> Result<(i64, i64), String> {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json::<Value>()
                .await
                .map_err(|e| e.to_string())
        }
    };
    let fb = get(format!(
        "/api/v1/feedback/stats?org_unit={county}&period={year}"
    ))
    .await?;
    let inc = get(format!(
        "/api/v1/incidents/stats?org_unit={county}&period={year}"
    ))
    .await?;
    Ok((
        fb["stats"]["current"]["answers"].as_i64().unwrap_or(-1),
        inc["stats"]["total"].as_i64().unwrap_or(-1),
    ))
}

/// Throughput through one and through several instances.
pub async fn instances(
    url: Option<String>,
    counts: &[usize],
    answers: usize,
    reports: usize,
) -> Result<(), String> {
    println!("Server processes on one database, 64 clients spread over them (requests acknowledged 201):");
    println!();
    println!(
        "{:<11} {:>9} {:>10} {:>12} {:>9} {:>9}",
        "instances", "kind", "requests", "per second", "p50 ms", "p99 ms"
    );
    for &k in counts {
        let db = fresh_database(url.as_deref()).await?;
        let result = async {
            let (token, areas) = prepare(&db).await?;
            let servers: Vec<Server> = (0..k)
                .map(|_| Server::start(&db, &[]))
                .collect::<Result<_, _>>()?;
            let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
            let year = time::OffsetDateTime::now_utc().year();
            let county = areas_parent(&db).await?;
            let (answers_before, reports_before) = figures(&bases[0], &token, county, year).await?;
            // Statistics read through the last instance while the answers
            // arrive, one reader after another, as a dashboard polls.
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let reader = {
                let (base, token, stop) = (bases[k - 1].clone(), token.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let started = Instant::now();
                        figures(&base, &token, county, year).await?;
                        lat.push(started.elapsed());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Ok::<_, String>(lat)
                })
            };
            let a = areas.clone();
            let (secs, lat) = load(
                &bases,
                "/api/v1/feedback/answers",
                &token,
                answers,
                Arc::new(move |i| {
                    let lang = ["fi", "sv"][i % 2];
                    let respondent = ["client", "relative"][i % 2];
                    json!({ "org_unit": a[i % a.len()], "nps": (i * 13) % 11,
                            "service_lang": lang, "respondent": respondent })
                }),
            )
            .await?;
            println!(
                "{:<11} {:>9} {:>10} {:>12.0} {:>9.1} {:>9.1}",
                k,
                "answers",
                answers,
                answers as f64 / secs,
                ms(percentile(&lat, 50.0)),
                ms(percentile(&lat, 99.0))
            );
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let mut reads = reader.await.map_err(|e| e.to_string())??;
            reads.sort();
            println!(
                "{:<11} {:>9} {:>10} {:>12} {:>9.1} {:>9.1}  max {:.1} ms (feedback and incident statistics of the county's year, through instance {k}, while the answers arrived)",
                k,
                "reads",
                reads.len(),
                "",
                ms(percentile(&reads, 50.0)),
                ms(percentile(&reads, 99.0)),
                ms(reads.last().copied().unwrap_or_default())
            );
            let a = areas.clone();
            let today = time::OffsetDateTime::now_utc().date().to_string();
            let (secs, lat) = load(
                &bases,
                "/api/v1/incidents",
                &token,
                reports,
                Arc::new(move |i| {
                    json!({ "org_unit": a[i % a.len()], "occurred_on": today, "kind": "client_safety",
                            "event_type": "medication", "consequence": "mild", "reporter_role": "staff",
                            "description": "Bench.", "anonymous": true })
                }),
            )
            .await?;
            println!(
                "{:<11} {:>9} {:>10} {:>12.0} {:>9.1} {:>9.1}",
                k,
                "reports",
                reports,
                reports as f64 / secs,
                ms(percentile(&lat, 50.0)),
                ms(percentile(&lat, 99.0))
            );
            // The figures through the other instance: every acknowledged write counted once.
            let (answers_after, reports_after) = figures(&bases[k - 1], &token, county, year).await?;
            println!(
                "{:<11} {:>9} statistics: +{} answers and +{} reports this year (posted: {answers} and {reports})",
                "",
                "check",
                answers_after - answers_before,
                reports_after - reports_before
            );
            drop(servers);
            Ok::<(), String>(())
        }
        .await;
        drop_database(&db).await;
        result?;
    }
    Ok(())
}

/// Peak memory of a server process under bursts of password checks and PDF renders.
pub async fn bursts(url: Option<String>) -> Result<(), String> {
    let db = fresh_database(url.as_deref()).await?;
    let result = async {
        prepare(&db).await?;
        let store = Store::connect(&db).await.map_err(|e| e.to_string())?;
        let published = store.published_reports().await.map_err(|e| e.to_string())?;
        let row = published.first().ok_or("no published report")?.clone();
        let tree = store.org_tree().await.map_err(|e| e.to_string())?;
        let code = tree.get(row.org_unit_id).map(|n| n.code.clone()).ok_or("no unit")?;
        store.close().await;
        println!("Peak resident size of one server process (VmHWM):");
        println!();

        // 60 password checks at once (the limit raised so that every one is checked).
        let server = Server::start(&db, &["--login-rate-limit", "10000"])?;
        let base = server.base.clone();
        let idle = server.rss_mb().unwrap_or(0.0);
        let mut tasks = Vec::new();
        let started = Instant::now();
        for _ in 0..60 {
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let c = reqwest::Client::builder()
                    .cookie_store(true)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| e.to_string())?;
                let page = c.get(format!("{base}/login")).send().await.map_err(|e| e.to_string())?;
                let page = page.text().await.map_err(|e| e.to_string())?;
                let needle = "name=\"token\" value=\"";
                let token = page
                    .find(needle)
                    .and_then(|s| page[s + needle.len()..].split('"').next())
                    .ok_or("no login token")?
                    .to_string();
                let r = c
                    .post(format!("{base}/login"))
                    .form(&[
                        ("token", token.as_str()),
                        ("next", "/"),
                        ("email", crate::demo::ADMIN_EMAIL),
                        ("password", "wrong password"),
                    ])
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(r.status())
            }));
        }
        for t in tasks {
            let s = t.await.map_err(|e| e.to_string())??;
            if s != StatusCode::UNAUTHORIZED {
                return Err(format!("login: {s}"));
            }
        }
        println!(
            "60 failed logins at once:   idle {idle:.0} MB, peak {:.0} MB (all checked in {:.2} s)",
            server.peak_mb().unwrap_or(0.0),
            started.elapsed().as_secs_f64()
        );
        drop(server);

        // 40 requests for the same public PDF at once.
        let server = Server::start(&db, &[])?;
        let idle = server.rss_mb().unwrap_or(0.0);
        let url = format!(
            "{}/public/org/{code}/reports/{}/v{}/report-sv.pdf",
            server.base, row.period, row.version
        );
        let client = reqwest::Client::new();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let (client, url) = (client.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let r = client.get(&url).send().await.map_err(|e| e.to_string())?;
                let status = r.status();
                let bytes = r.bytes().await.map_err(|e| e.to_string())?;
                Ok::<_, String>((status, bytes.len()))
            }));
        }
        let mut size = 0;
        for t in tasks {
            let (s, n) = t.await.map_err(|e| e.to_string())??;
            if s != StatusCode::OK {
                return Err(format!("PDF: {s}"));
            }
            size = n;
        }
        println!(
            "40 public PDF requests:     idle {idle:.0} MB, peak {:.0} MB (all {size} bytes served in {:.2} s)",
            server.peak_mb().unwrap_or(0.0),
            started.elapsed().as_secs_f64()
        );
        Ok::<(), String>(())
    }
    .await;
    drop_database(&db).await;
    result
}

/// Writes a generated import file of `rows` lines for `kind` over `units`:
/// in date order as exports are (answers over 36 months, reports over 24),
/// a text on every tenth answer.
pub(crate) fn generate(
    kind: valvo_store::ImportKind,
    rows: usize,
    units: &[String],
    path: &std::path::Path,
) -> Result<(), String> {
    use std::io::Write;
    let f = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let today = time::OffsetDateTime::now_utc().date();
    let io = |e: std::io::Error| e.to_string();
    match kind {
        valvo_store::ImportKind::Figures => {
            return Err("figures files are made by valvo bench --figures".into())
        }
        valvo_store::ImportKind::Feedback => {
            writeln!(
                w,
                "unit;service_date;nps;help_when_needed;safe;text;service_lang;respondent"
            )
            .map_err(io)?;
            for i in 0..rows {
                let day = today - time::Duration::days(1095 - (i * 1095 / rows.max(1)) as i64);
                let text = if i % 10 == 0 {
                    "Hyvä palvelu, kiitos"
                } else {
                    ""
                };
                writeln!(
                    w,
                    "{};{day};{};{};{};{text};{};{}",
                    units[i % units.len()],
                    (i * 7) % 11,
                    1 + (i % 5),
                    1 + (i * 3 % 5),
                    ["fi", "sv", "other"][i % 3],
                    ["client", "relative"][i % 2]
                )
                .map_err(io)?;
            }
        }
        valvo_store::ImportKind::Ombudsman => {
            // A contact per number; every fifth has a second item, every
            // seventh names only its producer.
            writeln!(w, "contact;contacted_on;channel;language;client_group;measures;unit;producer;sector;reasons")
                .map_err(io)?;
            let reasons = [
                "care",
                "conduct",
                "service",
                "legal_remedies",
                "information",
                "fees",
            ];
            // Over the last whole calendar year.
            let first = time::Date::from_calendar_date(today.year() - 1, time::Month::January, 1)
                .map_err(|e| e.to_string())?;
            for i in 0..rows {
                let day = first + time::Duration::days((i * 365 / rows.max(1)) as i64);
                let contact = format!(
                    "{i};{day};{};{};{};advice",
                    ["phone", "email", "letter"][i % 3],
                    ["fi", "fi", "sv", "en"][i % 4],
                    ["adult", "adult", "family", "minor"][i % 4]
                );
                let items = if i % 5 == 0 { 2 } else { 1 };
                for k in 0..items {
                    let (unit, producer) = if (i + k) % 7 == 0 {
                        ("", "other_organiser")
                    } else {
                        (units[(i + k) % units.len()].as_str(), "")
                    };
                    writeln!(
                        w,
                        "{contact};{unit};{producer};{};{}|{}",
                        ["health", "social", "other"][(i + k) % 3],
                        reasons[(i * 7 + k) % reasons.len()],
                        reasons[(i * 3 + k) % reasons.len()]
                    )
                    .map_err(io)?;
                }
            }
        }
        valvo_store::ImportKind::Incidents => {
            writeln!(w, "unit;reported_on;occurred_on;kind;event_type;consequence;reporter_role;state;handled_on").map_err(io)?;
            let kinds = [
                "client_safety",
                "client_safety",
                "work_safety",
                "misconduct",
            ];
            let cons = ["no_harm", "near_miss", "mild", "moderate", "severe"];
            let types = ["medication", "fall_accident", "information_flow", "other"];
            for i in 0..rows {
                let reported = today - time::Duration::days(730 - (i * 730 / rows.max(1)) as i64);
                let handled =
                    (i % 4 != 0).then(|| reported + time::Duration::days((i % 60) as i64));
                let handled = handled.filter(|h| *h <= today);
                writeln!(
                    w,
                    "{};{reported};{reported};{};{};{};staff;{};{}",
                    units[i % units.len()],
                    kinds[i % kinds.len()],
                    types[i % types.len()],
                    cons[i % cons.len()],
                    if handled.is_some() { "handled" } else { "new" },
                    handled.map(|h| h.to_string()).unwrap_or_default()
                )
                .map_err(io)?;
            }
        }
    }
    w.flush().map_err(io)
}

/// Imports generated files of `rows` answers and `rows` incident reports
/// with `valvo import` (a child process: time, rows/s, peak resident size),
/// while a server on the same database keeps acknowledging live answers
/// (their p50/p99 and failures show whether the import blocks them).
pub async fn imports(url: Option<String>, rows: usize) -> Result<(), String> {
    println!("`valvo import` of generated files beside a server taking live answers (4 clients):");
    println!();
    println!(
        "{:<10} {:>10} {:>8} {:>10} {:>9} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "kind", "rows", "s", "rows/s", "peak MB", "live", "p50 ms", "p99 ms", "max ms", "failed"
    );
    for kind in [
        valvo_store::ImportKind::Feedback,
        valvo_store::ImportKind::Incidents,
    ] {
        let db = fresh_database(url.as_deref()).await?;
        let file = std::env::temp_dir().join(format!(
            "valvo-bench-import-{:016x}.csv",
            rand::random::<u64>()
        ));
        let result = async {
            let (token, areas) = prepare(&db).await?;
            let store = Store::connect(&db).await.map_err(|e| e.to_string())?;
            let tree = store.org_tree().await.map_err(|e| e.to_string())?;
            store.close().await;
            let units: Vec<String> = tree.nodes().iter().map(|n| n.code.clone()).collect();
            generate(kind, rows, &units, &file)?;
            let server = Server::start(&db, &[])?;
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let started = Instant::now();
            let mut child = Command::new(exe)
                .args(["import", kind.code()])
                .arg(&file)
                .env("VALVO_DATABASE_URL", &db)
                .env("VALVO_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut live = Vec::new();
            for c in 0..4 {
                let (done, base, token, a) = (
                    done.clone(),
                    server.base.clone(),
                    token.clone(),
                    areas.clone(),
                );
                live.push(tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    let (mut lat, mut failed, mut i) = (Vec::new(), 0usize, c);
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let t = Instant::now();
                        let r = client
                            .post(format!("{base}/api/v1/feedback/answers"))
                            .bearer_auth(&token)
                            .json(&json!({ "org_unit": a[i % a.len()], "nps": i % 11 }))
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status() == StatusCode::CREATED => lat.push(t.elapsed()),
                            _ => failed += 1,
                        }
                        i += 4;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    (lat, failed)
                }));
            }
            let mut peak = 0u64;
            let status = loop {
                if let Some(kb) = status_kb(child.id(), "VmHWM:") {
                    peak = peak.max(kb);
                }
                if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                    break s;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            let secs = started.elapsed().as_secs_f64();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            let (mut lat, mut failed) = (Vec::new(), 0);
            for t in live {
                let (l, f) = t.await.map_err(|e| e.to_string())?;
                lat.extend(l);
                failed += f;
            }
            lat.sort_unstable();
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!(
                    "valvo import {} failed: {}",
                    kind.code(),
                    err.lines().take(5).collect::<Vec<_>>().join("\n")
                ));
            }
            println!(
                "{:<10} {:>10} {:>8.1} {:>10.0} {:>9.0} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>7}",
                kind.code(),
                rows,
                secs,
                rows as f64 / secs,
                peak as f64 / 1024.0,
                lat.len(),
                ms(percentile(&lat, 50.0)),
                ms(percentile(&lat, 99.0)),
                ms(percentile(&lat, 100.0)),
                failed
            );
            drop(server);
            Ok::<(), String>(())
        }
        .await;
        let _ = std::fs::remove_file(&file);
        drop_database(&db).await;
        result?;
    }
    Ok(())
}

/// `valvo bench --figures N`: `valvo import figures` of N follow-up figures
/// (N/100 units × 100 indicators of a tertial, kinds in turn number,
/// percent, duration, count) as a child process: time, rows/s and peak
/// resident size; then the same file again (nothing changes), and a file
/// where every figure changes.
pub async fn figure_import(url: Option<String>, rows: usize) -> Result<(), String> {
    let per_unit = 100usize;
    let units = rows.div_ceil(per_unit).max(1);
    let db = fresh_database(url.as_deref()).await?;
    let result = async {
        let store = Store::connect(&db).await.map_err(|e| e.to_string())?;
        let started = Instant::now();
        store
            .bench_plan(units, per_unit, 2024)
            .await
            .map_err(|e| e.to_string())?;
        store.close().await;
        println!(
            "A plan of {units} units × {per_unit} indicators made in {:.1} s; `valvo import figures` of {} rows:",
            started.elapsed().as_secs_f64(),
            units * per_unit
        );
        println!();
        println!(
            "{:<26} {:>9} {:>8} {:>10} {:>9}  {}",
            "file", "rows", "s", "rows/s", "peak MB", "result"
        );
        let dir = std::env::temp_dir().join(format!("valvo-bench-figures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let write = |name: &str, bump: u64| -> Result<std::path::PathBuf, String> {
            use std::io::Write;
            let path = dir.join(name);
            let f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
            let mut w = std::io::BufWriter::new(f);
            writeln!(w, "indicator;period;value;assessment_fi").map_err(|e| e.to_string())?;
            for u in 0..units {
                for i in 0..per_unit {
                    let n = (u * per_unit + i) as u64 + bump;
                    let value = match i % 4 {
                        0 => format!("{},{}", n % 1000, n % 10),
                        1 => format!("{} %", n % 100),
                        2 => format!("0:{:02}:{:02}", (n / 60) % 60, n % 60),
                        _ => format!("{}", n % 5000),
                    };
                    let text = if i % 10 == 0 { "Kehitys jatkui." } else { "" };
                    writeln!(w, "U{u:04}-I{i:03};2024T1;{value};{text}").map_err(|e| e.to_string())?;
                }
            }
            w.flush().map_err(|e| e.to_string())?;
            Ok(path)
        };
        let first = write("figures.csv", 0)?;
        let changed = write("figures-changed.csv", 7)?;
        for (label, file) in [
            ("new figures", &first),
            ("the same file again", &first),
            ("every figure changed", &changed),
        ] {
            let started = Instant::now();
            let mut child = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
                .args(["import", "figures"])
                .arg(file)
                .env("VALVO_DATABASE_URL", &db)
                .env("VALVO_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            let mut peak = 0u64;
            let status = loop {
                if let Some(kb) = status_kb(child.id(), "VmHWM:") {
                    peak = peak.max(kb);
                }
                if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                    break s;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            let secs = started.elapsed().as_secs_f64();
            let mut out = String::new();
            let mut err = String::new();
            {
                use std::io::Read;
                if let Some(mut o) = child.stdout.take() {
                    let _ = o.read_to_string(&mut out);
                }
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
            }
            if !status.success() {
                return Err(format!("valvo import figures: {}", err.lines().take(5).collect::<Vec<_>>().join("\n")));
            }
            let result = out
                .split(": ")
                .skip(2)
                .collect::<Vec<_>>()
                .join(": ");
            println!(
                "{:<26} {:>9} {:>8.1} {:>10.0} {:>9.0}  {}",
                label,
                units * per_unit,
                secs,
                (units * per_unit) as f64 / secs,
                peak as f64 / 1024.0,
                result.trim()
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok::<(), String>(())
    }
    .await;
    drop_database(&db).await;
    result
}
