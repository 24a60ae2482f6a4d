//! API Gateway HTTP API in front of the functions, as the template declares it: a request matches a
//! route key (`GET /api/clinic/patients/{patient_id}`; the most specific route wins), becomes a
//! **payload format 2.0** event (cookies in `cookies`, `rawQueryString`, `queryStringParameters`,
//! `pathParameters`, headers lower-cased and joined, non-text bodies base64, `requestContext.http.sourceIp`
//! the caller, here CloudFront), and the function's answer is mapped back the way API Gateway does it
//! (`cookies` → one `Set-Cookie` each, base64 bodies decoded, a bare JSON value taken as a 200 body).
//! Its own failures answer as API Gateway's do: `{"message":"Not Found"}`, `Internal Server Error`,
//! `Service Unavailable` (timeout), `Request Entity Too Large`.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::http_server::{self, Answer};
use crate::lambda::{Outcome, Pool};
use crate::logs::Logs;
use crate::template::{ACCOUNT, Route};

/// HTTP APIs take request bodies up to 10 MB.
const MAX_REQUEST: usize = 10 * 1024 * 1024;
/// Lambda takes and gives synchronous payloads up to 6 MB (the event JSON, the response JSON).
const MAX_LAMBDA_PAYLOAD: usize = 6 * 1024 * 1024;

pub struct ApiGateway {
    pub api_id: String,
    routes: Vec<Route>,
    functions: HashMap<String, Arc<Pool>>,
    logs: Logs,
}

/// Content types API Gateway hands to a function as text; every other body is base64.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence == "application/json"
        || essence.ends_with("+json")
        || essence == "application/xml"
        || essence.ends_with("+xml")
        || essence == "application/javascript"
        || essence == "application/x-www-form-urlencoded"
}

impl ApiGateway {
    pub fn new(
        api_id: &str,
        routes: Vec<Route>,
        functions: HashMap<String, Arc<Pool>>,
        logs: Logs,
    ) -> Self {
        Self {
            api_id: api_id.to_owned(),
            routes,
            functions,
            logs,
        }
    }

    /// The route key a request matches and its path parameters: exact segments beat `{name}`, which
    /// beats `{name+}`; a method beats `ANY`.
    fn route(&self, method: &str, path: &str) -> Option<(&Route, Map<String, Value>)> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &Route, Map<String, Value>)> = None;
        for route in &self.routes {
            if route.method != method && route.method != "ANY" {
                continue;
            }
            let pattern: Vec<&str> = route.path.split('/').collect();
            let mut parameters = Map::new();
            let mut score = usize::from(route.method == method);
            let mut matched = true;
            for (index, part) in pattern.iter().enumerate() {
                if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
                    let rest = segments
                        .get(index..)
                        .map(|s| s.join("/"))
                        .unwrap_or_default();
                    parameters.insert(name.to_owned(), Value::String(decode(&rest)));
                    break;
                }
                let Some(segment) = segments.get(index) else {
                    matched = false;
                    break;
                };
                if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if segment.is_empty() {
                        matched = false;
                        break;
                    }
                    parameters.insert(name.to_owned(), Value::String(decode(segment)));
                    score += 2;
                } else if part == segment {
                    score += 3;
                } else {
                    matched = false;
                    break;
                }
                if index == pattern.len() - 1 && segments.len() != pattern.len() {
                    matched = false;
                }
            }
            if matched && best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, route, parameters));
            }
        }
        best.map(|(_, route, parameters)| (route, parameters))
    }

    /// Answers one request that CloudFront forwarded (`source_ip`: the CloudFront edge).
    pub async fn handle(
        &self,
        parts: &http::request::Parts,
        body: Bytes,
        source_ip: &str,
    ) -> Answer {
        let started = std::time::Instant::now();
        let request_id = ulid::Ulid::new().to_string();
        let method = parts.method.as_str();
        let raw_path = parts.uri.path();
        let Some((route, path_parameters)) = self.route(method, raw_path) else {
            return gateway_error(404, "Not Found", &request_id);
        };
        if body.len() > MAX_REQUEST {
            return gateway_error(413, "Request Entity Too Large", &request_id);
        }
        let Some(pool) = self.functions.get(&route.function) else {
            return gateway_error(500, "Internal Server Error", &request_id);
        };
        let event = self.event(parts, &body, route, path_parameters, source_ip, &request_id);
        let payload = Bytes::from(event.to_string());
        let route_key = format!("{} {}", route.method, route.path);
        if payload.len() > MAX_LAMBDA_PAYLOAD {
            self.logs.rehearsal(&format!(
                "{route_key}: the event is {} bytes, over Lambda's 6 MB payload limit: API Gateway answers 500",
                payload.len()
            ));
            return gateway_error(500, "Internal Server Error", &request_id);
        }
        // API Gateway stops waiting at the integration's timeout, the function's own may be longer.
        let outcome = tokio::time::timeout(
            std::time::Duration::from_millis(route.timeout_ms),
            pool.invoke(payload),
        )
        .await
        .unwrap_or(Ok(Outcome::TimedOut));
        let answer = match outcome {
            Ok(Outcome::Response(response)) if response.len() > MAX_LAMBDA_PAYLOAD => {
                self.logs.rehearsal(&format!(
                    "{route_key}: the response is {} bytes, over Lambda's 6 MB payload limit: API Gateway answers 500",
                    response.len()
                ));
                gateway_error(500, "Internal Server Error", &request_id)
            }
            Ok(Outcome::Response(response)) => match map_response(&response) {
                Ok(answer) => answer,
                Err(reason) => {
                    self.logs.rehearsal(&format!(
                        "{route_key}: a response API Gateway cannot map: {reason}"
                    ));
                    gateway_error(500, "Internal Server Error", &request_id)
                }
            },
            Ok(Outcome::Error(error)) => {
                self.logs.rehearsal(&format!(
                    "{route_key}: the function failed: {}",
                    String::from_utf8_lossy(&error)
                ));
                gateway_error(500, "Internal Server Error", &request_id)
            }
            Ok(Outcome::TimedOut) => {
                self.logs
                    .rehearsal(&format!("{route_key}: the function timed out"));
                gateway_error(503, "Service Unavailable", &request_id)
            }
            Err(error) => {
                self.logs
                    .rehearsal(&format!("{route_key}: invocation failed: {error:#}"));
                gateway_error(500, "Internal Server Error", &request_id)
            }
        };
        let mut answer = answer;
        if let Ok(value) = http::HeaderValue::from_str(&request_id) {
            answer.headers_mut().insert("apigw-requestid", value);
        }
        // The stage's access log line (template: HttpApiStage AccessLogSettings).
        self.logs.access(&json!({
            "requestId": request_id,
            "ip": source_ip,
            "route": route_key,
            "status": answer.status().as_u16().to_string(),
            "latencyMs": started.elapsed().as_millis().to_string(),
        }));
        answer
    }

    fn event(
        &self,
        parts: &http::request::Parts,
        body: &Bytes,
        route: &Route,
        path_parameters: Map<String, Value>,
        source_ip: &str,
        request_id: &str,
    ) -> Value {
        let mut headers = Map::new();
        let mut cookies = Vec::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if name == http::header::COOKIE {
                cookies.extend(
                    value
                        .split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(|c| Value::String(c.to_owned())),
                );
                continue;
            }
            match headers.get_mut(name.as_str()) {
                Some(Value::String(joined)) => {
                    joined.push(',');
                    joined.push_str(&value);
                }
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        let domain = format!(
            "{}.execute-api.{}.amazonaws.com",
            self.api_id,
            crate::template::REGION
        );
        headers.insert("host".into(), Value::String(domain.clone()));
        headers.insert("x-forwarded-proto".into(), "https".into());
        headers.insert("x-forwarded-port".into(), "443".into());
        let forwarded = match headers.get("x-forwarded-for").and_then(Value::as_str) {
            Some(previous) => format!("{previous}, {source_ip}"),
            None => source_ip.to_owned(),
        };
        headers.insert("x-forwarded-for".into(), Value::String(forwarded));
        let raw_query = parts.uri.query().unwrap_or_default();
        let mut query = Map::new();
        for (name, value) in form_urlencoded::parse(raw_query.as_bytes()) {
            match query.get_mut(name.as_ref()) {
                Some(Value::String(joined)) => {
                    joined.push(',');
                    joined.push_str(&value);
                }
                _ => {
                    query.insert(name.into_owned(), Value::String(value.into_owned()));
                }
            }
        }
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let text_body = if is_text(content_type) {
            std::str::from_utf8(body).ok()
        } else {
            None
        };
        let now = jiff::Timestamp::now();
        let mut event = json!({
            "version": "2.0",
            "routeKey": format!("{} {}", route.method, route.path),
            "rawPath": parts.uri.path(),
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": self.api_id,
                "domainName": domain,
                "domainPrefix": self.api_id,
                "http": {
                    "method": parts.method.as_str(),
                    "path": parts.uri.path(),
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default(),
                },
                "requestId": request_id,
                "routeKey": format!("{} {}", route.method, route.path),
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string(),
                "timeEpoch": now.as_millisecond(),
            },
            "isBase64Encoded": false,
        });
        if !cookies.is_empty() {
            event["cookies"] = Value::Array(cookies);
        }
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if !path_parameters.is_empty() {
            event["pathParameters"] = Value::Object(path_parameters);
        }
        if !body.is_empty() {
            match text_body {
                Some(text) => event["body"] = Value::String(text.to_owned()),
                None => {
                    event["body"] = Value::String(BASE64.encode(body));
                    event["isBase64Encoded"] = Value::Bool(true);
                }
            }
        }
        event
    }
}

/// Maps a function's payload 2.0 answer to HTTP.
fn map_response(payload: &[u8]) -> Result<Answer, String> {
    let value: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let Some(status) = value.get("statusCode").and_then(Value::as_u64) else {
        // A bare JSON value is a 200 with that JSON as its body.
        return Ok(http_server::json(200, &value));
    };
    let body = match value.get("body") {
        Some(Value::String(body)) if value["isBase64Encoded"] == true => Bytes::from(
            BASE64
                .decode(body)
                .map_err(|e| format!("body is not base64: {e}"))?,
        ),
        Some(Value::String(body)) => Bytes::from(body.clone()),
        Some(Value::Null) | None => Bytes::new(),
        Some(other) => Bytes::from(other.to_string()),
    };
    let mut answer = http_server::answer(
        u16::try_from(status).map_err(|e| e.to_string())?,
        "application/json",
        body,
    );
    let headers = answer.headers_mut();
    headers.remove(http::header::CONTENT_TYPE);
    for (name, value) in value["headers"].as_object().into_iter().flatten() {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = http::HeaderValue::from_str(&crate::template::text(value))
            .map_err(|e| e.to_string())?;
        headers.append(name, value);
    }
    for cookie in value["cookies"].as_array().into_iter().flatten() {
        let value = http::HeaderValue::from_str(&crate::template::text(cookie))
            .map_err(|e| e.to_string())?;
        headers.append(http::header::SET_COOKIE, value);
    }
    if !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    }
    Ok(answer)
}

fn gateway_error(status: u16, message: &str, request_id: &str) -> Answer {
    let mut answer = http_server::json(status, &json!({ "message": message }));
    if let Ok(value) = http::HeaderValue::from_str(request_id) {
        answer.headers_mut().insert("apigw-requestid", value);
    }
    answer
}

/// A path segment, percent-decoded as API Gateway gives path parameters.
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = segment.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway() -> ApiGateway {
        let route = |method: &str, path: &str, function: &str| Route {
            method: method.into(),
            path: path.into(),
            function: function.into(),
            timeout_ms: 1000,
        };
        ApiGateway::new(
            "api",
            vec![
                route("GET", "/api/clinic/patients", "List"),
                route("GET", "/api/clinic/patients/{patient_id}", "One"),
                route("GET", "/api/clinic/patients/search", "Search"),
                route("POST", "/api/clinic/patients/{patient_id}/codes", "Codes"),
            ],
            HashMap::new(),
            Logs::new(false),
        )
    }

    #[test]
    fn the_most_specific_route_key_wins_and_names_its_path_parameters() {
        let gateway = gateway();
        let (route, parameters) = gateway
            .route("GET", "/api/clinic/patients/search")
            .expect("route");
        assert_eq!(route.function, "Search");
        assert!(parameters.is_empty());
        let (route, parameters) = gateway
            .route("GET", "/api/clinic/patients/01H%2DX")
            .expect("route");
        assert_eq!(route.function, "One");
        assert_eq!(parameters["patient_id"], "01H-X");
        assert!(gateway.route("GET", "/api/clinic/patients/a/b").is_none());
        assert!(gateway.route("DELETE", "/api/clinic/patients").is_none());
        assert!(
            gateway
                .route("POST", "/api/clinic/patients//codes")
                .is_none()
        );
    }

    #[test]
    fn answers_map_back_with_every_cookie_and_binary_bodies_decoded() {
        let answer = map_response(
            json!({
                "statusCode": 201,
                "headers": {"content-type": "application/pdf"},
                "cookies": ["a=1; Path=/", "b=2; Path=/"],
                "body": BASE64.encode(b"%PDF-1.7"),
                "isBase64Encoded": true
            })
            .to_string()
            .as_bytes(),
        )
        .expect("mapped");
        assert_eq!(answer.status(), 201);
        assert_eq!(answer.headers().get_all("set-cookie").iter().count(), 2);
        assert_eq!(answer.headers()["content-type"], "application/pdf");
        let bare = map_response(br#"{"ok":true}"#).expect("bare");
        assert_eq!(bare.status(), 200);
        assert!(map_response(b"not json").is_err());
    }
}
