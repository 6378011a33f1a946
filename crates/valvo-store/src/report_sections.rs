//! The report sections the ombudsperson and supervision modules fill by
//! themselves: their figures (where nobody entered one) and their tables,
//! from the same kept counts their statistics read.

use sqlx::AnyConnection;
use valvo_core::ombudsman::OmbudsmanStats;
use valvo_core::report::ReportTable;
use valvo_core::{OrgTree, Period};

use crate::Result;

/// What a module gives its section: figures of the period and of the one
/// before (by key), and tables.
pub(crate) struct ModuleSection {
    pub(crate) figures: Vec<(&'static str, f64)>,
    pub(crate) previous: Vec<(&'static str, f64)>,
    pub(crate) tables: Vec<ReportTable>,
}

/// The ombudsperson section of `org`'s subtree for `period`; `None` when
/// there were no contacts in it or the period before.
pub(crate) async fn ombudsman(
    conn: &mut AnyConnection,
    org: i64,
    period: Period,
) -> Result<Option<ModuleSection>> {
    let s: OmbudsmanStats = crate::ombudsman::stats_in(conn, org, period).await?;
    if s.contacts == 0 && s.previous_contacts == 0 {
        return Ok(None);
    }
    let names = crate::classification::list(conn, "ombudsman_reasons").await?;
    let name = |code: &str| valvo_core::ombudsman::name_in(&names, code);
    let tables = valvo_core::ombudsman::report_tables(&s, &name);
    let small = valvo_core::ombudsman::small;
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
    let topics = crate::classification::list(conn, "supervision_topics").await?;
    if s.visits == 0 && s.previous_visits == 0 {
        return Ok(None);
    }
    let by_kind = |list: &[valvo_core::supervision::Count], k: &str| {
        list.iter()
            .find(|c| c.code == k)
            .map_or(0.0, |c| c.count as f64)
    };
    let kinds = [
        ("visits_unannounced", "unannounced"),
        ("visits_announced", "announced"),
        ("visits_follow_up", "follow_up"),
        ("visits_document_review", "document_review"),
    ];
    let mut figures = vec![("visits_total", s.visits as f64)];
    let mut previous = vec![("visits_total", s.previous_visits as f64)];
    for (key, kind) in kinds {
        // A kind with no visits in either period adds an empty line.
        if by_kind(&s.by_kind, kind) > 0.0 || by_kind(&s.previous_by_kind, kind) > 0.0 {
            figures.push((key, by_kind(&s.by_kind, kind)));
            previous.push((key, by_kind(&s.previous_by_kind, kind)));
        }
    }
    figures.push(("corrections_open", s.corrections_open as f64));
    figures.push(("corrections_overdue", s.corrections_overdue as f64));
    Ok(Some(ModuleSection {
        figures,
        previous,
        tables: valvo_core::supervision::report_tables(&s, &|code| {
            valvo_core::ombudsman::name_in(&topics, code)
        }),
    }))
}
