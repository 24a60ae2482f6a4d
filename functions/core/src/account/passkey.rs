//! Passkeys (WebAuthn Level 3, verified by the `webauthn_rp` crate): the stronger second factor for
//! clinic staff and patients alike, and a way to sign in without typing a password.
//!
//! Rules (docs/ACCOUNTS.md, "Passkeys"): a passkey is registered by a signed-in person; it must be
//! discoverable and user-verified (the device's PIN, fingerprint or face), so on its own it proves two
//! factors. The relying party is the site's name (a numeric address cannot hold passkeys); the browser's
//! origin must be the site's. Each ceremony's state is kept for 5 minutes under its 128-bit challenge
//! and works once. A credential id is stored once in the whole service (a second registration of the
//! same id is refused). The signature counter and backup flags are kept up to date after each use; a
//! counter that goes backwards (a cloned key) is refused. Registration, removal and use are audited.

use jiff::Timestamp;
use serde::Serialize;
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::{
    AuthenticationVerificationOptions, DiscoverableCredentialRequestOptions,
};
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialCreationOptions, PublicKeyCredentialUserEntity,
    RegistrationVerificationOptions, UserHandle16, Username,
};
use webauthn_rp::request::{
    AsciiDomain, DomainOrigin, ExtensionInfo, Port, PublicKeyCredentialDescriptor, RpId, Scheme,
    TimedCeremony,
};
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, Backup, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication16, DiscoverableAuthenticationServerState,
    Registration, RegistrationServerState,
};

use super::two_factor::{self, principal_of, with_principal};
use crate::audit::Actor;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::ClinicId;
use crate::keys;
use crate::session::Principal;
use crate::store::{Condition, Item, Key, Query, StoreError, Value, WriteOp, query_all};

/// How long the browser has to answer a ceremony.
pub const CEREMONY_MINUTES: i64 = 5;
/// Passkeys one account may hold.
pub const MAX_PER_ACCOUNT: usize = 10;
/// Longest name a person may give a passkey.
pub const MAX_NAME_CHARS: usize = 60;

/// The account attribute counting its passkeys.
pub(crate) const COUNT: &str = "passkeys";
/// The account attribute holding the opaque user handle its passkeys carry.
pub(crate) const USER_HANDLE: &str = "passkey_user";

type P256 = [u8; 32];
type P384 = [u8; 48];
type Ed25519 = [u8; 32];
type StoredKey = CompressedPubKey<Ed25519, P256, P384, Vec<u8>>;

/// The site passkeys belong to: its name (the relying party id) and the one origin allowed to use them.
#[derive(Debug, Clone)]
pub struct Site {
    rp_id: RpId,
    https: bool,
    host: String,
    port: Option<u16>,
}

impl Site {
    /// The site at `origin` (`https://clinic.example`, or `http://localhost:8080` on a computer of
    /// one's own); `None` when passkeys cannot live there: a numeric address, or plain http elsewhere
    /// than localhost.
    pub fn at(origin: &str) -> Option<Self> {
        let origin = origin.trim_end_matches('/');
        let (scheme, authority) = origin.split_once("://")?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
            None => (authority, None),
        };
        let host = host.to_ascii_lowercase();
        if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') || host.contains('/') {
            return None;
        }
        let https = match scheme {
            "https" => true,
            "http" if host == "localhost" => false,
            _ => return None,
        };
        let domain = AsciiDomain::try_from(host.clone()).ok()?;
        Some(Self {
            rp_id: RpId::Domain(domain),
            https,
            host,
            port,
        })
    }

    /// The origin as the browser writes it (`https://clinic.example`).
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match self.port {
            Some(port) => format!("{scheme}://{}:{port}", self.host),
            None => format!("{scheme}://{}", self.host),
        }
    }

    fn allowed_origin(&self) -> DomainOrigin<'static, '_> {
        DomainOrigin {
            scheme: if self.https {
                Scheme::Https
            } else {
                Scheme::Other("http")
            },
            host: &self.host,
            port: self.port.map_or(Port::None, Port::Val),
        }
    }
}

/// A passkey as its owner sees it in the list.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Passkey {
    /// The credential id (base64url), which names it in the API.
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// Whether the passkey is synced between the person's devices (a password manager or platform).
    pub synced: bool,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn owner_key(credential_id: &str) -> Key {
    Key::new(format!("PASSKEY#{credential_id}"), keys::META)
}

fn list_pk(subject: &str) -> String {
    format!("PASSKEYS#{subject}")
}

fn ceremony_key(challenge: u128) -> Key {
    Key::new(format!("WEBAUTHN#{challenge:032x}"), keys::META)
}

fn corrupt(what: &str) -> CoreError {
    CoreError::Store(StoreError::Corrupt(format!("passkey: {what}")))
}

fn internal(what: &str, error: impl std::fmt::Debug) -> CoreError {
    CoreError::Internal(format!("passkey {what}: {error:?}"))
}

fn unreadable() -> CoreError {
    CoreError::invalid(
        "credential",
        "passkey_unreadable",
        "Your browser's answer could not be read. Try again, or use another browser.",
    )
}

fn ceremony_gone() -> CoreError {
    CoreError::Gone {
        code: "passkey_expired",
        message: "This passkey request took too long or was already used. Try again.".into(),
    }
}

fn refused(error: impl std::fmt::Display) -> CoreError {
    CoreError::invalid(
        "credential",
        "passkey_refused",
        format!("This passkey was not accepted: {error}."),
    )
}

/// Keeps a ceremony's state for [`CEREMONY_MINUTES`] under its challenge.
async fn keep_ceremony(
    ctx: &Ctx,
    challenge: u128,
    kind: &str,
    state: Vec<u8>,
    subject: Option<&str>,
) -> Result<(), CoreError> {
    let mut item = Item::new(ceremony_key(challenge))
        .with_s("kind", kind)
        .with("state", Value::B(state))
        .expiring_at(ctx.clock.epoch_seconds() + CEREMONY_MINUTES * 60);
    if let Some(subject) = subject {
        item = item.with_s("subject", subject);
    }
    ctx.store.put(item, Condition::NotExists).await?;
    Ok(())
}

/// Takes a ceremony's state (it works once): refused when unknown, expired or of another kind.
async fn take_ceremony(ctx: &Ctx, challenge: u128, kind: &str) -> Result<Item, CoreError> {
    let key = ceremony_key(challenge);
    let item = ctx
        .store
        .get(&key)
        .await?
        .filter(|item| item.s("kind") == Some(kind))
        .ok_or_else(ceremony_gone)?;
    match ctx.store.delete(&key, Condition::Exists).await {
        Ok(()) => Ok(item),
        Err(StoreError::ConditionFailed) => Err(ceremony_gone()),
        Err(other) => Err(other.into()),
    }
}

/// The account's passkey user handle (16 random bytes, made at its first passkey): it names the
/// account to authenticators without saying anything about it.
async fn user_handle(ctx: &Ctx, principal: &Principal) -> Result<UserHandle16, CoreError> {
    let account = super::login::account_item(ctx, principal)
        .await?
        .ok_or(CoreError::NotFound)?;
    if let Some(bytes) = account.b(USER_HANDLE) {
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| corrupt("user handle"))?;
        return UserHandle16::decode(bytes).map_err(|e| internal("user handle", e));
    }
    let handle = UserHandle16::new();
    let bytes = handle.encode().map_err(|e| internal("user handle", e))?;
    let condition = account_unchanged(&account);
    match ctx
        .store
        .put(
            account.with(USER_HANDLE, Value::B(bytes.to_vec())),
            condition,
        )
        .await
    {
        Ok(()) => Ok(handle),
        // Made meanwhile by another request: use that one.
        Err(StoreError::ConditionFailed) => Box::pin(user_handle(ctx, principal)).await,
        Err(other) => Err(other.into()),
    }
}

/// The account's passkeys, newest first.
pub async fn list(ctx: &Ctx, principal: &Principal) -> Result<Vec<Passkey>, CoreError> {
    let items = query_all(
        ctx.store.as_ref(),
        Query::prefix(list_pk(&principal.subject()), ""),
    )
    .await?;
    let mut passkeys = items
        .iter()
        .map(|item| {
            Ok(Passkey {
                id: item.key.sk.clone(),
                name: item.require_s("name")?.to_owned(),
                created_at: millis(item.require_n("created_at")?)?,
                last_used_at: item.n("last_used_at").map(millis).transpose()?,
                synced: item.attrs.get("synced") == Some(&Value::Bool(true)),
            })
        })
        .collect::<Result<Vec<_>, CoreError>>()?;
    passkeys.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    Ok(passkeys)
}

fn millis(ms: i64) -> Result<Timestamp, CoreError> {
    Timestamp::from_millisecond(ms).map_err(|_| corrupt("time"))
}

/// Starts registering a passkey for the signed-in person: the options the browser passes to
/// `navigator.credentials.create` (WebAuthn's JSON form, `PublicKeyCredentialCreationOptionsJSON`).
pub async fn start_registration(
    ctx: &Ctx,
    site: &Site,
    principal: &Principal,
    account_name: &str,
    display_name: &str,
) -> Result<serde_json::Value, CoreError> {
    let existing = query_all(
        ctx.store.as_ref(),
        Query::prefix(list_pk(&principal.subject()), ""),
    )
    .await?;
    if existing.len() >= MAX_PER_ACCOUNT {
        return Err(CoreError::Conflict {
            code: "too_many_passkeys",
            message: format!(
                "An account holds at most {MAX_PER_ACCOUNT} passkeys. Remove one you no longer use first."
            ),
        });
    }
    let handle = user_handle(ctx, principal).await?;
    let exclude = existing
        .iter()
        .map(|item| {
            let id = credential_id_bytes(&item.key.sk)?;
            Ok(PublicKeyCredentialDescriptor {
                id: CredentialId::decode(id).map_err(|e| internal("stored id", e))?,
                transports: AuthTransports::decode(
                    u8::try_from(item.n("transports").unwrap_or(0))
                        .map_err(|_| corrupt("transports"))?,
                )
                .map_err(|e| internal("transports", e))?,
            })
        })
        .collect::<Result<Vec<_>, CoreError>>()?;
    let user = PublicKeyCredentialUserEntity {
        name: Username::try_from(account_name).map_err(|e| internal("account name", e))?,
        id: &handle,
        display_name: Some(
            Nickname::try_from(display_name).map_err(|e| internal("display name", e))?,
        ),
    };
    let mut options = PublicKeyCredentialCreationOptions::passkey(&site.rp_id, user, exclude);
    // Ask security keys to demand verification for this credential, but do not require the answer:
    // phones, laptops and password managers verify the person on every use anyway (checked below), and
    // many do not report the extension.
    options.extensions.cred_protect =
        CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
    let (server, client) = options
        .start_ceremony()
        .map_err(|e| internal("options", e))?;
    let options = serde_json::to_value(&client).map_err(|e| internal("options", e))?;
    let state = server.encode().map_err(|e| internal("state", e))?;
    keep_ceremony(
        ctx,
        server.sent_challenge().0,
        "register",
        state,
        Some(&principal.subject()),
    )
    .await?;
    Ok(options)
}

fn credential_id_bytes(id: &str) -> Result<Vec<u8>, CoreError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .map_err(|_| corrupt("credential id"))
}

/// The name a person gives a passkey ("MacBook", "Phone"), or a default.
fn passkey_name(raw: Option<&str>, now: Timestamp) -> Result<String, CoreError> {
    let name = raw.map(str::trim).unwrap_or_default();
    if name.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            "name",
            "invalid_name",
            "Use letters, digits and spaces for the passkey's name.",
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(CoreError::invalid(
            "name",
            "too_long",
            format!("Keep the name under {MAX_NAME_CHARS} characters."),
        ));
    }
    Ok(if name.is_empty() {
        format!("Passkey added {}", now.strftime("%Y-%m-%d"))
    } else {
        name.to_owned()
    })
}

/// Finishes registering: checks the browser's answer (`PublicKeyCredential.toJSON()` of
/// `navigator.credentials.create`) against the ceremony and stores the passkey. From now on the account
/// signs in with two factors.
pub async fn finish_registration(
    ctx: &Ctx,
    site: &Site,
    principal: &Principal,
    who: (Actor, Option<(ClinicId, String)>),
    credential: &[u8],
    name: Option<&str>,
) -> Result<Passkey, CoreError> {
    let now = ctx.clock.now();
    let name = passkey_name(name, now)?;
    let registration: Registration =
        serde_json::from_slice(credential).map_err(|_| unreadable())?;
    let challenge = registration.challenge().map_err(|_| unreadable())?;
    let ceremony = take_ceremony(ctx, challenge.0, "register").await?;
    if ceremony.s("subject") != Some(principal.subject().as_str()) {
        return Err(ceremony_gone());
    }
    let state = RegistrationServerState::<16>::decode(
        ceremony.b("state").ok_or_else(|| corrupt("ceremony"))?,
    )
    .map_err(|e| internal("ceremony", e))?;
    let origins = [site.allowed_origin()];
    let options = RegistrationVerificationOptions::<DomainOrigin<'_, '_>, DomainOrigin<'_, '_>> {
        allowed_origins: &origins,
        ..RegistrationVerificationOptions::default()
    };
    let registered = state
        .verify(&site.rp_id, &registration, &options)
        .map_err(refused)?;
    let id = b64(registered.id().as_ref());
    let dynamic = registered.dynamic_state();
    let static_state = registered
        .static_state()
        .encode()
        .map_err(|e| internal("key", e))?;
    let transports = registered
        .transports()
        .encode()
        .map_err(|e| internal("transports", e))?;
    let synced = matches!(dynamic.backup, Backup::Exists);
    let subject = principal.subject();
    let account = super::login::account_item(ctx, principal)
        .await?
        .ok_or(CoreError::NotFound)?;
    let count = account.n(COUNT).unwrap_or(0);
    let condition = account_unchanged(&account);
    let mut ops = vec![
        WriteOp::Put {
            item: with_principal(
                Item::new(owner_key(&id)).with_s("subject", subject.as_str()),
                principal,
            ),
            condition: Condition::NotExists,
        },
        WriteOp::Put {
            item: Item::new(Key::new(list_pk(&subject), id.as_str()))
                .with_s("name", name.as_str())
                .with_n("created_at", now.as_millisecond())
                .with("static", Value::B(static_state))
                .with(
                    "dynamic",
                    Value::B(dynamic.encode().map_err(|e| internal("state", e))?.to_vec()),
                )
                .with_n("transports", i64::from(transports))
                .with(
                    USER_HANDLE,
                    Value::B(
                        registered
                            .user_id()
                            .encode()
                            .map_err(|e| internal("user handle", e))?
                            .to_vec(),
                    ),
                )
                .with("synced", Value::Bool(synced)),
            condition: Condition::NotExists,
        },
        WriteOp::Put {
            item: account.with_n(COUNT, count + 1),
            condition,
        },
    ];
    let (actor, clinic) = who;
    ops.extend(
        two_factor::audit(
            principal,
            actor,
            clinic,
            "passkey_added",
            format!("Added a passkey, \"{name}\"."),
        )
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(Passkey {
            id,
            name,
            created_at: now,
            last_used_at: None,
            synced,
        }),
        Err(StoreError::TransactionCanceled { .. }) => Err(CoreError::Conflict {
            code: "passkey_taken",
            message: "This passkey is already registered, or your passkeys changed meanwhile. Reload the page and try again.".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// The write condition of an account item read as `read`: its password hash, passkey count and user
/// handle are as read, so a password reset or another passkey change meanwhile is never undone.
fn account_unchanged(read: &Item) -> Condition {
    Condition::unchanged_from(read, &["password_hash", COUNT, USER_HANDLE])
}

/// Removes one of the account's passkeys. The caller has checked the password.
pub async fn remove(
    ctx: &Ctx,
    principal: &Principal,
    who: (Actor, Option<(ClinicId, String)>),
    id: &str,
) -> Result<(), CoreError> {
    let subject = principal.subject();
    let entry_key = Key::new(list_pk(&subject), id);
    let entry = ctx
        .store
        .get(&entry_key)
        .await?
        .ok_or(CoreError::NotFound)?;
    let name = entry.require_s("name")?.to_owned();
    let mut account = super::login::account_item(ctx, principal)
        .await?
        .ok_or(CoreError::NotFound)?;
    let count = account.n(COUNT).unwrap_or(0);
    let condition = account_unchanged(&account);
    if count <= 1 {
        account.attrs.remove(COUNT);
    } else {
        account = account.with_n(COUNT, count - 1);
    }
    let (actor, clinic) = who;
    let mut ops = vec![
        WriteOp::Delete {
            key: entry_key,
            condition: Condition::Exists,
        },
        WriteOp::Delete {
            key: owner_key(id),
            condition: Condition::Exists,
        },
        WriteOp::Put {
            item: account,
            condition,
        },
    ];
    ops.extend(
        two_factor::audit(
            principal,
            actor,
            clinic,
            "passkey_removed",
            format!("Removed the passkey \"{name}\"."),
        )
        .ops(ctx.clock.now()),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => Err(CoreError::Conflict {
            code: "passkeys_changed",
            message: "Your passkeys changed meanwhile. Reload the page and try again.".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// Every item of an account's passkeys (for deleting the account).
pub(crate) async fn keys_of(ctx: &Ctx, subject: &str) -> Result<Vec<Key>, CoreError> {
    let mut keys = Vec::new();
    for item in query_all(ctx.store.as_ref(), Query::prefix(list_pk(subject), "")).await? {
        keys.push(owner_key(&item.key.sk));
        keys.push(item.key);
    }
    Ok(keys)
}

/// Starts a passkey sign-in: the options the browser passes to `navigator.credentials.get`
/// (`PublicKeyCredentialRequestOptionsJSON`), for any of the site's passkeys on the device.
pub async fn start_sign_in(ctx: &Ctx, site: &Site) -> Result<serde_json::Value, CoreError> {
    let (server, client) = DiscoverableCredentialRequestOptions::passkey(&site.rp_id)
        .start_ceremony()
        .map_err(|e| internal("options", e))?;
    let options = serde_json::to_value(&client).map_err(|e| internal("options", e))?;
    let state = server.encode().map_err(|e| internal("state", e))?;
    keep_ceremony(ctx, server.sent_challenge().0, "sign_in", state, None).await?;
    Ok(options)
}

/// Checks a passkey sign-in (`PublicKeyCredential.toJSON()` of `navigator.credentials.get`) and
/// answers whose passkey it is. Its counter and backup state are updated and the use is audited.
/// With `expected` (the account whose password was just typed), a passkey of another account is refused;
/// with `clinic_area` (the sign-in page's area), a passkey of the other kind of account is refused —
/// before anything is written.
pub async fn finish_sign_in(
    ctx: &Ctx,
    site: &Site,
    credential: &[u8],
    expected: Option<&Principal>,
    clinic_area: Option<bool>,
) -> Result<Principal, CoreError> {
    let authentication: DiscoverableAuthentication16 =
        serde_json::from_slice(credential).map_err(|_| unreadable())?;
    let challenge = authentication.challenge().map_err(|_| unreadable())?;
    let ceremony = take_ceremony(ctx, challenge.0, "sign_in").await?;
    let state = DiscoverableAuthenticationServerState::decode(
        ceremony.b("state").ok_or_else(|| corrupt("ceremony"))?,
    )
    .map_err(|e| internal("ceremony", e))?;
    let id = b64(authentication.raw_id().as_ref());
    let unknown = || {
        CoreError::invalid(
            "credential",
            "passkey_unknown",
            "This passkey is not registered with glucolink (it may have been removed). Sign in with your password.",
        )
    };
    let owner = ctx.store.get(&owner_key(&id)).await?.ok_or_else(unknown)?;
    let enrolled_as = principal_of(&owner)?;
    // One login may work for several clinics: the passkey is the login's, whichever clinic it was
    // added in.
    if expected.is_some_and(|expected| expected.subject() != enrolled_as.subject()) {
        return Err(CoreError::invalid(
            "credential",
            "passkey_of_another_account",
            "This passkey belongs to another account. Choose the passkey of the account you are signing in to.",
        ));
    }
    if let Some(clinic_area) = clinic_area
        && clinic_area != matches!(enrolled_as, Principal::ClinicUser { .. })
    {
        return Err(CoreError::invalid(
            "credential",
            "wrong_area",
            if clinic_area {
                "This passkey belongs to a personal account. Sign in on the personal sign-in page."
            } else {
                "This passkey belongs to a clinic staff account. Sign in on the clinic sign-in page."
            },
        ));
    }
    // The clinic signed in to: the one the password named, else the one the passkey was added in
    // while they still belong to it, else another of theirs.
    let principal = match expected {
        Some(expected) => *expected,
        None => super::login::signed_in_principal(ctx, enrolled_as)
            .await?
            .ok_or_else(unknown)?,
    };
    let subject = owner.require_s("subject")?;
    let entry = ctx
        .store
        .get(&Key::new(list_pk(subject), id.as_str()))
        .await?
        .ok_or_else(unknown)?;
    let handle_bytes: [u8; 16] = entry
        .b(USER_HANDLE)
        .ok_or_else(|| corrupt("user handle"))?
        .try_into()
        .map_err(|_| corrupt("user handle"))?;
    let handle = UserHandle16::decode(handle_bytes).map_err(|e| internal("user handle", e))?;
    let static_state =
        StaticState::<StoredKey>::decode(entry.b("static").ok_or_else(|| corrupt("key"))?)
            .map_err(|e| internal("key", e))?;
    let dynamic_bytes: [u8; 7] = entry
        .b("dynamic")
        .ok_or_else(|| corrupt("state"))?
        .try_into()
        .map_err(|_| corrupt("state"))?;
    let dynamic = DynamicState::decode(dynamic_bytes).map_err(|e| internal("state", e))?;
    let raw_id = authentication.raw_id();
    let mut credential = AuthenticatedCredential::new(raw_id, &handle, static_state, dynamic)
        .map_err(|e| internal("credential", e))?;
    let origins = [site.allowed_origin()];
    let options = AuthenticationVerificationOptions::<DomainOrigin<'_, '_>, DomainOrigin<'_, '_>> {
        allowed_origins: &origins,
        ..AuthenticationVerificationOptions::default()
    };
    state
        .verify(&site.rp_id, &authentication, &mut credential, &options)
        .map_err(refused)?;
    let now = ctx.clock.now();
    let updated = credential.dynamic_state();
    let name = entry.require_s("name")?.to_owned();
    let old_dynamic = entry.attrs.get("dynamic").cloned();
    let entry = entry
        .with(
            "dynamic",
            Value::B(updated.encode().map_err(|e| internal("state", e))?.to_vec()),
        )
        .with(
            "synced",
            Value::Bool(matches!(updated.backup, Backup::Exists)),
        )
        .with_n("last_used_at", now.as_millisecond());
    // Conditional on the state read: two uses of one signature cannot both pass.
    let condition = match old_dynamic {
        Some(value) => Condition::Equals("dynamic".into(), value),
        None => Condition::Exists,
    };
    let (actor, clinic) = two_factor::who(ctx, &principal).await?;
    let mut ops = vec![WriteOp::Put {
        item: entry,
        condition,
    }];
    ops.extend(
        two_factor::audit(
            &principal,
            actor,
            clinic,
            "passkey_used",
            format!("Signed in with the passkey \"{name}\"."),
        )
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(principal),
        Err(StoreError::TransactionCanceled { .. }) => Err(ceremony_gone()),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_hold_passkeys_only_under_a_name_and_https_or_localhost() {
        let cloud = Site::at("https://clinic.example/").expect("https site");
        assert_eq!(cloud.origin(), "https://clinic.example");
        let local = Site::at("http://localhost:8080").expect("localhost");
        assert_eq!(local.origin(), "http://localhost:8080");
        assert!(Site::at("http://127.0.0.1:8080").is_none());
        assert!(Site::at("https://[::1]:8443").is_none());
        assert!(Site::at("http://clinic.example").is_none());
        assert!(Site::at("clinic.example").is_none());
        assert!(Site::at("https://clinic.example:notaport").is_none());
    }

    #[test]
    fn passkey_names_are_trimmed_bounded_and_defaulted() {
        let now: Timestamp = "2026-12-03T10:00:00Z".parse().expect("time");
        assert_eq!(
            passkey_name(Some("  Work laptop "), now).expect("ok"),
            "Work laptop"
        );
        assert_eq!(
            passkey_name(None, now).expect("ok"),
            "Passkey added 2026-12-03"
        );
        assert!(passkey_name(Some("a\u{7}b"), now).is_err());
        assert!(passkey_name(Some(&"x".repeat(61)), now).is_err());
    }
}
