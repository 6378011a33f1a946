//! What every import shares: the errors it reports by line and column, the
//! cap on how many it keeps, and how a CSV file's separator is told.
//!
//! The files themselves are read by the store's import pipeline (one
//! streaming pass); each kind of import turns one CSV record into a typed row
//! here, in the domain core, without I/O: answers in
//! [`feedback::AnswerColumns`](crate::feedback::AnswerColumns), incident
//! history in [`incident::HistoryColumns`](crate::incident::HistoryColumns).

use crate::plan::ErrorCode;
use serde::Serialize;

/// How many line errors an import keeps to show (it still counts them all).
pub const MAX_REPORTED: usize = 100;

/// A problem on a line of an import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LineError {
    /// The worksheet of a spreadsheet (none for CSV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Line number (the header is line 1; a spreadsheet's row number).
    pub line: usize,
    /// The column (its header), or `header` / `line` for the whole line.
    pub field: String,
    /// What is wrong.
    pub code: ErrorCode,
    /// What was expected, in English (the command line and the API; pages
    /// translate [`hint`](Self::hint)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was expected, for a page to say in its language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Expected>,
}

/// What a cell should have held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Expected {
    /// Language-neutral: a range (`0–10`), a format (`YYYY-MM-DD`), a list of codes.
    Literal(String),
    /// An org unit's code.
    UnitCode,
    /// A unit the importer may write; the value given.
    UnitYouMayWrite(String),
    /// Something to say: a recommendation, a statement or a text.
    AnswerContent,
    /// A scale point (`min–max`) or "cannot say".
    Scale(String),
    /// A day, `2024-03-05` or `5.3.2024`.
    Day,
    /// A day not after this one (ISO).
    NotAfter(String),
    /// A day not before this one (ISO).
    NotBefore(String),
    /// An event type's code or name.
    EventType,
    /// An event type's code or name; the value given.
    EventTypeNot(String),
    /// An event type offered in the unit's county (shared, or the county's
    /// own); the value given.
    EventTypeOfCounty(String),
    /// Nothing: the statement is another county's own, not asked of this
    /// unit's respondents.
    EmptyStatementOfOtherCounty,
    /// At most this many characters.
    MaxChars(usize),
    /// This many columns.
    Columns(usize),
    /// Yes or no.
    YesNo,
    /// Nothing unless the state is handled.
    EmptyUnlessHandled,
    /// A well-formed CSV line.
    CsvLine,
    /// An indicator code the importer may write; the value given.
    IndicatorYouMayWrite(String),
    /// A period such as `2023T3` or `9–12/2023`.
    Period,
    /// One of the indicator's own periods: of this kind, up to this year.
    ItsPeriod(String, i32),
    /// A figure of this value kind.
    Figure(crate::ValueKind),
    /// The same indicator and period are already on this line.
    NotAgainAfter(usize),
    /// A value or an assessment.
    ValueOrAssessment,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Literal(s) => f.write_str(s),
            Expected::UnitCode => f.write_str("a unit code"),
            Expected::UnitYouMayWrite(v) => write!(f, "a unit code you may write, not \"{v}\""),
            Expected::AnswerContent => f.write_str("nps, a statement or a text"),
            Expected::Scale(r) => write!(f, "{r} or cannot_say"),
            Expected::Day => f.write_str("YYYY-MM-DD or D.M.YYYY"),
            Expected::NotAfter(d) => write!(f, "not after {d}"),
            Expected::NotBefore(d) => write!(f, "not before {d}"),
            Expected::EventType => f.write_str("a code or name of the event types"),
            Expected::EventTypeNot(v) => {
                write!(f, "a code or name of the event types, not \"{v}\"")
            }
            Expected::EventTypeOfCounty(v) => write!(
                f,
                "an event type shared by every county or the unit's county's own, not \"{v}\""
            ),
            Expected::EmptyStatementOfOtherCounty => f.write_str(
                "nothing: the statement is another county's own, not asked of this unit's respondents",
            ),
            Expected::MaxChars(n) => write!(f, "at most {n} characters"),
            Expected::Columns(n) => write!(f, "{n} columns"),
            Expected::YesNo => f.write_str("yes or no"),
            Expected::EmptyUnlessHandled => f.write_str("empty unless state is handled"),
            Expected::CsvLine => f.write_str("a CSV line"),
            Expected::IndicatorYouMayWrite(v) => {
                write!(f, "the code of an indicator you may write, not \"{v}\"")
            }
            Expected::Period => f.write_str("a period such as 2023T3 or 9–12/2023"),
            Expected::ItsPeriod(kind, year) => {
                write!(f, "a {kind} period of the indicator, up to {year}, begun")
            }
            Expected::Figure(kind) => f.write_str(kind.expected()),
            Expected::NotAgainAfter(line) => {
                write!(f, "each indicator and period once (already on line {line})")
            }
            Expected::ValueOrAssessment => f.write_str("a value or an assessment"),
        }
    }
}

impl From<&str> for Expected {
    fn from(s: &str) -> Self {
        Expected::Literal(s.to_owned())
    }
}

impl From<String> for Expected {
    fn from(s: String) -> Self {
        Expected::Literal(s)
    }
}

impl LineError {
    /// An error on `line` in column `field`.
    pub fn new(line: usize, field: &str, code: ErrorCode) -> Self {
        LineError {
            sheet: None,
            line,
            field: field.to_owned(),
            code,
            expected: None,
            hint: None,
        }
    }

    /// The same, with what was expected.
    pub fn expecting(mut self, expected: impl Into<Expected>) -> Self {
        let e = expected.into();
        self.expected = Some(e.to_string());
        self.hint = Some(e);
        self
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(sheet) = &self.sheet {
            write!(f, "sheet {sheet}, ")?;
        }
        write!(f, "line {}: {}: {}", self.line, self.field, self.code)?;
        if let Some(e) = &self.expected {
            write!(f, " (expected {e})")?;
        }
        Ok(())
    }
}

/// The errors of an import: the first [`MAX_REPORTED`] kept, all counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LineErrors {
    /// The first errors, in file order.
    pub first: Vec<LineError>,
    /// How many there were in all.
    pub count: u64,
}

impl LineErrors {
    /// Adds errors.
    pub fn extend(&mut self, errors: impl IntoIterator<Item = LineError>) {
        for e in errors {
            self.count += 1;
            if self.first.len() < MAX_REPORTED {
                self.first.push(e);
            }
        }
    }

    /// No errors.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The separator of a CSV file from its first line: `;` when it has more
/// semicolons than commas (the Finnish and Swedish spreadsheet default, where
/// the comma is the decimal mark), `,` otherwise.
pub fn delimiter(first_line: &[u8]) -> u8 {
    let line = first_line.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let semi = line.iter().filter(|b| **b == b';').count();
    let comma = line.iter().filter(|b| **b == b',').count();
    if semi > comma {
        b';'
    } else {
        b','
    }
}

/// Header names as the importers compare them: trimmed, lower case.
pub fn header_names<'a>(record: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    record
        .into_iter()
        .map(|c| c.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect()
}

/// Checks a header against the columns an import knows: unknown columns
/// (a misspelt one must not be dropped silently), repeated ones and missing
/// required ones are errors on line 1.
pub fn check_header(
    headers: &[String],
    known: impl Fn(&str) -> bool,
    required: &[&str],
) -> Vec<LineError> {
    let mut errors = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if !known(h) {
            errors.push(LineError::new(1, h, ErrorCode::Invalid));
        } else if headers[..i].contains(h) {
            errors.push(LineError::new(1, h, ErrorCode::StateConflict));
        }
    }
    for r in required {
        if !headers.iter().any(|h| h == r) {
            errors.push(LineError::new(1, r, ErrorCode::Required));
        }
    }
    errors
}

/// A day as exports write it: `2024-03-05` or `5.3.2024` (a time after it,
/// `2024-03-05 14:30` or `5.3.2024 14:30`, is ignored).
pub fn parse_day(s: &str) -> Option<time::Date> {
    let s = s.trim();
    let day = s.split([' ', 'T']).next().unwrap_or("");
    if let Some(d) = crate::feedback::parse_date(day) {
        return Some(d);
    }
    let mut parts = day.split('.');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// A yes/no cell: `yes`/`no`, `1`/`0`, `true`/`false`, `kyllä`/`ei`,
/// `ja`/`nej`, `x`; empty is `None`, anything else `Err`.
#[allow(clippy::result_unit_err)]
pub fn parse_flag(s: &str) -> Result<Option<bool>, ()> {
    match s.trim().to_lowercase().as_str() {
        "" => Ok(None),
        "yes" | "1" | "true" | "kyllä" | "k" | "ja" | "x" => Ok(Some(true)),
        "no" | "0" | "false" | "ei" | "e" | "nej" | "n" => Ok(Some(false)),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn delimiter_follows_the_first_line() {
        assert_eq!(delimiter(b"unit;nps;text\n1,5;2"), b';');
        assert_eq!(delimiter(b"unit,nps\nA;B;C;D"), b',');
        assert_eq!(delimiter(b""), b',');
    }

    #[test]
    fn days_and_flags_as_exports_write_them() {
        let d = time::macros::date!(2024 - 03 - 05);
        assert_eq!(parse_day("2024-03-05"), Some(d));
        assert_eq!(parse_day("5.3.2024 14:30"), Some(d));
        assert_eq!(parse_day("05.03.2024"), Some(d));
        assert_eq!(parse_day("5.3.24"), None);
        assert_eq!(parse_day("31.2.2024"), None);
        assert_eq!(parse_flag(" Kyllä "), Ok(Some(true)));
        assert_eq!(parse_flag("nej"), Ok(Some(false)));
        assert_eq!(parse_flag(""), Ok(None));
        assert_eq!(parse_flag("maybe"), Err(()));
    }

    #[test]
    fn errors_keep_the_first_hundred_and_count_all() {
        let mut e = LineErrors::default();
        e.extend((2..300).map(|l| LineError::new(l, "nps", ErrorCode::OutOfRange)));
        assert_eq!(e.count, 298);
        assert_eq!(e.first.len(), MAX_REPORTED);
        assert_eq!(e.first[99].line, 101);
    }

    #[test]
    fn header_names_unknown_repeated_and_missing_columns() {
        let h = header_names(["\u{feff}Unit ", "nps", "NPS", "colour"]);
        let errors = check_header(&h, |c| c == "unit" || c == "nps", &["unit", "month"]);
        let got: Vec<(&str, ErrorCode)> =
            errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            vec![
                ("nps", ErrorCode::StateConflict),
                ("colour", ErrorCode::Invalid),
                ("month", ErrorCode::Required)
            ]
        );
        assert_eq!(
            LineError::new(7, "nps", ErrorCode::OutOfRange)
                .expecting("0–10")
                .to_string(),
            "line 7: nps: out_of_range (expected 0–10)"
        );
    }
}
