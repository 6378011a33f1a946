//! Fair comparison of customer experience between counties (seed 004: "a
//! model for the whole country with which customer satisfaction can be
//! compared with equal questions and fair methods").
//!
//! Counties differ in who answers: one hears mostly from relatives of the
//! oldest clients, another from working-age clients in Swedish. Those
//! groups answer differently everywhere, so a raw figure compares the mix
//! as much as the service. **Direct standardisation** asks what each county's
//! figure would be if its answers came in the national mix: the county's
//! figure within each stratum (respondent type × age group × language of
//! service, "not told" a value of its own) is weighted by that stratum's
//! share of all the country's answers, and summed.
//!
//! - A stratum the county has no answers in cannot be weighted: the weights
//!   of the strata it has are scaled to sum to one, and the share of the
//!   national mix they cover is reported as `coverage`. Below
//!   [`MIN_COVERAGE`] the standardised figure is withheld (it would describe
//!   a different population), the raw one is still given.
//! - The 95 % interval is `value ± 1.96 √V`, where `V = Σ w² s² / n` over the
//!   strata (`s²` the stratum's sample variance of the answers' scores, `n`
//!   its answers); the raw figure's is the same with one stratum.
//! - A figure of fewer than [`MIN_ANSWERS`] answers is withheld (its
//!   interval would be wider than any difference worth telling).
//!
//! NPS is the mean of a score per answer: 100 for 9–10, −100 for 0–6, 0 for
//! 7–8 (the usual share of promoters less the share of detractors); a
//! statement's figure is the mean of its scale points. "Cannot say" is no
//! answer to either.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::feedback::{AgeGroup, Counts, Respondent, ServiceLang, BUCKETS};

/// A figure of fewer answers is withheld.
pub const MIN_ANSWERS: u64 = 30;
/// The least share of the national mix a county's strata must cover for
/// its standardised figure to be given.
pub const MIN_COVERAGE: f64 = 0.9;
/// The normal quantile of a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A stratum of the national mix: who answered, their age group and the
/// language of the service (`None`: not told, a stratum of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stratum {
    /// Client or relative.
    pub respondent: Option<Respondent>,
    /// The client's age group.
    pub age_group: Option<AgeGroup>,
    /// The language of the service.
    pub lang: Option<ServiceLang>,
}

/// What is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Net promoter score, −100 … 100, from the 0–10 question.
    Nps,
    /// The mean of a statement's scale points.
    Mean,
}

impl Measure {
    /// An answer's score in bucket `b`.
    pub fn score(self, b: usize) -> f64 {
        match self {
            Measure::Nps => match b {
                9.. => 100.0,
                7 | 8 => 0.0,
                _ => -100.0,
            },
            #[allow(clippy::cast_precision_loss)]
            Measure::Mean => b as f64,
        }
    }

    /// The range a figure lies in (an interval is clipped to it).
    fn range(self) -> (f64, f64) {
        match self {
            Measure::Nps => (-100.0, 100.0),
            #[allow(clippy::cast_precision_loss)]
            Measure::Mean => (0.0, (BUCKETS - 1) as f64),
        }
    }
}

/// A figure with its 95 % interval and the answers it rests on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The figure.
    pub value: f64,
    /// Lower end of the 95 % interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Answers.
    pub answers: u64,
}

/// One county's (or the country's) figure, raw and standardised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compared {
    /// Answers with a value.
    pub answers: u64,
    /// As answered; `None` when withheld (fewer than [`MIN_ANSWERS`]).
    pub raw: Option<Estimate>,
    /// In the national mix; `None` when withheld (too few answers, or
    /// strata covering less than [`MIN_COVERAGE`] of the mix).
    pub standardised: Option<Estimate>,
    /// The share of the national mix the strata with answers cover, 0–1.
    pub coverage: f64,
}

/// A stratum's answers, mean score and sample variance.
#[allow(clippy::cast_precision_loss)]
fn moments(c: &Counts, m: Measure) -> (u64, f64, f64) {
    let n = c.valued();
    if n == 0 {
        return (0, 0.0, 0.0);
    }
    #[allow(clippy::cast_precision_loss)]
    let nf = n as f64;
    let sum: f64 = c
        .counts
        .iter()
        .enumerate()
        .map(|(b, k)| m.score(b) * *k as f64)
        .sum();
    let mean = sum / nf;
    let ss: f64 = c
        .counts
        .iter()
        .enumerate()
        .map(|(b, k)| (m.score(b) - mean).powi(2) * *k as f64)
        .sum();
    let var = if n > 1 { ss / (nf - 1.0) } else { 0.0 };
    (n, mean, var)
}

/// The national mix: each stratum's share of all answers with a value.
#[allow(clippy::cast_precision_loss)]
pub fn national_weights(national: &BTreeMap<Stratum, Counts>) -> BTreeMap<Stratum, f64> {
    let total: u64 = national.values().map(Counts::valued).sum();
    national
        .iter()
        .filter(|(_, c)| c.valued() > 0)
        .map(|(s, c)| (*s, c.valued() as f64 / total as f64))
        .collect()
}

/// Sums a unit's strata to one count.
pub fn sum(strata: &BTreeMap<Stratum, Counts>) -> Counts {
    let mut all = Counts::default();
    for c in strata.values() {
        all.add(c);
    }
    all
}

fn estimate(value: f64, var: f64, answers: u64, range: (f64, f64)) -> Estimate {
    let half = Z95 * var.max(0.0).sqrt();
    Estimate {
        value,
        low: (value - half).max(range.0),
        high: (value + half).min(range.1),
        answers,
    }
}

/// A unit's figure from its answers per stratum, raw and standardised to
/// `weights` (see [`national_weights`]).
pub fn compare(
    strata: &BTreeMap<Stratum, Counts>,
    weights: &BTreeMap<Stratum, f64>,
    measure: Measure,
) -> Compared {
    let all = sum(strata);
    let range = measure.range();
    let (answers, mean, var) = moments(&all, measure);
    let coverage: f64 = weights
        .iter()
        .filter(|(s, _)| strata.get(s).is_some_and(|c| c.valued() > 0))
        .map(|(_, w)| w)
        .sum();
    if answers < MIN_ANSWERS {
        return Compared {
            answers,
            raw: None,
            standardised: None,
            coverage,
        };
    }
    #[allow(clippy::cast_precision_loss)]
    let raw = estimate(mean, var / answers as f64, answers, range);
    let standardised = (coverage >= MIN_COVERAGE).then(|| {
        let (mut value, mut v) = (0.0, 0.0);
        for (s, w) in weights {
            let Some(c) = strata.get(s) else { continue };
            let (n, mean, var) = moments(c, measure);
            if n == 0 {
                continue;
            }
            let w = w / coverage;
            value += w * mean;
            #[allow(clippy::cast_precision_loss)]
            let add = w * w * var / n as f64;
            v += add;
        }
        estimate(value, v, answers, range)
    });
    Compared {
        answers,
        raw: Some(raw),
        standardised,
        coverage,
    }
}

/// A unit's answers: item (`nps` or a statement key) → stratum → counts.
pub type Strata = BTreeMap<String, BTreeMap<Stratum, Counts>>;

/// One county's figures (or the country's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// NPS.
    pub nps: Compared,
    /// The statements in the order asked: key and figure.
    pub statements: Vec<(String, Compared)>,
}

/// The country's figures and each county's, every item standardised to the
/// country's mix of that item's answers (`statements`: the national ones,
/// the same questions everywhere).
pub fn compare_counties(
    counties: &BTreeMap<i64, Strata>,
    statements: &[String],
) -> (Figures, BTreeMap<i64, Figures>) {
    let items: Vec<(String, Measure)> =
        std::iter::once((crate::feedback::ITEM_NPS.to_owned(), Measure::Nps))
            .chain(statements.iter().map(|k| (k.clone(), Measure::Mean)))
            .collect();
    let empty = BTreeMap::new();
    let mut national: Strata = BTreeMap::new();
    for strata in counties.values() {
        for (item, _) in &items {
            for (s, c) in strata.get(item).unwrap_or(&empty) {
                national
                    .entry(item.clone())
                    .or_default()
                    .entry(*s)
                    .or_default()
                    .add(c);
            }
        }
    }
    let figures = |strata: &Strata| {
        let mut out = items.iter().map(|(item, m)| {
            let mine = strata.get(item).unwrap_or(&empty);
            let weights = national_weights(national.get(item).unwrap_or(&empty));
            (item.clone(), compare(mine, &weights, *m))
        });
        let nps = out
            .next()
            .map(|(_, c)| c)
            .unwrap_or_else(|| compare(&empty, &BTreeMap::new(), Measure::Nps));
        Figures {
            nps,
            statements: out.collect(),
        }
    };
    let all = figures(&national);
    let each = counties.iter().map(|(id, s)| (*id, figures(s))).collect();
    (all, each)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn stratum(i: usize) -> Stratum {
        let r = [None, Some(Respondent::Client), Some(Respondent::Relative)];
        let a = [None, Some(AgeGroup::From18), Some(AgeGroup::From75)];
        let l = [Some(ServiceLang::Fi), Some(ServiceLang::Sv)];
        Stratum {
            respondent: r[i % 3],
            age_group: a[(i / 3) % 3],
            lang: l[(i / 9) % 2],
        }
    }

    fn counted(answers: &[(usize, usize)]) -> BTreeMap<Stratum, Counts> {
        let mut out: BTreeMap<Stratum, Counts> = BTreeMap::new();
        for (s, b) in answers {
            out.entry(stratum(*s)).or_default().counts[*b] += 1;
        }
        out
    }

    /// The standardised figure computed answer by answer: each answer of
    /// stratum s weighs (national share of s) / (the county's answers in s),
    /// the shares of the strata the county lacks left out and the rest
    /// scaled to one.
    fn direct(county: &[(usize, usize)], national: &[(usize, usize)], m: Measure) -> f64 {
        let mut nat: BTreeMap<Stratum, f64> = BTreeMap::new();
        for (s, _) in national {
            *nat.entry(stratum(*s)).or_default() += 1.0;
        }
        let mut mine: BTreeMap<Stratum, f64> = BTreeMap::new();
        for (s, _) in county {
            *mine.entry(stratum(*s)).or_default() += 1.0;
        }
        let (mut num, mut den) = (0.0, 0.0);
        for (s, b) in county {
            let w = nat.get(&stratum(*s)).copied().unwrap_or(0.0) / mine[&stratum(*s)];
            num += w * m.score(*b);
            den += w;
        }
        num / den
    }

    fn answers(max_bucket: usize) -> impl Strategy<Value = Vec<(usize, usize)>> {
        proptest::collection::vec((0usize..18, 0usize..=max_bucket), 30..300)
    }

    proptest! {
        #[test]
        fn standardised_equals_the_answer_by_answer_computation(
            a in answers(10), b in answers(10), statement in any::<bool>(),
        ) {
            let m = if statement { Measure::Mean } else { Measure::Nps };
            let fix = |v: &[(usize, usize)]| -> Vec<(usize, usize)> {
                v.iter().map(|(s, x)| (*s, if statement { 1 + x % 5 } else { *x })).collect()
            };
            let (a, b) = (fix(&a), fix(&b));
            let national: Vec<_> = a.iter().chain(&b).copied().collect();
            let weights = national_weights(&counted(&national));
            let got = compare(&counted(&a), &weights, m);
            let raw: f64 = a.iter().map(|(_, x)| m.score(*x)).sum::<f64>() / a.len() as f64;
            prop_assert!((got.raw.unwrap().value - raw).abs() < 1e-9);
            match got.standardised {
                Some(s) => {
                    prop_assert!(got.coverage >= MIN_COVERAGE);
                    prop_assert!((s.value - direct(&a, &national, m)).abs() < 1e-9);
                    prop_assert!(s.low <= s.value && s.value <= s.high);
                }
                None => prop_assert!(got.coverage < MIN_COVERAGE),
            }
        }

        #[test]
        fn a_county_in_the_national_mix_standardises_to_its_raw_figure(a in answers(10)) {
            let c = counted(&a);
            let got = compare(&c, &national_weights(&c), Measure::Nps);
            prop_assert!((got.coverage - 1.0).abs() < 1e-9);
            prop_assert!((got.standardised.unwrap().value - got.raw.unwrap().value).abs() < 1e-9);
        }
    }

    #[test]
    fn the_same_service_in_another_mix_compares_equal_once_standardised() {
        // Everywhere clients say 10 and relatives 0; county A hears mostly
        // from clients, B from relatives.
        let mut a = vec![(1, 10); 90];
        a.extend(vec![(2, 0); 10]);
        let mut b = vec![(1, 10); 10];
        b.extend(vec![(2, 0); 90]);
        let national: Vec<_> = a.iter().chain(&b).copied().collect();
        let w = national_weights(&counted(&national));
        let (ca, cb) = (
            compare(&counted(&a), &w, Measure::Nps),
            compare(&counted(&b), &w, Measure::Nps),
        );
        assert!((ca.raw.unwrap().value - 80.0).abs() < 1e-9);
        assert!((cb.raw.unwrap().value + 80.0).abs() < 1e-9);
        assert!(ca.standardised.unwrap().value.abs() < 1e-9);
        assert!(cb.standardised.unwrap().value.abs() < 1e-9);
    }

    #[test]
    fn small_figures_and_a_population_too_unlike_the_nation_are_withheld() {
        let few = counted(&vec![(1, 9); (MIN_ANSWERS - 1) as usize]);
        let got = compare(&few, &national_weights(&few), Measure::Nps);
        assert!(got.raw.is_none() && got.standardised.is_none());
        // Strata covering half the nation: raw given, standardised not.
        let national = counted(&[vec![(1, 9); 50], vec![(2, 9); 50]].concat());
        let half = counted(&vec![(1, 9); 40]);
        let got = compare(&half, &national_weights(&national), Measure::Nps);
        assert!((got.coverage - 0.5).abs() < 1e-9);
        assert!(got.raw.is_some() && got.standardised.is_none());
    }

    #[test]
    fn the_interval_of_a_raw_figure_is_the_normal_one() {
        // 30 promoters and 30 detractors: NPS 0, s² = 10000 · 60/59.
        let c = counted(&[vec![(1, 10); 30], vec![(1, 0); 30]].concat());
        let got = compare(&c, &national_weights(&c), Measure::Nps)
            .raw
            .unwrap();
        let half = Z95 * (10_000.0 * 60.0 / 59.0 / 60.0f64).sqrt();
        assert!(
            got.value.abs() < 1e-9
                && (got.high - half).abs() < 1e-9
                && (got.low + half).abs() < 1e-9
        );
    }
}
