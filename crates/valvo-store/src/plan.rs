//! The self-monitoring plan: org units, goals, indicators, actions,
//! follow-ups, goal reviews, and the audit log every write leaves.

use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;
use valvo_core::access::Principal;
use valvo_core::incident::{DeadlinePolicy, IndicatorSource};
use valvo_core::model::{Action, FollowUp, Goal, GoalFull, GoalReview, Indicator, IndicatorFull};
use valvo_core::plan::{
    ActionInput, ActionStatus, Area, ErrorCode, FieldError, FollowUpInput, GoalInput,
    GoalReviewInput, IndicatorInput,
};
use valvo_core::{Direction, I18nText, Period, PeriodKind, ProducerType, ServiceType, ValueKind};

use crate::rows::{corrupt, text};
use crate::write::{audit, check_write, invalid};
use crate::{is_unique_violation, load_tree, now, Result, Store, StoreError};

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Id (increasing).
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who (e-mail or `system`).
    pub actor: String,
    /// What was done: create, update, …
    pub action: String,
    /// Entity type: goal, indicator, action, follow_up, goal_review, org_unit, user, api_token.
    pub entity: String,
    /// Entity id (for follow-ups `indicator/period`).
    pub entity_id: String,
    /// The org unit the entity belongs to, if any.
    pub org_unit_id: Option<i64>,
    /// The value before the write.
    pub before: Option<Value>,
    /// The value after the write.
    pub after: Option<Value>,
}

/// A new org unit.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrgUnit {
    /// Parent; `None` for a county (root).
    pub parent_id: Option<i64>,
    /// Unique short code.
    pub code: String,
    /// Name.
    pub name: I18nText,
    /// Producer type.
    pub producer: ProducerType,
    /// Order among siblings.
    pub sort_order: i32,
    /// The kind of service it gives (`None`: that of the unit above).
    pub service_type: Option<ServiceType>,
}

fn json<T: Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

fn goal_row(row: &AnyRow) -> Result<Goal> {
    let area: String = row.try_get("area")?;
    Ok(Goal {
        id: row.try_get("id")?,
        org_unit_id: row.try_get("org_unit_id")?,
        year: row.try_get::<i64, _>("year")? as i32,
        area: Area::parse(&area).ok_or_else(|| corrupt("area", &area))?,
        title: text(row, "title")?,
        sort_order: row.try_get("sort_order")?,
    })
}

pub(crate) fn indicator_row(row: &AnyRow) -> Result<Indicator> {
    let direction: String = row.try_get("direction")?;
    let kind: String = row.try_get("period_kind")?;
    Ok(Indicator {
        id: row.try_get("id")?,
        goal_id: row.try_get("goal_id")?,
        org_unit_id: row.try_get("org_unit_id")?,
        year: row.try_get::<i64, _>("year")? as i32,
        name: text(row, "name")?,
        unit: text(row, "unit")?,
        direction: Direction::parse(&direction).ok_or_else(|| corrupt("direction", &direction))?,
        baseline: row.try_get("baseline")?,
        target: row.try_get("target")?,
        target_max: row.try_get("target_max")?,
        period_kind: PeriodKind::parse(&kind).ok_or_else(|| corrupt("period_kind", &kind))?,
        note: text(row, "note")?,
        sort_order: row.try_get("sort_order")?,
        source: row
            .try_get::<Option<String>, _>("source")?
            .map(|s| IndicatorSource::parse(&s).ok_or_else(|| corrupt("source", &s)))
            .transpose()?,
        code: row.try_get("code")?,
        value_kind: {
            let k: String = row.try_get("value_kind")?;
            ValueKind::parse(&k).ok_or_else(|| corrupt("value_kind", &k))?
        },
        until_year: row
            .try_get::<Option<i64>, _>("until_year")?
            .map(|y| y as i32),
        min_value: row.try_get("min_value")?,
        max_value: row.try_get("max_value")?,
        retired_at: row.try_get("retired_at")?,
        reference: row
            .try_get::<Option<String>, _>("reference")?
            .map(|s| serde_json::from_str(&s).map_err(|_| corrupt("reference", &s)))
            .transpose()?,
    })
}

fn action_row(row: &AnyRow) -> Result<Action> {
    let status: String = row.try_get("status")?;
    Ok(Action {
        id: row.try_get("id")?,
        goal_id: row.try_get("goal_id")?,
        text: text(row, "text")?,
        status: ActionStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        sort_order: row.try_get("sort_order")?,
    })
}

fn period_of(row: &AnyRow) -> Result<Period> {
    let p: String = row.try_get("period")?;
    p.parse().map_err(|_| corrupt("period", &p))
}

pub(crate) fn follow_up_row(row: &AnyRow) -> Result<FollowUp> {
    Ok(FollowUp {
        indicator_id: row.try_get("indicator_id")?,
        period: period_of(row)?,
        value: row.try_get("value")?,
        parts: match (
            row.try_get::<Option<f64>, _>("part_a")?,
            row.try_get::<Option<f64>, _>("part_b")?,
        ) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        },
        text: row.try_get("value_text")?,
        flagged: row.try_get::<i64, _>("flagged")? != 0,
        assessment: text(row, "assessment")?,
        corrective: text(row, "corrective")?,
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

fn review_row(row: &AnyRow) -> Result<GoalReview> {
    Ok(GoalReview {
        goal_id: row.try_get("goal_id")?,
        period: period_of(row)?,
        text: text(row, "text")?,
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

fn audit_row(row: &AnyRow) -> Result<AuditEntry> {
    let parse = |col: &str| -> Result<Option<Value>> {
        let raw: Option<String> = row.try_get(col)?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        entity: row.try_get("entity")?,
        entity_id: row.try_get("entity_id")?,
        org_unit_id: row.try_get("org_unit_id")?,
        before: parse("before_json")?,
        after: parse("after_json")?,
    })
}

const GOAL_COLS: &str =
    "g.id, g.org_unit_id, g.year, g.area, g.title_fi, g.title_sv, g.title_en, g.sort_order";
pub(crate) const INDICATOR_COLS: &str = "i.id, i.goal_id, g.org_unit_id, g.year, i.name_fi, i.name_sv, i.name_en, \
     i.unit_fi, i.unit_sv, i.unit_en, i.direction, i.baseline, i.target, i.target_max, i.period_kind, \
     i.note_fi, i.note_sv, i.note_en, i.sort_order, i.source, i.code, i.value_kind, i.until_year, \
     i.min_value, i.max_value, i.retired_at, i.reference";
pub(crate) const FOLLOW_UP_COLS: &str = "f.indicator_id, f.period, f.value, f.part_a, f.part_b, \
     f.value_text, f.flagged, f.assessment_fi, f.assessment_sv, f.assessment_en, f.corrective_fi, \
     f.corrective_sv, f.corrective_en, f.updated_at, f.updated_by";

async fn goal_in(conn: &mut AnyConnection, id: i64) -> Result<Goal> {
    let row = sqlx::query(&format!("SELECT {GOAL_COLS} FROM goals g WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(goal_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

pub(crate) async fn indicator_in(conn: &mut AnyConnection, id: i64) -> Result<Indicator> {
    let row = sqlx::query(&format!(
        "SELECT {INDICATOR_COLS} FROM indicators i JOIN goals g ON g.id = i.goal_id WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(indicator_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

async fn action_in(conn: &mut AnyConnection, id: i64) -> Result<Action> {
    let row = sqlx::query(
        "SELECT id, goal_id, text_fi, text_sv, text_en, status, sort_order FROM actions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(action_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

pub(crate) async fn follow_up_in(
    conn: &mut AnyConnection,
    indicator: i64,
    period: &Period,
) -> Result<Option<FollowUp>> {
    let row = sqlx::query(&format!(
        "SELECT {FOLLOW_UP_COLS} FROM follow_ups f WHERE f.indicator_id = $1 AND f.period = $2"
    ))
    .bind(indicator)
    .bind(period.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(follow_up_row).transpose()
}

async fn review_in(
    conn: &mut AnyConnection,
    goal: i64,
    period: &Period,
) -> Result<Option<GoalReview>> {
    let row = sqlx::query(
        "SELECT goal_id, period, text_fi, text_sv, text_en, updated_at, updated_by \
         FROM goal_reviews WHERE goal_id = $1 AND period = $2",
    )
    .bind(goal)
    .bind(period.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(review_row).transpose()
}

/// Writes a follow-up row (an update when it `exists`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_follow_up(
    conn: &mut AnyConnection,
    ind: &Indicator,
    period: &Period,
    input: &FollowUpInput,
    flagged: bool,
    at: &str,
    by: &str,
    exists: bool,
) -> Result<()> {
    let sql = if exists {
        "UPDATE follow_ups SET value = $3, assessment_fi = $4, assessment_sv = $5, assessment_en = $6, \
         corrective_fi = $7, corrective_sv = $8, corrective_en = $9, updated_at = $10, updated_by = $11, \
         period_start = $12, part_a = $13, part_b = $14, value_text = $15, flagged = $16 \
         WHERE indicator_id = $1 AND period = $2"
    } else {
        "INSERT INTO follow_ups (indicator_id, period, value, assessment_fi, assessment_sv, assessment_en, \
         corrective_fi, corrective_sv, corrective_en, updated_at, updated_by, period_start, part_a, part_b, \
         value_text, flagged) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    };
    // Not kept prepared (a missing value: see create_indicator).
    sqlx::query(sql)
        .persistent(false)
        .bind(ind.id)
        .bind(period.to_string())
        .bind(input.value)
        .bind(input.assessment.fi.clone())
        .bind(input.assessment.sv.clone())
        .bind(input.assessment.en.clone())
        .bind(input.corrective.fi.clone())
        .bind(input.corrective.sv.clone())
        .bind(input.corrective.en.clone())
        .bind(at)
        .bind(by)
        .bind(period.start().to_string())
        .bind(input.parts.map(|x| x.0))
        .bind(input.parts.map(|x| x.1))
        .bind(input.text.clone())
        .bind(i64::from(flagged))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether `value` for `period` is far outside the indicator's figures of
/// earlier periods (or its min–max).
pub(crate) async fn far_outside_in(
    conn: &mut AnyConnection,
    ind: &Indicator,
    period: &Period,
    value: Option<f64>,
) -> Result<bool> {
    let Some(x) = value else {
        return Ok(false);
    };
    let history: Vec<f64> = sqlx::query_scalar(
        "SELECT value FROM follow_ups WHERE indicator_id = $1 AND period <> $2 \
         AND value IS NOT NULL AND period_start < $3",
    )
    .bind(ind.id)
    .bind(period.to_string())
    .bind(period.start().to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(valvo_core::model::far_outside(
        &history,
        x,
        ind.min_value,
        ind.max_value,
    ))
}

/// Checks a follow-up against its indicator: not retired, one of its own
/// periods, a figure of its kind (a ratio's value is its parts' share).
pub(crate) fn check_follow_up(
    ind: &Indicator,
    period: &Period,
    input: &FollowUpInput,
    today: time::Date,
) -> Result<()> {
    let mut errors = input.validate_for(ind.value_kind).err().unwrap_or_default();
    if !valvo_core::model::accepts_period(ind, period, today) {
        errors.push(FieldError::new("period", ErrorCode::NotItsPeriod));
    }
    if ind.retired_at.is_some() {
        errors.push(FieldError::new("indicator", ErrorCode::StateConflict));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(errors))
    }
}

/// What removing a plan item did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Removed {
    /// It is gone.
    Deleted,
    /// It had history: it is kept, marked retired.
    Retired,
}

/// Refuses `code` when another indicator of the same county (the root
/// above `org`) has it, letter case aside. The county's row is locked first,
/// so two indicators given the same code at once get one each.
async fn check_code(
    conn: &mut AnyConnection,
    tree: &valvo_core::OrgTree,
    org: i64,
    code: Option<&str>,
    except: Option<i64>,
) -> Result<()> {
    let Some(code) = code else {
        return Ok(());
    };
    let root = tree.root_of(org).ok_or(StoreError::NotFound)?;
    crate::write::lock_row(conn, "org_units", root).await?;
    let rows = sqlx::query(
        "SELECT i.id, g.org_unit_id FROM indicators i JOIN goals g ON g.id = i.goal_id \
         WHERE LOWER(i.code) = LOWER($1)",
    )
    .bind(code)
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let (id, unit): (i64, i64) = (r.try_get("id")?, r.try_get("org_unit_id")?);
        if Some(id) != except && tree.root_of(unit) == Some(root) {
            return Err(invalid("code", ErrorCode::StateConflict));
        }
    }
    Ok(())
}

/// The next sort order under `parent` (a row of `parent_table`), read under
/// the parent's row lock: two items added at once get one place each.
async fn next_order(
    conn: &mut AnyConnection,
    parent_table: &'static str,
    sql: &str,
    parent: i64,
) -> Result<i64> {
    crate::write::lock_row(conn, parent_table, parent).await?;
    let row = sqlx::query(sql).bind(parent).fetch_one(&mut *conn).await?;
    let max: Option<i64> = row.try_get(0)?;
    Ok(max.map_or(0, |m| m + 1))
}

fn validated<T>(r: std::result::Result<(), Vec<FieldError>>, v: T) -> Result<T> {
    r.map(|_| v).map_err(StoreError::Invalid)
}

fn sort_follow_ups(list: &mut [FollowUp]) {
    list.sort_by(|a, b| {
        (a.period.start(), a.period.kind()).cmp(&(b.period.start(), b.period.kind()))
    });
}

/// Indicators with a source get a follow-up for every period of their kind in
/// the plan year that has begun, computed from the module, unless someone
/// entered one by hand.
async fn fill_from_sources(
    conn: &mut AnyConnection,
    indicators: &[Indicator],
    follow_ups: &mut Vec<FollowUp>,
    year: i32,
) -> Result<()> {
    if indicators.iter().all(|i| i.source.is_none()) {
        return Ok(());
    }
    let tree = load_tree(conn).await?;
    let today = time::OffsetDateTime::now_utc().date();
    let policy = DeadlinePolicy::default();
    for ind in indicators {
        let Some(source) = ind.source else { continue };
        let Ok(y) = Period::year(year) else { continue };
        for period in y.sub_periods(ind.period_kind) {
            if period.start() > today
                || follow_ups
                    .iter()
                    .any(|f| f.indicator_id == ind.id && f.period == period)
            {
                continue;
            }
            let code = source.code();
            let value = if source.is_feedback() {
                let (summary, topics) =
                    crate::feedback::summary_in(conn, &tree, ind.org_unit_id, &period).await?;
                source.feedback_value(&summary, &topics)
            } else if code.starts_with("ombudsman.") {
                let s = crate::ombudsman::stats_in(conn, ind.org_unit_id, period).await?;
                source.ombudsman_value(&s)
            } else if code.starts_with("supervision.") {
                let s = crate::supervision::stats_in(conn, &tree, ind.org_unit_id, period, today)
                    .await?;
                source.supervision_value(&s)
            } else {
                let stats = crate::incidents::stats_in(
                    conn,
                    &tree,
                    ind.org_unit_id,
                    period,
                    &policy,
                    today,
                )
                .await?;
                source.value(&stats)
            };
            follow_ups.push(FollowUp {
                indicator_id: ind.id,
                period,
                value: value.map(|v| (v * 100.0).round() / 100.0),
                parts: None,
                text: None,
                flagged: false,
                assessment: I18nText::default(),
                corrective: I18nText::default(),
                updated_at: crate::now(),
                updated_by: source.code().to_string(),
            });
        }
    }
    sort_follow_ups(follow_ups);
    Ok(())
}

pub(crate) async fn plan_in(
    conn: &mut AnyConnection,
    org: i64,
    year: i32,
) -> Result<Vec<GoalFull>> {
    let goals = sqlx::query(&format!(
        "SELECT {GOAL_COLS} FROM goals g WHERE g.org_unit_id = $1 AND g.year = $2 ORDER BY g.sort_order, g.id"
    ))
    .bind(org)
    .bind(year as i64)
    .fetch_all(&mut *conn)
    .await?;
    let indicators = sqlx::query(&format!(
        "SELECT {INDICATOR_COLS} FROM indicators i JOIN goals g ON g.id = i.goal_id \
         WHERE g.org_unit_id = $1 AND g.year = $2 ORDER BY i.sort_order, i.id"
    ))
    .bind(org)
    .bind(year as i64)
    .fetch_all(&mut *conn)
    .await?;
    let actions = sqlx::query(
        "SELECT a.id, a.goal_id, a.text_fi, a.text_sv, a.text_en, a.status, a.sort_order \
         FROM actions a JOIN goals g ON g.id = a.goal_id WHERE g.org_unit_id = $1 AND g.year = $2 \
         ORDER BY a.sort_order, a.id",
    )
    .bind(org)
    .bind(year as i64)
    .fetch_all(&mut *conn)
    .await?;
    let follow_ups = sqlx::query(&format!(
        "SELECT {FOLLOW_UP_COLS} FROM follow_ups f JOIN indicators i ON i.id = f.indicator_id \
         JOIN goals g ON g.id = i.goal_id WHERE g.org_unit_id = $1 AND g.year = $2"
    ))
    .bind(org)
    .bind(year as i64)
    .fetch_all(&mut *conn)
    .await?;
    let reviews = sqlx::query(
        "SELECT r.goal_id, r.period, r.text_fi, r.text_sv, r.text_en, r.updated_at, r.updated_by \
         FROM goal_reviews r JOIN goals g ON g.id = r.goal_id WHERE g.org_unit_id = $1 AND g.year = $2",
    )
    .bind(org)
    .bind(year as i64)
    .fetch_all(&mut *conn)
    .await?;

    let mut follow_ups = follow_ups
        .iter()
        .map(follow_up_row)
        .collect::<Result<Vec<_>>>()?;
    sort_follow_ups(&mut follow_ups);
    let mut reviews = reviews.iter().map(review_row).collect::<Result<Vec<_>>>()?;
    reviews.sort_by_key(|r| (r.period.start(), r.period.kind()));
    let indicators = indicators
        .iter()
        .map(indicator_row)
        .collect::<Result<Vec<_>>>()?;
    fill_from_sources(conn, &indicators, &mut follow_ups, year).await?;
    let mut references: std::collections::HashMap<i64, Vec<(i32, f64)>> = Default::default();
    for i in &indicators {
        if let Some(r) = &i.reference {
            references.insert(i.id, crate::reference::values_in(conn, r).await?);
        }
    }
    let actions = actions.iter().map(action_row).collect::<Result<Vec<_>>>()?;
    goals
        .iter()
        .map(|row| {
            let goal = goal_row(row)?;
            Ok(GoalFull {
                indicators: indicators
                    .iter()
                    .filter(|i| i.goal_id == goal.id)
                    .map(|i| IndicatorFull {
                        indicator: i.clone(),
                        follow_ups: follow_ups
                            .iter()
                            .filter(|f| f.indicator_id == i.id)
                            .cloned()
                            .collect(),
                        reference_values: references.get(&i.id).cloned().unwrap_or_default(),
                    })
                    .collect(),
                actions: actions
                    .iter()
                    .filter(|a| a.goal_id == goal.id)
                    .cloned()
                    .collect(),
                reviews: reviews
                    .iter()
                    .filter(|r| r.goal_id == goal.id)
                    .cloned()
                    .collect(),
                goal,
            })
        })
        .collect()
}

impl Store {
    /// Locks a goal for a change by `p` and reads it: `NotFound` for an
    /// unknown goal, `Forbidden` outside `p`'s scope.
    async fn goal_to_change(&self, tx: &mut AnyConnection, p: &Principal, id: i64) -> Result<Goal> {
        crate::write::lock_row(tx, "goals", id).await?;
        let goal = goal_in(tx, id).await?;
        check_write(p, &*self.tree_in(tx).await?, goal.org_unit_id)?;
        Ok(goal)
    }

    /// As [`Store::goal_to_change`], for an indicator.
    async fn indicator_to_change(
        &self,
        tx: &mut AnyConnection,
        p: &Principal,
        id: i64,
    ) -> Result<Indicator> {
        crate::write::lock_row(tx, "indicators", id).await?;
        let indicator = indicator_in(tx, id).await?;
        check_write(p, &*self.tree_in(tx).await?, indicator.org_unit_id)?;
        Ok(indicator)
    }

    /// As [`Store::goal_to_change`], for an action; with its goal.
    async fn action_to_change(
        &self,
        tx: &mut AnyConnection,
        p: &Principal,
        id: i64,
    ) -> Result<(Action, Goal)> {
        crate::write::lock_row(tx, "actions", id).await?;
        let action = action_in(tx, id).await?;
        let goal = goal_in(tx, action.goal_id).await?;
        check_write(p, &*self.tree_in(tx).await?, goal.org_unit_id)?;
        Ok((action, goal))
    }
    /// Adds an org unit (administrators and loaders).
    pub async fn create_org_unit(&self, actor: &Principal, unit: &NewOrgUnit) -> Result<i64> {
        if !actor.can_administer() {
            return Err(StoreError::Forbidden);
        }
        let code = unit.code.trim();
        if code.is_empty() || code.len() > 64 {
            return Err(invalid("code", ErrorCode::Required));
        }
        if !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid("code", ErrorCode::Invalid));
        }
        if !unit.name.has_national() {
            return Err(invalid("name", ErrorCode::NationalLanguageRequired));
        }
        if unit.name.max_chars() > valvo_core::plan::MAX_TITLE {
            return Err(invalid("name", ErrorCode::TooLong));
        }
        let mut tx = self.begin_write().await?;
        if let Some(parent) = unit.parent_id {
            // The parent stays while its child is added.
            crate::write::lock_row(&mut tx, "org_units", parent)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => invalid("parent_id", ErrorCode::NotFound),
                    e => e,
                })?;
            let tree = self.tree_in(&mut tx).await?;
            if tree.get(parent).is_none() {
                return Err(invalid("parent_id", ErrorCode::NotFound));
            }
            if !actor.can_write(&tree, parent) {
                return Err(StoreError::Forbidden);
            }
        }
        let row = sqlx::query(
            "INSERT INTO org_units (parent_id, code, name_fi, name_sv, name_en, producer, sort_order, service_type) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(unit.parent_id)
        .bind(code)
        .bind(unit.name.fi.clone())
        .bind(unit.name.sv.clone())
        .bind(unit.name.en.clone())
        .bind(unit.producer.code())
        .bind(unit.sort_order as i64)
        .bind(unit.service_type.map(ServiceType::code))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("org unit code {code} exists"))
            } else {
                StoreError::Db(e)
            }
        })?;
        let id: i64 = row.try_get("id")?;
        let after = serde_json::json!({
            "id": id, "parent_id": unit.parent_id, "code": code, "name": unit.name,
            "producer": unit.producer, "sort_order": unit.sort_order,
            "service_type": unit.service_type,
        });
        audit(
            &mut tx,
            actor,
            "create",
            "org_unit",
            &id.to_string(),
            Some(id),
            None,
            Some(after),
        )
        .await?;
        crate::bump_org_version(&mut tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Renames an org unit or changes its producer and service type
    /// (administrators).
    pub async fn update_org_unit(
        &self,
        actor: &Principal,
        id: i64,
        name: &I18nText,
        producer: ProducerType,
        service_type: Option<ServiceType>,
    ) -> Result<()> {
        self.patch_org_unit(actor, id, Some(name), Some(producer), Some(service_type))
            .await
            .map(|_| ())
    }

    /// Changes what is given of an org unit's name, producer type and
    /// service type (`Some(None)` clears it: the unit then gives that of the
    /// unit above) (administrators within their scope); the rest stays as
    /// it is now. No stored count depends on the service type, so a change
    /// shows in the comparison at once, for past periods too.
    pub async fn patch_org_unit(
        &self,
        actor: &Principal,
        id: i64,
        name: Option<&I18nText>,
        producer: Option<ProducerType>,
        service_type: Option<Option<ServiceType>>,
    ) -> Result<valvo_core::OrgNode> {
        if !actor.can_administer() {
            return Err(StoreError::Forbidden);
        }
        if let Some(name) = name {
            if !name.has_national() {
                return Err(invalid("name", ErrorCode::NationalLanguageRequired));
            }
            if name.max_chars() > valvo_core::plan::MAX_TITLE {
                return Err(invalid("name", ErrorCode::TooLong));
            }
        }
        let mut tx = self.begin_write().await?;
        crate::write::lock_row(&mut tx, "org_units", id).await?;
        let tree = self.tree_in(&mut tx).await?;
        let before = tree.get(id).cloned().ok_or(StoreError::NotFound)?;
        if !actor.can_write(&tree, id) {
            return Err(StoreError::Forbidden);
        }
        let name = name.cloned().unwrap_or_else(|| before.name.clone());
        let producer = producer.unwrap_or(before.producer);
        let service_type = service_type.unwrap_or(before.service_type);
        sqlx::query(
            "UPDATE org_units SET name_fi = $1, name_sv = $2, name_en = $3, producer = $4, \
             service_type = $5 WHERE id = $6",
        )
        .bind(name.fi.clone())
        .bind(name.sv.clone())
        .bind(name.en.clone())
        .bind(producer.code())
        .bind(service_type.map(ServiceType::code))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut after = before.clone();
        after.name = name.clone();
        after.producer = producer;
        after.service_type = service_type;
        audit(
            &mut tx,
            actor,
            "update",
            "org_unit",
            &id.to_string(),
            Some(id),
            json(&before),
            json(&after),
        )
        .await?;
        crate::bump_org_version(&mut tx).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes an org unit that nothing refers to (administrators): no units
    /// below it, no plan, reports, incident reports, feedback, handlers or
    /// users scoped to it; otherwise `state_conflict` on `org_unit`.
    pub async fn delete_org_unit(&self, actor: &Principal, id: i64) -> Result<()> {
        if !actor.can_administer() {
            return Err(StoreError::Forbidden);
        }
        let mut tx = self.begin_write().await?;
        crate::write::lock_row(&mut tx, "org_units", id).await?;
        let tree = self.tree_in(&mut tx).await?;
        let before = tree.get(id).cloned().ok_or(StoreError::NotFound)?;
        if !actor.can_write(&tree, id) {
            return Err(StoreError::Forbidden);
        }
        let mut used = !tree.children(id).is_empty();
        for (table, col) in [
            ("org_units", "parent_id"),
            ("users", "scope_org_id"),
            ("goals", "org_unit_id"),
            ("reports", "org_unit_id"),
            ("report_texts", "org_unit_id"),
            ("report_figures", "org_unit_id"),
            ("incidents", "org_unit_id"),
            ("incident_spans", "org_unit_id"),
            ("incident_handlers", "org_unit_id"),
            ("feedback_invitations", "org_unit_id"),
            ("feedback_answers", "org_unit_id"),
            ("feedback_cases", "org_unit_id"),
            ("ombudsman_contacts", "org_unit_id"),
            ("ombudsman_items", "org_unit_id"),
            ("ombudsman_annual_texts", "org_unit_id"),
            ("supervision_visits", "org_unit_id"),
        ] {
            if used {
                break;
            }
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {col} = $1 LIMIT 1) t"
            ))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            used = n > 0;
        }
        if used {
            return Err(invalid("org_unit", ErrorCode::StateConflict));
        }
        // Aggregate rows left at zero.
        for (table, col) in [
            ("incident_scope_marginals", "scope_id"),
            ("incident_scope_days", "scope_id"),
            ("incident_open_spans", "scope_id"),
            ("incident_month_ends", "scope_id"),
            ("feedback_agg", "scope_id"),
            ("feedback_totals", "scope_id"),
            ("feedback_strata", "scope_id"),
            ("feedback_text_agg", "scope_id"),
            ("ombudsman_marginals", "org_unit_id"),
            ("supervision_marginals", "org_unit_id"),
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE {col} = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM org_units WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            actor,
            "delete",
            "org_unit",
            &id.to_string(),
            Some(id),
            json(&before),
            None,
        )
        .await?;
        crate::bump_org_version(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a goal in an org unit's plan.
    pub async fn create_goal(&self, p: &Principal, org: i64, input: &GoalInput) -> Result<Goal> {
        let input = validated(input.validate(), input)?;
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        check_write(p, &tree, org)?;
        let order = next_order(
            &mut tx,
            "org_units",
            "SELECT MAX(sort_order) FROM goals WHERE org_unit_id = $1",
            org,
        )
        .await?;
        let row = sqlx::query(
            "INSERT INTO goals (org_unit_id, year, area, title_fi, title_sv, title_en, sort_order) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org)
        .bind(input.year as i64)
        .bind(input.area.code())
        .bind(input.title.fi.clone())
        .bind(input.title.sv.clone())
        .bind(input.title.en.clone())
        .bind(order)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let goal = goal_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "create",
            "goal",
            &id.to_string(),
            Some(org),
            None,
            json(&goal),
        )
        .await?;
        tx.commit().await?;
        Ok(goal)
    }

    /// Changes a goal's area, year and title.
    pub async fn update_goal(&self, p: &Principal, id: i64, input: &GoalInput) -> Result<Goal> {
        let input = input.clone();
        self.update_goal_with(p, id, move |_| input).await
    }

    /// Changes a goal to what `make` makes of it as it is now (read under
    /// its row lock: a change of one field never undoes another's).
    pub async fn update_goal_with(
        &self,
        p: &Principal,
        id: i64,
        make: impl FnOnce(&Goal) -> GoalInput + Send,
    ) -> Result<Goal> {
        let mut tx = self.begin_write().await?;
        let before = self.goal_to_change(&mut tx, p, id).await?;
        let input = make(&before);
        let input = validated(input.validate(), &input)?;
        sqlx::query(
            "UPDATE goals SET year = $1, area = $2, title_fi = $3, title_sv = $4, title_en = $5 WHERE id = $6",
        )
        .bind(input.year as i64)
        .bind(input.area.code())
        .bind(input.title.fi.clone())
        .bind(input.title.sv.clone())
        .bind(input.title.en.clone())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = goal_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "update",
            "goal",
            &id.to_string(),
            Some(after.org_unit_id),
            json(&before),
            json(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A goal.
    pub async fn goal(&self, id: i64) -> Result<Goal> {
        let mut conn = self.pool.acquire().await?;
        goal_in(&mut conn, id).await
    }

    /// Adds an indicator to a goal.
    pub async fn create_indicator(
        &self,
        p: &Principal,
        goal_id: i64,
        input: &IndicatorInput,
    ) -> Result<Indicator> {
        let input = validated(input.validate(), input)?;
        let mut tx = self.begin_write().await?;
        let goal = goal_in(&mut tx, goal_id).await?;
        validated(input.validate_years(goal.year), ())?;
        let tree = self.tree_in(&mut tx).await?;
        check_write(p, &tree, goal.org_unit_id)?;
        check_code(
            &mut tx,
            &tree,
            goal.org_unit_id,
            input.code.as_deref(),
            None,
        )
        .await?;
        let order = next_order(
            &mut tx,
            "goals",
            "SELECT MAX(sort_order) FROM indicators WHERE goal_id = $1",
            goal_id,
        )
        .await?;
        // Not kept prepared: sqlx's Any driver binds a missing f64 as a
        // float4 NULL, and a statement prepared so would refuse the next
        // call's float8 ("incorrect binary data format") on PostgreSQL.
        let row = sqlx::query(
            "INSERT INTO indicators (goal_id, name_fi, name_sv, name_en, unit_fi, unit_sv, unit_en, direction, \
             baseline, target, target_max, period_kind, note_fi, note_sv, note_en, sort_order, code, value_kind, \
             until_year, min_value, max_value, reference) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) \
             RETURNING id",
        )
        .persistent(false)
        .bind(goal_id)
        .bind(input.name.fi.clone())
        .bind(input.name.sv.clone())
        .bind(input.name.en.clone())
        .bind(input.unit.fi.clone())
        .bind(input.unit.sv.clone())
        .bind(input.unit.en.clone())
        .bind(input.direction.code())
        .bind(input.baseline)
        .bind(input.target)
        .bind(input.target_max)
        .bind(input.period_kind.code())
        .bind(input.note.fi.clone())
        .bind(input.note.sv.clone())
        .bind(input.note.en.clone())
        .bind(order)
        .bind(input.code.clone())
        .bind(input.value_kind.code())
        .bind(input.until_year.map(i64::from))
        .bind(input.min_value)
        .bind(input.max_value)
        .bind(input.reference.as_ref().and_then(|r| serde_json::to_string(r).ok()))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let ind = indicator_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "create",
            "indicator",
            &id.to_string(),
            Some(goal.org_unit_id),
            None,
            json(&ind),
        )
        .await?;
        tx.commit().await?;
        Ok(ind)
    }

    /// Changes an indicator. Its value kind and period kind stay as they are
    /// once it has figures (`state_conflict`): they say what those figures are.
    pub async fn update_indicator(
        &self,
        p: &Principal,
        id: i64,
        input: &IndicatorInput,
    ) -> Result<Indicator> {
        let input = input.clone();
        self.update_indicator_with(p, id, move |_| input).await
    }

    /// Changes an indicator to what `make` makes of it as it is now (read
    /// under its row lock).
    pub async fn update_indicator_with(
        &self,
        p: &Principal,
        id: i64,
        make: impl FnOnce(&Indicator) -> IndicatorInput + Send,
    ) -> Result<Indicator> {
        let mut tx = self.begin_write().await?;
        let before = self.indicator_to_change(&mut tx, p, id).await?;
        let input = make(&before);
        let input = validated(input.validate(), &input)?;
        validated(input.validate_years(before.year), ())?;
        let tree = self.tree_in(&mut tx).await?;
        check_code(
            &mut tx,
            &tree,
            before.org_unit_id,
            input.code.as_deref(),
            Some(id),
        )
        .await?;
        if input.value_kind != before.value_kind || input.period_kind != before.period_kind {
            let figures: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM follow_ups WHERE indicator_id = $1 \
                 AND (value IS NOT NULL OR value_text IS NOT NULL)",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let plain = |k: ValueKind| {
                matches!(k, ValueKind::Number | ValueKind::Percent | ValueKind::Money)
            };
            let mut errors = Vec::new();
            if figures > 0
                && input.value_kind != before.value_kind
                && !(plain(input.value_kind) && plain(before.value_kind))
            {
                errors.push(FieldError::new("value_kind", ErrorCode::StateConflict));
            }
            if figures > 0 && input.period_kind != before.period_kind {
                errors.push(FieldError::new("period_kind", ErrorCode::StateConflict));
            }
            if !errors.is_empty() {
                return Err(StoreError::Invalid(errors));
            }
        }
        sqlx::query(
            "UPDATE indicators SET name_fi = $1, name_sv = $2, name_en = $3, unit_fi = $4, unit_sv = $5, \
             unit_en = $6, direction = $7, baseline = $8, target = $9, target_max = $10, period_kind = $11, \
             note_fi = $12, note_sv = $13, note_en = $14, code = $15, value_kind = $16, until_year = $17, \
             min_value = $18, max_value = $19, reference = $20 WHERE id = $21",
        )
        .persistent(false)
        .bind(input.name.fi.clone())
        .bind(input.name.sv.clone())
        .bind(input.name.en.clone())
        .bind(input.unit.fi.clone())
        .bind(input.unit.sv.clone())
        .bind(input.unit.en.clone())
        .bind(input.direction.code())
        .bind(input.baseline)
        .bind(input.target)
        .bind(input.target_max)
        .bind(input.period_kind.code())
        .bind(input.note.fi.clone())
        .bind(input.note.sv.clone())
        .bind(input.note.en.clone())
        .bind(input.code.clone())
        .bind(input.value_kind.code())
        .bind(input.until_year.map(i64::from))
        .bind(input.min_value)
        .bind(input.max_value)
        .bind(input.reference.as_ref().and_then(|r| serde_json::to_string(r).ok()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = indicator_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "update",
            "indicator",
            &id.to_string(),
            Some(after.org_unit_id),
            json(&before),
            json(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes an indicator: one with follow-ups is retired instead (no
    /// longer followed up, its history kept). Returns whether it was retired.
    pub async fn delete_indicator(&self, p: &Principal, id: i64) -> Result<Removed> {
        let mut tx = self.begin_write().await?;
        let before = self.indicator_to_change(&mut tx, p, id).await?;
        let kept: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM follow_ups WHERE indicator_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let removed = if kept > 0 {
            if before.retired_at.is_none() {
                sqlx::query("UPDATE indicators SET retired_at = $1 WHERE id = $2")
                    .bind(now())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = indicator_in(&mut tx, id).await?;
                audit(
                    &mut tx,
                    p,
                    "retire",
                    "indicator",
                    &id.to_string(),
                    Some(before.org_unit_id),
                    json(&before),
                    json(&after),
                )
                .await?;
            }
            Removed::Retired
        } else {
            sqlx::query("DELETE FROM indicators WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit(
                &mut tx,
                p,
                "delete",
                "indicator",
                &id.to_string(),
                Some(before.org_unit_id),
                json(&before),
                None,
            )
            .await?;
            Removed::Deleted
        };
        tx.commit().await?;
        Ok(removed)
    }

    /// Takes a retired indicator back into follow-up.
    pub async fn restore_indicator(&self, p: &Principal, id: i64) -> Result<Indicator> {
        let mut tx = self.begin_write().await?;
        let before = self.indicator_to_change(&mut tx, p, id).await?;
        if before.retired_at.is_none() {
            return Ok(before);
        }
        sqlx::query("UPDATE indicators SET retired_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = indicator_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "restore",
            "indicator",
            &id.to_string(),
            Some(after.org_unit_id),
            json(&before),
            json(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// An indicator.
    pub async fn indicator(&self, id: i64) -> Result<Indicator> {
        let mut conn = self.pool.acquire().await?;
        indicator_in(&mut conn, id).await
    }

    /// The indicators of an org unit's plans (all years, or one).
    pub async fn indicators_of(&self, org: i64, year: Option<i32>) -> Result<Vec<Indicator>> {
        let rows = sqlx::query(&format!(
            "SELECT {INDICATOR_COLS} FROM indicators i JOIN goals g ON g.id = i.goal_id \
             WHERE g.org_unit_id = $1 AND ($2 IS NULL OR g.year = $2) ORDER BY g.year, g.sort_order, g.id, i.sort_order, i.id"
        ))
        .bind(org)
        .bind(year.map(i64::from))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(indicator_row).collect()
    }

    /// Makes an indicator fill itself from a module (or stop doing so).
    pub async fn set_indicator_source(
        &self,
        p: &Principal,
        id: i64,
        source: Option<IndicatorSource>,
    ) -> Result<Indicator> {
        let mut tx = self.begin_write().await?;
        let before = self.indicator_to_change(&mut tx, p, id).await?;
        if before.source == source {
            return Ok(before);
        }
        sqlx::query("UPDATE indicators SET source = $1 WHERE id = $2")
            .bind(source.map(|s| s.code()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = indicator_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "update",
            "indicator",
            &id.to_string(),
            Some(after.org_unit_id),
            json(&before),
            json(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Adds an action to a goal.
    pub async fn create_action(
        &self,
        p: &Principal,
        goal_id: i64,
        input: &ActionInput,
    ) -> Result<Action> {
        let input = validated(input.validate(), input)?;
        let mut tx = self.begin_write().await?;
        let goal = goal_in(&mut tx, goal_id).await?;
        let tree = self.tree_in(&mut tx).await?;
        check_write(p, &tree, goal.org_unit_id)?;
        let order = next_order(
            &mut tx,
            "goals",
            "SELECT MAX(sort_order) FROM actions WHERE goal_id = $1",
            goal_id,
        )
        .await?;
        let row = sqlx::query(
            "INSERT INTO actions (goal_id, text_fi, text_sv, text_en, status, sort_order) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(goal_id)
        .bind(input.text.fi.clone())
        .bind(input.text.sv.clone())
        .bind(input.text.en.clone())
        .bind(input.status.code())
        .bind(order)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let action = action_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "create",
            "action",
            &id.to_string(),
            Some(goal.org_unit_id),
            None,
            json(&action),
        )
        .await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Changes an action.
    pub async fn update_action(
        &self,
        p: &Principal,
        id: i64,
        input: &ActionInput,
    ) -> Result<Action> {
        let input = input.clone();
        self.update_action_with(p, id, move |_| input).await
    }

    /// Changes an action to what `make` makes of it as it is now (read
    /// under its row lock).
    pub async fn update_action_with(
        &self,
        p: &Principal,
        id: i64,
        make: impl FnOnce(&Action) -> ActionInput + Send,
    ) -> Result<Action> {
        let mut tx = self.begin_write().await?;
        let (before, goal) = self.action_to_change(&mut tx, p, id).await?;
        let input = make(&before);
        let input = validated(input.validate(), &input)?;
        sqlx::query("UPDATE actions SET text_fi = $1, text_sv = $2, text_en = $3, status = $4 WHERE id = $5")
            .bind(input.text.fi.clone())
            .bind(input.text.sv.clone())
            .bind(input.text.en.clone())
            .bind(input.status.code())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = action_in(&mut tx, id).await?;
        audit(
            &mut tx,
            p,
            "update",
            "action",
            &id.to_string(),
            Some(goal.org_unit_id),
            json(&before),
            json(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// An action and the org unit it belongs to.
    pub async fn action(&self, id: i64) -> Result<(Action, Goal)> {
        let mut conn = self.pool.acquire().await?;
        let action = action_in(&mut conn, id).await?;
        let goal = goal_in(&mut conn, action.goal_id).await?;
        Ok((action, goal))
    }

    /// Removes a goal with nothing under it; one with indicators, actions or
    /// written reviews is refused (`state_conflict`): remove or retire them first.
    pub async fn delete_goal(&self, p: &Principal, id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let before = self.goal_to_change(&mut tx, p, id).await?;
        let under: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM indicators WHERE goal_id = $1) \
             + (SELECT COUNT(*) FROM actions WHERE goal_id = $1) \
             + (SELECT COUNT(*) FROM goal_reviews WHERE goal_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if under > 0 {
            return Err(invalid("goal", ErrorCode::StateConflict));
        }
        sqlx::query("DELETE FROM goals WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            p,
            "delete",
            "goal",
            &id.to_string(),
            Some(before.org_unit_id),
            json(&before),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes an action.
    pub async fn delete_action(&self, p: &Principal, id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let (before, goal) = self.action_to_change(&mut tx, p, id).await?;
        sqlx::query("DELETE FROM actions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            p,
            "delete",
            "action",
            &id.to_string(),
            Some(goal.org_unit_id),
            json(&before),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates or replaces an indicator's follow-up for a period: one of its
    /// own periods (`period` `not_its_period` otherwise), a figure of its
    /// kind (`value` with the kind's error code), not of a retired indicator
    /// (`state_conflict`). A figure far outside the indicator's own history
    /// is kept flagged (see [`far_outside`](valvo_core::model::far_outside)).
    pub async fn put_follow_up(
        &self,
        p: &Principal,
        indicator_id: i64,
        period: Period,
        input: &FollowUpInput,
    ) -> Result<(FollowUp, bool)> {
        let input = validated(input.validate(), input)?;
        let mut tx = self.begin_write().await?;
        // Two first follow-ups of the same period at once: the second waits
        // here and then finds the first (an update, not a duplicate).
        crate::write::lock_row(&mut tx, "indicators", indicator_id).await?;
        let ind = indicator_in(&mut tx, indicator_id).await?;
        let tree = self.tree_in(&mut tx).await?;
        check_write(p, &tree, ind.org_unit_id)?;
        let today = time::OffsetDateTime::now_utc().date();
        check_follow_up(&ind, &period, &input, today)?;
        let before = follow_up_in(&mut tx, indicator_id, &period).await?;
        let flagged = far_outside_in(&mut tx, &ind, &period, input.value).await?;
        let at = now();
        write_follow_up(
            &mut tx,
            &ind,
            &period,
            &input,
            flagged,
            &at,
            &p.label,
            before.is_some(),
        )
        .await?;
        let after = follow_up_in(&mut tx, indicator_id, &period)
            .await?
            .ok_or(StoreError::NotFound)?;
        let created = before.is_none();
        audit(
            &mut tx,
            p,
            if created { "create" } else { "update" },
            "follow_up",
            &format!("{indicator_id}/{period}"),
            Some(ind.org_unit_id),
            before.as_ref().and_then(json),
            json(&after),
        )
        .await?;
        tx.commit().await?;
        Ok((after, created))
    }

    /// Whether `value` for `period` would be flagged as far outside the
    /// indicator's history (a form then asks for a comment first).
    pub async fn would_flag(
        &self,
        ind: &Indicator,
        period: &Period,
        value: Option<f64>,
    ) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        far_outside_in(&mut conn, ind, period, value).await
    }

    /// An indicator's follow-ups, oldest period first.
    pub async fn follow_ups(&self, indicator_id: i64) -> Result<Vec<FollowUp>> {
        let rows = sqlx::query(&format!(
            "SELECT {FOLLOW_UP_COLS} FROM follow_ups f WHERE f.indicator_id = $1 ORDER BY f.period_start, f.period"
        ))
        .bind(indicator_id)
        .fetch_all(&self.pool)
        .await?;
        let mut list = rows.iter().map(follow_up_row).collect::<Result<Vec<_>>>()?;
        sort_follow_ups(&mut list);
        Ok(list)
    }

    /// One follow-up.
    pub async fn follow_up(&self, indicator_id: i64, period: &Period) -> Result<Option<FollowUp>> {
        let mut conn = self.pool.acquire().await?;
        follow_up_in(&mut conn, indicator_id, period).await
    }

    /// Creates or replaces a goal's written review for a period.
    pub async fn put_goal_review(
        &self,
        p: &Principal,
        goal_id: i64,
        period: Period,
        input: &GoalReviewInput,
    ) -> Result<GoalReview> {
        let input = validated(input.validate(), input)?;
        let mut tx = self.begin_write().await?;
        crate::write::lock_row(&mut tx, "goals", goal_id).await?;
        let goal = goal_in(&mut tx, goal_id).await?;
        let tree = self.tree_in(&mut tx).await?;
        check_write(p, &tree, goal.org_unit_id)?;
        let before = review_in(&mut tx, goal_id, &period).await?;
        let sql = if before.is_some() {
            "UPDATE goal_reviews SET text_fi = $3, text_sv = $4, text_en = $5, updated_at = $6, updated_by = $7 \
             WHERE goal_id = $1 AND period = $2"
        } else {
            "INSERT INTO goal_reviews (goal_id, period, text_fi, text_sv, text_en, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        };
        sqlx::query(sql)
            .bind(goal_id)
            .bind(period.to_string())
            .bind(input.text.fi.clone())
            .bind(input.text.sv.clone())
            .bind(input.text.en.clone())
            .bind(now())
            .bind(&p.label)
            .execute(&mut *tx)
            .await?;
        let after = review_in(&mut tx, goal_id, &period)
            .await?
            .ok_or(StoreError::NotFound)?;
        audit(
            &mut tx,
            p,
            if before.is_some() { "update" } else { "create" },
            "goal_review",
            &format!("{goal_id}/{period}"),
            Some(goal.org_unit_id),
            before.as_ref().and_then(json),
            json(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// One goal review.
    pub async fn goal_review(&self, goal_id: i64, period: &Period) -> Result<Option<GoalReview>> {
        let mut conn = self.pool.acquire().await?;
        review_in(&mut conn, goal_id, period).await
    }

    /// The years for which an org unit has goals, newest first.
    pub async fn plan_years(&self, org: i64) -> Result<Vec<i32>> {
        let rows = sqlx::query(
            "SELECT DISTINCT year FROM goals WHERE org_unit_id = $1 ORDER BY year DESC",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<i64, _>(0)? as i32))
            .collect()
    }

    /// An org unit's whole plan for a year: goals with indicators (and their
    /// follow-ups), actions and reviews, in plan order. Five queries.
    pub async fn plan(&self, org: i64, year: i32) -> Result<Vec<GoalFull>> {
        // Indicators fed by feedback see every acknowledged answer.
        self.feedback_catch_up().await?;
        let mut conn = self.pool.acquire().await?;
        plan_in(&mut conn, org, year).await
    }

    /// The audit log as `p` may read it (see [`Principal::can_read_audit_of`]):
    /// with a scope, only the entries about units in it. Newest first;
    /// `before` pages back from an id.
    pub async fn audit_log_for(
        &self,
        p: &Principal,
        limit: i64,
        before: Option<i64>,
        entity: Option<&str>,
    ) -> Result<Vec<AuditEntry>> {
        if !p.can_read_audit() {
            return Err(StoreError::Forbidden);
        }
        let Some(root) = p.scope else {
            return self.audit_log(limit, before, entity).await;
        };
        let tree = self.org_tree().await?;
        let units = tree.subtree_ids(root);
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let ids = (0..units.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT id, at, actor, action, entity, entity_id, org_unit_id, before_json, after_json FROM audit_log \
             WHERE ($1 IS NULL OR id < $1) AND ($2 IS NULL OR entity = $2) AND org_unit_id IN ({ids}) \
             ORDER BY id DESC LIMIT $3"
        );
        let mut q = sqlx::query(&sql)
            .bind(before)
            .bind(entity)
            .bind(limit.clamp(1, 1000));
        for u in &units {
            q = q.bind(*u);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let entries = rows.iter().map(audit_row).collect::<Result<Vec<_>>>()?;
        // The rule itself, beside the query that applies it.
        Ok(entries
            .into_iter()
            .filter(|e| p.can_read_audit_of(&tree, e.org_unit_id))
            .collect())
    }

    /// The whole audit log, newest first; `before` pages back from an id.
    pub async fn audit_log(
        &self,
        limit: i64,
        before: Option<i64>,
        entity: Option<&str>,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, entity, entity_id, org_unit_id, before_json, after_json FROM audit_log \
             WHERE ($1 IS NULL OR id < $1) AND ($2 IS NULL OR entity = $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(before)
        .bind(entity)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    /// Marks a key in the key–value table (used to make loaders idempotent),
    /// in the same transaction as nothing else: call after the load committed.
    pub async fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
