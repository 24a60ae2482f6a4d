//! Every key of the single table is built here, so the data model reads in one place (DESIGN §3).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | clinic | `CLINIC#<id>` | `META` |
//! | clinic user | `CLINIC#<id>` | `USER#<id>` |
//! | email → clinic user | `EMAIL#<normalized email>` | `META` |
//! | personal account | `PERSON#<id>` | `META` |
//! | username → person | `USERNAME#<normalized username>` | `META` |
//! | session | `SESSION#<sha256(token)>` | `META` |
//! | a principal's sessions | `SESSIONS#<principal>` | `<sha256(token)>` |
//! | attempt counter | `THROTTLE#<scope>#<sha256(subject)>` | `META` |

use crate::account::{Email, Username};
use crate::ids::{ClinicId, ClinicUserId, PersonId};
use crate::store::Key;

pub const META: &str = "META";

pub fn clinic(id: ClinicId) -> Key {
    Key::new(format!("CLINIC#{id}"), META)
}

pub fn clinic_user(clinic: ClinicId, user: ClinicUserId) -> Key {
    Key::new(format!("CLINIC#{clinic}"), format!("USER#{user}"))
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

pub fn throttle(scope: &str, subject_hash: &str) -> Key {
    Key::new(format!("THROTTLE#{scope}#{subject_hash}"), META)
}
