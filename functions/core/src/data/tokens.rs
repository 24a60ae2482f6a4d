//! Personal upload tokens: for uploader clients (the `glucolink upload` command, scripts) that send
//! device data without a browser session. A token can only upload for its person; it is shown once, stored
//! as SHA-256, listed by name, and revoked by the person at any time.

use jiff::Timestamp;
use serde::Serialize;
use ulid::Ulid;

use crate::account::clinic::millis;
use crate::account::personal::{self, Person};
use crate::audit::NewEvent;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::random::{sha256_hex, token_256};
use crate::store::{Condition, Item, Key, Query, StoreError, WriteOp, query_all};

/// Tokens start with this, so they are recognisable in a leaked file and by secret scanners.
pub const PREFIX: &str = "glk_";
/// Most tokens a person can hold.
pub const MAX_TOKENS: usize = 20;

fn token_key(hash: &str) -> Key {
    Key::new(format!("UPLOADTOKEN#{hash}"), keys::META)
}

fn person_token_key(person: PersonId, token_id: &str) -> Key {
    Key::new(keys::person_pk(person), format!("TOKEN#{token_id}"))
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub token_id: String,
    pub name: String,
    pub created_at: Timestamp,
}

/// A new token: the secret is in `token` and is never shown again.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

fn token_name(raw: &str) -> Result<String, CoreError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            "name",
            "invalid_token_name",
            "Name the token in 1 to 60 characters, for example \"Laptop uploader\".",
        ));
    }
    Ok(name.to_owned())
}

pub async fn create(ctx: &Ctx, person: &Person, name: &str) -> Result<NewToken, CoreError> {
    let name = token_name(name)?;
    if list(ctx, person.id).await?.len() >= MAX_TOKENS {
        return Err(CoreError::Conflict {
            code: "too_many_tokens",
            message: format!("You can have at most {MAX_TOKENS} upload tokens. Revoke one first."),
        });
    }
    let token = format!("{PREFIX}{}", token_256()?);
    let hash = sha256_hex(&token);
    let token_id = Ulid::new().to_string();
    let now = ctx.clock.now();
    let mut ops = vec![
        WriteOp::Put {
            item: Item::new(token_key(&hash))
                .with_s("person_id", person.id.to_string())
                .with_s("token_id", &token_id),
            condition: Condition::NotExists,
        },
        WriteOp::Put {
            item: Item::new(person_token_key(person.id, &token_id))
                .with_s("name", &name)
                .with_s("token_hash", &hash)
                .with_n("created_at", now.as_millisecond()),
            condition: Condition::NotExists,
        },
    ];
    ops.extend(
        NewEvent {
            actor: person.actor(),
            action: "upload_token_created",
            clinic: None,
            patient_id: None,
            person_id: Some(person.id),
            detail: format!("Created the upload token \"{name}\"."),
        }
        .ops(now),
    );
    ctx.store.transact(ops).await?;
    Ok(NewToken {
        info: TokenInfo {
            token_id,
            name,
            created_at: now,
        },
        token,
    })
}

pub async fn list(ctx: &Ctx, person: PersonId) -> Result<Vec<TokenInfo>, CoreError> {
    let items = query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::person_pk(person), "TOKEN#"),
    )
    .await?;
    items
        .iter()
        .map(|item| {
            Ok(TokenInfo {
                token_id: item.key.sk.trim_start_matches("TOKEN#").to_owned(),
                name: item.require_s("name")?.to_owned(),
                created_at: millis(item.require_n("created_at")?)?,
            })
        })
        .collect()
}

pub async fn revoke(ctx: &Ctx, person: &Person, token_id: &str) -> Result<(), CoreError> {
    let index = ctx
        .store
        .get(&person_token_key(person.id, token_id))
        .await?
        .ok_or(CoreError::NotFound)?;
    let hash = index.require_s("token_hash")?.to_owned();
    let name = index.require_s("name")?.to_owned();
    let mut ops = vec![
        WriteOp::Delete {
            key: person_token_key(person.id, token_id),
            condition: Condition::Exists,
        },
        WriteOp::Delete {
            key: token_key(&hash),
            condition: Condition::None,
        },
    ];
    ops.extend(
        NewEvent {
            actor: person.actor(),
            action: "upload_token_revoked",
            clinic: None,
            patient_id: None,
            person_id: Some(person.id),
            detail: format!("Revoked the upload token \"{name}\"."),
        }
        .ops(ctx.clock.now()),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { index: 0 }) => Err(CoreError::NotFound),
        Err(other) => Err(other.into()),
    }
}

/// The person a bearer token uploads for; a missing, malformed or revoked token is `Unauthenticated`.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<Person, CoreError> {
    let well_formed = token.len() == PREFIX.len() + 43
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(CoreError::Unauthenticated);
    }
    let item = ctx
        .store
        .get(&token_key(&sha256_hex(token)))
        .await?
        .ok_or(CoreError::Unauthenticated)?;
    let person_id: PersonId = item
        .require_s("person_id")?
        .parse()
        .map_err(|_| CoreError::Store(StoreError::Corrupt("token person".into())))?;
    match personal::get(ctx, person_id).await {
        Err(CoreError::NotFound) => Err(CoreError::Unauthenticated),
        other => other,
    }
}
