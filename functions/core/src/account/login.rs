//! A member of staff's login and the clinics it belongs to: one person, one password, several clinics.
//!
//! A login (`LOGIN#<user>`) holds who the person is and how they sign in: email, name, password hash
//! and second-factor flags; `EMAIL#<email>` names it and the clinic it opens at sign-in. Each clinic
//! the person works for has a membership (`CLINIC#<clinic>/USER#<user>`: role and when they joined,
//! with name and email repeated for the staff list), listed under `MEMBERSHIPS#<user>` with a count
//! that every membership change writes under a condition, so the last membership's removal (which takes
//! the login with it) and a new membership can never cross. The user's id is the same in every clinic,
//! so its second factors (`TOTP#USER#…`, `PASSKEYS#USER#…`) serve them all.
//!
//! Logins made before memberships existed keep their credentials on their one clinic's staff item
//! ("legacy"): they read the same, and move to a login item when they join a second clinic.

use jiff::Timestamp;

use super::clinic::{ClinicUser, Role};
use super::fields::Email;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::{ClinicId, ClinicUserId};
use crate::keys;
use crate::session::Principal;
use crate::store::{Condition, Item, Query, StoreError, Value, WriteOp, query_all};

/// The attribute only a login (or a legacy staff item) has.
const PASSWORD_HASH: &str = "password_hash";
const COUNT: &str = "count";

/// Whether a clinic's staff item still holds its login's credentials (made before memberships).
pub(crate) fn is_legacy(staff_item: &Item) -> bool {
    staff_item.s(PASSWORD_HASH).is_some()
}

/// The login's clinics changed between two reads (its last clinic's removal took it meanwhile).
fn changed_meanwhile() -> CoreError {
    CoreError::Conflict {
        code: "clinics_changed",
        message: "This login's clinics changed meanwhile. Reload the page and try again.".into(),
    }
}

fn corrupt(what: &str) -> CoreError {
    CoreError::Store(StoreError::Corrupt(what.to_owned()))
}

/// The item that holds a member of staff's password and second factors, if they are still a member of
/// that clinic: their login, or (made before memberships) their clinic's staff item.
pub(crate) async fn staff_account_item(
    ctx: &Ctx,
    clinic_id: ClinicId,
    user_id: ClinicUserId,
) -> Result<Option<Item>, CoreError> {
    match ctx
        .store
        .get(&keys::clinic_user(clinic_id, user_id))
        .await?
    {
        None => Ok(None),
        Some(membership) if is_legacy(&membership) => Ok(Some(membership)),
        Some(_) => Ok(ctx.store.get(&keys::login(user_id)).await?),
    }
}

/// The item that holds an account's password and second factors (a login, or a personal account).
pub(crate) async fn account_item(
    ctx: &Ctx,
    principal: &Principal,
) -> Result<Option<Item>, CoreError> {
    match *principal {
        Principal::ClinicUser { clinic_id, user_id } => {
            staff_account_item(ctx, clinic_id, user_id).await
        }
        Principal::Person { person_id } => Ok(ctx.store.get(&keys::person(person_id)).await?),
    }
}

/// A member of staff as their clinic's staff item and their login say.
pub(crate) async fn read_user(
    ctx: &Ctx,
    clinic_id: ClinicId,
    user_id: ClinicUserId,
) -> Result<ClinicUser, CoreError> {
    let membership = ctx
        .store
        .get(&keys::clinic_user(clinic_id, user_id))
        .await?
        .ok_or(CoreError::NotFound)?;
    let login = if is_legacy(&membership) {
        membership.clone()
    } else {
        // Read apart from the membership: a removal of the login's last clinic may have taken it in
        // between, and then the member is gone.
        ctx.store
            .get(&keys::login(user_id))
            .await?
            .ok_or(CoreError::NotFound)?
    };
    Ok(ClinicUser {
        id: user_id,
        clinic_id,
        name: login.require_s("name")?.to_owned(),
        email: login.require_s("email")?.to_owned(),
        role: Role::parse(membership.require_s("role")?)?,
        created_at: super::clinic::millis(membership.require_n("created_at")?)?,
        password_hash: super::PasswordHash::from_stored(login.require_s(PASSWORD_HASH)?.to_owned()),
        second_factors: super::two_factor::SecondFactors::of(&login),
    })
}

/// A clinic's staff item for a member: their role, when they joined, and (for the staff list) their
/// name and email.
fn membership_item(user: &ClinicUser) -> Item {
    Item::new(keys::clinic_user(user.clinic_id, user.id))
        .with_s("name", &user.name)
        .with_s("email", &user.email)
        .with_s("role", user.role.as_str())
        .with_n("created_at", user.created_at.as_millisecond())
}

fn membership_entry(user_id: ClinicUserId, clinic_id: ClinicId, role: Role) -> Item {
    Item::new(keys::membership(user_id, clinic_id))
        .with_s("clinic_id", clinic_id.to_string())
        .with_s("role", role.as_str())
}

fn count_item(user_id: ClinicUserId, count: i64) -> Item {
    Item::new(keys::membership_count(user_id)).with_n(COUNT, count)
}

/// `EMAIL#<email>`: the login an address signs in to, and the clinic it opens.
fn email_index(email: &Email, user_id: ClinicUserId, clinic_id: ClinicId) -> Item {
    Item::new(keys::email(email))
        .with_s("clinic_id", clinic_id.to_string())
        .with_s("user_id", user_id.to_string())
}

/// The writes of a new login with its first clinic (sign-up, or accepting an invitation as someone
/// new). The first write claims the email, and fails if it belongs to a login already.
pub(crate) fn new_login_ops(user: &ClinicUser, email: &Email) -> Vec<WriteOp> {
    vec![
        WriteOp::Put {
            item: email_index(email, user.id, user.clinic_id),
            condition: Condition::NotExists,
        },
        WriteOp::Put {
            item: Item::new(keys::login(user.id))
                .with_s("name", &user.name)
                .with_s("email", &user.email)
                .with_s(PASSWORD_HASH, user.password_hash.as_str())
                .with_n("created_at", user.created_at.as_millisecond()),
            condition: Condition::NotExists,
        },
        WriteOp::Put {
            item: membership_item(user),
            condition: Condition::NotExists,
        },
        WriteOp::Put {
            item: membership_entry(user.id, user.clinic_id, user.role),
            condition: Condition::None,
        },
        WriteOp::Put {
            item: count_item(user.id, 1),
            condition: Condition::NotExists,
        },
    ]
}

/// The writes that add a clinic to the login of `member` (signed in at one of their clinics) as
/// `role`. A login made before memberships moves to its own item in the same transaction. Every write
/// is conditional on the login's clinics being as read: the caller turns a cancelled transaction into
/// "changed meanwhile".
pub(crate) async fn add_membership_ops(
    ctx: &Ctx,
    member: &ClinicUser,
    clinic_id: ClinicId,
    role: Role,
    now: Timestamp,
) -> Result<Vec<WriteOp>, CoreError> {
    let home = ctx
        .store
        .get(&keys::clinic_user(member.clinic_id, member.id))
        .await?
        .ok_or(CoreError::NotFound)?;
    let mut ops = Vec::new();
    if is_legacy(&home) {
        let mut login = Item::new(keys::login(member.id));
        login.attrs = home.attrs.clone();
        login.attrs.remove("role");
        ops.push(WriteOp::Put {
            item: login,
            condition: Condition::NotExists,
        });
        // The clinic's item keeps only the membership, if its credentials are still as read (a
        // password reset or second-factor change meanwhile cancels the move).
        ops.push(WriteOp::Put {
            item: membership_item(member),
            condition: Condition::unchanged_from(
                &home,
                &[
                    PASSWORD_HASH,
                    super::two_factor::ON,
                    super::passkey::COUNT,
                    super::passkey::USER_HANDLE,
                ],
            ),
        });
        ops.push(WriteOp::Put {
            item: membership_entry(member.id, member.clinic_id, member.role),
            condition: Condition::None,
        });
        ops.push(WriteOp::Put {
            item: count_item(member.id, 2),
            condition: Condition::NotExists,
        });
    } else {
        let count = ctx
            .store
            .get(&keys::membership_count(member.id))
            .await?
            .and_then(|item| item.n(COUNT))
            .ok_or_else(changed_meanwhile)?;
        ops.push(WriteOp::Put {
            item: count_item(member.id, count + 1),
            condition: Condition::Equals(COUNT.into(), Value::N(count)),
        });
        ops.push(WriteOp::Check {
            key: keys::login(member.id),
            condition: Condition::Exists,
        });
    }
    let joined = ClinicUser {
        clinic_id,
        role,
        created_at: now,
        ..member.clone()
    };
    ops.push(WriteOp::Put {
        item: membership_item(&joined),
        condition: Condition::NotExists,
    });
    ops.push(WriteOp::Put {
        item: membership_entry(member.id, clinic_id, role),
        condition: Condition::None,
    });
    Ok(ops)
}

/// What removing a member from one clinic writes, and whether their login goes with it.
pub(crate) struct Removal {
    pub ops: Vec<WriteOp>,
    /// The login had no other clinic: it, its email and (after the transaction) its second factors go.
    pub last: bool,
}

/// The writes that remove `user_id` from `clinic_id`: the membership only, or (their last clinic) the
/// login and its email too. The first write deletes the membership (cancelled there: not a member).
pub(crate) async fn removal_ops(
    ctx: &Ctx,
    clinic_id: ClinicId,
    user_id: ClinicUserId,
    email: &Email,
) -> Result<Removal, CoreError> {
    let membership = ctx
        .store
        .get(&keys::clinic_user(clinic_id, user_id))
        .await?
        .ok_or(CoreError::NotFound)?;
    let email_is_theirs = Condition::Equals("user_id".into(), Value::S(user_id.to_string()));
    if is_legacy(&membership) {
        return Ok(Removal {
            ops: vec![
                // Still holding the credentials: a move to a login item meanwhile cancels this.
                WriteOp::Delete {
                    key: membership.key.clone(),
                    condition: Condition::unchanged_from(&membership, &[PASSWORD_HASH]),
                },
                WriteOp::Delete {
                    key: keys::email(email),
                    condition: email_is_theirs,
                },
            ],
            last: true,
        });
    }
    let count = ctx
        .store
        .get(&keys::membership_count(user_id))
        .await?
        .and_then(|item| item.n(COUNT))
        .ok_or_else(changed_meanwhile)?;
    let mut ops = vec![
        WriteOp::Delete {
            key: membership.key.clone(),
            condition: Condition::Exists,
        },
        WriteOp::Delete {
            key: keys::membership(user_id, clinic_id),
            condition: Condition::None,
        },
    ];
    if count <= 1 {
        ops.push(WriteOp::Delete {
            key: keys::membership_count(user_id),
            condition: Condition::Equals(COUNT.into(), Value::N(count)),
        });
        ops.push(WriteOp::Delete {
            key: keys::login(user_id),
            condition: Condition::Exists,
        });
        ops.push(WriteOp::Delete {
            key: keys::email(email),
            condition: email_is_theirs,
        });
        return Ok(Removal { ops, last: true });
    }
    ops.push(WriteOp::Put {
        item: count_item(user_id, count - 1),
        condition: Condition::Equals(COUNT.into(), Value::N(count)),
    });
    // Sign-in opened this clinic: it opens another of theirs from now on.
    let index = ctx.store.get(&keys::email(email)).await?;
    if index.as_ref().and_then(|i| i.s("clinic_id")) == Some(clinic_id.to_string().as_str()) {
        let other = clinics_of(ctx, user_id)
            .await?
            .into_iter()
            .map(|(clinic, _)| clinic)
            .find(|clinic| *clinic != clinic_id)
            .ok_or_else(|| corrupt("clinic count above the clinics listed"))?;
        ops.push(WriteOp::Put {
            item: email_index(email, user_id, other),
            condition: email_is_theirs,
        });
    }
    Ok(Removal { ops, last: false })
}

/// The clinics a login belongs to, with its role in each, in the order of their ids (oldest clinic
/// first). A login made before memberships lists nothing here: it belongs to its one clinic.
pub(crate) async fn clinics_of(
    ctx: &Ctx,
    user_id: ClinicUserId,
) -> Result<Vec<(ClinicId, Role)>, CoreError> {
    let entries = query_all(
        ctx.store.as_ref(),
        Query::prefix(keys::memberships_pk(user_id), "CLINIC#"),
    )
    .await?;
    entries
        .iter()
        .map(|entry| {
            let clinic = entry
                .require_s("clinic_id")?
                .parse()
                .map_err(|_| corrupt("membership clinic"))?;
            Ok((clinic, Role::parse(entry.require_s("role")?)?))
        })
        .collect()
}

/// Who a sign-in that names `principal` (a passkey enrolled at one clinic, a reset link) signs in as:
/// that clinic while they still belong to it, else another of their clinics; `None` once the login is
/// gone.
pub(crate) async fn signed_in_principal(
    ctx: &Ctx,
    principal: Principal,
) -> Result<Option<Principal>, CoreError> {
    let Principal::ClinicUser { clinic_id, user_id } = principal else {
        return Ok(account_item(ctx, &principal).await?.map(|_| principal));
    };
    if staff_account_item(ctx, clinic_id, user_id).await?.is_some() {
        return Ok(Some(principal));
    }
    Ok(clinics_of(ctx, user_id)
        .await?
        .first()
        .map(|(clinic_id, _)| Principal::ClinicUser {
            clinic_id: *clinic_id,
            user_id,
        }))
}

/// Makes sign-in open `clinic_id` for this login from now on (the clinic they last switched to).
pub(crate) async fn remember_clinic(
    ctx: &Ctx,
    email: &Email,
    user_id: ClinicUserId,
    clinic_id: ClinicId,
) -> Result<(), CoreError> {
    match ctx
        .store
        .put(
            email_index(email, user_id, clinic_id),
            Condition::Equals("user_id".into(), Value::S(user_id.to_string())),
        )
        .await
    {
        // The login went meanwhile: nothing to remember.
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(other) => Err(other.into()),
    }
}
