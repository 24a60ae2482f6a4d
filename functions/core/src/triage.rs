//! The clinic's triage: each linked record's numbers over a recent period (7, 14 or 30 local days
//! ending today, in the patient's zone) from the person's summary (`data::summary`), the flags that
//! say who needs attention, and the orders the list sorts by. The numbers are the report's for the
//! same period (one `Tally`, the same rounding); the rules are in docs/METRICS.md ("Triage").

use std::cmp::Ordering;
use std::collections::HashMap;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::context::Ctx;
use crate::data::summary::{self, Summary};
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::patient::{DataTimes, Freshness, LinkState, PatientRecord, fold};
use crate::report::build::day_start;
use crate::report::metrics::TimeInRanges;
use crate::report::ranges::RangePreset;
use crate::report::tally::Tally;

/// The periods the list offers, in days; 14 by default.
pub const PERIOD_DAYS: [i64; 3] = [7, 14, 30];
pub const DEFAULT_PERIOD_DAYS: i64 = 14;

/// The period's length from the query: 7, 14 or 30.
pub fn parse_period_days(raw: &str) -> Result<i64, CoreError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|d| PERIOD_DAYS.contains(d))
        .ok_or_else(|| {
            CoreError::invalid(
                "period_days",
                "invalid_period_days",
                "The period is 7, 14 or 30 days.",
            )
        })
}

/// What needs a clinician's attention (docs/METRICS.md, "Triage flags").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Time below 54 mg/dL: 1 % or more (the goal is under 1 %).
    TimeBelow54,
    /// Time below the target range: 4 % or more (older or high-risk adults: 1 % or more).
    TimeBelow70,
    /// Time in the target range: 70 % or less (older or high-risk: 50 % or less; pregnancy: 63–140).
    TimeInRange,
    /// Glucose variability: CV over 36 %.
    Cv,
    /// CGM active under 70 % of the period.
    CgmActive,
    /// The newest reading is older than the clinic's freshness limit, or there is none.
    NoRecentData,
    /// Time in range 70–180 down by 15 points or more from the previous period of the same length.
    InRangeDrop,
}

impl Flag {
    pub const ALL: [Flag; 7] = [
        Flag::TimeBelow54,
        Flag::TimeBelow70,
        Flag::TimeInRange,
        Flag::Cv,
        Flag::CgmActive,
        Flag::NoRecentData,
        Flag::InRangeDrop,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Flag::TimeBelow54 => "time_below_54",
            Flag::TimeBelow70 => "time_below_70",
            Flag::TimeInRange => "time_in_range",
            Flag::Cv => "cv",
            Flag::CgmActive => "cgm_active",
            Flag::NoRecentData => "no_recent_data",
            Flag::InRangeDrop => "in_range_drop",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == raw.trim())
            .ok_or_else(|| {
                CoreError::invalid(
                    "flag",
                    "invalid_flag",
                    format!(
                        "Filter by one of the flags: {}.",
                        Self::ALL.map(|f| f.as_str()).join(", ")
                    ),
                )
            })
    }
}

/// A column the list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    VeryLow,
    Low,
    InRange,
    Gmi,
    Cv,
    CgmActive,
    LastReading,
    InRangeChange,
}

impl SortKey {
    pub const ALL: [SortKey; 9] = [
        SortKey::Name,
        SortKey::VeryLow,
        SortKey::Low,
        SortKey::InRange,
        SortKey::Gmi,
        SortKey::Cv,
        SortKey::CgmActive,
        SortKey::LastReading,
        SortKey::InRangeChange,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::VeryLow => "very_low",
            SortKey::Low => "low",
            SortKey::InRange => "in_range",
            SortKey::Gmi => "gmi",
            SortKey::Cv => "cv",
            SortKey::CgmActive => "cgm_active",
            SortKey::LastReading => "last_reading",
            SortKey::InRangeChange => "in_range_change",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw.trim())
            .ok_or_else(|| {
                CoreError::invalid(
                    "sort",
                    "invalid_sort",
                    format!(
                        "Sort by one of: {}.",
                        Self::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }

    /// The order that puts who needs attention first: most time low, least time in range, highest
    /// GMI and CV, least CGM time, the oldest reading, the largest drop; names from A.
    pub fn attention_first(&self) -> Order {
        match self {
            SortKey::VeryLow | SortKey::Low | SortKey::Gmi | SortKey::Cv => Order::Desc,
            SortKey::Name
            | SortKey::InRange
            | SortKey::CgmActive
            | SortKey::LastReading
            | SortKey::InRangeChange => Order::Asc,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw.trim() {
            "asc" => Ok(Order::Asc),
            "desc" => Ok(Order::Desc),
            _ => Err(CoreError::invalid(
                "order",
                "invalid_order",
                "The order is asc or desc.",
            )),
        }
    }
}

/// The local dates of a period, both included.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PeriodDates {
    pub from: Date,
    pub to: Date,
}

/// A record's numbers over the period, as the list shows them (the report's for `period`).
#[derive(Debug, Clone, Serialize)]
pub struct TriageSummary {
    pub period: PeriodDates,
    /// Printed shares (adding up to 100.0); absent without readings in the period.
    pub time_in_ranges: Option<TimeInRanges>,
    /// Mean glucose in mg/dL, whole.
    pub mean: Option<f64>,
    pub gmi_percent: Option<f64>,
    pub cv_percent: Option<f64>,
    pub cgm_active_percent: f64,
    pub readings: u64,
    /// Time in range 70–180 over the previous period of the same length, when it has readings.
    pub previous_in_range: Option<f64>,
    pub flags: Vec<&'static str>,
}

impl TriageSummary {
    pub fn has(&self, flag: Flag) -> bool {
        self.flags.contains(&flag.as_str())
    }

    /// Change of time in range against the previous period, in points.
    pub fn in_range_change(&self) -> Option<f64> {
        let now = self.time_in_ranges?.in_range;
        self.previous_in_range
            .map(|before| ((now - before) * 10.0).round() / 10.0)
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// What the clinic's settings and the moment add to a summary.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub period_days: i64,
    pub now: Timestamp,
    pub freshness_days: i64,
}

/// A record's triage numbers from the person's summary: the period ends today in the summary's zone.
pub fn assess(
    summary: &Summary,
    preset: RangePreset,
    last_reading_at: Option<Timestamp>,
    setting: Setting,
) -> Result<TriageSummary, CoreError> {
    let tz = summary.time_zone();
    let to = tz.to_datetime(setting.now).date();
    let from = to
        .checked_sub((setting.period_days - 1).days())
        .unwrap_or(to);
    let minutes = |from: Date, to: Date| -> Result<f64, CoreError> {
        let end = to.tomorrow().unwrap_or(to);
        Ok((day_start(&tz, end)?.as_second() - day_start(&tz, from)?.as_second()) as f64 / 60.0)
    };
    let tally = Tally::of_days(summary.between(from, to));
    let metrics = tally.metrics(minutes(from, to)?);
    let previous_to = from.yesterday().unwrap_or(from);
    let previous_from = previous_to
        .checked_sub((setting.period_days - 1).days())
        .unwrap_or(previous_to);
    let previous = Tally::of_days(summary.between(previous_from, previous_to));
    let previous_in_range = (previous.readings() > 0).then(|| {
        previous
            .metrics(minutes(previous_from, previous_to).unwrap_or(0.0))
            .time_in_ranges
            .rounded()
            .in_range
    });
    let has_readings = tally.readings() > 0;
    let time_in_ranges = has_readings.then(|| metrics.time_in_ranges.rounded());
    let mut summary = TriageSummary {
        period: PeriodDates { from, to },
        time_in_ranges,
        mean: metrics.mean.map(f64::round),
        gmi_percent: metrics.gmi_percent.map(round1),
        cv_percent: metrics.cv_percent.map(round1),
        cgm_active_percent: round1(metrics.cgm_active_percent),
        readings: tally.readings(),
        previous_in_range,
        flags: Vec::new(),
    };
    let mut flags = Vec::new();
    if has_readings {
        let (low, high) = preset.target_mg_dl();
        let [very_low, below_rest, within, _, _] =
            crate::report::metrics::round_tenths(tally.parts(low, high));
        let (below_54, below_target, in_target) = (
            very_low as f64 / 10.0,
            (very_low + below_rest) as f64 / 10.0,
            within as f64 / 10.0,
        );
        let (below_limit, in_range_limit) = match preset {
            RangePreset::OlderHighRisk => (1.0, 50.0),
            RangePreset::Standard | RangePreset::Pregnancy => (4.0, 70.0),
        };
        if below_54 >= 1.0 {
            flags.push(Flag::TimeBelow54);
        }
        if below_target >= below_limit {
            flags.push(Flag::TimeBelow70);
        }
        if in_target <= in_range_limit {
            flags.push(Flag::TimeInRange);
        }
        if summary.cv_percent.is_some_and(|cv| cv > 36.0) {
            flags.push(Flag::Cv);
        }
        if summary.cgm_active_percent < 70.0 {
            flags.push(Flag::CgmActive);
        }
        if summary
            .in_range_change()
            .is_some_and(|change| change <= -15.0)
        {
            flags.push(Flag::InRangeDrop);
        }
    }
    if Freshness::of(last_reading_at, setting.now, setting.freshness_days) != Freshness::Recent {
        flags.push(Flag::NoRecentData);
    }
    summary.flags = flags.iter().map(Flag::as_str).collect();
    Ok(summary)
}

/// The triage numbers of each record (absent for records not linked, or linked to someone without
/// any data), from one batch read of the summaries.
pub async fn summaries(
    ctx: &Ctx,
    records: &[PatientRecord],
    times: &[DataTimes],
    setting: Setting,
) -> Result<Vec<Option<TriageSummary>>, CoreError> {
    let people: Vec<PersonId> = records
        .iter()
        .filter_map(|r| match r.link {
            LinkState::Linked { person_id, .. } => Some(person_id),
            _ => None,
        })
        .collect();
    let found: HashMap<PersonId, Summary> = summary::read_many(ctx, &people).await?;
    records
        .iter()
        .zip(times)
        .map(|(record, times)| {
            let LinkState::Linked { person_id, .. } = record.link else {
                return Ok(None);
            };
            match found.get(&person_id) {
                Some(summary) if times.last_reading_at.is_some() => Some(assess(
                    summary,
                    record.ranges,
                    times.last_reading_at,
                    setting,
                ))
                .transpose(),
                _ => Ok(None),
            }
        })
        .collect()
}

/// Sorts rows (a record and its numbers) by `key` in `order`; rows without the number go last in
/// either order, then by name.
pub fn sort(
    rows: &mut [(PatientRecord, DataTimes, Option<TriageSummary>)],
    key: SortKey,
    order: Order,
) {
    let value = |row: &(PatientRecord, DataTimes, Option<TriageSummary>)| -> Option<f64> {
        let summary = row.2.as_ref();
        let tir = summary.and_then(|s| s.time_in_ranges);
        match key {
            SortKey::Name => Some(0.0),
            SortKey::VeryLow => tir.map(|t| t.very_low),
            SortKey::Low => tir.map(|t| t.low),
            SortKey::InRange => tir.map(|t| t.in_range),
            SortKey::Gmi => summary.and_then(|s| s.gmi_percent),
            SortKey::Cv => summary.and_then(|s| s.cv_percent),
            SortKey::CgmActive => summary.map(|s| s.cgm_active_percent),
            SortKey::LastReading => row.1.last_reading_at.map(|t| t.as_second() as f64),
            SortKey::InRangeChange => summary.and_then(TriageSummary::in_range_change),
        }
    };
    let by_name = |a: &PatientRecord, b: &PatientRecord| {
        fold(&a.name)
            .cmp(&fold(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    };
    rows.sort_by(|a, b| {
        let ordered = match (value(a), value(b)) {
            (Some(x), Some(y)) => match order {
                Order::Asc => x.total_cmp(&y),
                Order::Desc => y.total_cmp(&x),
            },
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let by_name = match (key, order) {
            (SortKey::Name, Order::Desc) => by_name(&b.0, &a.0),
            _ => by_name(&a.0, &b.0),
        };
        ordered.then(by_name)
    });
}

/// The columns of the patient list's CSV export.
pub const CSV_HEADER: [&str; 24] = [
    "name",
    "date_of_birth",
    "mrn",
    "link_status",
    "last_upload_at",
    "last_reading_at",
    "freshness",
    "period_from",
    "period_to",
    "very_low_percent",
    "low_percent",
    "in_range_percent",
    "high_percent",
    "very_high_percent",
    "mean_mg_dl",
    "gmi_percent",
    "cv_percent",
    "cgm_active_percent",
    "readings",
    "previous_in_range_percent",
    "in_range_change_points",
    "flags",
    "targets",
    "patient_id",
];

/// The patient list as CSV, the rows in the order given: the numbers as the list shows them, an
/// empty cell where nothing was recorded (never 0), flags separated by `;`.
pub fn list_csv(
    rows: &[(PatientRecord, DataTimes, Option<TriageSummary>)],
    now: Timestamp,
    freshness_days: i64,
) -> Vec<u8> {
    use crate::data::export::cell;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(CSV_HEADER);
    let number = |value: Option<f64>| value.map_or(String::new(), |v| format!("{v:.1}"));
    for (record, times, summary) in rows {
        let tir = summary.as_ref().and_then(|s| s.time_in_ranges);
        let share = |pick: fn(&TimeInRanges) -> f64| number(tir.as_ref().map(pick));
        let row = [
            cell(&record.name),
            record.date_of_birth.to_string(),
            cell(record.mrn.as_deref().unwrap_or("")),
            record.link.status().to_owned(),
            times
                .last_upload_at
                .map_or(String::new(), |t| t.to_string()),
            times
                .last_reading_at
                .map_or(String::new(), |t| t.to_string()),
            Freshness::of(times.last_reading_at, now, freshness_days)
                .as_str()
                .to_owned(),
            summary
                .as_ref()
                .map_or(String::new(), |s| s.period.from.to_string()),
            summary
                .as_ref()
                .map_or(String::new(), |s| s.period.to.to_string()),
            share(|t| t.very_low),
            share(|t| t.low),
            share(|t| t.in_range),
            share(|t| t.high),
            share(|t| t.very_high),
            summary
                .as_ref()
                .and_then(|s| s.mean)
                .map_or(String::new(), |m| format!("{m:.0}")),
            number(summary.as_ref().and_then(|s| s.gmi_percent)),
            number(summary.as_ref().and_then(|s| s.cv_percent)),
            number(summary.as_ref().map(|s| s.cgm_active_percent)),
            summary
                .as_ref()
                .map_or(String::new(), |s| s.readings.to_string()),
            number(summary.as_ref().and_then(|s| s.previous_in_range)),
            number(summary.as_ref().and_then(TriageSummary::in_range_change)),
            summary
                .as_ref()
                .map_or(String::new(), |s| s.flags.join(";")),
            record.ranges.as_str().to_owned(),
            record.id.to_string(),
        ];
        let _ = writer.write_record(&row);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tally::{DayTally, DeviceDay};

    /// A summary of `days` days up to today (UTC), each with readings every 5 minutes for
    /// `hours_a_day` hours, all at `tenths`, except that `low_readings` a day are at 60 mg/dL.
    fn summary(
        now: Timestamp,
        days: i64,
        hours_a_day: i64,
        tenths: i64,
        low_readings: i64,
    ) -> Summary {
        let today = jiff::tz::TimeZone::UTC.to_datetime(now).date();
        let days = (0..days)
            .map(|back| {
                let date = today.checked_sub(back.days()).expect("date");
                let start = day_start(&jiff::tz::TimeZone::UTC, date)
                    .expect("start")
                    .as_second();
                let mut device = DeviceDay::new("cgm");
                for i in 0..hours_a_day * 12 {
                    device.add(start + i * 300, if i < low_readings { 600 } else { tenths });
                }
                DayTally {
                    date,
                    devices: vec![device],
                }
            })
            .rev()
            .collect();
        Summary {
            zone: "UTC".into(),
            days,
        }
    }

    fn setting(now: Timestamp) -> Setting {
        Setting {
            period_days: 14,
            now,
            freshness_days: 7,
        }
    }

    #[test]
    fn a_well_controlled_patient_raises_no_flag() {
        let now: Timestamp = "2026-12-02T23:59:00Z".parse().expect("ts");
        let s = assess(
            &summary(now, 28, 24, 1200, 0),
            RangePreset::Standard,
            Some(now),
            setting(now),
        )
        .expect("assess");
        assert!(s.flags.is_empty(), "{:?}", s.flags);
        assert_eq!(s.mean, Some(120.0));
        assert_eq!(s.previous_in_range, Some(100.0));
        assert_eq!(s.period.to.to_string(), "2026-12-02");
        assert_eq!(s.period.from.to_string(), "2026-11-19");
    }

    #[test]
    fn flags_follow_the_consensus_thresholds_and_the_preset() {
        let now: Timestamp = "2026-12-02T23:59:00Z".parse().expect("ts");
        // 12 of 288 readings a day at 60 mg/dL: 4.2 % below 70, none below 54.
        let some_lows = summary(now, 14, 24, 1200, 12);
        let standard =
            assess(&some_lows, RangePreset::Standard, Some(now), setting(now)).expect("a");
        assert_eq!(standard.flags, vec!["time_below_70"]);
        // 3 a day: 1.0 %: fine for standard targets, not for older or high-risk adults (< 1 %).
        let few_lows = summary(now, 14, 24, 1200, 3);
        let standard =
            assess(&few_lows, RangePreset::Standard, Some(now), setting(now)).expect("a");
        assert!(standard.flags.is_empty());
        let older = assess(
            &few_lows,
            RangePreset::OlderHighRisk,
            Some(now),
            setting(now),
        )
        .expect("a");
        assert_eq!(older.flags, vec!["time_below_70"]);
        // 150 mg/dL is in range 70–180 but above the pregnancy target 63–140.
        let pregnancy = assess(
            &summary(now, 14, 24, 1500, 0),
            RangePreset::Pregnancy,
            Some(now),
            setting(now),
        )
        .expect("a");
        assert_eq!(pregnancy.flags, vec!["time_in_range"]);
        // Twelve hours of readings a day: CGM active 50 %.
        let half = assess(
            &summary(now, 14, 12, 1200, 0),
            RangePreset::Standard,
            Some(now),
            setting(now),
        )
        .expect("a");
        assert_eq!(half.cgm_active_percent, 50.0);
        assert_eq!(half.flags, vec!["cgm_active"]);
    }

    #[test]
    fn old_data_is_flagged_and_shows_no_numbers_it_does_not_have() {
        let now: Timestamp = "2026-12-02T12:00:00Z".parse().expect("ts");
        let then: Timestamp = "2026-11-01T12:00:00Z".parse().expect("ts");
        let s = assess(
            &summary(then, 10, 24, 1200, 0),
            RangePreset::Standard,
            Some(then),
            setting(now),
        )
        .expect("assess");
        assert_eq!(s.flags, vec!["no_recent_data"]);
        assert_eq!((s.readings, s.mean, s.time_in_ranges), (0, None, None));
    }

    #[test]
    fn queries_are_parsed_or_refused_with_a_reason() {
        assert_eq!(parse_period_days("30").expect("30"), 30);
        for bad in ["0", "15", "90", "x", ""] {
            assert!(parse_period_days(bad).is_err(), "{bad}");
        }
        for flag in Flag::ALL {
            assert_eq!(Flag::parse(flag.as_str()).expect("flag"), flag);
        }
        assert!(Flag::parse("low").is_err());
        assert!(SortKey::parse("mean").is_err());
        assert!(Order::parse("up").is_err());
    }
}
