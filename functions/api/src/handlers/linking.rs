//! Link to Personal, clinic side: with the patient's credentials, or with a unique code; cancel and unlink.

use bytes::Bytes;
use glucolink_core::link;
use glucolink_core::patient::DataTimes;
use http::header::HOST;
use http::{Request, StatusCode};
use serde::Deserialize;

use super::patients::{patient_id, summary};
use super::print;
use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::require_staff;
use crate::wire::{Reply, json_body, query_param, source_ip};
use glucolink_core::notify::Recipient;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsBody {
    username: String,
    password: String,
    consent: bool,
    /// Staff confirm the account is the patient's although name or date of birth differ…
    #[serde(default)]
    confirm_mismatch: bool,
    /// …and say why (audited).
    reason: Option<String>,
}

pub async fn with_credentials(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let patient_id = patient_id(params)?;
    let body: CredentialsBody = json_body(request)?;
    let (record, person) = link::link_with_credentials(
        &app.ctx,
        &staff,
        patient_id,
        link::CredentialsLink {
            username: &body.username,
            password: &body.password,
            consent: body.consent,
            confirm_mismatch: body.confirm_mismatch,
            reason: body.reason.as_deref(),
        },
        &source_ip(request),
    )
    .await?;
    let mut view = serde_json::to_value(summary(
        &record,
        DataTimes::default(),
        app.ctx.clock.now(),
        staff.clinic.freshness_days,
    ))
    .map_err(|e| glucolink_core::CoreError::Internal(e.to_string()))?;
    view["linked_account"] = serde_json::json!({
        "person_id": person.id.to_string(),
        "name": person.name,
        "username": person.username,
    });
    Ok(Reply::json(StatusCode::OK, &view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    channel: String,
    to: String,
    /// The code on the clinic's screen (refused once it is no longer the pending one); without it the
    /// pending code is sent, or a new one when none is out.
    code: Option<String>,
}

pub async fn send_code(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let patient_id = patient_id(params)?;
    let body: SendBody = json_body(request)?;
    let to = Recipient::parse_in(&body.channel, &body.to, staff.clinic.country)?;
    let site = site_url(app, request);
    let issued = link::share_code(
        &app.ctx,
        &staff,
        patient_id,
        to,
        body.code.as_deref(),
        &site,
    )
    .await?;
    Ok(Reply::accepted(&serde_json::json!({
        "channel": body.channel,
        "code": issued.code.to_string(),
        "expires_at": issued.expires_at,
        "accept_url": link::accept_url(&site, &issued.code),
    })))
}

pub async fn print_code(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let shown = query_param(request, "code").filter(|c| !c.is_empty());
    let (record, issued) =
        link::printable_code(&app.ctx, &staff, patient_id(params)?, shown.as_deref()).await?;
    let url = link::accept_url(&site_url(app, request), &issued.code);
    let page = print::code_page(
        &staff.clinic.name,
        &record.name,
        &issued.code.to_string(),
        &url,
        issued.expires_at,
    )?;
    Ok(Reply::html(StatusCode::OK, page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadRequestBody {
    channel: String,
    to: Option<String>,
}

pub async fn request_upload(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let patient_id = patient_id(params)?;
    let body: UploadRequestBody = json_body(request)?;
    let site = site_url(app, request);
    let sent = link::request_upload(
        &app.ctx,
        &staff,
        patient_id,
        &body.channel,
        body.to.as_deref(),
        &site,
    )
    .await?;
    Ok(Reply::accepted(
        &serde_json::json!({"at": sent.at, "channel": sent.channel}),
    ))
}

/// The site's origin for links in messages: configured, or the origin the request came to.
pub(crate) fn site_url(app: &App, request: &Request<Bytes>) -> String {
    if let Some(url) = &app.config.site_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("https://{host}")
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GenerateBody {
    /// Replace the pending code (it stops working; whoever received it is told).
    #[serde(default)]
    replace: bool,
}

pub async fn generate_code(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    // The body is optional: no body is `{"replace": false}`.
    let body: GenerateBody = if request.body().is_empty() {
        GenerateBody::default()
    } else {
        json_body(request)?
    };
    let issued = link::generate_code(&app.ctx, &staff, patient_id(params)?, body.replace).await?;
    Ok(Reply::json(
        StatusCode::CREATED,
        &serde_json::json!({
            "code": issued.code.to_string(),
            "expires_at": issued.expires_at,
            "accept_url": link::accept_url(&site_url(app, request), &issued.code),
        }),
    ))
}

pub async fn cancel_code(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    link::cancel_code(&app.ctx, &staff, patient_id(params)?).await?;
    Ok(Reply::no_content())
}

pub async fn unlink(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    link::unlink(&app.ctx, &staff, patient_id(params)?).await?;
    Ok(Reply::no_content())
}
