//! Sign-in: one guarded credential check for both kinds of account.
//!
//! Unknown account and wrong password give the same error after the same work (a dummy argon2 check), and
//! both count toward the lockout of that email or username and of the source address, so neither timing nor
//! answers reveal which accounts exist.

use super::clinic::{self, ClinicUser};
use super::fields::{Email, Username};
use super::password::{Password, PasswordHash};
use super::personal::{self, Person};
use super::two_factor;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::session::{self, NewSession, Principal};
use crate::throttle::{self, SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_SOURCE};

/// What a right password leads to: a session, or, for an account with two-factor sign-in on, a
/// challenge to complete with a code (`two_factor::complete`).
#[derive(Debug)]
pub enum SignIn<A> {
    Session(A, NewSession),
    SecondFactor {
        challenge: String,
        factors: two_factor::SecondFactors,
    },
}

/// Signs a member of clinic staff in by email and password.
pub async fn clinic_user(
    ctx: &Ctx,
    email: &str,
    password: &str,
    source: &str,
) -> Result<SignIn<ClinicUser>, CoreError> {
    let email = Email::parse(email)?;
    let password = Password::for_sign_in(password)?;
    let account = format!("clinic:{}", email.as_str());
    guard(ctx, &account, source).await?;
    let user = clinic::find_user_by_email(ctx, &email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    settle(ctx, source, password, stored).await?;
    let user = user.ok_or(CoreError::InvalidCredentials)?;
    let principal = Principal::ClinicUser {
        clinic_id: user.clinic_id,
        user_id: user.id,
    };
    if user.second_factors.any() {
        // The right password is no failure, but the window stays open: wrong codes count in it.
        throttle::refund(ctx, SIGN_IN_PER_ACCOUNT, &account).await?;
        let challenge = two_factor::challenge(ctx, &principal, &account).await?;
        return Ok(SignIn::SecondFactor {
            challenge,
            factors: user.second_factors,
        });
    }
    throttle::reset(ctx, SIGN_IN_PER_ACCOUNT, &account).await?;
    let session = session::start(ctx, principal).await?;
    Ok(SignIn::Session(user, session))
}

/// Checks a personal account's credentials without starting a session, under the same lockout as sign-in.
/// Linking on the clinic's screen uses this: the clinic learns only that the patient proved who they are.
/// An account with two-factor sign-in on cannot be proven by a password alone: it is refused, and the
/// clinic is told to Generate a unique code instead.
pub async fn verify_person(
    ctx: &Ctx,
    username: &str,
    password: &str,
    source: &str,
) -> Result<Person, CoreError> {
    let person = check_person(ctx, username, password, source).await?;
    if person.second_factors.any() {
        return Err(CoreError::Conflict {
            code: "two_factor_on",
            message: "This account signs in with two factors, so it cannot be linked with a password here. Generate a unique code for the patient instead.".into(),
        });
    }
    throttle::reset(
        ctx,
        SIGN_IN_PER_ACCOUNT,
        &format!("person:{}", person.username),
    )
    .await?;
    Ok(person)
}

/// The person whose username and password these are (the account's lockout window stays open:
/// the caller closes it once the sign-in is complete).
async fn check_person(
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
    settle(ctx, source, password, stored).await?;
    person.ok_or(CoreError::InvalidCredentials)
}

/// Signs a patient in by username and password.
pub async fn person(
    ctx: &Ctx,
    username: &str,
    password: &str,
    source: &str,
) -> Result<SignIn<Person>, CoreError> {
    let person = check_person(ctx, username, password, source).await?;
    personal::index_contacts(ctx, &person).await?;
    let principal = Principal::Person {
        person_id: person.id,
    };
    let account = format!("person:{}", person.username);
    if person.second_factors.any() {
        // The right password is no failure, but the window stays open: wrong codes count in it.
        throttle::refund(ctx, SIGN_IN_PER_ACCOUNT, &account).await?;
        let challenge = two_factor::challenge(ctx, &principal, &account).await?;
        return Ok(SignIn::SecondFactor {
            challenge,
            factors: person.second_factors,
        });
    }
    throttle::reset(ctx, SIGN_IN_PER_ACCOUNT, &account).await?;
    let session = session::start(ctx, principal).await?;
    Ok(SignIn::Session(person, session))
}

/// Checks the password of a signed-in person before something that cannot be undone (deleting their
/// account), under the same lockout as sign-in.
pub async fn confirm_password(
    ctx: &Ctx,
    person: &Person,
    password: &str,
    source: &str,
) -> Result<(), CoreError> {
    let account = format!("person:{}", person.username);
    check_password(
        ctx,
        &account,
        person.password_hash.clone(),
        password,
        source,
    )
    .await
}

/// Checks the password of whoever is signed in (staff or patient) before a change to how they sign in
/// (removing a passkey), under the same lockout as sign-in.
pub async fn confirm_own_password(
    ctx: &Ctx,
    principal: &Principal,
    password: &str,
    source: &str,
) -> Result<(), CoreError> {
    let (account, hash) = match *principal {
        Principal::ClinicUser { clinic_id, user_id } => {
            let user = clinic::get_user(ctx, clinic_id, user_id).await?;
            (format!("clinic:{}", user.email), user.password_hash)
        }
        Principal::Person { person_id } => {
            let person = personal::get(ctx, person_id).await?;
            (format!("person:{}", person.username), person.password_hash)
        }
    };
    check_password(ctx, &account, hash, password, source).await
}

/// The password of a signed-in account (`account` names its lockout window), checked under the same
/// lockout as sign-in; a wrong one is `wrong_password`, beside the field.
async fn check_password(
    ctx: &Ctx,
    account: &str,
    hash: PasswordHash,
    password: &str,
    source: &str,
) -> Result<(), CoreError> {
    let password = Password::for_sign_in(password).map_err(|_| wrong_password())?;
    guard(ctx, account, source).await?;
    settle(ctx, source, password, Some(hash))
        .await
        .map_err(|e| match e {
            CoreError::InvalidCredentials => wrong_password(),
            other => other,
        })?;
    throttle::reset(ctx, SIGN_IN_PER_ACCOUNT, account).await
}

fn wrong_password() -> CoreError {
    CoreError::invalid(
        "password",
        "wrong_password",
        "That is not your password. Type the password you sign in with.",
    )
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
        // A right password is no failure: the source gets its attempt back. The account's window closes
        // once the sign-in is complete (after the second factor, for an account that has one), so a
        // known password cannot reopen unlimited guessing of codes.
        throttle::refund(ctx, SIGN_IN_PER_SOURCE, source).await?;
        Ok(())
    } else {
        // Already counted by `guard`.
        Err(CoreError::InvalidCredentials)
    }
}
