//! Data completeness: how much of what the devices should have recorded is there. Shown after an upload
//! (for that file) and in every report (for its period), on one rule (docs/UPLOADS.md, "Data
//! completeness"):
//! - **readings**, per CGM device: expected = the span ÷ the device's own interval (1, 5 or 15 minutes,
//!   from its readings), present = readings in the span;
//! - **gaps**: stretches of more than 2 hours without a CGM reading (any device);
//! - **days without insulin data**: local days with CGM readings but no bolus, basal, automatic or
//!   long-acting insulin event, listed only when the data holds insulin at all (a CGM-only person has
//!   none to miss).

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::event::{Body, Event};
use crate::report::metrics::device_interval_minutes;

/// Gaps longer than this count.
pub const GAP_SECONDS: i64 = 2 * 3600;
/// At most this many gaps and days are listed (the counts have them all).
const LISTED: usize = 50;

/// One CGM device's readings against what its interval promises.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceReadings {
    pub device: String,
    pub interval_minutes: f64,
    pub expected: usize,
    pub present: usize,
    /// `present ÷ expected`, in percent (at most 100).
    pub percent: f64,
}

/// A stretch without CGM readings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub from: Timestamp,
    pub to: Timestamp,
    pub minutes: i64,
}

/// The completeness of some data over a span.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Completeness {
    pub readings: Vec<DeviceReadings>,
    /// The first 50 gaps over 2 hours; `gap_count` has them all.
    pub gaps: Vec<Gap>,
    pub gap_count: usize,
    /// Whether any insulin is recorded at all.
    pub insulin_recorded: bool,
    /// The first 50 local days with CGM readings and no insulin data; `days_without_insulin_count`
    /// has them all.
    pub days_without_insulin: Vec<Date>,
    pub days_without_insulin_count: usize,
    /// Events not stored again because they already were: this upload's, or in a report those of the
    /// uploads whose data overlaps the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<usize>,
    /// Values that disagree with one stored or earlier in the file (likewise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<usize>,
}

fn is_insulin(body: &Body) -> bool {
    matches!(
        body,
        Body::Bolus { .. }
            | Body::Basal { .. }
            | Body::AutoInsulin { .. }
            | Body::LongActing { .. }
    )
}

/// The completeness of `events` over `[from, to)`, local days in `tz`. `None` for `from`/`to` takes the
/// span of the CGM readings themselves (an upload: what the file covers).
pub fn assess(
    events: &[Event],
    tz: &TimeZone,
    span: Option<(Timestamp, Timestamp)>,
) -> Completeness {
    let in_span = |at: Timestamp| span.is_none_or(|(from, to)| from <= at && at < to);
    let mut devices: Vec<(&str, Vec<Timestamp>)> = Vec::new();
    for event in events.iter().filter(|e| in_span(e.at)) {
        if let Body::Cgm { .. } = event.body {
            match devices
                .iter_mut()
                .find(|(d, _)| crate::report::build::same_device(d, &event.device))
            {
                Some((_, times)) => times.push(event.at),
                None => devices.push((&*event.device, vec![event.at])),
            }
        }
    }
    let mut readings = Vec::new();
    let mut all_times: Vec<i64> = Vec::new();
    for (device, times) in &devices {
        let interval = device_interval_minutes(times);
        let (first, last) = match span {
            Some((from, to)) => (from.as_second(), to.as_second()),
            None => (
                times.iter().map(|t| t.as_second()).min().unwrap_or(0),
                times.iter().map(|t| t.as_second()).max().unwrap_or(0) + 1,
            ),
        };
        let step = (interval * 60.0) as i64;
        let span_seconds = u64::try_from(last - first).unwrap_or(0);
        let expected =
            usize::try_from(span_seconds.div_ceil(step.max(1).unsigned_abs())).unwrap_or(0);
        let present = times.len();
        readings.push(DeviceReadings {
            device: (*device).to_owned(),
            interval_minutes: interval,
            expected,
            present,
            percent: if expected == 0 {
                0.0
            } else {
                ((present as f64 / expected as f64).min(1.0) * 1000.0).round() / 10.0
            },
        });
        all_times.extend(times.iter().map(|t| t.as_second()));
    }
    all_times.sort_unstable();
    let mut gaps = Vec::new();
    let mut previous = span.map(|(from, _)| from.as_second());
    for &at in &all_times {
        if let Some(before) = previous
            && at - before > GAP_SECONDS
            && let (Ok(from), Ok(to)) = (Timestamp::from_second(before), Timestamp::from_second(at))
        {
            gaps.push(Gap {
                from,
                to,
                minutes: (at - before) / 60,
            });
        }
        previous = Some(at);
    }
    let gap_count = gaps.len();
    gaps.truncate(LISTED);

    let insulin_recorded = events.iter().any(|e| is_insulin(&e.body));
    let mut days = LocalDays { tz, current: None };
    let mut cgm_days: Vec<Date> = Vec::new();
    for &at in &all_times {
        let day = days.of(at);
        if cgm_days.last() != Some(&day) {
            cgm_days.push(day);
        }
    }
    let insulin_days: std::collections::BTreeSet<Date> = events
        .iter()
        .filter(|e| is_insulin(&e.body))
        .map(|e| days.of(e.at.as_second()))
        .collect();
    let mut days_without_insulin: Vec<Date> = if insulin_recorded {
        cgm_days
            .into_iter()
            .filter(|day| !insulin_days.contains(day))
            .collect()
    } else {
        Vec::new()
    };
    let days_without_insulin_count = days_without_insulin.len();
    days_without_insulin.truncate(LISTED);
    Completeness {
        readings,
        gaps,
        gap_count,
        insulin_recorded,
        days_without_insulin,
        days_without_insulin_count,
        duplicates: None,
        conflicts: None,
    }
}

/// The local date of instants, with one zone lookup per local day instead of one per instant.
struct LocalDays<'a> {
    tz: &'a TimeZone,
    /// The last day found: its first second, the first second of the next, and the date.
    current: Option<(i64, i64, Date)>,
}

impl LocalDays<'_> {
    fn of(&mut self, at: i64) -> Date {
        if let Some((from, to, day)) = self.current
            && (from..to).contains(&at)
        {
            return day;
        }
        let instant = Timestamp::from_second(at).unwrap_or_default();
        let day = self.tz.to_datetime(instant).date();
        let start = |date: Date| {
            self.tz
                .to_ambiguous_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
                .compatible()
                .map(|t| t.as_second())
        };
        if let (Ok(from), Some(Ok(to))) = (start(day), day.tomorrow().ok().map(start)) {
            self.current = Some((from, to, day));
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cgm(minutes: i64) -> Event {
        Event {
            at: Timestamp::from_second(1_767_225_600 + minutes * 60).expect("ts"),
            utc_offset_minutes: 0,
            device: "sensor".into(),
            body: Body::Cgm {
                glucose_tenths_mg_dl: 1200,
            },
        }
    }

    #[test]
    fn readings_gaps_and_days_without_insulin_follow_the_rule() {
        // Two days of 5-minute readings with a 3-hour hole on the first, a bolus on the first day only.
        let mut events: Vec<Event> = (0..2 * 288)
            .filter(|i| !(100..136).contains(i))
            .map(|i| cgm(i * 5))
            .collect();
        events.push(Event {
            body: Body::Bolus {
                immediate_milliunits: 2000,
                extended_milliunits: 0,
                extended_minutes: 0,
                automatic: false,
            },
            ..cgm(600)
        });
        let found = assess(&events, &TimeZone::UTC, None);
        assert_eq!(found.readings[0].interval_minutes, 5.0);
        assert_eq!(found.readings[0].expected, 576);
        assert_eq!(found.readings[0].present, 540);
        assert_eq!(found.readings[0].percent, 93.8);
        assert_eq!(found.gap_count, 1);
        assert_eq!(found.gaps[0].minutes, 185);
        assert_eq!(
            found.days_without_insulin,
            vec![jiff::civil::date(2026, 1, 2)]
        );
        // CGM only: no day lacks insulin that was never recorded.
        let cgm_only: Vec<Event> = events
            .into_iter()
            .filter(|e| e.body.kind() == super::super::Kind::Cgm)
            .collect();
        let found = assess(&cgm_only, &TimeZone::UTC, None);
        assert!(!found.insulin_recorded && found.days_without_insulin.is_empty());
    }
}
