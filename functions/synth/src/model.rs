//! The day model: a glucose curve driven by meals, insulin, exercise and the dawn rise, sampled like a
//! CGM of the profile's kind, plus the pump's basal, boluses and bolus-wizard carbs.

use glucolink_core::data::event::{BasalKind, Body, Event};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The kind of person and devices a virtual patient has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// MiniMed 780G with a Guardian 4 sensor (5-minute CGM, auto-correction micro-boluses).
    MedtronicPump,
    /// MiniMed 780G in SmartGuard: the automation's insulin as one total per day (CareLink's
    /// "Aggregated Auto Insulin Data"), the programmed basal delivered only in manual mode; on the sixth
    /// day SmartGuard exits at 14:00 and the pump runs in manual mode until midnight.
    MedtronicSmartGuard,
    /// Dexcom G7 (5-minute CGM) with pens: rapid-acting boluses only.
    DexcomPens,
    /// FreeStyle Libre 2 (15-minute CGM, times to the minute) with pens.
    LibrePens,
}

impl Profile {
    /// Seconds between two sensor readings.
    pub fn cgm_interval_seconds(&self) -> i64 {
        match self {
            Profile::LibrePens => 900,
            Profile::MedtronicPump | Profile::MedtronicSmartGuard | Profile::DexcomPens => 300,
        }
    }
}

/// A virtual patient.
#[derive(Debug, Clone)]
pub struct Patient {
    pub seed: u64,
    pub profile: Profile,
    pub time_zone: &'static str,
    /// The first local day and how many days.
    pub start: jiff::civil::Date,
    pub days: u32,
}

/// Deterministic noise (xorshift64*).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }
}

pub(crate) fn devices(profile: Profile, seed: u64) -> (String, String) {
    match profile {
        Profile::MedtronicPump | Profile::MedtronicSmartGuard => (
            format!("MiniMed 780G MMT-1884 NG{:07}H", seed % 10_000_000),
            format!("Guardian 4 Sensor GT{:05}", seed % 100_000),
        ),
        Profile::DexcomPens => (
            format!("Dexcom Android G7 TX{:04}", seed % 10_000),
            format!("Dexcom Android G7 TX{:04}", seed % 10_000),
        ),
        Profile::LibrePens => (
            format!("FreeStyle Libre 2 LB{:06}", seed % 1_000_000),
            format!("FreeStyle Libre 2 LB{:06}", seed % 1_000_000),
        ),
    }
}

/// A glucose effect: a curve starting at `at` (seconds), shaped like a gamma bump of `peak_minutes`.
struct Effect {
    at: i64,
    peak_minutes: f64,
    /// Total mg/dL rise (negative for a fall) at the peak.
    size: f64,
}

impl Effect {
    fn at(&self, t: i64) -> f64 {
        let minutes = (t - self.at) as f64 / 60.0;
        if minutes <= 0.0 || minutes > self.peak_minutes * 6.0 {
            return 0.0;
        }
        let x = minutes / self.peak_minutes;
        self.size * x * (1.0 - x).exp()
    }
}

fn whole_minute(at: i64) -> i64 {
    at - at.rem_euclid(60)
}

/// Every event of the patient's days, sorted by time (every time a whole minute, as exports write them).
pub fn generate(patient: &Patient) -> Vec<Event> {
    let tz = TimeZone::get(patient.time_zone).unwrap_or(TimeZone::UTC);
    let mut rng = Rng::new(patient.seed);
    let (pump, sensor) = devices(patient.profile, patient.seed);
    let mut events = Vec::new();
    let mut effects: Vec<Effect> = Vec::new();
    let baseline = rng.between(110.0, 140.0);
    let carb_ratio = rng.between(8.0, 14.0);
    let mut day = patient.start;
    for day_number in 0..patient.days {
        let midnight = tz
            .to_ambiguous_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .as_second();
        let local = |hours: f64| midnight + (hours * 3600.0) as i64;
        let offset_at = |at: i64| -> i16 {
            Timestamp::from_second(at).map_or(0, |t| {
                i16::try_from(tz.to_offset(t).seconds() / 60).unwrap_or(0)
            })
        };
        let event = |at: i64, device: &str, body: Body| Event {
            at: Timestamp::from_second(at).unwrap_or(Timestamp::UNIX_EPOCH),
            utc_offset_minutes: offset_at(at),
            device: device.into(),
            body,
        };
        let smart_guard = patient.profile == Profile::MedtronicSmartGuard;
        // SmartGuard: on from the first midnight, an exit at 14:00 on the sixth day, on again the next.
        let exit_day = day_number == 5;
        if smart_guard && (day_number == 0 || day_number == 6) {
            events.push(event(midnight, &pump, Body::PumpMode { automatic: true }));
        }
        if smart_guard && exit_day {
            events.push(event(
                local(14.0),
                &pump,
                Body::PumpMode { automatic: false },
            ));
        }
        // Pens: a long-acting injection each evening.
        if matches!(patient.profile, Profile::DexcomPens | Profile::LibrePens) {
            events.push(event(
                whole_minute(local(22.0 + rng.between(-0.5, 0.5))),
                &pump,
                Body::LongActing {
                    milliunits: (rng.between(16.0, 20.0).round() * 1000.0) as u32,
                },
            ));
        }
        // Basal: a three-step schedule on the pump.
        if matches!(
            patient.profile,
            Profile::MedtronicPump | Profile::MedtronicSmartGuard
        ) {
            // The pump's schedule follows its wall clock, also on the days the clocks change.
            for (hour, rate) in [(0i8, 0.75), (4, 0.95), (10, 0.8)] {
                let wall = tz
                    .to_ambiguous_timestamp(day.at(hour, 0, 0, 0))
                    .compatible()
                    .map_or(local(f64::from(hour)), |t| t.as_second());
                events.push(event(
                    wall,
                    &pump,
                    Body::Basal {
                        rate_milliunits_per_hour: (rate * 1000.0) as u32,
                        duration_seconds: 0,
                        basal: BasalKind::Scheduled,
                    },
                ));
            }
        }
        // Meals, with their boluses: sometimes missed, sometimes mis-sized.
        for (hour, low, high) in [(7.5, 30.0, 60.0), (12.75, 40.0, 80.0), (19.0, 50.0, 90.0)] {
            if rng.chance(0.05) {
                continue; // a skipped meal
            }
            let at = whole_minute(local(hour + rng.between(-0.75, 0.75)));
            let grams = rng.between(low, high).round();
            effects.push(Effect {
                at,
                peak_minutes: 50.0,
                size: grams * 2.6,
            });
            events.push(event(
                at,
                &pump,
                Body::Carbs {
                    tenths_grams: (grams * 10.0) as u32,
                },
            ));
            if rng.chance(0.08) {
                continue; // a missed bolus: the curve stays up
            }
            let sizing = if rng.chance(0.15) {
                rng.between(0.6, 1.4)
            } else {
                1.0
            };
            let units = ((grams / carb_ratio) * sizing * 10.0).round() / 10.0;
            // A right-sized bolus takes away what the meal adds: the same area under the curve (the
            // effects' areas scale with size × peak time), so only mis-sized or missed boluses and
            // exercise leave the target range for long.
            effects.push(Effect {
                at: at + 300,
                peak_minutes: 75.0,
                size: -units * carb_ratio * 2.6 * 50.0 / 75.0,
            });
            events.push(event(
                at + 60,
                &pump,
                Body::Bolus {
                    immediate_milliunits: (units * 1000.0) as u32,
                    extended_milliunits: 0,
                    extended_minutes: 0,
                    automatic: false,
                },
            ));
        }
        // An afternoon of exercise now and then: a low.
        if rng.chance(0.2) {
            let at = whole_minute(local(16.0 + rng.between(0.0, 2.0)));
            effects.push(Effect {
                at,
                peak_minutes: 45.0,
                size: -rng.between(50.0, 90.0),
            });
            // On the pump (manual mode), a temporary basal of 50 % of the 0.8 U/h step for the hour.
            if patient.profile == Profile::MedtronicPump {
                events.push(event(
                    at - 1800,
                    &pump,
                    Body::Basal {
                        rate_milliunits_per_hour: 400,
                        duration_seconds: 3600,
                        basal: BasalKind::Temporary,
                    },
                ));
            }
        }
        // The dawn rise, strong on some nights: an overnight high.
        let dawn = if rng.chance(0.25) {
            rng.between(60.0, 110.0)
        } else {
            rng.between(10.0, 30.0)
        };
        effects.push(Effect {
            at: local(3.0),
            peak_minutes: 120.0,
            size: dawn,
        });
        // The sensor: a warm-up every 10 days (2 hours without readings) and an occasional gap.
        let warm_up = (day_number % 10 == 3).then(|| local(rng.between(8.0, 20.0)));
        let gap = rng.chance(0.1).then(|| local(rng.between(0.0, 22.0)));
        let next_midnight = tz
            .to_ambiguous_timestamp(
                day.tomorrow()
                    .unwrap_or(day)
                    .to_datetime(jiff::civil::Time::midnight()),
            )
            .compatible()
            .map_or(midnight + 86_400, |t| t.as_second());
        let interval = patient.profile.cgm_interval_seconds();
        let mut t = midnight + (patient.seed % 5) as i64 * 60;
        let mut drift = 0.0;
        // SmartGuard's own insulin this day: auto basal every 5 minutes and auto corrections.
        let auto_until = if exit_day { local(14.0) } else { next_midnight };
        let mut automatic_units = 0.0;
        while t < next_midnight {
            let in_warm_up = warm_up.is_some_and(|w| (w..w + 7200).contains(&t));
            let in_gap = gap.is_some_and(|g| (g..g + 2700).contains(&t));
            drift = (drift + rng.between(-2.0, 2.0)).clamp(-15.0, 15.0);
            let glucose: f64 = baseline + drift + effects.iter().map(|e| e.at(t)).sum::<f64>();
            let glucose = glucose.clamp(40.0, 400.0);
            if !in_warm_up && !in_gap {
                events.push(event(
                    t,
                    &sensor,
                    Body::Cgm {
                        glucose_tenths_mg_dl: (glucose.round() * 10.0) as u16,
                    },
                ));
                if smart_guard && t < auto_until {
                    automatic_units += 0.85 * 0.8 * interval as f64 / 3600.0
                        + if glucose > 180.0 && rng.chance(0.3) {
                            0.1 + (rng.next() % 4) as f64 * 0.05
                        } else {
                            0.0
                        };
                }
                // Auto-corrections on the 780G when high.
                if patient.profile == Profile::MedtronicPump && glucose > 180.0 && rng.chance(0.3) {
                    events.push(event(
                        t + 60,
                        &pump,
                        Body::Bolus {
                            immediate_milliunits: 100 + (rng.next() % 4) as u32 * 50,
                            extended_milliunits: 0,
                            extended_minutes: 0,
                            automatic: true,
                        },
                    ));
                }
            }
            // A fingerstick before breakfast, on most days.
            if (local(7.0)..local(7.0) + interval).contains(&t) && rng.chance(0.7) {
                let meter = (glucose + rng.between(-8.0, 8.0)).clamp(20.0, 600.0);
                events.push(event(
                    t + 120,
                    &pump,
                    Body::Smbg {
                        glucose_tenths_mg_dl: (meter.round() * 10.0) as u16,
                    },
                ));
            }
            t += interval;
        }
        if smart_guard {
            events.push(event(
                midnight,
                &pump,
                Body::AutoInsulin {
                    milliunits: (automatic_units * 1000.0).round() as u32,
                    period_seconds: (next_midnight - midnight) as u32,
                },
            ));
        }
        effects.retain(|e| e.at > midnight - 86_400);
        day = day.tomorrow().unwrap_or(day);
    }
    events.sort_by(|a, b| (a.at, &a.device).cmp(&(b.at, &b.device)));
    // The model never emits two events of one kind at one instant and device.
    events.dedup_by(|a, b| a.identity() == b.identity());
    events
}

/// The pump's clock set at these instants, by these shifts (new − old, seconds): the export then shows
/// the pump's wrong times before each setting (a factory clock, winter time kept past the spring
/// change), as real CareLink files do.
pub fn with_clock_settings(
    mut events: Vec<Event>,
    device: &str,
    time_zone: &str,
    settings: &[(Timestamp, i32)],
) -> Vec<Event> {
    let tz = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    for (at, shift_seconds) in settings {
        events.push(Event {
            at: *at,
            utc_offset_minutes: i16::try_from(tz.to_offset(*at).seconds() / 60).unwrap_or(0),
            device: device.into(),
            body: Body::ClockSet {
                shift_seconds: *shift_seconds,
            },
        });
    }
    events.sort_by(|a, b| (a.at, &a.device).cmp(&(b.at, &b.device)));
    events
}
