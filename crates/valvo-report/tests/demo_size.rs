//! Render time for a report of the demo county's size (seed 002: 8 chapters,
//! 24 goals, 40 indicators, 66 actions). Run in release:
//!
//! ```sh
//! cargo test --release -p valvo-report --test demo_size -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde::Deserialize;
use valvo_core::plan::{ActionStatus, Area};
use valvo_core::report::{
    Chapter, Report, ReportAction, ReportFigure, ReportGoal, ReportIndicator, ReportSection,
    ReportState, ReportText, SectionKind, StatusCount,
};
use valvo_core::{status, Direction, I18nText, Lang, Period, Status, TargetSpec};
use valvo_report::{render_pdf, to_csv, to_json, Layout};

#[derive(Deserialize)]
struct Seed {
    county: Named,
    period: Period,
    areas: Vec<AreaSeed>,
}

#[derive(Deserialize)]
struct Named {
    code: String,
    name: I18nText,
}

#[derive(Deserialize)]
struct AreaSeed {
    code: String,
    name: I18nText,
    goals: Vec<GoalSeed>,
}

#[derive(Deserialize)]
struct GoalSeed {
    area: Area,
    title: I18nText,
    #[serde(default)]
    indicators: Vec<IndicatorSeed>,
    #[serde(default)]
    actions: Vec<ActionSeed>,
    follow_up: Option<TextSeed>,
}

#[derive(Deserialize)]
struct IndicatorSeed {
    name: I18nText,
    #[serde(default)]
    unit: I18nText,
    direction: Direction,
    baseline: Option<f64>,
    target: Option<f64>,
    target_max: Option<f64>,
    #[serde(default)]
    note: I18nText,
    follow_up: Option<ValueSeed>,
}

#[derive(Deserialize)]
struct ValueSeed {
    period: Period,
    value: Option<f64>,
}

#[derive(Deserialize)]
struct ActionSeed {
    text: I18nText,
    status: ActionStatus,
}

#[derive(Deserialize)]
struct TextSeed {
    text: I18nText,
}

fn demo_report() -> Report {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../valvo/demo/seed-002.json");
    let seed: Seed = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let chapters = seed
        .areas
        .into_iter()
        .enumerate()
        .map(|(n, a)| {
            let goals: Vec<ReportGoal> = a
                .goals
                .into_iter()
                .map(|g| ReportGoal {
                    area: g.area,
                    title: g.title,
                    indicators: g
                        .indicators
                        .into_iter()
                        .enumerate()
                        .map(|(k, i)| {
                            let value = i.follow_up.as_ref().and_then(|f| f.value);
                            let spec = TargetSpec {
                                direction: i.direction,
                                baseline: i.baseline,
                                target: i.target,
                                target_max: i.target_max,
                            };
                            ReportIndicator {
                                id: k as i64,
                                name: i.name,
                                unit: i.unit,
                                direction: i.direction,
                                baseline: i.baseline,
                                target: i.target,
                                target_max: i.target_max,
                                note: i.note,
                                value,
                                value_period: i.follow_up.as_ref().map(|f| f.period),
                                previous: None,
                                status: status(&spec, value),
                                assessment: I18nText::default(),
                                corrective: I18nText::default(),
                                value_kind: valvo_core::ValueKind::Number,
                                parts: None,
                                text: None,
                                previous_parts: None,
                                previous_text: None,
                                reference: None,
                            }
                        })
                        .collect(),
                    actions: g
                        .actions
                        .into_iter()
                        .map(|a| ReportAction {
                            text: a.text,
                            status: a.status,
                        })
                        .collect(),
                    review: g.follow_up.map(|f| f.text).unwrap_or_default(),
                })
                .collect();
            let status_counts = Status::ALL
                .iter()
                .map(|s| StatusCount {
                    status: *s,
                    count: goals
                        .iter()
                        .flat_map(|g| &g.indicators)
                        .filter(|i| i.status == *s)
                        .count(),
                })
                .collect();
            Chapter {
                org_id: n as i64 + 2,
                org_code: a.code,
                name: a.name,
                goals,
                sections: vec![
                    ReportSection {
                        kind: SectionKind::Participation,
                        source: "manual".into(),
                        texts: vec![ReportText {
                            key: "how".into(),
                            text: I18nText::new(
                                Some("Asiakasraati kokoontuu kuukausittain.".into()),
                                Some("Klientrådet möts varje månad.".into()),
                                None,
                            ),
                        }],
                        figures: vec![],
                        tables: vec![],
                    },
                    ReportSection {
                        kind: SectionKind::Personnel,
                        source: "manual".into(),
                        texts: vec![],
                        figures: vec![
                            ReportFigure {
                                key: "headcount".into(),
                                value: Some(120.0),
                                previous: Some(118.0),
                            },
                            ReportFigure {
                                key: "sick_leave_pct".into(),
                                value: Some(3.7),
                                previous: Some(4.1),
                            },
                        ],
                        tables: vec![],
                    },
                ],
                status_counts,
            }
        })
        .collect();
    Report {
        id: 1,
        org_id: 1,
        org_code: seed.county.code,
        org_name: seed.county.name.clone(),
        county_name: seed.county.name,
        period: seed.period,
        version: 1,
        state: ReportState::Published,
        summary: I18nText::new(
            Some("Tavoitteet etenevät pääosin suunnitellusti.".into()),
            Some("Målen framskrider i huvudsak enligt plan.".into()),
            None,
        ),
        chapters,
        generated_at: "2024-08-15T09:30:00Z".into(),
        approved_by: Some("Laatukoordinaattori".into()),
        published_at: Some("2024-08-20T08:00:00Z".into()),
        branding: Default::default(),
    }
}

#[test]
fn demo_report_has_the_demo_size() {
    let r = demo_report();
    assert_eq!(r.chapters.len(), 8);
    assert_eq!(r.chapters.iter().map(|c| c.goals.len()).sum::<usize>(), 24);
    assert_eq!(r.indicators().count(), 40);
    assert_eq!(
        r.chapters
            .iter()
            .flat_map(|c| &c.goals)
            .map(|g| g.actions.len())
            .sum::<usize>(),
        66
    );
    // The exports cover it all.
    assert_eq!(to_csv(&r, Lang::Sv).matches("\r\n").count(), 1 + 40 + 8 * 2);
    assert!(to_json(&r).len() > 10_000);
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn demo_render_time() {
    let report = demo_report();
    let t = Instant::now();
    valvo_report::pdf::warm_up();
    eprintln!("engine and fonts: {:?}", t.elapsed());
    for (name, layout) in [
        ("fi", Layout::Single(Lang::Fi)),
        ("sv", Layout::Single(Lang::Sv)),
        ("bilingual", Layout::Bilingual),
    ] {
        let mut times: Vec<Duration> = vec![];
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let pdf = render_pdf(&report, layout).unwrap();
            times.push(t.elapsed());
            size = pdf.len();
            if let Ok(dir) = std::env::var("VALVO_PDF_OUT") {
                std::fs::write(format!("{dir}/demo-{name}.pdf"), &pdf).unwrap();
            }
        }
        times.sort();
        eprintln!(
            "{name}: {size} bytes, min {:?}, median {:?}, max {:?}",
            times[0], times[2], times[4]
        );
        if !cfg!(debug_assertions) {
            assert!(times[2] < Duration::from_secs(2), "{name}: {:?}", times[2]);
        }
    }
}
