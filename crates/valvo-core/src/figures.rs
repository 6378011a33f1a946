//! The columns of a figures import (CSV or a spreadsheet): which indicator
//! (its code), which period, the value as people type it, and optional
//! assessments and corrective actions per language. The value is read by the
//! indicator's kind once the indicator is known (the store's side).

use crate::import::{check_header, Expected, LineError};
use crate::plan::{ErrorCode, MAX_TEXT};
use crate::{I18nText, Lang, Period};

/// Columns a figures file must have.
pub const REQUIRED: [&str; 3] = ["indicator", "period", "value"];

/// Columns a figures file may have besides: texts per language that replace
/// the stored ones when the cell has something.
pub const OPTIONAL: [&str; 6] = [
    "assessment_fi",
    "assessment_sv",
    "assessment_en",
    "corrective_fi",
    "corrective_sv",
    "corrective_en",
];

/// Columns read for people only (a template's names, units and kinds), and
/// left as they are.
pub const IGNORED: [&str; 10] = [
    "name",
    "name_fi",
    "name_sv",
    "name_en",
    "unit",
    "unit_fi",
    "unit_sv",
    "unit_en",
    "value_kind",
    "org_unit",
];

/// Where the columns of one file are.
#[derive(Clone, Debug)]
pub struct FigureColumns {
    indicator: usize,
    period: usize,
    value: usize,
    texts: Vec<(usize, &'static str, Lang)>,
}

/// One line of a figures file, the value still as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct FigureRecord {
    /// The indicator's code as given (trimmed).
    pub code: String,
    /// The period.
    pub period: Period,
    /// The value as typed (empty: none).
    pub value: String,
    /// Assessments given (empty languages: keep what is stored).
    pub assessment: I18nText,
    /// Corrective actions given (the same).
    pub corrective: I18nText,
}

impl FigureColumns {
    /// The columns of a header (names already as
    /// [`header_names`](crate::import::header_names) gives them).
    pub fn new(headers: &[String]) -> Result<FigureColumns, Vec<LineError>> {
        let known =
            |h: &str| REQUIRED.contains(&h) || OPTIONAL.contains(&h) || IGNORED.contains(&h);
        let errors = check_header(headers, known, &REQUIRED);
        if !errors.is_empty() {
            return Err(errors);
        }
        let at = |name: &str| headers.iter().position(|h| h == name).unwrap_or(0);
        let texts = OPTIONAL
            .iter()
            .filter_map(|name| {
                let i = headers.iter().position(|h| h == name)?;
                let (base, lang) = name.rsplit_once('_')?;
                let base = if base == "assessment" {
                    "assessment"
                } else {
                    "corrective"
                };
                Some((i, base, Lang::parse(lang)?))
            })
            .collect();
        Ok(FigureColumns {
            indicator: at("indicator"),
            period: at("period"),
            value: at("value"),
            texts,
        })
    }

    /// Reads one line: every problem of it named by its column; `None` for
    /// a line that names an indicator and a period and gives nothing for
    /// them (a template's row left empty).
    pub fn record<'a>(
        &self,
        line: usize,
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<FigureRecord>, Vec<LineError>> {
        let cells: Vec<&str> = fields.into_iter().collect();
        let cell = |i: usize| cells.get(i).map(|c| c.trim()).unwrap_or("");
        let mut errors = Vec::new();
        let code = cell(self.indicator).to_owned();
        if code.is_empty() {
            errors.push(LineError::new(line, "indicator", ErrorCode::Required));
        }
        let period = match cell(self.period) {
            "" => {
                errors.push(
                    LineError::new(line, "period", ErrorCode::Required).expecting(Expected::Period),
                );
                None
            }
            p => match p.parse::<Period>() {
                Ok(p) => Some(p),
                Err(_) => {
                    errors.push(
                        LineError::new(line, "period", ErrorCode::Invalid)
                            .expecting(Expected::Period),
                    );
                    None
                }
            },
        };
        let mut assessment = I18nText::default();
        let mut corrective = I18nText::default();
        for (i, base, lang) in &self.texts {
            let t = cell(*i);
            if t.is_empty() {
                continue;
            }
            if t.chars().count() > MAX_TEXT {
                errors.push(
                    LineError::new(line, &format!("{base}_{}", lang.code()), ErrorCode::TooLong)
                        .expecting(Expected::MaxChars(MAX_TEXT)),
                );
                continue;
            }
            let target = if *base == "assessment" {
                &mut assessment
            } else {
                &mut corrective
            };
            target.set(*lang, Some(t.to_owned()));
        }
        let value = cell(self.value).to_owned();
        match (errors.is_empty(), period) {
            (true, Some(_))
                if value.is_empty() && assessment.is_empty() && corrective.is_empty() =>
            {
                Ok(None)
            }
            (true, Some(period)) => Ok(Some(FigureRecord {
                code,
                period,
                value,
                assessment,
                corrective,
            })),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::import::header_names;

    #[test]
    fn a_line_is_read_and_every_problem_named() {
        let h = header_names(["Indicator", "period", "value", "assessment_sv", "name"]);
        let cols = FigureColumns::new(&h).unwrap();
        let r = cols
            .record(
                2,
                ["KRC-1", "9–12/2023", "0:13:25", "Kötiden kortare", "Kötid"],
            )
            .unwrap()
            .unwrap();
        assert_eq!(r.code, "KRC-1");
        assert_eq!(r.period.to_string(), "2023T3");
        assert_eq!(r.value, "0:13:25");
        assert_eq!(r.assessment.sv.as_deref(), Some("Kötiden kortare"));
        let errors = cols.record(3, ["", "kevät", "", "", ""]).unwrap_err();
        let fields: Vec<(&str, ErrorCode)> =
            errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("indicator", ErrorCode::Required),
                ("period", ErrorCode::Invalid)
            ]
        );
        // A template's row left empty is no line at all.
        assert_eq!(
            cols.record(4, ["KRC-1", "2023T3", "", "", "Kötid"]),
            Ok(None)
        );
        assert!(errors[1]
            .to_string()
            .contains("expected a period such as 2023T3"));
    }

    #[test]
    fn headers_are_checked() {
        let errors =
            FigureColumns::new(&header_names(["indicator", "value", "colour"])).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["colour", "period"]);
    }
}
