//! Dexcom Clarity CSV export (FORMATS.md): a 14-column header, metadata rows without a timestamp,
//! then `EGV` (sensor), `Calibration` (meter), `Insulin` and `Carbs` rows in local wall-clock time.
//! `Low` and `High` glucose become the ends of the CGM range. Columns are found by name, so the mg/dL and
//! mmol/L variants and files without `Transmitter ID` read alike. In the autumn clock change both passes
//! of the repeated hour carry the same local times, often interleaved: `Transmitter Time (Long Integer)`,
//! monotonic per transmitter, tells them apart (see [`place`]).

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::text::{FoldReader, csv_rows, delimiter, local_instant, number};
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
    transmitter_time: Option<usize>,
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
        transmitter_time: find("Transmitter Time (Long Integer)"),
    })
}

pub fn parse(text: &str, options: &Options) -> Result<Read, CoreError> {
    let first_line = text.lines().find(|l| l.contains(TIMESTAMP)).unwrap_or("");
    let delimiter_byte = delimiter(first_line);
    let mut columns_found: Option<Columns> = None;
    let mut read = Read::default();
    let mut timed: Vec<Timed> = Vec::new();
    for (row, record) in csv_rows(text, delimiter_byte, &mut read)? {
        let Some(columns) = &columns_found else {
            columns_found = columns(&record);
            continue;
        };
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
        let stamp = cell(Some(columns.timestamp));
        if stamp.is_empty() {
            continue; // patient, device and alert-setting rows carry no timestamp
        }
        let Ok(local) = stamp.parse::<DateTime>() else {
            read.reject(
                row,
                format!("the timestamp {stamp:?} is not YYYY-MM-DDThh:mm:ss"),
            );
            continue;
        };
        let clock = number(cell(columns.transmitter_time))
            .filter(|t| *t >= 0.0)
            .map(|t| (transmitter_key(&record, columns), t as i64));
        timed.push(Timed {
            row,
            record,
            local,
            clock,
        });
    }
    let Some(columns) = columns_found else {
        return Err(CoreError::invalid(
            "file",
            "invalid_clarity_csv",
            "No Dexcom Clarity header row was found.",
        ));
    };
    let instants = place(&timed, &options.tz, &mut read.notes);
    for (entry, instant) in timed.iter().zip(instants) {
        let Some((at, utc_offset_minutes)) = instant else {
            read.reject(entry.row, "the time does not exist in the time zone");
            continue;
        };
        match event(&entry.record, &columns, options, at, utc_offset_minutes) {
            Ok(Ok(event)) => read.push(entry.row, event),
            Ok(Err(skipped)) => read.skip(skipped),
            Err(reason) => read.reject(entry.row, reason),
        }
    }
    Ok(read)
}

/// A row with a timestamp, and its transmitter's clock (`Transmitter Time`, seconds) when it has one.
struct Timed {
    row: usize,
    record: csv::StringRecord,
    local: DateTime,
    clock: Option<(String, i64)>,
}

fn transmitter_key(record: &csv::StringRecord, columns: &Columns) -> String {
    let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
    format!("{}|{}", cell(columns.transmitter), cell(columns.source))
}

/// The instant of each row (docs/UPLOADS.md, Dexcom Clarity). A local time outside the autumn fold
/// has one instant. Inside it, the transmitter's own clock decides: `Transmitter Time` counts seconds
/// from the transmitter's start, so instant − transmitter time is the same for all its readings; the
/// pass whose instant agrees with that of the nearest unambiguous reading (within 30 minutes) is the
/// one. Rows without a transmitter time fall back to file order (a local time that goes back inside
/// the fold is the second pass). A jump of that difference by more than 15 minutes between two
/// readings is the phone's clock changing: a note says when.
fn place(timed: &[Timed], tz: &TimeZone, notes: &mut Vec<String>) -> Vec<Option<(Timestamp, i16)>> {
    // The transmitter's start, from unambiguous readings: (transmitter, transmitter time, start).
    let mut starts: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
    for entry in timed {
        if let Some((key, clock)) = &entry.clock
            && !tz.to_ambiguous_timestamp(entry.local).is_ambiguous()
            && let Some((at, _)) = local_instant(entry.local, tz, false)
        {
            starts
                .entry(key.as_str())
                .or_default()
                .push((*clock, at.as_second() - clock));
        }
    }
    for (key, list) in &mut starts {
        list.sort_unstable();
        for pair in list.windows(2) {
            let jump = pair[1].1 - pair[0].1;
            if jump.abs() > 15 * 60 {
                let at = Timestamp::from_second(pair[1].0 + pair[1].1).unwrap_or_default();
                let transmitter = key.split('|').next().unwrap_or("");
                notes.push(format!(
                    "The clock of the phone or receiver changed by about {} minutes before {} (transmitter {transmitter}): readings are placed at the times it showed.",
                    jump / 60,
                    tz.to_datetime(at).strftime("%Y-%m-%d %H:%M")
                ));
            }
        }
    }
    let mut fold = FoldReader::default();
    timed
        .iter()
        .map(|entry| {
            let by_order = fold.instant(entry.local, tz);
            let ambiguous = tz.to_ambiguous_timestamp(entry.local).is_ambiguous();
            let (Some((key, clock)), true) = (&entry.clock, ambiguous) else {
                return by_order;
            };
            let list = starts.get(key.as_str())?;
            let nearest = list
                .binary_search_by_key(clock, |(c, _)| *c)
                .unwrap_or_else(|i| i);
            let start = [nearest.checked_sub(1), Some(nearest)]
                .into_iter()
                .flatten()
                .filter_map(|i| list.get(i))
                .min_by_key(|(c, _)| (c - clock).abs())
                .map(|(_, start)| *start);
            let Some(start) = start else {
                return by_order;
            };
            [false, true]
                .into_iter()
                .filter_map(|later| local_instant(entry.local, tz, later))
                .min_by_key(|(at, _)| (at.as_second() - clock - start).abs())
                .filter(|(at, _)| (at.as_second() - clock - start).abs() <= 30 * 60)
                .or(by_order)
        })
        .collect()
}

/// The row's event, or why a readable row holds nothing glucolink keeps (`Ok(Err(reason))`).
fn event(
    record: &csv::StringRecord,
    columns: &Columns,
    options: &Options,
    at: Timestamp,
    utc_offset_minutes: i16,
) -> Result<Result<Event, String>, String> {
    let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
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
                    device: device.into(),
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
        device: device.into(),
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),Transmitter ID";

    fn options() -> Options {
        Options {
            tz: TimeZone::get("Europe/Bucharest").expect("tz"),
            now: Timestamp::from_second(1_900_000_000).expect("ts"),
        }
    }

    #[test]
    fn the_repeated_autumn_hour_is_placed_by_the_transmitter_clock_even_when_interleaved() {
        // Europe/Bucharest repeats 03:00–03:59 on 2026-10-25; rows sorted by local time interleave the
        // passes, and the same local second appears in both.
        let rows = [
            ("2026-10-25T02:55:00", 1000, 100),
            ("2026-10-25T03:00:00", 1300, 110),
            ("2026-10-25T03:00:00", 4900, 150),
            ("2026-10-25T03:55:00", 4600, 120),
            ("2026-10-25T03:55:00", 8200, 160),
            ("2026-10-25T04:00:00", 8500, 170),
        ];
        let mut text = format!("{HEADER}\n");
        for (i, (stamp, clock, value)) in rows.iter().enumerate() {
            text.push_str(&format!(
                "{},{stamp},EGV,,,,G6,{value},,,,,{clock},8ABC12\n",
                i + 1
            ));
        }
        let read = parse(&text, &options()).expect("parsed");
        assert!(read.rejected.is_empty(), "{:?}", read.rejected);
        let mut placed: Vec<(i64, u16)> = read
            .events
            .iter()
            .filter_map(|e| match e.body {
                Body::Cgm {
                    glucose_tenths_mg_dl,
                } => Some((e.at.as_second(), glucose_tenths_mg_dl / 10)),
                _ => None,
            })
            .collect();
        placed.sort_unstable();
        let first = placed[0].0;
        let offsets: Vec<(i64, u16)> = placed.iter().map(|(at, v)| (at - first, *v)).collect();
        assert_eq!(
            offsets,
            vec![
                (0, 100),
                (300, 110),
                (3600, 120),
                (3900, 150),
                (7200, 160),
                (7500, 170)
            ]
        );
        assert!(read.notes.is_empty(), "{:?}", read.notes);
    }

    #[test]
    fn a_phone_clock_that_jumped_is_noted() {
        let text = format!(
            "{HEADER}\n1,2026-11-02T10:00:00,EGV,,,,G6,100,,,,,1000,8ABC12\n2,2026-11-02T12:05:00,EGV,,,,G6,110,,,,,1300,8ABC12\n"
        );
        let read = parse(&text, &options()).expect("parsed");
        assert_eq!(read.events.len(), 2);
        assert!(
            read.notes[0].contains("changed by about 120 minutes"),
            "{:?}",
            read.notes
        );
    }
}
