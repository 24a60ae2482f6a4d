//! Cold start: the Lambda binary makes no network call before its first request.
//!
//! Runs the real `glucolink-lambda` binary against a fake Lambda Runtime API (the HTTP interface Lambda
//! gives a custom runtime), with every AWS endpoint pointed at a local listener that counts the
//! connections it gets. When the binary first asks for an invocation, its initialisation is over: the
//! listener must have had no connection. The first request (`GET /api/me` without a session) needs no
//! store and answers 401; the second carries a session token, so the store is asked, and the listener
//! sees it: the check can fail.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

/// An API Gateway HTTP API event (payload 2.0) for `GET /api/me`.
fn me_event(cookies: &[&str]) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "GET /api/me",
        "rawPath": "/api/me",
        "rawQueryString": "",
        "cookies": cookies,
        "headers": {"host": "example.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "example.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "example",
            "http": {"method": "GET", "path": "/api/me", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "id",
            "routeKey": "GET /api/me",
            "stage": "$default",
            "time": "26/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1_795_000_000_000_i64
        },
        "isBase64Encoded": false
    })
}

/// What the fake runtime saw.
struct Runtime {
    /// Events still to hand out, in order.
    events: Mutex<Vec<Value>>,
    /// AWS connections counted when each `next` call arrived.
    aws_connections_at_next: Mutex<Vec<usize>>,
    aws_connections: Arc<AtomicUsize>,
    responses: mpsc::UnboundedSender<Value>,
}

async fn runtime_api(
    runtime: Arc<Runtime>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if path.ends_with("/invocation/next") {
        runtime
            .aws_connections_at_next
            .lock()
            .await
            .push(runtime.aws_connections.load(Ordering::SeqCst));
        let next = {
            let mut events = runtime.events.lock().await;
            (!events.is_empty()).then(|| events.remove(0))
        };
        let Some(event) = next else {
            // No more work: keep the function waiting, as Lambda does between requests.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Ok(Response::new(Full::new(Bytes::new())));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis()
            + 30_000;
        let response = Response::builder()
            .header("Lambda-Runtime-Aws-Request-Id", "request-1")
            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:me",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(Bytes::from(event.to_string())))
            .expect("response");
        return Ok(response);
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let value: Value =
        serde_json::from_slice(&body).unwrap_or(json!({"raw": String::from_utf8_lossy(&body)}));
    let _ = runtime.responses.send(json!({"path": path, "body": value}));
    Ok(Response::builder()
        .status(202)
        .body(Full::new(Bytes::new()))
        .expect("response"))
}

async fn serve_runtime(listener: TcpListener, runtime: Arc<Runtime>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| runtime_api(runtime.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Accepts and drops connections, counting them: a stand-in for every AWS endpoint.
async fn count_connections(listener: TcpListener, count: Arc<AtomicUsize>) {
    while let Ok((stream, _)) = listener.accept().await {
        count.fetch_add(1, Ordering::SeqCst);
        drop(stream);
    }
}

/// The next answer the function posts, or (after 30 s) a failure with what the function printed.
async fn next_answer(
    received: &mut mpsc::UnboundedReceiver<Value>,
    lambda: &mut tokio::process::Child,
) -> Value {
    match tokio::time::timeout(Duration::from_secs(30), received.recv()).await {
        Ok(Some(answer)) => answer,
        _ => {
            lambda.kill().await.ok();
            let mut printed = String::new();
            if let Some(mut stderr) = lambda.stderr.take() {
                use tokio::io::AsyncReadExt;
                stderr.read_to_string(&mut printed).await.ok();
            }
            panic!("the function did not answer; it printed:\n{printed}");
        }
    }
}

#[tokio::test]
async fn the_lambda_makes_no_network_call_before_its_first_request() {
    let aws = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let aws_addr: SocketAddr = aws.local_addr().expect("addr");
    let aws_connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(count_connections(aws, aws_connections.clone()));

    let token = "A".repeat(43);
    let (responses, mut received) = mpsc::unbounded_channel();
    let runtime = Arc::new(Runtime {
        events: Mutex::new(vec![
            me_event(&[]),
            me_event(&[&format!("__Host-session={token}")]),
        ]),
        aws_connections_at_next: Mutex::new(Vec::new()),
        aws_connections: aws_connections.clone(),
        responses,
    });
    let api = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api_addr = api.local_addr().expect("addr");
    tokio::spawn(serve_runtime(api, runtime.clone()));

    let mut lambda = tokio::process::Command::new(env!("CARGO_BIN_EXE_glucolink-lambda"))
        .env_clear()
        .env("GLUCOLINK_ROUTE", "me")
        .env("AWS_LAMBDA_RUNTIME_API", api_addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "me")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/glucolink/test")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", format!("http://{aws_addr}"))
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("TABLE_NAME", "glucolink")
        .env("SENDER_EMAIL", "no-reply@example.org")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the lambda binary");

    let first = next_answer(&mut received, &mut lambda).await;
    assert!(
        first["path"]
            .as_str()
            .unwrap_or("")
            .ends_with("/request-1/response"),
        "{first}"
    );
    assert_eq!(first["body"]["statusCode"], 401, "{first}");
    let second = next_answer(&mut received, &mut lambda).await;
    lambda.kill().await.ok();

    let seen = runtime.aws_connections_at_next.lock().await.clone();
    assert_eq!(
        seen.first(),
        Some(&0),
        "initialisation reached an AWS endpoint before the first request"
    );
    assert_eq!(seen.get(1), Some(&0), "the first request needed no store");
    assert!(
        aws_connections.load(Ordering::SeqCst) >= 1,
        "the second request (a session token) asks the store: {second}"
    );
}
