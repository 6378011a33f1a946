//! Machine-readable exports of a report: the whole model as JSON, and the
//! figures as CSV (RFC 4180).

use valvo_core::report::Report;
use valvo_core::{I18nText, Lang};
use valvo_i18n::Tr;

/// The report model as pretty-printed JSON (the same field names as the
/// model; non-finite numbers become `null`).
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_owned())
}

/// The CSV header.
pub const CSV_HEADER: [&str; 16] = [
    "org_code",
    "chapter",
    "kind",
    "area",
    "goal",
    "name",
    "unit",
    "baseline",
    "target",
    "target_max",
    "value",
    "value_period",
    "previous",
    "status",
    "value_kind",
    "value_text",
];

/// A text cell a spreadsheet would run as a formula (it begins with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, which
/// spreadsheets show as text; numbers (`-4.5`) are left as they are.
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s.trim().parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Quotes one CSV field as RFC 4180 asks: fields holding a comma, a double
/// quote, a line break or leading/trailing space are put in double quotes,
/// with the quotes inside doubled. Formula-like text is neutralized first
/// (see [`neutralize`]).
pub fn csv_field(s: &str) -> String {
    let s = &*neutralize(s);
    let needs = s.contains([',', '"', '\n', '\r'])
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace);
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A number for machines: dot as the decimal separator, no grouping,
/// shortest form that reads back the same (`4.8`, `43`); empty when missing
/// or not finite.
fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let x = if x == 0.0 { 0.0 } else { x };
            format!("{x}")
        }
        _ => String::new(),
    }
}

/// A text in `lang`, falling back as [`I18nText::resolve`] does.
fn text(t: &I18nText, lang: Lang) -> String {
    t.resolve(lang)
        .map(|r| r.text.to_owned())
        .unwrap_or_default()
}

fn push_row(out: &mut String, row: &[String]) {
    let line = row
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str(&line);
    out.push_str("\r\n");
}

/// The report's numbers as CSV: a header row, then one row per indicator
/// and one per section figure, chapter by chapter. Texts are in `lang`
/// (falling back to another language when missing); codes, numbers
/// (`4.8`), periods (`2024H1`) and statuses (`met`) are machine-readable.
/// Lines end in CRLF.
pub fn to_csv(report: &Report, lang: Lang) -> String {
    let tr = Tr::new(lang);
    let mut out = String::new();
    push_row(&mut out, &CSV_HEADER.map(str::to_owned));
    for chapter in &report.chapters {
        let name = text(&chapter.name, lang);
        for goal in &chapter.goals {
            let title = text(&goal.title, lang);
            for i in &goal.indicators {
                push_row(
                    &mut out,
                    &[
                        chapter.org_code.clone(),
                        name.clone(),
                        "indicator".to_owned(),
                        goal.area.code().to_owned(),
                        title.clone(),
                        text(&i.name, lang),
                        text(&i.unit, lang),
                        num(i.baseline),
                        num(i.target),
                        num(i.target_max),
                        num(i.value),
                        i.value_period.map(|p| p.to_string()).unwrap_or_default(),
                        num(i.previous),
                        i.status.code().to_owned(),
                        i.value_kind.code().to_owned(),
                        i.figure_text(lang),
                    ],
                );
            }
        }
        for section in &chapter.sections {
            for f in &section.figures {
                push_row(
                    &mut out,
                    &[
                        chapter.org_code.clone(),
                        name.clone(),
                        "figure".to_owned(),
                        section.kind.code().to_owned(),
                        String::new(),
                        tr.t(&format!("report-fig-{}", f.key)),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        num(f.value),
                        report.period.to_string(),
                        num(f.previous),
                        String::new(),
                        "number".to_owned(),
                        f.value
                            .map(|v| valvo_core::format_number(v, lang))
                            .unwrap_or_default(),
                    ],
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::pdf::tests::sample_report;

    /// A minimal RFC 4180 reader, to check that quoting reads back.
    fn parse_csv(s: &str) -> Vec<Vec<String>> {
        let mut rows = vec![];
        let mut row = vec![];
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    c => field.push(c),
                }
            } else {
                match c {
                    '"' => quoted = true,
                    ',' => row.push(std::mem::take(&mut field)),
                    '\r' => {
                        assert_eq!(chars.next(), Some('\n'), "CR without LF");
                        row.push(std::mem::take(&mut field));
                        rows.push(std::mem::take(&mut row));
                    }
                    '\n' => panic!("bare LF outside quotes"),
                    c => field.push(c),
                }
            }
        }
        assert!(
            field.is_empty() && row.is_empty(),
            "last line must end in CRLF"
        );
        rows
    }

    #[test]
    fn quoting() {
        assert_eq!(csv_field("plain"), "plain");
        // Cells a spreadsheet would run are shown as text; numbers stay numbers.
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1+1"), "'+1+1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("-4.5"), "-4.5");
        assert_eq!(csv_field("+7"), "+7");
        assert_eq!(csv_field("a=b"), "a=b");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("cr\r\nlf"), "\"cr\r\nlf\"");
        assert_eq!(csv_field(" pad"), "\" pad\"");
        assert_eq!(csv_field("ä;ö"), "ä;ö");
    }

    #[test]
    fn numbers() {
        assert_eq!(num(Some(4.8)), "4.8");
        assert_eq!(num(Some(43.0)), "43");
        assert_eq!(num(Some(-0.0)), "0");
        assert_eq!(num(Some(31746.5)), "31746.5");
        assert_eq!(num(Some(f64::NAN)), "");
        assert_eq!(num(None), "");
    }

    #[test]
    fn csv_rows() {
        let mut report = sample_report();
        // Hostile text in a goal title and an indicator name.
        report.chapters[0].goals[0].title.fi = Some("Tavoite, \"lainattu\"\nrivi".into());
        let csv = to_csv(&report, Lang::Fi);
        assert!(csv.ends_with("\r\n"));
        let rows = parse_csv(&csv);
        assert_eq!(rows[0], CSV_HEADER.map(str::to_owned).to_vec());
        assert!(rows.iter().all(|r| r.len() == CSV_HEADER.len()));
        let indicators: usize = report.indicators().count();
        let figures: usize = report
            .chapters
            .iter()
            .flat_map(|c| &c.sections)
            .map(|s| s.figures.len())
            .sum();
        assert_eq!(rows.len(), 1 + indicators + figures);
        let first = &rows[1];
        assert_eq!(first[0], report.chapters[0].org_code);
        assert_eq!(first[1], "Asiakas- ja resurssikeskus");
        assert_eq!(first[2], "indicator");
        assert_eq!(first[4], "Tavoite, \"lainattu\"\nrivi");
        let sick = rows.iter().find(|r| r[5].starts_with("Poissaolo")).unwrap();
        assert_eq!(
            (sick[7].as_str(), sick[8].as_str(), sick[10].as_str()),
            ("5", "4.8", "3.7")
        );
        assert_eq!(sick[11], "2024H1");
        assert_eq!(sick[13], "met");
        let fig = rows.iter().find(|r| r[2] == "figure").unwrap();
        assert_eq!(fig[3], "personnel");
        assert_eq!(fig[5], "Henkilöstömäärä");
        assert_eq!((fig[10].as_str(), fig[12].as_str()), ("120", "118"));
        // Swedish names, falling back to Finnish where Swedish is missing.
        let sv = parse_csv(&to_csv(&report, Lang::Sv));
        assert_eq!(sv[1][1], "Kund- och resurscenter");
        assert!(sv.iter().any(|r| r[5] == "Antal anställda"));
    }

    #[test]
    fn json_round_trip() {
        let report = sample_report();
        let json = to_json(&report);
        assert!(json.contains("\n  \"org_code\""), "pretty");
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
