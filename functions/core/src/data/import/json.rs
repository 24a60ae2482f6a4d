//! glucolink's own JSON upload format (documented in `docs/UPLOADS.md`):
//!
//! ```json
//! {"device": "Contour Next One 7G1234", "events": [
//!   {"type": "cgm",   "time": "2026-11-20T08:00:00+01:00", "value": 132},
//!   {"type": "smbg",  "time": "2026-11-20T07:55:00", "value": 7.1, "unit": "mmol/L"},
//!   {"type": "bolus", "time": "2026-11-20T08:02:00Z", "units": 4.5, "extended_units": 1.0, "extended_minutes": 60},
//!   {"type": "basal", "time": "2026-11-20T00:00:00Z", "rate": 0.85, "duration_minutes": 60, "basal": "scheduled"},
//!   {"type": "carbs", "time": "2026-11-20T08:00:00Z", "grams": 45}
//! ]}
//! ```
//! Times with an offset are instants; times without one are local times in the request's zone.

use jiff::Timestamp;
use jiff::civil::DateTime;
use serde_json::Value;

use super::text::local_instant;
use super::{MAX_OFFSET_MINUTES, MAX_ROWS, Options, Read, plausible_time};
use crate::data::event::{
    BasalKind, Body, Event, MAX_AUTO_INSULIN_UNITS_PER_DAY, MAX_BASAL_UNITS_PER_HOUR,
    MAX_BOLUS_UNITS, MAX_CARBS_GRAMS, MAX_LONG_ACTING_UNITS, MG_DL_PER_MMOL_L, glucose_tenths,
    milliunits,
};
use crate::data::upload::Rejected;
use crate::error::CoreError;

const DEFAULT_DEVICE: &str = "glucolink JSON upload";

pub fn parse(bytes: &[u8], options: &Options) -> Result<Read, CoreError> {
    let invalid = |message: String| CoreError::invalid("file", "invalid_json_upload", message);
    let document: Value = serde_json::from_slice(bytes).map_err(|e| {
        invalid(format!(
            "The file is not valid JSON ({}).",
            e.to_string().split(" at line").next().unwrap_or("")
        ))
    })?;
    let Some(object) = document.as_object() else {
        return Err(invalid(
            "The upload is a JSON object with an \"events\" array.".into(),
        ));
    };
    let device = match object.get("device") {
        None => DEFAULT_DEVICE.to_owned(),
        Some(Value::String(name)) if valid_device(name) => name.trim().to_owned(),
        Some(_) => {
            return Err(invalid(
                "\"device\" is a name of 1 to 100 characters.".into(),
            ));
        }
    };
    let Some(Value::Array(items)) = object.get("events") else {
        return Err(invalid("The upload needs an \"events\" array.".into()));
    };
    if items.len() > MAX_ROWS {
        return Err(invalid(format!(
            "An upload holds at most {MAX_ROWS} events."
        )));
    }
    let mut read = Read {
        total_rows: items.len(),
        ..Read::default()
    };
    for (index, item) in items.iter().enumerate() {
        match event(item, &device, options) {
            Ok(event) => read.push(index + 1, event),
            Err(reason) => read
                .rejected
                .push(Rejected::at(index + 1, reason).item(format!("events[{index}]"))),
        }
    }
    Ok(read)
}

fn valid_device(name: &str) -> bool {
    let trimmed = name.trim();
    !trimmed.is_empty() && trimmed.chars().count() <= 100 && !trimmed.chars().any(char::is_control)
}

fn number(item: &Value, field: &str) -> Result<Option<f64>, String> {
    match item.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("\"{field}\" is not a number")),
        Some(_) => Err(format!("\"{field}\" is not a number")),
    }
}

fn required(item: &Value, field: &str) -> Result<f64, String> {
    number(item, field)?.ok_or_else(|| format!("\"{field}\" is missing"))
}

/// An instant from RFC 3339 with an offset, or a local time in the request's zone.
pub(crate) fn time(raw: &str, options: &Options) -> Result<(Timestamp, i16), String> {
    if let Ok(at) = raw.parse::<Timestamp>() {
        // The offset the time was written with is the device's local offset.
        let offset = written_offset_minutes(raw)
            .unwrap_or_else(|| i16::try_from(options.tz.to_offset(at).seconds() / 60).unwrap_or(0));
        if offset.abs() > MAX_OFFSET_MINUTES {
            return Err(format!(
                "\"time\" {raw:?} has an offset beyond ±14:00, which no place on Earth uses"
            ));
        }
        return Ok((at, offset));
    }
    let local: DateTime = raw.parse().map_err(|_| {
        format!("\"time\" {raw:?} is not a date and time like 2026-11-20T08:00:00+01:00")
    })?;
    local_instant(local, &options.tz, false)
        .ok_or_else(|| format!("\"time\" {raw:?} does not exist in the time zone"))
}

/// The offset at the end of an RFC 3339 time (`Z`, `+01:00`, `-05:30`, or `+0100`), in minutes.
pub(crate) fn written_offset_minutes(raw: &str) -> Option<i16> {
    if raw.ends_with(['Z', 'z']) {
        return Some(0);
    }
    let signed = |tail: &str| -> Option<i16> {
        let sign = match tail.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digits = tail.get(1..)?.replace(':', "");
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(sign * (digits[..2].parse::<i16>().ok()? * 60 + digits[2..].parse::<i16>().ok()?))
    };
    raw.get(raw.len().checked_sub(6)?..)
        .filter(|tail| tail.as_bytes().get(3) == Some(&b':'))
        .and_then(signed)
        .or_else(|| raw.get(raw.len().checked_sub(5)?..).and_then(signed))
}

fn event(item: &Value, default_device: &str, options: &Options) -> Result<Event, String> {
    if !item.is_object() {
        return Err("an event is a JSON object".into());
    }
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .ok_or("\"type\" is missing")?;
    let raw_time = item
        .get("time")
        .and_then(Value::as_str)
        .ok_or("\"time\" is missing")?;
    let (at, utc_offset_minutes) = time(raw_time, options)?;
    plausible_time(at, options)?;
    let device = match item.get("device") {
        None => default_device.to_owned(),
        Some(Value::String(name)) if valid_device(name) => name.trim().to_owned(),
        Some(_) => return Err("\"device\" is a name of 1 to 100 characters".into()),
    };
    let glucose = || -> Result<u16, String> {
        let value = required(item, "value")?;
        let mg_dl = match item.get("unit").and_then(Value::as_str).unwrap_or("mg/dL") {
            "mg/dL" | "mg/dl" => value,
            "mmol/L" | "mmol/l" => value * MG_DL_PER_MMOL_L,
            other => return Err(format!("\"unit\" {other:?} is not mg/dL or mmol/L")),
        };
        glucose_tenths(mg_dl)
            .ok_or_else(|| format!("glucose {value} is outside 20–600 mg/dL (1.1–33.3 mmol/L)"))
    };
    let body = match kind {
        "cgm" => Body::Cgm {
            glucose_tenths_mg_dl: glucose()?,
        },
        "smbg" => Body::Smbg {
            glucose_tenths_mg_dl: glucose()?,
        },
        "bolus" => {
            let immediate = number(item, "units")?.unwrap_or(0.0);
            let extended = number(item, "extended_units")?.unwrap_or(0.0);
            let minutes = number(item, "extended_minutes")?.unwrap_or(0.0);
            let bolus_error = || format!("a bolus is 0 to {MAX_BOLUS_UNITS} units");
            if immediate + extended <= 0.0 {
                return Err("a bolus needs \"units\" or \"extended_units\" above 0".into());
            }
            if !(0.0..=24.0 * 60.0).contains(&minutes) || (extended > 0.0 && minutes <= 0.0) {
                return Err(
                    "\"extended_minutes\" is 1 to 1440 when there are extended units".into(),
                );
            }
            Body::Bolus {
                immediate_milliunits: milliunits(immediate, MAX_BOLUS_UNITS)
                    .ok_or_else(bolus_error)?,
                extended_milliunits: milliunits(extended, MAX_BOLUS_UNITS)
                    .ok_or_else(bolus_error)?,
                extended_minutes: minutes.round() as u32,
                automatic: item
                    .get("automatic")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }
        }
        "basal" => {
            let basal = match item
                .get("basal")
                .and_then(Value::as_str)
                .unwrap_or("scheduled")
            {
                "scheduled" => BasalKind::Scheduled,
                "temporary" => BasalKind::Temporary,
                "suspend" => BasalKind::Suspend,
                other => {
                    return Err(format!(
                        "\"basal\" {other:?} is not scheduled, temporary or suspend"
                    ));
                }
            };
            let rate = if basal == BasalKind::Suspend {
                0.0
            } else {
                required(item, "rate")?
            };
            let minutes = number(item, "duration_minutes")?.unwrap_or(0.0);
            if !(0.0..=7.0 * 24.0 * 60.0).contains(&minutes) {
                return Err("\"duration_minutes\" is 0 to 10080".into());
            }
            Body::Basal {
                rate_milliunits_per_hour: milliunits(rate, MAX_BASAL_UNITS_PER_HOUR).ok_or_else(
                    || format!("a basal rate is 0 to {MAX_BASAL_UNITS_PER_HOUR} U/h"),
                )?,
                duration_seconds: (minutes * 60.0).round() as u32,
                basal,
            }
        }
        "carbs" => {
            let grams = required(item, "grams")?;
            if !(0.0..=MAX_CARBS_GRAMS).contains(&grams) || grams == 0.0 {
                return Err(format!("carbs are above 0 and at most {MAX_CARBS_GRAMS} g"));
            }
            Body::Carbs {
                tenths_grams: (grams * 10.0).round() as u32,
            }
        }
        "long_acting" => Body::LongActing {
            milliunits: milliunits(required(item, "units")?, MAX_LONG_ACTING_UNITS)
                .filter(|m| *m > 0)
                .ok_or_else(|| {
                    format!("a long-acting injection is above 0 and at most {MAX_LONG_ACTING_UNITS} units")
                })?,
        },
        "auto_insulin" => {
            let minutes = required(item, "period_minutes")?;
            if !(1.0..=1500.0).contains(&minutes) {
                return Err("\"period_minutes\" is 1 to 1500 (a day at most)".into());
            }
            Body::AutoInsulin {
                milliunits: milliunits(required(item, "units")?, MAX_AUTO_INSULIN_UNITS_PER_DAY)
                    .ok_or_else(|| {
                        format!("automatic insulin is 0 to {MAX_AUTO_INSULIN_UNITS_PER_DAY} units")
                    })?,
                period_seconds: (minutes * 60.0).round() as u32,
            }
        }
        "pump_mode" => Body::PumpMode {
            automatic: match item.get("mode").and_then(Value::as_str) {
                Some("automatic") => true,
                Some("manual") => false,
                _ => return Err("\"mode\" is automatic or manual".into()),
            },
        },
        "clock_set" => {
            let shift = required(item, "shift_seconds")?;
            if !shift.is_finite() || shift.abs() > 20.0 * 365.25 * 86_400.0 || shift.fract() != 0.0 {
                return Err("\"shift_seconds\" is a whole number of seconds, at most 20 years".into());
            }
            Body::ClockSet {
                shift_seconds: shift as i32,
            }
        }
        other => {
            return Err(format!(
                "\"type\" {other:?} is not cgm, smbg, bolus, basal, carbs, long_acting, auto_insulin, pump_mode or clock_set"
            ));
        }
    };
    Ok(Event {
        at,
        utc_offset_minutes,
        device: device.into(),
        body,
    })
}
