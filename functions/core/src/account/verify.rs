//! Verified clinics: how clinics may join this glucolink (the operator's [`JoinPolicy`]), the emailed
//! link that verifies a new clinic's first admin, and clinics the operator adds.
//!
//! A clinic that signed up is `Pending` until its admin follows the link: until then it cannot create
//! records, codes or messages, or see data (`Staff::require_verified`). Patients see how a clinic was
//! verified beside its name. Rules: docs/ACCOUNTS.md, "Verified clinics"; deployment: docs/DEPLOY.md.

use jiff::Timestamp;

use super::clinic::{self, Clinic, Role, Staff, Verification};
use super::fields::{ClinicName, Email};
use super::staff;
use crate::audit::{Actor, NewEvent};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::ClinicId;
use crate::keys;
use crate::messages::{self, readable};
use crate::random::{sha256_hex, token_256};
use crate::store::{Condition, Item, Key, StoreError, Value, WriteOp};
use crate::throttle::{self, VERIFICATION_EMAILS_PER_CLINIC};

/// How long a verification link works.
pub const VERIFICATION_VALID_DAYS: i64 = 7;

/// How clinics may join: the operator's choice (`--clinic-join`, stack parameter `ClinicJoin`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum JoinPolicy {
    /// Any clinic may register; its admin verifies their email.
    #[default]
    Open,
    /// Only admins whose email is at one of these domains (lower case) may register a clinic.
    Domains(Vec<String>),
    /// Clinics join only when the operator adds them (`glucolink clinic-invite`).
    Invite,
}

impl JoinPolicy {
    /// `open`, `domains` (with a comma-separated list) or `invite`.
    pub fn parse(mode: &str, domains: &str) -> Result<Self, String> {
        let list: Vec<String> = domains
            .split(',')
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        match mode.trim() {
            "" | "open" => Ok(JoinPolicy::Open),
            "invite" => Ok(JoinPolicy::Invite),
            "domains" if list.is_empty() => {
                Err("clinic join mode `domains` needs at least one domain".into())
            }
            "domains" => {
                if let Some(bad) = list
                    .iter()
                    .find(|d| !d.contains('.') || d.contains(char::is_whitespace))
                {
                    return Err(format!("{bad:?} is not an email domain like example.org"));
                }
                Ok(JoinPolicy::Domains(list))
            }
            other => Err(format!(
                "clinic join mode is open, domains or invite, not {other:?}"
            )),
        }
    }

    /// `open`, `domains` or `invite`.
    pub fn mode(&self) -> &'static str {
        match self {
            JoinPolicy::Open => "open",
            JoinPolicy::Domains(_) => "domains",
            JoinPolicy::Invite => "invite",
        }
    }

    /// Whether someone who typed this email may register a clinic, and if not, why (403). An email
    /// that does not parse passes here: sign-up itself says what is wrong with it (400).
    pub fn allows_sign_up(&self, email: &str) -> Result<(), CoreError> {
        match self {
            JoinPolicy::Open => Ok(()),
            JoinPolicy::Invite => Err(CoreError::Refused {
                code: "signup_by_invitation",
                message: "Clinics join this glucolink service by invitation from its operator. Ask them to add your clinic; they will email you a link.".into(),
            }),
            JoinPolicy::Domains(domains) => {
                let Ok(email) = Email::parse(email) else {
                    return Ok(());
                };
                let domain = email.as_str().rsplit('@').next().unwrap_or_default();
                if domains.iter().any(|d| d == domain) {
                    Ok(())
                } else {
                    Err(CoreError::Refused {
                        code: "domain_not_allowed",
                        message: format!(
                            "This glucolink service registers clinics with an email at {} only. Use your work email, or ask its operator.",
                            domains.join(", ")
                        ),
                    })
                }
            }
        }
    }
}

fn verification_key(token_hash: &str) -> Key {
    Key::new(format!("VERIFY#{token_hash}"), keys::META)
}

/// Emails the clinic's admin a link that verifies the clinic (at sign-up, and "Send the link again").
pub async fn send_link(ctx: &Ctx, staff: &Staff, site_url: &str) -> Result<(), CoreError> {
    if staff.clinic.verification.is_verified() {
        return Err(CoreError::Conflict {
            code: "already_verified",
            message: "Your clinic is already verified.".into(),
        });
    }
    throttle::spend(
        ctx,
        VERIFICATION_EMAILS_PER_CLINIC,
        &staff.clinic.id.to_string(),
    )
    .await?;
    let token = token_256()?;
    let hash = sha256_hex(&token);
    let now = ctx.clock.now();
    let expires_at = Timestamp::from_second(now.as_second() + VERIFICATION_VALID_DAYS * 86_400)
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    ctx.store
        .put(
            Item::new(verification_key(&hash))
                .with_s("clinic_id", staff.clinic.id.to_string())
                .with_s("user_id", staff.user.id.to_string())
                .with_s("email", &staff.user.email)
                .expiring_at(expires_at.as_second()),
            Condition::NotExists,
        )
        .await?;
    let link = format!("{}/verify?token={token}", site_url.trim_end_matches('/'));
    let clinic = &staff.clinic.name;
    let message = messages::Email {
        heading: format!("Verify {clinic} on glucolink"),
        paragraphs: vec![
            format!("Hello {},", staff.user.name),
            format!("You registered {clinic} on glucolink. Verify your email so the clinic can add patients, link their accounts and see their data. Patients will see that the clinic's administrator receives email at this address's domain."),
        ],
        button: Some((&link, "Verify my email")),
        after: vec![
            format!("Verification token (if the link does not open): {token}"),
            format!("The link works until {}. If you did not register a clinic, ignore this message.", readable(expires_at)),
        ],
        sent_for: clinic,
    }
    .to(
        Email::parse(&staff.user.email)?,
        format!("Verify {clinic} on glucolink"),
    );
    ctx.notifier.send(message).await
}

fn link_invalid() -> CoreError {
    CoreError::Gone {
        code: "verification_invalid",
        message: "This verification link has expired or does not exist. Sign in and choose Send the link again.".into(),
    }
}

/// Verifies the clinic a link names (its admin received it). Following a link again after the clinic
/// is verified changes nothing.
pub async fn confirm(ctx: &Ctx, token: &str) -> Result<ClinicId, CoreError> {
    if !crate::random::looks_like_token_256(token) {
        return Err(link_invalid());
    }
    let hash = sha256_hex(token);
    let item = ctx
        .store
        .get(&verification_key(&hash))
        .await?
        .ok_or_else(link_invalid)?;
    let corrupt = || CoreError::Store(StoreError::Corrupt("verification link".into()));
    let clinic_id: ClinicId = item
        .require_s("clinic_id")?
        .parse()
        .map_err(|_| corrupt())?;
    let email = Email::parse(item.require_s("email")?).map_err(|_| corrupt())?;
    let clinic = clinic::get_clinic(ctx, clinic_id).await?;
    if clinic.verification.is_verified() {
        return Ok(clinic_id);
    }
    let now = ctx.clock.now();
    let domain = email
        .as_str()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let verification = Verification::Email {
        domain: domain.clone(),
        at: now,
    };
    let stored = ctx
        .store
        .get(&keys::clinic(clinic_id))
        .await?
        .ok_or(CoreError::NotFound)?;
    let mut ops = vec![WriteOp::Put {
        item: verification.write(stored),
        condition: Condition::Equals("verification".into(), Value::S("pending".into())),
    }];
    ops.extend(
        NewEvent {
            actor: Actor {
                kind: "clinic_user",
                id: item.require_s("user_id")?.to_owned(),
                name: email.as_str().to_owned(),
            },
            action: "clinic_verified",
            clinic: Some((clinic_id, clinic.name.clone())),
            patient_id: None,
            person_id: None,
            detail: format!(
                "{} verified the clinic's email ({}): the clinic can now work with patients.",
                email.as_str(),
                domain
            ),
        }
        .ops(now),
    );
    match ctx.store.transact(ops).await {
        // Verified meanwhile by another of its links: the same outcome.
        Ok(()) | Err(StoreError::TransactionCanceled { index: 0 }) => Ok(clinic_id),
        Err(other) => Err(other.into()),
    }
}

/// The operator adds a clinic and invites its first admin by email (the `invite` join mode, or any
/// mode). The clinic is verified by the operator; the admin's email by accepting the invitation.
pub async fn add_clinic(
    ctx: &Ctx,
    clinic_name: &str,
    admin_email: &str,
    site_url: &str,
) -> Result<(Clinic, staff::Invitation), CoreError> {
    let name = ClinicName::parse(clinic_name)?;
    let email = Email::parse(admin_email)?;
    // An address that already signs in to glucolink joins the new clinic with that login.
    let now = ctx.clock.now();
    let clinic = Clinic {
        id: ClinicId::generate(),
        name: name.as_str().to_owned(),
        created_at: now,
        freshness_days: clinic::DEFAULT_FRESHNESS_DAYS,
        glucose_units: Default::default(),
        country: None,
        verification: Verification::Operator { at: now },
        require_two_factor: false,
    };
    ctx.store
        .put(
            clinic.verification.write(
                Item::new(keys::clinic(clinic.id))
                    .with_s("name", &clinic.name)
                    .with_n("created_at", now.as_millisecond())
                    .with_n("freshness_days", clinic.freshness_days),
            ),
            Condition::NotExists,
        )
        .await?;
    let audit = NewEvent {
        actor: Actor {
            kind: "operator",
            id: "operator".into(),
            name: "The operator of this glucolink service".into(),
        },
        action: "clinic_added",
        clinic: Some((clinic.id, clinic.name.clone())),
        patient_id: None,
        person_id: None,
        detail: format!(
            "The operator added {} and invited {} as its first admin.",
            clinic.name,
            email.as_str()
        ),
    };
    let invitation = staff::send_invitation(
        ctx,
        (clinic.id, &clinic.name),
        &email,
        Role::Admin,
        "The operator of this glucolink service",
        audit,
        site_url,
    )
    .await?;
    Ok((clinic, invitation))
}

/// Marks a clinic verified by the operator (the demo clinic, and clinics an operator vouches for).
pub async fn mark_verified_by_operator(ctx: &Ctx, clinic_id: ClinicId) -> Result<(), CoreError> {
    let stored = ctx
        .store
        .get(&keys::clinic(clinic_id))
        .await?
        .ok_or(CoreError::NotFound)?;
    let verification = Verification::Operator {
        at: ctx.clock.now(),
    };
    ctx.store
        .put(verification.write(stored), Condition::Exists)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_modes_parse_and_decide_who_may_register() {
        assert_eq!(JoinPolicy::parse("", ""), Ok(JoinPolicy::Open));
        assert_eq!(JoinPolicy::parse("invite", ""), Ok(JoinPolicy::Invite));
        let domains = JoinPolicy::parse("domains", " NHS.net, @clinic.example ").expect("domains");
        assert_eq!(
            domains,
            JoinPolicy::Domains(vec!["nhs.net".into(), "clinic.example".into()])
        );
        assert!(JoinPolicy::parse("domains", "").is_err());
        assert!(JoinPolicy::parse("domains", "localhost").is_err());
        assert!(JoinPolicy::parse("closed", "").is_err());
        assert!(domains.allows_sign_up("Sam@NHS.net").is_ok());
        assert!(matches!(
            domains.allows_sign_up("sam@evil.nhs.net.example"),
            Err(CoreError::Refused {
                code: "domain_not_allowed",
                ..
            })
        ));
        assert!(matches!(
            JoinPolicy::Invite.allows_sign_up("sam@nhs.net"),
            Err(CoreError::Refused {
                code: "signup_by_invitation",
                ..
            })
        ));
        assert!(JoinPolicy::Open.allows_sign_up("x@y.example").is_ok());
    }
}
