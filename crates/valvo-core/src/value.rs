//! Value kinds: what an indicator's figure is (a number, a count, a
//! percentage, a duration, a ratio of two parts, money, or a written
//! observation), how people type it and how it is printed in each language.
//!
//! Every kind keeps one comparable number ([`Figure::value`]) that the status
//! rules compare with the baseline and target like any number: a duration in
//! seconds, a percentage as `90` for 90 %, money in euros, and a ratio as the
//! share of its first part in the whole, in per cent (`192/469` is 192 own
//! and 469 outside shifts: 29 % own). A ratio keeps both parts, a text its
//! words.

use serde::{Deserialize, Serialize};

use crate::plan::{parse_number, ErrorCode, MAX_ABS_VALUE, MAX_TEXT};
use crate::status::format_number;
use crate::text::Lang;

/// What an indicator's figure is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Any number (`13,4`).
    #[default]
    Number,
    /// A whole number not below zero (`1 025`).
    Count,
    /// A percentage (`90 %`).
    Percent,
    /// A duration, typed `h:mm:ss` or `mm:ss` (`0:13:25`), kept in seconds.
    Duration,
    /// Two parts of a whole (`192/469`), with the first part's share.
    Ratio,
    /// Euros (`1 234,50 €`).
    Money,
    /// A written observation without a figure.
    Text,
}

impl ValueKind {
    /// Every kind, in the order forms offer them.
    pub const ALL: [ValueKind; 7] = [
        ValueKind::Number,
        ValueKind::Count,
        ValueKind::Percent,
        ValueKind::Duration,
        ValueKind::Ratio,
        ValueKind::Money,
        ValueKind::Text,
    ];

    /// Stable code: `number`, `count`, `percent`, `duration`, `ratio`, `money`, `text`.
    pub fn code(self) -> &'static str {
        match self {
            ValueKind::Number => "number",
            ValueKind::Count => "count",
            ValueKind::Percent => "percent",
            ValueKind::Duration => "duration",
            ValueKind::Ratio => "ratio",
            ValueKind::Money => "money",
            ValueKind::Text => "text",
        }
    }

    /// Parses a [`code`](Self::code) (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| s.eq_ignore_ascii_case(k.code()))
    }

    /// Whether figures of this kind are numbers compared with a target.
    pub fn has_number(self) -> bool {
        self != ValueKind::Text
    }

    /// Whether the kind prints its own unit (`%`, `€`, `h:mm:ss`, the
    /// parts): the indicator's free-text unit is then not printed beside it.
    pub fn carries_unit(self) -> bool {
        matches!(
            self,
            ValueKind::Percent | ValueKind::Duration | ValueKind::Ratio | ValueKind::Money
        )
    }

    /// What a person is asked to type, in English (the command line, the
    /// API and import errors); pages say it in their language.
    pub fn expected(self) -> &'static str {
        match self {
            ValueKind::Number => "a number such as 13,4 or 1 025",
            ValueKind::Count => "a whole number such as 1 025",
            ValueKind::Percent => "a percentage such as 90 %, 90% or 90",
            ValueKind::Duration => "a duration h:mm:ss or mm:ss such as 0:13:25",
            ValueKind::Ratio => "two parts such as 192/469",
            ValueKind::Money => "an amount in euros such as 1 234,50 or 1 234,50 €",
            ValueKind::Text => "a text",
        }
    }

    /// The error code for input that is not of this kind.
    fn wrong(self) -> ErrorCode {
        match self {
            ValueKind::Duration => ErrorCode::NotADuration,
            ValueKind::Ratio => ErrorCode::NotARatio,
            ValueKind::Count => ErrorCode::NotACount,
            _ => ErrorCode::NotANumber,
        }
    }

    /// Reads what a person typed for a figure of this kind. Blank input is
    /// `Ok(None)`. Accepts a decimal comma or point and spaces between
    /// thousands everywhere; `%` after a percentage; `€` or `EUR` before or
    /// after money; `h:mm:ss` or `mm:ss` (or `m:ss`) for a duration;
    /// `a/b` for a ratio (parts not below zero, not both zero). Anything else
    /// is the kind's error code (`not_a_number`, `not_a_count`,
    /// `not_a_duration`, `not_a_ratio`) or `out_of_range`.
    pub fn parse_figure(self, input: &str) -> Result<Option<Figure>, ErrorCode> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        match self {
            ValueKind::Text => {
                if s.chars().count() > MAX_TEXT {
                    return Err(ErrorCode::TooLong);
                }
                Ok(Some(Figure::text(s)))
            }
            ValueKind::Ratio => {
                let (a, b) = s.split_once('/').ok_or(ErrorCode::NotARatio)?;
                let part = |p: &str| match parse_number(p) {
                    Ok(Some(v)) if v >= 0.0 => Ok(v),
                    Ok(_) => Err(ErrorCode::NotARatio),
                    Err(ErrorCode::OutOfRange) => Err(ErrorCode::OutOfRange),
                    Err(_) => Err(ErrorCode::NotARatio),
                };
                let (a, b) = (part(a)?, part(b)?);
                Figure::ratio(a, b).map(Some)
            }
            _ => self.parse_number(s).map(|v| v.map(Figure::number)),
        }
    }

    /// Reads a number of this kind: a figure, a baseline or a target. A
    /// ratio's baseline and target are its first part's share (`29 %` or
    /// `29`); a text has none (`not_a_number`).
    pub fn parse_number(self, input: &str) -> Result<Option<f64>, ErrorCode> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let plain = |s: &str| match parse_number(s) {
            Err(ErrorCode::OutOfRange) => Err(ErrorCode::OutOfRange),
            Err(_) => Err(self.wrong()),
            Ok(v) => Ok(v),
        };
        match self {
            ValueKind::Number => plain(s),
            ValueKind::Count => {
                let v = plain(s)?;
                match v {
                    Some(x) if x < 0.0 || x.fract() != 0.0 => Err(ErrorCode::NotACount),
                    v => Ok(v),
                }
            }
            ValueKind::Percent | ValueKind::Ratio => {
                let s = s.strip_suffix('%').map(str::trim_end).unwrap_or(s);
                if s.is_empty() {
                    return Err(self.wrong());
                }
                plain(s)
            }
            ValueKind::Money => {
                // `-€5`, as English prints a negative amount.
                let signed;
                let mut s = match s.strip_prefix("-€") {
                    Some(rest) => {
                        signed = format!("-{}", rest.trim_start());
                        signed.as_str()
                    }
                    None => s,
                };
                for sym in ["€", "EUR", "eur"] {
                    if let Some(r) = s.strip_suffix(sym) {
                        s = r.trim_end();
                    } else if let Some(r) = s.strip_prefix(sym) {
                        s = r.trim_start();
                    }
                }
                if s.is_empty() {
                    return Err(ErrorCode::NotANumber);
                }
                plain(s)
            }
            ValueKind::Duration => parse_duration(s).map(Some),
            ValueKind::Text => Err(ErrorCode::NotANumber),
        }
    }

    /// Checks a comparable number given as a number (the API's raw JSON
    /// number): finite and in range, a whole number not below zero for a
    /// count, not below zero for a duration; a ratio needs its parts and a
    /// text its words, so neither takes a bare number.
    pub fn check_number(self, v: f64) -> Result<f64, ErrorCode> {
        if !v.is_finite() {
            return Err(ErrorCode::NotANumber);
        }
        if v.abs() > MAX_ABS_VALUE {
            return Err(ErrorCode::OutOfRange);
        }
        match self {
            ValueKind::Count if v < 0.0 || v.fract() != 0.0 => Err(ErrorCode::NotACount),
            ValueKind::Duration if v < 0.0 => Err(ErrorCode::NotADuration),
            ValueKind::Ratio => Err(ErrorCode::NotARatio),
            // An observation is words: a number is not one.
            ValueKind::Text => Err(ErrorCode::Invalid),
            _ => Ok(v + 0.0),
        }
    }

    /// Prints a comparable number of this kind (a baseline, a target, a
    /// figure without parts): `13,4`, `1 025`, `90 %`, `0:13:25`, `29 %`,
    /// `1 234,50 €` in Finnish and Swedish; `90%`, `€1,234.50` in English.
    pub fn format(self, v: f64, lang: Lang) -> String {
        if !v.is_finite() {
            return "\u{2013}".to_owned();
        }
        match self {
            ValueKind::Number | ValueKind::Text => format_number(v, lang),
            ValueKind::Count => format_number(v.round(), lang),
            ValueKind::Percent => percent(v, lang, false),
            ValueKind::Ratio => percent(v, lang, true),
            ValueKind::Duration => format_duration(v),
            ValueKind::Money => money(v, lang),
        }
    }

    /// Prints a figure: as [`format`](Self::format), a ratio with its parts
    /// and its first part's share (`192/469 (29 %)`), a text as written.
    pub fn format_figure(self, f: &Figure, lang: Lang) -> String {
        if let Some(t) = &f.text {
            return t.clone();
        }
        match (self, f.parts, f.value) {
            (ValueKind::Ratio, Some((a, b)), Some(v)) => format!(
                "{}/{} ({})",
                format_number(a, lang),
                format_number(b, lang),
                percent(v, lang, true)
            ),
            (_, _, Some(v)) => self.format(v, lang),
            _ => "\u{2013}".to_owned(),
        }
    }

    /// A short form of a figure, for the previous period in brackets: a
    /// ratio's parts without the share (`180/400`).
    pub fn format_short(self, f: &Figure, lang: Lang) -> String {
        match (self, f.parts) {
            (ValueKind::Ratio, Some((a, b))) => {
                format!("{}/{}", format_number(a, lang), format_number(b, lang))
            }
            _ => self.format_figure(f, lang),
        }
    }

    /// What a form shows in its field for a figure, as it would be typed
    /// back: `13,4`, `90`, `0:13:25`, `192/469`, `1234,5`, the text.
    pub fn input_text(self, f: &Figure, lang: Lang) -> String {
        if let Some(t) = &f.text {
            return t.clone();
        }
        // Exactly as kept (no rounding: saving the form again must not
        // change it), without thousands separators: what one types.
        let plain = |v: f64| {
            let s = format!("{}", v + 0.0);
            match lang {
                Lang::En => s,
                Lang::Fi | Lang::Sv => s.replace('.', ","),
            }
        };
        match (self, f.parts, f.value) {
            (ValueKind::Ratio, Some((a, b)), _) => format!("{}/{}", plain(a), plain(b)),
            (ValueKind::Duration, _, Some(v)) => format_duration(v),
            (_, _, Some(v)) => plain(v),
            _ => String::new(),
        }
    }

    /// What a form shows for a baseline or target of this kind.
    pub fn input_number(self, v: f64, lang: Lang) -> String {
        self.input_text(&Figure::number(v), lang)
    }
}

/// A figure with the previous period's in brackets, as the seeds print it:
/// `1,87 (2,11)`, `0:13:25 (0:15:02)`, `192/469 (29 %) (180/400)`; `–`
/// without a figure, no brackets without a previous one.
pub fn format_with_previous(
    kind: ValueKind,
    current: Option<&Figure>,
    previous: Option<&Figure>,
    lang: Lang,
) -> String {
    let mut out = match current.filter(|f| !f.is_empty()) {
        Some(f) => kind.format_figure(f, lang),
        None => "\u{2013}".to_owned(),
    };
    if let Some(p) = previous.filter(|f| !f.is_empty()) {
        out.push_str(&format!(" ({})", kind.format_short(p, lang)));
    }
    out
}

impl std::fmt::Display for ValueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A figure as kept: the comparable number, and for a ratio its two parts,
/// for a text its words.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The number compared with targets (none for a text).
    pub value: Option<f64>,
    /// A ratio's two parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<(f64, f64)>,
    /// A written observation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Figure {
    /// A plain number.
    pub fn number(v: f64) -> Figure {
        Figure {
            value: Some(v + 0.0),
            parts: None,
            text: None,
        }
    }

    /// A ratio of two parts not below zero, not both zero; its value is the
    /// first part's share of the whole in per cent.
    pub fn ratio(a: f64, b: f64) -> Result<Figure, ErrorCode> {
        if !(a.is_finite() && b.is_finite()) || a < 0.0 || b < 0.0 {
            return Err(ErrorCode::NotARatio);
        }
        if a > MAX_ABS_VALUE || b > MAX_ABS_VALUE {
            return Err(ErrorCode::OutOfRange);
        }
        if a + b == 0.0 {
            return Err(ErrorCode::NotARatio);
        }
        Ok(Figure {
            value: Some(a / (a + b) * 100.0),
            parts: Some((a + 0.0, b + 0.0)),
            text: None,
        })
    }

    /// A written observation.
    pub fn text(t: &str) -> Figure {
        Figure {
            value: None,
            parts: None,
            text: Some(t.trim().to_owned()),
        }
    }

    /// Whether nothing is there.
    pub fn is_empty(&self) -> bool {
        self.value.is_none() && self.text.is_none()
    }
}

/// `h:mm:ss`, `mm:ss` or `m:ss` in seconds; minutes and seconds 0–59 after
/// the first field, whole numbers only.
pub fn parse_duration(s: &str) -> Result<f64, ErrorCode> {
    let fields: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&fields.len()) {
        return Err(ErrorCode::NotADuration);
    }
    let mut total: u64 = 0;
    for (i, f) in fields.iter().enumerate() {
        let f = f.trim();
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ErrorCode::NotADuration);
        }
        let n: u64 = f.parse().map_err(|_| ErrorCode::NotADuration)?;
        if i > 0 && (n > 59 || f.len() != 2) {
            return Err(ErrorCode::NotADuration);
        }
        total = total * 60 + n;
    }
    let v = total as f64;
    if v > MAX_ABS_VALUE {
        return Err(ErrorCode::OutOfRange);
    }
    Ok(v)
}

/// Seconds as `h:mm:ss` (hours can pass 24): `0:13:25`, `5:51:11`.
pub fn format_duration(seconds: f64) -> String {
    let negative = seconds < 0.0;
    let total = seconds.abs().round() as u64;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    format!("{}{h}:{m:02}:{s:02}", if negative { "-" } else { "" })
}

fn percent(v: f64, lang: Lang, whole: bool) -> String {
    let n = format_number(if whole { v.round() } else { v }, lang);
    match lang {
        Lang::Fi | Lang::Sv => format!("{n}\u{a0}%"),
        Lang::En => format!("{n}%"),
    }
}

fn money(v: f64, lang: Lang) -> String {
    let cents = (v * 100.0).round();
    let n = if cents % 100.0 == 0.0 {
        format_number(cents / 100.0, lang)
    } else {
        // Always two decimals once there are cents: 1 234,50 €.
        let s = format_number(cents / 100.0, lang);
        let sep = if lang == Lang::En { '.' } else { ',' };
        match s.split_once(sep) {
            Some((_, frac)) if frac.len() == 1 => format!("{s}0"),
            _ => s,
        }
    };
    match lang {
        Lang::Fi | Lang::Sv => format!("{n}\u{a0}€"),
        Lang::En => match n.strip_prefix('-') {
            Some(abs) => format!("-€{abs}"),
            None => format!("€{n}"),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn fig(kind: ValueKind, s: &str) -> Figure {
        kind.parse_figure(s).unwrap().unwrap()
    }

    #[test]
    fn what_people_type_is_read() {
        use ValueKind::*;
        assert_eq!(fig(Number, "13,4").value, Some(13.4));
        assert_eq!(fig(Number, "1 025").value, Some(1025.0));
        assert_eq!(fig(Count, "1 025").value, Some(1025.0));
        for s in ["90%", "90 %", "90", " 90\u{a0}% ", "90,0 %"] {
            assert_eq!(fig(Percent, s).value, Some(90.0), "{s}");
        }
        assert_eq!(fig(Duration, "0:13:25").value, Some(805.0));
        assert_eq!(fig(Duration, "5:51:11").value, Some(21071.0));
        assert_eq!(fig(Duration, "13:25").value, Some(805.0));
        assert_eq!(fig(Duration, "26:00:00").value, Some(93600.0));
        let r = fig(Ratio, "192/469");
        assert_eq!(r.parts, Some((192.0, 469.0)));
        assert!((r.value.unwrap() - 29.046_898_638).abs() < 1e-6);
        assert_eq!(fig(Ratio, " 192 / 469 ").parts, Some((192.0, 469.0)));
        for s in ["1 234,50", "1 234,50 €", "€1234.5", "1234,5 EUR"] {
            assert_eq!(fig(Money, s).value, Some(1234.5), "{s}");
        }
        assert_eq!(
            fig(Text, " Jonot lyhenivät. ").text.as_deref(),
            Some("Jonot lyhenivät.")
        );
        assert_eq!(Number.parse_figure("  "), Ok(None));
    }

    #[test]
    fn anything_else_is_refused_with_the_kinds_error() {
        use ValueKind::*;
        let err = |k: ValueKind, s: &str| k.parse_figure(s).unwrap_err();
        assert_eq!(err(Number, "13,4 (h:min:s)"), ErrorCode::NotANumber);
        assert_eq!(err(Number, "0:13:25"), ErrorCode::NotANumber);
        assert_eq!(err(Count, "1,5"), ErrorCode::NotACount);
        assert_eq!(err(Count, "-3"), ErrorCode::NotACount);
        assert_eq!(err(Percent, "%"), ErrorCode::NotANumber);
        assert_eq!(err(Percent, "90 %%"), ErrorCode::NotANumber);
        assert_eq!(err(Duration, "13,4"), ErrorCode::NotADuration);
        assert_eq!(err(Duration, "0:60:00"), ErrorCode::NotADuration);
        assert_eq!(err(Duration, "0:1:00"), ErrorCode::NotADuration);
        assert_eq!(err(Duration, "1:2:3:4"), ErrorCode::NotADuration);
        assert_eq!(err(Ratio, "192"), ErrorCode::NotARatio);
        assert_eq!(err(Ratio, "0/0"), ErrorCode::NotARatio);
        assert_eq!(err(Ratio, "-1/4"), ErrorCode::NotARatio);
        assert_eq!(err(Ratio, "a/4"), ErrorCode::NotARatio);
        assert_eq!(err(Money, "12 €€"), ErrorCode::NotANumber);
        assert_eq!(err(Number, "1e400"), ErrorCode::NotANumber);
        assert_eq!(err(Number, "2000000000000"), ErrorCode::OutOfRange);
    }

    #[test]
    fn figures_print_as_the_seeds_print_them() {
        use ValueKind::*;
        let fi = Lang::Fi;
        assert_eq!(Number.format(13.4, fi), "13,4");
        assert_eq!(Count.format(1025.0, Lang::Sv), "1\u{a0}025");
        assert_eq!(Percent.format(90.0, fi), "90\u{a0}%");
        assert_eq!(Percent.format(90.0, Lang::En), "90%");
        assert_eq!(Duration.format(805.0, fi), "0:13:25");
        assert_eq!(Duration.format(21071.0, Lang::Sv), "5:51:11");
        assert_eq!(
            Ratio.format_figure(&fig(Ratio, "192/469"), Lang::Sv),
            "192/469 (29\u{a0}%)"
        );
        assert_eq!(
            Ratio.format_short(&fig(Ratio, "192/469"), Lang::Sv),
            "192/469"
        );
        assert_eq!(Money.format(1234.5, fi), "1\u{a0}234,50\u{a0}€");
        assert_eq!(Money.format(1234.0, fi), "1\u{a0}234\u{a0}€");
        assert_eq!(Money.format(1234.5, Lang::En), "€1,234.50");
        assert_eq!(Money.format(-5.0, Lang::En), "-€5");
        assert_eq!(Text.format_figure(&Figure::text("Hyvä."), fi), "Hyvä.");
    }

    #[test]
    fn a_form_shows_what_can_be_typed_back() {
        use ValueKind::*;
        for (kind, typed) in [
            (Number, "1234,5"),
            (Count, "1025"),
            (Percent, "90"),
            (Duration, "0:13:25"),
            (Ratio, "192/469"),
            (Money, "1234,5"),
            (Text, "Jonot."),
        ] {
            let f = fig(kind, typed);
            assert_eq!(kind.input_text(&f, Lang::Fi), typed, "{kind}");
            // Nothing rounded away: the form gives back what is kept.
            let exact = Figure::number(1.875);
            assert_eq!(ValueKind::Number.input_text(&exact, Lang::Sv), "1,875");
            assert_eq!(
                kind.parse_figure(&kind.input_text(&f, Lang::En))
                    .unwrap()
                    .unwrap(),
                f,
                "{kind}"
            );
        }
    }

    proptest! {
        #[test]
        fn printed_figures_read_back(secs in 0u64..1_000_000, a in 0u32..100_000, b in 1u32..100_000, cents in -10_000_000i64..10_000_000) {
            for lang in Lang::ALL {
                let d = ValueKind::Duration.format(secs as f64, lang);
                prop_assert_eq!(ValueKind::Duration.parse_figure(&d).unwrap().unwrap().value, Some(secs as f64));
                let r = Figure::ratio(a.into(), b.into()).unwrap();
                let typed = ValueKind::Ratio.format_short(&r, lang).replace(',', "");
                prop_assert_eq!(ValueKind::Ratio.parse_figure(&typed).unwrap().unwrap(), r.clone());
                let m = ValueKind::Money.format(cents as f64 / 100.0, lang);
                let back = ValueKind::Money.parse_figure(&m.replace(',', if lang == Lang::En { "" } else { "," })).unwrap().unwrap().value.unwrap();
                prop_assert!((back - cents as f64 / 100.0).abs() < 1e-9, "{} -> {}", m, back);
            }
        }
    }
}
