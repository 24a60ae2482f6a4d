//! The clinic's side of a unique code: generate it (never silently replacing one the patient may hold),
//! show it again while it is pending, share it by email or SMS, print it, cancel it. Whoever received a
//! code that stops working (replaced or cancelled) is told so at the same address.

use jiff::Timestamp;

use super::code::LinkCode;
use super::{CODE_MEMORY_DAYS, accept_url, already_linked_record, mask};
use crate::account::clinic::Staff;
use crate::audit::{self, NewEvent};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PatientId;
use crate::keys;
use crate::messages;
use crate::notify::Recipient;
use crate::optimistic::{Commit, commit};
use crate::patient::{self, LinkState, PatientRecord};
use crate::store::{Condition, Item, WriteOp};
use crate::throttle::{self, MESSAGES_PER_CLINIC};

/// How long a code stays valid.
pub const CODE_VALID_DAYS: i64 = 7;
/// At most this many addresses are remembered per code (to tell them when it stops working).
const MAX_SENT_TO: usize = 5;

/// A code as the clinic sees it: shown on the Patient Profile while it is pending.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code: LinkCode,
    pub expires_at: Timestamp,
}

/// The record's pending code, with where it was sent (masked).
#[derive(Debug, Clone)]
pub struct PendingCode {
    pub issued: IssuedCode,
    pub created_at: Timestamp,
    pub sent_to: Vec<String>,
}

/// Generates a unique code for a record. While another code is pending the answer is 409
/// `code_pending` (the patient may hold it on paper or in a message) unless `replace` is set; a replaced
/// code stops working and whoever received it is told.
pub async fn generate_code(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    replace: bool,
) -> Result<IssuedCode, CoreError> {
    let (issued, withdrawn) = commit(ctx, || async move {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        patient::require_active(&record)?;
        if record.link.is_linked() {
            return Err(already_linked_record());
        }
        if let LinkState::Pending { expires_at, .. } = record.link
            && !replace
        {
            return Err(CoreError::Conflict {
                code: "code_pending",
                message: format!(
                    "A code for {} is already waiting for the patient (valid until {}). Share or print that code, or choose to replace it: the old one will stop working.",
                    record.name,
                    messages::readable(expires_at)
                ),
            });
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
        let was_pending = matches!(record.link, LinkState::Pending { .. });
        let withdrawn = withdraw(&mut record, "replaced", now, &mut ops);
        record.link = LinkState::Pending {
            expires_at,
            since: now,
            by: staff.user.name.clone(),
        };
        record.code_hash = Some(code.hash());
        record.pending_code = Some(code.to_string());
        ops.push(patient::update_op(&mut record));
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "link_code_created",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: None,
                detail: format!(
                    "Generated a unique code for {}, valid until {}{}.",
                    record.name,
                    messages::readable(expires_at),
                    if was_pending {
                        "; the earlier code stopped working"
                    } else {
                        ""
                    }
                ),
            }
            .ops(now),
        );
        Ok(Commit::new(ops, (IssuedCode { code, expires_at }, withdrawn)))
    })
    .await?;
    tell_withdrawn(ctx, staff, patient_id, withdrawn, true).await?;
    Ok(issued)
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

/// Retires the record's pending code, if one is out (it is remembered for a while so that whoever types
/// it learns why it no longer works), and answers where it had been sent, to tell them. A code that ran
/// out is left to say "expired".
pub(super) fn withdraw(
    record: &mut PatientRecord,
    status: &str,
    now: Timestamp,
    ops: &mut Vec<WriteOp>,
) -> Vec<String> {
    let (hash, sent_to) = record.forget_code();
    if let Some(old) = hash
        && matches!(record.link, LinkState::Pending { .. })
    {
        ops.push(retire_code_op(&old, status, now));
    }
    sent_to
}

fn retire_code_op(code_hash: &str, status: &str, now: Timestamp) -> WriteOp {
    WriteOp::Put {
        item: Item::new(keys::link_code(code_hash))
            .with_s("status", status)
            .expiring_at(now.as_second() + CODE_MEMORY_DAYS * 86_400),
        condition: Condition::None,
    }
}

/// Tells each address a withdrawn code went to that it no longer works. The change itself has landed;
/// each notice sent or not is written to the audit log, never dropped silently.
async fn tell_withdrawn(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    sent_to: Vec<String>,
    replaced: bool,
) -> Result<(), CoreError> {
    for address in sent_to {
        let Some((channel, to)) = address.split_once(':') else {
            continue;
        };
        let Ok(recipient) = Recipient::parse(channel, to) else {
            continue;
        };
        let message = messages::code_withdrawn(recipient, &staff.clinic.name, replaced);
        let detail = match ctx.notifier.send(message).await {
            Ok(()) => format!(
                "Told {} that the earlier unique code no longer works.",
                mask(to)
            ),
            Err(error) => format!(
                "Could not tell {} that the earlier unique code no longer works ({error}).",
                mask(to)
            ),
        };
        audit::record(
            ctx,
            NewEvent {
                actor: staff.actor(),
                action: "link_code_withdrawn_notice",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: None,
                detail,
            },
        )
        .await?;
    }
    Ok(())
}

/// Cancels the record's pending code; whoever received it is told it no longer works.
pub async fn cancel_code(ctx: &Ctx, staff: &Staff, patient_id: PatientId) -> Result<(), CoreError> {
    let withdrawn = commit(ctx, || async move {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        if !matches!(record.link, LinkState::Pending { .. }) || record.code_hash.is_none() {
            return Err(no_pending_code());
        }
        let now = ctx.clock.now();
        let mut ops = Vec::new();
        let withdrawn = withdraw(&mut record, "cancelled", now, &mut ops);
        record.link = LinkState::NotLinked;
        ops.push(patient::update_op(&mut record));
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
        Ok(Commit::new(ops, withdrawn))
    })
    .await?;
    tell_withdrawn(ctx, staff, patient_id, withdrawn, false).await
}

fn no_pending_code() -> CoreError {
    CoreError::Conflict {
        code: "no_pending_code",
        message: "This record has no pending code. Generate a unique code first.".into(),
    }
}

/// The record's pending code, to show again on the Patient Profile (none when no code is out, or for a
/// code made before codes were kept for the clinic).
pub fn pending_code(record: &PatientRecord) -> Option<PendingCode> {
    let LinkState::Pending {
        expires_at, since, ..
    } = &record.link
    else {
        return None;
    };
    let code = LinkCode::parse(record.pending_code.as_deref()?).ok()?;
    Some(PendingCode {
        issued: IssuedCode {
            code,
            expires_at: *expires_at,
        },
        created_at: *since,
        sent_to: record
            .code_sent_to
            .iter()
            .filter_map(|a| a.split_once(':').map(|(_, to)| mask(to)))
            .collect(),
    })
}

/// The record's pending code: the one `shown` on the clinic's screen if given (refused when it is no
/// longer the pending one), else whatever code is pending.
fn the_pending_code(
    record: &PatientRecord,
    shown: Option<LinkCode>,
) -> Result<IssuedCode, CoreError> {
    let pending = match (&record.link, &record.code_hash) {
        (LinkState::Pending { expires_at, .. }, Some(hash)) => Some((*expires_at, hash.clone())),
        _ => None,
    };
    match (pending, shown) {
        (Some((expires_at, hash)), Some(code)) if hash == code.hash() => {
            Ok(IssuedCode { code, expires_at })
        }
        (Some(_), Some(_)) => Err(CoreError::Conflict {
            code: "no_pending_code",
            message: "This code is no longer the record's pending code: it was replaced or cancelled. Use the code now on the Patient Profile.".into(),
        }),
        (Some(_), None) => pending_code(record).map(|p| p.issued).ok_or_else(|| {
            CoreError::Conflict {
                code: "no_pending_code",
                message: "The pending code was made before codes were kept for the clinic to show again. Generate a unique code to replace it.".into(),
            }
        }),
        (None, _) => Err(no_pending_code()),
    }
}

/// Shares the record's code with the patient by email or SMS: the code `shown` on the clinic's screen,
/// or without it the pending code, or — when no code is out — a new one. Returns the code that was sent.
pub async fn share_code(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    to: Recipient,
    shown: Option<&str>,
    site_url: &str,
) -> Result<IssuedCode, CoreError> {
    // Check everything the request says before anything is spent or written.
    let record = patient::get(ctx, staff.clinic.id, patient_id).await?;
    if record.link.is_linked() {
        return Err(already_linked_record());
    }
    let shown = shown.map(LinkCode::parse).transpose()?;
    let existing = match (&shown, &record.link) {
        (Some(_), _) | (None, LinkState::Pending { .. }) => Some(the_pending_code(&record, shown)?),
        (None, _) => None,
    };
    throttle::spend(ctx, MESSAGES_PER_CLINIC, &staff.clinic.id.to_string()).await?;
    let issued = match existing {
        Some(issued) => issued,
        None => generate_code(ctx, staff, patient_id, false).await?,
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
    let address = format!(
        "{}:{}",
        if channel == "email" { "email" } else { "sms" },
        message.recipient()
    );
    let recipient = mask(message.recipient());
    ctx.notifier.send(message).await?;
    let hash = issued.code.hash();
    let (hash, address, recipient) = (&hash, &address, &recipient);
    commit(ctx, || async move {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        let mut ops = Vec::new();
        // Remember the address only while this code is still the pending one.
        if record.code_hash.as_deref() == Some(hash.as_str())
            && !record.code_sent_to.contains(address)
            && record.code_sent_to.len() < MAX_SENT_TO
        {
            record.code_sent_to.push(address.clone());
            ops.push(patient::update_op(&mut record));
        }
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "link_code_sent",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: None,
                detail: format!("Sent the unique code by {channel} to {recipient}."),
            }
            .ops(ctx.clock.now()),
        );
        Ok(Commit::new(ops, ()))
    })
    .await?;
    Ok(issued)
}

/// What the printable page needs: the record and its pending code (the one `shown`, or the pending one).
pub async fn printable_code(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    shown: Option<&str>,
) -> Result<(PatientRecord, IssuedCode), CoreError> {
    let shown = shown.map(LinkCode::parse).transpose()?;
    let record = patient::get(ctx, staff.clinic.id, patient_id).await?;
    let issued = the_pending_code(&record, shown)?;
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
