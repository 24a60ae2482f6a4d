//! The patient's Data Sharing page: preview a code, accept or decline, list and revoke clinics, audit log.

use bytes::Bytes;
use glucolink_core::audit;
use glucolink_core::ids::ClinicId;
use glucolink_core::link::{self, CodeRef};
use http::{Request, StatusCode};
use serde::Deserialize;

use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::require_person;
use crate::wire::{Reply, json_body, query_param, source_ip};

/// A request names the code as typed (or from the link), or a request the person already previewed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: Option<String>,
    request_id: Option<String>,
    /// Accept although the record's date of birth is not the account's (the patient confirms).
    #[serde(default)]
    confirm_mismatch: bool,
}

impl CodeBody {
    fn code_ref(&self) -> Result<CodeRef<'_>, ApiError> {
        match (&self.code, &self.request_id) {
            (Some(code), None) => Ok(CodeRef::Typed(code)),
            (None, Some(id)) => Ok(CodeRef::RequestId(id)),
            _ => Err(ApiError::bad_request(
                "missing_field",
                "Send the code (or the request_id of a request you previewed).",
            )
            .with_field("code")),
        }
    }
}

pub async fn preview(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let body: CodeBody = json_body(request)?;
    let preview = link::preview(&app.ctx, &person, body.code_ref()?, &source_ip(request)).await?;
    Ok(Reply::json(StatusCode::OK, &preview))
}

pub async fn accept(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let body: CodeBody = json_body(request)?;
    let shared = link::accept(
        &app.ctx,
        &person,
        body.code_ref()?,
        &source_ip(request),
        body.confirm_mismatch,
    )
    .await?;
    Ok(Reply::json(StatusCode::OK, &shared))
}

pub async fn decline(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let body: CodeBody = json_body(request)?;
    link::decline(&app.ctx, &person, body.code_ref()?, &source_ip(request)).await?;
    Ok(Reply::no_content())
}

pub async fn list(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let sharing = link::sharing(&app.ctx, person.id).await?;
    Ok(Reply::json(StatusCode::OK, &sharing))
}

pub async fn revoke(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let clinic_id: ClinicId = params
        .get("clinic_id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(ApiError::not_found)?;
    link::revoke(&app.ctx, &person, clinic_id).await?;
    Ok(Reply::no_content())
}

pub async fn audit_log(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let page = audit::for_person(&app.ctx, person.id, query_param(request, "cursor")).await?;
    Ok(Reply::json(StatusCode::OK, &page))
}
