//! Periodic reports: the texts and figures people enter for a period, the
//! report rows with their workflow, and the assembly of the report model.
//! Approving assembles the report inside the same transaction and stores it as
//! an immutable snapshot.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use valvo_core::access::Principal;
use valvo_core::plan::{ErrorCode, FieldError, MAX_TEXT};
use valvo_core::report::{
    build_chapter, transition, ChapterInput, Report, ReportState, ReportTable, SectionKind,
    Transition, WorkflowError,
};
use valvo_core::{I18nText, OrgTree, Period};

use crate::plan::plan_in;
use crate::rows::{corrupt, text};
use crate::write::{audit, check_write};
use crate::{load_tree, now, Result, Store, StoreError};

/// The section name under which the report's key observations are stored.
pub const SUMMARY: &str = "summary";

/// A stored report (its model is assembled live, or read from the snapshot once frozen).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReportRow {
    /// Id.
    pub id: i64,
    /// Org unit.
    pub org_unit_id: i64,
    /// Period.
    pub period: Period,
    /// Version (1, 2, … for corrections after approval).
    pub version: i64,
    /// Workflow state.
    pub state: ReportState,
    /// Whether each child area is a chapter of its own.
    pub with_children: bool,
    /// Created when, by whom.
    pub created_at: String,
    /// Creator.
    pub created_by: String,
    /// Approved when.
    pub approved_at: Option<String>,
    /// Approver.
    pub approved_by: Option<String>,
    /// Published when.
    pub published_at: Option<String>,
    #[serde(skip)]
    snapshot: Option<String>,
}

/// Why a report step failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The workflow refused the step.
    #[error("workflow: {0}")]
    Workflow(#[from] WorkflowError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const COLS: &str =
    "id, org_unit_id, period, version, state, with_children, snapshot, created_at, created_by, \
     approved_at, approved_by, published_at";

fn report_row(row: &AnyRow) -> Result<ReportRow> {
    let period: String = row.try_get("period")?;
    let state: String = row.try_get("state")?;
    Ok(ReportRow {
        id: row.try_get("id")?,
        org_unit_id: row.try_get("org_unit_id")?,
        period: period.parse().map_err(|_| corrupt("period", &period))?,
        version: row.try_get("version")?,
        state: ReportState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        with_children: row.try_get::<i64, _>("with_children")? != 0,
        snapshot: row.try_get("snapshot")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        approved_at: row.try_get("approved_at")?,
        approved_by: row.try_get("approved_by")?,
        published_at: row.try_get("published_at")?,
    })
}

async fn row_in(conn: &mut AnyConnection, id: i64) -> Result<ReportRow> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM reports WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(report_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

type Texts = Vec<(SectionKind, String, I18nText)>;
type Figures = Vec<(SectionKind, String, f64)>;

async fn texts_in(
    conn: &mut AnyConnection,
    org: i64,
    period: &Period,
) -> Result<(I18nText, Texts)> {
    let rows = sqlx::query(
        "SELECT section, key, text_fi, text_sv, text_en FROM report_texts WHERE org_unit_id = $1 AND period = $2",
    )
    .bind(org)
    .bind(period.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut summary = I18nText::default();
    let mut texts = Vec::new();
    for r in &rows {
        let section: String = r.try_get("section")?;
        let t = text(r, "text")?;
        if section == SUMMARY {
            summary = t;
        } else if let Some(kind) = SectionKind::parse(&section) {
            texts.push((kind, r.try_get("key")?, t));
        }
    }
    Ok((summary, texts))
}

async fn figures_in(conn: &mut AnyConnection, org: i64, period: Option<Period>) -> Result<Figures> {
    let Some(period) = period else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT section, key, value FROM report_figures WHERE org_unit_id = $1 AND period = $2",
    )
    .bind(org)
    .bind(period.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .filter_map(|r| {
            let section: String = r.try_get("section").ok()?;
            let kind = SectionKind::parse(&section)?;
            Some(Ok((
                kind,
                r.try_get("key").ok()?,
                r.try_get::<f64, _>("value").ok()?,
            )))
        })
        .collect()
}

fn check_key(section: &str, key: &str, figure: bool) -> Result<()> {
    let ok = if section == SUMMARY {
        !figure && key == "text"
    } else {
        match SectionKind::parse(section) {
            Some(kind) if figure => kind.figure_keys().contains(&key),
            Some(kind) => kind.text_keys().contains(&key),
            None => false,
        }
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(vec![FieldError {
            field: format!("{section}.{key}"),
            code: ErrorCode::Invalid,
        }]))
    }
}

/// Fills the safety section's figures from the incident module (reports,
/// serious ones and their share, never events, client-reported and
/// misconduct reports, unhandled over two months) where nobody entered
/// them. Returns the module's tables (by kind, by consequence, the most
/// common event types) when it supplied anything.
async fn safety_from_incidents(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    types: &[valvo_core::incident::EventTypeDef],
    org: i64,
    period: Period,
    figures: &mut Figures,
    previous: &mut Figures,
) -> Result<Option<Vec<ReportTable>>> {
    let policy = valvo_core::incident::DeadlinePolicy::default();
    let today = time::OffsetDateTime::now_utc().date();
    let cur = crate::incidents::stats_in(conn, tree, org, period, &policy, today).await?;
    let prev = match period.prev() {
        Some(p) => Some(crate::incidents::stats_in(conn, tree, org, p, &policy, today).await?),
        None => None,
    };
    if cur.total == 0 && prev.as_ref().is_none_or(|p| p.total == 0) {
        return Ok(None);
    }
    let mut used = false;
    let mut put = |list: &mut Figures, key: &str, value: f64| {
        if !list
            .iter()
            .any(|(k, fk, _)| *k == SectionKind::Safety && fk == key)
        {
            list.push((SectionKind::Safety, key.to_string(), value));
            used = true;
        }
    };
    let misconduct = |st: &valvo_core::incident::IncidentStats| {
        st.by_kind
            .iter()
            .find(|(k, _)| *k == valvo_core::incident::IncidentKind::Misconduct)
            .map_or(0, |(_, n)| *n) as f64
    };
    put(figures, "incident_reports", cur.total as f64);
    put(figures, "serious_reports", cur.serious as f64);
    put(
        figures,
        "serious_share_pct",
        (cur.serious_share * 10.0).round() / 10.0,
    );
    put(figures, "never_events", cur.never_events as f64);
    put(figures, "client_reported", cur.client_reported as f64);
    put(figures, "misconduct_reports", misconduct(&cur));
    put(
        figures,
        "unhandled_over_2_months",
        cur.unhandled_over_two_months as f64,
    );
    // Seed 003 prints them apart: HaiPro (safety reports), SPro (misconduct).
    let (haipro, spro) = haipro_spro(&cur.unhandled_over_two_months_by_kind);
    put(figures, "unhandled_haipro", haipro);
    put(figures, "unhandled_spro", spro);
    if let Some(p) = &prev {
        let (haipro, spro) = haipro_spro(&p.unhandled_over_two_months_by_kind);
        put(previous, "unhandled_haipro", haipro);
        put(previous, "unhandled_spro", spro);
        put(previous, "incident_reports", p.total as f64);
        put(previous, "serious_reports", p.serious as f64);
        put(previous, "never_events", p.never_events as f64);
        put(previous, "client_reported", p.client_reported as f64);
        put(previous, "misconduct_reports", misconduct(p));
        put(
            previous,
            "serious_share_pct",
            (p.serious_share * 10.0).round() / 10.0,
        );
        // As it stood at the end of the previous period.
        put(
            previous,
            "unhandled_over_2_months",
            p.unhandled_over_two_months as f64,
        );
    }
    let type_name = |t: &valvo_core::incident::EventType| {
        types
            .iter()
            .find(|d| d.code == *t)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| I18nText::fi_only(t.code()))
    };
    let tables = valvo_core::section_tables::safety_tables(&cur, prev.as_ref(), &type_name);
    Ok((used || !tables.is_empty()).then_some(tables))
}

/// A count by kind split as HaiPro (client, work and data safety reports)
/// and SPro (misconduct reports) count them.
fn haipro_spro(by_kind: &[(valvo_core::incident::IncidentKind, u64)]) -> (f64, f64) {
    let spro: u64 = by_kind
        .iter()
        .filter(|(k, _)| *k == valvo_core::incident::IncidentKind::Misconduct)
        .map(|(_, n)| n)
        .sum();
    let all: u64 = by_kind.iter().map(|(_, n)| n).sum();
    ((all - spro) as f64, spro as f64)
}

/// Fills the customer experience section's figures from the feedback module
/// (NPS with its interval, answers, the Finnish–Swedish gap, negative
/// comments, remarks and complaints) where nobody entered them. Returns
/// the module's tables (the statements as `1,72 (1,94)`, NPS by language and
/// by channel, the comments' topics) when it supplied anything.
async fn experience_from_feedback(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    org: i64,
    period: Period,
    figures: &mut Figures,
    previous: &mut Figures,
) -> Result<Option<Vec<ReportTable>>> {
    use valvo_core::section_tables::{experience_tables, Experience};
    let stats = crate::feedback::stats_in(
        conn,
        tree,
        org,
        period,
        valvo_core::feedback::Filter::default(),
    )
    .await?;
    let cases = cases_by_kind(conn, tree, org, period).await?;
    let prev_cases = match period.prev() {
        Some(p) => cases_by_kind(conn, tree, org, p).await?,
        None => (0, 0),
    };
    let (cur, prev) = (&stats.current, &stats.prev);
    if cur.answers == 0 && prev.answers == 0 && cases == (0, 0) && prev_cases == (0, 0) {
        return Ok(None);
    }
    let mut used = false;
    let mut put = |list: &mut Figures, key: &str, value: Option<f64>| {
        if let Some(value) = value {
            if !list
                .iter()
                .any(|(k, fk, _)| *k == SectionKind::CustomerExperience && fk == key)
            {
                list.push((SectionKind::CustomerExperience, key.to_string(), value));
                used = true;
            }
        }
    };
    let min = valvo_core::feedback::MIN_PUBLIC_CELL;
    // A share of fewer than five comments is not published.
    let negative = |t: &[valvo_core::feedback::TopicFigures]| {
        t.iter()
            .find(|f| f.topic.is_empty() && f.comments >= min)
            .and_then(|f| f.negative_share)
            .map(|v| v.round())
    };
    for (list, s, topics, (remarks, complaints)) in [
        (&mut *figures, cur, &stats.topics, cases),
        (&mut *previous, prev, &stats.topics_prev, prev_cases),
    ] {
        let nps_shown = s.nps.n >= min;
        put(list, "nps", s.nps.nps.filter(|_| nps_shown).map(f64::round));
        put(
            list,
            "nps_ci_low",
            s.nps.ci_low.filter(|_| nps_shown).map(f64::round),
        );
        put(
            list,
            "nps_ci_high",
            s.nps.ci_high.filter(|_| nps_shown).map(f64::round),
        );
        put(list, "answers", Some(s.answers as f64));
        put(list, "negative_comments_pct", negative(topics));
        put(list, "remarks", Some(remarks as f64));
        put(list, "complaints", Some(complaints as f64));
    }
    // The gap only where both NPS are shown: with the Finnish one printed,
    // it would give away a Swedish one withheld.
    let lang_shown = |code: &str| {
        stats
            .by_lang
            .iter()
            .any(|b| b.key == code && b.current.nps.n >= min)
    };
    put(
        figures,
        "nps_lang_gap",
        stats
            .lang_gap
            .as_ref()
            .filter(|_| lang_shown("fi") && lang_shown("sv"))
            .map(|g| g.difference.round()),
    );
    // The years before the period's (a year that holds the period would,
    // less the period's figures, give away the rest of the year's), each
    // only when its tertials give nothing away that one of them withholds
    // (as on the public pages).
    let tertials = crate::feedback::tertial_totals_in(conn, org).await?;
    let period_year = period.start().year();
    let years = stats
        .trend
        .iter()
        .filter(|y| y.year < period_year)
        .map(|y| {
            let of_year: Vec<(u64, u64)> = (1..=3)
                .filter_map(|t| Period::tertial(y.year, t).ok())
                .map(|p| tertials.get(&p).copied().unwrap_or((0, 0)))
                .collect();
            let (answers_shown, nps_shown) = valvo_core::disclosure::year_shown(&of_year, min);
            (
                y.year,
                answers_shown.then_some(y.answers),
                y.nps
                    .nps
                    .filter(|_| nps_shown && y.nps.n >= min)
                    .map(f64::round),
            )
        })
        .collect();
    let survey = crate::feedback::survey_def_in(conn, tree.county_code(org)).await?;
    let mut tables = experience_tables(&Experience {
        statements: &survey.statements,
        current: cur,
        previous: prev,
        by_lang: parts("fb-lang-", &stats.by_lang),
        by_channel: parts("fb-channel-", &stats.by_channel),
        topics: &stats.topics,
        years,
    });
    // A county's place among the others, where there are others; a service
    // area's, among the same service's in the others.
    if let Some(t) =
        crate::comparison::report_table(conn, tree, org, period, &survey.statements).await?
    {
        tables.push(t);
    }
    if let Some(t) =
        crate::comparison::service_report_table(conn, tree, org, period, &survey.statements).await?
    {
        tables.push(t);
    }
    Ok((used || !tables.is_empty()).then_some(tables))
}

/// A breakdown's lines for a report table, labelled `{prefix}{code}` (`none`
/// for not given).
fn parts<'a>(
    prefix: &str,
    list: &'a [crate::feedback::Breakdown],
) -> Vec<valvo_core::section_tables::Part<'a>> {
    list.iter()
        .map(|b| valvo_core::section_tables::Part {
            label: if b.key.is_empty() {
                format!("{prefix}none")
            } else {
                format!("{prefix}{}", b.key)
            },
            current: &b.current,
            previous: &b.prev,
        })
        .collect()
}

/// Remarks and complaints received in the subtree in `period` (feedback
/// cases of those kinds, by the day received).
async fn cases_by_kind(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    org: i64,
    period: Period,
) -> Result<(u64, u64)> {
    let units = tree.subtree_ids(org);
    if units.is_empty() {
        return Ok((0, 0));
    }
    let list = units
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT kind, COUNT(*) AS n FROM feedback_cases \
         WHERE org_unit_id IN ({list}) AND received_on >= $1 AND received_on <= $2 \
         AND kind IN ('remark', 'complaint') AND {} GROUP BY kind",
        crate::write::visible("")
    ))
    .bind(period.start().to_string())
    .bind(period.end().to_string())
    .fetch_all(&mut *conn)
    .await?;
    let of = |k: &str| {
        rows.iter()
            .find(|(kind, _)| kind == k)
            .map_or(0, |(_, n)| *n as u64)
    };
    Ok((of("remark"), of("complaint")))
}

/// Puts a module's figures where nobody entered them; whether any was put.
fn put_module(
    kind: SectionKind,
    m: &crate::report_sections::ModuleSection,
    figures: &mut Figures,
    previous: &mut Figures,
) -> bool {
    let mut used = false;
    for (list, from) in [(figures, &m.figures), (previous, &m.previous)] {
        for (key, value) in from {
            if !list.iter().any(|(k, fk, _)| *k == kind && fk == key) {
                list.push((kind, key.to_string(), *value));
                used = true;
            }
        }
    }
    used || !m.tables.is_empty()
}

/// Assembles the report model from the live data.
async fn assemble_in(conn: &mut AnyConnection, row: &ReportRow) -> Result<Report> {
    let tree = load_tree(conn).await?;
    let node = tree.get(row.org_unit_id).ok_or(StoreError::NotFound)?;
    let root = tree
        .path(node.id)
        .first()
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let branding = match tree.root_of(node.id) {
        Some(r) => crate::branding::branding_in(conn, r).await?,
        None => Default::default(),
    };
    let mut units = vec![node];
    if row.with_children {
        units.extend(tree.children(node.id));
    }
    let year = row.period.year_number();
    // Names of the event types, once for every chapter.
    let types = crate::incidents::event_types_in(conn).await?;
    let mut chapters = Vec::new();
    let mut summary = I18nText::default();
    for unit in units {
        let plan = plan_in(conn, unit.id, year).await?;
        let (unit_summary, texts) = texts_in(conn, unit.id, &row.period).await?;
        if unit.id == node.id {
            summary = unit_summary;
        }
        let mut figures = figures_in(conn, unit.id, Some(row.period)).await?;
        let mut previous = figures_in(conn, unit.id, row.period.prev()).await?;
        let from_module = safety_from_incidents(
            conn,
            &tree,
            &types,
            unit.id,
            row.period,
            &mut figures,
            &mut previous,
        )
        .await?;
        let from_feedback = experience_from_feedback(
            conn,
            &tree,
            unit.id,
            row.period,
            &mut figures,
            &mut previous,
        )
        .await?;
        let today = time::OffsetDateTime::now_utc().date();
        let modules = [
            (
                SectionKind::Supervision,
                "supervision",
                crate::report_sections::supervision(conn, &tree, unit.id, row.period, today)
                    .await?,
            ),
            (
                SectionKind::Ombudsman,
                "ombudsman",
                // Only for a whole county: a county's figures less its areas'
                // would tell what no single page shows (as seed 003, county-wide).
                if unit.parent_id.is_none() {
                    crate::report_sections::ombudsman(conn, unit.id, row.period).await?
                } else {
                    None
                },
            ),
        ];
        let mut filled = Vec::new();
        for (kind, source, m) in modules {
            if let Some(m) = m {
                if put_module(kind, &m, &mut figures, &mut previous) {
                    filled.push((kind, source, m.tables));
                }
            }
        }
        let input = ChapterInput {
            node: unit,
            plan: &plan,
            texts: &texts,
            figures: &figures,
            previous_figures: &previous,
        };
        let mut chapter = build_chapter(&input, &row.period);
        for (kind, source, tables) in [
            (SectionKind::Safety, "incidents", from_module),
            (SectionKind::CustomerExperience, "feedback", from_feedback),
        ] {
            let Some(tables) = tables else { continue };
            for section in chapter.sections.iter_mut().filter(|s| s.kind == kind) {
                section.source = source.to_string();
                section.tables = tables.clone();
            }
        }
        for (kind, source, tables) in filled {
            if let Some(section) = chapter.sections.iter_mut().find(|s| s.kind == kind) {
                section.source = source.to_string();
                section.tables = tables;
            }
        }
        // A child without goals or sections adds nothing but an empty heading.
        if unit.id == node.id || !chapter.goals.is_empty() || !chapter.sections.is_empty() {
            chapters.push(chapter);
        }
    }
    Ok(Report {
        id: row.id,
        org_id: node.id,
        org_code: node.code.clone(),
        org_name: node.name.clone(),
        county_name: root,
        period: row.period,
        version: row.version,
        state: row.state,
        summary,
        chapters,
        generated_at: now(),
        approved_by: row.approved_by.clone(),
        published_at: row.published_at.clone(),
        branding,
    })
}

impl Store {
    /// The summary, texts and figures entered for an org unit and period.
    pub async fn report_inputs(
        &self,
        org: i64,
        period: &Period,
    ) -> Result<(I18nText, Texts, Figures)> {
        let mut conn = self.pool.acquire().await?;
        let (summary, texts) = texts_in(&mut conn, org, period).await?;
        let figures = figures_in(&mut conn, org, Some(*period)).await?;
        Ok((summary, texts, figures))
    }

    /// Sets (or clears, with an empty text) a report text: the summary
    /// (`section` = `summary`, `key` = `text`) or a section text.
    pub async fn put_report_text(
        &self,
        p: &Principal,
        org: i64,
        period: Period,
        section: &str,
        key: &str,
        value: &I18nText,
    ) -> Result<()> {
        self.put_report_inputs(
            p,
            None,
            org,
            period,
            &[(section.into(), key.into(), value.clone())],
            &[],
        )
        .await
    }

    /// Sets (or clears, with `None`) a section figure.
    pub async fn put_report_figure(
        &self,
        p: &Principal,
        org: i64,
        period: Period,
        section: &str,
        key: &str,
        value: Option<f64>,
    ) -> Result<()> {
        self.put_report_inputs(
            p,
            None,
            org,
            period,
            &[],
            &[(section.into(), key.into(), value)],
        )
        .await
    }

    /// Sets the report texts (section, key, text) and figures (section,
    /// key, value) of an org unit and period in one transaction: all of them
    /// or, on any error, none. Unchanged ones are not written or audited.
    /// With `report` (the report being edited), a report approved meanwhile
    /// refuses the save (a conflict) instead of taking it after its snapshot.
    pub async fn put_report_inputs(
        &self,
        p: &Principal,
        report: Option<i64>,
        org: i64,
        period: Period,
        texts: &[(String, String, I18nText)],
        figures: &[(String, String, Option<f64>)],
    ) -> Result<()> {
        for (section, key, value) in texts {
            check_key(section, key, false)?;
            if value.max_chars() > MAX_TEXT {
                return Err(StoreError::Invalid(vec![FieldError {
                    field: format!("{section}.{key}"),
                    code: ErrorCode::TooLong,
                }]));
            }
        }
        for (section, key, value) in figures {
            check_key(section, key, true)?;
            if let Some(v) = value {
                if !v.is_finite() || v.abs() > valvo_core::plan::MAX_ABS_VALUE {
                    return Err(StoreError::Invalid(vec![FieldError {
                        field: format!("{section}.{key}"),
                        code: ErrorCode::OutOfRange,
                    }]));
                }
            }
        }
        let mut tx = self.begin_write().await?;
        // One writer of a unit's inputs at a time: each replaces what the one before wrote.
        crate::write::lock_row(&mut tx, "org_units", org).await?;
        if let Some(id) = report {
            crate::write::lock_row(&mut tx, "reports", id).await?;
            if row_in(&mut tx, id).await?.state.frozen() {
                return Err(StoreError::Conflict(
                    "the report was approved meanwhile; open a new version".into(),
                ));
            }
        }
        let tree = self.tree_in(&mut tx).await?;
        check_write(p, &tree, org)?;
        for (section, key, value) in texts {
            put_text_in(&mut tx, p, org, period, section, key, value).await?;
        }
        for (section, key, value) in figures {
            put_figure_in(&mut tx, p, org, period, section, key, *value).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Opens the report of an org unit and period for writing: the current
    /// draft or submitted version if there is one, else a new version (the
    /// first, or a correction of an approved or published one).
    pub async fn open_report(
        &self,
        p: &Principal,
        org: i64,
        period: Period,
        with_children: bool,
    ) -> Result<ReportRow> {
        let mut tx = self.begin_write().await?;
        // Two opens at once make one version, not two of the same number.
        crate::write::lock_row(&mut tx, "org_units", org).await?;
        let tree = self.tree_in(&mut tx).await?;
        check_write(p, &tree, org)?;
        let latest = sqlx::query(&format!(
            "SELECT {COLS} FROM reports WHERE org_unit_id = $1 AND period = $2 ORDER BY version DESC LIMIT 1"
        ))
        .bind(org)
        .bind(period.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(report_row)
        .transpose()?;
        if let Some(r) = &latest {
            if !r.state.frozen() {
                return Ok(r.clone());
            }
        }
        let version = latest.map_or(1, |r| r.version + 1);
        let row = sqlx::query(
            "INSERT INTO reports (org_unit_id, period, version, state, with_children, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org)
        .bind(period.to_string())
        .bind(version)
        .bind(ReportState::Draft.code())
        .bind(i64::from(with_children))
        .bind(now())
        .bind(&p.label)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let created = row_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "create",
            "report",
            &id.to_string(),
            Some(org),
            None,
            serde_json::to_value(&created).ok(),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// A report row.
    pub async fn report_row(&self, id: i64) -> Result<ReportRow> {
        let mut conn = self.pool.acquire().await?;
        row_in(&mut conn, id).await
    }

    /// The reports of an org unit, newest period and version first.
    pub async fn reports_of(&self, org: i64) -> Result<Vec<ReportRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM reports WHERE org_unit_id = $1 ORDER BY period DESC, version DESC"
        ))
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        let mut list = rows.iter().map(report_row).collect::<Result<Vec<_>>>()?;
        list.sort_by(|a, b| {
            (b.period.end(), b.period.start(), b.version).cmp(&(
                a.period.end(),
                a.period.start(),
                a.version,
            ))
        });
        Ok(list)
    }

    /// Every published report, newest period first (the public archive).
    pub async fn published_reports(&self) -> Result<Vec<ReportRow>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM reports WHERE state = $1"))
            .bind(ReportState::Published.code())
            .fetch_all(&self.pool)
            .await?;
        let mut list = rows.iter().map(report_row).collect::<Result<Vec<_>>>()?;
        list.sort_by(|a, b| {
            (b.period.end(), b.period.start(), b.version).cmp(&(
                a.period.end(),
                a.period.start(),
                a.version,
            ))
        });
        Ok(list)
    }

    /// The report model: the frozen snapshot of an approved or published
    /// report, or assembled from the live data for a draft.
    pub async fn report(&self, row: &ReportRow) -> Result<Report> {
        if let Some(snapshot) = &row.snapshot {
            let mut report: Report = serde_json::from_str(snapshot)
                .map_err(|e| StoreError::Corrupt(format!("report snapshot {}: {e}", row.id)))?;
            report.state = row.state;
            report.published_at = row.published_at.clone();
            let mut conn = self.pool.acquire().await?;
            crate::branding::fill_logo(&mut conn, &mut report.branding).await?;
            return Ok(report);
        }
        self.feedback_catch_up().await?;
        let mut conn = self.pool.acquire().await?;
        assemble_in(&mut conn, row).await
    }

    /// The report as it would be now, without storing anything (the command
    /// line's `report` for a period nobody has opened a report for).
    pub async fn preview_report(
        &self,
        org: i64,
        period: Period,
        with_children: bool,
    ) -> Result<Report> {
        let row = ReportRow {
            id: 0,
            org_unit_id: org,
            period,
            version: 0,
            state: ReportState::Draft,
            with_children,
            created_at: now(),
            created_by: String::new(),
            approved_at: None,
            approved_by: None,
            published_at: None,
            snapshot: None,
        };
        self.feedback_catch_up().await?;
        let mut conn = self.pool.acquire().await?;
        assemble_in(&mut conn, &row).await
    }

    /// The newest version of an org unit's report for a period.
    pub async fn latest_report(&self, org: i64, period: &Period) -> Result<Option<ReportRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM reports WHERE org_unit_id = $1 AND period = $2 ORDER BY version DESC LIMIT 1"
        ))
        .bind(org)
        .bind(period.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(report_row).transpose()
    }

    /// Takes a workflow step. Approving freezes the report: the model is
    /// assembled and stored in the same transaction. Publishing an already
    /// published report changes nothing.
    pub async fn report_step(
        &self,
        p: &Principal,
        id: i64,
        step: Transition,
    ) -> std::result::Result<ReportRow, ReportError> {
        // The snapshot includes every acknowledged feedback answer.
        self.feedback_catch_up().await?;
        let mut tx = self.begin_write().await.map_err(StoreError::from)?;
        // The units whose texts and figures the report holds are locked
        // first (in id order, as a save of report inputs takes them), then
        // the report: the step starts from the state it changes (two
        // approvals at once make one snapshot), and a snapshot never holds
        // half of a save.
        let unlocked = row_in(&mut tx, id).await?;
        let tree = self.tree_in(&mut tx).await?;
        let units = if unlocked.with_children {
            tree.subtree_ids(unlocked.org_unit_id)
        } else {
            vec![unlocked.org_unit_id]
        };
        crate::write::lock_rows(&mut tx, "org_units", &units).await?;
        crate::write::lock_row(&mut tx, "reports", id).await?;
        let row = row_in(&mut tx, id).await?;
        if !p.can_read(&tree, row.org_unit_id) {
            return Err(StoreError::Forbidden.into());
        }
        let next = transition(row.state, step, p, p.can_write(&tree, row.org_unit_id))?;
        if next == row.state {
            return Ok(row);
        }
        let at = now();
        match next {
            ReportState::Approved => {
                let mut approved = row.clone();
                approved.state = ReportState::Approved;
                approved.approved_by = Some(p.label.clone());
                approved.approved_at = Some(at.clone());
                let mut report = assemble_in(&mut tx, &approved).await?;
                report.generated_at = at.clone();
                let snapshot = serde_json::to_string(&report)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("UPDATE reports SET state = $1, snapshot = $2, approved_at = $3, approved_by = $4 WHERE id = $5")
                    .bind(next.code())
                    .bind(snapshot)
                    .bind(&at)
                    .bind(&p.label)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            }
            ReportState::Published => {
                sqlx::query("UPDATE reports SET state = $1, published_at = $2, published_by = $3 WHERE id = $4")
                    .bind(next.code())
                    .bind(&at)
                    .bind(&p.label)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            }
            ReportState::Draft | ReportState::Submitted => {
                sqlx::query("UPDATE reports SET state = $1 WHERE id = $2")
                    .bind(next.code())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            }
        }
        let after = row_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            step.code(),
            "report",
            &id.to_string(),
            Some(row.org_unit_id),
            Some(serde_json::json!({ "state": row.state })),
            Some(serde_json::json!({ "state": after.state })),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(after)
    }
}

/// Sets (or clears) one report text inside a write transaction.
async fn put_text_in(
    conn: &mut AnyConnection,
    p: &Principal,
    org: i64,
    period: Period,
    section: &str,
    key: &str,
    value: &I18nText,
) -> Result<()> {
    let before = sqlx::query(
        "SELECT text_fi, text_sv, text_en FROM report_texts WHERE org_unit_id = $1 AND period = $2 AND section = $3 AND key = $4",
    )
    .bind(org)
    .bind(period.to_string())
    .bind(section)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(|r| text(r, "text"))
    .transpose()?;
    if before.as_ref() == Some(value) || (before.is_none() && value.is_empty()) {
        return Ok(());
    }
    sqlx::query("DELETE FROM report_texts WHERE org_unit_id = $1 AND period = $2 AND section = $3 AND key = $4")
        .bind(org)
        .bind(period.to_string())
        .bind(section)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    if !value.is_empty() {
        sqlx::query(
            "INSERT INTO report_texts (org_unit_id, period, section, key, text_fi, text_sv, text_en, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(org)
        .bind(period.to_string())
        .bind(section)
        .bind(key)
        .bind(value.fi.clone())
        .bind(value.sv.clone())
        .bind(value.en.clone())
        .bind(now())
        .bind(&p.label)
        .execute(&mut *conn)
        .await?;
    }
    let id = format!("{org}/{period}/{section}/{key}");
    let after = (!value.is_empty()).then(|| serde_json::json!(value));
    audit(
        &mut *conn,
        p,
        "update",
        "report_text",
        &id,
        Some(org),
        before.map(|b| serde_json::json!(b)),
        after,
    )
    .await?;
    Ok(())
}

/// Sets (or clears) one section figure inside a write transaction.
async fn put_figure_in(
    conn: &mut AnyConnection,
    p: &Principal,
    org: i64,
    period: Period,
    section: &str,
    key: &str,
    value: Option<f64>,
) -> Result<()> {
    let before: Option<f64> = sqlx::query(
        "SELECT value FROM report_figures WHERE org_unit_id = $1 AND period = $2 AND section = $3 AND key = $4",
    )
    .bind(org)
    .bind(period.to_string())
    .bind(section)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get::<f64, _>("value"))
    .transpose()?;
    if before == value {
        return Ok(());
    }
    sqlx::query("DELETE FROM report_figures WHERE org_unit_id = $1 AND period = $2 AND section = $3 AND key = $4")
        .bind(org)
        .bind(period.to_string())
        .bind(section)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    if let Some(v) = value {
        sqlx::query(
            "INSERT INTO report_figures (org_unit_id, period, section, key, value, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(org)
        .bind(period.to_string())
        .bind(section)
        .bind(key)
        .bind(v)
        .bind(now())
        .bind(&p.label)
        .execute(&mut *conn)
        .await?;
    }
    let id = format!("{org}/{period}/{section}/{key}");
    audit(
        &mut *conn,
        p,
        "update",
        "report_figure",
        &id,
        Some(org),
        before.map(|b| serde_json::json!(b)),
        value.map(|v| serde_json::json!(v)),
    )
    .await?;
    Ok(())
}
