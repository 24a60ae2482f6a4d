//! Medtronic CareLink CSV export (FORMATS.md): a preamble, then sections each introduced by a divider
//! row (`-------,MiniMed 780G MMT-1884,Pump,NG1234567H,-------`) and its own header row. Columns are
//! found by name in each section, so the ~53-column 780G layout, older 5xx/6xx layouts and mmol/L
//! accounts read alike; `;` and decimal commas (European exports), a byte-order mark and CRLF too.
//!
//! Traps handled: a bolus shows once as selected and once as delivered (only delivered insulin counts);
//! dual-wave parts at one instant become one bolus; 780G micro-boluses are marked automatic; rows are
//! often newest first and in the autumn clock change the same local hour appears twice — the `Index`
//! column gives the order, and a local time that goes back inside the fold is the second occurrence.

use std::collections::BTreeMap;

use jiff::civil::{Date, DateTime, Time};

use super::text::{FoldReader, csv_rows, delimiter, number};
use super::{Options, Read, plausible_time};
use crate::data::event::{
    BasalKind, Body, Event, MAX_AUTO_INSULIN_UNITS_PER_DAY, MAX_BASAL_UNITS_PER_HOUR,
    MAX_BOLUS_UNITS, MAX_CARBS_GRAMS, MG_DL_PER_MMOL_L, glucose_tenths, milliunits,
};
use crate::error::CoreError;

/// Whether the text looks like a CareLink export.
pub fn looks_like(text: &str) -> bool {
    text.lines().take(200).any(|line| {
        let line = line.trim_start_matches('\u{feff}');
        (line.starts_with("Index,Date,Time") || line.starts_with("Index;Date;Time"))
            && (line.contains("Sensor Glucose")
                || line.contains("Bolus Volume")
                || line.contains("BG Reading"))
    })
}

/// Where each column we read sits in the current section's header.
#[derive(Default)]
struct Columns {
    index: usize,
    date: usize,
    time: usize,
    sensor: Option<(usize, f64)>,
    bg: Option<(usize, f64)>,
    basal_rate: Option<usize>,
    temp_amount: Option<usize>,
    temp_type: Option<usize>,
    temp_duration: Option<usize>,
    bolus_type: Option<usize>,
    bolus_delivered: Option<usize>,
    bolus_duration: Option<usize>,
    bolus_source: Option<usize>,
    suspend: Option<usize>,
    carbs_grams: Option<usize>,
    carbs_exchanges: Option<usize>,
    alert: Option<usize>,
    event_marker: Option<usize>,
    new_device_time: Option<usize>,
    /// The Paradigm-era layout names each event in `Raw-Type` and its values in `Raw-Values`.
    raw_type: Option<usize>,
    raw_values: Option<usize>,
    raw_device: Option<usize>,
    /// How the file writes dates (decided from all its rows).
    dates: Dates,
}

fn columns(header: &csv::StringRecord) -> Option<Columns> {
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let glucose = |stem: &str| {
        find(&format!("{stem} (mg/dL)"))
            .map(|i| (i, 1.0))
            .or_else(|| find(&format!("{stem} (mmol/L)")).map(|i| (i, MG_DL_PER_MMOL_L)))
    };
    Some(Columns {
        index: find("Index")?,
        date: find("Date")?,
        time: find("Time")?,
        sensor: glucose("Sensor Glucose"),
        bg: glucose("BG Reading"),
        basal_rate: find("Basal Rate (U/h)"),
        temp_amount: find("Temp Basal Amount").or_else(|| find("Temp Basal Amount (U/h)")),
        temp_type: find("Temp Basal Type"),
        temp_duration: find("Temp Basal Duration (h:mm:ss)")
            .or_else(|| find("Temp Basal Duration (hh:mm:ss)")),
        bolus_type: find("Bolus Type"),
        bolus_delivered: find("Bolus Volume Delivered (U)"),
        bolus_duration: find("Bolus Duration (h:mm:ss)")
            .or_else(|| find("Bolus Duration (hh:mm:ss)"))
            .or_else(|| find("Programmed Bolus Duration (hh:mm:ss)")),
        bolus_source: find("Bolus Source"),
        suspend: find("Suspend"),
        carbs_grams: find("BWZ Carb Input (grams)"),
        carbs_exchanges: find("BWZ Carb Input (exchanges)"),
        alert: find("Alert").or_else(|| find("Alarm")),
        event_marker: find("Event Marker"),
        new_device_time: find("New Device Time"),
        raw_type: find("Raw-Type"),
        raw_values: find("Raw-Values"),
        raw_device: find("Raw-Device Type"),
        dates: Dates::YearMonthDay,
    })
}

/// One data row, kept until its section is complete (the order of rows is decided per section).
struct Row {
    line: usize,
    index: f64,
    /// Position in recording order across the file's sections (set by [`order_rows`]).
    order: f64,
    local: DateTime,
    cells: csv::StringRecord,
}

struct Section {
    device: String,
    columns: Columns,
    rows: Vec<Row>,
    /// Paradigm layout: the `Raw-Device Type` column, and the preamble's pump model and serial.
    raw_devices: Option<(usize, String, String)>,
}

pub fn parse(text: &str, options: &Options) -> Result<Read, CoreError> {
    let header_line = text.lines().find(|l| l.contains("Index")).unwrap_or("");
    let delimiter_byte = delimiter(header_line);
    let mut read = Read::default();
    let mut sections: Vec<Section> = Vec::new();
    let mut device = "Medtronic CareLink".to_owned();
    // Paradigm-era preambles name the pump instead of dividing sections: `Pump:,Paradigm Revel - 723,#965788`.
    let mut preamble_pump: Option<(String, String)> = None;
    let mut headers_seen = false;
    for (line, record) in csv_rows(text, delimiter_byte, &mut read)? {
        let first = record
            .get(0)
            .unwrap_or("")
            .trim()
            .trim_start_matches('\u{feff}');
        if first.len() >= 3 && first.chars().all(|c| c == '-') {
            let model = record.get(1).unwrap_or("").trim();
            let serial = record.get(3).unwrap_or("").trim();
            device = format!("{model} {serial}").trim().to_owned();
            if device.is_empty() {
                device = "Medtronic CareLink".to_owned();
            }
            continue;
        }
        if first == "Index" {
            if let Some(columns) = columns(&record) {
                headers_seen = true;
                sections.push(Section {
                    device: device.clone(),
                    columns,
                    rows: Vec::new(),
                    raw_devices: None,
                });
            }
            continue;
        }
        let Some(section) = sections.last_mut() else {
            // The preamble: patient name, date range, devices.
            if first == "Pump:" {
                let model = record.get(1).unwrap_or("").trim().to_owned();
                let serial = record.get(2).unwrap_or("").trim().to_owned();
                if !model.is_empty() {
                    device = format!("{model} {serial}").trim().to_owned();
                    preamble_pump = Some((model, serial));
                }
            }
            continue;
        };
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let (date_raw, time_raw) = (cell(section.columns.date), cell(section.columns.time));
        if date_raw.is_empty() && time_raw.is_empty() {
            continue;
        }
        let index = number(cell(section.columns.index)).unwrap_or(line as f64);
        section.rows.push(Row {
            line,
            index,
            order: 0.0,
            local: DateTime::default(),
            cells: record,
        });
    }
    // Dates are read once the whole file is known: `YYYY/MM/DD`, or the Paradigm era's `M/D/YY`,
    // whose day/month order the data decides.
    let dates = Dates::decide(&sections)
        .map_err(|message| CoreError::invalid("file", "ambiguous_dates", message))?;
    for section in &mut sections {
        section.columns.dates = dates;
        let (date, time) = (section.columns.date, section.columns.time);
        section.rows.retain_mut(|row| {
            let cell = |i: usize| row.cells.get(i).unwrap_or("").trim();
            match dates.parse(cell(date), cell(time)) {
                Some(local) => {
                    row.local = local;
                    true
                }
                None => {
                    read.reject(
                        row.line,
                        format!(
                            "the date and time {:?} {:?} are not a date ({}) and a time (HH:MM:SS)",
                            cell(date),
                            cell(time),
                            dates.pattern()
                        ),
                    );
                    false
                }
            }
        });
        // Each row of the Paradigm layout names its own device (the pump, or a linked meter).
        if let (Some(column), Some((model, serial))) = (section.columns.raw_device, &preamble_pump)
        {
            section.raw_devices = Some((column, model.clone(), serial.clone()));
        }
    }
    if !headers_seen {
        return Err(CoreError::invalid(
            "file",
            "invalid_carelink_csv",
            "No CareLink header row (Index, Date, Time, …) was found.",
        ));
    }
    for section in &mut sections {
        order_rows(section);
    }
    let clocks = pump_clocks(&sections, &options.tz, &mut read);
    let mut evidence = Vec::new();
    for (number, section) in sections.into_iter().enumerate() {
        let clock = clocks.get(&section.device).map(|clock| (number, clock));
        read_section(section, options, clock, &mut read, &mut evidence);
    }
    for mode in pump_modes(evidence, &read.events) {
        read.push(0, mode);
    }
    read.rejected.sort_by_key(|r| r.row);
    Ok(read)
}

/// What a row says about the pump's automation (SmartGuard, Auto Mode) at its instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Automatic,
    Manual,
}

/// One sign of the pump's mode: (device, instant, offset, mode).
type Evidence = (String, jiff::Timestamp, i16, Mode);

/// The mode a row shows: an exit alert or a manual-mode bolus or temporary basal says manual; a
/// `CLOSED_LOOP_*` bolus source says automatic.
fn row_mode(cells: &csv::StringRecord, columns: &Columns) -> Option<Mode> {
    let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).unwrap_or("").trim();
    let alert = cell(columns.alert);
    if !alert.is_empty() {
        let alert = alert.to_ascii_uppercase();
        if alert.contains("SMARTGUARD EXIT") || alert.contains("AUTO MODE EXIT") {
            return Some(Mode::Manual);
        }
    }
    let source = cell(columns.bolus_source);
    if source.is_empty() {
        return (!cell(columns.temp_amount).is_empty()).then_some(Mode::Manual);
    }
    let source = source.to_ascii_uppercase();
    if source.starts_with("CLOSED_LOOP") {
        return Some(Mode::Automatic);
    }
    if matches!(source.as_str(), "BOLUS_WIZARD" | "MANUAL") || !cell(columns.temp_amount).is_empty()
    {
        return Some(Mode::Manual);
    }
    None
}

/// The pump's mode changes, from the rows' evidence and the days of automatic insulin (docs/UPLOADS.md):
/// a day with automatic insulin above 0 starts in automatic mode unless its first sign says manual; a day
/// whose total is 0 starts in manual mode; between signs the mode holds. Only for pumps that show any
/// automation: for the others the programmed basal is what was delivered.
fn pump_modes(mut evidence: Vec<Evidence>, events: &[Event]) -> Vec<Event> {
    for event in events {
        if let Body::AutoInsulin { milliunits, .. } = event.body {
            let first_that_day = evidence
                .iter()
                .filter(|(d, at, _, _)| {
                    d.as_str() == &*event.device
                        && *at >= event.at
                        && at.as_second() < event.at.as_second() + 86_400
                })
                .min_by_key(|(_, at, _, _)| *at)
                .map(|(_, _, _, mode)| *mode);
            let mode = if milliunits == 0 {
                Mode::Manual
            } else if first_that_day == Some(Mode::Manual) {
                continue;
            } else {
                Mode::Automatic
            };
            evidence.push((
                event.device.to_string(),
                event.at,
                event.utc_offset_minutes,
                mode,
            ));
        }
    }
    // Only pumps that report their automation's insulin as day totals (770G/780G) need the modes: there
    // the programmed basal is not what SmartGuard delivered.
    let automated: std::collections::BTreeSet<String> = events
        .iter()
        .filter(|e| matches!(e.body, Body::AutoInsulin { .. }))
        .map(|e| e.device.to_string())
        .collect();
    evidence.retain(|(device, _, _, _)| automated.contains(device));
    // Manual before automatic at one instant: an exit logged with the day's start stays an exit.
    evidence.sort_by(|a, b| {
        (&a.0, a.1, a.3 == Mode::Automatic).cmp(&(&b.0, b.1, b.3 == Mode::Automatic))
    });
    let mut modes = Vec::new();
    let mut current: Option<(&str, Mode)> = None;
    for (device, at, offset, mode) in &evidence {
        if current == Some((device.as_str(), *mode)) {
            continue;
        }
        current = Some((device.as_str(), *mode));
        modes.push(Event {
            at: *at,
            utc_offset_minutes: *offset,
            device: device.as_str().into(),
            body: Body::PumpMode {
                automatic: *mode == Mode::Automatic,
            },
        });
    }
    modes
}

/// How the file writes dates: `YYYY/MM/DD` (780G era), or `M/D/YY` / `D/M/YY` (Paradigm era).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Dates {
    #[default]
    YearMonthDay,
    MonthDayYear,
    DayMonthYear,
}

impl Dates {
    /// Decides the order from every row's date: a first part of four digits is the year; else a part
    /// above 12 shows which is the day; else, in recording order, the reading under which consecutive
    /// dates are closer together (real data has no month-long holes every day). A file that fits both
    /// equally is refused rather than read one way by chance.
    fn decide(sections: &[Section]) -> Result<Self, String> {
        let mut dates: Vec<(f64, [u32; 3])> = Vec::new();
        for section in sections {
            for row in &section.rows {
                let raw = row.cells.get(section.columns.date).unwrap_or("").trim();
                if let Some(parts) = date_parts(raw) {
                    if parts[0] > 31 {
                        return Ok(Dates::YearMonthDay);
                    }
                    dates.push((row.index, parts));
                }
            }
        }
        let month_first = dates.iter().all(|(_, [a, b, _])| *a <= 12 && *b <= 31);
        let day_first = dates.iter().all(|(_, [a, b, _])| *b <= 12 && *a <= 31);
        match (month_first, day_first) {
            (true, false) => return Ok(Dates::MonthDayYear),
            (false, true) => return Ok(Dates::DayMonthYear),
            (false, false) => {
                return Err(
                    "The dates of this CareLink file fit neither month/day nor day/month order."
                        .into(),
                );
            }
            (true, true) => {}
        }
        dates.sort_by(|a, b| a.0.total_cmp(&b.0));
        let spread = |order: Dates| -> i64 {
            let days: Vec<i64> = dates
                .iter()
                .filter_map(|(_, parts)| order.date(*parts))
                .map(|d| i64::from((d - Date::constant(2000, 1, 1)).get_days()))
                .collect();
            days.windows(2).map(|w| (w[1] - w[0]).abs()).sum()
        };
        let (month, day) = (spread(Dates::MonthDayYear), spread(Dates::DayMonthYear));
        if month < day {
            Ok(Dates::MonthDayYear)
        } else if day < month {
            Ok(Dates::DayMonthYear)
        } else if dates.iter().all(|(_, [a, b, _])| a == b) {
            Ok(Dates::MonthDayYear)
        } else {
            Err("The day/month order of this CareLink file's dates cannot be told from its data: export a longer period, or one that spans a day after the 12th.".into())
        }
    }

    fn pattern(self) -> &'static str {
        match self {
            Dates::YearMonthDay => "YYYY/MM/DD",
            Dates::MonthDayYear => "M/D/YY",
            Dates::DayMonthYear => "D/M/YY",
        }
    }

    fn date(self, [a, b, c]: [u32; 3]) -> Option<Date> {
        let (year, month, day) = match self {
            Dates::YearMonthDay => (a, b, c),
            Dates::MonthDayYear => (c, a, b),
            Dates::DayMonthYear => (c, b, a),
        };
        let year = if year < 100 { year + 2000 } else { year };
        Date::new(
            i16::try_from(year).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
        )
        .ok()
    }

    fn parse(self, date: &str, time: &str) -> Option<DateTime> {
        let date = self.date(date_parts(date)?)?;
        let mut hms = time.trim().split(':').map(|p| p.trim().parse::<i8>().ok());
        let (hour, minute, second) = (
            hms.next()??,
            hms.next()??,
            hms.next().flatten().unwrap_or(0),
        );
        if hms.next().is_some() {
            return None;
        }
        Some(date.to_datetime(Time::new(hour, minute, second, 0).ok()?))
    }
}

/// The three numbers of a date written with `/`, `-` or `.`.
fn date_parts(raw: &str) -> Option<[u32; 3]> {
    let mut parts = raw
        .trim()
        .split(['/', '-', '.'])
        .map(|p| p.trim().parse().ok());
    let found = [parts.next()??, parts.next()??, parts.next()??];
    parts.next().is_none().then_some(found)
}

/// Reads one section's rows in time order (by `Index`), resolving the autumn fold.
fn read_section(
    section: Section,
    options: &Options,
    clock: Option<(usize, &PumpClock)>,
    read: &mut Read,
    evidence: &mut Vec<Evidence>,
) {
    // Boluses at one instant (selected/delivered rows, dual-wave parts) are combined before storing.
    let mut boluses: BTreeMap<i64, (usize, Event)> = BTreeMap::new();
    // The scheduled rate in force (milliunits/h), and a percentage temp running until an instant.
    let mut scheduled_rate: Option<u32> = None;
    let mut percent_temp: Option<(f64, i64)> = None;
    let mut deferred_schedule: Option<(i64, u32, i16)> = None;
    let mut fold = FoldReader::default();
    for row in &section.rows {
        let placed = match clock {
            Some((number, clock)) => match clock.instant(number, row.order, row.local, &options.tz)
            {
                Ok(placed) => placed,
                Err(reason) => {
                    read.reject(row.line, reason);
                    continue;
                }
            },
            None => fold.instant(row.local, &options.tz),
        };
        let Some((at, utc_offset_minutes)) = placed else {
            read.reject(row.line, "the time does not exist in the time zone");
            continue;
        };
        if let Err(reason) = plausible_time(at, options) {
            read.reject(row.line, reason);
            continue;
        }
        let device = row_device(&section, &row.cells);
        let new_event = |body: Body| Event {
            at,
            utc_offset_minutes,
            device: device.into(),
            body,
        };
        if let Some(mode) = row_mode(&row.cells, &section.columns) {
            evidence.push((section.device.clone(), at, utc_offset_minutes, mode));
        }
        let at_second = at.as_second();
        // The schedule that changed during a percentage temp takes over once the temp ends.
        if let Some((end, rate, offset)) = deferred_schedule.filter(|(end, _, _)| *end <= at_second)
        {
            deferred_schedule = None;
            read.push(0, scheduled_at(end, rate, offset, &section.device));
        }
        let found =
            row_events(&row.cells, &section.columns, row.local, &options.tz).and_then(|found| {
                percent_temps(
                    found,
                    at_second,
                    utc_offset_minutes,
                    &mut scheduled_rate,
                    &mut percent_temp,
                    &mut deferred_schedule,
                )
            });
        match found {
            Ok(bodies) if bodies.is_empty() => read.skip(
                "pump rows without a reading, insulin or carbs (alerts, primes, rewinds, settings)",
            ),
            Ok(bodies) => {
                for body in bodies {
                    if let Body::Bolus { .. } = body {
                        if merge_bolus(&mut boluses, row.line, new_event(body)) {
                            read.merged_rows.push(row.line);
                        }
                    } else {
                        read.push(row.line, new_event(body));
                    }
                }
            }
            Err(reason) => read.reject(row.line, reason),
        }
    }
    for (line, bolus) in boluses.into_values() {
        read.push(line, bolus);
    }
    if let Some((end, rate, offset)) = deferred_schedule {
        read.push(0, scheduled_at(end, rate, offset, &section.device));
    }
}

/// Turns a row's percentage temp into units per hour (docs/UPLOADS.md): it scales the scheduled rate in
/// force (the newest `Basal Rate (U/h)` row before it; without one the row is refused). When the
/// schedule changes during the temp, the rest of the temp follows the new rate, and the new scheduled
/// rate is deferred to the temp's end (`deferred`), so one instant never holds two basal events.
fn percent_temps(
    found: RowEvents,
    at: i64,
    offset: i16,
    scheduled_rate: &mut Option<u32>,
    percent_temp: &mut Option<(f64, i64)>,
    deferred: &mut Option<(i64, u32, i16)>,
) -> Result<Vec<Body>, String> {
    let mut bodies = found.bodies;
    for body in &mut bodies {
        match *body {
            Body::Basal {
                rate_milliunits_per_hour,
                basal: BasalKind::Scheduled,
                ..
            } => {
                *scheduled_rate = Some(rate_milliunits_per_hour);
                if let Some((percent, end)) = *percent_temp
                    && end > at
                {
                    let remaining = u32::try_from(end - at).unwrap_or(0);
                    *body = scaled_temp(rate_milliunits_per_hour, percent, remaining)?;
                    *deferred = Some((end, rate_milliunits_per_hour, offset));
                }
            }
            Body::Basal { .. } => {
                // Another temp or a suspend replaces a running percentage temp (a deferred schedule
                // change still takes over at its time: it does not end a temp that has a duration).
                *percent_temp = None;
            }
            _ => {}
        }
    }
    if let Some((percent, seconds)) = found.percent_temp {
        let scheduled = scheduled_rate.ok_or(
            "a percentage temporary basal needs the pump's basal rate before it, which is not in the file",
        )?;
        *percent_temp = Some((percent, at + i64::from(seconds)));
        bodies.push(scaled_temp(scheduled, percent, seconds)?);
    }
    Ok(bodies)
}

/// A scheduled rate resuming at an instant (after a percentage temp).
fn scheduled_at(at: i64, rate: u32, offset: i16, device: &str) -> Event {
    Event {
        at: jiff::Timestamp::from_second(at).unwrap_or_default(),
        utc_offset_minutes: offset,
        device: device.into(),
        body: Body::Basal {
            rate_milliunits_per_hour: rate,
            duration_seconds: 0,
            basal: BasalKind::Scheduled,
        },
    }
}

/// A percentage of a scheduled rate, as a temporary basal lasting `seconds`.
fn scaled_temp(scheduled: u32, percent: f64, seconds: u32) -> Result<Body, String> {
    let rate = f64::from(scheduled) / 1000.0 * percent / 100.0;
    Ok(Body::Basal {
        rate_milliunits_per_hour: milliunits(rate, MAX_BASAL_UNITS_PER_HOUR)
            .ok_or_else(|| format!("a temporary basal of {rate:.3} U/h is out of range"))?,
        duration_seconds: seconds,
        basal: BasalKind::Temporary,
    })
}

/// One value of a Paradigm `Raw-Values` cell (`PATTERN_NAME=standard, RATE=0.85, START_TIME=0`).
fn raw_value<'a>(values: &'a str, key: &str) -> Option<&'a str> {
    values.split(',').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name.trim() == key).then_some(value.trim())
    })
}

/// The device a row comes from: its section's, or in the Paradigm layout the row's `Raw-Device Type`
/// (the pump, named with the preamble's serial, or a linked meter).
fn row_device<'a>(section: &'a Section, cells: &'a csv::StringRecord) -> &'a str {
    let Some((column, model, _)) = &section.raw_devices else {
        return &section.device;
    };
    match cells.get(*column).unwrap_or("").trim() {
        "" => &section.device,
        // The preamble's pump is the section's device (its name with the serial).
        raw if raw == model => &section.device,
        raw => raw,
    }
}

/// Puts a section's rows in recording order (by `Index`; exports are often newest first) and gives each
/// its position in that order, comparable across the sections of one file.
fn order_rows(section: &mut Section) {
    section.rows.sort_by(|a, b| a.index.total_cmp(&b.index));
    let newest_first = match (section.rows.first(), section.rows.last()) {
        (Some(first), Some(last)) => first.local > last.local,
        _ => false,
    };
    if newest_first {
        section.rows.reverse();
    }
    for row in &mut section.rows {
        row.order = if newest_first { -row.index } else { row.index };
    }
}

/// A pump's clock, known from its `New Device Time` rows (docs/UPLOADS.md, "Pump clock changes"):
/// between two settings the pump's clock runs at a fixed offset from UTC (pumps do not follow
/// daylight saving time by themselves, and a new pump runs on its factory clock until set); each setting
/// moves it by new − old; after the last one it is taken as right.
#[derive(Debug)]
struct PumpClock {
    /// Each setting: its section, its position in recording order, and the clock's old and new times
    /// (seconds, as shown), in recording order.
    settings: Vec<(usize, f64, i64, i64)>,
    /// The clock's offset from UTC, in seconds, before the first setting, between each two, after the last.
    offsets: Vec<i64>,
}

/// A wall-clock time as seconds, read as if it were UTC (what the pump's display shows).
fn shown_seconds(local: DateTime) -> Option<i64> {
    jiff::tz::TimeZone::UTC
        .to_ambiguous_timestamp(local)
        .compatible()
        .ok()
        .map(|t| t.as_second())
}

impl PumpClock {
    /// The instant of a row: its stretch is decided by recording order in the settings' own section,
    /// and by the shown time in the device's other sections (a time the clock showed twice, after it was
    /// set back, cannot be placed there: `Err`).
    fn instant(
        &self,
        section: usize,
        order: f64,
        local: DateTime,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Option<(jiff::Timestamp, i16)>, String> {
        let Some(shown) = shown_seconds(local) else {
            return Ok(None);
        };
        let mut stretch = 0;
        for &(setting_section, setting_order, old, new) in &self.settings {
            let after = if setting_section == section {
                order > setting_order
            } else if shown > old.max(new) || (new > old && shown >= new) {
                true
            } else if shown < new.min(old) || (new > old && shown <= old) {
                false
            } else {
                return Err(
                    "the pump's clock was set back over this time, which it showed twice: the row cannot be placed".into(),
                );
            };
            if after {
                stretch += 1;
            }
        }
        let Some(offset) = self.offsets.get(stretch) else {
            return Ok(None);
        };
        let Ok(at) = jiff::Timestamp::from_second(shown - offset) else {
            return Ok(None);
        };
        let utc_offset = i16::try_from(tz.to_offset(at).seconds() / 60).unwrap_or(0);
        Ok(Some((at, utc_offset)))
    }
}

/// The `New Device Time` of a row, as `YYYY/MM/DD HH:MM:SS` (or with `-`, or a `T`).
fn device_time(raw: &str, dates: Dates) -> Option<DateTime> {
    let (date, time) = raw.trim().split_once([' ', 'T'])?;
    dates.parse(date.trim(), time.trim())
}

/// The clock of each device that has `New Device Time` rows.
fn pump_clocks(
    sections: &[Section],
    tz: &jiff::tz::TimeZone,
    read: &mut Read,
) -> std::collections::HashMap<String, PumpClock> {
    let mut settings: std::collections::HashMap<&str, Vec<(usize, f64, DateTime, DateTime)>> =
        std::collections::HashMap::new();
    for (number, section) in sections.iter().enumerate() {
        let Some(column) = section.columns.new_device_time else {
            continue;
        };
        for row in &section.rows {
            let raw = row.cells.get(column).unwrap_or("").trim();
            if let Some(new) = device_time(raw, section.columns.dates) {
                settings
                    .entry(&*section.device)
                    .or_default()
                    .push((number, row.order, row.local, new));
            }
        }
    }
    let mut clocks = std::collections::HashMap::new();
    for (device, mut list) in settings {
        list.sort_by(|a, b| {
            (a.0, a.1)
                .partial_cmp(&(b.0, b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        list.dedup_by(|a, b| a.2 == b.2 && a.3 == b.3);
        let Some(&(_, _, _, last_new)) = list.last() else {
            continue;
        };
        let Ok(set_at) = tz.to_ambiguous_timestamp(last_new).compatible() else {
            continue;
        };
        let mut offsets = vec![i64::from(tz.to_offset(set_at).seconds())];
        for (_, _, old, new) in list.iter().rev() {
            let shift = new.duration_since(*old).as_secs();
            let after = offsets.last().copied().unwrap_or(0);
            offsets.push(after - shift);
        }
        offsets.reverse();
        let hours = |s: i64| (s as f64 / 360.0).round() / 10.0;
        read.notes.push(format!(
            "The clock of {device} was set {} time(s) (by {} h in all): its times were corrected from those settings.",
            list.len(),
            hours(offsets.last().copied().unwrap_or(0) - offsets.first().copied().unwrap_or(0))
        ));
        clocks.insert(
            device.to_owned(),
            PumpClock {
                settings: list
                    .iter()
                    .filter_map(|(section, order, old, new)| {
                        Some((*section, *order, shown_seconds(*old)?, shown_seconds(*new)?))
                    })
                    .collect(),
                offsets,
            },
        );
    }
    clocks
}

/// Adds a bolus part to the bolus at the same instant, if any; says whether it joined one.
fn merge_bolus(boluses: &mut BTreeMap<i64, (usize, Event)>, line: usize, event: Event) -> bool {
    let second = event.at.as_second();
    match boluses.get_mut(&second) {
        Some((_, existing)) => {
            if let (
                Body::Bolus {
                    immediate_milliunits: a_now,
                    extended_milliunits: a_ext,
                    extended_minutes: a_min,
                    automatic: a_auto,
                },
                Body::Bolus {
                    immediate_milliunits: b_now,
                    extended_milliunits: b_ext,
                    extended_minutes: b_min,
                    automatic: b_auto,
                },
            ) = (&mut existing.body, &event.body)
            {
                // The same part twice (a repeated row) does not add up; different parts do.
                *a_now = (*a_now).max(*b_now);
                *a_ext = (*a_ext).max(*b_ext);
                *a_min = (*a_min).max(*b_min);
                *a_auto = *a_auto && *b_auto;
            }
            true
        }
        None => {
            boluses.insert(second, (line, event));
            false
        }
    }
}

/// Seconds from a local time to the next local midnight (23, 24 or 25 hours for a whole day).
fn day_length(local: DateTime, tz: &jiff::tz::TimeZone) -> Result<u32, String> {
    let start = tz
        .to_ambiguous_timestamp(local)
        .compatible()
        .map_err(|_| "the date does not exist in the time zone".to_owned())?;
    let next_day = local
        .date()
        .tomorrow()
        .map_err(|_| "the date is out of range".to_owned())?
        .to_datetime(Time::midnight());
    let end = tz
        .to_ambiguous_timestamp(next_day)
        .compatible()
        .map_err(|_| "the date does not exist in the time zone".to_owned())?;
    u32::try_from(end.as_second() - start.as_second())
        .map_err(|_| "the day's length is out of range".to_owned())
}

/// What a Guardian Connect user logged in the app (`Event Marker`): `Insulin: 27,00` is a dose of
/// unknown insulin type (kept as a bolus), `Meal: 60,00grams` carbs. Other markers (exercise, notes)
/// carry no glucose, insulin or carbs.
fn event_marker(raw: &str) -> Result<Option<Body>, String> {
    let Some((label, value)) = raw.split_once(':') else {
        return Ok(None);
    };
    let value = value.trim();
    match label.trim().to_ascii_lowercase().as_str() {
        "insulin" => {
            let units = number(value.trim_end_matches(|c: char| c.is_alphabetic()))
                .ok_or_else(|| format!("the insulin marker {raw:?} has no number"))?;
            let milli = milliunits(units, MAX_BOLUS_UNITS)
                .ok_or_else(|| format!("an insulin marker of {units} U is out of range"))?;
            Ok((milli > 0).then_some(Body::Bolus {
                immediate_milliunits: milli,
                extended_milliunits: 0,
                extended_minutes: 0,
                automatic: false,
            }))
        }
        "meal" => {
            let number_part = value.trim_end_matches(|c: char| c.is_alphabetic());
            let unit = value[number_part.len()..].trim().to_ascii_lowercase();
            if !(unit.is_empty() || unit.starts_with("gram") || unit == "g") {
                return Err(format!(
                    "the meal marker {raw:?} is not in grams (exchanges differ by country)"
                ));
            }
            let grams = number(number_part)
                .ok_or_else(|| format!("the meal marker {raw:?} has no number"))?;
            if grams > MAX_CARBS_GRAMS {
                return Err(format!("{grams} g of carbs is out of range"));
            }
            Ok((grams > 0.0).then(|| Body::Carbs {
                tenths_grams: (grams * 10.0).round() as u32,
            }))
        }
        _ => Ok(None),
    }
}

/// `h:mm:ss` as minutes.
fn duration_minutes(raw: &str) -> Option<u32> {
    let mut parts = raw.trim().split(':').map(|p| p.trim().parse::<u32>());
    let (hours, minutes, seconds) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next().unwrap_or(Ok(0)).ok()?,
    );
    Some(hours * 60 + minutes + u32::from(seconds >= 30))
}

/// What one row carries: its events, and a percentage temporary basal `(percent, seconds)`, which only
/// the pump's scheduled rate at that time turns into units (see [`read_section`]).
struct RowEvents {
    bodies: Vec<Body>,
    percent_temp: Option<(f64, u32)>,
}

/// The events one row carries (none for rows such as alerts, primes and rewinds).
fn row_events(
    cells: &csv::StringRecord,
    columns: &Columns,
    local: DateTime,
    tz: &jiff::tz::TimeZone,
) -> Result<RowEvents, String> {
    let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).unwrap_or("").trim();
    let mut bodies = Vec::new();
    let new_time = cell(columns.new_device_time);
    if !new_time.is_empty() {
        let new = device_time(new_time, columns.dates)
            .ok_or_else(|| format!("the new device time {new_time:?} is not a date and time"))?;
        let shift = new.duration_since(local).as_secs();
        bodies.push(Body::ClockSet {
            shift_seconds: i32::try_from(shift)
                .map_err(|_| format!("the new device time {new_time:?} is too far off"))?,
        });
    }
    // The 780G's day of automatic insulin (auto basal and auto corrections): a total, not a bolus.
    if cell(columns.bolus_source).eq_ignore_ascii_case("CLOSED_LOOP_AUTO_INSULIN") {
        let raw = cell(columns.bolus_delivered);
        let units =
            number(raw).ok_or_else(|| format!("the automatic insulin {raw:?} is not a number"))?;
        let milliunits = milliunits(units, MAX_AUTO_INSULIN_UNITS_PER_DAY)
            .ok_or_else(|| format!("{units} U of automatic insulin in a day is out of range"))?;
        return Ok(RowEvents {
            bodies: vec![Body::AutoInsulin {
                milliunits,
                period_seconds: day_length(local, tz)?,
            }],
            percent_temp: None,
        });
    }
    let glucose = |column: Option<(usize, f64)>, what: &str| -> Result<Option<u16>, String> {
        let Some((index, factor)) = column else {
            return Ok(None);
        };
        let raw = cell(Some(index));
        if raw.is_empty() {
            return Ok(None);
        }
        let value = number(raw).ok_or_else(|| format!("the {what} {raw:?} is not a number"))?;
        glucose_tenths(value * factor)
            .map(Some)
            .ok_or_else(|| format!("the {what} {raw} is out of range"))
    };
    if let Some(value) = glucose(columns.sensor, "sensor glucose")? {
        bodies.push(Body::Cgm {
            glucose_tenths_mg_dl: value,
        });
    }
    if let Some(value) = glucose(columns.bg, "BG reading")? {
        bodies.push(Body::Smbg {
            glucose_tenths_mg_dl: value,
        });
    }
    let delivered = cell(columns.bolus_delivered);
    if !delivered.is_empty() {
        let units = number(delivered)
            .ok_or_else(|| format!("the delivered bolus {delivered:?} is not a number"))?;
        let milli = milliunits(units, MAX_BOLUS_UNITS)
            .ok_or_else(|| format!("a bolus of {units} U is out of range"))?;
        let kind = cell(columns.bolus_type).to_ascii_lowercase();
        // SmartGuard's own deliveries (micro-boluses, auto basal, auto corrections) are automatic; a
        // meal or correction bolus the person gave in SmartGuard (`CLOSED_LOOP_FOOD_BOLUS`,
        // `CLOSED_LOOP_BG_CORRECTION…`) is not.
        let source = cell(columns.bolus_source).to_ascii_uppercase();
        let automatic = source.starts_with("CLOSED_LOOP")
            && (source.contains("MICRO_BOLUS") || source.contains("_AUTO_"));
        if milli > 0 {
            bodies.push(if kind.contains("square") {
                let minutes = duration_minutes(cell(columns.bolus_duration))
                    .filter(|m| *m > 0)
                    .ok_or("a square bolus needs its duration")?;
                Body::Bolus {
                    immediate_milliunits: 0,
                    extended_milliunits: milli,
                    extended_minutes: minutes,
                    automatic,
                }
            } else {
                Body::Bolus {
                    immediate_milliunits: milli,
                    extended_milliunits: 0,
                    extended_minutes: 0,
                    automatic,
                }
            });
        }
    }
    // The Paradigm layout has no basal rate column: `BasalProfileStart` rows carry `RATE=` in Raw-Values.
    let profile_rate = (cell(columns.raw_type) == "BasalProfileStart")
        .then(|| raw_value(cell(columns.raw_values), "RATE"))
        .flatten();
    let rate = if cell(columns.basal_rate).is_empty() {
        profile_rate.unwrap_or("")
    } else {
        cell(columns.basal_rate)
    };
    if !rate.is_empty() {
        let units =
            number(rate).ok_or_else(|| format!("the basal rate {rate:?} is not a number"))?;
        bodies.push(Body::Basal {
            rate_milliunits_per_hour: milliunits(units, MAX_BASAL_UNITS_PER_HOUR)
                .ok_or_else(|| format!("a basal rate of {units} U/h is out of range"))?,
            duration_seconds: 0,
            basal: BasalKind::Scheduled,
        });
    }
    let temp = cell(columns.temp_amount);
    if !temp.is_empty() {
        let kind = cell(columns.temp_type).to_ascii_lowercase();
        if kind.contains("percent") {
            let percent = number(temp)
                .filter(|p| (0.0..=1000.0).contains(p))
                .ok_or_else(|| format!("the temporary basal {temp:?} is not a percentage"))?;
            let minutes = duration_minutes(cell(columns.temp_duration))
                .filter(|m| *m > 0)
                .ok_or("a percentage temporary basal needs its duration")?;
            return Ok(RowEvents {
                bodies,
                percent_temp: Some((percent, minutes * 60)),
            });
        }
        let units =
            number(temp).ok_or_else(|| format!("the temporary basal {temp:?} is not a number"))?;
        let minutes = duration_minutes(cell(columns.temp_duration)).unwrap_or(0);
        bodies.push(Body::Basal {
            rate_milliunits_per_hour: milliunits(units, MAX_BASAL_UNITS_PER_HOUR)
                .ok_or_else(|| format!("a temporary basal of {units} U/h is out of range"))?,
            duration_seconds: minutes * 60,
            basal: BasalKind::Temporary,
        });
    }
    if cell(columns.suspend)
        .to_ascii_uppercase()
        .contains("SUSPEND")
    {
        bodies.push(Body::Basal {
            rate_milliunits_per_hour: 0,
            duration_seconds: 0,
            basal: BasalKind::Suspend,
        });
    }
    bodies.extend(event_marker(cell(columns.event_marker))?);
    let grams = cell(columns.carbs_grams);
    if !grams.is_empty() {
        let value =
            number(grams).ok_or_else(|| format!("the carb input {grams:?} is not a number"))?;
        if value > MAX_CARBS_GRAMS {
            return Err(format!("{value} g of carbs is out of range"));
        }
        if value > 0.0 {
            bodies.push(Body::Carbs {
                tenths_grams: (value * 10.0).round() as u32,
            });
        }
    }
    if !cell(columns.carbs_exchanges).is_empty()
        && number(cell(columns.carbs_exchanges)).is_some_and(|v| v > 0.0)
    {
        return Err(
            "carbs entered as exchanges are not kept (the grams per exchange differ by country)"
                .into(),
        );
    }
    Ok(RowEvents {
        bodies,
        percent_temp: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            tz: jiff::tz::TimeZone::UTC,
            now: jiff::Timestamp::from_second(1_900_000_000).expect("ts"),
        }
    }

    /// A pump section (oldest first) with the columns these tests need.
    fn file(rows: &[&str]) -> String {
        let mut text = String::from(
            "-------,MiniMed 640G MMT-1512,Pump,NG1,-------\nIndex,Date,Time,Basal Rate (U/h),Temp Basal Amount,Temp Basal Type,Temp Basal Duration (h:mm:ss)\n",
        );
        for (i, row) in rows.iter().enumerate() {
            text.push_str(&format!("{},{row}\n", i + 1));
        }
        text
    }

    fn basal(read: &Read) -> Vec<(i64, u32, u32, BasalKind)> {
        let mut found: Vec<_> = read
            .events
            .iter()
            .filter_map(|e| match e.body {
                Body::Basal {
                    rate_milliunits_per_hour,
                    duration_seconds,
                    basal,
                } => Some((
                    e.at.as_second() % 86_400 / 60,
                    rate_milliunits_per_hour,
                    duration_seconds,
                    basal,
                )),
                _ => None,
            })
            .collect();
        found.sort_by_key(|b| b.0);
        found
    }

    #[test]
    fn percentage_temps_scale_the_pumps_own_schedule_and_follow_its_changes() {
        let read = parse(
            &file(&[
                "2026/01/05,00:00:00,0.8,,,",
                "2026/01/05,05:30:00,,50,Percent,1:00:00",
                "2026/01/05,06:00:00,1.2,,,",
            ]),
            &options(),
        )
        .expect("parsed");
        assert!(read.rejected.is_empty(), "{:?}", read.rejected);
        assert_eq!(
            basal(&read),
            vec![
                (0, 800, 0, BasalKind::Scheduled),
                (330, 400, 3600, BasalKind::Temporary),
                (360, 600, 1800, BasalKind::Temporary),
                (390, 1200, 0, BasalKind::Scheduled),
            ],
            "50 % of 0.8, then of 1.2 from 06:00; the new rate runs on its own from 06:30"
        );
    }

    #[test]
    fn a_percentage_temp_without_the_schedule_before_it_is_refused() {
        let read = parse(
            &file(&[
                "2026/01/05,05:30:00,,50,Percent,1:00:00",
                "2026/01/05,06:00:00,1.2,,,",
            ]),
            &options(),
        )
        .expect("parsed");
        assert_eq!(read.rejected.len(), 1);
        assert!(read.rejected[0].reason.contains("basal rate before it"));
        assert_eq!(basal(&read), vec![(360, 1200, 0, BasalKind::Scheduled)]);
    }

    #[test]
    fn paradigm_dates_take_their_day_month_order_from_the_data_or_are_refused() {
        let paradigm = |dates: &[&str]| {
            let mut text = String::from(
                "Pump:,Paradigm Revel - 723,#965788,VER 3.0B1.1,\nIndex,Date,Time,Sensor Glucose (mg/dL),Raw-Type,Raw-Device Type\n",
            );
            for (i, date) in dates.iter().enumerate() {
                text.push_str(&format!(
                    "{},{date},9:27:00,120,GlucoseSensorData,Paradigm Revel - 723\n",
                    i + 1
                ));
            }
            parse(&text, &options())
        };
        let day = |read: &Read| {
            read.events
                .iter()
                .map(|e| e.at.to_string()[..10].to_owned())
                .collect::<Vec<_>>()
        };
        // A day above 12 decides; consecutive days decide when none is.
        assert_eq!(
            day(&paradigm(&["3/12/14", "3/13/14"]).expect("m/d")),
            ["2014-03-12", "2014-03-13"]
        );
        assert_eq!(
            day(&paradigm(&["1/3/14", "2/3/14", "3/3/14"]).expect("d/m")),
            ["2014-03-01", "2014-03-02", "2014-03-03"]
        );
        let refused = paradigm(&["3/4/14"]).expect_err("ambiguous");
        assert!(
            format!("{refused:?}").contains("ambiguous_dates"),
            "{refused:?}"
        );
        let read = paradigm(&["3/13/14"]).expect("parsed");
        assert_eq!(&*read.events[0].device, "Paradigm Revel - 723 #965788");
    }
}
