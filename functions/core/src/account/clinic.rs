//! Clinics and their staff: sign-up creates a clinic and its first admin in one transaction.

use jiff::Timestamp;

use super::fields::{ClinicName, Country, Email, PersonName};
use super::password::{Password, PasswordHash};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::{ClinicId, ClinicUserId};
use crate::keys;
use crate::report::build::Units;
use crate::store::{Condition, Item, StoreError, Value, WriteOp};
use crate::throttle;

/// What a member of staff may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Manages staff and settings, and does everything a clinician does.
    Admin,
    /// Works with patient records.
    Clinician,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Clinician => "clinician",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw {
            "admin" => Ok(Role::Admin),
            "clinician" => Ok(Role::Clinician),
            _ => Err(CoreError::invalid(
                "role",
                "invalid_role",
                "The role is admin or clinician.",
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Clinic {
    pub id: ClinicId,
    pub name: String,
    pub created_at: Timestamp,
    /// Data older than this many days counts as old on every screen of the clinic.
    pub freshness_days: i64,
    /// The glucose units the clinic's reports use unless a report asks for the other.
    pub glucose_units: Units,
    /// Where the clinic is: phone numbers its staff type as dialled there are read in this country.
    pub country: Option<Country>,
    /// How glucolink knows the clinic is who it says (patients see it beside the clinic's name).
    pub verification: Verification,
    /// Every member of staff must sign in with two factors (set by an admin).
    pub require_two_factor: bool,
}

/// How a clinic was verified. Until it is, it cannot create records, codes or messages, or see data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Registered; its first admin has not yet followed the emailed link.
    Pending,
    /// Its first admin proved they receive email at this domain.
    Email { domain: String, at: Timestamp },
    /// Added by the operator of this glucolink, who invited its first admin.
    Operator { at: Timestamp },
    /// Registered before glucolink verified clinics.
    Legacy,
}

impl Verification {
    pub fn is_verified(&self) -> bool {
        !matches!(self, Verification::Pending)
    }

    /// `pending`, `email`, `operator` or `legacy`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verification::Pending => "pending",
            Verification::Email { .. } => "email",
            Verification::Operator { .. } => "operator",
            Verification::Legacy => "legacy",
        }
    }

    /// In a patient's words, beside the clinic's name.
    pub fn described(&self) -> String {
        match self {
            Verification::Pending => "Not verified yet".into(),
            Verification::Email { domain, .. } => {
                format!("Verified: its administrator receives email at {domain}")
            }
            Verification::Operator { .. } => {
                "Verified: added by the operator of this glucolink service".into()
            }
            Verification::Legacy => "Registered before glucolink verified clinics".into(),
        }
    }

    /// The clinic item's attributes for it.
    pub(crate) fn write(&self, item: Item) -> Item {
        let item = item.with_s("verification", self.kind());
        match self {
            Verification::Email { domain, at } => item
                .with_s("verified_domain", domain)
                .with_n("verified_at", at.as_millisecond()),
            Verification::Operator { at } => item.with_n("verified_at", at.as_millisecond()),
            Verification::Pending | Verification::Legacy => item,
        }
    }

    fn read(item: &Item) -> Result<Self, CoreError> {
        Ok(match item.s("verification") {
            None => Verification::Legacy,
            Some("pending") => Verification::Pending,
            Some("email") => Verification::Email {
                domain: item.require_s("verified_domain")?.to_owned(),
                at: millis(item.require_n("verified_at")?)?,
            },
            Some("operator") => Verification::Operator {
                at: millis(item.require_n("verified_at")?)?,
            },
            Some("legacy") => Verification::Legacy,
            Some(other) => {
                return Err(CoreError::Store(StoreError::Corrupt(format!(
                    "clinic verification {other:?}"
                ))));
            }
        })
    }
}

/// The default freshness threshold of a new clinic.
pub const DEFAULT_FRESHNESS_DAYS: i64 = 7;

#[derive(Debug, Clone)]
pub struct ClinicUser {
    pub id: ClinicUserId,
    pub clinic_id: ClinicId,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub(crate) password_hash: PasswordHash,
    /// Its second factors (an authenticator app, passkeys).
    pub second_factors: super::two_factor::SecondFactors,
}

/// Raw sign-up input, as typed.
#[derive(Debug)]
pub struct ClinicSignUp<'a> {
    pub clinic_name: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    /// Where the request came from, for the per-source sign-up limit (empty: not limited, for the demo).
    pub source: &'a str,
}

/// Creates a clinic and its admin. Fails with `email_taken` if the email already belongs to staff anywhere.
pub async fn sign_up(
    ctx: &Ctx,
    input: ClinicSignUp<'_>,
) -> Result<(Clinic, ClinicUser), CoreError> {
    let clinic_name = ClinicName::parse(input.clinic_name)?;
    let name = PersonName::parse(input.name)?;
    let email = Email::parse(input.email)?;
    let local_part = email.as_str().split('@').next().unwrap_or_default();
    let password = Password::parse_new(
        input.password,
        &[local_part, name.as_str(), clinic_name.as_str()],
    )?;
    if !input.source.is_empty() {
        throttle::spend(ctx, throttle::SIGN_UP_PER_SOURCE, input.source).await?;
    }
    let password_hash = hash_off_thread(password).await?;
    let now = ctx.clock.now();
    let clinic = Clinic {
        id: ClinicId::generate(),
        name: clinic_name.as_str().to_owned(),
        created_at: now,
        freshness_days: DEFAULT_FRESHNESS_DAYS,
        glucose_units: Units::MgDl,
        country: None,
        verification: Verification::Pending,
        require_two_factor: false,
    };
    let admin = ClinicUser {
        id: ClinicUserId::generate(),
        clinic_id: clinic.id,
        name: name.as_str().to_owned(),
        email: email.as_str().to_owned(),
        role: Role::Admin,
        created_at: now,
        password_hash,
        second_factors: Default::default(),
    };
    // The email is claimed first: a cancelled first write means it belongs to a login already.
    let mut ops = super::login::new_login_ops(&admin, &email);
    ops.push(WriteOp::Put {
        item: clinic.verification.write(
            Item::new(keys::clinic(clinic.id))
                .with_s("name", &clinic.name)
                .with_n("created_at", now.as_millisecond())
                .with_n("freshness_days", clinic.freshness_days),
        ),
        condition: Condition::NotExists,
    });
    match ctx.store.transact(ops).await {
        Ok(()) => Ok((clinic, admin)),
        Err(StoreError::TransactionCanceled { index: 0 }) => Err(CoreError::Conflict {
            code: "email_taken",
            message: "An account with this email already exists. Sign in instead.".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// Hashes on a blocking thread: argon2 is deliberately slow and must not stall the async runtime.
pub(crate) async fn hash_off_thread(password: Password) -> Result<PasswordHash, CoreError> {
    super::password::off_thread(move || password.hash()).await?
}

/// Units stored as their name; absent means mg/dL.
pub(crate) fn stored_units(raw: Option<&str>) -> Result<Units, CoreError> {
    raw.map(Units::parse)
        .transpose()
        .map_err(|_| CoreError::Store(StoreError::Corrupt("glucose_units".into())))
        .map(Option::unwrap_or_default)
}

pub async fn get_clinic(ctx: &Ctx, id: ClinicId) -> Result<Clinic, CoreError> {
    let item = ctx
        .store
        .get(&keys::clinic(id))
        .await?
        .ok_or(CoreError::NotFound)?;
    Ok(Clinic {
        id,
        name: item.require_s("name")?.to_owned(),
        created_at: millis(item.require_n("created_at")?)?,
        freshness_days: item.n("freshness_days").unwrap_or(DEFAULT_FRESHNESS_DAYS),
        glucose_units: stored_units(item.s("glucose_units"))?,
        country: item.s("country").and_then(|code| Country::parse(code).ok()),
        verification: Verification::read(&item)?,
        require_two_factor: item.attrs.get("require_two_factor") == Some(&Value::Bool(true)),
    })
}

/// A member of staff of a clinic: their role there, and their login (name, email, how they sign in).
pub async fn get_user(
    ctx: &Ctx,
    clinic_id: ClinicId,
    user_id: ClinicUserId,
) -> Result<ClinicUser, CoreError> {
    super::login::read_user(ctx, clinic_id, user_id).await
}

/// The staff member an email belongs to, if any, in the clinic sign-in opens for them.
pub async fn find_user_by_email(ctx: &Ctx, email: &Email) -> Result<Option<ClinicUser>, CoreError> {
    let Some(index) = ctx.store.get(&keys::email(email)).await? else {
        return Ok(None);
    };
    let corrupt = || CoreError::Store(StoreError::Corrupt("email index".into()));
    let clinic_id = index
        .require_s("clinic_id")?
        .parse()
        .map_err(|_| corrupt())?;
    let user_id = index.require_s("user_id")?.parse().map_err(|_| corrupt())?;
    match get_user(ctx, clinic_id, user_id).await {
        Ok(user) => return Ok(Some(user)),
        Err(CoreError::NotFound) => {}
        Err(other) => return Err(other),
    }
    // The clinic sign-in opened is no longer theirs: another of their clinics, if any.
    let principal = crate::session::Principal::ClinicUser { clinic_id, user_id };
    match super::login::signed_in_principal(ctx, principal).await? {
        Some(crate::session::Principal::ClinicUser { clinic_id, user_id }) => {
            Ok(Some(get_user(ctx, clinic_id, user_id).await?))
        }
        _ => Ok(None),
    }
}

pub(crate) fn millis(ms: i64) -> Result<Timestamp, CoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| CoreError::Store(StoreError::Corrupt(format!("timestamp: {e}"))))
}

/// A signed-in member of staff with their clinic: what clinic-side operations act as.
#[derive(Debug, Clone)]
pub struct Staff {
    pub clinic: Clinic,
    pub user: ClinicUser,
}

impl Staff {
    /// Loads the member of staff a session names (two reads).
    pub async fn load(
        ctx: &Ctx,
        clinic_id: ClinicId,
        user_id: ClinicUserId,
    ) -> Result<Self, CoreError> {
        let user = get_user(ctx, clinic_id, user_id)
            .await
            .map_err(|e| match e {
                // A removed member of staff whose session somehow survived: treat as signed out.
                CoreError::NotFound => CoreError::Unauthenticated,
                other => other,
            })?;
        let clinic = get_clinic(ctx, clinic_id).await?;
        Ok(Self { clinic, user })
    }

    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            kind: "clinic_user",
            id: self.user.id.to_string(),
            name: format!("{} ({})", self.user.name, self.clinic.name),
        }
    }

    pub fn clinic_ref(&self) -> (ClinicId, String) {
        (self.clinic.id, self.clinic.name.clone())
    }

    /// Refuses (`email_unverified`) until the clinic is verified: records, codes, messages and
    /// patient data wait for it; and (`two_factor_setup_required`) while the clinic requires two-factor
    /// sign-in and this member of staff has not set it up.
    pub fn require_verified(&self) -> Result<(), CoreError> {
        if !self.clinic.verification.is_verified() {
            return Err(CoreError::Refused {
                code: "email_unverified",
                message: "Verify your clinic's email first: follow the link we emailed to the clinic's administrator. Until then the clinic cannot add patients, link accounts, send messages or see data.".into(),
            });
        }
        if self.clinic.require_two_factor && !self.user.second_factors.any() {
            return Err(CoreError::Refused {
                code: "two_factor_setup_required",
                message: "Your clinic requires two-factor sign-in. Set it up on your Account security page first.".into(),
            });
        }
        Ok(())
    }

    pub fn require_admin(&self) -> Result<(), CoreError> {
        if self.user.role == Role::Admin {
            Ok(())
        } else {
            Err(CoreError::Forbidden)
        }
    }
}
