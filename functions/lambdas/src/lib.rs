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
use glucolink_core::account::verify::JoinPolicy;
use glucolink_core::clock::SystemClock;
use glucolink_notify::CloudNotifier;
use glucolink_store::DynamoStore;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};

pub mod operator;

fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .without_time()
        .with_ansi(false)
        .init();
}

/// The ports of the cloud: DynamoDB, SES and SNS, the system clock; and the site's address.
async fn cloud_ctx() -> Result<(Ctx, Option<String>), lambda_http::Error> {
    let clock = Arc::new(SystemClock);
    // Loading the configuration reads the environment only; credentials are fetched on first use.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoStore::from_config(&config, clock.clone())?;
    let notifier = CloudNotifier::from_config(&config)?;
    let site_url = std::env::var("SITE_URL").ok().filter(|url| !url.is_empty());
    Ok((
        Ctx::new(Arc::new(store), clock, Arc::new(notifier)),
        site_url,
    ))
}

/// Runs the operator's clinic-invite command until the Lambda runtime stops the process: each
/// invocation's payload is one command (see [`operator`]).
pub async fn run_clinic_invite() -> Result<(), lambda_http::Error> {
    init_logs();
    let (ctx, site_url) = cloud_ctx().await?;
    let site_url = site_url.ok_or("SITE_URL is not set")?;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<serde_json::Value>| {
            let ctx = ctx.clone();
            let site_url = site_url.clone();
            async move {
                operator::clinic_invite(&ctx, &site_url, event.payload)
                    .await
                    .map_err(lambda_http::Error::from)
            }
        },
    ))
    .await
}

/// Serves `route` until the Lambda runtime stops the process.
pub async fn run(route: RouteId) -> Result<(), lambda_http::Error> {
    init_logs();
    let (ctx, site_url) = cloud_ctx().await?;
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    // A join mode that does not parse stops the function at start: never a silently open service.
    let clinic_join = JoinPolicy::parse(&env("CLINIC_JOIN"), &env("CLINIC_DOMAINS"))?;
    let config = Config {
        origin_secret: std::env::var("ORIGIN_SECRET")
            .ok()
            .filter(|s| !s.is_empty()),
        clinic_join,
        ..Config::cloud(site_url)
    };
    let app = App::new(ctx, config);
    lambda_http::run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(answer(&app, route, request).await) }
    }))
    .await
}

/// The viewer's address that CloudFront forwards (`CloudFront-Viewer-Address: 198.51.100.10:46532`, or
/// an IPv6 address followed by the port), without the port; `None` when absent or malformed.
fn viewer_address(request: &Request) -> Option<String> {
    let raw = request
        .headers()
        .get("cloudfront-viewer-address")?
        .to_str()
        .ok()?
        .trim();
    let (address, port) = raw.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let address = address.trim_start_matches('[').trim_end_matches(']');
    address
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

/// Adapts one API Gateway request to the shared `App` and its answer back.
pub async fn answer(app: &App, route: RouteId, request: Request) -> Response<Body> {
    // Behind CloudFront, API Gateway's source address is a CloudFront edge shared by many people:
    // per-source limits use the viewer's own address, which CloudFront forwards.
    let source = viewer_address(&request).or_else(|| match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    });
    let started = std::time::Instant::now();
    let lambda_request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .unwrap_or_default();
    let api_request_id = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
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
    println!(
        "{}",
        request_line(
            &lambda_request_id,
            api_request_id.as_deref(),
            route,
            &response,
            started.elapsed()
        )
    );
    // Text answers (JSON, HTML) go as text; anything else (the PDF report) as binary, which API
    // Gateway receives base64-encoded.
    let textual = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("application/json") || v.starts_with("text/"));
    response.map(|bytes| {
        if bytes.is_empty() {
            Body::Empty
        } else if textual {
            match String::from_utf8(bytes.to_vec()) {
                Ok(text) => Body::Text(text),
                Err(binary) => Body::Binary(binary.into_bytes()),
            }
        } else {
            Body::Binary(bytes.to_vec())
        }
    })
}

/// The one structured line a request leaves in the function's log: ids, route, status, latency and
/// the kind of caller, never who (no names, emails, record ids or health data), so an operator can
/// search and count requests (CloudWatch Logs Insights: `filter kind = "request" | stats …`).
pub fn request_line(
    lambda_request_id: &str,
    api_request_id: Option<&str>,
    route: RouteId,
    response: &http::Response<Bytes>,
    latency: std::time::Duration,
) -> String {
    let principal = response
        .extensions()
        .get::<glucolink_api::PrincipalKind>()
        .map_or("anonymous", |kind| kind.0);
    serde_json::json!({
        "kind": "request",
        "request_id": lambda_request_id,
        "api_request_id": api_request_id,
        "route": route.lambda_name(),
        "status": response.status().as_u16(),
        "latency_ms": (latency.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        "principal": principal,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use glucolink_store::EmbeddedStore;
    use serde_json::{Value, json};

    fn app() -> App {
        let dir = std::env::temp_dir().join(format!("glucolink-lambda-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let clock = Arc::new(SystemClock);
        let store: Arc<dyn glucolink_core::store::Store> =
            Arc::new(EmbeddedStore::open(&dir.join("t.redb"), clock.clone()).expect("store"));
        let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
            store.clone(),
            clock.clone(),
        ));
        App::new(Ctx::new(store, clock, outbox), Config::cloud(None))
    }

    /// An API Gateway HTTP API (payload 2.0) event, as API Gateway sends it.
    fn event(
        method: &str,
        path: &str,
        cookies: &[&str],
        headers: Value,
        body: Option<&str>,
    ) -> Request {
        let event = json!({
            "version": "2.0",
            "routeKey": format!("{method} {path}"),
            "rawPath": path,
            "rawQueryString": "",
            "cookies": cookies,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "example.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "example",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": "test"
                },
                "requestId": "id",
                "routeKey": format!("{method} {path}"),
                "stage": "$default",
                "time": "26/Nov/2026:12:00:00 +0000",
                "timeEpoch": 1_795_000_000_000_i64
            },
            "body": body,
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("valid event")
    }

    fn set_cookies(response: &Response<Body>) -> Vec<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    fn json_of(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("json"),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_an_api_gateway_event_with_json_and_secure_cookies() {
        let app = app();
        let response = answer(
            &app,
            RouteId::Me,
            event("GET", "/api/me", &[], json!({}), None),
        )
        .await;
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(json_of(&response)["error"]["code"], "unauthenticated");
        let cookies = set_cookies(&response);
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("__Host-csrf=") && c.contains("; Secure")),
            "{cookies:?}"
        );
    }

    #[tokio::test]
    async fn signs_up_through_the_event_and_the_session_works_on_the_next_event() {
        let app = app();
        let body = json!({
            "clinic_name": "Event Clinic",
            "name": "Eve Nt",
            "email": "eve@event.example",
            "password": "granite willow harbor 64"
        })
        .to_string();
        let response = answer(
            &app,
            RouteId::ClinicSignUp,
            event(
                "POST",
                "/api/clinic/signup",
                &["__Host-csrf=tok"],
                json!({"content-type": "application/json", "x-csrf-token": "tok"}),
                Some(&body),
            ),
        )
        .await;
        assert_eq!(response.status().as_u16(), 201, "{:?}", response.body());
        let session = set_cookies(&response)
            .into_iter()
            .find(|c| c.starts_with("__Host-session="))
            .expect("session cookie");
        let pair = session.split(';').next().expect("pair").to_owned();
        let response = answer(
            &app,
            RouteId::Me,
            event("GET", "/api/me", &[&pair], json!({}), None),
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(json_of(&response)["email"], "eve@event.example");
    }

    #[tokio::test]
    async fn a_lambda_serves_only_its_own_route() {
        let app = app();
        let response = answer(
            &app,
            RouteId::Me,
            event("GET", "/api/other", &[], json!({}), None),
        )
        .await;
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(json_of(&response)["error"]["code"], "no_such_route");
    }

    #[test]
    fn the_viewer_address_from_cloudfront_is_the_source_not_the_edge() {
        for (header, expected) in [
            ("198.51.100.10:46532", Some("198.51.100.10")),
            ("2001:db8::1:46532", Some("2001:db8::1")),
            ("[2001:db8::2]:443", Some("2001:db8::2")),
            ("not an address", None),
            ("198.51.100.10", None),
        ] {
            let request = event(
                "GET",
                "/api/me",
                &[],
                json!({ "cloudfront-viewer-address": header }),
                None,
            );
            assert_eq!(viewer_address(&request).as_deref(), expected, "{header}");
        }
    }

    #[tokio::test]
    async fn without_cloudfronts_secret_header_the_api_refuses() {
        let mut app = app();
        app.config.origin_secret = Some("s3cr3t-from-the-stack".into());
        let direct = answer(
            &app,
            RouteId::Me,
            event("GET", "/api/me", &[], json!({}), None),
        )
        .await;
        assert_eq!(direct.status().as_u16(), 403);
        assert_eq!(json_of(&direct)["error"]["code"], "not_through_the_site");
        let forged = answer(
            &app,
            RouteId::Me,
            event(
                "GET",
                "/api/me",
                &[],
                json!({"x-origin-verify": "guess"}),
                None,
            ),
        )
        .await;
        assert_eq!(forged.status().as_u16(), 403);
        let through_cloudfront = answer(
            &app,
            RouteId::Me,
            event(
                "GET",
                "/api/me",
                &[],
                json!({"x-origin-verify": "s3cr3t-from-the-stack"}),
                None,
            ),
        )
        .await;
        assert_eq!(
            through_cloudfront.status().as_u16(),
            401,
            "on to the usual checks"
        );
    }

    #[tokio::test]
    async fn each_request_leaves_one_log_line_with_its_route_status_and_kind_of_caller() {
        let app = app();
        let request = http::Request::builder()
            .uri("/api/me")
            .body(Bytes::new())
            .expect("request");
        let response = app.handle_route(RouteId::Me, request).await;
        let line = request_line(
            "lambda-id",
            Some("api-id"),
            RouteId::Me,
            &response,
            std::time::Duration::from_micros(1500),
        );
        let fields: Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(fields["kind"], "request");
        assert_eq!(fields["route"], "me");
        assert_eq!(fields["status"], 401);
        assert_eq!(fields["principal"], "anonymous");
        assert_eq!(fields["latency_ms"], 1.5);
        assert_eq!(fields["request_id"], "lambda-id");
        assert_eq!(fields["api_request_id"], "api-id");
        assert_eq!(fields.as_object().map(|o| o.len()), Some(7), "{line}");
    }
}
