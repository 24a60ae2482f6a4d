//! Device events as glucolink keeps them: CGM and meter readings, boluses, basal delivery and carbs,
//! each at an instant (UTC, whole seconds) with the local UTC offset the device showed, and the device
//! that recorded it. Values are integers in small units, so no float ever decides equality.

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// mg/dL per mmol/L (the factor glucolink uses everywhere, from the molar mass of glucose).
pub const MG_DL_PER_MMOL_L: f64 = 18.018;

/// Glucose values kept, in mg/dL: CGMs report 40–400, meters 20–600. Vendors' "Low"/"High" map to
/// the ends of the CGM range.
pub const GLUCOSE_MIN_MG_DL: f64 = 20.0;
pub const GLUCOSE_MAX_MG_DL: f64 = 600.0;
pub const CGM_LOW_MG_DL: f64 = 39.0;
pub const CGM_HIGH_MG_DL: f64 = 401.0;

/// The kinds of events, one stored item per person, UTC day and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Cgm,
    Smbg,
    Bolus,
    Basal,
    Carbs,
    /// Insulin the pump's automation gave over a period (a MiniMed 780G day's auto basal and auto
    /// corrections, which CareLink reports as one total per day).
    AutoInsulin,
    /// The pump's automation (SmartGuard, Auto Mode) switched on or off.
    PumpMode,
    /// A long-acting (basal) insulin injection.
    LongActing,
    /// Someone set the device's clock (CareLink's `New Device Time`).
    ClockSet,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Cgm,
        Kind::Smbg,
        Kind::Bolus,
        Kind::Basal,
        Kind::Carbs,
        Kind::AutoInsulin,
        Kind::PumpMode,
        Kind::LongActing,
        Kind::ClockSet,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Cgm => "cgm",
            Kind::Smbg => "smbg",
            Kind::Bolus => "bolus",
            Kind::Basal => "basal",
            Kind::Carbs => "carbs",
            Kind::AutoInsulin => "auto_insulin",
            Kind::PumpMode => "pump_mode",
            Kind::LongActing => "long_acting",
            Kind::ClockSet => "clock_set",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// How basal insulin was being delivered from this instant on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BasalKind {
    Scheduled,
    Temporary,
    /// Delivery stopped (rate 0) by the person or the pump.
    Suspend,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// A sensor glucose value, in tenths of mg/dL.
    Cgm { glucose_tenths_mg_dl: u16 },
    /// A fingerstick (meter) glucose value, in tenths of mg/dL.
    Smbg { glucose_tenths_mg_dl: u16 },
    /// Insulin given as a bolus: an immediate part and an extended part over `extended_minutes`
    /// (normal: no extended part; square: no immediate part; dual wave: both). In milliunits.
    Bolus {
        immediate_milliunits: u32,
        extended_milliunits: u32,
        extended_minutes: u32,
        /// Given by the pump's automation (for example 780G auto-correction micro-boluses).
        automatic: bool,
    },
    /// Basal delivery at `rate_milliunits_per_hour` for `duration_seconds` (0 = until the next basal event).
    Basal {
        rate_milliunits_per_hour: u32,
        duration_seconds: u32,
        basal: BasalKind,
    },
    /// Carbohydrates eaten (or entered into a bolus wizard), in tenths of grams.
    Carbs { tenths_grams: u32 },
    /// Insulin the pump's automation delivered over `[at, at + period_seconds)`, known only as a total
    /// (CareLink's "Aggregated Auto Insulin Data": a 780G day's auto basal and auto corrections).
    AutoInsulin {
        milliunits: u32,
        period_seconds: u32,
    },
    /// From this instant the pump's automation is on (`automatic`) or off (manual mode: the programmed
    /// basal pattern runs).
    PumpMode { automatic: bool },
    /// A long-acting (basal) insulin injection, in milliunits.
    LongActing { milliunits: u32 },
    /// At this instant someone moved the device's clock by `shift_seconds` (new time − old time): the
    /// device's times before it were off by that much (docs/UPLOADS.md, "Pump clock changes").
    ClockSet { shift_seconds: i32 },
}

impl Body {
    /// The value in a person's words (`132 mg/dL`, `4.5 U`, `0.8 U/h temporary`), for messages.
    pub fn describe(&self) -> String {
        let units = |milli: u32| format!("{} U", f64::from(milli) / 1000.0);
        match self {
            Body::Cgm {
                glucose_tenths_mg_dl,
            }
            | Body::Smbg {
                glucose_tenths_mg_dl,
            } => format!("{} mg/dL", f64::from(*glucose_tenths_mg_dl) / 10.0),
            Body::Bolus {
                immediate_milliunits,
                extended_milliunits,
                extended_minutes,
                ..
            } if *extended_milliunits > 0 => format!(
                "{} now + {} over {extended_minutes} min",
                units(*immediate_milliunits),
                units(*extended_milliunits)
            ),
            Body::Bolus {
                immediate_milliunits,
                ..
            } => units(*immediate_milliunits),
            Body::Basal {
                rate_milliunits_per_hour,
                basal,
                ..
            } => format!(
                "{} U/h {}",
                f64::from(*rate_milliunits_per_hour) / 1000.0,
                match basal {
                    BasalKind::Scheduled => "scheduled",
                    BasalKind::Temporary => "temporary",
                    BasalKind::Suspend => "suspended",
                }
            ),
            Body::Carbs { tenths_grams } => format!("{} g", f64::from(*tenths_grams) / 10.0),
            Body::AutoInsulin { milliunits, .. } => format!("{} automatic", units(*milliunits)),
            Body::PumpMode { automatic } => if *automatic {
                "automatic mode"
            } else {
                "manual mode"
            }
            .to_owned(),
            Body::LongActing { milliunits } => format!("{} long-acting", units(*milliunits)),
            Body::ClockSet { shift_seconds } => {
                format!("clock moved by {} minutes", shift_seconds / 60)
            }
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Body::Cgm { .. } => Kind::Cgm,
            Body::Smbg { .. } => Kind::Smbg,
            Body::Bolus { .. } => Kind::Bolus,
            Body::Basal { .. } => Kind::Basal,
            Body::Carbs { .. } => Kind::Carbs,
            Body::AutoInsulin { .. } => Kind::AutoInsulin,
            Body::PumpMode { .. } => Kind::PumpMode,
            Body::LongActing { .. } => Kind::LongActing,
            Body::ClockSet { .. } => Kind::ClockSet,
        }
    }
}

/// One event from one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The instant, whole seconds.
    pub at: Timestamp,
    /// The device clock's offset from UTC at that instant, in minutes.
    pub utc_offset_minutes: i16,
    /// Which device recorded it: model and serial as the export names them (for example
    /// `MiniMed 780G MMT-1884 NG1234567H`). Shared: a day's events of one device hold one name.
    pub device: Arc<str>,
    #[serde(flatten)]
    pub body: Body,
}

impl Event {
    /// What makes two events the same event: device, kind and instant (not the value, so a re-upload
    /// with a corrected value does not count twice).
    pub fn identity(&self) -> (&str, Kind, i64) {
        (&*self.device, self.body.kind(), self.at.as_second())
    }
}

/// Converts a glucose value to tenths of mg/dL if it is in the kept range.
pub fn glucose_tenths(mg_dl: f64) -> Option<u16> {
    if mg_dl.is_finite() && (GLUCOSE_MIN_MG_DL..=GLUCOSE_MAX_MG_DL).contains(&mg_dl) {
        Some((mg_dl * 10.0).round() as u16)
    } else {
        None
    }
}

/// Insulin units to milliunits, for doses up to 100 U (boluses) or rates up to 50 U/h.
pub fn milliunits(units: f64, max_units: f64) -> Option<u32> {
    if units.is_finite() && (0.0..=max_units).contains(&units) {
        Some((units * 1000.0).round() as u32)
    } else {
        None
    }
}

/// Largest bolus accepted, in units.
pub const MAX_BOLUS_UNITS: f64 = 100.0;
/// Largest long-acting injection accepted, in units.
pub const MAX_LONG_ACTING_UNITS: f64 = 300.0;
/// Largest total of automatic insulin accepted for one day, in units.
pub const MAX_AUTO_INSULIN_UNITS_PER_DAY: f64 = 500.0;
/// Largest basal rate accepted, in units per hour.
pub const MAX_BASAL_UNITS_PER_HOUR: f64 = 50.0;
/// Largest carbohydrate entry accepted, in grams.
pub const MAX_CARBS_GRAMS: f64 = 1000.0;
