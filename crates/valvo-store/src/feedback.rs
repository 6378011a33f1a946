//! Customer feedback: survey versions, answers through the public page,
//! one-time invitations and CSV import, the aggregates statistics read, the
//! handling queue of feedback with text, remarks and complaints, and the
//! national export.
//!
//! Durability and throughput: answers are written by the ingest's writers
//! (one on SQLite, two on PostgreSQL), each taking every answer waiting and
//! committing them in one transaction (group commit) with SQLite's
//! `synchronous = FULL`, and only then acknowledging each; an acknowledged
//! answer is on disk. The answers are marked pending there, and the
//! aggregator adds them to the aggregate rows of the unit and of each of
//! its ancestors a moment later, marking them done in the same
//! transaction (statistics add the pending ones first), so statistics of
//! any subtree read a few thousand rows whatever the number of answers.
//! (Org units are never moved; if moving is added, the ancestors' rows
//! must be rebuilt from the units' own.)

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use tokio::sync::{mpsc, oneshot};
use valvo_core::access::Principal;
use valvo_core::feedback::{
    case_urgency, lang_gap, month_of, suppress_export, topic_figures, AgeGroup, Answer,
    CaseDeadlines, CaseKind, CaseState, Cell, Channel, Counts, Dims, ExportRow, Filter, LangGap,
    NewCase, NpsStats, RawAnswer, Respondent, Score, ServiceLang, Summary, SuppressionReport,
    SurveyDef, Tally, TopicFigures, ITEM_ANSWERS, ITEM_NPS, MAX_SHORT, MAX_TEXT, MIN_PUBLIC_CELL,
};
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::{I18nText, OrgTree, Period};

use crate::rows::corrupt;
use crate::write::{audit, invalid};
use crate::{now, Backend, Result, Store, StoreError};

/// Most answers committed in one ingest transaction.
const MAX_BATCH: usize = 512;

/// A survey version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SurveyVersion {
    /// Id.
    pub id: i64,
    /// Version number (1, 2, …).
    pub version: i64,
    /// The definition.
    pub def: SurveyDef,
}

/// Where an answer belongs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerTarget {
    /// An org unit by id.
    Unit(i64),
    /// An org unit by id, sent with an API token. The token is checked in
    /// the answer's own write transaction (live, not read-only, allowed to
    /// write the unit), so a token revoked a moment before writes nothing,
    /// and an answer costs no reads of its own before it is queued.
    /// Refused with `Conflict("token_unknown")`, `Conflict("token_read_only")`,
    /// `Invalid` naming `org_unit` (no such unit) or `Forbidden` (outside
    /// the token's scope).
    UnitWithToken {
        /// The unit.
        unit: i64,
        /// The bearer token as sent.
        token: String,
    },
    /// An org unit by code (the public page `/feedback/CODE`).
    UnitCode(String),
    /// A one-time invitation token (bound to a unit and a service date).
    Invitation(String),
}

/// An answer on its way in.
#[derive(Clone, Debug)]
pub struct Submission {
    /// Where it belongs.
    pub target: AnswerTarget,
    /// What was answered.
    pub raw: RawAnswer,
    /// How it arrived.
    pub channel: Channel,
    /// Today, for validating dates.
    pub today: time::Date,
    /// The one-time key of the form page it was sent from, if any: the
    /// answer is saved once however often the key is sent
    /// ([`StoreError::AlreadySent`] after the first).
    pub once: Option<String>,
}

/// An acknowledged answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Submitted {
    /// The answer's id.
    pub answer_id: i64,
    /// The org unit.
    pub org_unit_id: i64,
    /// The handling case made from its text, if any.
    pub case_id: Option<i64>,
}

/// Where the intake of answers stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IngestState {
    /// Answers received and waiting for the ingest transaction (this instance).
    pub queued: usize,
    /// Answers on disk not yet in the aggregates (every instance).
    pub pending: u64,
    /// How long the oldest of those has waited, in seconds.
    pub lag_seconds: f64,
}

struct Job {
    sub: Submission,
    reply: oneshot::Sender<Result<Submitted>>,
}

/// Shared state of the feedback module (the ingest task's queue).
#[derive(Debug, Default)]
pub(crate) struct FeedbackShared {
    ingest: OnceLock<mpsc::Sender<Job>>,
    /// One aggregation at a time in this process.
    agg_lock: tokio::sync::Mutex<()>,
    /// On SQLite, the ingest and the aggregator take turns at the write
    /// lock here, in arrival order, instead of meeting it taken: SQLite's
    /// own wait polls with growing sleeps (up to 100 ms), which would put
    /// a whole batch of answers to sleep after the lock is already free.
    sqlite_writer: tokio::sync::Mutex<()>,
    /// Wakes the aggregator after a batch of answers was committed.
    committed: tokio::sync::Notify,
    /// Rounds that add every pending answer (see [`aggregate_pending`]),
    /// numbered as they begin, and the number of the last one finished:
    /// readers arriving together share one round instead of queueing one
    /// each.
    rounds_begun: std::sync::atomic::AtomicU64,
    rounds_done: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// The stored form of an invitation token (as of receipt codes).
fn digest(token: &str) -> String {
    crate::incidents::digest(token.trim())
}

fn new_token() -> String {
    use base64::Engine;
    let mut raw = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn opt_code<T: Copy>(v: Option<T>, code: fn(T) -> &'static str) -> &'static str {
    v.map(code).unwrap_or("")
}

fn date(s: &str) -> Result<time::Date> {
    valvo_core::feedback::parse_date(s).ok_or_else(|| corrupt("date", s))
}

pub(crate) fn scores_json(scores: &BTreeMap<String, Score>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = scores
        .iter()
        .map(|(k, s)| {
            let v = match s {
                Score::Value(n) => serde_json::Value::from(*n),
                Score::CannotSay => serde_json::Value::from("x"),
            };
            (k.clone(), v)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn parse_scores(s: &str) -> Result<BTreeMap<String, Score>> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| corrupt("scores", s))?;
    let mut out = BTreeMap::new();
    if let serde_json::Value::Object(map) = v {
        for (k, v) in map {
            let score = match v {
                serde_json::Value::Number(n) => Score::Value(
                    n.as_u64()
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| corrupt("scores", s))?,
                ),
                _ => Score::CannotSay,
            };
            out.insert(k, score);
        }
    }
    Ok(out)
}

/// The current survey's definition for a read: the national default
/// while no answer has written one (a read writes nothing, so it never
/// meets a writer's first survey inside a repeatable-read snapshot),
/// as asked in `county` (see [`SurveyDef::for_county`]: the
/// shared statements and the county's own; `None`, across counties: the
/// shared ones).
pub(crate) async fn survey_def_in(
    conn: &mut AnyConnection,
    county: Option<&str>,
) -> Result<SurveyDef> {
    let definition: Option<String> =
        sqlx::query_scalar("SELECT definition FROM surveys ORDER BY version DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    match definition {
        Some(d) => serde_json::from_str::<SurveyDef>(&d)
            .map(|def| def.for_county(county))
            .map_err(|_| corrupt("survey", &d)),
        None => Ok(SurveyDef::national_default().for_county(county)),
    }
}

pub(crate) async fn survey_in(conn: &mut AnyConnection) -> Result<SurveyVersion> {
    let row =
        sqlx::query("SELECT id, version, definition FROM surveys ORDER BY version DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(row) = row {
        let definition: String = row.try_get("definition")?;
        let def: SurveyDef =
            serde_json::from_str(&definition).map_err(|_| corrupt("survey", &definition))?;
        return Ok(SurveyVersion {
            id: row.try_get("id")?,
            version: row.try_get("version")?,
            def,
        });
    }
    let def = SurveyDef::national_default();
    let json = serde_json::to_string(&def).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // Two first answers at once: the second insert conflicts and rereads.
    let inserted = sqlx::query(
        "INSERT INTO surveys (version, definition, created_at, created_by) VALUES (1, $1, $2, 'system') \
         ON CONFLICT (version) DO NOTHING",
    )
    .bind(&json)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    let _ = inserted;
    let row = sqlx::query("SELECT id, version FROM surveys WHERE version = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(SurveyVersion {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        def,
    })
}

/// `($1, …, $cols), ($cols+1, …)`: the VALUES of a multi-row statement.
pub(crate) fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let list: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", list.join(","))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The keys an answer of `month` is counted under: its month (`2025-05`)
/// and the quarter, tertial, half year and year it falls in (`2025Q2`,
/// `2025T2`, `2025H1`, `2025`): statistics of any period read one row per
/// scope and background.
pub(crate) fn period_keys(month: &str) -> Vec<String> {
    let mut keys = vec![month.to_owned()];
    if let Ok(m) = month.parse::<Period>() {
        for kind in [
            valvo_core::PeriodKind::Quarter,
            valvo_core::PeriodKind::Tertial,
            valvo_core::PeriodKind::Half,
            valvo_core::PeriodKind::Year,
        ] {
            keys.push(Period::containing(m.start(), kind).to_string());
        }
    }
    keys
}

/// Adds `cells` of a unit in `month` to the aggregates of each of `scopes`
/// (the unit and its ancestors, see [`scopes_of`]).
pub(crate) fn scoped_cells(
    scopes: &[i64],
    month: &str,
    cells: Vec<Cell>,
    out: &mut Vec<(i64, String, Cell)>,
) {
    let keys = period_keys(month);
    for scope in scopes {
        for c in &cells {
            for k in &keys {
                out.push((*scope, k.clone(), c.clone()));
            }
        }
    }
}

/// Each of `orgs` with its ancestors (itself first, then upwards), read in
/// the caller's transaction from the database: an answer to a unit added a
/// moment ago through another instance is counted in its area and county
/// too, whatever that instance's cached tree knows.
pub(crate) async fn scopes_of(
    conn: &mut AnyConnection,
    orgs: impl IntoIterator<Item = i64>,
) -> Result<BTreeMap<i64, Vec<i64>>> {
    let mut orgs: Vec<i64> = orgs.into_iter().collect();
    orgs.sort_unstable();
    orgs.dedup();
    let mut out: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for chunk in orgs.chunks(100) {
        let list = crate::write::placeholders(1, chunk.len());
        let sql = format!(
            "WITH RECURSIVE up(unit, id, parent, depth) AS (\
               SELECT id, id, parent_id, 0 FROM org_units WHERE id IN ({list}) \
               UNION ALL \
               SELECT up.unit, o.id, o.parent_id, up.depth + 1 FROM up JOIN org_units o ON o.id = up.parent) \
             SELECT unit, id FROM up ORDER BY unit, depth"
        );
        let mut q = sqlx::query(&sql);
        for o in chunk {
            q = q.bind(*o);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.entry(r.try_get::<i64, _>("unit")?)
                .or_default()
                .push(r.try_get::<i64, _>("id")?);
        }
    }
    Ok(out)
}

async fn upsert_cells(conn: &mut AnyConnection, cells: Vec<(i64, String, Cell)>) -> Result<()> {
    // Merge equal keys first: one row per key and batch.
    let mut merged: BTreeMap<(i64, String, Dims, String), Counts> = BTreeMap::new();
    for (scope, month, c) in cells {
        merged
            .entry((scope, month, c.dims, c.item))
            .or_default()
            .add(&c.counts);
    }
    upsert_rows(conn, merged.into_iter().collect()).await
}

/// The counts by stratum of `answers` (unit, month, answer), each under
/// every scope of its unit (see [`scopes_of`]).
fn strata_of<'a>(
    scopes: &BTreeMap<i64, Vec<i64>>,
    answers: impl IntoIterator<Item = (i64, &'a str, &'a Answer)>,
) -> crate::comparison::StrataRows {
    // Merged per unit, month and stratum first, spread to the scopes and
    // periods after: most answers of a batch share these (a unit's answers
    // this month), and spreading costs about a hundred keys per answer.
    let mut own: std::collections::HashMap<(i64, &str, [&'static str; 3], String), Counts> =
        std::collections::HashMap::new();
    for (org, month, answer) in answers {
        let stratum = crate::comparison::codes(answer);
        // The channel does not matter here: any will do for the cells.
        for c in answer.cells(Channel::Web) {
            own.entry((org, month, stratum, c.item))
                .or_default()
                .add(&c.counts);
        }
    }
    let mut strata = crate::comparison::StrataRows::new();
    for ((org, month, stratum, item), counts) in own {
        // The unit first, its county last.
        let up = scopes
            .get(&org)
            .map_or(std::slice::from_ref(&org), Vec::as_slice);
        let root = up.last().copied().unwrap_or(org);
        let keys = period_keys(month);
        crate::comparison::add_cell(&mut strata, up, root, &keys, stratum, &item, &counts);
    }
    strata
}

/// Aggregate rows merged by key: scope, month, background and item.
type AggKey = (i64, String, Dims, String);

/// Binds an aggregate row's key and counts (18 values, in the column order
/// of `feedback_agg`).
pub(crate) fn bind_agg_row<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    (scope, month, dims, item): &AggKey,
    counts: &Counts,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = q
        .bind(*scope)
        .bind(month.clone())
        .bind(opt_code(dims.lang, ServiceLang::code))
        .bind(opt_code(dims.channel, Channel::code))
        .bind(opt_code(dims.respondent, Respondent::code))
        .bind(item.clone());
    for c in counts.counts {
        q = q.bind(c as i64);
    }
    q.bind(counts.cannot_say as i64)
}

/// An aggregate key as stored: its texts compared byte by byte (PostgreSQL's
/// `COLLATE "C"`, SQLite's own), the order every writer locks rows in.
fn stored_key((scope, month, dims, item): &AggKey) -> (i64, &str, [&'static str; 3], &str) {
    (
        *scope,
        month,
        [
            opt_code(dims.lang, ServiceLang::code),
            opt_code(dims.channel, Channel::code),
            opt_code(dims.respondent, Respondent::code),
        ],
        item,
    )
}

/// The count columns of every aggregate table: the 11 value buckets and
/// "cannot say".
pub(crate) const COUNT_COLUMNS: [&str; 12] = [
    "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "cs",
];

/// `b0 = table.b0 + excluded.b0, …, cs = …`: an upsert that adds counts.
pub(crate) fn add_counts(table: &str) -> String {
    COUNT_COLUMNS
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .join(", ")
}

async fn upsert_rows(conn: &mut AnyConnection, mut rows: Vec<(AggKey, Counts)>) -> Result<()> {
    // In the stored key's order (the import's finish orders its rows the
    // same way), so two writers never wait for each other in a circle.
    rows.sort_by(|(a, _), (b, _)| stored_key(a).cmp(&stored_key(b)));
    for chunk in rows.chunks(crate::import::statement_rows(conn, 18)) {
        let sql = crate::import::multi_row(
            conn,
            "INSERT INTO feedback_agg (scope_id, month, lang, channel, respondent, item, \
             b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs)",
            chunk.len(),
            18,
            &format!(
                " ON CONFLICT (scope_id, month, lang, channel, respondent, item) DO UPDATE SET {}",
                add_counts("feedback_agg")
            ),
        );
        let mut q = sqlx::query(&sql);
        for (key, counts) in chunk {
            q = bind_agg_row(q, key, counts);
        }
        q.execute(&mut *conn).await?;
    }
    // The same counts summed over the background, after the rows above and
    // in key order (as every writer locks them).
    let mut totals: BTreeMap<(i64, String, String), Counts> = BTreeMap::new();
    for ((scope, month, _, item), counts) in &rows {
        totals
            .entry((*scope, month.clone(), item.clone()))
            .or_default()
            .add(counts);
    }
    let totals: Vec<_> = totals.into_iter().collect();
    for chunk in totals.chunks(crate::import::statement_rows(conn, 15)) {
        let sql = crate::import::multi_row(
            conn,
            "INSERT INTO feedback_totals (scope_id, month, item, \
             b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs)",
            chunk.len(),
            15,
            &format!(
                " ON CONFLICT (scope_id, month, item) DO UPDATE SET {}",
                add_counts("feedback_totals")
            ),
        );
        let mut q = sqlx::query(&sql);
        for ((scope, month, item), counts) in chunk {
            q = q.bind(*scope).bind(month.clone()).bind(item.clone());
            for c in counts.counts {
                q = q.bind(c as i64);
            }
            q = q.bind(counts.cannot_say as i64);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// What an answer resolved to before it is written.
struct Resolved {
    org: i64,
    answer: Answer,
    invitation_id: Option<i64>,
}

/// The callers of the tokens a batch's answers were sent with, each read
/// once per batch (in its transaction).
type Callers = std::collections::HashMap<String, Option<crate::accounts::TokenCaller>>;

/// Whose token may write an answer to `unit`: the checks an API write makes
/// before anything else, in the same order and with the same outcomes.
async fn token_may_write(
    conn: &mut AnyConnection,
    trees: &crate::TreeCache,
    tree: &OrgTree,
    callers: &mut Callers,
    token: &str,
    unit: i64,
) -> Result<()> {
    let caller = match callers.get(token) {
        Some(c) => c.clone(),
        None => {
            let c = crate::accounts::token_caller_on(conn, trees, token).await?;
            callers.insert(token.to_owned(), c.clone());
            c
        }
    };
    let Some(caller) = caller else {
        return Err(StoreError::Conflict("token_unknown".into()));
    };
    if caller.read_only {
        return Err(StoreError::Conflict("token_read_only".into()));
    }
    // A unit added through another instance a moment ago is not in this
    // tree yet: the tree as it is now (on PostgreSQL a later statement of
    // the transaction sees it).
    let fresh;
    let tree = if tree.get(unit).is_some() {
        tree
    } else {
        fresh = trees.tree(conn).await?;
        &*fresh
    };
    if tree.get(unit).is_none() {
        return Err(invalid("org_unit", ErrorCode::NotFound));
    }
    let p = &caller.principal;
    if !(p.can_read(tree, unit) && p.can_write(tree, unit)) {
        return Err(StoreError::Forbidden);
    }
    Ok(())
}

async fn resolve(
    conn: &mut AnyConnection,
    trees: &crate::TreeCache,
    tree: &OrgTree,
    callers: &mut Callers,
    survey: &SurveyDef,
    sub: &Submission,
) -> Result<Resolved> {
    if let AnswerTarget::UnitWithToken { unit, token } = &sub.target {
        token_may_write(conn, trees, tree, callers, token, *unit).await?;
    }
    let mut answer = sub
        .raw
        .parse(survey, sub.today)
        .map_err(StoreError::Invalid)?;
    match &sub.target {
        AnswerTarget::UnitWithToken { unit, .. } => {
            asked_in_unit(conn, tree, survey, &answer, *unit).await?;
            Ok(Resolved {
                org: *unit,
                answer,
                invitation_id: None,
            })
        }
        AnswerTarget::Unit(id) => {
            // The cached tree answers for known units; a unit it does not know
            // (added through another instance a moment ago) is looked up.
            if tree.get(*id).is_none() && !unit_exists(conn, *id).await? {
                return Err(invalid("org_unit", ErrorCode::NotFound));
            }
            asked_in_unit(conn, tree, survey, &answer, *id).await?;
            Ok(Resolved {
                org: *id,
                answer,
                invitation_id: None,
            })
        }
        AnswerTarget::UnitCode(code) => {
            let cached = tree
                .nodes()
                .iter()
                .find(|n| n.code.eq_ignore_ascii_case(code.trim()))
                .map(|n| n.id);
            let org = match cached {
                Some(id) => id,
                None => unit_by_code(conn, code.trim())
                    .await?
                    .ok_or_else(|| invalid("org_unit", ErrorCode::NotFound))?,
            };
            asked_in_unit(conn, tree, survey, &answer, org).await?;
            Ok(Resolved {
                org,
                answer,
                invitation_id: None,
            })
        }
        AnswerTarget::Invitation(token) => {
            // A county's own statement only for its units: checked before
            // the token is consumed, so that a refused answer leaves it
            // for the corrected one (the invitation's unit never changes).
            if !needs_county(survey, &answer).is_empty() {
                // Only a usable one: a used or expired token is named as
                // such below, whatever the answer says.
                let unit: Option<i64> = sqlx::query_scalar(
                    "SELECT org_unit_id FROM feedback_invitations \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_on >= $2",
                )
                .bind(digest(token))
                .bind(sub.today.to_string())
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(unit) = unit {
                    asked_in_unit(conn, tree, survey, &answer, unit).await?;
                }
            }
            // Consumed only now that the answer is valid; a used or expired
            // token changes nothing.
            let row = sqlx::query(
                "UPDATE feedback_invitations SET used_at = $1 \
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_on >= $3 \
                 RETURNING id, org_unit_id, service_date",
            )
            .bind(now())
            .bind(digest(token))
            .bind(sub.today.to_string())
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = row else {
                let used: Option<(Option<String>,)> = sqlx::query_as(
                    "SELECT used_at FROM feedback_invitations WHERE token_hash = $1",
                )
                .bind(digest(token))
                .fetch_optional(&mut *conn)
                .await?;
                return Err(match used {
                    Some((Some(_),)) => StoreError::Conflict("invitation_used".into()),
                    Some((None,)) => StoreError::Conflict("invitation_expired".into()),
                    None => invalid("invitation", ErrorCode::NotFound),
                });
            };
            answer.service_date = Some(date(&row.try_get::<String, _>("service_date")?)?);
            Ok(Resolved {
                org: row.try_get("org_unit_id")?,
                answer,
                invitation_id: Some(row.try_get("id")?),
            })
        }
    }
}

/// The answer's statements that are some county's own (none in a survey
/// without such statements).
fn needs_county<'a>(survey: &'a SurveyDef, answer: &'a Answer) -> Vec<&'a str> {
    survey.not_asked(answer, None)
}

/// Refuses an answer to `unit` that scores another county's own statement,
/// naming each such statement (`scores.KEY`). The unit's county comes from
/// the tree, or for a unit it does not know yet (added through another
/// instance a moment ago) from the database.
async fn asked_in_unit(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    survey: &SurveyDef,
    answer: &Answer,
    unit: i64,
) -> Result<()> {
    if needs_county(survey, answer).is_empty() {
        return Ok(());
    }
    let county = match tree.county_code(unit) {
        Some(c) => Some(c.to_string()),
        None => county_code_in(conn, unit).await?,
    };
    let refused = survey.not_asked(answer, county.as_deref());
    if refused.is_empty() {
        return Ok(());
    }
    Err(StoreError::Invalid(
        refused
            .into_iter()
            .map(|k| FieldError::new(format!("scores.{k}"), ErrorCode::Invalid))
            .collect(),
    ))
}

/// The code of the county above `unit`, read from the database (`None`
/// for an unknown unit).
async fn county_code_in(conn: &mut AnyConnection, unit: i64) -> Result<Option<String>> {
    let mut at = unit;
    // A tree is at most a few levels deep; the bound only stops a cycle.
    for _ in 0..64 {
        let row: Option<(Option<i64>, String)> =
            sqlx::query_as("SELECT parent_id, code FROM org_units WHERE id = $1")
                .bind(at)
                .fetch_optional(&mut *conn)
                .await?;
        match row {
            None => return Ok(None),
            Some((None, code)) => return Ok(Some(code)),
            Some((Some(parent), _)) => at = parent,
        }
    }
    Ok(None)
}

/// Whether the org unit exists (read from the database, not the cache).
async fn unit_exists(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT id FROM org_units WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// An org unit's id by its code, any case (read from the database).
async fn unit_by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT id FROM org_units WHERE LOWER(code) = LOWER($1)")
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Comment counts waiting to be added: unit, month, topic, sentiment.
type TextCell = (i64, String, String, &'static str);

/// Aggregate rows of a unit waiting for the end of a transaction, when they
/// are added to the unit's and each ancestor's rows.
#[derive(Default)]
struct Pending {
    cells: Vec<(i64, String, Cell)>,
    /// The answers whose cells those are (unit, month, answer), for the
    /// counts by stratum.
    answers: Vec<(i64, String, Answer)>,
    text: Vec<TextCell>,
    /// Leave the answers' aggregate cells to the aggregator (the answer
    /// rows are marked pending); text counts are still added here.
    defer: bool,
}

impl Pending {
    async fn flush(self, conn: &mut AnyConnection) -> Result<()> {
        let units = self
            .cells
            .iter()
            .map(|c| c.0)
            .chain(self.text.iter().map(|t| t.0))
            .collect::<Vec<_>>();
        if units.is_empty() {
            return Ok(());
        }
        let scopes = scopes_of(conn, units).await?;
        let mut cells = Vec::new();
        for (org, month, cell) in self.cells {
            let up = scopes.get(&org).map(Vec::as_slice).unwrap_or(&[]);
            scoped_cells(up, &month, vec![cell], &mut cells);
        }
        upsert_cells(conn, cells).await?;
        crate::comparison::upsert(
            conn,
            None,
            strata_of(
                &scopes,
                self.answers.iter().map(|(o, m, a)| (*o, m.as_str(), a)),
            ),
        )
        .await?;
        let mut merged: BTreeMap<(i64, String, String, &'static str), i64> = BTreeMap::new();
        for (org, month, topic, sentiment) in self.text {
            for scope in scopes.get(&org).map(Vec::as_slice).unwrap_or(&[]) {
                *merged
                    .entry((*scope, month.clone(), topic.clone(), sentiment))
                    .or_default() += 1;
            }
        }
        for ((scope, month, topic, sentiment), n) in merged {
            sqlx::query(
                "INSERT INTO feedback_text_agg (scope_id, month, topic, sentiment, n) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (scope_id, month, topic, sentiment) DO UPDATE SET n = feedback_text_agg.n + excluded.n",
            )
            .bind(scope)
            .bind(month)
            .bind(topic)
            .bind(sentiment)
            .bind(n)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

fn sentiment_code(s: valvo_text::Sentiment) -> &'static str {
    s.code()
}

/// The columns of an answer's row, bound by [`bind_answer`].
const ANSWER_INSERT: &str = "INSERT INTO feedback_answers (survey_id, org_unit_id, received_at, month, service_date, channel, \
     service_lang, age_group, respondent, nps, scores, invitation_id, pending, has_text)";
const ANSWER_COLS: usize = 14;

/// Binds one answer's row of [`ANSWER_INSERT`] (of unit `org`, from an
/// invitation or not); `defer`: left to the aggregator (marked pending).
#[allow(clippy::too_many_arguments)]
fn bind_answer<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    survey_id: i64,
    org: i64,
    invitation_id: Option<i64>,
    a: &Answer,
    channel: Channel,
    today: time::Date,
    defer: bool,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(survey_id)
        .bind(org)
        .bind(now())
        .bind(month_of(a.service_date.unwrap_or(today)).to_string())
        .bind(a.service_date.map(|d| d.to_string()))
        .bind(channel.code())
        .bind(a.service_lang.map(ServiceLang::code))
        .bind(a.age_group.map(AgeGroup::code))
        .bind(a.respondent.map(Respondent::code))
        .bind(a.nps.map(i64::from))
        .bind(scores_json(&a.scores))
        .bind(invitation_id)
        .bind(i64::from(defer))
        .bind(i64::from(a.text.is_some()))
}

/// Writes answers without a comment (so without a case) in multi-row
/// inserts, a few statements for a whole batch; their ids in order.
async fn write_plain_answers(
    conn: &mut AnyConnection,
    survey_id: i64,
    rows: &[(Resolved, Channel, time::Date)],
    pending: &mut Pending,
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(crate::import::statement_rows(conn, ANSWER_COLS)) {
        let sql = crate::import::multi_row(
            conn,
            ANSWER_INSERT,
            chunk.len(),
            ANSWER_COLS,
            " RETURNING id",
        );
        let mut q = sqlx::query(&sql);
        for (r, channel, today) in chunk {
            q = bind_answer(
                q,
                survey_id,
                r.org,
                r.invitation_id,
                &r.answer,
                *channel,
                *today,
                pending.defer,
            );
        }
        let got = crate::import::inserted_ids(q, conn).await?;
        if got.len() != chunk.len() {
            return Err(StoreError::Corrupt("feedback_answers: ids returned".into()));
        }
        ids.extend(got);
    }
    if !pending.defer {
        for (r, channel, today) in rows {
            let month = month_of(r.answer.service_date.unwrap_or(*today)).to_string();
            for c in r.answer.cells(*channel) {
                pending.cells.push((r.org, month.clone(), c));
            }
            pending.answers.push((r.org, month, r.answer.clone()));
        }
    }
    Ok(ids)
}

/// Writes one resolved answer (and its case) and returns its ids. The text
/// is analysed here (language, sentiment, topics, personal data redacted).
#[allow(clippy::too_many_arguments)]
async fn write_answer(
    conn: &mut AnyConnection,
    survey_id: i64,
    r: &Resolved,
    channel: Channel,
    today: time::Date,
    deadlines: &CaseDeadlines,
    pending: &mut Pending,
) -> Result<Submitted> {
    let a = &r.answer;
    let month = month_of(a.service_date.unwrap_or(today)).to_string();
    let sql = crate::import::multi_row(conn, ANSWER_INSERT, 1, ANSWER_COLS, " RETURNING id");
    let row = bind_answer(
        sqlx::query(&sql),
        survey_id,
        r.org,
        r.invitation_id,
        a,
        channel,
        today,
        pending.defer,
    )
    .fetch_one(&mut *conn)
    .await?;
    let answer_id: i64 = row.try_get("id")?;
    let case_id = match &a.text {
        Some(text) => {
            let analysis = valvo_text::analyze(text);
            let sentiment = sentiment_code(analysis.sentiment);
            pending
                .text
                .push((r.org, month.clone(), String::new(), sentiment));
            for t in &analysis.topics {
                pending
                    .text
                    .push((r.org, month.clone(), t.clone(), sentiment));
            }
            let row = sqlx::query(
                "INSERT INTO feedback_cases (org_unit_id, answer_id, kind, state, received_on, due_on, text, contact, created_at, \
                 text_lang, sentiment, topics, redacted) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            )
            .bind(r.org)
            .bind(answer_id)
            .bind(CaseKind::Feedback.code())
            .bind(CaseState::New.code())
            .bind(today.to_string())
            .bind(deadlines.due(CaseKind::Feedback, today).to_string())
            .bind(text)
            .bind(a.contact.clone())
            .bind(now())
            .bind(analysis.language.code())
            .bind(sentiment)
            .bind(analysis.topics.join(","))
            .bind(&analysis.redacted)
            .fetch_one(&mut *conn)
            .await?;
            Some(row.try_get("id")?)
        }
        None => None,
    };
    if !pending.defer {
        for c in a.cells(channel) {
            pending.cells.push((r.org, month.clone(), c));
        }
        pending.answers.push((r.org, month.clone(), a.clone()));
    }
    Ok(Submitted {
        answer_id,
        org_unit_id: r.org,
        case_id,
    })
}

/// Writes a batch in one transaction; per-answer outcomes, or a database
/// error for the whole batch (then nothing was written).
async fn write_batch(
    pool: &AnyPool,
    backend: Backend,
    trees: &crate::TreeCache,
    subs: &[&Submission],
    held: &mut Held,
) -> Result<Vec<Result<Submitted>>> {
    let conn = held.get(pool, backend).await?;
    let result = async {
        let mut tx = begin_polling!(&mut *conn, backend)?;
        let tree = trees.tree(&mut tx).await?;
        let tree = &*tree;
        let survey = survey_in(&mut tx).await?;
        let deadlines = CaseDeadlines::default();
        let mut out = Vec::with_capacity(subs.len());
        let mut pending = Pending {
            defer: true,
            ..Pending::default()
        };
        let mut callers = Callers::new();
        // The batch's tokens first, in one order (their `last_used_at` is a
        // row lock): two batches written at once on PostgreSQL take those
        // locks in the same order, and before any other (a one-time key's,
        // an invitation's).
        let mut tokens: Vec<&str> = subs
            .iter()
            .filter_map(|sub| match &sub.target {
                AnswerTarget::UnitWithToken { token, .. } => Some(token.as_str()),
                _ => None,
            })
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        for token in tokens {
            match crate::accounts::token_caller_on(&mut tx, trees, token).await {
                Ok(caller) => {
                    callers.insert(token.to_owned(), caller);
                }
                Err(e) if fails_the_batch(&e) => return Err(e),
                // Any other error is its answers' own: met again where
                // they are resolved.
                Err(_) => {}
            }
        }
        // The invitations' rows next, in the order of their digests: each
        // is used up below in the answers' order, and two batches on
        // PostgreSQL holding the same two invitations in opposite orders
        // waited for each other until the database ended one (a second
        // later; measured through two instances, see the tests).
        let mut invitations: Vec<String> = subs
            .iter()
            .filter_map(|sub| match &sub.target {
                AnswerTarget::Invitation(token) => Some(digest(token)),
                _ => None,
            })
            .collect();
        invitations.sort_unstable();
        invitations.dedup();
        if !invitations.is_empty() && backend == Backend::Postgres {
            let sql = format!(
                "SELECT id FROM feedback_invitations WHERE token_hash IN ({}) \
                 ORDER BY token_hash{}",
                crate::write::placeholders(1, invitations.len()),
                crate::write::for_update(&tx)
            );
            let mut q = sqlx::query(&sql);
            for hash in &invitations {
                q = q.bind(hash);
            }
            q.fetch_all(&mut *tx).await?;
        }
        let mut resolved = Vec::with_capacity(subs.len());
        for sub in subs {
            match resolve(&mut tx, trees, tree, &mut callers, &survey.def, sub).await {
                Err(e) if fails_the_batch(&e) => return Err(e),
                r => resolved.push(r),
            }
        }
        // One-time keys are claimed once the answer is known to be good (a
        // refused answer leaves its key unused for the corrected one), all
        // in the order of their digests, for the same reason.
        let mut keys: Vec<(String, usize)> = subs
            .iter()
            .zip(&resolved)
            .enumerate()
            .filter_map(|(at, (sub, r))| match (&sub.once, r) {
                (Some(key), Ok(_)) => Some((crate::incidents::digest(key), at)),
                _ => None,
            })
            .collect();
        keys.sort_unstable();
        if !keys.is_empty() {
            crate::write::forget_old_claims(&mut tx).await?;
        }
        for (hash, at) in keys {
            if !crate::write::claim_digest(&mut tx, &hash, "feedback").await? {
                resolved[at] = Err(StoreError::AlreadySent);
            }
        }
        // Answers without a comment, and their places in `out`.
        let mut plain = Vec::new();
        let mut plain_at = Vec::new();
        for (sub, resolved) in subs.iter().zip(resolved) {
            match resolved {
                // Written together after the loop.
                Ok(r) if r.answer.text.is_none() => {
                    plain_at.push(out.len());
                    plain.push((r, sub.channel, sub.today));
                    out.push(Err(StoreError::NotFound));
                }
                Ok(r) => out.push(Ok(write_answer(
                    &mut tx,
                    survey.id,
                    &r,
                    sub.channel,
                    sub.today,
                    &deadlines,
                    &mut pending,
                )
                .await?)),
                Err(e) => out.push(Err(e)),
            }
        }
        let ids = write_plain_answers(&mut tx, survey.id, &plain, &mut pending).await?;
        for ((at, id), (r, _, _)) in plain_at.into_iter().zip(ids).zip(&plain) {
            out[at] = Ok(Submitted {
                answer_id: id,
                org_unit_id: r.org,
                case_id: None,
            });
        }
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }
    .await;
    if result.is_err() {
        // Not used again: it may be what failed.
        held.close();
    }
    result
}

/// Whether an error met while resolving a batch's answer is the
/// database's, not the answer's: the transaction may be aborted, so the
/// whole batch fails (and is retried one answer at a time).
fn fails_the_batch(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Db(_) | StoreError::Retry(_) | StoreError::Unavailable(_)
    )
}

/// How long the ingest keeps its connection after the last answer: while
/// answers keep coming, a batch costs no pool checkout and no change of
/// SQLite's `synchronous` setting (two statements, each a round trip to
/// the connection's thread, on every batch before).
const HOLD_IDLE: std::time::Duration = std::time::Duration::from_millis(200);

/// The ingest's connection while answers keep coming: a [`Polling`]
/// connection (without SQLite's own wait for the write lock, see
/// [`begin_polling!`]) with `synchronous = FULL` on SQLite, so that
/// acknowledged means on disk, also across a power cut; given back to the
/// pool as it was once they stop.
struct Held {
    conn: Option<Polling>,
    /// Kept between batches: only in a pool of at least
    /// [`HOLD_MIN_POOL`], which leaves the aggregator, the statistics'
    /// catching up and the pages connections of their own.
    keep: bool,
}

/// The smallest pool the ingest keeps a connection of between batches.
const HOLD_MIN_POOL: u32 = 4;

impl Held {
    async fn get(
        &mut self,
        pool: &AnyPool,
        backend: Backend,
    ) -> Result<&mut sqlx::pool::PoolConnection<sqlx::Any>> {
        if self.conn.is_none() {
            self.conn = Some(Polling::acquire_durable(pool, backend).await?);
        }
        self.conn
            .as_mut()
            .map(Polling::conn)
            .ok_or_else(|| StoreError::Corrupt("feedback ingest lost its connection".into()))
    }

    /// Back to the pool with the pool's own settings.
    async fn release(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.release(false).await;
        }
    }

    fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.close();
        }
    }
}

/// A write transaction that takes the write lock at once on SQLite
/// (`BEGIN IMMEDIATE`): a transaction that reads before it writes could
/// otherwise fail when another connection commits in between.
pub(crate) async fn begin_write<'c>(
    conn: &'c mut sqlx::pool::PoolConnection<sqlx::Any>,
    backend: Backend,
) -> Result<sqlx::Transaction<'c, sqlx::Any>> {
    Ok(match backend {
        Backend::Sqlite => sqlx::Connection::begin_with(&mut **conn, "BEGIN IMMEDIATE").await?,
        Backend::Postgres => sqlx::Connection::begin(&mut **conn).await?,
    })
}

/// How long a writer waits for SQLite's write lock at most (the pool's
/// busy timeout).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// SQLite's "database is locked" (any of its extended codes).
fn is_busy(e: &StoreError) -> bool {
    let StoreError::Db(sqlx::Error::Database(db)) = e else {
        return false;
    };
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

/// The SQLite settings of the ingest's and the aggregator's connections:
/// no wait of SQLite's own for the write lock (they ask for it themselves,
/// see [`begin_polling!`]), and no checkpoint at the end of a commit. A
/// commit that finds the write-ahead log over 1 000 pages copies it into
/// the database file and syncs that before it returns: beside an import,
/// which keeps the log long, a live answer's commit took 22 ms at the p90
/// instead of 1.4. The aggregator checkpoints after each chunk of its
/// background rounds instead, still in the turn the ingest waits for
/// ([`Polling::release`]): a log that a checkpoint has caught up with is
/// started again from its beginning by the next commit, and beside a
/// checkpoint running at the same time as commits it never is (the log
/// grew to 840 MB under a 12 s load). Every other connection as before.
const NO_WAIT: &str = "PRAGMA busy_timeout = 0; PRAGMA wal_autocheckpoint = 0";
/// The pool's own settings (set as each connection opens).
pub(crate) const POOL_WAIT: &str = "PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 1000";

/// A pool connection with [`NO_WAIT`]'s settings while it is borrowed,
/// for [`begin_polling!`]; given back with the pool's by
/// [`release`](Self::release), or closed if dropped before (never back in
/// the pool without them).
pub(crate) struct Polling {
    conn: sqlx::pool::PoolConnection<sqlx::Any>,
    restored: bool,
    /// With `synchronous = FULL` (the pool's is `NORMAL`).
    durable: bool,
}

impl Polling {
    pub(crate) async fn acquire(pool: &AnyPool, backend: Backend) -> Result<Polling> {
        Polling::acquire_with(pool, backend, false).await
    }

    /// [`acquire`](Self::acquire), each commit synced to disk before it
    /// returns (on SQLite in WAL mode, `NORMAL` syncs only at checkpoints).
    async fn acquire_durable(pool: &AnyPool, backend: Backend) -> Result<Polling> {
        Polling::acquire_with(pool, backend, true).await
    }

    async fn acquire_with(pool: &AnyPool, backend: Backend, durable: bool) -> Result<Polling> {
        let sqlite = backend == Backend::Sqlite;
        let mut polling = Polling {
            conn: pool.acquire().await?,
            restored: !sqlite,
            durable: durable && sqlite,
        };
        if sqlite {
            let set = if polling.durable {
                format!("PRAGMA synchronous = FULL; {NO_WAIT}")
            } else {
                NO_WAIT.to_owned()
            };
            // Closed if this fails (dropped unrestored).
            sqlx::query(&set).execute(&mut *polling.conn).await?;
        }
        Ok(polling)
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::pool::PoolConnection<sqlx::Any> {
        &mut self.conn
    }

    /// Back to the pool with its settings; with `checkpoint`, after a
    /// passive checkpoint (it copies what no reader needs from the log
    /// into the database file, never waiting for a lock).
    pub(crate) async fn release(mut self, checkpoint: bool) {
        if self.restored {
            return;
        }
        let mut sql = String::new();
        if checkpoint {
            sql.push_str("PRAGMA wal_checkpoint(PASSIVE); ");
        }
        if self.durable {
            sql.push_str("PRAGMA synchronous = NORMAL; ");
        }
        sql.push_str(POOL_WAIT);
        if sqlx::query(&sql).execute(&mut *self.conn).await.is_ok() {
            self.restored = true;
        }
    }

    /// Closed, not given back (it may be what failed).
    fn close(mut self) {
        self.conn.close_on_drop();
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        if !self.restored {
            self.conn.close_on_drop();
        }
    }
}

/// A write transaction on a connection whose SQLite busy timeout is 0
/// ([`Polling`], the ingest's [`Held`]): on SQLite it asks for the write
/// lock every millisecond while another connection (an import, another
/// process on the same file) holds it, up to [`LOCK_WAIT`]. SQLite's own
/// wait retries at growing intervals of up to 100 ms, so an answer
/// arriving during an import's transaction often slept past the pause
/// after it and through the next (a p99 of 200 ms beside an incident
/// import). A macro: the transaction borrows the connection, which a
/// function's loop could not lend again after a failed try.
macro_rules! begin_polling {
    ($conn:expr, $backend:expr) => {{
        let started = std::time::Instant::now();
        loop {
            match begin_write($conn, $backend).await {
                Ok(tx) => break Ok::<_, StoreError>(tx),
                Err(e)
                    if $backend == Backend::Sqlite
                        && is_busy(&e)
                        && started.elapsed() < LOCK_WAIT =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                Err(e) => break Err(e),
            }
        }
    }};
}
use begin_polling;

/// The answers waiting for the ingest, shared by its writers (one on
/// SQLite, [`PG_WRITERS`] on PostgreSQL): each takes what is waiting as
/// its batch and lets the next writer take the answers arriving meanwhile.
type Queue = Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>;

/// The ingest's writers on PostgreSQL, in a pool of at least
/// [`PG_WRITERS_MIN_POOL`]: while one batch waits for its statements'
/// round trips and its commit, the next is written beside it. Two batches
/// meet only at row locks, each then seeing the other's outcome, and
/// every batch takes them in one order (see [`write_batch`]): its tokens'
/// `last_used_at` (once a minute) in token order, the removal of week-old
/// one-time keys, its invitations in the order of their digests, its
/// one-time keys in the same order, the comment counts of answers with
/// text in key order. A batch the database ends all the same (a deadlock
/// there is a bug, an unreachable database is not) is written again an
/// answer at a time and counted in `valvo_feedback_batches_split_total`.
/// The answers' aggregates are the aggregator's. On SQLite one writer: the
/// write lock admits one transaction at a time.
const PG_WRITERS: usize = 2;
const PG_WRITERS_MIN_POOL: u32 = 8;

/// Starts the ingest's writers. On SQLite its one writer runs on a thread
/// of its own: the driver runs each connection on a thread and wakes the
/// writer's task after every statement, and on the server's runtime a task
/// woken from outside waits in the runtime's shared queue, which a worker
/// busy with requests looks at only every 61 tasks. Measured under 64
/// clients, a batch's `BEGIN` took 440 µs and the whole batch 1.37 ms on
/// the server's runtime, 95 µs and 0.69 ms on its own thread. (Not on
/// PostgreSQL: its connections belong to the runtime that opened them.)
fn start_ingest(
    pool: &AnyPool,
    backend: Backend,
    trees: &Arc<crate::TreeCache>,
    shared: &std::sync::Weak<FeedbackShared>,
    rx: mpsc::Receiver<Job>,
) {
    let queue: Queue = Arc::new(tokio::sync::Mutex::new(rx));
    let writer = |queue: &Queue| {
        ingest_loop(
            pool.clone(),
            backend,
            trees.clone(),
            shared.clone(),
            queue.clone(),
        )
    };
    match backend {
        Backend::Sqlite => {
            let task = writer(&queue);
            // The runtime is made in the thread: one dropped here, in the
            // server's runtime, would panic.
            let server = tokio::runtime::Handle::current();
            let started = std::thread::Builder::new()
                .name("valvo-ingest".into())
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime.block_on(task),
                        Err(e) => {
                            tracing::warn!(error = %e, "the ingest runs on the server's runtime");
                            server.spawn(task);
                        }
                    }
                });
            if let Err(e) = started {
                // Slower, but answers are still written.
                tracing::warn!(error = %e, "the ingest runs on the server's runtime");
                tokio::spawn(writer(&queue));
            }
        }
        Backend::Postgres => {
            let writers = if pool.options().get_max_connections() >= PG_WRITERS_MIN_POOL {
                PG_WRITERS
            } else {
                1
            };
            for _ in 0..writers {
                tokio::spawn(writer(&queue));
            }
        }
    }
}

/// The answers waiting now (at least one, at most [`MAX_BATCH`]), or
/// `None` when the store is gone; `Some(empty)` when `idle` passed first,
/// counted from before the wait for the queue (another writer may hold it
/// waiting for answers meanwhile).
async fn next_batch(queue: &Queue, idle: Option<std::time::Duration>) -> Option<Vec<Job>> {
    let take = async {
        let mut rx = queue.lock().await;
        // Cancel-safe: a timeout here loses no answer.
        let first = rx.recv().await?;
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        Some(jobs)
    };
    match idle {
        Some(idle) => tokio::time::timeout(idle, take)
            .await
            .unwrap_or(Some(Vec::new())),
        None => take.await,
    }
}

async fn ingest_loop(
    pool: AnyPool,
    backend: Backend,
    trees: Arc<crate::TreeCache>,
    shared: std::sync::Weak<FeedbackShared>,
    queue: Queue,
) {
    let mut held = Held {
        conn: None,
        keep: pool.options().get_max_connections() >= HOLD_MIN_POOL,
    };
    loop {
        let idle = held.conn.is_some().then_some(HOLD_IDLE);
        let Some(jobs) = next_batch(&queue, idle).await else {
            break;
        };
        if jobs.is_empty() {
            held.release().await;
            continue;
        }
        let subs: Vec<&Submission> = jobs.iter().map(|j| &j.sub).collect();
        let gate = shared.upgrade();
        let _turn = match (&gate, backend) {
            (Some(s), Backend::Sqlite) => Some(s.sqlite_writer.lock().await),
            _ => None,
        };
        match write_batch(&pool, backend, &trees, &subs, &mut held).await {
            Ok(results) => {
                let written = results.iter().filter(|r| r.is_ok()).count();
                metrics::counter!("valvo_writes_total", "entity" => "feedback_answer", "action" => "create")
                    .increment(written as u64);
                for (job, r) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
            }
            Err(e) if jobs.len() == 1 => {
                // Its own error: a lost race is a 409 to retry, an
                // unreachable database a 503.
                if let Some(job) = jobs.into_iter().next() {
                    let _ = job.reply.send(Err(e));
                }
            }
            Err(e) => {
                // One at a time, so that one failure fails only its own
                // answer. Counted and logged: a batch ends so only when the
                // database failed it (unreachable, or two transactions
                // waiting for each other's row locks).
                metrics::counter!("valvo_feedback_batches_split_total").increment(1);
                tracing::warn!(error = %e, answers = jobs.len(), "feedback batch failed; written again one answer at a time");
                for job in jobs {
                    let r = match write_batch(&pool, backend, &trees, &[&job.sub], &mut held).await
                    {
                        Ok(mut v) => v.pop().unwrap_or(Err(StoreError::NotFound)),
                        Err(e) => Err(e),
                    };
                    let _ = job.reply.send(r);
                }
            }
        }
        if !held.keep {
            held.release().await;
        }
        if let Some(shared) = shared.upgrade() {
            shared.committed.notify_one();
        }
    }
    held.release().await;
}

/// Adds committed answers to the aggregates shortly after they arrive, many
/// at a time (answers of the same unit, month and background then cost one
/// row update together).
async fn aggregate_loop(pool: AnyPool, backend: Backend, shared: std::sync::Weak<FeedbackShared>) {
    loop {
        {
            let Some(s) = shared.upgrade() else { return };
            // Holding the state for at most a second: the loop ends soon after the store goes.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), s.committed.notified())
                .await;
        }
        // Let more batches arrive: the cost of a round is bounded by the
        // distinct keys it touches (this month's cells of the busy units),
        // not by the number of answers, so fewer, larger rounds are cheaper.
        // Statistics never wait for it: they catch up first.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let Some(s) = shared.upgrade() else { return };
        if let Err(e) = aggregate_pending(&pool, backend, &s, Round::Skip).await {
            tracing::error!(error = %e, "feedback aggregation failed; retried on the next round");
        }
    }
}

/// Most pending answers added to the aggregates in one transaction.
const AGGREGATE_CHUNK: i64 = 20_000;
/// The same on SQLite, where the transaction holds the only write lock:
/// answers arriving meanwhile wait for it, so it is kept short (about
/// 20 ms), the ingest taking its turn between chunks.
const AGGREGATE_CHUNK_SQLITE: i64 = 1_000;

/// How a round of aggregation treats answers another transaction (another
/// instance's aggregator) is adding up at the same moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Round {
    /// The background aggregator: skips them (`SKIP LOCKED`); they are
    /// being added already.
    Skip,
    /// A read that must include every answer acknowledged before it began:
    /// waits for them, then finds them added (or adds what is left).
    Wait,
}

/// Adds the answers pending when the call began to the aggregates; returns
/// how many it added. Answers that arrive meanwhile are left to the next
/// round, so a round ends however fast answers keep coming. Each chunk is
/// one transaction: the answers' rows are locked in id order, their
/// aggregate rows changed in key order, and the answers marked done in it.
async fn aggregate_pending(
    pool: &AnyPool,
    backend: Backend,
    shared: &FeedbackShared,
    round: Round,
) -> Result<usize> {
    use std::sync::atomic::Ordering::SeqCst;
    // A round that begins after this moment reads every answer
    // acknowledged before it.
    let arrived = shared.rounds_begun.load(SeqCst);
    // A plain read first: no write lock is asked for when nothing waits.
    let waiting: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM feedback_answers WHERE pending = 1")
            .fetch_one(pool)
            .await?;
    if waiting.is_none() {
        return Ok(0);
    }
    let _one_at_a_time = shared.agg_lock.lock().await;
    // A round that waits for locked rows, or any round on SQLite (one
    // writer: nothing is skipped), leaves nothing pending that was there
    // when it began.
    let covers = round == Round::Wait || backend == Backend::Sqlite;
    if round == Round::Wait && shared.rounds_done.load(SeqCst) > arrived {
        // One began after this read arrived and has finished.
        return Ok(0);
    }
    let number = if covers {
        shared.rounds_begun.fetch_add(1, SeqCst) + 1
    } else {
        0
    };
    let upto: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM feedback_answers WHERE pending = 1")
            .fetch_one(pool)
            .await?;
    let Some(upto) = upto else {
        if covers {
            shared.rounds_done.fetch_max(number, SeqCst);
        }
        return Ok(0);
    };
    let lock = match (backend, round) {
        (Backend::Postgres, Round::Skip) => " FOR NO KEY UPDATE SKIP LOCKED",
        (Backend::Postgres, Round::Wait) => " FOR NO KEY UPDATE",
        (Backend::Sqlite, _) => "",
    };
    let chunk = match backend {
        Backend::Sqlite => AGGREGATE_CHUNK_SQLITE,
        Backend::Postgres => AGGREGATE_CHUNK,
    };
    let select = format!(
        "SELECT id, org_unit_id, month, channel, service_lang, age_group, respondent, nps, scores, has_text \
         FROM feedback_answers WHERE pending = 1 AND id <= $1 ORDER BY id LIMIT {chunk}{lock}"
    );
    let mut total = 0;
    loop {
        let started = std::time::Instant::now();
        // On SQLite the chunk is read and counted before the write lock is
        // asked for (the ingest waits for that lock, not for reads), and
        // claimed in it by the conditional update below: if another
        // process added some of these answers meanwhile, nothing is
        // written and the chunk is read again. On PostgreSQL its rows are
        // locked as they are read.
        let mut conn;
        let (rows, counted, mut tx) = match backend {
            Backend::Sqlite => {
                // Back to the pool before the write's own is asked for (a
                // pool of two would otherwise wait for itself).
                let mut read = pool.acquire().await?;
                let rows = sqlx::query(&select)
                    .bind(upto)
                    .fetch_all(&mut *read)
                    .await?;
                let counted = count_chunk(&mut read, &rows).await?;
                (rows.len(), counted, None)
            }
            Backend::Postgres => {
                conn = pool.acquire().await?;
                let mut tx = begin_write(&mut conn, backend).await?;
                let rows = sqlx::query(&select).bind(upto).fetch_all(&mut *tx).await?;
                let counted = count_chunk(&mut tx, &rows).await?;
                (rows.len(), counted, Some(tx))
            }
        };
        let read = started.elapsed();
        if rows == 0 {
            if let Some(tx) = tx {
                tx.commit().await?;
            }
            if covers {
                shared.rounds_done.fetch_max(number, SeqCst);
            }
            return Ok(total);
        }
        let _turn = match backend {
            Backend::Sqlite => Some(shared.sqlite_writer.lock().await),
            Backend::Postgres => None,
        };
        let locked = std::time::Instant::now();
        let mut wconn = None;
        let mut tx = match tx.take() {
            Some(tx) => tx,
            None => {
                let w = wconn.insert(Polling::acquire(pool, backend).await?);
                begin_polling!(w.conn(), backend)?
            }
        };
        let keys = counted.agg.len();
        // Claimed: still pending (on PostgreSQL always, the rows locked).
        let mut claimed = 0;
        for chunk in counted.ids.chunks(100) {
            let list = crate::write::placeholders(1, chunk.len());
            let sql = format!(
                "UPDATE feedback_answers SET pending = 0 WHERE id IN ({list}) AND pending = 1"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            claimed += q.execute(&mut *tx).await?.rows_affected();
        }
        if claimed != counted.ids.len() as u64 {
            tx.rollback().await?;
            if let Some(w) = wconn {
                w.release(false).await;
            }
            tracing::debug!(
                answers = counted.ids.len(),
                claimed,
                "feedback aggregation chunk added meanwhile by another process; read again"
            );
            continue;
        }
        upsert_rows(&mut tx, counted.agg).await?;
        crate::comparison::upsert(&mut tx, None, counted.strata).await?;
        tx.commit().await?;
        if let Some(w) = wconn {
            // The background aggregator's rounds, not a reader's; in its
            // turn, so that the checkpoint can catch up with the log and
            // the ingest's next commit start it again from the beginning.
            w.release(round == Round::Skip).await;
        }
        tracing::debug!(
            answers = counted.ids.len(),
            keys,
            read_ms = read.as_secs_f64() * 1000.0,
            write_ms = locked.elapsed().as_secs_f64() * 1000.0,
            "feedback aggregation round"
        );
        total += counted.ids.len();
    }
}

/// A chunk of pending answers counted: their ids, and the aggregate and
/// stratum rows they add (in the key order they are written in).
struct Counted {
    ids: Vec<i64>,
    agg: Vec<(AggKey, Counts)>,
    strata: crate::comparison::StrataRows,
}

/// Counts pending answers' rows (`id, org_unit_id, month, channel,
/// service_lang, age_group, respondent, nps, scores, has_text`) for the
/// unit and every unit above it.
async fn count_chunk(conn: &mut AnyConnection, rows: &[AnyRow]) -> Result<Counted> {
    let mut own: std::collections::HashMap<AggKey, Counts> = std::collections::HashMap::new();
    let mut ids = Vec::with_capacity(rows.len());
    let mut answers = Vec::with_capacity(rows.len());
    for r in rows {
        ids.push(r.try_get::<i64, _>("id")?);
        let org: i64 = r.try_get("org_unit_id")?;
        let month: String = r.try_get("month")?;
        let channel: String = r.try_get("channel")?;
        let channel = Channel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?;
        let lang: Option<String> = r.try_get("service_lang")?;
        let respondent: Option<String> = r.try_get("respondent")?;
        let age_group: Option<String> = r.try_get("age_group")?;
        let answer = Answer {
            nps: r
                .try_get::<Option<i64>, _>("nps")?
                .and_then(|n| u8::try_from(n).ok()),
            scores: parse_scores(&r.try_get::<String, _>("scores")?)?,
            text: (r.try_get::<i64, _>("has_text")? != 0).then(String::new),
            service_lang: lang.as_deref().and_then(ServiceLang::parse),
            age_group: age_group.as_deref().and_then(AgeGroup::parse),
            respondent: respondent.as_deref().and_then(Respondent::parse),
            service_date: None,
            contact: None,
        };
        // Merged per unit and month first, spread to ancestors and
        // periods after: most answers of a round share their keys.
        for c in answer.cells(channel) {
            own.entry((org, month.clone(), c.dims, c.item))
                .or_default()
                .add(&c.counts);
        }
        answers.push((org, month, answer));
    }
    let scopes = scopes_of(conn, own.keys().map(|k| k.0)).await?;
    let mut merged: BTreeMap<AggKey, Counts> = BTreeMap::new();
    let mut cells = Vec::new();
    for ((org, month, dims, item), counts) in own {
        let up = scopes.get(&org).map(Vec::as_slice).unwrap_or(&[]);
        scoped_cells(up, &month, vec![Cell { dims, item, counts }], &mut cells);
        for (scope, month, c) in cells.drain(..) {
            merged
                .entry((scope, month, c.dims, c.item))
                .or_default()
                .add(&c.counts);
        }
    }
    Ok(Counted {
        ids,
        agg: merged.into_iter().collect(),
        strata: strata_of(&scopes, answers.iter().map(|(o, m, a)| (*o, m.as_str(), a))),
    })
}

/// Dates as `YYYY-MM-DD` in JSON.
mod iso_date {
    pub fn serialize<S: serde::Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(d)
    }

    pub mod option {
        pub fn serialize<S: serde::Serializer>(
            d: &Option<time::Date>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.collect_str(d),
                None => s.serialize_none(),
            }
        }
    }
}

/// A case in the handling queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedbackCase {
    /// Id.
    pub id: i64,
    /// The unit it is with now.
    pub org_unit_id: i64,
    /// The answer it came from (feedback with text).
    pub answer_id: Option<i64>,
    /// Kind.
    pub kind: CaseKind,
    /// State.
    pub state: CaseState,
    /// When received.
    #[serde(with = "iso_date")]
    pub received_on: time::Date,
    /// When due.
    #[serde(with = "iso_date")]
    pub due_on: time::Date,
    /// The text.
    pub text: String,
    /// Contact details left by the sender.
    pub contact: Option<String>,
    /// Tags given by handlers.
    pub tags: Vec<String>,
    /// Handler's note.
    pub note: String,
    /// The reply sent to the sender.
    pub reply: String,
    /// When replied.
    #[serde(with = "iso_date::option")]
    pub replied_on: Option<time::Date>,
    /// The unit it was re-routed from, if any.
    pub routed_from: Option<i64>,
    /// When handled.
    #[serde(with = "iso_date::option")]
    pub handled_on: Option<time::Date>,
    /// The answer's figures, for feedback.
    pub nps: Option<u8>,
    /// Language of the text (fi, sv, en, other), from the text analysis.
    pub text_lang: Option<String>,
    /// Sentiment of the text (positive, negative, mixed, neutral).
    pub sentiment: Option<String>,
    /// Topic ids of the text.
    pub topics: Vec<String>,
    /// The text with personal data replaced by markers.
    pub redacted: String,
}

/// A handler's change to a case; `None` fields stay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseUpdate {
    /// New state.
    pub state: Option<CaseState>,
    /// Tags (comma separated).
    pub tags: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// The reply to the sender (needs contact details).
    pub reply: Option<String>,
    /// Re-route to another unit.
    pub route_to: Option<i64>,
}

const CASE_COLS: &str = "c.id, c.org_unit_id, c.answer_id, c.kind, c.state, c.received_on, c.due_on, c.text, c.contact, \
     c.tags, c.note, c.reply, c.replied_on, c.routed_from, c.handled_on, a.nps, c.text_lang, c.sentiment, c.topics, c.redacted";

fn case_row(row: &AnyRow) -> Result<FeedbackCase> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let tags: String = row.try_get("tags")?;
    let opt_date = |col: &str| -> Result<Option<time::Date>> {
        row.try_get::<Option<String>, _>(col)?
            .map(|s| date(&s))
            .transpose()
    };
    Ok(FeedbackCase {
        id: row.try_get("id")?,
        org_unit_id: row.try_get("org_unit_id")?,
        answer_id: row.try_get("answer_id")?,
        kind: CaseKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        state: CaseState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        received_on: date(&row.try_get::<String, _>("received_on")?)?,
        due_on: date(&row.try_get::<String, _>("due_on")?)?,
        text: row.try_get("text")?,
        contact: row.try_get("contact")?,
        tags: tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        note: row.try_get("note")?,
        reply: row.try_get("reply")?,
        replied_on: opt_date("replied_on")?,
        routed_from: row.try_get("routed_from")?,
        handled_on: opt_date("handled_on")?,
        nps: row
            .try_get::<Option<i64>, _>("nps")?
            .and_then(|n| u8::try_from(n).ok()),
        text_lang: row.try_get("text_lang")?,
        sentiment: row.try_get("sentiment")?,
        topics: row
            .try_get::<String, _>("topics")?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        redacted: row.try_get("redacted")?,
    })
}

async fn case_in(conn: &mut AnyConnection, id: i64) -> Result<FeedbackCase> {
    let row = sqlx::query(&format!(
        "SELECT {CASE_COLS} FROM feedback_cases c LEFT JOIN feedback_answers a ON a.id = c.answer_id WHERE c.id = $1 AND {}",
        crate::write::visible("c.")
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(case_row)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

/// Statistics of a subtree and period (see [`Store::feedback_stats`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedbackStats {
    /// The subtree's root.
    pub org_unit_id: i64,
    /// The period.
    pub period: Period,
    /// The previous period of the same kind.
    pub previous: Option<Period>,
    /// The filter applied.
    pub filter: Filter,
    /// Figures of the period.
    pub current: Summary,
    /// Figures of the previous period.
    pub prev: Summary,
    /// By language of service (fi, sv, other, not given): current and previous.
    pub by_lang: Vec<Breakdown>,
    /// By channel.
    pub by_channel: Vec<Breakdown>,
    /// By respondent type (client, relative, not given).
    pub by_respondent: Vec<Breakdown>,
    /// Per child unit.
    pub by_child: Vec<ChildFigures>,
    /// NPS and answers per calendar year, oldest first (up to the period's year).
    pub trend: Vec<YearFigures>,
    /// Finnish versus Swedish service.
    pub lang_gap: Option<LangGap>,
    /// What the comments are about and how they feel (not filtered by the
    /// background filter): this period.
    pub topics: Vec<TopicFigures>,
    /// The same for the previous period.
    pub topics_prev: Vec<TopicFigures>,
}

/// One value of a breakdown dimension.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Breakdown {
    /// The value's code (`""` for not given).
    pub key: String,
    /// This period.
    pub current: Summary,
    /// The previous period.
    pub prev: Summary,
}

/// A child unit's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChildFigures {
    /// The child.
    pub org_unit_id: i64,
    /// This period.
    pub current: Summary,
    /// The previous period.
    pub prev: Summary,
}

/// One year of the trend.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct YearFigures {
    /// The year.
    pub year: i32,
    /// Answers.
    pub answers: u64,
    /// NPS.
    pub nps: NpsStats,
}

#[allow(clippy::too_many_arguments)]
fn breakdown<K: Copy + PartialEq>(
    cur: &[Cell],
    prev: &[Cell],
    survey: &SurveyDef,
    values: &[Option<K>],
    code: fn(K) -> &'static str,
    set: fn(&mut Filter, Option<K>),
    get: fn(&Dims) -> Option<K>,
    base: &Filter,
) -> Vec<Breakdown> {
    values
        .iter()
        .map(|v| {
            let keep = |c: &&Cell| get(&c.dims) == *v;
            let mut f = *base;
            set(&mut f, None);
            Breakdown {
                key: v.map(code).unwrap_or("").to_owned(),
                current: Tally::from_cells(cur.iter().filter(keep), &f).summary(survey),
                prev: Tally::from_cells(prev.iter().filter(keep), &f).summary(survey),
            }
        })
        .filter(|b| b.current.answers > 0 || b.prev.answers > 0)
        .collect()
}

impl Store {
    fn ingest(&self) -> &mpsc::Sender<Job> {
        self.feedback.ingest.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
            let shared = Arc::downgrade(&self.feedback);
            start_ingest(&self.pool, self.backend, &self.tree_cache, &shared, rx);
            tokio::spawn(aggregate_loop(self.pool.clone(), self.backend, shared));
            tx
        })
    }

    /// Where the intake of answers stands, for `/metrics`.
    pub async fn ingest_state(&self) -> Result<IngestState> {
        let queued = self
            .feedback
            .ingest
            .get()
            .map(|tx| tx.max_capacity() - tx.capacity())
            .unwrap_or(0);
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(received_at) AS oldest FROM feedback_answers WHERE pending = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        let pending: i64 = row.try_get("n")?;
        let oldest: Option<String> = row.try_get("oldest")?;
        let lag = oldest
            .and_then(|t| {
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| {
                (time::OffsetDateTime::now_utc() - t)
                    .as_seconds_f64()
                    .max(0.0)
            })
            .unwrap_or(0.0);
        Ok(IngestState {
            queued,
            pending: pending.max(0) as u64,
            lag_seconds: lag,
        })
    }

    /// The number of answers given to `units` (for the benchmark).
    pub async fn count_answers(&self, units: &[i64]) -> Result<usize> {
        self.count_in_units("feedback_answers", units).await
    }

    /// The number of incident reports of `units` (for the benchmark).
    pub async fn count_incidents(&self, units: &[i64]) -> Result<usize> {
        self.count_in_units("incidents", units).await
    }

    async fn count_in_units(&self, table: &str, units: &[i64]) -> Result<usize> {
        if units.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE org_unit_id IN ({})",
            values(1, units.len()).trim_matches(|c| c == '(' || c == ')')
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for u in units {
            q = q.bind(*u);
        }
        Ok(q.fetch_one(&self.pool).await?.max(0) as usize)
    }

    /// Adds answers still waiting for the aggregator, so that statistics
    /// include every acknowledged answer.
    pub async fn feedback_catch_up(&self) -> Result<usize> {
        aggregate_pending(&self.pool, self.backend, &self.feedback, Round::Wait).await
    }

    /// Takes in an answer; returns when it is committed to disk. Answers
    /// arriving together are committed together.
    pub async fn submit_answer(&self, sub: Submission) -> Result<Submitted> {
        let (reply, rx) = oneshot::channel();
        self.ingest()
            .send(Job { sub, reply })
            .await
            .map_err(|_| StoreError::Corrupt("feedback ingest stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Corrupt("feedback ingest stopped".into()))?
    }

    /// Whether a form with this one-time key was saved (within the week
    /// the keys are kept).
    pub async fn form_sent(&self, key: &str) -> Result<bool> {
        self.form_sent_within(key, 7 * 24 * 3600).await
    }

    /// Whether a form with this one-time key was saved in the last
    /// `seconds`.
    pub async fn form_sent_within(&self, key: &str, seconds: i64) -> Result<bool> {
        let since = (time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let row = sqlx::query(
            "SELECT 1 AS one FROM form_submissions WHERE key_hash = $1 AND created_at >= $2",
        )
        .bind(crate::incidents::digest(key))
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// The current survey version (the national default until a county
    /// changes it).
    pub async fn current_survey(&self) -> Result<SurveyVersion> {
        let mut conn = self.pool.acquire().await?;
        survey_in(&mut conn).await
    }

    /// Every survey version, newest first.
    pub async fn survey_versions(&self) -> Result<Vec<(i64, String, String)>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT version, created_at, created_by FROM surveys ORDER BY version DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Adds a statement of the service's own: a new survey version (earlier
    /// versions and their answers stay as they were). `county` (a county's
    /// code) makes it that county's own, asked only of its units'
    /// respondents; `None` asks it in every county. Kept as the lists are
    /// ([`Principal::may_configure_lists`]): a county's by its own
    /// administrators and coordinators and those without a scope, the
    /// shared ones by those without a scope.
    pub async fn add_survey_statement(
        &self,
        p: &Principal,
        key: &str,
        text: I18nText,
        county: Option<&str>,
    ) -> Result<SurveyVersion> {
        // Two counties adding at once on PostgreSQL both read version N; the
        // second one's insert of N + 1 conflicts. Its addition is made again
        // on the version that won (where its key may now be taken: 422).
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.add_statement_once(p, key, &text, county).await {
                Err(StoreError::Conflict(c)) if c == "survey_version" && attempt < 5 => continue,
                other => return other,
            }
        }
    }

    async fn add_statement_once(
        &self,
        p: &Principal,
        key: &str,
        text: &I18nText,
        county: Option<&str>,
    ) -> Result<SurveyVersion> {
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        let county_id = match county {
            None => None,
            Some(code) => match tree.roots().iter().find(|r| r.code == code) {
                Some(r) => Some(r.id),
                None => return Err(invalid("county", ErrorCode::NotFound)),
            },
        };
        if !p.may_configure_lists(&tree, county_id) {
            return Err(StoreError::Forbidden);
        }
        // The version row's uniqueness orders two additions at once: the
        // second one's insert conflicts, and nothing is half-written.
        let current = survey_in(&mut tx).await?;
        let def = current
            .def
            .with_statement(key, text.clone(), county.map(str::to_string))
            .map_err(StoreError::Invalid)?;
        let json = serde_json::to_string(&def).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let version = current.version + 1;
        let row = sqlx::query(
            "INSERT INTO surveys (version, definition, created_at, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(version)
        .bind(&json)
        .bind(now())
        .bind(&p.label)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if crate::is_unique_violation(&e) {
                StoreError::Conflict("survey_version".into())
            } else {
                StoreError::Db(e)
            }
        })?;
        let id: i64 = row.try_get("id")?;
        audit(
            &mut tx,
            p,
            "create",
            "survey",
            &version.to_string(),
            None,
            None,
            Some(serde_json::json!({ "added_statement": key.trim(), "county": county })),
        )
        .await?;
        tx.commit().await?;
        Ok(SurveyVersion { id, version, def })
    }

    /// Creates `count` one-time invitations for a unit and service date,
    /// valid for `valid_days`; returns the tokens (only their hashes are kept).
    pub async fn create_invitations(
        &self,
        p: &Principal,
        org: i64,
        service_date: time::Date,
        count: usize,
        valid_days: i64,
        today: time::Date,
    ) -> Result<Vec<String>> {
        let mut errors = Vec::new();
        if !(1..=10_000).contains(&count) {
            errors.push(FieldError::new("count", ErrorCode::OutOfRange));
        }
        if !(1..=365).contains(&valid_days) {
            errors.push(FieldError::new("valid_days", ErrorCode::OutOfRange));
        }
        if service_date > today {
            errors.push(FieldError::new("service_date", ErrorCode::OutOfRange));
        }
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        if tree.get(org).is_none() {
            errors.push(FieldError::new("org_unit", ErrorCode::Invalid));
        } else if !p.can_write(&tree, org) {
            return Err(StoreError::Forbidden);
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let tokens: Vec<String> = (0..count).map(|_| new_token()).collect();
        let expires = today
            .saturating_add(time::Duration::days(valid_days))
            .to_string();
        let at = now();
        for chunk in tokens.chunks(20) {
            let sql = format!(
                "INSERT INTO feedback_invitations (token_hash, org_unit_id, service_date, created_at, expires_on) VALUES {}",
                values(chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for t in chunk {
                q = q
                    .bind(digest(t))
                    .bind(org)
                    .bind(service_date.to_string())
                    .bind(at.clone())
                    .bind(expires.clone());
            }
            q.execute(&mut *tx).await?;
        }
        audit(
            &mut tx,
            p,
            "create",
            "feedback_invitations",
            &format!("{count}"),
            Some(org),
            None,
            Some(serde_json::json!({ "count": count, "service_date": service_date.to_string() })),
        )
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// What an invitation token is bound to: unit, service date, and whether
    /// it is still usable (`None` for an unknown token).
    pub async fn invitation(
        &self,
        token: &str,
        today: time::Date,
    ) -> Result<Option<(i64, time::Date, bool)>> {
        let row = sqlx::query(
            "SELECT org_unit_id, service_date, used_at, expires_on FROM feedback_invitations WHERE token_hash = $1",
        )
        .bind(digest(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let used: Option<String> = row.try_get("used_at")?;
        let expires = date(&row.try_get::<String, _>("expires_on")?)?;
        Ok(Some((
            row.try_get("org_unit_id")?,
            date(&row.try_get::<String, _>("service_date")?)?,
            used.is_none() && expires >= today,
        )))
    }

    /// Loads answers in bulk (a migration from another system, or the
    /// benchmark): multi-row inserts and one aggregate update per key, in one
    /// transaction; no handling cases are made. Administrators only.
    pub async fn load_answers(
        &self,
        p: &Principal,
        rows: &[(i64, Answer, Channel)],
        today: time::Date,
    ) -> Result<usize> {
        if !p.can_administer() {
            return Err(StoreError::Forbidden);
        }
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        let survey = survey_in(&mut tx).await?;
        let mut merged: std::collections::HashMap<AggKey, Counts> =
            std::collections::HashMap::new();
        let mut cells = Vec::new();
        let mut scopes = BTreeMap::new();
        let mut months = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(crate::import::statement_rows(&tx, ANSWER_COLS)) {
            let sql = crate::import::multi_row(&tx, ANSWER_INSERT, chunk.len(), ANSWER_COLS, "");
            let mut q = sqlx::query(&sql);
            for (org, a, channel) in chunk {
                if tree.get(*org).is_none() {
                    return Err(invalid("org_unit", ErrorCode::Invalid));
                }
                let refused = survey.def.not_asked(a, tree.county_code(*org));
                if !refused.is_empty() {
                    return Err(StoreError::Invalid(
                        refused
                            .into_iter()
                            .map(|k| FieldError::new(format!("scores.{k}"), ErrorCode::Invalid))
                            .collect(),
                    ));
                }
                let month = month_of(a.service_date.unwrap_or(today)).to_string();
                // The unit first, its county last (as `strata_of` reads them).
                let up = scopes.entry(*org).or_insert_with(|| {
                    let mut up = vec![*org];
                    up.extend(tree.ancestors(*org).iter().rev().map(|n| n.id));
                    up
                });
                scoped_cells(up, &month, a.cells(*channel), &mut cells);
                months.push(month);
                q = bind_answer(q, survey.id, *org, None, a, *channel, today, false);
            }
            q.execute(&mut *tx).await?;
            for (scope, month, c) in cells.drain(..) {
                merged
                    .entry((scope, month, c.dims, c.item))
                    .or_default()
                    .add(&c.counts);
            }
        }
        let mut agg: Vec<(AggKey, Counts)> = merged.into_iter().collect();
        agg.sort_by(|a, b| a.0.cmp(&b.0));
        upsert_rows(&mut tx, agg).await?;
        let strata = strata_of(
            &scopes,
            rows.iter()
                .zip(&months)
                .map(|((org, a, _), month)| (*org, month.as_str(), a)),
        );
        crate::comparison::upsert(&mut tx, None, strata).await?;
        audit(
            &mut tx,
            p,
            "import",
            "feedback_answers",
            &format!("{} answers", rows.len()),
            None,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Statistics of the subtree under `scope` for `period` with `filter`,
    /// beside the previous period: totals, breakdowns by language, channel,
    /// respondent type and child unit, the yearly trend and the
    /// Finnish–Swedish gap. Read from the aggregates only.
    pub async fn feedback_stats(
        &self,
        tree: &OrgTree,
        scope: i64,
        period: Period,
        filter: Filter,
    ) -> Result<FeedbackStats> {
        if tree.get(scope).is_none() {
            return Err(StoreError::NotFound);
        }
        self.feedback_catch_up().await?;
        // Every statement in one snapshot, so the totals, the breakdowns
        // and the children (each its own sums) agree with each other. It
        // writes nothing (not even the first survey, see survey_def_in):
        // a write there would fail against a concurrent writer's.
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await?;
        }
        let stats = stats_in(&mut tx, tree, scope, period, filter).await?;
        tx.commit().await?;
        Ok(stats)
    }

    /// The aggregate rows kept: by background (`feedback_agg`) and summed
    /// over it (`feedback_totals`), for the benchmark's account of how
    /// they grow.
    pub async fn feedback_row_counts(&self) -> Result<(i64, i64, i64)> {
        let agg: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM feedback_agg")
            .fetch_one(&self.pool)
            .await?;
        let totals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM feedback_totals")
            .fetch_one(&self.pool)
            .await?;
        let strata: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM feedback_strata")
            .fetch_one(&self.pool)
            .await?;
        Ok((agg, totals, strata))
    }

    /// The breakdown groups of public figures, in [`Store::unit_figures`]
    /// order: the codes of each dimension's values (`""` for not given).
    pub fn public_groups() -> [Vec<&'static str>; 3] {
        [
            ServiceLang::ALL
                .iter()
                .map(|l| l.code())
                .chain([""])
                .collect(),
            Channel::ALL.iter().map(|c| c.code()).collect(),
            Respondent::ALL
                .iter()
                .map(|r| r.code())
                .chain([""])
                .collect(),
        ]
    }

    /// Every unit's figures of `period` in the subtree of `root`, without a
    /// filter: the total and each breakdown's groups in
    /// [`Store::public_groups`] order, for the public release
    /// ([`valvo_core::disclosure::protect_tree`]). One query for the subtree.
    pub async fn unit_figures(
        &self,
        tree: &OrgTree,
        root: i64,
        period: &Period,
    ) -> Result<BTreeMap<i64, valvo_core::disclosure::UnitFigures>> {
        self.feedback_catch_up().await?;
        let mut conn = self.pool.acquire().await?;
        let survey = survey_def_in(&mut conn, tree.county_code(root)).await?;
        let scopes = tree.subtree_ids(root);
        let cells = agg_cells_in(&mut conn, &scopes, period).await?;
        let none = Filter::default();
        let mut out = BTreeMap::new();
        for scope in scopes {
            let c = cells.get(&scope).map(Vec::as_slice).unwrap_or(&[]);
            let sum = |keep: &dyn Fn(&Dims) -> bool| {
                Tally::from_cells(c.iter().filter(|x| keep(&x.dims)), &none).summary(&survey)
            };
            let langs: Vec<Option<ServiceLang>> = ServiceLang::ALL
                .iter()
                .copied()
                .map(Some)
                .chain([None])
                .collect();
            let resps: Vec<Option<Respondent>> = Respondent::ALL
                .iter()
                .copied()
                .map(Some)
                .chain([None])
                .collect();
            let dims = vec![
                langs.iter().map(|v| sum(&|d| d.lang == *v)).collect(),
                Channel::ALL
                    .iter()
                    .map(|v| sum(&|d| d.channel == Some(*v)))
                    .collect(),
                resps.iter().map(|v| sum(&|d| d.respondent == *v)).collect(),
            ];
            out.insert(
                scope,
                valvo_core::disclosure::UnitFigures {
                    total: sum(&|_| true),
                    dims,
                },
            );
        }
        Ok(out)
    }

    /// The answers and the answers to the recommendation question of each
    /// tertial of the subtree under `scope`, by tertial (for the public trend).
    pub async fn tertial_totals(&self, scope: i64) -> Result<BTreeMap<Period, (u64, u64)>> {
        let mut conn = self.pool.acquire().await?;
        tertial_totals_in(&mut conn, scope).await
    }

    /// Records a remark or complaint (or feedback received otherwise) for a unit.
    pub async fn create_case(&self, p: &Principal, org: i64, case: &NewCase) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        if tree.get(org).is_none() {
            return Err(invalid("org_unit", ErrorCode::NotFound));
        }
        if !p.can_write(&tree, org) {
            return Err(StoreError::Forbidden);
        }
        let analysis = valvo_text::analyze(&case.text);
        let row = sqlx::query(
            "INSERT INTO feedback_cases (org_unit_id, kind, state, received_on, due_on, text, contact, created_at, \
             text_lang, sentiment, topics, redacted) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(org)
        .bind(case.kind.code())
        .bind(CaseState::New.code())
        .bind(case.received_on.to_string())
        .bind(case.due_on.to_string())
        .bind(&case.text)
        .bind(case.contact.clone())
        .bind(now())
        .bind(analysis.language.code())
        .bind(sentiment_code(analysis.sentiment))
        .bind(analysis.topics.join(","))
        .bind(&analysis.redacted)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        audit(
            &mut tx,
            p,
            "create",
            "feedback_case",
            &id.to_string(),
            Some(org),
            None,
            Some(serde_json::json!({ "kind": case.kind, "due_on": case.due_on.to_string() })),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The open cases of the units `p` handles, most urgent first.
    pub async fn feedback_queue(
        &self,
        p: &Principal,
        today: time::Date,
        limit: i64,
    ) -> Result<Vec<FeedbackCase>> {
        let mut conn = self.pool.acquire().await?;
        let tree = self.tree_in(&mut conn).await?;
        let units: Vec<i64> = tree
            .walk()
            .into_iter()
            .map(|(_, n)| n.id)
            .filter(|id| p.can_write(&tree, *id))
            .collect();
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let ids = (0..units.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {CASE_COLS} FROM feedback_cases c LEFT JOIN feedback_answers a ON a.id = c.answer_id \
             WHERE c.state <> $1 AND c.org_unit_id IN ({ids}) AND {} ORDER BY c.due_on LIMIT {}",
            crate::write::visible("c."),
            limit.clamp(1, 10_000)
        );
        let mut q = sqlx::query(&sql).bind(CaseState::Handled.code());
        for u in &units {
            q = q.bind(*u);
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let mut list = rows.iter().map(case_row).collect::<Result<Vec<_>>>()?;
        list.sort_by_key(|c| case_urgency(c.kind, c.due_on, c.received_on, today));
        Ok(list)
    }

    /// What handlers have decided about where feedback belongs: the text and
    /// final unit of handled and re-routed cases, newest first (at most
    /// `limit`). The routing suggestion learns from these.
    pub async fn routing_examples(&self, limit: i64) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT text, org_unit_id FROM feedback_cases \
             WHERE (state = $1 OR routed_from IS NOT NULL) AND {} ORDER BY id DESC LIMIT {}",
            crate::write::visible(""),
            limit.clamp(1, 100_000)
        ))
        .bind(CaseState::Handled.code())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// A case, for those who handle its unit.
    pub async fn feedback_case(&self, p: &Principal, id: i64) -> Result<FeedbackCase> {
        let mut conn = self.pool.acquire().await?;
        let tree = self.tree_in(&mut conn).await?;
        let case = case_in(&mut conn, id).await?;
        if !p.can_write(&tree, case.org_unit_id) {
            return Err(StoreError::NotFound);
        }
        Ok(case)
    }

    /// A handler's change: tags, note, reply, state, re-routing to another
    /// unit (which takes it into its queue as new).
    pub async fn update_case(
        &self,
        p: &Principal,
        id: i64,
        u: &CaseUpdate,
        today: time::Date,
    ) -> Result<FeedbackCase> {
        let mut tx = self.begin_write().await?;
        // The case is changed from the state it is in (two handlers at once: one after the other).
        crate::write::lock_row(&mut tx, "feedback_cases", id).await?;
        let tree = self.tree_in(&mut tx).await?;
        let before = case_in(&mut tx, id).await?;
        if !p.can_write(&tree, before.org_unit_id) {
            return Err(StoreError::NotFound);
        }
        let mut errors = Vec::new();
        for (field, v, max) in [
            ("tags", &u.tags, MAX_SHORT),
            ("note", &u.note, MAX_TEXT),
            ("reply", &u.reply, MAX_TEXT),
        ] {
            if v.as_ref().is_some_and(|s| s.chars().count() > max) {
                errors.push(FieldError::new(field, ErrorCode::TooLong));
            }
        }
        let reply = u.reply.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if reply.is_some() && before.contact.is_none() {
            errors.push(FieldError::new("reply", ErrorCode::StateConflict));
        }
        if let Some(to) = u.route_to {
            if tree.get(to).is_none() {
                errors.push(FieldError::new("route_to", ErrorCode::NotFound));
            } else if to == before.org_unit_id {
                errors.push(FieldError::new("route_to", ErrorCode::StateConflict));
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let mut after = before.clone();
        if let Some(tags) = &u.tags {
            after.tags = tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(note) = &u.note {
            after.note = note.trim().to_owned();
        }
        if let Some(r) = reply {
            after.reply = r.to_owned();
            after.replied_on = Some(today);
        }
        if let Some(state) = u.state {
            after.state = state;
            after.handled_on = (state == CaseState::Handled).then_some(today);
        }
        if let Some(to) = u.route_to {
            after.routed_from = Some(before.org_unit_id);
            after.org_unit_id = to;
            after.state = CaseState::New;
            after.handled_on = None;
        }
        sqlx::query(
            "UPDATE feedback_cases SET org_unit_id = $1, state = $2, tags = $3, note = $4, reply = $5, \
             replied_on = $6, routed_from = $7, handled_on = $8 WHERE id = $9",
        )
        .bind(after.org_unit_id)
        .bind(after.state.code())
        .bind(after.tags.join(", "))
        .bind(&after.note)
        .bind(&after.reply)
        .bind(after.replied_on.map(|d| d.to_string()))
        .bind(after.routed_from)
        .bind(after.handled_on.map(|d| d.to_string()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // The audit row holds what changed, never the sender's text or contact.
        let summary = |c: &FeedbackCase| {
            serde_json::json!({
                "org_unit_id": c.org_unit_id, "state": c.state, "tags": c.tags,
                "replied": c.replied_on.is_some(),
            })
        };
        audit(
            &mut tx,
            p,
            if u.route_to.is_some() {
                "route"
            } else {
                "update"
            },
            "feedback_case",
            &id.to_string(),
            Some(after.org_unit_id),
            Some(summary(&before)),
            Some(summary(&after)),
        )
        .await?;
        // A reply goes to the sender who left an e-mail address, in the
        // language they wrote in (both national languages when unknown).
        if let (Some(r), Some(to)) = (
            reply,
            before
                .contact
                .as_deref()
                .filter(|c| crate::notifications::is_email(c)),
        ) {
            let lang = match after.text_lang.as_deref() {
                Some(l @ ("fi" | "sv" | "en")) => l,
                _ => "fi-sv",
            };
            let fingerprint = crate::auth::digest(r);
            crate::notifications::enqueue(
                &mut tx,
                &format!("feedback_reply:{id}:{fingerprint}"),
                to.trim(),
                None,
                lang,
                "feedback_reply",
                "",
                r,
                false,
                &now(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// The national export of a subtree and period: one row per answer with
    /// no text, contact, token or exact date, background variables coarsened
    /// where a combination has fewer than [`MIN_PUBLIC_CELL`] answers.
    /// Returns the statement keys (column order), rows and what was withheld.
    pub async fn national_export(
        &self,
        p: &Principal,
        scope: i64,
        period: Period,
    ) -> Result<(Vec<String>, Vec<ExportRow>, SuppressionReport)> {
        let mut conn = self.pool.acquire().await?;
        let tree = self.tree_in(&mut conn).await?;
        if tree.get(scope).is_none() {
            return Err(StoreError::NotFound);
        }
        if !p.can_read(&tree, scope) {
            return Err(StoreError::Forbidden);
        }
        let survey = survey_def_in(&mut conn, tree.county_code(scope)).await?;
        let keys: Vec<String> = survey.statements.iter().map(|s| s.key.clone()).collect();
        let units = tree.subtree_ids(scope);
        let ids = (0..units.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT org_unit_id, month, channel, service_lang, age_group, respondent, nps, scores \
             FROM feedback_answers WHERE month >= $1 AND month <= $2 AND org_unit_id IN ({ids}) AND {} ORDER BY id",
            crate::write::visible("")
        );
        let mut q = sqlx::query(&sql)
            .bind(month_of(period.start()).to_string())
            .bind(month_of(period.end()).to_string());
        for u in &units {
            q = q.bind(*u);
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let org: i64 = r.try_get("org_unit_id")?;
            let channel: String = r.try_get("channel")?;
            let scores = parse_scores(&r.try_get::<String, _>("scores")?)?;
            let opt = |col: &str| -> Result<Option<String>> { Ok(r.try_get(col)?) };
            out.push(ExportRow {
                unit: tree.get(org).map(|n| n.code.clone()).unwrap_or_default(),
                month: r.try_get("month")?,
                channel: Channel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
                lang: opt("service_lang")?.as_deref().and_then(ServiceLang::parse),
                age_group: opt("age_group")?.as_deref().and_then(AgeGroup::parse),
                respondent: opt("respondent")?.as_deref().and_then(Respondent::parse),
                nps: r
                    .try_get::<Option<i64>, _>("nps")?
                    .and_then(|n| u8::try_from(n).ok()),
                scores: keys.iter().map(|k| scores.get(k).copied()).collect(),
            });
        }
        let report = suppress_export(&mut out, MIN_PUBLIC_CELL as usize);
        Ok((keys, out, report))
    }
}

async fn text_figures_in(
    conn: &mut AnyConnection,
    scope: i64,
    period: &Period,
) -> Result<Vec<TopicFigures>> {
    Ok(text_figures_of(conn, scope, &[period])
        .await?
        .pop()
        .unwrap_or_default())
}

/// [`text_figures_in`] of each of `periods` (at most two), in one statement.
async fn text_figures_of(
    conn: &mut AnyConnection,
    scope: i64,
    periods: &[&Period],
) -> Result<Vec<Vec<TopicFigures>>> {
    let periods = &periods[..periods.len().min(2)];
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let within = |i: usize| format!("(month >= ${} AND month <= ${})", 2 + 2 * i, 3 + 2 * i);
    let which = if periods.len() == 2 {
        format!("CAST(CASE WHEN {} THEN 0 ELSE 1 END AS BIGINT)", within(0))
    } else {
        "CAST(0 AS BIGINT)".to_string()
    };
    let any = (0..periods.len())
        .map(within)
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "SELECT p, topic, sentiment, CAST(SUM(n) AS BIGINT) AS n FROM (\
           SELECT {which} AS p, topic, sentiment, n FROM feedback_text_agg \
           WHERE scope_id = $1 AND ({any})) t \
         GROUP BY p, topic, sentiment"
    );
    let mut q = sqlx::query(&sql).bind(scope);
    for p in periods {
        q = q
            .bind(month_of(p.start()).to_string())
            .bind(month_of(p.end()).to_string());
    }
    let mut rows: Vec<Vec<(String, String, u64)>> = vec![Vec::new(); periods.len()];
    for r in q.fetch_all(&mut *conn).await? {
        let at = usize::try_from(r.try_get::<i64, _>("p")?).unwrap_or(0);
        if let Some(list) = rows.get_mut(at) {
            list.push((
                r.try_get::<String, _>("topic")?,
                r.try_get::<String, _>("sentiment")?,
                r.try_get::<i64, _>("n")?.max(0) as u64,
            ));
        }
    }
    Ok(rows.iter().map(|r| topic_figures(r)).collect())
}

/// A bound value of a statement built at run time.
enum Arg {
    Int(i64),
    Text(String),
}

/// The background dimensions a query of the aggregates keeps apart; the
/// others are summed by the database (their cells come back as "not
/// given").
#[derive(Clone, Copy)]
struct Keep {
    lang: bool,
    channel: bool,
    respondent: bool,
    /// From the sums over the whole background (`feedback_totals`).
    totals: bool,
}

impl Keep {
    const ALL: Keep = Keep {
        lang: true,
        channel: true,
        respondent: true,
        totals: false,
    };
    const NONE: Keep = Keep {
        lang: false,
        channel: false,
        respondent: false,
        totals: false,
    };

    /// The background summed whole: read from `feedback_totals`, where
    /// those sums are kept (only without a filter).
    const TOTALS: Keep = Keep {
        totals: true,
        ..Keep::NONE
    };

    /// What a query of cells under `filter` reads: the kept totals when
    /// it keeps no dimension apart and nothing is filtered.
    fn under(self, filter: &Filter) -> Keep {
        let nothing_apart = !(self.lang || self.channel || self.respondent);
        if nothing_apart && *filter == Filter::default() {
            Keep::TOTALS
        } else {
            self
        }
    }

    fn table(self) -> &'static str {
        if self.totals {
            "feedback_totals"
        } else {
            "feedback_agg"
        }
    }
}

/// `AND lang = $n …` for each dimension `filter` names, its parameters
/// numbered from `next`, with their arguments.
fn filter_sql(filter: &Filter, next: usize) -> (String, Vec<Arg>) {
    let mut sql = String::new();
    let mut args = Vec::new();
    for (column, code) in [
        ("lang", filter.lang.map(ServiceLang::code)),
        ("channel", filter.channel.map(Channel::code)),
        ("respondent", filter.respondent.map(Respondent::code)),
    ] {
        if let Some(code) = code {
            sql.push_str(&format!(" AND {column} = ${}", next + args.len()));
            args.push(Arg::Text(code.to_owned()));
        }
    }
    (sql, args)
}

/// Aggregate cells grouped by `key` (an SQL expression) under `filter`,
/// the background dimensions `keep` names kept apart. Each group comes back
/// as one row whose cells are joined into one text (`string_agg`, on SQLite
/// and PostgreSQL alike): the drivers pay per row, and a subtree's
/// statistics would otherwise move thousands of rows.
async fn cells_by(
    conn: &mut AnyConnection,
    key: &str,
    filter: &str,
    args: Vec<Arg>,
    keep: Keep,
) -> Result<Vec<(String, Vec<Cell>)>> {
    cells_by_parts(conn, &[(key, filter, keep)], args).await
}

/// [`cells_by`] for several groupings in one statement (`UNION ALL`): each
/// part a key expression (distinct from the other parts' keys), a filter
/// and the dimensions it keeps apart, with the parameters of them all.
async fn cells_by_parts(
    conn: &mut AnyConnection,
    parts: &[(&str, &str, Keep)],
    args: Vec<Arg>,
) -> Result<Vec<(String, Vec<Cell>)>> {
    let inner: Vec<String> = parts
        .iter()
        .map(|(key, filter, keep)| {
            let dims = [
                ("lang", keep.lang),
                ("channel", keep.channel),
                ("respondent", keep.respondent),
            ];
            let shown: Vec<&str> = dims
                .iter()
                .map(|(c, kept)| if *kept { *c } else { "''" })
                .collect();
            // Every dimension kept apart: the table's own rows, one for each
            // (scope, month, dimensions, item) — summed by the reader where
            // the key joins several — without the cost of grouping them.
            let whole = keep.lang && keep.channel && keep.respondent && !keep.totals;
            let counts = COUNT_COLUMNS.map(|c| {
                if whole {
                    c.to_owned()
                } else {
                    format!("SUM({c})")
                }
            });
            let grouped: String = dims
                .iter()
                .filter(|(_, kept)| *kept)
                .map(|(c, _)| format!("{c}, "))
                .collect();
            let group_by = if whole {
                String::new()
            } else {
                format!(" GROUP BY {key}, {grouped}item")
            };
            // One format() a line: a chain of || copies the line once for
            // each of its 16 fields.
            format!(
                "SELECT CAST({key} AS TEXT) AS k, \
                        format('{}', {}, item, {}) AS line \
                 FROM {} WHERE {filter}{group_by}",
                vec!["%s"; 16].join(","),
                shown.join(", "),
                counts.join(", "),
                keep.table()
            )
        })
        .collect();
    let sql = format!(
        "SELECT k, string_agg(line, ';') AS cells FROM ({}) t GROUP BY k",
        inner.join(" UNION ALL ")
    );
    let mut q = sqlx::query(&sql);
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
        };
    }
    let mut out = Vec::new();
    for r in q.fetch_all(&mut *conn).await? {
        let k: String = r.try_get("k")?;
        let joined: String = r.try_get("cells")?;
        let mut cells = Vec::new();
        for line in joined.split(';').filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 16 {
                return Err(corrupt("feedback_agg", line));
            }
            let mut counts = Counts::default();
            for (slot, v) in counts.counts.iter_mut().zip(&f[4..15]) {
                *slot = v.parse().map_err(|_| corrupt("feedback_agg", line))?;
            }
            counts.cannot_say = f[15].parse().map_err(|_| corrupt("feedback_agg", line))?;
            cells.push(Cell {
                dims: Dims {
                    lang: ServiceLang::parse(f[0]),
                    channel: Channel::parse(f[1]),
                    respondent: Respondent::parse(f[2]),
                },
                item: f[3].to_owned(),
                counts,
            });
        }
        out.push((k, cells));
    }
    Ok(out)
}

/// The aggregate cells of each of `scopes` in `period`, from the period's
/// own rows.
async fn agg_cells_in(
    conn: &mut AnyConnection,
    scopes: &[i64],
    period: &Period,
) -> Result<std::collections::HashMap<i64, Vec<Cell>>> {
    grouped_cells_in(conn, scopes, period, &Filter::default(), Keep::ALL).await
}

/// The cells of each of `scopes` in `period` that pass `filter`, summed by
/// the database over the dimensions `keep` leaves out: a dashboard reads a
/// few hundred sums instead of every background combination of its
/// subtree. Read them with no filter of their own ([`Filter::default`]).
async fn grouped_cells_in(
    conn: &mut AnyConnection,
    scopes: &[i64],
    period: &Period,
    filter: &Filter,
    keep: Keep,
) -> Result<std::collections::HashMap<i64, Vec<Cell>>> {
    let mut by_period = period_cells_in(conn, scopes, &[period], filter, keep).await?;
    Ok(scopes
        .iter()
        .map(|s| (*s, by_period.remove(&(*s, 0)).unwrap_or_default()))
        .collect())
}

/// [`grouped_cells_in`] for several periods in one statement: the cells
/// keyed by scope and the period's place in `periods`.
async fn period_cells_in(
    conn: &mut AnyConnection,
    scopes: &[i64],
    periods: &[&Period],
    filter: &Filter,
    keep: Keep,
) -> Result<std::collections::HashMap<(i64, usize), Vec<Cell>>> {
    let mut out = std::collections::HashMap::new();
    if scopes.is_empty() || periods.is_empty() {
        return Ok(out);
    }
    // Every period has its own rows (see `scoped_cells`).
    let keys: Vec<String> = periods.iter().map(|p| p.to_string()).collect();
    let mut args: Vec<Arg> = keys.iter().map(|k| Arg::Text(k.clone())).collect();
    let months = (1..=keys.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",");
    let ids = (0..scopes.len())
        .map(|i| format!("${}", keys.len() + i + 1))
        .collect::<Vec<_>>()
        .join(",");
    args.extend(scopes.iter().map(|s| Arg::Int(*s)));
    let (only, more) = filter_sql(filter, args.len() + 1);
    args.extend(more);
    let groups = cells_by(
        conn,
        "CAST(scope_id AS TEXT) || ' ' || month",
        &format!("month IN ({months}) AND scope_id IN ({ids}){only}"),
        args,
        keep.under(filter),
    )
    .await?;
    for (k, cells) in groups {
        let (scope, month) = k.split_once(' ').ok_or_else(|| corrupt("scope_id", &k))?;
        let scope: i64 = scope.parse().map_err(|_| corrupt("scope_id", &k))?;
        let at = keys
            .iter()
            .position(|key| key == month)
            .ok_or_else(|| corrupt("month", &k))?;
        out.insert((scope, at), cells);
    }
    Ok(out)
}

/// The whole subtree's figures of a period (no filter) and its comment
/// topics, for the report.
pub(crate) async fn summary_in(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    scope: i64,
    period: &Period,
) -> Result<(Summary, Vec<TopicFigures>)> {
    let survey = survey_def_in(conn, tree.county_code(scope)).await?;
    let cells = grouped_cells_in(conn, &[scope], period, &Filter::default(), Keep::NONE)
        .await?
        .remove(&scope)
        .unwrap_or_default();
    let topics = text_figures_in(conn, scope, period).await?;
    Ok((
        Tally::from_cells(&cells, &Filter::default()).summary(&survey),
        topics,
    ))
}

/// [`Store::feedback_stats`] on a connection (no catching up first):
/// statistics of the subtree under `scope` for `period` with `filter`,
/// beside the previous period: totals, breakdowns by language, channel,
/// respondent type and child unit, the yearly trend and the
/// Finnish–Swedish gap. Read from the aggregates only.
pub(crate) async fn stats_in(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    scope: i64,
    period: Period,
    filter: Filter,
) -> Result<FeedbackStats> {
    let survey = survey_def_in(conn, tree.county_code(scope)).await?;
    let children: Vec<i64> = tree.children(scope).iter().map(|n| n.id).collect();
    let previous = period.prev();
    let periods: Vec<&Period> = std::iter::once(&period).chain(previous.as_ref()).collect();
    // The subtree's own cells in both periods with every background
    // dimension apart, in one statement: its totals under the filter and
    // each breakdown (under the filter's other dimensions: a breakdown by
    // language shows every language) are summed from them here.
    let mut own = period_cells_in(conn, &[scope], &periods, &Filter::default(), Keep::ALL).await?;
    let cur = own.remove(&(scope, 0)).unwrap_or_default();
    let prev = own.remove(&(scope, 1)).unwrap_or_default();
    let current = Tally::from_cells(&cur, &filter).summary(&survey);
    let prev_sum = Tally::from_cells(&prev, &filter).summary(&survey);
    let langs: Vec<Option<ServiceLang>> = ServiceLang::ALL
        .iter()
        .copied()
        .map(Some)
        .chain([None])
        .collect();
    let by_lang = breakdown(
        &cur,
        &prev,
        &survey,
        &langs,
        ServiceLang::code,
        |f, v| f.lang = v,
        |d| d.lang,
        &filter,
    );
    let channels: Vec<Option<Channel>> = Channel::ALL.iter().copied().map(Some).collect();
    let by_channel = breakdown(
        &cur,
        &prev,
        &survey,
        &channels,
        Channel::code,
        |f, v| f.channel = v,
        |d| d.channel,
        &filter,
    );
    let resps: Vec<Option<Respondent>> = Respondent::ALL
        .iter()
        .copied()
        .map(Some)
        .chain([None])
        .collect();
    let by_respondent = breakdown(
        &cur,
        &prev,
        &survey,
        &resps,
        Respondent::code,
        |f, v| f.respondent = v,
        |d| d.respondent,
        &filter,
    );
    // Each child's totals in both periods, summed by the database under
    // the filter (from the kept totals without one).
    let none = Filter::default();
    let mut of_children = period_cells_in(conn, &children, &periods, &filter, Keep::NONE).await?;
    let mut by_child = Vec::new();
    for child in children {
        let c = of_children.remove(&(child, 0)).unwrap_or_default();
        let p = of_children.remove(&(child, 1)).unwrap_or_default();
        by_child.push(ChildFigures {
            org_unit_id: child,
            current: Tally::from_cells(&c, &none).summary(&survey),
            prev: Tally::from_cells(&p, &none).summary(&survey),
        });
    }
    // The trend, from the year rows: every year the subtree has answers
    // in, with the sums of those that pass the filter (none is a zero).
    // One statement: the years with answers (from the totals) and, under a
    // filter, the filtered sums beside them.
    let year = period.year_number().to_string();
    let mut years: BTreeMap<i32, Tally> = BTreeMap::new();
    let mut args = vec![
        Arg::Int(scope),
        Arg::Text(ITEM_ANSWERS.into()),
        Arg::Text(ITEM_NPS.into()),
        Arg::Text(year),
    ];
    let (only, more) = filter_sql(&filter, args.len() + 1);
    args.extend(more);
    // The year keys by name (a range of keys up to the year would also
    // read every month, quarter and half year before it).
    let years_sql = "scope_id = $1 AND item IN ($2, $3) AND month IN (\
        SELECT month FROM feedback_totals WHERE scope_id = $1 AND item = $2 AND month <= $4 AND LENGTH(month) = 4)";
    let filtered = format!("{years_sql}{only}");
    let mut parts = vec![(
        "'sum ' || month",
        filtered.as_str(),
        Keep::NONE.under(&filter),
    )];
    if filter != none {
        parts.push(("'all ' || month", years_sql, Keep::TOTALS));
    }
    for (key, cells) in cells_by_parts(conn, &parts, args).await? {
        let (part, year) = key.split_once(' ').ok_or_else(|| corrupt("year", &key))?;
        let year: i32 = year.parse().map_err(|_| corrupt("year", &key))?;
        let entry = years.entry(year).or_default();
        if part == "sum" {
            *entry = Tally::from_cells(&cells, &none);
        }
    }
    let trend = years
        .into_iter()
        .map(|(year, t)| YearFigures {
            year,
            answers: t.get(ITEM_ANSWERS).counts[0],
            nps: NpsStats::from_counts(&t.get(ITEM_NPS)),
        })
        .collect();
    let nps_of = |key: &str| {
        by_lang
            .iter()
            .find(|b| b.key == key)
            .map(|b| b.current.nps)
            .unwrap_or_default()
    };
    let gap = lang_gap(&nps_of("fi"), &nps_of("sv"));
    let mut topics = text_figures_of(conn, scope, &periods).await?.into_iter();
    let (topics, topics_prev) = (
        topics.next().unwrap_or_default(),
        topics.next().unwrap_or_default(),
    );
    Ok(FeedbackStats {
        org_unit_id: scope,
        period,
        previous,
        filter,
        current,
        prev: prev_sum,
        by_lang,
        by_channel,
        by_respondent,
        by_child,
        trend,
        lang_gap: gap,
        topics,
        topics_prev,
    })
}

/// Shared state handle for [`Store`].
pub(crate) fn shared() -> Arc<FeedbackShared> {
    Arc::new(FeedbackShared::default())
}

/// [`Store::tertial_totals`] on a connection of the caller's.
pub(crate) async fn tertial_totals_in(
    conn: &mut AnyConnection,
    scope: i64,
) -> Result<BTreeMap<Period, (u64, u64)>> {
    let groups = cells_by(
        conn,
        "month",
        "scope_id = $1 AND item IN ($2, $3) AND LENGTH(month) = 6 AND month LIKE '%T%'",
        vec![
            Arg::Int(scope),
            Arg::Text(ITEM_ANSWERS.into()),
            Arg::Text(ITEM_NPS.into()),
        ],
        Keep::TOTALS,
    )
    .await?;
    let mut out = BTreeMap::new();
    for (month, cells) in groups {
        let Ok(p) = month.parse::<Period>() else {
            continue;
        };
        let t = Tally::from_cells(&cells, &Filter::default());
        out.insert(
            p,
            (
                t.get(ITEM_ANSWERS).counts[0],
                NpsStats::from_counts(&t.get(ITEM_NPS)).n,
            ),
        );
    }
    Ok(out)
}
