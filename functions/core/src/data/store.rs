//! Device data in the store: one compact item per person, UTC day and kind; merging is idempotent
//! (events are keyed by device, kind and instant), and two uploads touching the same day at once lose
//! nothing (each item carries a version and every write is conditional on the version it read).

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::codec;
use super::event::{Event, Kind};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::store::{Condition, Item, Key, MAX_BATCH_GET_KEYS, Query, StoreError, Value, query_all};

const DATA: &str = "d";
/// Which upload brought each event (`codec::encode_sources`); absent on items stored before.
const SOURCES: &str = "u";
const COUNT: &str = "n";
const VERSION: &str = "version";
/// A new ULID on every write of a day item: its content's name, never reused (a version restarts at 1
/// when an item is deleted and written again; a revision does not).
const REVISION: &str = "r";
/// Largest encoded day item written (DynamoDB's item limit is 400 KB, names and keys included): a day of
/// 5-minute CGM takes ~1.4 KB, so only absurdly dense data comes near it.
pub const MAX_DAY_BYTES: usize = 350_000;
/// Most devices in one day item.
pub const MAX_DAY_DEVICES: usize = 100;
/// Conditional writes retry this often when another upload wrote the same day in between.
const RETRIES: usize = 8;

/// The UTC day an instant falls on.
pub fn utc_day(at: Timestamp) -> Date {
    TimeZone::UTC.to_datetime(at).date()
}

fn day_start(day: Date) -> Result<Timestamp, CoreError> {
    TimeZone::UTC
        .to_ambiguous_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
        .compatible()
        .map_err(|e| CoreError::Internal(e.to_string()))
}

fn corrupt(error: impl std::fmt::Display) -> CoreError {
    CoreError::Store(StoreError::Corrupt(error.to_string()))
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// Events stored for the first time.
    pub accepted: usize,
    /// Events already stored with the same value (or repeated within the upload), not stored again.
    pub duplicates: usize,
    /// `(incoming, stored)`: events whose device, kind and instant are stored with another value. The
    /// stored value stays (docs/UPLOADS.md).
    pub conflicts: Vec<(Event, Event)>,
}

/// Stores events for a person, skipping any already stored (same device, kind and instant); each new
/// event remembers `source`, the upload that brought it (an event stored before keeps its own).
pub async fn merge(
    ctx: &Ctx,
    person: PersonId,
    events: Vec<Event>,
    source: Option<ulid::Ulid>,
) -> Result<Merged, CoreError> {
    let mut merged = Merged::default();
    let mut groups: BTreeMap<(Date, Kind), Vec<Event>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for event in events {
        let identity = (
            event.device.clone(),
            event.body.kind(),
            event.at.as_second(),
        );
        if !seen.insert(identity) {
            merged.duplicates += 1;
            continue;
        }
        groups
            .entry((utc_day(event.at), event.body.kind()))
            .or_default()
            .push(event);
    }
    let keys: Vec<((Date, Kind), Key)> = groups
        .keys()
        .map(|(day, kind)| ((*day, *kind), keys::data_day(person, *day, kind.as_str())))
        .collect();
    // Read what is stored in batches, then write each day; re-read only a day that raced.
    let mut stored: BTreeMap<Key, Item> = BTreeMap::new();
    for chunk in keys.chunks(MAX_BATCH_GET_KEYS) {
        let wanted: Vec<Key> = chunk.iter().map(|(_, key)| key.clone()).collect();
        for item in ctx.store.batch_get(&wanted).await? {
            stored.insert(item.key.clone(), item);
        }
    }
    // Every day must fit before the first write: a file too dense to store is refused whole, never
    // stored in part.
    for ((day, kind), key) in &keys {
        check_day_fits(*day, *kind, stored.get(key), &groups[&(*day, *kind)])?;
    }
    for ((day, kind), key) in keys {
        let incoming = groups.remove(&(day, kind)).unwrap_or_default();
        let mut current = stored.remove(&key);
        let mut attempt = 0;
        loop {
            let outcome =
                write_day(ctx, &key, day, kind, current.as_ref(), &incoming, source).await?;
            match outcome {
                Some(done) => {
                    merged.accepted += done.accepted;
                    merged.duplicates += done.duplicates;
                    merged.conflicts.extend(done.conflicts);
                    break;
                }
                None if attempt < RETRIES => {
                    attempt += 1;
                    current = ctx.store.get(&key).await?;
                }
                None => {
                    return Err(CoreError::Conflict {
                        code: "try_again",
                        message: "Another upload is writing the same days. Try again in a moment."
                            .into(),
                    });
                }
            }
        }
    }
    Ok(merged)
}

/// Refuses a day whose stored and incoming events together would not fit one item.
fn check_day_fits(
    day: Date,
    kind: Kind,
    current: Option<&Item>,
    incoming: &[Event],
) -> Result<(), CoreError> {
    let start = day_start(day)?;
    let mut events = match current.and_then(|item| item.b(DATA)) {
        Some(bytes) => codec::decode(kind, start, bytes).map_err(corrupt)?,
        None => Vec::new(),
    };
    events.extend(incoming.iter().cloned());
    let devices: HashSet<&str> = events.iter().map(|e| &*e.device).collect();
    if devices.len() > MAX_DAY_DEVICES {
        return Err(CoreError::invalid(
            "file",
            "too_many_devices",
            format!(
                "{day} would hold {} devices' {} data; at most {MAX_DAY_DEVICES} devices a day are kept. Nothing was stored.",
                devices.len(),
                kind.as_str()
            ),
        ));
    }
    // The events, and beside them which upload brought each: what is stored, plus this upload's id
    // and at most three bytes for each new event's index.
    let sources = current
        .and_then(|item| item.b(SOURCES))
        .map_or(0, <[u8]>::len);
    let size = codec::encode(kind, start, &events).len() + sources + incoming.len() * 3 + 16;
    if size > MAX_DAY_BYTES {
        return Err(CoreError::invalid(
            "file",
            "too_dense",
            format!(
                "The {} data of {day} is too dense to store ({} events); no device records that often. Nothing was stored.",
                kind.as_str(),
                events.len()
            ),
        ));
    }
    Ok(())
}

/// The events of a day item and the upload each came in (`None`: not recorded).
fn decode_day(
    key: &Key,
    day: Date,
    kind: Kind,
    item: &Item,
) -> Result<Vec<(Event, Option<ulid::Ulid>)>, CoreError> {
    let bytes = item
        .b(DATA)
        .ok_or_else(|| corrupt(format!("{} lacks data", key.sk)))?;
    let events = codec::decode(kind, day_start(day)?, bytes).map_err(corrupt)?;
    let sources = match item.b(SOURCES) {
        Some(bytes) => codec::decode_sources(bytes, events.len()).map_err(corrupt)?,
        None => vec![None; events.len()],
    };
    Ok(events.into_iter().zip(sources).collect())
}

/// Writes one day's union; `None` when another writer got there first.
async fn write_day(
    ctx: &Ctx,
    key: &Key,
    day: Date,
    kind: Kind,
    current: Option<&Item>,
    incoming: &[Event],
    source: Option<ulid::Ulid>,
) -> Result<Option<Merged>, CoreError> {
    let start = day_start(day)?;
    let (mut events, version) = match current {
        Some(item) => (
            decode_day(key, day, kind, item)?,
            item.n(VERSION).unwrap_or(0),
        ),
        None => (Vec::new(), 0),
    };
    let known: HashMap<(&str, i64), &Event> = events
        .iter()
        .map(|(e, _)| ((&*e.device, e.at.as_second()), e))
        .collect();
    let mut fresh: Vec<Event> = Vec::new();
    let mut outcome = Merged::default();
    for event in incoming {
        match known.get(&(&*event.device, event.at.as_second())) {
            None => fresh.push(event.clone()),
            Some(stored) if stored.body == event.body => outcome.duplicates += 1,
            Some(stored) => outcome.conflicts.push((event.clone(), (*stored).clone())),
        }
    }
    outcome.accepted = fresh.len();
    if fresh.is_empty() {
        return Ok(Some(outcome));
    }
    events.extend(fresh.into_iter().map(|event| (event, source)));
    // The item's order (codec::encode sorts by instant and device), so the sources line up.
    events.sort_by(|(a, _), (b, _)| (a.at, &a.device).cmp(&(b.at, &b.device)));
    let (events, sources): (Vec<Event>, Vec<Option<ulid::Ulid>>) = events.into_iter().unzip();
    let item = Item::new(key.clone())
        .with(DATA, Value::B(codec::encode(kind, start, &events)))
        .with(SOURCES, Value::B(codec::encode_sources(&sources)))
        .with_n(COUNT, events.len() as i64)
        .with_n(VERSION, version + 1)
        .with(REVISION, Value::S(ulid::Ulid::new().to_string()));
    let condition = match current {
        Some(_) => Condition::Equals(VERSION.into(), Value::N(version)),
        None => Condition::NotExists,
    };
    match ctx.store.put(item, condition).await {
        Ok(()) => Ok(Some(outcome)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The day items of a person on UTC days `from..=to`, each with its day and kind: one query (a few
/// pages at most).
async fn day_items(
    ctx: &Ctx,
    person: PersonId,
    from: Date,
    to: Date,
    attributes: Option<&[&str]>,
) -> Result<Vec<(Item, Date, Kind)>, CoreError> {
    let mut query = Query::prefix(keys::person_pk(person), keys::DATA_PREFIX).between(
        format!("{}{from}", keys::DATA_PREFIX),
        format!("{}{to}#~", keys::DATA_PREFIX),
    );
    if let Some(attributes) = attributes {
        query = query.only(attributes);
    }
    query.limit = 1000;
    query_all(ctx.store.as_ref(), query)
        .await?
        .into_iter()
        .map(|item| {
            let rest = item.key.sk.trim_start_matches(keys::DATA_PREFIX);
            let (day, kind) = rest.split_once('#').ok_or_else(|| corrupt(&item.key.sk))?;
            let day: Date = day.parse().map_err(corrupt)?;
            let kind = Kind::parse(kind).ok_or_else(|| corrupt(&item.key.sk))?;
            Ok((item, day, kind))
        })
        .collect()
}

/// Events of several day items in time order: by instant, kind and device. Each item holds one kind
/// of one UTC day sorted by instant and device, and the items come day by day (their sort keys), so
/// only the few items of one day need interleaving: a stable sort of that day by instant and kind keeps
/// the device order of events at the same instant (they come from one item), without comparing names.
struct TimeOrder<T> {
    events: Vec<T>,
    day: Option<Date>,
    day_starts_at: usize,
}

impl<T> TimeOrder<T> {
    fn new() -> Self {
        TimeOrder {
            events: Vec::new(),
            day: None,
            day_starts_at: 0,
        }
    }

    fn sort_day(&mut self, event: impl Fn(&T) -> &Event) {
        self.events[self.day_starts_at..].sort_by_key(|e| (event(e).at, event(e).body.kind()));
    }

    /// Adds the events of the next item, of `day` (never before the previous item's day).
    fn add(&mut self, day: Date, events: Vec<T>, event: impl Fn(&T) -> &Event) {
        if self.day != Some(day) {
            self.sort_day(&event);
            self.day = Some(day);
            self.day_starts_at = self.events.len();
        }
        self.events.extend(events);
    }

    fn finish(mut self, event: impl Fn(&T) -> &Event) -> Vec<T> {
        self.sort_day(event);
        self.events
    }
}

/// The day items of a person on UTC days `from..=to`, read but not decoded, and what names their
/// content: the items' keys and revisions, `None` when an item was written before items had revisions.
pub struct DayItems {
    items: Vec<(Item, Date, Kind)>,
    pub content: Option<String>,
}

impl DayItems {
    /// Every event of the items, in time order.
    pub fn events(&self) -> Result<Vec<Event>, CoreError> {
        let (mut events, mut names) = (TimeOrder::new(), codec::DeviceNames::default());
        for (item, day, kind) in &self.items {
            let bytes = item.b(DATA).ok_or_else(|| corrupt(&item.key.sk))?;
            let decoded = codec::decode_with_names(*kind, day_start(*day)?, bytes, &mut names)
                .map_err(corrupt)?;
            events.add(*day, decoded, |e| e);
        }
        Ok(events.finish(|e| e))
    }
}

/// Reads the day items of a person on UTC days `from..=to` (one query), to decode or to recognise.
pub async fn read_items(
    ctx: &Ctx,
    person: PersonId,
    from: Date,
    to: Date,
) -> Result<DayItems, CoreError> {
    let items = day_items(ctx, person, from, to, Some(&[DATA, REVISION])).await?;
    let content = content_of(&items);
    Ok(DayItems { items, content })
}

/// What names the content of a person's day items on UTC days `from..=to` (as [`DayItems::content`]),
/// reading only their keys and revisions: a fraction of a full read, for recognising a remembered report.
pub async fn read_content(
    ctx: &Ctx,
    person: PersonId,
    from: Date,
    to: Date,
) -> Result<Option<String>, CoreError> {
    Ok(content_of(
        &day_items(ctx, person, from, to, Some(&[REVISION])).await?,
    ))
}

/// The items' keys and revisions in order, `None` when one has no revision.
fn content_of(items: &[(Item, Date, Kind)]) -> Option<String> {
    let mut content = String::with_capacity(items.len() * 40);
    for (item, _, _) in items {
        content.push_str(&item.key.sk);
        content.push('=');
        content.push_str(item.s(REVISION)?);
        content.push(';');
    }
    Some(content)
}

/// Every stored event of a person on UTC days `from..=to`, in time order.
pub async fn read(
    ctx: &Ctx,
    person: PersonId,
    from: Date,
    to: Date,
) -> Result<Vec<Event>, CoreError> {
    read_items(ctx, person, from, to).await?.events()
}

/// Every stored event of one kind of a person on UTC days `from..=to` (a batch read per 100 days).
pub async fn read_kind(
    ctx: &Ctx,
    person: PersonId,
    from: Date,
    to: Date,
    kind: Kind,
) -> Result<Vec<Event>, CoreError> {
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        days.push(day);
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    let mut events = Vec::new();
    for chunk in days.chunks(MAX_BATCH_GET_KEYS) {
        let keys: Vec<Key> = chunk
            .iter()
            .map(|day| keys::data_day(person, *day, kind.as_str()))
            .collect();
        for item in ctx.store.batch_get(&keys).await? {
            let rest = item.key.sk.trim_start_matches(keys::DATA_PREFIX);
            let day: Date = rest
                .split_once('#')
                .map(|(day, _)| day)
                .unwrap_or(rest)
                .parse()
                .map_err(corrupt)?;
            let bytes = item.b(DATA).ok_or_else(|| corrupt(&item.key.sk))?;
            events.extend(codec::decode(kind, day_start(day)?, bytes).map_err(corrupt)?);
        }
    }
    events.sort_by(|a, b| (a.at, &a.device).cmp(&(b.at, &b.device)));
    Ok(events)
}

/// Every stored event of a person on UTC days `from..=to` with the upload it came in (`None` for
/// events stored before glucolink kept provenance), in time order.
pub async fn read_with_sources(
    ctx: &Ctx,
    person: PersonId,
    from: Date,
    to: Date,
) -> Result<Vec<(Event, Option<ulid::Ulid>)>, CoreError> {
    let mut events = TimeOrder::new();
    for (item, day, kind) in day_items(ctx, person, from, to, None).await? {
        events.add(day, decode_day(&item.key, day, kind, &item)?, |(e, _)| e);
    }
    Ok(events.finish(|(e, _)| e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::event::Body;

    fn event(second: i64, device: &str, body: Body) -> Event {
        Event {
            at: Timestamp::from_second(second).expect("instant"),
            utc_offset_minutes: 0,
            device: device.into(),
            body,
        }
    }

    #[test]
    fn events_of_a_days_items_interleave_by_instant_kind_and_device() {
        let cgm = |s, d| {
            event(
                s,
                d,
                Body::Cgm {
                    glucose_tenths_mg_dl: 1000,
                },
            )
        };
        let carbs = |s, d| event(s, d, Body::Carbs { tenths_grams: 100 });
        let (first, second) = (
            "2026-11-01".parse().expect("day"),
            "2026-11-02".parse().expect("day"),
        );
        let mut order = TimeOrder::new();
        // Items as the store returns them: by day, then kind; each sorted by instant and device.
        order.add(first, vec![carbs(60, "b"), carbs(300, "a")], |e| e);
        order.add(
            first,
            vec![cgm(0, "a"), cgm(60, "a"), cgm(60, "b"), cgm(400, "a")],
            |e| e,
        );
        order.add(second, vec![carbs(86_400, "a")], |e| e);
        order.add(second, vec![cgm(86_400, "z")], |e| e);
        let events = order.finish(|e| e);
        let got: Vec<(i64, Kind, &str)> = events
            .iter()
            .map(|e| (e.at.as_second(), e.body.kind(), &*e.device))
            .collect();
        let mut expected = got.clone();
        expected.sort();
        assert_eq!(got, expected);
        assert_eq!(got.len(), 8);
    }
}
