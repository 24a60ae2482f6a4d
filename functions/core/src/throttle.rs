//! Fixed-window attempt counters: every limit glucolink keeps (sign-in, codes, sign-up, messages, password
//! resets, clinic verification emails), per account, source or clinic.
//!
//! A window opens at the first failure and lasts `window_seconds`; once `max` failures are counted in it,
//! further attempts are refused until it closes. Subjects are stored hashed, so the table holds no list of
//! tried usernames or addresses.

use crate::context::Ctx;
use crate::error::CoreError;
use crate::keys;
use crate::random::sha256_hex;

/// One kind of limit.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub scope: &'static str,
    pub max: i64,
    pub window_seconds: i64,
}

/// Failed sign-ins per account (email or username, whether or not it exists): 5 per 15 minutes.
pub const SIGN_IN_PER_ACCOUNT: Limit = Limit {
    scope: "signin-account",
    max: 5,
    window_seconds: 15 * 60,
};

/// Failed sign-ins per source address: 50 per 15 minutes (password spraying across accounts).
pub const SIGN_IN_PER_SOURCE: Limit = Limit {
    scope: "signin-source",
    max: 50,
    window_seconds: 15 * 60,
};

/// Unknown link codes entered per personal account: 10 per hour (codes have 50 bits; this keeps guessing
/// hopeless while forgiving typos).
pub const CODE_PER_ACCOUNT: Limit = Limit {
    scope: "code-account",
    max: 10,
    window_seconds: 3600,
};

/// Unknown link codes entered per source address: 30 per hour.
pub const CODE_PER_SOURCE: Limit = Limit {
    scope: "code-source",
    max: 30,
    window_seconds: 3600,
};

/// Sign-ups (clinic or personal) that pass validation, per source address: 60 per hour. Each answer says
/// whether an email or username is taken, so this bounds enumeration, while a clinic's or a hospital's
/// shared address can still sign a waiting room up.
pub const SIGN_UP_PER_SOURCE: Limit = Limit {
    scope: "signup-source",
    max: 60,
    window_seconds: 3600,
};

/// Messages (email, SMS) a clinic sends: 200 per hour, so a stolen staff session cannot spam.
pub const MESSAGES_PER_CLINIC: Limit = Limit {
    scope: "messages-clinic",
    max: 200,
    window_seconds: 3600,
};

/// Reset requests per typed email, username or phone: 5 an hour (whether or not an account exists).
pub const RESET_PER_ACCOUNT: Limit = Limit {
    scope: "reset-account",
    max: 5,
    window_seconds: 3600,
};

/// Reset requests and reset attempts per source address: 20 an hour.
pub const RESET_PER_SOURCE: Limit = Limit {
    scope: "reset-source",
    max: 20,
    window_seconds: 3600,
};

/// Verification emails a clinic asks for ("Send the link again"): 5 an hour.
pub const VERIFICATION_EMAILS_PER_CLINIC: Limit = Limit {
    scope: "verify-clinic",
    max: 5,
    window_seconds: 3600,
};

/// Passkey sign-ins started per source address: 300 per 15 minutes (each keeps a ceremony for 5 minutes;
/// the signatures themselves cannot be guessed, so the limit only bounds what one address can make the
/// store keep — high enough for a clinic whose staff share one address).
pub const PASSKEY_SIGN_INS_PER_SOURCE: Limit = Limit {
    scope: "passkey-source",
    max: 300,
    window_seconds: 15 * 60,
};

/// Recovery-contact confirmation messages per personal account: 5 an hour.
pub const CONTACT_VERIFICATIONS_PER_PERSON: Limit = Limit {
    scope: "contact-person",
    max: 5,
    window_seconds: 3600,
};

const COUNT: &str = "count";

/// Counts one failure; returns the count in the current window.
pub async fn record_failure(ctx: &Ctx, limit: Limit, subject: &str) -> Result<i64, CoreError> {
    let key = keys::throttle(limit.scope, &sha256_hex(subject));
    let expires_at = ctx.clock.epoch_seconds() + limit.window_seconds;
    Ok(ctx
        .store
        .increment(&key, COUNT, 1, Some(expires_at))
        .await?)
}

/// Clears the subject's window (after a successful sign-in).
pub async fn reset(ctx: &Ctx, limit: Limit, subject: &str) -> Result<(), CoreError> {
    let key = keys::throttle(limit.scope, &sha256_hex(subject));
    Ok(ctx
        .store
        .delete(&key, crate::store::Condition::None)
        .await?)
}

/// Reserves one attempt before the work it guards: counts it first, atomically, and refuses with
/// `TooManyAttempts` when the count is over the limit. Attempts in flight are counted, so parallel
/// requests (or parallel Lambdas) cannot all pass a check made before any of them is booked.
pub async fn reserve(ctx: &Ctx, limit: Limit, subject: &str) -> Result<(), CoreError> {
    let count = record_failure(ctx, limit, subject).await?;
    if count <= limit.max {
        return Ok(());
    }
    let key = keys::throttle(limit.scope, &sha256_hex(subject));
    let now = ctx.clock.epoch_seconds();
    let retry_after_seconds = ctx
        .store
        .get(&key)
        .await?
        .and_then(|item| item.expires_at)
        .map_or(limit.window_seconds, |at| (at - now).max(1));
    Err(CoreError::TooManyAttempts {
        retry_after_seconds,
    })
}

/// Gives back an attempt [`reserve`] counted, when it turned out not to be a failure (a right
/// password, a code that exists).
pub async fn refund(ctx: &Ctx, limit: Limit, subject: &str) -> Result<(), CoreError> {
    let key = keys::throttle(limit.scope, &sha256_hex(subject));
    if ctx.store.increment(&key, COUNT, -1, None).await? <= 0 {
        ctx.store
            .delete(&key, crate::store::Condition::None)
            .await?;
    }
    Ok(())
}

/// Spends one unit of an allowance (for actions that are limited whether or not they succeed):
/// refuses with `TooManyAttempts` once the window is full.
pub async fn spend(ctx: &Ctx, limit: Limit, subject: &str) -> Result<(), CoreError> {
    reserve(ctx, limit, subject).await
}
