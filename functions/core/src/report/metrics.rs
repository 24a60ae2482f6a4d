//! The international consensus CGM metrics (Battelino et al., Diabetes Care 2019) and the Glycemia
//! Risk Index (Klonoff et al., 2022), computed one way for every screen. The rules, also in
//! `docs/METRICS.md`:
//!
//! - **Ranges** (mg/dL, on the stored value with its tenth): very low `g < 54`; low `54 ≤ g < 70`; in
//!   range `70 ≤ g ≤ 180`; high `180 < g ≤ 250`; very high `g > 250`. So 54.0 is low, 69.9 low, 70.0 and
//!   180.0 in range, 180.1 high, 250.0 high, 250.1 very high.
//! - **Denominator**: time, not count. Each reading stands for its device's interval (5 minutes for
//!   Dexcom, Medtronic and Libre 3; 15 for Libre 2), so a 15-minute reading weighs three times a
//!   5-minute one; with one device this equals the share of readings.
//! - **% CGM active**: the time the readings stand for, over the period, at most 100 %. Gaps and sensor
//!   warm-ups simply have no readings. Duplicates never reach this point (storage keeps one reading per
//!   device and instant).
//! - **Mean, SD, CV**: time-weighted mean; SD with the n − 1 denominator (as R's `sd()` in iglu and
//!   most peers); CV = SD / mean × 100 (target ≤ 36 %).
//! - **GMI** (%) = 3.31 + 0.02392 × mean (mg/dL).
//! - **GRI** = 3.0 × very low % + 2.4 × low % + 1.6 × very high % + 0.8 × high %, capped at 100.
//! - **Days with data**: local calendar days with at least one CGM reading.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

/// One CGM reading as the metrics see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub at: Timestamp,
    pub mg_dl: f64,
    /// The minutes this reading stands for: its device's reporting interval.
    pub interval_minutes: f64,
}

/// Percent of CGM time in each consensus range; they add up to 100 (or are all 0 without data).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TimeInRanges {
    pub very_low: f64,
    pub low: f64,
    pub in_range: f64,
    pub high: f64,
    pub very_high: f64,
}

impl TimeInRanges {
    /// The five shares from very low to very high.
    pub fn shares(&self) -> [f64; 5] {
        [
            self.very_low,
            self.low,
            self.in_range,
            self.high,
            self.very_high,
        ]
    }

    /// The shares as every page prints them: to one decimal, adding up to exactly 100.0
    /// ([`round_shares`]).
    pub fn rounded(&self) -> TimeInRanges {
        let [very_low, low, in_range, high, very_high] = round_shares(self.shares());
        TimeInRanges {
            very_low,
            low,
            in_range,
            high,
            very_high,
        }
    }
}

/// Percentages that add up to 100 (or are all 0), rounded to one decimal so that the printed parts add
/// up to exactly 100.0: each share is rounded down to a tenth, then the tenths still missing go, one
/// each, to the shares with the largest remainders (the largest remainder method; ties to the earlier,
/// lower range). No share moves by more than 0.1, and a share above 0 never prints as 0.0 unless it is
/// under 0.05. Sums of ranges ("below 70" = very low + low) are then added from the rounded parts, so
/// a page never prints 2.0 % next to 0.7 % + 1.2 %.
pub fn round_shares<const N: usize>(shares: [f64; N]) -> [f64; N] {
    round_tenths(shares).map(|t| t as f64 / 10.0)
}

/// [`round_shares`] in whole tenths of a percent, for adding parts exactly.
pub fn round_tenths<const N: usize>(shares: [f64; N]) -> [u64; N] {
    let total: f64 = shares.iter().sum();
    if total <= 0.0 {
        return [0; N];
    }
    let tenths = shares.map(|s| s * 10.0);
    let mut floors = tenths.map(|t| t.floor());
    let target = (total * 10.0).round();
    let missing = (target - floors.iter().sum::<f64>()).max(0.0) as usize;
    let mut order: Vec<usize> = (0..N).collect();
    // Stable sort: among equal remainders, the earlier share wins.
    order.sort_by(|a, b| {
        let (ra, rb) = (tenths[*a] - floors[*a], tenths[*b] - floors[*b]);
        rb.total_cmp(&ra)
    });
    for i in order.into_iter().take(missing) {
        floors[i] += 1.0;
    }
    floors.map(|f| f.max(0.0) as u64)
}

/// The metrics of a period. Glucose values in mg/dL (convert for display only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub readings: usize,
    pub days_with_data: usize,
    pub cgm_active_percent: f64,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub cv_percent: Option<f64>,
    pub gmi_percent: Option<f64>,
    pub gri: Option<f64>,
    pub time_in_ranges: TimeInRanges,
}

/// Which consensus range a value falls in (0 very low … 4 very high).
pub fn range_of(mg_dl: f64) -> usize {
    if mg_dl < 54.0 {
        0
    } else if mg_dl < 70.0 {
        1
    } else if mg_dl <= 180.0 {
        2
    } else if mg_dl <= 250.0 {
        3
    } else {
        4
    }
}

/// Metrics of the readings of a period of `period_minutes`, days counted in `tz`.
pub fn compute(readings: &[Reading], period_minutes: f64, tz: &TimeZone) -> Metrics {
    compute_with_days(readings, period_minutes, days_with_data(readings, tz))
}

/// Local calendar days (in `tz`) with at least one reading.
pub fn days_with_data(readings: &[Reading], tz: &TimeZone) -> usize {
    let days: BTreeSet<Date> = readings
        .iter()
        .map(|r| tz.to_datetime(r.at).date())
        .collect();
    days.len()
}

/// [`compute`] when the caller already knows the number of days with data (a report works out local
/// days once for all its figures). The numbers come out of the readings' exact sums
/// ([`Tally`](super::tally::Tally)), the same way as from the day tallies of a patient's summary.
pub fn compute_with_days(
    readings: &[Reading],
    period_minutes: f64,
    days_with_data: usize,
) -> Metrics {
    super::tally::Tally::of_readings(readings, days_with_data).metrics(period_minutes)
}

/// A device's reporting interval in minutes, from its readings' times: the median gap, snapped to the
/// intervals CGMs use (1, 5 or 15 minutes); 5 when there are too few readings to tell
/// ([`Gaps`](super::tally::Gaps), the rule the day tallies use too).
pub fn device_interval_minutes(times: &[Timestamp]) -> f64 {
    let mut sorted: Vec<i64> = times.iter().map(|t| t.as_second()).collect();
    if !sorted.is_sorted() {
        sorted.sort_unstable();
    }
    let mut gaps = super::tally::Gaps::default();
    for pair in sorted.windows(2) {
        gaps.add(pair[1] - pair[0]);
    }
    f64::from(gaps.interval_minutes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_shares_add_up_to_100_and_move_by_at_most_a_tenth() {
        // 0.74 + 1.22 = 1.96: printed as 0.7 and 1.2, so "below 70" prints 1.9, not 2.0; the two
        // missing tenths go to the largest remainders (6.98 and 90.06).
        let shares = [0.74, 1.22, 90.06, 6.98, 1.0];
        assert_eq!(round_shares(shares), [0.7, 1.2, 90.1, 7.0, 1.0]);
        // Thirds: 33.3 + 33.3 + 33.4, the largest remainder first, ties to the earlier share.
        let third = 100.0 / 3.0;
        assert_eq!(round_shares([third; 3]), [33.4, 33.3, 33.3]);
        assert_eq!(round_shares([0.0; 5]), [0.0; 5]);
        for shares in [
            [0.04, 0.04, 99.92, 0.0, 0.0],
            [12.345, 23.456, 34.567, 29.632, 0.0],
            [100.0, 0.0, 0.0, 0.0, 0.0],
        ] {
            let rounded = round_shares(shares);
            let sum: f64 = rounded.iter().sum();
            assert!((sum - 100.0).abs() < 1e-9, "{rounded:?}");
            for (r, s) in rounded.iter().zip(shares) {
                assert!((r - s).abs() <= 0.1 + 1e-9, "{r} from {s}");
            }
        }
    }

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + minutes * 60).expect("ts")
    }

    fn readings(values: &[f64], interval: f64) -> Vec<Reading> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Reading {
                at: at(i as i64 * interval as i64),
                mg_dl: *v,
                interval_minutes: interval,
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn range_boundaries_follow_the_written_rules() {
        let cases = [
            (53.9, 0),
            (54.0, 1),
            (69.9, 1),
            (70.0, 2),
            (180.0, 2),
            (180.1, 3),
            (250.0, 3),
            (250.1, 4),
            (39.0, 0),
            (401.0, 4),
        ];
        for (value, range) in cases {
            assert_eq!(range_of(value), range, "{value}");
        }
    }

    #[test]
    fn one_reading_in_each_range_gives_a_fifth_each_and_hand_computed_metrics() {
        let m = compute(
            &readings(&[50.0, 60.0, 100.0, 200.0, 300.0], 5.0),
            25.0,
            &TimeZone::UTC,
        );
        let tir = m.time_in_ranges;
        for share in [tir.very_low, tir.low, tir.in_range, tir.high, tir.very_high] {
            assert!(close(share, 20.0), "{tir:?}");
        }
        assert!(close(m.mean.expect("mean"), 142.0));
        // Sample SD: squares 92²+82²+42²+58²+158² = 8464+6724+1764+3364+24964 = 45280; /4 = 11320.
        assert!(close(m.sd.expect("sd"), 11_320f64.sqrt()));
        assert!(close(
            m.cv_percent.expect("cv"),
            11_320f64.sqrt() / 142.0 * 100.0
        ));
        assert!(
            close(m.gmi_percent.expect("gmi"), 3.31 + 0.02392 * 142.0),
            "6.707 %"
        );
        assert!(
            close(m.gri.expect("gri"), 100.0),
            "3×20 + 2.4×20 + 1.6×20 + 0.8×20 = 156, capped"
        );
        assert!(close(m.cgm_active_percent, 100.0));
        assert_eq!((m.readings, m.days_with_data), (5, 1));
    }

    #[test]
    fn gri_below_the_cap_is_the_weighted_sum() {
        // 10 readings: 1 very low, 1 low, 6 in range, 1 high, 1 very high → 10 % each outside range.
        let values = [
            50.0, 60.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 200.0, 300.0,
        ];
        let m = compute(&readings(&values, 5.0), 50.0, &TimeZone::UTC);
        assert!(
            close(
                m.gri.expect("gri"),
                3.0 * 10.0 + 2.4 * 10.0 + 1.6 * 10.0 + 0.8 * 10.0
            ),
            "78"
        );
    }

    #[test]
    fn fifteen_minute_readings_weigh_three_times_and_count_toward_cgm_active() {
        // One day: a Libre 2 (15 min) in range for 12 h, a 5-minute sensor high for 12 h.
        let mut all: Vec<Reading> = (0..48)
            .map(|i| Reading {
                at: at(i * 15),
                mg_dl: 120.0,
                interval_minutes: 15.0,
            })
            .collect();
        all.extend((0..144).map(|i| Reading {
            at: at(720 + i * 5),
            mg_dl: 200.0,
            interval_minutes: 5.0,
        }));
        let m = compute(&all, 1440.0, &TimeZone::UTC);
        assert!(
            close(m.time_in_ranges.in_range, 50.0) && close(m.time_in_ranges.high, 50.0),
            "{:?}",
            m.time_in_ranges
        );
        assert!(close(m.cgm_active_percent, 100.0));
        assert!(close(m.mean.expect("mean"), 160.0));
        let half_day: Vec<Reading> = all.iter().copied().take(48).collect();
        assert!(
            close(
                compute(&half_day, 1440.0, &TimeZone::UTC).cgm_active_percent,
                50.0
            ),
            "gaps count as inactive"
        );
    }

    #[test]
    fn no_readings_give_no_numbers_rather_than_zeros_that_look_real() {
        let m = compute(&[], 1440.0, &TimeZone::UTC);
        assert_eq!(
            (m.mean, m.sd, m.gmi_percent, m.gri),
            (None, None, None, None)
        );
        assert_eq!(m.readings, 0);
        let one = compute(&readings(&[100.0], 5.0), 1440.0, &TimeZone::UTC);
        assert_eq!(one.sd, None, "SD needs two readings");
    }

    #[test]
    fn days_with_data_are_local_days() {
        let late = Reading {
            at: "2026-11-20T23:30:00Z".parse().expect("ts"),
            mg_dl: 100.0,
            interval_minutes: 5.0,
        };
        let early = Reading {
            at: "2026-11-21T00:30:00Z".parse().expect("ts"),
            mg_dl: 100.0,
            interval_minutes: 5.0,
        };
        assert_eq!(
            compute(&[late, early], 1440.0, &TimeZone::UTC).days_with_data,
            2
        );
        let new_york = TimeZone::get("America/New_York").expect("tz");
        assert_eq!(
            compute(&[late, early], 1440.0, &new_york).days_with_data,
            1,
            "both on 20 November in New York"
        );
    }

    #[test]
    fn device_intervals_are_read_from_the_readings() {
        let every = |minutes: i64| (0..20).map(|i| at(i * minutes)).collect::<Vec<_>>();
        assert!(close(device_interval_minutes(&every(5)), 5.0));
        assert!(close(device_interval_minutes(&every(15)), 15.0));
        let mut gappy = every(5);
        gappy.retain(|t| t.as_second() % 1200 != 0);
        assert!(
            close(device_interval_minutes(&gappy), 5.0),
            "gaps do not change the interval"
        );
        assert!(close(device_interval_minutes(&[at(0)]), 5.0));
    }
}
