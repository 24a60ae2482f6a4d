//! Taking in one upload: merge its events, record the upload, move the person's "last upload" and
//! "newest reading" times, and write the audit event. A file that yields no event at all stores nothing.

use jiff::Timestamp;
use serde::Serialize;
use ulid::Ulid;

use super::event::Kind;
use super::import::Parsed;
use super::store::{Merged, merge};
use crate::account::clinic::millis;
use crate::account::personal::Person;
use crate::audit::{self, NewEvent};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::store::{Condition, Item, StoreError, Value};

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

/// What the upload API answers.
#[derive(Debug, Clone, Serialize)]
pub struct UploadSummary {
    pub upload_id: String,
    pub format: &'static str,
    pub accepted: usize,
    pub duplicates: usize,
    /// At most the first 100 rejected rows; `rejected_count` has them all.
    pub rejected: Vec<Rejected>,
    pub rejected_count: usize,
    /// Rows read but not kept because they hold nothing glucolink stores, by reason.
    pub skipped: Vec<Skipped>,
    /// How something in the file was read that the person should know.
    pub notes: Vec<String>,
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
    let Merged {
        accepted,
        duplicates,
    } = merge(ctx, person.id, parsed.events).await?;
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
                "Uploaded a {} file: {accepted} new events, {duplicates} already stored, {rejected_count} rows not used.",
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
        rejected,
        rejected_count,
        skipped: parsed.skipped,
        notes: parsed.notes,
        first_event_at: first,
        last_event_at: last,
    })
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
