//! Linking a clinic's patient record to the patient's personal account, the heart of the product:
//! a unique code the patient accepts on their Data Sharing page, or the patient's own credentials typed
//! on the clinic's screen; then unlinking (by the clinic) and revoking (by the patient).
//!
//! A link is two facts written in one transaction: the record says `linked` to a person, and the person
//! holds a `LINK#<clinic>` item (at most one per clinic). Every change writes its audit events in the
//! same transaction, and every change of a record is an optimistic write ([`crate::optimistic`]).
//! Codes are single use: accepting flips the code's `status` from `pending` under a condition, so of two
//! people redeeming one code at once exactly one wins.
//!
//! Before any link the account's name and date of birth are compared with the record's
//! ([`IdentityCheck`]): a mismatch is refused unless whoever links confirms it (staff with a reason on
//! the credentials path, the patient on the code path), and the link then carries the flag until staff
//! correct the record or unlink.
//!
//! One file per side: [`codes`] (the clinic issues, shares, prints and cancels codes), [`consent`] (the
//! patient previews, accepts, declines and stops sharing), [`credentials`] (the patient at the clinic's
//! screen), [`records`] (unlink, Upload now).

pub mod code;
mod codes;
mod consent;
mod credentials;
mod records;

pub use codes::{
    CODE_VALID_DAYS, IssuedCode, PendingCode, cancel_code, generate_code, pending_code,
    printable_code, share_code,
};
pub use consent::{
    CodeRef, LinkedRecord, PendingRequest, ShareRequest, SharedWith, Sharing, WHAT_THE_CLINIC_SEES,
    accept, decline, preview, revoke, sharing,
};
pub use credentials::{CredentialsLink, link_with_credentials};
pub use records::{request_upload, unlink};

pub use crate::patient::{Identity, IdentityCheck};

use crate::account::personal::Person;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::{ClinicId, PersonId};
use crate::keys;
use crate::patient::PatientRecord;

/// How long a used, cancelled or expired code is remembered, so its answer stays specific.
const CODE_MEMORY_DAYS: i64 = 30;

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
pub fn accept_url(site_url: &str, code: &code::LinkCode) -> String {
    format!(
        "{}/personal/sharing?code={code}",
        site_url.trim_end_matches('/')
    )
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

/// The words staff and patients read about a mismatch: what differs, both ways ("the personal
/// account's" is the account's owner speaking of it in the third person; the patient side rewords it).
fn mismatch_words(check: &IdentityCheck, record: &PatientRecord, person: &Person) -> String {
    let mut parts = Vec::new();
    if check.differs.contains(&"name") {
        parts.push(format!(
            "the name on the record is {} but the personal account's is {}",
            record.name, person.name
        ));
    }
    if check.differs.contains(&"date_of_birth") {
        parts.push(format!(
            "the date of birth on the record is {} but the personal account's is {}",
            crate::written_date::spelled(record.date_of_birth),
            person
                .date_of_birth
                .map(crate::written_date::spelled)
                .unwrap_or_else(|| "not given".to_owned())
        ));
    }
    let mut text = parts.join(", and ");
    if let Some(first) = text.get(0..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text + "."
}
