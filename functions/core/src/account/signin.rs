//! Sign-in: one guarded credential check for both kinds of account.
//!
//! Unknown account and wrong password give the same error after the same work (a dummy argon2 check), and
//! both count toward the lockout of that email or username and of the source address, so neither timing nor
//! answers reveal which accounts exist.

use super::clinic::{self, ClinicUser};
use super::fields::{Email, Username};
use super::password::{Password, PasswordHash};
use super::personal::{self, Person};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::session::{self, NewSession, Principal};
use crate::throttle::{self, SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_SOURCE};

/// Signs a member of clinic staff in by email and password.
pub async fn clinic_user(
    ctx: &Ctx,
    email: &str,
    password: &str,
    source: &str,
) -> Result<(ClinicUser, NewSession), CoreError> {
    let email = Email::parse(email)?;
    let password = Password::for_sign_in(password)?;
    let account = format!("clinic:{}", email.as_str());
    guard(ctx, &account, source).await?;
    let user = clinic::find_user_by_email(ctx, &email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    settle(ctx, &account, source, password, stored).await?;
    let user = user.ok_or(CoreError::InvalidCredentials)?;
    let session = session::start(
        ctx,
        Principal::ClinicUser {
            clinic_id: user.clinic_id,
            user_id: user.id,
        },
    )
    .await?;
    Ok((user, session))
}

/// Checks a personal account's credentials without starting a session, under the same lockout as sign-in.
/// Linking on the clinic's screen uses this: the clinic learns only that the patient proved who they are.
pub async fn verify_person(
    ctx: &Ctx,
    username: &str,
    password: &str,
    source: &str,
) -> Result<Person, CoreError> {
    let username = Username::parse(username).map_err(|_| CoreError::InvalidCredentials)?;
    let password = Password::for_sign_in(password)?;
    let account = format!("person:{}", username.as_str());
    guard(ctx, &account, source).await?;
    let person = personal::find_by_username(ctx, &username).await?;
    let stored = person.as_ref().map(|p| p.password_hash.clone());
    settle(ctx, &account, source, password, stored).await?;
    person.ok_or(CoreError::InvalidCredentials)
}

/// Signs a patient in by username and password.
pub async fn person(
    ctx: &Ctx,
    username: &str,
    password: &str,
    source: &str,
) -> Result<(Person, NewSession), CoreError> {
    let person = verify_person(ctx, username, password, source).await?;
    personal::index_contacts(ctx, &person).await?;
    let session = session::start(
        ctx,
        Principal::Person {
            person_id: person.id,
        },
    )
    .await?;
    Ok((person, session))
}

/// Books the attempt against the source and the account before any password work, and refuses while
/// either is over its limit: counted first, so parallel guesses cannot all pass (docs: ARCHITECTURE.md,
/// "Lockout").
async fn guard(ctx: &Ctx, account: &str, source: &str) -> Result<(), CoreError> {
    throttle::reserve(ctx, SIGN_IN_PER_SOURCE, source).await?;
    throttle::reserve(ctx, SIGN_IN_PER_ACCOUNT, account).await
}

/// Verifies the password (or spends the same time on a dummy hash) and books the outcome.
async fn settle(
    ctx: &Ctx,
    account: &str,
    source: &str,
    password: Password,
    stored: Option<PasswordHash>,
) -> Result<(), CoreError> {
    let matched = super::password::off_thread(move || match stored {
        Some(hash) => password.matches(&hash),
        None => {
            password.match_against_nothing();
            false
        }
    })
    .await?;
    if matched {
        // A right password is no failure: the account's window closes, the source gets its attempt back.
        throttle::reset(ctx, SIGN_IN_PER_ACCOUNT, account).await?;
        throttle::refund(ctx, SIGN_IN_PER_SOURCE, source).await?;
        Ok(())
    } else {
        // Already counted by `guard`.
        Err(CoreError::InvalidCredentials)
    }
}
