//! Indicator targets, status evaluation, change and number formatting.

use serde::{Deserialize, Serialize};

use crate::text::Lang;

/// Which way an indicator should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better; the target is a minimum.
    Higher,
    /// Lower is better; the target is a maximum.
    Lower,
    /// The value should stay within `[target, target_max]`.
    Band,
}

impl Direction {
    /// All directions.
    pub const ALL: [Direction; 3] = [Direction::Higher, Direction::Lower, Direction::Band];

    /// Stable code: `"higher"`, `"lower"` or `"band"`.
    pub fn code(self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
            Direction::Band => "band",
        }
    }

    /// Parses a [`code`](Direction::code) (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|d| s.eq_ignore_ascii_case(d.code()))
    }
}

/// The target of an indicator. For [`Direction::Band`] the band is
/// `[target, target_max]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetSpec {
    /// Which way is better.
    pub direction: Direction,
    /// The starting level, used to tell "on the way" from "off track".
    pub baseline: Option<f64>,
    /// The target (for a band, its lower bound).
    pub target: Option<f64>,
    /// The upper bound of a band; unused for other directions.
    pub target_max: Option<f64>,
}

/// How a value stands against its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The target is reached.
    Met,
    /// Not reached, but better than the baseline.
    OnTheWay,
    /// Not reached and not better than the baseline (or no baseline).
    OffTrack,
    /// No (finite) value.
    NoData,
    /// The indicator has no usable target.
    NoTarget,
}

impl Status {
    /// All statuses.
    pub const ALL: [Status; 5] = [
        Status::Met,
        Status::OnTheWay,
        Status::OffTrack,
        Status::NoData,
        Status::NoTarget,
    ];

    /// Stable code: `"met"`, `"on_the_way"`, `"off_track"`, `"no_data"`,
    /// `"no_target"`.
    pub fn code(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::OnTheWay => "on_the_way",
            Status::OffTrack => "off_track",
            Status::NoData => "no_data",
            Status::NoTarget => "no_target",
        }
    }

    /// Parses a [`code`](Status::code) (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|d| s.eq_ignore_ascii_case(d.code()))
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// The band `[lo, hi]` of a band spec (bounds swapped if given reversed).
fn band(spec: &TargetSpec) -> Option<(f64, f64)> {
    let a = finite(spec.target)?;
    let b = finite(spec.target_max)?;
    Some((a.min(b), a.max(b)))
}

fn band_distance(v: f64, (lo, hi): (f64, f64)) -> f64 {
    if v < lo {
        lo - v
    } else if v > hi {
        v - hi
    } else {
        0.0
    }
}

/// Evaluates `value` against `spec`.
///
/// No (or non-finite) value → `NoData`; no target (or a band without
/// `target_max`) → `NoTarget`. Higher: `value >= target` → `Met`, else
/// `value > baseline` → `OnTheWay`, else `OffTrack`; Lower mirrored. Band:
/// inside `[target, target_max]` → `Met`, else closer to the band than the
/// baseline → `OnTheWay`, else `OffTrack`. Non-finite targets and
/// baselines count as missing.
pub fn status(spec: &TargetSpec, value: Option<f64>) -> Status {
    let Some(v) = finite(value) else {
        return Status::NoData;
    };
    let baseline = finite(spec.baseline);
    match spec.direction {
        Direction::Higher | Direction::Lower => {
            let Some(t) = finite(spec.target) else {
                return Status::NoTarget;
            };
            let higher = spec.direction == Direction::Higher;
            let (met, better) = if higher {
                (v >= t, baseline.is_some_and(|b| v > b))
            } else {
                (v <= t, baseline.is_some_and(|b| v < b))
            };
            if met {
                Status::Met
            } else if better {
                Status::OnTheWay
            } else {
                Status::OffTrack
            }
        }
        Direction::Band => {
            let Some(bd) = band(spec) else {
                return Status::NoTarget;
            };
            let d = band_distance(v, bd);
            if d == 0.0 {
                Status::Met
            } else if baseline.is_some_and(|b| d < band_distance(b, bd)) {
                Status::OnTheWay
            } else {
                Status::OffTrack
            }
        }
    }
}

/// The change between two consecutive values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The current value.
    pub current: f64,
    /// The previous value.
    pub previous: f64,
    /// `current - previous`.
    pub delta: f64,
    /// Whether the change is for the better; `None` when neutral or unknown.
    pub improved: Option<bool>,
}

/// The change from `previous` to `current`; `None` if either is missing or
/// non-finite.
///
/// `improved`: Higher → `Some(true)` for a rise, `Some(false)` for a fall,
/// `None` when unchanged; Lower mirrored; Band → moving closer to the band
/// is an improvement (`None` when the distance is unchanged or the band is
/// incomplete).
pub fn change(spec: &TargetSpec, current: Option<f64>, previous: Option<f64>) -> Option<Change> {
    let current = finite(current)?;
    let previous = finite(previous)?;
    let delta = current - previous;
    let sign = |x: f64| {
        if x > 0.0 {
            Some(true)
        } else if x < 0.0 {
            Some(false)
        } else {
            None
        }
    };
    let improved = match spec.direction {
        Direction::Higher => sign(delta),
        Direction::Lower => sign(-delta),
        Direction::Band => {
            band(spec).and_then(|bd| sign(band_distance(previous, bd) - band_distance(current, bd)))
        }
    };
    Some(Change {
        current,
        previous,
        delta,
        improved,
    })
}

/// Formats a number for `lang`: at most two decimals with trailing zeros
/// trimmed, decimal comma and no-break-space grouping for Finnish and
/// Swedish (`31 746,5`), point and comma grouping for English
/// (`31,746.5`), ASCII `-`, and never `-0`. Non-finite values print `–`.
pub fn format_number(v: f64, lang: Lang) -> String {
    if !v.is_finite() {
        return "\u{2013}".to_owned();
    }
    let (dec_sep, group_sep) = match lang {
        Lang::Fi | Lang::Sv => (',', '\u{a0}'),
        Lang::En => ('.', ','),
    };
    let fixed = format!("{:.2}", v.abs());
    let (int_part, frac_part) = fixed.split_once('.').unwrap_or((fixed.as_str(), ""));
    let frac = frac_part.trim_end_matches('0');
    let is_zero = int_part.bytes().all(|b| b == b'0') && frac.is_empty();
    let mut out = String::with_capacity(fixed.len() + fixed.len() / 3 + 2);
    if v < 0.0 && !is_zero {
        out.push('-');
    }
    let n = int_part.len();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (n - i) % 3 == 0 {
            out.push(group_sep);
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(dec_sep);
        out.push_str(frac);
    }
    out
}

/// How many decimals [`format_number`] prints for `v` (at most two).
pub fn decimals_needed(v: f64) -> usize {
    let s = format_number(v, Lang::En);
    s.rfind('.').map_or(0, |i| s.len() - i - 1)
}

/// A share in percent with at least `decimals` decimals (`50,0 %` where its
/// neighbours need one), as [`format_number`] would print it otherwise:
/// every share of a table or list takes the most any of them needs.
pub fn format_percent(v: f64, decimals: usize, lang: Lang) -> String {
    if !v.is_finite() {
        return "\u{2013}".to_owned();
    }
    let mut n = format_number(v, lang);
    let has = decimals_needed(v);
    if has < decimals {
        if has == 0 {
            n.push(if lang == Lang::En { '.' } else { ',' });
        }
        n.extend(std::iter::repeat_n('0', decimals - has));
    }
    match lang {
        Lang::En => format!("{n}%"),
        Lang::Fi | Lang::Sv => format!("{n}\u{a0}%"),
    }
}

/// Formats `current (previous)` as in the reports, e.g. `1,87 (2,11)`; a
/// missing value prints `–`, and the brackets are left out when there is
/// no previous value.
pub fn format_with_previous(current: Option<f64>, previous: Option<f64>, lang: Lang) -> String {
    let fmt = |v: Option<f64>| match v {
        Some(x) => format_number(x, lang),
        None => "\u{2013}".to_owned(),
    };
    match previous {
        Some(_) => format!("{} ({})", fmt(current), fmt(previous)),
        None => fmt(current),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn shares_take_the_decimals_their_neighbours_need() {
        assert_eq!(decimals_needed(50.0), 0);
        assert_eq!(decimals_needed(12.5), 1);
        assert_eq!(decimals_needed(10.94), 2);
        assert_eq!(decimals_needed(33.333_333), 2);
        assert_eq!(format_percent(50.0, 1, Lang::Sv), "50,0\u{a0}%");
        assert_eq!(format_percent(12.5, 2, Lang::Fi), "12,50\u{a0}%");
        assert_eq!(format_percent(10.94, 1, Lang::Fi), "10,94\u{a0}%");
        assert_eq!(format_percent(1234.5, 2, Lang::En), "1,234.50%");
        assert_eq!(format_percent(f64::NAN, 1, Lang::Fi), "\u{2013}");
    }
    use crate::plan::parse_number;
    use proptest::prelude::*;

    fn spec(
        direction: Direction,
        baseline: Option<f64>,
        target: Option<f64>,
        max: Option<f64>,
    ) -> TargetSpec {
        TargetSpec {
            direction,
            baseline,
            target,
            target_max: max,
        }
    }

    fn rank(s: Status) -> u8 {
        match s {
            Status::OffTrack => 0,
            Status::OnTheWay => 1,
            Status::Met => 2,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn enum_codes() {
        for d in Direction::ALL {
            assert_eq!(Direction::parse(d.code()), Some(d));
        }
        assert_eq!(Direction::parse(" BAND "), Some(Direction::Band));
        assert_eq!(Direction::parse("up"), None);
        let codes: Vec<&str> = Status::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(
            codes,
            ["met", "on_the_way", "off_track", "no_data", "no_target"]
        );
        for s in Status::ALL {
            assert_eq!(Status::parse(s.code()), Some(s));
            assert_eq!(crate::test_ser::to_string(&s), s.code());
        }
        for d in Direction::ALL {
            assert_eq!(crate::test_ser::to_string(&d), d.code());
        }
    }

    #[test]
    fn status_no_data_and_no_target() {
        let h = spec(Direction::Higher, Some(1.0), Some(5.0), None);
        assert_eq!(status(&h, None), Status::NoData);
        assert_eq!(status(&h, Some(f64::NAN)), Status::NoData);
        assert_eq!(status(&h, Some(f64::INFINITY)), Status::NoData);
        assert_eq!(status(&h, Some(f64::NEG_INFINITY)), Status::NoData);
        let nt = spec(Direction::Higher, Some(1.0), None, None);
        assert_eq!(status(&nt, Some(3.0)), Status::NoTarget);
        assert_eq!(status(&nt, None), Status::NoData);
        let nt = spec(Direction::Lower, None, Some(f64::NAN), None);
        assert_eq!(status(&nt, Some(3.0)), Status::NoTarget);
        let band_no_max = spec(Direction::Band, Some(1.0), Some(5.0), None);
        assert_eq!(status(&band_no_max, Some(5.0)), Status::NoTarget);
        let band_no_min = spec(Direction::Band, Some(1.0), None, Some(5.0));
        assert_eq!(status(&band_no_min, Some(5.0)), Status::NoTarget);
    }

    #[test]
    fn status_higher() {
        let h = spec(Direction::Higher, Some(2.0), Some(5.0), None);
        assert_eq!(status(&h, Some(5.0)), Status::Met);
        assert_eq!(status(&h, Some(7.0)), Status::Met);
        assert_eq!(status(&h, Some(3.0)), Status::OnTheWay);
        assert_eq!(status(&h, Some(2.0)), Status::OffTrack);
        assert_eq!(status(&h, Some(1.0)), Status::OffTrack);
        let no_base = spec(Direction::Higher, None, Some(5.0), None);
        assert_eq!(status(&no_base, Some(4.9)), Status::OffTrack);
        assert_eq!(status(&no_base, Some(5.0)), Status::Met);
        let nan_base = spec(Direction::Higher, Some(f64::NAN), Some(5.0), None);
        assert_eq!(status(&nan_base, Some(4.0)), Status::OffTrack);
        // target_max is ignored for Higher.
        let with_max = spec(Direction::Higher, None, Some(5.0), Some(6.0));
        assert_eq!(status(&with_max, Some(10.0)), Status::Met);
    }

    #[test]
    fn status_lower() {
        let l = spec(Direction::Lower, Some(10.0), Some(5.0), None);
        assert_eq!(status(&l, Some(5.0)), Status::Met);
        assert_eq!(status(&l, Some(1.0)), Status::Met);
        assert_eq!(status(&l, Some(7.0)), Status::OnTheWay);
        assert_eq!(status(&l, Some(10.0)), Status::OffTrack);
        assert_eq!(status(&l, Some(12.0)), Status::OffTrack);
        let no_base = spec(Direction::Lower, None, Some(5.0), None);
        assert_eq!(status(&no_base, Some(6.0)), Status::OffTrack);
    }

    #[test]
    fn status_band() {
        let b = spec(Direction::Band, Some(20.0), Some(5.0), Some(10.0));
        assert_eq!(status(&b, Some(5.0)), Status::Met);
        assert_eq!(status(&b, Some(10.0)), Status::Met);
        assert_eq!(status(&b, Some(7.5)), Status::Met);
        assert_eq!(status(&b, Some(15.0)), Status::OnTheWay); // 5 < 10
        assert_eq!(status(&b, Some(0.0)), Status::OnTheWay); // 5 < 10 (other side)
        assert_eq!(status(&b, Some(20.0)), Status::OffTrack); // equal distance
        assert_eq!(status(&b, Some(-5.0)), Status::OffTrack); // equal distance, other side
        assert_eq!(status(&b, Some(25.0)), Status::OffTrack);
        let no_base = spec(Direction::Band, None, Some(5.0), Some(10.0));
        assert_eq!(status(&no_base, Some(11.0)), Status::OffTrack);
        let base_inside = spec(Direction::Band, Some(7.0), Some(5.0), Some(10.0));
        assert_eq!(status(&base_inside, Some(11.0)), Status::OffTrack);
        let point = spec(Direction::Band, Some(0.0), Some(5.0), Some(5.0));
        assert_eq!(status(&point, Some(5.0)), Status::Met);
        assert_eq!(status(&point, Some(4.0)), Status::OnTheWay);
        // Reversed bounds are treated as the same band.
        let rev = spec(Direction::Band, None, Some(10.0), Some(5.0));
        assert_eq!(status(&rev, Some(7.0)), Status::Met);
    }

    #[test]
    fn change_rules() {
        let h = spec(Direction::Higher, None, Some(5.0), None);
        assert_eq!(change(&h, None, Some(1.0)), None);
        assert_eq!(change(&h, Some(1.0), None), None);
        assert_eq!(change(&h, Some(f64::NAN), Some(1.0)), None);
        let c = change(&h, Some(3.0), Some(2.0)).unwrap();
        assert_eq!(
            c,
            Change {
                current: 3.0,
                previous: 2.0,
                delta: 1.0,
                improved: Some(true)
            }
        );
        assert_eq!(
            change(&h, Some(1.0), Some(2.0)).unwrap().improved,
            Some(false)
        );
        assert_eq!(change(&h, Some(2.0), Some(2.0)).unwrap().improved, None);
        let l = spec(Direction::Lower, None, None, None);
        assert_eq!(
            change(&l, Some(1.0), Some(2.0)).unwrap().improved,
            Some(true)
        );
        assert_eq!(
            change(&l, Some(3.0), Some(2.0)).unwrap().improved,
            Some(false)
        );
        assert_eq!(change(&l, Some(2.0), Some(2.0)).unwrap().improved, None);
        assert_eq!(change(&l, Some(1.0), Some(2.0)).unwrap().delta, -1.0);
        let b = spec(Direction::Band, None, Some(5.0), Some(10.0));
        assert_eq!(
            change(&b, Some(12.0), Some(15.0)).unwrap().improved,
            Some(true)
        );
        assert_eq!(
            change(&b, Some(3.0), Some(1.0)).unwrap().improved,
            Some(true)
        );
        assert_eq!(
            change(&b, Some(16.0), Some(15.0)).unwrap().improved,
            Some(false)
        );
        assert_eq!(
            change(&b, Some(7.0), Some(12.0)).unwrap().improved,
            Some(true)
        );
        assert_eq!(
            change(&b, Some(12.0), Some(7.0)).unwrap().improved,
            Some(false)
        );
        assert_eq!(change(&b, Some(6.0), Some(9.0)).unwrap().improved, None);
        assert_eq!(change(&b, Some(4.0), Some(11.0)).unwrap().improved, None);
        let b_incomplete = spec(Direction::Band, None, Some(5.0), None);
        let c = change(&b_incomplete, Some(4.0), Some(1.0)).unwrap();
        assert_eq!((c.delta, c.improved), (3.0, None));
    }

    #[test]
    fn format_examples() {
        use Lang::*;
        assert_eq!(format_number(40.0, Fi), "40");
        assert_eq!(format_number(1.87, Fi), "1,87");
        assert_eq!(format_number(3.7, Sv), "3,7");
        assert_eq!(format_number(3.70, Fi), "3,7");
        assert_eq!(format_number(1.87, En), "1.87");
        assert_eq!(format_number(31746.0, Fi), "31\u{a0}746");
        assert_eq!(format_number(31746.0, Sv), "31\u{a0}746");
        assert_eq!(format_number(31746.0, En), "31,746");
        assert_eq!(format_number(1234567.891, Fi), "1\u{a0}234\u{a0}567,89");
        assert_eq!(format_number(1234567.891, En), "1,234,567.89");
        assert_eq!(format_number(999.0, En), "999");
        assert_eq!(format_number(1000.0, En), "1,000");
        assert_eq!(format_number(100000.0, Fi), "100\u{a0}000");
        assert_eq!(format_number(-3.0, Fi), "-3");
        assert_eq!(format_number(-1234.5, Fi), "-1\u{a0}234,5");
        assert_eq!(format_number(-1234.5, En), "-1,234.5");
        assert_eq!(format_number(-0.0, Fi), "0");
        assert_eq!(format_number(0.0, En), "0");
        assert_eq!(format_number(-0.001, Fi), "0");
        assert_eq!(format_number(0.004, Fi), "0");
        assert_eq!(format_number(0.006, Fi), "0,01");
        assert_eq!(format_number(0.5, Fi), "0,5");
        assert_eq!(format_number(2.999, Fi), "3");
        assert_eq!(format_number(999.999, Fi), "1\u{a0}000");
        assert_eq!(format_number(f64::NAN, Fi), "–");
        assert_eq!(format_number(f64::INFINITY, En), "–");
    }

    #[test]
    fn format_with_previous_examples() {
        assert_eq!(
            format_with_previous(Some(1.87), Some(2.11), Lang::Fi),
            "1,87 (2,11)"
        );
        assert_eq!(
            format_with_previous(Some(1.87), Some(2.11), Lang::En),
            "1.87 (2.11)"
        );
        assert_eq!(format_with_previous(Some(40.0), None, Lang::Fi), "40");
        assert_eq!(format_with_previous(None, None, Lang::Fi), "–");
        assert_eq!(format_with_previous(None, Some(3.0), Lang::Sv), "– (3)");
        assert_eq!(
            format_with_previous(Some(31746.0), Some(30000.0), Lang::Fi),
            "31\u{a0}746 (30\u{a0}000)"
        );
    }

    fn finite_opt() -> impl Strategy<Value = Option<f64>> {
        proptest::option::of(-1e6f64..1e6)
    }

    proptest! {
        #[test]
        fn prop_met_at_target(t in -1e9f64..1e9, b in finite_opt(), higher in any::<bool>()) {
            let d = if higher { Direction::Higher } else { Direction::Lower };
            prop_assert_eq!(status(&spec(d, b, Some(t), None), Some(t)), Status::Met);
        }

        #[test]
        fn prop_higher_monotone(t in -1e6f64..1e6, b in finite_opt(),
                                v1 in -1e6f64..1e6, v2 in -1e6f64..1e6) {
            let (lo, hi) = if v1 <= v2 { (v1, v2) } else { (v2, v1) };
            let s = spec(Direction::Higher, b, Some(t), None);
            prop_assert!(rank(status(&s, Some(lo))) <= rank(status(&s, Some(hi))));
            // Lower is the mirror image.
            let l = spec(Direction::Lower, b, Some(t), None);
            prop_assert!(rank(status(&l, Some(hi))) <= rank(status(&l, Some(lo))));
        }

        #[test]
        fn prop_band_met_inside(a in -1e6f64..1e6, w in 0f64..1e6, f in 0f64..=1.0, b in finite_opt()) {
            let s = spec(Direction::Band, b, Some(a), Some(a + w));
            let v = a + w * f;
            prop_assert_eq!(status(&s, Some(v.clamp(a, a + w))), Status::Met);
        }

        #[test]
        fn prop_change_consistent(c in -1e6f64..1e6, p in -1e6f64..1e6, k in 0usize..3) {
            let s = spec(Direction::ALL[k], None, Some(0.0), Some(10.0));
            let ch = change(&s, Some(c), Some(p)).unwrap();
            prop_assert_eq!(ch.delta, c - p);
            if ch.delta == 0.0 {
                prop_assert_eq!(ch.improved, None);
            }
        }

        #[test]
        fn prop_format_roundtrip(cents in -100_000_000_000_000i64..=100_000_000_000_000i64, k in 0usize..2) {
            let lang = [Lang::Fi, Lang::Sv][k];
            let v = cents as f64 / 100.0;
            let s = format_number(v, lang);
            prop_assert_eq!(parse_number(&s), Ok(Some(v)), "formatted {:?}", s);
        }

        #[test]
        fn prop_format_roundtrip_en_small(cents in -99_999i64..=99_999i64) {
            let v = cents as f64 / 100.0;
            let s = format_number(v, Lang::En);
            prop_assert_eq!(parse_number(&s), Ok(Some(v)), "formatted {:?}", s);
        }

        #[test]
        fn prop_format_no_neg_zero(v in -0.0049f64..0.0049, k in 0usize..3) {
            prop_assert_eq!(format_number(v, Lang::ALL[k]), "0");
        }
    }
}
