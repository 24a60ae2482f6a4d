//! Importers: turn what a person uploads (our JSON, or an export they already have) into events.
//!
//! Each importer is a pure function of the bytes, the time zone for floating local times and the
//! current time; it never panics (property tests feed it random and mutated input), reports every row it
//! cannot use with the reason, and never guesses silently. `detect` picks the format from the content.

pub mod carelink;
pub mod clarity;
pub mod json;
pub mod libreview;
pub mod nightscout;
mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::completeness::{self, Completeness};
use super::event::{Event, Kind};
use super::upload::{Conflict, Rejected, RowCounts, Skipped};
use crate::error::CoreError;

/// Largest upload accepted (API Gateway's payload limit is 10 MB): 90 days of any supported export fit.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Most rows (or JSON events) read from one upload.
pub const MAX_ROWS: usize = 500_000;

/// The formats glucolink reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// glucolink's own JSON (`docs/UPLOADS.md`).
    Json,
    /// Dexcom Clarity CSV export.
    Clarity,
    /// Medtronic CareLink CSV export (Personal or Clinic).
    CareLink,
    /// Abbott LibreView CSV export.
    LibreView,
    /// Nightscout entries and treatments (JSON).
    Nightscout,
}

impl Format {
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Json => "glucolink-json",
            Format::Clarity => "dexcom-clarity-csv",
            Format::CareLink => "medtronic-carelink-csv",
            Format::LibreView => "abbott-libreview-csv",
            Format::Nightscout => "nightscout-json",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Format::Json => "glucolink JSON",
            Format::Clarity => "Dexcom Clarity CSV",
            Format::CareLink => "Medtronic CareLink CSV",
            Format::LibreView => "Abbott LibreView CSV",
            Format::Nightscout => "Nightscout JSON",
        }
    }

    /// A `format=` value (our names, or short ones: `json`, `clarity`).
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "glucolink-json" | "json" => Ok(Format::Json),
            "dexcom-clarity-csv" | "clarity" => Ok(Format::Clarity),
            "medtronic-carelink-csv" | "carelink" => Ok(Format::CareLink),
            "abbott-libreview-csv" | "libreview" => Ok(Format::LibreView),
            "nightscout-json" | "nightscout" => Ok(Format::Nightscout),
            _ => Err(CoreError::invalid(
                "format",
                "unknown_format",
                "The format is one of glucolink-json, dexcom-clarity-csv, medtronic-carelink-csv, abbott-libreview-csv or nightscout-json; leave it out to detect it.",
            )),
        }
    }
}

/// What an importer needs besides the bytes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The zone of times without an offset (the person's, or the `tz` of the request).
    pub tz: TimeZone,
    /// Events more than a day after this are refused (a wrong device clock).
    pub now: Timestamp,
}

/// What one importer read from the bytes: the events with the row each came from (0 for events derived
/// from several rows, such as a pump's mode or a profile's schedule), the rows it refused (each with the
/// reason), the rows it skipped because they hold nothing glucolink keeps (counted by reason, so nothing
/// vanishes unaccounted), how many rows the file has, and notes on how something was read.
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub events: Vec<Event>,
    /// The row (or JSON item, from 1) of each event, aligned with `events`.
    pub rows: Vec<usize>,
    /// Rows whose content joined another row's event (a bolus's parts, its selected and delivered
    /// rows): used, though no event carries their number.
    pub merged_rows: Vec<usize>,
    pub rejected: Vec<Rejected>,
    pub skipped: BTreeMap<String, usize>,
    /// Rows (CSV lines or JSON items) in the file, header and preamble included.
    pub total_rows: usize,
    pub notes: Vec<String>,
}

impl Read {
    /// An event read from `row` (0: derived from several rows).
    pub(crate) fn push(&mut self, row: usize, event: Event) {
        self.events.push(event);
        self.rows.push(row);
    }

    pub(crate) fn reject(&mut self, row: usize, reason: impl Into<String>) {
        self.rejected.push(Rejected::at(row, reason));
    }

    pub(crate) fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }
}

/// An importer's result.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub format: Format,
    pub events: Vec<Event>,
    /// The row each event came from (0: derived from several rows), aligned with `events`.
    pub rows: Vec<usize>,
    pub rejected: Vec<Rejected>,
    /// Values of the file that differ from an earlier row's for the same device, kind and instant.
    pub conflicts: Vec<Conflict>,
    pub row_counts: RowCounts,
    /// Readings against each device's cadence, gaps, days without insulin, over what the file covers.
    pub completeness: Completeness,
    /// Rows that hold nothing glucolink keeps (notes, calibrations, site changes…), by reason.
    pub skipped: Vec<Skipped>,
    /// How something was read that the person should know (for example units decided from the data).
    pub notes: Vec<String>,
}

/// Which format the bytes are, from their content.
pub fn detect(bytes: &[u8]) -> Result<Format, CoreError> {
    let text = text::decode(bytes);
    let start = text.trim_start();
    if start.starts_with('{') || start.starts_with('[') {
        let nightscout = serde_json::from_str::<serde_json::Value>(start)
            .is_ok_and(|d| nightscout::looks_like(&d));
        return Ok(if nightscout {
            Format::Nightscout
        } else {
            Format::Json
        });
    }
    if clarity::looks_like(&text) {
        return Ok(Format::Clarity);
    }
    if carelink::looks_like(&text) {
        return Ok(Format::CareLink);
    }
    if libreview::looks_like(&text) {
        return Ok(Format::LibreView);
    }
    Err(CoreError::invalid(
        "file",
        "unknown_format",
        "This file is not one glucolink reads: upload glucolink JSON, Nightscout JSON, or a Dexcom Clarity, Medtronic CareLink or Abbott LibreView CSV export.",
    ))
}

/// Reads the bytes as `format`.
pub fn parse(format: Format, bytes: &[u8], options: &Options) -> Result<Parsed, CoreError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(CoreError::invalid(
            "file",
            "file_too_large",
            format!(
                "An upload can be at most {} MB.",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
        ));
    }
    let read: Read = match format {
        Format::Json => json::parse(bytes, options)?,
        Format::Clarity => clarity::parse(&text::decode(bytes), options)?,
        Format::CareLink => carelink::parse(&text::decode(bytes), options)?,
        Format::LibreView => libreview::parse(&text::decode(bytes), options)?,
        Format::Nightscout => nightscout::parse(bytes, options)?,
    };
    Ok(Parsed::new(format, read, &options.tz))
}

impl Parsed {
    /// The result of an import: conflicting values set apart, rows counted, completeness assessed
    /// (local days in `tz`).
    pub fn new(format: Format, read: Read, tz: &TimeZone) -> Self {
        let (events, rows, conflicts) = separate_conflicts(read.events, read.rows);
        let used: Vec<usize> = rows.iter().chain(&read.merged_rows).copied().collect();
        let row_counts = count_rows(
            read.total_rows,
            &used,
            &conflicts,
            &read.rejected,
            &read.skipped,
        );
        let completeness = completeness::assess(&events, tz, None);
        Parsed {
            format,
            completeness,
            events,
            rows,
            rejected: read.rejected,
            conflicts,
            row_counts,
            skipped: read
                .skipped
                .into_iter()
                .map(|(reason, count)| Skipped { reason, count })
                .collect(),
            notes: read.notes,
        }
    }
}

/// Keeps, of events with the same device, kind and instant but different values, the one from the row
/// that comes first in the file, and reports the others as conflicts. Equal values stay: storing them
/// counts them as duplicates.
fn separate_conflicts(
    events: Vec<Event>,
    rows: Vec<usize>,
) -> (Vec<Event>, Vec<usize>, Vec<Conflict>) {
    let mut order: Vec<usize> = (0..events.len()).collect();
    // Derived events (row 0) come last: a row's own value wins over one worked out from others.
    order.sort_by_key(|&i| (rows[i] == 0, rows[i]));
    let mut first: HashMap<(&str, Kind, i64), usize> = HashMap::new();
    let mut conflicting = vec![false; events.len()];
    let mut conflicts = Vec::new();
    for i in order {
        let event = &events[i];
        match first.get(&event.identity()) {
            Some(&kept) if events[kept].body != event.body => {
                conflicting[i] = true;
                conflicts.push(Conflict {
                    row: (rows[i] > 0).then_some(rows[i]),
                    time: event.at,
                    device: event.device.to_string(),
                    kind: event.body.kind().as_str(),
                    kept: events[kept].body.describe(),
                    not_kept: event.body.describe(),
                    kept_from: "file",
                });
            }
            Some(_) => {}
            None => {
                first.insert(event.identity(), i);
            }
        }
    }
    conflicts.sort_by_key(|c| c.row);
    let mut kept_events = Vec::with_capacity(events.len());
    let mut kept_rows = Vec::with_capacity(events.len());
    for ((event, row), conflict) in events.into_iter().zip(rows).zip(conflicting) {
        if !conflict {
            kept_events.push(event);
            kept_rows.push(row);
        }
    }
    (kept_events, kept_rows, conflicts)
}

fn count_rows(
    total: usize,
    rows: &[usize],
    conflicts: &[Conflict],
    rejected: &[Rejected],
    skipped: &BTreeMap<String, usize>,
) -> RowCounts {
    let mut with_events: Vec<usize> = rows.iter().copied().filter(|r| *r > 0).collect();
    with_events.sort_unstable();
    with_events.dedup();
    let conflicting: BTreeSet<usize> = conflicts
        .iter()
        .filter_map(|c| c.row)
        .filter(|r| with_events.binary_search(r).is_err())
        .collect();
    let rejected: BTreeSet<usize> = rejected.iter().map(|r| r.row).collect();
    let skipped: usize = skipped.values().sum();
    let counted = with_events.len() + conflicting.len() + rejected.len() + skipped;
    RowCounts {
        total,
        with_events: with_events.len(),
        conflicting: conflicting.len(),
        rejected: rejected.len(),
        skipped,
        without_data: total.saturating_sub(counted),
    }
}

/// The largest UTC offset any place uses (±14:00), in minutes: beyond it a time is an error.
pub const MAX_OFFSET_MINUTES: i16 = 14 * 60;

/// Refuses events from the future (beyond a day of clock skew).
pub(crate) fn plausible_time(at: Timestamp, options: &Options) -> Result<(), String> {
    if at.as_second() > options.now.as_second() + 86_400 {
        Err("the time is in the future; check the device clock".into())
    } else if at.as_second() < 946_684_800 {
        Err("the time is before the year 2000".into())
    } else {
        Ok(())
    }
}

/// [`parse`] on the blocking pool: a large file takes a while and must not stall other requests.
pub async fn parse_off_thread(
    format: Format,
    bytes: std::sync::Arc<[u8]>,
    options: Options,
) -> Result<Parsed, CoreError> {
    tokio::task::spawn_blocking(move || parse(format, bytes.as_ref(), &options))
        .await
        .map_err(|e| CoreError::Internal(format!("import task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn options() -> Options {
        Options {
            tz: TimeZone::get("Europe/London").expect("zone"),
            now: Timestamp::from_second(1_795_000_000).expect("ts"),
        }
    }

    const SAMPLES: [&str; 7] = [
        "Pump:,Paradigm Revel - 723,#965788,VER 3.0B1.1,\nData Range,3/13/14 00:00:00,to,3/14/14 00:00:00\nIndex,Date,Time,Timestamp,New Device Time,BG Reading (mg/dL),Temp Basal Amount (U/h),Temp Basal Type,Temp Basal Duration (hh:mm:ss),Bolus Type,Bolus Volume Delivered (U),Sensor Glucose (mg/dL),Raw-Type,Raw-Values,Raw-Device Type\n1,3/13/14,0:00:00,3/13/14 00:00:00,,,,,,,,,BasalProfileStart,\"RATE=0.85, START_TIME=0\",Paradigm Revel - 723\n2,3/13/14,9:27:00,3/13/14 09:27:00,,,50,Percent,0:30:00,,,120,GlucoseSensorData,AMOUNT=120,Paradigm Revel - 723\n3,3/14/14,9:27:00,3/14/14 09:27:00,3/14/14 10:27:00,,,,,Normal,2.5,,BolusNormal,AMOUNT=2.5,Paradigm Revel - 723\n",
        "-------;Guardian Connect;Sensor;GC1;-------\nIndex;Date;Time;New Device Time;BG Reading (mg/dL);Sensor Glucose (mg/dL);Event Marker\n0,0;2026/10/25;01:30:00;;;;Insulin: 27,00\n1,00000;2026/10/25;01:30:00;;;;Insulin: 27,00\n2,0;2026/10/25;01:35:00;;;110;Meal: 60,00grams\n",
        "Glucose Data,Generated on,11-26-2026 9:00 AM UTC,Generated by,Synthetic\nDevice,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL,Scan Glucose mg/dL,Non-numeric Rapid-Acting Insulin,Rapid-Acting Insulin (units),Non-numeric Food,Carbohydrates (grams),Carbohydrates (servings),Non-numeric Long-Acting Insulin,Long-Acting Insulin (units),Notes,Strip Glucose mg/dL,Ketone mmol/L,Meal Insulin (units),Correction Insulin (units),User Change Insulin (units)\nFreeStyle Libre 3,ABC,10-25-2026 01:30 AM,0,120,,,,,,,,,,,,,,\nFreeStyle Libre 3,ABC,10-25-2026 01:35 PM,5,,,,,,40,,,,,,,,,\n",
        "[{\"type\":\"sgv\",\"sgv\":120,\"date\":1792800000000},{\"eventType\":\"Meal Bolus\",\"created_at\":\"2026-10-25T01:30:00Z\",\"insulin\":3,\"carbs\":40}]",
        "{\"device\":\"m\",\"events\":[{\"type\":\"cgm\",\"time\":\"2026-10-25T01:30:00\",\"value\":120},{\"type\":\"bolus\",\"time\":\"2026-10-25T01:30:00Z\",\"units\":2,\"extended_units\":1,\"extended_minutes\":30},{\"type\":\"basal\",\"time\":\"2026-10-25T00:00:00+01:00\",\"rate\":0.8}]}",
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),Transmitter ID\n1,2026-10-25T01:30:00,EGV,,,,G7,Low,,,,,1,TX\n2,2026-10-25T01:35:00,Insulin,Fast-Acting,,,G7,,2.5,,,,,\n",
        "x,y\n-------,MiniMed 780G MMT-1884,Pump,NG1,-------\nIndex,Date,Time,Sensor Glucose (mg/dL),Bolus Type,Bolus Volume Delivered (U),Bolus Duration (h:mm:ss),Basal Rate (U/h),Suspend,BWZ Carb Input (grams)\n2,2026/10/25,01:30:00,120,Dual (square part),1.5,0:30:00,,,\n1,2026/10/25,01:30:00,125,Normal,2,,0.9,USER_SUSPEND,40\n",
    ];

    #[test]
    fn the_samples_parse_into_events() {
        for sample in SAMPLES {
            let format = detect(sample.as_bytes()).expect("detected");
            let parsed = parse(format, sample.as_bytes(), &options()).expect("parsed");
            assert!(
                !parsed.events.is_empty(),
                "{format:?}: {:?}",
                parsed.rejected
            );
        }
    }

    /// Importers never panic: random bytes, and real-format samples with bytes flipped, cut and
    /// repeated, each read as every format.
    #[test]
    fn importers_never_panic_on_random_or_mutated_input() {
        let mut noise = Noise(0x2545_f491_4f6c_dd1d);
        let formats = [
            Format::Json,
            Format::Clarity,
            Format::CareLink,
            Format::LibreView,
            Format::Nightscout,
        ];
        for round in 0..3000 {
            let mut bytes: Vec<u8> = if round % 4 == 0 {
                (0..noise.next() % 400)
                    .map(|_| noise.next() as u8)
                    .collect()
            } else {
                SAMPLES[round % SAMPLES.len()].as_bytes().to_vec()
            };
            for _ in 0..(noise.next() % 6) {
                if bytes.is_empty() {
                    break;
                }
                let at = (noise.next() as usize) % bytes.len();
                match noise.next() % 4 {
                    0 => bytes[at] = noise.next() as u8,
                    1 => bytes.truncate(at),
                    2 => {
                        let piece: Vec<u8> = bytes[at..].iter().take(40).copied().collect();
                        bytes.splice(at..at, piece);
                    }
                    _ => bytes.insert(at, b",;:\n-\"{}[]0.9"[(noise.next() % 13) as usize]),
                }
            }
            let _ = detect(&bytes);
            for format in formats {
                let _ = parse(format, &bytes, &options());
            }
        }
    }
}
