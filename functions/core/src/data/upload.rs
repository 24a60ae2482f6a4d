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
use super::summary;
use crate::account::clinic::millis;
use crate::account::personal::Person;
use crate::audit::NewEvent;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::store::{Condition, Item, Query, StoreError, Value, WriteOp, query_all};
use crate::words::{counted, grouped};

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
    let cgm_times = parsed
        .events
        .iter()
        .filter(|e| e.body.kind() == Kind::Cgm)
        .map(|e| e.at);
    let cgm_span = cgm_times.clone().min().zip(cgm_times.max());
    let first = parsed.events.iter().map(|e| e.at).min();
    let last = parsed.events.iter().map(|e| e.at).max();
    let event_count = parsed.events.len();
    let devices = devices_seen(&parsed.events);
    // Where each event came from, to name the row of a value that disagrees with what is stored.
    let rows: HashMap<(std::sync::Arc<str>, Kind, i64), usize> = parsed
        .events
        .iter()
        .zip(&parsed.rows)
        .filter(|(_, row)| **row > 0)
        .map(|(e, row)| ((e.device.clone(), e.body.kind(), e.at.as_second()), *row))
        .collect();
    repair_interrupted(ctx, person).await?;
    // The upload is recorded as started before its data are merged and finished after (with its audit
    // event in the same transaction), so a crash in between leaves a trace the next upload repairs:
    // data, freshness, the upload record and the audit log never disagree for long.
    let now = ctx.clock.now();
    let upload_id = Ulid::new();
    let rejected_count = parsed.rejected.len();
    let record = Item::new(keys::upload(person.id, upload_id))
        .with_s("format", parsed.format.as_str())
        .with_n("at", now.as_millisecond())
        .with_n("events", event_count as i64)
        .with_n("first_event_at", first.map_or(0, |t| t.as_millisecond()))
        .with_n("last_event_at", last.map_or(0, |t| t.as_millisecond()))
        .with_n(
            "newest_reading_at",
            newest_reading.map_or(0, |t| t.as_millisecond()),
        )
        .with_n("rejected", rejected_count as i64)
        .with_s("sha256", content_sha256);
    ctx.store
        .put(
            record.clone().with_s("status", "started"),
            Condition::NotExists,
        )
        .await?;
    let merged = match merge(ctx, person.id, parsed.events, Some(upload_id)).await {
        Ok(merged) => merged,
        Err(error @ CoreError::InvalidInput { .. }) => {
            // Refused before anything was written (a day too dense to store): no upload happened.
            ctx.store
                .delete(&keys::upload(person.id, upload_id), Condition::None)
                .await?;
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    // The summary follows the stored data before the upload is recorded as done: if this fails, the
    // upload stays "started" and the next upload repairs it.
    if let Some((first, last)) = cgm_span {
        summary::refresh(ctx, person, first, last).await?;
    }
    let Merged {
        accepted,
        duplicates,
        conflicts: stored_conflicts,
    } = merged;
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
            device: incoming.device.to_string(),
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
    let mut ops = vec![WriteOp::Put {
        item: record
            .with_s("status", "done")
            .with_n("accepted", accepted as i64)
            .with_n("duplicates", duplicates as i64)
            .with_n("conflicts", conflict_count as i64),
        condition: Condition::Exists,
    }];
    ops.extend(
        NewEvent {
            actor: person.actor(),
            action: "data_uploaded",
            clinic: None,
            patient_id: None,
            person_id: Some(person.id),
            detail: format!(
                "Uploaded a {} file: {}, {} already stored, {} not stored, {} not used.",
                parsed.format.label(),
                counted(accepted, "new event", "new events"),
                grouped(duplicates),
                counted(conflict_count, "conflicting value", "conflicting values"),
                counted(rejected_count, "row", "rows"),
            ),
        }
        .ops(now),
    );
    ctx.store.transact(ops).await?;
    // The data are stored: from here nothing may turn the answer into a failure. The times only move
    // forward, so parallel uploads settle in any order; if they still do not, the next upload moves them.
    let mut notes = parsed.notes;
    if record_times(ctx, person.id, now, newest_reading)
        .await
        .is_err()
    {
        notes.push(
            "Your data are stored, but the time of your last upload could not be updated just now; your next upload will update it.".into(),
        );
    }
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
        notes,
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

/// Uploads started more than this long ago and never finished were interrupted (a crash mid-upload).
const INTERRUPTED_AFTER_SECONDS: i64 = 15 * 60;

/// Finds the person's uploads that started but never finished (the process died while merging), and
/// makes what is stored agree with itself: the freshness times move forward to what the upload held,
/// an audit event says it was interrupted (its data may be partly stored), and the record says so.
async fn repair_interrupted(ctx: &Ctx, person: &Person) -> Result<(), CoreError> {
    let now = ctx.clock.now();
    let items = query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::person_pk(person.id), keys::UPLOAD_PREFIX),
    )
    .await?;
    for item in items {
        if item.s("status") != Some("started") {
            continue;
        }
        let started = millis(item.n("at").unwrap_or(0))?;
        if now.as_second() - started.as_second() < INTERRUPTED_AFTER_SECONDS {
            continue; // may still be running
        }
        let newest = item
            .n("newest_reading_at")
            .filter(|ms| *ms > 0)
            .map(millis)
            .transpose()?;
        record_times(ctx, person.id, started, newest).await?;
        let (first, last) = (
            millis(item.n("first_event_at").unwrap_or(0))?,
            millis(item.n("last_event_at").unwrap_or(0))?,
        );
        if first.as_second() > 0 {
            summary::refresh(ctx, person, first, last).await?;
        }
        let mut ops = vec![WriteOp::Put {
            item: item.clone().with_s("status", "interrupted"),
            condition: Condition::Equals("status".into(), Value::S("started".into())),
        }];
        ops.extend(
            NewEvent {
                actor: person.actor(),
                action: "data_upload_interrupted",
                clinic: None,
                patient_id: None,
                person_id: Some(person.id),
                detail: format!(
                    "An upload of a {} file started at {started} did not finish; part of its data may be stored.",
                    item.s("format").unwrap_or("device data")
                ),
            }
            .ops(now),
        );
        match ctx.store.transact(ops).await {
            // Another request repaired it first.
            Ok(()) | Err(StoreError::TransactionCanceled { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// The devices of an upload, each with its kinds of data and the period it covers.
fn devices_seen(events: &[Event]) -> Vec<DeviceSeen> {
    let mut seen: BTreeMap<&str, (BTreeSet<Kind>, usize, Timestamp, Timestamp)> = BTreeMap::new();
    for event in events {
        let entry = seen
            .entry(&*event.device)
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

/// Moves `last_upload_at` and `last_reading_at` forward (never back), under a version check: the
/// update is a maximum, so parallel uploads may apply it in any order.
async fn record_times(
    ctx: &Ctx,
    person: PersonId,
    now: Timestamp,
    newest: Option<Timestamp>,
) -> Result<(), CoreError> {
    for attempt in 0..32u64 {
        if attempt > 0 {
            // Spread the retries of writers that raced: a few milliseconds, growing.
            let pause =
                (attempt * 3 + u64::from(now.subsec_millisecond().unsigned_abs()) % 7).min(40);
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
        let current = ctx.store.get(&keys::data_info(person)).await?;
        let (times, version) = match &current {
            Some(item) => (data_times_of(item)?, item.n("version").unwrap_or(0)),
            None => (DataTimes::default(), 0),
        };
        let reading = match (times.last_reading_at, newest) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let uploaded = times.last_upload_at.map_or(now, |t| t.max(now));
        if current.is_some()
            && reading == times.last_reading_at
            && Some(uploaded) == times.last_upload_at
        {
            return Ok(()); // already as far forward
        }
        let mut item = Item::new(keys::data_info(person))
            .with_n("last_upload_at", uploaded.as_millisecond())
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

/// One upload as the person's data export lists it: which file (format), when, what it held.
#[derive(Debug, Clone, Serialize)]
pub struct UploadEntry {
    pub upload_id: String,
    pub format: String,
    pub at: Timestamp,
    /// `done`, `started` (may still be running) or `interrupted`.
    pub status: String,
    pub events: i64,
    pub accepted: Option<i64>,
    pub duplicates: Option<i64>,
    pub conflicts: Option<i64>,
    pub rejected: Option<i64>,
    pub first_event_at: Option<Timestamp>,
    pub last_event_at: Option<Timestamp>,
    /// SHA-256 of the file as uploaded (hex): which file it was.
    pub sha256: String,
}

/// Every upload of the person, oldest first.
pub async fn history(ctx: &Ctx, person: PersonId) -> Result<Vec<UploadEntry>, CoreError> {
    let items = query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::person_pk(person), keys::UPLOAD_PREFIX),
    )
    .await?;
    let instant = |item: &Item, name: &str| -> Result<Option<Timestamp>, CoreError> {
        item.n(name).filter(|ms| *ms > 0).map(millis).transpose()
    };
    items
        .iter()
        .map(|item| {
            Ok(UploadEntry {
                upload_id: item
                    .key
                    .sk
                    .trim_start_matches(keys::UPLOAD_PREFIX)
                    .to_owned(),
                format: item.s("format").unwrap_or("").to_owned(),
                at: millis(item.n("at").unwrap_or(0))?,
                status: item.s("status").unwrap_or("").to_owned(),
                events: item.n("events").unwrap_or(0),
                accepted: item.n("accepted"),
                duplicates: item.n("duplicates"),
                conflicts: item.n("conflicts"),
                rejected: item.n("rejected"),
                first_event_at: instant(item, "first_event_at")?,
                last_event_at: instant(item, "last_event_at")?,
                sha256: item.s("sha256").unwrap_or("").to_owned(),
            })
        })
        .collect()
}
