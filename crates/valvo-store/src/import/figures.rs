//! The figures import: follow-up values of many indicators and periods from
//! a CSV file or a spreadsheet, each line naming the indicator by its code.
//!
//! Reading checks every line against its indicator (the importer may write
//! it, it is followed up, the period is one of its own, the value is of its
//! kind) and keeps the lines in `import_figures`, in chunks. Then the import
//! is compared with what is stored, a page of indicators at a time in key
//! order: each line is new, changed or unchanged. A check (`dry_run`) keeps
//! that comparison as the preview and the lines for a later confirmation; an
//! import writes the new and changed follow-ups with an audit row each (the
//! file named), in one transaction that reads them under the indicators' row
//! locks (as a single follow-up is written), and marks the import done in it.
//! Importing the same file again changes nothing.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{AnyConnection, Row};
use valvo_core::access::Principal;
use valvo_core::figures::FigureColumns;
use valvo_core::import::{Expected, LineError, LineErrors};
use valvo_core::model::FollowUp;
use valvo_core::plan::{ErrorCode, FollowUpInput};
use valvo_core::{Figure, I18nText, OrgTree, Period, ValueKind};

use super::{multi_row, statement_rows, Agg, Parser, Rows};
use crate::{now, Result};

/// A checked line, as kept until the import is applied.
pub(super) struct FigureRow {
    seq: u64,
    sheet: Option<String>,
    line: usize,
    code: String,
    indicator: i64,
    period: Period,
    figure: Option<Figure>,
    assessment: I18nText,
    corrective: I18nText,
}

/// The indicators a file may name, by code (lower case).
pub(super) struct FiguresParser {
    columns: Option<FigureColumns>,
    by_code: HashMap<String, Vec<(Target, bool)>>,
    today: time::Date,
    seq: u64,
}

impl FiguresParser {
    /// Every indicator with a code, and whether `p` may write it.
    pub(super) async fn load(
        conn: &mut AnyConnection,
        p: &Principal,
        tree: &OrgTree,
        today: time::Date,
    ) -> Result<FiguresParser> {
        // Only what a line is checked against: names, notes and targets stay
        // in the database (a county has tens of thousands of indicators).
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT i.id, i.goal_id, g.org_unit_id, g.year, i.period_kind, i.code, i.value_kind, i.until_year, \
             i.retired_at FROM indicators i JOIN goals g ON g.id = i.goal_id WHERE i.code IS NOT NULL",
        )
        .fetch(&mut *conn);
        let mut by_code: HashMap<String, Vec<(Target, bool)>> = HashMap::new();
        while let Some(r) = rows.try_next().await? {
            let (code, org, ind) = target(&r)?;
            let writable = p.can_write(tree, org);
            by_code
                .entry(code.to_lowercase())
                .or_default()
                .push((ind, writable));
        }
        Ok(FiguresParser {
            columns: None,
            by_code,
            today,
            seq: 0,
        })
    }

    fn indicator(&self, line: usize, code: &str) -> std::result::Result<&Target, LineError> {
        let unknown = || {
            LineError::new(line, "indicator", ErrorCode::NotFound)
                .expecting(Expected::IndicatorYouMayWrite(code.to_owned()))
        };
        let mine: Vec<&Target> = self
            .by_code
            .get(&code.to_lowercase())
            .map(|l| l.iter().filter(|(_, w)| *w).map(|(i, _)| i).collect())
            .unwrap_or_default();
        // Out of scope reads as unknown: nothing is told of other units.
        match mine.as_slice() {
            [one] => Ok(one),
            _ => Err(unknown()),
        }
    }
}

/// What a line is checked against of its indicator (a county has tens of
/// thousands: names, notes and targets stay in the database).
pub(super) struct Target {
    id: i64,
    year: i32,
    until_year: Option<i32>,
    period_kind: valvo_core::PeriodKind,
    value_kind: ValueKind,
    retired: bool,
}

/// A row's indicator code, org unit and [`Target`].
fn target(r: &sqlx::any::AnyRow) -> Result<(String, i64, Target)> {
    let period_kind: String = r.try_get("period_kind")?;
    let kind: String = r.try_get("value_kind")?;
    Ok((
        r.try_get("code")?,
        r.try_get("org_unit_id")?,
        Target {
            id: r.try_get("id")?,
            year: r.try_get::<i64, _>("year")? as i32,
            until_year: r.try_get::<Option<i64>, _>("until_year")?.map(|y| y as i32),
            period_kind: valvo_core::PeriodKind::parse(&period_kind)
                .ok_or_else(|| crate::rows::corrupt("period_kind", &period_kind))?,
            value_kind: ValueKind::parse(&kind)
                .ok_or_else(|| crate::rows::corrupt("value_kind", &kind))?,
            retired: r.try_get::<Option<String>, _>("retired_at")?.is_some(),
        },
    ))
}

/// Nothing to add up: follow-ups have no aggregates.
#[derive(Default)]
pub(super) struct FiguresAgg;

impl Parser for FiguresParser {
    type Row = Option<FigureRow>;
    type Agg = FiguresAgg;

    fn rows(rows: Vec<Option<FigureRow>>) -> Rows {
        Rows::Figures(rows.into_iter().flatten().collect())
    }

    fn agg(_: FiguresAgg) -> Agg {
        Agg::Figures
    }

    fn header(&mut self, headers: Vec<String>) -> std::result::Result<(), Vec<LineError>> {
        self.columns = Some(FigureColumns::new(&headers)?);
        Ok(())
    }

    fn record(
        &mut self,
        line: usize,
        record: &csv::StringRecord,
        sheet: Option<&str>,
    ) -> std::result::Result<Option<FigureRow>, Vec<LineError>> {
        let Some(columns) = &self.columns else {
            return Err(Vec::new());
        };
        let Some(mut rec) = columns.record(line, record.iter())? else {
            return Ok(None);
        };
        let ind = self.indicator(line, &rec.code).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        if ind.retired {
            errors.push(
                LineError::new(line, "indicator", ErrorCode::StateConflict)
                    .expecting(Expected::Literal("an indicator still followed up".into())),
            );
        }
        if !valvo_core::model::own_period(
            ind.period_kind,
            ind.year,
            ind.until_year,
            &rec.period,
            self.today,
        ) {
            errors.push(
                LineError::new(line, "period", ErrorCode::NotItsPeriod).expecting(
                    Expected::ItsPeriod(
                        ind.period_kind.code().to_owned(),
                        ind.until_year.unwrap_or(ind.year).max(ind.year),
                    ),
                ),
            );
        }
        let figure = match ind.value_kind.parse_figure(&rec.value) {
            Ok(f) => f,
            Err(code) => {
                errors.push(
                    LineError::new(line, "value", code).expecting(Expected::Figure(ind.value_kind)),
                );
                None
            }
        };
        if errors.is_empty() {
            let input = FollowUpInput::of(
                figure.clone(),
                rec.assessment.clone(),
                rec.corrective.clone(),
            );
            if let Err(e) = input.validate_for(ind.value_kind) {
                errors.extend(e.into_iter().map(|f| {
                    LineError::new(line, &f.field, f.code)
                        .expecting(Expected::Figure(ind.value_kind))
                }));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let indicator = ind.id;
        self.seq += 1;
        Ok(Some(FigureRow {
            seq: self.seq,
            sheet: sheet.map(str::to_owned),
            line,
            code: std::mem::take(&mut rec.code),
            indicator,
            period: rec.period,
            figure,
            assessment: rec.assessment,
            corrective: rec.corrective,
        }))
    }

    fn spill(&mut self, last: bool) -> Option<FiguresAgg> {
        last.then_some(FiguresAgg)
    }
}

/// `n` parameters for an `IN` list of a statement that has no others: on
/// SQLite anonymous ones (it binds numbered ones by name, n² for n).
fn id_list(conn: &AnyConnection, n: usize) -> String {
    if conn.backend_name() == "PostgreSQL" {
        crate::write::placeholders(1, n)
    } else {
        vec!["?"; n].join(", ")
    }
}

/// Keeps checked lines of import `job`.
pub(super) async fn stage(conn: &mut AnyConnection, job: i64, rows: &[FigureRow]) -> Result<()> {
    const COLS: usize = 18;
    for part in rows.chunks(statement_rows(conn, COLS)) {
        let sql = multi_row(
            conn,
            "INSERT INTO import_figures (import_id, seq, sheet, line, code, indicator_id, period, period_start, \
             value, part_a, part_b, value_text, assessment_fi, assessment_sv, assessment_en, corrective_fi, \
             corrective_sv, corrective_en)",
            part.len(),
            COLS,
            "",
        );
        let mut q = sqlx::query(&sql);
        for r in part {
            let f = r.figure.clone().unwrap_or_default();
            q = q
                .bind(job)
                .bind(r.seq as i64)
                .bind(r.sheet.clone())
                .bind(r.line as i64)
                .bind(r.code.clone())
                .bind(r.indicator)
                .bind(r.period.to_string())
                .bind(r.period.start().to_string())
                .bind(f.value)
                .bind(f.parts.map(|p| p.0))
                .bind(f.parts.map(|p| p.1))
                .bind(f.text)
                .bind(r.assessment.fi.clone())
                .bind(r.assessment.sv.clone())
                .bind(r.assessment.en.clone())
                .bind(r.corrective.fi.clone())
                .bind(r.corrective.sv.clone())
                .bind(r.corrective.en.clone());
        }
        q.persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The same indicator and period on two lines: every later line named
/// (of the first hundred such pairs; all are counted).
pub(super) async fn repeated_lines(conn: &mut AnyConnection, job: i64) -> Result<LineErrors> {
    let groups: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT indicator_id, period, COUNT(*) AS n FROM import_figures WHERE import_id = $1 \
         GROUP BY indicator_id, period HAVING COUNT(*) > 1 ORDER BY MIN(seq)",
    )
    .bind(job)
    .fetch_all(&mut *conn)
    .await?;
    let mut errors = LineErrors::default();
    for (indicator, period, n) in &groups {
        if errors.first.len() >= valvo_core::import::MAX_REPORTED {
            errors.count += (*n - 1).max(0) as u64;
            continue;
        }
        let lines: Vec<(i64, Option<String>)> = sqlx::query_as(
            "SELECT line, sheet FROM import_figures WHERE import_id = $1 AND indicator_id = $2 AND period = $3 ORDER BY seq",
        )
        .bind(job)
        .bind(*indicator)
        .bind(period)
        .fetch_all(&mut *conn)
        .await?;
        let first = lines.first().map(|l| l.0).unwrap_or(0) as usize;
        for (line, sheet) in lines.into_iter().skip(1) {
            let mut e = LineError::new(line as usize, "period", ErrorCode::StateConflict)
                .expecting(Expected::NotAgainAfter(first));
            e.sheet = sheet;
            errors.extend([e]);
        }
    }
    errors.first.sort_by_key(|e| (e.sheet.clone(), e.line));
    Ok(errors)
}

/// What an import changes, kept as its preview and its result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct FiguresSummary {
    /// Follow-ups that did not exist.
    pub new: u64,
    /// Follow-ups whose value or texts change.
    pub changed: u64,
    /// Lines that change nothing.
    pub unchanged: u64,
    /// New or changed values far outside their indicator's history.
    pub flagged: u64,
    /// The first changes, in key order.
    pub changes: Vec<FigureChange>,
}

/// One change of an import.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct FigureChange {
    /// The worksheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The line.
    pub line: usize,
    /// The indicator's code as written.
    pub indicator: String,
    /// The period.
    pub period: Period,
    /// The indicator's kind (how to print the figures).
    pub value_kind: ValueKind,
    /// The figure before (none for a new follow-up, or without a figure).
    pub before: Option<Figure>,
    /// The figure after.
    pub after: Option<Figure>,
    /// Whether the texts change.
    pub texts: bool,
    /// Far outside the indicator's history.
    pub flagged: bool,
}

/// How many changes a summary keeps to show.
const SHOWN: usize = 200;
/// Lines compared (and written) at a time.
const PAGE: i64 = 2000;

struct Staged {
    seq: i64,
    sheet: Option<String>,
    line: usize,
    code: String,
    indicator: i64,
    period: Period,
    figure: Figure,
    assessment: I18nText,
    corrective: I18nText,
}

fn opt_text(row: &sqlx::any::AnyRow, base: &str) -> Result<I18nText> {
    crate::rows::text(row, base)
}

/// Compares the import's lines with what is stored and, when `apply`, writes
/// the new and changed follow-ups and their audit rows (on `conn`, in the
/// caller's transaction).
pub(super) async fn compare(
    conn: &mut AnyConnection,
    job: i64,
    file: &str,
    p: &Principal,
    apply: bool,
    tree: Option<&OrgTree>,
) -> Result<FiguresSummary> {
    let today = time::OffsetDateTime::now_utc().date();
    let mut summary = FiguresSummary::default();
    let mut after: Option<(i64, String)> = None;
    let at = now();
    loop {
        let (last_ind, last_period) = after.clone().unwrap_or((i64::MIN, String::new()));
        let rows = sqlx::query(&format!(
            "SELECT seq, sheet, line, code, indicator_id, period, value, part_a, part_b, value_text, \
             assessment_fi, assessment_sv, assessment_en, corrective_fi, corrective_sv, corrective_en \
             FROM import_figures WHERE import_id = $1 AND indicator_id >= $2 \
             AND (indicator_id > $2 OR period > $3) ORDER BY indicator_id, period LIMIT {PAGE}"
        ))
        .bind(job)
        .bind(last_ind)
        .bind(last_period)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            break;
        }
        let mut page = Vec::with_capacity(rows.len());
        for r in &rows {
            let period: String = r.try_get("period")?;
            page.push(Staged {
                seq: r.try_get("seq")?,
                sheet: r.try_get("sheet")?,
                line: r.try_get::<i64, _>("line")? as usize,
                code: r.try_get("code")?,
                indicator: r.try_get("indicator_id")?,
                period: period
                    .parse()
                    .map_err(|_| crate::rows::corrupt("period", &period))?,
                figure: Figure {
                    value: r.try_get("value")?,
                    parts: match (
                        r.try_get::<Option<f64>, _>("part_a")?,
                        r.try_get::<Option<f64>, _>("part_b")?,
                    ) {
                        (Some(a), Some(b)) => Some((a, b)),
                        _ => None,
                    },
                    text: r.try_get("value_text")?,
                },
                assessment: opt_text(r, "assessment")?,
                corrective: opt_text(r, "corrective")?,
            });
        }
        if let Some(last) = page.last() {
            after = Some((last.indicator, last.period.to_string()));
        }
        let mut ids: Vec<i64> = page.iter().map(|s| s.indicator).collect();
        ids.dedup();
        if apply {
            // As a single follow-up is written: its indicator's row first.
            crate::write::lock_rows(conn, "indicators", &ids).await?;
        }
        let list = id_list(conn, ids.len());
        let sql = format!(
            "SELECT {} FROM follow_ups f WHERE f.indicator_id IN ({list})",
            crate::plan::FOLLOW_UP_COLS
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        let mut stored: HashMap<(i64, Period), FollowUp> = HashMap::new();
        // Each indicator's stored values by the day its period begins.
        let mut history: HashMap<i64, Vec<(time::Date, f64)>> = HashMap::new();
        for r in q.fetch_all(&mut *conn).await? {
            let f = crate::plan::follow_up_row(&r)?;
            if let Some(v) = f.value {
                history
                    .entry(f.indicator_id)
                    .or_default()
                    .push((f.period.start(), v));
            }
            stored.insert((f.indicator_id, f.period), f);
        }
        let sql = format!(
            "SELECT i.id, i.value_kind, i.min_value, i.max_value, g.org_unit_id, i.period_kind, g.year, \
             i.until_year, i.retired_at FROM indicators i JOIN goals g ON g.id = i.goal_id WHERE i.id IN ({list})"
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        let mut inds: HashMap<i64, (ValueKind, Option<f64>, Option<f64>, i64)> = HashMap::new();
        let mut own: HashMap<i64, (Target, i64)> = HashMap::new();
        for r in q.fetch_all(&mut *conn).await? {
            let kind: String = r.try_get("value_kind")?;
            let id: i64 = r.try_get("id")?;
            inds.insert(
                id,
                (
                    ValueKind::parse(&kind).unwrap_or_default(),
                    r.try_get("min_value")?,
                    r.try_get("max_value")?,
                    r.try_get("org_unit_id")?,
                ),
            );
            if apply {
                let period_kind: String = r.try_get("period_kind")?;
                own.insert(
                    id,
                    (
                        Target {
                            id,
                            year: r.try_get::<i64, _>("year")? as i32,
                            until_year: r
                                .try_get::<Option<i64>, _>("until_year")?
                                .map(|y| y as i32),
                            period_kind: valvo_core::PeriodKind::parse(&period_kind)
                                .ok_or_else(|| crate::rows::corrupt("period_kind", &period_kind))?,
                            value_kind: ValueKind::parse(&kind).unwrap_or_default(),
                            retired: r.try_get::<Option<String>, _>("retired_at")?.is_some(),
                        },
                        r.try_get("org_unit_id")?,
                    ),
                );
            }
        }
        let mut writes: Vec<(FollowUp, Option<FollowUp>, i64)> = Vec::new();
        if let (true, Some(tree)) = (apply, tree) {
            // What was checked when the file was read may have changed since
            // (a check is applied later): every line again, under the locks.
            for s in &page {
                let ok = own.get(&s.indicator).is_some_and(|(t, org)| {
                    !t.retired
                        && p.can_write(tree, *org)
                        && valvo_core::model::own_period(
                            t.period_kind,
                            t.year,
                            t.until_year,
                            &s.period,
                            today,
                        )
                        && FollowUpInput::of(
                            Some(s.figure.clone()).filter(|f| !f.is_empty()),
                            s.assessment.clone(),
                            s.corrective.clone(),
                        )
                        .validate_for(t.value_kind)
                        .is_ok()
                });
                if !ok {
                    let place = match &s.sheet {
                        Some(sh) => format!("sheet {sh}, line {}", s.line),
                        None => format!("line {}", s.line),
                    };
                    return Err(crate::StoreError::Conflict(format!(
                        "{place}: the indicator {} changed since the file was checked; check the file again",
                        s.code
                    )));
                }
            }
        }
        for s in page {
            let Some(&(kind, lo, hi, org)) = inds.get(&s.indicator) else {
                // Removed since the file was checked.
                return Err(crate::StoreError::Invalid(vec![
                    valvo_core::plan::FieldError::new("indicator", ErrorCode::NotFound),
                ]));
            };
            let old = stored.get(&(s.indicator, s.period));
            let keep = |new: &I18nText, old: Option<&I18nText>| {
                let mut t = old.cloned().unwrap_or_default();
                for lang in valvo_core::Lang::ALL {
                    if let Some(v) = new.get(lang) {
                        t.set(lang, Some(v.to_owned()));
                    }
                }
                t
            };
            let figure = if s.figure.is_empty() {
                old.map(FollowUp::figure).unwrap_or_default()
            } else {
                s.figure.clone()
            };
            let assessment = keep(&s.assessment, old.map(|o| &o.assessment));
            let corrective = keep(&s.corrective, old.map(|o| &o.corrective));
            let old_figure = old.map(FollowUp::figure);
            let same_figure = old_figure.as_ref() == Some(&figure);
            let same_texts =
                old.is_some_and(|o| o.assessment == assessment && o.corrective == corrective);
            if old.is_some() && same_figure && same_texts {
                summary.unchanged += 1;
                continue;
            }
            let flagged = match figure.value {
                Some(x) if !same_figure => {
                    let earlier: Vec<f64> = history
                        .get(&s.indicator)
                        .map(|h| {
                            h.iter()
                                .filter(|(d, _)| *d < s.period.start())
                                .map(|(_, v)| *v)
                                .collect()
                        })
                        .unwrap_or_default();
                    valvo_core::model::far_outside(&earlier, x, lo, hi)
                }
                _ => old.is_some_and(|o| o.flagged),
            };
            if old.is_some() {
                summary.changed += 1;
            } else {
                summary.new += 1;
            }
            if flagged && !old.is_some_and(|o| o.flagged) {
                summary.flagged += 1;
            }
            if summary.changes.len() < SHOWN {
                summary.changes.push(FigureChange {
                    sheet: s.sheet.clone(),
                    line: s.line,
                    indicator: s.code.clone(),
                    period: s.period,
                    value_kind: kind,
                    before: old_figure.filter(|f| !f.is_empty()),
                    after: Some(figure.clone()).filter(|f| !f.is_empty()),
                    texts: match old {
                        Some(_) => !same_texts,
                        None => !assessment.is_empty() || !corrective.is_empty(),
                    },
                    flagged,
                });
            }
            if apply {
                let new = FollowUp {
                    indicator_id: s.indicator,
                    period: s.period,
                    value: figure.value,
                    parts: figure.parts,
                    text: figure.text.clone(),
                    flagged,
                    assessment,
                    corrective,
                    updated_at: at.clone(),
                    updated_by: p.label.clone(),
                };
                writes.push((new, old.cloned(), org));
            }
            let _ = s.seq;
        }
        if apply && !writes.is_empty() {
            write_follow_ups(conn, &writes).await?;
            audit_rows(conn, p, job, file, &writes).await?;
        }
    }
    Ok(summary)
}

async fn write_follow_ups(
    conn: &mut AnyConnection,
    writes: &[(FollowUp, Option<FollowUp>, i64)],
) -> Result<()> {
    const COLS: usize = 16;
    for part in writes.chunks(statement_rows(conn, COLS)) {
        let sql = multi_row(
            conn,
            "INSERT INTO follow_ups (indicator_id, period, period_start, value, part_a, part_b, value_text, flagged, \
             assessment_fi, assessment_sv, assessment_en, corrective_fi, corrective_sv, corrective_en, updated_at, updated_by)",
            part.len(),
            COLS,
            " ON CONFLICT (indicator_id, period) DO UPDATE SET period_start = excluded.period_start, \
             value = excluded.value, part_a = excluded.part_a, part_b = excluded.part_b, value_text = excluded.value_text, \
             flagged = excluded.flagged, assessment_fi = excluded.assessment_fi, assessment_sv = excluded.assessment_sv, \
             assessment_en = excluded.assessment_en, corrective_fi = excluded.corrective_fi, \
             corrective_sv = excluded.corrective_sv, corrective_en = excluded.corrective_en, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        );
        let mut q = sqlx::query(&sql);
        for (f, _, _) in part {
            q = q
                .bind(f.indicator_id)
                .bind(f.period.to_string())
                .bind(f.period.start().to_string())
                .bind(f.value)
                .bind(f.parts.map(|p| p.0))
                .bind(f.parts.map(|p| p.1))
                .bind(f.text.clone())
                .bind(i64::from(f.flagged))
                .bind(f.assessment.fi.clone())
                .bind(f.assessment.sv.clone())
                .bind(f.assessment.en.clone())
                .bind(f.corrective.fi.clone())
                .bind(f.corrective.sv.clone())
                .bind(f.corrective.en.clone())
                .bind(f.updated_at.clone())
                .bind(f.updated_by.clone());
        }
        q.persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

/// One audit row per change, naming the file it came from.
async fn audit_rows(
    conn: &mut AnyConnection,
    p: &Principal,
    job: i64,
    file: &str,
    writes: &[(FollowUp, Option<FollowUp>, i64)],
) -> Result<()> {
    const COLS: usize = 9;
    let at = now();
    for part in writes.chunks(statement_rows(conn, COLS)) {
        let sql = multi_row(
            conn,
            "INSERT INTO audit_log (at, actor_id, actor, action, entity, entity_id, org_unit_id, before_json, after_json)",
            part.len(),
            COLS,
            "",
        );
        let mut q = sqlx::query(&sql);
        for (new, old, org) in part {
            let mut after = serde_json::to_value(new).unwrap_or_default();
            if let Some(o) = after.as_object_mut() {
                o.insert(
                    "import".into(),
                    serde_json::json!({ "id": job, "file": file }),
                );
            }
            q = q
                .bind(at.clone())
                .bind(p.user_id)
                .bind(p.label.clone())
                .bind(if old.is_some() { "update" } else { "create" })
                .bind("follow_up")
                .bind(format!("{}/{}", new.indicator_id, new.period))
                .bind(*org)
                .bind(old.as_ref().and_then(|o| serde_json::to_string(o).ok()))
                .bind(serde_json::to_string(&after).ok());
        }
        q.persistent(false).execute(&mut *conn).await?;
    }
    metrics::counter!("valvo_writes_total", "entity" => "follow_up", "action" => "import")
        .increment(writes.len() as u64);
    Ok(())
}
