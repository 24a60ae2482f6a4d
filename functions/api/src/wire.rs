//! Reading requests and writing responses: JSON bodies, cookies, the source address, security headers.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, HeaderValue, SET_COOKIE};
use http::{Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The client's network address, put into the request's extensions by the adapter (local server or Lambda).
#[derive(Debug, Clone)]
pub struct SourceIp(pub String);

/// Largest JSON body any route accepts.
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024;

/// The request's source address, or a fixed placeholder where the adapter gave none.
pub fn source_ip<B>(request: &Request<B>) -> String {
    request
        .extensions()
        .get::<SourceIp>()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.0.clone())
}

/// The value of one query parameter, percent-decoded, if present.
pub fn query_param<B>(request: &Request<B>, name: &str) -> Option<String> {
    form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The `tz` query parameter as a time zone, `None` when absent; a name glucolink does not know is a
/// clear `400 invalid_tz`.
pub fn query_time_zone<B>(request: &Request<B>) -> Result<Option<jiff::tz::TimeZone>, ApiError> {
    match query_param(request, "tz").filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(name) => jiff::tz::TimeZone::get(&name).map(Some).map_err(|_| {
            ApiError::bad_request(
                "invalid_tz",
                format!("{name:?} is not a time zone name like Europe/London."),
            )
            .with_field("tz")
        }),
    }
}

/// The value of one cookie, if the request carries it.
pub fn cookie<'a, B>(request: &'a Request<B>, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Parses a JSON body into `T`, refusing wrong content types, malformed JSON, missing, unknown and
/// mistyped fields with distinct codes. `T` should use `#[serde(deny_unknown_fields)]`.
pub fn json_body<T: DeserializeOwned>(request: &Request<Bytes>) -> Result<T, ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.",
        ));
    }
    let body = request.body();
    if body.len() > MAX_JSON_BODY_BYTES {
        return Err(ApiError::body_too_large(MAX_JSON_BODY_BYTES));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(json_error)?;
    // A field is either given or left out: `null` would read as "left out" (serde's Option), so that a
    // client believing it cleared a setting would silently keep the old one.
    if let Some((name, _)) = value
        .as_object()
        .and_then(|fields| fields.iter().find(|(_, v)| v.is_null()))
    {
        return Err(ApiError::bad_request(
            "invalid_type",
            format!("The field {name} cannot be null: give a value or leave the field out."),
        ));
    }
    T::deserialize(&value).map_err(json_error)
}

/// Turns serde's error into a client-facing one with a stable code.
fn json_error(error: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let text = error.to_string();
    // serde's messages end with " at line L column C"; clients need only the first part.
    let detail = text.split(" at line ").next().unwrap_or(&text).to_owned();
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request("malformed_json", "The request body is not valid JSON.")
        }
        Category::Data if detail.starts_with("missing field") => ApiError::bad_request(
            "missing_field",
            format!("A required field is missing: {}.", field_name(&detail)),
        ),
        Category::Data if detail.starts_with("unknown field") => ApiError::bad_request(
            "unknown_field",
            format!("This field is not accepted: {}.", field_name(&detail)),
        ),
        Category::Data => ApiError::bad_request(
            "invalid_type",
            format!("A field has the wrong type ({detail})."),
        ),
    }
}

/// The backquoted name in serde's "missing field `x`" / "unknown field `x`, expected …".
fn field_name(detail: &str) -> &str {
    detail.split('`').nth(1).unwrap_or("?")
}

/// What a reply carries.
pub enum Payload {
    Json(serde_json::Value),
    /// A whole HTML page (the printable code page, the report), served with its own CSP.
    Html(String),
    /// A PDF document and the file name it downloads as.
    Pdf(Vec<u8>, String),
    /// A file to save (an export): its bytes, content type and file name.
    Download(Vec<u8>, &'static str, String),
}

/// The CSP of HTML pages the API serves: the site's stylesheet, inline SVG, nothing else.
pub const HTML_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// A response under construction; the app adds cookies and common headers before it leaves.
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Payload>,
    pub set_cookies: Vec<String>,
    /// Where the request's time went (`Server-Timing`), for the routes that measure it.
    pub server_timing: Option<String>,
}

impl Reply {
    fn new(status: StatusCode, body: Option<Payload>) -> Self {
        Self {
            status,
            body,
            set_cookies: Vec::new(),
            server_timing: None,
        }
    }

    pub fn json(status: StatusCode, body: &impl Serialize) -> Self {
        let value = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
        Self::new(status, Some(Payload::Json(value)))
    }

    pub fn html(status: StatusCode, page: String) -> Self {
        Self::new(status, Some(Payload::Html(page)))
    }

    pub fn pdf(document: Vec<u8>, file_name: String) -> Self {
        Self::new(StatusCode::OK, Some(Payload::Pdf(document, file_name)))
    }

    /// A file the browser saves (`Content-Disposition: attachment`).
    pub fn download(bytes: Vec<u8>, content_type: &'static str, file_name: String) -> Self {
        let payload = Payload::Download(bytes, content_type, file_name);
        Self::new(StatusCode::OK, Some(payload))
    }

    /// 202: the request was handed on (a message to deliver), with a JSON body.
    pub fn accepted(body: &impl Serialize) -> Self {
        Self::json(StatusCode::ACCEPTED, body)
    }

    pub fn no_content() -> Self {
        Self::new(StatusCode::NO_CONTENT, None)
    }

    pub fn with_cookie(mut self, cookie: String) -> Self {
        self.set_cookies.push(cookie);
        self
    }

    /// Says where the request's time went, in a `Server-Timing` header.
    pub fn with_timings(mut self, timings: &Timings) -> Self {
        self.server_timing = Some(timings.header());
        self
    }

    pub fn from_error(error: &ApiError) -> Self {
        Self::new(error.status, Some(Payload::Json(error.body())))
    }

    /// The finished HTTP response, with the headers every API answer carries.
    pub fn into_response(self, retry_after_seconds: Option<i64>) -> Response<Bytes> {
        let (mut disposition, mut html) = (None, false);
        let (bytes, content_type) = match self.body {
            Some(Payload::Json(body)) => (
                Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                Some("application/json"),
            ),
            Some(Payload::Html(page)) => {
                html = true;
                (Bytes::from(page), Some("text/html; charset=utf-8"))
            }
            Some(Payload::Pdf(document, file_name)) => {
                disposition = Some(format!("inline; filename=\"{file_name}\""));
                (Bytes::from(document), Some("application/pdf"))
            }
            Some(Payload::Download(bytes, content_type, file_name)) => {
                disposition = Some(format!("attachment; filename=\"{file_name}\""));
                (Bytes::from(bytes), Some(content_type))
            }
            None => (Bytes::new(), None),
        };
        let mut response = Response::new(bytes);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if html {
            headers.insert(
                "content-security-policy",
                HeaderValue::from_static(HTML_CONTENT_SECURITY_POLICY),
            );
            headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        }
        if let Some(value) = disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
            headers.insert(http::header::CONTENT_DISPOSITION, value);
        }
        if let Some(value) = self
            .server_timing
            .and_then(|timing| HeaderValue::from_str(&timing).ok())
        {
            headers.insert("server-timing", value);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        if let Some(seconds) = retry_after_seconds
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(http::header::RETRY_AFTER, value);
        }
        for cookie in self.set_cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(SET_COOKIE, value);
            }
        }
        response
    }
}

/// Where a request's time goes, part by part, for the `Server-Timing` header (W3C Server Timing):
/// browsers' developer tools show it, and the report bench reads it to tell the durable audit write
/// apart from the rest. Names only the parts, never data.
pub struct Timings {
    last: std::time::Instant,
    parts: Vec<(&'static str, std::time::Duration)>,
}

impl Timings {
    pub fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
            parts: Vec::with_capacity(8),
        }
    }

    /// Ends the part called `name` (the time since the previous mark, or since the start).
    pub fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.parts.push((name, now - self.last));
        self.last = now;
    }

    /// `name;dur=milliseconds` for each part, in order.
    pub fn header(&self) -> String {
        self.parts
            .iter()
            .map(|(name, took)| format!("{name};dur={:.3}", took.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An upload's bytes as the file holds them: the body as sent, or inflated when the client sent it
/// gzip-compressed (`Content-Encoding: gzip`, which the site and `glucolink upload` do, so a 90-day
/// export fits API Gateway's and Lambda's payload limits). The file may be at most `limit` bytes
/// once inflated; other encodings are refused.
pub fn upload_bytes(request: &Request<Bytes>, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "The file is larger than {} MB, the most one upload takes. Export fewer days and upload them one after another.",
                limit / (1024 * 1024)
            ),
        )
        .with_field("file")
    };
    let encoding = request
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .map(|value| value.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let body = request.body();
    match encoding.as_deref() {
        None | Some("" | "identity") => {
            if body.len() > limit {
                return Err(too_large());
            }
            Ok(body.clone())
        }
        Some("gzip" | "x-gzip") => {
            use std::io::Read;
            let mut inflated = Vec::new();
            let limit_plus_one = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::MultiGzDecoder::new(body.as_ref())
                .take(limit_plus_one)
                .read_to_end(&mut inflated)
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_encoding",
                        "The upload says it is gzip-compressed but is not readable as gzip. Send the file again.",
                    )
                    .with_field("file")
                })?;
            if inflated.len() > limit {
                return Err(too_large());
            }
            Ok(Bytes::from(inflated))
        }
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!(
                "The upload is sent with the encoding {:?}; send it as it is or gzip-compressed.",
                other.chars().take(40).collect::<String>()
            ),
        )
        .with_field("file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        age: u8,
    }

    fn json_request(body: &str) -> Request<Bytes> {
        Request::builder()
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(Bytes::from(body.to_owned()))
            .expect("request")
    }

    fn code_of(body: &str) -> &'static str {
        json_body::<Body>(&json_request(body))
            .expect_err("refused")
            .code
    }

    #[test]
    fn json_faults_each_get_their_own_code() {
        assert_eq!(code_of("{\"name\":"), "malformed_json");
        assert_eq!(code_of("not json"), "malformed_json");
        assert_eq!(code_of("{\"name\":\"a\"}"), "missing_field");
        assert_eq!(
            code_of("{\"name\":\"a\",\"age\":1,\"admin\":true}"),
            "unknown_field"
        );
        assert_eq!(code_of("{\"name\":5,\"age\":1}"), "invalid_type");
        assert!(json_body::<Body>(&json_request("{\"name\":\"a\",\"age\":1}")).is_ok());
    }

    #[test]
    fn missing_field_message_names_the_field() {
        let error = json_body::<Body>(&json_request("{\"name\":\"a\"}")).expect_err("refused");
        assert!(error.message.contains("age"), "{}", error.message);
    }

    #[test]
    fn other_content_types_are_refused() {
        let request = Request::builder()
            .header(CONTENT_TYPE, "text/plain")
            .body(Bytes::from_static(b"{}"))
            .expect("request");
        assert_eq!(
            json_body::<Body>(&request).expect_err("refused").status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn reads_one_cookie_among_many() {
        let request = Request::builder()
            .header(COOKIE, "a=1; session=abc; csrf=xyz")
            .body(())
            .expect("request");
        assert_eq!(cookie(&request, "session"), Some("abc"));
        assert_eq!(cookie(&request, "csrf"), Some("xyz"));
        assert_eq!(cookie(&request, "nope"), None);
    }
}
