//! The report sections the ombudsperson and supervision modules fill by
//! themselves: their figures (where nobody entered one) and their tables,
//! from the same kept counts their statistics read.

use sqlx::{AnyConnection, Row};
use valvo_core::ombudsman::{withheld, OmbudsmanStats, Share};
use valvo_core::report::{ReportTable, TableCell, TableLabel, TableRow};
use valvo_core::supervision::{topic_name, SupervisionStats};
use valvo_core::{I18nText, OrgTree, Period};

use crate::Result;

/// What a module gives its section: figures of the period and of the one
/// before (by key), and tables.
pub(crate) struct ModuleSection {
    pub(crate) figures: Vec<(&'static str, f64)>,
    pub(crate) previous: Vec<(&'static str, f64)>,
    pub(crate) tables: Vec<ReportTable>,
}

/// Reasons over this share (percent) of the mentions are printed.
const MAIN_REASON_SHARE: f64 = 5.0;

fn key(k: &str) -> TableLabel {
    TableLabel::Key(k.to_string())
}

/// A share table (reasons, producers, sectors): count and share now, share
/// before; small counts withheld with their complements, as public
/// statistics are.
fn share_table(
    table: &str,
    label_head: &str,
    list: &[Share],
    totals: (u64, u64),
    label: &dyn Fn(&Share) -> TableLabel,
    keep: &dyn Fn(&Share) -> bool,
) -> Option<ReportTable> {
    let hidden = withheld(list, totals.0, totals.1);
    let rows: Vec<TableRow> = list
        .iter()
        .zip(hidden)
        .filter(|(s, _)| (s.count > 0 || s.previous_count > 0) && keep(s))
        .map(|(s, h)| TableRow {
            labels: vec![label(s)],
            cells: if h {
                vec![
                    TableCell::Count(None),
                    TableCell::Percent(None),
                    TableCell::Percent(None),
                ]
            } else {
                vec![
                    TableCell::Count(Some(s.count)),
                    TableCell::Percent(s.share),
                    TableCell::Percent(s.previous_share),
                ]
            },
        })
        .collect();
    (!rows.is_empty()).then(|| ReportTable {
        key: table.to_string(),
        head: vec![
            key(label_head),
            key("report-col-count"),
            key("report-col-share"),
            key("report-col-previous-share"),
        ],
        rows,
        total: None,
    })
}

/// The ombudsperson section of `org`'s subtree for `period`; `None` when
/// there were no contacts in it or the period before.
pub(crate) async fn ombudsman(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    org: i64,
    period: Period,
) -> Result<Option<ModuleSection>> {
    let s: OmbudsmanStats = crate::ombudsman::stats_in(conn, tree, org, period).await?;
    if s.contacts == 0 && s.previous_contacts == 0 {
        return Ok(None);
    }
    let names: Vec<(String, I18nText)> =
        sqlx::query("SELECT code, name_fi, name_sv, name_en FROM ombudsman_reasons")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("code")?,
                    I18nText::new(
                        r.try_get("name_fi")?,
                        r.try_get("name_sv")?,
                        r.try_get("name_en")?,
                    ),
                ))
            })
            .collect::<Result<_>>()?;
    let reason_name = |s: &Share| {
        TableLabel::Text(
            names
                .iter()
                .find(|(c, _)| *c == s.code)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| I18nText::new(Some(s.code.clone()), None, None)),
        )
    };
    let mentions = (
        s.reason_mentions,
        s.reasons.iter().map(|r| r.previous_count).sum(),
    );
    let items = (s.items, s.previous_items);
    let main = |r: &Share| {
        r.share.is_some_and(|v| v > MAIN_REASON_SHARE)
            || r.previous_share.is_some_and(|v| v > MAIN_REASON_SHARE)
    };
    let coded = |prefix: &'static str| move |s: &Share| key(&format!("{prefix}-{}", s.code));
    let tables = [
        share_table(
            "reasons",
            "report-col-reason",
            &s.reasons,
            mentions,
            &reason_name,
            &main,
        ),
        share_table(
            "producers",
            "report-col-producer",
            &s.producers,
            items,
            &coded("ombudsman-producer"),
            &|_| true,
        ),
        share_table(
            "sectors",
            "report-col-sector",
            &s.sectors,
            items,
            &coded("ombudsman-sector"),
            &|_| true,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let small = |n: u64| n > 0 && n < valvo_core::feedback::MIN_PUBLIC_CELL;
    let fig = |list: &mut Vec<(&'static str, f64)>, k, n: u64| {
        if !small(n) {
            list.push((k, n as f64));
        }
    };
    let (mut figures, mut previous) = (Vec::new(), Vec::new());
    fig(&mut figures, "contacts", s.contacts);
    fig(&mut figures, "items", s.items);
    fig(&mut previous, "contacts", s.previous_contacts);
    fig(&mut previous, "items", s.previous_items);
    Ok(Some(ModuleSection {
        figures,
        previous,
        tables,
    }))
}

/// The visits table of seed 003: a row per producer and kind, a column per
/// month and a total column, and a total row.
fn visits_table(s: &SupervisionStats) -> Option<ReportTable> {
    if s.table.rows.is_empty() {
        return None;
    }
    let count = |n: u64| TableCell::Count(Some(n));
    let mut head = vec![key("report-col-producer"), key("report-col-visit-kind")];
    head.extend(s.table.months.iter().map(|m| TableLabel::Month(*m)));
    head.push(key("report-col-total"));
    let rows = s
        .table
        .rows
        .iter()
        .map(|r| TableRow {
            labels: vec![
                key(&format!("ombudsman-producer-{}", r.producer.code())),
                key(&format!("visit-kind-{}", r.kind.code())),
            ],
            cells: r
                .months
                .iter()
                .copied()
                .map(count)
                .chain([count(r.total)])
                .collect(),
        })
        .collect();
    Some(ReportTable {
        key: "visits".into(),
        head,
        rows,
        total: Some(TableRow {
            labels: vec![
                key("report-col-total"),
                TableLabel::Text(I18nText::default()),
            ],
            cells: s
                .table
                .month_totals
                .iter()
                .copied()
                .map(count)
                .chain([count(s.table.total)])
                .collect(),
        }),
    })
}

/// The supervision section of `org`'s subtree for `period`; `None` when
/// there were no visits in it or the period before. Corrections open and
/// overdue are as of `today`.
pub(crate) async fn supervision(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    org: i64,
    period: Period,
    today: time::Date,
) -> Result<Option<ModuleSection>> {
    let s = crate::supervision::stats_in(conn, tree, org, period, today).await?;
    if s.visits == 0 && s.previous_visits == 0 {
        return Ok(None);
    }
    let by_kind = |k: &str| {
        s.by_kind
            .iter()
            .find(|c| c.code == k)
            .map_or(0.0, |c| c.count as f64)
    };
    let figures = vec![
        ("visits_total", s.visits as f64),
        ("visits_unannounced", by_kind("unannounced")),
        ("visits_announced", by_kind("announced")),
        ("visits_follow_up", by_kind("follow_up")),
        ("corrections_open", s.corrections_open as f64),
        ("corrections_overdue", s.corrections_overdue as f64),
    ];
    let previous = vec![("visits_total", s.previous_visits as f64)];
    let findings = (!s.findings_by_topic.is_empty()).then(|| ReportTable {
        key: "findings".into(),
        head: vec![key("report-col-topic"), key("report-col-count")],
        rows: s
            .findings_by_topic
            .iter()
            .map(|c| TableRow {
                labels: vec![TableLabel::Text(topic_name(&c.code))],
                cells: vec![TableCell::Count(Some(c.count))],
            })
            .collect(),
        total: None,
    });
    Ok(Some(ModuleSection {
        figures,
        previous,
        tables: visits_table(&s).into_iter().chain(findings).collect(),
    }))
}
