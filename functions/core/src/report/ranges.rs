//! Glycemic targets. Every report shows the five consensus ranges (`metrics::range_of`, the same rule on
//! every screen) and, beside them, the target range and goals of the patient's preset, as the consensus
//! (Battelino et al., Diabetes Care 2019, table 2) sets them:
//!
//! | preset | target range | goals |
//! |---|---|---|
//! | standard (type 1 and type 2) | 70–180 mg/dL | in range > 70 %, < 70 under 4 %, < 54 under 1 %, > 180 under 25 %, > 250 under 5 % |
//! | older or high-risk adults | 70–180 mg/dL | in range > 50 %, < 70 under 1 %, > 250 under 10 % |
//! | pregnancy (type 1) | 63–140 mg/dL | in range > 70 %, < 63 under 4 %, < 54 under 1 %, > 140 under 25 % |
//!
//! Boundaries follow the consensus ranges' rule: the target range includes both ends (63.0 and 140.0
//! are in range for pregnancy), below means `g < low`, above means `g > high`.

use serde::{Deserialize, Serialize};

use super::metrics::{Reading, round_tenths};
use super::tally::Tally;
use crate::error::CoreError;

/// The clinic's choice of targets for one patient.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangePreset {
    #[default]
    Standard,
    OlderHighRisk,
    Pregnancy,
}

/// What a goal measures, in percent of CGM time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    InTarget,
    BelowTarget,
    Below54,
    AboveTarget,
    Above250,
}

/// "More than" or "less than" a percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Goal {
    MoreThan(f64),
    LessThan(f64),
}

impl RangePreset {
    pub const ALL: [RangePreset; 3] = [
        RangePreset::Standard,
        RangePreset::OlderHighRisk,
        RangePreset::Pregnancy,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            RangePreset::Standard => "standard",
            RangePreset::OlderHighRisk => "older_high_risk",
            RangePreset::Pregnancy => "pregnancy",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw.trim())
            .ok_or_else(|| {
                CoreError::invalid(
                    "ranges",
                    "invalid_ranges",
                    "The glycemic ranges are standard, older_high_risk or pregnancy.",
                )
            })
    }

    pub fn label(&self) -> &'static str {
        match self {
            RangePreset::Standard => "Standard targets (type 1 and type 2 diabetes)",
            RangePreset::OlderHighRisk => "Older or high-risk adults",
            RangePreset::Pregnancy => "Pregnancy (type 1 diabetes)",
        }
    }

    /// The target range in mg/dL, both ends included.
    pub fn target_mg_dl(&self) -> (f64, f64) {
        match self {
            RangePreset::Pregnancy => (63.0, 140.0),
            RangePreset::Standard | RangePreset::OlderHighRisk => (70.0, 180.0),
        }
    }

    fn goals(&self) -> &'static [(Measure, Goal)] {
        use Goal::*;
        use Measure::*;
        match self {
            RangePreset::Standard => &[
                (InTarget, MoreThan(70.0)),
                (BelowTarget, LessThan(4.0)),
                (Below54, LessThan(1.0)),
                (AboveTarget, LessThan(25.0)),
                (Above250, LessThan(5.0)),
            ],
            RangePreset::OlderHighRisk => &[
                (InTarget, MoreThan(50.0)),
                (BelowTarget, LessThan(1.0)),
                (Above250, LessThan(10.0)),
            ],
            RangePreset::Pregnancy => &[
                (InTarget, MoreThan(70.0)),
                (BelowTarget, LessThan(4.0)),
                (Below54, LessThan(1.0)),
                (AboveTarget, LessThan(25.0)),
            ],
        }
    }
}

/// Percent of CGM time below, in and above a target range (time-weighted like the consensus ranges).
pub fn time_in_target(readings: &[Reading], low: f64, high: f64) -> [f64; 3] {
    let [very_low, below, within, above, very_high] = time_in_parts(readings, low, high);
    [very_low + below, within, above + very_high]
}

/// Percent of CGM time < 54, from 54 to below `low`, from `low` to `high` (inclusive), above `high`
/// to 250, and > 250 mg/dL. With the standard targets these are the five consensus ranges. `low` and
/// `high` are the edges of a preset's target ([`Tally::parts`]).
pub fn time_in_parts(readings: &[Reading], low: f64, high: f64) -> [f64; 5] {
    Tally::of_readings(readings, 0).parts(low, high)
}

/// One goal of the preset with the patient's value.
#[derive(Debug, Clone, Serialize)]
pub struct GoalResult {
    /// What is measured, for example "Time in range 63–140 mg/dL".
    pub label: String,
    /// The goal, for example "> 70 %".
    pub goal: String,
    pub value_percent: f64,
    pub met: bool,
}

/// The preset's target range (in the report's units) and how the patient did against each goal.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    pub preset: RangePreset,
    pub label: &'static str,
    pub target_low: f64,
    pub target_high: f64,
    pub below_target_percent: f64,
    pub in_target_percent: f64,
    pub above_target_percent: f64,
    /// Empty when there are no CGM readings.
    pub goals: Vec<GoalResult>,
}

/// The targets of `preset` for a period's CGM tally; `show` turns mg/dL into the report's units and
/// `units` names them.
pub fn assess(
    preset: RangePreset,
    tally: &Tally,
    show: impl Fn(f64) -> f64,
    units: &str,
) -> Targets {
    let (low, high) = preset.target_mg_dl();
    // The preset's ranges as five parts (< 54, 54 to below the target, the target, above it to 250,
    // > 250), rounded together so that every printed sum is the sum of its printed parts.
    let [very_low, below_rest, within, above_rest, very_high] =
        round_tenths(tally.parts(low, high));
    let percent = |tenths: u64| tenths as f64 / 10.0;
    let (below, above) = (
        percent(very_low + below_rest),
        percent(above_rest + very_high),
    );
    let (very_low, within, very_high) = (percent(very_low), percent(within), percent(very_high));
    let (low_shown, high_shown) = (show(low), show(high));
    let goals = if tally.readings() == 0 {
        Vec::new()
    } else {
        preset
            .goals()
            .iter()
            .map(|(measure, goal)| {
                let (label, value) = match measure {
                    Measure::InTarget => (
                        format!("Time in range {low_shown}–{high_shown} {units}"),
                        within,
                    ),
                    Measure::BelowTarget => (format!("Time below {low_shown} {units}"), below),
                    Measure::Below54 => (format!("Time below {} {units}", show(54.0)), very_low),
                    Measure::AboveTarget => (format!("Time above {high_shown} {units}"), above),
                    Measure::Above250 => (format!("Time above {} {units}", show(250.0)), very_high),
                };
                let (goal, met) = match goal {
                    Goal::MoreThan(p) => (format!("> {p} %"), value > *p),
                    Goal::LessThan(p) => (format!("< {p} %"), value < *p),
                };
                GoalResult {
                    label,
                    goal,
                    value_percent: value,
                    met,
                }
            })
            .collect()
    };
    Targets {
        preset,
        label: preset.label(),
        target_low: low_shown,
        target_high: high_shown,
        below_target_percent: below,
        in_target_percent: within,
        above_target_percent: above,
        goals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn readings(values: &[f64]) -> Vec<Reading> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Reading {
                at: Timestamp::from_second(1_790_000_000 + i as i64 * 300).expect("ts"),
                mg_dl: *v,
                interval_minutes: 5.0,
            })
            .collect()
    }

    #[test]
    fn pregnancy_range_includes_both_ends() {
        let r = readings(&[62.9, 63.0, 140.0, 140.1]);
        assert_eq!(time_in_target(&r, 63.0, 140.0), [25.0, 50.0, 25.0]);
    }

    #[test]
    fn goals_follow_the_preset() {
        // 8 % below 70 (all 54–69), 92 % in range.
        let mut values = vec![60.0; 8];
        values.extend(vec![120.0; 92]);
        let r = readings(&values);
        let standard = assess(
            RangePreset::Standard,
            &Tally::of_readings(&r, 1),
            |v| v,
            "mg/dL",
        );
        assert_eq!(standard.goals.len(), 5);
        assert!(standard.goals[0].met, "92 % > 70 %");
        assert!(!standard.goals[1].met, "8 % below 70 is not < 4 %");
        assert_eq!(standard.goals[1].label, "Time below 70 mg/dL");
        let older = assess(
            RangePreset::OlderHighRisk,
            &Tally::of_readings(&r, 1),
            |v| v,
            "mg/dL",
        );
        assert_eq!(older.goals[0].goal, "> 50 %");
        assert_eq!(older.goals[1].goal, "< 1 %");
        let pregnancy = assess(
            RangePreset::Pregnancy,
            &Tally::of_readings(&r, 1),
            |v| v,
            "mg/dL",
        );
        assert_eq!((pregnancy.target_low, pregnancy.target_high), (63.0, 140.0));
        assert_eq!(pregnancy.goals[0].label, "Time in range 63–140 mg/dL");
        assert_eq!(pregnancy.below_target_percent, 8.0, "60 < 63");
    }

    #[test]
    fn a_printed_sum_is_the_sum_of_its_printed_parts() {
        // Of 5000 equal readings 0.74 % very low and 1.22 % low: "below 70" (1.96 %) prints as
        // 0.7 + 1.2 = 1.9, not 2.0; high 5.98 % and in range 91.06 % take the missing tenths.
        let mut values = vec![50.0; 37];
        values.extend(vec![60.0; 61]);
        values.extend(vec![120.0; 4553]);
        values.extend(vec![200.0; 299]);
        values.extend(vec![300.0; 50]);
        let r = readings(&values);
        let standard = assess(
            RangePreset::Standard,
            &Tally::of_readings(&r, 1),
            |v| v,
            "mg/dL",
        );
        let value = |label: &str| {
            standard
                .goals
                .iter()
                .find(|g| g.label == label)
                .map(|g| g.value_percent)
        };
        assert_eq!(value("Time below 54 mg/dL"), Some(0.7));
        assert_eq!(value("Time below 70 mg/dL"), Some(1.9));
        assert_eq!(standard.below_target_percent, 1.9);
        assert_eq!(value("Time above 250 mg/dL"), Some(1.0));
        assert_eq!(value("Time above 180 mg/dL"), Some(7.0));
        assert_eq!(value("Time in range 70–180 mg/dL"), Some(91.1));
        let printed = crate::report::metrics::compute(&r, 5000.0 * 5.0, &jiff::tz::TimeZone::UTC)
            .time_in_ranges
            .rounded();
        assert_eq!(
            printed.shares(),
            [0.7, 1.2, 91.1, 6.0, 1.0],
            "the bar prints the same parts"
        );
    }

    #[test]
    fn no_readings_no_goals_and_presets_round_trip() {
        let none = assess(RangePreset::Pregnancy, &Tally::default(), |v| v, "mg/dL");
        assert!(none.goals.is_empty());
        for preset in RangePreset::ALL {
            assert_eq!(RangePreset::parse(preset.as_str()).expect("parse"), preset);
        }
        assert!(RangePreset::parse("tight").is_err());
    }
}
