//! Upload now: a person sends device data (our JSON or a vendor export) as the raw request body.

use std::sync::Arc;

use bytes::Bytes;
use glucolink_core::data::import::{self, Format, MAX_UPLOAD_BYTES, Options};
use glucolink_core::data::{tokens, upload};
use glucolink_core::random::sha256_bytes_hex;
use http::{Request, StatusCode};

use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::{bearer_token, require_person};
use crate::wire::{Reply, json_body, query_param, query_time_zone, upload_bytes};

pub async fn upload(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    // Uploader clients send `Authorization: Bearer glk_…`; the website uses its session.
    let person = match bearer_token(request) {
        Some(token) => {
            let person = tokens::authenticate(&app.ctx, token).await?;
            crate::app::note_principal("upload_token");
            person
        }
        None => require_person(app, request).await?,
    };
    let body = upload_bytes(request, MAX_UPLOAD_BYTES)?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "empty_file",
            "The upload is empty: choose a file with device data.",
        )
        .with_field("file"));
    }
    let format = match query_param(request, "format").filter(|f| !f.is_empty()) {
        Some(raw) => Format::parse(&raw)?,
        None => import::detect(&body)?,
    };
    let tz = query_time_zone(request)?
        .unwrap_or_else(|| glucolink_core::account::personal::upload_zone(&person));
    let options = Options {
        tz,
        now: app.ctx.clock.now(),
    };
    let shared: Arc<[u8]> = Arc::from(body.as_ref());
    let sha = sha256_bytes_hex(&shared);
    let parsed = import::parse_off_thread(format, shared, options).await?;
    let summary = upload::ingest(&app.ctx, &person, parsed, &sha).await?;
    Ok(Reply::json(StatusCode::CREATED, &summary))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
}

pub async fn create_token(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let body: NewTokenBody = json_body(request)?;
    let token = tokens::create(&app.ctx, &person, &body.name).await?;
    Ok(Reply::json(StatusCode::CREATED, &token))
}

pub async fn list_tokens(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let list = tokens::list(&app.ctx, person.id).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "tokens": list }),
    ))
}

pub async fn revoke_token(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let token_id = params.get("token_id").ok_or_else(ApiError::not_found)?;
    tokens::revoke(&app.ctx, &person, token_id).await?;
    Ok(Reply::no_content())
}
