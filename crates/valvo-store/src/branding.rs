//! A county's branding (colour, contact details, logo): read for every
//! page and report of its tree, changed by an administrator of its root.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use valvo_core::access::{Principal, Role};
use valvo_core::branding::{check_contact, check_logo, Branding, Logo};
use valvo_core::I18nText;

use crate::write::audit;
use crate::{now, Result, Store, StoreError};

/// What a save does with the logo.
#[derive(Clone, Debug)]
pub enum LogoChange {
    /// Keeps the logo as it is.
    Keep,
    /// Removes it (a report approved with it keeps it).
    Remove,
    /// Sets a new one: the file as uploaded.
    Set(Vec<u8>),
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The branding of the tree whose root is `root` (empty when none is set),
/// with the logo's image.
pub(crate) async fn branding_in(conn: &mut AnyConnection, root: i64) -> Result<Branding> {
    let row = sqlx::query(
        "SELECT b.colour, b.contact_fi, b.contact_sv, b.contact_en, b.logo_sha256, \
         l.media_type, l.data_base64 \
         FROM branding b LEFT JOIN branding_logos l ON l.sha256 = b.logo_sha256 \
         WHERE b.org_unit_id = $1",
    )
    .bind(root)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else {
        return Ok(Branding::default());
    };
    let logo = match r.try_get::<Option<String>, _>("logo_sha256")? {
        Some(sha256) => Some(Logo {
            sha256,
            media_type: r.try_get("media_type")?,
            data: decode(&r.try_get::<String, _>("data_base64")?)?,
        }),
        None => None,
    };
    Ok(Branding {
        colour: r.try_get("colour")?,
        contact: crate::rows::text(&r, "contact")?,
        logo,
    })
}

fn decode(s: &str) -> Result<Vec<u8>> {
    b64()
        .decode(s)
        .map_err(|e| StoreError::Corrupt(format!("logo: {e}")))
}

/// Fills a logo's image from the kept logos (a report's snapshot names the
/// logo by its hash only).
pub(crate) async fn fill_logo(conn: &mut AnyConnection, branding: &mut Branding) -> Result<()> {
    let Some(logo) = branding.logo.as_mut() else {
        return Ok(());
    };
    if !logo.data.is_empty() {
        return Ok(());
    }
    let data: Option<String> =
        sqlx::query_scalar("SELECT data_base64 FROM branding_logos WHERE sha256 = $1")
            .bind(&logo.sha256)
            .fetch_optional(&mut *conn)
            .await?;
    match data {
        Some(d) => logo.data = decode(&d)?,
        // A logo is never removed from the kept ones; should it be missing,
        // the report is shown without it rather than not at all.
        None => branding.logo = None,
    }
    Ok(())
}

impl Store {
    /// The branding of the county `unit` belongs to (the root of its tree).
    pub async fn branding_of(&self, unit: i64) -> Result<Branding> {
        let mut conn = self.pool.acquire().await?;
        let tree = crate::load_tree(&mut conn).await?;
        let Some(root) = tree.root_of(unit) else {
            return Ok(Branding::default());
        };
        branding_in(&mut conn, root).await
    }

    /// The branding of the tree whose root is `root` (a caller that has
    /// the tree already).
    pub async fn branding_at_root(&self, root: i64) -> Result<Branding> {
        let mut conn = self.pool.acquire().await?;
        branding_in(&mut conn, root).await
    }

    /// A kept logo by its hash: (media type, image).
    pub async fn logo(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>> {
        let row =
            sqlx::query("SELECT media_type, data_base64 FROM branding_logos WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some(r) => Ok(Some((
                r.try_get("media_type")?,
                decode(&r.try_get::<String, _>("data_base64")?)?,
            ))),
            None => Ok(None),
        }
    }

    /// Sets the branding of the tree rooted at `root`: an administrator
    /// whose scope holds the root. `colour` is already parsed
    /// ([`valvo_core::branding::parse_colour`]). Returns the branding saved.
    pub async fn set_branding(
        &self,
        p: &Principal,
        root: i64,
        colour: Option<String>,
        contact: &I18nText,
        logo: LogoChange,
    ) -> Result<Branding> {
        check_contact(contact).map_err(|e| StoreError::Invalid(vec![e]))?;
        let new_logo = match &logo {
            LogoChange::Set(bytes) => Some((
                check_logo(bytes).map_err(|e| StoreError::Invalid(vec![e]))?,
                Sha256::digest(bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
            )),
            _ => None,
        };
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        let node = tree.get(root).ok_or(StoreError::NotFound)?;
        if node.parent_id.is_some() {
            return Err(crate::write::invalid(
                "org_unit_id",
                valvo_core::plan::ErrorCode::Invalid,
            ));
        }
        if p.role != Role::Admin || !p.can_write(&tree, root) {
            return Err(StoreError::Forbidden);
        }
        // The row, locked where the database can: two administrators saving
        // at once each see the other's save before their own.
        let lock = match self.backend {
            crate::Backend::Postgres => " FOR UPDATE",
            crate::Backend::Sqlite => "",
        };
        sqlx::query(&format!(
            "SELECT org_unit_id FROM branding WHERE org_unit_id = $1{lock}"
        ))
        .bind(root)
        .fetch_optional(&mut *tx)
        .await?;
        let before_all = branding_in(&mut tx, root).await?;
        let before = before_all.logo.as_ref().map(|l| l.sha256.clone());
        let logo_sha = match (&logo, &new_logo) {
            (LogoChange::Set(bytes), Some((media_type, sha))) => {
                sqlx::query(
                    "INSERT INTO branding_logos (sha256, media_type, data_base64, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(sha)
                .bind(*media_type)
                .bind(b64().encode(bytes))
                .bind(now())
                .execute(&mut *tx)
                .await?;
                Some(sha.clone())
            }
            (LogoChange::Remove, _) => None,
            _ => before,
        };
        sqlx::query(
            "INSERT INTO branding (org_unit_id, colour, contact_fi, contact_sv, contact_en, logo_sha256, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (org_unit_id) DO UPDATE SET colour = excluded.colour, contact_fi = excluded.contact_fi, \
             contact_sv = excluded.contact_sv, contact_en = excluded.contact_en, logo_sha256 = excluded.logo_sha256, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(root)
        .bind(colour.clone())
        .bind(contact.get(valvo_core::Lang::Fi).map(str::to_owned))
        .bind(contact.get(valvo_core::Lang::Sv).map(str::to_owned))
        .bind(contact.get(valvo_core::Lang::En).map(str::to_owned))
        .bind(logo_sha.clone())
        .bind(now())
        .bind(&p.label)
        .execute(&mut *tx)
        .await?;
        let after = branding_in(&mut tx, root).await?;
        let summary = |b: &Branding| {
            serde_json::json!({
                "colour": b.colour,
                "contact": b.contact,
                "logo_sha256": b.logo.as_ref().map(|l| l.sha256.clone()),
            })
        };
        audit(
            &mut tx,
            p,
            "update",
            "branding",
            &root.to_string(),
            Some(root),
            Some(summary(&before_all)),
            Some(summary(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
