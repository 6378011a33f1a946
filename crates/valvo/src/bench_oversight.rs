//! `valvo bench --oversight N`: a county of 1 000 units, an ombudsperson's
//! log of N contacts imported with `valvo import ombudsman` (a child
//! process: rows/s, peak memory), N/10 supervision visits recorded one by
//! one, and the time of the statistics of the county's year, an area's and
//! a unit's, read from the counts kept on write; every kept figure checked
//! against a direct count of the rows.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use valvo_core::access::Principal;
use valvo_core::supervision::{NewFinding, NewVisit, Severity, VisitKind};
use valvo_core::{I18nText, Period, ProducerType};
use valvo_store::{NewOrgUnit, Store};

use crate::bench::{ms, percentile};
use crate::bench_ops::{drop_database, fresh_database, generate, status_kb};

const AREAS: usize = 20;
const UNITS_PER_AREA: usize = 50;
const RUNS: usize = 15;

/// Runs it on a fresh database beside `url` (or a temporary SQLite file).
pub async fn run(url: Option<String>, contacts: usize) -> Result<(), String> {
    let db = fresh_database(url.as_deref()).await?;
    let result = bench(&db, contacts).await;
    drop_database(&db).await;
    result
}

async fn timed<F, Fut, T>(runs: usize, mut f: F) -> Result<(Duration, Duration, T), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f().await?);
        times.push(t.elapsed());
    }
    times.sort();
    let last = last.ok_or("no runs")?;
    Ok((percentile(&times, 50.0), percentile(&times, 95.0), last))
}

async fn bench(db: &str, contacts: usize) -> Result<(), String> {
    let e = |e: valvo_store::StoreError| e.to_string();
    let store = Store::connect(db).await.map_err(e)?;
    let sys = Principal::system("bench");
    let unit = |parent: Option<i64>, code: String, producer| NewOrgUnit {
        parent_id: parent,
        code: code.clone(),
        name: I18nText::new(Some(code.clone()), Some(code), None),
        producer,
        sort_order: 0,
        service_type: None,
    };
    let county = store
        .create_org_unit(&sys, &unit(None, "county".into(), ProducerType::Own))
        .await
        .map_err(e)?;
    let mut codes = Vec::new();
    let mut units = Vec::new();
    let mut areas = Vec::new();
    for a in 0..AREAS {
        let area = store
            .create_org_unit(
                &sys,
                &unit(Some(county), format!("A{a:02}"), ProducerType::Own),
            )
            .await
            .map_err(e)?;
        areas.push(area);
        for u in 0..UNITS_PER_AREA {
            let producer = match u % 10 {
                0 | 4 | 8 => ProducerType::Purchased,
                5 => ProducerType::Private,
                _ => ProducerType::Own,
            };
            let code = format!("A{a:02}U{u:02}");
            units.push(
                store
                    .create_org_unit(&sys, &unit(Some(area), code.clone(), producer))
                    .await
                    .map_err(e)?,
            );
            codes.push(code);
        }
    }
    let backend = format!("{:?}", store.backend());
    println!(
        "{backend}: a county of {AREAS} areas × {UNITS_PER_AREA} units; {contacts} contacts, {} visits",
        contacts / 10
    );
    // The log, through the import pipeline in a child process.
    let dir = std::env::temp_dir().join(format!("valvo-bench-oversight-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("log.csv");
    generate(valvo_store::ImportKind::Ombudsman, contacts, &codes, &file)?;
    let lines = std::fs::read_to_string(&file)
        .map(|s| s.lines().count() - 1)
        .unwrap_or(0);
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["import", "ombudsman"])
        .arg(&file)
        .env("VALVO_DATABASE_URL", db)
        .env("VALVO_LOG", "warn")
        .stdout(Stdio::null())
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
    if !status.success() {
        let mut err = String::new();
        if let Some(mut s) = child.stderr.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut err);
        }
        return Err(format!("valvo import ombudsman: {err}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "import of the log: {contacts} contacts ({lines} lines) in {secs:.1} s, {:.0} contacts/s, peak {:.0} MB",
        contacts as f64 / secs,
        peak as f64 / 1024.0
    );
    // Visits one by one, as supervisors record them (each its own transaction).
    let today = time::OffsetDateTime::now_utc().date();
    let year = Period::year(today.year() - 1).map_err(|e| e.to_string())?;
    let visits = contacts / 10;
    let started = Instant::now();
    for i in 0..visits {
        let findings = if i % 3 == 0 {
            vec![NewFinding {
                topic: [
                    "premises",
                    "medication_safety",
                    "staffing",
                    "client_records",
                ][i % 4]
                    .into(),
                severity: Severity::Shortcoming,
                text: I18nText::new(Some("Puute".into()), None, None),
                correction_due: Some(today + time::Duration::days((i % 90) as i64 - 45)),
            }]
        } else {
            Vec::new()
        };
        let input = NewVisit {
            org_unit: units[(i * 7) % units.len()],
            visited_on: year.start() + time::Duration::days((i * 365 / visits.max(1)) as i64),
            kind: [
                VisitKind::Unannounced,
                VisitKind::Unannounced,
                VisitKind::Announced,
            ][i % 3],
            topics: vec!["self_monitoring_plan".into()],
            findings,
            follows: None,
        };
        store.create_visit(&sys, &input, today).await.map_err(e)?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{visits} visits recorded one by one in {secs:.1} s ({:.0}/s)",
        visits as f64 / secs
    );
    let tree = store.org_tree().await.map_err(e)?;
    println!();
    println!(
        "{:<44} {:>9} {:>9}  {}",
        "statistics of the year (kept counts)", "p50 ms", "p95 ms", "figures"
    );
    for (label, org) in [
        ("county (1 000 units)", county),
        ("area (50 units)", areas[0]),
        ("unit", units[0]),
    ] {
        let (p50, p95, s) = timed(RUNS, || async {
            store.ombudsman_stats(org, year).await.map_err(e)
        })
        .await?;
        println!(
            "{:<44} {:>9.1} {:>9.1}  {} contacts, {} items",
            format!("ombudsperson, {label}"),
            ms(p50),
            ms(p95),
            s.contacts,
            s.items
        );
        let (p50, p95, v) = timed(RUNS, || async {
            store
                .supervision_stats(&tree, org, year, today)
                .await
                .map_err(e)
        })
        .await?;
        println!(
            "{:<44} {:>9.1} {:>9.1}  {} visits, {} corrections open",
            format!("supervision, {label}"),
            ms(p50),
            ms(p95),
            v.visits,
            v.corrections_open
        );
    }
    // The same figures counted from the rows, once.
    let started = Instant::now();
    let counted = store
        .ombudsman_stats_counted(&tree, county, year)
        .await
        .map_err(e)?;
    let direct = started.elapsed();
    let kept = store.ombudsman_stats(county, year).await.map_err(e)?;
    if kept != counted {
        return Err("the kept ombudsperson counts differ from a direct count".into());
    }
    let by_cell = store.visits_counted(&tree, county, year).await.map_err(e)?;
    let stats = store
        .supervision_stats(&tree, county, year, today)
        .await
        .map_err(e)?;
    if by_cell.values().sum::<u64>() != stats.visits || stats.visits != visits as u64 {
        return Err("the kept visit counts differ from a direct count".into());
    }
    println!();
    println!(
        "checked: the kept counts equal a direct count of the rows (which took {:.0} ms for the contacts)",
        ms(direct)
    );
    store.close().await;
    Ok(())
}
