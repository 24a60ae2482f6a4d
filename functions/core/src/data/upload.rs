//! Taking in one upload: merge its events, record the upload, move the person's "last upload" and
//! "newest reading" times, and write the audit event. A file that yields no event at all stores nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use serde::Serialize;
use ulid::Ulid;

use super::completeness::Completeness;
use super::event::{Event, Kind};
use super::import::Parsed;
use super::store::{Merged, merge};
use crate::account::clinic::millis;
use crate::account::personal::Person;
use crate::audit::{self, NewEvent};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::store::{Condition, Item, Query, StoreError, Value, query_all};

/// A row the importer could not use, and why (rows count from 1, header rows included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub row: usize,
    /// In JSON uploads, which item of which array (`treatments[2]`), since JSON has no lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub reason: String,
}

impl Rejected {
    /// A rejected CSV row (counted from 1) or JSON item (its ordinal).
    pub fn at(row: usize, reason: impl Into<String>) -> Self {
        Self {
            row,
            item: None,
            reason: reason.into(),
        }
    }

    /// Names the JSON item, for files without lines.
    pub fn item(mut self, name: impl Into<String>) -> Self {
        self.item = Some(name.into());
        self
    }
}

/// Rows that hold nothing glucolink keeps, counted by reason (a note, a site change, a calibration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub reason: String,
    pub count: usize,
}

/// Two different values for one device, kind and instant: the one kept and the other (docs/UPLOADS.md:
/// the value stored first wins; within one file, the row that comes first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The row of the value not kept, when the upload has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    pub time: Timestamp,
    pub device: String,
    pub kind: &'static str,
    pub kept: String,
    pub not_kept: String,
    /// `file` when both values are in this upload, `stored` when the kept one was stored before.
    pub kept_from: &'static str,
}

/// How the file's rows were used: `total` = `with_events` + `conflicting` + `rejected` + `skipped` +
/// `without_data` (headers, preambles, blank or metadata rows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub total: usize,
    pub with_events: usize,
    pub conflicting: usize,
    pub rejected: usize,
    pub skipped: usize,
    pub without_data: usize,
}

/// A device the upload holds data from, what kinds and over which period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSeen {
    pub device: String,
    pub kinds: Vec<&'static str>,
    pub events: usize,
    pub first_event_at: Timestamp,
    pub last_event_at: Timestamp,
}

/// What the upload API answers.
#[derive(Debug, Clone, Serialize)]
pub struct UploadSummary {
    pub upload_id: String,
    pub format: &'static str,
    pub accepted: usize,
    pub duplicates: usize,
    /// Values that differ from one already stored or earlier in the file for the same device, kind and
    /// instant (at most the first 100; `conflict_count` has them all).
    pub conflicts: Vec<Conflict>,
    pub conflict_count: usize,
    /// At most the first 100 rejected rows; `rejected_count` has them all.
    pub rejected: Vec<Rejected>,
    pub rejected_count: usize,
    /// Rows read but not kept because they hold nothing glucolink stores, by reason.
    pub skipped: Vec<Skipped>,
    /// How something in the file was read that the person should know.
    pub notes: Vec<String>,
    pub rows: RowCounts,
    /// The devices detected in the file and the period each covers.
    pub devices: Vec<DeviceSeen>,
    /// Readings expected vs present, gaps over 2 hours, days without insulin, duplicates, conflicts.
    pub completeness: Completeness,
    pub first_event_at: Option<Timestamp>,
    pub last_event_at: Option<Timestamp>,
}

/// When a person's data last arrived, for the clinic's freshness columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataTimes {
    pub last_upload_at: Option<Timestamp>,
    pub last_reading_at: Option<Timestamp>,
}

pub(crate) fn data_times_of(item: &Item) -> Result<DataTimes, CoreError> {
    Ok(DataTimes {
        last_upload_at: item.n("last_upload_at").map(millis).transpose()?,
        last_reading_at: item.n("last_reading_at").map(millis).transpose()?,
    })
}

/// Stores an upload's events for the person and answers what happened.
pub async fn ingest(
    ctx: &Ctx,
    person: &Person,
    parsed: Parsed,
    content_sha256: &str,
) -> Result<UploadSummary, CoreError> {
    if parsed.events.is_empty() {
        let reasons: Vec<String> = parsed
            .rejected
            .iter()
            .take(3)
            .map(|r| format!("row {}: {}", r.row, r.reason))
            .collect();
        return Err(CoreError::invalid(
            "file",
            "no_events",
            if reasons.is_empty() {
                format!(
                    "The {} file holds no readings or pump events.",
                    parsed.format.label()
                )
            } else {
                format!(
                    "No row of the {} file could be used ({}).",
                    parsed.format.label(),
                    reasons.join("; ")
                )
            },
        ));
    }
    let newest_reading = parsed
        .events
        .iter()
        .filter(|e| matches!(e.body.kind(), Kind::Cgm | Kind::Smbg))
        .map(|e| e.at)
        .max();
    let first = parsed.events.iter().map(|e| e.at).min();
    let last = parsed.events.iter().map(|e| e.at).max();
    let event_count = parsed.events.len();
    let devices = devices_seen(&parsed.events);
    // Where each event came from, to name the row of a value that disagrees with what is stored.
    let rows: HashMap<(String, Kind, i64), usize> = parsed
        .events
        .iter()
        .zip(&parsed.rows)
        .filter(|(_, row)| **row > 0)
        .map(|(e, row)| ((e.device.clone(), e.body.kind(), e.at.as_second()), *row))
        .collect();
    let Merged {
        accepted,
        duplicates,
        conflicts: stored_conflicts,
    } = merge(ctx, person.id, parsed.events).await?;
    let mut conflicts = parsed.conflicts;
    conflicts.extend(stored_conflicts.into_iter().map(|(incoming, stored)| {
        Conflict {
            row: rows
                .get(&(
                    incoming.device.clone(),
                    incoming.body.kind(),
                    incoming.at.as_second(),
                ))
                .copied(),
            time: incoming.at,
            device: incoming.device,
            kind: incoming.body.kind().as_str(),
            kept: stored.body.describe(),
            not_kept: incoming.body.describe(),
            kept_from: "stored",
        }
    }));
    let conflict_count = conflicts.len();
    conflicts.truncate(100);
    let mut completeness = parsed.completeness;
    completeness.duplicates = Some(duplicates);
    completeness.conflicts = Some(conflict_count);
    let now = ctx.clock.now();
    let upload_id = Ulid::new();
    let rejected_count = parsed.rejected.len();
    ctx.store
        .put(
            Item::new(keys::upload(person.id, upload_id))
                .with_s("format", parsed.format.as_str())
                .with_n("at", now.as_millisecond())
                .with_n("events", event_count as i64)
                .with_n("accepted", accepted as i64)
                .with_n("duplicates", duplicates as i64)
                .with_n("conflicts", conflict_count as i64)
                .with_n("first_event_at", first.map_or(0, |t| t.as_millisecond()))
                .with_n("last_event_at", last.map_or(0, |t| t.as_millisecond()))
                .with_n("rejected", rejected_count as i64)
                .with_s("sha256", content_sha256),
            Condition::NotExists,
        )
        .await?;
    record_times(ctx, person.id, now, newest_reading).await?;
    audit::record(
        ctx,
        NewEvent {
            actor: person.actor(),
            action: "data_uploaded",
            clinic: None,
            patient_id: None,
            person_id: Some(person.id),
            detail: format!(
                "Uploaded a {} file: {accepted} new events, {duplicates} already stored, {conflict_count} conflicting values not stored, {rejected_count} rows not used.",
                parsed.format.label()
            ),
        },
    )
    .await?;
    let mut rejected = parsed.rejected;
    rejected.truncate(100);
    Ok(UploadSummary {
        upload_id: upload_id.to_string(),
        format: parsed.format.as_str(),
        accepted,
        duplicates,
        conflicts,
        conflict_count,
        rejected,
        rejected_count,
        skipped: parsed.skipped,
        notes: parsed.notes,
        rows: parsed.row_counts,
        devices,
        completeness,
        first_event_at: first,
        last_event_at: last,
    })
}

/// Duplicates removed and conflicting values not stored by the uploads whose data overlaps
/// `[from, to)`, for a report's data completeness. Uploads from before these were recorded count as
/// neither.
pub async fn tallies_between(
    ctx: &Ctx,
    person: PersonId,
    from: Timestamp,
    to: Timestamp,
) -> Result<(usize, usize), CoreError> {
    let items = query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::person_pk(person), keys::UPLOAD_PREFIX),
    )
    .await?;
    let (from, to) = (from.as_millisecond(), to.as_millisecond());
    let mut tally = (0, 0);
    for item in items {
        let (Some(first), Some(last)) = (item.n("first_event_at"), item.n("last_event_at")) else {
            continue;
        };
        if first < to && last >= from {
            tally.0 += usize::try_from(item.n("duplicates").unwrap_or(0)).unwrap_or(0);
            tally.1 += usize::try_from(item.n("conflicts").unwrap_or(0)).unwrap_or(0);
        }
    }
    Ok(tally)
}

/// The devices of an upload, each with its kinds of data and the period it covers.
fn devices_seen(events: &[Event]) -> Vec<DeviceSeen> {
    let mut seen: BTreeMap<&str, (BTreeSet<Kind>, usize, Timestamp, Timestamp)> = BTreeMap::new();
    for event in events {
        let entry =
            seen.entry(event.device.as_str())
                .or_insert((BTreeSet::new(), 0, event.at, event.at));
        entry.0.insert(event.body.kind());
        entry.1 += 1;
        entry.2 = entry.2.min(event.at);
        entry.3 = entry.3.max(event.at);
    }
    seen.into_iter()
        .map(|(device, (kinds, events, first, last))| DeviceSeen {
            device: device.to_owned(),
            kinds: kinds.into_iter().map(|k| k.as_str()).collect(),
            events,
            first_event_at: first,
            last_event_at: last,
        })
        .collect()
}

/// Moves `last_upload_at` to now and `last_reading_at` forward (never back), under a version check.
async fn record_times(
    ctx: &Ctx,
    person: PersonId,
    now: Timestamp,
    newest: Option<Timestamp>,
) -> Result<(), CoreError> {
    for _ in 0..8 {
        let current = ctx.store.get(&keys::data_info(person)).await?;
        let (times, version) = match &current {
            Some(item) => (data_times_of(item)?, item.n("version").unwrap_or(0)),
            None => (DataTimes::default(), 0),
        };
        let reading = match (times.last_reading_at, newest) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut item = Item::new(keys::data_info(person))
            .with_n("last_upload_at", now.as_millisecond())
            .with_n("version", version + 1);
        if let Some(reading) = reading {
            item = item.with_n("last_reading_at", reading.as_millisecond());
        }
        let condition = match current {
            Some(_) => Condition::Equals("version".into(), Value::N(version)),
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
