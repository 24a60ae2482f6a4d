//! Abbott LibreView CSV export (FORMATS.md). Headers are localized, so columns are read by position:
//! 0 device, 1 serial, 2 timestamp, 3 record type, 4 historic glucose, 7 rapid-acting insulin, 9 carbs
//! (grams), 12 long-acting insulin, 14 strip glucose. Record types: 0 historic (the sensor's own 5- or
//! 15-minute readings, kept as CGM), 1 scan (on-demand readings that repeat the curve: skipped, so no
//! reading counts twice), 2 strip (meter), 4 insulin, 5 food. Timestamps are floating local times in one
//! of several layouts; the day/month order is decided from the data (a part above 12), else from AM/PM
//! (US layout, month first), else day first. Rows are grouped by serial and record type, and within a
//! group their order resolves the autumn fold.

use std::collections::HashMap;

use jiff::civil::{Date, DateTime, Time};

use super::text::{FoldReader, csv_rows, delimiter, number};
use super::{Options, Read, plausible_time};
use crate::data::event::{
    Body, Event, MAX_BOLUS_UNITS, MAX_CARBS_GRAMS, MAX_LONG_ACTING_UNITS, MG_DL_PER_MMOL_L,
    glucose_tenths, milliunits,
};
use crate::error::CoreError;

/// Whether the text looks like a LibreView export.
pub fn looks_like(text: &str) -> bool {
    let mut lines = text.lines().take(4);
    let first_is_title = lines.next().is_some_and(|l| {
        l.contains("Glucose Data") || l.contains("Generated on") || l.contains("Glukosedaten")
    });
    let has_header = text.lines().take(4).any(|l| {
        l.starts_with("Device,Serial Number,Device Timestamp,Record Type")
            || l.starts_with("Gerät;Seriennummer")
            || l.starts_with("Device;Serial Number")
    });
    first_is_title || has_header
}

/// The order of the first two date parts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DateOrder {
    YearMonthDay,
    MonthDayYear,
    DayMonthYear,
}

/// Splits `2026-10-25 01:30`, `10-25-2026 01:30 AM`, `25/10/2026 01:30` into (three numbers, time, pm).
fn pieces(raw: &str) -> Option<([u32; 3], Time)> {
    let raw = raw.trim();
    let (date, rest) = raw.split_once(' ')?;
    let parts: Vec<u32> = date
        .split(['-', '/', '.'])
        .map(|p| p.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    let [a, b, c] = parts[..] else { return None };
    let rest = rest.trim();
    let (clock, meridiem) = match rest.rsplit_once(' ') {
        Some((clock, m)) if m.eq_ignore_ascii_case("AM") || m.eq_ignore_ascii_case("PM") => {
            (clock, Some(m.eq_ignore_ascii_case("PM")))
        }
        _ => (rest, None),
    };
    let mut hms = clock.split(':').map(|p| p.parse::<i8>().ok());
    let (mut hour, minute, second) = (
        hms.next()??,
        hms.next()??,
        hms.next().flatten().unwrap_or(0),
    );
    if let Some(pm) = meridiem {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = match (hour, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
    }
    Some(([a, b, c], Time::new(hour, minute, second, 0).ok()?))
}

fn decide_order(stamps: &[&str]) -> DateOrder {
    let mut month_first_possible = true;
    let mut day_first_possible = true;
    let mut meridiem = false;
    for stamp in stamps {
        if stamp.contains("AM")
            || stamp.contains("PM")
            || stamp.contains("am")
            || stamp.contains("pm")
        {
            meridiem = true;
        }
        if let Some(([a, b, _], _)) = pieces(stamp) {
            if a > 31 {
                return DateOrder::YearMonthDay;
            }
            if a > 12 {
                month_first_possible = false;
            }
            if b > 12 {
                day_first_possible = false;
            }
        }
    }
    match (month_first_possible, day_first_possible) {
        (true, false) => DateOrder::MonthDayYear,
        (false, _) => DateOrder::DayMonthYear,
        (true, true) if meridiem => DateOrder::MonthDayYear,
        (true, true) => DateOrder::DayMonthYear,
    }
}

fn local(raw: &str, order: DateOrder) -> Option<DateTime> {
    let ([a, b, c], time) = pieces(raw)?;
    let (year, month, day) = match order {
        DateOrder::YearMonthDay => (a, b, c),
        DateOrder::MonthDayYear => (c, a, b),
        DateOrder::DayMonthYear => (c, b, a),
    };
    let date = Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    Some(date.to_datetime(time))
}

pub fn parse(text: &str, options: &Options) -> Result<Read, CoreError> {
    let header_line = text.lines().nth(1).unwrap_or("");
    let delimiter_byte = delimiter(header_line);
    let mut rows = Vec::new();
    let mut read = Read::default();
    let mut factor = None;
    for (line, record) in csv_rows(text, delimiter_byte, &mut read)? {
        let record_type = record.get(3).unwrap_or("").trim();
        if factor.is_none()
            && record.len() >= 5
            && record_type.parse::<u8>().is_err()
            && !record.get(2).unwrap_or("").trim().is_empty()
        {
            // The header row: its glucose column names the unit.
            let glucose_header = record.get(4).unwrap_or("");
            if glucose_header.contains("mmol") {
                factor = Some(MG_DL_PER_MMOL_L);
            } else if glucose_header.contains("mg") {
                factor = Some(1.0);
            }
            continue;
        }
        if record_type.parse::<u8>().is_ok() {
            rows.push((line, record));
        }
    }
    let Some(factor) = factor else {
        return Err(CoreError::invalid(
            "file",
            "invalid_libreview_csv",
            "No LibreView header row (Device, Serial Number, Device Timestamp, Record Type, …) was found.",
        ));
    };
    let stamps: Vec<&str> = rows.iter().filter_map(|(_, r)| r.get(2)).collect();
    let order = decide_order(&stamps);
    let mut folds: HashMap<(String, String), FoldReader> = HashMap::new();
    for (line, record) in &rows {
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let device = format!("{} {}", cell(0), cell(1)).trim().to_owned();
        let Some(local) = local(cell(2), order) else {
            read.reject(
                *line,
                format!("the timestamp {:?} is not a date and time", cell(2)),
            );
            continue;
        };
        let fold = folds
            .entry((cell(1).to_owned(), cell(3).to_owned()))
            .or_default();
        let Some((at, utc_offset_minutes)) = fold.instant(local, &options.tz) else {
            read.reject(*line, "the time does not exist in the time zone");
            continue;
        };
        if let Err(reason) = plausible_time(at, options) {
            read.reject(*line, reason);
            continue;
        }
        let glucose = |column: usize| -> Result<u16, String> {
            let raw = cell(column);
            let value =
                number(raw).ok_or_else(|| format!("the glucose value {raw:?} is not a number"))?;
            glucose_tenths(value * factor)
                .ok_or_else(|| format!("the glucose value {raw} is out of range"))
        };
        let body = match cell(3) {
            "0" => glucose(4).map(|g| {
                Some(Body::Cgm {
                    glucose_tenths_mg_dl: g,
                })
            }),
            "2" => glucose(14).map(|g| {
                Some(Body::Smbg {
                    glucose_tenths_mg_dl: g,
                })
            }),
            "4" => {
                // One insulin row may carry a rapid-acting and a long-acting dose.
                let rapid = number(cell(7)).map(|units| {
                    milliunits(units, MAX_BOLUS_UNITS)
                        .filter(|m| *m > 0)
                        .map(|m| Body::Bolus {
                            immediate_milliunits: m,
                            extended_milliunits: 0,
                            extended_minutes: 0,
                            automatic: false,
                        })
                        .ok_or_else(|| format!("a dose of {units} U is out of range"))
                });
                let long = number(cell(12)).map(|units| {
                    milliunits(units, MAX_LONG_ACTING_UNITS)
                        .filter(|m| *m > 0)
                        .map(|milliunits| Body::LongActing { milliunits })
                        .ok_or_else(|| format!("a long-acting dose of {units} U is out of range"))
                });
                match (rapid, long) {
                    (Some(Err(reason)), _) | (_, Some(Err(reason))) => Err(reason),
                    (Some(Ok(rapid)), Some(Ok(long))) => {
                        read.push(
                            *line,
                            Event {
                                at,
                                utc_offset_minutes,
                                device: device.as_str().into(),
                                body: long,
                            },
                        );
                        Ok(Some(rapid))
                    }
                    (Some(Ok(body)), None) | (None, Some(Ok(body))) => Ok(Some(body)),
                    (None, None) => Ok(None),
                }
            }
            "5" => match number(cell(9)) {
                Some(grams) if grams > 0.0 && grams <= MAX_CARBS_GRAMS => Ok(Some(Body::Carbs {
                    tenths_grams: (grams * 10.0).round() as u32,
                })),
                Some(grams) => Err(format!("{grams} g of carbs is out of range")),
                None => Ok(None),
            },
            _ => Ok(None), // scans, ketones, notes
        };
        match body {
            Ok(Some(body)) => read.push(
                *line,
                Event {
                    at,
                    utc_offset_minutes,
                    device: device.into(),
                    body,
                },
            ),
            Ok(None) => read.skip(match cell(3) {
                "1" => "scans (the sensor's own historic readings are kept instead)".to_owned(),
                "3" => "ketone readings (not kept)".to_owned(),
                "4" => "insulin rows without a number of units".to_owned(),
                "5" => "food rows without grams".to_owned(),
                "6" => "notes".to_owned(),
                other => format!("record type {other} rows"),
            }),
            Err(reason) => read.reject(*line, reason),
        }
    }
    Ok(read)
}
