//! Every key of the single table is built here, so the data model reads in one place (DESIGN §3).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | clinic | `CLINIC#<id>` | `META` |
//! | clinic user | `CLINIC#<id>` | `USER#<id>` |
//! | email → clinic user | `EMAIL#<normalized email>` | `META` (the login, and the clinic it opens) |
//! | staff login (email, name, password, second factors) | `LOGIN#<user id>` | `META` |
//! | a login's clinics (and how many) | `MEMBERSHIPS#<user id>` | `CLINIC#<id>` (and `COUNT`) |
//! | personal account | `PERSON#<id>` | `META` |
//! | username → person | `USERNAME#<normalized username>` | `META` |
//! | session | `SESSION#<sha256(token)>` | `META` |
//! | a principal's sessions | `SESSIONS#<principal>` | `<sha256(token)>` |
//! | attempt counter | `THROTTLE#<scope>#<sha256(subject)>` | `META` |
//! | patient record | `CLINIC#<id>` | `PATIENT#<id>` (gsi1: `PATIENTS#<clinic>` / `<folded name>#<id>`) |
//! | search token → record | `CLINIC#<id>` | `FIND#<token>#<patient id>` |
//! | link code | `CODE#<sha256(code)>` | `META` |
//! | link, person side | `PERSON#<id>` | `LINK#<clinic id>` |
//! | request a person previewed | `PERSON#<id>` | `PENDING#<sha256(code)>` |
//! | audit event | `PERSON#<id>` or `CLINIC#<id>` | `AUDIT#<ulid>` |
//! | device data of one UTC day and kind | `PERSON#<id>` | `DATA#<yyyy-mm-dd>#<kind>` |
//! | when data last arrived | `PERSON#<id>` | `DATAINFO` |
//! | CGM day tallies of recent local days | `PERSON#<id>` | `DATASUMMARY` |
//! | upload | `PERSON#<id>` | `UPLOAD#<ulid>` |
//! | upload token | `UPLOADTOKEN#<sha256(token)>` | `META` (and `PERSON#<id>` / `TOKEN#<id>`) |
//! | password reset token | `RESET#<sha256(token)>` | `META` |
//! | an account's newest reset token | `RESETFOR#<principal>` | `META` |
//! | recovery contact → person | `CONTACT#<email or +phone>` | `<person id>` |

use crate::account::{Email, Username};
use crate::ids::{ClinicId, ClinicUserId, PatientId, PersonId};
use crate::store::Key;

pub const META: &str = "META";

pub fn clinic(id: ClinicId) -> Key {
    Key::new(format!("CLINIC#{id}"), META)
}

pub fn clinic_user(clinic: ClinicId, user: ClinicUserId) -> Key {
    Key::new(format!("CLINIC#{clinic}"), format!("USER#{user}"))
}

/// A member of staff's login: who they are and how they sign in, shared by every clinic they belong to.
pub fn login(user: ClinicUserId) -> Key {
    Key::new(format!("LOGIN#{user}"), META)
}

pub fn memberships_pk(user: ClinicUserId) -> String {
    format!("MEMBERSHIPS#{user}")
}

/// One clinic a login belongs to (the clinic switcher's list).
pub fn membership(user: ClinicUserId, clinic: ClinicId) -> Key {
    Key::new(memberships_pk(user), format!("CLINIC#{clinic}"))
}

/// How many clinics a login belongs to: written with every membership, so the last one's removal
/// (which takes the login with it) and a new one cannot cross.
pub fn membership_count(user: ClinicUserId) -> Key {
    Key::new(memberships_pk(user), "COUNT")
}

pub fn email(email: &Email) -> Key {
    Key::new(format!("EMAIL#{}", email.as_str()), META)
}

pub fn person(id: PersonId) -> Key {
    Key::new(format!("PERSON#{id}"), META)
}

pub fn username(username: &Username) -> Key {
    Key::new(format!("USERNAME#{}", username.as_str()), META)
}

pub fn session(token_hash: &str) -> Key {
    Key::new(format!("SESSION#{token_hash}"), META)
}

pub fn principal_sessions_pk(principal: &str) -> String {
    format!("SESSIONS#{principal}")
}

pub fn principal_session(principal: &str, token_hash: &str) -> Key {
    Key::new(principal_sessions_pk(principal), token_hash)
}

pub fn reset_token(token_hash: &str) -> Key {
    Key::new(format!("RESET#{token_hash}"), META)
}

/// The newest reset token of an account (`USER#<id>` or `PERSON#<id>`): only that one works.
pub fn reset_latest(principal: &str) -> Key {
    Key::new(format!("RESETFOR#{principal}"), META)
}

/// The persons a recovery contact (a normalised email, or a phone in E.164) belongs to: one email may
/// serve several accounts (a parent's, for two children).
pub fn contact_pk(contact: &str) -> String {
    format!("CONTACT#{contact}")
}

pub fn contact(contact: &str, person: PersonId) -> Key {
    Key::new(contact_pk(contact), person.to_string())
}

pub fn throttle(scope: &str, subject_hash: &str) -> Key {
    Key::new(format!("THROTTLE#{scope}#{subject_hash}"), META)
}

pub fn clinic_pk(clinic: ClinicId) -> String {
    format!("CLINIC#{clinic}")
}

pub fn person_pk(person: PersonId) -> String {
    format!("PERSON#{person}")
}

pub fn patient(clinic: ClinicId, patient: PatientId) -> Key {
    Key::new(clinic_pk(clinic), format!("PATIENT#{patient}"))
}

/// The secondary-index key that lists a clinic's records sorted by name.
pub fn patient_by_name(clinic: ClinicId, folded_name: &str, patient: PatientId) -> Key {
    Key::new(
        patients_by_name_pk(clinic),
        format!("{folded_name}#{patient}"),
    )
}

pub fn patients_by_name_pk(clinic: ClinicId) -> String {
    format!("PATIENTS#{clinic}")
}

/// The secondary-index key of an archived record: the clinic's archived records, sorted by name
/// (they leave the list above, so neither the patient list nor triage shows them).
pub fn archived_patient_by_name(clinic: ClinicId, folded_name: &str, patient: PatientId) -> Key {
    Key::new(
        archived_patients_by_name_pk(clinic),
        format!("{folded_name}#{patient}"),
    )
}

pub fn archived_patients_by_name_pk(clinic: ClinicId) -> String {
    format!("ARCHIVED#{clinic}")
}

pub const FIND_PREFIX: &str = "FIND#";

pub fn patient_search_token(clinic: ClinicId, token: &str, patient: PatientId) -> Key {
    Key::new(clinic_pk(clinic), format!("{FIND_PREFIX}{token}#{patient}"))
}

pub fn link_code(code_hash: &str) -> Key {
    Key::new(format!("CODE#{code_hash}"), META)
}

pub const LINK_PREFIX: &str = "LINK#";

pub fn person_link(person: PersonId, clinic: ClinicId) -> Key {
    Key::new(person_pk(person), format!("{LINK_PREFIX}{clinic}"))
}

pub const PENDING_PREFIX: &str = "PENDING#";

pub fn person_pending(person: PersonId, code_hash: &str) -> Key {
    Key::new(person_pk(person), format!("{PENDING_PREFIX}{code_hash}"))
}

pub const AUDIT_PREFIX: &str = "AUDIT#";

pub fn audit(pk: String, event: ulid::Ulid) -> Key {
    Key::new(pk, format!("{AUDIT_PREFIX}{event}"))
}

pub const DATA_PREFIX: &str = "DATA#";

pub fn data_day(person: PersonId, day: jiff::civil::Date, kind: &str) -> Key {
    Key::new(person_pk(person), format!("{DATA_PREFIX}{day}#{kind}"))
}

pub fn data_info(person: PersonId) -> Key {
    Key::new(person_pk(person), "DATAINFO")
}

/// The person whose partition (`PERSON#<id>`) an item is in.
pub fn person_of(key: &Key) -> Option<PersonId> {
    key.pk
        .strip_prefix("PERSON#")
        .and_then(|id| id.parse().ok())
}

pub fn data_summary(person: PersonId) -> Key {
    Key::new(person_pk(person), "DATASUMMARY")
}

pub const UPLOAD_PREFIX: &str = "UPLOAD#";

pub fn upload(person: PersonId, upload: ulid::Ulid) -> Key {
    Key::new(person_pk(person), format!("{UPLOAD_PREFIX}{upload}"))
}
