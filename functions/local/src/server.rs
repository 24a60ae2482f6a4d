//! The local HTTP server: hyper on 127.0.0.1, `/api/*` to the shared `App`, everything else to the site.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use glucolink_api::wire::SourceIp;
use glucolink_api::{ApiError, App};
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::site::Site;

/// Largest request body the server reads at all; routes set tighter limits of their own.
pub const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// What the server needs to answer a request.
pub struct LocalServer {
    pub app: App,
    pub site: Site,
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
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(answer(&server, peer, request).await) }
            });
            if let Err(error) = http1::Builder::new()
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
    let response = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => {
            parts.extensions.insert(SourceIp(peer.ip().to_string()));
            let request = Request::from_parts(parts, collected.to_bytes());
            if request.uri().path().starts_with("/api/") || request.uri().path() == "/api" {
                server.app.handle(request).await
            } else {
                server.site.serve(&request).await
            }
        }
        Err(_) => {
            let error = ApiError::body_too_large(MAX_REQUEST_BYTES);
            glucolink_api::wire::Reply::from_error(&error).into_response(None)
        }
    };
    response.map(Full::new)
}
