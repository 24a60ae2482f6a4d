//! Nightscout JSON (docs/UPLOADS.md): `entries` (`sgv` sensor readings, always mg/dL; `mbg` meter
//! readings), `treatments` (boluses, SMBs, combo boluses, carbs, temporary basals, suspends, BG checks,
//! profile switches) and `profile` documents, as the API returns them — an array of any of them, or an
//! object with `entries`, `treatments` and `profile` arrays.
//!
//! Rules that real uploaders need (each with a test below):
//! - A treatment is whatever has an `eventType`; its `type` (Loop's `"normal"`, AndroidAPS's `"SMB"`)
//!   does not make it an entry. AndroidAPS SMBs are `Correction Bolus` with `type: "SMB"` or
//!   `isSMB: true`; Loop's automatic boluses carry `automatic: true`: all are automatic boluses.
//! - A `Temp Basal` without `absolute` is a percentage of the scheduled rate (`percent` is the change,
//!   −60 meaning 40 %; a `rate` alone is the percentage). It is resolved against the basal schedule of the
//!   profile active at that instant (the newest `Profile Switch` before it, else the newest profile
//!   document), split where the schedule changes; without a profile it is refused, saying so.
//! - With a profile and pump treatments, the profile's scheduled basal is stored over the period the
//!   upload covers (Nightscout never uploads scheduled basal: without it, basal would be only the temps).
//! - A `BG Check` without `units` is mmol/L when every unit-less check of the upload is 33.3 or less, and
//!   mg/dL when any is above; a value under 20 is mmol/L in any case. The answer says which was used.
//! - Several uploaders often feed one site, so the same reading arrives twice: every Nightscout event is
//!   recorded under one device name, so the same kind at the same instant is stored once.
//! - Items that hold nothing glucolink keeps (notes, site changes, calibrations) are counted by reason.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::{MAX_OFFSET_MINUTES, MAX_ROWS, Options, Read, plausible_time};
use crate::data::event::{
    BasalKind, Body, Event, MAX_BASAL_UNITS_PER_HOUR, MAX_BOLUS_UNITS, MAX_CARBS_GRAMS,
    MG_DL_PER_MMOL_L, glucose_tenths, milliunits,
};
use crate::data::upload::Rejected;
use crate::error::CoreError;

const DEVICE: &str = "Nightscout";

/// The largest mmol/L value a meter shows; unit-less BG checks all at or below it are mmol/L.
const MMOL_L_MAX: f64 = 33.3;
/// The smallest mg/dL value a meter shows; a unit-less BG check below it can only be mmol/L.
const MG_DL_MIN: f64 = 20.0;

/// Whether a JSON document is Nightscout data (rather than glucolink JSON).
pub fn looks_like(document: &Value) -> bool {
    let first = match document {
        Value::Array(items) => items.first(),
        Value::Object(object) => {
            return object.contains_key("entries")
                || object.contains_key("treatments")
                || (object.contains_key("profile") && !object.contains_key("events"));
        }
        _ => None,
    };
    first.is_some_and(|item| {
        item.get("sgv").is_some()
            || item.get("eventType").is_some()
            || item.get("dateString").is_some()
            || item.get("mbg").is_some()
            || item.get("store").is_some()
    })
}

/// One item of the upload and the name it goes by in answers (`treatments[2]`).
struct Item<'a> {
    name: String,
    value: &'a Value,
}

pub fn parse(bytes: &[u8], options: &Options) -> Result<Read, CoreError> {
    let invalid =
        |message: &str| CoreError::invalid("file", "invalid_nightscout_json", message.to_owned());
    let document: Value =
        serde_json::from_slice(bytes).map_err(|_| invalid("The file is not valid JSON."))?;
    let items: Vec<Item> = match &document {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, value)| Item {
                name: format!("[{i}]"),
                value,
            })
            .collect(),
        Value::Object(object) => ["entries", "treatments", "profile", "profiles"]
            .iter()
            .filter_map(|key| Some((*key, object.get(*key)?.as_array()?)))
            .flat_map(|(key, values)| {
                values.iter().enumerate().map(move |(i, value)| Item {
                    name: format!("{key}[{i}]"),
                    value,
                })
            })
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
    let profiles = Profiles::read(&items, options);
    let bg_units = BgUnits::decide(&items);
    let mut read = Read {
        total_rows: items.len(),
        ..Read::default()
    };
    if let Some(note) = bg_units.note() {
        read.notes.push(note);
    }
    let mut covered: Option<(Timestamp, Timestamp)> = None;
    let mut pump_treatments = false;
    for (index, item) in items.iter().enumerate() {
        let value = item.value;
        if value.get("store").is_some() && value.get("eventType").is_none() {
            read.skip("profile documents (their basal schedule is used for basal rates)");
            continue;
        }
        let reject = |reason: String| Rejected::at(index + 1, reason).item(item.name.clone());
        match classify(value) {
            Class::Skip(reason) => {
                read.skip(reason);
                continue;
            }
            Class::Invalid(reason) => {
                read.rejected.push(reject(reason.into()));
                continue;
            }
            Class::Entry | Class::Treatment => {}
        }
        match event(value, options, &profiles, bg_units) {
            Ok(Found::Events(found)) => {
                for event in found {
                    pump_treatments |=
                        matches!(event.body, Body::Bolus { .. } | Body::Basal { .. });
                    covered = Some(covered.map_or((event.at, event.at), |(a, b)| {
                        (a.min(event.at), b.max(event.at))
                    }));
                    read.push(index + 1, event);
                }
            }
            Ok(Found::Nothing(reason)) => read.skip(reason),
            Err(reason) => read.rejected.push(reject(reason)),
        }
    }
    if pump_treatments && let Some((from, to)) = covered {
        for event in profiles.scheduled_basal(from, to) {
            read.push(0, event);
        }
    }
    Ok(read)
}

enum Class {
    Entry,
    Treatment,
    Skip(String),
    Invalid(&'static str),
}

/// Entries carry a `type` (`sgv`, `mbg`, `cal`); treatments an `eventType`, whatever their `type`.
fn classify(item: &Value) -> Class {
    if !item.is_object() {
        return Class::Invalid("an entry is a JSON object");
    }
    if item.get("eventType").is_some() {
        return Class::Treatment;
    }
    match item.get("type").and_then(Value::as_str) {
        Some("sgv" | "mbg") => Class::Entry,
        Some("cal") => Class::Skip("sensor calibration records".into()),
        Some(other) => Class::Skip(format!("entries of type {other:?}")),
        None if item.get("sgv").is_some() => Class::Entry,
        None => Class::Invalid("neither an entry (no type or sgv) nor a treatment (no eventType)"),
    }
}

enum Found {
    Events(Vec<Event>),
    /// A valid treatment that holds nothing glucolink keeps, and the reason it is not kept.
    Nothing(String),
}

fn number(item: &Value, field: &str) -> Option<f64> {
    match item.get(field)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn flag(item: &Value, field: &str) -> bool {
    item.get(field).and_then(Value::as_bool).unwrap_or(false)
}

/// An ISO 8601 instant as uploaders write it: RFC 3339, or an offset without a colon (`+0100`, xDrip+).
fn instant(raw: &str) -> Option<Timestamp> {
    if let Ok(at) = raw.parse::<Timestamp>() {
        return Some(at);
    }
    let (body, sign, offset) = raw
        .rfind(['+', '-'])
        .filter(|at| *at > 10)
        .map(|at| (&raw[..at], &raw[at..at + 1], &raw[at + 1..]))?;
    if offset.len() == 4 && offset.bytes().all(|b| b.is_ascii_digit()) {
        format!("{body}{sign}{}:{}", &offset[..2], &offset[2..])
            .parse()
            .ok()
    } else {
        None
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
            .or_else(|| item.get("timestamp"))
            .and_then(Value::as_str)
            .ok_or("the time is missing")?;
        if super::json::written_offset_minutes(raw).is_some_and(|o| o.abs() > MAX_OFFSET_MINUTES) {
            return Err(format!(
                "the time {raw:?} has an offset beyond ±14:00, which no place on Earth uses"
            ));
        }
        instant(raw).ok_or_else(|| format!("the time {raw:?} is not ISO 8601 with an offset"))?
    };
    let at = Timestamp::from_second(at.as_second())
        .map_err(|_| "the date is out of range".to_owned())?;
    let offset = match number(item, "utcOffset") {
        Some(minutes) if minutes.abs() <= f64::from(MAX_OFFSET_MINUTES) => minutes as i16,
        _ => i16::try_from(options.tz.to_offset(at).seconds() / 60).unwrap_or(0),
    };
    Ok((at, offset))
}

fn minutes_field(item: &Value, field: &str, max: f64) -> u32 {
    (number(item, field).unwrap_or(0.0).clamp(0.0, max) * 60.0) as u32
}

fn event(
    item: &Value,
    options: &Options,
    profiles: &Profiles,
    bg_units: BgUnits,
) -> Result<Found, String> {
    let (at, utc_offset_minutes) = when(item, options)?;
    plausible_time(at, options)?;
    let make = |body: Body| Event {
        at,
        utc_offset_minutes,
        device: DEVICE.into(),
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
    let Some(event_type) = item.get("eventType") else {
        let (field, cgm) = match item.get("type").and_then(Value::as_str) {
            Some("mbg") => ("mbg", false),
            _ => ("sgv", true),
        };
        let value = number(item, field).ok_or(format!("the {field} value is missing"))?;
        let glucose_tenths_mg_dl = glucose(value, false)?;
        return Ok(Found::Events(vec![make(if cgm {
            Body::Cgm {
                glucose_tenths_mg_dl,
            }
        } else {
            Body::Smbg {
                glucose_tenths_mg_dl,
            }
        })]));
    };
    let event_type = event_type.as_str().unwrap_or("").trim();
    let mut events = Vec::new();
    match event_type {
        "Temp Basal" => events.extend(temp_basal(item, at, utc_offset_minutes, profiles)?),
        "Suspend Pump" => events.push(make(Body::Basal {
            rate_milliunits_per_hour: 0,
            duration_seconds: minutes_field(item, "duration", 10_080.0),
            basal: BasalKind::Suspend,
        })),
        _ => {}
    }
    if let Some(units) = number(item, "insulin").filter(|u| *u > 0.0) {
        let milli = milliunits(units, MAX_BOLUS_UNITS)
            .ok_or_else(|| format!("a bolus of {units} U is out of range"))?;
        let body = if event_type == "Combo Bolus" {
            let now_share = number(item, "splitNow").unwrap_or(100.0).clamp(0.0, 100.0) / 100.0;
            let immediate = (f64::from(milli) * now_share).round() as u32;
            Body::Bolus {
                immediate_milliunits: immediate,
                extended_milliunits: milli - immediate.min(milli),
                extended_minutes: minutes_field(item, "duration", 1440.0) / 60,
                automatic: false,
            }
        } else {
            let smb = event_type == "SMB"
                || item.get("type").and_then(Value::as_str) == Some("SMB")
                || flag(item, "isSMB")
                || flag(item, "automatic");
            Body::Bolus {
                immediate_milliunits: milli,
                extended_milliunits: 0,
                extended_minutes: 0,
                automatic: smb,
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
        let mmol = match item.get("units").and_then(Value::as_str) {
            Some(units) => units.to_ascii_lowercase().contains("mmol"),
            None => bg_units.unitless_is_mmol(value),
        };
        events.push(make(Body::Smbg {
            glucose_tenths_mg_dl: glucose(value, mmol)?,
        }));
    }
    if !events.is_empty() {
        return Ok(Found::Events(events));
    }
    Ok(Found::Nothing(match event_type {
        "Profile Switch" => {
            "profile switches (their basal schedule is used for basal rates)".into()
        }
        "" => "treatments without an event type or values".into(),
        other => format!("{other:?} treatments (no glucose, insulin or carbs)"),
    }))
}

/// A temporary basal: absolute U/h, or a percentage resolved against the active profile.
fn temp_basal(
    item: &Value,
    at: Timestamp,
    utc_offset_minutes: i16,
    profiles: &Profiles,
) -> Result<Vec<Event>, String> {
    let seconds = minutes_field(item, "duration", 10_080.0);
    let make = |at: Timestamp, rate: f64, duration_seconds: u32, basal: BasalKind| {
        Ok(Event {
            at,
            utc_offset_minutes,
            device: DEVICE.into(),
            body: Body::Basal {
                rate_milliunits_per_hour: milliunits(rate, MAX_BASAL_UNITS_PER_HOUR)
                    .ok_or_else(|| format!("a basal rate of {rate:.3} U/h is out of range"))?,
                duration_seconds,
                basal,
            },
        })
    };
    if let Some(rate) = number(item, "absolute") {
        return if seconds == 0 {
            // Loop and AndroidAPS end a temporary basal with one of no duration: the schedule resumes.
            scheduled_resumes(at, profiles, make)
        } else {
            Ok(vec![make(at, rate, seconds, BasalKind::Temporary)?])
        };
    }
    let percent = if let Some(change) = number(item, "percent") {
        100.0 + change
    } else if let Some(rate) = number(item, "rate") {
        rate
    } else {
        return Err("a temporary basal needs an absolute rate or a percentage".into());
    };
    if !(0.0..=1000.0).contains(&percent) {
        return Err(format!("a temporary basal of {percent} % is out of range"));
    }
    if seconds == 0 {
        return scheduled_resumes(at, profiles, make);
    }
    let schedule = profiles.at(at).ok_or(
        "a percentage temporary basal needs the basal schedule of the active profile; include the Nightscout profile (or the Profile Switch treatments) in the upload",
    )?;
    let schedule = schedule.map_err(str::to_owned)?;
    let end = at.as_second() + i64::from(seconds);
    schedule
        .pieces(at.as_second(), end)
        .into_iter()
        .map(|(from, to, scheduled)| {
            let from_at = Timestamp::from_second(from).map_err(|e| e.to_string())?;
            make(
                from_at,
                scheduled * percent / 100.0,
                (to - from) as u32,
                BasalKind::Temporary,
            )
        })
        .collect()
}

/// The end of a temporary basal: the scheduled rate of the profile resumes (refused without one, since
/// the rate that resumes is not in the upload).
fn scheduled_resumes(
    at: Timestamp,
    profiles: &Profiles,
    make: impl Fn(Timestamp, f64, u32, BasalKind) -> Result<Event, String>,
) -> Result<Vec<Event>, String> {
    let schedule = profiles
        .at(at)
        .ok_or("the end of a temporary basal needs the basal schedule of the active profile; include the Nightscout profile in the upload")?
        .map_err(str::to_owned)?;
    let rate = schedule.rate_at(at.as_second());
    Ok(vec![make(at, rate, 0, BasalKind::Scheduled)?])
}

/// How unit-less `BG Check` values of this upload are read.
#[derive(Debug, Clone, Copy)]
struct BgUnits {
    /// Unit-less checks seen, and whether any was above 33.3 (so the upload is in mg/dL).
    unitless: usize,
    any_above_mmol_range: bool,
}

impl BgUnits {
    fn decide(items: &[Item]) -> Self {
        let values: Vec<f64> = items
            .iter()
            .map(|i| i.value)
            .filter(|v| {
                v.get("eventType").and_then(Value::as_str) == Some("BG Check")
                    && v.get("units").is_none()
            })
            .filter_map(|v| number(v, "glucose"))
            .collect();
        Self {
            unitless: values.len(),
            any_above_mmol_range: values.iter().any(|v| *v > MMOL_L_MAX),
        }
    }

    /// Below 20 only mmol/L is possible; otherwise the upload's unit-less checks decide together.
    fn unitless_is_mmol(&self, value: f64) -> bool {
        value < MG_DL_MIN || !self.any_above_mmol_range
    }

    fn note(&self) -> Option<String> {
        (self.unitless > 0).then(|| {
            if self.any_above_mmol_range {
                format!(
                    "{} BG checks had no units; they were read as mg/dL because some are above {MMOL_L_MAX}.",
                    self.unitless
                )
            } else {
                format!(
                    "{} BG checks had no units; they were read as mmol/L because none is above {MMOL_L_MAX}.",
                    self.unitless
                )
            }
        })
    }
}

/// A basal schedule: rates from seconds after local midnight, in the profile's zone.
#[derive(Debug, Clone)]
struct Schedule {
    /// (seconds after midnight, U/h), sorted, the first at 0.
    rates: Vec<(i64, f64)>,
    tz: TimeZone,
}

impl Schedule {
    /// Reads a Nightscout profile (`basal` array, `timezone`), scaled by `percentage`.
    fn read(profile: &Value, percentage: f64, default_tz: &TimeZone) -> Option<Self> {
        let mut rates: Vec<(i64, f64)> = profile
            .get("basal")?
            .as_array()?
            .iter()
            .filter_map(|entry| {
                let seconds = number(entry, "timeAsSeconds")
                    .map(|s| s as i64)
                    .or_else(|| {
                        let (h, m) = entry.get("time")?.as_str()?.split_once(':')?;
                        Some(
                            h.trim().parse::<i64>().ok()? * 3600
                                + m.trim().parse::<i64>().ok()? * 60,
                        )
                    })?;
                let rate = number(entry, "value")?;
                ((0..86_400).contains(&seconds) && (0.0..=MAX_BASAL_UNITS_PER_HOUR).contains(&rate))
                    .then_some((seconds, rate * percentage / 100.0))
            })
            .collect();
        rates.sort_by_key(|(s, _)| *s);
        if rates.first().is_none_or(|(s, _)| *s != 0) {
            return None;
        }
        let tz = profile
            .get("timezone")
            .and_then(Value::as_str)
            .and_then(|name| TimeZone::get(name).ok())
            .unwrap_or_else(|| default_tz.clone());
        Some(Self { rates, tz })
    }

    fn seconds_of_day(&self, at: i64) -> i64 {
        let at = Timestamp::from_second(at).unwrap_or_default();
        let offset = i64::from(self.tz.to_offset(at).seconds());
        (at.as_second() + offset).rem_euclid(86_400)
    }

    fn rate_at(&self, at: i64) -> f64 {
        let second = self.seconds_of_day(at);
        self.rates
            .iter()
            .rev()
            .find(|(s, _)| *s <= second)
            .map_or(0.0, |(_, r)| *r)
    }

    /// The scheduled rate over `[from, to)`, cut where it changes: `(from, to, U/h)`.
    fn pieces(&self, from: i64, to: i64) -> Vec<(i64, i64, f64)> {
        let mut pieces = Vec::new();
        let mut at = from;
        while at < to {
            let second = self.seconds_of_day(at);
            let next_change = self
                .rates
                .iter()
                .map(|(s, _)| *s)
                .find(|s| *s > second)
                .unwrap_or(86_400);
            // Schedule changes are local wall-clock times; a clock change in between only moves them.
            let until = (at + (next_change - second)).min(to).max(at + 60);
            pieces.push((at, until.min(to), self.rate_at(at)));
            at = until;
        }
        pieces
    }
}

/// The profiles of an upload: profile documents (from `startDate`) and `Profile Switch` treatments.
struct Profiles {
    /// (active from, the schedule or why it cannot be used), sorted by time.
    documents: Vec<(Timestamp, Result<Schedule, &'static str>)>,
    /// (from, until if temporary, the schedule or why not), sorted by time.
    switches: Vec<(Timestamp, Option<Timestamp>, Result<Schedule, &'static str>)>,
}

const UNREADABLE_PROFILE: &str =
    "the active profile's basal schedule could not be read, so a percentage cannot be resolved";
const SHIFTED_PROFILE: &str = "the active profile is time-shifted, so a percentage temporary basal cannot be resolved with certainty";

impl Profiles {
    fn read(items: &[Item], options: &Options) -> Self {
        let mut documents = Vec::new();
        let mut named: Vec<(Timestamp, String, Value)> = Vec::new();
        for document in items
            .iter()
            .map(|i| i.value)
            .filter(|v| v.get("store").is_some())
        {
            let Some(start) = ["startDate", "created_at"]
                .iter()
                .find_map(|key| instant(document.get(*key)?.as_str()?))
            else {
                continue;
            };
            let store = document.get("store");
            if let Some(Value::Object(store)) = store {
                for (name, profile) in store {
                    named.push((start, name.clone(), profile.clone()));
                }
            }
            let default = document
                .get("defaultProfile")
                .and_then(Value::as_str)
                .and_then(|name| store?.get(name));
            documents.push((
                start,
                default
                    .and_then(|p| Schedule::read(p, 100.0, &options.tz))
                    .ok_or(UNREADABLE_PROFILE),
            ));
        }
        documents.sort_by_key(|(at, _)| *at);
        let mut switches = Vec::new();
        for switch in items
            .iter()
            .map(|i| i.value)
            .filter(|v| v.get("eventType").and_then(Value::as_str) == Some("Profile Switch"))
        {
            let Ok((at, _)) = when(switch, options) else {
                continue;
            };
            let percentage = number(switch, "percentage").unwrap_or(100.0);
            let minutes = number(switch, "duration").unwrap_or(0.0);
            let until = (minutes > 0.0)
                .then(|| Timestamp::from_second(at.as_second() + (minutes * 60.0) as i64).ok())
                .flatten();
            let embedded = match switch.get("profileJson") {
                Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
                Some(object @ Value::Object(_)) => Some(object.clone()),
                _ => None,
            };
            let by_name = || {
                let name = switch.get("profile").and_then(Value::as_str)?;
                named
                    .iter()
                    .rfind(|(start, n, _)| n == name && *start <= at)
                    .or_else(|| named.iter().find(|(_, n, _)| n == name))
                    .map(|(_, _, p)| p.clone())
            };
            let schedule = if number(switch, "timeshift").is_some_and(|h| h != 0.0) {
                Err(SHIFTED_PROFILE)
            } else {
                embedded
                    .or_else(by_name)
                    .and_then(|p| Schedule::read(&p, percentage, &options.tz))
                    .ok_or(UNREADABLE_PROFILE)
            };
            switches.push((at, until, schedule));
        }
        switches.sort_by_key(|(at, _, _)| *at);
        Self {
            documents,
            switches,
        }
    }

    /// The schedule active at `at`: the newest switch before it that has not ended, else the newest
    /// profile document. `None` when the upload has no profile for that instant.
    fn at(&self, at: Timestamp) -> Option<Result<&Schedule, &'static str>> {
        let switch = self
            .switches
            .iter()
            .rev()
            .find(|(from, until, _)| *from <= at && until.is_none_or(|u| at < u))
            .map(|(_, _, s)| s);
        let document = || {
            self.documents
                .iter()
                .rev()
                .find(|(from, _)| *from <= at)
                .map(|(_, s)| s)
        };
        switch.or_else(document).map(|s| s.as_ref().map_err(|e| *e))
    }

    /// The scheduled basal over `[from, to)`, as scheduled basal events each lasting until the next
    /// change, so delivery is not counted past the data.
    fn scheduled_basal(&self, from: Timestamp, to: Timestamp) -> Vec<Event> {
        let mut events = Vec::new();
        let mut at = from.as_second();
        let end = to.as_second();
        while at < end {
            let Some(Ok(schedule)) = self.at(Timestamp::from_second(at).unwrap_or_default()) else {
                // No usable profile here: move to the next profile change, if any.
                match self.next_change_after(at) {
                    Some(next) if next < end => {
                        at = next;
                        continue;
                    }
                    _ => break,
                }
            };
            let piece_end = self.next_change_after(at).map_or(end, |n| n.min(end));
            for (from, until, rate) in schedule.pieces(at, piece_end) {
                let Ok(start) = Timestamp::from_second(from) else {
                    continue;
                };
                let Some(milli) = milliunits(rate, MAX_BASAL_UNITS_PER_HOUR) else {
                    continue;
                };
                events.push(Event {
                    at: start,
                    utc_offset_minutes: i16::try_from(schedule.tz.to_offset(start).seconds() / 60)
                        .unwrap_or(0),
                    device: DEVICE.into(),
                    body: Body::Basal {
                        rate_milliunits_per_hour: milli,
                        duration_seconds: (until - from) as u32,
                        basal: BasalKind::Scheduled,
                    },
                });
            }
            at = piece_end;
        }
        events
    }

    /// The next instant after `at` where the active profile may change.
    fn next_change_after(&self, at: i64) -> Option<i64> {
        let starts = self.documents.iter().map(|(from, _)| from.as_second());
        let switches = self.switches.iter().flat_map(|(from, until, _)| {
            [Some(from.as_second()), until.map(|u| u.as_second())]
                .into_iter()
                .flatten()
        });
        starts.chain(switches).filter(|s| *s > at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            tz: TimeZone::get("Europe/London").expect("zone"),
            now: Timestamp::from_second(1_800_000_000).expect("ts"),
        }
    }

    fn read(json: &str) -> Read {
        parse(json.as_bytes(), &options()).expect("parsed")
    }

    fn bolus_milli(read: &Read) -> Vec<(u32, bool)> {
        read.events
            .iter()
            .filter_map(|e| match e.body {
                Body::Bolus {
                    immediate_milliunits,
                    automatic,
                    ..
                } => Some((immediate_milliunits, automatic)),
                _ => None,
            })
            .collect()
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
                    e.at.as_second(),
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

    const PROFILE: &str = r#"{"defaultProfile":"Default","startDate":"2021-01-01T00:00:00.000Z","store":{"Default":{"timezone":"UTC","basal":[{"time":"00:00","value":0.8,"timeAsSeconds":0},{"time":"01:15","value":"1.2","timeAsSeconds":"4500"}]}}}"#;

    #[test]
    fn a_type_on_a_treatment_does_not_make_it_an_entry() {
        let read = read(
            r#"[{"eventType":"SMB","created_at":"2021-01-30T00:37:14+00:00","insulin":1.5,"type":"SMB"},
                {"eventType":"Correction Bolus","created_at":"2021-01-30T00:42:14Z","insulin":0.4,"type":"SMB","isSMB":true},
                {"eventType":"Bolus","created_at":"2021-01-30T00:47:14Z","insulin":2.05,"type":"normal"},
                {"eventType":"Bolus","created_at":"2021-01-30T00:52:14Z","insulin":0.3,"type":"normal","automatic":true}]"#,
        );
        assert!(read.rejected.is_empty(), "{:?}", read.rejected);
        assert_eq!(
            bolus_milli(&read),
            vec![(1500, true), (400, true), (2050, false), (300, true)]
        );
    }

    #[test]
    fn percent_temp_basals_resolve_against_the_profile_and_split_at_schedule_changes() {
        // 40 % for 30 minutes from 01:00, the schedule going 0.8 → 1.2 U/h at 01:15.
        let read = read(&format!(
            r#"{{"profile":[{PROFILE}],"treatments":[{{"eventType":"Temp Basal","created_at":"2021-01-30T01:00:00+00:00","rate":40,"duration":30}},
                {{"eventType":"Temp Basal","created_at":"2021-01-30T02:00:00Z","percent":-50,"rate":0.6,"duration":60}}]}}"#
        ));
        assert!(read.rejected.is_empty(), "{:?}", read.rejected);
        let t = |h: i64, m: i64| 1_611_964_800 + h * 3600 + m * 60;
        let temps: Vec<_> = basal(&read)
            .into_iter()
            .filter(|b| b.3 == BasalKind::Temporary)
            .collect();
        assert_eq!(
            temps,
            vec![
                (t(1, 0), 320, 900, BasalKind::Temporary),
                (t(1, 15), 480, 900, BasalKind::Temporary),
                (t(2, 0), 600, 3600, BasalKind::Temporary),
            ]
        );
        // The schedule itself is stored over the period the upload covers (01:00–02:00 here).
        let scheduled: Vec<_> = basal(&read)
            .into_iter()
            .filter(|b| b.3 == BasalKind::Scheduled)
            .collect();
        assert_eq!(
            scheduled,
            vec![
                (t(1, 0), 800, 900, BasalKind::Scheduled),
                (t(1, 15), 1200, 2700, BasalKind::Scheduled)
            ]
        );
    }

    #[test]
    fn profile_switches_scale_the_schedule_and_temporary_ones_end() {
        let switch = r#"{"eventType":"Profile Switch","created_at":"2021-01-30T00:00:00Z","profile":"Default","percentage":150,"duration":60}"#;
        let read = read(&format!(
            r#"{{"profile":[{PROFILE}],"treatments":[{switch},
               {{"eventType":"Temp Basal","created_at":"2021-01-30T00:30:00Z","rate":50,"duration":10}},
               {{"eventType":"Temp Basal","created_at":"2021-01-30T01:00:00Z","rate":50,"duration":10}}]}}"#
        ));
        assert!(read.rejected.is_empty(), "{:?}", read.rejected);
        let rates: Vec<u32> = basal(&read)
            .into_iter()
            .filter(|b| b.3 == BasalKind::Temporary)
            .map(|b| b.1)
            .collect();
        // 50 % of 0.8 × 150 % inside the switch; 50 % of 0.8 once it ended.
        assert_eq!(rates, vec![600, 400]);
        assert_eq!(
            read.skipped
                .get("profile switches (their basal schedule is used for basal rates)"),
            Some(&1)
        );
    }

    #[test]
    fn percent_temp_basals_without_a_profile_are_refused_saying_what_is_missing() {
        let read = read(
            r#"[{"eventType":"Temp Basal","created_at":"2021-01-30T01:00:00+00:00","rate":40,"duration":30},
                {"eventType":"Meal Bolus","created_at":"2021-01-30T01:00:00Z","insulin":2}]"#,
        );
        assert_eq!(read.rejected.len(), 1);
        assert_eq!(read.rejected[0].item.as_deref(), Some("[0]"));
        assert!(
            read.rejected[0].reason.contains("profile"),
            "{:?}",
            read.rejected
        );
        assert!(basal(&read).is_empty(), "nothing half-accepted");
    }

    #[test]
    fn unitless_bg_checks_are_read_from_the_upload_as_a_whole() {
        let mmol = read(
            r#"[{"eventType":"BG Check","created_at":"2021-01-30T01:00:00Z","glucose":5.4},
                {"eventType":"BG Check","created_at":"2021-01-30T02:00:00Z","glucose":22.0}]"#,
        );
        let values: Vec<u16> = mmol
            .events
            .iter()
            .filter_map(|e| match e.body {
                Body::Smbg {
                    glucose_tenths_mg_dl,
                } => Some(glucose_tenths_mg_dl),
                _ => None,
            })
            .collect();
        assert_eq!(values, vec![973, 3964]);
        assert!(mmol.notes[0].contains("mmol/L"), "{:?}", mmol.notes);
        let mg = read(
            r#"[{"eventType":"BG Check","created_at":"2021-01-30T01:00:00Z","glucose":98},
                {"eventType":"BG Check","created_at":"2021-01-30T02:00:00Z","glucose":25}]"#,
        );
        assert!(mg.notes[0].contains("mg/dL"), "{:?}", mg.notes);
        assert_eq!(mg.events.len(), 2);
    }

    #[test]
    fn items_without_values_are_counted_by_reason_and_xdrip_offsets_read() {
        let read = read(
            r#"{"entries":[{"_id":{"$oid":"5f1"},"type":"sgv","sgv":120,"dateString":"2021-01-30T01:00:00.000+0100"},
                          {"type":"cal","date":1611968400000,"slope":1000}],
                "treatments":[{"eventType":"Site Change","created_at":"2021-01-30T01:00:00Z"},
                              {"eventType":"Note","created_at":"2021-01-30T01:00:00Z","notes":"x"},
                              {"eventType":"Note","created_at":"2021-01-30T02:00:00Z"},
                              {"created_at":"2021-01-30T02:00:00Z"}]}"#,
        );
        assert_eq!(read.events.len(), 1);
        assert_eq!(read.events[0].at.as_second(), 1_611_964_800);
        assert_eq!(
            read.skipped
                .get("\"Note\" treatments (no glucose, insulin or carbs)"),
            Some(&2)
        );
        assert_eq!(read.skipped.get("sensor calibration records"), Some(&1));
        assert_eq!(read.rejected.len(), 1, "{:?}", read.rejected);
        assert_eq!(read.rejected[0].item.as_deref(), Some("treatments[3]"));
        assert_eq!(
            read.skipped.values().sum::<usize>() + read.events.len() + read.rejected.len(),
            6,
            "every item is accounted for"
        );
    }
}
