//! The stored plan as the domain reads it: goals, indicators, actions,
//! follow-ups and goal reviews, and the rule that picks an indicator's value
//! for a period.

use serde::{Deserialize, Serialize};

use crate::plan::{ActionStatus, Area};
use crate::{Direction, Figure, I18nText, Period, PeriodKind, TargetSpec, ValueKind};

/// A goal of an org unit's plan for one year.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// Id.
    pub id: i64,
    /// The org unit whose plan this is.
    pub org_unit_id: i64,
    /// Plan year.
    pub year: i32,
    /// Self-monitoring area.
    pub area: Area,
    /// Title.
    pub title: I18nText,
    /// Order within the plan.
    pub sort_order: i64,
}

/// An indicator that measures a goal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Id.
    pub id: i64,
    /// The goal.
    pub goal_id: i64,
    /// The goal's org unit.
    pub org_unit_id: i64,
    /// The goal's year.
    pub year: i32,
    /// Name.
    pub name: I18nText,
    /// Unit of measure, e.g. `%`, `hlö` / `pers.`.
    pub unit: I18nText,
    /// Which way is better.
    pub direction: Direction,
    /// Starting level.
    pub baseline: Option<f64>,
    /// Target (lower bound of a band).
    pub target: Option<f64>,
    /// Upper bound of a band.
    pub target_max: Option<f64>,
    /// The period kind figures are reported for.
    pub period_kind: PeriodKind,
    /// Free note, e.g. a baseline given in words.
    pub note: I18nText,
    /// Order within the goal.
    pub sort_order: i64,
    /// A module the indicator fills itself from each period (none: entered by hand).
    #[serde(default)]
    pub source: Option<crate::incident::IndicatorSource>,
    /// A code unique within the county (imports name the indicator by it).
    #[serde(default)]
    pub code: Option<String>,
    /// What a figure is.
    #[serde(default)]
    pub value_kind: ValueKind,
    /// The last year the plan covers (none: the plan year).
    #[serde(default)]
    pub until_year: Option<i32>,
    /// Figures below this are flagged when entered.
    #[serde(default)]
    pub min_value: Option<f64>,
    /// Figures above this are flagged when entered.
    #[serde(default)]
    pub max_value: Option<f64>,
    /// When it was retired (no longer followed up; its history kept).
    #[serde(default)]
    pub retired_at: Option<String>,
    /// A national or regional reference series shown beside its figures.
    #[serde(default)]
    pub reference: Option<Reference>,
}

/// A reference series from THL's Sotkanet: which indicator, region and
/// gender, and how to name it beside a county's own figure
/// (`4,6 % (hela landet 5,1 %)`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The Sotkanet indicator id.
    pub series: String,
    /// The Sotkanet region id (or code) of the values to show.
    pub region: String,
    /// `total`, `male` or `female`.
    #[serde(default = "total")]
    pub gender: String,
    /// What to call it: `koko maa`, `hela landet`, `whole country`.
    #[serde(default)]
    pub label: I18nText,
}

fn total() -> String {
    "total".to_owned()
}

/// The periods an indicator is followed up for: those of its period kind
/// that begin no later than `today` and end no later than the end of the
/// last year its plan covers (the plan year or `until_year`). Earlier years
/// are its history (the previous periods its figures are compared with,
/// figures imported from before Valvo).
pub fn accepts_period(ind: &Indicator, period: &Period, today: time::Date) -> bool {
    own_period(ind.period_kind, ind.year, ind.until_year, period, today)
}

/// [`accepts_period`] of an indicator of `kind`, plan `year` and `until_year`.
pub fn own_period(
    kind: PeriodKind,
    year: i32,
    until_year: Option<i32>,
    period: &Period,
    today: time::Date,
) -> bool {
    period.kind() == kind
        && period.year_number() <= until_year.unwrap_or(year).max(year)
        && period.start() <= today
}

/// The periods a follow-up form offers: [`accepts_period`] from the year
/// before the plan year on, newest first.
pub fn offered_periods(ind: &Indicator, today: time::Date) -> Vec<Period> {
    let last = ind.until_year.unwrap_or(ind.year).max(ind.year);
    let mut out: Vec<Period> = (ind.year - 1..=last)
        .filter_map(|y| Period::new(y, ind.period_kind, 1).ok())
        .flat_map(|first| {
            let year = first.year_number();
            first
                .iter_from()
                .take_while(move |p| p.year_number() == year)
        })
        .filter(|p| accepts_period(ind, p, today))
        .collect();
    out.reverse();
    out
}

/// Whether a figure `x` is far outside what the indicator has shown, and
/// so asks for a comment: below its `min` or above its `max` when set; else,
/// with at least four earlier figures, more than five robust standard
/// deviations (1,4826 × the median absolute deviation) from their median,
/// or — when the earlier figures are all alike — more than half their
/// value away from them (any change at all from zero).
pub fn far_outside(history: &[f64], x: f64, min: Option<f64>, max: Option<f64>) -> bool {
    if min.is_some_and(|lo| x < lo) || max.is_some_and(|hi| x > hi) {
        return true;
    }
    if min.is_some() || max.is_some() || history.len() < 4 {
        return false;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let mut h: Vec<f64> = history.iter().copied().filter(|v| v.is_finite()).collect();
    if h.len() < 4 {
        return false;
    }
    let m = median(&mut h);
    let mut dev: Vec<f64> = h.iter().map(|v| (v - m).abs()).collect();
    let mad = median(&mut dev);
    if mad > 0.0 {
        (x - m).abs() / (1.4826 * mad) > 5.0
    } else if m == 0.0 {
        x != 0.0
    } else {
        (x - m).abs() > 0.5 * m.abs()
    }
}

impl Indicator {
    /// A baseline, target or bound of this indicator as its kind prints it
    /// (`–` for none).
    pub fn number_text(&self, v: Option<f64>, lang: crate::Lang) -> String {
        match v {
            Some(x) => self.value_kind.format(x, lang),
            None => "\u{2013}".to_owned(),
        }
    }

    /// The target as printed: `90 %`, or a band `0:05:00–0:10:00`.
    pub fn target_text(&self, lang: crate::Lang) -> String {
        match self.direction {
            Direction::Band => format!(
                "{}\u{2013}{}",
                self.number_text(self.target, lang),
                self.number_text(self.target_max, lang)
            ),
            _ => self.number_text(self.target, lang),
        }
    }

    /// The unit to print beside its figures: none when the kind prints its
    /// own (`%`, `€`, `h:mm:ss`, a ratio's parts).
    pub fn shown_unit(&self) -> I18nText {
        if self.value_kind.carries_unit() {
            I18nText::default()
        } else {
            self.unit.clone()
        }
    }

    /// The status of a figure: a text indicator has no target.
    pub fn status_of(&self, value: Option<f64>) -> crate::Status {
        if self.value_kind.has_number() {
            crate::status(&self.spec(), value)
        } else {
            crate::Status::NoTarget
        }
    }

    /// A follow-up's figure with the previous period's in brackets.
    pub fn figure_text(
        &self,
        current: Option<&FollowUp>,
        previous: Option<&FollowUp>,
        lang: crate::Lang,
    ) -> String {
        crate::value::format_with_previous(
            self.value_kind,
            current.map(FollowUp::figure).as_ref(),
            previous.map(FollowUp::figure).as_ref(),
            lang,
        )
    }

    /// Baseline, target and direction as the domain's status rules take them.
    pub fn spec(&self) -> TargetSpec {
        TargetSpec {
            direction: self.direction,
            baseline: self.baseline,
            target: self.target,
            target_max: self.target_max,
        }
    }
}

/// A planned measure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Id.
    pub id: i64,
    /// The goal.
    pub goal_id: i64,
    /// What is to be done.
    pub text: I18nText,
    /// Where it stands.
    pub status: ActionStatus,
    /// Order within the goal.
    pub sort_order: i64,
}

/// An indicator's figure and assessment for one period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// The indicator.
    pub indicator_id: i64,
    /// The period.
    pub period: Period,
    /// The figure, if any (for a ratio: its first part's share in per cent).
    pub value: Option<f64>,
    /// A ratio's two parts.
    #[serde(default)]
    pub parts: Option<(f64, f64)>,
    /// A text indicator's observation.
    #[serde(default)]
    pub text: Option<String>,
    /// Far outside the indicator's own history (or its min–max) when entered.
    #[serde(default)]
    pub flagged: bool,
    /// Written assessment.
    pub assessment: I18nText,
    /// Corrective actions decided.
    pub corrective: I18nText,
    /// When last changed (RFC 3339).
    pub updated_at: String,
    /// Who last changed it.
    pub updated_by: String,
}

impl FollowUp {
    /// The figure as kept.
    pub fn figure(&self) -> Figure {
        Figure {
            value: self.value,
            parts: self.parts,
            text: self.text.clone(),
        }
    }

    /// Whether it has a figure (a number or a text).
    pub fn has_figure(&self) -> bool {
        self.value.is_some() || self.text.is_some()
    }
}

/// The written follow-up of a whole goal for one period (the seeds' follow-up column).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoalReview {
    /// The goal.
    pub goal_id: i64,
    /// The period.
    pub period: Period,
    /// The text.
    pub text: I18nText,
    /// When last changed.
    pub updated_at: String,
    /// Who last changed it.
    pub updated_by: String,
}

/// An indicator with all its follow-ups, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndicatorFull {
    /// The indicator.
    #[serde(flatten)]
    pub indicator: Indicator,
    /// Its follow-ups, oldest period first.
    pub follow_ups: Vec<FollowUp>,
    /// The values of its reference series by year (see [`Reference`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_values: Vec<(i32, f64)>,
}

impl IndicatorFull {
    /// The reference value to print beside a figure of `year`: the latest
    /// year's up to it, with what it is called (the year added when it is
    /// an earlier one): `(5,1, "hela landet")`, `(5,1, "hela landet 2022")`.
    pub fn reference_for(&self, year: i32) -> Option<(f64, I18nText)> {
        let r = self.indicator.reference.as_ref()?;
        let (y, v) = self
            .reference_values
            .iter()
            .filter(|(y, _)| *y <= year)
            .max_by_key(|(y, _)| *y)?;
        let mut label = r.label.clone();
        if *y != year {
            for lang in crate::Lang::ALL {
                if let Some(t) = label.get(lang).map(str::to_owned) {
                    label.set(lang, Some(format!("{t} {y}")));
                }
            }
            if label.is_empty() {
                label.set(crate::Lang::Fi, Some(y.to_string()));
            }
        }
        Some((*v, label))
    }
}

/// A goal with everything under it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoalFull {
    /// The goal.
    #[serde(flatten)]
    pub goal: Goal,
    /// Its indicators.
    pub indicators: Vec<IndicatorFull>,
    /// Its actions.
    pub actions: Vec<Action>,
    /// Its period reviews, oldest first.
    pub reviews: Vec<GoalReview>,
}

/// The value an indicator shows for `period`: the latest follow-up with a value
/// whose period ends no later than `period` does, and the value of the period
/// before that follow-up's period (same kind), as the seeds print "1,87 (2,11)".
pub fn value_as_of<'a>(
    list: &'a [FollowUp],
    period: &Period,
) -> (Option<&'a FollowUp>, Option<f64>) {
    let (current, previous) = figure_as_of(list, period);
    (current, previous.and_then(|f| f.value))
}

/// [`value_as_of`] with the previous period's whole follow-up (a ratio's
/// parts, a text), when it has a figure.
pub fn figure_as_of<'a>(
    list: &'a [FollowUp],
    period: &Period,
) -> (Option<&'a FollowUp>, Option<&'a FollowUp>) {
    let end = period.end();
    let current = list
        .iter()
        .filter(|f| f.has_figure() && f.period.end() <= end)
        .max_by_key(|f| (f.period.end(), std::cmp::Reverse(f.period.start())));
    let previous = current.and_then(|c| {
        let prev = c.period.prev()?;
        list.iter().find(|f| f.period == prev && f.has_figure())
    });
    (current, previous)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn indicator(kind: PeriodKind, year: i32, until: Option<i32>) -> Indicator {
        Indicator {
            id: 1,
            goal_id: 1,
            org_unit_id: 1,
            year,
            name: I18nText::default(),
            unit: I18nText::default(),
            direction: Direction::Higher,
            baseline: None,
            target: None,
            target_max: None,
            period_kind: kind,
            note: I18nText::default(),
            sort_order: 0,
            source: None,
            code: None,
            value_kind: ValueKind::Number,
            until_year: until,
            min_value: None,
            max_value: None,
            retired_at: None,
            reference: None,
        }
    }

    #[test]
    fn figures_far_outside_their_history_are_flagged() {
        let h = [12.0, 13.5, 11.8, 12.9, 13.1];
        assert!(!far_outside(&h, 14.0, None, None));
        assert!(!far_outside(&h, 10.5, None, None));
        assert!(
            far_outside(&h, 130.0, None, None),
            "a decimal point slipped"
        );
        assert!(far_outside(&h, 1.3, None, None));
        assert!(
            !far_outside(&h[..3], 130.0, None, None),
            "too little history to judge"
        );
        assert!(far_outside(&[90.0; 4], 30.0, None, None));
        assert!(!far_outside(&[90.0; 4], 91.0, None, None));
        assert!(far_outside(&[0.0; 5], 1.0, None, None));
        // A range set on the indicator decides alone.
        assert!(far_outside(&[], 101.0, Some(0.0), Some(100.0)));
        assert!(!far_outside(&h, 99.0, Some(0.0), Some(100.0)));
    }

    #[test]
    fn an_indicator_takes_its_own_periods_only() {
        let today = time::macros::date!(2024 - 10 - 15);
        let ind = indicator(PeriodKind::Half, 2024, None);
        let p = |s: &str| s.parse::<Period>().unwrap();
        assert!(accepts_period(&ind, &p("2024H1"), today));
        assert!(
            accepts_period(&ind, &p("2024H2"), today),
            "begun, not ended"
        );
        assert!(accepts_period(&ind, &p("2019H2"), today), "its history");
        for bad in ["2024Q1", "2025T1", "2024T1", "2025H1", "2024"] {
            assert!(!accepts_period(&ind, &p(bad), today), "{bad}");
        }
        let offered: Vec<String> = offered_periods(&ind, today)
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(offered, ["2024H2", "2024H1", "2023H2", "2023H1"]);
        let longer = indicator(PeriodKind::Tertial, 2024, Some(2025));
        let later = time::macros::date!(2025 - 06 - 01);
        assert!(accepts_period(&longer, &p("2025T2"), later));
        assert!(!accepts_period(&longer, &p("2025T3"), later), "not begun");
        assert_eq!(
            offered_periods(&longer, later).first().unwrap().to_string(),
            "2025T2"
        );
    }

    fn fu(period: &str, value: Option<f64>) -> FollowUp {
        FollowUp {
            indicator_id: 1,
            period: period.parse().unwrap(),
            value,
            parts: None,
            text: None,
            flagged: false,
            assessment: I18nText::default(),
            corrective: I18nText::default(),
            updated_at: String::new(),
            updated_by: String::new(),
        }
    }

    #[test]
    fn value_as_of_takes_the_latest_ended_figure_and_its_previous_period() {
        let list = vec![
            fu("2024T1", Some(10.0)),
            fu("2024T2", Some(20.0)),
            fu("2024T3", None),
            fu("2025T1", Some(40.0)),
        ];
        let (cur, prev) = value_as_of(&list, &"2024T3".parse().unwrap());
        assert_eq!(cur.unwrap().period.to_string(), "2024T2");
        assert_eq!(prev, Some(10.0));
        let (cur, prev) = value_as_of(&list, &"2024".parse().unwrap());
        assert_eq!(cur.unwrap().value, Some(20.0));
        assert_eq!(prev, Some(10.0));
        let (cur, prev) = value_as_of(&list, &"2023".parse().unwrap());
        assert!(cur.is_none() && prev.is_none());
        // A half year and its last month end together: the longer period wins.
        let list = vec![fu("2024-06", Some(1.0)), fu("2024H1", Some(2.0))];
        assert_eq!(
            value_as_of(&list, &"2024H1".parse().unwrap())
                .0
                .unwrap()
                .value,
            Some(2.0)
        );
    }
}
