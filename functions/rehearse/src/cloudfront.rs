//! CloudFront in front of everything, as the template's distribution declares it: the cache behaviours
//! in order (`/api/*` to the API origin, the rest to the site bucket), each behaviour's allowed methods,
//! the viewer-request **CloudFront Function's own JavaScript** (run in node, in a context with nothing
//! but the language, as cloudfront-js-2.0 has), the origin's custom headers (`X-Origin-Verify`), the
//! viewer's address in `CloudFront-Viewer-Address`, the site objects from S3 with the metadata the
//! publisher wrote, and the response headers policy (each header set, or kept from the origin when the
//! policy says `Override: false`). Nothing is cached: the rehearsal shows every origin answer.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use crate::api_gateway::ApiGateway;
use crate::http_server::{self, Answer};
use crate::template::{Template, text};

/// The edge address API Gateway sees as the caller (CloudFront's, not the viewer's).
pub const EDGE_ADDRESS: &str = "130.176.98.12";

#[derive(Debug, Clone)]
struct Behavior {
    path_pattern: Option<String>,
    to_api: bool,
    allowed_methods: Vec<String>,
    viewer_request_function: bool,
    viewer_response_function: bool,
    response_headers: bool,
}

/// One header of the response headers policy.
#[derive(Debug, Clone)]
struct PolicyHeader {
    name: &'static str,
    value: String,
    overrides: bool,
}

pub struct CloudFront {
    behaviors: Vec<Behavior>,
    default_root_object: Option<String>,
    origin_headers: Vec<(String, String)>,
    policy: Vec<PolicyHeader>,
    function: Option<FunctionRunner>,
    api: Arc<ApiGateway>,
    s3: aws_sdk_s3::Client,
    bucket: String,
    pub distribution_id: String,
}

impl CloudFront {
    pub fn new(
        template: &Template,
        api: Arc<ApiGateway>,
        s3: aws_sdk_s3::Client,
        bucket: &str,
        distribution_id: &str,
        work_dir: &std::path::Path,
    ) -> Result<Self> {
        let (distribution_id_logical, _) = template.only("AWS::CloudFront::Distribution")?;
        let config = template.properties(distribution_id_logical)?["DistributionConfig"].clone();
        let api_origins: Vec<String> = config["Origins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|origin| origin["CustomOriginConfig"].is_object())
            .map(|origin| text(&origin["Id"]))
            .collect();
        let mut origin_headers = Vec::new();
        for origin in config["Origins"].as_array().into_iter().flatten() {
            for header in origin["OriginCustomHeaders"]
                .as_array()
                .into_iter()
                .flatten()
            {
                origin_headers.push((
                    text(&header["HeaderName"]).to_ascii_lowercase(),
                    text(&header["HeaderValue"]),
                ));
            }
        }
        let behavior = |raw: &Value| Behavior {
            path_pattern: raw["PathPattern"].as_str().map(str::to_owned),
            to_api: api_origins.contains(&text(&raw["TargetOriginId"])),
            allowed_methods: raw["AllowedMethods"]
                .as_array()
                .map(|m| m.iter().map(text).collect())
                .unwrap_or_else(|| vec!["GET".into(), "HEAD".into()]),
            viewer_request_function: raw["FunctionAssociations"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["EventType"] == "viewer-request"),
            viewer_response_function: raw["FunctionAssociations"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["EventType"] == "viewer-response"),
            response_headers: raw["ResponseHeadersPolicyId"].is_string(),
        };
        let mut behaviors: Vec<Behavior> = config["CacheBehaviors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(behavior)
            .collect();
        behaviors.push(behavior(&config["DefaultCacheBehavior"]));
        let function = match template.only("AWS::CloudFront::Function") {
            Ok((logical_id, _)) => {
                let code = text(&template.properties(logical_id)?["FunctionCode"]);
                Some(FunctionRunner::start(&code, work_dir)?)
            }
            Err(_) => None,
        };
        let (policy_id, _) = template.only("AWS::CloudFront::ResponseHeadersPolicy")?;
        let policy = response_headers_policy(
            &template.properties(policy_id)?["ResponseHeadersPolicyConfig"],
        );
        Ok(Self {
            behaviors,
            default_root_object: config["DefaultRootObject"].as_str().map(str::to_owned),
            origin_headers,
            policy,
            function,
            api,
            s3,
            bucket: bucket.to_owned(),
            distribution_id: distribution_id.to_owned(),
        })
    }

    /// Answers one viewer request.
    pub async fn handle(
        &self,
        mut parts: http::request::Parts,
        body: Bytes,
        viewer: SocketAddr,
    ) -> Answer {
        let path = parts.uri.path().to_owned();
        let Some(behavior) = self.behaviors.iter().find(|b| {
            b.path_pattern
                .as_deref()
                .is_none_or(|pattern| matches_pattern(pattern, &path))
        }) else {
            return http_server::plain(404, "no behaviour");
        };
        if !behavior
            .allowed_methods
            .iter()
            .any(|m| m == parts.method.as_str())
        {
            return self.finish(
                behavior,
                http_server::plain(
                    403,
                    "This distribution is not configured to allow the HTTP request method that was used for this request.",
                ),
            );
        }
        let answer = if behavior.to_api {
            // The viewer's own Host is not forwarded (AllViewerExceptHostHeader); CloudFront adds the
            // viewer's address and the origin's custom headers.
            parts.headers.remove(http::header::HOST);
            for (name, value) in &self.origin_headers {
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(value),
                ) {
                    parts.headers.insert(name, value);
                }
            }
            let viewer_address = match viewer {
                SocketAddr::V4(v4) => format!("{}:{}", v4.ip(), v4.port()),
                SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
            };
            if let Ok(value) = http::HeaderValue::from_str(&viewer_address) {
                parts.headers.insert("cloudfront-viewer-address", value);
            }
            if let Ok(value) = http::HeaderValue::from_str(&viewer.ip().to_string()) {
                parts.headers.insert("x-forwarded-for", value);
            }
            self.api.handle(&parts, body, EDGE_ADDRESS).await
        } else {
            self.site(&parts, behavior, viewer).await
        };
        self.finish(behavior, answer)
    }

    /// The site's answer: the object from S3, then the viewer-response function if associated.
    async fn site(
        &self,
        parts: &http::request::Parts,
        behavior: &Behavior,
        viewer: SocketAddr,
    ) -> Answer {
        let mut answer = self.site_object(parts, behavior, viewer).await;
        let Some(function) = self
            .function
            .as_ref()
            .filter(|_| behavior.viewer_response_function)
        else {
            return answer;
        };
        let mut event = self.function_event("viewer-response", parts, viewer);
        event["response"] = json!({
            "statusCode": answer.status().as_u16(),
            "statusDescription": answer.status().canonical_reason().unwrap_or_default(),
            "headers": function_headers(answer.headers()),
        });
        match function.run(&event).await {
            Ok(result) => {
                if let Some(status) = result["statusCode"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .and_then(|s| http::StatusCode::from_u16(s).ok())
                {
                    *answer.status_mut() = status;
                }
                set_function_headers(&mut answer, &result);
                answer
            }
            Err(error) => {
                eprintln!("rehearsal: the CloudFront Function failed (viewer response): {error:#}");
                http_server::plain(503, "The CloudFront function failed.")
            }
        }
    }

    /// A CloudFront Function's event for this request (the viewer's own URI and headers).
    fn function_event(
        &self,
        kind: &str,
        parts: &http::request::Parts,
        viewer: SocketAddr,
    ) -> Value {
        json!({
            "version": "1.0",
            "context": {
                "distributionDomainName": "rehearsal.cloudfront.net",
                "distributionId": self.distribution_id,
                "eventType": kind,
                "requestId": ulid::Ulid::new().to_string(),
            },
            "viewer": { "ip": viewer.ip().to_string() },
            "request": {
                "method": parts.method.as_str(),
                "uri": parts.uri.path(),
                "querystring": {},
                "headers": function_headers(&parts.headers),
                "cookies": {},
            },
        })
    }

    async fn site_object(
        &self,
        parts: &http::request::Parts,
        behavior: &Behavior,
        viewer: SocketAddr,
    ) -> Answer {
        let mut uri = parts.uri.path().to_owned();
        if uri == "/"
            && let Some(root) = &self.default_root_object
        {
            uri = format!("/{root}");
        }
        if behavior.viewer_request_function
            && let Some(function) = &self.function
        {
            let event = self.function_event("viewer-request", parts, viewer);
            match function.run(&event).await {
                Ok(result) if result["statusCode"].is_number() => {
                    return function_response(&result);
                }
                Ok(result) => uri = text(&result["uri"]),
                Err(error) => {
                    eprintln!("rehearsal: the CloudFront Function failed: {error:#}");
                    return http_server::plain(503, "The CloudFront function failed.");
                }
            }
        }
        let key = uri.trim_start_matches('/').to_owned();
        match self.s3.get_object().bucket(&self.bucket).key(&key).send().await {
            Ok(object) => {
                let content_type = object
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let cache_control = object.cache_control().map(str::to_owned);
                let etag = object.e_tag().map(str::to_owned);
                let body = match object.body.collect().await {
                    Ok(body) => body.into_bytes(),
                    Err(_) => return http_server::plain(502, "S3 body"),
                };
                if etag.is_some()
                    && parts
                        .headers
                        .get(http::header::IF_NONE_MATCH)
                        .and_then(|v| v.to_str().ok())
                        == etag.as_deref()
                {
                    return http_server::answer(304, &content_type, Bytes::new());
                }
                let body = if parts.method == http::Method::HEAD {
                    Bytes::new()
                } else {
                    body
                };
                let mut answer = http_server::answer(200, &content_type, body);
                for (name, value) in [("cache-control", cache_control), ("etag", etag)] {
                    if let Some(value) = value.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
                        answer.headers_mut().insert(name, value);
                    }
                }
                answer
            }
            // The bucket lets CloudFront read objects, not list them: S3 answers a missing key with 403.
            Err(_) => http_server::answer(
                403,
                "application/xml",
                Bytes::from_static(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"),
            ),
        }
    }

    /// The response headers policy and CloudFront's own headers.
    fn finish(&self, behavior: &Behavior, mut answer: Answer) -> Answer {
        let headers = answer.headers_mut();
        if behavior.response_headers {
            for header in &self.policy {
                if (header.overrides || !headers.contains_key(header.name))
                    && let Ok(value) = http::HeaderValue::from_str(&header.value)
                {
                    headers.insert(header.name, value);
                }
            }
        }
        headers.insert(
            "via",
            http::HeaderValue::from_static("1.1 rehearsal.cloudfront.net (CloudFront)"),
        );
        headers.insert(
            "x-cache",
            http::HeaderValue::from_static("Miss from cloudfront"),
        );
        answer
    }
}

/// CloudFront's path patterns: `*` any characters, `?` one.
fn matches_pattern(pattern: &str, path: &str) -> bool {
    fn go(pattern: &[u8], path: &[u8]) -> bool {
        match (pattern.first(), path.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                go(&pattern[1..], path) || (!path.is_empty() && go(pattern, &path[1..]))
            }
            (Some(b'?'), Some(_)) => go(&pattern[1..], &path[1..]),
            (Some(p), Some(c)) if p == c => go(&pattern[1..], &path[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

/// How a header's value is read from its setting in the policy.
type HeaderValueOf = dyn Fn(&Value) -> String;

fn response_headers_policy(config: &Value) -> Vec<PolicyHeader> {
    let hsts = |v: &Value| {
        let mut value = format!("max-age={}", text(&v["AccessControlMaxAgeSec"]));
        if v["IncludeSubdomains"] == true {
            value.push_str("; includeSubDomains");
        }
        if v["Preload"] == true {
            value.push_str("; preload");
        }
        value
    };
    // (setting of SecurityHeadersConfig, header, its value from the setting)
    let headers: [(&str, &'static str, &HeaderValueOf); 5] = [
        ("ContentSecurityPolicy", "content-security-policy", &|v| {
            text(&v["ContentSecurityPolicy"])
        }),
        (
            "StrictTransportSecurity",
            "strict-transport-security",
            &hsts,
        ),
        ("FrameOptions", "x-frame-options", &|v| {
            text(&v["FrameOption"])
        }),
        ("ReferrerPolicy", "referrer-policy", &|v| {
            text(&v["ReferrerPolicy"])
        }),
        ("ContentTypeOptions", "x-content-type-options", &|_| {
            "nosniff".into()
        }),
    ];
    headers
        .iter()
        .filter_map(|(setting, name, value)| {
            let setting = &config["SecurityHeadersConfig"][setting];
            setting.is_object().then(|| PolicyHeader {
                name,
                value: value(setting),
                overrides: setting["Override"] == true,
            })
        })
        .collect()
}

/// A response a viewer-request function returned instead of the request.
fn function_response(result: &Value) -> Answer {
    let status = result["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(500);
    let body = match &result["body"] {
        Value::String(s) => s.clone(),
        Value::Object(b) => b.get("data").map(text).unwrap_or_default(),
        _ => String::new(),
    };
    let mut answer = http_server::answer(status, "text/plain", Bytes::from(body));
    set_function_headers(&mut answer, result);
    answer
}

/// Headers as a CloudFront Function sees them: `{"name": {"value": "…"}}`.
fn function_headers(headers: &http::HeaderMap) -> serde_json::Map<String, Value> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                json!({ "value": String::from_utf8_lossy(value.as_bytes()) }),
            )
        })
        .collect()
}

/// Sets the headers a CloudFront Function's result carries on the answer.
fn set_function_headers(answer: &mut Answer, result: &Value) {
    for (name, value) in result["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&text(&value["value"])),
        ) {
            answer.headers_mut().insert(name, value);
        }
    }
}

/// The CloudFront Function's code in a node process: one JSON event a line in, one result a line out.
///
/// One task owns the process and answers the events in the order they come. A viewer that goes away
/// mid-request drops only its reply channel: the task still reads that event's answer, so the next
/// request can never be given the answer meant for an earlier one.
struct FunctionRunner {
    events: mpsc::UnboundedSender<(Value, oneshot::Sender<Result<Value>>)>,
}

/// Runs the function's code in a fresh context (no `require`, no `process`: cloudfront-js-2.0 has
/// neither) and answers each event line with `{"ok": result}` or `{"error": message}`.
const HARNESS: &str = r#"
const vm = require("node:vm");
const code = require("node:fs").readFileSync(process.argv[1], "utf8");
const context = vm.createContext({});
vm.runInContext(code + "\nthis.__handler = handler;", context);
const lines = require("node:readline").createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  let answer;
  try { answer = { ok: await context.__handler(JSON.parse(line)) }; }
  catch (error) { answer = { error: String(error) }; }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
"#;

impl FunctionRunner {
    fn start(code: &str, work_dir: &std::path::Path) -> Result<Self> {
        let path = work_dir.join("cloudfront-function.js");
        std::fs::write(&path, code).context("writing the CloudFront Function's code")?;
        let mut child = tokio::process::Command::new("node")
            .arg("-e")
            .arg(HARNESS)
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting node for the CloudFront Function (is node installed?)")?;
        let mut stdin = child.stdin.take().ok_or_else(|| anyhow!("node stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("node stdout"))?;
        let (events, mut incoming) =
            mpsc::unbounded_channel::<(Value, oneshot::Sender<Result<Value>>)>();
        tokio::spawn(async move {
            let _child = child;
            let mut lines = BufReader::new(stdout).lines();
            while let Some((event, reply)) = incoming.recv().await {
                let answer = exchange(&mut stdin, &mut lines, &event).await;
                // The viewer may have gone; its answer has still been read off the pipe.
                let _ = reply.send(answer);
            }
        });
        Ok(Self { events })
    }

    async fn run(&self, event: &Value) -> Result<Value> {
        let (reply, answer) = oneshot::channel();
        self.events
            .send((event.clone(), reply))
            .map_err(|_| anyhow!("the CloudFront Function's node process has ended"))?;
        answer
            .await
            .map_err(|_| anyhow!("the CloudFront Function's node process has ended"))?
    }
}

/// Writes one event to node and reads its answer.
async fn exchange(
    stdin: &mut tokio::process::ChildStdin,
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    event: &Value,
) -> Result<Value> {
    stdin.write_all(format!("{event}\n").as_bytes()).await?;
    stdin.flush().await?;
    let answer = lines
        .next_line()
        .await?
        .ok_or_else(|| anyhow!("node ended"))?;
    let mut answer: Value = serde_json::from_str(&answer)?;
    if let Some(error) = answer.get("error") {
        return Err(anyhow!("{}", text(error)));
    }
    Ok(answer["ok"].take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_match_as_cloudfront_does() {
        assert!(matches_pattern("/api/*", "/api/me"));
        assert!(matches_pattern("/api/*", "/api/"));
        assert!(!matches_pattern("/api/*", "/api"));
        assert!(!matches_pattern("/api/*", "/apix/me"));
        assert!(matches_pattern("/a?c", "/abc"));
    }

    /// A viewer that leaves while the function runs must not shift the answers: before the runner
    /// had one task owning node, the next request got the left request's answer (in CI, every page
    /// after that answered an empty 403).
    #[tokio::test]
    async fn a_request_left_mid_function_does_not_shift_the_next_answers() {
        let work = std::env::temp_dir().join(format!("cf-runner-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&work).expect("work dir");
        let code = "function handler(event) {\n\
            if (event.slow) { const t = Date.now(); while (Date.now() - t < 300) {} }\n\
            return { uri: event.request.uri };\n}";
        let runner = FunctionRunner::start(code, &work).expect("node starts");
        let left = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            runner.run(&json!({ "slow": true, "request": { "uri": "/left" } })),
        )
        .await;
        assert!(
            left.is_err(),
            "the slow run should still be going when the viewer leaves"
        );
        for uri in ["/next", "/after"] {
            let answer = runner
                .run(&json!({ "request": { "uri": uri } }))
                .await
                .expect("the function answers");
            assert_eq!(answer["uri"], uri);
        }
        let _ = std::fs::remove_dir_all(&work);
    }
}
