//! The local HTTP server: hyper on 127.0.0.1, `/api/*` to the shared `App`, everything else to the site.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use glucolink_api::wire::SourceIp;
use glucolink_api::{ApiError, App};
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::site::Site;

/// Largest request body the server reads at all; routes set tighter limits of their own.
pub const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// How long a client may take to send a request: slow or stalled clients are cut off, so they cannot
/// hold connections (and memory) for ever.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To send the request line and headers.
    pub headers: Duration,
    /// To send the whole body once the headers are in.
    pub body: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            headers: Duration::from_secs(10),
            body: Duration::from_secs(60),
        }
    }
}

/// What the server needs to answer a request.
pub struct LocalServer {
    pub app: App,
    pub site: Site,
    pub limits: Limits,
}

/// Accepts connections until the task is dropped.
pub async fn run(listener: TcpListener, server: Arc<LocalServer>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let server = server.clone();
        let server_limits = server.limits;
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(answer(&server, peer, request).await) }
            });
            let headers = server_limits.headers;
            if let Err(error) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(headers)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

async fn answer(
    server: &LocalServer,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    // An announced body over the limit is refused before a byte of it is read.
    let announced = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_REQUEST_BYTES as u64) {
        let error = ApiError::body_too_large(MAX_REQUEST_BYTES);
        return glucolink_api::wire::Reply::from_error(&error)
            .into_response(None)
            .map(Full::new);
    }
    let collected = tokio::time::timeout(
        server.limits.body,
        Limited::new(body, MAX_REQUEST_BYTES).collect(),
    )
    .await;
    let response = match collected {
        Err(_) => {
            let error = ApiError::new(
                http::StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body did not arrive in time.",
            );
            glucolink_api::wire::Reply::from_error(&error).into_response(None)
        }
        Ok(Ok(collected)) => {
            parts.extensions.insert(SourceIp(peer.ip().to_string()));
            let request = Request::from_parts(parts, collected.to_bytes());
            if request.uri().path().starts_with("/api/") || request.uri().path() == "/api" {
                server.app.handle(request).await
            } else {
                server.site.serve(&request).await
            }
        }
        Ok(Err(_)) => {
            let error = ApiError::body_too_large(MAX_REQUEST_BYTES);
            glucolink_api::wire::Reply::from_error(&error).into_response(None)
        }
    };
    response.map(Full::new)
}
