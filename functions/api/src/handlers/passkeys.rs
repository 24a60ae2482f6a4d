//! Passkeys: adding, listing and removing them on Account security, and signing in with one — on its
//! own ("Sign in with a passkey") or as the second step after a password (`challenge`).

use bytes::Bytes;
use glucolink_core::CoreError;
use glucolink_core::account::passkey::{self, Site};
use glucolink_core::account::signin;
use glucolink_core::account::two_factor;
use glucolink_core::account::{clinic, personal};
use glucolink_core::session::Principal;
use glucolink_core::throttle::{self, PASSKEY_SIGN_INS_PER_SOURCE};
use http::header::ORIGIN;
use http::{Request, StatusCode};
use serde::Deserialize;

use super::accounts::{account_name, signed_in};
use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::require_session;
use crate::wire::{Reply, json_body, source_ip};

/// The site passkeys belong to: the configured site when it has a name, else (on a computer of one's
/// own, served at 127.0.0.1) the `http://localhost:…` origin the browser came from.
fn site(app: &App, request: &Request<Bytes>) -> Result<Site, ApiError> {
    let configured = app.config.site_url.as_deref();
    if let Some(site) = configured.and_then(Site::at) {
        return Ok(site);
    }
    let origin = request
        .headers()
        .get(ORIGIN)
        .and_then(|value| value.to_str().ok());
    if let Some(site) = origin.and_then(Site::at) {
        return Ok(site);
    }
    let suggestion = configured
        .map(|url| url.replace("://127.0.0.1", "://localhost"))
        .filter(|url| url.contains("://localhost"))
        .map(|url| format!(" Open {url} instead."))
        .unwrap_or_default();
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "passkeys_unavailable",
        format!(
            "Passkeys work only when the site is opened by its name, not a numeric address.{suggestion}"
        ),
    ))
}

/// Starts adding a passkey: the options for `navigator.credentials.create`.
pub async fn start_registration(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let current = require_session(app, request).await?;
    let site = site(app, request)?;
    let account = account_name(app, &current.principal).await?;
    let display = match current.principal {
        Principal::ClinicUser { clinic_id, user_id } => {
            clinic::get_user(&app.ctx, clinic_id, user_id).await?.name
        }
        Principal::Person { person_id } => personal::get(&app.ctx, person_id).await?.name,
    };
    let options =
        passkey::start_registration(&app.ctx, &site, &current.principal, &account, &display)
            .await?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "options": options }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    /// `PublicKeyCredential.toJSON()` of the created passkey.
    credential: serde_json::Value,
    /// What the person calls it ("Work laptop").
    name: Option<String>,
}

/// Finishes adding a passkey: 201 with the passkey as the list shows it.
pub async fn add(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let current = require_session(app, request).await?;
    let body: AddBody = json_body(request)?;
    let site = site(app, request)?;
    let who = two_factor::who(&app.ctx, &current.principal).await?;
    let credential = serde_json::to_vec(&body.credential)
        .map_err(|e| CoreError::Internal(format!("credential: {e}")))?;
    let added = passkey::finish_registration(
        &app.ctx,
        &site,
        &current.principal,
        who,
        &credential,
        body.name.as_deref(),
    )
    .await?;
    Ok(Reply::json(StatusCode::CREATED, &added))
}

/// The signed-in person's passkeys, newest first.
pub async fn list(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let current = require_session(app, request).await?;
    let passkeys = passkey::list(&app.ctx, &current.principal).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "passkeys": passkeys }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    /// The account's password: removing a way to sign in is confirmed like a sign-in.
    password: String,
}

/// Removes one of the signed-in person's passkeys, confirmed with their password.
pub async fn remove(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let current = require_session(app, request).await?;
    let body: RemoveBody = json_body(request)?;
    let id = params.get("passkey_id").ok_or(CoreError::NotFound)?;
    signin::confirm_own_password(
        &app.ctx,
        &current.principal,
        &body.password,
        &source_ip(request),
    )
    .await?;
    let who = two_factor::who(&app.ctx, &current.principal).await?;
    passkey::remove(&app.ctx, &current.principal, who, id).await?;
    Ok(Reply::no_content())
}

/// Starts a passkey sign-in: the options for `navigator.credentials.get`.
pub async fn start_sign_in(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let site = site(app, request)?;
    throttle::reserve(&app.ctx, PASSKEY_SIGN_INS_PER_SOURCE, &source_ip(request)).await?;
    let options = passkey::start_sign_in(&app.ctx, &site).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "options": options }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    /// `PublicKeyCredential.toJSON()` of the passkey's answer.
    credential: serde_json::Value,
    /// The challenge of a password sign-in waiting for its second factor, if this completes one.
    challenge: Option<String>,
    /// Which sign-in page this is (`clinic` or `personal`): a passkey of the other kind of account is
    /// refused there, before any session starts.
    area: Option<String>,
}

/// Signs in with a passkey: 200 with the account (as a password sign-in answers) and a session.
pub async fn sign_in(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: SignInBody = json_body(request)?;
    let wants_clinic = match body.area.as_deref() {
        None => None,
        Some("clinic") => Some(true),
        Some("personal") => Some(false),
        Some(_) => {
            return Err(
                ApiError::bad_request("invalid_area", "The area is clinic or personal.")
                    .with_field("area"),
            );
        }
    };
    let site = site(app, request)?;
    let expected = match body.challenge.as_deref() {
        Some(token) => Some(two_factor::challenge_owner(&app.ctx, token).await?),
        None => None,
    };
    let credential = serde_json::to_vec(&body.credential)
        .map_err(|e| CoreError::Internal(format!("credential: {e}")))?;
    let checked = passkey::finish_sign_in(
        &app.ctx,
        &site,
        &credential,
        expected.as_ref(),
        wants_clinic,
    )
    .await;
    let principal = match checked {
        Ok(principal) => principal,
        Err(error) => {
            if let Some(token) = body.challenge.as_deref() {
                two_factor::count_wrong_answer(&app.ctx, token).await?;
            }
            return Err(error.into());
        }
    };
    if let Some(token) = body.challenge.as_deref() {
        two_factor::close_challenge(&app.ctx, token).await?;
    }
    signed_in(app, request, principal).await
}
