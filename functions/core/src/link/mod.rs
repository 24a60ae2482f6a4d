//! Linking a clinic's patient record to the patient's personal account, the heart of the product:
//! a unique code the patient accepts on their Data Sharing page, or the patient's own credentials typed
//! on the clinic's screen; then unlinking (by the clinic) and revoking (by the patient).
//!
//! A link is two facts written in one transaction: the record says `linked` to a person, and the person
//! holds a `LINK#<clinic>` item (at most one per clinic). Every change writes its audit events in the
//! same transaction. Codes are single use: accepting flips the code's `status` from `pending` under a
//! condition, so of two people redeeming one code at once exactly one wins.

pub mod code;

use jiff::Timestamp;
use serde::Serialize;

use crate::account::clinic::{Staff, millis};
use crate::account::personal::{self, Person};
use crate::account::signin;
use crate::audit::{self, NewEvent};
use crate::context::Ctx;
use crate::error::{CodeProblem, CoreError};
use crate::ids::{ClinicId, PatientId, PersonId};
use crate::keys;
use crate::messages;
use crate::notify::Recipient;
use crate::patient::{self, LinkState, PatientRecord, UploadRequest};
use crate::store::{Condition, Item, Query, StoreError, Value, WriteOp};
use crate::throttle::{self, CODE_PER_ACCOUNT, CODE_PER_SOURCE, MESSAGES_PER_CLINIC};
use code::LinkCode;

/// How long a code stays valid.
pub const CODE_VALID_DAYS: i64 = 7;
/// How long a used, cancelled or expired code is remembered, so its answer stays specific.
const CODE_MEMORY_DAYS: i64 = 30;
/// What a linked clinic sees, in the words shown to the patient before they accept.
pub const WHAT_THE_CLINIC_SEES: &str = "Your uploaded pump, meter and CGM data (glucose readings, insulin delivery, carbohydrates and mealtimes) and the reports made from it, for as long as you share it. You can stop sharing at any time on your Data Sharing page.";
/// Optimistic writes retry this often when another write raced them.
const RETRIES: usize = 4;

/// A code just issued: shown once to the clinic, never stored in clear.
#[derive(Debug)]
pub struct IssuedCode {
    pub code: LinkCode,
    pub expires_at: Timestamp,
}

/// Generates a unique code for a record; any earlier pending code of the record stops working.
pub async fn generate_code(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
) -> Result<IssuedCode, CoreError> {
    for _ in 0..RETRIES {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        if matches!(record.link, LinkState::Linked { .. }) {
            return Err(already_linked_record());
        }
        let code = LinkCode::generate()?;
        let now = ctx.clock.now();
        // Whole seconds: the expiry is stored, shown and compared at that precision.
        let expires_at = Timestamp::from_second(now.as_second() + CODE_VALID_DAYS * 86_400)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let mut ops = vec![WriteOp::Put {
            item: code_item(&code, staff, patient_id, expires_at, now),
            condition: Condition::NotExists,
        }];
        if let Some(old) = record.code_hash.take() {
            ops.push(retire_code_op(&old, "replaced", now));
        }
        record.link = LinkState::Pending { expires_at };
        record.code_hash = Some(code.hash());
        ops.push(patient::update_op(&mut record));
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "link_code_created",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: None,
                detail: format!(
                    "Generated a unique code for {}, valid until {expires_at}.",
                    record.name
                ),
            }
            .ops(now),
        );
        match ctx.store.transact(ops).await {
            Ok(()) => return Ok(IssuedCode { code, expires_at }),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(busy())
}

fn code_item(
    code: &LinkCode,
    staff: &Staff,
    patient_id: PatientId,
    expires_at: Timestamp,
    now: Timestamp,
) -> Item {
    Item::new(keys::link_code(&code.hash()))
        .with_s("clinic_id", staff.clinic.id.to_string())
        .with_s("clinic_name", &staff.clinic.name)
        .with_s("patient_id", patient_id.to_string())
        .with_s("status", "pending")
        .with_n("valid_until", expires_at.as_millisecond())
        .with_n("created_at", now.as_millisecond())
        .expiring_at(expires_at.as_second() + CODE_MEMORY_DAYS * 86_400)
}

/// Marks an old code as no longer usable, whatever state it is in (it may even be gone); it is
/// remembered for a while so that whoever types it learns why it no longer works.
fn retire_code_op(code_hash: &str, status: &str, now: Timestamp) -> WriteOp {
    WriteOp::Put {
        item: Item::new(keys::link_code(code_hash))
            .with_s("status", status)
            .expiring_at(now.as_second() + CODE_MEMORY_DAYS * 86_400),
        condition: Condition::None,
    }
}

/// Cancels the record's pending code.
pub async fn cancel_code(ctx: &Ctx, staff: &Staff, patient_id: PatientId) -> Result<(), CoreError> {
    for _ in 0..RETRIES {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        let (LinkState::Pending { .. }, Some(hash)) = (&record.link, record.code_hash.clone())
        else {
            return Err(CoreError::Conflict {
                code: "no_pending_code",
                message: "This record has no pending code.".into(),
            });
        };
        record.link = LinkState::NotLinked;
        record.code_hash = None;
        let now = ctx.clock.now();
        let mut ops = vec![
            retire_code_op(&hash, "cancelled", now),
            patient::update_op(&mut record),
        ];
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "link_code_cancelled",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: None,
                detail: format!("Cancelled the pending code of {}.", record.name),
            }
            .ops(now),
        );
        match ctx.store.transact(ops).await {
            Ok(()) => return Ok(()),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(busy())
}

/// What a patient sees before accepting: who asks, for which record, until when.
#[derive(Debug, Clone, Serialize)]
pub struct ShareRequest {
    /// Identifies the request among the person's pending ones (accept or decline it without the code).
    pub request_id: String,
    pub clinic_id: String,
    pub clinic_name: String,
    pub patient_name: String,
    pub patient_date_of_birth: String,
    pub expires_at: Timestamp,
    pub what_the_clinic_sees: &'static str,
}

/// A usable code, as found in the store.
struct LiveCode {
    hash: String,
    clinic_id: ClinicId,
    clinic_name: String,
    patient_id: PatientId,
}

/// Which code a patient means: the code itself, or a request they already previewed.
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
        _ => Err(CoreError::Code(CodeProblem::Cancelled)),
    }
}

async fn refuse_if_already_sharing(
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
            message: format!("You already share your data with {clinic_name}."),
        });
    }
    Ok(())
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
    let LinkState::Pending { expires_at } = record.link else {
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
    Ok(ShareRequest {
        request_id: live.hash,
        clinic_id: live.clinic_id.to_string(),
        clinic_name: live.clinic_name,
        patient_name: record.name,
        patient_date_of_birth: record.date_of_birth.to_string(),
        expires_at,
        what_the_clinic_sees: WHAT_THE_CLINIC_SEES,
    })
}

/// A clinic that sees the person's data.
#[derive(Debug, Clone, Serialize)]
pub struct SharedWith {
    pub clinic_id: String,
    pub clinic_name: String,
    pub since: Timestamp,
}

/// The patient accepts: the record and the account are linked, the code is used up.
pub async fn accept(
    ctx: &Ctx,
    person: &Person,
    code: CodeRef<'_>,
    source: &str,
) -> Result<SharedWith, CoreError> {
    for _ in 0..RETRIES {
        let live = find_code(ctx, person, &code, source).await?;
        let mut record = pending_record(ctx, &live).await?;
        refuse_if_already_sharing(ctx, person, live.clinic_id, &live.clinic_name).await?;
        let now = ctx.clock.now();
        record.link = LinkState::Linked {
            person_id: person.id,
            since: now,
        };
        record.code_hash = None;
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
                    "{} accepted the request of {} with a unique code.",
                    person.name, live.clinic_name
                ),
            }
            .ops(now),
        );
        match ctx.store.transact(ops).await {
            Ok(()) => {
                return Ok(SharedWith {
                    clinic_id: live.clinic_id.to_string(),
                    clinic_name: live.clinic_name,
                    since: now,
                });
            }
            // Someone else's accept, or a concurrent change: read again; the next pass names the reason.
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(busy())
}

fn link_item_op(
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

/// The patient declines: the code stops working and the record is no longer pending.
pub async fn decline(
    ctx: &Ctx,
    person: &Person,
    code: CodeRef<'_>,
    source: &str,
) -> Result<(), CoreError> {
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
        record.link = LinkState::NotLinked;
        record.code_hash = None;
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
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { index: 0 }) => {
            Err(CoreError::Code(CodeProblem::Used))
        }
        Err(StoreError::TransactionCanceled { .. }) => Err(busy()),
        Err(other) => Err(other.into()),
    }
}

/// Links with the patient's username and password typed on the clinic's screen. The credentials are
/// checked under the sign-in lockout and never stored; the clinic gets no session of the patient.
pub async fn link_with_credentials(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    username: &str,
    password: &str,
    consent: bool,
    source: &str,
) -> Result<(PatientRecord, Person), CoreError> {
    if !consent {
        return Err(CoreError::invalid(
            "consent",
            "consent_required",
            "The patient must confirm that they agree to share their data with the clinic.",
        ));
    }
    // The record first: another clinic's id must not even reach the credential check.
    patient::get(ctx, staff.clinic.id, patient_id).await?;
    let person = signin::verify_person(ctx, username, password, source).await?;
    for _ in 0..RETRIES {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        if matches!(record.link, LinkState::Linked { .. }) {
            return Err(already_linked_record());
        }
        refuse_if_already_sharing(ctx, &person, staff.clinic.id, &staff.clinic.name).await?;
        let now = ctx.clock.now();
        let mut ops = Vec::new();
        if let Some(old) = record.code_hash.take() {
            ops.push(retire_code_op(&old, "replaced", now));
        }
        record.link = LinkState::Linked {
            person_id: person.id,
            since: now,
        };
        ops.push(patient::update_op(&mut record));
        ops.push(link_item_op(
            person.id,
            staff.clinic.id,
            &staff.clinic.name,
            patient_id,
            now,
        ));
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "linked",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: Some(person.id),
                detail: format!(
                    "{} confirmed sharing with {} by entering their username and password on the clinic's screen.",
                    person.name, staff.clinic.name
                ),
            }
            .ops(now),
        );
        match ctx.store.transact(ops).await {
            Ok(()) => return Ok((record, person)),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(busy())
}

/// The clinic unlinks a record: it stops seeing the person's data at once.
pub async fn unlink(ctx: &Ctx, staff: &Staff, patient_id: PatientId) -> Result<(), CoreError> {
    for _ in 0..RETRIES {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        let LinkState::Linked { person_id, .. } = record.link else {
            return Err(CoreError::Conflict {
                code: "not_linked",
                message: "This record is not linked.".into(),
            });
        };
        record.link = LinkState::NotLinked;
        let now = ctx.clock.now();
        let mut ops = vec![
            patient::update_op(&mut record),
            WriteOp::Delete {
                key: keys::person_link(person_id, staff.clinic.id),
                condition: Condition::None,
            },
        ];
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "unlinked",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: Some(person_id),
                detail: format!(
                    "{} unlinked the record of {}.",
                    staff.clinic.name, record.name
                ),
            }
            .ops(now),
        );
        match ctx.store.transact(ops).await {
            Ok(()) => return Ok(()),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(busy())
}

/// The patient stops sharing with a clinic: the clinic's next read is refused.
pub async fn revoke(ctx: &Ctx, person: &Person, clinic_id: ClinicId) -> Result<(), CoreError> {
    for _ in 0..RETRIES {
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
            Ok(mut record) if record.link.status() == "linked" => {
                record.link = LinkState::NotLinked;
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
        match ctx.store.transact(ops).await {
            Ok(()) => return Ok(()),
            Err(StoreError::TransactionCanceled { index: 0 }) => return Err(CoreError::NotFound),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(busy())
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
    let mut pending = Vec::new();
    let mut query = Query::prefix(keys::person_pk(person), keys::LINK_PREFIX);
    loop {
        let page = ctx.store.query(&query).await?;
        for item in &page.items {
            clinics.push(SharedWith {
                clinic_id: item.key.sk.trim_start_matches(keys::LINK_PREFIX).to_owned(),
                clinic_name: item.require_s("clinic_name")?.to_owned(),
                since: millis(item.require_n("since")?)?,
            });
        }
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let mut query = Query::prefix(keys::person_pk(person), keys::PENDING_PREFIX);
    loop {
        let page = ctx.store.query(&query).await?;
        for item in &page.items {
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
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(Sharing { clinics, pending })
}

/// Whether a clinic may read a person's data now (checked on every read, so a revoke stops the next one).
pub async fn clinic_may_read(
    ctx: &Ctx,
    clinic_id: ClinicId,
    person: PersonId,
) -> Result<bool, CoreError> {
    Ok(ctx
        .store
        .get(&keys::person_link(person, clinic_id))
        .await?
        .is_some())
}

/// The link a patient follows to accept: the Data Sharing page with the code filled in.
pub fn accept_url(site_url: &str, code: &LinkCode) -> String {
    format!(
        "{}/personal/sharing?code={code}",
        site_url.trim_end_matches('/')
    )
}

/// The record's pending code, if `shown` is it (what the clinic has on screen).
async fn shown_code(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    shown: &str,
) -> Result<(PatientRecord, IssuedCode), CoreError> {
    let record = patient::get(ctx, staff.clinic.id, patient_id).await?;
    let code = LinkCode::parse(shown)?;
    match (&record.link, &record.code_hash) {
        (LinkState::Pending { expires_at }, Some(hash)) if *hash == code.hash() => {
            let expires_at = *expires_at;
            Ok((record, IssuedCode { code, expires_at }))
        }
        _ => Err(CoreError::Conflict {
            code: "no_pending_code",
            message:
                "This code is no longer the record's pending code. Generate a unique code first."
                    .into(),
        }),
    }
}

/// Shares a code with the patient by email or SMS: the code on the clinic's screen (`shown`) if it is
/// still the pending one, else a new code. Returns the code that was sent.
pub async fn share_code(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    to: Recipient,
    shown: Option<&str>,
    site_url: &str,
) -> Result<IssuedCode, CoreError> {
    // Check everything the request says before anything is spent or written.
    let shown = match shown {
        Some(shown) => Some(shown_code(ctx, staff, patient_id, shown).await?.1),
        None => None,
    };
    throttle::spend(ctx, MESSAGES_PER_CLINIC, &staff.clinic.id.to_string()).await?;
    let issued = match shown {
        Some(issued) => issued,
        None => generate_code(ctx, staff, patient_id).await?,
    };
    let channel = match &to {
        Recipient::Email(_) => "email",
        Recipient::Sms(_) => "SMS",
    };
    let message = messages::link_code(
        to,
        &staff.clinic.name,
        &issued.code.to_string(),
        &accept_url(site_url, &issued.code),
        issued.expires_at,
    );
    let recipient = mask(message.recipient());
    ctx.notifier.send(message).await?;
    audit::record(
        ctx,
        NewEvent {
            actor: staff.actor(),
            action: "link_code_sent",
            clinic: Some(staff.clinic_ref()),
            patient_id: Some(patient_id),
            person_id: None,
            detail: format!("Sent the unique code by {channel} to {recipient}."),
        },
    )
    .await?;
    Ok(issued)
}

/// What the printable page needs: the record and its pending code (only the one on the clinic's screen).
pub async fn printable_code(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    shown: &str,
) -> Result<(PatientRecord, IssuedCode), CoreError> {
    let (record, issued) = shown_code(ctx, staff, patient_id, shown).await?;
    audit::record(
        ctx,
        NewEvent {
            actor: staff.actor(),
            action: "link_code_printed",
            clinic: Some(staff.clinic_ref()),
            patient_id: Some(patient_id),
            person_id: None,
            detail: format!("Printed the unique code for {}.", record.name),
        },
    )
    .await?;
    Ok((record, issued))
}

/// Asks the linked patient to Upload now, by email or SMS, to `to` or to the account's own address.
pub async fn request_upload(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    channel: &str,
    to: Option<&str>,
    site_url: &str,
) -> Result<UploadRequest, CoreError> {
    Recipient::check_channel(channel)?;
    let typed = match to.map(str::trim).filter(|t| !t.is_empty()) {
        Some(to) => Some(Recipient::parse(channel, to)?),
        None => None,
    };
    let record = patient::get(ctx, staff.clinic.id, patient_id).await?;
    let LinkState::Linked { person_id, .. } = record.link else {
        return Err(CoreError::Conflict {
            code: "not_linked",
            message: "Link this record to the patient's personal account first.".into(),
        });
    };
    if !clinic_may_read(ctx, staff.clinic.id, person_id).await? {
        return Err(CoreError::Conflict {
            code: "not_linked",
            message: "The patient no longer shares their data with this clinic.".into(),
        });
    }
    let recipient = match typed {
        Some(recipient) => recipient,
        None => {
            let person = personal::get(ctx, person_id).await?;
            let own = match channel {
                "email" => person.email,
                "sms" => person.phone,
                _ => None,
            };
            let Some(own) = own else {
                return Err(CoreError::invalid(
                    "to",
                    "no_contact",
                    "The patient's account has no address for this channel. Enter one.",
                ));
            };
            Recipient::parse(channel, &own)?
        }
    };
    throttle::spend(ctx, MESSAGES_PER_CLINIC, &staff.clinic.id.to_string()).await?;
    let message = messages::upload_now(
        recipient,
        &staff.clinic.name,
        &format!("{}/personal/", site_url.trim_end_matches('/')),
    );
    let channel_name = message.channel().to_owned();
    let recipient = mask(message.recipient());
    ctx.notifier.send(message).await?;
    let now = ctx.clock.now();
    let request = UploadRequest {
        at: now,
        channel: channel_name.clone(),
    };
    for _ in 0..RETRIES {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        record.upload_request = Some(request.clone());
        let mut ops = vec![patient::update_op(&mut record)];
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "upload_requested",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: Some(person_id),
                detail: format!(
                    "Asked {} to Upload now by {channel_name} ({recipient}).",
                    record.name
                ),
            }
            .ops(now),
        );
        match ctx.store.transact(ops).await {
            Ok(()) => return Ok(request),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(busy())
}

/// An address or number with most of it hidden, for logs: `j***@example.net`, `+44*******123`.
fn mask(recipient: &str) -> String {
    match recipient.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => {
            let chars: Vec<char> = recipient.chars().collect();
            let keep_end = chars.len().saturating_sub(3);
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| if i < 3 || i >= keep_end { *c } else { '*' })
                .collect()
        }
    }
}

fn already_linked_record() -> CoreError {
    CoreError::Conflict {
        code: "already_linked",
        message:
            "This record is already linked to a personal account. Unlink it first to link another."
                .into(),
    }
}

fn busy() -> CoreError {
    CoreError::Conflict {
        code: "try_again",
        message: "The record changed while we were saving. Please try again.".into(),
    }
}
