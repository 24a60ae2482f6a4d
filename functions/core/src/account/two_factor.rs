//! Two-factor sign-in with an authenticator app (TOTP, RFC 6238: 6 digits, 30-second steps, SHA-1 as
//! every app supports) and one-time recovery codes, for clinic staff and patients alike.
//!
//! Rules (docs/ACCOUNTS.md, "Two-factor sign-in"): the secret is 160 random bits kept in the store
//! (encrypted at rest by DynamoDB); a code is accepted one step either side of now, and never twice
//! (the last accepted step is kept and only a later one passes, under a condition, so a replay within
//! the window fails even from two Lambdas at once). A right password of an account with two-factor on
//! starts a challenge (256 random bits, stored hashed, 5 minutes, 5 tries), not a session. Ten recovery
//! codes (50 bits each, stored hashed) each work once. Enrolment, removal and use are audited.

use jiff::Timestamp;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::clinic;
use super::personal;
use crate::audit::{Actor, NewEvent};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::{ClinicId, PersonId};
use crate::keys;
use crate::link::code::LinkCode;
use crate::random::{sha256_hex, token_256};
use crate::session::Principal;
use crate::store::{Condition, Item, Key, Query, StoreError, Value, WriteOp, query_all};
use crate::throttle::{self, SIGN_IN_PER_ACCOUNT};

/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "glucolink";
/// How long a sign-in challenge waits for its code.
pub const CHALLENGE_MINUTES: i64 = 5;
/// Wrong codes a challenge takes before it ends (the account's sign-in lockout counts them too).
pub const CHALLENGE_TRIES: i64 = 5;
/// Recovery codes given at enrolment.
pub const RECOVERY_CODES: usize = 10;

const SECRET: &str = "secret";
const CONFIRMED: &str = "confirmed";
const LAST_STEP: &str = "last_step";
/// The attribute of the account item that says two-factor sign-in is on.
pub(crate) const ON: &str = "two_factor";

fn totp_key(subject: &str) -> Key {
    Key::new(format!("TOTP#{subject}"), keys::META)
}

fn recovery_pk(subject: &str) -> String {
    format!("RECOVERY#{subject}")
}

fn challenge_key(token_hash: &str) -> Key {
    Key::new(format!("CHALLENGE#{token_hash}"), keys::META)
}

fn totp(secret: Vec<u8>, account_name: &str) -> Result<Totp, CoreError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::new(secret.into_boxed_slice()))
        .with_issuer(Some(ISSUER))
        .with_account_name(account_name.replace(':', " "))
        .build()
        .map_err(|e| CoreError::Internal(format!("totp: {e}")))
}

/// What the person adds to their authenticator app.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Enrolment {
    /// The secret in base32, for typing into the app.
    pub secret: String,
    /// `otpauth://totp/glucolink:…?secret=…&issuer=glucolink`, for the QR code.
    pub otpauth_uri: String,
}

/// The second factors an account has, as its item says: an authenticator app, passkeys, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SecondFactors {
    /// Signs in with a code from an authenticator app (TOTP) after the password.
    pub authenticator_app: bool,
    /// How many passkeys the account holds.
    pub passkeys: i64,
}

impl SecondFactors {
    /// Read from an account item.
    pub(crate) fn of(item: &Item) -> Self {
        Self {
            authenticator_app: item.attrs.get(ON) == Some(&Value::Bool(true)),
            passkeys: item.n(super::passkey::COUNT).unwrap_or(0),
        }
    }

    /// Whether signing in takes a second factor.
    pub fn any(&self) -> bool {
        self.authenticator_app || self.passkeys > 0
    }
}

/// Whether two-factor sign-in is on, and how many recovery codes are left.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub on: bool,
    pub recovery_codes_left: usize,
}

/// Starts enrolment: a new secret, waiting for a first code from the app. Starting again replaces a
/// waiting secret; with two-factor already on it is refused (remove it first).
pub async fn start(
    ctx: &Ctx,
    principal: &Principal,
    account_name: &str,
) -> Result<Enrolment, CoreError> {
    let subject = principal.subject();
    let existing = ctx.store.get(&totp_key(&subject)).await?;
    if existing.as_ref().and_then(|i| i.attrs.get(CONFIRMED)) == Some(&Value::Bool(true)) {
        return Err(CoreError::Conflict {
            code: "two_factor_on",
            message: "Two-factor sign-in is already on. Turn it off first to use another app."
                .into(),
        });
    }
    let mut secret = vec![0u8; 20];
    getrandom::fill(&mut secret).map_err(|e| CoreError::Internal(format!("no randomness: {e}")))?;
    let totp = totp(secret.clone(), account_name)?;
    let enrolment = Enrolment {
        secret: totp.secret().to_base32(),
        otpauth_uri: totp
            .to_url()
            .map_err(|e| CoreError::Internal(format!("totp url: {e}")))?,
    };
    let condition = match existing {
        Some(_) => Condition::Equals(CONFIRMED.into(), Value::Bool(false)),
        None => Condition::NotExists,
    };
    let item = Item::new(totp_key(&subject))
        .with(SECRET, Value::B(secret))
        .with(CONFIRMED, Value::Bool(false))
        .with_s("account_name", account_name);
    match ctx.store.put(item, condition).await {
        Ok(()) => Ok(enrolment),
        Err(StoreError::ConditionFailed) => Err(CoreError::Conflict {
            code: "two_factor_on",
            message: "Two-factor sign-in was turned on meanwhile.".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

fn wrong_code() -> CoreError {
    CoreError::invalid(
        "code",
        "wrong_code",
        "That code is not right. Type the 6 digits your authenticator app shows now, or one of your recovery codes.",
    )
}

/// A 6-digit code from an app, with spaces allowed ("123 456").
fn app_code(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Confirms enrolment with a first code from the app: two-factor sign-in is on from now, and the
/// recovery codes (shown once) are returned.
pub async fn confirm(
    ctx: &Ctx,
    principal: &Principal,
    actor: Actor,
    clinic: Option<(ClinicId, String)>,
    code: &str,
) -> Result<Vec<String>, CoreError> {
    let subject = principal.subject();
    let item = ctx.store.get(&totp_key(&subject)).await?;
    let Some(item) = item.filter(|i| i.attrs.get(CONFIRMED) == Some(&Value::Bool(false))) else {
        return Err(CoreError::Conflict {
            code: "no_enrolment",
            message: "Start setting up two-factor sign-in first (or it is already on).".into(),
        });
    };
    let code = app_code(code).ok_or_else(wrong_code)?;
    let totp = totp(
        item.b(SECRET)
            .ok_or_else(|| CoreError::Store(StoreError::Corrupt("totp secret".into())))?
            .to_vec(),
        item.s("account_name").unwrap_or(ISSUER),
    )?;
    let now = ctx.clock.now();
    let step = check(&totp, &code, now).ok_or_else(wrong_code)?;
    let mut ops = vec![WriteOp::Put {
        item: item
            .with(CONFIRMED, Value::Bool(true))
            .with_n(LAST_STEP, step),
        condition: Condition::Equals(CONFIRMED.into(), Value::Bool(false)),
    }];
    ops.extend(forget_recovery_codes(ctx, &subject).await?);
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = LinkCode::generate()?;
        ops.push(WriteOp::Put {
            item: Item::new(Key::new(recovery_pk(&subject), code.hash())),
            condition: Condition::NotExists,
        });
        codes.push(code.to_string());
    }
    let account = super::login::account_item(ctx, principal)
        .await?
        .ok_or(CoreError::NotFound)?;
    // As read: a password reset meanwhile is not undone.
    let condition = Condition::unchanged_from(&account, &["password_hash", ON]);
    ops.push(WriteOp::Put {
        item: account.with(ON, Value::Bool(true)),
        condition,
    });
    ops.extend(
        audit(
            principal,
            actor,
            clinic,
            "two_factor_enabled",
            "Turned on two-factor sign-in with an authenticator app.".into(),
        )
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(codes),
        Err(StoreError::TransactionCanceled { .. }) => Err(CoreError::Conflict {
            code: "no_enrolment",
            message: "Two-factor sign-in changed meanwhile. Reload the page and try again.".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

async fn forget_recovery_codes(ctx: &Ctx, subject: &str) -> Result<Vec<WriteOp>, CoreError> {
    Ok(
        query_all(ctx.store.as_ref(), Query::prefix(recovery_pk(subject), ""))
            .await?
            .into_iter()
            .map(|item| WriteOp::Delete {
                key: item.key,
                condition: Condition::None,
            })
            .collect(),
    )
}

/// The step a code matches (one step either side of now), if any.
fn check(totp: &Totp, code: &str, now: Timestamp) -> Option<i64> {
    let seconds = u64::try_from(now.as_second()).ok()?;
    totp.check(code, seconds)
        .and_then(|step| i64::try_from(step).ok())
}

pub(crate) fn audit(
    principal: &Principal,
    actor: Actor,
    clinic: Option<(ClinicId, String)>,
    action: &'static str,
    detail: String,
) -> NewEvent {
    NewEvent {
        actor,
        action,
        clinic,
        patient_id: None,
        person_id: match *principal {
            Principal::Person { person_id } => Some(person_id),
            Principal::ClinicUser { .. } => None,
        },
        detail,
    }
}

/// Whether two-factor sign-in is on for the account, and the recovery codes left.
pub async fn status(ctx: &Ctx, principal: &Principal) -> Result<Status, CoreError> {
    let subject = principal.subject();
    let on = ctx
        .store
        .get(&totp_key(&subject))
        .await?
        .is_some_and(|i| i.attrs.get(CONFIRMED) == Some(&Value::Bool(true)));
    let left = if on {
        query_all(ctx.store.as_ref(), Query::prefix(recovery_pk(&subject), ""))
            .await?
            .len()
    } else {
        0
    };
    Ok(Status {
        on,
        recovery_codes_left: left,
    })
}

/// Checks a code from the app or a recovery code for the account, spending it: an app code's step is
/// remembered (no replay), a recovery code is deleted. Returns whether it was a recovery code.
async fn spend_code(ctx: &Ctx, subject: &str, raw: &str) -> Result<bool, CoreError> {
    let item = ctx
        .store
        .get(&totp_key(subject))
        .await?
        .filter(|i| i.attrs.get(CONFIRMED) == Some(&Value::Bool(true)))
        .ok_or_else(wrong_code)?;
    if let Some(code) = app_code(raw) {
        let totp = totp(
            item.b(SECRET)
                .ok_or_else(|| CoreError::Store(StoreError::Corrupt("totp secret".into())))?
                .to_vec(),
            item.s("account_name").unwrap_or(ISSUER),
        )?;
        let step = check(&totp, &code, ctx.clock.now()).ok_or_else(wrong_code)?;
        let last = item.n(LAST_STEP).unwrap_or(0);
        if step <= last {
            // Already used (or an older one): a code works once.
            return Err(wrong_code());
        }
        match ctx
            .store
            .put(
                item.with_n(LAST_STEP, step),
                Condition::Equals(LAST_STEP.into(), Value::N(last)),
            )
            .await
        {
            Ok(()) => Ok(false),
            Err(StoreError::ConditionFailed) => Err(wrong_code()),
            Err(other) => Err(other.into()),
        }
    } else {
        let code = LinkCode::parse(raw).map_err(|_| wrong_code())?;
        match ctx
            .store
            .delete(
                &Key::new(recovery_pk(subject), code.hash()),
                Condition::Exists,
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Err(wrong_code()),
            Err(other) => Err(other.into()),
        }
    }
}

/// Proves the signed-in person is who they say with a current code or a recovery code (spending it),
/// before something that cannot be undone.
pub async fn prove(ctx: &Ctx, principal: &Principal, code: &str) -> Result<(), CoreError> {
    spend_code(ctx, &principal.subject(), code)
        .await
        .map(|_| ())
}

/// Every item of an account's two-factor sign-in: its secret and recovery codes.
pub(crate) async fn keys_of(ctx: &Ctx, subject: &str) -> Result<Vec<Key>, CoreError> {
    let mut keys = vec![totp_key(subject)];
    keys.extend(
        query_all(ctx.store.as_ref(), Query::prefix(recovery_pk(subject), ""))
            .await?
            .into_iter()
            .map(|item| item.key),
    );
    Ok(keys)
}

/// After a right password of an account with two-factor on: a challenge the browser completes with a
/// code. The token is returned once; the store keeps its hash.
pub async fn challenge(
    ctx: &Ctx,
    principal: &Principal,
    lockout_subject: &str,
) -> Result<String, CoreError> {
    let token = token_256()?;
    let expires = ctx.clock.epoch_seconds() + CHALLENGE_MINUTES * 60;
    let item = with_principal(
        Item::new(challenge_key(&sha256_hex(&token)))
            .with_s("subject", principal.subject())
            .with_s("lockout", lockout_subject)
            .with_n("tries", 0)
            .expiring_at(expires),
        principal,
    );
    ctx.store.put(item, Condition::NotExists).await?;
    Ok(token)
}

/// `item` with whose it is (kind and ids), read back by [`principal_of`].
pub(crate) fn with_principal(item: Item, principal: &Principal) -> Item {
    match *principal {
        Principal::ClinicUser { clinic_id, user_id } => item
            .with_s("kind", "clinic_user")
            .with_s("clinic_id", clinic_id.to_string())
            .with_s("user_id", user_id.to_string()),
        Principal::Person { person_id } => item
            .with_s("kind", "person")
            .with_s("person_id", person_id.to_string()),
    }
}

/// Whose an item written by [`with_principal`] is.
pub(crate) fn principal_of(item: &Item) -> Result<Principal, CoreError> {
    let corrupt = || CoreError::Store(StoreError::Corrupt(format!("account of {}", item.key.pk)));
    Ok(match item.require_s("kind")? {
        "clinic_user" => Principal::ClinicUser {
            clinic_id: item
                .require_s("clinic_id")?
                .parse()
                .map_err(|_| corrupt())?,
            user_id: item.require_s("user_id")?.parse().map_err(|_| corrupt())?,
        },
        "person" => Principal::Person {
            person_id: item
                .require_s("person_id")?
                .parse::<PersonId>()
                .map_err(|_| corrupt())?,
        },
        _ => return Err(corrupt()),
    })
}

fn challenge_gone() -> CoreError {
    CoreError::Gone {
        code: "challenge_expired",
        message: "This sign-in took too long or had too many wrong codes. Sign in again with your password.".into(),
    }
}

/// Completes a sign-in challenge with a code from the app or a recovery code. Wrong codes count toward
/// the challenge's tries and the account's sign-in lockout. Returns whose sign-in it is.
pub async fn complete(ctx: &Ctx, token: &str, code: &str) -> Result<Principal, CoreError> {
    if !crate::random::looks_like_token_256(token) {
        return Err(challenge_gone());
    }
    let key = challenge_key(&sha256_hex(token));
    let item = ctx.store.get(&key).await?.ok_or_else(challenge_gone)?;
    let lockout = item.require_s("lockout")?.to_owned();
    let subject = item.require_s("subject")?.to_owned();
    let principal = principal_of(&item)?;
    throttle::reserve(ctx, SIGN_IN_PER_ACCOUNT, &lockout).await?;
    match spend_code(ctx, &subject, code).await {
        Ok(recovery) => {
            // The sign-in is complete: the account's window closes (as after a right password alone).
            throttle::reset(ctx, SIGN_IN_PER_ACCOUNT, &lockout).await?;
            ctx.store.delete(&key, Condition::None).await?;
            let (actor, clinic) = who(ctx, &principal).await?;
            let detail = if recovery {
                "Signed in with a recovery code (it cannot be used again).".to_owned()
            } else {
                "Signed in with a code from the authenticator app.".to_owned()
            };
            let action = if recovery {
                "recovery_code_used"
            } else {
                "two_factor_used"
            };
            crate::audit::record(ctx, audit(&principal, actor, clinic, action, detail)).await?;
            Ok(principal)
        }
        Err(error) => {
            let tries = ctx.store.increment(&key, "tries", 1, None).await?;
            if tries >= CHALLENGE_TRIES {
                ctx.store.delete(&key, Condition::None).await?;
                return Err(challenge_gone());
            }
            Err(error)
        }
    }
}

/// Whose sign-in a waiting challenge is (completed with a passkey: [`close_challenge`] once the
/// passkey is checked, [`count_wrong_answer`] when it is refused).
pub async fn challenge_owner(ctx: &Ctx, token: &str) -> Result<Principal, CoreError> {
    if !crate::random::looks_like_token_256(token) {
        return Err(challenge_gone());
    }
    let item = ctx
        .store
        .get(&challenge_key(&sha256_hex(token)))
        .await?
        .ok_or_else(challenge_gone)?;
    principal_of(&item)
}

/// A refused answer to a challenge: it counts toward the challenge's tries and the account's lockout.
pub async fn count_wrong_answer(ctx: &Ctx, token: &str) -> Result<(), CoreError> {
    let key = challenge_key(&sha256_hex(token));
    let Some(item) = ctx.store.get(&key).await? else {
        return Ok(());
    };
    throttle::record_failure(ctx, SIGN_IN_PER_ACCOUNT, item.require_s("lockout")?).await?;
    let tries = ctx.store.increment(&key, "tries", 1, None).await?;
    if tries >= CHALLENGE_TRIES {
        ctx.store.delete(&key, Condition::None).await?;
    }
    Ok(())
}

/// A challenge answered (by a passkey): it ends, and the account's sign-in window closes.
pub async fn close_challenge(ctx: &Ctx, token: &str) -> Result<(), CoreError> {
    let key = challenge_key(&sha256_hex(token));
    let item = ctx.store.get(&key).await?.ok_or_else(challenge_gone)?;
    match ctx.store.delete(&key, Condition::Exists).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Err(challenge_gone()),
        Err(other) => return Err(other.into()),
    }
    throttle::reset(ctx, SIGN_IN_PER_ACCOUNT, item.require_s("lockout")?).await
}

/// The actor and clinic of an account's audit lines.
pub async fn who(
    ctx: &Ctx,
    principal: &Principal,
) -> Result<(Actor, Option<(ClinicId, String)>), CoreError> {
    match *principal {
        Principal::ClinicUser { clinic_id, user_id } => {
            let staff = clinic::Staff::load(ctx, clinic_id, user_id).await?;
            Ok((staff.actor(), Some(staff.clinic_ref())))
        }
        Principal::Person { person_id } => Ok((personal::get(ctx, person_id).await?.actor(), None)),
    }
}

/// Turns two-factor sign-in off, proven with a current code or a recovery code.
pub async fn remove(ctx: &Ctx, principal: &Principal, code: &str) -> Result<(), CoreError> {
    let subject = principal.subject();
    spend_code(ctx, &subject, code).await?;
    let mut ops = vec![WriteOp::Delete {
        key: totp_key(&subject),
        condition: Condition::Exists,
    }];
    ops.extend(forget_recovery_codes(ctx, &subject).await?);
    let mut account = super::login::account_item(ctx, principal)
        .await?
        .ok_or(CoreError::NotFound)?;
    let condition = Condition::unchanged_from(&account, &["password_hash", ON]);
    account.attrs.remove(ON);
    ops.push(WriteOp::Put {
        item: account,
        condition,
    });
    let (actor, clinic) = who(ctx, principal).await?;
    ops.extend(
        audit(
            principal,
            actor,
            clinic,
            "two_factor_removed",
            "Turned off two-factor sign-in.".into(),
        )
        .ops(ctx.clock.now()),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => Err(CoreError::Conflict {
            code: "two_factor_changed",
            message: "Your sign-in settings changed meanwhile. Reload the page and try again."
                .into(),
        }),
        Err(other) => Err(other.into()),
    }
}
