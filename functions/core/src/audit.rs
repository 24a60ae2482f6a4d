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

pub async fn for_clinic(
    ctx: &Ctx,
    clinic: ClinicId,
    cursor: Option<String>,
) -> Result<AuditPage, CoreError> {
    page(ctx, keys::clinic_pk(clinic), cursor).await
}

async fn page(ctx: &Ctx, pk: String, cursor: Option<String>) -> Result<AuditPage, CoreError> {
    let mut query = Query::prefix(pk, keys::AUDIT_PREFIX);
    query.direction = Direction::Backward;
    query.limit = 50;
    query.cursor = cursor;
    let page = ctx.store.query(&query).await.map_err(|e| match e {
        crate::store::StoreError::Invalid(_) => {
            CoreError::invalid("cursor", "invalid_cursor", "The page cursor is not valid.")
        }
        other => other.into(),
    })?;
    let events = page
        .items
        .iter()
        .map(|item| {
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
        })
        .collect::<Result<Vec<_>, CoreError>>()?;
    Ok(AuditPage {
        events,
        next_cursor: page.cursor,
    })
}
