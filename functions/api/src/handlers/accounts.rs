//! Sign-up, sign-in, sign-out and "who am I" for clinic staff and personal accounts.

use bytes::Bytes;
use glucolink_core::account::clinic::{self, Clinic, ClinicSignUp, ClinicUser, Staff};
use glucolink_core::account::personal::{self, Person, PersonalSignUp, ProfileChange};
use glucolink_core::account::signin::{self, SignIn};
use glucolink_core::account::two_factor;
use glucolink_core::account::verify;
use glucolink_core::session::{self, Principal};
use http::{Request, StatusCode};
use serde::{Deserialize, Serialize};

use super::linking::site_url;
use crate::app::App;
use crate::error::{ApiError, SecondFactorChallenge};
use crate::security::{
    clear_session_cookie, new_csrf_cookie, optional_session, require_any_staff, require_person,
    require_session, session_cookie,
};
use crate::wire::{Reply, json_body, source_ip};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClinicSignUpBody {
    clinic_name: String,
    name: String,
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClinicSignInBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalSignUpBody {
    username: String,
    password: String,
    name: String,
    date_of_birth: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    time_zone: Option<String>,
    country: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalSignInBody {
    username: String,
    password: String,
}

/// What `/api/me` and the sign-in answers say about a member of clinic staff.
#[derive(Serialize)]
struct ClinicUserView {
    kind: &'static str,
    clinic_id: String,
    clinic_name: String,
    user_id: String,
    name: String,
    email: String,
    role: &'static str,
    /// `pending` until the first admin follows the emailed link; then `email`, `operator` or `legacy`.
    clinic_verification: &'static str,
    /// The same, in a person's words.
    clinic_verified_as: String,
    /// Signs in with two factors (an authenticator app or a passkey) after the password.
    two_factor: bool,
    /// Has an authenticator app (TOTP) set up.
    authenticator_app: bool,
    /// How many passkeys the account holds.
    passkeys: i64,
    /// The clinic requires two-factor sign-in of all its staff.
    clinic_requires_two_factor: bool,
    /// The clinic's settings (what its admins change on "Staff and settings").
    clinic_settings: serde_json::Value,
}

/// What `/api/me` and the sign-in answers say about a personal account.
#[derive(Serialize)]
pub(super) struct PersonView {
    kind: &'static str,
    person_id: String,
    username: String,
    name: String,
    date_of_birth: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// The email received its confirmation link and was confirmed (reset links go only to confirmed
    /// contacts).
    email_verified: bool,
    /// The same for the phone.
    phone_verified: bool,
    time_zone: Option<String>,
    glucose_units: glucolink_core::report::build::Units,
    /// Signs in with two factors (an authenticator app or a passkey) after the password.
    two_factor: bool,
    /// Has an authenticator app (TOTP) set up.
    authenticator_app: bool,
    /// How many passkeys the account holds.
    passkeys: i64,
}

fn clinic_user_view(user: &ClinicUser, clinic: &Clinic) -> ClinicUserView {
    ClinicUserView {
        kind: "clinic_user",
        clinic_id: user.clinic_id.to_string(),
        clinic_name: clinic.name.clone(),
        user_id: user.id.to_string(),
        name: user.name.clone(),
        email: user.email.clone(),
        role: user.role.as_str(),
        clinic_verification: clinic.verification.kind(),
        clinic_verified_as: clinic.verification.described(),
        two_factor: user.second_factors.any(),
        authenticator_app: user.second_factors.authenticator_app,
        passkeys: user.second_factors.passkeys,
        clinic_requires_two_factor: clinic.require_two_factor,
        clinic_settings: serde_json::json!({
            "freshness_days": clinic.freshness_days,
            "glucose_units": clinic.glucose_units,
            "country": clinic.country.as_ref().map(|c| c.code()),
            "require_two_factor": clinic.require_two_factor,
        }),
    }
}

pub(super) fn person_view(person: &Person) -> PersonView {
    PersonView {
        kind: "person",
        person_id: person.id.to_string(),
        username: person.username.clone(),
        name: person.name.clone(),
        date_of_birth: person.date_of_birth.map(|d| d.to_string()),
        email: person.email.clone(),
        phone: person.phone.clone(),
        email_verified: person.email_verified,
        phone_verified: person.phone_verified,
        time_zone: person.time_zone.clone(),
        glucose_units: person.glucose_units,
        two_factor: person.second_factors.any(),
        authenticator_app: person.second_factors.authenticator_app,
        passkeys: person.second_factors.passkeys,
    }
}

pub async fn clinic_sign_up(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: ClinicSignUpBody = json_body(request)?;
    // The operator's rule on who may register comes first: in `invite` mode nobody may.
    app.config.clinic_join.allows_sign_up(&body.email)?;
    let (clinic, admin) = clinic::sign_up(
        &app.ctx,
        ClinicSignUp {
            clinic_name: &body.clinic_name,
            name: &body.name,
            email: &body.email,
            password: &body.password,
            source: &source_ip(request),
        },
    )
    .await?;
    let new_session = session::start(
        &app.ctx,
        Principal::ClinicUser {
            clinic_id: clinic.id,
            user_id: admin.id,
        },
    )
    .await?;
    let staff = Staff {
        clinic,
        user: admin,
    };
    verify::send_link(&app.ctx, &staff, &site_url(app, request)).await?;
    let Staff {
        clinic,
        user: admin,
    } = staff;
    Ok(
        Reply::json(StatusCode::CREATED, &clinic_user_view(&admin, &clinic))
            .with_cookie(session_cookie(&app.config, &new_session))
            // A new CSRF token with every new session: one seen before sign-in is worth nothing after.
            .with_cookie(new_csrf_cookie(&app.config)?),
    )
}

pub async fn clinic_sign_in(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: ClinicSignInBody = json_body(request)?;
    let (user, new_session) =
        match signin::clinic_user(&app.ctx, &body.email, &body.password, &source_ip(request))
            .await?
        {
            SignIn::Session(user, new_session) => (user, new_session),
            SignIn::SecondFactor { challenge, factors } => {
                return Err(second_factor_required(challenge, factors));
            }
        };
    end_previous_session(app, request).await?;
    let clinic = clinic::get_clinic(&app.ctx, user.clinic_id).await?;
    Ok(
        Reply::json(StatusCode::OK, &clinic_user_view(&user, &clinic))
            .with_cookie(session_cookie(&app.config, &new_session))
            // A new CSRF token with every new session: one seen before sign-in is worth nothing after.
            .with_cookie(new_csrf_cookie(&app.config)?),
    )
}

pub async fn personal_sign_up(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: PersonalSignUpBody = json_body(request)?;
    let person = personal::sign_up(
        &app.ctx,
        PersonalSignUp {
            username: &body.username,
            password: &body.password,
            name: &body.name,
            date_of_birth: body.date_of_birth.as_deref(),
            email: body.email.as_deref(),
            phone: body.phone.as_deref(),
            time_zone: body.time_zone.as_deref(),
            country: body.country.as_deref(),
            source: &source_ip(request),
        },
    )
    .await?;
    super::contacts::send_quietly(app, request, &person).await;
    let new_session = session::start(
        &app.ctx,
        Principal::Person {
            person_id: person.id,
        },
    )
    .await?;
    Ok(Reply::json(StatusCode::CREATED, &person_view(&person))
        .with_cookie(session_cookie(&app.config, &new_session))
        // A new CSRF token with every new session: one seen before sign-in is worth nothing after.
        .with_cookie(new_csrf_cookie(&app.config)?))
}

pub async fn personal_sign_in(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: PersonalSignInBody = json_body(request)?;
    let signed_in = signin::person(
        &app.ctx,
        &body.username,
        &body.password,
        &source_ip(request),
    )
    .await?;
    let (person, new_session) = match signed_in {
        SignIn::Session(person, new_session) => (person, new_session),
        SignIn::SecondFactor { challenge, factors } => {
            return Err(second_factor_required(challenge, factors));
        }
    };
    end_previous_session(app, request).await?;
    Ok(Reply::json(StatusCode::OK, &person_view(&person))
        .with_cookie(session_cookie(&app.config, &new_session))
        // A new CSRF token with every new session: one seen before sign-in is worth nothing after.
        .with_cookie(new_csrf_cookie(&app.config)?))
}

/// Ends the caller's session; with `?everywhere=true`, every session of the same account.
/// Without a valid session it still answers 204 and clears the cookie: signing out is idempotent.
pub async fn sign_out(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let everywhere = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair == "everywhere=true");
    if let Some(current) = optional_session(app, request).await? {
        if everywhere {
            session::end_all(&app.ctx, &current.principal).await?;
        } else {
            session::end(&app.ctx, &current).await?;
        }
    }
    Ok(Reply::no_content().with_cookie(clear_session_cookie(&app.config)))
}

pub async fn me(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let current = require_session(app, request).await?;
    match current.principal {
        Principal::ClinicUser { clinic_id, user_id } => {
            let member = clinic::Staff::load(&app.ctx, clinic_id, user_id).await?;
            let clinics = glucolink_core::account::staff::clinics(&app.ctx, &member).await?;
            let mut view = serde_json::to_value(clinic_user_view(&member.user, &member.clinic))
                .map_err(|e| glucolink_core::CoreError::Internal(e.to_string()))?;
            // Every clinic this login belongs to, for the header's clinic switcher.
            view["clinics"] = serde_json::json!(clinics);
            Ok(Reply::json(StatusCode::OK, &view))
        }
        Principal::Person { person_id } => {
            let person = personal::get(&app.ctx, person_id).await?;
            let times = glucolink_core::patient::data_times(&app.ctx, &[person_id])
                .await?
                .remove(&person_id)
                .unwrap_or_default();
            let mut view = serde_json::to_value(person_view(&person))
                .map_err(|e| glucolink_core::CoreError::Internal(e.to_string()))?;
            view["last_upload_at"] = serde_json::json!(times.last_upload_at);
            view["last_reading_at"] = serde_json::json!(times.last_reading_at);
            Ok(Reply::json(StatusCode::OK, &view))
        }
    }
}

/// A new sign-in replaces the session the browser had, so two accounts never mix in one browser.
async fn end_previous_session(app: &App, request: &Request<Bytes>) -> Result<(), ApiError> {
    if let Some(previous) = optional_session(app, request).await? {
        session::end(&app.ctx, &previous).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    time_zone: Option<String>,
    glucose_units: Option<String>,
}

/// Changes the signed-in person's profile settings (the time zone of their uploads).
pub async fn update_profile(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = crate::security::require_person(app, request).await?;
    let body: ProfileBody = json_body(request)?;
    let person = personal::update_profile(
        &app.ctx,
        &person,
        ProfileChange {
            time_zone: body.time_zone.as_deref(),
            glucose_units: body.glucose_units.as_deref(),
        },
    )
    .await?;
    Ok(Reply::json(StatusCode::OK, &person_view(&person)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    token: String,
}

/// The link in the verification email: the clinic is verified (204), also when it already was.
pub async fn verify_clinic_email(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: VerifyBody = json_body(request)?;
    verify::confirm(&app.ctx, &body.token).await?;
    Ok(Reply::no_content())
}

/// "Send the link again": a new verification email to the signed-in member of an unverified clinic.
pub async fn resend_verification(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let staff = require_any_staff(app, request).await?;
    verify::send_link(&app.ctx, &staff, &site_url(app, request)).await?;
    Ok(Reply::accepted(&serde_json::json!({
        "message": format!("We sent a new link to {}. It works for 7 days.", staff.user.email)
    })))
}

/// 401 `second_factor_required`: the password was right; the `challenge` is completed with a code
/// from the authenticator app, a recovery code or a passkey (`methods` says which the account has).
fn second_factor_required(challenge: String, factors: two_factor::SecondFactors) -> ApiError {
    let mut methods = Vec::new();
    if factors.authenticator_app {
        methods.push("app");
    }
    if factors.passkeys > 0 {
        methods.push("passkey");
    }
    let message = match (factors.authenticator_app, factors.passkeys > 0) {
        (true, true) => {
            "Use your passkey, or type the 6-digit code from your authenticator app (or one of your recovery codes)."
        }
        (false, true) => "Use your passkey to finish signing in.",
        _ => "Type the 6-digit code from your authenticator app (or one of your recovery codes).",
    };
    ApiError {
        challenge: Some(Box::new(SecondFactorChallenge {
            token: challenge,
            methods,
        })),
        ..ApiError::new(StatusCode::UNAUTHORIZED, "second_factor_required", message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondFactorBody {
    challenge: String,
    code: String,
}

/// Completes a sign-in with a code from the authenticator app or a recovery code: the session starts.
pub async fn second_factor(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: SecondFactorBody = json_body(request)?;
    let principal = two_factor::complete(&app.ctx, &body.challenge, &body.code).await?;
    signed_in(app, request, principal).await
}

/// The answer of a completed sign-in (second factor or passkey): the account's view, a new session
/// and a new CSRF token; the session the browser had ends.
pub(super) async fn signed_in(
    app: &App,
    request: &Request<Bytes>,
    principal: Principal,
) -> Result<Reply, ApiError> {
    end_previous_session(app, request).await?;
    let new_session = session::start(&app.ctx, principal).await?;
    let view = match principal {
        Principal::ClinicUser { clinic_id, user_id } => {
            let user = clinic::get_user(&app.ctx, clinic_id, user_id).await?;
            let clinic = clinic::get_clinic(&app.ctx, clinic_id).await?;
            serde_json::to_value(clinic_user_view(&user, &clinic))
        }
        Principal::Person { person_id } => {
            serde_json::to_value(person_view(&personal::get(&app.ctx, person_id).await?))
        }
    }
    .map_err(|e| glucolink_core::CoreError::Internal(e.to_string()))?;
    Ok(Reply::json(StatusCode::OK, &view)
        .with_cookie(session_cookie(&app.config, &new_session))
        .with_cookie(new_csrf_cookie(&app.config)?))
}

/// The account name an authenticator app shows: the staff email or the username.
pub(super) async fn account_name(app: &App, principal: &Principal) -> Result<String, ApiError> {
    Ok(match *principal {
        Principal::ClinicUser { clinic_id, user_id } => {
            clinic::get_user(&app.ctx, clinic_id, user_id).await?.email
        }
        Principal::Person { person_id } => personal::get(&app.ctx, person_id).await?.username,
    })
}

/// Starts setting up two-factor sign-in: the secret, its otpauth URI and that URI as a QR code (SVG).
pub async fn start_totp(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let current = require_session(app, request).await?;
    let name = account_name(app, &current.principal).await?;
    let enrolment = two_factor::start(&app.ctx, &current.principal, &name).await?;
    let qr = qrcode::QrCode::new(enrolment.otpauth_uri.as_bytes())
        .map_err(|e| glucolink_core::CoreError::Internal(format!("qr: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({
            "secret": enrolment.secret,
            "otpauth_uri": enrolment.otpauth_uri,
            "qr_svg": qr,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
}

/// Confirms two-factor sign-in with a first code; answers the recovery codes (shown once).
pub async fn confirm_totp(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let current = require_session(app, request).await?;
    let body: CodeBody = json_body(request)?;
    let (actor, clinic) = two_factor::who(&app.ctx, &current.principal).await?;
    let codes =
        two_factor::confirm(&app.ctx, &current.principal, actor, clinic, &body.code).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "recovery_codes": codes }),
    ))
}

/// Turns two-factor sign-in off, with a current code or a recovery code.
pub async fn remove_totp(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let current = require_session(app, request).await?;
    let body: CodeBody = json_body(request)?;
    two_factor::remove(&app.ctx, &current.principal, &body.code).await?;
    Ok(Reply::no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteAccountBody {
    password: String,
    /// A code from the authenticator app or a recovery code, when two-factor sign-in is on.
    code: Option<String>,
}

/// "Delete my account": everything glucolink holds about the person is erased, their clinics stop
/// seeing it (and are told), and this browser is signed out.
pub async fn delete_personal_account(
    app: &App,
    request: &Request<Bytes>,
) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let body: DeleteAccountBody = json_body(request)?;
    glucolink_core::account::deletion::delete_account(
        &app.ctx,
        &person,
        &body.password,
        body.code.as_deref(),
        &source_ip(request),
    )
    .await?;
    Ok(Reply::no_content().with_cookie(clear_session_cookie(&app.config)))
}
