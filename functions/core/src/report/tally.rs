//! Glucose tallies: the exact sums every CGM metric is computed from. A reading adds to its device's
//! tally of its local day: a count in one of seven bands (their edges are the thresholds of every
//! range and preset: 54, 63, 70, 140, 180, 250 mg/dL), its value and its square in tenths of mg/dL,
//! and the gap since the device's previous reading (which gives the device's interval). Day tallies add
//! up to a period's [`Tally`], whose metrics (`metrics::Metrics`) and target parts come out of whole
//! numbers: the report adds up its readings this way, and the clinic's triage list adds up the day
//! tallies kept in each patient's summary (`data::summary`), so the two give the same numbers to the
//! last digit (docs/METRICS.md, "One computation for every screen").

use jiff::civil::Date;

use super::metrics::{Metrics, Reading};

/// Number of value bands.
pub const BANDS: usize = 7;

/// The band of a value in tenths of mg/dL: `< 54`, `54 to < 63`, `63 to < 70`, `70 to 140`,
/// `> 140 to 180`, `> 180 to 250`, `> 250` (ranges include their upper end from 70 up, as the consensus
/// ranges and the pregnancy target do).
pub fn band_of(tenths: i64) -> usize {
    match tenths {
        ..540 => 0,
        540..630 => 1,
        630..700 => 2,
        700..=1400 => 3,
        1401..=1800 => 4,
        1801..=2500 => 5,
        _ => 6,
    }
}

/// A value inside each band (tenths), to place a whole band against thresholds that are band edges.
const BAND_SAMPLE: [i64; BANDS] = [0, 540, 630, 700, 1401, 1801, 2501];

/// Gaps between a device's consecutive readings that tell its interval: from 30 seconds to 30 minutes,
/// counted as nearest to 1 minute (up to 3), to 5 (up to 10) or to 15 minutes. Gaps outside are
/// sensor changes, warm-ups or clock noise, not the interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gaps(pub [u32; 3]);

impl Gaps {
    /// Counts the gap between two readings `seconds` apart, if it tells the interval.
    pub fn add(&mut self, seconds: i64) {
        let class = match seconds {
            30..=180 => 0,
            181..=600 => 1,
            601..=1800 => 2,
            _ => return,
        };
        self.0[class] += 1;
    }

    pub fn merge(&mut self, other: &Gaps) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    /// The device's reporting interval in minutes: the median gap snapped to 1, 5 or 15 minutes (a tie
    /// to the shorter); 5 when fewer than three gaps tell.
    pub fn interval_minutes(&self) -> u32 {
        let [one, five, fifteen] = self.0.map(u64::from);
        let count = one + five + fifteen;
        if count < 3 {
            return 5;
        }
        let median = count / 2;
        if median < one {
            1
        } else if median < one + five {
            5
        } else {
            15
        }
    }
}

/// One device's readings on one local day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceDay {
    pub device: String,
    pub bands: [u32; BANDS],
    pub sum_tenths: i64,
    pub sum_squares: u64,
    /// Gaps between this day's consecutive readings of the device.
    pub gaps: Gaps,
    /// Unix seconds of the first and last reading of the day.
    pub first_at: i64,
    pub last_at: i64,
}

impl DeviceDay {
    pub fn new(device: &str) -> Self {
        Self {
            device: device.to_owned(),
            ..Self::default()
        }
    }

    /// Adds a reading; readings come in time order.
    pub fn add(&mut self, at_second: i64, tenths: i64) {
        if self.readings() == 0 {
            self.first_at = at_second;
        } else {
            self.gaps.add(at_second - self.last_at);
        }
        self.last_at = at_second;
        self.bands[band_of(tenths)] += 1;
        self.sum_tenths += tenths;
        self.sum_squares += tenths.unsigned_abs().pow(2);
    }

    pub fn readings(&self) -> u64 {
        self.bands.iter().map(|c| u64::from(*c)).sum()
    }
}

/// The CGM readings of one local day, by device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTally {
    pub date: Date,
    pub devices: Vec<DeviceDay>,
}

impl DayTally {
    pub fn readings(&self) -> u64 {
        self.devices.iter().map(DeviceDay::readings).sum()
    }
}

/// The readings of a period grouped by the interval (in whole minutes) each stands for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct IntervalClass {
    minutes: u32,
    bands: [u64; BANDS],
    sum_tenths: i128,
    sum_squares: u128,
}

/// A period's readings as sums: everything the consensus metrics need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    classes: Vec<IntervalClass>,
    days_with_data: usize,
}

impl Tally {
    /// The tally of readings (each with its device's interval), on `days_with_data` local days.
    pub fn of_readings(readings: &[Reading], days_with_data: usize) -> Self {
        let mut tally = Tally {
            classes: Vec::new(),
            days_with_data,
        };
        for reading in readings {
            let tenths = (reading.mg_dl * 10.0).round() as i64;
            let minutes = reading.interval_minutes.round().max(1.0) as u32;
            tally.add(minutes, &single_band(tenths), i128::from(tenths), {
                let t = u128::from(tenths.unsigned_abs());
                t * t
            });
        }
        tally
    }

    /// The tally of a period's day tallies (in date order, the period's days only): each device's
    /// interval is worked out from all its gaps in the period, those across midnight included.
    pub fn of_days(days: &[DayTally]) -> Self {
        struct Device<'a> {
            name: &'a str,
            gaps: Gaps,
            last_at: Option<i64>,
        }
        let mut devices: Vec<Device> = Vec::new();
        for day in days {
            for device_day in day.devices.iter().filter(|d| d.readings() > 0) {
                let index = match devices.iter().position(|d| d.name == device_day.device) {
                    Some(index) => index,
                    None => {
                        devices.push(Device {
                            name: &device_day.device,
                            gaps: Gaps::default(),
                            last_at: None,
                        });
                        devices.len() - 1
                    }
                };
                let device = &mut devices[index];
                if let Some(last_at) = device.last_at {
                    device.gaps.add(device_day.first_at - last_at);
                }
                device.gaps.merge(&device_day.gaps);
                device.last_at = Some(device_day.last_at);
            }
        }
        let mut tally = Tally {
            classes: Vec::new(),
            days_with_data: days.iter().filter(|d| d.readings() > 0).count(),
        };
        for day in days {
            for device_day in &day.devices {
                let minutes = devices
                    .iter()
                    .find(|d| d.name == device_day.device)
                    .map_or(5, |d| d.gaps.interval_minutes());
                tally.add(
                    minutes,
                    &device_day.bands.map(u64::from),
                    i128::from(device_day.sum_tenths),
                    u128::from(device_day.sum_squares),
                );
            }
        }
        tally
    }

    fn add(&mut self, minutes: u32, bands: &[u64; BANDS], sum_tenths: i128, sum_squares: u128) {
        let class = match self.classes.iter_mut().position(|c| c.minutes == minutes) {
            Some(index) => &mut self.classes[index],
            None => {
                self.classes.push(IntervalClass {
                    minutes,
                    ..IntervalClass::default()
                });
                let last = self.classes.len() - 1;
                &mut self.classes[last]
            }
        };
        for (mine, theirs) in class.bands.iter_mut().zip(bands) {
            *mine += theirs;
        }
        class.sum_tenths += sum_tenths;
        class.sum_squares += sum_squares;
    }

    /// Adds another period's tally (days of its own): the sums add, so a period's tally is the sum of
    /// its days' tallies, to the last digit.
    pub fn merge(&mut self, other: &Tally) {
        for class in &other.classes {
            self.add(
                class.minutes,
                &class.bands,
                class.sum_tenths,
                class.sum_squares,
            );
        }
        self.days_with_data += other.days_with_data;
    }

    pub fn readings(&self) -> u64 {
        self.classes.iter().flat_map(|c| c.bands).sum()
    }

    pub fn days_with_data(&self) -> usize {
        self.days_with_data
    }

    /// Minutes of CGM time in each band.
    fn band_minutes(&self) -> [u128; BANDS] {
        let mut minutes = [0u128; BANDS];
        for class in &self.classes {
            for (total, count) in minutes.iter_mut().zip(class.bands) {
                *total += u128::from(count) * u128::from(class.minutes);
            }
        }
        minutes
    }

    /// Percent of CGM time `< 54`, from 54 to below `low`, from `low` to `high` (both included), above
    /// `high` to 250, and `> 250` mg/dL; `low` and `high` are band edges (the presets' targets are).
    pub fn parts(&self, low: f64, high: f64) -> [f64; 5] {
        let (low, high) = ((low * 10.0).round() as i64, (high * 10.0).round() as i64);
        let mut minutes = [0u128; 5];
        for (band, band_minutes) in self.band_minutes().into_iter().enumerate() {
            let g = BAND_SAMPLE[band];
            let slot = if g < 540.min(low) {
                0
            } else if g < low {
                1
            } else if g <= high {
                2
            } else if g <= 2500.max(high) {
                3
            } else {
                4
            };
            minutes[slot] += band_minutes;
        }
        let total: u128 = minutes.iter().sum();
        if total == 0 {
            return [0.0; 5];
        }
        minutes.map(|m| m as f64 / total as f64 * 100.0)
    }

    /// The consensus metrics over a period of `period_minutes` (docs/METRICS.md).
    pub fn metrics(&self, period_minutes: f64) -> Metrics {
        let weight: u128 = self.band_minutes().iter().sum();
        if weight == 0 {
            return Metrics::default();
        }
        let [very_low, low, in_range, high, very_high] = self.parts(70.0, 180.0);
        let time_in_ranges = super::metrics::TimeInRanges {
            very_low,
            low,
            in_range,
            high,
            very_high,
        };
        // Sums weighted by minutes, in tenths: exact.
        let (mut sum, mut squares) = (0i128, 0u128);
        for class in &self.classes {
            sum += class.sum_tenths * i128::from(class.minutes);
            squares += class.sum_squares * u128::from(class.minutes);
        }
        let weight_i = weight as i128;
        let mean_tenths = sum as f64 / weight as f64;
        let mean = mean_tenths / 10.0;
        // The n − 1 (sample) variance, each reading counted by its weight in intervals of the
        // shortest one: Σw(g − ḡ)² / (W − unit) = (W·Σwg² − (Σwg)²) / (W·(W − unit)).
        let unit = self
            .classes
            .iter()
            .filter(|c| c.bands.iter().any(|n| *n > 0))
            .map(|c| u128::from(c.minutes))
            .min()
            .unwrap_or(5);
        let sd = (weight > unit).then(|| {
            let numerator = (weight_i * squares as i128 - sum * sum).max(0);
            let denominator = weight * (weight - unit);
            (numerator as f64 / denominator as f64).sqrt() / 10.0
        });
        let gri = (3.0 * very_low + 2.4 * low + 1.6 * very_high + 0.8 * high).min(100.0);
        Metrics {
            readings: self.readings() as usize,
            days_with_data: self.days_with_data,
            cgm_active_percent: if period_minutes > 0.0 {
                (weight as f64 / period_minutes * 100.0).min(100.0)
            } else {
                0.0
            },
            mean: Some(mean),
            sd,
            cv_percent: sd.map(|sd| sd / mean * 100.0),
            gmi_percent: Some(3.31 + 0.02392 * mean),
            gri: Some(gri),
            time_in_ranges,
        }
    }
}

fn single_band(tenths: i64) -> [u64; BANDS] {
    let mut bands = [0; BANDS];
    bands[band_of(tenths)] = 1;
    bands
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metrics;
    use jiff::Timestamp;

    #[test]
    fn bands_follow_every_threshold() {
        for (tenths, band) in [
            (539, 0),
            (540, 1),
            (629, 1),
            (630, 2),
            (699, 2),
            (700, 3),
            (1400, 3),
            (1401, 4),
            (1800, 4),
            (1801, 5),
            (2500, 5),
            (2501, 6),
        ] {
            assert_eq!(band_of(tenths), band, "{tenths}");
        }
    }

    /// Readings of two devices over three local (UTC) days, one every 5 minutes and one every 15, with
    /// a gap, summed by day and by reading: the same tally, the same metrics.
    #[test]
    fn day_tallies_add_up_to_the_tally_of_the_readings() {
        let start = 1_790_000_000 - 1_790_000_000 % 86_400;
        let mut readings = Vec::new();
        let mut days: Vec<DayTally> = (0..3)
            .map(|d| DayTally {
                date: jiff::tz::TimeZone::UTC
                    .to_datetime(Timestamp::from_second(start + d * 86_400).expect("ts"))
                    .date(),
                devices: vec![DeviceDay::new("five"), DeviceDay::new("fifteen")],
            })
            .collect();
        let mut five_times = Vec::new();
        for (device, step, offset) in [(0usize, 300i64, 0i64), (1, 900, 100)] {
            let mut at = start + offset;
            let mut i = 0i64;
            while at < start + 3 * 86_400 {
                if !(40_000..50_000).contains(&(at - start)) {
                    let tenths = 400 + (i * 37) % 2300;
                    let day = ((at - start) / 86_400) as usize;
                    days[day].devices[device].add(at, tenths);
                    readings.push((device, at, tenths));
                    if device == 0 {
                        five_times.push(Timestamp::from_second(at).expect("ts"));
                    }
                }
                at += step;
                i += 1;
            }
        }
        let interval = [metrics::device_interval_minutes(&five_times), 15.0];
        let as_readings: Vec<Reading> = readings
            .iter()
            .map(|(device, at, tenths)| Reading {
                at: Timestamp::from_second(*at).expect("ts"),
                mg_dl: *tenths as f64 / 10.0,
                interval_minutes: interval[*device],
            })
            .collect();
        let by_readings = Tally::of_readings(&as_readings, 3);
        let by_days = Tally::of_days(&days);
        assert_eq!(by_days.readings(), by_readings.readings());
        let minutes = 3.0 * 1440.0;
        assert_eq!(by_days.metrics(minutes), by_readings.metrics(minutes));
        assert_eq!(by_days.parts(63.0, 140.0), by_readings.parts(63.0, 140.0));
        let m = by_days.metrics(minutes);
        assert!(m.cv_percent.is_some() && m.mean.is_some());
    }

    #[test]
    fn the_interval_is_the_median_gap_snapped() {
        let gaps = |g: [u32; 3]| Gaps(g).interval_minutes();
        assert_eq!(gaps([0, 0, 2]), 5, "too few gaps tell");
        assert_eq!(gaps([0, 10, 0]), 5);
        assert_eq!(gaps([0, 4, 6]), 15);
        assert_eq!(gaps([5, 5, 0]), 5, "median is the sixth of ten");
        let mut g = Gaps::default();
        for seconds in [29, 30, 180, 181, 600, 601, 1800, 1801] {
            g.add(seconds);
        }
        assert_eq!(g.0, [2, 2, 2]);
    }

    #[test]
    fn variance_is_the_sample_variance_weighted_by_interval() {
        let at = |i: i64| Timestamp::from_second(1_790_000_000 + i * 300).expect("ts");
        let readings: Vec<Reading> = [100.0, 120.0, 140.0]
            .iter()
            .enumerate()
            .map(|(i, v)| Reading {
                at: at(i as i64),
                mg_dl: *v,
                interval_minutes: 5.0,
            })
            .collect();
        let m = Tally::of_readings(&readings, 1).metrics(15.0);
        assert_eq!(m.mean, Some(120.0));
        assert_eq!(m.sd, Some(20.0));
        assert_eq!(m.cgm_active_percent, 100.0);
    }
}
