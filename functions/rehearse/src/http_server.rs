//! The small HTTP/1.1 server every part of the rehearsal listens with (the origin, each function's
//! Runtime API, the AWS proxy): a handler gets the request with its whole body and the peer address.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub type Answer = http::Response<Full<Bytes>>;

/// Serves `handler` on `listener` until the task is dropped.
pub async fn serve<H, F>(listener: TcpListener, handler: Arc<H>)
where
    H: Fn(http::request::Parts, Bytes, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: http::Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = match body.collect().await {
                        Ok(collected) => collected.to_bytes(),
                        Err(_) => return Ok::<_, Infallible>(plain(400, "unreadable body")),
                    };
                    Ok::<_, Infallible>(handler(parts, body, peer).await)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A short text answer.
pub fn plain(status: u16, text: &str) -> Answer {
    answer(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(text.to_owned()),
    )
}

/// A JSON answer.
pub fn json(status: u16, value: &serde_json::Value) -> Answer {
    answer(status, "application/json", Bytes::from(value.to_string()))
}

pub fn answer(status: u16, content_type: &str, body: Bytes) -> Answer {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}
