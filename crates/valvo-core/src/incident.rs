//! Incident and misconduct reporting (HaiPro / SPro): what a reporter
//! submits, handling deadlines and queue order, statistics computed from the
//! aggregate table, and receipt codes for following the handling without an
//! account.
//!
//! Everything here is pure: the store keeps the reports and the aggregate
//! rows, and passes `today` in where time matters.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, Time};

use crate::access::Principal;
use crate::org::OrgTree;
use crate::period::Period;
use crate::plan::{ErrorCode, FieldError, Validator};
use crate::text::I18nText;

/// Maximum length of a free-text field (description, contributing factors,
/// immediate actions), in characters.
pub const MAX_DESCRIPTION: usize = 10_000;
/// Maximum length of a short field (place, reporter name and contact), in
/// characters.
pub const MAX_SHORT: usize = 500;
/// The earliest accepted `occurred_on` year (1 January of this year).
const MIN_OCCURRED_YEAR: i32 = 1990;

/// What kind of report this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A client or patient safety incident (HaiPro).
    ClientSafety,
    /// A work safety incident concerning staff.
    WorkSafety,
    /// A data protection incident.
    DataProtection,
    /// A misconduct report by staff (epäkohtailmoitus, SHL 741/2023 29 §).
    Misconduct,
}

code_enum!(IncidentKind, 4, [
    ClientSafety => "client_safety",
    WorkSafety => "work_safety",
    DataProtection => "data_protection",
    Misconduct => "misconduct",
]);

/// The consequence of an incident.
///
/// The derived order is the listing order; use
/// [`severity`](Consequence::severity) to compare how serious they are
/// (a near miss, which did not reach the client, is less serious than an
/// event that reached the client without harm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    /// The event reached the client but caused no harm.
    NoHarm,
    /// Near miss: the event did not reach the client.
    NearMiss,
    /// Mild harm.
    Mild,
    /// Moderate harm.
    Moderate,
    /// Severe harm.
    Severe,
    /// Death.
    Death,
}

code_enum!(Consequence, 6, [
    NoHarm => "no_harm",
    NearMiss => "near_miss",
    Mild => "mild",
    Moderate => "moderate",
    Severe => "severe",
    Death => "death",
]);

impl Consequence {
    /// Severe harm or death.
    pub fn is_serious(self) -> bool {
        matches!(self, Consequence::Severe | Consequence::Death)
    }

    /// How serious the consequence is, 0 (near miss) ..= 5 (death).
    pub fn severity(self) -> u8 {
        match self {
            Consequence::NearMiss => 0,
            Consequence::NoHarm => 1,
            Consequence::Mild => 2,
            Consequence::Moderate => 3,
            Consequence::Severe => 4,
            Consequence::Death => 5,
        }
    }
}

/// The type of event: a code of the configurable taxonomy (the store keeps
/// the types with their names, active flag and order). A code is 2–40
/// characters: lowercase letters a–z, digits and underscores, starting with a
/// letter. [`EventType::DEFAULTS`] are the codes of the default taxonomy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(String);

/// Longest event type code, in characters.
pub const MAX_EVENT_TYPE_CODE: usize = 40;
/// Longest event type name (per language), in characters.
pub const MAX_EVENT_TYPE_NAME: usize = 200;

impl EventType {
    /// The default taxonomy, in its customary order: medication and fluid
    /// therapy; fall or accident; information flow; laboratory or imaging;
    /// other care procedure; identification of the client; diagnosis;
    /// violence or threat; equipment; indoor air; other.
    pub const DEFAULTS: [&'static str; 11] = [
        "medication",
        "fall_accident",
        "information_flow",
        "laboratory_imaging",
        "other_care_procedure",
        "identification",
        "diagnosis",
        "violence_threat",
        "equipment",
        "indoor_air",
        "other",
    ];

    /// Parses a code (trimmed, case-insensitive); `None` unless it is a
    /// well-formed code. Whether the taxonomy has it is the store's question.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        let len = s.chars().count();
        let well_formed = (2..=MAX_EVENT_TYPE_CODE).contains(&len)
            && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        well_formed.then_some(EventType(s))
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The default types, in [`DEFAULTS`](Self::DEFAULTS) order.
    pub fn defaults() -> Vec<EventType> {
        Self::DEFAULTS
            .iter()
            .map(|c| EventType((*c).to_string()))
            .collect()
    }

    /// The default type `other`.
    pub fn other() -> EventType {
        EventType("other".into())
    }
}

impl TryFrom<String> for EventType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EventType::parse(&s).ok_or_else(|| format!("not an event type code: {s:?}"))
    }
}

impl From<EventType> for String {
    fn from(t: EventType) -> String {
        t.0
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One type of the event-type taxonomy as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeDef {
    /// The code (stable: reports and statistics refer to it).
    pub code: EventType,
    /// The name in Finnish, Swedish and English.
    pub name: I18nText,
    /// Offered on report forms.
    pub active: bool,
    /// Position in lists (ascending, then by code).
    pub sort_order: i64,
    /// The county whose own type this is (its code); `None`: shared by
    /// every county. Fixed when the type is added, as the code is.
    #[serde(default)]
    pub county: Option<String>,
}

/// What an administrator or quality coordinator enters for a type (the code
/// is given when the type is added and never changes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeInput {
    /// The name; Finnish or Swedish required, each at most
    /// [`MAX_EVENT_TYPE_NAME`] characters.
    pub name: I18nText,
    /// Offered on report forms.
    pub active: bool,
    /// Position in lists, -1 000 000 ..= 1 000 000.
    pub sort_order: i64,
}

impl EventTypeInput {
    /// Checks the name and the order: `name`
    /// ([`ErrorCode::NationalLanguageRequired`]), `name_fi` / `name_sv` /
    /// `name_en` ([`ErrorCode::TooLong`]), `sort_order`
    /// ([`ErrorCode::OutOfRange`]).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        if !self.name.has_national() {
            v.push("name", ErrorCode::NationalLanguageRequired);
        }
        v.max_len("name", &self.name, MAX_EVENT_TYPE_NAME);
        if !(-1_000_000..=1_000_000).contains(&self.sort_order) {
            v.push("sort_order", ErrorCode::OutOfRange);
        }
        v.finish()
    }

    /// Checks a new type's code too (`code`: [`ErrorCode::Required`] or
    /// [`ErrorCode::Invalid`]) and returns it parsed.
    pub fn validate_new(&self, code: &str) -> Result<EventType, Vec<FieldError>> {
        let parsed = EventType::parse(code);
        let mut errors = Vec::new();
        if parsed.is_none() {
            errors.push(FieldError {
                field: "code".into(),
                code: if code.trim().is_empty() {
                    ErrorCode::Required
                } else {
                    ErrorCode::Invalid
                },
            });
        }
        if let Err(mut more) = self.validate() {
            errors.append(&mut more);
        }
        match parsed {
            Some(t) if errors.is_empty() => Ok(t),
            _ => Err(errors),
        }
    }
}

/// The taxonomy in list order: by `sort_order`, then by code.
pub fn sort_event_types(types: &mut [EventTypeDef]) {
    types.sort_by(|a, b| {
        a.sort_order
            .cmp(&b.sort_order)
            .then_with(|| a.code.cmp(&b.code))
    });
}

/// Who may change the event-type taxonomy and name handlers:
/// administrators and quality coordinators.
pub fn may_configure(p: &Principal) -> bool {
    matches!(
        p.role,
        crate::access::Role::Admin | crate::access::Role::QualityCoordinator
    )
}

/// Who may read the free text of a unit's reports and handle them: whoever
/// may write the unit (its area managers, coordinators, administrators), and
/// the users named as the unit's incident handlers (`handlers`: their user
/// ids), whatever their role. Naming handlers takes nothing away from the
/// others and gives the handlers that unit only, not its subunits.
pub fn may_handle(p: &Principal, tree: &OrgTree, org: i64, handlers: &[i64]) -> bool {
    p.can_write(tree, org) || p.user_id.is_some_and(|u| handlers.contains(&u))
}

/// Who made the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReporterRole {
    /// A member of staff.
    Staff,
    /// A student.
    Student,
    /// The client or patient.
    Client,
    /// A relative or close person of the client.
    Relative,
    /// Someone else.
    Other,
}

code_enum!(ReporterRole, 5, [
    Staff => "staff",
    Student => "student",
    Client => "client",
    Relative => "relative",
    Other => "other",
]);

impl ReporterRole {
    /// A client or a relative (counted as client-reported).
    pub fn is_client_side(self) -> bool {
        matches!(self, ReporterRole::Client | ReporterRole::Relative)
    }
}

/// Where the handling of a report stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Received, not yet taken up.
    New,
    /// Being handled.
    InHandling,
    /// Handling finished.
    Handled,
    /// Forwarded to another handler (still open).
    Forwarded,
}

code_enum!(IncidentState, 4, [
    New => "new",
    InHandling => "in_handling",
    Handled => "handled",
    Forwarded => "forwarded",
]);

impl IncidentState {
    /// Not yet handled: new, in handling or forwarded.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            IncidentState::New | IncidentState::InHandling | IncidentState::Forwarded
        )
    }
}

/// Handling deadlines.
///
/// Misconduct reports are flagged after `misconduct_days` (default 7),
/// others after `default_days` (30); "unhandled over two months" means open
/// and reported more than `stale_days` (60) days ago.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePolicy {
    /// Days to handle a misconduct report.
    pub misconduct_days: i64,
    /// Days to handle any other report.
    pub default_days: i64,
    /// Days after which an open report counts as unhandled for long.
    pub stale_days: i64,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        DeadlinePolicy {
            misconduct_days: 7,
            default_days: 30,
            stale_days: 60,
        }
    }
}

/// `d + days`, saturating at the ends of the date range.
fn add_days(d: Date, days: i64) -> Date {
    d.checked_add(Duration::days(days))
        .unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
}

impl DeadlinePolicy {
    /// The number of days allowed for handling a report of `kind`.
    pub fn days_for(&self, kind: IncidentKind) -> i64 {
        match kind {
            IncidentKind::Misconduct => self.misconduct_days,
            _ => self.default_days,
        }
    }

    /// The last day of handling: `reported` plus [`days_for`](Self::days_for).
    pub fn deadline(&self, kind: IncidentKind, reported: Date) -> Date {
        add_days(reported, self.days_for(kind))
    }

    /// Open and past its deadline (`today > deadline`).
    pub fn is_overdue(
        &self,
        kind: IncidentKind,
        reported: Date,
        state: IncidentState,
        today: Date,
    ) -> bool {
        state.is_open() && today > self.deadline(kind, reported)
    }

    /// Open and reported more than `stale_days` days before `today`.
    pub fn is_stale(&self, reported: Date, state: IncidentState, today: Date) -> bool {
        state.is_open() && (today - reported).whole_days() > self.stale_days
    }
}

/// Sort key for a handler's queue; ascending order is most urgent first:
/// overdue before not, then earlier deadline, then more serious consequence
/// (by [`Consequence::severity`]), then older report. Handled reports, should
/// they be in the list, come after all open ones.
pub fn urgency_key(
    policy: &DeadlinePolicy,
    kind: IncidentKind,
    consequence: Consequence,
    reported: Date,
    state: IncidentState,
    today: Date,
) -> impl Ord + Copy + std::fmt::Debug {
    let overdue = policy.is_overdue(kind, reported, state, today);
    (
        !state.is_open(),
        !overdue,
        policy.deadline(kind, reported),
        Reverse(consequence.severity()),
        reported,
    )
}

/// What a reporter submits (validated before anything is stored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewIncident {
    /// The org unit where it happened.
    pub org_unit_id: i64,
    /// When it happened.
    pub occurred_on: Date,
    /// The time of day, if known.
    pub occurred_time: Option<Time>,
    /// Where it happened (free text, ≤ [`MAX_SHORT`]).
    pub place: String,
    /// The kind of report.
    pub kind: IncidentKind,
    /// The type of event.
    pub event_type: EventType,
    /// What happened (required, ≤ [`MAX_DESCRIPTION`]).
    pub description: String,
    /// The consequence.
    pub consequence: Consequence,
    /// A never event (an event that should never happen).
    pub never_event: bool,
    /// Contributing factors (≤ [`MAX_DESCRIPTION`]).
    pub contributing_factors: String,
    /// What was done right away (≤ [`MAX_DESCRIPTION`]).
    pub immediate_actions: String,
    /// Who reports.
    pub reporter_role: ReporterRole,
    /// The reporter's name; `None` (or blank) is anonymous (≤ [`MAX_SHORT`]).
    pub reporter_name: Option<String>,
    /// How to reach the reporter (≤ [`MAX_SHORT`]).
    pub reporter_contact: Option<String>,
}

fn too_long(v: &mut Validator, field: &str, s: &str, max: usize) {
    if s.chars().count() > max {
        v.push(field, ErrorCode::TooLong);
    }
}

impl NewIncident {
    /// Checks every field and returns all problems:
    ///
    /// - `occurred_on`: not after `today` and not before 1990-01-01
    ///   ([`ErrorCode::OutOfRange`]);
    /// - `description`: required (non-blank, [`ErrorCode::Required`]);
    /// - `description`, `contributing_factors`, `immediate_actions`: at most
    ///   [`MAX_DESCRIPTION`] characters, `place`, `reporter_name`,
    ///   `reporter_contact`: at most [`MAX_SHORT`] ([`ErrorCode::TooLong`]).
    ///
    /// Any reporter role may report any kind; a contact without a name is
    /// fine.
    pub fn validate(&self, today: Date) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::new();
        let earliest =
            Date::from_calendar_date(MIN_OCCURRED_YEAR, Month::January, 1).unwrap_or(Date::MIN);
        if self.occurred_on > today || self.occurred_on < earliest {
            v.push("occurred_on", ErrorCode::OutOfRange);
        }
        too_long(&mut v, "place", &self.place, MAX_SHORT);
        if self.description.trim().is_empty() {
            v.push("description", ErrorCode::Required);
        } else {
            too_long(&mut v, "description", &self.description, MAX_DESCRIPTION);
        }
        too_long(
            &mut v,
            "contributing_factors",
            &self.contributing_factors,
            MAX_DESCRIPTION,
        );
        too_long(
            &mut v,
            "immediate_actions",
            &self.immediate_actions,
            MAX_DESCRIPTION,
        );
        if let Some(name) = &self.reporter_name {
            too_long(&mut v, "reporter_name", name, MAX_SHORT);
        }
        if let Some(contact) = &self.reporter_contact {
            too_long(&mut v, "reporter_contact", contact, MAX_SHORT);
        }
        v.finish()
    }

    /// No name given (`None` or blank).
    pub fn is_anonymous(&self) -> bool {
        self.reporter_name
            .as_deref()
            .is_none_or(|n| n.trim().is_empty())
    }
}

/// One report of an incident history import (see [`HistoryColumns`]).
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryRow {
    /// The org unit's code (the store resolves it; `report.org_unit_id` is 0).
    pub unit: String,
    /// The report (without any reporter identity).
    pub report: NewIncident,
    /// The day it was received.
    pub reported_on: Date,
    /// Its state.
    pub state: IncidentState,
    /// The day it was handled (for handled reports; the day received when
    /// the file does not say).
    pub handled_on: Option<Date>,
}

/// The columns of an incident history import (a HaiPro- or SPro-style CSV
/// export, one report per line; documented in the README):
///
/// | column | | |
/// |---|---|---|
/// | `unit` | required | org unit code |
/// | `reported_on` | required | day received, `2024-03-05` or `5.3.2024` |
/// | `occurred_on` | | day of the event (default: `reported_on`) |
/// | `kind` | required | `client_safety`, `work_safety`, `data_protection`, `misconduct` |
/// | `event_type` | required | a code or name (fi, sv or en) of the county's taxonomy |
/// | `consequence` | required | `no_harm`, `near_miss`, `mild`, `moderate`, `severe`, `death` |
/// | `reporter_role` | | `staff` (default), `student`, `client`, `relative`, `other` |
/// | `state` | | `new`, `in_handling`, `handled`, `forwarded` (default: `handled` when `handled_on` is given, else `new`) |
/// | `handled_on` | | day handled, not before `reported_on` |
/// | `never_event` | | yes/no (default no) |
/// | `place`, `description`, `contributing_factors`, `immediate_actions` | | text |
#[derive(Clone, Debug)]
pub struct HistoryColumns {
    headers: Vec<String>,
    /// Lower-case code and names → type.
    types: std::collections::HashMap<String, EventType>,
}

/// The columns [`HistoryColumns`] knows.
pub const HISTORY_COLUMNS: [&str; 14] = [
    "unit",
    "reported_on",
    "occurred_on",
    "kind",
    "event_type",
    "consequence",
    "reporter_role",
    "state",
    "handled_on",
    "never_event",
    "place",
    "description",
    "contributing_factors",
    "immediate_actions",
];

fn code_list<T: Copy + std::fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl HistoryColumns {
    /// Checks the header line; `types` is the county's taxonomy (retired
    /// types included: history may use them).
    pub fn new(
        headers: Vec<String>,
        types: &[EventTypeDef],
    ) -> Result<Self, Vec<crate::import::LineError>> {
        let errors = crate::import::check_header(
            &headers,
            |h| HISTORY_COLUMNS.contains(&h),
            &["unit", "reported_on", "kind", "event_type", "consequence"],
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut map = std::collections::HashMap::new();
        for t in types {
            for lang in crate::text::Lang::ALL {
                if let Some(name) = t.name.get(lang) {
                    map.entry(name.trim().to_lowercase())
                        .or_insert_with(|| t.code.clone());
                }
            }
        }
        // Codes win over a name that happens to be spelt like another code.
        for t in types {
            map.insert(t.code.code().to_lowercase(), t.code.clone());
        }
        Ok(HistoryColumns {
            headers,
            types: map,
        })
    }

    /// One record (line `line`), or every problem of the line, each naming
    /// its column and what was expected.
    pub fn record<'a>(
        &self,
        line: usize,
        record: impl IntoIterator<Item = &'a str>,
        today: Date,
    ) -> Result<HistoryRow, Vec<crate::import::LineError>> {
        use crate::import::{parse_day, parse_flag, Expected, LineError};
        let mut cells: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        let mut n = 0;
        for (i, value) in record.into_iter().enumerate() {
            n += 1;
            if let Some(h) = self.headers.get(i) {
                cells.insert(h.as_str(), value);
            }
        }
        let mut errors = Vec::new();
        if n > self.headers.len() {
            errors.push(
                LineError::new(line, "line", ErrorCode::TooLong)
                    .expecting(Expected::Columns(self.headers.len())),
            );
            return Err(errors);
        }
        let cell = |c: &str| cells.get(c).map(|v| v.trim()).unwrap_or("");
        let required = |c: &str, expected: Expected, errors: &mut Vec<LineError>| {
            let v = cell(c);
            if v.is_empty() {
                errors.push(LineError::new(line, c, ErrorCode::Required).expecting(expected));
            }
            v.to_owned()
        };
        let unit = required("unit", Expected::UnitCode, &mut errors);
        let day = |c: &str, errors: &mut Vec<LineError>| -> Option<Date> {
            let v = cell(c);
            if v.is_empty() {
                return None;
            }
            let d = parse_day(v);
            match d {
                None => errors
                    .push(LineError::new(line, c, ErrorCode::Invalid).expecting(Expected::Day)),
                Some(d) if d > today => errors.push(
                    LineError::new(line, c, ErrorCode::OutOfRange)
                        .expecting(Expected::NotAfter(today.to_string())),
                ),
                Some(_) => {}
            }
            d
        };
        let reported_raw = required("reported_on", Expected::Day, &mut errors);
        let reported_on = if reported_raw.is_empty() {
            None
        } else {
            day("reported_on", &mut errors)
        };
        let occurred_on = day("occurred_on", &mut errors).or(reported_on);
        let handled_on = day("handled_on", &mut errors);
        fn coded<T: Copy + std::fmt::Display>(
            line: usize,
            column: &str,
            raw: &str,
            all: &[T],
            parse: fn(&str) -> Option<T>,
            errors: &mut Vec<LineError>,
        ) -> Option<T> {
            if raw.is_empty() {
                return None;
            }
            let v = parse(raw);
            if v.is_none() {
                errors.push(
                    LineError::new(line, column, ErrorCode::Invalid).expecting(code_list(all)),
                );
            }
            v
        }
        let kind_raw = required("kind", code_list(&IncidentKind::ALL).into(), &mut errors);
        let kind = coded(
            line,
            "kind",
            &kind_raw,
            &IncidentKind::ALL,
            IncidentKind::parse,
            &mut errors,
        );
        let type_raw = required("event_type", Expected::EventType, &mut errors);
        let event_type = if type_raw.is_empty() {
            None
        } else {
            let t = self.types.get(&type_raw.to_lowercase()).cloned();
            if t.is_none() {
                errors.push(
                    LineError::new(line, "event_type", ErrorCode::NotFound)
                        .expecting(Expected::EventTypeNot(type_raw.clone())),
                );
            }
            t
        };
        let cons_raw = required(
            "consequence",
            code_list(&Consequence::ALL).into(),
            &mut errors,
        );
        let consequence = coded(
            line,
            "consequence",
            &cons_raw,
            &Consequence::ALL,
            Consequence::parse,
            &mut errors,
        );
        let reporter_role = coded(
            line,
            "reporter_role",
            cell("reporter_role"),
            &ReporterRole::ALL,
            ReporterRole::parse,
            &mut errors,
        )
        .unwrap_or(ReporterRole::Staff);
        let state = coded(
            line,
            "state",
            cell("state"),
            &IncidentState::ALL,
            IncidentState::parse,
            &mut errors,
        )
        .unwrap_or(if handled_on.is_some() {
            IncidentState::Handled
        } else {
            IncidentState::New
        });
        if handled_on.is_some() && state != IncidentState::Handled {
            errors.push(
                LineError::new(line, "handled_on", ErrorCode::Invalid)
                    .expecting(Expected::EmptyUnlessHandled),
            );
        }
        if let (Some(h), Some(r)) = (handled_on, reported_on) {
            if h < r {
                errors.push(
                    LineError::new(line, "handled_on", ErrorCode::OutOfRange)
                        .expecting(Expected::NotBefore(r.to_string())),
                );
            }
        }
        let never_event = match parse_flag(cell("never_event")) {
            Ok(v) => v.unwrap_or(false),
            Err(()) => {
                errors.push(
                    LineError::new(line, "never_event", ErrorCode::Invalid)
                        .expecting(Expected::YesNo),
                );
                false
            }
        };
        let (Some(reported_on), Some(occurred_on), Some(kind), Some(event_type), Some(consequence)) =
            (reported_on, occurred_on, kind, event_type, consequence)
        else {
            return Err(errors);
        };
        let report = NewIncident {
            org_unit_id: 0,
            occurred_on,
            occurred_time: None,
            place: cell("place").to_owned(),
            kind,
            event_type,
            description: cell("description").to_owned(),
            consequence,
            never_event,
            contributing_factors: cell("contributing_factors").to_owned(),
            immediate_actions: cell("immediate_actions").to_owned(),
            reporter_role,
            reporter_name: None,
            reporter_contact: None,
        };
        if occurred_on > reported_on {
            errors.push(
                LineError::new(line, "occurred_on", ErrorCode::OutOfRange)
                    .expecting(Expected::NotAfter(reported_on.to_string())),
            );
        }
        if let Err(errs) = report.validate(today) {
            // History often has no description: it is not required here.
            for e in errs
                .into_iter()
                .filter(|e| e.field != "description" || e.code != ErrorCode::Required)
            {
                let expected = match e.code {
                    ErrorCode::TooLong if e.field == "place" => Expected::MaxChars(MAX_SHORT),
                    ErrorCode::TooLong => Expected::MaxChars(MAX_DESCRIPTION),
                    _ => format!("{MIN_OCCURRED_YEAR}-01-01 … {today}").into(),
                };
                errors.push(LineError::new(line, &e.field, e.code).expecting(expected));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(HistoryRow {
            unit,
            report,
            reported_on,
            state,
            handled_on: (state == IncidentState::Handled)
                .then(|| handled_on.unwrap_or(reported_on)),
        })
    }
}

/// One row key of the aggregate table kept up to date on every write:
/// counts per org unit × month × kind × event type × consequence ×
/// client-side × never event (the org unit is the table's own column).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CountKey {
    /// The month the incident was reported in (a month period).
    pub month: Period,
    /// Kind of report.
    pub kind: IncidentKind,
    /// Type of event.
    pub event_type: EventType,
    /// Consequence.
    pub consequence: Consequence,
    /// Reported by a client or relative.
    pub client_reported: bool,
    /// A never event.
    pub never_event: bool,
}

/// Statistics for a set of org units and a period (computed from aggregate
/// rows by [`compute_stats`]). Shares are percentages (0–100).
///
/// For "7 (6)" printing, compute the previous period's statistics with
/// `period.prev()`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentStats {
    /// The period.
    pub period: Period,
    /// All reports.
    pub total: u64,
    /// Every kind, in [`IncidentKind::ALL`] order.
    pub by_kind: Vec<(IncidentKind, u64)>,
    /// At most five event types with count > 0, by count descending, ties
    /// by code.
    pub top_event_types: Vec<(EventType, u64)>,
    /// Every consequence, in [`Consequence::ALL`] order.
    pub by_consequence: Vec<(Consequence, u64)>,
    /// Every consequence's percentage of `total` (0.0 when `total` is 0).
    pub consequence_shares: Vec<(Consequence, f64)>,
    /// Severe harm or death.
    pub serious: u64,
    /// `serious` as a percentage of `total`.
    pub serious_share: f64,
    /// Never events.
    pub never_events: u64,
    /// `never_events` as a percentage of `total`.
    pub never_event_share: f64,
    /// Reported by clients or relatives.
    pub client_reported: u64,
    /// The day the figures of handling state describe (see [`as_of`]):
    /// the period's last day, or today while it runs; `None` for a period
    /// that has not begun. Filled by the caller.
    #[serde(default)]
    pub as_of: Option<Date>,
    /// Open at the end of `as_of` and received more than the policy's
    /// `stale_days` (two months) before it; filled by the caller.
    pub unhandled_over_two_months: u64,
    /// The same by kind, in [`IncidentKind::ALL`] order (seed 003 prints
    /// HaiPro and SPro apart: the misconduct kind is SPro's).
    #[serde(default)]
    pub unhandled_over_two_months_by_kind: Vec<(IncidentKind, u64)>,
    /// Open at the end of `as_of` and past the handling deadline of its kind.
    #[serde(default)]
    pub overdue: u64,
    /// The same by kind, in [`IncidentKind::ALL`] order.
    #[serde(default)]
    pub overdue_by_kind: Vec<(IncidentKind, u64)>,
    /// Median handling time in days; filled by the caller (see
    /// [`median_from_histogram`]).
    pub median_handling_days: Option<f64>,
}

/// `part` as a percentage of `total`; 0.0 when `total` is 0.
pub fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

/// One marginal count of the aggregate table: the statistics need only these,
/// so the table keeps one row per unit, month and marginal (23 a month) rather
/// than one per combination of every dimension.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Marginal {
    /// Reports of a kind (these add up to the total).
    Kind(IncidentKind),
    /// Reports of an event type.
    EventType(EventType),
    /// Reports with a consequence.
    Consequence(Consequence),
    /// Never events.
    NeverEvent,
    /// Reports by clients and relatives.
    ClientReported,
}

impl Marginal {
    /// The marginals one report counts in.
    pub fn of(key: &CountKey) -> Vec<Marginal> {
        let mut out = vec![
            Marginal::Kind(key.kind),
            Marginal::EventType(key.event_type.clone()),
            Marginal::Consequence(key.consequence),
        ];
        if key.never_event {
            out.push(Marginal::NeverEvent);
        }
        if key.client_reported {
            out.push(Marginal::ClientReported);
        }
        out
    }

    /// Storage form: (dimension, key).
    pub fn dim_key(&self) -> (&'static str, &str) {
        match self {
            Marginal::Kind(k) => ("kind", k.code()),
            Marginal::EventType(t) => ("event_type", t.code()),
            Marginal::Consequence(c) => ("consequence", c.code()),
            Marginal::NeverEvent => ("never_event", "yes"),
            Marginal::ClientReported => ("client_reported", "yes"),
        }
    }

    /// Parses the storage form.
    pub fn parse(dim: &str, key: &str) -> Option<Marginal> {
        match dim {
            "kind" => IncidentKind::parse(key).map(Marginal::Kind),
            "event_type" => EventType::parse(key).map(Marginal::EventType),
            "consequence" => Consequence::parse(key).map(Marginal::Consequence),
            "never_event" if key == "yes" => Some(Marginal::NeverEvent),
            "client_reported" if key == "yes" => Some(Marginal::ClientReported),
            _ => None,
        }
    }
}

/// Sums aggregate rows whose month lies in `period`.
pub fn compute_stats(period: Period, rows: &[(CountKey, u64)]) -> IncidentStats {
    let marginals: Vec<(Period, Marginal, u64)> = rows
        .iter()
        .flat_map(|(key, n)| {
            Marginal::of(key)
                .into_iter()
                .map(move |m| (key.month, m, *n))
        })
        .collect();
    stats_from_marginals(period, &marginals)
}

/// The statistics from marginal counts (month, marginal, count) whose month lies in `period`.
pub fn stats_from_marginals(period: Period, rows: &[(Period, Marginal, u64)]) -> IncidentStats {
    let mut total = 0u64;
    let mut kinds = [0u64; IncidentKind::ALL.len()];
    let mut events: std::collections::BTreeMap<&EventType, u64> = Default::default();
    let mut consequences = [0u64; Consequence::ALL.len()];
    let mut never_events = 0u64;
    let mut client_reported = 0u64;
    let add = |slot: Option<&mut u64>, n: u64| {
        if let Some(c) = slot {
            *c = c.saturating_add(n);
        }
    };
    for (_, m, n) in rows.iter().filter(|(month, _, _)| period.contains(month)) {
        let n = *n;
        match m {
            Marginal::Kind(k) => {
                total = total.saturating_add(n);
                add(kinds.get_mut(*k as usize), n);
            }
            Marginal::EventType(t) => add(Some(events.entry(t).or_default()), n),
            Marginal::Consequence(c) => add(consequences.get_mut(*c as usize), n),
            Marginal::NeverEvent => never_events = never_events.saturating_add(n),
            Marginal::ClientReported => client_reported = client_reported.saturating_add(n),
        }
    }
    let serious = Consequence::ALL
        .into_iter()
        .zip(consequences)
        .filter(|(c, _)| c.is_serious())
        .fold(0u64, |acc, (_, n)| acc.saturating_add(n));

    let by_kind: Vec<(IncidentKind, u64)> = IncidentKind::ALL.into_iter().zip(kinds).collect();
    let mut top_event_types: Vec<(EventType, u64)> = events
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| (t.clone(), n))
        .collect();
    top_event_types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.code().cmp(b.0.code())));
    top_event_types.truncate(5);
    let by_consequence: Vec<(Consequence, u64)> =
        Consequence::ALL.into_iter().zip(consequences).collect();
    let consequence_shares = by_consequence
        .iter()
        .map(|&(c, n)| (c, percent(n, total)))
        .collect();

    IncidentStats {
        period,
        total,
        by_kind,
        top_event_types,
        by_consequence,
        consequence_shares,
        serious,
        serious_share: percent(serious, total),
        never_events,
        never_event_share: percent(never_events, total),
        client_reported,
        as_of: None,
        unhandled_over_two_months: 0,
        unhandled_over_two_months_by_kind: IncidentKind::ALL.into_iter().map(|k| (k, 0)).collect(),
        overdue: 0,
        overdue_by_kind: IncidentKind::ALL.into_iter().map(|k| (k, 0)).collect(),
        median_handling_days: None,
    }
}

/// The day a period's figures of handling state (unhandled over two months,
/// overdue) describe: the period's last day, or today while the period runs;
/// `None` for a period that has not begun. A report counts in a period by the
/// day it was received (`reported_on`), never by the day of the event.
pub fn as_of(period: Period, today: Date) -> Option<Date> {
    (period.start() <= today).then(|| period.end().min(today))
}

/// A span of time a report was open, from its handling history: from the
/// day it was received (or reopened) to the day it was handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenSpan {
    /// The report's kind.
    pub kind: IncidentKind,
    /// The day the report was received.
    pub reported_on: Date,
    /// The day the span began (received, or reopened).
    pub opened_on: Date,
    /// The day it was handled; `None` while open.
    pub closed_on: Option<Date>,
}

impl OpenSpan {
    /// Open at the end of `day` (handled on `day` is handled by then) and
    /// received more than `days` days before it.
    pub fn waiting_at(&self, day: Date, days: i64) -> bool {
        self.opened_on <= day
            && self.closed_on.is_none_or(|c| c > day)
            && (day - self.reported_on).whole_days() > days
    }
}

/// The handling state at the end of `day`, by kind in [`IncidentKind::ALL`]
/// order: (unhandled over `stale_days`, past the deadline of its kind). The
/// reference computation: the store counts the same in SQL.
pub fn waiting_at(spans: &[OpenSpan], day: Date, policy: &DeadlinePolicy) -> ([u64; 4], [u64; 4]) {
    let mut stale = [0u64; 4];
    let mut overdue = [0u64; 4];
    for s in spans {
        let i = s.kind as usize;
        if s.waiting_at(day, policy.stale_days) {
            stale[i] += 1;
        }
        if s.waiting_at(day, policy.days_for(s.kind)) {
            overdue[i] += 1;
        }
    }
    (stale, overdue)
}

impl IncidentStats {
    /// Fills the figures of handling state as they stood at `as_of`.
    pub fn set_waiting(&mut self, as_of: Option<Date>, stale: [u64; 4], overdue: [u64; 4]) {
        self.as_of = as_of;
        self.unhandled_over_two_months = stale.iter().sum();
        self.unhandled_over_two_months_by_kind = IncidentKind::ALL.into_iter().zip(stale).collect();
        self.overdue = overdue.iter().sum();
        self.overdue_by_kind = IncidentKind::ALL.into_iter().zip(overdue).collect();
    }
}

/// The median of a histogram of handling times in whole days, given as
/// `(days, count)` pairs in any order (repeated days add up). `None` when
/// the counts sum to 0. For an even total it is the mean of the two middle
/// values.
pub fn median_from_histogram(hist: &[(i64, u64)]) -> Option<f64> {
    let mut buckets: Vec<(i64, u64)> = hist.iter().copied().filter(|(_, n)| *n > 0).collect();
    buckets.sort_unstable();
    let total: u128 = buckets.iter().map(|(_, n)| u128::from(*n)).sum();
    if total == 0 {
        return None;
    }
    // 0-based positions of the middle value(s).
    let lo_pos = (total - 1) / 2;
    let hi_pos = total / 2;
    let value_at = |pos: u128| -> Option<i64> {
        let mut seen = 0u128;
        for (days, n) in &buckets {
            seen += u128::from(*n);
            if pos < seen {
                return Some(*days);
            }
        }
        None
    };
    let lo = value_at(lo_pos)?;
    let hi = value_at(hi_pos)?;
    Some((lo as f64 + hi as f64) / 2.0)
}

/// The receipt alphabet: 32 symbols, no `0`/`O`/`1`/`I`.
const RECEIPT_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Symbols in a receipt code (without dashes).
const RECEIPT_SYMBOLS: usize = 16;

/// Groups 16 symbols as `XXXX-XXXX-XXXX-XXXX`.
fn group_receipt(symbols: &[u8]) -> String {
    let mut out = String::with_capacity(RECEIPT_SYMBOLS + 3);
    for (i, &b) in symbols.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(b));
    }
    out
}

/// A receipt code for 80 random bits: the reporter follows the handling with
/// it without an account. The bits (big-endian) become 16 base-32 symbols
/// from `ABCDEFGHJKLMNPQRSTUVWXYZ23456789`, grouped `XXXX-XXXX-XXXX-XXXX`.
pub fn format_receipt(raw: &[u8; 10]) -> String {
    let n = raw.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    let symbols: Vec<u8> = (0..RECEIPT_SYMBOLS)
        .rev()
        .map(|i| {
            let idx = ((n >> (5 * i)) & 0x1f) as usize;
            RECEIPT_ALPHABET.get(idx).copied().unwrap_or(b'A')
        })
        .collect();
    group_receipt(&symbols)
}

/// The canonical form of a typed receipt code: accepts lowercase,
/// whitespace and missing or extra dashes; `None` unless exactly 16 symbols
/// of the receipt alphabet remain (`0`, `O`, `1` and `I` are rejected, not
/// mapped).
pub fn normalize_receipt(input: &str) -> Option<String> {
    let mut symbols = Vec::with_capacity(RECEIPT_SYMBOLS);
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = c.to_ascii_uppercase();
        if !c.is_ascii() || !RECEIPT_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        if symbols.len() == RECEIPT_SYMBOLS {
            return None;
        }
        symbols.push(c as u8);
    }
    (symbols.len() == RECEIPT_SYMBOLS).then(|| group_receipt(&symbols))
}

/// The 80 bits of a receipt code (the inverse of [`format_receipt`]);
/// accepts what [`normalize_receipt`] accepts.
pub fn decode_receipt(input: &str) -> Option<[u8; 10]> {
    let canonical = normalize_receipt(input)?;
    let mut n = 0u128;
    for b in canonical.bytes().filter(|b| *b != b'-') {
        let idx = RECEIPT_ALPHABET.iter().position(|a| *a == b)?;
        n = (n << 5) | idx as u128;
    }
    let bytes = n.to_be_bytes();
    let mut out = [0u8; 10];
    out.copy_from_slice(bytes.get(6..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::period::PeriodKind;
    use proptest::prelude::*;
    use time::macros::{date, time};

    fn et(code: &str) -> EventType {
        EventType::parse(code).unwrap()
    }

    #[test]
    fn history_rows_map_types_by_code_or_name_and_name_every_problem() {
        let mut name = I18nText::default();
        name.set(crate::text::Lang::Fi, Some("Kaatuminen".into()));
        name.set(crate::text::Lang::Sv, Some("Fall".into()));
        let types = vec![EventTypeDef {
            code: et("fall"),
            name,
            active: false,
            sort_order: 0,
            county: None,
        }];
        let headers = crate::import::header_names(
            "unit;reported_on;kind;event_type;consequence;handled_on;never_event".split(';'),
        );
        let cols = HistoryColumns::new(headers, &types).unwrap();
        let today = date!(2026 - 12 - 01);
        let row = cols
            .record(
                2,
                "A1;5.3.2024;client_safety;KAATUMINEN;mild;2024-03-20;".split(';'),
                today,
            )
            .unwrap();
        assert_eq!(row.report.event_type, et("fall"));
        assert_eq!(row.state, IncidentState::Handled);
        assert_eq!(row.handled_on, Some(date!(2024 - 03 - 20)));
        assert_eq!(row.report.occurred_on, date!(2024 - 03 - 05));
        let errs = cols
            .record(
                3,
                "A1;2024-13-01;spro;Slip;worse;2024-01-01;maybe".split(';'),
                today,
            )
            .unwrap_err();
        let got: Vec<String> = errs
            .iter()
            .map(|e| format!("{} {}", e.field, e.code))
            .collect();
        assert_eq!(
            got,
            [
                "reported_on invalid",
                "kind invalid",
                "event_type not_found",
                "consequence invalid",
                "never_event invalid"
            ]
        );
        assert!(errs[2].expected.as_deref().unwrap().contains("\"Slip\""));
        let errs = cols
            .record(
                4,
                "A1;2024-03-05;misconduct;fall;no_harm;2024-03-01;".split(';'),
                today,
            )
            .unwrap_err();
        assert_eq!(errs[0].field, "handled_on");
        assert_eq!(errs[0].code, ErrorCode::OutOfRange);
        let missing =
            HistoryColumns::new(crate::import::header_names(["unit", "kind"]), &types).unwrap_err();
        assert_eq!(missing.len(), 3);
    }

    // ---- enums ----

    fn check_codes<T: Copy + PartialEq + std::fmt::Debug + Serialize>(
        all: &[T],
        code: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        let mut seen = std::collections::HashSet::new();
        for &v in all {
            let c = code(v);
            assert!(seen.insert(c), "duplicate code {c}");
            assert_eq!(parse(c), Some(v));
            assert_eq!(parse(&format!(" {} ", c.to_uppercase())), Some(v));
            assert_eq!(crate::test_ser::to_string(&v), c);
        }
        assert_eq!(parse("nope"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn enum_codes_round_trip_and_match_serde() {
        check_codes(&IncidentKind::ALL, IncidentKind::code, IncidentKind::parse);
        check_codes(&Consequence::ALL, Consequence::code, Consequence::parse);
        check_codes(&ReporterRole::ALL, ReporterRole::code, ReporterRole::parse);
        check_codes(
            &IncidentState::ALL,
            IncidentState::code,
            IncidentState::parse,
        );
    }

    #[test]
    fn enum_codes_are_the_documented_ones() {
        let codes: Vec<_> = EventType::defaults()
            .iter()
            .map(|e| e.code().to_string())
            .collect();
        assert_eq!(
            codes,
            [
                "medication",
                "fall_accident",
                "information_flow",
                "laboratory_imaging",
                "other_care_procedure",
                "identification",
                "diagnosis",
                "violence_threat",
                "equipment",
                "indoor_air",
                "other"
            ]
        );
        assert_eq!(IncidentKind::ClientSafety.code(), "client_safety");
        assert_eq!(IncidentKind::DataProtection.code(), "data_protection");
        assert_eq!(Consequence::NearMiss.code(), "near_miss");
        assert_eq!(IncidentState::InHandling.code(), "in_handling");
        assert_eq!(IncidentState::InHandling.to_string(), "in_handling");
        // ALL is in declaration order (compute_stats indexes by discriminant).
        for (i, k) in IncidentKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
        for (i, c) in Consequence::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }

    #[test]
    fn event_type_codes() {
        for c in EventType::DEFAULTS {
            let t = et(c);
            assert_eq!(t.code(), c);
            assert_eq!(
                EventType::parse(&format!(" {} ", c.to_uppercase())),
                Some(t.clone())
            );
            assert_eq!(crate::test_ser::to_string(&t), c);
            assert_eq!(t.to_string(), c);
        }
        assert_eq!(et("hand_hygiene2").code(), "hand_hygiene2");
        for bad in [
            "",
            "x",
            "2fall",
            "_x",
            "fall-risk",
            "fall risk",
            "ääni",
            &"a".repeat(41),
        ] {
            assert_eq!(EventType::parse(bad), None, "{bad:?}");
        }
        assert_eq!(et(&"a".repeat(40)).code().len(), 40);
        // Deserialisation goes through the same check.
        assert_eq!(
            EventType::try_from("Indoor_Air".to_string()),
            Ok(et("indoor_air"))
        );
        assert!(EventType::try_from("no way".to_string()).is_err());
        assert_eq!(EventType::other(), et("other"));
    }

    #[test]
    fn event_type_input_validation() {
        let ok = EventTypeInput {
            name: I18nText::new(Some("Käsihygienia".into()), Some("Handhygien".into()), None),
            active: true,
            sort_order: 120,
        };
        assert_eq!(
            ok.validate_new(" Hand_Hygiene ").unwrap(),
            et("hand_hygiene")
        );
        let fields = |r: Result<EventType, Vec<FieldError>>| -> Vec<(String, ErrorCode)> {
            r.unwrap_err()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect()
        };
        assert_eq!(
            fields(ok.validate_new("")),
            [("code".to_string(), ErrorCode::Required)]
        );
        assert_eq!(
            fields(ok.validate_new("käsi")),
            [("code".to_string(), ErrorCode::Invalid)]
        );
        let english_only = EventTypeInput {
            name: I18nText::new(None, None, Some("Hand hygiene".into())),
            ..ok.clone()
        };
        assert_eq!(
            fields(english_only.validate_new("hand_hygiene")),
            [("name".to_string(), ErrorCode::NationalLanguageRequired)]
        );
        let long = EventTypeInput {
            name: I18nText::new(Some("x".repeat(201)), None, Some("y".repeat(201))),
            sort_order: 1_000_001,
            active: false,
        };
        assert_eq!(
            fields(long.validate_new("ok")),
            [
                ("name_fi".to_string(), ErrorCode::TooLong),
                ("name_en".to_string(), ErrorCode::TooLong),
                ("sort_order".to_string(), ErrorCode::OutOfRange),
            ]
        );
        let mut list = vec![
            EventTypeDef {
                code: et("b".repeat(2).as_str()),
                name: I18nText::default(),
                active: true,
                sort_order: 5,
                county: None,
            },
            EventTypeDef {
                code: et("aa"),
                name: I18nText::default(),
                active: true,
                sort_order: 5,
                county: None,
            },
            EventTypeDef {
                code: et("zz"),
                name: I18nText::default(),
                active: false,
                sort_order: -1,
                county: None,
            },
        ];
        sort_event_types(&mut list);
        let order: Vec<&str> = list.iter().map(|t| t.code.code()).collect();
        assert_eq!(order, ["zz", "aa", "bb"]);
    }

    #[test]
    fn named_handlers_handle_exactly_their_unit() {
        use crate::access::Role;
        use crate::org::{OrgNode, ProducerType};
        let node = |id: i64, parent: Option<i64>| OrgNode {
            id,
            parent_id: parent,
            code: format!("n{id}"),
            name: I18nText::default(),
            producer: ProducerType::Own,
            sort_order: 0,
            service_type: None,
        };
        // 1 county; 2 area; 3 unit under 2; 4 area.
        let tree = OrgTree::new(vec![
            node(1, None),
            node(2, Some(1)),
            node(3, Some(2)),
            node(4, Some(1)),
        ])
        .unwrap();
        let p = |role: Role, scope: Option<i64>| Principal {
            user_id: Some(7),
            label: "u".into(),
            role,
            scope,
        };
        let viewer = p(Role::Viewer, None);
        assert!(!may_handle(&viewer, &tree, 3, &[]));
        assert!(!may_handle(&viewer, &tree, 3, &[8]));
        assert!(may_handle(&viewer, &tree, 3, &[8, 7]));
        // A handler of the area is not thereby a handler of its units.
        assert!(may_handle(&viewer, &tree, 2, &[7]));
        assert!(!may_handle(&viewer, &tree, 3, &[]));
        // Managers keep their subtree whether or not handlers are named.
        let manager = p(Role::AreaManager, Some(2));
        assert!(may_handle(&manager, &tree, 3, &[8]));
        assert!(!may_handle(&manager, &tree, 4, &[8]));
        assert!(may_handle(&manager, &tree, 4, &[7]));
        assert!(may_handle(
            &p(Role::QualityCoordinator, None),
            &tree,
            4,
            &[8]
        ));
        // The system principal is nobody's named handler.
        assert!(!may_handle(
            &Principal {
                user_id: None,
                ..viewer
            },
            &tree,
            3,
            &[7]
        ));
    }

    #[test]
    fn stats_with_custom_types() {
        let k = |t: &str, n: u64| {
            (
                CountKey {
                    month: Period::month(2024, 5).unwrap(),
                    kind: IncidentKind::ClientSafety,
                    event_type: et(t),
                    consequence: Consequence::Mild,
                    client_reported: false,
                    never_event: false,
                },
                n,
            )
        };
        let rows = vec![
            k("hand_hygiene", 4),
            k("medication", 4),
            k("aa_first", 1),
            k("bb", 1),
            k("cc", 1),
            k("dd", 1),
            k("hand_hygiene", 2),
        ];
        let s = compute_stats(Period::half(2024, 1).unwrap(), &rows);
        assert_eq!(s.total, 14);
        let top: Vec<(&str, u64)> = s
            .top_event_types
            .iter()
            .map(|(t, n)| (t.code(), *n))
            .collect();
        assert_eq!(
            top,
            [
                ("hand_hygiene", 6),
                ("medication", 4),
                ("aa_first", 1),
                ("bb", 1),
                ("cc", 1)
            ]
        );
    }

    #[test]
    fn consequence_seriousness() {
        let serious: Vec<_> = Consequence::ALL
            .into_iter()
            .filter(|c| c.is_serious())
            .collect();
        assert_eq!(serious, [Consequence::Severe, Consequence::Death]);
        assert!(Consequence::NearMiss.severity() < Consequence::NoHarm.severity());
        assert!(Consequence::NoHarm.severity() < Consequence::Mild.severity());
        assert!(Consequence::Severe.severity() < Consequence::Death.severity());
    }

    #[test]
    fn reporter_role_client_side() {
        let client: Vec<_> = ReporterRole::ALL
            .into_iter()
            .filter(|r| r.is_client_side())
            .collect();
        assert_eq!(client, [ReporterRole::Client, ReporterRole::Relative]);
    }

    #[test]
    fn state_openness() {
        assert!(IncidentState::New.is_open());
        assert!(IncidentState::InHandling.is_open());
        assert!(IncidentState::Forwarded.is_open());
        assert!(!IncidentState::Handled.is_open());
    }

    // ---- deadlines ----

    #[test]
    fn default_policy() {
        let p = DeadlinePolicy::default();
        assert_eq!(
            (p.misconduct_days, p.default_days, p.stale_days),
            (7, 30, 60)
        );
        assert_eq!(p.days_for(IncidentKind::Misconduct), 7);
        for k in [
            IncidentKind::ClientSafety,
            IncidentKind::WorkSafety,
            IncidentKind::DataProtection,
        ] {
            assert_eq!(p.days_for(k), 30);
        }
    }

    #[test]
    fn deadlines_across_month_and_year_ends() {
        let p = DeadlinePolicy::default();
        assert_eq!(
            p.deadline(IncidentKind::Misconduct, date!(2024 - 12 - 28)),
            date!(2025 - 01 - 04)
        );
        assert_eq!(
            p.deadline(IncidentKind::ClientSafety, date!(2024 - 12 - 15)),
            date!(2025 - 01 - 14)
        );
        // Leap year February.
        assert_eq!(
            p.deadline(IncidentKind::WorkSafety, date!(2024 - 02 - 01)),
            date!(2024 - 03 - 02)
        );
        assert_eq!(
            p.deadline(IncidentKind::WorkSafety, date!(2023 - 02 - 01)),
            date!(2023 - 03 - 03)
        );
        assert_eq!(
            p.deadline(IncidentKind::Misconduct, date!(2024 - 01 - 31)),
            date!(2024 - 02 - 07)
        );
        // Saturates instead of overflowing.
        assert_eq!(p.deadline(IncidentKind::Misconduct, Date::MAX), Date::MAX);
        let custom = DeadlinePolicy {
            misconduct_days: 14,
            default_days: 45,
            stale_days: 90,
        };
        assert_eq!(
            custom.deadline(IncidentKind::Misconduct, date!(2024 - 12 - 20)),
            date!(2025 - 01 - 03)
        );
        assert_eq!(
            custom.deadline(IncidentKind::DataProtection, date!(2024 - 12 - 20)),
            date!(2025 - 02 - 03)
        );
    }

    #[test]
    fn overdue_only_when_open_and_past_deadline() {
        let p = DeadlinePolicy::default();
        let reported = date!(2024 - 12 - 28);
        let k = IncidentKind::Misconduct;
        // Deadline 2025-01-04: on that day not yet overdue, the day after it is.
        assert!(!p.is_overdue(k, reported, IncidentState::New, date!(2025 - 01 - 04)));
        assert!(p.is_overdue(k, reported, IncidentState::New, date!(2025 - 01 - 05)));
        assert!(p.is_overdue(
            k,
            reported,
            IncidentState::InHandling,
            date!(2025 - 01 - 05)
        ));
        assert!(p.is_overdue(k, reported, IncidentState::Forwarded, date!(2025 - 01 - 05)));
        assert!(!p.is_overdue(k, reported, IncidentState::Handled, date!(2025 - 01 - 05)));
        assert!(!p.is_overdue(k, reported, IncidentState::Handled, date!(2026 - 01 - 01)));
        // A client safety report of the same day is not yet overdue.
        assert!(!p.is_overdue(
            IncidentKind::ClientSafety,
            reported,
            IncidentState::New,
            date!(2025 - 01 - 05)
        ));
        assert!(p.is_overdue(
            IncidentKind::ClientSafety,
            reported,
            IncidentState::New,
            date!(2025 - 01 - 28)
        ));
    }

    #[test]
    fn stale_at_60_vs_61_days() {
        let p = DeadlinePolicy::default();
        let reported = date!(2024 - 11 - 15);
        let day60 = date!(2025 - 01 - 14);
        let day61 = date!(2025 - 01 - 15);
        assert_eq!((day60 - reported).whole_days(), 60);
        assert!(!p.is_stale(reported, IncidentState::New, day60));
        assert!(p.is_stale(reported, IncidentState::New, day61));
        assert!(p.is_stale(reported, IncidentState::InHandling, day61));
        assert!(p.is_stale(reported, IncidentState::Forwarded, day61));
        assert!(!p.is_stale(reported, IncidentState::Handled, day61));
        assert!(!p.is_stale(reported, IncidentState::New, reported));
    }

    #[test]
    fn urgency_ordering() {
        let p = DeadlinePolicy::default();
        let today = date!(2025 - 01 - 10);
        type Case = (&'static str, IncidentKind, Consequence, Date, IncidentState);
        use Consequence as C;
        use IncidentKind as K;
        use IncidentState as S;
        // Expected order, most urgent first.
        let expected: Vec<Case> = vec![
            // Overdue: deadline 2024-11-30.
            (
                "overdue old",
                K::ClientSafety,
                C::Mild,
                date!(2024 - 10 - 31),
                S::New,
            ),
            // Overdue: deadline 2025-01-02 (misconduct), serious first.
            (
                "overdue misc death",
                K::Misconduct,
                C::Death,
                date!(2024 - 12 - 26),
                S::InHandling,
            ),
            (
                "overdue misc near",
                K::Misconduct,
                C::NearMiss,
                date!(2024 - 12 - 26),
                S::New,
            ),
            // Overdue: deadline 2025-01-09.
            (
                "overdue cs",
                K::ClientSafety,
                C::NoHarm,
                date!(2024 - 12 - 10),
                S::Forwarded,
            ),
            // Not overdue: deadline today 2025-01-10.
            (
                "due today",
                K::Misconduct,
                C::Mild,
                date!(2025 - 01 - 03),
                S::New,
            ),
            // Deadline 2025-01-15; same deadline, severe before moderate,
            // and with equal consequence the older report first.
            (
                "ws severe older",
                K::WorkSafety,
                C::Severe,
                date!(2024 - 12 - 16),
                S::New,
            ),
            (
                "misc severe",
                K::Misconduct,
                C::Severe,
                date!(2025 - 01 - 08),
                S::New,
            ),
            (
                "cs moderate",
                K::ClientSafety,
                C::Moderate,
                date!(2024 - 12 - 16),
                S::New,
            ),
            (
                "dp no harm",
                K::DataProtection,
                C::NoHarm,
                date!(2024 - 12 - 16),
                S::New,
            ),
            (
                "dp near miss",
                K::DataProtection,
                C::NearMiss,
                date!(2024 - 12 - 16),
                S::New,
            ),
            // Not overdue, deadline 2025-02-08.
            (
                "new cs",
                K::ClientSafety,
                C::Death,
                date!(2025 - 01 - 09),
                S::New,
            ),
            // Handled: after every open report despite an early deadline.
            (
                "handled",
                K::Misconduct,
                C::Death,
                date!(2024 - 10 - 01),
                S::Handled,
            ),
        ];
        let key = |c: &Case| urgency_key(&p, c.1, c.2, c.3, c.4, today);
        let mut shuffled = expected.clone();
        shuffled.reverse();
        shuffled.rotate_left(3);
        shuffled.sort_by_key(key);
        let names: Vec<_> = shuffled.iter().map(|c| c.0).collect();
        let want: Vec<_> = expected.iter().map(|c| c.0).collect();
        assert_eq!(names, want);

        // A handled old report is never overdue, so it sorts after open overdue ones.
        let handled = urgency_key(
            &p,
            K::ClientSafety,
            C::Death,
            date!(2024 - 01 - 01),
            S::Handled,
            today,
        );
        let overdue = urgency_key(
            &p,
            K::ClientSafety,
            C::NoHarm,
            date!(2024 - 12 - 01),
            S::New,
            today,
        );
        assert!(overdue < handled);
        // Same deadline and consequence from different kinds: the older report first.
        let a = urgency_key(
            &p,
            K::ClientSafety,
            C::Mild,
            date!(2024 - 12 - 16),
            S::New,
            today,
        );
        let b = urgency_key(
            &p,
            K::Misconduct,
            C::Mild,
            date!(2025 - 01 - 08),
            S::New,
            today,
        );
        assert!(a < b);
    }

    // ---- validation ----

    fn incident() -> NewIncident {
        NewIncident {
            org_unit_id: 7,
            occurred_on: date!(2025 - 01 - 10),
            occurred_time: Some(time!(14:30)),
            place: "Osasto 3".into(),
            kind: IncidentKind::ClientSafety,
            event_type: et("medication"),
            description: "Väärä annos.".into(),
            consequence: Consequence::Mild,
            never_event: false,
            contributing_factors: String::new(),
            immediate_actions: String::new(),
            reporter_role: ReporterRole::Staff,
            reporter_name: Some("Hoitaja".into()),
            reporter_contact: None,
        }
    }

    const TODAY: Date = date!(2025 - 01 - 10);

    fn errors(i: &NewIncident) -> Vec<(String, ErrorCode)> {
        match i.validate(TODAY) {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    fn one(field: &str, code: ErrorCode) -> Vec<(String, ErrorCode)> {
        vec![(field.to_owned(), code)]
    }

    #[test]
    fn valid_incident_passes() {
        assert_eq!(incident().validate(TODAY), Ok(()));
        let mut i = incident();
        i.occurred_time = None;
        i.occurred_on = date!(1990 - 01 - 01);
        assert_eq!(i.validate(TODAY), Ok(()));
    }

    #[test]
    fn occurred_on_range() {
        let mut i = incident();
        i.occurred_on = date!(2025 - 01 - 11);
        assert_eq!(errors(&i), one("occurred_on", ErrorCode::OutOfRange));
        i.occurred_on = date!(1989 - 12 - 31);
        assert_eq!(errors(&i), one("occurred_on", ErrorCode::OutOfRange));
        i.occurred_on = TODAY;
        assert!(errors(&i).is_empty());
    }

    #[test]
    fn description_required_and_limited() {
        let mut i = incident();
        i.description = String::new();
        assert_eq!(errors(&i), one("description", ErrorCode::Required));
        i.description = " \n\t ".into();
        assert_eq!(errors(&i), one("description", ErrorCode::Required));
        i.description = "ä".repeat(MAX_DESCRIPTION);
        assert!(errors(&i).is_empty());
        i.description = "ä".repeat(MAX_DESCRIPTION + 1);
        assert_eq!(errors(&i), one("description", ErrorCode::TooLong));
    }

    #[test]
    fn long_texts_rejected() {
        let long = "x".repeat(10_001);
        let mut i = incident();
        i.contributing_factors = long.clone();
        assert_eq!(errors(&i), one("contributing_factors", ErrorCode::TooLong));
        let mut i = incident();
        i.immediate_actions = long;
        assert_eq!(errors(&i), one("immediate_actions", ErrorCode::TooLong));
        let mut i = incident();
        i.immediate_actions = "x".repeat(10_000);
        i.contributing_factors = "x".repeat(10_000);
        assert!(errors(&i).is_empty());
    }

    #[test]
    fn short_fields_limited() {
        let s500 = "å".repeat(500);
        let s501 = "å".repeat(501);
        let mut i = incident();
        i.place = s500.clone();
        i.reporter_name = Some(s500.clone());
        i.reporter_contact = Some(s500);
        assert!(errors(&i).is_empty());

        let mut i = incident();
        i.reporter_name = Some(s501.clone());
        assert_eq!(errors(&i), one("reporter_name", ErrorCode::TooLong));
        let mut i = incident();
        i.reporter_contact = Some(s501.clone());
        assert_eq!(errors(&i), one("reporter_contact", ErrorCode::TooLong));
        let mut i = incident();
        i.place = s501;
        assert_eq!(errors(&i), one("place", ErrorCode::TooLong));
    }

    #[test]
    fn all_errors_collected() {
        let mut i = incident();
        i.occurred_on = date!(2030 - 01 - 01);
        i.description = String::new();
        i.place = "p".repeat(501);
        i.reporter_name = Some("n".repeat(501));
        let fields: Vec<_> = errors(&i).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["occurred_on", "place", "description", "reporter_name"]
        );
    }

    #[test]
    fn any_role_any_kind_and_contact_without_name() {
        for role in ReporterRole::ALL {
            for kind in IncidentKind::ALL {
                let mut i = incident();
                i.reporter_role = role;
                i.kind = kind;
                i.reporter_name = None;
                i.reporter_contact = Some("040 123 4567".into());
                assert_eq!(i.validate(TODAY), Ok(()), "{role:?} {kind:?}");
            }
        }
    }

    #[test]
    fn anonymity() {
        let mut i = incident();
        assert!(!i.is_anonymous());
        i.reporter_name = None;
        assert!(i.is_anonymous());
        i.reporter_name = Some("   ".into());
        assert!(i.is_anonymous());
        i.reporter_contact = Some("x@example.org".into());
        assert!(i.is_anonymous());
    }

    // ---- statistics ----

    fn key(
        month: &str,
        kind: IncidentKind,
        event_type: EventType,
        consequence: Consequence,
        client_reported: bool,
        never_event: bool,
    ) -> CountKey {
        CountKey {
            month: month.parse().unwrap(),
            kind,
            event_type,
            consequence,
            client_reported,
            never_event,
        }
    }

    fn sample_rows() -> Vec<(CountKey, u64)> {
        use Consequence as C;
        use IncidentKind as K;
        vec![
            (
                key(
                    "2024-01",
                    K::ClientSafety,
                    et("medication"),
                    C::Mild,
                    false,
                    false,
                ),
                10,
            ),
            (
                key(
                    "2024-02",
                    K::ClientSafety,
                    et("medication"),
                    C::NearMiss,
                    false,
                    false,
                ),
                5,
            ),
            (
                key(
                    "2024-02",
                    K::ClientSafety,
                    et("fall_accident"),
                    C::Severe,
                    true,
                    false,
                ),
                3,
            ),
            (
                key(
                    "2024-03",
                    K::ClientSafety,
                    et("information_flow"),
                    C::NoHarm,
                    false,
                    true,
                ),
                4,
            ),
            (
                key(
                    "2024-03",
                    K::WorkSafety,
                    et("violence_threat"),
                    C::Moderate,
                    false,
                    false,
                ),
                4,
            ),
            (
                key(
                    "2024-03",
                    K::DataProtection,
                    et("information_flow"),
                    C::NoHarm,
                    true,
                    false,
                ),
                2,
            ),
            (
                key(
                    "2024-01",
                    K::Misconduct,
                    et("other"),
                    C::NoHarm,
                    false,
                    false,
                ),
                1,
            ),
            (
                key(
                    "2024-02",
                    K::ClientSafety,
                    et("equipment"),
                    C::Death,
                    false,
                    true,
                ),
                1,
            ),
            (
                key(
                    "2024-03",
                    K::ClientSafety,
                    et("diagnosis"),
                    C::Mild,
                    false,
                    false,
                ),
                1,
            ),
            (
                key(
                    "2024-03",
                    K::ClientSafety,
                    et("diagnosis"),
                    C::Mild,
                    false,
                    false,
                ),
                0,
            ),
            // Outside 2024Q1.
            (
                key(
                    "2024-04",
                    K::ClientSafety,
                    et("medication"),
                    C::Death,
                    true,
                    true,
                ),
                100,
            ),
            (
                key(
                    "2023-12",
                    K::WorkSafety,
                    et("equipment"),
                    C::Severe,
                    false,
                    false,
                ),
                50,
            ),
        ]
    }

    #[test]
    fn stats_on_a_hand_made_set() {
        let q1 = Period::quarter(2024, 1).unwrap();
        let s = compute_stats(q1, &sample_rows());
        assert_eq!(s.period, q1);
        assert_eq!(s.total, 31);
        assert_eq!(
            s.by_kind,
            [
                (IncidentKind::ClientSafety, 24),
                (IncidentKind::WorkSafety, 4),
                (IncidentKind::DataProtection, 2),
                (IncidentKind::Misconduct, 1),
            ]
        );
        // Medication 15, information_flow 6, violence_threat 4, fall 3;
        // diagnosis, equipment and other tie at 1: by code.
        assert_eq!(
            s.top_event_types,
            [
                (et("medication"), 15),
                (et("information_flow"), 6),
                (et("violence_threat"), 4),
                (et("fall_accident"), 3),
                (et("diagnosis"), 1),
            ]
        );
        assert_eq!(
            s.by_consequence,
            [
                (Consequence::NoHarm, 7),
                (Consequence::NearMiss, 5),
                (Consequence::Mild, 11),
                (Consequence::Moderate, 4),
                (Consequence::Severe, 3),
                (Consequence::Death, 1),
            ]
        );
        let shares: f64 = s.consequence_shares.iter().map(|(_, x)| x).sum();
        assert!((shares - 100.0).abs() < 1e-9);
        assert_eq!(s.consequence_shares[2].0, Consequence::Mild);
        assert!((s.consequence_shares[2].1 - 1100.0 / 31.0).abs() < 1e-12);
        assert_eq!(s.serious, 4);
        assert!((s.serious_share - 400.0 / 31.0).abs() < 1e-12);
        assert_eq!(s.never_events, 5);
        assert!((s.never_event_share - 500.0 / 31.0).abs() < 1e-12);
        assert_eq!(s.client_reported, 5);
        assert_eq!(s.unhandled_over_two_months, 0);
        assert_eq!(s.median_handling_days, None);

        // One month only; fewer than five event types.
        let feb = compute_stats(Period::month(2024, 2).unwrap(), &sample_rows());
        assert_eq!(feb.total, 9);
        assert_eq!(
            feb.top_event_types,
            [
                (et("medication"), 5),
                (et("fall_accident"), 3),
                (et("equipment"), 1),
            ]
        );
        // The year includes the April row but not December 2023.
        let year = compute_stats(Period::year(2024).unwrap(), &sample_rows());
        assert_eq!(year.total, 131);
        // The previous quarter sees only December 2023.
        let prev = compute_stats(q1.prev().unwrap(), &sample_rows());
        assert_eq!(prev.total, 50);
        assert_eq!(prev.serious, 50);
        assert!((prev.serious_share - 100.0).abs() < 1e-12);
    }

    #[test]
    fn stats_of_nothing() {
        let p = Period::tertial(2024, 2).unwrap();
        let s = compute_stats(p, &[]);
        assert_eq!(s.total, 0);
        assert_eq!(s.by_kind.len(), 4);
        assert!(s.by_kind.iter().all(|(_, n)| *n == 0));
        assert_eq!(s.by_consequence.len(), 6);
        assert!(s.top_event_types.is_empty());
        assert!(s.consequence_shares.iter().all(|(_, x)| *x == 0.0));
        assert_eq!(s.serious_share, 0.0);
        assert_eq!(s.never_event_share, 0.0);
        // Rows that are all outside count nothing either.
        let s = compute_stats(p, &sample_rows());
        assert_eq!(s.total, 0);
    }

    #[test]
    fn never_event_share_small() {
        let rows = vec![
            (
                key(
                    "2024-05",
                    IncidentKind::ClientSafety,
                    et("identification"),
                    Consequence::Moderate,
                    false,
                    true,
                ),
                3,
            ),
            (
                key(
                    "2024-06",
                    IncidentKind::ClientSafety,
                    et("medication"),
                    Consequence::NoHarm,
                    false,
                    false,
                ),
                1682,
            ),
        ];
        let s = compute_stats(Period::half(2024, 1).unwrap(), &rows);
        assert_eq!((s.never_events, s.total), (3, 1685));
        assert!((s.never_event_share - 0.178_041_543_026_706_23).abs() < 1e-12);
    }

    // ---- median ----

    #[test]
    fn median_cases() {
        assert_eq!(median_from_histogram(&[]), None);
        assert_eq!(median_from_histogram(&[(3, 0), (5, 0)]), None);
        assert_eq!(median_from_histogram(&[(12, 1)]), Some(12.0));
        assert_eq!(median_from_histogram(&[(12, 4)]), Some(12.0));
        // Odd: 1, 2, 2, 9, 30 -> 2.
        assert_eq!(
            median_from_histogram(&[(30, 1), (2, 2), (1, 1), (9, 1)]),
            Some(2.0)
        );
        // Even: 1, 2, 9, 30 -> (2 + 9) / 2.
        assert_eq!(
            median_from_histogram(&[(1, 1), (2, 1), (9, 1), (30, 1)]),
            Some(5.5)
        );
        // Even, split between buckets: 0,0,0,7,7,7 -> 3.5.
        assert_eq!(median_from_histogram(&[(7, 3), (0, 3)]), Some(3.5));
        // Repeated buckets add up, zero buckets are ignored: 4, 4, 5 -> 4.
        assert_eq!(
            median_from_histogram(&[(4, 1), (100, 0), (5, 1), (4, 1)]),
            Some(4.0)
        );
        // Huge counts do not overflow.
        assert_eq!(
            median_from_histogram(&[(1, u64::MAX), (2, u64::MAX)]),
            Some(1.5)
        );
    }

    // ---- receipts ----

    #[test]
    fn receipt_format() {
        assert_eq!(format_receipt(&[0; 10]), "AAAA-AAAA-AAAA-AAAA");
        assert_eq!(format_receipt(&[0xff; 10]), "9999-9999-9999-9999");
        // 1 in the lowest 5 bits.
        let mut raw = [0u8; 10];
        raw[9] = 1;
        assert_eq!(format_receipt(&raw), "AAAA-AAAA-AAAA-AAAB");
        // Top 5 bits 0b11111 -> '9'.
        let mut raw = [0u8; 10];
        raw[0] = 0xf8;
        assert_eq!(format_receipt(&raw), "9AAA-AAAA-AAAA-AAAA");
        assert_eq!(RECEIPT_ALPHABET.len(), 32);
        for c in [b'0', b'O', b'1', b'I'] {
            assert!(!RECEIPT_ALPHABET.contains(&c));
        }
    }

    #[test]
    fn receipt_normalize() {
        let canon = "ABCD-EFGH-JKLM-NP23";
        assert_eq!(normalize_receipt(canon).as_deref(), Some(canon));
        assert_eq!(
            normalize_receipt("abcdefghjklmnp23").as_deref(),
            Some(canon)
        );
        assert_eq!(
            normalize_receipt("  abcd efgh--jklm - np23\n").as_deref(),
            Some(canon)
        );
        assert_eq!(
            normalize_receipt("AB-CD-EF-GH-JK-LM-NP-23").as_deref(),
            Some(canon)
        );
        // Too short / too long.
        assert_eq!(normalize_receipt("ABCD-EFGH-JKLM-NP2"), None);
        assert_eq!(normalize_receipt("ABCD-EFGH-JKLM-NP234"), None);
        assert_eq!(normalize_receipt(""), None);
        // Look-alikes are rejected, not mapped.
        assert_eq!(normalize_receipt("ABCD-EFGH-JKLM-NP20"), None);
        assert_eq!(normalize_receipt("ABCD-EFGH-JKLM-NPO3"), None);
        assert_eq!(normalize_receipt("ABCD-EFGH-JKLM-NP13"), None);
        assert_eq!(normalize_receipt("ABCD-EFGH-JKLM-NPI3"), None);
        assert_eq!(normalize_receipt("ABCD-EFGH-JKLM-NPÄ3"), None);
        assert_eq!(normalize_receipt("ABCD_EFGH_JKLM_NP23"), None);
    }

    #[test]
    fn receipt_decode() {
        let raw = [1, 2, 3, 4, 5, 250, 251, 252, 253, 254];
        let code = format_receipt(&raw);
        assert_eq!(decode_receipt(&code), Some(raw));
        assert_eq!(
            decode_receipt(&code.to_lowercase().replace('-', " ")),
            Some(raw)
        );
        assert_eq!(decode_receipt("nope"), None);
    }

    // ---- properties ----

    fn arb_key() -> impl Strategy<Value = CountKey> {
        (
            2023i32..=2025,
            1u8..=12,
            0usize..IncidentKind::ALL.len(),
            0usize..EventType::DEFAULTS.len(),
            0usize..Consequence::ALL.len(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(y, m, k, e, c, client, never)| CountKey {
                month: Period::month(y, m).unwrap(),
                kind: IncidentKind::ALL[k],
                event_type: EventType::defaults()[e].clone(),
                consequence: Consequence::ALL[c],
                client_reported: client,
                never_event: never,
            })
    }

    fn arb_rows() -> impl Strategy<Value = Vec<(CountKey, u64)>> {
        proptest::collection::vec((arb_key(), 0u64..1_000), 0..40)
    }

    fn arb_period() -> impl Strategy<Value = Period> {
        (2023i32..=2025, 0usize..PeriodKind::ALL.len(), 1u8..=12).prop_map(|(y, k, i)| {
            let kind = PeriodKind::ALL[k];
            let i = (i - 1) % kind.count_per_year() + 1;
            Period::new(y, kind, i).unwrap()
        })
    }

    proptest! {
        #[test]
        fn stats_totals_agree(period in arb_period(), rows in arb_rows()) {
            let s = compute_stats(period, &rows);
            let by_kind: u64 = s.by_kind.iter().map(|(_, n)| n).sum();
            let by_cons: u64 = s.by_consequence.iter().map(|(_, n)| n).sum();
            prop_assert_eq!(s.total, by_kind);
            prop_assert_eq!(s.total, by_cons);
            prop_assert!(s.serious <= s.total);
            prop_assert!(s.never_events <= s.total);
            prop_assert!(s.client_reported <= s.total);
            prop_assert!(s.top_event_types.len() <= 5);
            prop_assert!(s.top_event_types.iter().all(|(_, n)| *n > 0));
            prop_assert!(s.top_event_types.windows(2).all(|w| w[0].1 >= w[1].1));
            let shares: f64 = s.consequence_shares.iter().map(|(_, x)| x).sum();
            if s.total > 0 {
                prop_assert!((shares - 100.0).abs() < 1e-9, "shares {}", shares);
            } else {
                prop_assert_eq!(shares, 0.0);
            }
            prop_assert!((0.0..=100.0).contains(&s.serious_share));
            let inside: u64 = rows
                .iter()
                .filter(|(k, _)| period.contains_date(k.month.start()))
                .map(|(_, n)| n)
                .sum();
            prop_assert_eq!(s.total, inside);
        }

        #[test]
        fn rows_outside_never_count(period in arb_period(), rows in arb_rows(), extra in arb_rows()) {
            let outside: Vec<_> = extra
                .into_iter()
                .filter(|(k, _)| !period.contains(&k.month))
                .collect();
            let mut all = rows.clone();
            all.extend(outside.iter().cloned());
            prop_assert_eq!(compute_stats(period, &rows), compute_stats(period, &all));
            let only_outside = compute_stats(period, &outside);
            prop_assert_eq!(only_outside.total, 0);
        }

        #[test]
        fn receipt_round_trip(raw in any::<[u8; 10]>()) {
            let code = format_receipt(&raw);
            prop_assert_eq!(code.len(), 19);
            for (i, c) in code.bytes().enumerate() {
                if i % 5 == 4 {
                    prop_assert_eq!(c, b'-');
                } else {
                    prop_assert!(RECEIPT_ALPHABET.contains(&c));
                }
            }
            prop_assert_eq!(normalize_receipt(&code), Some(code.clone()));
            let sloppy = code.to_lowercase().replace('-', " ");
            prop_assert_eq!(normalize_receipt(&sloppy), Some(code.clone()));
            let bare = code.replace('-', "");
            prop_assert_eq!(normalize_receipt(&bare), Some(code.clone()));
            prop_assert_eq!(decode_receipt(&code), Some(raw));
        }

        #[test]
        fn receipts_differ_for_different_bits(a in any::<[u8; 10]>(), b in any::<[u8; 10]>()) {
            prop_assert_eq!(a == b, format_receipt(&a) == format_receipt(&b));
        }

        #[test]
        fn median_within_range(hist in proptest::collection::vec((-5i64..400, 0u64..50), 0..20)) {
            let m = median_from_histogram(&hist);
            let present: Vec<i64> = hist.iter().filter(|(_, n)| *n > 0).map(|(d, _)| *d).collect();
            match (m, present.iter().min(), present.iter().max()) {
                (None, None, None) => {}
                (Some(m), Some(&lo), Some(&hi)) => {
                    prop_assert!(lo as f64 <= m && m <= hi as f64, "{} not in {}..={}", m, lo, hi);
                }
                other => prop_assert!(false, "mismatch {:?}", other),
            }
        }

        #[test]
        fn stale_and_overdue_only_when_open(
            days in 0i64..200,
            k in 0usize..4,
            s in 0usize..4,
        ) {
            let p = DeadlinePolicy::default();
            let reported = date!(2024 - 11 - 20);
            let today = add_days(reported, days);
            let kind = IncidentKind::ALL[k];
            let state = IncidentState::ALL[s];
            if !state.is_open() {
                prop_assert!(!p.is_overdue(kind, reported, state, today));
                prop_assert!(!p.is_stale(reported, state, today));
            } else {
                prop_assert_eq!(p.is_stale(reported, state, today), days > 60);
                prop_assert_eq!(p.is_overdue(kind, reported, state, today), days > p.days_for(kind));
            }
        }
    }
}

/// A plan indicator that fills itself each period from the incident statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IndicatorSource {
    /// Number of reports.
    #[serde(rename = "incidents.total")]
    Total,
    /// Serious (severe harm or death) as a percentage of all reports.
    #[serde(rename = "incidents.serious_share")]
    SeriousShare,
    /// Never events as a percentage of all reports.
    #[serde(rename = "incidents.never_event_share")]
    NeverEventShare,
    /// Reports made by clients and relatives.
    #[serde(rename = "incidents.client_reported")]
    ClientReported,
    /// Median handling time in days.
    #[serde(rename = "incidents.median_handling_days")]
    MedianHandlingDays,
    /// Customer feedback: net promoter score.
    #[serde(rename = "feedback.nps")]
    FeedbackNps,
    /// Customer feedback: number of answers.
    #[serde(rename = "feedback.answers")]
    FeedbackAnswers,
    /// Customer feedback: share of negative comments (%).
    #[serde(rename = "feedback.negative_comments_share")]
    FeedbackNegativeShare,
    /// Ombudsperson: contacts (counted in the smallest part holding all their items).
    #[serde(rename = "ombudsman.contacts")]
    OmbudsmanContacts,
    /// Ombudsperson: statistical items.
    #[serde(rename = "ombudsman.items")]
    OmbudsmanItems,
    /// Supervision: visits.
    #[serde(rename = "supervision.visits")]
    SupervisionVisits,
    /// Supervision: findings recorded at the visits.
    #[serde(rename = "supervision.findings")]
    SupervisionFindings,
}

impl IndicatorSource {
    /// All sources.
    pub const ALL: [IndicatorSource; 12] = [
        IndicatorSource::Total,
        IndicatorSource::SeriousShare,
        IndicatorSource::NeverEventShare,
        IndicatorSource::ClientReported,
        IndicatorSource::MedianHandlingDays,
        IndicatorSource::FeedbackNps,
        IndicatorSource::FeedbackAnswers,
        IndicatorSource::FeedbackNegativeShare,
        IndicatorSource::OmbudsmanContacts,
        IndicatorSource::OmbudsmanItems,
        IndicatorSource::SupervisionVisits,
        IndicatorSource::SupervisionFindings,
    ];

    /// Stable code, e.g. `incidents.never_event_share`.
    pub fn code(self) -> &'static str {
        match self {
            IndicatorSource::Total => "incidents.total",
            IndicatorSource::SeriousShare => "incidents.serious_share",
            IndicatorSource::NeverEventShare => "incidents.never_event_share",
            IndicatorSource::ClientReported => "incidents.client_reported",
            IndicatorSource::MedianHandlingDays => "incidents.median_handling_days",
            IndicatorSource::FeedbackNps => "feedback.nps",
            IndicatorSource::FeedbackAnswers => "feedback.answers",
            IndicatorSource::FeedbackNegativeShare => "feedback.negative_comments_share",
            IndicatorSource::OmbudsmanContacts => "ombudsman.contacts",
            IndicatorSource::OmbudsmanItems => "ombudsman.items",
            IndicatorSource::SupervisionVisits => "supervision.visits",
            IndicatorSource::SupervisionFindings => "supervision.findings",
        }
    }

    /// The ombudsperson's figure of a period (`None` for other sources).
    pub fn ombudsman_value(self, s: &crate::ombudsman::OmbudsmanStats) -> Option<f64> {
        match self {
            IndicatorSource::OmbudsmanContacts => Some(s.contacts as f64),
            IndicatorSource::OmbudsmanItems => Some(s.items as f64),
            _ => None,
        }
    }

    /// The supervision figure of a period (`None` for other sources).
    pub fn supervision_value(self, s: &crate::supervision::SupervisionStats) -> Option<f64> {
        match self {
            IndicatorSource::SupervisionVisits => Some(s.visits as f64),
            IndicatorSource::SupervisionFindings => {
                Some(s.findings_by_topic.iter().map(|c| c.count).sum::<u64>() as f64)
            }
            _ => None,
        }
    }

    /// True for the customer feedback module's figures.
    pub fn is_feedback(self) -> bool {
        matches!(
            self,
            IndicatorSource::FeedbackNps
                | IndicatorSource::FeedbackAnswers
                | IndicatorSource::FeedbackNegativeShare
        )
    }

    /// The indicator's value from a period's feedback figures (none without
    /// answers, or without comments for the negative share).
    pub fn feedback_value(
        self,
        summary: &crate::feedback::Summary,
        topics: &[crate::feedback::TopicFigures],
    ) -> Option<f64> {
        match self {
            IndicatorSource::FeedbackNps => summary.nps.nps,
            IndicatorSource::FeedbackAnswers => Some(summary.answers as f64),
            IndicatorSource::FeedbackNegativeShare => topics
                .iter()
                .find(|t| t.topic.is_empty())
                .and_then(|t| t.negative_share),
            _ => None,
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<IndicatorSource> {
        IndicatorSource::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
    }

    /// The indicator's value from a period's statistics (none for an empty period
    /// where a share or median would be meaningless).
    pub fn value(self, stats: &IncidentStats) -> Option<f64> {
        match self {
            IndicatorSource::FeedbackNps
            | IndicatorSource::FeedbackAnswers
            | IndicatorSource::FeedbackNegativeShare
            | IndicatorSource::OmbudsmanContacts
            | IndicatorSource::OmbudsmanItems
            | IndicatorSource::SupervisionVisits
            | IndicatorSource::SupervisionFindings => None,
            IndicatorSource::Total => Some(stats.total as f64),
            IndicatorSource::ClientReported => Some(stats.client_reported as f64),
            _ if stats.total == 0 => None,
            IndicatorSource::SeriousShare => Some(stats.serious_share),
            IndicatorSource::NeverEventShare => Some(stats.never_event_share),
            IndicatorSource::MedianHandlingDays => stats.median_handling_days,
        }
    }
}

#[cfg(test)]
mod source_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn sources_read_their_figure() {
        for s in IndicatorSource::ALL {
            assert_eq!(IndicatorSource::parse(s.code()), Some(s));
        }
        let p: Period = "2024T1".parse().unwrap();
        let empty = compute_stats(p, &[]);
        assert_eq!(IndicatorSource::Total.value(&empty), Some(0.0));
        assert_eq!(IndicatorSource::NeverEventShare.value(&empty), None);
        let key = |never: bool| CountKey {
            month: "2024-02".parse().unwrap(),
            kind: IncidentKind::ClientSafety,
            event_type: EventType::other(),
            consequence: Consequence::Severe,
            client_reported: true,
            never_event: never,
        };
        let stats = compute_stats(p, &[(key(true), 1), (key(false), 3)]);
        assert_eq!(IndicatorSource::NeverEventShare.value(&stats), Some(25.0));
        assert_eq!(IndicatorSource::SeriousShare.value(&stats), Some(100.0));
        assert_eq!(IndicatorSource::ClientReported.value(&stats), Some(4.0));
    }
}
