//! What the clinic does with a linked record: unlink it (it stops seeing the person's data at once and
//! the record says who unlinked and when), or ask the patient to Upload now.

use super::{clinic_may_read, mask};
use crate::account::clinic::Staff;
use crate::account::personal;
use crate::audit::NewEvent;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PatientId;
use crate::keys;
use crate::messages;
use crate::notify::Recipient;
use crate::optimistic::{Commit, commit};
use crate::patient::{self, LinkState, UploadRequest};
use crate::store::{Condition, WriteOp};
use crate::throttle::{self, MESSAGES_PER_CLINIC};

/// The clinic unlinks a record: it stops seeing the person's data at once.
pub async fn unlink(ctx: &Ctx, staff: &Staff, patient_id: PatientId) -> Result<(), CoreError> {
    commit(ctx, || async move {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        let LinkState::Linked { person_id, .. } = record.link else {
            return Err(CoreError::Conflict {
                code: "not_linked",
                message: "This record is not linked.".into(),
            });
        };
        let now = ctx.clock.now();
        record.link = LinkState::Unlinked {
            since: now,
            by: staff.user.name.clone(),
        };
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
        Ok(Commit::new(ops, ()))
    })
    .await
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
        Some(to) => Some(Recipient::parse_in(channel, to, staff.clinic.country)?),
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
    let (request, channel_name, recipient) = (&request, &channel_name, &recipient);
    commit(ctx, || async move {
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
        Ok(Commit::new(ops, request.clone()))
    })
    .await
}
