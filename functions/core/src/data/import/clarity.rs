//! Dexcom Clarity CSV export (FORMATS.md): a 14-column header, metadata rows without a timestamp,
//! then `EGV` (sensor), `Calibration` (meter), `Insulin` and `Carbs` rows in local wall-clock time.
//! `Low` and `High` glucose become the ends of the CGM range. Columns are found by name, so the mg/dL and
//! mmol/L variants and files without `Transmitter ID` read alike.

use jiff::civil::DateTime;

use super::text::{FoldReader, csv_rows, delimiter, number};
use super::{Options, Read, plausible_time};
use crate::data::event::{
    Body, CGM_HIGH_MG_DL, CGM_LOW_MG_DL, Event, MAX_BOLUS_UNITS, MAX_CARBS_GRAMS,
    MAX_LONG_ACTING_UNITS, MG_DL_PER_MMOL_L, glucose_tenths, milliunits,
};
use crate::error::CoreError;

const TIMESTAMP: &str = "Timestamp (YYYY-MM-DDThh:mm:ss)";

/// Whether the text has Clarity's header.
pub fn looks_like(text: &str) -> bool {
    text.lines()
        .take(20)
        .any(|line| line.contains(TIMESTAMP) && line.contains("Event Type"))
}

struct Columns {
    timestamp: usize,
    event_type: usize,
    subtype: Option<usize>,
    source: Option<usize>,
    glucose: Option<(usize, f64)>,
    insulin: Option<usize>,
    carbs: Option<usize>,
    transmitter: Option<usize>,
}

fn columns(header: &csv::StringRecord) -> Option<Columns> {
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let glucose = find("Glucose Value (mg/dL)")
        .map(|i| (i, 1.0))
        .or_else(|| find("Glucose Value (mmol/L)").map(|i| (i, MG_DL_PER_MMOL_L)));
    Some(Columns {
        timestamp: find(TIMESTAMP)?,
        event_type: find("Event Type")?,
        subtype: find("Event Subtype"),
        source: find("Source Device ID"),
        glucose,
        insulin: find("Insulin Value (u)"),
        carbs: find("Carb Value (grams)"),
        transmitter: find("Transmitter ID"),
    })
}

pub fn parse(text: &str, options: &Options) -> Result<Read, CoreError> {
    let first_line = text.lines().find(|l| l.contains(TIMESTAMP)).unwrap_or("");
    let delimiter_byte = delimiter(first_line);
    let mut columns_found: Option<Columns> = None;
    // Clarity writes rows in recording order, which resolves the autumn fold.
    let mut fold = FoldReader::default();
    let mut read = Read::default();
    for (row, record) in csv_rows(text, delimiter_byte, &mut read)? {
        let Some(columns) = &columns_found else {
            columns_found = columns(&record);
            continue;
        };
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let stamp = cell(columns.timestamp);
        if stamp.is_empty() {
            continue; // patient, device and alert-setting rows carry no timestamp
        }
        match event(&record, columns, options, &mut fold) {
            Ok(Ok(event)) => read.push(row, event),
            Ok(Err(skipped)) => read.skip(skipped),
            Err(reason) => read.reject(row, reason),
        }
    }
    if columns_found.is_none() {
        return Err(CoreError::invalid(
            "file",
            "invalid_clarity_csv",
            "No Dexcom Clarity header row was found.",
        ));
    }
    Ok(read)
}

/// The row's event, or why a readable row holds nothing glucolink keeps (`Ok(Err(reason))`).
fn event(
    record: &csv::StringRecord,
    columns: &Columns,
    options: &Options,
    fold: &mut FoldReader,
) -> Result<Result<Event, String>, String> {
    let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
    let local: DateTime = cell(Some(columns.timestamp)).parse().map_err(|_| {
        format!(
            "the timestamp {:?} is not YYYY-MM-DDThh:mm:ss",
            cell(Some(columns.timestamp))
        )
    })?;
    let (at, utc_offset_minutes) = fold
        .instant(local, &options.tz)
        .ok_or("the time does not exist in the time zone")?;
    plausible_time(at, options)?;
    let device = match (cell(columns.source), cell(columns.transmitter)) {
        ("", "") => "Dexcom".to_owned(),
        (source, "") => format!("Dexcom {source}"),
        ("", transmitter) => format!("Dexcom {transmitter}"),
        (source, transmitter) => format!("Dexcom {source} {transmitter}"),
    };
    let glucose = || -> Result<u16, String> {
        let (index, factor) = columns.glucose.ok_or("the file has no glucose column")?;
        let raw = cell(Some(index));
        let mg_dl = match raw {
            "Low" | "LOW" => CGM_LOW_MG_DL,
            "High" | "HIGH" => CGM_HIGH_MG_DL,
            _ => {
                number(raw).ok_or_else(|| format!("the glucose value {raw:?} is not a number"))?
                    * factor
            }
        };
        glucose_tenths(mg_dl).ok_or_else(|| format!("the glucose value {raw} is out of range"))
    };
    let body = match cell(Some(columns.event_type)) {
        "EGV" => Body::Cgm {
            glucose_tenths_mg_dl: glucose()?,
        },
        "Calibration" => Body::Smbg {
            glucose_tenths_mg_dl: glucose()?,
        },
        "Insulin" => {
            let units = number(cell(columns.insulin)).ok_or("the insulin value is missing")?;
            if units <= 0.0 {
                return Err("the insulin value is 0".into());
            }
            if cell(columns.subtype) == "Long-Acting" {
                return Ok(Ok(Event {
                    at,
                    utc_offset_minutes,
                    device,
                    body: Body::LongActing {
                        milliunits: milliunits(units, MAX_LONG_ACTING_UNITS).ok_or_else(|| {
                            format!("a long-acting dose of {units} units is out of range")
                        })?,
                    },
                }));
            }
            Body::Bolus {
                immediate_milliunits: milliunits(units, MAX_BOLUS_UNITS)
                    .ok_or_else(|| format!("a bolus of {units} units is out of range"))?,
                extended_milliunits: 0,
                extended_minutes: 0,
                automatic: false,
            }
        }
        "Carbs" => {
            let grams = number(cell(columns.carbs)).ok_or("the carb value is missing")?;
            if grams <= 0.0 || grams > MAX_CARBS_GRAMS {
                return Err(format!("{grams} g of carbs is out of range"));
            }
            Body::Carbs {
                tenths_grams: (grams * 10.0).round() as u32,
            }
        }
        // Alerts, exercise, health and device rows are not device data glucolink keeps.
        "" => return Ok(Err("rows without an event type".into())),
        other => {
            return Ok(Err(format!(
                "{other:?} rows (not glucose, insulin or carbs)"
            )));
        }
    };
    Ok(Ok(Event {
        at,
        utc_offset_minutes,
        device,
        body,
    }))
}
