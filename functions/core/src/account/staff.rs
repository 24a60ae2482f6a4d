//! A clinic's staff: admins invite colleagues by email (a link that expires), list them, and remove
//! them (their sessions end at once); an invited person accepts by choosing a name and password.
//! Also the clinic's settings, which only admins change.

use jiff::Timestamp;
use serde::Serialize;

use super::clinic::{Clinic, ClinicUser, Role, Staff, get_clinic, millis};
use super::fields::{Country, Email, PersonName};
use super::password::Password;
use crate::audit::{self, NewEvent};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::{ClinicId, ClinicUserId};
use crate::keys;
use crate::messages::{self, readable};
use crate::random::{sha256_hex, token_256};
use crate::report::build::Units;
use crate::session::{self, NewSession, Principal};
use crate::store::{Condition, Item, Key, Query, StoreError, Value, WriteOp, query_all};
use crate::throttle::{self, MESSAGES_PER_CLINIC};

/// How long an invitation link works.
pub const INVITATION_VALID_DAYS: i64 = 7;

fn invitation_key(token_hash: &str) -> Key {
    Key::new(format!("INVITE#{token_hash}"), keys::META)
}

/// The clinic-side index of pending invitations, one per email.
fn clinic_invitation_key(clinic: ClinicId, email: &Email) -> Key {
    Key::new(
        keys::clinic_pk(clinic),
        format!("INVITATION#{}", email.as_str()),
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct Invitation {
    pub clinic_name: String,
    pub email: String,
    pub role: &'static str,
    pub expires_at: Timestamp,
    /// The address already signs in to glucolink as staff of another clinic: the person accepts while
    /// signed in with it, and keeps their password and second factors.
    pub existing_login: bool,
}

/// The login an email signs in to, if it has one.
pub(crate) async fn login_of(ctx: &Ctx, email: &Email) -> Result<Option<ClinicUserId>, CoreError> {
    let Some(index) = ctx.store.get(&keys::email(email)).await? else {
        return Ok(None);
    };
    index
        .require_s("user_id")?
        .parse()
        .map(Some)
        .map_err(|_| CoreError::Store(StoreError::Corrupt("email index".into())))
}

/// Invites a colleague by email; a new invitation to the same address replaces the old one.
pub async fn invite(
    ctx: &Ctx,
    admin: &Staff,
    email: &str,
    role: &str,
    site_url: &str,
) -> Result<Invitation, CoreError> {
    admin.require_admin()?;
    let email = Email::parse(email)?;
    let role = Role::parse(role)?;
    if let Some(user_id) = login_of(ctx, &email).await?
        && ctx
            .store
            .get(&keys::clinic_user(admin.clinic.id, user_id))
            .await?
            .is_some()
    {
        // The code clients have known since before memberships: the address is taken here.
        return Err(CoreError::Conflict {
            code: "email_taken",
            message: format!("{} is already on your clinic's staff.", email.as_str()),
        });
    }
    throttle::spend(ctx, MESSAGES_PER_CLINIC, &admin.clinic.id.to_string()).await?;
    let audit = NewEvent {
        actor: admin.actor(),
        action: "staff_invited",
        clinic: Some(admin.clinic_ref()),
        patient_id: None,
        person_id: None,
        detail: format!("Invited {} as {}.", email.as_str(), role.as_str()),
    };
    send_invitation(
        ctx,
        (admin.clinic.id, &admin.clinic.name),
        &email,
        role,
        &admin.user.name,
        audit,
        site_url,
    )
    .await
}

/// Writes an invitation to `email` as `role` at a clinic (replacing an earlier one to that address),
/// with its audit line, in one transaction, and emails the link. `inviter` names who invited, in the
/// message.
pub(crate) async fn send_invitation(
    ctx: &Ctx,
    (clinic_id, clinic): (ClinicId, &str),
    email: &Email,
    role: Role,
    inviter: &str,
    audit: NewEvent,
    site_url: &str,
) -> Result<Invitation, CoreError> {
    let token = token_256()?;
    let hash = sha256_hex(&token);
    let now = ctx.clock.now();
    let expires_at = Timestamp::from_second(now.as_second() + INVITATION_VALID_DAYS * 86_400)
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    let mut ops = Vec::new();
    if let Some(previous) = ctx
        .store
        .get(&clinic_invitation_key(clinic_id, email))
        .await?
        && let Some(old_hash) = previous.s("token_hash")
    {
        ops.push(WriteOp::Delete {
            key: invitation_key(old_hash),
            condition: Condition::None,
        });
    }
    ops.push(WriteOp::Put {
        item: Item::new(invitation_key(&hash))
            .with_s("clinic_id", clinic_id.to_string())
            .with_s("email", email.as_str())
            .with_s("role", role.as_str())
            .with_n("valid_until", expires_at.as_millisecond())
            .expiring_at(expires_at.as_second()),
        condition: Condition::NotExists,
    });
    ops.push(WriteOp::Put {
        item: Item::new(clinic_invitation_key(clinic_id, email))
            .with_s("role", role.as_str())
            .with_s("token_hash", &hash)
            .with_n("valid_until", expires_at.as_millisecond())
            .expiring_at(expires_at.as_second()),
        condition: Condition::None,
    });
    ops.extend(audit.ops(now));
    ctx.store.transact(ops).await?;
    let existing_login = login_of(ctx, email).await?.is_some();
    let link = format!(
        "{}/clinic/join?token={token}",
        site_url.trim_end_matches('/')
    );
    let mut paragraphs = vec![format!(
        "{inviter} invited you to join {clinic} on glucolink as {}.",
        role.as_str()
    )];
    if existing_login {
        paragraphs.push(
            "You already sign in to glucolink with this address: open the link, sign in as usual and accept. Your password and two-factor sign-in stay as they are, and the header lets you switch between your clinics."
                .into(),
        );
    }
    let message = messages::Email {
        heading: format!("Join {clinic} on glucolink"),
        paragraphs,
        button: Some((
            &link,
            if existing_login {
                "Sign in and accept"
            } else {
                "Choose your name and password"
            },
        )),
        after: vec![format!(
            "The link works until {}. If you were not expecting this, ignore this message.",
            readable(expires_at)
        )],
        sent_for: clinic,
    }
    .to(email.clone(), format!("Join {clinic} on glucolink"));
    ctx.notifier.send(message).await?;
    Ok(Invitation {
        clinic_name: clinic.to_owned(),
        email: email.as_str().to_owned(),
        role: role.as_str(),
        expires_at,
        existing_login,
    })
}

/// Cancels the waiting invitation to `email` (admins only; audited): its link stops working.
pub async fn cancel_invitation(ctx: &Ctx, admin: &Staff, email: &str) -> Result<(), CoreError> {
    admin.require_admin()?;
    let email = Email::parse(email)?;
    let waiting = ctx
        .store
        .get(&clinic_invitation_key(admin.clinic.id, &email))
        .await?
        .ok_or(CoreError::NotFound)?;
    let mut ops = vec![WriteOp::Delete {
        key: clinic_invitation_key(admin.clinic.id, &email),
        condition: Condition::Exists,
    }];
    if let Some(hash) = waiting.s("token_hash") {
        ops.push(WriteOp::Delete {
            key: invitation_key(hash),
            condition: Condition::None,
        });
    }
    ops.extend(
        NewEvent {
            actor: admin.actor(),
            action: "invitation_cancelled",
            clinic: Some(admin.clinic_ref()),
            patient_id: None,
            person_id: None,
            detail: format!("Cancelled the invitation of {}.", email.as_str()),
        }
        .ops(ctx.clock.now()),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { index: 0 }) => Err(CoreError::NotFound),
        Err(other) => Err(other.into()),
    }
}

struct LiveInvitation {
    hash: String,
    clinic_id: ClinicId,
    email: Email,
    role: Role,
    expires_at: Timestamp,
}

fn invitation_gone() -> CoreError {
    CoreError::Gone {
        code: "invitation_invalid",
        message: "This invitation link has expired, was replaced or was already used. Ask your clinic's admin for a new one.".into(),
    }
}

async fn find_invitation(ctx: &Ctx, token: &str) -> Result<LiveInvitation, CoreError> {
    if !crate::random::looks_like_token_256(token) {
        return Err(invitation_gone());
    }
    let hash = sha256_hex(token);
    let item = ctx
        .store
        .get(&invitation_key(&hash))
        .await?
        .ok_or_else(invitation_gone)?;
    let corrupt = || CoreError::Store(StoreError::Corrupt("invitation".into()));
    Ok(LiveInvitation {
        hash,
        clinic_id: item
            .require_s("clinic_id")?
            .parse()
            .map_err(|_| corrupt())?,
        email: Email::parse(item.require_s("email")?).map_err(|_| corrupt())?,
        role: Role::parse(item.require_s("role")?)?,
        expires_at: millis(item.require_n("valid_until")?)?,
    })
}

/// What an invitation link offers, before the colleague accepts.
pub async fn preview(ctx: &Ctx, token: &str) -> Result<Invitation, CoreError> {
    let live = find_invitation(ctx, token).await?;
    let clinic = get_clinic(ctx, live.clinic_id).await?;
    Ok(Invitation {
        clinic_name: clinic.name,
        email: live.email.as_str().to_owned(),
        role: live.role.as_str(),
        expires_at: live.expires_at,
        existing_login: login_of(ctx, &live.email).await?.is_some(),
    })
}

/// Accepts an invitation: creates the member of staff and signs them in. The link works once.
pub async fn accept(
    ctx: &Ctx,
    token: &str,
    name: &str,
    password: &str,
) -> Result<(ClinicUser, NewSession), CoreError> {
    // The form's own faults first (a 400 says what to fix), whatever state the link is in; the checks
    // against the clinic's and the address's words follow once the invitation is known.
    let name = PersonName::parse(name)?;
    Password::parse_new(password, &[name.as_str()])?;
    let live = find_invitation(ctx, token).await?;
    if login_of(ctx, &live.email).await?.is_some() {
        return Err(login_exists());
    }
    let local_part = live
        .email
        .as_str()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let clinic = get_clinic(ctx, live.clinic_id).await?;
    let password = Password::parse_new(password, &[&local_part, name.as_str(), &clinic.name])?;
    let password_hash = super::clinic::hash_off_thread(password).await?;
    let now = ctx.clock.now();
    let user = ClinicUser {
        id: ClinicUserId::generate(),
        clinic_id: live.clinic_id,
        name: name.as_str().to_owned(),
        email: live.email.as_str().to_owned(),
        role: live.role,
        created_at: now,
        password_hash,
        second_factors: Default::default(),
    };
    let mut ops = vec![WriteOp::Delete {
        key: invitation_key(&live.hash),
        condition: Condition::Exists,
    }];
    // Index 1: the email's claim, refused when the address has a login already.
    ops.extend(super::login::new_login_ops(&user, &live.email));
    ops.push(WriteOp::Delete {
        key: clinic_invitation_key(live.clinic_id, &live.email),
        condition: Condition::None,
    });
    ops.extend(
        NewEvent {
            actor: audit::Actor {
                kind: "clinic_user",
                id: user.id.to_string(),
                name: format!("{} ({})", user.name, clinic.name),
            },
            action: "staff_joined",
            clinic: Some((clinic.id, clinic.name.clone())),
            patient_id: None,
            person_id: None,
            detail: format!(
                "{} accepted the invitation and joined as {}.",
                user.name,
                user.role.as_str()
            ),
        }
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { index: 0 }) => return Err(invitation_gone()),
        Err(StoreError::TransactionCanceled { index: 1 }) => return Err(login_exists()),
        Err(other) => return Err(other.into()),
    }
    let new_session = session::start(
        ctx,
        Principal::ClinicUser {
            clinic_id: user.clinic_id,
            user_id: user.id,
        },
    )
    .await?;
    Ok((user, new_session))
}

fn login_exists() -> CoreError {
    CoreError::Conflict {
        code: "email_taken",
        message: "This email already signs in to glucolink. Sign in with it, then open the invitation link again to accept.".into(),
    }
}

/// A clinic the signed-in member of staff now also belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    pub clinic_id: String,
    pub clinic_name: String,
    pub role: &'static str,
}

/// Accepts an invitation addressed to the signed-in member of staff's own email: their login joins
/// that clinic with the invited role (password and second factors unchanged). The link works once.
pub async fn join(ctx: &Ctx, member: &Staff, token: &str) -> Result<Joined, CoreError> {
    let live = find_invitation(ctx, token).await?;
    if live.email.as_str() != member.user.email {
        return Err(CoreError::Refused {
            code: "invitation_for_another_email",
            message: format!(
                "This invitation is for {}, and you are signed in as {}. Sign in with the invited address to accept it.",
                live.email.as_str(),
                member.user.email
            ),
        });
    }
    if ctx
        .store
        .get(&keys::clinic_user(live.clinic_id, member.user.id))
        .await?
        .is_some()
    {
        return Err(CoreError::Conflict {
            code: "already_staff",
            message: "You already belong to this clinic: choose it in the clinic switcher.".into(),
        });
    }
    let clinic = get_clinic(ctx, live.clinic_id).await?;
    let now = ctx.clock.now();
    let mut ops = vec![
        WriteOp::Delete {
            key: invitation_key(&live.hash),
            condition: Condition::Exists,
        },
        WriteOp::Delete {
            key: clinic_invitation_key(live.clinic_id, &live.email),
            condition: Condition::None,
        },
    ];
    ops.extend(
        super::login::add_membership_ops(ctx, &member.user, live.clinic_id, live.role, now)
            .await
            .map_err(|e| match e {
                // Removed from the clinic they are signed in to, meanwhile: signed out.
                CoreError::NotFound => CoreError::Unauthenticated,
                other => other,
            })?,
    );
    ops.extend(
        NewEvent {
            actor: audit::Actor {
                kind: "clinic_user",
                id: member.user.id.to_string(),
                name: format!("{} ({})", member.user.name, clinic.name),
            },
            action: "staff_joined",
            clinic: Some((clinic.id, clinic.name.clone())),
            patient_id: None,
            person_id: None,
            // Which other clinics the person works for is theirs to tell: not written here.
            detail: format!(
                "{} accepted the invitation with their existing glucolink login and joined as {}.",
                member.user.name,
                live.role.as_str()
            ),
        }
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(Joined {
            clinic_id: clinic.id.to_string(),
            clinic_name: clinic.name,
            role: live.role.as_str(),
        }),
        Err(StoreError::TransactionCanceled { index: 0 }) => Err(invitation_gone()),
        Err(StoreError::TransactionCanceled { .. }) => Err(CoreError::Conflict {
            code: "clinics_changed",
            message: "Your sign-in or clinics changed meanwhile. Reload the page and accept again."
                .into(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// One clinic of a login, for the clinic switcher.
#[derive(Debug, Clone, Serialize)]
pub struct ClinicChoice {
    pub clinic_id: String,
    pub clinic_name: String,
    pub role: &'static str,
    /// The clinic this session works in.
    pub current: bool,
}

/// The clinics the signed-in member of staff belongs to, by name.
pub async fn clinics(ctx: &Ctx, member: &Staff) -> Result<Vec<ClinicChoice>, CoreError> {
    let mut memberships = super::login::clinics_of(ctx, member.user.id).await?;
    if memberships.is_empty() {
        // A login made before memberships: its one clinic.
        memberships.push((member.clinic.id, member.user.role));
    }
    let mut choices = Vec::with_capacity(memberships.len());
    for (clinic_id, role) in memberships {
        let name = if clinic_id == member.clinic.id {
            member.clinic.name.clone()
        } else {
            get_clinic(ctx, clinic_id).await?.name
        };
        choices.push(ClinicChoice {
            clinic_id: clinic_id.to_string(),
            clinic_name: name,
            role: role.as_str(),
            current: clinic_id == member.clinic.id,
        });
    }
    choices.sort_by_key(|choice| choice.clinic_name.to_lowercase());
    Ok(choices)
}

/// Switches the signed-in member of staff to another of their clinics: the principal of the new
/// session (the caller starts it and ends the old one). Sign-in opens that clinic from now on.
pub async fn switch_clinic(
    ctx: &Ctx,
    member: &Staff,
    clinic_id: &str,
) -> Result<Principal, CoreError> {
    let target: ClinicId = clinic_id.trim().parse().map_err(|_| {
        CoreError::invalid(
            "clinic_id",
            "invalid_clinic_id",
            "Choose one of your clinics.",
        )
    })?;
    let user = super::clinic::get_user(ctx, target, member.user.id)
        .await
        .map_err(|e| match e {
            CoreError::NotFound => CoreError::Refused {
                code: "not_a_member",
                message: "You do not belong to that clinic. Ask one of its admins to invite you."
                    .into(),
            },
            other => other,
        })?;
    let email = Email::parse(&user.email)
        .map_err(|_| CoreError::Store(StoreError::Corrupt("staff email".into())))?;
    super::login::remember_clinic(ctx, &email, user.id, target).await?;
    Ok(Principal::ClinicUser {
        clinic_id: target,
        user_id: user.id,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffMember {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingInvitation {
    pub email: String,
    pub role: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffList {
    pub staff: Vec<StaffMember>,
    pub invitations: Vec<PendingInvitation>,
}

pub async fn list(ctx: &Ctx, clinic_id: ClinicId) -> Result<StaffList, CoreError> {
    let users = query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::clinic_pk(clinic_id), "USER#"),
    )
    .await?;
    let staff = users
        .iter()
        .map(|item| {
            Ok(StaffMember {
                user_id: item.key.sk.trim_start_matches("USER#").to_owned(),
                name: item.require_s("name")?.to_owned(),
                email: item.require_s("email")?.to_owned(),
                role: Role::parse(item.require_s("role")?)?.as_str(),
                created_at: millis(item.require_n("created_at")?)?,
            })
        })
        .collect::<Result<Vec<_>, CoreError>>()?;
    let waiting = query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::clinic_pk(clinic_id), "INVITATION#"),
    )
    .await?;
    let invitations = waiting
        .iter()
        .map(|item| {
            Ok(PendingInvitation {
                email: item.key.sk.trim_start_matches("INVITATION#").to_owned(),
                role: item.require_s("role")?.to_owned(),
                expires_at: millis(item.require_n("valid_until")?)?,
            })
        })
        .collect::<Result<Vec<_>, CoreError>>()?;
    Ok(StaffList { staff, invitations })
}

/// Removes a member of staff; every session they have ends at once.
pub async fn remove(ctx: &Ctx, admin: &Staff, user_id: ClinicUserId) -> Result<(), CoreError> {
    admin.require_admin()?;
    if user_id == admin.user.id {
        return Err(CoreError::Conflict {
            code: "cannot_remove_self",
            message: "You cannot remove yourself. Ask another admin.".into(),
        });
    }
    let user = super::clinic::get_user(ctx, admin.clinic.id, user_id).await?;
    let email = Email::parse(&user.email)
        .map_err(|_| CoreError::Store(StoreError::Corrupt("staff email".into())))?;
    let now = ctx.clock.now();
    let removal = super::login::removal_ops(ctx, admin.clinic.id, user_id, &email).await?;
    // The acting admin must still be an admin when the removal commits: two admins removing each
    // other at once cannot both succeed, and the clinic always keeps an admin (no one removes
    // themselves).
    let mut ops = vec![WriteOp::Check {
        key: keys::clinic_user(admin.clinic.id, admin.user.id),
        condition: Condition::Equals("role".into(), Value::S("admin".into())),
    }];
    ops.extend(removal.ops);
    ops.extend(
        NewEvent {
            actor: admin.actor(),
            action: "staff_removed",
            clinic: Some(admin.clinic_ref()),
            patient_id: None,
            person_id: None,
            detail: format!("Removed {} ({}).", user.name, user.email),
        }
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { index: 0 }) => return Err(CoreError::Forbidden),
        Err(StoreError::TransactionCanceled { index: 1 }) => return Err(CoreError::NotFound),
        Err(StoreError::TransactionCanceled { .. }) => {
            return Err(CoreError::Conflict {
                code: "staff_changed",
                message:
                    "This colleague's clinics changed meanwhile. Reload the page and try again."
                        .into(),
            });
        }
        Err(other) => return Err(other.into()),
    }
    let removed = Principal::ClinicUser {
        clinic_id: admin.clinic.id,
        user_id,
    };
    if !removal.last {
        // They keep their login for their other clinics: only their sessions here end.
        session::end_all_in_clinic(ctx, &removed).await?;
        return Ok(());
    }
    session::end_all(ctx, &removed).await?;
    // Their second factors go too: an authenticator app or a passkey must not outlive the login.
    let subject = removed.subject();
    let mut leftovers = super::two_factor::keys_of(ctx, &subject).await?;
    leftovers.extend(super::passkey::keys_of(ctx, &subject).await?);
    for key in leftovers {
        ctx.store.delete(&key, Condition::None).await?;
    }
    Ok(())
}

/// A change of clinic settings; absent fields stay as they are.
#[derive(Debug, Default)]
pub struct SettingsChange<'a> {
    /// How many days without a new reading make a record's data "old" (1 to 90).
    pub freshness_days: Option<i64>,
    /// `mg/dL` or `mmol/L`: the units of the clinic's reports.
    pub glucose_units: Option<&'a str>,
    /// The clinic's country (two letters), for phone numbers typed as dialled there; empty clears it.
    pub country: Option<&'a str>,
    /// Whether every member of staff must sign in with two factors.
    pub require_two_factor: Option<bool>,
}

/// Changes the clinic's settings (admins only; audited) and returns the clinic as it now is.
pub async fn update_settings(
    ctx: &Ctx,
    admin: &Staff,
    change: SettingsChange<'_>,
) -> Result<Clinic, CoreError> {
    admin.require_admin()?;
    if let Some(days) = change.freshness_days
        && !(1..=90).contains(&days)
    {
        return Err(CoreError::invalid(
            "freshness_days",
            "invalid_freshness_days",
            "Choose between 1 and 90 days.",
        ));
    }
    if change.require_two_factor == Some(true) && !admin.user.second_factors.any() {
        return Err(CoreError::invalid(
            "require_two_factor",
            "two_factor_off",
            "Turn on two-factor sign-in for yourself first (Account security), then require it of everyone.",
        ));
    }
    let units = change.glucose_units.map(Units::parse).transpose()?;
    let country = change
        .country
        .map(|raw| {
            if raw.trim().is_empty() {
                Ok(None)
            } else {
                Country::parse(raw).map(Some)
            }
        })
        .transpose()?;
    let mut item = ctx
        .store
        .get(&keys::clinic(admin.clinic.id))
        .await?
        .ok_or(CoreError::NotFound)?;
    let mut changed = Vec::new();
    if let Some(days) = change.freshness_days {
        item = item.with_n("freshness_days", days);
        changed.push(format!("Data older than {days} days now counts as old."));
    }
    match change.require_two_factor {
        Some(true) => {
            item = item.with("require_two_factor", Value::Bool(true));
            changed.push("Every member of staff now signs in with two factors.".to_owned());
        }
        Some(false) => {
            item.attrs.remove("require_two_factor");
            changed.push("Two-factor sign-in is now each member of staff's choice.".to_owned());
        }
        None => {}
    }
    if let Some(units) = units {
        item = item.with_s("glucose_units", units.name());
        changed.push(format!("Reports now show glucose in {}.", units.name()));
    }
    match country {
        Some(Some(country)) => {
            item = item.with_s("country", country.code());
            changed.push(format!(
                "Phone numbers without a + are now read as numbers of {}.",
                country.code()
            ));
        }
        Some(None) => {
            item.attrs.remove("country");
            changed.push("Phone numbers now need their international form.".to_owned());
        }
        None => {}
    }
    if changed.is_empty() {
        return Err(CoreError::invalid(
            "freshness_days",
            "missing_field",
            "Send freshness_days, glucose_units, country, require_two_factor, or several.",
        ));
    }
    let now = ctx.clock.now();
    // Verification changes the same item: write only over the state that was read.
    let condition = match item.s("verification") {
        Some(kind) => Condition::Equals("verification".into(), Value::S(kind.to_owned())),
        None => Condition::Exists,
    };
    let mut ops = vec![WriteOp::Put { item, condition }];
    ops.extend(
        NewEvent {
            actor: admin.actor(),
            action: "settings_changed",
            clinic: Some(admin.clinic_ref()),
            patient_id: None,
            person_id: None,
            detail: changed.join(" "),
        }
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { index: 0 }) => {
            return Err(CoreError::Conflict {
                code: "clinic_changed",
                message: "The clinic's settings changed meanwhile. Reload the page and save again."
                    .into(),
            });
        }
        Err(other) => return Err(other.into()),
    }
    get_clinic(ctx, admin.clinic.id).await
}
