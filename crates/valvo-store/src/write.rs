//! The shared parts of every write: the row locks a write transaction takes
//! on the state it changes, the scope check, the audit row written in the
//! same transaction, and field errors. The feature modules call into this
//! one; it calls into none of them.

use serde_json::Value;
use sqlx::AnyConnection;
use valvo_core::access::Principal;
use valvo_core::plan::{ErrorCode, FieldError};
use valvo_core::OrgTree;

use crate::{now, Result, StoreError};

/// ` FOR NO KEY UPDATE` on PostgreSQL, for a read of the state a write
/// transaction is about to change: at READ COMMITTED a plain read would let
/// two transactions both act on the same old state. (Not `FOR UPDATE`: that
/// would also hold up every insert whose foreign key names the row, such as
/// the answers and reports of a unit whose inputs are being saved.) Nothing
/// on SQLite, where a write transaction holds the database's one write lock
/// from its first statement (`BEGIN IMMEDIATE`, see
/// [`crate::Store::begin_write`]).
pub(crate) fn for_update(conn: &AnyConnection) -> &'static str {
    if conn.backend_name() == "PostgreSQL" {
        " FOR NO KEY UPDATE"
    } else {
        ""
    }
}

/// ` FOR SHARE` on PostgreSQL: the row must not change (or go) before the
/// transaction ends, though others may read it; nothing on SQLite.
pub(crate) fn for_share(conn: &AnyConnection) -> &'static str {
    if conn.backend_name() == "PostgreSQL" {
        " FOR SHARE"
    } else {
        ""
    }
}

/// Locks the row `id` of `table` for the rest of the transaction (on
/// PostgreSQL; SQLite's write transactions are serial anyway): writes that
/// start from what the row's children are (a first follow-up of an
/// indicator, a unit's handlers or report inputs replaced) then run one at a
/// time per row, and each sees what the one before committed. `NotFound`
/// when there is no such row.
/// `$from, $from+1, …`: `n` parameters of a statement built at run time.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Locks the rows `ids` of `table` in id order, as [`lock_row`] does one.
pub(crate) async fn lock_rows(
    conn: &mut AnyConnection,
    table: &'static str,
    ids: &[i64],
) -> Result<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let list = crate::write::placeholders(1, chunk.len());
        let sql = format!(
            "SELECT id FROM {table} WHERE id IN ({list}) ORDER BY id{}",
            for_update(conn)
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        q.fetch_all(&mut *conn).await?;
    }
    Ok(())
}

pub(crate) async fn lock_row(conn: &mut AnyConnection, table: &'static str, id: i64) -> Result<()> {
    let sql = format!("SELECT id FROM {table} WHERE id = $1{}", for_update(conn));
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn audit(
    conn: &mut AnyConnection,
    actor: &Principal,
    action: &str,
    entity: &str,
    entity_id: &str,
    org_unit_id: Option<i64>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    metrics::counter!("valvo_writes_total", "entity" => entity.to_string(), "action" => action.to_string())
        .increment(1);
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, action, entity, entity_id, org_unit_id, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(now())
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(org_unit_id)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) fn check_write(p: &Principal, tree: &OrgTree, org: i64) -> Result<()> {
    if tree.get(org).is_none() {
        return Err(StoreError::NotFound);
    }
    if p.can_write(tree, org) {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// Claims a public form's one-time key in the transaction that saves what
/// the form sent: `false` when the key was claimed before (a reload, a
/// double click, the back button), and then the caller writes nothing new.
/// A concurrent claim of the same key (two instances, one double click)
/// waits for the first transaction on PostgreSQL and is refused after it
/// commits; SQLite runs one writer at a time. Only the key's SHA-256 is
/// kept, and keys older than a week are removed here.
pub(crate) async fn claim_once(conn: &mut AnyConnection, key: &str, kind: &str) -> Result<bool> {
    forget_old_claims(conn).await?;
    claim_digest(conn, &crate::incidents::digest(key), kind).await
}

/// Removes the one-time keys older than a week (their rows are locked
/// until the transaction ends: a transaction claiming several keys does
/// this once, before its first claim).
pub(crate) async fn forget_old_claims(conn: &mut AnyConnection) -> Result<()> {
    let week_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    sqlx::query("DELETE FROM form_submissions WHERE created_at < $1")
        .bind(week_ago)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`claim_once`] of a key's digest, without removing old keys. Several
/// keys in one transaction are claimed in the order of their digests: a
/// claim waits for another transaction's uncommitted claim of the same
/// key, and two transactions claiming two keys in opposite orders would
/// wait for each other.
pub(crate) async fn claim_digest(
    conn: &mut AnyConnection,
    digest: &str,
    kind: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO form_submissions (key_hash, kind, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key_hash) DO NOTHING",
    )
    .bind(digest)
    .bind(kind)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) fn invalid(field: &str, code: ErrorCode) -> StoreError {
    StoreError::Invalid(vec![FieldError {
        field: field.to_string(),
        code,
    }])
}

/// Keeps a read of a table that imports write (answers, feedback cases,
/// incidents, their spans) to the rows that are there: written live
/// (`import_id` NULL) or by an import that is done. The rows of a running or
/// failed import count nowhere (migration 0013). `alias` is the table's alias
/// with its dot (`"c."`), or `""`.
pub(crate) fn visible(alias: &str) -> String {
    format!("({alias}import_id IS NULL OR {alias}import_id IN (SELECT id FROM imports WHERE state = 'done'))")
}

/// A unit and the units above it: the scopes whose counts a row of the
/// unit changes.
pub(crate) fn scopes(tree: &OrgTree, org: i64) -> Vec<i64> {
    let mut s = vec![org];
    s.extend(tree.ancestors(org).iter().map(|n| n.id));
    s
}

/// Counts one `(dimension, key)` of a row of unit `org` in `month`, in the
/// unit and in every unit above it (a subtree's count is then one row).
pub(crate) fn count_in_scopes(
    deltas: &mut MarginalDeltas,
    tree: &OrgTree,
    org: i64,
    month: &str,
    dim: &str,
    key: &str,
) {
    for s in scopes(tree, org) {
        *deltas
            .entry((s, month.to_string(), dim.to_string(), key.to_string()))
            .or_default() += 1;
    }
}

/// Changes of marginal counts `(scope, month, dimension, key) → n`, applied
/// in key order (a `BTreeMap`): two transactions that change the same
/// counters lock them in the same order and never wait for each other in a
/// circle. Each change is one upsert that adds to the row, so concurrent
/// writers on any instance add up.
pub(crate) type MarginalDeltas = std::collections::BTreeMap<(i64, String, String, String), i64>;

/// Applies `deltas` to a marginals table (`org_unit_id, month, dim, key, n`).
pub(crate) async fn add_marginals(
    conn: &mut AnyConnection,
    table: &'static str,
    deltas: &MarginalDeltas,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {table} (org_unit_id, month, dim, key, n) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_unit_id, month, dim, key) DO UPDATE SET n = {table}.n + $5"
    );
    for ((org, month, dim, key), n) in deltas {
        if *n == 0 {
            continue;
        }
        sqlx::query(&sql)
            .bind(*org)
            .bind(month)
            .bind(dim)
            .bind(key)
            .bind(*n)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The marginal rows of `scope`'s subtree (kept under the scope itself,
/// see [`count_in_scopes`]) for the months of `period`: `(month, dimension,
/// key, n)`.
pub(crate) async fn read_marginals(
    conn: &mut AnyConnection,
    table: &'static str,
    scope: i64,
    period: &valvo_core::Period,
) -> Result<Vec<valvo_core::ombudsman::MarginalRow>> {
    use sqlx::Row;
    use valvo_core::{Period, PeriodKind};
    let first = Period::containing(period.start(), PeriodKind::Month).to_string();
    let last = Period::containing(period.end(), PeriodKind::Month).to_string();
    let mut out = Vec::new();
    {
        let sql = format!(
            "SELECT month, dim, key, n FROM {table} \
             WHERE org_unit_id = $3 AND month >= $1 AND month <= $2 AND n <> 0"
        );
        let q = sqlx::query(&sql).bind(&first).bind(&last).bind(scope);
        for r in q.fetch_all(&mut *conn).await? {
            let month: String = r.try_get("month")?;
            let n: i64 = r.try_get("n")?;
            out.push((
                month
                    .parse()
                    .map_err(|_| crate::rows::corrupt("month", &month))?,
                r.try_get("dim")?,
                r.try_get("key")?,
                n.max(0) as u64,
            ));
        }
    }
    Ok(out)
}
