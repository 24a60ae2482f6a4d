//! Clinic staff and settings: invite, list, remove, accept an invitation; the freshness threshold.

use bytes::Bytes;
use glucolink_core::account::staff::{self, SettingsChange};
use glucolink_core::ids::ClinicUserId;
use http::{Request, StatusCode};
use serde::Deserialize;

use super::linking::site_url;
use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::{new_csrf_cookie, require_any_staff, require_staff, session_cookie};
use crate::wire::{Reply, json_body};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
    role: String,
}

pub async fn invite(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let admin = require_staff(app, request).await?;
    let body: InviteBody = json_body(request)?;
    let invitation = staff::invite(
        &app.ctx,
        &admin,
        &body.email,
        &body.role,
        &site_url(app, request),
    )
    .await?;
    Ok(Reply::json(StatusCode::CREATED, &invitation))
}

pub async fn list(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let member = require_any_staff(app, request).await?;
    let list = staff::list(&app.ctx, member.clinic.id).await?;
    Ok(Reply::json(StatusCode::OK, &list))
}

pub async fn remove(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let admin = require_any_staff(app, request).await?;
    let user_id: ClinicUserId = params
        .get("user_id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(ApiError::not_found)?;
    staff::remove(&app.ctx, &admin, user_id).await?;
    Ok(Reply::no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

pub async fn preview_invitation(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: TokenBody = json_body(request)?;
    let invitation = staff::preview(&app.ctx, &body.token).await?;
    Ok(Reply::json(StatusCode::OK, &invitation))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    token: String,
    name: String,
    password: String,
}

pub async fn accept_invitation(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: AcceptBody = json_body(request)?;
    let (user, new_session) =
        staff::accept(&app.ctx, &body.token, &body.name, &body.password).await?;
    Ok(Reply::json(
        StatusCode::CREATED,
        &serde_json::json!({
            "kind": "clinic_user",
            "clinic_id": user.clinic_id.to_string(),
            "user_id": user.id.to_string(),
            "name": user.name,
            "email": user.email,
            "role": user.role.as_str(),
        }),
    )
    .with_cookie(session_cookie(&app.config, &new_session))
    // A new CSRF token with every new session: one seen before sign-in is worth nothing after.
    .with_cookie(new_csrf_cookie(&app.config)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    freshness_days: Option<i64>,
    glucose_units: Option<String>,
    country: Option<String>,
    require_two_factor: Option<bool>,
}

pub async fn update_settings(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let admin = require_any_staff(app, request).await?;
    let body: SettingsBody = json_body(request)?;
    let clinic = staff::update_settings(
        &app.ctx,
        &admin,
        SettingsChange {
            freshness_days: body.freshness_days,
            glucose_units: body.glucose_units.as_deref(),
            country: body.country.as_deref(),
            require_two_factor: body.require_two_factor,
        },
    )
    .await?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({"freshness_days": clinic.freshness_days, "glucose_units": clinic.glucose_units, "country": clinic.country.as_ref().map(|c| c.code()), "require_two_factor": clinic.require_two_factor}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    email: String,
}

/// Cancels a waiting invitation (admins only); its link stops working.
pub async fn cancel_invitation(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let admin = require_staff(app, request).await?;
    let body: CancelBody = json_body(request)?;
    staff::cancel_invitation(&app.ctx, &admin, &body.email).await?;
    Ok(Reply::no_content())
}

/// Accepts an invitation to another clinic with the signed-in login (the invitation's address must be
/// theirs): 201 with the clinic joined. The session stays in its clinic; switching is the next step.
pub async fn join_clinic(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let member = require_any_staff(app, request).await?;
    let body: TokenBody = json_body(request)?;
    let joined = staff::join(&app.ctx, &member, &body.token).await?;
    Ok(Reply::json(StatusCode::CREATED, &joined))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchBody {
    clinic_id: String,
}

/// Switches the signed-in member of staff to another of their clinics: a new session for that clinic
/// replaces this one (with a new CSRF token), and sign-in opens it from now on.
pub async fn switch_clinic(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let member = require_any_staff(app, request).await?;
    let body: SwitchBody = json_body(request)?;
    let principal = staff::switch_clinic(&app.ctx, &member, &body.clinic_id).await?;
    super::accounts::signed_in(app, request, principal).await
}
