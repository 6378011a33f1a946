//! County-configurable classifications of codes with names in fi, sv and
//! en (the ombudsperson's reasons, the supervision checklist): listed,
//! added, renamed, reordered and retired; a code once used stays, and every
//! change is in the audit log (its history).

use std::collections::HashSet;

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
    })
}

/// The active codes of `table`, under a shared lock: none is retired before
/// the transaction that uses them ends.
pub(crate) async fn active(
    conn: &mut AnyConnection,
    table: &'static str,
) -> Result<HashSet<String>> {
    let lock = for_share(conn);
    sqlx::query(&format!("SELECT code FROM {table} WHERE active = 1{lock}"))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<String, _>("code")?))
        .collect()
}

/// Every entry of `table`, in list order.
pub(crate) async fn list(conn: &mut AnyConnection, table: &'static str) -> Result<Vec<Reason>> {
    sqlx::query(&format!("SELECT * FROM {table} ORDER BY sort_order, code"))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(row)
        .collect()
}

impl Store {
    /// Adds an entry to a classification or changes one: county-wide
    /// quality coordinators and administrators. Finnish and Swedish names
    /// are required (English falls back to Finnish).
    pub(crate) async fn put_classified(
        &self,
        p: &Principal,
        table: &'static str,
        entity: &'static str,
        entry: &Reason,
    ) -> Result<Reason> {
        if !(valvo_core::report::approves(p.role) && p.scope.is_none()) {
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
        let before = sqlx::query(&format!(
            "SELECT * FROM {table} WHERE code = $1{}",
            for_update(&tx)
        ))
        .bind(&entry.code)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(row)
        .transpose()?;
        sqlx::query(&format!(
            "INSERT INTO {table} (code, name_fi, name_sv, name_en, sort_order, active) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO UPDATE SET name_fi = $2, name_sv = $3, \
             name_en = $4, sort_order = $5, active = $6"
        ))
        .bind(&entry.code)
        .bind(&fi)
        .bind(&sv)
        .bind(&en)
        .bind(entry.sort_order)
        .bind(i64::from(entry.active))
        .execute(&mut *tx)
        .await?;
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
