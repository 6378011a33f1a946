//! `valvo bench`: page render and API timings over the demo county.
//!
//! Loads the demo county into a database (a fresh temporary SQLite file unless a
//! database URL was given explicitly), starts the real server in-process on a free
//! local port, logs in like a browser and times sequential requests per endpoint
//! from send to the last byte of the body. A benchmark to read, not a timed test.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use valvo_core::access::Principal;
use valvo_store::{Backend, Store};
use valvo_web::{AppState, WebConfig};

/// Options of `valvo bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Requests per endpoint.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Also import this many incident reports (e.g. 1000000) into 80 more units
    /// over 24 months and time their statistics (none unless given; with
    /// --national 1 000 000 unless given, 0 for none).
    #[arg(long)]
    pub incidents: Option<usize>,
    /// Also post this many feedback answers over HTTP (answers per second with
    /// 64 clients), then load `--feedback-bulk` answers and time statistics.
    #[arg(long, default_value_t = 0)]
    pub feedback: usize,
    /// Answers loaded in bulk for the feedback statistics figure (e.g.
    /// 10000000; none unless given, with --national 10 000 000).
    #[arg(long)]
    pub feedback_bulk: Option<usize>,
    /// Spread the bulk answers over this many counties: the demo county and
    /// generated ones of 9 areas × 20 units each, every county with its own
    /// mix of respondents, age groups and languages (22: the national data
    /// set, about 4 000 units), and time the fair comparison of them.
    #[arg(long, default_value_t = 1)]
    pub counties: usize,
    /// Instead: answers and incident reports per second through this many
    /// `valvo serve` processes on one database (e.g. 1,2), 64 clients, p50/p99;
    /// a fresh database beside --database-url (PostgreSQL) or a temporary SQLite file.
    #[arg(long, value_delimiter = ',')]
    pub instances: Vec<usize>,
    /// Requests of each kind in the --instances figure.
    #[arg(long, default_value_t = 20000)]
    pub instance_requests: usize,
    /// Instead: the peak memory of a server process under 60 password checks
    /// and under 40 PDF requests at once.
    #[arg(long)]
    pub bursts: bool,
    /// Instead: `valvo import` of generated files of this many answers and
    /// this many incident reports (e.g. 1000000), beside a server taking live
    /// answers: rows/s, peak memory, the live answers' p99.
    #[arg(long, default_value_t = 0)]
    pub imports: usize,
    /// Instead: `valvo import figures` of this many follow-up figures (e.g.
    /// 100000: 1 000 units × 100 indicators), new, unchanged and changed.
    #[arg(long, default_value_t = 0)]
    pub figures: usize,
    /// Instead: an ombudsperson's log of this many contacts (e.g. 1000000)
    /// imported into a county of 1 000 units, a tenth as many supervision
    /// visits, and the time of the year's statistics.
    #[arg(long, default_value_t = 0)]
    pub oversight: usize,
    /// The national data set in one command: 22 counties (about 4 000
    /// units), 10 000 000 answers and 1 000 000 incident reports (or the
    /// --feedback-bulk and --incidents given), the same every run.
    #[arg(long)]
    pub national: bool,
}

impl BenchArgs {
    /// The options with `--national` spelled out.
    fn resolved(&self) -> BenchArgs {
        let mut a = self.clone();
        if a.national {
            a.counties = NATIONAL_COUNTIES;
            a.feedback_bulk.get_or_insert(10_000_000);
            a.incidents.get_or_insert(1_000_000);
        }
        a
    }
}

/// 21 wellbeing services counties and Helsinki.
const NATIONAL_COUNTIES: usize = 22;

/// Untimed requests before each measured series.
const WARMUP: usize = 10;
/// Parallel clients of the concurrent plan-page figure.
const PARALLEL: usize = 4;
/// The area measured: the customer and resource centre of the demo county.
const AREA_SV: &str = "Kund- och resurscenter";
/// The PUT series writes half years of the demo's half-year indicator,
/// backwards from this one (its history: one new row per request).
const PUT_LAST_YEAR: i32 = 2023;
/// Half years available for the PUT series (2023H2 back to 1900H1).
const PUT_MONTHS: usize = (PUT_LAST_YEAR as usize - 1900 + 1) * 2;

/// Runs the benchmark.
pub async fn run(args: &BenchArgs, database_url: Option<String>) -> Result<(), String> {
    let args = &args.resolved();
    if !args.instances.is_empty() {
        if args.instances.contains(&0) {
            return Err("--instances: at least one server".into());
        }
        let n = args.instance_requests.max(1);
        return crate::bench_ops::instances(database_url, &args.instances, n, n).await;
    }
    if args.bursts {
        return crate::bench_ops::bursts(database_url).await;
    }
    if args.imports > 0 {
        return crate::bench_ops::imports(database_url, args.imports).await;
    }
    if args.oversight > 0 {
        return crate::bench_oversight::run(database_url, args.oversight).await;
    }
    if args.figures > 0 {
        return crate::bench_ops::figure_import(database_url, args.figures).await;
    }
    if args.requests == 0 {
        return Err("--requests must be at least 1".into());
    }
    if args.requests + WARMUP > PUT_MONTHS {
        return Err(format!(
            "--requests must be at most {} (each PUT writes a new half year)",
            PUT_MONTHS - WARMUP
        ));
    }
    let (url, temp_dir) = match database_url {
        Some(url) => (url, None),
        None => {
            let dir =
                std::env::temp_dir().join(format!("valvo-bench-{:016x}", rand::random::<u64>()));
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            (
                format!("sqlite://{}", dir.join("valvo.db").display()),
                Some(dir),
            )
        }
    };
    let result = with_store(args, &url).await;
    if let Some(dir) = temp_dir {
        remove_dir(&dir);
    }
    result
}

fn remove_dir(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        eprintln!("valvo bench: could not remove {}: {e}", dir.display());
    }
}

async fn with_store(args: &BenchArgs, url: &str) -> Result<(), String> {
    let store = Store::connect(url)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let result = with_server(args, &store).await;
    store.close().await;
    result
}

async fn with_server(args: &BenchArgs, store: &Store) -> Result<(), String> {
    let load_started = Instant::now();
    let password = crate::demo::load(store).await?;
    let load_time = load_started.elapsed();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = AppState::new(
        store.clone(),
        WebConfig {
            cookie_secure: false,
            ..WebConfig::default()
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(valvo_web::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let base = format!("http://{addr}");
    let mut result = measure_all(args, store, &base, &password, load_time).await;
    if result.is_ok() {
        result = report_bench(store, &base).await;
    }
    let incidents = args.incidents.unwrap_or(0);
    if result.is_ok() && incidents > 0 {
        result = incident_bench(store, &base, incidents).await;
    }
    let bulk = args.feedback_bulk.unwrap_or(0);
    if result.is_ok() && (args.feedback > 0 || bulk > 0) {
        result = feedback_bench(store, &base, args.feedback, bulk, args.counties).await;
    }

    let _ = stop.send(());
    let served = server.await.map_err(|e| format!("server task: {e}"))?;
    result?;
    served.map_err(|e| format!("server: {e}"))
}

/// An API token of the demo's administrator, for the timed requests.
pub(crate) async fn admin_token(store: &Store) -> Result<String, String> {
    let admin = store
        .user_by_email(crate::demo::ADMIN_EMAIL)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no demo administrator")?;
    store
        .create_token(&Principal::system("bench"), admin.id, "bench")
        .await
        .map_err(|e| e.to_string())
}

/// Times 200 GETs of `url` with a bearer token (after one warm-up), each
/// to the last byte of its body.
async fn get_runs(label: &str, client: &Client, token: &str, url: &str) -> Result<Row, String> {
    time_runs(label, 200, || async move {
        let r = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status() != StatusCode::OK {
            return Err(format!("{url}: {}", r.status()));
        }
        Ok(r.bytes().await.map_err(|e| e.to_string())?.len())
    })
    .await
}

/// Times `n` runs of `f` after one warm-up run.
async fn time_runs<F, Fut>(label: &str, n: usize, mut f: F) -> Result<Row, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, String>>,
{
    f().await?;
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    let mut size = 0;
    for _ in 0..n {
        let t = Instant::now();
        size = f().await?;
        samples.push(t.elapsed());
    }
    Ok(Row {
        label: if size >= 1024 {
            format!("{label} ({} kB)", size / 1024)
        } else {
            label.to_string()
        },
        samples,
        wall: started.elapsed(),
    })
}

/// The whole demo county's 1–6/2024 report (the county and its eight areas):
/// assembling the model, rendering HTML and PDF, and the public page over HTTP.
async fn report_bench(store: &Store, base: &str) -> Result<(), String> {
    use valvo_core::{Lang, Period};
    use valvo_report::Layout;
    use valvo_web::FileKind;
    let tree = store.org_tree().await.map_err(|e| e.to_string())?;
    let county = tree
        .roots()
        .first()
        .map(|n| (n.id, n.code.clone()))
        .ok_or("no county")?;
    let period: Period = "2024H1".parse().map_err(|_| "period")?;
    let row = store
        .latest_report(county.0, &period)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the demo has no published report")?;
    let report = store.report(&row).await.map_err(|e| e.to_string())?;
    let render = |kind: FileKind| {
        let report = report.clone();
        move || {
            let report = report.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    valvo_web::render_report_file(&report, kind).map(|(_, b)| b.len())
                })
                .await
                .map_err(|e| e.to_string())?
            }
        }
    };
    let client = Client::builder().build().map_err(|e| e.to_string())?;
    let page = format!("{base}/public/org/{}/reports/2024H1?view=sv", county.1);
    let rows = vec![
        time_runs("assemble the live model", 20, || async {
            store
                .preview_report(county.0, period, true)
                .await
                .map_err(|e| e.to_string())?;
            Ok(0)
        })
        .await?,
        time_runs("read the frozen snapshot", 20, || async {
            store.report(&row).await.map_err(|e| e.to_string())?;
            Ok(0)
        })
        .await?,
        time_runs(
            "HTML, Finnish",
            20,
            render(FileKind::Html(Layout::Single(Lang::Fi))),
        )
        .await?,
        time_runs(
            "HTML, Swedish and Finnish",
            20,
            render(FileKind::Html(Layout::Bilingual)),
        )
        .await?,
        time_runs(
            "PDF, Swedish",
            5,
            render(FileKind::Pdf(Layout::Single(Lang::Sv))),
        )
        .await?,
        time_runs(
            "PDF, Swedish and Finnish",
            5,
            render(FileKind::Pdf(Layout::Bilingual)),
        )
        .await?,
        time_runs("GET public report page (HTTP)", 20, || {
            let client = client.clone();
            let page = page.clone();
            async move {
                let r = client.get(&page).send().await.map_err(|e| e.to_string())?;
                if r.status() != StatusCode::OK {
                    return Err(format!("{page}: {}", r.status()));
                }
                Ok(r.bytes().await.map_err(|e| e.to_string())?.len())
            }
        })
        .await?,
    ];
    println!();
    println!(
        "The whole demo county's report 1–6/2024 ({} chapters, {} indicators); ms per run after one warm-up run.",
        report.chapters.len(),
        report.indicators().count()
    );
    println!(
        "{:<44}{:>6}{:>10}{:>10}{:>10}",
        "step", "runs", "mean", "p50", "max"
    );
    for r in &rows {
        let mut sorted = r.samples.clone();
        sorted.sort();
        let mean = ms(r.samples.iter().sum::<Duration>()) / r.samples.len().max(1) as f64;
        println!(
            "{:<44}{:>6}{:>10.2}{:>10.2}{:>10.2}",
            r.label,
            r.samples.len(),
            mean,
            ms(percentile(&sorted, 50.0)),
            ms(sorted.last().copied().unwrap_or_default())
        );
    }
    Ok(())
}

/// Imports `n` incident reports into 80 new units (10 under each area) over
/// 24 months, then times the statistics of the whole county and of one area.
/// The county, its areas and 10 benchmark units under each area (made once).
async fn bench_units(store: &Store) -> Result<(i64, Vec<i64>, Vec<i64>), String> {
    use valvo_core::ProducerType;
    let sys = Principal::system("bench");
    let tree = store.org_tree().await.map_err(|e| e.to_string())?;
    let county = tree.roots().first().map(|n| n.id).ok_or("no county")?;
    let areas: Vec<i64> = tree.children(county).iter().map(|n| n.id).collect();
    let mut units = Vec::new();
    for (a, area) in areas.iter().enumerate() {
        for u in 0..10 {
            let code = format!("bench-{a}-{u}");
            if let Some(n) = tree.nodes().iter().find(|n| n.code == code) {
                units.push(n.id);
                continue;
            }
            let unit = valvo_store::NewOrgUnit {
                parent_id: Some(*area),
                code,
                name: valvo_core::I18nText::new(
                    Some(format!("Yksikkö {a}.{u}")),
                    Some(format!("Enhet {a}.{u}")),
                    None,
                ),
                producer: ProducerType::Own,
                sort_order: u,
                service_type: None,
            };
            units.push(
                store
                    .create_org_unit(&sys, &unit)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
    }
    Ok((county, areas, units))
}

/// Generated counties beside the demo one, `counties` in all, each of 9
/// areas × 20 units: the units of each county (the demo county's first).
async fn national_units(
    store: &Store,
    demo: Vec<i64>,
    counties: usize,
) -> Result<Vec<Vec<i64>>, String> {
    use valvo_core::ProducerType;
    let sys = Principal::system("bench");
    let mut out = vec![demo];
    let tree = store.org_tree().await.map_err(|e| e.to_string())?;
    let unit = |parent, code: String, fi: String, sv: String, order| valvo_store::NewOrgUnit {
        parent_id: parent,
        code,
        name: valvo_core::I18nText::new(Some(fi), Some(sv), None),
        producer: ProducerType::Own,
        sort_order: order,
        service_type: None,
    };
    let ensure = async |new: valvo_store::NewOrgUnit| -> Result<i64, String> {
        match tree.nodes().iter().find(|n| n.code == new.code) {
            Some(n) => Ok(n.id),
            None => store
                .create_org_unit(&sys, &new)
                .await
                .map_err(|e| e.to_string()),
        }
    };
    for c in 1..counties {
        let root = ensure(unit(
            None,
            format!("bench-county-{c}"),
            format!("Hyvinvointialue {c}"),
            format!("Välfärdsområde {c}"),
            c as i32,
        ))
        .await?;
        let mut units = Vec::new();
        for a in 0..9 {
            // Each area a service of its own, as counties' areas are.
            let area = ensure(valvo_store::NewOrgUnit {
                service_type: Some(valvo_core::ServiceType::ALL[a as usize]),
                ..unit(
                    Some(root),
                    format!("bench-{c}-{a}"),
                    format!("Alue {c}.{a}"),
                    format!("Område {c}.{a}"),
                    a,
                )
            })
            .await?;
            for u in 0..20 {
                units.push(
                    ensure(unit(
                        Some(area),
                        format!("bench-{c}-{a}-{u}"),
                        format!("Yksikkö {c}.{a}.{u}"),
                        format!("Enhet {c}.{a}.{u}"),
                        u,
                    ))
                    .await?,
                );
            }
        }
        out.push(units);
    }
    Ok(out)
}

/// Feedback: answers per second over HTTP (64 clients posting to the API,
/// each acknowledged only once on disk), then statistics over `bulk` answers
/// spread over `counties` counties.
async fn feedback_bench(
    store: &Store,
    base: &str,
    n: usize,
    bulk: usize,
    counties: usize,
) -> Result<(), String> {
    use valvo_core::feedback::{AgeGroup, Answer, Channel, Respondent, Score, ServiceLang};
    use valvo_core::Period;
    let sys = Principal::system("bench");
    let (county, areas, units) = bench_units(store).await?;
    let national = national_units(store, units.clone(), counties.max(1)).await?;
    // Every unit with its county's index.
    let all_units: Vec<(usize, i64)> = national
        .iter()
        .enumerate()
        .flat_map(|(c, us)| us.iter().map(move |u| (c, *u)))
        .collect();
    let token = admin_token(store).await?;
    let survey = store.current_survey().await.map_err(|e| e.to_string())?;
    // The statements every county is asked (a county's own would be
    // refused for the other counties' units).
    let keys: Vec<String> = survey
        .def
        .statements
        .iter()
        .filter(|s| s.county.is_none())
        .map(|s| s.key.clone())
        .collect();
    if n > 0 {
        let client = Client::builder()
            .pool_max_idle_per_host(128)
            .build()
            .map_err(|e| e.to_string())?;
        let clients = 64;
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let client = client.clone();
            let next = next.clone();
            let url = format!("{base}/api/v1/feedback/answers");
            let token = token.clone();
            let units = units.clone();
            let keys = keys.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), String>(());
                    }
                    let scores: serde_json::Map<String, Value> = keys
                        .iter()
                        .enumerate()
                        .map(|(k, key)| (key.clone(), json!(1 + (i * 7 + k * 3) % 5)))
                        .collect();
                    let lang = ["fi", "sv", "other"][i % 3];
                    let respondent = ["client", "relative"][i % 2];
                    let body = json!({
                        "org_unit": units[i % units.len()],
                        "nps": (i * 13) % 11,
                        "scores": scores,
                        "service_lang": lang,
                        "respondent": respondent,
                    });
                    let r = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    if r.status() != StatusCode::CREATED {
                        return Err(format!("answer {i}: {}", r.status()));
                    }
                }
            }));
        }
        for t in tasks {
            t.await.map_err(|e| e.to_string())??;
        }
        let took = started.elapsed();
        let caught = Instant::now();
        store.feedback_catch_up().await.map_err(|e| e.to_string())?;
        let caught = caught.elapsed();
        println!();
        println!(
            "Feedback ingest over HTTP: {n} answers by {clients} clients in {:.2} s = {:.0} answers/s \
             (each acknowledged 201 after its transaction is on disk; SQLite synchronous=FULL, group commit).",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
        println!(
            "Aggregates caught up {:.1} ms after the last acknowledgement (answers are added to them in the background, many at a time).",
            ms(caught)
        );
    }
    if bulk == 0 {
        return Ok(());
    }
    let start =
        time::Date::from_calendar_date(2024, time::Month::January, 1).map_err(|e| e.to_string())?;
    let today = time::OffsetDateTime::now_utc().date();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m as u64) as usize
    };
    let started = Instant::now();
    // Each batch's aggregate rows are merged in memory before they are
    // written: about fifty a unit, month and background, so many units
    // take smaller batches. The answers come unit after unit (each its
    // share, of random days), as a county's export would: a batch then
    // adds to a few hundred units' rows, not to a row of every unit and
    // month for nearly each answer (10 M answers spread at random over
    // 4 000 units loaded 800 a second).
    let batch = if all_units.len() > 1_000 {
        50_000
    } else {
        500_000
    };
    // A database given with --database-url keeps its answers: load only what is missing.
    let mut done = store
        .count_answers(&all_units.iter().map(|u| u.1).collect::<Vec<_>>())
        .await
        .map_err(|e| e.to_string())?
        .min(bulk);
    if done > 0 {
        eprintln!("valvo bench: {done} feedback answers already there");
    }
    while done < bulk {
        let rows: Vec<(i64, Answer, Channel)> = (done..(done + batch).min(bulk))
            .map(|i| {
                // Each county its own mix: more relatives, older clients or
                // more Swedish in some; relatives and the oldest answer
                // lower everywhere, so the mix moves the raw figures.
                let (c, unit) = all_units[i * all_units.len() / bulk];
                let relative = next(10) < 1 + c % 5;
                let age = match next(7) {
                    0 => None,
                    k => Some(AgeGroup::ALL[(k - 1 + c) % 6]),
                };
                let low = usize::from(relative) + usize::from(age == Some(AgeGroup::From75));
                let mut scores = std::collections::BTreeMap::new();
                for k in &keys {
                    if next(10) != 0 {
                        let v = next(6)
                            .saturating_sub(next(1 + low))
                            .max(usize::from(next(6) > 0));
                        scores.insert(
                            k.clone(),
                            if v == 0 {
                                Score::CannotSay
                            } else {
                                Score::Value(v as u8)
                            },
                        );
                    }
                }
                let answer = Answer {
                    nps: (next(8) != 0).then(|| next(11).saturating_sub(2 * next(1 + low)) as u8),
                    scores,
                    text: None,
                    service_lang: [
                        Some(ServiceLang::Fi),
                        Some(ServiceLang::Sv),
                        Some(ServiceLang::Other),
                        None,
                    ][if c % 3 == 0 && next(3) == 0 {
                        1
                    } else {
                        next(4)
                    }],
                    age_group: age,
                    respondent: if next(8) == 0 {
                        None
                    } else if relative {
                        Some(Respondent::Relative)
                    } else {
                        Some(Respondent::Client)
                    },
                    service_date: Some(start + time::Duration::days(next(730) as i64)),
                    contact: None,
                };
                (unit, answer, Channel::ALL[next(4)])
            })
            .collect();
        done += store
            .load_answers(&sys, &rows, today)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!("valvo bench: {done} / {bulk} feedback answers loaded");
    }
    let load = started.elapsed();
    let tree = store.org_tree().await.map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for (label, root, period, filter) in [
        (
            "county, year 2025",
            county,
            "2025",
            valvo_core::feedback::Filter::default(),
        ),
        (
            "county, tertial 2025T2",
            county,
            "2025T2",
            valvo_core::feedback::Filter::default(),
        ),
        (
            "county, year 2025, Swedish only",
            county,
            "2025",
            valvo_core::feedback::Filter {
                lang: Some(ServiceLang::Sv),
                ..Default::default()
            },
        ),
        (
            "one area, half year 2024H2",
            areas[0],
            "2024H2",
            valvo_core::feedback::Filter::default(),
        ),
        (
            "one unit, year 2025",
            units[0],
            "2025",
            valvo_core::feedback::Filter::default(),
        ),
    ] {
        let period: Period = period.parse().map_err(|_| "period")?;
        let tree = &tree;
        rows.push(
            time_runs(label, 30, || async move {
                store
                    .feedback_stats(tree, root, period, filter)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(0)
            })
            .await?,
        );
    }
    // The same through the API as a dashboard asks (the whole answer: JSON
    // with the previous period, breakdowns, trend and comment topics).
    let client = reqwest::Client::new();
    for (label, url) in [
        ("HTTP: county, year 2025", county, "2025", ""),
        ("HTTP: county, tertial 2025T2", county, "2025T2", ""),
        (
            "HTTP: county, year 2025, Swedish only",
            county,
            "2025",
            "&service_lang=sv",
        ),
        ("HTTP: one area, half year 2024H2", areas[0], "2024H2", ""),
    ]
    .map(|(label, root, period, lang)| {
        (
            label,
            format!("{base}/api/v1/feedback/stats?org_unit={root}&period={period}{lang}"),
        )
    })
    .into_iter()
    // The fair comparison of every county (the whole answer: each county's
    // NPS and statements, raw and standardised, and the country's).
    .chain(
        [
            (
                "HTTP: comparison of the counties, tertial 2025T2",
                "?period=2025T2",
            ),
            (
                "HTTP: comparison of the counties, year 2025",
                "?period=2025",
            ),
            (
                "HTTP: comparison of health stations, 2025T2",
                "/health_station?period=2025T2",
            ),
        ]
        .map(|(label, rest)| (label, format!("{base}/api/v1/feedback/comparison{rest}"))),
    ) {
        rows.push(get_runs(label, &client, &token, &url).await?);
    }
    let kept = store
        .feedback_row_counts()
        .await
        .map_err(|e| e.to_string())?;
    println!();
    println!(
        "Feedback statistics (totals, previous period, breakdowns by language, channel, respondent and child unit, yearly trend) \
         over {bulk} answers in {} units of {} counties ({:.1} s to load); ms per query after one warm-up. \
         Aggregate rows: {} by background (feedback_agg), {} totals (feedback_totals), {} by scope and stratum (feedback_strata).",
        all_units.len(),
        national.len(),
        load.as_secs_f64(),
        kept.0,
        kept.1,
        kept.2
    );
    print_rows(&rows);
    Ok(())
}

fn print_rows(rows: &[Row]) {
    println!(
        "{:<44}{:>6}{:>10}{:>10}{:>10}{:>10}",
        "subtree and period", "runs", "mean", "p50", "p95", "max"
    );
    for r in rows {
        let mut sorted = r.samples.clone();
        sorted.sort();
        let mean = ms(r.samples.iter().sum::<Duration>()) / r.samples.len().max(1) as f64;
        println!(
            "{:<44}{:>6}{:>10.2}{:>10.2}{:>10.2}{:>10.2}",
            r.label,
            r.samples.len(),
            mean,
            ms(percentile(&sorted, 50.0)),
            ms(percentile(&sorted, 95.0)),
            ms(sorted.last().copied().unwrap_or_default())
        );
    }
}

async fn incident_bench(store: &Store, base: &str, n: usize) -> Result<(), String> {
    use valvo_core::incident::{
        Consequence, EventType, IncidentKind, IncidentState, NewIncident, ReporterRole,
    };
    use valvo_core::Period;
    let sys = Principal::system("bench");
    let (county, areas, units) = bench_units(store).await?;
    let start =
        time::Date::from_calendar_date(2024, time::Month::January, 1).map_err(|e| e.to_string())?;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m as u64) as usize
    };
    let types = EventType::defaults();
    let started = Instant::now();
    let batch = 50_000;
    // A database given with --database-url keeps its reports: import only what is missing.
    let mut done = store
        .count_incidents(&units)
        .await
        .map_err(|e| e.to_string())?
        .min(n);
    if done > 0 {
        eprintln!("valvo bench: {done} incident reports already there");
    }
    while done < n {
        let rows: Vec<_> = (done..(done + batch).min(n))
            .map(|_| {
                let reported = start + time::Duration::days(next(730) as i64);
                let handled = next(10) != 0;
                let input = NewIncident {
                    org_unit_id: units[next(units.len())],
                    occurred_on: reported,
                    occurred_time: None,
                    place: String::new(),
                    kind: IncidentKind::ALL[next(4)],
                    event_type: types[next(types.len())].clone(),
                    description: "bench".into(),
                    consequence: Consequence::ALL[next(6)],
                    never_event: next(500) == 0,
                    contributing_factors: String::new(),
                    immediate_actions: String::new(),
                    reporter_role: ReporterRole::ALL[next(5)],
                    reporter_name: None,
                    reporter_contact: None,
                };
                let state = if handled {
                    IncidentState::Handled
                } else {
                    IncidentState::New
                };
                (
                    input,
                    reported,
                    state,
                    handled.then(|| reported + time::Duration::days(next(60) as i64)),
                )
            })
            .collect();
        done += store
            .import_incidents(&sys, &rows)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!("valvo bench: {done} / {n} incident reports imported");
    }
    let import = started.elapsed();
    let tree = store.org_tree().await.map_err(|e| e.to_string())?;
    let policy = valvo_core::incident::DeadlinePolicy::default();
    let today = time::OffsetDateTime::now_utc().date();
    let mut rows = Vec::new();
    for (label, root, period) in [
        ("county, year 2025", county, "2025"),
        ("county, tertial 2025T2", county, "2025T2"),
        ("one area, half year 2024H2", areas[0], "2024H2"),
    ] {
        let period: Period = period.parse().map_err(|_| "period")?;
        let tree = &tree;
        let policy = &policy;
        rows.push(
            time_runs(label, 50, || async move {
                store
                    .incident_stats(tree, root, period, policy, today)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(0)
            })
            .await?,
        );
    }
    // The same through the API, as the statistics page and a county's
    // own systems ask (the whole JSON answer).
    let token = admin_token(store).await?;
    let client = Client::new();
    for (label, root, period) in [
        ("HTTP: county, year 2025", county, "2025"),
        ("HTTP: county, tertial 2025T2", county, "2025T2"),
        ("HTTP: one area, half year 2024H2", areas[0], "2024H2"),
    ] {
        let url = format!("{base}/api/v1/incidents/stats?org_unit={root}&period={period}");
        rows.push(get_runs(label, &client, &token, &url).await?);
    }
    println!();
    println!(
        "Incident statistics over {n} reports in {} units ({:.1} s to import); ms per query after one warm-up.",
        units.len(),
        import.as_secs_f64()
    );
    print_rows(&rows);
    Ok(())
}

/// The value of the hidden input `name` in an HTML page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    html[start..].split('"').next().map(str::to_string)
}

async fn login(base: &str, password: &str) -> Result<Client, String> {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(|e| format!("GET /login: {e}"))?;
    if resp.status() != StatusCode::OK {
        return Err(format!("GET /login: status {}", resp.status()));
    }
    let html = resp.text().await.map_err(|e| format!("GET /login: {e}"))?;
    let token = hidden(&html, "token").ok_or("GET /login: no hidden token in the login form")?;
    let resp = client
        .post(format!("{base}/login"))
        .form(&[
            ("token", token.as_str()),
            ("next", "/"),
            ("email", crate::demo::ADMIN_EMAIL),
            ("password", password),
        ])
        .send()
        .await
        .map_err(|e| format!("POST /login: {e}"))?;
    if resp.status() != StatusCode::SEE_OTHER {
        return Err(format!(
            "POST /login: expected 303 See Other, got {}",
            resp.status()
        ));
    }
    Ok(client)
}

async fn get_json(client: &Client, url: &str, bearer: &str) -> Result<Value, String> {
    let resp = client
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(format!("GET {url}: status {status}: {body}"));
    }
    resp.json().await.map_err(|e| format!("GET {url}: {e}"))
}

/// Ids of the measured area and its first indicator.
async fn find_ids(client: &Client, base: &str, bearer: &str) -> Result<(i64, i64), String> {
    let units = get_json(client, &format!("{base}/api/v1/org-units"), bearer).await?;
    let area = units["org_units"]
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|u| u["name"]["sv"].as_str() == Some(AREA_SV))
        })
        .and_then(|u| u["id"].as_i64())
        .ok_or_else(|| format!("no org unit named {AREA_SV:?} in the demo county"))?;
    let inds = get_json(
        client,
        &format!("{base}/api/v1/indicators?org_unit={area}"),
        bearer,
    )
    .await?;
    let ind = inds["indicators"]
        .as_array()
        .and_then(|list| list.first())
        .and_then(|i| i["id"].as_i64())
        .ok_or_else(|| format!("org unit {area} ({AREA_SV}) has no indicators"))?;
    Ok((area, ind))
}

/// What a response must be to count.
#[derive(Clone, Copy)]
enum Expect {
    /// Exactly 200 (pages).
    Ok,
    /// Any 2xx (API).
    Success,
    /// Exactly 201 (a new row).
    Created,
}

impl Expect {
    fn accepts(self, status: StatusCode) -> bool {
        match self {
            Expect::Ok => status == StatusCode::OK,
            Expect::Success => status.is_success(),
            Expect::Created => status == StatusCode::CREATED,
        }
    }
}

/// Sends one request and reads the whole body; returns the elapsed time.
async fn timed(label: &str, request: RequestBuilder, expect: Expect) -> Result<Duration, String> {
    let started = Instant::now();
    let resp = request.send().await.map_err(|e| format!("{label}: {e}"))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("{label}: reading the body: {e}"))?;
    let elapsed = started.elapsed();
    if !expect.accepts(status) {
        let text = String::from_utf8_lossy(&body);
        let snippet: String = text.chars().take(300).collect();
        return Err(format!("{label}: unexpected status {status}: {snippet}"));
    }
    Ok(elapsed)
}

/// One measured series.
struct Row {
    label: String,
    samples: Vec<Duration>,
    /// Wall time of the whole series (differs from the sum for concurrent series).
    wall: Duration,
}

/// Warms up, then times `n` sequential requests; `make(i)` builds request `i`
/// (warm-up requests get indices `0..WARMUP`, measured ones `WARMUP..`).
async fn series<F>(label: &str, n: usize, expect: Expect, make: F) -> Result<Row, String>
where
    F: Fn(usize) -> RequestBuilder,
{
    for i in 0..WARMUP {
        timed(label, make(i), expect).await?;
    }
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        samples.push(timed(label, make(WARMUP + i), expect).await?);
    }
    Ok(Row {
        label: label.to_string(),
        samples,
        wall: started.elapsed(),
    })
}

/// `PARALLEL` clients sharing the session, each timing `per_task` sequential requests.
async fn concurrent(
    label: &str,
    client: &Client,
    url: &str,
    per_task: usize,
) -> Result<Row, String> {
    for _ in 0..WARMUP {
        timed(label, client.get(url), Expect::Ok).await?;
    }
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(PARALLEL);
    for _ in 0..PARALLEL {
        let client = client.clone();
        let url = url.to_string();
        let label = label.to_string();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                samples.push(timed(&label, client.get(&url), Expect::Ok).await?);
            }
            Ok::<_, String>(samples)
        }));
    }
    let mut samples = Vec::with_capacity(per_task * PARALLEL);
    for task in tasks {
        samples.extend(task.await.map_err(|e| format!("{label}: task: {e}"))??);
    }
    Ok(Row {
        label: label.to_string(),
        samples,
        wall: started.elapsed(),
    })
}

/// The half year of PUT request `i`: 2023H2, 2023H1, 2022H2, …
fn put_period(i: usize) -> String {
    let year = PUT_LAST_YEAR as usize - i / 2;
    format!("{year:04}H{}", 2 - i % 2)
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn measure_all(
    args: &BenchArgs,
    store: &Store,
    base: &str,
    password: &str,
    load_time: Duration,
) -> Result<(), String> {
    let n = args.requests;
    let ui = login(base, password).await?;
    let bearer = admin_token(store).await?;
    let api = Client::builder()
        .redirect(Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let (area, ind) = find_ids(&api, base, &bearer).await?;

    let pages = [
        "/".to_string(),
        format!("/org/{area}"),
        format!("/org/{area}/plan/2024?lang=sv"),
        format!("/org/{area}/plan/2024/bilingual"),
        format!("/indicators/{ind}?lang=fi"),
        format!("/indicators/{ind}/follow-up?period=2024T3"),
        "/audit".to_string(),
    ];
    let reads = [
        "/api/v1/org-units".to_string(),
        format!("/api/v1/indicators?org_unit={area}"),
        format!("/api/v1/indicators/{ind}/follow-ups"),
        format!("/api/v1/org-units/{area}/plan/2024"),
    ];

    let mut rows = Vec::new();
    for path in &pages {
        let url = format!("{base}{path}");
        let label = format!("GET {path}");
        rows.push(series(&label, n, Expect::Ok, |_| ui.get(&url)).await?);
    }
    for path in &reads {
        let url = format!("{base}{path}");
        let label = format!("GET {path}");
        rows.push(
            series(&label, n, Expect::Success, |_| {
                api.get(&url).bearer_auth(&bearer)
            })
            .await?,
        );
    }
    let per_task = (n / PARALLEL).max(1);
    let plan_url = format!("{base}/org/{area}/plan/2024?lang=sv");
    let concurrent_row = concurrent(
        &format!("GET /org/{area}/plan/2024?lang=sv ({PARALLEL} parallel)"),
        &ui,
        &plan_url,
        per_task,
    )
    .await?;

    // Writes last, so that every read above sees the demo county as loaded
    // (the inserted follow-ups would otherwise grow the plan and indicator pages).
    let put_base = format!("{base}/api/v1/indicators/{ind}/follow-ups");
    // A database given again has the half years an earlier run wrote: the
    // series takes the free ones, so that every PUT still inserts.
    let taken: std::collections::HashSet<String> = store
        .follow_ups(ind)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|f| f.period.to_string())
        .collect();
    let free: Vec<String> = (0..PUT_MONTHS)
        .map(put_period)
        .filter(|p| !taken.contains(p))
        .collect();
    if free.len() < n + WARMUP {
        return Err(format!(
            "the PUT series needs {} half years without a follow-up and the indicator has {} left: \
             use a fresh database or fewer --requests",
            n + WARMUP,
            free.len()
        ));
    }
    rows.push(
        series("PUT follow-up (insert)", n, Expect::Created, |i| {
            api.request(Method::PUT, format!("{put_base}/{}", free[i]))
                .bearer_auth(&bearer)
                .json(&json!({
                    "value": i,
                    "assessment": { "fi": "bench", "sv": "bench" },
                }))
        })
        .await?,
    );

    print_report(store.backend(), n, load_time, &rows, &concurrent_row);
    Ok(())
}

fn print_report(backend: Backend, n: usize, load_time: Duration, rows: &[Row], concurrent: &Row) {
    let backend = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let cpus = std::thread::available_parallelism()
        .map(|c| c.get().to_string())
        .unwrap_or_else(|_| "?".into());
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "valvo bench: backend {backend}, {cpus} CPUs available, {build} build, \
         {n} requests per endpoint after {WARMUP} warm-up, demo county loaded in {:.0} ms",
        ms(load_time)
    );
    println!("Times in ms from send to the last byte of the body; req/s of sequential requests.");
    let width = rows
        .iter()
        .chain(std::iter::once(concurrent))
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(0)
        .max("endpoint".len());
    println!(
        "{:<width$}  {:>6}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
        "endpoint", "count", "mean", "p50", "p95", "p99", "max", "req/s"
    );
    for row in rows.iter().chain(std::iter::once(concurrent)) {
        let mut sorted = row.samples.clone();
        sorted.sort();
        let count = sorted.len();
        let total: Duration = sorted.iter().sum();
        let mean = if count == 0 {
            0.0
        } else {
            ms(total) / count as f64
        };
        let wall = row.wall.as_secs_f64();
        let rate = if wall > 0.0 { count as f64 / wall } else { 0.0 };
        println!(
            "{:<width$}  {:>6}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.0}",
            row.label,
            count,
            mean,
            ms(percentile(&sorted, 50.0)),
            ms(percentile(&sorted, 95.0)),
            ms(percentile(&sorted, 99.0)),
            ms(sorted.last().copied().unwrap_or_default()),
            rate,
        );
    }
    println!(
        "The last line is {PARALLEL} parallel clients × {} requests each; its req/s is the total throughput.",
        concurrent.samples.len() / PARALLEL
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 95.0), Duration::from_millis(95));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 99.0),
            Duration::from_millis(7)
        );
    }

    #[test]
    fn put_periods_are_distinct_months() {
        assert_eq!(put_period(0), "2023H2");
        assert_eq!(put_period(1), "2023H1");
        assert_eq!(put_period(2), "2022H2");
        assert_eq!(put_period(PUT_MONTHS - 1), "1900H1");
        assert!(put_period(PUT_MONTHS - 1)
            .parse::<valvo_core::Period>()
            .is_ok());
    }

    #[test]
    fn hidden_reads_the_value() {
        let html = r#"<input type="hidden" name="token" value="abc123">"#;
        assert_eq!(hidden(html, "token").as_deref(), Some("abc123"));
        assert_eq!(hidden(html, "csrf"), None);
    }
}
