//! Supervision visits: recording a visit with its findings and the marginal
//! counts in one transaction, the corrections requested and their replies,
//! and the statistics of a subtree.

use serde::Serialize;
use sqlx::{AnyConnection, Row};
use valvo_core::access::Principal;
use valvo_core::ombudsman::Producer;
use valvo_core::plan::ErrorCode;
use valvo_core::supervision::{
    marginals, CorrectionState, NewVisit, Severity, SupervisionStats, VisitKind,
};
use valvo_core::{I18nText, OrgTree, Period, PeriodKind};

use crate::rows::corrupt;
use crate::write::{
    add_marginals, audit, for_update, invalid, placeholders, read_marginals, MarginalDeltas,
};
use crate::{now, Result, Store, StoreError};

/// A finding as kept, with its correction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Id.
    pub id: i64,
    /// The visit.
    pub visit_id: i64,
    /// The unit visited.
    pub org_unit_id: i64,
    /// Checklist topic.
    pub topic: String,
    /// Severity.
    pub severity: Severity,
    /// What was found.
    pub text: I18nText,
    /// The deadline of the correction requested; `None`: none requested.
    pub correction_due: Option<time::Date>,
    /// The correction's state as of today (`None`: none requested).
    pub state: Option<CorrectionState>,
    /// The producer's reply.
    pub reply: String,
    /// When it was marked done.
    pub done_on: Option<time::Date>,
}

/// A visit as kept.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Visit {
    /// Id.
    pub id: i64,
    /// The unit visited.
    pub org_unit_id: i64,
    /// Its producer type on the day.
    pub producer: Producer,
    /// Day of the visit.
    pub visited_on: time::Date,
    /// Kind.
    pub kind: VisitKind,
    /// Topics checked.
    pub topics: Vec<String>,
    /// The visit this one follows up.
    pub follows: Option<i64>,
    /// When the inspection report went to the regional state administrative agency.
    pub avi_sent_on: Option<time::Date>,
    /// Findings.
    pub findings: Vec<Finding>,
}

use crate::rows::date;

fn opt_date(s: Option<String>) -> Result<Option<time::Date>> {
    s.as_deref().map(date).transpose()
}

fn finding_row(r: &sqlx::any::AnyRow, today: time::Date) -> Result<Finding> {
    let due = opt_date(r.try_get("correction_due")?)?;
    let state: String = r.try_get("state")?;
    let sev: String = r.try_get("severity")?;
    Ok(Finding {
        id: r.try_get("id")?,
        visit_id: r.try_get("visit_id")?,
        org_unit_id: r.try_get("org_unit_id")?,
        topic: r.try_get("topic")?,
        severity: Severity::parse(&sev).ok_or_else(|| corrupt("severity", &sev))?,
        text: crate::rows::text(r, "text")?,
        correction_due: due,
        state: CorrectionState::parse(&state).map(|s| CorrectionState::as_of(s, due, today)),
        reply: r.try_get("reply")?,
        done_on: opt_date(r.try_get("done_on")?)?,
    })
}

async fn visit_in(conn: &mut AnyConnection, id: i64, today: time::Date) -> Result<Visit> {
    let r = sqlx::query("SELECT * FROM supervision_visits WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let producer: String = r.try_get("producer")?;
    let kind: String = r.try_get("kind")?;
    let topics: String = r.try_get("topics")?;
    let findings =
        sqlx::query("SELECT * FROM supervision_findings WHERE visit_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| finding_row(r, today))
            .collect::<Result<Vec<_>>>()?;
    Ok(Visit {
        id,
        org_unit_id: r.try_get("org_unit_id")?,
        producer: Producer::parse(&producer).ok_or_else(|| corrupt("producer", &producer))?,
        visited_on: date(&r.try_get::<String, _>("visited_on")?)?,
        kind: VisitKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        topics: topics
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        follows: r.try_get("follows_id")?,
        avi_sent_on: opt_date(r.try_get("avi_sent_on")?)?,
        findings,
    })
}

/// Statistics of `root`'s subtree for `period`, on `conn`: the kept counts,
/// and the corrections open now counted from the findings (indexed by state).
pub(crate) async fn stats_in(
    conn: &mut AnyConnection,
    tree: &OrgTree,
    root: i64,
    period: Period,
    today: time::Date,
) -> Result<SupervisionStats> {
    let units = tree.subtree_ids(root);
    let cur = read_marginals(conn, "supervision_marginals", root, &period).await?;
    let prev = match period.prev() {
        Some(p) => read_marginals(conn, "supervision_marginals", root, &p).await?,
        None => Vec::new(),
    };
    let (mut open, mut overdue) = (0u64, 0u64);
    for chunk in units.chunks(1000) {
        let ids = placeholders(2, chunk.len());
        let sql = format!(
            "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN correction_due < $1 THEN 1 ELSE 0 END), 0) AS late \
             FROM supervision_findings WHERE state = 'open' AND org_unit_id IN ({ids})"
        );
        let mut q = sqlx::query(&sql).bind(today.to_string());
        for u in chunk {
            q = q.bind(*u);
        }
        let r = q.fetch_one(&mut *conn).await?;
        open += r.try_get::<i64, _>("n")?.max(0) as u64;
        overdue += r.try_get::<i64, _>("late")?.max(0) as u64;
    }
    Ok(SupervisionStats::from_marginals(
        period, &cur, &prev, open, overdue,
    ))
}

impl Store {
    /// Records a visit with its findings. Returns its id.
    pub async fn create_visit(
        &self,
        p: &Principal,
        input: &NewVisit,
        today: time::Date,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let tree = self.tree_in(&mut tx).await?;
        // Shared locks: no topic named is retired before the visit is in.
        // Offered: the shared topics and those of the unit's county.
        let topics = crate::classification::active(&mut tx, "supervision_topics").await?;
        let county = tree.root_of(input.org_unit);
        input
            .validate(today, &|t| topics.offered_in(t, county))
            .map_err(StoreError::Invalid)?;
        let Some(node) = tree.get(input.org_unit) else {
            return Err(invalid("org_unit", ErrorCode::NotFound));
        };
        if !p.can_supervise(&tree, input.org_unit) {
            return Err(if p.can_read(&tree, input.org_unit) {
                StoreError::Forbidden
            } else {
                invalid("org_unit", ErrorCode::NotFound)
            });
        }
        if let Some(f) = input.follows {
            // Shared: the visit followed up stays while this one is written.
            let unit: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT org_unit_id FROM supervision_visits WHERE id = $1{}",
                crate::write::for_share(&tx)
            ))
            .bind(f)
            .fetch_optional(&mut *tx)
            .await?;
            if unit != Some(input.org_unit) {
                return Err(invalid("follows", ErrorCode::NotFound));
            }
        }
        let producer = Producer::from(node.producer);
        let month = Period::containing(input.visited_on, PeriodKind::Month).to_string();
        let topics: Vec<&str> = input.topics.iter().map(|t| t.trim()).collect();
        let id: i64 = sqlx::query(
            "INSERT INTO supervision_visits (org_unit_id, producer, visited_on, month, kind, topics, follows_id, \
             recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(input.org_unit)
        .bind(producer.code())
        .bind(input.visited_on.to_string())
        .bind(&month)
        .bind(input.kind.code())
        .bind(topics.join(","))
        .bind(input.follows)
        .bind(p.user_id)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        for f in &input.findings {
            sqlx::query(
                "INSERT INTO supervision_findings (visit_id, org_unit_id, topic, severity, text_fi, text_sv, text_en, \
                 correction_due, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(input.org_unit)
            .bind(f.topic.trim())
            .bind(f.severity.code())
            .bind(f.text.get(valvo_core::Lang::Fi))
            .bind(f.text.get(valvo_core::Lang::Sv))
            .bind(f.text.get(valvo_core::Lang::En))
            .bind(f.correction_due.map(|d| d.to_string()))
            .bind(if f.correction_due.is_some() { "open" } else { "none" })
            .execute(&mut *tx)
            .await?;
        }
        let mut deltas = MarginalDeltas::new();
        for (dim, key) in marginals(producer, input) {
            crate::write::count_in_scopes(&mut deltas, &tree, input.org_unit, &month, dim, &key);
        }
        add_marginals(&mut tx, "supervision_marginals", &deltas).await?;
        audit(
            &mut tx,
            p,
            "create",
            "supervision_visit",
            &id.to_string(),
            Some(input.org_unit),
            None,
            Some(serde_json::json!(input)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A visit, if `p` may read its unit.
    pub async fn visit(&self, p: &Principal, id: i64, today: time::Date) -> Result<Visit> {
        let mut conn = self.pool.acquire().await?;
        let v = visit_in(&mut conn, id, today).await?;
        let tree = self.tree_in(&mut conn).await?;
        if p.can_read(&tree, v.org_unit_id) {
            Ok(v)
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// The visits to `root`'s subtree in `period`, newest first.
    pub async fn visits(
        &self,
        tree: &OrgTree,
        root: i64,
        period: Period,
        today: time::Date,
    ) -> Result<Vec<Visit>> {
        let mut conn = self.pool.acquire().await?;
        let units = tree.subtree_ids(root);
        let mut ids: Vec<(String, i64)> = Vec::new();
        for chunk in units.chunks(1000) {
            let list = placeholders(3, chunk.len());
            let sql = format!(
                "SELECT id, visited_on FROM supervision_visits WHERE visited_on >= $1 AND visited_on <= $2 \
                 AND org_unit_id IN ({list})"
            );
            let mut q = sqlx::query(&sql)
                .bind(period.start().to_string())
                .bind(period.end().to_string());
            for u in chunk {
                q = q.bind(*u);
            }
            for r in q.fetch_all(&mut *conn).await? {
                ids.push((r.try_get("visited_on")?, r.try_get("id")?));
            }
        }
        ids.sort_by(|a, b| b.cmp(a));
        let mut out = Vec::with_capacity(ids.len());
        for (_, id) in ids.into_iter().take(500) {
            out.push(visit_in(&mut conn, id, today).await?);
        }
        Ok(out)
    }

    /// The corrections open in `p`'s scope, the longest overdue first.
    pub async fn open_corrections(&self, p: &Principal, today: time::Date) -> Result<Vec<Finding>> {
        const MAX: usize = 5000;
        let tree = self.org_tree().await?;
        // The scope first, in SQL: a scoped user sees all of theirs.
        let units: Vec<i64> = match p.scope {
            Some(root) => tree.subtree_ids(root),
            None => tree.nodes().iter().map(|n| n.id).collect(),
        };
        let mut out = Vec::new();
        for chunk in units.chunks(1000) {
            let sql = format!(
                "SELECT * FROM supervision_findings WHERE state = 'open' AND org_unit_id IN ({}) \
                 ORDER BY correction_due, id LIMIT {MAX}",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for u in chunk {
                q = q.bind(*u);
            }
            for r in q.fetch_all(&self.pool).await? {
                let f = finding_row(&r, today)?;
                if p.can_read(&tree, f.org_unit_id) {
                    out.push(f);
                }
            }
        }
        out.sort_by(|a, b| (a.correction_due, a.id).cmp(&(b.correction_due, b.id)));
        out.truncate(MAX);
        Ok(out)
    }

    /// Records the producer's reply to a requested correction and whether it
    /// is done (`done`) or still open.
    pub async fn update_correction(
        &self,
        p: &Principal,
        finding: i64,
        done: bool,
        reply: &str,
        today: time::Date,
    ) -> Result<Finding> {
        if reply.chars().count() > valvo_core::supervision::MAX_TEXT {
            return Err(invalid("reply", ErrorCode::TooLong));
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT * FROM supervision_findings WHERE id = $1{}",
            for_update(&tx)
        ))
        .bind(finding)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let before = finding_row(&row, today)?;
        let tree = self.tree_in(&mut tx).await?;
        if !p.can_read(&tree, before.org_unit_id) {
            return Err(StoreError::NotFound);
        }
        if !p.can_supervise(&tree, before.org_unit_id) {
            return Err(StoreError::Forbidden);
        }
        if before.correction_due.is_none() {
            return Err(invalid("finding", ErrorCode::StateConflict));
        }
        sqlx::query(
            "UPDATE supervision_findings SET state = $1, reply = $2, done_on = $3 WHERE id = $4",
        )
        .bind(if done { "done" } else { "open" })
        .bind(reply.trim())
        .bind(done.then(|| today.to_string()))
        .bind(finding)
        .execute(&mut *tx)
        .await?;
        let after = finding_row(
            &sqlx::query("SELECT * FROM supervision_findings WHERE id = $1")
                .bind(finding)
                .fetch_one(&mut *tx)
                .await?,
            today,
        )?;
        audit(
            &mut tx,
            p,
            "update",
            "supervision_finding",
            &finding.to_string(),
            Some(before.org_unit_id),
            Some(serde_json::json!({ "state": before.state, "reply": before.reply })),
            Some(serde_json::json!({ "state": after.state, "reply": after.reply })),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Records the day the visit's inspection report went to the regional
    /// state administrative agency.
    pub async fn set_avi_sent(
        &self,
        p: &Principal,
        visit: i64,
        sent_on: time::Date,
        today: time::Date,
    ) -> Result<Visit> {
        let mut tx = self.begin_write().await?;
        crate::write::lock_row(&mut tx, "supervision_visits", visit).await?;
        let before = visit_in(&mut tx, visit, today).await?;
        let tree = self.tree_in(&mut tx).await?;
        if !p.can_read(&tree, before.org_unit_id) {
            return Err(StoreError::NotFound);
        }
        if !p.can_supervise(&tree, before.org_unit_id) {
            return Err(StoreError::Forbidden);
        }
        if sent_on < before.visited_on || sent_on > today {
            return Err(invalid("avi_sent_on", ErrorCode::OutOfRange));
        }
        sqlx::query("UPDATE supervision_visits SET avi_sent_on = $1 WHERE id = $2")
            .bind(sent_on.to_string())
            .bind(visit)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            p,
            "update",
            "supervision_visit",
            &visit.to_string(),
            Some(before.org_unit_id),
            Some(serde_json::json!({ "avi_sent_on": before.avi_sent_on })),
            Some(serde_json::json!({ "avi_sent_on": sent_on.to_string() })),
        )
        .await?;
        let after = visit_in(&mut tx, visit, today).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Statistics of an org subtree for a period.
    pub async fn supervision_stats(
        &self,
        tree: &OrgTree,
        root: i64,
        period: Period,
        today: time::Date,
    ) -> Result<SupervisionStats> {
        let mut conn = self.pool.acquire().await?;
        stats_in(&mut conn, tree, root, period, today).await
    }

    /// The visits of a period counted again from the visits themselves, as
    /// `(producer/kind, month) → n` (for tests and the benchmark).
    pub async fn visits_counted(
        &self,
        tree: &OrgTree,
        root: i64,
        period: Period,
    ) -> Result<std::collections::BTreeMap<(String, String), u64>> {
        let units: std::collections::HashSet<i64> = tree.subtree_ids(root).into_iter().collect();
        let rows = sqlx::query(
            "SELECT org_unit_id, producer, kind, month FROM supervision_visits WHERE visited_on >= $1 AND visited_on <= $2",
        )
        .bind(period.start().to_string())
        .bind(period.end().to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out = std::collections::BTreeMap::new();
        for r in rows {
            if units.contains(&r.try_get("org_unit_id")?) {
                let key = format!(
                    "{}/{}",
                    r.try_get::<String, _>("producer")?,
                    r.try_get::<String, _>("kind")?
                );
                *out.entry((key, r.try_get("month")?)).or_default() += 1;
            }
        }
        Ok(out)
    }
}
