//! The patient's side: preview a clinic's request (who asks, for which record, until when), accept it
//! or decline it, list who sees their data, and stop sharing. Accepting a request for a record whose
//! date of birth is not the account's needs the patient's explicit confirmation.

use jiff::Timestamp;
use serde::Serialize;

use super::code::LinkCode;
use super::{CODE_MEMORY_DAYS, mismatch_words};
use crate::account::clinic::millis;
use crate::account::personal::Person;
use crate::audit::NewEvent;
use crate::context::Ctx;
use crate::error::{CodeProblem, CoreError};
use crate::ids::{ClinicId, PatientId, PersonId};
use crate::keys;
use crate::optimistic::{Commit, commit};
use crate::patient::{self, IdentityCheck, LinkState, PatientRecord};
use crate::store::{Condition, Item, Key, Query, StoreError, Value, WriteOp};
use crate::throttle::{self, CODE_PER_ACCOUNT, CODE_PER_SOURCE};

/// What a linked clinic sees, in the words shown to the patient before they accept.
pub const WHAT_THE_CLINIC_SEES: &str = "Your uploaded pump, meter and CGM data (glucose readings, insulin delivery, carbohydrates and mealtimes) and the reports made from it, for as long as you share it. You can stop sharing at any time on your Data Sharing page.";

/// What a patient sees before accepting: who asks, for which record, until when, and whether the
/// record's name and date of birth are the account's.
#[derive(Debug, Clone, Serialize)]
pub struct ShareRequest {
    /// Identifies the request among the person's pending ones (accept or decline it without the code).
    pub request_id: String,
    pub clinic_id: String,
    pub clinic_name: String,
    /// How glucolink knows the clinic is who it says, in the patient's words.
    pub clinic_verified_as: String,
    pub patient_name: String,
    pub patient_date_of_birth: String,
    pub expires_at: Timestamp,
    pub what_the_clinic_sees: &'static str,
    /// `match`, `mismatch` or `unknown` (the account has no date of birth).
    pub identity: &'static str,
    /// What differs: `name`, `date_of_birth`.
    pub differs: Vec<&'static str>,
}

/// A usable code, as found in the store.
struct LiveCode {
    hash: String,
    clinic_id: ClinicId,
    clinic_name: String,
    patient_id: PatientId,
}

/// Which code a patient means: the code itself, or a request they already previewed.
#[derive(Clone, Copy)]
pub enum CodeRef<'a> {
    Typed(&'a str),
    RequestId(&'a str),
}

/// Finds a usable code, counting unknown codes toward the guessing limits.
async fn find_code(
    ctx: &Ctx,
    person: &Person,
    code: &CodeRef<'_>,
    source: &str,
) -> Result<LiveCode, CoreError> {
    let account = format!("person:{}", person.id);
    let hash = match code {
        CodeRef::Typed(raw) => LinkCode::parse(raw)?.hash(),
        CodeRef::RequestId(id) => {
            // A request id only works for the person who previewed it.
            let well_formed = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
            if !well_formed
                || ctx
                    .store
                    .get(&keys::person_pending(person.id, id))
                    .await?
                    .is_none()
            {
                return Err(CoreError::Code(CodeProblem::NotFound));
            }
            (*id).to_owned()
        }
    };
    // Booked before the look-up, so parallel guesses cannot all pass; a code that exists is given back.
    throttle::reserve(ctx, CODE_PER_SOURCE, source).await?;
    throttle::reserve(ctx, CODE_PER_ACCOUNT, &account).await?;
    let Some(item) = ctx.store.get(&keys::link_code(&hash)).await? else {
        return Err(CoreError::Code(CodeProblem::NotFound));
    };
    throttle::refund(ctx, CODE_PER_ACCOUNT, &account).await?;
    throttle::refund(ctx, CODE_PER_SOURCE, source).await?;
    match item.s("status") {
        Some("pending") => {}
        Some("used") => return Err(CoreError::Code(CodeProblem::Used)),
        _ => return Err(CoreError::Code(CodeProblem::Cancelled)),
    }
    if millis(item.require_n("valid_until")?)? <= ctx.clock.now() {
        return Err(CoreError::Code(CodeProblem::Expired));
    }
    let corrupt = |what: &str| CoreError::Store(StoreError::Corrupt(format!("code {what}")));
    Ok(LiveCode {
        hash,
        clinic_id: item
            .require_s("clinic_id")?
            .parse()
            .map_err(|_| corrupt("clinic_id"))?,
        clinic_name: item.require_s("clinic_name")?.to_owned(),
        patient_id: item
            .require_s("patient_id")?
            .parse()
            .map_err(|_| corrupt("patient_id"))?,
    })
}

/// The record a live code points at, still waiting for exactly this code.
async fn pending_record(ctx: &Ctx, code: &LiveCode) -> Result<PatientRecord, CoreError> {
    let record = match patient::get(ctx, code.clinic_id, code.patient_id).await {
        Ok(record) => record,
        Err(CoreError::NotFound) => return Err(CoreError::Code(CodeProblem::Cancelled)),
        Err(other) => return Err(other),
    };
    match (&record.link, &record.code_hash) {
        (LinkState::Pending { .. }, Some(hash)) if *hash == code.hash => Ok(record),
        // The code was pending a moment ago: someone may have just used it (read it again to say so).
        _ => match ctx.store.get(&keys::link_code(&code.hash)).await? {
            Some(item) if item.s("status") == Some("used") => {
                Err(CoreError::Code(CodeProblem::Used))
            }
            _ => Err(CoreError::Code(CodeProblem::Cancelled)),
        },
    }
}

pub(super) async fn refuse_if_already_sharing(
    ctx: &Ctx,
    person: &Person,
    clinic_id: ClinicId,
    clinic_name: &str,
) -> Result<(), CoreError> {
    if ctx
        .store
        .get(&keys::person_link(person.id, clinic_id))
        .await?
        .is_some()
    {
        return Err(CoreError::Conflict {
            code: "already_linked",
            message: format!(
                "You already share your data with {clinic_name}. To link a different record, stop sharing with them on this page first."
            ),
        });
    }
    Ok(())
}

fn identity_of(record: &PatientRecord, person: &Person) -> IdentityCheck {
    IdentityCheck::compare(
        &record.name,
        record.date_of_birth,
        &person.name,
        person.date_of_birth,
    )
}

/// Shows the patient what a code asks, and remembers the request on their Data Sharing page.
pub async fn preview(
    ctx: &Ctx,
    person: &Person,
    code: CodeRef<'_>,
    source: &str,
) -> Result<ShareRequest, CoreError> {
    let live = find_code(ctx, person, &code, source).await?;
    let record = pending_record(ctx, &live).await?;
    refuse_if_already_sharing(ctx, person, live.clinic_id, &live.clinic_name).await?;
    let LinkState::Pending { expires_at, .. } = record.link else {
        return Err(CoreError::Code(CodeProblem::Cancelled));
    };
    let pending = Item::new(keys::person_pending(person.id, &live.hash))
        .with_s("clinic_id", live.clinic_id.to_string())
        .with_s("clinic_name", &live.clinic_name)
        .with_s("patient_name", &record.name)
        .with_s("patient_date_of_birth", record.date_of_birth.to_string())
        .with_n("valid_until", expires_at.as_millisecond())
        .expiring_at(expires_at.as_second());
    ctx.store.put(pending, Condition::None).await?;
    let check = identity_of(&record, person);
    let clinic = crate::account::clinic::get_clinic(ctx, live.clinic_id).await?;
    Ok(ShareRequest {
        request_id: live.hash,
        clinic_id: live.clinic_id.to_string(),
        clinic_name: live.clinic_name,
        clinic_verified_as: clinic.verification.described(),
        patient_name: record.name,
        patient_date_of_birth: record.date_of_birth.to_string(),
        expires_at,
        what_the_clinic_sees: WHAT_THE_CLINIC_SEES,
        identity: check.identity.as_str(),
        differs: check.differs,
    })
}

/// The clinic's record a person's data is linked to, as the clinic holds it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedRecord {
    pub patient_name: String,
    pub patient_date_of_birth: String,
    /// `match`, `mismatch` or `unknown`.
    pub identity: &'static str,
    pub differs: Vec<&'static str>,
}

/// A clinic that sees the person's data.
#[derive(Debug, Clone, Serialize)]
pub struct SharedWith {
    pub clinic_id: String,
    pub clinic_name: String,
    pub since: Timestamp,
    /// The record the clinic linked (none if the clinic's record can no longer be read).
    pub record: Option<LinkedRecord>,
}

/// The patient accepts: the record and the account are linked, the code is used up. A record whose
/// date of birth is not the account's needs `confirm_mismatch` (409 `identity_mismatch` otherwise).
pub async fn accept(
    ctx: &Ctx,
    person: &Person,
    code: CodeRef<'_>,
    source: &str,
    confirm_mismatch: bool,
) -> Result<SharedWith, CoreError> {
    commit(ctx, || async move {
        let live = find_code(ctx, person, &code, source).await?;
        let mut record = pending_record(ctx, &live).await?;
        refuse_if_already_sharing(ctx, person, live.clinic_id, &live.clinic_name).await?;
        let check = identity_of(&record, person);
        if check.differs.contains(&"date_of_birth") && !confirm_mismatch {
            return Err(CoreError::IdentityMismatch {
                differs: check.differs.clone(),
                message: format!(
                    "{} If this request is for you, confirm to accept anyway; if not, decline it and tell {}.",
                    mismatch_words(&check, &record, person).replace("the personal account's", "your account's"),
                    live.clinic_name
                ),
            });
        }
        let now = ctx.clock.now();
        let linked_record = LinkedRecord {
            patient_name: record.name.clone(),
            patient_date_of_birth: record.date_of_birth.to_string(),
            identity: check.identity.as_str(),
            differs: check.differs.clone(),
        };
        let confirmed = !check.differs.is_empty();
        record.link = LinkState::Linked {
            person_id: person.id,
            since: now,
            by: person.name.clone(),
            identity: check,
        };
        record.forget_code();
        let mut ops = vec![
            WriteOp::Put {
                item: Item::new(keys::link_code(&live.hash))
                    .with_s("status", "used")
                    .with_s("clinic_id", live.clinic_id.to_string())
                    .with_s("clinic_name", &live.clinic_name)
                    .with_s("patient_id", live.patient_id.to_string())
                    .with_n("valid_until", now.as_millisecond())
                    .expiring_at(now.as_second() + CODE_MEMORY_DAYS * 86_400),
                condition: Condition::Equals("status".into(), Value::S("pending".into())),
            },
            patient::update_op(&mut record),
            link_item_op(
                person.id,
                live.clinic_id,
                &live.clinic_name,
                live.patient_id,
                now,
            ),
            WriteOp::Delete {
                key: keys::person_pending(person.id, &live.hash),
                condition: Condition::None,
            },
        ];
        ops.extend(
            NewEvent {
                actor: person.actor(),
                action: "linked",
                clinic: Some((live.clinic_id, live.clinic_name.clone())),
                patient_id: Some(live.patient_id),
                person_id: Some(person.id),
                detail: format!(
                    "{} accepted the request of {} with a unique code{}.",
                    person.name,
                    live.clinic_name,
                    if confirmed {
                        ", confirming it was for them although the record's details differ from their account's"
                    } else {
                        ""
                    }
                ),
            }
            .ops(now),
        );
        // Someone else's accept, or a concurrent change: the next pass names the reason.
        Ok(Commit::new(
            ops,
            SharedWith {
                clinic_id: live.clinic_id.to_string(),
                clinic_name: live.clinic_name,
                since: now,
                record: Some(linked_record),
            },
        ))
    })
    .await
}

pub(super) fn link_item_op(
    person: PersonId,
    clinic_id: ClinicId,
    clinic_name: &str,
    patient_id: PatientId,
    now: Timestamp,
) -> WriteOp {
    WriteOp::Put {
        item: Item::new(keys::person_link(person, clinic_id))
            .with_s("clinic_name", clinic_name)
            .with_s("patient_id", patient_id.to_string())
            .with_n("since", now.as_millisecond()),
        condition: Condition::NotExists,
    }
}

/// The patient declines: the code stops working and the record says the request was declined.
pub async fn decline(
    ctx: &Ctx,
    person: &Person,
    code: CodeRef<'_>,
    source: &str,
) -> Result<(), CoreError> {
    commit(ctx, || async move {
        let live = find_code(ctx, person, &code, source).await?;
        let now = ctx.clock.now();
        let mut ops = vec![
            WriteOp::Put {
                item: Item::new(keys::link_code(&live.hash))
                    .with_s("status", "declined")
                    .expiring_at(now.as_second() + CODE_MEMORY_DAYS * 86_400),
                condition: Condition::Equals("status".into(), Value::S("pending".into())),
            },
            WriteOp::Delete {
                key: keys::person_pending(person.id, &live.hash),
                condition: Condition::None,
            },
        ];
        if let Ok(mut record) = pending_record(ctx, &live).await {
            record.link = LinkState::CodeDeclined {
                since: now,
                by: person.name.clone(),
            };
            record.forget_code();
            ops.push(patient::update_op(&mut record));
        }
        ops.extend(
            NewEvent {
                actor: person.actor(),
                action: "link_declined",
                clinic: Some((live.clinic_id, live.clinic_name.clone())),
                patient_id: Some(live.patient_id),
                person_id: Some(person.id),
                detail: format!(
                    "{} declined the request of {}.",
                    person.name, live.clinic_name
                ),
            }
            .ops(now),
        );
        Ok(Commit::new(ops, ()).or_if_refused_at(0, CoreError::Code(CodeProblem::Used)))
    })
    .await
}

/// The patient stops sharing with a clinic: the clinic's next read is refused, and the record says who
/// stopped sharing and when.
pub async fn revoke(ctx: &Ctx, person: &Person, clinic_id: ClinicId) -> Result<(), CoreError> {
    commit(ctx, || async move {
        let link = ctx
            .store
            .get(&keys::person_link(person.id, clinic_id))
            .await?
            .ok_or(CoreError::NotFound)?;
        let clinic_name = link.require_s("clinic_name")?.to_owned();
        let patient_id: PatientId = link
            .require_s("patient_id")?
            .parse()
            .map_err(|_| CoreError::Store(StoreError::Corrupt("link patient_id".into())))?;
        let now = ctx.clock.now();
        let mut ops = vec![WriteOp::Delete {
            key: keys::person_link(person.id, clinic_id),
            condition: Condition::Exists,
        }];
        match patient::get(ctx, clinic_id, patient_id).await {
            Ok(mut record)
                if matches!(record.link, LinkState::Linked { person_id, .. } if person_id == person.id) =>
            {
                record.link = LinkState::SharingStopped {
                    since: now,
                    by: person.name.clone(),
                };
                ops.push(patient::update_op(&mut record));
            }
            Ok(_) | Err(CoreError::NotFound) => {}
            Err(other) => return Err(other),
        }
        ops.extend(
            NewEvent {
                actor: person.actor(),
                action: "revoked",
                clinic: Some((clinic_id, clinic_name.clone())),
                patient_id: Some(patient_id),
                person_id: Some(person.id),
                detail: format!(
                    "{} stopped sharing their data with {clinic_name}.",
                    person.name
                ),
            }
            .ops(now),
        );
        Ok(Commit::new(ops, ()).or_if_refused_at(0, CoreError::NotFound))
    })
    .await
}

/// The person's Data Sharing page: clinics that see their data, and requests they previewed.
#[derive(Debug, Clone, Serialize)]
pub struct Sharing {
    pub clinics: Vec<SharedWith>,
    pub pending: Vec<PendingRequest>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingRequest {
    pub request_id: String,
    pub clinic_id: String,
    pub clinic_name: String,
    pub patient_name: String,
    pub patient_date_of_birth: String,
    pub expires_at: Timestamp,
}

pub async fn sharing(ctx: &Ctx, person: PersonId) -> Result<Sharing, CoreError> {
    let mut clinics = Vec::new();
    let mut records: Vec<Key> = Vec::new();
    for item in all(
        ctx,
        Query::prefix(keys::person_pk(person), keys::LINK_PREFIX),
    )
    .await?
    {
        let clinic_id = item.key.sk.trim_start_matches(keys::LINK_PREFIX).to_owned();
        if let (Ok(clinic), Some(Ok(patient))) = (
            clinic_id.parse::<ClinicId>(),
            item.s("patient_id").map(str::parse::<PatientId>),
        ) {
            records.push(keys::patient(clinic, patient));
        }
        clinics.push(SharedWith {
            clinic_id,
            clinic_name: item.require_s("clinic_name")?.to_owned(),
            since: millis(item.require_n("since")?)?,
            record: None,
        });
    }
    // The records, as their clinics hold them now (one batch read).
    let now = ctx.clock.now();
    for chunk in records.chunks(crate::store::MAX_BATCH_GET_KEYS) {
        for item in ctx.store.batch_get(chunk).await? {
            let Some(clinic) = item
                .key
                .pk
                .strip_prefix("CLINIC#")
                .and_then(|id| id.parse::<ClinicId>().ok())
            else {
                continue;
            };
            let record = patient::from_item(clinic, &item, now)?;
            let LinkState::Linked {
                person_id,
                identity,
                ..
            } = &record.link
            else {
                continue;
            };
            if *person_id != person {
                continue;
            }
            if let Some(shared) = clinics
                .iter_mut()
                .find(|c| c.clinic_id == clinic.to_string())
            {
                shared.record = Some(LinkedRecord {
                    patient_name: record.name.clone(),
                    patient_date_of_birth: record.date_of_birth.to_string(),
                    identity: identity.identity.as_str(),
                    differs: identity.differs.clone(),
                });
            }
        }
    }
    let mut pending = Vec::new();
    for item in all(
        ctx,
        Query::prefix(keys::person_pk(person), keys::PENDING_PREFIX),
    )
    .await?
    {
        pending.push(PendingRequest {
            request_id: item
                .key
                .sk
                .trim_start_matches(keys::PENDING_PREFIX)
                .to_owned(),
            clinic_id: item.require_s("clinic_id")?.to_owned(),
            clinic_name: item.require_s("clinic_name")?.to_owned(),
            patient_name: item.require_s("patient_name")?.to_owned(),
            patient_date_of_birth: item.require_s("patient_date_of_birth")?.to_owned(),
            expires_at: millis(item.require_n("valid_until")?)?,
        });
    }
    Ok(Sharing { clinics, pending })
}

/// Every item of a query, page after page.
async fn all(ctx: &Ctx, mut query: Query) -> Result<Vec<Item>, CoreError> {
    let mut items = Vec::new();
    loop {
        let page = ctx.store.query(&query).await?;
        items.extend(page.items);
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(items),
        }
    }
}
