//! Runs one route of the shared `App` as an AWS Lambda behind API Gateway (HTTP API, payload 2.0).
//!
//! Architecture invariant: no request logic lives here. Each binary in `src/bin/` is one line of
//! wiring: `glucolink_lambdas::run(RouteId::…)`. Initialisation reads configuration from the
//! environment and builds SDK clients, but makes no network call before the first request.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use glucolink_api::wire::SourceIp;
use glucolink_api::{App, Config, RouteId};
use glucolink_core::Ctx;
use glucolink_core::clock::SystemClock;
use glucolink_store::DynamoStore;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};

/// Serves `route` until the Lambda runtime stops the process.
pub async fn run(route: RouteId) -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .without_time()
        .with_ansi(false)
        .init();
    let clock = Arc::new(SystemClock);
    let store = DynamoStore::from_env(clock.clone()).await?;
    let app = App::new(Ctx::new(Arc::new(store), clock), Config::cloud());
    lambda_http::run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(answer(&app, route, request).await) }
    }))
    .await
}

async fn answer(app: &App, route: RouteId, request: Request) -> Response<Body> {
    let source = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    let (mut parts, body) = request.into_parts();
    if let Some(ip) = source {
        parts.extensions.insert(SourceIp(ip));
    }
    let body = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    let response = app
        .handle_route(route, http::Request::from_parts(parts, body))
        .await;
    response.map(|bytes| match String::from_utf8(bytes.to_vec()) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(binary) => Body::Binary(binary.into_bytes()),
    })
}
