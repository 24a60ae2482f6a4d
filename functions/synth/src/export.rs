//! Writes events as the files people upload: glucolink JSON, Medtronic CareLink CSV (newest first, in
//! sections, the 780G-era header), Dexcom Clarity CSV. Local times come from each event's own offset, as
//! the device showed them.

use glucolink_core::data::event::{BasalKind, Body, Event};
use jiff::civil::DateTime;
use jiff::tz::Offset;
use std::collections::HashMap;

use serde_json::{Value, json};

fn local(event: &Event) -> DateTime {
    Offset::from_seconds(i32::from(event.utc_offset_minutes) * 60)
        .unwrap_or(Offset::UTC)
        .to_datetime(event.at)
}

fn units(milli: u32) -> String {
    format!("{:.3}", f64::from(milli) / 1000.0)
}

fn mg_dl(tenths: u16) -> String {
    let value = f64::from(tenths) / 10.0;
    if tenths.is_multiple_of(10) {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// glucolink JSON, every time with its offset (the writer of glucolink's own exports).
pub use glucolink_core::data::export::to_json;

/// The 780G-era CareLink header (FORMATS.md).
pub const CARELINK_HEADER: &str = "Index,Date,Time,New Device Time,BG Source,BG Reading (mg/dL),Linked BG Meter ID,Basal Rate (U/h),Temp Basal Amount,Temp Basal Type,Temp Basal Duration (h:mm:ss),Bolus Type,Bolus Volume Selected (U),Bolus Volume Delivered (U),Bolus Duration (h:mm:ss),Prime Type,Prime Volume Delivered (U),Estimated Reservoir Volume after Fill (U),Alert,User Cleared Alerts,Suspend,Rewind,BWZ Estimate (U),BWZ Target High BG (mg/dL),BWZ Target Low BG (mg/dL),BWZ Carb Ratio (g/U),BWZ Insulin Sensitivity (mg/dL/U),BWZ Carb Input (grams),BWZ BG Input (mg/dL),BWZ Correction Estimate (U),BWZ Food Estimate (U),BWZ Active Insulin (U),BWZ Status,Sensor Calibration BG (mg/dL),Sensor Glucose (mg/dL),ISIG Value,Event Marker,Bolus Number,Bolus Cancellation Reason,BWZ Unabsorbed Insulin Total (U),Final Bolus Estimate,Scroll Step Size,Insulin Action Curve Time,Sensor Calibration Rejected Reason,Preset Bolus,Bolus Source,BLE Network Device,Device Update Event,Network Device Associated Reason,Network Device Disassociated Reason,Network Device Disconnected Reason,Sensor Exception,Preset Temp Basal Name";

/// Whether the pump's automation was on at `at`, from the pump-mode events (sorted by time).
fn automatic_at(modes: &[&Event], at: jiff::Timestamp) -> bool {
    modes
        .iter()
        .rev()
        .find(|m| m.at <= at)
        .is_some_and(|m| matches!(m.body, Body::PumpMode { automatic: true }))
}

/// What the device's clock showed for each event: a device with clock settings (`ClockSet`) runs at a
/// fixed offset from UTC between two settings and is right after the last (the rule the CareLink
/// importer reverses, docs/UPLOADS.md); other devices show each event's own offset.
struct ShownClocks<'a> {
    /// Per device: the instants of its settings, and its offsets (seconds) before, between and after.
    devices: HashMap<&'a str, (Vec<i64>, Vec<i64>)>,
}

impl<'a> ShownClocks<'a> {
    fn new(events: &'a [Event]) -> Self {
        let mut settings: HashMap<&str, Vec<&Event>> = HashMap::new();
        for event in events {
            if let Body::ClockSet { .. } = event.body {
                settings.entry(&*event.device).or_default().push(event);
            }
        }
        let devices = settings
            .into_iter()
            .map(|(device, mut list)| {
                list.sort_by_key(|e| e.at);
                let mut offsets = vec![
                    list.last()
                        .map_or(0, |e| i64::from(e.utc_offset_minutes) * 60),
                ];
                for setting in list.iter().rev() {
                    if let Body::ClockSet { shift_seconds } = setting.body {
                        let after = offsets.last().copied().unwrap_or(0);
                        offsets.push(after - i64::from(shift_seconds));
                    }
                }
                offsets.reverse();
                (
                    device,
                    (list.iter().map(|e| e.at.as_second()).collect(), offsets),
                )
            })
            .collect();
        Self { devices }
    }

    fn shown(&self, event: &Event) -> DateTime {
        let Some((settings, offsets)) = self.devices.get(&*event.device) else {
            return local(event);
        };
        let stretch = settings.partition_point(|s| *s < event.at.as_second());
        let offset = offsets.get(stretch).copied().unwrap_or(0);
        jiff::tz::TimeZone::UTC.to_datetime(
            jiff::Timestamp::from_second(event.at.as_second() + offset).unwrap_or(event.at),
        )
    }
}

fn carelink_row(
    index: usize,
    event: &Event,
    columns: &[&str],
    in_smart_guard: bool,
    stamp: DateTime,
) -> Option<String> {
    let mut values: Vec<(&str, String)> = Vec::new();
    match &event.body {
        Body::Cgm {
            glucose_tenths_mg_dl,
        } => values.push(("Sensor Glucose (mg/dL)", mg_dl(*glucose_tenths_mg_dl))),
        Body::Smbg {
            glucose_tenths_mg_dl,
        } => {
            values.push(("BG Source", "BG_READING_RECEIVED".into()));
            values.push(("BG Reading (mg/dL)", mg_dl(*glucose_tenths_mg_dl)));
        }
        Body::Bolus {
            immediate_milliunits,
            automatic,
            ..
        } => {
            values.push(("Bolus Type", "Normal".into()));
            values.push(("Bolus Volume Selected (U)", units(*immediate_milliunits)));
            values.push(("Bolus Volume Delivered (U)", units(*immediate_milliunits)));
            values.push((
                "Bolus Source",
                if *automatic {
                    "CLOSED_LOOP_MICRO_BOLUS"
                } else if in_smart_guard {
                    "CLOSED_LOOP_FOOD_BOLUS"
                } else {
                    "BOLUS_WIZARD"
                }
                .into(),
            ));
        }
        Body::Basal {
            rate_milliunits_per_hour,
            basal: BasalKind::Scheduled,
            ..
        } => {
            values.push(("Basal Rate (U/h)", units(*rate_milliunits_per_hour)));
        }
        // Temporary basals as the pump logs an exercise temp: a percentage of the 0.8 U/h step.
        Body::Basal {
            rate_milliunits_per_hour,
            duration_seconds,
            basal: BasalKind::Temporary,
        } => {
            values.push((
                "Temp Basal Amount",
                format!("{}", f64::from(*rate_milliunits_per_hour) / 8.0),
            ));
            values.push(("Temp Basal Type", "Percent".into()));
            values.push((
                "Temp Basal Duration (h:mm:ss)",
                format!(
                    "{}:{:02}:00",
                    duration_seconds / 3600,
                    duration_seconds % 3600 / 60
                ),
            ));
        }
        Body::Basal { .. } => return None,
        Body::Carbs { tenths_grams } => {
            values.push(("BWZ Carb Input (grams)", format!("{}", tenths_grams / 10)))
        }
        // The day's total of the automation, in its own section.
        Body::AutoInsulin { milliunits, .. } => {
            values.push(("Bolus Type", "Normal".into()));
            values.push(("Bolus Volume Selected (U)", units(*milliunits)));
            values.push(("Bolus Volume Delivered (U)", units(*milliunits)));
            values.push(("Bolus Source", "CLOSED_LOOP_AUTO_INSULIN".into()));
        }
        // SmartGuard's start shows only in what follows (its insulin); its exit is an alert.
        Body::PumpMode { automatic: true } | Body::LongActing { .. } => return None,
        Body::PumpMode { automatic: false } => values.push(("Alert", "SmartGuard exit".into())),
        Body::ClockSet { shift_seconds } => {
            let new = stamp
                .checked_add(jiff::SignedDuration::from_secs(i64::from(*shift_seconds)))
                .unwrap_or(stamp);
            values.push((
                "New Device Time",
                new.strftime("%Y/%m/%d %H:%M:%S").to_string(),
            ));
        }
    }
    let row: Vec<String> = columns
        .iter()
        .map(|column| match *column {
            "Index" => format!("{index}.00000"),
            "Date" => stamp.strftime("%Y/%m/%d").to_string(),
            "Time" => stamp.strftime("%H:%M:%S").to_string(),
            other => values
                .iter()
                .find(|(name, _)| *name == other)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        })
        .collect();
    Some(row.join(","))
}

/// The row that records only the volume selected for a bolus (no insulin delivered yet).
fn selected_only_row(index: usize, stamp: DateTime, milliunits: u32, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|column| match *column {
            "Index" => format!("{index}.00000"),
            "Date" => stamp.strftime("%Y/%m/%d").to_string(),
            "Time" => stamp.strftime("%H:%M:%S").to_string(),
            "Bolus Type" => "Normal".to_owned(),
            "Bolus Volume Selected (U)" => units(milliunits),
            _ => String::new(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A CareLink export: preamble, a pump section and a sensor section, rows newest first.
pub fn to_carelink_csv(events: &[Event]) -> String {
    let columns: Vec<&str> = CARELINK_HEADER.split(',').collect();
    let mut text = String::from(
        "\u{feff}Last Name,First Name,Patient ID,Start Date,End Date,Device,Pump,Sensor\r\nSynthetic,Patient,,,,,,\r\n",
    );
    let modes: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.body, Body::PumpMode { .. }))
        .collect();
    let clocks = ShownClocks::new(events);
    // Sections as the 780G writes them: pump events, the days of automatic insulin, the sensor.
    let section_of = |e: &Event| match e.body {
        Body::Cgm { .. } => 2,
        Body::AutoInsulin { .. } => 1,
        _ => 0,
    };
    let mut index = 0;
    for (number, title, label) in [
        (0, "Pump", "-------"),
        (1, "Pump", "Aggregated Auto Insulin Data"),
        (2, "Sensor", "-------"),
    ] {
        let mut section: Vec<&Event> = events.iter().filter(|e| section_of(e) == number).collect();
        let Some(first) = section.first() else {
            continue;
        };
        let (model, serial) = first
            .device
            .rsplit_once(' ')
            .unwrap_or((&*first.device, ""));
        text.push_str(&format!(
            "-------,{model},{title},{serial},{label}\r\n{CARELINK_HEADER}\r\n"
        ));
        section.reverse();
        for event in &section {
            index += 1;
            let stamp = clocks.shown(event);
            if let Some(row) = carelink_row(
                index,
                event,
                &columns,
                automatic_at(&modes, event.at),
                stamp,
            ) {
                text.push_str(&row);
                text.push_str("\r\n");
            }
            // As the pump logs it, a manual bolus appears twice: selected, then delivered (newest first,
            // so the selected row comes after the delivered one).
            if let Body::Bolus {
                immediate_milliunits,
                automatic: false,
                ..
            } = event.body
            {
                index += 1;
                text.push_str(&selected_only_row(
                    index,
                    stamp,
                    immediate_milliunits,
                    &columns,
                ));
                text.push_str("\r\n");
            }
        }
    }
    text
}

/// A CareLink export of a Guardian Connect (CGM without a pump), European style (`;`, decimal commas):
/// sensor readings, and what the person logged in the app as event markers (`Insulin: 4,50`,
/// `Meal: 60,00grams`), each marker row written twice as CareLink does (indexes `n,0` and `n+1,00000`).
/// Meter readings, basal and other kinds have no place in this export and are left out.
pub fn to_guardian_connect_csv(events: &[Event]) -> String {
    let header = "Index;Date;Time;New Device Time;BG Reading (mg/dL);Linked BG Meter ID;Sensor Calibration BG (mg/dL);Sensor Glucose (mg/dL);ISIG Value;Event Marker;Sensor Exception";
    let mut text = String::from(
        "Last Name;First Name;Patient ID;Start Date;End Date;Device;Sensor\r\nSynthetic;Patient;;;;Guardian Connect;\r\n\r\nDevice data shown may exceed selected date range.\r\n\r\n",
    );
    let serial = events.first().map_or("GC0000000", |e| {
        e.device.rsplit_once(' ').map_or(&*e.device, |(_, s)| s)
    });
    text.push_str(&format!(
        "-------;Guardian Connect;Sensor;{serial};-------\r\n{header}\r\n"
    ));
    let decimal = |value: f64, places: usize| format!("{value:.places$}").replace('.', ",");
    let mut index = 0usize;
    for event in events.iter().rev() {
        let stamp = local(event);
        let (date, time) = (
            stamp.strftime("%Y/%m/%d").to_string(),
            stamp.strftime("%H:%M:%S").to_string(),
        );
        let (sensor, marker) = match &event.body {
            Body::Cgm {
                glucose_tenths_mg_dl,
            } => (mg_dl(*glucose_tenths_mg_dl), String::new()),
            Body::Bolus {
                immediate_milliunits,
                ..
            } => (
                String::new(),
                format!(
                    "Insulin: {}",
                    decimal(f64::from(*immediate_milliunits) / 1000.0, 2)
                ),
            ),
            Body::Carbs { tenths_grams } => (
                String::new(),
                format!("Meal: {}grams", decimal(f64::from(*tenths_grams) / 10.0, 2)),
            ),
            _ => continue,
        };
        let copies = if marker.is_empty() { 1 } else { 2 };
        for copy in 0..copies {
            let index_text = if copy == 0 {
                format!("{index},0")
            } else {
                format!("{index},00000")
            };
            text.push_str(&format!(
                "{index_text};{date};{time};;;;;{sensor};;{marker};\r\n"
            ));
            index += 1;
        }
    }
    text
}

/// The Paradigm-era header (a Revel 523/723 in CareLink Personal): the event is named in `Raw-Type`.
pub const PARADIGM_HEADER: &str = "Index,Date,Time,Timestamp,New Device Time,BG Reading (mg/dL),Linked BG Meter ID,Temp Basal Amount (U/h),Temp Basal Type,Temp Basal Duration (hh:mm:ss),Bolus Type,Bolus Volume Selected (U),Bolus Volume Delivered (U),Programmed Bolus Duration (hh:mm:ss),Prime Type,Prime Volume Delivered (U),Suspend,Rewind,BWZ Estimate (U),BWZ Target High BG (mg/dL),BWZ Target Low BG (mg/dL),BWZ Carb Ratio (grams),BWZ Insulin Sensitivity (mg/dL),BWZ Carb Input (grams),BWZ BG Input (mg/dL),BWZ Correction Estimate (U),BWZ Food Estimate (U),BWZ Active Insulin (U),Alarm,Sensor Calibration BG (mg/dL),Sensor Glucose (mg/dL),ISIG Value,Daily Insulin Total (U),Raw-Type,Raw-Values,Raw-ID,Raw-Upload ID,Raw-Seq Num,Raw-Device Type";

/// A CareLink Personal export of a Paradigm pump (2014 era): a preamble naming the pump, one header,
/// rows oldest first with `M/D/YY` dates, each event named in `Raw-Type` (`GlucoseSensorData`,
/// `BGReceived`, `BolusNormal`, `BolusWizardBolusEstimate`, `BasalProfileStart` with `RATE=` in
/// `Raw-Values`). The Paradigm had no automation: automatic boluses and other kinds are left out.
pub fn to_carelink_paradigm_csv(events: &[Event]) -> String {
    let columns: Vec<&str> = PARADIGM_HEADER.split(',').collect();
    let stamp = |e: &Event| local(e);
    let (first, last) = match (events.first(), events.last()) {
        (Some(a), Some(b)) => (stamp(a), stamp(b)),
        _ => return String::new(),
    };
    let mut text = format!(
        "Name,Synthetic Patient\r\nReport Range,{},to,{}\r\nDEVICE INFO\r\nPump:,Paradigm Revel - 723,#965788,VER 3.0B1.1,\r\nData Exported on,{} 10:05 AM\r\nDEVICE DATA ({} records)\r\nData Range,{},to,{}\r\n{PARADIGM_HEADER}\r\n",
        first.strftime("%-m/%-d/%y"),
        last.strftime("%-m/%-d/%y"),
        last.strftime("%-m/%-d/%y"),
        events.len(),
        first.strftime("%-m/%-d/%y %H:%M:%S"),
        last.strftime("%-m/%-d/%y %H:%M:%S"),
    );
    let mut index = 0;
    for event in events {
        let mut values: Vec<(&str, String)> = Vec::new();
        let (raw_type, raw_values) = match &event.body {
            Body::Cgm {
                glucose_tenths_mg_dl,
            } => {
                values.push(("Sensor Glucose (mg/dL)", mg_dl(*glucose_tenths_mg_dl)));
                (
                    "GlucoseSensorData",
                    format!("AMOUNT={}", glucose_tenths_mg_dl / 10),
                )
            }
            Body::Smbg {
                glucose_tenths_mg_dl,
            } => {
                values.push(("BG Reading (mg/dL)", mg_dl(*glucose_tenths_mg_dl)));
                (
                    "BGReceived",
                    format!("AMOUNT={}", glucose_tenths_mg_dl / 10),
                )
            }
            Body::Bolus {
                immediate_milliunits,
                automatic: false,
                extended_milliunits: 0,
                ..
            } => {
                values.push(("Bolus Type", "Normal".into()));
                values.push(("Bolus Volume Selected (U)", units(*immediate_milliunits)));
                values.push(("Bolus Volume Delivered (U)", units(*immediate_milliunits)));
                (
                    "BolusNormal",
                    format!(
                        "AMOUNT={}, CONCENTRATION=null",
                        units(*immediate_milliunits)
                    ),
                )
            }
            Body::Carbs { tenths_grams } => {
                values.push(("BWZ Carb Input (grams)", format!("{}", tenths_grams / 10)));
                (
                    "BolusWizardBolusEstimate",
                    format!("CARB_INPUT={}", tenths_grams / 10),
                )
            }
            Body::Basal {
                rate_milliunits_per_hour,
                duration_seconds,
                basal: BasalKind::Temporary,
            } => {
                let percent = f64::from(*rate_milliunits_per_hour) / 8.0;
                values.push(("Temp Basal Amount (U/h)", format!("{percent}")));
                values.push(("Temp Basal Type", "Percent".into()));
                values.push((
                    "Temp Basal Duration (hh:mm:ss)",
                    format!(
                        "{}:{:02}:00",
                        duration_seconds / 3600,
                        duration_seconds % 3600 / 60
                    ),
                ));
                (
                    "ChangeTempBasalPercent",
                    format!(
                        "PERCENT_OF_RATE={percent}, DURATION={}",
                        duration_seconds * 1000
                    ),
                )
            }
            Body::Basal {
                rate_milliunits_per_hour,
                basal: BasalKind::Scheduled,
                ..
            } => (
                "BasalProfileStart",
                format!(
                    "PATTERN_NAME=standard, PROFILE_INDEX=0, RATE={}, START_TIME=0",
                    units(*rate_milliunits_per_hour)
                ),
            ),
            _ => continue,
        };
        index += 1;
        let shown = stamp(event);
        let row: Vec<String> = columns
            .iter()
            .map(|column| match *column {
                "Index" => index.to_string(),
                "Date" => shown.strftime("%-m/%-d/%y").to_string(),
                "Time" => shown.strftime("%-H:%M:%S").to_string(),
                "Timestamp" => shown.strftime("%-m/%-d/%y %H:%M:%S").to_string(),
                "Raw-Type" => raw_type.to_owned(),
                "Raw-Values" => format!("\"{raw_values}\""),
                "Raw-ID" => (9_000_000 + index).to_string(),
                "Raw-Upload ID" => "51543163".to_owned(),
                "Raw-Seq Num" => (index % 100).to_string(),
                "Raw-Device Type" => "Paradigm Revel - 723".to_owned(),
                other => values
                    .iter()
                    .find(|(name, _)| *name == other)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            })
            .collect();
        text.push_str(&row.join(","));
        text.push_str("\r\n");
    }
    text
}

/// A Dexcom Clarity export (mg/dL).
pub fn to_clarity_csv(events: &[Event]) -> String {
    let mut text = String::from(
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),Transmitter ID\r\n1,,FirstName,,Synthetic,,,,,,,,,\r\n2,,LastName,,Patient,,,,,,,,,\r\n",
    );
    let mut index = 3;
    // Clarity lists rows by their local timestamp, so the two passes of the autumn hour interleave;
    // only the transmitter's own clock (seconds since it started) tells them apart.
    let transmitter_start = events.first().map_or(0, |e| e.at.as_second() - 3 * 86_400);
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by_key(|e| local(e));
    for event in ordered {
        let stamp = local(event).strftime("%Y-%m-%dT%H:%M:%S").to_string();
        let transmitter_time = match event.body {
            Body::Cgm { .. } => (event.at.as_second() - transmitter_start).to_string(),
            _ => String::new(),
        };
        let (kind, subtype, glucose, insulin, carbs) = match &event.body {
            Body::Cgm {
                glucose_tenths_mg_dl,
            } => (
                "EGV",
                "",
                mg_dl(*glucose_tenths_mg_dl / 10 * 10),
                String::new(),
                String::new(),
            ),
            Body::Smbg {
                glucose_tenths_mg_dl,
            } => (
                "Calibration",
                "",
                mg_dl(*glucose_tenths_mg_dl / 10 * 10),
                String::new(),
                String::new(),
            ),
            Body::Bolus {
                immediate_milliunits,
                ..
            } => (
                "Insulin",
                "Fast-Acting",
                String::new(),
                units(*immediate_milliunits),
                String::new(),
            ),
            Body::Carbs { tenths_grams } => (
                "Carbs",
                "",
                String::new(),
                String::new(),
                format!("{}", tenths_grams / 10),
            ),
            Body::LongActing { milliunits } => (
                "Insulin",
                "Long-Acting",
                String::new(),
                units(*milliunits),
                String::new(),
            ),
            Body::Basal { .. }
            | Body::AutoInsulin { .. }
            | Body::PumpMode { .. }
            | Body::ClockSet { .. } => continue,
        };
        text.push_str(&format!(
            "{index},{stamp},{kind},{subtype},,,Android G7,{glucose},{insulin},{carbs},,,{transmitter_time},TX01\r\n"
        ));
        index += 1;
    }
    text
}

/// A LibreView export (US layout: month first, 12-hour clock), grouped by record type as LibreView does.
pub fn to_libreview_csv(events: &[Event]) -> String {
    let mut text = String::from(
        "Glucose Data,Generated on,11-26-2026 9:00 AM UTC,Generated by,Synthetic Patient\r\nDevice,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL,Scan Glucose mg/dL,Non-numeric Rapid-Acting Insulin,Rapid-Acting Insulin (units),Non-numeric Food,Carbohydrates (grams),Carbohydrates (servings),Non-numeric Long-Acting Insulin,Long-Acting Insulin (units),Notes,Strip Glucose mg/dL,Ketone mmol/L,Meal Insulin (units),Correction Insulin (units),User Change Insulin (units)\r\n",
    );
    for record_type in [0u8, 2, 4, 5] {
        for event in events {
            let mut cells = vec![String::new(); 19];
            let (model, serial) = event
                .device
                .rsplit_once(' ')
                .unwrap_or((&*event.device, ""));
            cells[0] = model.to_owned();
            cells[1] = serial.to_owned();
            cells[2] = local(event).strftime("%m-%d-%Y %I:%M %p").to_string();
            cells[3] = record_type.to_string();
            match (&event.body, record_type) {
                (
                    Body::Cgm {
                        glucose_tenths_mg_dl,
                    },
                    0,
                ) => cells[4] = mg_dl(*glucose_tenths_mg_dl),
                (
                    Body::Smbg {
                        glucose_tenths_mg_dl,
                    },
                    2,
                ) => cells[14] = mg_dl(*glucose_tenths_mg_dl),
                (
                    Body::Bolus {
                        immediate_milliunits,
                        ..
                    },
                    4,
                ) => cells[7] = format!("{:.1}", f64::from(*immediate_milliunits) / 1000.0),
                (Body::LongActing { milliunits }, 4) => {
                    cells[12] = format!("{:.1}", f64::from(*milliunits) / 1000.0)
                }
                (Body::Carbs { tenths_grams }, 5) => cells[9] = format!("{}", tenths_grams / 10),
                _ => continue,
            }
            text.push_str(&cells.join(","));
            text.push_str("\r\n");
        }
    }
    text
}

/// Nightscout `entries` and `treatments`, as the Nightscout API returns them.
pub fn to_nightscout_json(events: &[Event]) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut treatments = Vec::new();
    for event in events {
        let millis = event.at.as_millisecond();
        let created_at = event.at.to_string();
        match &event.body {
            Body::Cgm { glucose_tenths_mg_dl } => {
                let entry = json!({"type": "sgv", "sgv": glucose_tenths_mg_dl / 10, "date": millis, "direction": "Flat", "device": "xDrip-DexcomG6", "utcOffset": event.utc_offset_minutes});
                // Two uploaders feed the site: every tenth reading arrives twice.
                if (millis / 300_000) % 10 == 0 {
                    let mut again = entry.clone();
                    again["device"] = json!("AndroidAPS-DexcomG6");
                    entries.push(again);
                }
                entries.push(entry);
            }
            Body::Smbg { glucose_tenths_mg_dl } => treatments.push(json!({"eventType": "BG Check", "glucose": glucose_tenths_mg_dl / 10, "glucoseType": "Finger", "units": "mg/dl", "created_at": created_at, "utcOffset": event.utc_offset_minutes})),
            Body::Bolus { immediate_milliunits, automatic, .. } => treatments.push(json!({"eventType": if *automatic { "SMB" } else { "Meal Bolus" }, "insulin": f64::from(*immediate_milliunits) / 1000.0, "created_at": created_at, "utcOffset": event.utc_offset_minutes, "enteredBy": "openaps://AndroidAPS"})),
            Body::Carbs { tenths_grams } => treatments.push(json!({"eventType": "Carb Correction", "carbs": tenths_grams / 10, "created_at": created_at, "utcOffset": event.utc_offset_minutes})),
            Body::Basal { rate_milliunits_per_hour, duration_seconds, basal: BasalKind::Temporary } => treatments.push(json!({"eventType": "Temp Basal", "absolute": f64::from(*rate_milliunits_per_hour) / 1000.0, "duration": duration_seconds / 60, "created_at": created_at, "utcOffset": event.utc_offset_minutes})),
            Body::Basal { .. }
            | Body::AutoInsulin { .. }
            | Body::PumpMode { .. }
            | Body::LongActing { .. }
            | Body::ClockSet { .. } => {}
        }
    }
    serde_json::to_vec(&json!({"entries": entries, "treatments": treatments})).unwrap_or_default()
}

/// The apps that upload to Nightscout, each with its own way of writing treatments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploader {
    /// Loop: boluses as `Correction Bolus` with `"type": "normal"` (automatic ones `"automatic": true`),
    /// absolute temp basals, BG checks in mg/dL.
    Loop,
    /// AndroidAPS: SMBs as `Correction Bolus` with `"type": "SMB"` and `"isSMB": true`, temp basals as a
    /// percentage change (`percent`, with AndroidAPS's converted `rate` but no `absolute`), a
    /// `Profile Switch` carrying the profile, BG checks in mmol/L without `units`.
    AndroidAps,
    /// iAPS: boluses as `Bolus` with `"type": "SMB"` or `"normal"`, absolute temp basals.
    IAps,
}

/// Nightscout `entries`, `treatments` and the `profile` (the pump's schedule in `time_zone`), as
/// `uploader` writes them.
pub fn to_nightscout_as(events: &[Event], uploader: Uploader, time_zone: &str) -> Vec<u8> {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    // The schedule: the scheduled rates of the first day, by local time of day.
    let mut schedule: Vec<(i64, u32)> = Vec::new();
    if let Some(first) = events.first() {
        let first_day = tz.to_datetime(first.at).date();
        for event in events {
            let local = tz.to_datetime(event.at);
            if let Body::Basal {
                rate_milliunits_per_hour,
                basal: BasalKind::Scheduled,
                ..
            } = event.body
                && local.date() == first_day
            {
                let second = i64::from(local.hour()) * 3600 + i64::from(local.minute()) * 60;
                schedule.push((second, rate_milliunits_per_hour));
            }
        }
    }
    schedule.sort_unstable();
    schedule.dedup_by_key(|(s, _)| *s);
    let scheduled_at = |at: jiff::Timestamp| -> u32 {
        let local = tz.to_datetime(at);
        let second = i64::from(local.hour()) * 3600 + i64::from(local.minute()) * 60;
        schedule
            .iter()
            .rev()
            .find(|(s, _)| *s <= second)
            .map_or(0, |(_, r)| *r)
    };
    let basal: Vec<Value> = schedule
        .iter()
        .map(|(second, rate)| {
            json!({"time": format!("{:02}:{:02}", second / 3600, second % 3600 / 60), "value": f64::from(*rate) / 1000.0, "timeAsSeconds": second})
        })
        .collect();
    let profile = json!({"dia": 5, "timezone": time_zone, "units": "mg/dl", "basal": basal});
    let start = events.first().map_or(jiff::Timestamp::UNIX_EPOCH, |e| e.at);
    let start_date = jiff::Timestamp::from_second(start.as_second() - 86_400)
        .unwrap_or(start)
        .to_string();
    let mut entries = Vec::new();
    let mut treatments = Vec::new();
    if uploader == Uploader::AndroidAps {
        treatments.push(json!({"eventType": "Profile Switch", "created_at": start_date, "profile": "Synthetic", "percentage": 100, "timeshift": 0, "duration": 0, "profileJson": profile.to_string()}));
    }
    for event in events {
        let created_at = event.at.to_string();
        let offset = event.utc_offset_minutes;
        match &event.body {
            Body::Cgm {
                glucose_tenths_mg_dl,
            } => entries.push(json!({"type": "sgv", "sgv": glucose_tenths_mg_dl / 10, "date": event.at.as_millisecond(), "direction": "Flat", "utcOffset": offset})),
            Body::Smbg {
                glucose_tenths_mg_dl,
            } => treatments.push(if uploader == Uploader::AndroidAps {
                let mmol = f64::from(*glucose_tenths_mg_dl) / 10.0 / glucolink_core::data::event::MG_DL_PER_MMOL_L;
                json!({"eventType": "BG Check", "glucose": (mmol * 1000.0).round() / 1000.0, "glucoseType": "Finger", "created_at": created_at})
            } else {
                json!({"eventType": "BG Check", "glucose": glucose_tenths_mg_dl / 10, "glucoseType": "Finger", "units": "mg/dl", "created_at": created_at})
            }),
            Body::Bolus {
                immediate_milliunits,
                automatic,
                ..
            } => {
                let insulin = f64::from(*immediate_milliunits) / 1000.0;
                treatments.push(match uploader {
                    Uploader::Loop => json!({"eventType": "Correction Bolus", "type": "normal", "insulin": insulin, "automatic": automatic, "created_at": created_at}),
                    Uploader::AndroidAps => json!({"eventType": if *automatic { "Correction Bolus" } else { "Meal Bolus" }, "type": if *automatic { "SMB" } else { "NORMAL" }, "isSMB": automatic, "insulin": insulin, "created_at": created_at}),
                    Uploader::IAps => json!({"eventType": "Bolus", "type": if *automatic { "SMB" } else { "normal" }, "isSMB": automatic, "insulin": insulin, "created_at": created_at}),
                });
            }
            Body::Carbs { tenths_grams } => treatments.push(json!({"eventType": "Carb Correction", "carbs": f64::from(*tenths_grams) / 10.0, "created_at": created_at})),
            Body::Basal {
                rate_milliunits_per_hour,
                duration_seconds,
                basal: BasalKind::Temporary,
            } => {
                let absolute = f64::from(*rate_milliunits_per_hour) / 1000.0;
                let minutes = duration_seconds / 60;
                treatments.push(if uploader == Uploader::AndroidAps {
                    let scheduled = f64::from(scheduled_at(event.at));
                    let percent = (f64::from(*rate_milliunits_per_hour) / scheduled * 100.0).round() - 100.0;
                    json!({"eventType": "Temp Basal", "percent": percent, "rate": absolute, "duration": minutes, "type": "NORMAL", "created_at": created_at})
                } else {
                    json!({"eventType": "Temp Basal", "absolute": absolute, "rate": absolute, "duration": minutes, "created_at": created_at})
                });
            }
            _ => {}
        }
    }
    let document = json!({
        "entries": entries,
        "treatments": treatments,
        "profile": [{"defaultProfile": "Synthetic", "startDate": start_date, "store": {"Synthetic": profile}}],
    });
    serde_json::to_vec(&document).unwrap_or_default()
}
