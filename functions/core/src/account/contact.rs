//! A personal account's recovery contacts — the email and the mobile phone that "Forgot password?"
//! sends links to — and their verification.
//!
//! Rules (docs/ACCOUNTS.md, "Recovery contacts"): a personal account has at least one; each new or
//! changed contact is unverified until the person follows the link sent to it (email, or SMS with a
//! link), a 256-bit token stored as SHA-256 for 7 days; a reset link goes only to a verified contact, so
//! a mistyped address can never receive the keys to someone's account. Changing the contacts needs the
//! password. Messages are limited to 5 an hour per account. Verification and changes are audited.

use jiff::Timestamp;

use super::fields::{Country, Email, Phone};
use super::personal::{self, Person};
use crate::audit::NewEvent;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::messages::{self, readable};
use crate::notify::Message;
use crate::random::{looks_like_token_256, sha256_hex, token_256};
use crate::store::{Condition, Item, Key, StoreError, Value, WriteOp};
use crate::throttle::{self, CONTACT_VERIFICATIONS_PER_PERSON};

/// How long a verification link works.
pub const VALID_DAYS: i64 = 7;
/// The account attributes that say a contact is verified.
pub(crate) const EMAIL_VERIFIED: &str = "email_verified";
pub(crate) const PHONE_VERIFIED: &str = "phone_verified";

fn token_key(hash: &str) -> Key {
    Key::new(format!("CONTACTVERIFY#{hash}"), keys::META)
}

/// Which contact a link verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Phone,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Phone => "phone",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Channel::Email => EMAIL_VERIFIED,
            Channel::Phone => PHONE_VERIFIED,
        }
    }
}

/// The contacts of `person` still waiting for verification.
fn unverified(person: &Person) -> Vec<(Channel, String)> {
    let mut waiting = Vec::new();
    if let Some(email) = person.email.clone().filter(|_| !person.email_verified) {
        waiting.push((Channel::Email, email));
    }
    if let Some(phone) = person.phone.clone().filter(|_| !person.phone_verified) {
        waiting.push((Channel::Phone, phone));
    }
    waiting
}

/// Sends a verification link to each unverified contact of the person (at sign-up, after a change,
/// and "Send the link again"); answers the channels it went to. Nothing to verify is a conflict.
pub async fn send_verification(
    ctx: &Ctx,
    person: &Person,
    site_url: &str,
) -> Result<Vec<&'static str>, CoreError> {
    let waiting = unverified(person);
    if waiting.is_empty() {
        return Err(CoreError::Conflict {
            code: "nothing_to_verify",
            message: "Your recovery contacts are verified already.".into(),
        });
    }
    throttle::spend(
        ctx,
        CONTACT_VERIFICATIONS_PER_PERSON,
        &person.id.to_string(),
    )
    .await?;
    let now = ctx.clock.now();
    let expires_at = Timestamp::from_second(now.as_second() + VALID_DAYS * 86_400)
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    let mut sent = Vec::new();
    for (channel, value) in waiting {
        let token = token_256()?;
        ctx.store
            .put(
                Item::new(token_key(&sha256_hex(&token)))
                    .with_s("person_id", person.id.to_string())
                    .with_s("channel", channel.as_str())
                    // The contact's digest, not the contact: the item outlives a deleted account for
                    // up to 7 days, and must not name anyone.
                    .with_s("value_hash", sha256_hex(&value))
                    .expiring_at(expires_at.as_second()),
                Condition::NotExists,
            )
            .await?;
        let link = format!(
            "{}/personal/verify-contact?token={token}",
            site_url.trim_end_matches('/')
        );
        let message = match channel {
            Channel::Email => messages::Email {
                heading: "Confirm your recovery email".into(),
                paragraphs: vec![
                    format!("Hello {},", person.name),
                    format!("This address was given as the recovery email of the glucolink account {}. Confirm it, so that a link to choose a new password can reach you if you ever forget yours.", person.username),
                ],
                button: Some((&link, "Confirm my email")),
                after: vec![
                    format!("Confirmation token (if the link does not open): {token}"),
                    format!("The link works until {}. If you do not know this account, ignore this message: nothing will be sent here.", readable(expires_at)),
                ],
                sent_for: "your personal account",
            }
            .to(Email::parse(&value)?, "Confirm your glucolink recovery email".into()),
            Channel::Phone => Message::Sms {
                to: Phone::parse(&value)?,
                text: format!(
                    "glucolink: confirm this number for password recovery of {}: {link} (7 days). Not you? Ignore this.",
                    person.username
                ),
            },
        };
        ctx.notifier.send(message).await?;
        sent.push(channel.as_str());
    }
    Ok(sent)
}

fn link_gone() -> CoreError {
    CoreError::Gone {
        code: "verification_expired",
        message: "This link has expired or the contact has changed since. Sign in and send a new link from Account security.".into(),
    }
}

/// Follows a verification link: the contact it was sent to is verified (again: nothing changes).
/// A link to a contact the account no longer has does nothing.
pub async fn verify(ctx: &Ctx, token: &str) -> Result<(), CoreError> {
    if !looks_like_token_256(token) {
        return Err(link_gone());
    }
    let item = ctx
        .store
        .get(&token_key(&sha256_hex(token)))
        .await?
        .ok_or_else(link_gone)?;
    let corrupt = || CoreError::Store(StoreError::Corrupt("contact verification".into()));
    let person_id: PersonId = item
        .require_s("person_id")?
        .parse()
        .map_err(|_| corrupt())?;
    let channel = match item.require_s("channel")? {
        "email" => Channel::Email,
        "phone" => Channel::Phone,
        _ => return Err(corrupt()),
    };
    let value_hash = item.require_s("value_hash")?;
    let account = ctx
        .store
        .get(&keys::person(person_id))
        .await?
        .ok_or_else(link_gone)?;
    let Some(value) = account
        .s(channel.as_str())
        .filter(|current| sha256_hex(current) == value_hash)
        .map(str::to_owned)
    else {
        return Err(link_gone());
    };
    if account.attrs.get(channel.flag()) == Some(&Value::Bool(true)) {
        return Ok(());
    }
    let person = personal::get(ctx, person_id).await?;
    let mut ops = vec![WriteOp::Put {
        item: account.with(channel.flag(), Value::Bool(true)),
        // Unchanged since read: a contact changed meanwhile is not verified by an old link.
        condition: Condition::Equals(channel.as_str().into(), Value::S(value)),
    }];
    ops.extend(
        NewEvent {
            actor: person.actor(),
            action: "contact_verified",
            clinic: None,
            patient_id: None,
            person_id: Some(person_id),
            detail: format!(
                "Confirmed the recovery {}.",
                match channel {
                    Channel::Email => "email",
                    Channel::Phone => "phone",
                }
            ),
        }
        .ops(ctx.clock.now()),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => Err(link_gone()),
        Err(other) => Err(other.into()),
    }
}

/// Marks the contacts of an account the operator seeded as confirmed, with no link: for demo accounts,
/// whose placeholder addresses (example.org) can receive nothing. Never reachable from the API.
pub async fn confirm_seeded(ctx: &Ctx, person_id: PersonId) -> Result<(), CoreError> {
    let mut account = ctx
        .store
        .get(&keys::person(person_id))
        .await?
        .ok_or(CoreError::NotFound)?;
    for channel in [Channel::Email, Channel::Phone] {
        if account.s(channel.as_str()).is_some() {
            account = account.with(channel.flag(), Value::Bool(true));
        }
    }
    ctx.store.put(account, Condition::Exists).await?;
    Ok(())
}

/// A change of recovery contacts: the whole new set (at least one).
#[derive(Debug, Default)]
pub struct ContactChange<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// How a phone number without a country code is dialled.
    pub country: Option<&'a str>,
}

/// The change's contacts as stored (email, phone), or why they cannot be.
pub fn check(change: &ContactChange<'_>) -> Result<(Option<String>, Option<String>), CoreError> {
    let email = given(change.email).map(Email::parse).transpose()?;
    let country = given(change.country).map(Country::parse).transpose()?;
    let phone = given(change.phone)
        .map(|raw| Phone::parse_in(raw, country))
        .transpose()?;
    if email.is_none() && phone.is_none() {
        return Err(required());
    }
    Ok((
        email.map(|e| e.as_str().to_owned()),
        phone.map(|p| p.as_str().to_owned()),
    ))
}

/// Replaces the person's recovery contacts (the caller has checked the password). A contact that
/// stays the same keeps its verification; a new one waits for its link. Answers the person as now.
pub async fn change(
    ctx: &Ctx,
    person: &Person,
    change: ContactChange<'_>,
) -> Result<Person, CoreError> {
    let (email, phone) = check(&change)?;
    if email == person.email && phone == person.phone {
        return Ok(person.clone());
    }
    let mut account = ctx
        .store
        .get(&keys::person(person.id))
        .await?
        .ok_or(CoreError::NotFound)?;
    // As read (both contacts and the password), so two changes at once cannot mix and a password
    // reset meanwhile is not undone.
    let condition = Condition::unchanged_from(&account, &["password_hash", "email", "phone"]);
    let mut ops = Vec::new();
    for (name, flag, old, new) in [
        ("email", EMAIL_VERIFIED, &person.email, &email),
        ("phone", PHONE_VERIFIED, &person.phone, &phone),
    ] {
        if old == new {
            continue;
        }
        account.attrs.remove(flag);
        match new {
            Some(value) => {
                account = account.with_s(name, value);
                ops.push(WriteOp::Put {
                    item: Item::new(keys::contact(value, person.id)),
                    condition: Condition::None,
                });
            }
            None => {
                account.attrs.remove(name);
            }
        }
        if let Some(value) = old {
            ops.push(WriteOp::Delete {
                key: keys::contact(value, person.id),
                condition: Condition::None,
            });
        }
    }
    ops.insert(
        0,
        WriteOp::Put {
            item: account,
            condition,
        },
    );
    ops.extend(
        NewEvent {
            actor: person.actor(),
            action: "contact_changed",
            clinic: None,
            patient_id: None,
            person_id: Some(person.id),
            detail: "Changed the recovery contacts (the new ones wait for confirmation).".into(),
        }
        .ops(ctx.clock.now()),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => personal::get(ctx, person.id).await,
        Err(StoreError::TransactionCanceled { .. }) => Err(CoreError::Conflict {
            code: "contacts_changed",
            message: "Your recovery contacts changed meanwhile. Reload the page and try again."
                .into(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// A field given and not blank, trimmed.
fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

/// A personal account needs a way back in.
pub(crate) fn required() -> CoreError {
    CoreError::invalid(
        "email",
        "recovery_contact_required",
        "Give an email address or a mobile phone number: it is how you get back in if you forget your password.",
    )
}
