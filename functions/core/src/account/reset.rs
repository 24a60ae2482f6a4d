//! Password reset for both kinds of account: a link by email (or by SMS for a personal account with
//! only a phone) that sets a new password and ends every session.
//!
//! Rules (docs/ACCOUNTS.md): the token is 256 random bits, stored only as its SHA-256, valid for
//! [`RESET_VALID_MINUTES`], single use, and only the newest one of an account works. Asking is limited
//! per source and per typed email, username or phone, counted whether or not an account exists, and the
//! answer is the same either way, so the form tells nobody which accounts exist. A reset ends every
//! session of the account, clears its sign-in lockout, and is audited.

use jiff::Timestamp;

use super::clinic::{self, ClinicUser, hash_off_thread};
use super::fields::{Country, Email, Phone, Username};
use super::password::Password;
use super::personal::{self, Person};
use crate::audit::{Actor, NewEvent};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::messages::{self, readable};
use crate::notify::Message;
use crate::random::{sha256_hex, token_256};
use crate::session::{self, Principal};
use crate::store::{Condition, Item, Query, StoreError, WriteOp, query_all};
use crate::throttle::{self, RESET_PER_ACCOUNT, RESET_PER_SOURCE};

/// How long a reset link works.
pub const RESET_VALID_MINUTES: i64 = 30;

/// Who forgot their password, as typed on the form.
#[derive(Debug, Clone, Copy)]
pub enum Forgotten<'a> {
    /// A member of clinic staff, by the email they sign in with.
    ClinicEmail(&'a str),
    /// A personal account by its username.
    Username(&'a str),
    /// Personal accounts by their recovery email (it may serve several accounts).
    PersonEmail(&'a str),
    /// Personal accounts by their recovery phone, written as dialled in `country` or internationally.
    PersonPhone(&'a str, Option<Country>),
}

/// An account that can reset its password, and where its link goes.
enum Account {
    Staff(ClinicUser, String),
    Person(Person),
}

impl Account {
    async fn staff(ctx: &Ctx, user: ClinicUser) -> Result<Self, CoreError> {
        let clinic = clinic::get_clinic(ctx, user.clinic_id).await?;
        Ok(Account::Staff(user, clinic.name))
    }
}

impl Account {
    fn principal(&self) -> Principal {
        match self {
            Account::Staff(user, _) => Principal::ClinicUser {
                clinic_id: user.clinic_id,
                user_id: user.id,
            },
            Account::Person(person) => Principal::Person {
                person_id: person.id,
            },
        }
    }

    fn actor(&self) -> Actor {
        match self {
            Account::Staff(user, _) => Actor {
                kind: "clinic_user",
                id: user.id.to_string(),
                name: user.name.clone(),
            },
            Account::Person(person) => person.actor(),
        }
    }

    /// The sign-in lockout subject of the account (as `signin` counts it).
    fn sign_in_subject(&self) -> String {
        match self {
            Account::Staff(user, _) => format!("clinic:{}", user.email),
            Account::Person(person) => format!("person:{}", person.username),
        }
    }
}

/// Sends a reset link to every account the typed identifier names (none, one, or for a shared
/// recovery email or phone, several). Answers the same whether or not any account exists.
pub async fn request(
    ctx: &Ctx,
    forgotten: Forgotten<'_>,
    source: &str,
    site_url: &str,
) -> Result<(), CoreError> {
    // Parse first: a malformed entry is the typist's mistake, and says nothing about accounts.
    let accounts: Vec<Account> = match forgotten {
        Forgotten::ClinicEmail(raw) => {
            let email = Email::parse(raw)?;
            guard(ctx, &format!("clinic:{}", email.as_str()), source).await?;
            match clinic::find_user_by_email(ctx, &email).await? {
                Some(user) => vec![Account::staff(ctx, user).await?],
                None => Vec::new(),
            }
        }
        Forgotten::Username(raw) => {
            let username = Username::parse(raw).map_err(|_| {
                CoreError::invalid(
                    "username",
                    "invalid_username",
                    "Type the username you sign in with.",
                )
            })?;
            guard(ctx, &format!("person:{}", username.as_str()), source).await?;
            let person = personal::find_by_username(ctx, &username).await?;
            person.map(Account::Person).into_iter().collect()
        }
        Forgotten::PersonEmail(raw) => {
            let email = Email::parse(raw)?;
            guard(ctx, &format!("contact:{}", email.as_str()), source).await?;
            let people = persons_with_contact(ctx, email.as_str()).await?;
            people.into_iter().map(Account::Person).collect()
        }
        Forgotten::PersonPhone(raw, country) => {
            let phone = Phone::parse_in(raw, country)?;
            guard(ctx, &format!("contact:{}", phone.as_str()), source).await?;
            let people = persons_with_contact(ctx, phone.as_str()).await?;
            people.into_iter().map(Account::Person).collect()
        }
    };
    for account in accounts {
        let Some(message) = issue(ctx, &account, forgotten, site_url).await? else {
            continue;
        };
        ctx.notifier.send(message).await?;
    }
    Ok(())
}

/// Counts the request against the source and the typed identifier, before anything is looked up.
async fn guard(ctx: &Ctx, subject: &str, source: &str) -> Result<(), CoreError> {
    throttle::spend(ctx, RESET_PER_SOURCE, source).await?;
    throttle::spend(ctx, RESET_PER_ACCOUNT, subject).await
}

/// The persons whose recovery email or phone this is.
async fn persons_with_contact(ctx: &Ctx, contact: &str) -> Result<Vec<Person>, CoreError> {
    let items = query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::contact_pk(contact), ""),
    )
    .await?;
    let mut people = Vec::new();
    for item in items {
        let id: PersonId = item
            .key
            .sk
            .parse()
            .map_err(|_| CoreError::Store(StoreError::Corrupt("contact index".into())))?;
        match personal::get(ctx, id).await {
            // The index may outlive a changed contact: only a person who still has it counts.
            // Only a verified contact receives a link: a mistyped address must never get one.
            Ok(person)
                if (person.email_verified && person.email.as_deref() == Some(contact))
                    || (person.phone_verified && person.phone.as_deref() == Some(contact)) =>
            {
                people.push(person)
            }
            Ok(_) | Err(CoreError::NotFound) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(people)
}

/// Stores a new token for the account (the earlier one stops working) and writes its message:
/// staff by email; a person by the channel they typed, else email when they have one, else SMS.
/// `None` when the account has nowhere to send a link.
async fn issue(
    ctx: &Ctx,
    account: &Account,
    forgotten: Forgotten<'_>,
    site_url: &str,
) -> Result<Option<Message>, CoreError> {
    let destination = match (account, forgotten) {
        (Account::Staff(user, _), _) => Some(Destination::Email(user.email.clone())),
        (Account::Person(person), Forgotten::PersonPhone(..)) => person
            .phone
            .clone()
            .filter(|_| person.phone_verified)
            .map(Destination::Sms),
        (Account::Person(person), _) => person
            .email
            .clone()
            .filter(|_| person.email_verified)
            .map(Destination::Email)
            .or_else(|| {
                person
                    .phone
                    .clone()
                    .filter(|_| person.phone_verified)
                    .map(Destination::Sms)
            }),
    };
    let Some(destination) = destination else {
        return Ok(None);
    };
    let token = token_256()?;
    let hash = sha256_hex(&token);
    let now = ctx.clock.now();
    let expires_at = Timestamp::from_second(now.as_second() + RESET_VALID_MINUTES * 60)
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    let principal = account.principal();
    let mut token_item = Item::new(keys::reset_token(&hash))
        .with_s("subject", principal.subject())
        .with_n("created_at", now.as_millisecond())
        .expiring_at(expires_at.as_second());
    token_item = match principal {
        Principal::ClinicUser { clinic_id, user_id } => token_item
            .with_s("kind", "clinic_user")
            .with_s("clinic_id", clinic_id.to_string())
            .with_s("user_id", user_id.to_string()),
        Principal::Person { person_id } => token_item
            .with_s("kind", "person")
            .with_s("person_id", person_id.to_string()),
    };
    let mut ops = vec![
        WriteOp::Put {
            item: token_item,
            condition: Condition::NotExists,
        },
        WriteOp::Put {
            item: Item::new(keys::reset_latest(&principal.subject()))
                .with_s("token_hash", &hash)
                .expiring_at(expires_at.as_second()),
            condition: Condition::None,
        },
    ];
    ops.extend(
        audit_event(
            account,
            "password_reset_requested",
            format!(
                "A password reset link was sent by {}.",
                destination.described()
            ),
        )
        .ops(now),
    );
    ctx.store.transact(ops).await?;
    let link = format!("{}/reset?token={token}", site_url.trim_end_matches('/'));
    let (name, account_words) = match account {
        Account::Staff(user, _) => (
            user.name.as_str(),
            format!("your clinic account {}", user.email),
        ),
        Account::Person(person) => (
            person.name.as_str(),
            format!("your glucolink account {}", person.username),
        ),
    };
    Ok(Some(match destination {
        Destination::Email(address) => messages::Email {
            heading: "Choose a new glucolink password".into(),
            paragraphs: vec![
                format!("Hello {name},"),
                format!("Someone asked to reset the password of {account_words}. If it was you, choose a new password with this link."),
            ],
            button: Some((&link, "Choose a new password")),
            after: vec![
                format!(
                    "The link works once, until {} ({RESET_VALID_MINUTES} minutes). Choosing a new password signs you out everywhere.",
                    readable(expires_at)
                ),
                format!("Reset token (if the link does not open): {token}"),
                "If you did not ask for this, ignore this message: your password stays as it is.".into(),
            ],
            sent_for: match account {
                Account::Staff(_, clinic_name) => clinic_name,
                Account::Person(_) => "your personal account",
            },
        }
        .to(Email::parse(&address)?, "Reset your glucolink password".into()),
        Destination::Sms(number) => Message::Sms {
            to: Phone::parse(&number)?,
            text: format!(
                "glucolink: choose a new password for {}: {link} (works once, {RESET_VALID_MINUTES} min). Not you? Ignore this.",
                match account {
                    Account::Person(person) => person.username.as_str(),
                    Account::Staff(user, _) => user.email.as_str(),
                }
            ),
        },
    }))
}

/// Where a reset link goes.
enum Destination {
    Email(String),
    Sms(String),
}

impl Destination {
    /// For the audit line: the channel and a masked address (the log is no list of contacts).
    fn described(&self) -> String {
        match self {
            Destination::Email(address) => {
                let (local, domain) = address.split_once('@').unwrap_or((address, ""));
                let first: String = local.chars().take(1).collect();
                format!("email to {first}…@{domain}")
            }
            Destination::Sms(number) => {
                let last: String = number
                    .chars()
                    .rev()
                    .take(3)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("SMS to a number ending {last}")
            }
        }
    }
}

fn audit_event(account: &Account, action: &'static str, detail: String) -> NewEvent {
    match account {
        Account::Staff(user, clinic_name) => NewEvent {
            actor: account.actor(),
            action,
            clinic: Some((user.clinic_id, clinic_name.clone())),
            patient_id: None,
            person_id: None,
            detail,
        },
        Account::Person(person) => NewEvent {
            actor: account.actor(),
            action,
            clinic: None,
            patient_id: None,
            person_id: Some(person.id),
            detail,
        },
    }
}

/// The answer for a token that is unknown, used, replaced or expired: one message for all, since
/// the person can do one thing about it.
fn invalid_token() -> CoreError {
    CoreError::invalid(
        "token",
        "invalid_token",
        "This reset link has expired or was already used. Ask for a new one on the sign-in page.",
    )
}

/// Sets a new password with a reset token: the token is spent, every session of the account ends,
/// its sign-in lockout is cleared, and the reset is audited. Returns whose password changed.
pub async fn complete(
    ctx: &Ctx,
    token: &str,
    new_password: &str,
    source: &str,
) -> Result<Principal, CoreError> {
    if !crate::random::looks_like_token_256(token) {
        return Err(invalid_token());
    }
    throttle::spend(ctx, RESET_PER_SOURCE, source).await?;
    let hash = sha256_hex(token);
    let item = ctx
        .store
        .get(&keys::reset_token(&hash))
        .await?
        .ok_or_else(invalid_token)?;
    let subject = item.require_s("subject")?.to_owned();
    let latest = ctx.store.get(&keys::reset_latest(&subject)).await?;
    if latest.as_ref().and_then(|l| l.s("token_hash")) != Some(hash.as_str()) {
        return Err(invalid_token());
    }
    let corrupt = |what: &str| CoreError::Store(StoreError::Corrupt(format!("reset token {what}")));
    let account = match item.require_s("kind")? {
        "clinic_user" => {
            let clinic_id = item
                .require_s("clinic_id")?
                .parse()
                .map_err(|_| corrupt("clinic"))?;
            let user_id = item
                .require_s("user_id")?
                .parse()
                .map_err(|_| corrupt("user"))?;
            let user = clinic::get_user(ctx, clinic_id, user_id)
                .await
                .map_err(|e| match e {
                    CoreError::NotFound => invalid_token(),
                    other => other,
                })?;
            Account::staff(ctx, user).await?
        }
        "person" => {
            let id = item
                .require_s("person_id")?
                .parse()
                .map_err(|_| corrupt("person"))?;
            Account::Person(personal::get(ctx, id).await.map_err(|e| match e {
                CoreError::NotFound => invalid_token(),
                other => other,
            })?)
        }
        _ => return Err(corrupt("kind")),
    };
    let context: Vec<String> = match &account {
        Account::Staff(user, _) => vec![
            user.email.split('@').next().unwrap_or_default().to_owned(),
            user.name.clone(),
        ],
        Account::Person(person) => vec![
            person.username.clone(),
            person.name.clone(),
            person
                .email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .unwrap_or_default()
                .to_owned(),
        ],
    };
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    let password = Password::parse_new(new_password, &context)?;
    let password_hash = hash_off_thread(password).await?;
    let stored = super::login::account_item(ctx, &account.principal())
        .await?
        .ok_or_else(invalid_token)?;
    let old_hash = stored.require_s("password_hash")?.to_owned();
    let updated = stored.with_s("password_hash", password_hash.as_str());
    let now = ctx.clock.now();
    let mut ops = vec![
        WriteOp::Delete {
            key: keys::reset_token(&hash),
            condition: Condition::Exists,
        },
        WriteOp::Delete {
            key: keys::reset_latest(&subject),
            condition: Condition::Equals("token_hash".into(), crate::store::Value::S(hash.clone())),
        },
        WriteOp::Put {
            item: updated,
            condition: Condition::Equals("password_hash".into(), crate::store::Value::S(old_hash)),
        },
    ];
    ops.extend(
        audit_event(
            &account,
            "password_reset",
            "The password was reset with an emailed or texted link; every session was ended."
                .into(),
        )
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => {}
        // Spent by a parallel request, replaced by a newer link, or the password changed meanwhile.
        Err(StoreError::TransactionCanceled { .. }) => return Err(invalid_token()),
        Err(other) => return Err(other.into()),
    }
    let principal = account.principal();
    session::end_all(ctx, &principal).await?;
    throttle::reset(
        ctx,
        throttle::SIGN_IN_PER_ACCOUNT,
        &account.sign_in_subject(),
    )
    .await?;
    Ok(principal)
}
