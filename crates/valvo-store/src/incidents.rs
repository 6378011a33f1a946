//! Incident and misconduct reports: intake (named or anonymous), receipts,
//! handling, and the aggregates that statistics read. Every write updates the
//! aggregate rows in the same transaction, so statistics never scan reports.
//!
//! Anonymity: an anonymous report stores no user id, name or contact, and its
//! audit row names no actor.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use valvo_core::access::{Principal, Role};
use valvo_core::incident::{
    format_receipt, may_configure, may_handle, median_from_histogram, normalize_receipt,
    sort_event_types, stats_from_marginals, urgency_key, Consequence, CountKey, DeadlinePolicy,
    EventType, EventTypeDef, EventTypeInput, IncidentKind, IncidentState, IncidentStats, Marginal,
    NewIncident, ReporterRole, MAX_DESCRIPTION, MAX_SHORT,
};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::{OrgTree, Period, PeriodKind};

use crate::import::{multi_row, statement_rows};
use crate::rows::{corrupt, text};
use crate::write::{audit, invalid, placeholders};
use crate::{now, Result, Store, StoreError};

/// A decided action of a report's handling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IncidentAction {
    /// Id.
    pub id: i64,
    /// What is to be done.
    pub text: String,
    /// Who is responsible.
    pub owner: String,
    /// By when.
    pub due_on: time::Date,
}

/// A report as handlers see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incident {
    /// Id.
    pub id: i64,
    /// The unit it concerns (changes when forwarded).
    pub org_unit_id: i64,
    /// When reported (RFC 3339).
    pub reported_at: String,
    /// The day reported.
    pub reported_on: time::Date,
    /// The day it happened.
    pub occurred_on: time::Date,
    /// The time of day, if given (HH:MM).
    pub occurred_time: Option<String>,
    /// Where.
    pub place: String,
    /// Kind.
    pub kind: IncidentKind,
    /// Event type.
    pub event_type: EventType,
    /// What happened.
    pub description: String,
    /// Consequence.
    pub consequence: Consequence,
    /// A never event.
    pub never_event: bool,
    /// Contributing factors.
    pub contributing_factors: String,
    /// Immediate actions.
    pub immediate_actions: String,
    /// The reporter's role.
    pub reporter_role: ReporterRole,
    /// The reporter's name (named reports only; shown to handlers only).
    pub reporter_name: Option<String>,
    /// The reporter's contact (named reports only).
    pub reporter_contact: Option<String>,
    /// Handling state.
    pub state: IncidentState,
    /// The handlers' analysis (internal).
    pub analysis: String,
    /// What was done, as told to the reporter.
    pub outcome: String,
    /// The unit it was forwarded from.
    pub forwarded_from: Option<i64>,
    /// When handled.
    pub handled_at: Option<String>,
    /// The day it was handled (the end of its last open span).
    pub handled_on: Option<time::Date>,
    /// Decided actions.
    pub actions: Vec<IncidentAction>,
}

impl Incident {
    /// Whether the report was made anonymously.
    pub fn is_anonymous(&self) -> bool {
        self.reporter_name.is_none()
    }
}

/// What a reporter sees with the receipt code: where the handling stands and what was done.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Receipt {
    /// The day reported.
    pub reported_on: time::Date,
    /// Kind.
    pub kind: IncidentKind,
    /// Handling state.
    pub state: IncidentState,
    /// What was done.
    pub outcome: String,
    /// The unit it was reported for (to head the page with its county).
    pub org_unit_id: i64,
}

/// A handler's decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Handling {
    /// The new state.
    pub state: IncidentState,
    /// Analysis (internal).
    pub analysis: String,
    /// What was done, for the reporter.
    pub outcome: String,
    /// Forward to this unit (with state `Forwarded`).
    pub forward_to: Option<i64>,
}

/// A user named as an org unit's incident handler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentHandler {
    /// The user's id.
    pub user_id: i64,
    /// Login name.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// An event type with how many reports have it (from the aggregates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventTypeUse {
    /// The type.
    #[serde(flatten)]
    pub def: EventTypeDef,
    /// Reports of this type.
    pub reports: u64,
}

const COLS: &str = "id, org_unit_id, reported_at, reported_on, occurred_on, occurred_time, place, kind, event_type, \
     description, consequence, never_event, contributing_factors, immediate_actions, reporter_role, reporter_name, \
     reporter_contact, state, analysis, outcome, forwarded_from, handled_at, handled_on";

use crate::rows::date;

fn enum_col<T>(row: &AnyRow, col: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let raw: String = row.try_get(col)?;
    parse(&raw).ok_or_else(|| corrupt(col, &raw))
}

fn incident_row(row: &AnyRow) -> Result<Incident> {
    Ok(Incident {
        id: row.try_get("id")?,
        org_unit_id: row.try_get("org_unit_id")?,
        reported_at: row.try_get("reported_at")?,
        reported_on: date(&row.try_get::<String, _>("reported_on")?)?,
        occurred_on: date(&row.try_get::<String, _>("occurred_on")?)?,
        occurred_time: row.try_get("occurred_time")?,
        place: row.try_get("place")?,
        kind: enum_col(row, "kind", IncidentKind::parse)?,
        event_type: enum_col(row, "event_type", EventType::parse)?,
        description: row.try_get("description")?,
        consequence: enum_col(row, "consequence", Consequence::parse)?,
        never_event: row.try_get::<i64, _>("never_event")? != 0,
        contributing_factors: row.try_get("contributing_factors")?,
        immediate_actions: row.try_get("immediate_actions")?,
        reporter_role: enum_col(row, "reporter_role", ReporterRole::parse)?,
        reporter_name: row.try_get("reporter_name")?,
        reporter_contact: row.try_get("reporter_contact")?,
        state: enum_col(row, "state", IncidentState::parse)?,
        analysis: row.try_get("analysis")?,
        outcome: row.try_get("outcome")?,
        forwarded_from: row.try_get("forwarded_from")?,
        handled_at: row.try_get("handled_at")?,
        handled_on: row
            .try_get::<Option<String>, _>("handled_on")?
            .as_deref()
            .map(date)
            .transpose()?,
        actions: Vec::new(),
    })
}

fn month_of(d: time::Date) -> String {
    Period::containing(d, PeriodKind::Month).to_string()
}

/// The receipt code of a report sent with a form's one-time key: derived
/// from the key (which only the reporter's page holds), so the same key
/// always shows the same code.
pub fn receipt_of_key(key: &str) -> String {
    let hash = Sha256::digest(format!("valvo receipt {key}").as_bytes());
    let mut raw = [0u8; 10];
    raw.copy_from_slice(&hash[..10]);
    format_receipt(&raw)
}

pub(crate) fn digest(code: &str) -> String {
    let hash = Sha256::digest(code.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The actor an anonymous report is recorded with: nobody.
fn anonymous() -> Principal {
    Principal {
        user_id: None,
        label: "anonymous".into(),
        role: Role::Viewer,
        scope: None,
    }
}

fn key_of(inc: &Incident) -> CountKey {
    CountKey {
        month: Period::containing(inc.reported_on, PeriodKind::Month),
        kind: inc.kind,
        event_type: inc.event_type.clone(),
        consequence: inc.consequence,
        client_reported: inc.reporter_role.is_client_side(),
        never_event: inc.never_event,
    }
}

/// `span_days` of a span still open (see migration 0012).
pub(crate) const OPEN_SPAN_DAYS: i64 = 1_000_000_000;

/// The aggregate changes of one write, applied together at its end in one
/// fixed order (the marginals, the handling times, the open spans, the
/// spans at month ends, each by key): two transactions that change the same
/// rows then take their locks in the same order and never wait for each
/// other in a circle (forwarding 4 → 5 beside 5 → 4). Changes are collected
/// by unit and counted in each unit's scopes (itself and every unit above
/// it) when applied; changes of the same key are merged first.
#[derive(Default, Clone)]
pub(crate) struct Deltas {
    /// (unit, month, dimension, key)
    pub(crate) marginals: BTreeMap<(i64, String, &'static str, String), i64>,
    /// (unit, month received, days to handle)
    pub(crate) days: BTreeMap<(i64, String, i64), i64>,
    /// Spans open now: (unit, kind, received, span began)
    pub(crate) open: BTreeMap<(i64, &'static str, String, String), i64>,
    /// Closed spans that covered a month's last day: (unit, month, kind, received)
    pub(crate) month_ends: BTreeMap<(i64, String, &'static str, String), i64>,
}

impl Deltas {
    /// Counts (or uncounts) a report with key `key` in unit `org`.
    pub(crate) fn count(&mut self, org: i64, key: &CountKey, delta: i64) {
        let month = key.month.to_string();
        for m in Marginal::of(key) {
            let (dim, k) = m.dim_key();
            *self
                .marginals
                .entry((org, month.clone(), dim, k.to_string()))
                .or_default() += delta;
        }
    }

    /// Counts (or uncounts) a handling time of `days` for a report received in `month`.
    pub(crate) fn handled(&mut self, org: i64, month: String, days: i64, delta: i64) {
        *self.days.entry((org, month, days.max(0))).or_default() += delta;
    }

    /// Counts (or uncounts) a span of a report's handling history at unit
    /// `org`: while open (`closed` None) among the open spans, once closed
    /// at the last day of every month it covered.
    pub(crate) fn span(
        &mut self,
        org: i64,
        kind: IncidentKind,
        reported: time::Date,
        opened: time::Date,
        closed: Option<time::Date>,
        delta: i64,
    ) {
        let Some(closed) = closed else {
            *self
                .open
                .entry((org, kind.code(), reported.to_string(), opened.to_string()))
                .or_default() += delta;
            return;
        };
        let mut month = Some(Period::containing(opened, PeriodKind::Month));
        while let Some(m) = month.filter(|m| m.end() < closed) {
            *self
                .month_ends
                .entry((org, m.to_string(), kind.code(), reported.to_string()))
                .or_default() += delta;
            month = m.next();
        }
    }

    /// The same changes counted in every scope of their units (read on the
    /// caller's connection, in its transaction where it has one: a unit
    /// added a moment ago through another instance counts in its area and
    /// county too).
    pub(crate) async fn scoped(&self, conn: &mut AnyConnection) -> Result<Deltas> {
        let units = self
            .marginals
            .keys()
            .map(|k| k.0)
            .chain(self.days.keys().map(|k| k.0))
            .chain(self.open.keys().map(|k| k.0))
            .chain(self.month_ends.keys().map(|k| k.0));
        let scopes = crate::feedback::scopes_of(conn, units).await?;
        let of = |unit: i64| scopes.get(&unit).cloned().unwrap_or_else(|| vec![unit]);
        let mut out = Deltas::default();
        for ((u, month, dim, key), n) in &self.marginals {
            for s in of(*u) {
                *out.marginals
                    .entry((s, month.clone(), *dim, key.clone()))
                    .or_default() += n;
            }
        }
        for ((u, month, days), n) in &self.days {
            for s in of(*u) {
                *out.days.entry((s, month.clone(), *days)).or_default() += n;
            }
        }
        for ((u, kind, reported, opened), n) in &self.open {
            for s in of(*u) {
                *out.open
                    .entry((s, *kind, reported.clone(), opened.clone()))
                    .or_default() += n;
            }
        }
        for ((u, month, kind, reported), n) in &self.month_ends {
            for s in of(*u) {
                *out.month_ends
                    .entry((s, month.clone(), *kind, reported.clone()))
                    .or_default() += n;
            }
        }
        Ok(out)
    }

    /// Adds the changes to the aggregates of their units' scopes, many rows
    /// a statement, in key order.
    pub(crate) async fn apply(&self, conn: &mut AnyConnection) -> Result<()> {
        let scoped = self.scoped(conn).await?;
        add_counts(
            conn,
            "incident_scope_marginals (scope_id, month, dim, key",
            &scoped.marginals,
            |q, (scope, month, dim, key)| {
                q.bind(*scope)
                    .bind(month.clone())
                    .bind(*dim)
                    .bind(key.clone())
            },
        )
        .await?;
        add_counts(
            conn,
            "incident_scope_days (scope_id, month, days",
            &scoped.days,
            |q, (scope, month, days)| q.bind(*scope).bind(month.clone()).bind(*days),
        )
        .await?;
        add_counts(
            conn,
            "incident_open_spans (scope_id, kind, reported_on, opened_on",
            &scoped.open,
            |q, (scope, kind, reported, opened)| {
                q.bind(*scope)
                    .bind(*kind)
                    .bind(reported.clone())
                    .bind(opened.clone())
            },
        )
        .await?;
        add_counts(
            conn,
            "incident_month_ends (scope_id, month, kind, reported_on",
            &scoped.month_ends,
            |q, (scope, month, kind, reported)| {
                q.bind(*scope)
                    .bind(month.clone())
                    .bind(*kind)
                    .bind(reported.clone())
            },
        )
        .await
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Adds counts to `table` (its name and the key columns, as
/// `"t (a, b"`), each key's columns bound by `bind` and its count after
/// them: many rows a statement, in key order, keys at zero left out.
async fn add_counts<K>(
    conn: &mut AnyConnection,
    table: &str,
    counts: &BTreeMap<K, i64>,
    bind: impl for<'q> Fn(AnyQuery<'q>, &K) -> AnyQuery<'q>,
) -> Result<()> {
    let (name, keys) = table.split_once(' ').unwrap_or((table, "("));
    let cols = keys.split(',').count() + 1;
    let rows: Vec<_> = counts.iter().filter(|(_, n)| **n != 0).collect();
    for part in rows.chunks(statement_rows(conn, cols)) {
        let sql = multi_row(
            conn,
            &format!("INSERT INTO {table}, n)"),
            part.len(),
            cols,
            &format!(
                " ON CONFLICT {}) DO UPDATE SET n = {name}.n + excluded.n",
                keys.trim()
            ),
        );
        let mut q = sqlx::query(&sql);
        for (key, n) in part {
            q = bind(q, key).bind(**n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Opens a span of a report's handling history on `day` at unit `org`.
async fn open_span(
    conn: &mut AnyConnection,
    deltas: &mut Deltas,
    inc: &Incident,
    org: i64,
    day: time::Date,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO incident_spans (incident_id, org_unit_id, kind, reported_on, opened_on, closed_on, span_days) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6)",
    )
    .bind(inc.id)
    .bind(org)
    .bind(inc.kind.code())
    .bind(inc.reported_on.to_string())
    .bind(day.to_string())
    .bind(OPEN_SPAN_DAYS)
    .execute(&mut *conn)
    .await?;
    deltas.span(org, inc.kind, inc.reported_on, day, None, 1);
    Ok(())
}

/// Closes a report's open span on `day`.
async fn close_span(
    conn: &mut AnyConnection,
    deltas: &mut Deltas,
    inc: &Incident,
    day: time::Date,
) -> Result<()> {
    let closed = sqlx::query(
        "UPDATE incident_spans SET closed_on = $1, span_days = $2 WHERE incident_id = $3 AND closed_on IS NULL \
         RETURNING org_unit_id, opened_on",
    )
    .bind(day.to_string())
    .bind((day - inc.reported_on).whole_days().max(0))
    .bind(inc.id)
    .fetch_all(&mut *conn)
    .await?;
    for r in &closed {
        let org: i64 = r.try_get("org_unit_id")?;
        let opened = date(&r.try_get::<String, _>("opened_on")?)?;
        deltas.span(org, inc.kind, inc.reported_on, opened, None, -1);
        deltas.span(org, inc.kind, inc.reported_on, opened, Some(day), 1);
    }
    Ok(())
}

async fn incident_in(conn: &mut AnyConnection, id: i64) -> Result<Incident> {
    read_incident(conn, id, "").await
}

/// A report read under a row lock, for a write that changes it: the state
/// the write starts from is the state it changes (see [`crate::write::for_update`]).
async fn incident_locked(conn: &mut AnyConnection, id: i64) -> Result<Incident> {
    let lock = crate::write::for_update(conn);
    read_incident(conn, id, lock).await
}

async fn read_incident(conn: &mut AnyConnection, id: i64, lock: &str) -> Result<Incident> {
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM incidents WHERE id = $1 AND {}{lock}",
        crate::write::visible("")
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let mut inc = row
        .as_ref()
        .map(incident_row)
        .transpose()?
        .ok_or(StoreError::NotFound)?;
    let actions = sqlx::query(
        "SELECT id, text, owner, due_on FROM incident_actions WHERE incident_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    inc.actions = actions
        .iter()
        .map(|r| {
            Ok(IncidentAction {
                id: r.try_get("id")?,
                text: r.try_get("text")?,
                owner: r.try_get("owner")?,
                due_on: date(&r.try_get::<String, _>("due_on")?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(inc)
}

/// Statistics of an org subtree for a period, on a given connection: the
/// subtree's own rows of the aggregates (see migration 0026), so the time
/// depends on the period, not on how many units or reports it holds.
pub(crate) async fn stats_in(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    root: i64,
    period: Period,
    policy: &DeadlinePolicy,
    today: time::Date,
) -> Result<IncidentStats> {
    let (first, last) = (month_of(period.start()), month_of(period.end()));
    // Summed over the period's months by the database: a few dozen rows
    // come back (each row costs a hand-off from the SQLite driver's thread).
    let rows = sqlx::query(
        "SELECT dim, key, CAST(SUM(n) AS BIGINT) AS n FROM incident_scope_marginals \
         WHERE scope_id = $1 AND month >= $2 AND month <= $3 GROUP BY dim, key",
    )
    .bind(root)
    .bind(&first)
    .bind(&last)
    .fetch_all(&mut *conn)
    .await?;
    let within = Period::containing(period.start(), PeriodKind::Month);
    let mut marginals = Vec::with_capacity(rows.len());
    for r in &rows {
        let dim: String = r.try_get("dim")?;
        let key: String = r.try_get("key")?;
        let n: i64 = r.try_get("n")?;
        let m = Marginal::parse(&dim, &key)
            .ok_or_else(|| corrupt("marginal", &format!("{dim}/{key}")))?;
        marginals.push((within, m, n.max(0) as u64));
    }
    let mut stats = stats_from_marginals(period, &marginals);
    let hist = sqlx::query(
        "SELECT days, CAST(SUM(n) AS BIGINT) AS n FROM incident_scope_days \
         WHERE scope_id = $1 AND month >= $2 AND month <= $3 GROUP BY days",
    )
    .bind(root)
    .bind(&first)
    .bind(&last)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get::<i64, _>("days")?,
            r.try_get::<i64, _>("n")?.max(0) as u64,
        ))
    })
    .collect::<Result<Vec<_>>>()?;
    stats.median_handling_days = median_from_histogram(&hist);
    let as_of = valvo_core::incident::as_of(period, today);
    let (stale, overdue) = match as_of {
        Some(day) => waiting_in(conn, tree, root, day, policy).await?,
        None => ([0; 4], [0; 4]),
    };
    stats.set_waiting(as_of, stale, overdue);
    Ok(stats)
}

/// The handling state at the end of `day` of the reports of the subtree
/// under `root`, by kind: (unhandled over `stale_days`, past the deadline of
/// the kind), counted as [`valvo_core::incident::waiting_at`] counts them
/// from the handling history. The spans that covered `day` are the open
/// ones begun by then and the closed ones that ended after it: kept for the
/// last day of every month (where every period ends), read from the spans
/// themselves on another day (today: normally none was closed after it).
async fn waiting_in(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    root: i64,
    day: time::Date,
    policy: &DeadlinePolicy,
) -> Result<([u64; 4], [u64; 4])> {
    let mut stale = [0u64; 4];
    let mut overdue = [0u64; 4];
    let limits: Vec<i64> = IncidentKind::ALL
        .iter()
        .map(|k| policy.days_for(*k))
        .chain([policy.stale_days])
        .collect();
    let shortest = limits.iter().copied().min().unwrap_or(0).max(0);
    let before = |days: i64| (day - time::Duration::days(days)).to_string();
    let month = Period::containing(day, PeriodKind::Month);
    let units = if month.end() == day {
        Vec::new()
    } else {
        tree.subtree_ids(root)
    };
    // Waited longer than N days at `day`: received before `day` − N.
    let first_unit = 6 + IncidentKind::ALL.len();
    let closed = if units.is_empty() {
        "SELECT kind, reported_on, n FROM incident_month_ends WHERE scope_id = $1 AND month = $4 AND reported_on < $3"
            .to_string()
    } else {
        format!(
            "SELECT kind, reported_on, CAST(1 AS BIGINT) AS n FROM incident_spans \
             WHERE closed_on > $2 AND opened_on <= $2 AND reported_on < $3 AND org_unit_id IN ({}) AND {}",
            placeholders(first_unit, units.len()),
            crate::write::visible("")
        )
    };
    let deadline = IncidentKind::ALL
        .iter()
        .enumerate()
        .map(|(i, k)| format!("WHEN '{}' THEN ${}", k.code(), 6 + i))
        .collect::<Vec<_>>()
        .join(" ");
    let sql = format!(
        "SELECT kind, \
         CAST(SUM(CASE WHEN reported_on < $5 THEN n ELSE 0 END) AS BIGINT) AS stale, \
         CAST(SUM(CASE WHEN reported_on < (CASE kind {deadline} END) THEN n ELSE 0 END) AS BIGINT) AS overdue \
         FROM (SELECT kind, reported_on, n FROM incident_open_spans \
               WHERE scope_id = $1 AND opened_on <= $2 AND reported_on < $3 \
               UNION ALL {closed}) w \
         GROUP BY kind"
    );
    let mut q = sqlx::query(&sql)
        .bind(root)
        .bind(day.to_string())
        .bind(before(shortest))
        .bind(month.to_string())
        .bind(before(policy.stale_days));
    for k in IncidentKind::ALL {
        q = q.bind(before(policy.days_for(k)));
    }
    for u in &units {
        q = q.bind(*u);
    }
    for r in q.fetch_all(&mut *conn).await? {
        let kind = enum_col(&r, "kind", IncidentKind::parse)?;
        stale[kind as usize] += r.try_get::<i64, _>("stale")?.max(0) as u64;
        overdue[kind as usize] += r.try_get::<i64, _>("overdue")?.max(0) as u64;
    }
    Ok((stale, overdue))
}

fn event_type_row(row: &AnyRow) -> Result<EventTypeDef> {
    Ok(EventTypeDef {
        code: enum_col(row, "code", EventType::parse)?,
        name: text(row, "name")?,
        active: row.try_get::<i64, _>("active")? != 0,
        sort_order: row.try_get("sort_order")?,
        county: row.try_get("county")?,
    })
}

/// The columns of a type of `incident_event_types t`, its county by code.
const TYPE_COLS: &str = "t.code, t.name_fi, t.name_sv, t.name_en, t.active, t.sort_order, \
     (SELECT o.code FROM org_units o WHERE o.id = t.county_id) AS county";

async fn event_type_in(conn: &mut AnyConnection, code: &EventType) -> Result<Option<EventTypeDef>> {
    event_type_read(conn, code, "").await
}

/// A type read under a row lock: exclusive for a change of the type, shared
/// for a report that uses it.
async fn event_type_locked(
    conn: &mut AnyConnection,
    code: &EventType,
    exclusive: bool,
) -> Result<Option<EventTypeDef>> {
    let lock = if exclusive {
        crate::write::for_update(conn)
    } else {
        crate::write::for_share(conn)
    };
    event_type_read(conn, code, lock).await
}

async fn event_type_read(
    conn: &mut AnyConnection,
    code: &EventType,
    lock: &str,
) -> Result<Option<EventTypeDef>> {
    let row = sqlx::query(&format!(
        "SELECT {TYPE_COLS} FROM incident_event_types t WHERE t.code = $1{lock}"
    ))
    .bind(code.code())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(event_type_row).transpose()
}

/// The user ids named as handlers of `org`.
async fn handlers_of(conn: &mut AnyConnection, org: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT user_id FROM incident_handlers WHERE org_unit_id = $1")
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<i64, _>("user_id")?))
        .collect()
}

/// Whether `p` may read and handle the reports of `org` (see [`may_handle`]).
async fn may_handle_in(
    conn: &mut AnyConnection,
    p: &Principal,
    tree: &OrgTree,
    org: i64,
) -> Result<bool> {
    if p.can_write(tree, org) {
        return Ok(true);
    }
    let handlers = match p.user_id {
        Some(_) => handlers_of(conn, org).await?,
        None => Vec::new(),
    };
    Ok(may_handle(p, tree, org, &handlers))
}

async fn handlers_in(
    conn: &mut AnyConnection,
    org: Option<i64>,
) -> Result<Vec<(i64, IncidentHandler)>> {
    let filter = if org.is_some() {
        "WHERE h.org_unit_id = $1 "
    } else {
        ""
    };
    let sql = format!(
        "SELECT h.org_unit_id, u.id, u.email, u.name FROM incident_handlers h JOIN users u ON u.id = h.user_id \
         {filter}ORDER BY h.org_unit_id, u.name, u.email"
    );
    let mut q = sqlx::query(&sql);
    if let Some(org) = org {
        q = q.bind(org);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("org_unit_id")?,
                IncidentHandler {
                    user_id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                },
            ))
        })
        .collect()
}

/// The event-type taxonomy, active and inactive, in list order.
pub(crate) async fn event_types_in(conn: &mut AnyConnection) -> Result<Vec<EventTypeDef>> {
    let rows = sqlx::query(&format!("SELECT {TYPE_COLS} FROM incident_event_types t"))
        .fetch_all(&mut *conn)
        .await?;
    let mut list = rows
        .iter()
        .map(event_type_row)
        .collect::<Result<Vec<_>>>()?;
    sort_event_types(&mut list);
    Ok(list)
}

impl Store {
    /// The event-type taxonomy, active and inactive, in list order.
    pub async fn event_types(&self) -> Result<Vec<EventTypeDef>> {
        let mut conn = self.pool.acquire().await?;
        event_types_in(&mut conn).await
    }

    /// The taxonomy with the number of reports of each type (from the
    /// aggregates): every county's types and reports, or with `county` (a
    /// county's code) the types offered in it and its reports.
    pub async fn event_type_uses(&self, county: Option<&str>) -> Result<Vec<EventTypeUse>> {
        let mut types = self.event_types().await?;
        types.retain(|t| valvo_core::access::offered_in(t.county.as_deref(), county));
        let rows = sqlx::query(
            "SELECT key, CAST(SUM(n) AS BIGINT) AS n FROM incident_scope_marginals \
             WHERE dim = 'event_type' AND scope_id IN \
             (SELECT id FROM org_units WHERE parent_id IS NULL AND ($1 IS NULL OR code = $1)) GROUP BY key",
        )
        .bind(county)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = std::collections::HashMap::new();
        for r in &rows {
            counts.insert(
                r.try_get::<String, _>("key")?,
                r.try_get::<i64, _>("n")?.max(0) as u64,
            );
        }
        Ok(types
            .into_iter()
            .map(|def| {
                let reports = counts.get(def.code.code()).copied().unwrap_or(0);
                EventTypeUse { def, reports }
            })
            .collect())
    }

    /// Adds a type to the taxonomy: shared by every county (`county`
    /// `None`) or one county's own (its code), by whoever may configure
    /// that (`Principal::may_configure_lists`). Errors name `code`
    /// (malformed, or already in the taxonomy: invalid), `county`, `name`,
    /// `name_fi`, `name_sv`, `name_en` and `sort_order`.
    pub async fn create_event_type(
        &self,
        p: &Principal,
        code: &str,
        county: Option<&str>,
        input: &EventTypeInput,
    ) -> Result<EventTypeDef> {
        if !may_configure(p) {
            return Err(StoreError::Forbidden);
        }
        let code = input.validate_new(code).map_err(StoreError::Invalid)?;
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        let county_id = crate::classification::may_change(p, &tree, county, county)?;
        if event_type_in(&mut tx, &code).await?.is_some() {
            return Err(invalid("code", ErrorCode::StateConflict));
        }
        let inserted = sqlx::query(
            "INSERT INTO incident_event_types (code, name_fi, name_sv, name_en, active, sort_order, created_at, county_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(code.code())
        .bind(input.name.fi.clone())
        .bind(input.name.sv.clone())
        .bind(input.name.en.clone())
        .bind(i64::from(input.active))
        .bind(input.sort_order)
        .bind(now())
        .bind(county_id)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if crate::is_unique_violation(&e) => {
                return Err(invalid("code", ErrorCode::StateConflict))
            }
            other => {
                other?;
            }
        }
        let def = event_type_in(&mut tx, &code)
            .await?
            .ok_or(StoreError::NotFound)?;
        audit(
            &mut tx,
            p,
            "create",
            "incident_event_type",
            code.code(),
            None,
            None,
            serde_json::to_value(&def).ok(),
        )
        .await?;
        tx.commit().await?;
        Ok(def)
    }

    /// Renames, reorders, deactivates or reactivates a type.
    pub async fn update_event_type(
        &self,
        p: &Principal,
        code: &EventType,
        input: &EventTypeInput,
    ) -> Result<EventTypeDef> {
        if !may_configure(p) {
            return Err(StoreError::Forbidden);
        }
        input.validate().map_err(StoreError::Invalid)?;
        let mut tx = self.begin_write().await?;
        let before = event_type_locked(&mut tx, code, true)
            .await?
            .ok_or(StoreError::NotFound)?;
        let tree = self.tree_in(&mut tx).await?;
        let owner = before.county.as_deref();
        crate::classification::may_change(p, &tree, owner, owner)?;
        sqlx::query(
            "UPDATE incident_event_types SET name_fi = $1, name_sv = $2, name_en = $3, active = $4, sort_order = $5 \
             WHERE code = $6",
        )
        .bind(input.name.fi.clone())
        .bind(input.name.sv.clone())
        .bind(input.name.en.clone())
        .bind(i64::from(input.active))
        .bind(input.sort_order)
        .bind(code.code())
        .execute(&mut *tx)
        .await?;
        let after = event_type_in(&mut tx, code)
            .await?
            .ok_or(StoreError::NotFound)?;
        audit(
            &mut tx,
            p,
            "update",
            "incident_event_type",
            code.code(),
            None,
            serde_json::to_value(&before).ok(),
            serde_json::to_value(&after).ok(),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a type no report has (a type in use is a conflict: deactivate it instead).
    pub async fn delete_event_type(&self, p: &Principal, code: &EventType) -> Result<()> {
        if !may_configure(p) {
            return Err(StoreError::Forbidden);
        }
        let mut tx = self.begin_write().await?;
        // Exclusive: waits for reports being made with this type, and then sees them.
        let before = event_type_locked(&mut tx, code, true)
            .await?
            .ok_or(StoreError::NotFound)?;
        let tree = self.tree_in(&mut tx).await?;
        let owner = before.county.as_deref();
        crate::classification::may_change(p, &tree, owner, owner)?;
        let used = sqlx::query("SELECT id FROM incidents WHERE event_type = $1 LIMIT 1")
            .bind(code.code())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if used {
            return Err(StoreError::Conflict(format!(
                "event type {code} is in use; deactivate it instead"
            )));
        }
        sqlx::query("DELETE FROM incident_scope_marginals WHERE dim = 'event_type' AND key = $1")
            .bind(code.code())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM incident_event_types WHERE code = $1")
            .bind(code.code())
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            p,
            "delete",
            "incident_event_type",
            code.code(),
            None,
            serde_json::to_value(&before).ok(),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The named handlers of one unit.
    pub async fn incident_handlers(&self, org: i64) -> Result<Vec<IncidentHandler>> {
        let mut conn = self.pool.acquire().await?;
        Ok(handlers_in(&mut conn, Some(org))
            .await?
            .into_iter()
            .map(|(_, h)| h)
            .collect())
    }

    /// Every unit's named handlers, as (org unit id, handler).
    pub async fn all_incident_handlers(&self) -> Result<Vec<(i64, IncidentHandler)>> {
        let mut conn = self.pool.acquire().await?;
        handlers_in(&mut conn, None).await
    }

    /// Names the incident handlers of a unit (replacing the previous ones;
    /// administrators and quality coordinators). An unknown user is an
    /// invalid `users`.
    pub async fn set_incident_handlers(
        &self,
        p: &Principal,
        org: i64,
        users: &[i64],
    ) -> Result<Vec<IncidentHandler>> {
        if !may_configure(p) {
            return Err(StoreError::Forbidden);
        }
        let mut users = users.to_vec();
        users.sort_unstable();
        users.dedup();
        let mut tx = self.begin_write().await?;
        // One replacement of a unit's handlers at a time.
        crate::write::lock_row(&mut tx, "org_units", org).await?;
        let tree = self.tree_in(&mut tx).await?;
        if tree.get(org).is_none() {
            return Err(StoreError::NotFound);
        }
        // Only within the actor's own scope: the unit, and whom it names.
        if !p.can_write(&tree, org) {
            return Err(StoreError::Forbidden);
        }
        for u in &users {
            let found = sqlx::query("SELECT scope_org_id, role FROM users WHERE id = $1")
                .bind(*u)
                .fetch_optional(&mut *tx)
                .await?;
            // The national role reads statistics only: never a unit's handler.
            let visible = match found {
                Some(row) => {
                    p.may_see_user(&tree, row.try_get("scope_org_id")?)
                        && row.try_get::<String, _>("role")? != Role::National.code()
                }
                None => false,
            };
            if !visible {
                return Err(invalid("users", ErrorCode::NotFound));
            }
        }
        let before: Vec<String> = handlers_in(&mut tx, Some(org))
            .await?
            .into_iter()
            .map(|(_, h)| h.email)
            .collect();
        sqlx::query("DELETE FROM incident_handlers WHERE org_unit_id = $1")
            .bind(org)
            .execute(&mut *tx)
            .await?;
        let at = now();
        for u in &users {
            sqlx::query("INSERT INTO incident_handlers (org_unit_id, user_id, created_at) VALUES ($1, $2, $3)")
                .bind(org)
                .bind(*u)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
        }
        let after: Vec<IncidentHandler> = handlers_in(&mut tx, Some(org))
            .await?
            .into_iter()
            .map(|(_, h)| h)
            .collect();
        let emails: Vec<&str> = after.iter().map(|h| h.email.as_str()).collect();
        audit(
            &mut tx,
            p,
            "update",
            "incident_handler",
            &org.to_string(),
            Some(org),
            Some(serde_json::json!({ "handlers": before })),
            Some(serde_json::json!({ "handlers": emails })),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Whether `p` may read the free text of `org`'s reports and handle them:
    /// whoever may write the unit, and its named handlers.
    pub async fn may_handle_incidents(
        &self,
        p: &Principal,
        tree: &OrgTree,
        org: i64,
    ) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        may_handle_in(&mut conn, p, tree, org).await
    }

    /// Takes in a report. `reporter` is the logged-in user of a named staff
    /// report, `None` for anonymous and public reports. Returns the id and the
    /// receipt code (shown to the reporter once; only its hash is stored).
    pub async fn create_incident(
        &self,
        reporter: Option<&Principal>,
        input: &NewIncident,
        today: time::Date,
    ) -> Result<(i64, String)> {
        self.create_incident_once(reporter, input, today, None)
            .await
    }

    /// As [`Store::create_incident`], sent from a form page that carries a
    /// one-time key: the report is saved once however often the key is
    /// sent ([`StoreError::AlreadySent`] after the first), and its receipt
    /// code is [`receipt_of_key`] of the key, so a page that sent it again
    /// can show the same code without the code being kept anywhere.
    pub async fn create_incident_once(
        &self,
        reporter: Option<&Principal>,
        input: &NewIncident,
        today: time::Date,
        once: Option<&str>,
    ) -> Result<(i64, String)> {
        input.validate(today).map_err(StoreError::Invalid)?;
        let receipt = match once {
            Some(key) => receipt_of_key(key),
            None => {
                let mut raw = [0u8; 10];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
                format_receipt(&raw)
            }
        };
        let named = !input.is_anonymous();
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        if tree.get(input.org_unit_id).is_none() {
            return Err(invalid("org_unit_id", ErrorCode::NotFound));
        }
        // Shared lock: the type cannot be deleted before this report is in.
        // Offered: shared, or the own type of the unit's county.
        let county = tree.county_code(input.org_unit_id).unwrap_or("");
        if !event_type_locked(&mut tx, &input.event_type, false)
            .await?
            .is_some_and(|t| {
                t.active && valvo_core::access::offered_in(t.county.as_deref(), Some(county))
            })
        {
            return Err(invalid("event_type", ErrorCode::Invalid));
        }
        // Last of the checks: a report that is refused leaves its key unused.
        if let Some(key) = once {
            if !crate::write::claim_once(&mut tx, key, "incident").await? {
                return Err(StoreError::AlreadySent);
            }
        }
        let at = now();
        let row = sqlx::query(
            "INSERT INTO incidents (org_unit_id, reported_at, reported_on, month, occurred_on, occurred_time, place, kind, \
             event_type, description, consequence, never_event, contributing_factors, immediate_actions, reporter_role, \
             reporter_user_id, reporter_name, reporter_contact, receipt_hash, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id",
        )
        .bind(input.org_unit_id)
        .bind(&at)
        .bind(today.to_string())
        .bind(month_of(today))
        .bind(input.occurred_on.to_string())
        .bind(input.occurred_time.map(|t| format!("{:02}:{:02}", t.hour(), t.minute())))
        .bind(input.place.trim())
        .bind(input.kind.code())
        .bind(input.event_type.code())
        .bind(input.description.trim())
        .bind(input.consequence.code())
        .bind(i64::from(input.never_event))
        .bind(input.contributing_factors.trim())
        .bind(input.immediate_actions.trim())
        .bind(input.reporter_role.code())
        .bind(if named { reporter.and_then(|p| p.user_id) } else { None })
        .bind(if named { input.reporter_name.clone() } else { None })
        .bind(if named { input.reporter_contact.clone() } else { None })
        .bind(digest(&receipt))
        .bind(IncidentState::New.code())
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let inc = incident_in(&mut tx, id).await?;
        let mut deltas = Deltas::default();
        deltas.count(inc.org_unit_id, &key_of(&inc), 1);
        open_span(&mut tx, &mut deltas, &inc, inc.org_unit_id, inc.reported_on).await?;
        deltas.apply(&mut tx).await?;
        let actor = match reporter {
            Some(p) if named => p.clone(),
            _ => anonymous(),
        };
        // The audit row records the report, never who made an anonymous one.
        let after = serde_json::json!({ "kind": inc.kind, "org_unit_id": inc.org_unit_id, "anonymous": !named });
        audit(
            &mut tx,
            &actor,
            "create",
            "incident",
            &id.to_string(),
            Some(inc.org_unit_id),
            None,
            Some(after),
        )
        .await?;
        // The unit's named handlers hear of it (a misconduct report at once).
        let misconduct = inc.kind == IncidentKind::Misconduct;
        crate::notifications::tell_handlers(
            &mut tx,
            inc.org_unit_id,
            if misconduct {
                "misconduct_new"
            } else {
                "incident_new"
            },
            id,
            &format!("/incidents/{id}"),
            misconduct,
        )
        .await?;
        tx.commit().await?;
        Ok((id, receipt))
    }

    /// What the reporter may see with a receipt code.
    pub async fn receipt(&self, code: &str) -> Result<Option<Receipt>> {
        let Some(code) = normalize_receipt(code) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT reported_on, kind, state, outcome, org_unit_id FROM incidents WHERE receipt_hash = $1",
        )
        .bind(digest(&code))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Receipt {
                reported_on: date(&r.try_get::<String, _>("reported_on")?)?,
                kind: enum_col(&r, "kind", IncidentKind::parse)?,
                state: enum_col(&r, "state", IncidentState::parse)?,
                outcome: r.try_get("outcome")?,
                org_unit_id: r.try_get("org_unit_id")?,
            })
        })
        .transpose()
    }

    /// One report (callers check that the principal may read its unit).
    pub async fn incident(&self, id: i64) -> Result<Incident> {
        let mut conn = self.pool.acquire().await?;
        incident_in(&mut conn, id).await
    }

    /// Open reports in the principal's scope, most urgent first, with at most `limit` rows.
    pub async fn incident_queue(
        &self,
        p: &Principal,
        policy: &DeadlinePolicy,
        today: time::Date,
        limit: i64,
    ) -> Result<Vec<Incident>> {
        let mut conn = self.pool.acquire().await?;
        let tree = self.tree_in(&mut conn).await?;
        let mut units: Vec<i64> = tree
            .walk()
            .into_iter()
            .map(|(_, n)| n.id)
            .filter(|id| p.can_write(&tree, *id))
            .collect();
        // And the units the principal is a named handler of.
        if let Some(user) = p.user_id {
            let named = sqlx::query("SELECT org_unit_id FROM incident_handlers WHERE user_id = $1")
                .bind(user)
                .fetch_all(&mut *conn)
                .await?;
            for r in &named {
                let org: i64 = r.try_get("org_unit_id")?;
                if !units.contains(&org) {
                    units.push(org);
                }
            }
        }
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLS} FROM incidents WHERE state <> $1 AND org_unit_id IN ({}) AND {} ORDER BY reported_on LIMIT {}",
            placeholders(2, units.len()),
            crate::write::visible(""),
            limit.clamp(1, 10_000)
        );
        let mut q = sqlx::query(&sql).bind(IncidentState::Handled.code());
        for u in &units {
            q = q.bind(*u);
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let mut list = rows.iter().map(incident_row).collect::<Result<Vec<_>>>()?;
        list.sort_by_key(|i| {
            urgency_key(policy, i.kind, i.consequence, i.reported_on, i.state, today)
        });
        Ok(list)
    }

    /// Records a handler's decision: state, analysis, outcome, forwarding.
    /// Aggregates move with a forwarded report; handling time is counted when
    /// a report becomes handled (and uncounted if it is reopened).
    pub async fn handle_incident(
        &self,
        p: &Principal,
        id: i64,
        h: &Handling,
        today: time::Date,
    ) -> Result<Incident> {
        let mut errors = Vec::new();
        if h.analysis.chars().count() > MAX_DESCRIPTION {
            errors.push(FieldError {
                field: "analysis".into(),
                code: ErrorCode::TooLong,
            });
        }
        if h.outcome.chars().count() > MAX_DESCRIPTION {
            errors.push(FieldError {
                field: "outcome".into(),
                code: ErrorCode::TooLong,
            });
        }
        if (h.state == IncidentState::Forwarded) != h.forward_to.is_some() {
            errors.push(FieldError {
                field: "forward_to".into(),
                code: ErrorCode::Required,
            });
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let mut tx = self.begin_write().await?;
        // The report's row is locked first: the state this decision starts
        // from is the one it changes, whoever handles it at the same time.
        let before = incident_locked(&mut tx, id).await?;
        let tree = self.tree_in(&mut tx).await?;
        if !may_handle_in(&mut tx, p, &tree, before.org_unit_id).await? {
            return Err(StoreError::Forbidden);
        }
        let mut unit = before.org_unit_id;
        let key = key_of(&before);
        let mut deltas = Deltas::default();
        if let Some(target) = h.forward_to {
            if tree.get(target).is_none() {
                return Err(invalid("forward_to", ErrorCode::NotFound));
            }
            if target == before.org_unit_id {
                return Err(invalid("forward_to", ErrorCode::StateConflict));
            }
            deltas.count(before.org_unit_id, &key, -1);
            deltas.count(target, &key, 1);
            unit = target;
        }
        let was_handled = before.state == IncidentState::Handled;
        let now_handled = h.state == IncidentState::Handled;
        let month = key.month.to_string();
        if was_handled {
            // Counted under the unit that held it; moved or taken back below.
            let handled_on = before.handled_on.unwrap_or(today);
            let days = (handled_on - before.reported_on).whole_days();
            deltas.handled(before.org_unit_id, month.clone(), days, -1);
            if now_handled {
                deltas.handled(unit, month.clone(), days, 1);
            }
        } else if now_handled {
            let days = (today - before.reported_on).whole_days();
            deltas.handled(unit, month.clone(), days, 1);
        }
        // The spans are the report's history: the unit that held it open
        // keeps the days it held it (its past figures stay as they stood),
        // and the unit it is forwarded to holds it from today.
        if now_handled && !was_handled {
            close_span(&mut tx, &mut deltas, &before, today).await?;
        } else if was_handled && !now_handled {
            open_span(&mut tx, &mut deltas, &before, unit, today).await?;
        } else if !was_handled && unit != before.org_unit_id {
            close_span(&mut tx, &mut deltas, &before, today).await?;
            open_span(&mut tx, &mut deltas, &before, unit, today).await?;
        }
        deltas.apply(&mut tx).await?;
        let (handled_at, handled_on) = if !now_handled {
            (None, None)
        } else if was_handled {
            (before.handled_at.clone(), before.handled_on)
        } else {
            (Some(now()), Some(today))
        };
        sqlx::query(
            "UPDATE incidents SET state = $1, analysis = $2, outcome = $3, org_unit_id = $4, forwarded_from = $5, \
             handled_at = $6, handled_on = $7 WHERE id = $8",
        )
        .bind(h.state.code())
        .bind(h.analysis.trim())
        .bind(h.outcome.trim())
        .bind(unit)
        .bind(if h.forward_to.is_some() { Some(before.org_unit_id) } else { before.forwarded_from })
        .bind(handled_at)
        .bind(handled_on.map(|d| d.to_string()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = incident_in(&mut tx, id).await?;
        let view = |i: &Incident| serde_json::json!({ "state": i.state, "org_unit_id": i.org_unit_id, "analysis": i.analysis, "outcome": i.outcome });
        audit(
            &mut tx,
            p,
            "handle",
            "incident",
            &id.to_string(),
            Some(before.org_unit_id),
            Some(view(&before)),
            Some(view(&after)),
        )
        .await?;
        // The reporter who left an e-mail address hears that it was handled
        // (never what was decided: that they read with their receipt code);
        // the handlers of a unit it is forwarded to hear of it.
        if now_handled && !was_handled {
            if let Some(to) = before
                .reporter_contact
                .as_deref()
                .filter(|c| crate::notifications::is_email(c))
            {
                crate::notifications::enqueue(
                    &mut tx,
                    &format!("incident_handled:{id}"),
                    to.trim(),
                    None,
                    "fi-sv",
                    "incident_handled",
                    "/receipt",
                    "",
                    false,
                    &now(),
                )
                .await?;
            }
        }
        if unit != before.org_unit_id {
            crate::notifications::tell_handlers(
                &mut tx,
                unit,
                "incident_forwarded",
                id,
                &format!("/incidents/{id}"),
                before.kind == IncidentKind::Misconduct,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Adds a decided action with an owner and a due date.
    pub async fn add_incident_action(
        &self,
        p: &Principal,
        id: i64,
        text: &str,
        owner: &str,
        due_on: time::Date,
    ) -> Result<IncidentAction> {
        let mut errors = Vec::new();
        if text.trim().is_empty() {
            errors.push(FieldError {
                field: "action_text".into(),
                code: ErrorCode::Required,
            });
        } else if text.chars().count() > MAX_DESCRIPTION {
            errors.push(FieldError {
                field: "action_text".into(),
                code: ErrorCode::TooLong,
            });
        }
        if owner.trim().is_empty() {
            errors.push(FieldError {
                field: "action_owner".into(),
                code: ErrorCode::Required,
            });
        } else if owner.chars().count() > MAX_SHORT {
            errors.push(FieldError {
                field: "action_owner".into(),
                code: ErrorCode::TooLong,
            });
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let mut tx = self.begin_write().await?;
        let inc = incident_locked(&mut tx, id).await?;
        let tree = self.tree_in(&mut tx).await?;
        if !may_handle_in(&mut tx, p, &tree, inc.org_unit_id).await? {
            return Err(StoreError::Forbidden);
        }
        let row = sqlx::query("INSERT INTO incident_actions (incident_id, text, owner, due_on, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(id)
            .bind(text.trim())
            .bind(owner.trim())
            .bind(due_on.to_string())
            .bind(now())
            .fetch_one(&mut *tx)
            .await?;
        let action = IncidentAction {
            id: row.try_get("id")?,
            text: text.trim().into(),
            owner: owner.trim().into(),
            due_on,
        };
        audit(
            &mut tx,
            p,
            "create",
            "incident_action",
            &action.id.to_string(),
            Some(inc.org_unit_id),
            None,
            serde_json::to_value(&action).ok(),
        )
        .await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Statistics of an org subtree for a period, from the aggregates (and, for
    /// the time-dependent "unhandled over two months", an indexed count).
    pub async fn incident_stats(
        &self,
        tree: &OrgTree,
        root: i64,
        period: Period,
        policy: &DeadlinePolicy,
        today: time::Date,
    ) -> Result<IncidentStats> {
        let mut conn = self.pool.acquire().await?;
        stats_in(&mut conn, tree, root, period, policy, today).await
    }

    /// Imports reports in bulk (from a previous system, or for benchmarks):
    /// each with its reporting day, state and handling day; stored without any
    /// reporter identity. One transaction; the aggregates are updated in it.
    pub async fn import_incidents(
        &self,
        p: &Principal,
        rows: &[(NewIncident, time::Date, IncidentState, Option<time::Date>)],
    ) -> Result<usize> {
        if !p.can_administer() {
            return Err(StoreError::Forbidden);
        }
        let mut deltas = Deltas::default();
        let mut spans: Vec<(i64, i64, IncidentKind, time::Date, Option<time::Date>)> =
            Vec::with_capacity(rows.len());
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        // Shared locks: no type this import uses is deleted before it is in.
        let lock = crate::write::for_share(&tx);
        // Any type, active or not (history), shared or the unit's county's.
        let known: std::collections::HashMap<String, Option<i64>> = sqlx::query(&format!(
            "SELECT code, county_id FROM incident_event_types{lock}"
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<String, _>("code")?, r.try_get("county_id")?)))
        .collect::<Result<_>>()?;
        let at = now();
        for (i, (input, reported, state, handled)) in rows.iter().enumerate() {
            let offered = match known.get(input.event_type.code()) {
                Some(None) => true,
                Some(Some(owner)) => tree.root_of(input.org_unit_id) == Some(*owner),
                None => false,
            };
            if !offered {
                return Err(invalid(
                    &format!("{}.event_type", i + 1),
                    ErrorCode::Invalid,
                ));
            }
            if let Err(errors) = input.validate(*reported) {
                let errors = errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: format!("{}.{}", i + 1, e.field),
                        code: e.code,
                    })
                    .collect();
                return Err(StoreError::Invalid(errors));
            }
            if tree.get(input.org_unit_id).is_none() {
                return Err(invalid(
                    &format!("{}.org_unit_id", i + 1),
                    ErrorCode::Invalid,
                ));
            }
            let mut raw = [0u8; 10];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
            // Handled without a day: on the day received (as migration 0012 reads old rows).
            let handled_on =
                (*state == IncidentState::Handled).then(|| handled.unwrap_or(*reported));
            let row = sqlx::query(
                "INSERT INTO incidents (org_unit_id, reported_at, reported_on, month, occurred_on, place, kind, event_type, \
                 description, consequence, never_event, contributing_factors, immediate_actions, reporter_role, receipt_hash, \
                 state, handled_at, handled_on) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
            )
            .bind(input.org_unit_id)
            .bind(&at)
            .bind(reported.to_string())
            .bind(month_of(*reported))
            .bind(input.occurred_on.to_string())
            .bind(input.place.trim())
            .bind(input.kind.code())
            .bind(input.event_type.code())
            .bind(input.description.trim())
            .bind(input.consequence.code())
            .bind(i64::from(input.never_event))
            .bind(input.contributing_factors.trim())
            .bind(input.immediate_actions.trim())
            .bind(input.reporter_role.code())
            .bind(digest(&format_receipt(&raw)))
            .bind(state.code())
            .bind(handled_on.map(|d| format!("{d}T00:00:00Z")))
            .bind(handled_on.map(|d| d.to_string()))
            .fetch_one(&mut *tx)
            .await?;
            let id: i64 = row.try_get("id")?;
            let key = CountKey {
                month: Period::containing(*reported, PeriodKind::Month),
                kind: input.kind,
                event_type: input.event_type.clone(),
                consequence: input.consequence,
                client_reported: input.reporter_role.is_client_side(),
                never_event: input.never_event,
            };
            deltas.count(input.org_unit_id, &key, 1);
            if let Some(h) = handled_on {
                deltas.handled(
                    input.org_unit_id,
                    key.month.to_string(),
                    (h - *reported).whole_days(),
                    1,
                );
            }
            spans.push((id, input.org_unit_id, input.kind, *reported, handled_on));
            deltas.span(
                input.org_unit_id,
                input.kind,
                *reported,
                *reported,
                handled_on,
                1,
            );
        }
        deltas.apply(&mut tx).await?;
        for chunk in spans.chunks(50) {
            let mut sql = String::from(
                "INSERT INTO incident_spans (incident_id, org_unit_id, kind, reported_on, opened_on, closed_on, span_days) VALUES ",
            );
            sql.push_str(
                &(0..chunk.len())
                    .map(|i| format!("({})", placeholders(i * 7 + 1, 7)))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            let mut q = sqlx::query(&sql);
            for (id, org, kind, reported, handled) in chunk {
                q = q
                    .bind(*id)
                    .bind(*org)
                    .bind(kind.code())
                    .bind(reported.to_string())
                    .bind(reported.to_string())
                    .bind(handled.map(|d| d.to_string()))
                    .bind(
                        handled
                            .map(|h| (h - *reported).whole_days().max(0))
                            .unwrap_or(OPEN_SPAN_DAYS),
                    );
            }
            q.execute(&mut *tx).await?;
        }
        audit(
            &mut tx,
            p,
            "import",
            "incident",
            &format!("{} reports", rows.len()),
            None,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(rows.len())
    }
}
