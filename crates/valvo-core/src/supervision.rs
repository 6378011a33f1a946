//! Supervision visits by the organiser to its own, purchased and private
//! units: what a visit records (kind, topics checked, findings, requests for
//! correction), and the statistics the report prints (seed 003: the visits
//! table by producer × kind × month with row and column totals, the main
//! findings, corrections open and overdue).

use serde::{Deserialize, Serialize};
use time::Date;

use crate::ombudsman::Producer;
use crate::period::{Period, PeriodKind};
use crate::plan::{ErrorCode, FieldError};
use crate::report::{ReportTable, TableCell, TableLabel, TableRow};
use crate::text::I18nText;

/// Longest finding text, per language.
pub const MAX_TEXT: usize = 4000;
/// At most this many findings in one visit.
pub const MAX_FINDINGS: usize = 50;
/// The earliest accepted visit year.
const MIN_YEAR: i32 = 2000;

/// What kind of visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// Not announced beforehand (ennalta ilmoittamaton).
    Unannounced,
    /// Announced beforehand (ennalta ilmoitettu).
    Announced,
    /// A follow-up of an earlier visit (seurantakäynti).
    FollowUp,
    /// A review of documents without a visit.
    DocumentReview,
}

code_enum!(VisitKind, 4, [
    Unannounced => "unannounced",
    Announced => "announced",
    FollowUp => "follow_up",
    DocumentReview => "document_review",
]);

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// An observation or good practice; nothing to correct.
    Observation,
    /// A shortcoming to correct.
    Shortcoming,
    /// A serious shortcoming endangering clients; to correct at once.
    Serious,
}

code_enum!(Severity, 3, [
    Observation => "observation",
    Shortcoming => "shortcoming",
    Serious => "serious",
]);

/// Where a request for correction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionState {
    /// Waiting for the producer.
    Open,
    /// Corrected, as the producer replied and the supervisor accepted.
    Done,
    /// Past its deadline and still open (derived, never stored).
    Overdue,
}

code_enum!(CorrectionState, 3, [
    Open => "open",
    Done => "done",
    Overdue => "overdue",
]);

impl CorrectionState {
    /// The state as of `today`: an open request past its deadline is overdue.
    pub fn as_of(stored: CorrectionState, due: Option<Date>, today: Date) -> Self {
        match (stored, due) {
            (CorrectionState::Open, Some(d)) if d < today => CorrectionState::Overdue,
            (s, _) => s,
        }
    }
}

/// The default checklist: code and names in fi, sv and en (migration 0018
/// puts them in the county's checklist, which it then changes).
pub const DEFAULT_TOPICS: [(&str, &str, &str, &str); 10] = [
    (
        "self_monitoring_plan",
        "Omavalvontasuunnitelma ajan tasalla",
        "Egenkontrollplanen uppdaterad",
        "Self-monitoring plan up to date",
    ),
    (
        "medication_safety",
        "Lääkehoidon turvallisuus",
        "Säkerheten i läkemedelsbehandlingen",
        "Medication safety",
    ),
    (
        "client_records",
        "Asiakas- ja potilasasiakirjat",
        "Klient- och patientjournaler",
        "Client and patient records",
    ),
    (
        "staffing",
        "Henkilöstömitoitus ja -rakenne",
        "Personaldimensionering och -struktur",
        "Staffing ratio and structure",
    ),
    ("premises", "Toimitilat", "Lokaler", "Premises"),
    (
        "restraint",
        "Rajoitustoimenpiteiden päätökset",
        "Beslut om begränsningsåtgärder",
        "Restraint decisions",
    ),
    (
        "duty_to_report",
        "Ilmoitusvelvollisuus tunnetaan",
        "Anmälningsskyldigheten är känd",
        "The duty to report is known",
    ),
    (
        "client_feedback",
        "Asiakaspalautetta seurataan",
        "Klientresponsen följs upp",
        "Client feedback followed",
    ),
    (
        "active_everyday",
        "Asiakkaiden aktiivinen arki",
        "Klienternas aktiva vardag",
        "Clients' active everyday life",
    ),
    ("other", "Muu", "Annat", "Other"),
];

/// A topic of the checklist: a code with names, as a reason is.
pub type Topic = crate::ombudsman::Reason;

/// A text in fi, sv and en from three strings (blank ones missing).
pub fn names(fi: &str, sv: &str, en: &str) -> I18nText {
    let some = |s: &str| Some(s.to_string());
    I18nText::new(some(fi), some(sv), some(en))
}

/// A finding of a visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewFinding {
    /// Checklist topic.
    pub topic: String,
    /// Severity.
    pub severity: Severity,
    /// What was found, in fi and/or sv (and en).
    #[serde(default)]
    pub text: I18nText,
    /// When a correction is requested: by when.
    #[serde(default)]
    pub correction_due: Option<Date>,
}

/// A visit as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewVisit {
    /// The unit visited.
    pub org_unit: i64,
    /// Day of the visit.
    pub visited_on: Date,
    /// Kind.
    pub kind: VisitKind,
    /// Topics checked.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Findings.
    #[serde(default)]
    pub findings: Vec<NewFinding>,
    /// The visit this one follows up.
    #[serde(default)]
    pub follows: Option<i64>,
}

impl NewVisit {
    /// Checks the visit; `topic_ok` tells whether a topic is active in the
    /// county's checklist. Errors name the field (`findings.1.correction_due`).
    pub fn validate(
        &self,
        today: Date,
        topic_ok: &dyn Fn(&str) -> bool,
    ) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.visited_on > today || self.visited_on.year() < MIN_YEAR {
            errors.push(FieldError::new("visited_on", ErrorCode::OutOfRange));
        }
        for (i, t) in self.topics.iter().enumerate() {
            if !topic_ok(t.trim()) {
                errors.push(FieldError::new(format!("topics.{i}"), ErrorCode::NotFound));
            }
        }
        if self.findings.len() > MAX_FINDINGS {
            errors.push(FieldError::new("findings", ErrorCode::TooLong));
        }
        for (i, f) in self.findings.iter().enumerate() {
            let field = |n: &str| format!("findings.{i}.{n}");
            if !topic_ok(f.topic.trim()) {
                errors.push(FieldError::new(field("topic"), ErrorCode::NotFound));
            }
            if f.text.get(crate::Lang::Fi).is_none() && f.text.get(crate::Lang::Sv).is_none() {
                errors.push(FieldError::new(
                    field("text"),
                    ErrorCode::NationalLanguageRequired,
                ));
            }
            for (lang, t) in [("fi", &f.text.fi), ("sv", &f.text.sv), ("en", &f.text.en)] {
                if t.as_deref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
                    errors.push(FieldError::new(
                        field(&format!("text.{lang}")),
                        ErrorCode::TooLong,
                    ));
                }
            }
            match (f.severity, f.correction_due) {
                (Severity::Observation, Some(_)) => {
                    errors.push(FieldError::new(field("correction_due"), ErrorCode::Invalid))
                }
                (_, Some(d)) if d < self.visited_on => errors.push(FieldError::new(
                    field("correction_due"),
                    ErrorCode::OutOfRange,
                )),
                _ => {}
            }
        }
        if self.kind == VisitKind::FollowUp && self.follows.is_none() {
            errors.push(FieldError::new("follows", ErrorCode::Required));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The marginal counts one visit adds: `(dimension, key)`. `visit` keys are
/// `producer/kind`; findings count by topic and by severity.
pub fn marginals(producer: Producer, visit: &NewVisit) -> Vec<(&'static str, String)> {
    let mut out = vec![(
        "visit",
        format!("{}/{}", producer.code(), visit.kind.code()),
    )];
    for f in &visit.findings {
        out.push(("finding_topic", f.topic.trim().to_string()));
        out.push(("finding_severity", f.severity.code().to_string()));
        if f.correction_due.is_some() {
            out.push(("corrections", String::new()));
        }
    }
    out
}

/// One row of the visits table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitRow {
    /// Producer.
    pub producer: Producer,
    /// Kind of visit.
    pub kind: VisitKind,
    /// Visits per month of the period.
    pub months: Vec<u64>,
    /// Row total.
    pub total: u64,
}

/// The visits table of seed 003: a row per producer and kind, a column per
/// month, a total column and a total row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitTable {
    /// The months (columns).
    pub months: Vec<Period>,
    /// Rows with visits, by producer then kind.
    pub rows: Vec<VisitRow>,
    /// Column totals.
    pub month_totals: Vec<u64>,
    /// Grand total.
    pub total: u64,
}

/// A count by code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Count {
    /// Code.
    pub code: String,
    /// Count.
    pub count: u64,
}

/// The statistics of a subtree and period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupervisionStats {
    /// The period.
    pub period: Period,
    /// Visits in the period.
    pub visits: u64,
    /// Visits in the previous period.
    pub previous_visits: u64,
    /// The visits table.
    pub table: VisitTable,
    /// Visits by kind (the table's rows summed over producers).
    pub by_kind: Vec<Count>,
    /// Visits by kind in the previous period.
    pub previous_by_kind: Vec<Count>,
    /// Findings by topic, most first.
    pub findings_by_topic: Vec<Count>,
    /// Findings by severity.
    pub findings_by_severity: Vec<Count>,
    /// Corrections requested at the period's visits.
    pub corrections_requested: u64,
    /// Corrections open now (of any period's visits to the subtree), overdue included.
    pub corrections_open: u64,
    /// Of those, past their deadline.
    pub corrections_overdue: u64,
}

/// Marginal rows read from the store: `(month, dimension, key, n)`.
pub type MarginalRow = crate::ombudsman::MarginalRow;

impl SupervisionStats {
    /// Builds the statistics from the marginal rows of the period and of the
    /// previous one, and the open and overdue corrections counted now.
    pub fn from_marginals(
        period: Period,
        cur: &[MarginalRow],
        prev: &[MarginalRow],
        open: u64,
        overdue: u64,
    ) -> Self {
        let months = period.sub_periods(PeriodKind::Month);
        let mut rows = Vec::new();
        for producer in Producer::ALL {
            for kind in VisitKind::ALL {
                let key = format!("{}/{}", producer.code(), kind.code());
                let by_month: Vec<u64> = months
                    .iter()
                    .map(|m| {
                        cur.iter()
                            .filter(|r| r.0 == *m && r.1 == "visit" && r.2 == key)
                            .map(|r| r.3)
                            .sum()
                    })
                    .collect();
                let total: u64 = by_month.iter().sum();
                if total > 0 {
                    rows.push(VisitRow {
                        producer,
                        kind,
                        months: by_month,
                        total,
                    });
                }
            }
        }
        let month_totals: Vec<u64> = (0..months.len())
            .map(|i| rows.iter().map(|r| r.months[i]).sum())
            .collect();
        let total: u64 = month_totals.iter().sum();
        let count = |rows: &[MarginalRow], dim: &str| -> Vec<Count> {
            let mut m: std::collections::BTreeMap<String, u64> = Default::default();
            for r in rows.iter().filter(|r| r.1 == dim) {
                *m.entry(r.2.clone()).or_default() += r.3;
            }
            let mut v: Vec<Count> = m
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(code, count)| Count { code, count })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
            v
        };
        let kinds = |rows: &[MarginalRow]| -> Vec<Count> {
            VisitKind::ALL
                .iter()
                .map(|k| Count {
                    code: k.code().to_string(),
                    count: rows
                        .iter()
                        .filter(|r| r.1 == "visit" && r.2.ends_with(&format!("/{}", k.code())))
                        .map(|r| r.3)
                        .sum(),
                })
                .collect()
        };
        let by_kind = kinds(cur);
        let previous_by_kind = kinds(prev);
        let severity = Severity::ALL
            .iter()
            .map(|s| Count {
                code: s.code().to_string(),
                count: cur
                    .iter()
                    .filter(|r| r.1 == "finding_severity" && r.2 == s.code())
                    .map(|r| r.3)
                    .sum(),
            })
            .collect();
        SupervisionStats {
            period,
            visits: total,
            previous_visits: prev.iter().filter(|r| r.1 == "visit").map(|r| r.3).sum(),
            table: VisitTable {
                months,
                rows,
                month_totals,
                total,
            },
            by_kind,
            previous_by_kind,
            findings_by_topic: count(cur, "finding_topic"),
            findings_by_severity: severity,
            corrections_requested: cur
                .iter()
                .filter(|r| r.1 == "corrections")
                .map(|r| r.3)
                .sum(),
            corrections_open: open,
            corrections_overdue: overdue,
        }
    }
}

fn key(k: &str) -> TableLabel {
    TableLabel::Key(k.to_string())
}

/// The visits table of seed 003: a row per producer and kind, a column per
/// month and a total column, and a total row.
fn visits_table(s: &SupervisionStats) -> Option<ReportTable> {
    if s.table.rows.is_empty() {
        return None;
    }
    let count = |n: u64| TableCell::Count(Some(n));
    let mut head = vec![key("report-col-producer"), key("report-col-visit-kind")];
    head.extend(s.table.months.iter().map(|m| TableLabel::Month(*m)));
    head.push(key("report-col-total"));
    let rows = s
        .table
        .rows
        .iter()
        .map(|r| TableRow {
            labels: vec![
                key(&format!("ombudsman-producer-{}", r.producer.code())),
                key(&format!("visit-kind-{}", r.kind.code())),
            ],
            cells: r
                .months
                .iter()
                .copied()
                .map(count)
                .chain([count(r.total)])
                .collect(),
        })
        .collect();
    Some(ReportTable {
        key: "visits".into(),
        head,
        rows,
        total: Some(TableRow {
            labels: vec![
                key("report-col-total"),
                TableLabel::Text(I18nText::default()),
            ],
            cells: s
                .table
                .month_totals
                .iter()
                .copied()
                .map(count)
                .chain([count(s.table.total)])
                .collect(),
        }),
    })
}

/// The tables the report and the statistics page print: the visits table,
/// and the findings by topic (`name` gives a topic's names).
pub fn report_tables(s: &SupervisionStats, name: &dyn Fn(&str) -> I18nText) -> Vec<ReportTable> {
    let findings = (!s.findings_by_topic.is_empty()).then(|| ReportTable {
        key: "findings".into(),
        head: vec![key("report-col-topic"), key("report-col-count")],
        rows: s
            .findings_by_topic
            .iter()
            .map(|c| TableRow {
                labels: vec![TableLabel::Text(name(&c.code))],
                cells: vec![TableCell::Count(Some(c.count))],
            })
            .collect(),
        total: None,
    });
    visits_table(s).into_iter().chain(findings).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use time::macros::date;

    fn visit(kind: VisitKind, findings: Vec<NewFinding>) -> NewVisit {
        NewVisit {
            org_unit: 1,
            visited_on: date!(2024 - 02 - 10),
            kind,
            topics: vec!["premises".into()],
            findings,
            follows: None,
        }
    }

    #[test]
    fn a_visit_is_checked_field_by_field() {
        let f = |sev, due| NewFinding {
            topic: "premises".into(),
            severity: sev,
            text: names("Puutteita", "", ""),
            correction_due: due,
        };
        let ok = visit(
            VisitKind::Announced,
            vec![f(Severity::Shortcoming, Some(date!(2024 - 03 - 31)))],
        );
        let known = |t: &str| DEFAULT_TOPICS.iter().any(|d| d.0 == t);
        assert!(ok.validate(date!(2024 - 03 - 01), &known).is_ok());
        let mut bad = visit(
            VisitKind::FollowUp,
            vec![
                f(Severity::Observation, Some(date!(2024 - 03 - 31))),
                f(Severity::Serious, Some(date!(2024 - 01 - 31))),
                NewFinding {
                    topic: "nothing".into(),
                    severity: Severity::Serious,
                    text: I18nText::default(),
                    correction_due: None,
                },
            ],
        );
        bad.topics.push("weather".into());
        let fields: Vec<String> = bad
            .validate(date!(2024 - 03 - 01), &known)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "topics.1",
                "findings.0.correction_due",
                "findings.1.correction_due",
                "findings.2.topic",
                "findings.2.text",
                "follows"
            ]
        );
    }

    #[test]
    fn the_table_has_a_row_per_producer_and_kind_and_totals_both_ways() {
        let q1 = Period::quarter(2024, 1).unwrap();
        let m = |i| Period::month(2024, i).unwrap();
        let row =
            |month: u8, key: &str, n: u64| (m(month), "visit".to_string(), key.to_string(), n);
        let cur = vec![
            row(1, "purchased/unannounced", 12),
            row(2, "purchased/unannounced", 10),
            row(3, "purchased/unannounced", 6),
            row(1, "own/announced", 1),
            row(3, "own/announced", 3),
            (m(2), "finding_topic".into(), "premises".into(), 2),
            (m(2), "corrections".into(), String::new(), 1),
        ];
        let s = SupervisionStats::from_marginals(q1, &cur, &[], 3, 1);
        assert_eq!(s.table.rows.len(), 2);
        assert_eq!(s.table.rows[0].producer, Producer::Own, "own first");
        assert_eq!(s.table.rows[1].months, vec![12, 10, 6]);
        assert_eq!(s.table.rows[1].total, 28);
        assert_eq!(s.table.month_totals, vec![13, 10, 9]);
        assert_eq!((s.visits, s.table.total), (32, 32));
        assert_eq!(s.findings_by_topic[0].count, 2);
        assert_eq!(
            (
                s.corrections_requested,
                s.corrections_open,
                s.corrections_overdue
            ),
            (1, 3, 1)
        );
    }

    #[test]
    fn an_open_correction_past_its_deadline_is_overdue() {
        let d = Some(date!(2024 - 03 - 31));
        assert_eq!(
            CorrectionState::as_of(CorrectionState::Open, d, date!(2024 - 04 - 01)),
            CorrectionState::Overdue
        );
        assert_eq!(
            CorrectionState::as_of(CorrectionState::Open, d, date!(2024 - 03 - 31)),
            CorrectionState::Open
        );
        assert_eq!(
            CorrectionState::as_of(CorrectionState::Done, d, date!(2024 - 05 - 01)),
            CorrectionState::Done
        );
    }
}
