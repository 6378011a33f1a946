//! The stored plan as the domain reads it: goals, indicators, actions,
//! follow-ups and goal reviews, and the rule that picks an indicator's value
//! for a period.

use serde::{Deserialize, Serialize};

use crate::plan::{ActionStatus, Area};
use crate::{Direction, I18nText, Period, PeriodKind, TargetSpec};

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
}

impl Indicator {
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
    /// The figure, if any.
    pub value: Option<f64>,
    /// Written assessment.
    pub assessment: I18nText,
    /// Corrective actions decided.
    pub corrective: I18nText,
    /// When last changed (RFC 3339).
    pub updated_at: String,
    /// Who last changed it.
    pub updated_by: String,
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
    let end = period.end();
    let current = list
        .iter()
        .filter(|f| f.value.is_some() && f.period.end() <= end)
        .max_by_key(|f| (f.period.end(), std::cmp::Reverse(f.period.start())));
    let previous = current.and_then(|c| {
        let prev = c.period.prev()?;
        list.iter().find(|f| f.period == prev).and_then(|f| f.value)
    });
    (current, previous)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn fu(period: &str, value: Option<f64>) -> FollowUp {
        FollowUp {
            indicator_id: 1,
            period: period.parse().unwrap(),
            value,
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
