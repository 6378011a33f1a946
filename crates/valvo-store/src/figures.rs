//! Figures as a unit enters them in bulk and as a coordinator watches them:
//! a unit's whole plan for one period saved in one transaction, what is
//! still missing per unit and period (a reporting rate), the values flagged
//! for a look, and follow-ups that are not of their indicator's own periods
//! (kept from before periods were bound to indicators: listed, never dropped).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use valvo_core::access::Principal;
use valvo_core::model::{FollowUp, Indicator};
use valvo_core::plan::{ErrorCode, FieldError, FollowUpInput};
use valvo_core::{OrgTree, Period, PeriodKind};

use crate::write::{audit, check_write};
use crate::{now, Result, Store, StoreError};

/// How many of a unit's figures of a period are in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Completeness {
    /// The unit.
    pub org_unit_id: i64,
    /// The period.
    pub period: Period,
    /// Figures expected (indicators followed up for it by hand).
    pub expected: u64,
    /// Figures entered.
    pub entered: u64,
}

/// A follow-up with its indicator, for the coordinator's lists.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Listed {
    /// The indicator.
    pub indicator: Indicator,
    /// The follow-up.
    pub follow_up: FollowUp,
}

/// Whether the indicator is followed up by hand in `year`.
fn followed_in(ind: &Indicator, year: i32) -> bool {
    ind.retired_at.is_none()
        && ind.source.is_none()
        && ind.year <= year
        && year <= ind.until_year.unwrap_or(ind.year).max(ind.year)
}

impl Store {
    /// The indicators of the plans of `units` (every year).
    async fn indicators_in(&self, units: &[i64]) -> Result<Vec<Indicator>> {
        let mut out = Vec::new();
        for chunk in units.chunks(500) {
            let list = crate::write::placeholders(1, chunk.len());
            let sql = format!(
                "SELECT {} FROM indicators i JOIN goals g ON g.id = i.goal_id WHERE g.org_unit_id IN ({list}) \
                 ORDER BY g.org_unit_id, g.year, g.sort_order, g.id, i.sort_order, i.id",
                crate::plan::INDICATOR_COLS
            );
            let mut q = sqlx::query(&sql);
            for u in chunk {
                q = q.bind(*u);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(crate::plan::indicator_row(&r)?);
            }
        }
        Ok(out)
    }

    /// The follow-ups of `indicators` whose period begins within `from..=to`.
    async fn follow_ups_of(
        &self,
        indicators: &[i64],
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<FollowUp>> {
        let mut out = Vec::new();
        for chunk in indicators.chunks(500) {
            let list = crate::write::placeholders(3, chunk.len());
            let sql = format!(
                "SELECT {} FROM follow_ups f WHERE f.period_start >= $1 AND f.period_start <= $2 \
                 AND f.indicator_id IN ({list})",
                crate::plan::FOLLOW_UP_COLS
            );
            let mut q = sqlx::query(&sql)
                .bind(from.to_string())
                .bind(to.to_string());
            for i in chunk {
                q = q.bind(*i);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(crate::plan::follow_up_row(&r)?);
            }
        }
        Ok(out)
    }

    /// A unit's indicators followed up by hand for `period` (its kind, a
    /// year the plan covers), each with its follow-up of the period.
    pub async fn entry_sheet(
        &self,
        org: i64,
        period: Period,
    ) -> Result<Vec<(Indicator, Option<FollowUp>)>> {
        let inds: Vec<Indicator> = self
            .indicators_in(&[org])
            .await?
            .into_iter()
            .filter(|i| i.period_kind == period.kind() && followed_in(i, period.year_number()))
            .collect();
        let ids: Vec<i64> = inds.iter().map(|i| i.id).collect();
        let fus = self
            .follow_ups_of(&ids, period.start(), period.start())
            .await?;
        let mut by: HashMap<i64, FollowUp> = fus
            .into_iter()
            .filter(|f| f.period == period)
            .map(|f| (f.indicator_id, f))
            .collect();
        Ok(inds
            .into_iter()
            .map(|i| {
                let f = by.remove(&i.id);
                (i, f)
            })
            .collect())
    }

    /// The periods a unit's entry page offers: those of its hand-entered
    /// indicators' kinds in the years their plans cover, begun by `today`,
    /// newest first.
    pub async fn entry_periods(&self, org: i64, today: time::Date) -> Result<Vec<Period>> {
        let mut out: Vec<Period> = Vec::new();
        for ind in self.indicators_in(&[org]).await? {
            let last = ind
                .until_year
                .unwrap_or(ind.year)
                .max(ind.year)
                .min(today.year());
            for year in ind.year..=last {
                if !followed_in(&ind, year) {
                    continue;
                }
                if let Ok(y) = Period::year(year) {
                    out.extend(
                        y.sub_periods(ind.period_kind)
                            .into_iter()
                            .filter(|p| p.start() <= today),
                    );
                }
            }
        }
        out.sort_by(|a, b| b.cmp_chronological(a));
        out.dedup();
        Ok(out)
    }

    /// The period kinds of a unit's plan for `year` (for its entry page).
    pub async fn entry_kinds(&self, org: i64, year: i32) -> Result<Vec<PeriodKind>> {
        let mut kinds: Vec<PeriodKind> = self
            .indicators_in(&[org])
            .await?
            .iter()
            .filter(|i| followed_in(i, year))
            .map(|i| i.period_kind)
            .collect();
        kinds.sort_by_key(|k| k.months());
        kinds.dedup();
        Ok(kinds)
    }

    /// Saves a unit's figures of one period together: every one or none
    /// (errors named `value_ID`, `period` …), only those that change, each
    /// audited, under the indicators' row locks taken in id order. A figure
    /// far outside its indicator's history needs an assessment
    /// (`far_outside`). Returns how many changed.
    pub async fn put_follow_ups(
        &self,
        p: &Principal,
        org: i64,
        period: Period,
        inputs: &[(i64, FollowUpInput)],
    ) -> Result<usize> {
        let mut errors = Vec::new();
        for (id, input) in inputs {
            if let Err(e) = input.validate() {
                errors.extend(
                    e.into_iter()
                        .map(|f| FieldError::new(format!("{}_{id}", f.field), f.code)),
                );
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let today = time::OffsetDateTime::now_utc().date();
        let mut tx = self.begin_write().await?;
        let mut ids: Vec<i64> = inputs.iter().map(|(i, _)| *i).collect();
        ids.sort_unstable();
        ids.dedup();
        crate::write::lock_rows(&mut tx, "indicators", &ids).await?;
        let tree: std::sync::Arc<OrgTree> = self.tree_in(&mut tx).await?;
        check_write(p, &tree, org)?;
        let mut changed = 0;
        let mut plan: Vec<(Indicator, &FollowUpInput, Option<FollowUp>, bool)> = Vec::new();
        for (id, input) in inputs {
            let ind = crate::plan::indicator_in(&mut tx, *id).await?;
            if ind.org_unit_id != org {
                return Err(StoreError::NotFound);
            }
            if let Err(e) = crate::plan::check_follow_up(&ind, &period, input, today) {
                if let StoreError::Invalid(list) = e {
                    errors.extend(
                        list.into_iter()
                            .map(|f| FieldError::new(format!("{}_{id}", f.field), f.code)),
                    );
                    continue;
                }
                return Err(e);
            }
            let before = crate::plan::follow_up_in(&mut tx, *id, &period).await?;
            let flagged = crate::plan::far_outside_in(&mut tx, &ind, &period, input.value).await?;
            if flagged
                && input.assessment.is_empty()
                && before.as_ref().is_none_or(|b| b.value != input.value)
            {
                errors.push(FieldError::new(
                    format!("value_{id}"),
                    ErrorCode::FarOutside,
                ));
            }
            plan.push((ind, input, before, flagged));
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let at = now();
        for (ind, input, before, flagged) in plan {
            let same = before.as_ref().is_some_and(|b| {
                b.figure() == input.figure()
                    && b.assessment == input.assessment
                    && b.corrective == input.corrective
            });
            if same {
                continue;
            }
            crate::plan::write_follow_up(
                &mut tx,
                &ind,
                &period,
                input,
                flagged,
                &at,
                &p.label,
                before.is_some(),
            )
            .await?;
            let after = crate::plan::follow_up_in(&mut tx, ind.id, &period)
                .await?
                .ok_or(StoreError::NotFound)?;
            audit(
                &mut tx,
                p,
                if before.is_some() { "update" } else { "create" },
                "follow_up",
                &format!("{}/{period}", ind.id),
                Some(ind.org_unit_id),
                before.as_ref().and_then(|b| serde_json::to_value(b).ok()),
                serde_json::to_value(&after).ok(),
            )
            .await?;
            changed += 1;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// What is in and what is missing of `year`'s periods that have ended,
    /// per unit `p` may read below `root` (or everywhere) and period.
    pub async fn completeness(
        &self,
        p: &Principal,
        root: Option<i64>,
        year: i32,
        today: time::Date,
    ) -> Result<Vec<Completeness>> {
        let tree = self.org_tree().await?;
        let units: Vec<i64> = tree
            .nodes()
            .iter()
            .map(|n| n.id)
            .filter(|id| p.can_read(&tree, *id))
            .filter(|id| root.is_none_or(|r| tree.is_in_subtree(*id, r)))
            .collect();
        let inds: Vec<Indicator> = self
            .indicators_in(&units)
            .await?
            .into_iter()
            .filter(|i| followed_in(i, year))
            .collect();
        let Ok(y) = Period::year(year) else {
            return Ok(Vec::new());
        };
        let ids: Vec<i64> = inds.iter().map(|i| i.id).collect();
        let entered: std::collections::HashSet<(i64, Period)> = self
            .follow_ups_of(&ids, y.start(), y.end())
            .await?
            .into_iter()
            .filter(|f| f.has_figure())
            .map(|f| (f.indicator_id, f.period))
            .collect();
        let mut out: BTreeMap<(i64, Period), (u64, u64)> = BTreeMap::new();
        for ind in &inds {
            for period in y.sub_periods(ind.period_kind) {
                if !period.has_ended(today) {
                    continue;
                }
                let cell = out.entry((ind.org_unit_id, period)).or_default();
                cell.0 += 1;
                if entered.contains(&(ind.id, period)) {
                    cell.1 += 1;
                }
            }
        }
        let order: HashMap<i64, usize> = tree
            .walk()
            .iter()
            .enumerate()
            .map(|(i, (_, n))| (n.id, i))
            .collect();
        let mut list: Vec<Completeness> = out
            .into_iter()
            .map(|((org, period), (expected, entered))| Completeness {
                org_unit_id: org,
                period,
                expected,
                entered,
            })
            .collect();
        list.sort_by(|a, b| {
            (
                order.get(&a.org_unit_id),
                a.period.end(),
                a.period.kind().months(),
            )
                .cmp(&(
                    order.get(&b.org_unit_id),
                    b.period.end(),
                    b.period.kind().months(),
                ))
        });
        Ok(list)
    }

    /// The follow-ups `p` may read that are flagged for a look, newest first.
    pub async fn flagged_follow_ups(&self, p: &Principal, limit: i64) -> Result<Vec<Listed>> {
        self.listed(p, "f.flagged = 1", limit).await
    }

    /// Follow-ups `p` may read that are not of their indicator's own periods
    /// (another period kind, or past the years its plan covers): kept, and
    /// listed for the coordinator to move or remove.
    pub async fn stray_follow_ups(&self, p: &Principal, limit: i64) -> Result<Vec<Listed>> {
        // A period's kind from its code: 2024, 2024-03, 2024Q1, 2024T1, 2024H1.
        let stray = "(CASE WHEN LENGTH(f.period) = 4 THEN 'year' WHEN f.period LIKE '%-%' THEN 'month' \
             WHEN f.period LIKE '%Q%' THEN 'quarter' WHEN f.period LIKE '%T%' THEN 'tertial' ELSE 'half' END) \
             <> i.period_kind OR CAST(SUBSTR(f.period, 1, 4) AS INTEGER) > \
             (CASE WHEN i.until_year IS NOT NULL AND i.until_year > g.year THEN i.until_year ELSE g.year END)";
        self.listed(p, stray, limit).await
    }

    /// Follow-ups matching `filter` in the units `p` may read (the limit
    /// taken after the scope).
    async fn listed(&self, p: &Principal, filter: &str, limit: i64) -> Result<Vec<Listed>> {
        let tree = self.org_tree().await?;
        let scope: Option<Vec<i64>> = p.scope.map(|root| tree.subtree_ids(root));
        if scope.as_ref().is_some_and(|s| s.is_empty()) {
            return Ok(Vec::new());
        }
        let within = match &scope {
            Some(ids) => format!(
                " AND g.org_unit_id IN ({})",
                crate::write::placeholders(1, ids.len())
            ),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {}, {} FROM follow_ups f JOIN indicators i ON i.id = f.indicator_id JOIN goals g ON g.id = i.goal_id \
             WHERE ({filter}){within} ORDER BY f.updated_at DESC, f.indicator_id, f.period LIMIT {}",
            crate::plan::INDICATOR_COLS,
            crate::plan::FOLLOW_UP_COLS,
            limit.clamp(1, 10_000)
        );
        let mut q = sqlx::query(&sql);
        for id in scope.iter().flatten() {
            q = q.bind(*id);
        }
        let mut out = Vec::new();
        for r in q.fetch_all(&self.pool).await? {
            let indicator = crate::plan::indicator_row(&r)?;
            if !p.can_read(&tree, indicator.org_unit_id) {
                continue;
            }
            out.push(Listed {
                indicator,
                follow_up: crate::plan::follow_up_row(&r)?,
            });
        }
        Ok(out)
    }
}

impl Store {
    /// For the benchmark: a county of `units` units, each with one goal of
    /// `year` and `per_unit` tertial indicators coded `U0001-I001` …, their
    /// kinds in turn number, percent, duration, count (multi-row inserts in
    /// a few transactions). Returns the county's id.
    pub async fn bench_plan(&self, units: usize, per_unit: usize, year: i32) -> Result<i64> {
        use sqlx::Row;
        let sys = Principal::system("bench");
        let county = self
            .create_org_unit(
                &sys,
                &crate::NewOrgUnit {
                    parent_id: None,
                    code: "bench".into(),
                    name: valvo_core::I18nText::fi_only("Vertailu"),
                    producer: valvo_core::ProducerType::Own,
                    sort_order: 0,
                    service_type: None,
                },
            )
            .await?;
        let kinds = ["number", "percent", "duration", "count"];
        for start in (0..units).step_by(100) {
            let mut tx = self.begin_write().await?;
            for u in start..(start + 100).min(units) {
                let org: i64 = sqlx::query(
                    "INSERT INTO org_units (parent_id, code, name_fi, producer, sort_order) VALUES ($1, $2, $3, 'own', $4) RETURNING id",
                )
                .bind(county)
                .bind(format!("u{u:04}"))
                .bind(format!("Yksikkö {u}"))
                .bind(u as i64)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let goal: i64 = sqlx::query(
                    "INSERT INTO goals (org_unit_id, year, area, title_fi, sort_order) VALUES ($1, $2, 'access', 'Tavoite', 0) RETURNING id",
                )
                .bind(org)
                .bind(i64::from(year))
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                for part in (0..per_unit).collect::<Vec<_>>().chunks(100) {
                    let list = (0..part.len())
                        .map(|k| {
                            let b = k * 4;
                            format!(
                                "(${}, ${}, ${}, 'lower', 'tertial', ${}, 0)",
                                b + 1,
                                b + 2,
                                b + 3,
                                b + 4
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "INSERT INTO indicators (goal_id, code, name_fi, direction, period_kind, value_kind, sort_order) VALUES {list}"
                    );
                    let mut q = sqlx::query(&sql);
                    for i in part {
                        q = q
                            .bind(goal)
                            .bind(format!("U{u:04}-I{i:03}"))
                            .bind(format!("Mittari {i}"))
                            .bind(kinds[i % kinds.len()]);
                    }
                    q.execute(&mut *tx).await?;
                }
            }
            crate::bump_org_version(&mut tx).await?;
            tx.commit().await?;
        }
        Ok(county)
    }
}
