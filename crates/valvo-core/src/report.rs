//! The periodic self-monitoring report: its model (one model, rendered as
//! HTML, PDF, JSON and CSV), the standard sections, and the workflow
//! draft → submitted → approved → published.

use serde::{Deserialize, Serialize};

use crate::access::{Principal, Role};
use crate::model::{figure_as_of, GoalFull};
use crate::plan::{ActionStatus, Area};
use crate::{
    status, Direction, Figure, I18nText, Lang, OrgNode, Period, PeriodKind, Status, ValueKind,
};

/// The standard sections of a report (the seeds' sub-areas), each filled from
/// its module when one exists, otherwise from what people enter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// Access: statutory time limits, queues.
    Access,
    /// Continuity of care.
    Continuity,
    /// Equality, incl. service in Finnish and Swedish.
    Equality,
    /// Client and patient safety (incident statistics).
    Safety,
    /// Customer experience (NPS, statements).
    CustomerExperience,
    /// Participation: how clients take part.
    Participation,
    /// Personnel.
    Personnel,
    /// Economy: costs and revenues against budget.
    Economy,
    /// Supervision visits.
    Supervision,
    /// Patient and social ombudsman contacts.
    Ombudsman,
}

impl SectionKind {
    /// In report order.
    pub const ALL: [SectionKind; 10] = [
        SectionKind::Access,
        SectionKind::Continuity,
        SectionKind::Equality,
        SectionKind::Safety,
        SectionKind::CustomerExperience,
        SectionKind::Participation,
        SectionKind::Personnel,
        SectionKind::Economy,
        SectionKind::Supervision,
        SectionKind::Ombudsman,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            SectionKind::Access => "access",
            SectionKind::Continuity => "continuity",
            SectionKind::Equality => "equality",
            SectionKind::Safety => "safety",
            SectionKind::CustomerExperience => "customer_experience",
            SectionKind::Participation => "participation",
            SectionKind::Personnel => "personnel",
            SectionKind::Economy => "economy",
            SectionKind::Supervision => "supervision",
            SectionKind::Ombudsman => "ombudsman",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<SectionKind> {
        SectionKind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// The written parts of the section (keys under `report-text-<section>-<key>`).
    /// Participation asks the three questions of seed 000.
    pub fn text_keys(self) -> &'static [&'static str] {
        match self {
            SectionKind::Participation => &["how", "themes", "actions"],
            _ => &["text"],
        }
    }

    /// The figures entered for the section (keys under `report-fig-<section>-<key>`).
    pub fn figure_keys(self) -> &'static [&'static str] {
        match self {
            SectionKind::Access => &["queue_over_limit_pct", "median_wait_days"],
            SectionKind::Continuity => &["same_professional_pct"],
            SectionKind::Equality => &["swedish_service_pct"],
            SectionKind::Safety => &[
                "incident_reports",
                "serious_reports",
                "serious_share_pct",
                "never_events",
                "client_reported",
                "misconduct_reports",
                "unhandled_over_2_months",
                "unhandled_haipro",
                "unhandled_spro",
            ],
            SectionKind::CustomerExperience => &[
                "nps",
                "nps_ci_low",
                "nps_ci_high",
                "answers",
                "nps_lang_gap",
                "negative_comments_pct",
                "remarks",
                "complaints",
            ],
            SectionKind::Participation => &[],
            SectionKind::Personnel => &[
                "headcount",
                "permanent",
                "temporary",
                "sick_leave_pct",
                "work_safety_reports",
                "enps",
            ],
            SectionKind::Economy => &["costs", "costs_budget", "revenues", "revenues_budget"],
            SectionKind::Supervision => &[
                "visits_total",
                "visits_unannounced",
                "visits_announced",
                "visits_follow_up",
                "visits_document_review",
                "corrections_open",
                "corrections_overdue",
            ],
            SectionKind::Ombudsman => &["contacts", "items"],
        }
    }
}

/// An indicator as the report prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportIndicator {
    /// Indicator id.
    pub id: i64,
    /// Name.
    pub name: I18nText,
    /// Unit.
    pub unit: I18nText,
    /// Which way is better.
    pub direction: Direction,
    /// Baseline.
    pub baseline: Option<f64>,
    /// Target (lower bound of a band).
    pub target: Option<f64>,
    /// Upper bound of a band.
    pub target_max: Option<f64>,
    /// Free note (e.g. a baseline in words).
    pub note: I18nText,
    /// The period's value (latest figure that has ended by the report period's end).
    pub value: Option<f64>,
    /// The period the value is for.
    pub value_period: Option<Period>,
    /// The value of the period before `value_period`.
    pub previous: Option<f64>,
    /// Status of `value`.
    pub status: Status,
    /// Written assessment of `value_period`.
    pub assessment: I18nText,
    /// Corrective actions of `value_period`.
    pub corrective: I18nText,
    /// What its figures are (reports frozen before value kinds read as numbers).
    #[serde(default)]
    pub value_kind: ValueKind,
    /// A ratio's two parts, of `value_period`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<(f64, f64)>,
    /// A text indicator's observation, of `value_period`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A ratio's two parts, of the period before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_parts: Option<(f64, f64)>,
    /// A text of the period before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_text: Option<String>,
    /// The national or regional reference value of `value_period`'s year,
    /// and what it is called (`hela landet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<(f64, I18nText)>,
}

impl ReportIndicator {
    fn figure(&self) -> Option<Figure> {
        (self.value.is_some() || self.text.is_some()).then(|| Figure {
            value: self.value,
            parts: self.parts,
            text: self.text.clone(),
        })
    }

    /// The target as printed: `4,8`, a band `5–10`, or `≤ 10`; `None`
    /// without one.
    pub fn target_text(&self, lang: Lang) -> Option<String> {
        match (self.target, self.target_max) {
            (Some(lo), Some(hi)) => Some(format!(
                "{}\u{2013}{}",
                self.display_number(lo, lang),
                self.display_number(hi, lang)
            )),
            (Some(t), None) => Some(self.display_number(t, lang)),
            (None, Some(hi)) => Some(format!("\u{2264} {}", self.display_number(hi, lang))),
            (None, None) => None,
        }
    }

    /// The previous period's figure, when there is one (printed in brackets).
    pub fn previous_figure(&self) -> Option<Figure> {
        (self.previous.is_some() || self.previous_text.is_some()).then(|| Figure {
            value: self.previous,
            parts: self.previous_parts,
            text: self.previous_text.clone(),
        })
    }

    /// The figure as the seeds print it, the previous period's in brackets
    /// and the reference beside it: `0:13:25 (0:15:02)`,
    /// `192/469 (29 %) (180/400)`, `4,6 % (hela landet 5,1 %)`; `–` without
    /// a figure.
    pub fn display_value(&self, lang: Lang) -> String {
        let k = self.value_kind;
        let mut out = crate::value::format_with_previous(
            k,
            self.figure().as_ref(),
            self.previous_figure().as_ref(),
            lang,
        );
        if let Some((v, label)) = &self.reference {
            let name = label
                .resolve(lang)
                .map(|r| r.text.to_owned())
                .unwrap_or_default();
            let shown = k.format(*v, lang);
            out.push_str(&if name.is_empty() {
                format!(" ({shown})")
            } else {
                format!(" ({name} {shown})")
            });
        }
        out
    }

    /// The figure alone as printed (`0:13:25`, `192/469 (29 %)`, the
    /// observation); empty without one.
    pub fn figure_text(&self, lang: Lang) -> String {
        self.figure()
            .map(|f| self.value_kind.format_figure(&f, lang))
            .unwrap_or_default()
    }

    /// A baseline or target number in the kind's form.
    pub fn display_number(&self, v: f64, lang: Lang) -> String {
        self.value_kind.format(v, lang)
    }

    /// The unit to print beside the figures: none when the kind prints
    /// its own (`%`, `€`, `h:mm:ss`, the parts).
    pub fn shown_unit(&self) -> I18nText {
        if self.value_kind.carries_unit() {
            I18nText::default()
        } else {
            self.unit.clone()
        }
    }
}

/// An action as the report prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportAction {
    /// What is done.
    pub text: I18nText,
    /// Where it stands.
    pub status: ActionStatus,
}

/// A goal with its indicators, actions and the period's written follow-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportGoal {
    /// Self-monitoring area.
    pub area: Area,
    /// Title.
    pub title: I18nText,
    /// Indicators.
    pub indicators: Vec<ReportIndicator>,
    /// Actions.
    pub actions: Vec<ReportAction>,
    /// The goal's follow-up text for the report period (empty if none).
    pub review: I18nText,
}

/// One written part of a section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportText {
    /// Key within the section (`text`, or `how` / `themes` / `actions`).
    pub key: String,
    /// The text.
    pub text: I18nText,
}

/// One figure of a section, with the previous period's value beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportFigure {
    /// Key within the section.
    pub key: String,
    /// This period.
    pub value: Option<f64>,
    /// The previous period of the same kind.
    pub previous: Option<f64>,
}

/// A row or column label of a [`ReportTable`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum TableLabel {
    /// A UI message, by key (`producer-own`), translated when rendered.
    Key(String),
    /// A text kept in the data (a reason's name).
    Text(I18nText),
    /// A month, printed `1/2024`.
    Month(Period),
}

impl TableLabel {
    /// The label in `lang`: `key` translates a message key.
    pub fn text(&self, lang: Lang, key: &dyn Fn(&str) -> String) -> String {
        match self {
            TableLabel::Key(k) => key(k),
            TableLabel::Text(t) => t
                .resolve(lang)
                .map(|r| r.text.to_owned())
                .unwrap_or_default(),
            TableLabel::Month(m) => m.label(),
        }
    }
}

/// A cell of a [`ReportTable`]; `None` is printed `–` (none, or withheld).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum TableCell {
    /// A count.
    Count(Option<u64>),
    /// A share in percent.
    Percent(Option<f64>),
    /// A figure that may be negative or have decimals (an NPS).
    Number(Option<f64>),
    /// A text in each language (an indicator's figure as printed).
    Text(I18nText),
    /// A mean with the previous period's in brackets: `1,72 (1,94)`.
    Mean {
        /// This period's mean.
        value: Option<f64>,
        /// The previous period's.
        previous: Option<f64>,
    },
}

impl TableCell {
    /// As printed: `28`, `10,94 %`, `–`.
    pub fn text(&self, lang: Lang) -> String {
        self.text_in(lang, 0)
    }

    /// As printed in a table whose shares show at least `decimals`
    /// decimals (`50,0 %` beside `12,5 %`).
    pub fn text_in(&self, lang: Lang, decimals: usize) -> String {
        match self {
            TableCell::Count(Some(n)) => crate::status::format_number(*n as f64, lang),
            TableCell::Percent(Some(v)) => crate::status::format_percent(*v, decimals, lang),
            TableCell::Number(Some(v)) => crate::status::format_number(*v, lang),
            TableCell::Text(t) => t
                .resolve(lang)
                .map(|r| r.text.to_owned())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "\u{2013}".to_owned()),
            TableCell::Mean { value, previous } => {
                // Two decimals always, as the seeds print means: 3,80.
                let num = |v: &Option<f64>| match v {
                    Some(v) if v.is_finite() => {
                        let fixed = format!("{v:.2}");
                        match lang {
                            Lang::Fi | Lang::Sv => fixed.replace('.', ","),
                            Lang::En => fixed,
                        }
                    }
                    _ => "\u{2013}".to_owned(),
                };
                match previous {
                    Some(_) => format!("{} ({})", num(value), num(previous)),
                    None => num(value),
                }
            }
            _ => "\u{2013}".to_owned(),
        }
    }
}

/// A row of a [`ReportTable`]: its labels (one per label column), then its cells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    /// Labels.
    pub labels: Vec<TableLabel>,
    /// Cells.
    pub cells: Vec<TableCell>,
}

/// A table a module fills into its section: seed 003's visits by producer,
/// kind and month with totals, the ombudsperson's reasons with their shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportTable {
    /// What the table is (its caption is the message `report-table-<key>`).
    pub key: String,
    /// Column headings: the label columns first, then one per cell.
    pub head: Vec<TableLabel>,
    /// Rows.
    pub rows: Vec<TableRow>,
    /// The total row, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<TableRow>,
}

impl ReportTable {
    /// The decimals the table's shares are printed with: as many as the
    /// most precise of them needs, so a column does not mix `50 %` and
    /// `12,5 %`.
    pub fn percent_decimals(&self) -> usize {
        self.rows
            .iter()
            .chain(self.total.as_ref())
            .flat_map(|r| &r.cells)
            .filter_map(|c| match c {
                TableCell::Percent(Some(v)) => Some(crate::status::decimals_needed(*v)),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// A row's cells as this table prints them.
    pub fn cell_texts(&self, row: &TableRow, lang: Lang) -> Vec<String> {
        let decimals = self.percent_decimals();
        row.cells
            .iter()
            .map(|c| c.text_in(lang, decimals))
            .collect()
    }
}

/// A standard section; only sections with content are in a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSection {
    /// Which section.
    pub kind: SectionKind,
    /// Where the content came from: `manual` (entered in Valvo) or a module's name.
    pub source: String,
    /// Written parts.
    pub texts: Vec<ReportText>,
    /// Figures.
    pub figures: Vec<ReportFigure>,
    /// Tables a module filled (reports frozen before tables have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<ReportTable>,
}

/// Indicator count per status, for the chapter's chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    /// Status.
    pub status: Status,
    /// How many indicators have it.
    pub count: usize,
}

/// A chapter: the report's org unit itself, or one of its child areas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chapter {
    /// Org unit id.
    pub org_id: i64,
    /// Org unit code.
    pub org_code: String,
    /// Org unit name.
    pub name: I18nText,
    /// Goals of the plan of the period's year.
    pub goals: Vec<ReportGoal>,
    /// Standard sections with content.
    pub sections: Vec<ReportSection>,
    /// Indicators per status (every status, in `Status::ALL` order).
    pub status_counts: Vec<StatusCount>,
}

/// Where a report is in its workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// Being written; figures are live.
    Draft,
    /// Waiting for approval; figures are live.
    Submitted,
    /// Approved: the figures are frozen in a snapshot.
    Approved,
    /// Public.
    Published,
}

impl ReportState {
    /// All states in order.
    pub const ALL: [ReportState; 4] = [
        ReportState::Draft,
        ReportState::Submitted,
        ReportState::Approved,
        ReportState::Published,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ReportState::Draft => "draft",
            ReportState::Submitted => "submitted",
            ReportState::Approved => "approved",
            ReportState::Published => "published",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<ReportState> {
        ReportState::ALL.into_iter().find(|k| k.code() == s)
    }

    /// Whether the figures are frozen.
    pub fn frozen(self) -> bool {
        matches!(self, ReportState::Approved | ReportState::Published)
    }
}

/// A workflow step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Draft → submitted (whoever writes the org's plan).
    Submit,
    /// Submitted → draft, back for changes (an approver).
    Return,
    /// Submitted → approved: freezes the figures (quality coordinator or administrator).
    Approve,
    /// Approved → published (quality coordinator or administrator). Publishing a
    /// published report again changes nothing.
    Publish,
}

impl Transition {
    /// All steps.
    pub const ALL: [Transition; 4] = [
        Transition::Submit,
        Transition::Return,
        Transition::Approve,
        Transition::Publish,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Transition::Submit => "submit",
            Transition::Return => "return",
            Transition::Approve => "approve",
            Transition::Publish => "publish",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<Transition> {
        Transition::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// Why a workflow step is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// The step does not start from the report's state.
    #[error("not possible in this state")]
    WrongState,
    /// The principal's role may not take this step.
    #[error("not allowed for this role")]
    Role,
}

/// Whether a role may approve and publish reports.
pub fn approves(role: Role) -> bool {
    matches!(role, Role::Admin | Role::QualityCoordinator)
}

/// The state after `step`, or why not. `can_write` tells whether the principal
/// may write the report's org unit (checked by the caller against the org tree).
pub fn transition(
    state: ReportState,
    step: Transition,
    principal: &Principal,
    can_write: bool,
) -> Result<ReportState, WorkflowError> {
    if !can_write {
        return Err(WorkflowError::Role);
    }
    let approver = approves(principal.role);
    match (step, state) {
        (Transition::Submit, ReportState::Draft) => Ok(ReportState::Submitted),
        (Transition::Return, ReportState::Submitted) if approver => Ok(ReportState::Draft),
        (Transition::Approve, ReportState::Submitted) if approver => Ok(ReportState::Approved),
        (Transition::Publish, ReportState::Approved | ReportState::Published) if approver => {
            Ok(ReportState::Published)
        }
        (Transition::Return | Transition::Approve | Transition::Publish, _) if !approver => {
            Err(WorkflowError::Role)
        }
        _ => Err(WorkflowError::WrongState),
    }
}

/// Why a report cannot be made for a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportPeriodError {
    /// Reports are made for tertials, quarters, half years and years.
    #[error("reports are made for tertials, quarters, half years or years")]
    Kind,
    /// The period has not ended yet.
    #[error("the period has not ended")]
    NotEnded,
}

/// Checks that a report can be made for `period` on `today`.
pub fn check_report_period(period: &Period, today: time::Date) -> Result<(), ReportPeriodError> {
    if period.kind() == PeriodKind::Month {
        return Err(ReportPeriodError::Kind);
    }
    if !period.has_ended(today) {
        return Err(ReportPeriodError::NotEnded);
    }
    Ok(())
}

/// What a chapter is built from.
#[derive(Clone, Debug)]
pub struct ChapterInput<'a> {
    /// The org unit.
    pub node: &'a OrgNode,
    /// Its plan for the period's year.
    pub plan: &'a [GoalFull],
    /// Section texts: (section, key, text).
    pub texts: &'a [(SectionKind, String, I18nText)],
    /// Section figures of the period: (section, key, value).
    pub figures: &'a [(SectionKind, String, f64)],
    /// Section figures of the previous period.
    pub previous_figures: &'a [(SectionKind, String, f64)],
}

/// Builds one chapter for `period`.
pub fn build_chapter(input: &ChapterInput<'_>, period: &Period) -> Chapter {
    let goals: Vec<ReportGoal> = input
        .plan
        .iter()
        .map(|g| ReportGoal {
            area: g.goal.area,
            title: g.goal.title.clone(),
            indicators: g
                .indicators
                .iter()
                .map(|i| {
                    let (current, previous) = figure_as_of(&i.follow_ups, period);
                    let value = current.and_then(|f| f.value);
                    ReportIndicator {
                        id: i.indicator.id,
                        name: i.indicator.name.clone(),
                        unit: i.indicator.unit.clone(),
                        direction: i.indicator.direction,
                        baseline: i.indicator.baseline,
                        target: i.indicator.target,
                        target_max: i.indicator.target_max,
                        note: i.indicator.note.clone(),
                        value,
                        value_period: current.map(|f| f.period),
                        previous: previous.and_then(|f| f.value),
                        status: if i.indicator.value_kind.has_number() {
                            status(&i.indicator.spec(), value)
                        } else {
                            Status::NoTarget
                        },
                        assessment: current.map(|f| f.assessment.clone()).unwrap_or_default(),
                        corrective: current.map(|f| f.corrective.clone()).unwrap_or_default(),
                        value_kind: i.indicator.value_kind,
                        parts: current.and_then(|f| f.parts),
                        text: current.and_then(|f| f.text.clone()),
                        previous_parts: previous.and_then(|f| f.parts),
                        previous_text: previous.and_then(|f| f.text.clone()),
                        reference: current.and_then(|c| i.reference_for(c.period.year_number())),
                    }
                })
                .collect(),
            actions: g
                .actions
                .iter()
                .map(|a| ReportAction {
                    text: a.text.clone(),
                    status: a.status,
                })
                .collect(),
            review: g
                .reviews
                .iter()
                .find(|r| r.period == *period)
                .map(|r| r.text.clone())
                .unwrap_or_default(),
        })
        .collect();
    let status_counts = Status::ALL
        .iter()
        .map(|s| StatusCount {
            status: *s,
            count: goals
                .iter()
                .flat_map(|g| &g.indicators)
                .filter(|i| i.status == *s)
                .count(),
        })
        .collect();
    let sections = SectionKind::ALL
        .iter()
        .filter_map(|kind| {
            let texts: Vec<ReportText> = kind
                .text_keys()
                .iter()
                .filter_map(|key| {
                    input
                        .texts
                        .iter()
                        .find(|(k, tk, t)| k == kind && tk == key && !t.is_empty())
                        .map(|(_, _, t)| ReportText {
                            key: key.to_string(),
                            text: t.clone(),
                        })
                })
                .collect();
            let find = |list: &[(SectionKind, String, f64)], key: &str| {
                list.iter()
                    .find(|(k, fk, _)| k == kind && fk == key)
                    .map(|(_, _, v)| *v)
            };
            let figures: Vec<ReportFigure> = kind
                .figure_keys()
                .iter()
                .filter_map(|key| {
                    let value = find(input.figures, key);
                    let previous = find(input.previous_figures, key);
                    (value.is_some() || previous.is_some()).then(|| ReportFigure {
                        key: key.to_string(),
                        value,
                        previous,
                    })
                })
                .collect();
            (!texts.is_empty() || !figures.is_empty()).then(|| ReportSection {
                kind: *kind,
                source: "manual".to_string(),
                texts,
                figures,
                tables: Vec::new(),
            })
        })
        .collect();
    Chapter {
        org_id: input.node.id,
        org_code: input.node.code.clone(),
        name: input.node.name.clone(),
        goals,
        sections,
        status_counts,
    }
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Report id (0 for a report that is only previewed).
    pub id: i64,
    /// The org unit the report is for.
    pub org_id: i64,
    /// Its code.
    pub org_code: String,
    /// Its name.
    pub org_name: I18nText,
    /// The organisation (root of the tree) it belongs to.
    pub county_name: I18nText,
    /// The period reported.
    pub period: Period,
    /// Version: 1, and one more for every correction after approval.
    pub version: i64,
    /// Workflow state.
    pub state: ReportState,
    /// Key observations, written by the coordinator.
    pub summary: I18nText,
    /// The org unit's own chapter first, then one per child area (if chosen).
    pub chapters: Vec<Chapter>,
    /// When the figures were taken (RFC 3339): now for drafts, the approval time for frozen reports.
    pub generated_at: String,
    /// Who approved, when frozen.
    pub approved_by: Option<String>,
    /// When published.
    pub published_at: Option<String>,
    /// The county's colour, contact details and logo, as they were when
    /// the report was approved (live for a draft).
    #[serde(default, skip_serializing_if = "crate::branding::Branding::is_empty")]
    pub branding: crate::branding::Branding,
}

impl Report {
    /// All indicators of all chapters.
    pub fn indicators(&self) -> impl Iterator<Item = &ReportIndicator> {
        self.chapters
            .iter()
            .flat_map(|c| c.goals.iter().flat_map(|g| g.indicators.iter()))
    }

    /// What a reader of a report with several chapters (a county and its
    /// areas) needs first: each chapter's indicators by status, and every
    /// indicator off track with its figure and target. Empty for a report
    /// of one chapter. Worked out from the chapters, so a frozen report
    /// gets it too.
    pub fn overview(&self) -> Vec<ReportTable> {
        if self.chapters.len() < 2 {
            return Vec::new();
        }
        // The county's own chapter only when it has a plan of its own.
        let shown: Vec<&Chapter> = self
            .chapters
            .iter()
            .enumerate()
            .filter(|(i, c)| *i > 0 || !c.goals.is_empty())
            .map(|(_, c)| c)
            .collect();
        let count = |c: &Chapter, st: Status| {
            c.status_counts
                .iter()
                .find(|x| x.status == st)
                .map_or(0, |x| x.count as u64)
        };
        let mut head = vec![TableLabel::Key("report-col-area".into())];
        head.extend(
            Status::ALL
                .iter()
                .map(|st| TableLabel::Key(format!("status-{}", st.code()))),
        );
        let rows: Vec<TableRow> = shown
            .iter()
            .map(|c| TableRow {
                labels: vec![TableLabel::Text(c.name.clone())],
                cells: Status::ALL
                    .iter()
                    .map(|st| TableCell::Count(Some(count(c, *st))))
                    .collect(),
            })
            .collect();
        let total = TableRow {
            labels: vec![TableLabel::Key("report-col-total".into())],
            cells: Status::ALL
                .iter()
                .map(|st| TableCell::Count(Some(shown.iter().map(|c| count(c, *st)).sum())))
                .collect(),
        };
        let mut tables = vec![ReportTable {
            key: "areas_status".into(),
            head,
            rows,
            total: Some(total),
        }];
        let per_lang = |f: &dyn Fn(Lang) -> String| {
            I18nText::new(Some(f(Lang::Fi)), Some(f(Lang::Sv)), Some(f(Lang::En)))
        };
        let off: Vec<TableRow> = shown
            .iter()
            .flat_map(|c| {
                c.goals
                    .iter()
                    .flat_map(|g| &g.indicators)
                    .filter(|i| i.status == Status::OffTrack)
                    .map(move |i| TableRow {
                        labels: vec![
                            TableLabel::Text(c.name.clone()),
                            TableLabel::Text(i.name.clone()),
                        ],
                        cells: vec![
                            // With the unit the indicator is counted in (0,2 %).
                            TableCell::Text(per_lang(&|l| {
                                let unit = i
                                    .shown_unit()
                                    .resolve(l)
                                    .map(|r| r.text.to_owned())
                                    .unwrap_or_default();
                                let figure = i.figure_text(l);
                                if unit.is_empty() || figure.is_empty() {
                                    figure
                                } else {
                                    format!("{figure} {unit}")
                                }
                            })),
                            TableCell::Text(per_lang(&|l| i.target_text(l).unwrap_or_default())),
                        ],
                    })
            })
            .collect();
        if !off.is_empty() {
            tables.push(ReportTable {
                key: "off_track".into(),
                head: vec![
                    TableLabel::Key("report-col-area".into()),
                    TableLabel::Key("report-col-indicator".into()),
                    TableLabel::Key("report-col-value".into()),
                    TableLabel::Key("report-col-target".into()),
                ],
                rows: off,
                total: None,
            });
        }
        tables
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::model::{FollowUp, Goal, GoalReview, Indicator, IndicatorFull};
    use crate::ProducerType;

    #[test]
    fn a_tables_shares_print_with_the_same_decimals() {
        let row = |share: f64, previous: Option<f64>| TableRow {
            labels: vec![TableLabel::Text(I18nText::fi_only("x"))],
            cells: vec![
                TableCell::Count(Some(3)),
                TableCell::Percent(Some(share)),
                TableCell::Percent(previous),
            ],
        };
        let table = ReportTable {
            key: "incident_consequences".into(),
            head: vec![],
            rows: vec![row(50.0, Some(12.5)), row(37.5, None)],
            total: None,
        };
        assert_eq!(table.percent_decimals(), 1);
        assert_eq!(
            table.cell_texts(&table.rows[0], Lang::Sv),
            ["3", "50,0\u{a0}%", "12,5\u{a0}%"]
        );
        assert_eq!(
            table.cell_texts(&table.rows[1], Lang::Fi),
            ["3", "37,5\u{a0}%", "\u{2013}"]
        );
        let whole = ReportTable {
            rows: vec![row(50.0, Some(25.0))],
            ..table
        };
        assert_eq!(whole.cell_texts(&whole.rows[0], Lang::Fi)[1], "50\u{a0}%");
    }

    fn p(role: Role) -> Principal {
        Principal {
            user_id: Some(1),
            label: "x".into(),
            role,
            scope: None,
        }
    }

    #[test]
    fn workflow_steps_and_roles() {
        use ReportState::*;
        use Transition::*;
        let coord = p(Role::QualityCoordinator);
        let manager = p(Role::AreaManager);
        assert_eq!(transition(Draft, Submit, &manager, true), Ok(Submitted));
        assert_eq!(
            transition(Submitted, Approve, &manager, true),
            Err(WorkflowError::Role)
        );
        assert_eq!(transition(Submitted, Approve, &coord, true), Ok(Approved));
        assert_eq!(transition(Submitted, Return, &coord, true), Ok(Draft));
        assert_eq!(transition(Approved, Publish, &coord, true), Ok(Published));
        assert_eq!(
            transition(Published, Publish, &coord, true),
            Ok(Published),
            "idempotent"
        );
        assert_eq!(
            transition(Draft, Approve, &coord, true),
            Err(WorkflowError::WrongState)
        );
        assert_eq!(
            transition(Draft, Publish, &coord, true),
            Err(WorkflowError::WrongState)
        );
        assert_eq!(
            transition(Approved, Submit, &coord, true),
            Err(WorkflowError::WrongState)
        );
        assert_eq!(
            transition(Draft, Submit, &p(Role::Viewer), false),
            Err(WorkflowError::Role)
        );
        assert_eq!(
            transition(Draft, Submit, &coord, false),
            Err(WorkflowError::Role)
        );
        for s in ReportState::ALL {
            assert_eq!(ReportState::parse(s.code()), Some(s));
        }
        for t in Transition::ALL {
            assert_eq!(Transition::parse(t.code()), Some(t));
        }
        assert!(Approved.frozen() && Published.frozen() && !Draft.frozen() && !Submitted.frozen());
    }

    #[test]
    fn report_periods() {
        let today = time::macros::date!(2024 - 09 - 01);
        assert_eq!(
            check_report_period(&"2024H1".parse().unwrap(), today),
            Ok(())
        );
        assert_eq!(
            check_report_period(&"2024T2".parse().unwrap(), today),
            Ok(())
        );
        assert_eq!(
            check_report_period(&"2024T3".parse().unwrap(), today),
            Err(ReportPeriodError::NotEnded)
        );
        assert_eq!(
            check_report_period(&"2024".parse().unwrap(), today),
            Err(ReportPeriodError::NotEnded)
        );
        assert_eq!(
            check_report_period(&"2024-03".parse().unwrap(), today),
            Err(ReportPeriodError::Kind)
        );
    }

    #[test]
    fn chapter_takes_values_reviews_sections_and_counts() {
        let text = |s: &str| I18nText::new(Some(s.into()), Some(format!("{s} sv")), None);
        let node = OrgNode {
            id: 5,
            parent_id: Some(1),
            code: "krc".into(),
            name: text("KRC"),
            producer: ProducerType::Own,
            sort_order: 0,
            service_type: None,
        };
        let fu = |period: &str, value: Option<f64>| FollowUp {
            indicator_id: 9,
            period: period.parse().unwrap(),
            value,
            parts: None,
            text: None,
            flagged: false,
            assessment: text(&format!("arvio {period}")),
            corrective: I18nText::default(),
            updated_at: String::new(),
            updated_by: String::new(),
        };
        let ind = |id: i64, target: f64| Indicator {
            id,
            goal_id: 1,
            org_unit_id: 5,
            year: 2024,
            name: text("Mittari"),
            unit: text("%"),
            direction: Direction::Higher,
            baseline: Some(40.0),
            target: Some(target),
            target_max: None,
            period_kind: PeriodKind::Half,
            note: I18nText::default(),
            sort_order: 0,
            source: None,
            code: None,
            value_kind: ValueKind::Number,
            until_year: None,
            min_value: None,
            max_value: None,
            retired_at: None,
            reference: None,
        };
        let plan = vec![GoalFull {
            goal: Goal {
                id: 1,
                org_unit_id: 5,
                year: 2024,
                area: Area::Access,
                title: text("Tavoite"),
                sort_order: 0,
            },
            indicators: vec![
                IndicatorFull {
                    indicator: ind(9, 100.0),
                    follow_ups: vec![fu("2023H2", Some(45.0)), fu("2024H1", Some(70.0))],
                    reference_values: vec![(2022, 51.0), (2023, 48.5), (2025, 60.0)],
                },
                IndicatorFull {
                    indicator: ind(10, 50.0),
                    follow_ups: vec![fu("2024H1", Some(60.0))],
                    reference_values: vec![],
                },
                IndicatorFull {
                    indicator: ind(11, 50.0),
                    follow_ups: vec![],
                    reference_values: vec![],
                },
            ],
            actions: vec![],
            reviews: vec![GoalReview {
                goal_id: 1,
                period: "2024H1".parse().unwrap(),
                text: text("Seuranta"),
                updated_at: String::new(),
                updated_by: String::new(),
            }],
        }];
        let texts = vec![
            (
                SectionKind::Participation,
                "how".to_string(),
                text("Asiakasraati"),
            ),
            (
                SectionKind::Economy,
                "text".to_string(),
                I18nText::default(),
            ),
        ];
        let figures = vec![(SectionKind::Personnel, "headcount".to_string(), 120.0)];
        let previous = vec![
            (SectionKind::Personnel, "headcount".to_string(), 118.0),
            (SectionKind::Personnel, "enps".to_string(), 12.0),
        ];
        let mut plan = plan;
        plan[0].indicators[0].indicator.reference = Some(crate::model::Reference {
            series: "3282".into(),
            region: "658".into(),
            gender: "total".into(),
            label: I18nText::new(Some("koko maa".into()), Some("hela landet".into()), None),
        });
        let input = ChapterInput {
            node: &node,
            plan: &plan,
            texts: &texts,
            figures: &figures,
            previous_figures: &previous,
        };
        let ch = build_chapter(&input, &"2024H1".parse().unwrap());
        let i = &ch.goals[0].indicators[0];
        assert_eq!(
            (i.value, i.previous, i.status),
            (Some(70.0), Some(45.0), Status::OnTheWay)
        );
        // The latest reference year up to the figure's, named with its year.
        assert_eq!(i.display_value(Lang::Sv), "70 (45) (hela landet 2023 48,5)");
        assert_eq!(i.assessment.fi.as_deref(), Some("arvio 2024H1"));
        assert_eq!(ch.goals[0].review.fi.as_deref(), Some("Seuranta"));
        let count = |s: Status| {
            ch.status_counts
                .iter()
                .find(|c| c.status == s)
                .unwrap()
                .count
        };
        assert_eq!(
            (
                count(Status::OnTheWay),
                count(Status::Met),
                count(Status::NoData)
            ),
            (1, 1, 1)
        );
        // Only sections with content: participation and personnel; empty texts are left out.
        let kinds: Vec<SectionKind> = ch.sections.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            vec![SectionKind::Participation, SectionKind::Personnel]
        );
        let personnel = &ch.sections[1];
        assert_eq!(
            personnel.figures[0],
            ReportFigure {
                key: "headcount".into(),
                value: Some(120.0),
                previous: Some(118.0)
            }
        );
        assert_eq!(
            personnel.figures[1],
            ReportFigure {
                key: "enps".into(),
                value: None,
                previous: Some(12.0)
            }
        );
        // A period before any figure: no data, no review.
        let ch = build_chapter(&input, &"2023H1".parse().unwrap());
        assert!(ch.goals[0]
            .indicators
            .iter()
            .all(|i| i.status == Status::NoData));
        assert!(ch.goals[0].review.is_empty());
    }
}
