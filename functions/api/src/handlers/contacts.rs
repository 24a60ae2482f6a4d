//! A patient's recovery contacts: confirming them from the link sent, sending the link again, and
//! changing them (with the password).

use bytes::Bytes;
use glucolink_core::account::contact::{self, ContactChange};
use glucolink_core::account::{personal::Person, signin};
use http::{Request, StatusCode};
use serde::Deserialize;

use super::accounts::person_view;
use super::linking::site_url;
use crate::app::App;
use crate::error::ApiError;
use crate::security::require_person;
use crate::wire::{Reply, json_body, source_ip};

/// Sends the confirmation links of a person's unverified contacts, at sign-up or after a change: the
/// account exists either way, so a message that cannot go now is logged, not an error (the person can
/// send it again from Account security).
pub(super) async fn send_quietly(app: &App, request: &Request<Bytes>, person: &Person) {
    if let Err(error) = contact::send_verification(&app.ctx, person, &site_url(app, request)).await
    {
        tracing::warn!(%error, "recovery contact confirmation not sent");
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

/// Confirms a recovery contact with the token of the link sent to it (no session needed: the link may
/// open on another device).
pub async fn verify(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let body: TokenBody = json_body(request)?;
    contact::verify(&app.ctx, body.token.trim()).await?;
    Ok(Reply::no_content())
}

/// "Send the link again": to every unverified contact of the signed-in person.
pub async fn resend(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let sent = contact::send_verification(&app.ctx, &person, &site_url(app, request)).await?;
    Ok(Reply::accepted(&serde_json::json!({ "sent": sent })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    /// The account's password: where reset links go is guarded like the password itself.
    password: String,
    email: Option<String>,
    phone: Option<String>,
    /// ISO country of a phone number typed without its country code.
    country: Option<String>,
}

/// Replaces the recovery contacts (at least one); new ones are sent a confirmation link.
pub async fn change(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let body: ChangeBody = json_body(request)?;
    let change = ContactChange {
        email: body.email.as_deref(),
        phone: body.phone.as_deref(),
        country: body.country.as_deref(),
    };
    // The input first (nothing is counted against the password for a typo), then the password.
    contact::check(&change)?;
    signin::confirm_password(&app.ctx, &person, &body.password, &source_ip(request)).await?;
    let updated = contact::change(&app.ctx, &person, change).await?;
    if (updated.email.is_some() && !updated.email_verified)
        || (updated.phone.is_some() && !updated.phone_verified)
    {
        send_quietly(app, request, &updated).await;
    }
    Ok(Reply::json(StatusCode::OK, &person_view(&updated)))
}
