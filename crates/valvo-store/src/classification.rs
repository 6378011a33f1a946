//! County-configurable classifications of codes with names in fi, sv and
//! en (the ombudsperson's reasons, the supervision checklist): listed,
//! added, renamed, reordered and retired; a code once used stays, and every
//! change is in the audit log (its history).

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use valvo_core::access::Principal;
use valvo_core::ombudsman::Reason;
use valvo_core::plan::ErrorCode;
use valvo_core::I18nText;

use crate::write::{audit, for_share, for_update, invalid};
use crate::{Result, Store, StoreError};

fn row(r: &sqlx::any::AnyRow) -> Result<Reason> {
    Ok(Reason {
        code: r.try_get("code")?,
        name: crate::rows::text(r, "name")?,
        active: r.try_get::<i64, _>("active")? != 0,
        sort_order: r.try_get("sort_order")?,
        county: r.try_get("county")?,
    })
}

/// The columns of an entry, its county named by code (`t` is the table).
pub(crate) const COLUMNS: &str =
    "t.*, (SELECT o.code FROM org_units o WHERE o.id = t.county_id) AS county";

/// The id of the county named `code` (`None`: shared); a field error
/// `county` (not found) when it is no county of the service.
pub(crate) fn county_id(
    tree: &valvo_core::org::OrgTree,
    code: Option<&str>,
) -> Result<Option<i64>> {
    let Some(code) = code else { return Ok(None) };
    tree.roots()
        .iter()
        .find(|n| n.code == code)
        .map(|n| Some(n.id))
        .ok_or_else(|| invalid("county", ErrorCode::NotFound))
}

/// Whether `p` may add, change or remove an entry of `county` (a code):
/// forbidden otherwise, and an entry's county never changes (`county`
/// conflicts when asked to).
pub(crate) fn may_change(
    p: &Principal,
    tree: &valvo_core::org::OrgTree,
    before: Option<&str>,
    asked: Option<&str>,
) -> Result<Option<i64>> {
    let owner = county_id(tree, before)?;
    if !p.may_configure_lists(tree, owner) {
        return Err(StoreError::Forbidden);
    }
    if before != asked {
        return Err(invalid("county", ErrorCode::StateConflict));
    }
    Ok(owner)
}

/// Active codes of a list and whose each is (`None`: shared).
#[derive(Clone, Debug, Default)]
pub(crate) struct Offered(HashMap<String, Option<i64>>);

impl Offered {
    /// Whether `code` is active in some county.
    pub(crate) fn contains(&self, code: &str) -> bool {
        self.0.contains_key(code)
    }

    /// Whether `code` is active and offered in `county` (shared, or its own).
    pub(crate) fn offered_in(&self, code: &str, county: Option<i64>) -> bool {
        match self.0.get(code) {
            Some(None) => true,
            Some(owner) => owner.is_some() && *owner == county,
            None => false,
        }
    }
}

/// The active codes of `table` in every county, under a shared lock: none is
/// retired before the transaction that uses them ends. Whether one is
/// offered for a unit is `Offered::offered_in` its county.
pub(crate) async fn active(conn: &mut AnyConnection, table: &'static str) -> Result<Offered> {
    let lock = for_share(conn);
    let rows = sqlx::query(&format!(
        "SELECT code, county_id FROM {table} WHERE active = 1{lock}"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in &rows {
        out.insert(r.try_get::<String, _>("code")?, r.try_get("county_id")?);
    }
    Ok(Offered(out))
}

/// Every entry of `table` (every county's), in list order.
pub(crate) async fn list(conn: &mut AnyConnection, table: &'static str) -> Result<Vec<Reason>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {table} t ORDER BY t.sort_order, t.code"
    ))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(row)
    .collect()
}

impl Store {
    /// Adds an entry to a classification or changes one: quality
    /// coordinators and administrators, a county's own entries within it
    /// (`Principal::may_configure_lists`). `entry.county` is the county
    /// the entry belongs to (`None`: shared); it never changes. Finnish and
    /// Swedish names are required (English falls back to Finnish).
    pub(crate) async fn put_classified(
        &self,
        p: &Principal,
        table: &'static str,
        entity: &'static str,
        entry: &Reason,
    ) -> Result<Reason> {
        if !valvo_core::report::approves(p.role) {
            return Err(StoreError::Forbidden);
        }
        if !valvo_core::ombudsman::valid_reason_code(&entry.code) {
            return Err(invalid("code", ErrorCode::Invalid));
        }
        let name = |l: valvo_core::Lang| entry.name.get(l).map(str::to_string);
        let (Some(fi), Some(sv)) = (name(valvo_core::Lang::Fi), name(valvo_core::Lang::Sv)) else {
            return Err(invalid("name", ErrorCode::NationalLanguageRequired));
        };
        let en = name(valvo_core::Lang::En).unwrap_or_else(|| fi.clone());
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        let before = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {table} t WHERE t.code = $1{}",
            for_update(&tx)
        ))
        .bind(&entry.code)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(row)
        .transpose()?;
        let asked = entry.county.as_deref();
        let county = match &before {
            Some(b) => may_change(p, &tree, b.county.as_deref(), asked)?,
            None => may_change(p, &tree, asked, asked)?,
        };
        // Only an entry of the county checked above changes: a new code
        // another county added meanwhile (no row to lock when read) is left
        // as it is, and this is a conflict.
        let written = sqlx::query(&format!(
            "INSERT INTO {table} (code, name_fi, name_sv, name_en, sort_order, active, county_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO UPDATE SET name_fi = $2, name_sv = $3, \
             name_en = $4, sort_order = $5, active = $6 WHERE {table}.county_id IS NOT DISTINCT FROM $7"
        ))
        .bind(&entry.code)
        .bind(&fi)
        .bind(&sv)
        .bind(&en)
        .bind(entry.sort_order)
        .bind(i64::from(entry.active))
        .bind(county)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if written == 0 {
            return Err(invalid("code", ErrorCode::StateConflict));
        }
        let after = Reason {
            name: I18nText::new(Some(fi), Some(sv), Some(en)),
            ..entry.clone()
        };
        audit(
            &mut tx,
            p,
            if before.is_some() { "update" } else { "create" },
            entity,
            &entry.code,
            None,
            before.map(|b| serde_json::json!(b)),
            Some(serde_json::json!(after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The supervision checklist in list order, active and retired.
    pub async fn supervision_topics(&self) -> Result<Vec<Reason>> {
        let mut conn = self.pool.acquire().await?;
        list(&mut conn, "supervision_topics").await
    }

    /// Adds a topic to the checklist or changes one (see `put_classified`).
    pub async fn put_supervision_topic(&self, p: &Principal, topic: &Reason) -> Result<Reason> {
        self.put_classified(p, "supervision_topics", "supervision_topic", topic)
            .await
    }
}
