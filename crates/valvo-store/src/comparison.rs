//! The counts a fair comparison reads (`feedback_strata`): per scope (a
//! unit and everything below it; a county is the scope of a root), period
//! key, stratum (respondent, age group, language of service) and item (NPS
//! and each statement). Counties are compared from their roots' rows, a
//! service type from the scopes [`valvo_core::OrgTree::service_type_parts`] names,
//! added and taken away. Every writer of the feedback aggregates adds these rows in
//! the same transaction, after its `feedback_agg` and `feedback_totals`
//! rows and in the stored key's byte order (the order every writer locks
//! them in); an import stages them with its other rows and adds them when
//! it finishes.

use std::collections::{BTreeMap, HashMap};

use sqlx::{AnyConnection, Row};
use valvo_core::comparison::Stratum;
use valvo_core::feedback::{AgeGroup, Answer, Counts, Respondent, ServiceLang, ITEM_ANSWERS};
use valvo_core::{Period, PeriodKind, ServiceType};

use crate::feedback::{add_counts, period_keys, COUNT_COLUMNS};
use crate::{Result, Store, StoreError};

/// A row's key as stored: scope, period key, `[respondent, age group,
/// language]` codes (empty: not told), item.
pub(crate) type StrataKey = (i64, String, [&'static str; 3], String);

/// Rows waiting to be written.
pub(crate) type StrataRows = HashMap<StrataKey, Counts>;

/// An answer's stratum as stored: its respondent, age group and language
/// codes (empty: not told).
pub(crate) fn codes(a: &Answer) -> [&'static str; 3] {
    [
        a.respondent.map_or("", Respondent::code),
        a.age_group.map_or("", AgeGroup::code),
        a.service_lang.map_or("", ServiceLang::code),
    ]
}

/// The period kinds a service type is compared by: the scopes below a
/// county keep their counts by stratum for these only (the public
/// comparison is by tertial; months and quarters there would be most of the
/// rows, and a service's month is too few answers to compare).
pub const SERVICE_PERIODS: [PeriodKind; 3] =
    [PeriodKind::Tertial, PeriodKind::Half, PeriodKind::Year];

/// Adds an answer given in `month` in a unit (its NPS and statements,
/// "cannot say" too) under each of `scopes` (the unit and every unit above
/// it): in the county `root`, under the month and every period containing
/// it; in the others, under the [`SERVICE_PERIODS`] containing it.
pub(crate) fn add_answer(out: &mut StrataRows, scopes: &[i64], root: i64, month: &str, a: &Answer) {
    let stratum = codes(a);
    let keys = period_keys(month);
    // The channel does not matter here: any will do for the cells.
    for c in a.cells(valvo_core::feedback::Channel::Web) {
        add_cell(out, scopes, root, &keys, stratum, &c.item, &c.counts);
    }
}

/// Adds one item's counts of answers given in a month in a unit, in one
/// stratum, as [`add_answer`] does an answer's; `keys` are the month's
/// [`period_keys`].
pub(crate) fn add_cell(
    out: &mut StrataRows,
    scopes: &[i64],
    root: i64,
    keys: &[String],
    stratum: [&'static str; 3],
    item: &str,
    counts: &Counts,
) {
    if item == ITEM_ANSWERS {
        return;
    }
    // period_keys: the month, quarter, tertial, half year and year.
    let coarse = &keys[keys.len().saturating_sub(SERVICE_PERIODS.len())..];
    for scope in scopes {
        let keys = if *scope == root { keys } else { coarse };
        for k in keys {
            out.entry((*scope, k.clone(), stratum, item.to_owned()))
                .or_default()
                .add(counts);
        }
    }
}

fn bind_row<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    (root, key, [r, a, l], item): &StrataKey,
    counts: &Counts,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q = q
        .bind(*root)
        .bind(key.clone())
        .bind(*r)
        .bind(*a)
        .bind(*l)
        .bind(item.clone());
    for c in counts.counts {
        q = q.bind(c as i64);
    }
    q.bind(counts.cannot_say as i64)
}

/// Rows in the stored key's byte order.
fn sorted(rows: StrataRows) -> Vec<(StrataKey, Counts)> {
    let mut rows: Vec<_> = rows.into_iter().filter(|(_, c)| !c.is_zero()).collect();
    rows.sort_by(|(a, _), (b, _)| a.cmp(b));
    rows
}

/// Adds `rows` to `feedback_strata` (or, with `import`, to that import's
/// staging rows).
pub(crate) async fn upsert(
    conn: &mut AnyConnection,
    import: Option<i64>,
    rows: StrataRows,
) -> Result<()> {
    let (table, lead, cols) = match import {
        Some(_) => ("import_feedback_strata", "import_id, ", 19),
        None => ("feedback_strata", "", 18),
    };
    let rows = sorted(rows);
    for chunk in rows.chunks(crate::import::statement_rows(conn, cols)) {
        let sql = crate::import::multi_row(
            conn,
            &format!(
                "INSERT INTO {table} ({lead}scope_id, month, respondent, age_group, lang, item, \
                 b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs)"
            ),
            chunk.len(),
            cols,
            &format!(
                " ON CONFLICT ({lead}scope_id, month, respondent, age_group, lang, item) DO UPDATE SET {}",
                add_counts(table)
            ),
        );
        let mut q = sqlx::query(&sql);
        for (key, counts) in chunk {
            if let Some(job) = import {
                q = q.bind(job);
            }
            q = bind_row(q, key, counts);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds an import's staged rows to the live ones (in key order, texts byte
/// by byte whatever the collation) and removes them.
pub(crate) async fn finish_import(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    job: i64,
) -> Result<()> {
    let bytes = match backend {
        crate::Backend::Postgres => " COLLATE \"C\"",
        crate::Backend::Sqlite => "",
    };
    let order = ["month", "respondent", "age_group", "lang", "item"]
        .map(|c| format!("{c}{bytes}"))
        .join(", ");
    sqlx::query(&format!(
        "INSERT INTO feedback_strata (scope_id, month, respondent, age_group, lang, item, \
         b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs) \
         SELECT scope_id, month, respondent, age_group, lang, item, \
         b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, cs FROM import_feedback_strata \
         WHERE import_id = $1 ORDER BY scope_id, {order} \
         ON CONFLICT (scope_id, month, respondent, age_group, lang, item) DO UPDATE SET {}",
        add_counts("feedback_strata")
    ))
    .bind(job)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM import_feedback_strata WHERE import_id = $1")
        .bind(job)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// Every county's answers in `period` per stratum and item: what a fair
    /// comparison reads (a few hundred rows a county, one per stratum and
    /// item, whatever the number of answers).
    pub async fn feedback_strata(&self, period: Period) -> Result<ByCounty> {
        // Answers acknowledged before this read are in it.
        self.feedback_catch_up().await?;
        let mut conn = self.pool.acquire().await?;
        strata_in(&mut conn, period, None).await
    }

    /// Every county's answers in `period` from the units giving the service
    /// `service` ([`valvo_core::OrgTree::service_type_of`]), per item and
    /// stratum: the counts of the subtrees
    /// [`valvo_core::OrgTree::service_type_parts`] names, added and taken
    /// away (in the tree's order, so a subtree is taken away only from the
    /// one above it). Counties without such units or answers are absent.
    pub async fn feedback_strata_of_service(
        &self,
        tree: &valvo_core::OrgTree,
        period: Period,
        service: ServiceType,
    ) -> Result<ByCounty> {
        if !SERVICE_PERIODS.contains(&period.kind()) {
            return Err(StoreError::Invalid(vec![valvo_core::plan::FieldError {
                field: "period".into(),
                code: valvo_core::plan::ErrorCode::Invalid,
            }]));
        }
        self.feedback_catch_up().await?;
        let mut conn = self.pool.acquire().await?;
        service_strata_in(&mut conn, tree, period, service).await
    }
}

/// [`Store::feedback_strata_of_service`] in the caller's connection. The
/// stored rows do not depend on the types (units never move), so whatever
/// the tree's version, its parts read them right.
async fn service_strata_in(
    conn: &mut AnyConnection,
    tree: &valvo_core::OrgTree,
    period: Period,
    service: ServiceType,
) -> Result<ByCounty> {
    let parts = tree.service_type_parts(service);
    if parts.is_empty() {
        return Ok(ByCounty::new());
    }
    let scopes: Vec<i64> = parts.iter().map(|p| p.1).collect();
    let by_scope = strata_in(conn, period, Some(&scopes)).await?;
    Ok(combine(&parts, &by_scope))
}

/// The counts of a service per county: the rows of `parts`' scopes added
/// and taken away (see [`valvo_core::OrgTree::service_type_parts`]).
fn combine(parts: &[(i64, i64, i8)], by_scope: &ByCounty) -> ByCounty {
    let mut out = ByCounty::new();
    for &(county, scope, sign) in parts {
        let Some(items) = by_scope.get(&scope) else {
            continue;
        };
        let mine = out.entry(county).or_default();
        for (item, strata) in items {
            let cells = mine.entry(item.clone()).or_default();
            for (stratum, counts) in strata {
                let cell = cells.entry(*stratum).or_default();
                if sign > 0 {
                    cell.add(counts);
                } else {
                    cell.subtract(counts);
                }
            }
        }
    }
    for items in out.values_mut() {
        for strata in items.values_mut() {
            strata.retain(|_, c| !c.is_zero());
        }
        items.retain(|_, s| !s.is_empty());
    }
    out.retain(|_, items| !items.is_empty());
    out
}

/// Counts per county (or scope), item and stratum: what the comparison's
/// arithmetic takes.
pub type ByCounty = BTreeMap<i64, BTreeMap<String, BTreeMap<Stratum, Counts>>>;

/// [`Store::feedback_strata`] in the caller's connection or transaction.
/// With `scopes`, those scopes' rows instead of the counties'.
pub(crate) async fn strata_in(
    conn: &mut AnyConnection,
    period: Period,
    scopes: Option<&[i64]>,
) -> Result<ByCounty> {
    // One row per county, its strata of every item joined in one text
    // (`item|respondent|age|lang|b0,…,b10,cs;…`): the strata of 22 counties
    // are some ten thousand rows, and each row the driver hands over costs
    // more than reading it. Each county's rows of the period are one range
    // of the primary key, read by a subquery of its own: nothing is sorted
    // or grouped whatever plan the database chooses (PostgreSQL sorted
    // every line to group them by county), and one call builds a line (a
    // chain of || copies the line once for each of its 16 fields; on
    // PostgreSQL `concat_ws` is cheaper than `format()`, which parses its
    // pattern for each line).
    let among = match scopes {
        None => "parent_id IS NULL".to_owned(),
        Some(list) => format!(
            "id IN ({})",
            list.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let counts = COUNT_COLUMNS.join(", ");
    // SQLite's concat_ws leaves out empty texts too (a stratum's unknown
    // age group is ''), PostgreSQL's only NULLs.
    let line = if conn.backend_name() == "PostgreSQL" {
        format!("concat_ws('|', item, respondent, age_group, lang, concat_ws(',', {counts}))")
    } else {
        format!(
            "format('%s|%s|%s|%s|{}', item, respondent, age_group, lang, {counts})",
            ["%s"; COUNT_COLUMNS.len()].join(",")
        )
    };
    let rows = sqlx::query(&format!(
        "SELECT o.id AS scope_id, \
                (SELECT string_agg({line}, ';') \
                 FROM feedback_strata s WHERE s.scope_id = o.id AND s.month = $1) AS strata \
         FROM org_units o WHERE {among}"
    ))
    .bind(period.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = ByCounty::new();
    for r in rows {
        let scope: i64 = r.try_get("scope_id")?;
        // None: no answers in the period.
        let Some(text) = r.try_get::<Option<String>, _>("strata")? else {
            continue;
        };
        let items = out.entry(scope).or_default();
        for one in text.split(';') {
            let bad = || StoreError::Corrupt(format!("feedback_strata: {one}"));
            let mut parts = one.split('|');
            let mut code = || parts.next().ok_or_else(bad);
            let (item, respondent, age_group, lang) = (code()?, code()?, code()?, code()?);
            let mut counts = Counts::default();
            let mut numbers = code()?.split(',');
            for slot in counts
                .counts
                .iter_mut()
                .chain(std::iter::once(&mut counts.cannot_say))
            {
                *slot = numbers
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(bad)?;
            }
            if numbers.next().is_some() {
                return Err(bad());
            }
            let stratum = Stratum {
                respondent: Respondent::parse(respondent),
                age_group: AgeGroup::parse(age_group),
                lang: ServiceLang::parse(lang),
            };
            // The item's name is copied once a scope, not once a line.
            if !items.contains_key(item) {
                items.insert(item.to_owned(), BTreeMap::new());
            }
            items
                .get_mut(item)
                .ok_or_else(bad)?
                .entry(stratum)
                .or_default()
                .add(&counts);
        }
    }
    Ok(out)
}

/// A county's figures beside the country's, standardised (the report's
/// table): `None` unless `county` is a root and at least one other county
/// has answers in the period (beside itself alone it would say nothing).
pub(crate) async fn report_table(
    conn: &mut AnyConnection,
    tree: &valvo_core::OrgTree,
    county: i64,
    period: Period,
    statements: &[valvo_core::feedback::Statement],
) -> Result<Option<valvo_core::report::ReportTable>> {
    if tree.get(county).is_none_or(|n| n.parent_id.is_some()) {
        return Ok(None);
    }
    let mut by = strata_in(conn, period, None).await?;
    by.retain(|id, _| tree.get(*id).is_some_and(|n| n.parent_id.is_none()));
    Ok(table_of(&by, county, statements, "fb_comparison"))
}

/// The comparison table of `county` among `by` (`None` unless it and at
/// least one other county have answers).
fn table_of(
    by: &ByCounty,
    county: i64,
    statements: &[valvo_core::feedback::Statement],
    key: &str,
) -> Option<valvo_core::report::ReportTable> {
    if !by.contains_key(&county) || by.len() < 2 {
        return None;
    }
    let national: Vec<_> = statements.iter().filter(|s| s.national).collect();
    let keys: Vec<String> = national.iter().map(|s| s.key.clone()).collect();
    let (all, each) = valvo_core::comparison::compare_counties(by, &keys);
    each.get(&county)
        .map(|mine| valvo_core::section_tables::comparison_table(key, &national, mine, &all))
}

/// The county's units giving a service beside the country's (the table of
/// the report of the unit that names the service for its part of the tree:
/// a service area whose parent gives another or none): `None` for any other
/// unit, or unless another county has answers of that service.
pub(crate) async fn service_report_table(
    conn: &mut AnyConnection,
    tree: &valvo_core::OrgTree,
    unit: i64,
    period: Period,
    statements: &[valvo_core::feedback::Statement],
) -> Result<Option<valvo_core::report::ReportTable>> {
    let Some(node) = tree.get(unit) else {
        return Ok(None);
    };
    let Some(service) = node.service_type else {
        return Ok(None);
    };
    let (Some(parent), Some(county)) = (node.parent_id, tree.root_of(unit)) else {
        return Ok(None);
    };
    if tree.service_type_of(parent) == Some(service) || !SERVICE_PERIODS.contains(&period.kind()) {
        return Ok(None);
    }
    Ok(table_of(
        &service_strata_in(conn, tree, period, service).await?,
        county,
        statements,
        &format!("fb_comparison_{}", service.code()),
    ))
}
