//! Ombudsperson contacts: the reason classification, recording a contact
//! with its items and the marginal counts in one transaction, and the
//! statistics of a subtree read from those counts.

use sqlx::{AnyConnection, Row};
use valvo_core::access::Principal;
use valvo_core::ombudsman::{contact_unit, marginals, NewContact, OmbudsmanStats, Reason};
use valvo_core::plan::ErrorCode;
use valvo_core::{I18nText, OrgTree, Period, PeriodKind};

use crate::write::{add_marginals, audit, invalid, read_marginals, MarginalDeltas};
use crate::{now, Result, Store, StoreError};

/// The unit an item without a unit is counted in for `p`: its scope, or the
/// county when the instance holds one.
pub fn home_of(p: &Principal, tree: &OrgTree) -> Option<i64> {
    p.scope.or_else(|| match tree.roots().as_slice() {
        [one] => Some(one.id),
        _ => None,
    })
}

/// Statistics of `root`'s subtree for `period` and the period before, on `conn`.
pub(crate) async fn stats_in(
    conn: &mut AnyConnection,
    root: i64,
    period: Period,
) -> Result<OmbudsmanStats> {
    let cur = read_marginals(conn, "ombudsman_marginals", root, &period).await?;
    let prev = match period.prev() {
        Some(p) => read_marginals(conn, "ombudsman_marginals", root, &p).await?,
        None => Vec::new(),
    };
    Ok(OmbudsmanStats::from_marginals(period, &cur, &prev))
}

/// Records one contact on `conn` (in the caller's write transaction): the
/// contact, its items and its marginal counts. `reasons` are the active
/// reason codes (read under a shared lock by the caller).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_contact(
    conn: &mut AnyConnection,
    p: &Principal,
    tree: &OrgTree,
    input: &NewContact,
    reasons: &crate::classification::Offered,
    today: time::Date,
    import_id: Option<i64>,
    deltas: &mut MarginalDeltas,
) -> Result<i64> {
    let home = home_of(p, tree);
    let items = input
        .resolve(tree, p.scope, home, today, &|r, unit| {
            reason_offered(reasons, tree, r, unit)
        })
        .map_err(StoreError::Invalid)?;
    for (i, item) in items.iter().enumerate() {
        if !p.can_record_contacts(tree, item.org_unit) {
            return Err(if item.named_unit {
                invalid(&format!("items.{i}.org_unit"), ErrorCode::NotFound)
            } else {
                StoreError::Forbidden
            });
        }
    }
    let units: Vec<i64> = items.iter().map(|i| i.org_unit).collect();
    let unit = contact_unit(tree, &units).ok_or(StoreError::NotFound)?;
    let month = Period::containing(input.contacted_on, PeriodKind::Month).to_string();
    let mut measures: Vec<&str> = input.measures.iter().map(|m| m.code()).collect();
    measures.sort_unstable();
    measures.dedup();
    let note = input
        .note
        .as_deref()
        .map(|n| valvo_text::redact(n.trim()).text)
        .unwrap_or_default();
    let id: i64 = sqlx::query(
        "INSERT INTO ombudsman_contacts (org_unit_id, contacted_on, month, channel, language, client_group, \
         measures, note, recorded_by, recorded_at, import_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(unit)
    .bind(input.contacted_on.to_string())
    .bind(&month)
    .bind(input.channel.code())
    .bind(input.language.code())
    .bind(input.client_group.code())
    .bind(measures.join(","))
    .bind(note)
    .bind(p.user_id)
    .bind(now())
    .bind(import_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    for item in &items {
        sqlx::query(
            "INSERT INTO ombudsman_items (contact_id, org_unit_id, named_unit, producer, sector, reasons) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(item.org_unit)
        .bind(i64::from(item.named_unit))
        .bind(item.producer.code())
        .bind(item.sector.code())
        .bind(item.reasons.join(","))
        .execute(&mut *conn)
        .await?;
    }
    for (org, dim, key) in marginals(unit, input, &items) {
        crate::write::count_in_scopes(deltas, tree, org, &month, dim, &key);
    }
    Ok(id)
}

/// The active reason codes, under a shared lock: none of them is retired
/// before the transaction's contacts are in.
pub(crate) async fn active_reasons(
    conn: &mut AnyConnection,
) -> Result<crate::classification::Offered> {
    crate::classification::active(conn, "ombudsman_reasons").await
}

/// Whether reason `code` may be given for an item about `unit` (`None`: no
/// unit resolved, any active reason): shared, or the unit's county's own.
pub(crate) fn reason_offered(
    reasons: &crate::classification::Offered,
    tree: &OrgTree,
    code: &str,
    unit: Option<i64>,
) -> bool {
    match unit {
        Some(u) => reasons.offered_in(code, tree.root_of(u)),
        None => reasons.contains(code),
    }
}

/// A contact as kept, for the ombudsperson's own list.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ContactRecord {
    /// Id.
    pub id: i64,
    /// The unit it counts in.
    pub org_unit_id: i64,
    /// Day.
    pub contacted_on: String,
    /// Channel code.
    pub channel: String,
    /// Language code.
    pub language: String,
    /// Client group code.
    pub client_group: String,
    /// Measure codes.
    pub measures: Vec<String>,
    /// The note, as kept (personal data replaced by markers).
    pub note: String,
    /// Items: (unit, producer, sector, reasons).
    pub items: Vec<ContactItem>,
}

/// An item as kept.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ContactItem {
    /// The unit it is counted in.
    pub org_unit_id: i64,
    /// Whether the contact named that unit (else only its producer).
    pub named_unit: bool,
    /// Producer code.
    pub producer: String,
    /// Sector code.
    pub sector: String,
    /// Reason codes.
    pub reasons: Vec<String>,
}

fn codes(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

impl Store {
    /// The contacts of `period` that `p` recorded or may record (its scope),
    /// newest first, at most `limit`: the ombudsperson's own log. Nobody
    /// else reads contacts.
    pub async fn ombudsman_contacts(
        &self,
        p: &Principal,
        period: Period,
        limit: i64,
    ) -> Result<Vec<ContactRecord>> {
        if !matches!(
            p.role,
            valvo_core::access::Role::Ombudsperson | valvo_core::access::Role::Admin
        ) {
            return Err(StoreError::Forbidden);
        }
        let tree = self.org_tree().await?;
        let rows = sqlx::query(&format!(
            "SELECT id, org_unit_id, contacted_on, channel, language, client_group, measures, note FROM ombudsman_contacts c \
             WHERE contacted_on >= $1 AND contacted_on <= $2 AND {} ORDER BY contacted_on DESC, id DESC",
            crate::write::visible("c.")
        ))
        .bind(period.start().to_string())
        .bind(period.end().to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let org: i64 = r.try_get("org_unit_id")?;
            if !p.can_record_contacts(&tree, org) {
                continue;
            }
            let id: i64 = r.try_get("id")?;
            let items = sqlx::query(
                "SELECT org_unit_id, named_unit, producer, sector, reasons FROM ombudsman_items WHERE contact_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|i| {
                Ok(ContactItem {
                    org_unit_id: i.try_get("org_unit_id")?,
                    named_unit: i.try_get::<i64, _>("named_unit")? != 0,
                    producer: i.try_get("producer")?,
                    sector: i.try_get("sector")?,
                    reasons: codes(&i.try_get::<String, _>("reasons")?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
            out.push(ContactRecord {
                id,
                org_unit_id: org,
                contacted_on: r.try_get("contacted_on")?,
                channel: r.try_get("channel")?,
                language: r.try_get("language")?,
                client_group: r.try_get("client_group")?,
                measures: codes(&r.try_get::<String, _>("measures")?),
                note: r.try_get("note")?,
                items,
            });
            if out.len() as i64 >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The reason classification in list order, active and retired.
    pub async fn ombudsman_reasons(&self) -> Result<Vec<Reason>> {
        let mut conn = self.pool.acquire().await?;
        crate::classification::list(&mut conn, "ombudsman_reasons").await
    }

    /// Adds a reason or changes one (names, order, whether it is offered):
    /// county-wide quality coordinators and administrators.
    pub async fn put_ombudsman_reason(&self, p: &Principal, reason: &Reason) -> Result<Reason> {
        self.put_classified(p, "ombudsman_reasons", "ombudsman_reason", reason)
            .await
    }

    /// Records a contact. Returns its id.
    pub async fn create_contact(
        &self,
        p: &Principal,
        input: &NewContact,
        today: time::Date,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        if !matches!(
            p.role,
            valvo_core::access::Role::Ombudsperson | valvo_core::access::Role::Admin
        ) {
            return Err(StoreError::Forbidden);
        }
        let reasons = active_reasons(&mut tx).await?;
        let mut deltas = MarginalDeltas::new();
        let id =
            insert_contact(&mut tx, p, &tree, input, &reasons, today, None, &mut deltas).await?;
        add_marginals(&mut tx, "ombudsman_marginals", &deltas).await?;
        let unit: i64 =
            sqlx::query_scalar("SELECT org_unit_id FROM ombudsman_contacts WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        // The audit row records that a contact was made, nothing of its content.
        audit(
            &mut tx,
            p,
            "create",
            "ombudsman_contact",
            &id.to_string(),
            Some(unit),
            None,
            Some(serde_json::json!({ "items": input.items.len() })),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The ombudsperson's review of `org` for `year` (empty when none).
    pub async fn ombudsman_annual_text(&self, org: i64, year: i32) -> Result<I18nText> {
        let row = sqlx::query(
            "SELECT text_fi, text_sv, text_en FROM ombudsman_annual_texts WHERE org_unit_id = $1 AND year = $2",
        )
        .bind(org)
        .bind(i64::from(year))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => crate::rows::text(&r, "text")?,
            None => I18nText::default(),
        })
    }

    /// Keeps the ombudsperson's review of `org` for `year` (who records
    /// contacts there).
    pub async fn put_ombudsman_annual_text(
        &self,
        p: &Principal,
        org: i64,
        year: i32,
        text: &I18nText,
    ) -> Result<()> {
        for (lang, t) in [("fi", &text.fi), ("sv", &text.sv), ("en", &text.en)] {
            if t.as_deref().is_some_and(|t| t.chars().count() > 20_000) {
                return Err(invalid(&format!("annual_text_{lang}"), ErrorCode::TooLong));
            }
        }
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        if tree.get(org).is_none() {
            return Err(StoreError::NotFound);
        }
        if !p.can_record_contacts(&tree, org) {
            return Err(StoreError::Forbidden);
        }
        let get = |l: valvo_core::Lang| text.get(l).map(str::to_string);
        sqlx::query(
            "INSERT INTO ombudsman_annual_texts (org_unit_id, year, text_fi, text_sv, text_en, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_unit_id, year) DO UPDATE SET \
             text_fi = $3, text_sv = $4, text_en = $5, updated_at = $6, updated_by = $7",
        )
        .bind(org)
        .bind(i64::from(year))
        .bind(get(valvo_core::Lang::Fi))
        .bind(get(valvo_core::Lang::Sv))
        .bind(get(valvo_core::Lang::En))
        .bind(now())
        .bind(&p.label)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            p,
            "update",
            "ombudsman_annual_text",
            &format!("{org}/{year}"),
            Some(org),
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Statistics of an org subtree for a period, from the kept counts.
    pub async fn ombudsman_stats(&self, root: i64, period: Period) -> Result<OmbudsmanStats> {
        let mut conn = self.pool.acquire().await?;
        stats_in(&mut conn, root, period).await
    }

    /// The statistics counted again from the contacts themselves (for the
    /// tests and the benchmark, which compare them with the kept counts).
    pub async fn ombudsman_stats_counted(
        &self,
        tree: &OrgTree,
        root: i64,
        period: Period,
    ) -> Result<OmbudsmanStats> {
        let units: std::collections::HashSet<i64> = tree.subtree_ids(root).into_iter().collect();
        let count = |period: Period| {
            let units = units.clone();
            async move {
                let mut rows: Vec<valvo_core::ombudsman::MarginalRow> = Vec::new();
                let first = Period::containing(period.start(), PeriodKind::Month).to_string();
                let last = Period::containing(period.end(), PeriodKind::Month).to_string();
                // Only what counts: live contacts and those of imports that are done.
                let sql = format!(
                    "SELECT c.id, c.org_unit_id, c.month, c.channel, c.language, c.client_group, c.measures, \
                     i.org_unit_id AS item_unit, i.producer, i.sector, i.reasons \
                     FROM ombudsman_contacts c JOIN ombudsman_items i ON i.contact_id = c.id \
                     WHERE c.month >= $1 AND c.month <= $2 AND {} ORDER BY c.id",
                    crate::write::visible("c.")
                );
                let contacts = sqlx::query(&sql)
                    .bind(first)
                    .bind(last)
                    .fetch_all(&self.pool)
                    .await?;
                let mut last_contact = None;
                for r in &contacts {
                    let month: Period = r
                        .try_get::<String, _>("month")?
                        .parse()
                        .map_err(|_| crate::rows::corrupt("month", "?"))?;
                    let mut push =
                        |dim: &str, key: String| rows.push((month, dim.to_string(), key, 1));
                    let id: i64 = r.try_get("id")?;
                    if last_contact != Some(id) && units.contains(&r.try_get("org_unit_id")?) {
                        push("contacts", String::new());
                        push("channel", r.try_get("channel")?);
                        for m in r
                            .try_get::<String, _>("measures")?
                            .split(',')
                            .filter(|m| !m.is_empty())
                        {
                            push("measure", m.to_string());
                        }
                    }
                    last_contact = Some(id);
                    if units.contains(&r.try_get("item_unit")?) {
                        push("items", String::new());
                        push("producer", r.try_get("producer")?);
                        push("sector", r.try_get("sector")?);
                        push("language", r.try_get("language")?);
                        push("client_group", r.try_get("client_group")?);
                        for m in r.try_get::<String, _>("reasons")?.split(',') {
                            push("reason", m.to_string());
                        }
                    }
                }
                Ok::<_, StoreError>(rows)
            }
        };
        let cur = count(period).await?;
        let prev = match period.prev() {
            Some(p) => count(p).await?,
            None => Vec::new(),
        };
        Ok(OmbudsmanStats::from_marginals(period, &cur, &prev))
    }
}
