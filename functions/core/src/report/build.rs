//! Building a report for a person and a local date range: read the stored events (one query, a UTC day
//! either side), keep those on the local days asked for, and compute the metrics, the AGP percentiles
//! by time of day, the daily summaries, insulin and carbs. Glucose leaves in the requested units.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use super::metrics::{self, Metrics, Reading, TimeInRanges};
use crate::context::Ctx;
use crate::data::event::{BasalKind, Body, Event, MG_DL_PER_MMOL_L};
use crate::data::store;
use crate::error::CoreError;
use crate::ids::PersonId;

/// The notice every report carries.
pub const ADJUNCT_NOTICE: &str = "glucolink reports are intended for use as an adjunct in the management of diabetes only and are not intended to be relied upon by themselves. Patients should consult their healthcare providers before making changes in treatment.";

/// Longest period one report covers.
pub const MAX_DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Units {
    #[serde(rename = "mg/dL")]
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
                "units",
                "invalid_units",
                "The units are mg/dL or mmol/L.",
            )),
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
}

impl Period {
    pub fn parse(from: &str, to: &str) -> Result<Self, CoreError> {
        let date = |field: &'static str, raw: &str| {
            raw.parse::<Date>().map_err(|_| {
                CoreError::invalid(
                    field,
                    "invalid_date",
                    format!("{field} is a date like 2026-11-20."),
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
        Ok(Self { from, to, days })
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
        time_in_ranges: TimeInRanges {
            very_low: round1(m.time_in_ranges.very_low),
            low: round1(m.time_in_ranges.low),
            in_range: round1(m.time_in_ranges.in_range),
            high: round1(m.time_in_ranges.high),
            very_high: round1(m.time_in_ranges.very_high),
        },
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
    pub basal_units: f64,
    pub carbs_grams: f64,
    pub boluses: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Insulin {
    /// Averages per day with pump or bolus data.
    pub total_daily_dose: f64,
    pub basal_per_day: f64,
    pub bolus_per_day: f64,
    pub basal_percent: Option<f64>,
    pub boluses_per_day: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Carbs {
    pub grams_per_day: f64,
    /// Grams in each 6-hour part of the day: night (0–6), morning (6–12), afternoon (12–18), evening (18–24).
    pub by_time_of_day: [f64; 4],
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub period: Period,
    pub units: Units,
    pub time_zone: String,
    pub metrics: ShownMetrics,
    /// Set when the data is too little for the metrics to be reliable (consensus: 14 days, 70 % active).
    pub sufficiency_warning: Option<String>,
    pub agp: Vec<AgpBin>,
    pub days: Vec<DaySummary>,
    pub insulin: Insulin,
    pub carbs: Carbs,
    pub notice: &'static str,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = p * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
}

/// Basal insulin delivered in `[start, end)`, from the basal events (each lasting until the next one, or
/// its duration, after which the last scheduled rate resumes).
fn basal_units(events: &[&Event], start: i64, end: i64) -> f64 {
    let mut total = 0.0;
    let mut scheduled_rate = 0.0;
    for (i, event) in events.iter().enumerate() {
        let Body::Basal {
            rate_milliunits_per_hour,
            duration_seconds,
            basal,
        } = event.body
        else {
            continue;
        };
        let rate = f64::from(rate_milliunits_per_hour) / 1000.0;
        if basal == BasalKind::Scheduled {
            scheduled_rate = rate;
        }
        let at = event.at.as_second();
        let next = events
            .get(i + 1)
            .map_or(end, |n| n.at.as_second())
            .min(at + 86_400);
        let own_end = if duration_seconds > 0 {
            (at + i64::from(duration_seconds)).min(next)
        } else {
            next
        };
        let overlap = |a: i64, b: i64| (b.min(end) - a.max(start)).max(0) as f64 / 3600.0;
        total += rate * overlap(at, own_end);
        if own_end < next && basal != BasalKind::Scheduled {
            total += scheduled_rate * overlap(own_end, next);
        }
    }
    total
}

/// Builds the report of a person's data.
pub async fn build(
    ctx: &Ctx,
    person: PersonId,
    period: Period,
    tz: TimeZone,
    units: Units,
) -> Result<Report, CoreError> {
    let read_from = period.from.checked_sub(1.day()).unwrap_or(period.from);
    let read_to = period.to.checked_add(1.day()).unwrap_or(period.to);
    // Every event with its local date and time, worked out once (the slow part of a report is the zone).
    let located: Vec<(Event, DateTime)> = store::read(ctx, person, read_from, read_to)
        .await?
        .into_iter()
        .map(|e| {
            let local = tz.to_datetime(e.at);
            (e, local)
        })
        .filter(|(_, local)| (period.from..=period.to).contains(&local.date()))
        .collect();
    let start = tz
        .to_ambiguous_timestamp(period.from.to_datetime(jiff::civil::Time::midnight()))
        .compatible()
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .as_second();
    let end = tz
        .to_ambiguous_timestamp(
            period
                .to
                .checked_add(1.day())
                .unwrap_or(period.to)
                .to_datetime(jiff::civil::Time::midnight()),
        )
        .compatible()
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .as_second();

    // CGM readings, each weighted by its device's interval.
    let mut by_device: HashMap<&str, Vec<Timestamp>> = HashMap::new();
    for (event, _) in &located {
        if let Body::Cgm { .. } = event.body {
            by_device
                .entry(event.device.as_str())
                .or_default()
                .push(event.at);
        }
    }
    let intervals: HashMap<&str, f64> = by_device
        .iter()
        .map(|(device, times)| (*device, metrics::device_interval_minutes(times)))
        .collect();
    let (readings, reading_local): (Vec<Reading>, Vec<(Date, u32)>) = located
        .iter()
        .filter_map(|(e, local)| match e.body {
            Body::Cgm {
                glucose_tenths_mg_dl,
            } => Some((
                Reading {
                    at: e.at,
                    mg_dl: f64::from(glucose_tenths_mg_dl) / 10.0,
                    interval_minutes: intervals.get(e.device.as_str()).copied().unwrap_or(5.0),
                },
                (
                    local.date(),
                    local.time().hour() as u32 * 60 + local.time().minute() as u32,
                ),
            )),
            _ => None,
        })
        .unzip();
    let period_minutes = (end - start) as f64 / 60.0;
    let mut readings_by_day: BTreeMap<Date, Vec<Reading>> = BTreeMap::new();
    for (reading, (date, _)) in readings.iter().zip(&reading_local) {
        readings_by_day.entry(*date).or_default().push(*reading);
    }
    let overall = metrics::compute_with_days(&readings, period_minutes, readings_by_day.len());

    // AGP: half-hour bins of the local time of day.
    let mut bins: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for (reading, (_, minute)) in readings.iter().zip(&reading_local) {
        bins.entry(minute / 30 * 30)
            .or_default()
            .push(reading.mg_dl);
    }
    let agp = bins
        .into_iter()
        .map(|(minute_of_day, mut values)| {
            values.sort_by(f64::total_cmp);
            let p = |q: f64| units.show(percentile(&values, q));
            AgpBin {
                minute_of_day,
                p5: p(0.05),
                p25: p(0.25),
                p50: p(0.5),
                p75: p(0.75),
                p95: p(0.95),
            }
        })
        .collect();

    // Daily summaries, insulin and carbs.
    let basal_events: Vec<&Event> = located
        .iter()
        .map(|(e, _)| e)
        .filter(|e| matches!(e.body, Body::Basal { .. }))
        .collect();
    let mut events_by_day: BTreeMap<Date, Vec<&(Event, DateTime)>> = BTreeMap::new();
    for located_event in located
        .iter()
        .filter(|(e, _)| matches!(e.body, Body::Bolus { .. } | Body::Carbs { .. }))
    {
        events_by_day
            .entry(located_event.1.date())
            .or_default()
            .push(located_event);
    }
    let (no_readings, no_events): (Vec<Reading>, Vec<&(Event, DateTime)>) =
        (Vec::new(), Vec::new());
    let mut days = Vec::new();
    let mut carbs_by_part = [0.0f64; 4];
    let mut day = period.from;
    while day <= period.to {
        let day_start = tz
            .to_ambiguous_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .map_or(start, |t| t.as_second());
        let next_day = day.checked_add(1.day()).unwrap_or(day);
        let day_end = tz
            .to_ambiguous_timestamp(next_day.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .map_or(end, |t| t.as_second());
        let todays = events_by_day.get(&day).unwrap_or(&no_events);
        let day_readings = readings_by_day.get(&day).unwrap_or(&no_readings);
        let day_minutes = (day_end - day_start) as f64 / 60.0;
        let day_metrics = metrics::compute_with_days(
            day_readings,
            day_minutes,
            usize::from(!day_readings.is_empty()),
        );
        let mut bolus_units = 0.0;
        let mut boluses = 0;
        let mut carbs_grams = 0.0;
        for (event, local) in todays.iter().copied() {
            match event.body {
                Body::Bolus {
                    immediate_milliunits,
                    extended_milliunits,
                    ..
                } => {
                    bolus_units += f64::from(immediate_milliunits + extended_milliunits) / 1000.0;
                    boluses += 1;
                }
                Body::Carbs { tenths_grams } => {
                    let grams = f64::from(tenths_grams) / 10.0;
                    carbs_grams += grams;
                    let hour = local.time().hour();
                    carbs_by_part[(hour / 6).clamp(0, 3) as usize] += grams;
                }
                _ => {}
            }
        }
        days.push(DaySummary {
            date: day,
            readings: day_readings.len(),
            mean: day_metrics.mean.map(|v| units.show(v)),
            in_range_percent: day_metrics
                .mean
                .map(|_| (day_metrics.time_in_ranges.in_range * 10.0).round() / 10.0),
            bolus_units: (bolus_units * 100.0).round() / 100.0,
            basal_units: (basal_units(&basal_events, day_start, day_end) * 100.0).round() / 100.0,
            carbs_grams,
            boluses,
        });
        day = next_day;
    }
    let insulin_days: Vec<&DaySummary> = days
        .iter()
        .filter(|d| d.bolus_units > 0.0 || d.basal_units > 0.0)
        .collect();
    let per_day = |f: &dyn Fn(&DaySummary) -> f64| {
        if insulin_days.is_empty() {
            0.0
        } else {
            insulin_days.iter().map(|d| f(d)).sum::<f64>() / insulin_days.len() as f64
        }
    };
    let (basal, bolus) = (per_day(&|d| d.basal_units), per_day(&|d| d.bolus_units));
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    let insulin = Insulin {
        total_daily_dose: round2(basal + bolus),
        basal_per_day: round2(basal),
        bolus_per_day: round2(bolus),
        basal_percent: (basal + bolus > 0.0)
            .then(|| (basal / (basal + bolus) * 1000.0).round() / 10.0),
        boluses_per_day: round2(per_day(&|d| d.boluses as f64)),
    };
    let carb_days = days.iter().filter(|d| d.carbs_grams > 0.0).count().max(1) as f64;
    let carbs = Carbs {
        grams_per_day: round2(days.iter().map(|d| d.carbs_grams).sum::<f64>() / carb_days),
        by_time_of_day: carbs_by_part.map(|g| round2(g / carb_days)),
    };
    let sufficiency_warning = (overall.days_with_data < 14 || overall.cgm_active_percent < 70.0).then(|| {
        format!(
            "Limited data: {} days with CGM data and {:.0} % CGM active (14 days and 70 % are recommended for reliable metrics).",
            overall.days_with_data, overall.cgm_active_percent
        )
    });
    Ok(Report {
        period,
        units,
        time_zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        metrics: shown(&overall, units),
        sufficiency_warning,
        agp,
        days,
        insulin,
        carbs,
        notice: ADJUNCT_NOTICE,
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
}
