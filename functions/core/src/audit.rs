//! The audit log: who did what to which record and when. A person sees every event about their data;
//! a clinic admin sees every event in the clinic. Events are written in the same transaction as the
//! change they describe, so a change is never without its record.

use jiff::Timestamp;
use serde::Serialize;
use ulid::Ulid;

use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::{ClinicId, PatientId, PersonId};
use crate::keys;
use crate::store::{Condition, Direction, Item, Query, WriteOp};

/// Who acted.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// `clinic_user`, `person` or `system`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
}

/// One event, as shown in the logs.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub event_id: String,
    pub at: Timestamp,
    pub actor: Actor,
    /// A stable verb: `link_code_created`, `linked`, `profile_viewed`…
    pub action: String,
    pub clinic_id: Option<String>,
    pub clinic_name: Option<String>,
    pub patient_id: Option<String>,
    pub person_id: Option<String>,
    /// A short human sentence with what else matters (channel, reason).
    pub detail: String,
}

/// An event to be written; `ops` turns it into the puts for each log it belongs in.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor: Actor,
    pub action: &'static str,
    pub clinic: Option<(ClinicId, String)>,
    pub patient_id: Option<PatientId>,
    pub person_id: Option<PersonId>,
    pub detail: String,
}

impl NewEvent {
    /// The writes that put this event into the clinic's log and, when a person is concerned, theirs.
    pub fn ops(&self, now: Timestamp) -> Vec<WriteOp> {
        let id = Ulid::new();
        let mut item = Item::new(keys::audit(String::new(), id))
            .with_n("at", now.as_millisecond())
            .with_s("actor_kind", self.actor.kind)
            .with_s("actor_id", &self.actor.id)
            .with_s("actor_name", &self.actor.name)
            .with_s("action", self.action)
            .with_s("detail", &self.detail);
        if let Some((clinic_id, clinic_name)) = &self.clinic {
            item = item
                .with_s("clinic_id", clinic_id.to_string())
                .with_s("clinic_name", clinic_name);
        }
        if let Some(patient) = self.patient_id {
            item = item.with_s("patient_id", patient.to_string());
        }
        if let Some(person) = self.person_id {
            item = item.with_s("person_id", person.to_string());
        }
        let mut owners = Vec::new();
        if let Some((clinic_id, _)) = &self.clinic {
            owners.push(keys::clinic_pk(*clinic_id));
        }
        if let Some(person) = self.person_id {
            owners.push(keys::person_pk(person));
        }
        owners
            .into_iter()
            .map(|pk| {
                let mut copy = item.clone();
                copy.key = keys::audit(pk, id);
                WriteOp::Put {
                    item: copy,
                    condition: Condition::NotExists,
                }
            })
            .collect()
    }
}

/// Writes an event on its own (for events that change nothing else, such as a view).
pub async fn record(ctx: &Ctx, event: NewEvent) -> Result<(), CoreError> {
    let ops = event.ops(ctx.clock.now());
    if ops.is_empty() {
        return Ok(());
    }
    ctx.store.transact(ops).await?;
    Ok(())
}

/// A page of a log, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

pub async fn for_person(
    ctx: &Ctx,
    person: PersonId,
    cursor: Option<String>,
) -> Result<AuditPage, CoreError> {
    page(ctx, keys::person_pk(person), cursor).await
}

/// Every action the log records, with the words the website shows for it.
pub const ACTIONS: &[(&str, &str)] = &[
    ("profile_viewed", "Opened a Patient Profile"),
    ("report_viewed", "Viewed a report"),
    ("data_exported", "Exported data"),
    ("patient_created", "Added a patient record"),
    ("patient_corrected", "Corrected a patient record"),
    ("patient_deleted", "Deleted a patient record"),
    ("patient_archived", "Archived a patient record"),
    ("patient_restored", "Restored an archived patient record"),
    ("link_code_created", "Generated a unique code"),
    ("link_code_sent", "Sent a code"),
    ("link_code_printed", "Printed a code"),
    ("link_code_cancelled", "Cancelled a code"),
    (
        "link_code_withdrawn_notice",
        "Told a patient a code no longer works",
    ),
    ("linked", "Linked to Personal"),
    ("link_declined", "Declined a request"),
    ("unlinked", "Unlinked"),
    ("revoked", "Stopped sharing"),
    ("upload_requested", "Asked to Upload now"),
    ("data_uploaded", "Uploaded data"),
    ("data_upload_interrupted", "Upload interrupted"),
    ("upload_token_created", "Created an upload token"),
    ("upload_token_revoked", "Revoked an upload token"),
    ("ranges_changed", "Changed glycemic targets"),
    ("settings_changed", "Changed clinic settings"),
    ("staff_invited", "Invited staff"),
    ("staff_joined", "Staff joined"),
    ("staff_removed", "Removed staff"),
    ("invitation_cancelled", "Cancelled an invitation"),
    ("clinic_added", "The operator added the clinic"),
    ("clinic_verified", "Verified the clinic's email"),
    (
        "password_reset_requested",
        "Asked for a password reset link",
    ),
    ("password_reset", "Reset a password"),
    ("two_factor_enabled", "Turned on two-factor sign-in"),
    ("two_factor_removed", "Turned off two-factor sign-in"),
    ("two_factor_used", "Signed in with two factors"),
    ("recovery_code_used", "Signed in with a recovery code"),
    ("contact_verified", "Confirmed a recovery contact"),
    ("contact_changed", "Changed the recovery contacts"),
    ("passkey_added", "Added a passkey"),
    ("passkey_removed", "Removed a passkey"),
    ("passkey_used", "Signed in with a passkey"),
    ("account_deleted", "A patient deleted their account"),
];

/// What a clinic's audit log is narrowed to; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub patient_id: Option<PatientId>,
    /// The member of staff (or person) who acted.
    pub actor_id: Option<String>,
    /// One of [`ACTIONS`].
    pub action: Option<&'static str>,
    /// From the start of this instant (inclusive).
    pub from: Option<Timestamp>,
    /// Until this instant (exclusive).
    pub until: Option<Timestamp>,
}

impl AuditFilter {
    /// Reads an action name, refusing one the log never records.
    pub fn parse_action(raw: &str) -> Result<&'static str, CoreError> {
        ACTIONS
            .iter()
            .map(|(action, _)| *action)
            .find(|action| *action == raw)
            .ok_or_else(|| {
                CoreError::invalid(
                    "action",
                    "invalid_action",
                    "Choose one of the actions the audit log records.",
                )
            })
    }

    fn keeps(&self, item: &Item) -> bool {
        self.patient_id
            .is_none_or(|p| item.s("patient_id") == Some(p.to_string().as_str()))
            && self
                .actor_id
                .as_deref()
                .is_none_or(|a| item.s("actor_id") == Some(a))
            && self.action.is_none_or(|a| item.s("action") == Some(a))
    }
}

/// How many log entries one filtered request reads at most; a page may then hold fewer than
/// [`PAGE_SIZE`] events and still say where to go on.
pub const SCAN_LIMIT: usize = 1_000;
/// Events per page.
pub const PAGE_SIZE: usize = 50;

/// A page of the clinic's log narrowed by `filter`, newest first. Dates bound the sort key (event
/// ids are ULIDs, ordered by time); the other parts are checked on each entry read.
pub async fn for_clinic_filtered(
    ctx: &Ctx,
    clinic: ClinicId,
    filter: &AuditFilter,
    cursor: Option<String>,
) -> Result<AuditPage, CoreError> {
    let mut query = Query::prefix(keys::clinic_pk(clinic), keys::AUDIT_PREFIX);
    if filter.from.is_some() || filter.until.is_some() {
        let millis = |t: Timestamp| u64::try_from(t.as_millisecond()).unwrap_or(0);
        let low = filter
            .from
            .map_or(Ulid::nil(), |t| Ulid::from_parts(millis(t), 0));
        let high = filter
            .until
            .map_or(Ulid::from_parts(u64::MAX >> 16, u128::MAX), |t| {
                Ulid::from_parts(millis(t).saturating_sub(1), u128::MAX)
            });
        query = query.between(
            format!("{}{low}", keys::AUDIT_PREFIX),
            format!("{}{high}", keys::AUDIT_PREFIX),
        );
    }
    query.direction = Direction::Backward;
    query.cursor = cursor;
    let mut kept = Vec::new();
    let mut scanned = 0;
    loop {
        query.limit = PAGE_SIZE - kept.len();
        let page = ctx.store.query(&query).await.map_err(cursor_error)?;
        scanned += page.items.len();
        for item in &page.items {
            if filter.keeps(item) {
                kept.push(event_of(item)?);
            }
        }
        query.cursor = page.cursor;
        if kept.len() >= PAGE_SIZE || query.cursor.is_none() || scanned >= SCAN_LIMIT {
            break;
        }
    }
    Ok(AuditPage {
        events: kept,
        next_cursor: query.cursor,
    })
}

fn cursor_error(error: crate::store::StoreError) -> CoreError {
    match error {
        crate::store::StoreError::Invalid(_) => {
            CoreError::invalid("cursor", "invalid_cursor", "The page cursor is not valid.")
        }
        other => other.into(),
    }
}

async fn page(ctx: &Ctx, pk: String, cursor: Option<String>) -> Result<AuditPage, CoreError> {
    let mut query = Query::prefix(pk, keys::AUDIT_PREFIX);
    query.direction = Direction::Backward;
    query.limit = PAGE_SIZE;
    query.cursor = cursor;
    let page = ctx.store.query(&query).await.map_err(cursor_error)?;
    let events = page
        .items
        .iter()
        .map(event_of)
        .collect::<Result<Vec<_>, CoreError>>()?;
    Ok(AuditPage {
        events,
        next_cursor: page.cursor,
    })
}

fn event_of(item: &Item) -> Result<AuditEvent, CoreError> {
    Ok(AuditEvent {
        event_id: item
            .key
            .sk
            .strip_prefix(keys::AUDIT_PREFIX)
            .unwrap_or_default()
            .to_owned(),
        at: crate::account::clinic::millis(item.require_n("at")?)?,
        actor: Actor {
            kind: match item.require_s("actor_kind")? {
                "clinic_user" => "clinic_user",
                "person" => "person",
                _ => "system",
            },
            id: item.require_s("actor_id")?.to_owned(),
            name: item.require_s("actor_name")?.to_owned(),
        },
        action: item.require_s("action")?.to_owned(),
        clinic_id: item.s("clinic_id").map(str::to_owned),
        clinic_name: item.s("clinic_name").map(str::to_owned),
        patient_id: item.s("patient_id").map(str::to_owned),
        person_id: item.s("person_id").map(str::to_owned),
        detail: item.s("detail").unwrap_or_default().to_owned(),
    })
}
