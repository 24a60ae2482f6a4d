//! Link to Personal, clinic side: with the patient's credentials, or with a unique code; cancel and unlink.

use bytes::Bytes;
use glucolink_core::link;
use glucolink_core::patient::DataTimes;
use http::header::HOST;
use http::{Request, StatusCode};
use serde::Deserialize;

use super::patients::{patient_id, summary};
use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::require_staff;
use crate::wire::{Reply, json_body, source_ip};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsBody {
    username: String,
    password: String,
    consent: bool,
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
        &body.username,
        &body.password,
        body.consent,
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

/// The link a patient follows to accept: the Data Sharing page with the code filled in.
pub(crate) fn accept_url(site: &str, code: &link::code::LinkCode) -> String {
    format!("{site}/personal/sharing?code={code}")
}

pub async fn generate_code(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let issued = link::generate_code(&app.ctx, &staff, patient_id(params)?).await?;
    Ok(Reply::json(
        StatusCode::CREATED,
        &serde_json::json!({
            "code": issued.code.to_string(),
            "expires_at": issued.expires_at,
            "accept_url": accept_url(&site_url(app, request), &issued.code),
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
