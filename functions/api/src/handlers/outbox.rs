//! Local mode only: the outbox where email and SMS land instead of being delivered.

use bytes::Bytes;
use http::{Request, StatusCode};

use crate::app::App;
use crate::error::ApiError;
use crate::wire::Reply;

pub async fn list(app: &App, _request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let messages = glucolink_notify::outbox::newest(app.ctx.store.as_ref(), 50).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({ "messages": messages }),
    ))
}
