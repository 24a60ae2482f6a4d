//! Building a report for a person and a local date range: read the stored events (one query, a UTC day
//! either side), keep those on the local days asked for, and compute the metrics, the AGP percentiles
//! by time of day, the daily summaries, insulin and carbs. Glucose leaves in the requested units.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use super::memo;
use super::metrics::{self, Metrics, Reading, TimeInRanges};
use super::ranges::{self, RangePreset, Targets};
use super::tally::Tally;
use crate::context::Ctx;
use crate::data::completeness::{self, Completeness};
use crate::data::event::{BasalKind, Body, Event, MG_DL_PER_MMOL_L};
use crate::data::{store, upload};
use crate::error::CoreError;
use crate::ids::PersonId;

/// The notice every report carries.
pub const ADJUNCT_NOTICE: &str = "glucolink reports are intended for use as an adjunct in the management of diabetes only and are not intended to be relied upon by themselves. Patients should consult their healthcare providers before making changes in treatment.";

/// Longest period one report covers.
pub const MAX_DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum Units {
    #[serde(rename = "mg/dL")]
    #[default]
    MgDl,
    #[serde(rename = "mmol/L")]
    MmolL,
}

impl Units {
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw {
            "mg/dL" | "mg/dl" | "mgdl" => Ok(Units::MgDl),
            "mmol/L" | "mmol/l" | "mmol" => Ok(Units::MmolL),
            _ => Err(CoreError::invalid(
                "glucose_units",
                "invalid_units",
                "The units are mg/dL or mmol/L.",
            )),
        }
    }

    /// The units' name as shown.
    pub fn name(&self) -> &'static str {
        match self {
            Units::MgDl => "mg/dL",
            Units::MmolL => "mmol/L",
        }
    }

    /// A glucose value in these units, rounded for display (whole mg/dL, one decimal of mmol/L).
    pub fn show(&self, mg_dl: f64) -> f64 {
        match self {
            Units::MgDl => mg_dl.round(),
            Units::MmolL => (mg_dl / MG_DL_PER_MMOL_L * 10.0).round() / 10.0,
        }
    }
}

/// The period: local calendar dates, both inclusive.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Period {
    pub from: Date,
    pub to: Date,
    pub days: i64,
    /// True when no end was chosen and the newest data is older than the freshness limit, so the
    /// period ends on the day of the newest reading instead of today (never an empty report).
    pub ends_at_newest_data: bool,
}

impl Period {
    pub fn parse(from: &str, to: &str) -> Result<Self, CoreError> {
        // Dates near the ends of the calendar would overflow the day arithmetic: data is from 1900–2200.
        let date = |field: &'static str, raw: &str| {
            raw.parse::<Date>()
                .ok()
                .filter(|d| (1900..=2200).contains(&d.year()))
                .ok_or_else(|| {
                    CoreError::invalid(
                        field,
                        "invalid_date",
                        format!("{field} is a date like 2026-11-20, between 1900 and 2200."),
                    )
                })
        };
        let (from, to) = (date("from", from)?, date("to", to)?);
        if from > to {
            return Err(CoreError::invalid(
                "from",
                "invalid_period",
                "The period starts after it ends.",
            ));
        }
        let days = i64::from((to - from).get_days()) + 1;
        if days > MAX_DAYS {
            return Err(CoreError::invalid(
                "to",
                "invalid_period",
                format!("A report covers at most {MAX_DAYS} days."),
            ));
        }
        Ok(Self {
            from,
            to,
            days,
            ends_at_newest_data: false,
        })
    }

    /// The period of the same length just before this one (for the comparison page).
    pub fn previous(&self) -> Self {
        self.ending_on(self.from.yesterday().unwrap_or(self.from), false)
    }

    /// The same number of days, ending on `to` (the day of the newest reading).
    pub fn ending_at_newest_data(&self, to: Date) -> Self {
        self.ending_on(to, true)
    }

    fn ending_on(&self, to: Date, ends_at_newest_data: bool) -> Self {
        let from = to
            .checked_sub(jiff::Span::new().days(self.days - 1))
            .unwrap_or(to);
        Self {
            from,
            to,
            days: self.days,
            ends_at_newest_data,
        }
    }
}

/// Metrics with glucose in the report's units; percentages unchanged.
#[derive(Debug, Clone, Serialize)]
pub struct ShownMetrics {
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub cv_percent: Option<f64>,
    pub gmi_percent: Option<f64>,
    pub cgm_active_percent: f64,
    pub days_with_data: usize,
    pub readings: usize,
    pub gri: Option<f64>,
    pub time_in_ranges: TimeInRanges,
}

fn shown(m: &Metrics, units: Units) -> ShownMetrics {
    let round1 = |v: f64| (v * 10.0).round() / 10.0;
    ShownMetrics {
        mean: m.mean.map(|v| units.show(v)),
        sd: m.sd.map(|v| match units {
            Units::MgDl => round1(v),
            Units::MmolL => (v / MG_DL_PER_MMOL_L * 100.0).round() / 100.0,
        }),
        cv_percent: m.cv_percent.map(round1),
        gmi_percent: m.gmi_percent.map(round1),
        cgm_active_percent: round1(m.cgm_active_percent),
        days_with_data: m.days_with_data,
        readings: m.readings,
        gri: m.gri.map(round1),
        // As printed: to tenths that add up to 100.0 (docs/METRICS.md, "Printed percentages").
        time_in_ranges: m.time_in_ranges.rounded(),
    }
}

/// Percentiles of glucose in one half hour of the day, over all days.
#[derive(Debug, Clone, Serialize)]
pub struct AgpBin {
    pub minute_of_day: u32,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DaySummary {
    pub date: Date,
    pub readings: usize,
    pub mean: Option<f64>,
    pub in_range_percent: Option<f64>,
    pub bolus_units: f64,
    /// Basal insulin: the pump's programmed and temporary basal delivered, plus long-acting injections.
    pub basal_units: f64,
    /// Insulin the pump's automation gave (780G SmartGuard: auto basal and auto corrections).
    pub automatic_units: f64,
    /// Long-acting injections (already part of `basal_units`).
    pub long_acting_units: f64,
    pub carbs_grams: f64,
    pub boluses: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Insulin {
    /// Averages per day with insulin data: basal + bolus + automatic. `None` when basal insulin is not
    /// recorded at all (pens without long-acting entries), since a dose of boluses alone is not a total.
    pub total_daily_dose: Option<f64>,
    /// `None` when no basal insulin is recorded in the period (never a 0 that looks real).
    pub basal_per_day: Option<f64>,
    pub bolus_per_day: f64,
    /// Insulin the pump's automation gave per day (its own share, neither basal nor bolus).
    pub automatic_per_day: f64,
    /// Shares of the total daily dose; `None` when the total is not known.
    pub basal_percent: Option<f64>,
    pub bolus_percent: Option<f64>,
    pub automatic_percent: Option<f64>,
    pub boluses_per_day: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Carbs {
    pub grams_per_day: f64,
    /// Grams in each 6-hour part of the day: night (0–6), morning (6–12), afternoon (12–18), evening (18–24).
    pub by_time_of_day: [f64; 4],
}

/// One point of a daily chart: the local wall-clock minute of the day and a value (glucose in the
/// report's units, insulin in units, carbs in grams).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub minute: u16,
    pub value: f32,
}

/// Basal delivery at `rate` U/h from one local minute of the day to another.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BasalStep {
    pub from_minute: u16,
    pub to_minute: u16,
    pub rate: f32,
    pub kind: BasalKind,
}

/// Everything the daily-detail page draws for one local day.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DayDetail {
    pub cgm: Vec<Point>,
    pub meter: Vec<Point>,
    pub boluses: Vec<Point>,
    pub carbs: Vec<Point>,
    pub basal: Vec<BasalStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub period: Period,
    pub units: Units,
    /// mg/dL per mmol/L, the factor used for mmol/L.
    pub conversion_factor: f64,
    pub time_zone: String,
    pub metrics: ShownMetrics,
    /// The patient's target range and goals (consensus presets).
    pub targets: Targets,
    /// Set when the data is too little for the metrics to be reliable (consensus: 14 days, 70 % active).
    pub sufficiency_warning: Option<String>,
    pub agp: Vec<AgpBin>,
    pub days: Vec<DaySummary>,
    pub insulin: Insulin,
    pub carbs: Carbs,
    /// Readings expected vs present per CGM, gaps over 2 hours, days without insulin data, over the
    /// period up to the newest data (docs/UPLOADS.md, "Data completeness").
    pub completeness: Completeness,
    pub notice: &'static str,
    /// The traces of each day, for the HTML and PDF pages (not in the JSON: the numbers are above);
    /// empty unless `Options::detail` asked for them.
    #[serde(skip)]
    pub detail: Vec<DayDetail>,
}

/// What a report is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub period: Period,
    pub tz: TimeZone,
    pub units: Units,
    pub ranges: RangePreset,
    /// Whether to keep each day's traces (`Report::detail`), which only the HTML and PDF pages draw.
    pub detail: bool,
}

/// Whether two device names are the same: events decoded from one day item share the name's
/// allocation, so most comparisons end at the pointer.
pub(crate) fn same_device(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// The `p` quantile (0–1) of sorted values in tenths of mg/dL, in mg/dL, interpolated between the two
/// nearest ranks.
fn percentile(sorted: &[u16], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = p * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    let (low_value, high_value) = (
        f64::from(sorted[low]) / 10.0,
        f64::from(sorted[high]) / 10.0,
    );
    low_value + (high_value - low_value) * (rank - low as f64)
}

/// Basal delivery as steps `(from, to, U/h, kind)` in `[start, end)` (seconds), from the basal and
/// pump-mode events in time order (docs/UPLOADS.md, "Insulin rules"):
/// - a scheduled rate runs until the next scheduled rate, or for its own duration when it has one;
/// - a temporary rate or a suspend runs for its duration over whatever is scheduled (a scheduled change
///   meanwhile does not end it), or, without a duration, until the next basal event;
/// - while the pump's automation is on, the programmed schedule is not delivered (the automation's own
///   insulin is counted from its totals, see `Body::AutoInsulin`);
/// - nothing runs more than a day past the newest basal event, nor past `data_until`, the newest
///   instant the data covers (its newest event and the 5 minutes a reading stands for): a pump that
///   stopped reporting delivered nothing we know of.
fn basal_steps(
    events: &[&Event],
    start: i64,
    end: i64,
    data_until: i64,
) -> Vec<(i64, i64, f64, BasalKind)> {
    struct State {
        /// (U/h, until) of the programmed schedule.
        scheduled: Option<(f64, i64)>,
        /// (U/h, kind, until; `None` until the next basal event) of a temporary rate or suspend.
        temporary: Option<(f64, BasalKind, Option<i64>)>,
        automatic: bool,
    }
    let mut steps = Vec::new();
    let mut push = |from: i64, to: i64, rate: f64, kind: BasalKind| {
        let (from, to) = (from.max(start), to.min(end));
        if from < to {
            steps.push((from, to, rate, kind));
        }
    };
    let mut state = State {
        scheduled: None,
        temporary: None,
        automatic: false,
    };
    let mut run = |state: &State, from: i64, to: i64| {
        let mut at = from;
        while at < to {
            if let Some((rate, kind, until)) = state.temporary
                && until.is_none_or(|u| u > at)
            {
                let piece_end = until.map_or(to, |u| u.min(to));
                push(at, piece_end, rate, kind);
                at = piece_end;
            } else if let Some((rate, until)) = state.scheduled
                && !state.automatic
                && until > at
            {
                let piece_end = until.min(to);
                push(at, piece_end, rate, BasalKind::Scheduled);
                at = piece_end;
            } else {
                break;
            }
        }
    };
    for (i, event) in events.iter().enumerate() {
        let at = event.at.as_second();
        match event.body {
            Body::Basal {
                rate_milliunits_per_hour,
                duration_seconds,
                basal,
            } => {
                let rate = f64::from(rate_milliunits_per_hour) / 1000.0;
                let until = (duration_seconds > 0).then(|| at + i64::from(duration_seconds));
                if basal == BasalKind::Scheduled {
                    state.scheduled = Some((rate, until.unwrap_or(i64::MAX)));
                    if state.temporary.is_some_and(|(_, _, u)| u.is_none()) {
                        state.temporary = None;
                    }
                } else {
                    state.temporary = Some((rate, basal, until));
                }
            }
            Body::PumpMode { automatic } => state.automatic = automatic,
            _ => continue,
        }
        let next = events.get(i + 1).map_or(end, |n| n.at.as_second());
        run(&state, at, next.min(at + 86_400).min(data_until));
    }
    steps
}

/// Basal insulin delivered in `[start, end)`.
#[cfg(test)]
fn basal_units(events: &[&Event], start: i64, end: i64) -> f64 {
    basal_steps(events, start, end, i64::MAX)
        .iter()
        .map(|(from, to, rate, _)| rate * (to - from) as f64 / 3600.0)
        .sum()
}

/// Local wall-clock time of instants in one zone over a period, from the zone's few offset changes in
/// it rather than a zone lookup per event (the slow part of a report before).
struct LocalClock {
    /// `(from second, offset seconds)`, in time order; the first applies from the start of time.
    offsets: Vec<(i64, i64)>,
}

impl LocalClock {
    fn new(tz: &TimeZone, start: Timestamp, end: Timestamp) -> Self {
        let mut offsets = vec![(i64::MIN, i64::from(tz.to_offset(start).seconds()))];
        for transition in tz.following(start) {
            if transition.timestamp() > end {
                break;
            }
            offsets.push((
                transition.timestamp().as_second(),
                i64::from(transition.offset().seconds()),
            ));
        }
        Self { offsets }
    }

    /// Seconds since 1970-01-01T00:00 local time.
    fn local_seconds(&self, at: Timestamp) -> i64 {
        let second = at.as_second();
        let i = self.offsets.partition_point(|(from, _)| *from <= second);
        second + self.offsets[i.saturating_sub(1)].1
    }
}

/// The instant a local date starts in `tz` (the first instant of the day when midnight is skipped).
pub(crate) fn day_start(tz: &TimeZone, date: Date) -> Result<Timestamp, CoreError> {
    tz.to_ambiguous_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .compatible()
        .map_err(|e| CoreError::Internal(e.to_string()))
}

/// Days since 1970-01-01 of a date.
fn epoch_day(date: Date) -> i64 {
    i64::from((date - Date::constant(1970, 1, 1)).get_days())
}

/// Builds the report of a person's data: the remembered one when the data is the same as when it was
/// composed (a query of keys and revisions says so), else one store query, then [`compose`].
pub async fn build(ctx: &Ctx, person: PersonId, options: &Options) -> Result<Report, CoreError> {
    let period = options.period;
    let read_from = period.from.checked_sub(1.day()).unwrap_or(period.from);
    let read_to = period.to.checked_add(1.day()).unwrap_or(period.to);
    // Recognise the data by its keys and revisions first (a small read); read it whole only when the
    // report is not remembered.
    let content = store::read_content(ctx, person, read_from, read_to).await?;
    let remembered = content
        .as_deref()
        .and_then(|content| memo::key(person, options, content))
        .and_then(|key| memo::recall(&key));
    let mut report = match remembered {
        Some(report) => report,
        None => {
            let items = store::read_items(ctx, person, read_from, read_to).await?;
            let report = compose(&items.events()?, options)?;
            let key = items
                .content
                .as_deref()
                .and_then(|content| memo::key(person, options, content));
            if let Some(key) = key {
                memo::remember(key, &report);
            }
            report
        }
    };
    let start = day_start(&options.tz, period.from)?;
    let end = day_start(
        &options.tz,
        period.to.checked_add(1.day()).unwrap_or(period.to),
    )?;
    let (duplicates, conflicts) = upload::tallies_between(ctx, person, start, end).await?;
    report.completeness.duplicates = Some(duplicates);
    report.completeness.conflicts = Some(conflicts);
    Ok(report)
}

/// The report of these events (in time order, as the store returns them); events outside the period's
/// local days are ignored.
pub fn compose(events: &[Event], options: &Options) -> Result<Report, CoreError> {
    let Options {
        period,
        tz,
        units,
        ranges,
        detail: want_detail,
    } = options;
    let (period, units) = (*period, *units);
    let days_count = period.days as usize;
    let mut day_starts = Vec::with_capacity(days_count + 1);
    let mut date = period.from;
    for _ in 0..=days_count {
        day_starts.push(day_start(tz, date)?.as_second());
        date = date.checked_add(1.day()).unwrap_or(date);
    }
    let (start, end) = (day_starts[0], day_starts[days_count]);
    let clock = LocalClock::new(
        tz,
        Timestamp::from_second(start - 86_400).unwrap_or(Timestamp::UNIX_EPOCH),
        Timestamp::from_second(end + 86_400).unwrap_or(Timestamp::UNIX_EPOCH),
    );
    let first_day = epoch_day(period.from);
    // Each event's local day (index into the period) and wall-clock minute, worked out once.
    let located: Vec<(&Event, usize, u16)> = events
        .iter()
        .filter_map(|event| {
            let local = clock.local_seconds(event.at);
            let day = local.div_euclid(86_400) - first_day;
            (0..days_count as i64)
                .contains(&day)
                .then(|| (event, day as usize, (local.rem_euclid(86_400) / 60) as u16))
        })
        .collect();

    // CGM readings, each weighted by its own device's interval.
    let mut device_times: Vec<(&str, Vec<Timestamp>)> = Vec::new();
    for (event, _, _) in &located {
        if let Body::Cgm { .. } = event.body {
            match device_times
                .iter_mut()
                .find(|(d, _)| same_device(d, &event.device))
            {
                Some((_, times)) => times.push(event.at),
                None => device_times.push((&*event.device, vec![event.at])),
            }
        }
    }
    let intervals: Vec<(&str, f64)> = device_times
        .iter()
        .map(|(device, times)| (*device, metrics::device_interval_minutes(times)))
        .collect();
    let interval_of = |device: &str| {
        intervals
            .iter()
            .find(|(d, _)| *d == device)
            .map_or(5.0, |(_, i)| *i)
    };
    let mut readings_by_day: Vec<Vec<Reading>> = vec![Vec::new(); days_count];
    // Each half hour's readings in tenths of mg/dL (whole numbers sort fast).
    let mut bins: Vec<Vec<u16>> = vec![Vec::new(); 48];
    // Empty unless the pages need it: every push below goes through `get_mut`, a no-op then.
    let mut detail: Vec<DayDetail> =
        vec![DayDetail::default(); if *want_detail { days_count } else { 0 }];
    let mut carbs_by_part = [0.0f64; 4];
    let mut bolus_by_day = vec![(0.0f64, 0usize); days_count];
    let mut automatic_by_day = vec![0.0f64; days_count];
    let mut long_acting_by_day = vec![0.0f64; days_count];
    let mut carbs_by_day = vec![0.0f64; days_count];
    let mut last_device: (&str, f64) = ("", 5.0);
    for &(event, day, minute) in &located {
        match event.body {
            Body::Cgm {
                glucose_tenths_mg_dl,
            } => {
                if !same_device(last_device.0, &event.device) {
                    last_device = (&*event.device, interval_of(&event.device));
                }
                let mg_dl = f64::from(glucose_tenths_mg_dl) / 10.0;
                let reading = Reading {
                    at: event.at,
                    mg_dl,
                    interval_minutes: last_device.1,
                };
                readings_by_day[day].push(reading);
                bins[usize::from(minute / 30)].push(glucose_tenths_mg_dl);
                if let Some(traces) = detail.get_mut(day) {
                    traces.cgm.push(Point {
                        minute,
                        value: units.show(mg_dl) as f32,
                    });
                }
            }
            Body::Smbg {
                glucose_tenths_mg_dl,
            } => {
                if let Some(traces) = detail.get_mut(day) {
                    traces.meter.push(Point {
                        minute,
                        value: units.show(f64::from(glucose_tenths_mg_dl) / 10.0) as f32,
                    });
                }
            }
            Body::Bolus {
                immediate_milliunits,
                extended_milliunits,
                ..
            } => {
                let given = f64::from(immediate_milliunits + extended_milliunits) / 1000.0;
                bolus_by_day[day].0 += given;
                bolus_by_day[day].1 += 1;
                if let Some(traces) = detail.get_mut(day) {
                    traces.boluses.push(Point {
                        minute,
                        value: given as f32,
                    });
                }
            }
            Body::Carbs { tenths_grams } => {
                let grams = f64::from(tenths_grams) / 10.0;
                carbs_by_day[day] += grams;
                carbs_by_part[usize::from(minute / 360).min(3)] += grams;
                if let Some(traces) = detail.get_mut(day) {
                    traces.carbs.push(Point {
                        minute,
                        value: grams as f32,
                    });
                }
            }
            Body::AutoInsulin { milliunits, .. } => {
                automatic_by_day[day] += f64::from(milliunits) / 1000.0;
            }
            Body::LongActing { milliunits } => {
                long_acting_by_day[day] += f64::from(milliunits) / 1000.0;
            }
            Body::Basal { .. } | Body::PumpMode { .. } | Body::ClockSet { .. } => {}
        }
    }
    // Each day's tally once; the period's is their sum (the same sums as adding every reading).
    let day_tallies: Vec<Tally> = readings_by_day
        .iter()
        .map(|day| Tally::of_readings(day, usize::from(!day.is_empty())))
        .collect();
    let mut tally = Tally::default();
    for day in &day_tallies {
        tally.merge(day);
    }
    let overall = tally.metrics((end - start) as f64 / 60.0);

    // AGP: percentiles of each half hour of the local day.
    let agp = bins
        .into_iter()
        .enumerate()
        .filter(|(_, values)| !values.is_empty())
        .map(|(bin, mut values)| {
            values.sort_unstable();
            let p = |q: f64| units.show(percentile(&values, q));
            AgpBin {
                minute_of_day: bin as u32 * 30,
                p5: p(0.05),
                p25: p(0.25),
                p50: p(0.5),
                p75: p(0.75),
                p95: p(0.95),
            }
        })
        .collect();

    // Basal, as steps over the whole period (a rate set yesterday still runs today), cut into days.
    let basal_events: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.body, Body::Basal { .. } | Body::PumpMode { .. }))
        .collect();
    // The data covers up to its newest event and the 5 minutes a reading stands for.
    let data_until = events
        .iter()
        .map(|e| e.at.as_second() + 300)
        .max()
        .unwrap_or(end);
    let mut basal_by_day = vec![0.0f64; days_count];
    for (from, to, rate, kind) in basal_steps(&basal_events, start, end, data_until) {
        let first = day_starts.partition_point(|s| *s <= from).saturating_sub(1);
        for day in first..days_count {
            let (day_from, day_to) = (from.max(day_starts[day]), to.min(day_starts[day + 1]));
            if day_from >= day_to {
                break;
            }
            basal_by_day[day] += rate * (day_to - day_from) as f64 / 3600.0;
            if let Some(traces) = detail.get_mut(day) {
                // A step ending at the next midnight ends at minute 1440, not 0.
                let minute_of = |at: i64, at_end: bool| -> u16 {
                    let local = clock.local_seconds(Timestamp::from_second(at).unwrap_or_default());
                    let minute = (local.rem_euclid(86_400) / 60) as u16;
                    if at_end && minute == 0 { 1440 } else { minute }
                };
                traces.basal.push(BasalStep {
                    from_minute: minute_of(day_from, false),
                    to_minute: minute_of(day_to, true),
                    rate: rate as f32,
                    kind,
                });
            }
        }
    }

    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    let days: Vec<DaySummary> = (0..days_count)
        .map(|day| {
            let day_readings = &readings_by_day[day];
            let day_metrics =
                day_tallies[day].metrics((day_starts[day + 1] - day_starts[day]) as f64 / 60.0);
            DaySummary {
                date: period
                    .from
                    .checked_add((day as i64).days())
                    .unwrap_or(period.from),
                readings: day_readings.len(),
                mean: day_metrics.mean.map(|v| units.show(v)),
                in_range_percent: day_metrics
                    .mean
                    .map(|_| (day_metrics.time_in_ranges.in_range * 10.0).round() / 10.0),
                bolus_units: round2(bolus_by_day[day].0),
                basal_units: round2(basal_by_day[day] + long_acting_by_day[day]),
                automatic_units: round2(automatic_by_day[day]),
                long_acting_units: round2(long_acting_by_day[day]),
                carbs_grams: round2(carbs_by_day[day]),
                boluses: bolus_by_day[day].1,
            }
        })
        .collect();
    let insulin_days: Vec<&DaySummary> = days
        .iter()
        .filter(|d| d.bolus_units > 0.0 || d.basal_units > 0.0 || d.automatic_units > 0.0)
        .collect();
    let per_day = |f: &dyn Fn(&DaySummary) -> f64| {
        if insulin_days.is_empty() {
            0.0
        } else {
            insulin_days.iter().map(|d| f(d)).sum::<f64>() / insulin_days.len() as f64
        }
    };
    // Basal is recorded when the data holds any basal source: pump basal or modes, the automation's
    // totals, or long-acting injections.
    let basal_recorded = events.iter().any(|e| {
        matches!(
            e.body,
            Body::Basal { .. }
                | Body::PumpMode { .. }
                | Body::AutoInsulin { .. }
                | Body::LongActing { .. }
        )
    });
    let (basal, bolus, automatic) = (
        per_day(&|d| d.basal_units),
        per_day(&|d| d.bolus_units),
        per_day(&|d| d.automatic_units),
    );
    let total = basal + bolus + automatic;
    let share =
        |part: f64| (basal_recorded && total > 0.0).then(|| (part / total * 1000.0).round() / 10.0);
    let insulin = Insulin {
        total_daily_dose: basal_recorded.then(|| round2(total)),
        basal_per_day: basal_recorded.then(|| round2(basal)),
        bolus_per_day: round2(bolus),
        automatic_per_day: round2(automatic),
        basal_percent: share(basal),
        bolus_percent: share(bolus),
        automatic_percent: share(automatic),
        boluses_per_day: round2(per_day(&|d| d.boluses as f64)),
    };
    let carb_days = days.iter().filter(|d| d.carbs_grams > 0.0).count().max(1) as f64;
    let carbs = Carbs {
        grams_per_day: round2(days.iter().map(|d| d.carbs_grams).sum::<f64>() / carb_days),
        by_time_of_day: carbs_by_part.map(|g| round2(g / carb_days)),
    };
    let sufficiency_warning = (overall.days_with_data < 14 || overall.cgm_active_percent < 70.0).then(|| {
        format!(
            "Limited data: {} with CGM data and {:.0} % CGM active (14 days and 70 % are recommended for reliable metrics).",
            if overall.days_with_data == 1 {
                "1 day".to_owned()
            } else {
                format!("{} days", overall.days_with_data)
            },
            overall.cgm_active_percent
        )
    });
    let completeness = completeness::assess(
        events,
        tz,
        Timestamp::from_second(start)
            .ok()
            .zip(Timestamp::from_second(end.min(data_until).max(start)).ok()),
    );
    let targets = ranges::assess(*ranges, &tally, |v| units.show(v), units.name());
    Ok(Report {
        period,
        units,
        conversion_factor: MG_DL_PER_MMOL_L,
        time_zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        metrics: shown(&overall, units),
        targets,
        sufficiency_warning,
        agp,
        days,
        insulin,
        carbs,
        completeness,
        notice: ADJUNCT_NOTICE,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_checked() {
        assert_eq!(
            Period::parse("2026-11-01", "2026-11-14")
                .expect("period")
                .days,
            14
        );
        assert!(Period::parse("2026-11-14", "2026-11-01").is_err());
        assert!(
            Period::parse("2026-08-01", "2026-11-14").is_err(),
            "over 90 days"
        );
        assert!(Period::parse("yesterday", "2026-11-14").is_err());
        // The ends of the calendar are refused, not a 500.
        assert!(Period::parse("9999-12-25", "9999-12-31").is_err());
        assert!(Period::parse("-009999-01-01", "-009999-01-02").is_err());
    }

    #[test]
    fn units_convert_with_the_stated_factor() {
        assert_eq!(Units::MmolL.show(180.18), 10.0);
        assert_eq!(Units::MgDl.show(99.6), 100.0);
        assert!(Units::parse("mmol").is_ok() && Units::parse("furlongs").is_err());
    }

    #[test]
    fn basal_follows_schedule_temporary_rates_and_suspends() {
        let at = |h: f64| Timestamp::from_second((h * 3600.0) as i64).expect("ts");
        let basal = |h: f64, rate: u32, minutes: u32, basal: BasalKind| Event {
            at: at(h),
            utc_offset_minutes: 0,
            device: "p".into(),
            body: Body::Basal {
                rate_milliunits_per_hour: rate,
                duration_seconds: minutes * 60,
                basal,
            },
        };
        let events = [
            basal(0.0, 1000, 0, BasalKind::Scheduled),
            basal(6.0, 2000, 60, BasalKind::Temporary),
            basal(12.0, 0, 120, BasalKind::Suspend),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        // 6 h at 1 U/h, 1 h at 2 U/h, 5 h back at 1 U/h, 2 h suspended, 10 h at 1 U/h = 23 U.
        assert!((basal_units(&refs, 0, 24 * 3600) - 23.0).abs() < 1e-9);
    }

    /// 2026-01-01T00:00Z, the day the tests below describe.
    const DAY: i64 = 1_767_225_600;

    fn at(h: f64) -> Timestamp {
        Timestamp::from_second(DAY + (h * 3600.0) as i64).expect("ts")
    }

    fn event(h: f64, body: Body) -> Event {
        Event {
            at: at(h),
            utc_offset_minutes: 0,
            device: "p".into(),
            body,
        }
    }

    fn rate(rate: u32, minutes: u32, basal: BasalKind) -> Body {
        Body::Basal {
            rate_milliunits_per_hour: rate,
            duration_seconds: minutes * 60,
            basal,
        }
    }

    #[test]
    fn the_programmed_schedule_stops_in_automatic_mode_and_at_the_end_of_the_data() {
        let events = [
            event(0.0, rate(1000, 0, BasalKind::Scheduled)),
            event(6.0, Body::PumpMode { automatic: true }),
            event(12.0, Body::PumpMode { automatic: false }),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        // 6 h manual, 6 h SmartGuard (the schedule not delivered), 12 h manual.
        assert!((basal_units(&refs, DAY, DAY + 24 * 3600) - 18.0).abs() < 1e-9);
        // The data ends at 18:00: nothing is counted after it.
        let steps = basal_steps(&refs, DAY, DAY + 24 * 3600, DAY + 18 * 3600);
        let units: f64 = steps
            .iter()
            .map(|(from, to, rate, _)| rate * (to - from) as f64 / 3600.0)
            .sum();
        assert!((units - 12.0).abs() < 1e-9, "{steps:?}");
    }

    #[test]
    fn a_temporary_rate_outlasts_a_scheduled_change() {
        let events = [
            event(0.0, rate(1000, 0, BasalKind::Scheduled)),
            event(1.0, rate(2000, 120, BasalKind::Temporary)),
            event(2.0, rate(3000, 0, BasalKind::Scheduled)),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        // 1 h at 1, the temp 2 h at 2 (not cut at 02:00), then 21 h at the new 3 U/h.
        assert!((basal_units(&refs, DAY, DAY + 24 * 3600) - 68.0).abs() < 1e-9);
    }

    fn day_report(events: &[Event]) -> Report {
        compose(
            events,
            &Options {
                period: Period::parse("2026-01-01", "2026-01-01").expect("period"),
                tz: TimeZone::UTC,
                units: Units::MgDl,
                ranges: RangePreset::Standard,
                detail: false,
            },
        )
        .expect("report")
    }

    #[test]
    fn basal_that_is_not_recorded_is_not_zero() {
        let bolus = Body::Bolus {
            immediate_milliunits: 4000,
            extended_milliunits: 0,
            extended_minutes: 0,
            automatic: false,
        };
        let pens = day_report(&[event(8.0, bolus.clone())]);
        assert_eq!(pens.insulin.bolus_per_day, 4.0);
        assert_eq!(pens.insulin.basal_per_day, None);
        assert_eq!(pens.insulin.basal_percent, None);
        assert_eq!(pens.insulin.total_daily_dose, None);
        let with_long_acting = day_report(&[
            event(8.0, bolus),
            event(22.0, Body::LongActing { milliunits: 12_000 }),
        ]);
        assert_eq!(with_long_acting.insulin.total_daily_dose, Some(16.0));
        assert_eq!(with_long_acting.insulin.basal_percent, Some(75.0));
        assert_eq!(with_long_acting.days[0].long_acting_units, 12.0);
    }

    #[test]
    fn the_automations_day_total_is_its_own_share() {
        let report = day_report(&[
            event(0.0, rate(800, 0, BasalKind::Scheduled)),
            event(0.0, Body::PumpMode { automatic: true }),
            event(
                0.0,
                Body::AutoInsulin {
                    milliunits: 11_548,
                    period_seconds: 86_400,
                },
            ),
            event(
                13.0,
                Body::Bolus {
                    immediate_milliunits: 17_475,
                    extended_milliunits: 0,
                    extended_minutes: 0,
                    automatic: false,
                },
            ),
            event(
                23.9,
                Body::Cgm {
                    glucose_tenths_mg_dl: 1200,
                },
            ),
        ]);
        let i = &report.insulin;
        // The parts as shown (11.55 + 17.48), so the total never disagrees with them.
        assert_eq!(i.total_daily_dose, Some(29.03));
        assert_eq!(
            i.basal_per_day,
            Some(0.0),
            "no programmed basal in SmartGuard"
        );
        assert_eq!(i.automatic_per_day, 11.55);
        assert_eq!(i.automatic_percent, Some(39.8));
        assert_eq!(report.days[0].boluses, 1, "the day total is not a bolus");
    }
}
