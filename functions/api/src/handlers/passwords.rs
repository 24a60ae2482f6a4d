//! "Forgot password?": asking for a reset link (clinic staff by email; patients by username, email or
//! phone) and choosing a new password with it. Asking answers 202 whether or not an account exists.

use bytes::Bytes;
use glucolink_core::account::fields::Country;
use glucolink_core::account::reset::{self, Forgotten};
use http::Request;
use serde::Deserialize;

use super::linking::site_url;
use crate::app::App;
use crate::error::ApiError;
use crate::wire::{Reply, json_body, source_ip};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClinicResetBody {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalResetBody {
    username: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// The two-letter country a phone number written as dialled at home belongs to.
    country: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteResetBody {
    token: String,
    password: String,
}

/// A field that was sent and is not blank.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// The same words whether or not an account exists.
fn sent() -> Reply {
    Reply::accepted(&serde_json::json!({
        "message": "If an account matches, a link to choose a new password is on its way. It works once, for 30 minutes."
    }))
}

pub async fn clinic(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: ClinicResetBody = json_body(request)?;
    let site = site_url(app, request);
    reset::request(
        &app.ctx,
        Forgotten::ClinicEmail(&body.email),
        &source_ip(request),
        &site,
    )
    .await?;
    Ok(sent())
}

pub async fn personal(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: PersonalResetBody = json_body(request)?;
    let country = given(&body.country)
        .map(Country::parse)
        .transpose()
        .map_err(ApiError::from)?;
    let forgotten = match (
        given(&body.username),
        given(&body.email),
        given(&body.phone),
    ) {
        (Some(username), None, None) => Forgotten::Username(username),
        (None, Some(email), None) => Forgotten::PersonEmail(email),
        (None, None, Some(phone)) => Forgotten::PersonPhone(phone, country),
        (None, None, None) => {
            return Err(ApiError::bad_request(
                "missing_field",
                "Type your username, or the email or phone number of your account.",
            )
            .with_field("username"));
        }
        _ => {
            return Err(ApiError::bad_request(
                "one_field",
                "Send one of username, email or phone.",
            )
            .with_field("username"));
        }
    };
    let site = site_url(app, request);
    reset::request(&app.ctx, forgotten, &source_ip(request), &site).await?;
    Ok(sent())
}

pub async fn complete(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: CompleteResetBody = json_body(request)?;
    reset::complete(&app.ctx, &body.token, &body.password, &source_ip(request)).await?;
    // Every session of the account has ended; the site sends the person to sign in.
    Ok(Reply::no_content())
}
