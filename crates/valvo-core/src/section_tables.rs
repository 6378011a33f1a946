//! The tables the incident and feedback modules put into a report's client
//! and patient safety and customer experience sections (as seed 000 prints
//! them): every figure beside the previous period's. Plain functions of the
//! modules' statistics; what a published report may show is decided here too.

use crate::feedback::{Statement, Summary, TopicFigures, MIN_PUBLIC_CELL};
use crate::incident::{EventType, IncidentStats};
use crate::report::{ReportTable, TableCell, TableLabel, TableRow};
use crate::I18nText;

fn key(k: &str) -> TableLabel {
    TableLabel::Key(k.to_owned())
}

fn count_of<K: PartialEq + Copy>(list: &[(K, u64)], k: K) -> u64 {
    list.iter().find(|(x, _)| *x == k).map_or(0, |(_, n)| *n)
}

/// The safety section's tables: reports by kind, by consequence (shares),
/// and the five most common event types; each beside the previous period.
pub fn safety_tables(
    cur: &IncidentStats,
    prev: Option<&IncidentStats>,
    type_name: &dyn Fn(&EventType) -> I18nText,
) -> Vec<ReportTable> {
    let mut tables = Vec::new();
    if cur.total == 0 && prev.is_none_or(|p| p.total == 0) {
        return tables;
    }
    let prev_count = |f: &dyn Fn(&IncidentStats) -> u64| prev.map(f);
    tables.push(ReportTable {
        key: "incident_kinds".into(),
        head: vec![
            key("report-col-kind"),
            key("report-col-count"),
            key("report-col-previous"),
        ],
        rows: cur
            .by_kind
            .iter()
            .map(|(k, n)| TableRow {
                labels: vec![key(&format!("incident-kind-{}", k.code()))],
                cells: vec![
                    TableCell::Count(Some(*n)),
                    TableCell::Count(prev_count(&|p| count_of(&p.by_kind, *k))),
                ],
            })
            .collect(),
        total: Some(TableRow {
            labels: vec![key("report-col-total")],
            cells: vec![
                TableCell::Count(Some(cur.total)),
                TableCell::Count(prev.map(|p| p.total)),
            ],
        }),
    });
    let share_of = |s: &IncidentStats, c| {
        s.consequence_shares
            .iter()
            .find(|(x, _)| *x == c)
            .map(|(_, v)| (v * 10.0).round() / 10.0)
    };
    tables.push(ReportTable {
        key: "incident_consequences".into(),
        head: vec![
            key("report-col-consequence"),
            key("report-col-count"),
            key("report-col-share"),
            key("report-col-previous-share"),
        ],
        rows: cur
            .by_consequence
            .iter()
            .map(|(c, n)| TableRow {
                labels: vec![key(&format!("consequence-{}", c.code()))],
                cells: vec![
                    TableCell::Count(Some(*n)),
                    TableCell::Percent((cur.total > 0).then(|| share_of(cur, *c)).flatten()),
                    TableCell::Percent(prev.filter(|p| p.total > 0).and_then(|p| share_of(p, *c))),
                ],
            })
            .collect(),
        total: None,
    });
    if !cur.top_event_types.is_empty() {
        tables.push(ReportTable {
            key: "incident_top_types".into(),
            head: vec![
                key("report-col-event-type"),
                key("report-col-count"),
                key("report-col-share"),
            ],
            rows: cur
                .top_event_types
                .iter()
                .map(|(t, n)| TableRow {
                    labels: vec![TableLabel::Text(type_name(t))],
                    cells: vec![
                        TableCell::Count(Some(*n)),
                        TableCell::Percent(Some(
                            (crate::incident::percent(*n, cur.total) * 10.0).round() / 10.0,
                        )),
                    ],
                })
                .collect(),
            total: None,
        });
    }
    tables
}

/// A breakdown's line: its code's label, and this and the previous
/// period's figures.
pub struct Part<'a> {
    /// The label's message key (`fb-lang-fi`).
    pub label: String,
    /// This period.
    pub current: &'a Summary,
    /// The previous period.
    pub previous: &'a Summary,
}

/// What the customer experience section's tables are made of.
pub struct Experience<'a> {
    /// The survey's statements (their texts).
    pub statements: &'a [Statement],
    /// The subtree's figures of the period and of the previous one.
    pub current: &'a Summary,
    /// The previous period.
    pub previous: &'a Summary,
    /// By language of service.
    pub by_lang: Vec<Part<'a>>,
    /// By channel.
    pub by_channel: Vec<Part<'a>>,
    /// The comments' topics (the empty topic is all comments).
    pub topics: &'a [TopicFigures],
    /// NPS per calendar year up to the period's, oldest first: (year,
    /// answers, NPS), each `None` where it may not be published.
    pub years: Vec<(i32, Option<u64>, Option<f64>)>,
}

/// A statement's mean, shown when enough answered it to publish it.
fn mean_of(s: &Summary, key: &str) -> Option<f64> {
    s.statement(key)
        .filter(|st| st.n >= MIN_PUBLIC_CELL)
        .and_then(|st| st.mean)
}

/// A line's NPS, shown when enough answered it.
fn nps_of(s: &Summary) -> Option<f64> {
    (s.nps.n >= MIN_PUBLIC_CELL)
        .then_some(s.nps.nps)
        .flatten()
        .map(f64::round)
}

/// The county beside the whole country on the same questions (the fair
/// comparison, see [`crate::comparison`]): NPS and each national statement,
/// the county's figure as answered and standardised to the country's mix of
/// respondents, and the country's; a figure withheld there is `–` here.
/// `table` is its key (`fb_comparison`: every service; a service type's
/// has its own).
pub fn comparison_table(
    table: &str,
    statements: &[&Statement],
    county: &crate::comparison::Figures,
    country: &crate::comparison::Figures,
) -> ReportTable {
    let value = |e: Option<crate::comparison::Estimate>| e.map(|e| e.value);
    let mut rows = vec![TableRow {
        labels: vec![key("report-col-nps")],
        cells: vec![
            TableCell::Number(value(county.nps.raw).map(f64::round)),
            TableCell::Number(value(county.nps.standardised).map(f64::round)),
            TableCell::Number(value(country.nps.raw).map(f64::round)),
        ],
    }];
    for (s, ((_, mine), (_, all))) in statements
        .iter()
        .zip(county.statements.iter().zip(&country.statements))
    {
        let mean = |v| TableCell::Mean {
            value: v,
            previous: None,
        };
        rows.push(TableRow {
            labels: vec![TableLabel::Text(s.text.clone())],
            cells: vec![
                mean(value(mine.raw)),
                mean(value(mine.standardised)),
                mean(value(all.raw)),
            ],
        });
    }
    ReportTable {
        key: table.into(),
        head: vec![
            key("report-col-figure"),
            key("report-col-county-raw"),
            key("report-col-county-standardised"),
            key("report-col-country"),
        ],
        rows,
        total: None,
    }
}

/// The customer experience section's tables: the statements' means (the
/// previous period's in brackets, as `1,72 (1,94)`), NPS by language of
/// service and by channel, and what the comments are about. A figure of
/// fewer than five answers is withheld. No table repeats answer counts: an
/// area's small count would follow from the county's less the other areas'
/// (each has its own chapter), and the section's figures give the total.
pub fn experience_tables(e: &Experience) -> Vec<ReportTable> {
    let mut tables = Vec::new();
    if e.current.answers == 0 && e.previous.answers == 0 {
        return tables;
    }
    let rows: Vec<TableRow> = e
        .statements
        .iter()
        .map(|st| TableRow {
            labels: vec![TableLabel::Text(st.text.clone())],
            cells: vec![TableCell::Mean {
                value: mean_of(e.current, &st.key),
                previous: mean_of(e.previous, &st.key),
            }],
        })
        .collect();
    if !rows.is_empty() {
        tables.push(ReportTable {
            key: "fb_statements".into(),
            head: vec![key("report-col-statement"), key("report-col-mean-previous")],
            rows,
            total: None,
        });
    }
    // NPS over the years, as the seeds chart it (from two years on).
    if e.years.iter().filter(|(_, n, _)| *n != Some(0)).count() >= 2 {
        tables.push(ReportTable {
            key: "fb_nps_years".into(),
            head: vec![
                key("report-col-year"),
                key("report-col-answers"),
                key("report-col-nps"),
            ],
            rows: e
                .years
                .iter()
                .filter(|(_, n, _)| *n != Some(0))
                .map(|(year, n, nps)| TableRow {
                    labels: vec![TableLabel::Text(I18nText::new(
                        Some(year.to_string()),
                        Some(year.to_string()),
                        Some(year.to_string()),
                    ))],
                    cells: vec![TableCell::Count(*n), TableCell::Number(*nps)],
                })
                .collect(),
            total: None,
        });
    }
    for (table, parts, head) in [
        ("fb_languages", &e.by_lang, "report-col-language"),
        ("fb_channels", &e.by_channel, "report-col-channel"),
    ] {
        if parts.is_empty() {
            continue;
        }
        tables.push(ReportTable {
            key: table.into(),
            head: vec![
                key(head),
                key("report-col-nps"),
                key("report-col-previous-nps"),
            ],
            rows: parts
                .iter()
                .map(|p| TableRow {
                    labels: vec![key(&p.label)],
                    cells: vec![
                        TableCell::Number(nps_of(p.current)),
                        TableCell::Number(nps_of(p.previous)),
                    ],
                })
                .collect(),
            total: None,
        });
    }
    let topics: Vec<TableRow> = e
        .topics
        .iter()
        .filter(|t| !t.topic.is_empty() && t.comments >= MIN_PUBLIC_CELL)
        .map(|t| TableRow {
            labels: vec![key(&format!("fb-topic-{}", t.topic))],
            cells: vec![
                TableCell::Count(Some(t.comments)),
                TableCell::Percent(t.negative_share.map(f64::round)),
            ],
        })
        .collect();
    if !topics.is_empty() {
        tables.push(ReportTable {
            key: "fb_topics".into(),
            head: vec![
                key("report-col-topic"),
                key("report-col-comments"),
                key("report-col-negative"),
            ],
            rows: topics,
            total: None,
        });
    }
    tables
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::feedback::{NpsStats, StatementStats};
    use crate::Lang;

    fn summary(answers: u64, means: &[(&str, u64, f64)]) -> Summary {
        Summary {
            answers,
            with_text: 0,
            nps: NpsStats {
                n: answers,
                nps: Some(12.4),
                ..NpsStats::default()
            },
            statements: means
                .iter()
                .map(|(k, n, m)| StatementStats {
                    key: (*k).into(),
                    n: *n,
                    cannot_say: 0,
                    mean: Some(*m),
                    distribution: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn statements_print_as_the_seed_does_and_small_figures_are_withheld() {
        let statements = vec![
            Statement {
                key: "helped".into(),
                text: I18nText::new(
                    None,
                    Some("Jag fick hjälp när jag behövde den".into()),
                    None,
                ),
                national: true,
                county: None,
            },
            Statement {
                key: "rare".into(),
                text: I18nText::new(None, Some("Sällsynt".into()), None),
                national: false,
                county: None,
            },
        ];
        let cur = summary(40, &[("helped", 40, 1.72), ("rare", 3, 4.0)]);
        let prev = summary(30, &[("helped", 30, 1.94), ("rare", 30, 4.5)]);
        let fi = summary(37, &[]);
        let sv = summary(3, &[]);
        let e = Experience {
            statements: &statements,
            current: &cur,
            previous: &prev,
            by_lang: vec![
                Part {
                    label: "fb-lang-fi".into(),
                    current: &fi,
                    previous: &prev,
                },
                Part {
                    label: "fb-lang-sv".into(),
                    current: &sv,
                    previous: &prev,
                },
            ],
            by_channel: vec![],
            topics: &[],
            years: vec![
                (2023, Some(0), None),
                (2024, Some(120), Some(31.0)),
                (2025, Some(4), None),
            ],
        };
        let tables = experience_tables(&e);
        let years = tables.iter().find(|t| t.key == "fb_nps_years").unwrap();
        // Years without answers are left out; a year with too few shows its count only.
        assert_eq!(years.rows.len(), 2);
        assert_eq!(years.rows[0].cells[1].text(Lang::Fi), "31");
        assert_eq!(
            years.rows[1].cells,
            vec![TableCell::Count(Some(4)), TableCell::Number(None)]
        );
        let tables: Vec<_> = tables
            .into_iter()
            .filter(|t| t.key != "fb_nps_years")
            .collect();
        let s = &tables[0];
        assert_eq!(s.key, "fb_statements");
        assert_eq!(s.rows[0].cells[0].text(Lang::Sv), "1,72 (1,94)");
        assert_eq!(
            s.rows[1].cells[0].text(Lang::Sv),
            "\u{2013} (4,50)",
            "3 answers withheld"
        );
        let langs = &tables[1];
        // NPS of 37 answers shown; of 3, withheld; no counts at all.
        assert_eq!(langs.rows[0].cells[0].text(Lang::Fi), "12");
        assert_eq!(langs.rows[1].cells[0], TableCell::Number(None));
        assert_eq!(langs.rows[0].cells.len(), 2);
    }
}
