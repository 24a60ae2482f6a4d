//! Link to Personal with the patient at the clinic's screen: the patient types their username and
//! password and accepts. The credentials are checked under the sign-in lockout and never stored; the
//! clinic gets no session of the patient. A record whose name or date of birth is not the account's is
//! refused (409 `identity_mismatch`, naming what differs) unless staff confirm it with a reason, which
//! is audited and leaves the link flagged "Check identity".

use super::consent::{link_item_op, refuse_if_already_sharing};
use super::{already_linked_record, codes::withdraw, mismatch_words};
use crate::account::clinic::Staff;
use crate::account::personal::Person;
use crate::account::signin;
use crate::audit::NewEvent;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PatientId;
use crate::optimistic::{Commit, commit};
use crate::patient::{self, IdentityCheck, LinkState, PatientRecord};

/// The most characters of a reason for linking despite a mismatch.
const MAX_REASON_CHARS: usize = 500;

/// What the clinic's screen sends.
#[derive(Debug, Default, Clone, Copy)]
pub struct CredentialsLink<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The patient's own "I agree" on the hand-off screen.
    pub consent: bool,
    /// Staff confirm that the account is the patient's although name or date of birth differ.
    pub confirm_mismatch: bool,
    /// Why (required with `confirm_mismatch`): "married name", "record had the wrong date"…
    pub reason: Option<&'a str>,
}

pub async fn link_with_credentials(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    input: CredentialsLink<'_>,
    source: &str,
) -> Result<(PatientRecord, Person), CoreError> {
    if !input.consent {
        return Err(CoreError::invalid(
            "consent",
            "consent_required",
            "The patient must confirm that they agree to share their data with the clinic.",
        ));
    }
    let reason = input.reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(CoreError::invalid(
            "reason",
            "invalid_reason",
            format!("Keep the reason under {MAX_REASON_CHARS} characters."),
        ));
    }
    if input.confirm_mismatch && reason.is_none() {
        return Err(CoreError::invalid(
            "reason",
            "reason_required",
            "Say why this account is the patient's although the details differ (for example: a new surname).",
        ));
    }
    // The record first: another clinic's id must not even reach the credential check.
    patient::require_active(&patient::get(ctx, staff.clinic.id, patient_id).await?)?;
    let person = &signin::verify_person(ctx, input.username, input.password, source).await?;
    commit(ctx, || async move {
        let mut record = patient::get(ctx, staff.clinic.id, patient_id).await?;
        patient::require_active(&record)?;
        if record.link.is_linked() {
            return Err(already_linked_record());
        }
        refuse_if_already_sharing(ctx, person, staff.clinic.id, &staff.clinic.name).await?;
        let check = IdentityCheck::compare(
            &record.name,
            record.date_of_birth,
            &person.name,
            person.date_of_birth,
        );
        if !check.differs.is_empty() && !input.confirm_mismatch {
            return Err(CoreError::IdentityMismatch {
                differs: check.differs.clone(),
                message: format!(
                    "{} Check that you opened the right record and that this is the patient's own account. Link anyway only if you are sure, and say why.",
                    mismatch_words(&check, &record, person)
                ),
            });
        }
        let now = ctx.clock.now();
        let mut ops = Vec::new();
        // A code still out for this record stops working (as before, its recipients are not told).
        withdraw(&mut record, "replaced", now, &mut ops);
        let confirmed = match (&check.differs[..], reason) {
            ([], _) | (_, None) => String::new(),
            (differs, Some(reason)) => format!(
                " Staff confirmed the link although the {} differ: {reason}",
                differs.join(" and ").replace('_', " ")
            ),
        };
        record.link = LinkState::Linked {
            person_id: person.id,
            since: now,
            by: person.name.clone(),
            identity: check,
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
                    "{} confirmed sharing with {} by entering their username and password on the clinic's screen.{confirmed}",
                    person.name, staff.clinic.name
                ),
            }
            .ops(now),
        );
        Ok(Commit::new(ops, (record.clone(), person.clone())))
    })
    .await
}
