//! Sessions: random 256-bit tokens, stored only as SHA-256 digests, with idle and absolute expiry.
//!
//! The token goes to the browser in an HttpOnly cookie; the store keeps `SESSION#<sha256(token)>`, so a
//! leaked table cannot be replayed. Each principal also has an index of its sessions, so "sign out
//! everywhere" (and, later, removing a staff member) ends all of them at once.

use jiff::Timestamp;

use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::{ClinicId, ClinicUserId, PersonId};
use crate::keys;
use crate::random::{sha256_hex, token_256};
use crate::store::{Condition, Item, Query, StoreError, WriteOp};

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    ClinicUser {
        clinic_id: ClinicId,
        user_id: ClinicUserId,
    },
    Person {
        person_id: PersonId,
    },
}

impl Principal {
    /// A stable string naming the principal, used in keys.
    pub fn subject(&self) -> String {
        match self {
            Principal::ClinicUser { user_id, .. } => format!("USER#{user_id}"),
            Principal::Person { person_id } => format!("PERSON#{person_id}"),
        }
    }

    pub fn policy(&self) -> SessionPolicy {
        match self {
            Principal::ClinicUser { .. } => SessionPolicy::CLINIC,
            Principal::Person { .. } => SessionPolicy::PERSONAL,
        }
    }
}

/// How long a session lives without use (idle) and at all (absolute).
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle_seconds: i64,
    pub absolute_seconds: i64,
}

impl SessionPolicy {
    /// Clinic staff work on shared workstations with patient data: 30 minutes idle, 12 hours at most.
    pub const CLINIC: Self = Self {
        idle_seconds: 30 * 60,
        absolute_seconds: 12 * 3600,
    };
    /// Patients on their own devices: 1 day idle, 14 days at most.
    pub const PERSONAL: Self = Self {
        idle_seconds: 24 * 3600,
        absolute_seconds: 14 * 24 * 3600,
    };
}

/// The secret handed to the client once, at sign-in.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub max_age_seconds: i64,
}

/// A valid session, as loaded from the store. Only [`authenticate`] builds one.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub created_at: Timestamp,
    token_hash: String,
}

impl Session {
    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }
}

/// Only `last_seen` is refreshed, and at most once a minute, so reads stay cheap.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Starts a session for a principal who has just proved who they are.
pub async fn start(ctx: &Ctx, principal: Principal) -> Result<NewSession, CoreError> {
    let token = token_256()?;
    let hash = sha256_hex(&token);
    let now = ctx.clock.epoch_seconds();
    let policy = principal.policy();
    let expires_at = now + policy.absolute_seconds;
    let subject = principal.subject();
    let mut session = Item::new(keys::session(&hash))
        .with_s("subject", &subject)
        .with_n("created_at", now)
        .with_n("last_seen", now)
        .expiring_at(expires_at);
    session = match principal {
        Principal::ClinicUser { clinic_id, user_id } => session
            .with_s("kind", "clinic_user")
            .with_s("clinic_id", clinic_id.to_string())
            .with_s("user_id", user_id.to_string()),
        Principal::Person { person_id } => session
            .with_s("kind", "person")
            .with_s("person_id", person_id.to_string()),
    };
    let index = Item::new(keys::principal_session(&subject, &hash)).expiring_at(expires_at);
    ctx.store
        .transact(vec![
            WriteOp::Put {
                item: session,
                condition: Condition::NotExists,
            },
            WriteOp::Put {
                item: index,
                condition: Condition::None,
            },
        ])
        .await?;
    Ok(NewSession {
        token,
        max_age_seconds: policy.absolute_seconds,
    })
}

/// The session a token names, if it is valid now; refreshes its idle timer.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<Session, CoreError> {
    if !crate::random::looks_like_token_256(token) {
        return Err(CoreError::Unauthenticated);
    }
    let hash = sha256_hex(token);
    let key = keys::session(&hash);
    let item = ctx
        .store
        .get(&key)
        .await?
        .ok_or(CoreError::Unauthenticated)?;
    let principal = principal_of(&item)?;
    let now = ctx.clock.epoch_seconds();
    let last_seen = item.require_n("last_seen")?;
    if now - last_seen >= principal.policy().idle_seconds {
        end_by_hash(ctx, &principal.subject(), &hash).await?;
        return Err(CoreError::Unauthenticated);
    }
    if now - last_seen >= TOUCH_EVERY_SECONDS {
        let last_seen = item.clone().with_n("last_seen", now);
        match ctx.store.put(last_seen, Condition::Exists).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let created_at = Timestamp::from_second(item.require_n("created_at")?)
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(Session {
        principal,
        created_at,
        token_hash: hash,
    })
}

/// Ends one session (sign-out).
pub async fn end(ctx: &Ctx, session: &Session) -> Result<(), CoreError> {
    end_by_hash(ctx, &session.principal.subject(), &session.token_hash).await
}

/// Ends every session of a principal (sign-out everywhere, staff removal, password change).
pub async fn end_all(ctx: &Ctx, principal: &Principal) -> Result<usize, CoreError> {
    let subject = principal.subject();
    let mut ended = 0;
    loop {
        // Always read the first page again: the previous pass deleted what it read.
        let page = ctx
            .store
            .query(&Query::prefix(keys::principal_sessions_pk(&subject), ""))
            .await?;
        if page.items.is_empty() {
            return Ok(ended);
        }
        for item in &page.items {
            end_by_hash(ctx, &subject, &item.key.sk).await?;
            ended += 1;
        }
    }
}

/// Ends the sessions a member of staff has in one clinic (removed from it, they keep their others).
pub async fn end_all_in_clinic(ctx: &Ctx, principal: &Principal) -> Result<usize, CoreError> {
    let Principal::ClinicUser { clinic_id, .. } = *principal else {
        return end_all(ctx, principal).await;
    };
    let subject = principal.subject();
    let clinic = clinic_id.to_string();
    let index = crate::store::query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::principal_sessions_pk(&subject), ""),
    )
    .await?;
    let mut ended = 0;
    for entry in index {
        let session = ctx.store.get(&keys::session(&entry.key.sk)).await?;
        // A session gone already only leaves its index line behind.
        if session
            .as_ref()
            .is_none_or(|s| s.s("clinic_id") == Some(clinic.as_str()))
        {
            end_by_hash(ctx, &subject, &entry.key.sk).await?;
            ended += 1;
        }
    }
    Ok(ended)
}

async fn end_by_hash(ctx: &Ctx, subject: &str, hash: &str) -> Result<(), CoreError> {
    ctx.store
        .delete(&keys::session(hash), Condition::None)
        .await?;
    ctx.store
        .delete(&keys::principal_session(subject, hash), Condition::None)
        .await?;
    Ok(())
}

fn principal_of(item: &Item) -> Result<Principal, CoreError> {
    let parse = |name: &str| -> Result<String, CoreError> { Ok(item.require_s(name)?.to_owned()) };
    let corrupt = |what: &str| CoreError::Store(StoreError::Corrupt(format!("session {what}")));
    match item.require_s("kind")? {
        "clinic_user" => Ok(Principal::ClinicUser {
            clinic_id: parse("clinic_id")?
                .parse()
                .map_err(|_| corrupt("clinic_id"))?,
            user_id: parse("user_id")?.parse().map_err(|_| corrupt("user_id"))?,
        }),
        "person" => Ok(Principal::Person {
            person_id: parse("person_id")?
                .parse()
                .map_err(|_| corrupt("person_id"))?,
        }),
        _ => Err(corrupt("kind")),
    }
}
