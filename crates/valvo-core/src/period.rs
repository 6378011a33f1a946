//! Reporting periods: months, quarters, tertials, halves and years.
//!
//! Text forms: month `2024-03`, quarter `2024Q1`, tertial `2024T1`
//! (four months: T1 = Jan–Apr, T2 = May–Aug, T3 = Sep–Dec), half `2024H1`,
//! year `2024`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Duration, Month};

/// Smallest supported year.
pub const MIN_PERIOD_YEAR: i32 = 1900;

/// A date as Finnish and Swedish texts print it: `1.12.2026`.
pub fn format_date(d: Date) -> String {
    format!("{}.{}.{}", d.day(), u8::from(d.month()), d.year())
}

/// `t` in Finnish time (Europe/Helsinki): UTC+2, and UTC+3 (summer time)
/// from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
/// Sunday of October, the EU's rule since 1996. Worked out here, without a
/// time-zone database.
pub fn finnish_time(t: time::OffsetDateTime) -> time::OffsetDateTime {
    let utc = t.to_offset(time::UtcOffset::UTC);
    // 01:00 UTC of the month's last Sunday (`None` only past the calendar's end).
    let last_sunday = |month: time::Month| {
        let mut d = Date::from_calendar_date(utc.year(), month, month.length(utc.year())).ok()?;
        while d.weekday() != time::Weekday::Sunday {
            d = d.previous_day()?;
        }
        Some(d.with_hms(1, 0, 0).ok()?.assume_utc())
    };
    let summer = match (
        last_sunday(time::Month::March),
        last_sunday(time::Month::October),
    ) {
        (Some(start), Some(end)) => utc >= start && utc < end,
        _ => false,
    };
    let offset = if summer {
        time::macros::offset!(+3)
    } else {
        time::macros::offset!(+2)
    };
    utc.to_offset(offset)
}

/// The day of a stored time (RFC 3339) in Finnish time: `6.12.2026` in
/// Finnish and Swedish, `2026-12-06` in English (a time late on 5.12. UTC
/// is already the 6th in Finland). A text that is no time is given back.
pub fn format_day(rfc3339: &str, lang: crate::Lang) -> String {
    let Ok(t) =
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
    else {
        return rfc3339.to_owned();
    };
    let d = finnish_time(t).date();
    match lang {
        crate::Lang::Fi | crate::Lang::Sv => format_date(d),
        crate::Lang::En => d.to_string(),
    }
}

/// A stored time (RFC 3339) for people, in Finnish time: `5.12.2026 23:30`
/// in Finnish and Swedish, `2026-12-05 23:30` in English. A text that is no
/// time is given back as it is.
pub fn format_time(rfc3339: &str, lang: crate::Lang) -> String {
    let Ok(t) =
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
    else {
        return rfc3339.to_owned();
    };
    let t = finnish_time(t);
    match lang {
        crate::Lang::Fi | crate::Lang::Sv => {
            format!(
                "{} {:02}:{:02}",
                format_date(t.date()),
                t.hour(),
                t.minute()
            )
        }
        crate::Lang::En => format!(
            "{}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
    }
}

/// Largest supported year.
pub const MAX_PERIOD_YEAR: i32 = 2999;

/// The length of a reporting period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// A calendar month.
    Month,
    /// Three months.
    Quarter,
    /// Four months (tertial).
    Tertial,
    /// Six months.
    Half,
    /// A calendar year.
    Year,
}

impl PeriodKind {
    /// All kinds, shortest first.
    pub const ALL: [PeriodKind; 5] = [
        PeriodKind::Month,
        PeriodKind::Quarter,
        PeriodKind::Tertial,
        PeriodKind::Half,
        PeriodKind::Year,
    ];

    /// Stable code: `"month"`, `"quarter"`, `"tertial"`, `"half"`, `"year"`.
    pub fn code(self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Tertial => "tertial",
            PeriodKind::Half => "half",
            PeriodKind::Year => "year",
        }
    }

    /// Parses a [`code`](PeriodKind::code) (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| s.eq_ignore_ascii_case(k.code()))
    }

    /// Number of months in one period: 1, 3, 4, 6 or 12.
    pub fn months(self) -> u8 {
        match self {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Tertial => 4,
            PeriodKind::Half => 6,
            PeriodKind::Year => 12,
        }
    }

    /// Number of periods of this kind in a year: 12, 4, 3, 2 or 1.
    pub fn count_per_year(self) -> u8 {
        12 / self.months()
    }

    fn letter(self) -> Option<char> {
        match self {
            PeriodKind::Quarter => Some('Q'),
            PeriodKind::Tertial => Some('T'),
            PeriodKind::Half => Some('H'),
            PeriodKind::Month | PeriodKind::Year => None,
        }
    }
}

impl fmt::Display for PeriodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a period could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// The text is not in any period format (also used by [`Period::range`]
    /// for ends of different kinds).
    #[error("invalid period syntax")]
    Syntax,
    /// The year is outside 1900..=2999.
    #[error("year out of range")]
    Year,
    /// The index (month, quarter, …) is outside its range.
    #[error("index out of range")]
    Index,
}

/// A reporting period of a given kind, e.g. `2024Q1`.
///
/// Every `Period` value is valid: its year is within 1900..=2999 and its
/// 1-based index within `1..=kind.count_per_year()`.
///
/// The derived `Ord` sorts by year, then by kind (month < quarter < tertial
/// < half < year), then by index. Within one kind this is chronological;
/// across kinds use [`Period::cmp_chronological`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    kind: PeriodKind,
    index: u8,
}

/// Builds a date, falling back to `Date::MIN` for impossible input (never
/// reached for valid periods).
fn ymd(year: i32, month: u8, day: u8) -> Date {
    Month::try_from(month)
        .ok()
        .and_then(|m| Date::from_calendar_date(year, m, day).ok())
        .unwrap_or(Date::MIN)
}

/// Parses exactly `n` ASCII digits.
fn digits(s: &str, n: usize) -> Result<u32, PeriodError> {
    if s.len() != n || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PeriodError::Syntax);
    }
    s.parse::<u32>().map_err(|_| PeriodError::Syntax)
}

impl Period {
    /// Builds a period, checking the year (1900..=2999) and 1-based index.
    pub fn new(year: i32, kind: PeriodKind, index: u8) -> Result<Period, PeriodError> {
        if !(MIN_PERIOD_YEAR..=MAX_PERIOD_YEAR).contains(&year) {
            return Err(PeriodError::Year);
        }
        if index < 1 || index > kind.count_per_year() {
            return Err(PeriodError::Index);
        }
        Ok(Period { year, kind, index })
    }

    /// A month, `m` in 1..=12.
    pub fn month(year: i32, m: u8) -> Result<Period, PeriodError> {
        Self::new(year, PeriodKind::Month, m)
    }

    /// A quarter, `q` in 1..=4.
    pub fn quarter(year: i32, q: u8) -> Result<Period, PeriodError> {
        Self::new(year, PeriodKind::Quarter, q)
    }

    /// A tertial (four months), `t` in 1..=3.
    pub fn tertial(year: i32, t: u8) -> Result<Period, PeriodError> {
        Self::new(year, PeriodKind::Tertial, t)
    }

    /// A half year, `h` in 1..=2.
    pub fn half(year: i32, h: u8) -> Result<Period, PeriodError> {
        Self::new(year, PeriodKind::Half, h)
    }

    /// A calendar year.
    pub fn year(year: i32) -> Result<Period, PeriodError> {
        Self::new(year, PeriodKind::Year, 1)
    }

    /// The calendar year. (The method form `p.year()` is provided by the
    /// [`PeriodYear`] trait, because `Period::year(y)` is the constructor.)
    pub fn year_number(&self) -> i32 {
        self.year
    }

    /// Parses the text form; same as [`str::parse`].
    pub fn parse(s: &str) -> Result<Period, PeriodError> {
        s.parse()
    }

    /// The kind of period.
    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    /// The 1-based index within the year (always 1 for years).
    pub fn index(&self) -> u8 {
        self.index
    }

    /// First calendar month (1..=12).
    pub fn first_month(&self) -> u8 {
        (self.index - 1) * self.kind.months() + 1
    }

    /// Last calendar month (1..=12).
    pub fn last_month(&self) -> u8 {
        self.index * self.kind.months()
    }

    /// Months since year 0, for containment checks.
    fn abs_month(year: i32, month: u8) -> i64 {
        i64::from(year) * 12 + i64::from(month) - 1
    }

    /// The first day.
    pub fn start(&self) -> Date {
        ymd(self.year, self.first_month(), 1)
    }

    /// The last day (inclusive).
    pub fn end(&self) -> Date {
        let m = self.last_month();
        let len = Month::try_from(m)
            .map(|mm| mm.length(self.year))
            .unwrap_or(28);
        ymd(self.year, m, len)
    }

    /// The previous period of the same kind (`None` before 1900).
    pub fn prev(&self) -> Option<Period> {
        if self.index > 1 {
            Some(Period {
                index: self.index - 1,
                ..*self
            })
        } else {
            Period::new(self.year - 1, self.kind, self.kind.count_per_year()).ok()
        }
    }

    /// The next period of the same kind (`None` after 2999).
    pub fn next(&self) -> Option<Period> {
        if self.index < self.kind.count_per_year() {
            Some(Period {
                index: self.index + 1,
                ..*self
            })
        } else {
            Period::new(self.year + 1, self.kind, 1).ok()
        }
    }

    /// True when every month of `other` lies within `self`. A period
    /// contains itself; a month lies in its quarter, tertial, half and year.
    pub fn contains(&self, other: &Period) -> bool {
        let (s0, s1) = (
            Self::abs_month(self.year, self.first_month()),
            Self::abs_month(self.year, self.last_month()),
        );
        let (o0, o1) = (
            Self::abs_month(other.year, other.first_month()),
            Self::abs_month(other.year, other.last_month()),
        );
        s0 <= o0 && o1 <= s1
    }

    /// True when `date` falls within the period.
    pub fn contains_date(&self, date: Date) -> bool {
        self.start() <= date && date <= self.end()
    }

    /// The period of `kind` containing `date`.
    ///
    /// Dates outside the supported years 1900..=2999 are clamped to the
    /// first or last period of that range; use [`Period::try_containing`]
    /// to get an error instead.
    pub fn containing(date: Date, kind: PeriodKind) -> Period {
        match Self::try_containing(date, kind) {
            Ok(p) => p,
            Err(_) if date.year() < MIN_PERIOD_YEAR => Period {
                year: MIN_PERIOD_YEAR,
                kind,
                index: 1,
            },
            Err(_) => Period {
                year: MAX_PERIOD_YEAR,
                kind,
                index: kind.count_per_year(),
            },
        }
    }

    /// The period of `kind` containing `date`, or [`PeriodError::Year`] if
    /// the year is unsupported.
    pub fn try_containing(date: Date, kind: PeriodKind) -> Result<Period, PeriodError> {
        let m = u8::from(date.month());
        Period::new(date.year(), kind, (m - 1) / kind.months() + 1)
    }

    /// The periods of `kind` that [`contains`](Period::contains) holds for,
    /// in order. Empty when none fit (e.g. quarters in `2024T2`); note that
    /// they need not tile `self` (quarters in `2024T1` are just `2024Q1`).
    pub fn sub_periods(&self, kind: PeriodKind) -> Vec<Period> {
        (1..=kind.count_per_year())
            .map(|index| Period {
                year: self.year,
                kind,
                index,
            })
            .filter(|p| self.contains(p))
            .collect()
    }

    /// All periods from `from` to `to`, inclusive; empty when `to < from`.
    /// Both ends must be of the same kind ([`PeriodError::Syntax`] otherwise).
    pub fn range(from: Period, to: Period) -> Result<Vec<Period>, PeriodError> {
        if from.kind != to.kind {
            return Err(PeriodError::Syntax);
        }
        Ok(from.iter_from().take_while(|p| *p <= to).collect())
    }

    /// An iterator over this period and the following ones of the same kind.
    pub fn iter_from(self) -> PeriodIter {
        PeriodIter { next: Some(self) }
    }

    /// True when `today` is after the last day of the period.
    pub fn has_ended(&self, today: Date) -> bool {
        today > self.end()
    }

    /// A label for humans: `3/2024` for a month, `1–6/2024` (en dash) for
    /// quarters, tertials and halves, `2024` for a year.
    pub fn label(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{}/{}", self.index, self.year),
            PeriodKind::Year => self.year.to_string(),
            _ => format!(
                "{}\u{2013}{}/{}",
                self.first_month(),
                self.last_month(),
                self.year
            ),
        }
    }

    /// Chronological order across kinds: by first day, then by last day
    /// (so `2024-01` < `2024Q1` < `2024T1` < `2024H1` < `2024`).
    pub fn cmp_chronological(&self, other: &Period) -> Ordering {
        let a = (
            Self::abs_month(self.year, self.first_month()),
            Self::abs_month(self.year, self.last_month()),
        );
        let b = (
            Self::abs_month(other.year, other.first_month()),
            Self::abs_month(other.year, other.last_month()),
        );
        a.cmp(&b).then_with(|| self.cmp(other))
    }

    /// The number of days in the period.
    pub fn days(&self) -> i64 {
        (self.end() - self.start()).whole_days() + 1
    }
}

/// The accessor `period.year()`.
///
/// An inherent method cannot share the name of the constructor
/// [`Period::year`], so the accessor lives in this trait; bring it into
/// scope with `use valvo_core::PeriodYear;`.
pub trait PeriodYear {
    /// The calendar year of the period.
    fn year(&self) -> i32;
}

impl PeriodYear for Period {
    fn year(&self) -> i32 {
        self.year
    }
}

/// Convenience: the day after `d` (saturating at `Date::MAX`).
pub fn day_after(d: Date) -> Date {
    d.checked_add(Duration::days(1)).unwrap_or(Date::MAX)
}

/// Iterator returned by [`Period::iter_from`]; ends after year 2999.
#[derive(Clone, Debug)]
pub struct PeriodIter {
    next: Option<Period>,
}

impl Iterator for PeriodIter {
    type Item = Period;

    fn next(&mut self) -> Option<Period> {
        let cur = self.next?;
        self.next = cur.next();
        Some(cur)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Month => write!(f, "{:04}-{:02}", self.year, self.index),
            PeriodKind::Year => write!(f, "{:04}", self.year),
            k => {
                let letter = k.letter().unwrap_or('?');
                write!(f, "{:04}{}{}", self.year, letter, self.index)
            }
        }
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    /// Parses a code (`2024-03`, `2024Q1`, `2024T3`, `2024H1`, `2024`) or
    /// the label Valvo prints ([`Period::label`]: `3/2024`, `9–12/2023`
    /// with an en dash or a hyphen, `1–6/2024`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some((months, year)) = s.rsplit_once('/') {
            return Period::from_label(months.trim(), year.trim());
        }
        if !s.is_ascii() || s.len() < 4 {
            return Err(PeriodError::Syntax);
        }
        let (y, rest) = s.split_at(4);
        let year = digits(y, 4)? as i32;
        if rest.is_empty() {
            return Period::year(year);
        }
        let (kind, idx_str) = if let Some(m) = rest.strip_prefix('-') {
            (PeriodKind::Month, m)
        } else {
            let (letter, idx) = rest.split_at(1);
            let kind = match letter {
                "Q" | "q" => PeriodKind::Quarter,
                "T" | "t" => PeriodKind::Tertial,
                "H" | "h" => PeriodKind::Half,
                _ => return Err(PeriodError::Syntax),
            };
            (kind, idx)
        };
        let width = if kind == PeriodKind::Month { 2 } else { 1 };
        let index = digits(idx_str, width)?;
        let index = u8::try_from(index).map_err(|_| PeriodError::Index)?;
        Period::new(year, kind, index)
    }
}

impl Period {
    /// `months/year` of a label: one month (`3`, `03`) or a range of months
    /// that is a quarter, tertial, half or the whole year (`9–12`, `9-12`).
    fn from_label(months: &str, year: &str) -> Result<Period, PeriodError> {
        if year.len() != 4 || !year.is_ascii() {
            return Err(PeriodError::Syntax);
        }
        let year = digits(year, 4)? as i32;
        let month = |m: &str| -> Result<u8, PeriodError> {
            let m = m.trim();
            if m.is_empty() || m.len() > 2 || !m.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PeriodError::Syntax);
            }
            m.parse::<u8>().map_err(|_| PeriodError::Syntax)
        };
        let Some((first, last)) = months.split_once(['-', '\u{2013}', '\u{2012}', '\u{2212}'])
        else {
            return Period::month(year, month(months)?);
        };
        let (first, last) = (month(first)?, month(last)?);
        if !(1..=12).contains(&first) || !(first..=12).contains(&last) {
            return Err(PeriodError::Index);
        }
        let kind = match last - first + 1 {
            1 => PeriodKind::Month,
            3 => PeriodKind::Quarter,
            4 => PeriodKind::Tertial,
            6 => PeriodKind::Half,
            12 => PeriodKind::Year,
            _ => return Err(PeriodError::Syntax),
        };
        let len = kind.months();
        if (first - 1) % len != 0 {
            return Err(PeriodError::Syntax);
        }
        Period::new(year, kind, (first - 1) / len + 1)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Period;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a period such as 2024-03, 2024Q1, 2024T1, 2024H1, 2024 or 9–12/2023")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Period, E> {
                v.parse::<Period>().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn kind_basics() {
        assert_eq!(PeriodKind::ALL.len(), 5);
        let months: Vec<u8> = PeriodKind::ALL.iter().map(|k| k.months()).collect();
        assert_eq!(months, [1, 3, 4, 6, 12]);
        let counts: Vec<u8> = PeriodKind::ALL.iter().map(|k| k.count_per_year()).collect();
        assert_eq!(counts, [12, 4, 3, 2, 1]);
        let codes: Vec<&str> = PeriodKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes, ["month", "quarter", "tertial", "half", "year"]);
        for k in PeriodKind::ALL {
            assert_eq!(PeriodKind::parse(k.code()), Some(k));
            assert_eq!(PeriodKind::parse(&k.code().to_uppercase()), Some(k));
            assert_eq!(k.to_string(), k.code());
        }
        assert_eq!(PeriodKind::parse("week"), None);
        assert_eq!(PeriodKind::parse(""), None);
    }

    #[test]
    fn constructors_and_accessors() {
        let m = Period::month(2024, 3).unwrap();
        assert_eq!(m.year(), 2024);
        assert_eq!(m.year_number(), 2024);
        assert_eq!(m.kind(), PeriodKind::Month);
        assert_eq!(m.index(), 3);
        assert_eq!(Period::quarter(2024, 4).unwrap().to_string(), "2024Q4");
        assert_eq!(Period::tertial(2024, 3).unwrap().to_string(), "2024T3");
        assert_eq!(Period::half(2024, 2).unwrap().to_string(), "2024H2");
        assert_eq!(Period::year(2024).unwrap().to_string(), "2024");
        assert_eq!(Period::year(2024).unwrap().index(), 1);
        assert_eq!(Period::month(2024, 0), Err(PeriodError::Index));
        assert_eq!(Period::month(2024, 13), Err(PeriodError::Index));
        assert_eq!(Period::quarter(2024, 5), Err(PeriodError::Index));
        assert_eq!(Period::tertial(2024, 4), Err(PeriodError::Index));
        assert_eq!(Period::half(2024, 3), Err(PeriodError::Index));
        assert_eq!(Period::half(2024, 0), Err(PeriodError::Index));
        assert_eq!(
            Period::new(2024, PeriodKind::Year, 2),
            Err(PeriodError::Index)
        );
        assert_eq!(Period::year(1899), Err(PeriodError::Year));
        assert_eq!(Period::year(3000), Err(PeriodError::Year));
        assert!(Period::year(1900).is_ok());
        assert!(Period::year(2999).is_ok());
        assert_eq!(Period::month(1800, 13), Err(PeriodError::Year));
    }

    #[test]
    fn display_forms() {
        assert_eq!(Period::month(2024, 3).unwrap().to_string(), "2024-03");
        assert_eq!(Period::month(2024, 12).unwrap().to_string(), "2024-12");
        assert_eq!(Period::quarter(2024, 1).unwrap().to_string(), "2024Q1");
        assert_eq!(Period::tertial(2024, 1).unwrap().to_string(), "2024T1");
        assert_eq!(Period::half(2024, 1).unwrap().to_string(), "2024H1");
    }

    #[test]
    fn parse_accepts() {
        assert_eq!(p("2024-03"), Period::month(2024, 3).unwrap());
        assert_eq!(p("2024Q1"), Period::quarter(2024, 1).unwrap());
        assert_eq!(p("2024q1"), Period::quarter(2024, 1).unwrap());
        assert_eq!(p("2024t2"), Period::tertial(2024, 2).unwrap());
        assert_eq!(p("2024T3"), Period::tertial(2024, 3).unwrap());
        assert_eq!(p("2024h1"), Period::half(2024, 1).unwrap());
        assert_eq!(p(" 2024H2 "), Period::half(2024, 2).unwrap());
        assert_eq!(p("2024"), Period::year(2024).unwrap());
        assert_eq!(p("\t1900-01\n"), Period::month(1900, 1).unwrap());
        assert_eq!(
            Period::parse("2999Q4"),
            Ok(Period::quarter(2999, 4).unwrap())
        );
    }

    #[test]
    fn parse_rejects() {
        use PeriodError::*;
        let cases = [
            ("2024Q5", Index),
            ("2024Q0", Index),
            ("2024-13", Index),
            ("2024-00", Index),
            ("2024T4", Index),
            ("2024T0", Index),
            ("2024H3", Index),
            ("24Q1", Syntax),
            ("024Q1", Syntax),
            ("20240Q1", Syntax),
            ("2024-3", Syntax),
            ("2024-003", Syntax),
            ("2024Q", Syntax),
            ("2024Q10", Syntax),
            ("2024Q01", Syntax),
            ("2024 Q1", Syntax),
            ("2024-Q1", Syntax),
            ("2024X1", Syntax),
            ("2024M03", Syntax),
            ("2024/03", Syntax),
            ("2024Q+1", Syntax),
            ("2024-+3", Syntax),
            ("+024", Syntax),
            ("-2024", Syntax),
            ("", Syntax),
            ("   ", Syntax),
            ("abcd", Syntax),
            ("2024ä1", Syntax),
            ("Q1 2024", Syntax),
            ("1899", Year),
            ("3000Q1", Year),
            ("0000-01", Year),
        ];
        for (s, e) in cases {
            assert_eq!(s.parse::<Period>(), Err(e.clone()), "input {s:?}");
        }
        assert_eq!(PeriodError::Syntax.to_string(), "invalid period syntax");
        assert_eq!(PeriodError::Year.to_string(), "year out of range");
        assert_eq!(PeriodError::Index.to_string(), "index out of range");
    }

    #[test]
    fn labels_are_read_back() {
        for code in [
            "2023-09", "2024Q2", "2023T3", "2024H1", "2024", "2024-12", "2025Q4",
        ] {
            let period = p(code);
            assert_eq!(period.label().parse::<Period>().unwrap(), period, "{code}");
        }
        assert_eq!(p("9-12/2023"), p("2023T3"));
        assert_eq!(p(" 1 – 6 / 2024 "), p("2024H1"));
        assert_eq!(p("03/2024"), p("2024-03"));
        assert_eq!(p("1-12/2024"), p("2024"));
        for bad in [
            "2-5/2024",
            "1-5/2024",
            "12-1/2024",
            "13/2024",
            "0/2024",
            "1-6/24",
            "1-6/",
            "/2024",
            "a-b/2024",
            "1–6/2024/1",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn months_of_periods() {
        let t2 = p("2024T2");
        assert_eq!((t2.first_month(), t2.last_month()), (5, 8));
        assert_eq!(t2.start(), date!(2024 - 05 - 01));
        assert_eq!(t2.end(), date!(2024 - 08 - 31));
        let t1 = p("2024T1");
        assert_eq!((t1.first_month(), t1.last_month()), (1, 4));
        let t3 = p("2024T3");
        assert_eq!((t3.first_month(), t3.last_month()), (9, 12));
        assert_eq!(
            (p("2024Q3").first_month(), p("2024Q3").last_month()),
            (7, 9)
        );
        assert_eq!(
            (p("2024H2").first_month(), p("2024H2").last_month()),
            (7, 12)
        );
        assert_eq!((p("2024").first_month(), p("2024").last_month()), (1, 12));
        assert_eq!(
            (p("2024-05").first_month(), p("2024-05").last_month()),
            (5, 5)
        );
    }

    #[test]
    fn start_end_and_leap_years() {
        assert_eq!(p("2024-02").end(), date!(2024 - 02 - 29));
        assert_eq!(p("2023-02").end(), date!(2023 - 02 - 28));
        assert_eq!(p("2000-02").end(), date!(2000 - 02 - 29));
        assert_eq!(p("1900-02").end(), date!(1900 - 02 - 28));
        assert_eq!(p("2024-02").start(), date!(2024 - 02 - 01));
        assert_eq!(p("2024Q1").end(), date!(2024 - 03 - 31));
        assert_eq!(p("2024Q2").end(), date!(2024 - 06 - 30));
        assert_eq!(p("2024H1").start(), date!(2024 - 01 - 01));
        assert_eq!(p("2024H1").end(), date!(2024 - 06 - 30));
        assert_eq!(p("2024").end(), date!(2024 - 12 - 31));
        assert_eq!(p("2999").end(), date!(2999 - 12 - 31));
        assert_eq!(p("2024").days(), 366);
        assert_eq!(p("2023").days(), 365);
        assert_eq!(p("2024-02").days(), 29);
        assert_eq!(p("2024Q1").days(), 91);
        assert_eq!(day_after(date!(2024 - 02 - 28)), date!(2024 - 02 - 29));
    }

    #[test]
    fn prev_next() {
        assert_eq!(p("2024Q1").prev(), Some(p("2023Q4")));
        assert_eq!(p("2024-01").prev(), Some(p("2023-12")));
        assert_eq!(p("2023-12").next(), Some(p("2024-01")));
        assert_eq!(p("2024T3").next(), Some(p("2025T1")));
        assert_eq!(p("2024T2").prev(), Some(p("2024T1")));
        assert_eq!(p("2024H2").next(), Some(p("2025H1")));
        assert_eq!(p("2024").prev(), Some(p("2023")));
        assert_eq!(p("2024-06").next(), Some(p("2024-07")));
        assert_eq!(p("1900-01").prev(), None);
        assert_eq!(p("1900").prev(), None);
        assert_eq!(p("2999Q4").next(), None);
        assert_eq!(p("2999").next(), None);
        assert_eq!(p("2999Q3").next(), Some(p("2999Q4")));
    }

    #[test]
    fn contains_rules() {
        let m = p("2024-05");
        assert!(m.contains(&m));
        assert!(p("2024Q2").contains(&m));
        assert!(p("2024T2").contains(&m));
        assert!(p("2024H1").contains(&m));
        assert!(p("2024").contains(&m));
        assert!(!p("2024Q1").contains(&m));
        assert!(!p("2023").contains(&m));
        assert!(!m.contains(&p("2024Q2")));
        assert!(p("2024H1").contains(&p("2024Q2")));
        assert!(!p("2024H1").contains(&p("2024T2")));
        assert!(p("2024T1").contains(&p("2024Q1")));
        assert!(!p("2024T2").contains(&p("2024Q2")));
        assert!(p("2024").contains(&p("2024H2")));
        assert!(!p("2024").contains(&p("2025-01")));
        assert!(p("2024").contains_date(date!(2024 - 12 - 31)));
        assert!(!p("2024Q1").contains_date(date!(2024 - 04 - 01)));
    }

    #[test]
    fn containing_dates() {
        assert_eq!(
            Period::containing(date!(2024 - 05 - 17), PeriodKind::Month),
            p("2024-05")
        );
        assert_eq!(
            Period::containing(date!(2024 - 05 - 17), PeriodKind::Quarter),
            p("2024Q2")
        );
        assert_eq!(
            Period::containing(date!(2024 - 05 - 17), PeriodKind::Tertial),
            p("2024T2")
        );
        assert_eq!(
            Period::containing(date!(2024 - 04 - 30), PeriodKind::Tertial),
            p("2024T1")
        );
        assert_eq!(
            Period::containing(date!(2024 - 09 - 01), PeriodKind::Tertial),
            p("2024T3")
        );
        assert_eq!(
            Period::containing(date!(2024 - 07 - 01), PeriodKind::Half),
            p("2024H2")
        );
        assert_eq!(
            Period::containing(date!(2024 - 12 - 31), PeriodKind::Year),
            p("2024")
        );
        assert_eq!(
            Period::containing(date!(1800 - 06 - 01), PeriodKind::Quarter),
            p("1900Q1")
        );
        assert_eq!(
            Period::containing(date!(3100 - 06 - 01), PeriodKind::Quarter),
            p("2999Q4")
        );
        assert_eq!(
            Period::try_containing(date!(1800 - 06 - 01), PeriodKind::Month),
            Err(PeriodError::Year)
        );
    }

    #[test]
    fn sub_periods_cases() {
        let y = p("2024");
        assert_eq!(y.sub_periods(PeriodKind::Month).len(), 12);
        assert_eq!(
            y.sub_periods(PeriodKind::Quarter),
            vec![p("2024Q1"), p("2024Q2"), p("2024Q3"), p("2024Q4")]
        );
        assert_eq!(y.sub_periods(PeriodKind::Year), vec![y]);
        assert_eq!(
            p("2024Q2").sub_periods(PeriodKind::Month),
            vec![p("2024-04"), p("2024-05"), p("2024-06")]
        );
        assert_eq!(
            p("2024T2").sub_periods(PeriodKind::Month),
            vec![p("2024-05"), p("2024-06"), p("2024-07"), p("2024-08")]
        );
        assert!(p("2024T2").sub_periods(PeriodKind::Quarter).is_empty());
        assert_eq!(
            p("2024T1").sub_periods(PeriodKind::Quarter),
            vec![p("2024Q1")]
        );
        assert!(p("2024Q1").sub_periods(PeriodKind::Half).is_empty());
        assert!(p("2024-01").sub_periods(PeriodKind::Year).is_empty());
        assert_eq!(p("2024H1").sub_periods(PeriodKind::Quarter).len(), 2);
    }

    #[test]
    fn range_and_iter() {
        assert_eq!(
            Period::range(p("2023Q3"), p("2024Q2")).unwrap(),
            vec![p("2023Q3"), p("2023Q4"), p("2024Q1"), p("2024Q2")]
        );
        assert_eq!(
            Period::range(p("2024-05"), p("2024-05")).unwrap(),
            vec![p("2024-05")]
        );
        assert!(Period::range(p("2024-05"), p("2024-04"))
            .unwrap()
            .is_empty());
        assert_eq!(
            Period::range(p("2024-05"), p("2024Q4")),
            Err(PeriodError::Syntax)
        );
        assert_eq!(Period::range(p("2999H1"), p("2999H2")).unwrap().len(), 2);
        let v: Vec<Period> = p("2024T2").iter_from().take(3).collect();
        assert_eq!(v, vec![p("2024T2"), p("2024T3"), p("2025T1")]);
        assert_eq!(p("2998").iter_from().count(), 2);
    }

    #[test]
    fn has_ended_rule() {
        let q = p("2024Q1");
        assert!(!q.has_ended(date!(2024 - 03 - 31)));
        assert!(q.has_ended(date!(2024 - 04 - 01)));
        assert!(!q.has_ended(date!(2024 - 01 - 15)));
        assert!(!q.has_ended(date!(2023 - 12 - 31)));
    }

    #[test]
    fn labels() {
        assert_eq!(p("2024-03").label(), "3/2024");
        assert_eq!(p("2024-12").label(), "12/2024");
        assert_eq!(p("2024H1").label(), "1\u{2013}6/2024");
        assert_eq!(p("2024Q3").label(), "7–9/2024");
        assert_eq!(p("2024T2").label(), "5–8/2024");
        assert_eq!(p("2024").label(), "2024");
    }

    #[test]
    fn ordering() {
        assert!(p("2023-12") < p("2024-01"));
        assert!(p("2024Q1") < p("2024Q2"));
        // Derived order: kind before index within a year.
        assert!(p("2024-12") < p("2024Q1"));
        use std::cmp::Ordering::*;
        assert_eq!(p("2024-01").cmp_chronological(&p("2024Q1")), Less);
        assert_eq!(p("2024Q1").cmp_chronological(&p("2024T1")), Less);
        assert_eq!(p("2024T1").cmp_chronological(&p("2024H1")), Less);
        assert_eq!(p("2024H1").cmp_chronological(&p("2024")), Less);
        assert_eq!(p("2024-12").cmp_chronological(&p("2024Q1")), Greater);
        assert_eq!(p("2024Q2").cmp_chronological(&p("2024Q2")), Equal);
        let mut v = vec![p("2024"), p("2024-02"), p("2023Q4"), p("2024H1")];
        v.sort_by(Period::cmp_chronological);
        assert_eq!(v, vec![p("2023Q4"), p("2024H1"), p("2024"), p("2024-02")]);
    }

    #[test]
    fn serde_as_string() {
        use serde::de::value::{Error as DeError, StrDeserializer};
        use serde::de::IntoDeserializer;
        let de: StrDeserializer<'_, DeError> = "2024q2".into_deserializer();
        assert_eq!(Period::deserialize(de).unwrap(), p("2024Q2"));
        let de: StrDeserializer<'_, DeError> = "2024Q9".into_deserializer();
        let err = Period::deserialize(de).unwrap_err();
        assert_eq!(err.to_string(), "index out of range");
        let de: serde::de::value::U32Deserializer<DeError> = 2024u32.into_deserializer();
        assert!(Period::deserialize(de).is_err());
        assert_eq!(crate::test_ser::to_string(&p("2024T1")), "2024T1");
        assert_eq!(crate::test_ser::to_string(&p("2024-07")), "2024-07");
    }

    pub(crate) fn any_period() -> impl Strategy<Value = Period> {
        (1900i32..=2999, 0usize..5).prop_flat_map(|(y, k)| {
            let kind = PeriodKind::ALL[k];
            (1u8..=kind.count_per_year()).prop_map(move |i| Period::new(y, kind, i).unwrap())
        })
    }

    proptest! {
        #[test]
        fn prop_display_parse_roundtrip(per in any_period()) {
            prop_assert_eq!(per.to_string().parse::<Period>(), Ok(per));
            prop_assert_eq!(per.to_string().to_lowercase().parse::<Period>(), Ok(per));
        }

        #[test]
        fn prop_prev_next(per in any_period()) {
            if let Some(n) = per.next() {
                prop_assert_eq!(n.prev(), Some(per));
                prop_assert_eq!(n.start(), day_after(per.end()));
                prop_assert!(per < n);
                prop_assert_eq!(n.kind(), per.kind());
            } else {
                prop_assert_eq!(per.year(), 2999);
            }
            if let Some(pr) = per.prev() {
                prop_assert_eq!(pr.next(), Some(per));
            } else {
                prop_assert_eq!(per.year(), 1900);
            }
        }

        #[test]
        fn prop_start_le_end(per in any_period()) {
            prop_assert!(per.start() <= per.end());
            prop_assert!(per.contains(&per));
            prop_assert!(per.contains_date(per.start()));
            prop_assert!(per.contains_date(per.end()));
            prop_assert_eq!(Period::containing(per.start(), per.kind()), per);
            prop_assert_eq!(Period::containing(per.end(), per.kind()), per);
            prop_assert!(!per.has_ended(per.end()));
            prop_assert!(per.has_ended(day_after(per.end())));
            prop_assert!(per.first_month() <= per.last_month());
            prop_assert!(per.last_month() <= 12);
        }

        #[test]
        fn prop_month_in_exactly_one(y in 1900i32..=2999, m in 1u8..=12) {
            let month = Period::month(y, m).unwrap();
            let year = Period::year(y).unwrap();
            for kind in [PeriodKind::Quarter, PeriodKind::Tertial, PeriodKind::Half] {
                let holders: Vec<Period> = year
                    .sub_periods(kind)
                    .into_iter()
                    .filter(|q| q.contains(&month))
                    .collect();
                prop_assert_eq!(holders.len(), 1);
                prop_assert_eq!(holders[0], Period::containing(month.start(), kind));
            }
            prop_assert!(year.contains(&month));
        }

        #[test]
        fn prop_sub_periods_tile_year(y in 1900i32..=2999, k in 0usize..5) {
            let kind = PeriodKind::ALL[k];
            let year = Period::year(y).unwrap();
            let subs = year.sub_periods(kind);
            prop_assert_eq!(subs.len(), usize::from(kind.count_per_year()));
            prop_assert_eq!(subs[0].start(), year.start());
            prop_assert_eq!(subs[subs.len() - 1].end(), year.end());
            for w in subs.windows(2) {
                prop_assert_eq!(w[1].start(), day_after(w[0].end()));
            }
            let days: i64 = subs.iter().map(Period::days).sum();
            prop_assert_eq!(days, year.days());
        }

        #[test]
        fn prop_range_len(a in any_period(), n in 0usize..30) {
            let b = a.iter_from().take(n + 1).last().unwrap();
            let r = Period::range(a, b).unwrap();
            prop_assert!(r.len() <= n + 1);
            prop_assert_eq!(r.first().copied(), Some(a));
            prop_assert_eq!(r.last().copied(), Some(b));
        }
    }
}

#[cfg(test)]
mod finnish_time_tests {
    use super::*;
    use crate::Lang;

    #[test]
    fn a_stored_times_day_is_the_day_in_finland() {
        assert_eq!(
            format_day("2026-12-05T22:30:00Z", crate::Lang::Fi),
            "6.12.2026"
        );
        assert_eq!(
            format_day("2026-12-05T21:59:00Z", crate::Lang::Sv),
            "5.12.2026"
        );
        assert_eq!(
            format_day("2026-07-01T20:59:00Z", crate::Lang::En),
            "2026-07-01"
        );
        assert_eq!(
            format_day("2026-07-01T21:00:00Z", crate::Lang::En),
            "2026-07-02"
        );
        assert_eq!(format_day("eilen", crate::Lang::Fi), "eilen");
    }

    #[test]
    fn finnish_time_follows_the_eu_summer_time() {
        // 2024: summer time from 31 March 01:00 UTC to 27 October 01:00 UTC.
        assert_eq!(
            format_time("2024-03-31T00:59:00Z", Lang::Fi),
            "31.3.2024 02:59"
        );
        assert_eq!(
            format_time("2024-03-31T01:00:00Z", Lang::Fi),
            "31.3.2024 04:00"
        );
        assert_eq!(
            format_time("2024-10-27T00:59:00Z", Lang::Sv),
            "27.10.2024 03:59"
        );
        assert_eq!(
            format_time("2024-10-27T01:00:00Z", Lang::Sv),
            "27.10.2024 03:00"
        );
        assert_eq!(
            format_time("2026-12-05T21:30:00Z", Lang::Fi),
            "5.12.2026 23:30"
        );
        assert_eq!(
            format_time("2026-12-31T22:30:00Z", Lang::Fi),
            "1.1.2027 00:30"
        );
        assert_eq!(
            format_time("2024-07-01T09:00:00+03:00", Lang::En),
            "2024-07-01 09:00"
        );
        assert_eq!(format_time("not a time", Lang::Fi), "not a time");
    }
}
