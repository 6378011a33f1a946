//! The self-monitoring plan: areas, goals, indicators, actions and follow-up,
//! and validation of user input for them.
//!
//! Validation collects every problem as a [`FieldError`] naming the form
//! field (per-language fields as `<field>_fi`, `<field>_sv`, `<field>_en`);
//! the web layer turns them into localised messages.

use serde::{Deserialize, Serialize};

use crate::period::PeriodKind;
use crate::status::Direction;
use crate::text::{I18nText, Lang};

/// Maximum length of a title or name, in characters.
pub const MAX_TITLE: usize = 500;
/// Maximum length of a unit of measure, in characters.
pub const MAX_UNIT: usize = 40;
/// Maximum length of a free text, in characters.
pub const MAX_TEXT: usize = 10_000;
/// Earliest plan year.
pub const MIN_YEAR: i32 = 2000;
/// Latest plan year.
pub const MAX_YEAR: i32 = 2100;
/// Largest accepted absolute value of a number.
pub const MAX_ABS_VALUE: f64 = 1e12;

/// An area of self-monitoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Access to services.
    Access,
    /// Continuity of care and services.
    Continuity,
    /// Equality and non-discrimination.
    Equality,
    /// Client and patient safety.
    Safety,
    /// Quality of services.
    Quality,
    /// Customer experience.
    CustomerExperience,
    /// Client participation and inclusion.
    Participation,
    /// Personnel (staffing, competence, wellbeing).
    Personnel,
    /// Economy and resources.
    Economy,
}

impl Area {
    /// All areas in their customary order.
    pub const ALL: [Area; 9] = [
        Area::Access,
        Area::Continuity,
        Area::Equality,
        Area::Safety,
        Area::Quality,
        Area::CustomerExperience,
        Area::Participation,
        Area::Personnel,
        Area::Economy,
    ];

    /// Stable snake_case code, e.g. `"customer_experience"`.
    pub fn code(self) -> &'static str {
        match self {
            Area::Access => "access",
            Area::Continuity => "continuity",
            Area::Equality => "equality",
            Area::Safety => "safety",
            Area::Quality => "quality",
            Area::CustomerExperience => "customer_experience",
            Area::Participation => "participation",
            Area::Personnel => "personnel",
            Area::Economy => "economy",
        }
    }

    /// Parses a [`code`](Area::code) (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|a| s.eq_ignore_ascii_case(a.code()))
    }
}

/// The state of an improvement action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Not started.
    Planned,
    /// In progress.
    Ongoing,
    /// Completed.
    Done,
    /// Abandoned.
    Dropped,
}

impl ActionStatus {
    /// All statuses.
    pub const ALL: [ActionStatus; 4] = [
        ActionStatus::Planned,
        ActionStatus::Ongoing,
        ActionStatus::Done,
        ActionStatus::Dropped,
    ];

    /// Stable code: `"planned"`, `"ongoing"`, `"done"`, `"dropped"`.
    pub fn code(self) -> &'static str {
        match self {
            ActionStatus::Planned => "planned",
            ActionStatus::Ongoing => "ongoing",
            ActionStatus::Done => "done",
            ActionStatus::Dropped => "dropped",
        }
    }

    /// Parses a [`code`](ActionStatus::code) (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|a| s.eq_ignore_ascii_case(a.code()))
    }
}

/// What is wrong with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A value is required.
    Required,
    /// The text is too long.
    TooLong,
    /// The input is not a number.
    NotANumber,
    /// The value is outside the allowed range.
    OutOfRange,
    /// The value is not allowed here (e.g. inconsistent with other fields).
    Invalid,
    /// A Finnish or Swedish text is required.
    NationalLanguageRequired,
    /// The thing the value names does not exist (or is outside the actor's scope).
    NotFound,
    /// Well-formed, but the current state does not allow it (a code in use,
    /// a report already at that unit, a reply with no one to send it to).
    StateConflict,
    /// Not a duration (`h:mm:ss` or `mm:ss`).
    NotADuration,
    /// Not a ratio of two parts (`192/469`).
    NotARatio,
    /// Not a whole number of zero or more.
    NotACount,
    /// Not one of the periods the indicator is followed up for.
    NotItsPeriod,
    /// Far outside the indicator's earlier figures: kept only with a comment.
    FarOutside,
}

impl ErrorCode {
    /// All codes.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::Required,
        ErrorCode::TooLong,
        ErrorCode::NotANumber,
        ErrorCode::OutOfRange,
        ErrorCode::Invalid,
        ErrorCode::NationalLanguageRequired,
        ErrorCode::NotFound,
        ErrorCode::StateConflict,
        ErrorCode::NotADuration,
        ErrorCode::NotARatio,
        ErrorCode::NotACount,
        ErrorCode::NotItsPeriod,
        ErrorCode::FarOutside,
    ];

    /// Stable snake_case code, e.g. `"not_a_number"` (for message lookup).
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::Required => "required",
            ErrorCode::TooLong => "too_long",
            ErrorCode::NotANumber => "not_a_number",
            ErrorCode::OutOfRange => "out_of_range",
            ErrorCode::Invalid => "invalid",
            ErrorCode::NationalLanguageRequired => "national_language_required",
            ErrorCode::NotFound => "not_found",
            ErrorCode::StateConflict => "state_conflict",
            ErrorCode::NotADuration => "not_a_duration",
            ErrorCode::NotARatio => "not_a_ratio",
            ErrorCode::NotACount => "not_a_count",
            ErrorCode::NotItsPeriod => "not_its_period",
            ErrorCode::FarOutside => "far_outside",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One validation problem: which field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The form field, e.g. `"title"` or `"note_sv"`.
    pub field: String,
    /// What is wrong.
    pub code: ErrorCode,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, code: ErrorCode) -> Self {
        FieldError {
            field: field.into(),
            code,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.code)
    }
}

/// The result of validating an input: all problems found, or `Ok(())`.
pub type Validation = Result<(), Vec<FieldError>>;

/// Turns a list of errors into a [`Validation`] (`Ok` when empty).
pub fn validation(errors: Vec<FieldError>) -> Validation {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The error code for `field` in a validation result, if any (first match).
pub fn error_for<'a>(result: &'a Validation, field: &str) -> Option<&'a FieldError> {
    result
        .as_ref()
        .err()
        .and_then(|errs| errs.iter().find(|e| e.field == field))
}

/// Collects [`FieldError`]s; the building block of the `validate` methods.
#[derive(Clone, Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error.
    pub fn push(&mut self, field: impl Into<String>, code: ErrorCode) {
        self.errors.push(FieldError::new(field, code));
    }

    /// True when `field` already has an error.
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// Checks every language of `text` against `max` characters, reporting
    /// `<field>_<lang>` [`ErrorCode::TooLong`].
    pub fn max_len(&mut self, field: &str, text: &I18nText, max: usize) {
        for lang in Lang::ALL {
            if let Some(s) = text.get(lang) {
                if s.chars().count() > max {
                    self.push(format!("{field}_{}", lang.code()), ErrorCode::TooLong);
                }
            }
        }
    }

    /// Requires a Finnish or Swedish text ([`ErrorCode::NationalLanguageRequired`]).
    pub fn national(&mut self, field: &str, text: &I18nText) {
        if !text.has_national() {
            self.push(field, ErrorCode::NationalLanguageRequired);
        }
    }

    /// Requires a text in some language ([`ErrorCode::Required`]).
    pub fn non_empty(&mut self, field: &str, text: &I18nText) {
        if text.is_empty() {
            self.push(field, ErrorCode::Required);
        }
    }

    /// Checks that a number, if present, is finite ([`ErrorCode::NotANumber`])
    /// and within ±[`MAX_ABS_VALUE`] ([`ErrorCode::OutOfRange`]). Returns
    /// true when the value is fine (or absent).
    pub fn number(&mut self, field: &str, v: Option<f64>) -> bool {
        match check_number(v) {
            Ok(()) => true,
            Err(code) => {
                self.push(field, code);
                false
            }
        }
    }

    /// Checks a plan year against [`MIN_YEAR`]..=[`MAX_YEAR`].
    pub fn year(&mut self, field: &str, year: i32) {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            self.push(field, ErrorCode::OutOfRange);
        }
    }

    /// The errors collected so far.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Finishes: `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Validation {
        validation(self.errors)
    }
}

fn check_number(v: Option<f64>) -> Result<(), ErrorCode> {
    match v {
        None => Ok(()),
        Some(x) if !x.is_finite() => Err(ErrorCode::NotANumber),
        Some(x) if x.abs() > MAX_ABS_VALUE => Err(ErrorCode::OutOfRange),
        Some(_) => Ok(()),
    }
}

fn is_group_sep(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}')
}

/// Parses a number typed by a user.
///
/// Empty or blank input is `Ok(None)`. Accepts an optional sign (`+`, `-`
/// or `−`), a decimal comma or point (`1,87`, `1.87`), and a space, no-break
/// space or narrow no-break space as thousands separator (`31 746`, groups
/// of three). Anything else is [`ErrorCode::NotANumber`]; values beyond
/// ±[`MAX_ABS_VALUE`] are [`ErrorCode::OutOfRange`].
pub fn parse_number(s: &str) -> Result<Option<f64>, ErrorCode> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let (negative, body) = if let Some(r) = s.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = s.strip_prefix('\u{2212}') {
        (true, r)
    } else if let Some(r) = s.strip_prefix('+') {
        (false, r)
    } else {
        (false, s)
    };
    let mut parts = body.split([',', '.']);
    let int_part = parts.next().unwrap_or("");
    let frac_part = parts.next();
    if parts.next().is_some() {
        return Err(ErrorCode::NotANumber);
    }
    // Integer part: plain digits, or digit groups separated by spaces.
    let mut int_digits = String::with_capacity(int_part.len());
    if int_part.contains(is_group_sep) {
        for (i, group) in int_part.split(is_group_sep).enumerate() {
            let ok_len = if i == 0 {
                (1..=3).contains(&group.len())
            } else {
                group.len() == 3
            };
            if !ok_len || !group.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ErrorCode::NotANumber);
            }
            int_digits.push_str(group);
        }
    } else if int_part.bytes().all(|b| b.is_ascii_digit()) {
        int_digits.push_str(int_part);
    } else {
        return Err(ErrorCode::NotANumber);
    }
    let frac = match frac_part {
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(ErrorCode::NotANumber)
        }
        Some(f) => f,
        None => "",
    };
    if int_digits.is_empty() && frac.is_empty() {
        return Err(ErrorCode::NotANumber);
    }
    let mut canonical = String::with_capacity(int_digits.len() + frac.len() + 3);
    if negative {
        canonical.push('-');
    }
    canonical.push_str(if int_digits.is_empty() {
        "0"
    } else {
        &int_digits
    });
    if !frac.is_empty() {
        canonical.push('.');
        canonical.push_str(frac);
    }
    let v: f64 = canonical.parse().map_err(|_| ErrorCode::NotANumber)?;
    if !v.is_finite() || v.abs() > MAX_ABS_VALUE {
        return Err(ErrorCode::OutOfRange);
    }
    // Normalise -0 to 0.
    Ok(Some(v + 0.0))
}

/// A goal of the plan for one area and year.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoalInput {
    /// The self-monitoring area.
    pub area: Area,
    /// The plan year.
    pub year: i32,
    /// The goal.
    #[serde(default)]
    pub title: I18nText,
}

impl GoalInput {
    /// Checks `year` (range), `title` (Finnish or Swedish required, each
    /// language at most [`MAX_TITLE`] characters).
    pub fn validate(&self) -> Validation {
        let mut v = Validator::new();
        v.year("year", self.year);
        v.national("title", &self.title);
        v.max_len("title", &self.title, MAX_TITLE);
        v.finish()
    }
}

/// An indicator measuring a goal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndicatorInput {
    /// The indicator name.
    #[serde(default)]
    pub name: I18nText,
    /// Unit of measure (e.g. "%", "d", "kpl / st").
    #[serde(default)]
    pub unit: I18nText,
    /// Which way is better.
    pub direction: Direction,
    /// Starting level.
    pub baseline: Option<f64>,
    /// Target (lower bound of a band).
    pub target: Option<f64>,
    /// Upper bound of a band; only for [`Direction::Band`].
    pub target_max: Option<f64>,
    /// How often the indicator is followed up.
    pub period_kind: PeriodKind,
    /// Free-text note (source, definition, …).
    #[serde(default)]
    pub note: I18nText,
    /// A code unique within the county (imports name the indicator by it).
    #[serde(default)]
    pub code: Option<String>,
    /// What a figure is.
    #[serde(default)]
    pub value_kind: crate::ValueKind,
    /// The last year the plan covers (none: the plan year).
    #[serde(default)]
    pub until_year: Option<i32>,
    /// Figures below this are flagged when entered.
    #[serde(default)]
    pub min_value: Option<f64>,
    /// Figures above this are flagged when entered.
    #[serde(default)]
    pub max_value: Option<f64>,
    /// A national or regional reference series shown beside its figures.
    #[serde(default)]
    pub reference: Option<crate::model::Reference>,
}

/// Longest indicator code, in characters.
pub const MAX_CODE: usize = 64;

/// Checks an indicator code: 1–64 characters, letters a–z and A–Z, digits,
/// `-`, `_` and `.`, starting with a letter or digit.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE
        && code.starts_with(|c: char| c.is_ascii_alphanumeric())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl IndicatorInput {
    /// Checks `name` (Finnish or Swedish required, at most [`MAX_TITLE`]
    /// characters), `unit` (≤ [`MAX_UNIT`]), `note` (≤ [`MAX_TEXT`]), the
    /// numbers (finite, within range) and the band rules: a band needs both
    /// `target` and `target_max` (`Required`) with `target <= target_max`
    /// (`target_max` `Invalid`); other directions must not have
    /// `target_max` (`Invalid`).
    pub fn validate(&self) -> Validation {
        let mut v = Validator::new();
        v.national("name", &self.name);
        v.max_len("name", &self.name, MAX_TITLE);
        v.max_len("unit", &self.unit, MAX_UNIT);
        v.max_len("note", &self.note, MAX_TEXT);
        v.number("baseline", self.baseline);
        let target_ok = v.number("target", self.target);
        let max_ok = v.number("target_max", self.target_max);
        if self.direction == Direction::Band {
            if self.target.is_none() {
                v.push("target", ErrorCode::Required);
            }
            if self.target_max.is_none() {
                v.push("target_max", ErrorCode::Required);
            }
            if let (Some(t), Some(m), true, true) =
                (self.target, self.target_max, target_ok, max_ok)
            {
                if t > m {
                    v.push("target_max", ErrorCode::Invalid);
                }
            }
        } else if self.target_max.is_some() && max_ok {
            v.push("target_max", ErrorCode::Invalid);
        }
        if let Some(code) = &self.code {
            if !valid_code(code) {
                v.push("code", ErrorCode::Invalid);
            }
        }
        if let Some(r) = &self.reference {
            let ok = |s: &str| {
                !s.is_empty()
                    && s.len() <= 40
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            };
            if !ok(&r.series) {
                v.push("reference_series", ErrorCode::Invalid);
            }
            if !ok(&r.region) {
                v.push("reference_region", ErrorCode::Invalid);
            }
            if !["total", "male", "female"].contains(&r.gender.as_str()) {
                v.push("reference_gender", ErrorCode::Invalid);
            }
            v.max_len("reference_label", &r.label, MAX_UNIT);
        }
        let min_ok = v.number("min_value", self.min_value);
        let max_value_ok = v.number("max_value", self.max_value);
        if let (Some(lo), Some(hi), true, true) =
            (self.min_value, self.max_value, min_ok, max_value_ok)
        {
            if lo > hi {
                v.push("max_value", ErrorCode::Invalid);
            }
        }
        if self.value_kind == crate::ValueKind::Text {
            // An observation has no figure to compare with a target.
            for (field, x) in [
                ("baseline", self.baseline),
                ("target", self.target),
                ("target_max", self.target_max),
                ("min_value", self.min_value),
                ("max_value", self.max_value),
            ] {
                if x.is_some() && !v.has(field) {
                    v.push(field, ErrorCode::Invalid);
                }
            }
        } else if self.value_kind == crate::ValueKind::Count {
            for (field, x) in [("baseline", self.baseline), ("target", self.target)] {
                if x.is_some_and(|x| x < 0.0) && !v.has(field) {
                    v.push(field, ErrorCode::NotACount);
                }
            }
        }
        v.finish()
    }

    /// Checks the years the plan covers against the plan `year`:
    /// `until_year` not before it and at most ten years after.
    pub fn validate_years(&self, year: i32) -> Validation {
        let mut v = Validator::new();
        if let Some(u) = self.until_year {
            if u < year || u > year + 10 {
                v.push("until_year", ErrorCode::OutOfRange);
            }
        }
        v.finish()
    }

    /// The target specification of this indicator.
    pub fn target_spec(&self) -> crate::status::TargetSpec {
        crate::status::TargetSpec {
            direction: self.direction,
            baseline: self.baseline,
            target: self.target,
            target_max: self.target_max,
        }
    }
}

/// An improvement action under a goal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionInput {
    /// What will be done.
    #[serde(default)]
    pub text: I18nText,
    /// Its state.
    pub status: ActionStatus,
}

impl ActionInput {
    /// Checks `text` (Finnish or Swedish required, ≤ [`MAX_TEXT`]).
    pub fn validate(&self) -> Validation {
        let mut v = Validator::new();
        v.national("text", &self.text);
        v.max_len("text", &self.text, MAX_TEXT);
        v.finish()
    }
}

/// The follow-up of one indicator for one period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUpInput {
    /// The measured value (for a ratio: its first part's share, from `parts`).
    pub value: Option<f64>,
    /// A ratio's two parts.
    #[serde(default)]
    pub parts: Option<(f64, f64)>,
    /// A text indicator's observation.
    #[serde(default)]
    pub text: Option<String>,
    /// Written assessment.
    #[serde(default)]
    pub assessment: I18nText,
    /// Corrective measures.
    #[serde(default)]
    pub corrective: I18nText,
}

impl FollowUpInput {
    /// A follow-up of `figure` (or none) with its texts.
    pub fn of(figure: Option<crate::Figure>, assessment: I18nText, corrective: I18nText) -> Self {
        let f = figure.unwrap_or_default();
        FollowUpInput {
            value: f.value,
            parts: f.parts,
            text: f.text,
            assessment,
            corrective,
        }
    }

    /// The figure given.
    pub fn figure(&self) -> crate::Figure {
        crate::Figure {
            value: self.value,
            parts: self.parts,
            text: self.text.clone(),
        }
    }

    /// Checks `value` (finite, within range), the texts (≤ [`MAX_TEXT`]) and
    /// that a value, a text or an assessment is given (`value` `Required`).
    pub fn validate(&self) -> Validation {
        let mut v = Validator::new();
        v.number("value", self.value);
        if self
            .text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT)
        {
            v.push("value", ErrorCode::TooLong);
        }
        v.max_len("assessment", &self.assessment, MAX_TEXT);
        v.max_len("corrective", &self.corrective, MAX_TEXT);
        if self.value.is_none() && self.text.is_none() && self.assessment.is_empty() {
            v.push("value", ErrorCode::Required);
        }
        v.finish()
    }

    /// [`validate`](Self::validate), and that the figure is of `kind`: a
    /// text for a text indicator and no number; a ratio's two parts (its
    /// value their share); for the others a number of the kind (a whole
    /// number not below zero for a count, not below zero for a duration).
    pub fn validate_for(&self, kind: crate::ValueKind) -> Validation {
        let mut errors = self.validate().err().unwrap_or_default();
        let has = |errors: &[FieldError]| errors.iter().any(|e| e.field == "value");
        let wrong = match kind {
            crate::ValueKind::Text => {
                (self.value.is_some() || self.parts.is_some()).then_some(ErrorCode::Invalid)
            }
            crate::ValueKind::Ratio => match (self.parts, self.value) {
                (Some((a, b)), _) => crate::Figure::ratio(a, b).err(),
                (None, Some(_)) => Some(ErrorCode::NotARatio),
                (None, None) => self.text.as_ref().map(|_| ErrorCode::NotARatio),
            },
            k => {
                if self.text.is_some() || self.parts.is_some() {
                    Some(ErrorCode::Invalid)
                } else {
                    self.value.and_then(|x| k.check_number(x).err())
                }
            }
        };
        if let Some(code) = wrong {
            if !has(&errors) {
                errors.push(FieldError::new("value", code));
            }
        }
        validation(errors)
    }
}

/// The goal-level written follow-up of a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoalReviewInput {
    /// The review text.
    #[serde(default)]
    pub text: I18nText,
}

impl GoalReviewInput {
    /// Checks that `text` is present in some language (`Required`) and at
    /// most [`MAX_TEXT`] characters.
    pub fn validate(&self) -> Validation {
        let mut v = Validator::new();
        v.non_empty("text", &self.text);
        v.max_len("text", &self.text, MAX_TEXT);
        v.finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn t(fi: Option<&str>, sv: Option<&str>, en: Option<&str>) -> I18nText {
        I18nText::new(
            fi.map(String::from),
            sv.map(String::from),
            en.map(String::from),
        )
    }

    fn fields(r: Validation) -> Vec<(String, ErrorCode)> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn f(field: &str, code: ErrorCode) -> (String, ErrorCode) {
        (field.to_owned(), code)
    }

    fn long(n: usize) -> Option<String> {
        Some("ä".repeat(n))
    }

    #[test]
    fn enum_codes() {
        let codes: Vec<&str> = Area::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(
            codes,
            [
                "access",
                "continuity",
                "equality",
                "safety",
                "quality",
                "customer_experience",
                "participation",
                "personnel",
                "economy"
            ]
        );
        for a in Area::ALL {
            assert_eq!(Area::parse(a.code()), Some(a));
            assert_eq!(crate::test_ser::to_string(&a), a.code());
        }
        assert_eq!(
            Area::parse("Customer_Experience"),
            Some(Area::CustomerExperience)
        );
        assert_eq!(Area::parse("customer experience"), None);
        let codes: Vec<&str> = ActionStatus::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(codes, ["planned", "ongoing", "done", "dropped"]);
        for a in ActionStatus::ALL {
            assert_eq!(ActionStatus::parse(a.code()), Some(a));
            assert_eq!(crate::test_ser::to_string(&a), a.code());
        }
        assert_eq!(ActionStatus::parse("finished"), None);
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(
            codes,
            [
                "required",
                "too_long",
                "not_a_number",
                "out_of_range",
                "invalid",
                "national_language_required",
                "not_found",
                "state_conflict",
                "not_a_duration",
                "not_a_ratio",
                "not_a_count",
                "not_its_period",
                "far_outside"
            ]
        );
        for c in ErrorCode::ALL {
            assert_eq!(crate::test_ser::to_string(&c), c.code());
            assert_eq!(c.to_string(), c.code());
        }
        assert_eq!(
            FieldError::new("year", ErrorCode::OutOfRange).to_string(),
            "year: out_of_range"
        );
    }

    #[test]
    fn validation_helpers() {
        assert_eq!(validation(Vec::new()), Ok(()));
        let r = validation(vec![FieldError::new("a", ErrorCode::Invalid)]);
        assert_eq!(error_for(&r, "a").unwrap().code, ErrorCode::Invalid);
        assert!(error_for(&r, "b").is_none());
        assert!(error_for(&Ok(()), "a").is_none());
        let mut v = Validator::new();
        assert!(v.number("x", Some(1.0)));
        assert!(v.number("x", None));
        assert!(!v.number("y", Some(f64::NAN)));
        assert!(v.has("y"));
        assert!(!v.has("x"));
        assert_eq!(v.errors().len(), 1);
    }

    #[test]
    fn parse_number_accepts() {
        let ok = [
            ("1,87", 1.87),
            ("1.87", 1.87),
            ("-3", -3.0),
            ("+5", 5.0),
            ("40.0", 40.0),
            ("40", 40.0),
            ("31 746", 31746.0),
            ("31\u{a0}746", 31746.0),
            ("31\u{202f}746", 31746.0),
            ("1 234 567,5", 1234567.5),
            ("-1 234,56", -1234.56),
            ("  7  ", 7.0),
            ("0", 0.0),
            ("-0", 0.0),
            ("0,5", 0.5),
            (",5", 0.5),
            ("007", 7.0),
            ("\u{2212}2,5", -2.5),
            ("1000000000000", 1e12),
            ("-1000000000000", -1e12),
        ];
        for (s, v) in ok {
            assert_eq!(parse_number(s), Ok(Some(v)), "input {s:?}");
        }
        assert!(parse_number("-0").unwrap().unwrap().is_sign_positive());
        assert_eq!(parse_number(""), Ok(None));
        assert_eq!(parse_number("   "), Ok(None));
        assert_eq!(parse_number("\u{a0}"), Ok(None));
    }

    #[test]
    fn parse_number_rejects() {
        use ErrorCode::*;
        let bad = [
            ("abc", NotANumber),
            ("1,2,3", NotANumber),
            ("1.2.3", NotANumber),
            ("1,2.3", NotANumber),
            ("NaN", NotANumber),
            ("nan", NotANumber),
            ("inf", NotANumber),
            ("-inf", NotANumber),
            ("infinity", NotANumber),
            ("1e5", NotANumber),
            ("12a", NotANumber),
            ("5,", NotANumber),
            ("-", NotANumber),
            ("+", NotANumber),
            (",", NotANumber),
            ("--5", NotANumber),
            ("+-5", NotANumber),
            ("- 5", NotANumber),
            ("12 34", NotANumber),
            ("1234 567", NotANumber),
            ("1  234", NotANumber),
            ("1 234 ,5", NotANumber),
            ("1,5 0", NotANumber),
            ("0x10", NotANumber),
            ("5%", NotANumber),
            ("١٢", NotANumber),
            ("1000000000000.01", OutOfRange),
            ("-2000000000000", OutOfRange),
            ("99999999999999999999999999", OutOfRange),
            (&"9".repeat(400), OutOfRange),
        ];
        for (s, e) in bad {
            assert_eq!(parse_number(s), Err(e), "input {s:?}");
        }
    }

    #[test]
    fn goal_validation() {
        let good = GoalInput {
            area: Area::Safety,
            year: 2025,
            title: t(Some("Kaatumiset vähenevät"), None, None),
        };
        assert_eq!(good.validate(), Ok(()));
        let sv = GoalInput {
            title: t(None, Some("Färre fall"), None),
            ..good.clone()
        };
        assert_eq!(sv.validate(), Ok(()));
        let bad = GoalInput {
            area: Area::Access,
            year: 1999,
            title: I18nText {
                fi: None,
                sv: None,
                en: long(MAX_TITLE + 1),
            },
        };
        assert_eq!(
            fields(bad.validate()),
            [
                f("year", ErrorCode::OutOfRange),
                f("title", ErrorCode::NationalLanguageRequired),
                f("title_en", ErrorCode::TooLong)
            ]
        );
        let empty = GoalInput {
            year: 2101,
            title: I18nText::default(),
            ..good.clone()
        };
        assert_eq!(
            fields(empty.validate()),
            [
                f("year", ErrorCode::OutOfRange),
                f("title", ErrorCode::NationalLanguageRequired)
            ]
        );
        let edges = GoalInput {
            year: 2000,
            title: I18nText {
                fi: long(MAX_TITLE),
                sv: long(MAX_TITLE + 1),
                en: None,
            },
            ..good.clone()
        };
        assert_eq!(
            fields(edges.validate()),
            [f("title_sv", ErrorCode::TooLong)]
        );
        assert_eq!(GoalInput { year: 2100, ..good }.validate(), Ok(()));
    }

    fn indicator() -> IndicatorInput {
        IndicatorInput {
            name: t(Some("Kaatumiset"), Some("Fall"), None),
            unit: t(Some("kpl / 1000 hoitopäivää"), None, None),
            direction: Direction::Lower,
            baseline: Some(2.11),
            target: Some(1.5),
            target_max: None,
            period_kind: PeriodKind::Tertial,
            note: I18nText::default(),
            code: None,
            value_kind: crate::ValueKind::Number,
            until_year: None,
            min_value: None,
            max_value: None,
            reference: None,
        }
    }

    #[test]
    fn indicator_validation_ok() {
        assert_eq!(indicator().validate(), Ok(()));
        let no_target = IndicatorInput {
            target: None,
            baseline: None,
            ..indicator()
        };
        assert_eq!(no_target.validate(), Ok(()));
        let band = IndicatorInput {
            direction: Direction::Band,
            target: Some(5.0),
            target_max: Some(5.0),
            ..indicator()
        };
        assert_eq!(band.validate(), Ok(()));
        assert_eq!(indicator().target_spec().target, Some(1.5));
    }

    #[test]
    fn indicator_validation_errors() {
        let bad = IndicatorInput {
            name: t(None, None, Some("Falls")),
            unit: I18nText {
                fi: long(MAX_UNIT + 1),
                sv: long(MAX_UNIT),
                en: long(MAX_UNIT + 1),
            },
            note: I18nText {
                fi: None,
                sv: long(MAX_TEXT + 1),
                en: None,
            },
            baseline: Some(f64::NAN),
            target: Some(2e12),
            target_max: Some(3.0),
            ..indicator()
        };
        assert_eq!(
            fields(bad.validate()),
            [
                f("name", ErrorCode::NationalLanguageRequired),
                f("unit_fi", ErrorCode::TooLong),
                f("unit_en", ErrorCode::TooLong),
                f("note_sv", ErrorCode::TooLong),
                f("baseline", ErrorCode::NotANumber),
                f("target", ErrorCode::OutOfRange),
                f("target_max", ErrorCode::Invalid),
            ]
        );
        let long_name = IndicatorInput {
            name: I18nText {
                fi: long(MAX_TITLE + 1),
                sv: None,
                en: None,
            },
            ..indicator()
        };
        assert_eq!(
            fields(long_name.validate()),
            [f("name_fi", ErrorCode::TooLong)]
        );
    }

    #[test]
    fn indicator_band_rules() {
        let band = |target, target_max| IndicatorInput {
            direction: Direction::Band,
            target,
            target_max,
            ..indicator()
        };
        assert_eq!(
            fields(band(Some(5.0), None).validate()),
            [f("target_max", ErrorCode::Required)]
        );
        assert_eq!(
            fields(band(None, Some(5.0)).validate()),
            [f("target", ErrorCode::Required)]
        );
        assert_eq!(
            fields(band(None, None).validate()),
            [
                f("target", ErrorCode::Required),
                f("target_max", ErrorCode::Required)
            ]
        );
        assert_eq!(
            fields(band(Some(6.0), Some(5.0)).validate()),
            [f("target_max", ErrorCode::Invalid)]
        );
        assert_eq!(
            fields(band(Some(6.0), Some(f64::INFINITY)).validate()),
            [f("target_max", ErrorCode::NotANumber)]
        );
        let higher_with_max = IndicatorInput {
            direction: Direction::Higher,
            target_max: Some(10.0),
            ..indicator()
        };
        assert_eq!(
            fields(higher_with_max.validate()),
            [f("target_max", ErrorCode::Invalid)]
        );
        let lower_nan_max = IndicatorInput {
            target_max: Some(f64::NAN),
            ..indicator()
        };
        assert_eq!(
            fields(lower_nan_max.validate()),
            [f("target_max", ErrorCode::NotANumber)]
        );
    }

    #[test]
    fn action_validation() {
        let ok = ActionInput {
            text: t(None, Some("Utbildning"), None),
            status: ActionStatus::Ongoing,
        };
        assert_eq!(ok.validate(), Ok(()));
        let en_only = ActionInput {
            text: t(None, None, Some("Training")),
            status: ActionStatus::Planned,
        };
        assert_eq!(
            fields(en_only.validate()),
            [f("text", ErrorCode::NationalLanguageRequired)]
        );
        let too_long = ActionInput {
            text: I18nText {
                fi: long(MAX_TEXT + 1),
                sv: None,
                en: None,
            },
            status: ActionStatus::Done,
        };
        assert_eq!(
            fields(too_long.validate()),
            [f("text_fi", ErrorCode::TooLong)]
        );
        let blank = ActionInput {
            text: I18nText {
                fi: Some("   ".into()),
                sv: None,
                en: None,
            },
            status: ActionStatus::Dropped,
        };
        assert_eq!(
            fields(blank.validate()),
            [f("text", ErrorCode::NationalLanguageRequired)]
        );
    }

    #[test]
    fn follow_up_validation() {
        let value_only = FollowUpInput {
            value: Some(1.87),
            parts: None,
            text: None,
            assessment: I18nText::default(),
            corrective: I18nText::default(),
        };
        assert_eq!(value_only.validate(), Ok(()));
        let text_only = FollowUpInput {
            value: None,
            parts: None,
            text: None,
            assessment: t(None, None, Some("Fewer falls")),
            corrective: I18nText::default(),
        };
        assert_eq!(text_only.validate(), Ok(()));
        let nothing = FollowUpInput {
            value: None,
            parts: None,
            text: None,
            assessment: I18nText::default(),
            corrective: t(Some("Koulutus"), None, None),
        };
        assert_eq!(
            fields(nothing.validate()),
            [f("value", ErrorCode::Required)]
        );
        let bad = FollowUpInput {
            value: Some(-1e13),
            parts: None,
            text: None,
            assessment: I18nText {
                fi: long(MAX_TEXT + 1),
                sv: None,
                en: None,
            },
            corrective: I18nText {
                fi: None,
                sv: long(MAX_TEXT + 1),
                en: long(MAX_TEXT),
            },
        };
        assert_eq!(
            fields(bad.validate()),
            [
                f("value", ErrorCode::OutOfRange),
                f("assessment_fi", ErrorCode::TooLong),
                f("corrective_sv", ErrorCode::TooLong)
            ]
        );
        let nan = FollowUpInput {
            value: Some(f64::NAN),
            ..value_only
        };
        assert_eq!(fields(nan.validate()), [f("value", ErrorCode::NotANumber)]);
    }

    #[test]
    fn follow_ups_are_checked_against_the_kind() {
        use crate::{Figure, ValueKind};
        let of = |kind: ValueKind, s: &str| {
            FollowUpInput::of(
                kind.parse_figure(s).unwrap(),
                I18nText::default(),
                I18nText::default(),
            )
        };
        for (kind, s) in [
            (ValueKind::Duration, "0:13:25"),
            (ValueKind::Ratio, "192/469"),
            (ValueKind::Text, "Jonot lyhenivät."),
            (ValueKind::Count, "1 025"),
            (ValueKind::Percent, "90 %"),
        ] {
            assert_eq!(of(kind, s).validate_for(kind), Ok(()), "{kind}");
        }
        let wrong = |input: FollowUpInput, kind: ValueKind| fields(input.validate_for(kind));
        assert_eq!(
            wrong(of(ValueKind::Number, "13,4"), ValueKind::Ratio),
            [f("value", ErrorCode::NotARatio)]
        );
        assert_eq!(
            wrong(of(ValueKind::Number, "13,5"), ValueKind::Count),
            [f("value", ErrorCode::NotACount)]
        );
        assert_eq!(
            wrong(of(ValueKind::Number, "-5"), ValueKind::Duration),
            [f("value", ErrorCode::NotADuration)]
        );
        assert_eq!(
            wrong(of(ValueKind::Number, "5"), ValueKind::Text),
            [f("value", ErrorCode::Invalid)]
        );
        assert_eq!(
            wrong(of(ValueKind::Text, "hyvä"), ValueKind::Number),
            [f("value", ErrorCode::Invalid)]
        );
        assert_eq!(
            of(ValueKind::Ratio, "192/469").figure(),
            Figure::ratio(192.0, 469.0).unwrap()
        );
        // An indicator of observations has no target to compare them with.
        let text = IndicatorInput {
            value_kind: ValueKind::Text,
            ..indicator()
        };
        assert_eq!(
            fields(text.validate()),
            [
                f("baseline", ErrorCode::Invalid),
                f("target", ErrorCode::Invalid)
            ]
        );
        let coded = |c: &str| IndicatorInput {
            code: Some(c.into()),
            ..indicator()
        };
        assert_eq!(coded("KRC-ACC.01_a").validate(), Ok(()));
        for bad in ["", "-x", "a b", "ä", &"x".repeat(65)] {
            assert_eq!(
                fields(coded(bad).validate()),
                [f("code", ErrorCode::Invalid)],
                "{bad}"
            );
        }
        let until = |y| IndicatorInput {
            until_year: Some(y),
            ..indicator()
        };
        assert_eq!(until(2026).validate_years(2024), Ok(()));
        assert_eq!(
            fields(until(2023).validate_years(2024)),
            [f("until_year", ErrorCode::OutOfRange)]
        );
    }

    #[test]
    fn goal_review_validation() {
        assert_eq!(
            GoalReviewInput {
                text: t(None, None, Some("ok"))
            }
            .validate(),
            Ok(())
        );
        assert_eq!(
            fields(
                GoalReviewInput {
                    text: I18nText::default()
                }
                .validate()
            ),
            [f("text", ErrorCode::Required)]
        );
        assert_eq!(
            fields(
                GoalReviewInput {
                    text: I18nText {
                        fi: None,
                        sv: None,
                        en: long(MAX_TEXT + 1)
                    }
                }
                .validate()
            ),
            [f("text_en", ErrorCode::TooLong)]
        );
    }

    proptest! {
        #[test]
        fn prop_parse_number_never_panics(s in "\\PC{0,20}") {
            if let Ok(Some(v)) = parse_number(&s) {
                prop_assert!(v.is_finite() && v.abs() <= MAX_ABS_VALUE);
            }
        }

        #[test]
        fn prop_parse_plain_decimals(i in -999_999_999i64..999_999_999, d in 0u32..100, comma in any::<bool>()) {
            let sep = if comma { ',' } else { '.' };
            let s = format!("{i}{sep}{d:02}");
            let expected: f64 = format!("{i}.{d:02}").parse().unwrap();
            prop_assert_eq!(parse_number(&s), Ok(Some(expected + 0.0)));
        }
    }
}
