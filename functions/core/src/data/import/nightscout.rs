//! Nightscout JSON (FORMATS.md): `entries` (`sgv` sensor readings, always mg/dL; `mbg` meter readings)
//! and `treatments` (boluses, SMBs, combo boluses, carbs, temporary basals, suspends, BG checks), as the
//! API returns them — an array of either, or an object with `entries` and `treatments` arrays.
//!
//! Several uploaders often feed one site, so the same reading arrives twice: every Nightscout event is
//! recorded under one device name, so the same kind at the same instant is stored once.

use jiff::Timestamp;
use serde_json::Value;

use super::{MAX_ROWS, Options, plausible_time};
use crate::data::event::{
    BasalKind, Body, Event, MAX_BASAL_UNITS_PER_HOUR, MAX_BOLUS_UNITS, MAX_CARBS_GRAMS,
    MG_DL_PER_MMOL_L, glucose_tenths, milliunits,
};
use crate::data::upload::Rejected;
use crate::error::CoreError;

const DEVICE: &str = "Nightscout";

/// Whether a JSON document is Nightscout data (rather than glucolink JSON).
pub fn looks_like(document: &Value) -> bool {
    let first = match document {
        Value::Array(items) => items.first(),
        Value::Object(object) => {
            return object.contains_key("entries") || object.contains_key("treatments");
        }
        _ => None,
    };
    first.is_some_and(|item| {
        item.get("sgv").is_some()
            || item.get("eventType").is_some()
            || item.get("dateString").is_some()
            || item.get("mbg").is_some()
    })
}

pub fn parse(bytes: &[u8], options: &Options) -> Result<(Vec<Event>, Vec<Rejected>), CoreError> {
    let invalid =
        |message: &str| CoreError::invalid("file", "invalid_nightscout_json", message.to_owned());
    let document: Value =
        serde_json::from_slice(bytes).map_err(|_| invalid("The file is not valid JSON."))?;
    let items: Vec<&Value> = match &document {
        Value::Array(items) => items.iter().collect(),
        Value::Object(object) => ["entries", "treatments"]
            .iter()
            .filter_map(|key| object.get(*key).and_then(Value::as_array))
            .flatten()
            .collect(),
        _ => {
            return Err(invalid(
                "Nightscout data is an array of entries or treatments.",
            ));
        }
    };
    if items.len() > MAX_ROWS {
        return Err(invalid("The file holds too many entries."));
    }
    let mut events = Vec::new();
    let mut rejected = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match event(item, options) {
            Ok(found) => events.extend(found),
            Err(reason) => rejected.push(Rejected {
                row: index + 1,
                reason,
            }),
        }
    }
    Ok((events, rejected))
}

fn number(item: &Value, field: &str) -> Option<f64> {
    match item.get(field)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The instant of an entry (`date` in epoch ms) or treatment (`created_at`, ISO 8601), and its offset.
fn when(item: &Value, options: &Options) -> Result<(Timestamp, i16), String> {
    let at = if let Some(ms) = number(item, "date").or_else(|| number(item, "mills")) {
        Timestamp::from_millisecond(ms as i64).map_err(|_| "the date is out of range".to_owned())?
    } else {
        let raw = item
            .get("created_at")
            .or_else(|| item.get("dateString"))
            .and_then(Value::as_str)
            .ok_or("the time is missing")?;
        raw.parse::<Timestamp>()
            .map_err(|_| format!("the time {raw:?} is not ISO 8601 with an offset"))?
    };
    let at = Timestamp::from_second(at.as_second())
        .map_err(|_| "the date is out of range".to_owned())?;
    let offset = match number(item, "utcOffset") {
        Some(minutes) if (-900.0..=900.0).contains(&minutes) => minutes as i16,
        _ => i16::try_from(options.tz.to_offset(at).seconds() / 60).unwrap_or(0),
    };
    Ok((at, offset))
}

fn event(item: &Value, options: &Options) -> Result<Vec<Event>, String> {
    if !item.is_object() {
        return Err("an entry is a JSON object".into());
    }
    let (at, utc_offset_minutes) = when(item, options)?;
    plausible_time(at, options)?;
    let make = |body: Body| Event {
        at,
        utc_offset_minutes,
        device: DEVICE.to_owned(),
        body,
    };
    let glucose = |value: f64, mmol: bool| -> Result<u16, String> {
        glucose_tenths(if mmol {
            value * MG_DL_PER_MMOL_L
        } else {
            value
        })
        .ok_or_else(|| format!("the glucose value {value} is out of range"))
    };
    if let Some(kind) = item.get("type").and_then(Value::as_str) {
        return match kind {
            "sgv" => {
                let value = number(item, "sgv").ok_or("the sgv value is missing")?;
                Ok(vec![make(Body::Cgm {
                    glucose_tenths_mg_dl: glucose(value, false)?,
                })])
            }
            "mbg" => {
                let value = number(item, "mbg").ok_or("the mbg value is missing")?;
                Ok(vec![make(Body::Smbg {
                    glucose_tenths_mg_dl: glucose(value, false)?,
                })])
            }
            _ => Ok(Vec::new()), // calibrations and others
        };
    }
    let event_type = item.get("eventType").and_then(Value::as_str).unwrap_or("");
    let mut events = Vec::new();
    match event_type {
        "Temp Basal" => {
            let minutes = number(item, "duration").unwrap_or(0.0);
            let rate = number(item, "absolute")
                .or_else(|| number(item, "rate"))
                .ok_or(
                    "a percentage temporary basal cannot be stored without the scheduled rate",
                )?;
            events.push(make(Body::Basal {
                rate_milliunits_per_hour: milliunits(rate, MAX_BASAL_UNITS_PER_HOUR)
                    .ok_or_else(|| format!("a basal rate of {rate} U/h is out of range"))?,
                duration_seconds: (minutes.clamp(0.0, 10_080.0) * 60.0) as u32,
                basal: BasalKind::Temporary,
            }));
        }
        "Suspend Pump" => {
            let minutes = number(item, "duration").unwrap_or(0.0);
            events.push(make(Body::Basal {
                rate_milliunits_per_hour: 0,
                duration_seconds: (minutes.clamp(0.0, 10_080.0) * 60.0) as u32,
                basal: BasalKind::Suspend,
            }));
        }
        _ => {}
    }
    if let Some(units) = number(item, "insulin").filter(|u| *u > 0.0) {
        let milli = milliunits(units, MAX_BOLUS_UNITS)
            .ok_or_else(|| format!("a bolus of {units} U is out of range"))?;
        let body = if event_type == "Combo Bolus" {
            let now_share = number(item, "splitNow").unwrap_or(100.0).clamp(0.0, 100.0) / 100.0;
            let minutes = number(item, "duration").unwrap_or(0.0).clamp(0.0, 1440.0);
            let immediate = (f64::from(milli) * now_share).round() as u32;
            Body::Bolus {
                immediate_milliunits: immediate,
                extended_milliunits: milli - immediate.min(milli),
                extended_minutes: minutes as u32,
                automatic: false,
            }
        } else {
            Body::Bolus {
                immediate_milliunits: milli,
                extended_milliunits: 0,
                extended_minutes: 0,
                automatic: event_type == "SMB",
            }
        };
        events.push(make(body));
    }
    if let Some(grams) = number(item, "carbs").filter(|g| *g > 0.0) {
        if grams > MAX_CARBS_GRAMS {
            return Err(format!("{grams} g of carbs is out of range"));
        }
        events.push(make(Body::Carbs {
            tenths_grams: (grams * 10.0).round() as u32,
        }));
    }
    if event_type == "BG Check"
        && let Some(value) = number(item, "glucose")
    {
        let mmol = item
            .get("units")
            .and_then(Value::as_str)
            .is_some_and(|u| u.to_ascii_lowercase().contains("mmol"));
        events.push(make(Body::Smbg {
            glucose_tenths_mg_dl: glucose(value, mmol)?,
        }));
    }
    Ok(events)
}
