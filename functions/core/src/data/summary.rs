//! Each person's glucose summary: one item holding the CGM day tallies (`report::tally`) of their
//! recent local days, in their time zone, kept up to date as uploads land. The clinic's triage list
//! reads these items only (a batch read per page), never the readings.
//!
//! - **Up to date**: an upload refreshes the local days it touched after its data are stored, reading
//!   those days back from the store; the write is conditional on the summary's version, and a writer
//!   that lost the race reads the data again, so the last write always saw every upload before it
//!   (idempotent: the same data give the same summary).
//! - **Kept**: the last [`KEPT_DAYS`] local days (a 30-day period and the 30 days before it).
//! - **Rebuilt** when the rules change ([`RULES`] is stored with it) or the person changes their time
//!   zone; until then a reader computes a stale or missing summary from the readings instead
//!   ([`read_many`]), so no screen ever shows a number of an older rule.

use std::collections::{BTreeMap, HashMap};

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::event::{Body, Event, Kind};
use crate::account::personal::{self, Person};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::report::tally::{BANDS, DayTally, DeviceDay, Gaps};
use crate::store::{Condition, Item, Key, MAX_BATCH_GET_KEYS, StoreError, Value};

/// The version of the summary's rules; a summary written under another is not used.
pub const RULES: i64 = 1;
/// Local days kept: today and the 61 before it (two 30-day periods and a day's margin).
pub const KEPT_DAYS: i64 = 62;
const TALLIES: &str = "t";
const ZONE: &str = "zone";
const RULES_FIELD: &str = "rules";
const VERSION: &str = "version";
/// Conditional writes retry this often when another upload wrote the summary in between.
const RETRIES: usize = 16;

/// A person's recent day tallies, in their time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The IANA name of the zone its days are local to.
    pub zone: String,
    /// Day tallies in date order; days without readings are absent.
    pub days: Vec<DayTally>,
}

impl Summary {
    pub fn time_zone(&self) -> TimeZone {
        TimeZone::get(&self.zone).unwrap_or(TimeZone::UTC)
    }

    /// The tallies of the local days `from..=to`.
    pub fn between(&self, from: Date, to: Date) -> &[DayTally] {
        let start = self.days.partition_point(|d| d.date < from);
        let end = self.days.partition_point(|d| d.date <= to);
        &self.days[start..end.max(start)]
    }
}

fn corrupt(error: impl std::fmt::Display) -> CoreError {
    CoreError::Store(StoreError::Corrupt(format!("summary: {error}")))
}

fn zone_name(person: &Person) -> String {
    personal::upload_zone(person)
        .iana_name()
        .unwrap_or("UTC")
        .to_owned()
}

/// The first local day a summary keeps, today being `today`.
fn first_kept(today: Date) -> Date {
    today.checked_sub((KEPT_DAYS - 1).days()).unwrap_or(today)
}

/// Brings the person's summary up to date for the local days holding the instants `first..=last`
/// (an upload's span), reading those days back from the store. Days older than the summary keeps are
/// left out; a summary of older rules or another zone is rebuilt whole.
pub async fn refresh(
    ctx: &Ctx,
    person: &Person,
    first: jiff::Timestamp,
    last: jiff::Timestamp,
) -> Result<(), CoreError> {
    update(ctx, person, Some((first, last))).await
}

/// Rebuilds the person's summary whole from their readings (after a change of their time zone).
pub async fn rebuild(ctx: &Ctx, person: &Person) -> Result<(), CoreError> {
    update(ctx, person, None).await
}

/// [`refresh`] of the span, or of every kept day when `span` is `None`.
async fn update(
    ctx: &Ctx,
    person: &Person,
    span: Option<(jiff::Timestamp, jiff::Timestamp)>,
) -> Result<(), CoreError> {
    let zone = zone_name(person);
    let tz = personal::upload_zone(person);
    let today = tz.to_datetime(ctx.clock.now()).date();
    let kept_from = first_kept(today);
    let span = span.map(|(first, last)| {
        (
            tz.to_datetime(first).date().max(kept_from),
            tz.to_datetime(last).date().min(today),
        )
    });
    for _ in 0..RETRIES {
        let current = ctx.store.get(&keys::data_summary(person.id)).await?;
        let (mut summary, version) = match &current {
            Some(item) if item.n(RULES_FIELD) == Some(RULES) && item.s(ZONE) == Some(&zone) => (
                Summary {
                    zone: zone.clone(),
                    days: decode_item(item)?,
                },
                item.n(VERSION).unwrap_or(0),
            ),
            Some(item) => (
                Summary {
                    zone: zone.clone(),
                    days: Vec::new(),
                },
                item.n(VERSION).unwrap_or(0),
            ),
            None => (
                Summary {
                    zone: zone.clone(),
                    days: Vec::new(),
                },
                0,
            ),
        };
        // A new summary, one of older rules or another zone, or a rebuild: every kept day.
        let current_rules = current
            .as_ref()
            .is_some_and(|item| item.n(RULES_FIELD) == Some(RULES) && item.s(ZONE) == Some(&zone));
        let (from, to) = match span {
            Some(span) if current_rules => span,
            _ => (kept_from, today),
        };
        if from <= to {
            let fresh = tallies(ctx, person.id, &tz, from, to).await?;
            summary
                .days
                .retain(|d| d.date >= kept_from && (d.date < from || d.date > to));
            summary.days.extend(fresh);
            summary.days.sort_by_key(|d| d.date);
        } else {
            summary.days.retain(|d| d.date >= kept_from);
        }
        let item = Item::new(keys::data_summary(person.id))
            .with(TALLIES, Value::B(encode(&summary.days)))
            .with_s(ZONE, zone.clone())
            .with_n(RULES_FIELD, RULES)
            .with_n(VERSION, version + 1);
        let condition = match current {
            Some(_) => Condition::Equals(VERSION.into(), Value::N(version)),
            None => Condition::NotExists,
        };
        match ctx.store.put(item, condition).await {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(CoreError::Conflict {
        code: "try_again",
        message: "Another upload is updating your data. Try again in a moment.".into(),
    })
}

/// The summaries of these people, by person: read in batches; a missing summary of someone with data,
/// or one written under older rules, is computed from their readings instead (not stored: reading
/// must not write). People without any CGM data have an empty summary.
pub async fn read_many(
    ctx: &Ctx,
    people: &[PersonId],
) -> Result<HashMap<PersonId, Summary>, CoreError> {
    let mut unique = people.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut found = HashMap::new();
    for chunk in unique.chunks(MAX_BATCH_GET_KEYS) {
        let keys: Vec<Key> = chunk.iter().map(|p| keys::data_summary(*p)).collect();
        for item in ctx.store.batch_get(&keys).await? {
            let Some(person) = keys::person_of(&item.key) else {
                continue;
            };
            if item.n(RULES_FIELD) == Some(RULES) {
                found.insert(
                    person,
                    Summary {
                        zone: item.s(ZONE).unwrap_or("UTC").to_owned(),
                        days: decode_item(&item)?,
                    },
                );
            }
        }
    }
    let missing: Vec<PersonId> = unique
        .iter()
        .filter(|p| !found.contains_key(p))
        .copied()
        .collect();
    if !missing.is_empty() {
        let times = crate::patient::data_times(ctx, &missing).await?;
        for person_id in missing {
            let has_data = times
                .get(&person_id)
                .is_some_and(|t| t.last_reading_at.is_some());
            let summary = if has_data {
                let person = personal::get(ctx, person_id).await?;
                computed(ctx, &person).await?
            } else {
                Summary {
                    zone: "UTC".into(),
                    days: Vec::new(),
                }
            };
            found.insert(person_id, summary);
        }
    }
    Ok(found)
}

/// The summary of a person as the rules make it now, from their readings.
pub async fn computed(ctx: &Ctx, person: &Person) -> Result<Summary, CoreError> {
    let tz = personal::upload_zone(person);
    let today = tz.to_datetime(ctx.clock.now()).date();
    Ok(Summary {
        zone: zone_name(person),
        days: tallies(ctx, person.id, &tz, first_kept(today), today).await?,
    })
}

/// The day tallies of the local days `from..=to` in `tz`, from the stored CGM readings.
async fn tallies(
    ctx: &Ctx,
    person: PersonId,
    tz: &TimeZone,
    from: Date,
    to: Date,
) -> Result<Vec<DayTally>, CoreError> {
    // A local day lies within the UTC day before, itself and the one after.
    let read_from = from.checked_sub(1.day()).unwrap_or(from);
    let read_to = to.checked_add(1.day()).unwrap_or(to);
    let events = super::store::read_kind(ctx, person, read_from, read_to, Kind::Cgm).await?;
    Ok(day_tallies(&events, tz, from, to))
}

/// The day tallies of the CGM readings among `events` (in time order) on the local days `from..=to`.
pub fn day_tallies(events: &[Event], tz: &TimeZone, from: Date, to: Date) -> Vec<DayTally> {
    let mut days: BTreeMap<Date, Vec<DeviceDay>> = BTreeMap::new();
    for event in events {
        let Body::Cgm {
            glucose_tenths_mg_dl,
        } = event.body
        else {
            continue;
        };
        let date = tz.to_datetime(event.at).date();
        if date < from || date > to {
            continue;
        }
        let devices = days.entry(date).or_default();
        let index = match devices.iter().position(|d| *d.device == *event.device) {
            Some(index) => index,
            None => {
                devices.push(DeviceDay::new(&event.device));
                devices.len() - 1
            }
        };
        devices[index].add(event.at.as_second(), i64::from(glucose_tenths_mg_dl));
    }
    days.into_iter()
        .map(|(date, devices)| DayTally { date, devices })
        .collect()
}

fn decode_item(item: &Item) -> Result<Vec<DayTally>, CoreError> {
    decode(item.b(TALLIES).ok_or_else(|| corrupt("no tallies"))?)
}

/// Layout (little-endian): per day its days since 1970 (i32) and device count (u8); per device its
/// name (u16 length, UTF-8), seven band counts (u32), the sum of tenths (i64), the sum of squares
/// (u64), three gap counts (u32), the first and last reading's Unix second (i64).
fn encode(days: &[DayTally]) -> Vec<u8> {
    let mut out = Vec::with_capacity(days.len() * 100);
    let epoch = Date::constant(1970, 1, 1);
    for day in days {
        out.extend_from_slice(&(day.date - epoch).get_days().to_le_bytes());
        let devices = &day.devices[..day.devices.len().min(usize::from(u8::MAX))];
        out.push(devices.len() as u8);
        for device in devices {
            let name = device.device.as_bytes();
            let name = &name[..name.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name);
            for count in device.bands {
                out.extend_from_slice(&count.to_le_bytes());
            }
            out.extend_from_slice(&device.sum_tenths.to_le_bytes());
            out.extend_from_slice(&device.sum_squares.to_le_bytes());
            for gap in device.gaps.0 {
                out.extend_from_slice(&gap.to_le_bytes());
            }
            out.extend_from_slice(&device.first_at.to_le_bytes());
            out.extend_from_slice(&device.last_at.to_le_bytes());
        }
    }
    out
}

fn decode(mut bytes: &[u8]) -> Result<Vec<DayTally>, CoreError> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], CoreError> {
        if bytes.len() < n {
            return Err(corrupt("truncated"));
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    fn array<const N: usize>(bytes: &mut &[u8]) -> Result<[u8; N], CoreError> {
        take(bytes, N)?.try_into().map_err(corrupt)
    }
    let epoch = Date::constant(1970, 1, 1);
    let mut days = Vec::new();
    while !bytes.is_empty() {
        let day = i32::from_le_bytes(array(&mut bytes)?);
        let date = epoch.checked_add(i64::from(day).days()).map_err(corrupt)?;
        let [count] = array::<1>(&mut bytes)?;
        let mut devices = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let length = u16::from_le_bytes(array(&mut bytes)?);
            let name = std::str::from_utf8(take(&mut bytes, usize::from(length))?)
                .map_err(corrupt)?
                .to_owned();
            let mut bands = [0u32; BANDS];
            for band in &mut bands {
                *band = u32::from_le_bytes(array(&mut bytes)?);
            }
            let sum_tenths = i64::from_le_bytes(array(&mut bytes)?);
            let sum_squares = u64::from_le_bytes(array(&mut bytes)?);
            let mut gaps = [0u32; 3];
            for gap in &mut gaps {
                *gap = u32::from_le_bytes(array(&mut bytes)?);
            }
            devices.push(DeviceDay {
                device: name,
                bands,
                sum_tenths,
                sum_squares,
                gaps: Gaps(gaps),
                first_at: i64::from_le_bytes(array(&mut bytes)?),
                last_at: i64::from_le_bytes(array(&mut bytes)?),
            });
        }
        days.push(DayTally { date, devices });
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_round_trip_through_their_encoding() {
        let mut device = DeviceDay::new("Dexcom G7 · 4A1");
        device.add(1_790_000_000, 1234);
        device.add(1_790_000_300, 567);
        device.add(1_790_000_600, 2600);
        let days = vec![
            DayTally {
                date: Date::constant(2026, 11, 30),
                devices: vec![device.clone(), DeviceDay::new("other")],
            },
            DayTally {
                date: Date::constant(2026, 12, 1),
                devices: vec![device],
            },
        ];
        assert_eq!(decode(&encode(&days)).expect("decodes"), days);
        assert!(
            decode(&encode(&days)[..10]).is_err(),
            "a cut item is refused"
        );
    }
}
