//! A person's events as files they can take away: glucolink JSON (the upload format of
//! docs/UPLOADS.md, so an export uploads again unchanged) and CSV (one row an event, UTC and the
//! device's local time, the device, the kind and its values in plain units). Text a spreadsheet would
//! run as a formula (`=`, `+`, `-`, `@` first) is written with a leading `'`.

use jiff::civil::DateTime;
use jiff::tz::Offset;
use serde_json::{Value, json};

use super::event::{BasalKind, Body, Event};
use super::upload::UploadEntry;

fn offset(event: &Event) -> Offset {
    Offset::from_seconds(i32::from(event.utc_offset_minutes) * 60).unwrap_or(Offset::UTC)
}

fn local(event: &Event) -> DateTime {
    offset(event).to_datetime(event.at)
}

/// The device's local time with its offset, RFC 3339: `2026-11-20T08:00:00+01:00` (both times in one).
pub fn local_time(event: &Event) -> String {
    let minutes = i32::from(event.utc_offset_minutes);
    format!(
        "{}{}{:02}:{:02}",
        local(event).strftime("%Y-%m-%dT%H:%M:%S"),
        if minutes < 0 { '-' } else { '+' },
        minutes.abs() / 60,
        minutes.abs() % 60
    )
}

fn basal_name(basal: BasalKind) -> &'static str {
    match basal {
        BasalKind::Scheduled => "scheduled",
        BasalKind::Temporary => "temporary",
        BasalKind::Suspend => "suspend",
    }
}

/// One event as a glucolink JSON item, its time with the device's offset and its device named.
pub fn json_event(event: &Event) -> Value {
    let mut item = match &event.body {
        Body::Cgm {
            glucose_tenths_mg_dl,
        } => json!({"type": "cgm", "value": f64::from(*glucose_tenths_mg_dl) / 10.0}),
        Body::Smbg {
            glucose_tenths_mg_dl,
        } => json!({"type": "smbg", "value": f64::from(*glucose_tenths_mg_dl) / 10.0}),
        Body::Bolus {
            immediate_milliunits,
            extended_milliunits,
            extended_minutes,
            automatic,
        } => json!({
            "type": "bolus",
            "units": f64::from(*immediate_milliunits) / 1000.0,
            "extended_units": f64::from(*extended_milliunits) / 1000.0,
            "extended_minutes": extended_minutes,
            "automatic": automatic,
        }),
        Body::Basal {
            rate_milliunits_per_hour,
            duration_seconds,
            basal,
        } => json!({
            "type": "basal",
            "rate": f64::from(*rate_milliunits_per_hour) / 1000.0,
            "duration_minutes": duration_seconds / 60,
            "basal": basal_name(*basal),
        }),
        Body::Carbs { tenths_grams } => {
            json!({"type": "carbs", "grams": f64::from(*tenths_grams) / 10.0})
        }
        Body::LongActing { milliunits } => {
            json!({"type": "long_acting", "units": f64::from(*milliunits) / 1000.0})
        }
        Body::AutoInsulin {
            milliunits,
            period_seconds,
        } => json!({
            "type": "auto_insulin",
            "units": f64::from(*milliunits) / 1000.0,
            "period_minutes": period_seconds / 60,
        }),
        Body::PumpMode { automatic } => {
            json!({"type": "pump_mode", "mode": if *automatic { "automatic" } else { "manual" }})
        }
        Body::ClockSet { shift_seconds } => {
            json!({"type": "clock_set", "shift_seconds": shift_seconds})
        }
    };
    item["time"] = json!(local_time(event));
    item["device"] = json!(event.device);
    item
}

/// glucolink JSON of the events: `{"events": [...]}`.
pub fn to_json(events: &[Event]) -> Vec<u8> {
    let items: Vec<Value> = events.iter().map(json_event).collect();
    serde_json::to_vec(&json!({ "events": items })).unwrap_or_default()
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 21] = [
    "time_utc",
    "time_local",
    "device",
    "type",
    "glucose_mg_dl",
    "insulin_units",
    "extended_units",
    "extended_minutes",
    "automatic",
    "basal_rate_units_per_hour",
    "duration_minutes",
    "basal",
    "carbs_grams",
    "period_minutes",
    "mode",
    "shift_seconds",
    "description",
    "source_upload_id",
    "source_format",
    "source_uploaded_at",
    "source_file_sha256",
];

/// A cell a spreadsheet shows as text: a leading `=`, `+`, `-`, `@`, tab or carriage return is
/// escaped with `'` (OWASP's advice against formula injection).
pub fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// CSV of the events (header first), one row an event in the order given, each with the upload it
/// came in when that is recorded (empty cells otherwise).
pub fn to_csv(events: &[(Event, Option<&UploadEntry>)]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(CSV_HEADER);
    for (event, source) in events {
        let mut row: [String; 21] = Default::default();
        row[0] = event.at.to_string();
        row[1] = local_time(event);
        row[2] = cell(&event.device);
        row[3] = event.body.kind().as_str().to_owned();
        match &event.body {
            Body::Cgm {
                glucose_tenths_mg_dl,
            }
            | Body::Smbg {
                glucose_tenths_mg_dl,
            } => row[4] = number(f64::from(*glucose_tenths_mg_dl) / 10.0),
            Body::Bolus {
                immediate_milliunits,
                extended_milliunits,
                extended_minutes,
                automatic,
            } => {
                row[5] = number(f64::from(*immediate_milliunits) / 1000.0);
                row[6] = number(f64::from(*extended_milliunits) / 1000.0);
                row[7] = extended_minutes.to_string();
                row[8] = automatic.to_string();
            }
            Body::Basal {
                rate_milliunits_per_hour,
                duration_seconds,
                basal,
            } => {
                row[9] = number(f64::from(*rate_milliunits_per_hour) / 1000.0);
                row[10] = (duration_seconds / 60).to_string();
                row[11] = basal_name(*basal).to_owned();
            }
            Body::Carbs { tenths_grams } => row[12] = number(f64::from(*tenths_grams) / 10.0),
            Body::LongActing { milliunits } => row[5] = number(f64::from(*milliunits) / 1000.0),
            Body::AutoInsulin {
                milliunits,
                period_seconds,
            } => {
                row[5] = number(f64::from(*milliunits) / 1000.0);
                row[13] = (period_seconds / 60).to_string();
            }
            Body::PumpMode { automatic } => {
                row[14] = if *automatic { "automatic" } else { "manual" }.to_owned();
            }
            Body::ClockSet { shift_seconds } => row[15] = shift_seconds.to_string(),
        }
        row[16] = cell(&event.body.describe());
        if let Some(upload) = source {
            row[17] = upload.upload_id.clone();
            row[18] = upload.format.clone();
            row[19] = upload.at.to_string();
            row[20] = upload.sha256.clone();
        }
        let _ = writer.write_record(&row);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    #[test]
    fn a_formula_in_a_device_name_is_written_as_text() {
        let event = Event {
            at: Timestamp::from_second(1_790_000_000).expect("ts"),
            utc_offset_minutes: 60,
            device: "=HYPERLINK(\"x\")".into(),
            body: Body::Cgm {
                glucose_tenths_mg_dl: 1234,
            },
        };
        let csv = String::from_utf8(to_csv(&[(event, None)])).expect("utf-8");
        let row = csv.lines().nth(1).expect("row");
        assert!(row.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{row}");
        assert!(row.contains(",123.4,"), "{row}");
        assert!(row.contains("+01:00"), "{row}");
    }
}
