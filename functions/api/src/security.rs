//! Cookies that carry trust: the HttpOnly `session` cookie and the double-submit `csrf` cookie.
//!
//! CSRF: every response to a client without a `csrf` cookie sets one (readable by the page's script);
//! every state-changing request must echo its value in `X-CSRF-Token`. A cross-site page can neither
//! read the cookie nor set the header, so it cannot forge the pair. Session cookies are also
//! `SameSite=Strict`, a second, independent barrier.

use bytes::Bytes;
use glucolink_core::CoreError;
use glucolink_core::account::clinic::Staff;
use glucolink_core::account::personal::{self, Person};
use glucolink_core::random::token_256;
use glucolink_core::session::{self, NewSession, Principal, Session};
use http::Request;

use crate::app::{App, Config};
use crate::wire::cookie;

pub const SESSION_COOKIE: &str = "session";
pub const CSRF_COOKIE: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie's name: in the cloud with the `__Host-` prefix, which browsers accept only when
/// Secure, host-only and on `/`, so no sibling subdomain can plant or overwrite it.
pub fn session_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        "__Host-session"
    } else {
        SESSION_COOKIE
    }
}

/// The CSRF cookie's name, likewise.
pub fn csrf_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        "__Host-csrf"
    } else {
        CSRF_COOKIE
    }
}

/// Whether a state-changing request comes from this site, by the browser's own word: `Sec-Fetch-Site`
/// (when sent) must be `same-origin` or `none`, and `Origin` (when sent) must be the site's origin or
/// the request's own host. Programs that send neither are judged by the CSRF token alone.
pub fn same_origin(request: &Request<Bytes>, config: &Config) -> bool {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    let Some(origin) = header("origin") else {
        return true;
    };
    let origin = origin.trim_end_matches('/');
    let ours = config
        .site_url
        .as_deref()
        .map(|url| url.trim_end_matches('/'));
    let host = header("host");
    ours == Some(origin)
        || host.is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        })
}

/// The header CloudFront adds to every request it forwards to the API, carrying the stack's secret.
pub const ORIGIN_HEADER: &str = "x-origin-verify";

/// Whether the request came through the site's CloudFront distribution: it carries the origin secret
/// (compared in constant time). Always true when no secret is configured (the local server).
pub fn through_the_site(request: &Request<Bytes>, config: &Config) -> bool {
    let Some(secret) = config.origin_secret.as_deref() else {
        return true;
    };
    request
        .headers()
        .get(ORIGIN_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| constant_time_eq(sent.as_bytes(), secret.as_bytes()))
}

/// Whether the request's CSRF header matches its CSRF cookie (compared in constant time).
pub fn csrf_ok(request: &Request<Bytes>, config: &Config) -> bool {
    let Some(expected) = cookie(request, csrf_cookie_name(config)).filter(|c| !c.is_empty()) else {
        return false;
    };
    let Some(sent) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    constant_time_eq(expected.as_bytes(), sent.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `Authorization: Bearer …` header (uploader clients, never browsers).
pub fn bearer_token(request: &Request<Bytes>) -> Option<&str> {
    request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// A fresh `csrf` cookie (readable by script, so not HttpOnly).
pub fn new_csrf_cookie(config: &Config) -> Result<String, CoreError> {
    Ok(format!(
        "{}={}; Path=/; SameSite=Strict{}",
        csrf_cookie_name(config),
        token_256()?,
        secure(config)
    ))
}

/// The cookie that hands a new session to the browser.
pub fn session_cookie(config: &Config, session: &NewSession) -> String {
    format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        session_cookie_name(config),
        session.token,
        session.max_age_seconds,
        secure(config)
    )
}

/// The cookie that makes the browser forget its session.
pub fn clear_session_cookie(config: &Config) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        session_cookie_name(config),
        secure(config)
    )
}

fn secure(config: &Config) -> &'static str {
    if config.secure_cookies {
        "; Secure"
    } else {
        ""
    }
}

/// The caller's valid session, or `Unauthenticated`.
pub async fn require_session(app: &App, request: &Request<Bytes>) -> Result<Session, CoreError> {
    let token =
        cookie(request, session_cookie_name(&app.config)).ok_or(CoreError::Unauthenticated)?;
    let session = session::authenticate(&app.ctx, token).await?;
    crate::app::note_principal(match session.principal {
        Principal::ClinicUser { .. } => "clinic_user",
        Principal::Person { .. } => "person",
    });
    Ok(session)
}

/// The caller's session if there is a valid one; `None` for none, expired or forged.
pub async fn optional_session(
    app: &App,
    request: &Request<Bytes>,
) -> Result<Option<Session>, CoreError> {
    match require_session(app, request).await {
        Ok(session) => Ok(Some(session)),
        Err(CoreError::Unauthenticated) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The signed-in member of staff of a verified clinic; a personal account gets `forbidden`, an unverified
/// clinic `email_unverified`.
pub async fn require_staff(app: &App, request: &Request<Bytes>) -> Result<Staff, CoreError> {
    let staff = require_any_staff(app, request).await?;
    staff.require_verified()?;
    Ok(staff)
}

/// A signed-in member of clinic staff, whether or not their clinic is verified yet: for the routes an
/// unverified clinic needs (who am I, its staff and settings, its audit log, its verification).
pub async fn require_any_staff(app: &App, request: &Request<Bytes>) -> Result<Staff, CoreError> {
    match require_session(app, request).await?.principal {
        Principal::ClinicUser { clinic_id, user_id } => {
            Staff::load(&app.ctx, clinic_id, user_id).await
        }
        Principal::Person { .. } => Err(CoreError::Forbidden),
    }
}

/// The signed-in personal account; clinic staff get `forbidden`.
pub async fn require_person(app: &App, request: &Request<Bytes>) -> Result<Person, CoreError> {
    match require_session(app, request).await?.principal {
        Principal::Person { person_id } => match personal::get(&app.ctx, person_id).await {
            Err(CoreError::NotFound) => Err(CoreError::Unauthenticated),
            other => other,
        },
        Principal::ClinicUser { .. } => Err(CoreError::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;

    fn request(cookie: Option<&str>, header: Option<&str>) -> Request<Bytes> {
        let mut builder = Request::builder().method("POST");
        if let Some(c) = cookie {
            builder = builder.header(COOKIE, c);
        }
        if let Some(h) = header {
            builder = builder.header(CSRF_HEADER, h);
        }
        builder.body(Bytes::new()).expect("request")
    }

    fn local() -> Config {
        Config::local("http://127.0.0.1:8080".into())
    }

    #[test]
    fn csrf_needs_a_matching_cookie_and_header() {
        let local = local();
        assert!(csrf_ok(&request(Some("csrf=abc"), Some("abc")), &local));
        assert!(!csrf_ok(&request(Some("csrf=abc"), Some("abd")), &local));
        assert!(!csrf_ok(&request(Some("csrf=abc"), None), &local));
        assert!(!csrf_ok(&request(None, Some("abc")), &local));
        assert!(!csrf_ok(&request(Some("csrf="), Some("")), &local));
        // In the cloud only the __Host- cookie counts: a sibling subdomain cannot plant it.
        let cloud = Config::cloud(Some("https://glucolink.example".into()));
        assert!(!csrf_ok(&request(Some("csrf=abc"), Some("abc")), &cloud));
        assert!(csrf_ok(
            &request(Some("__Host-csrf=abc"), Some("abc")),
            &cloud
        ));
    }

    #[test]
    fn state_changes_must_come_from_this_site() {
        let cloud = Config::cloud(Some("https://glucolink.example".into()));
        let with = |headers: &[(&str, &str)]| {
            let mut builder = Request::builder()
                .method("POST")
                .header("host", "api.example");
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            builder.body(Bytes::new()).expect("request")
        };
        assert!(same_origin(&with(&[]), &cloud), "programs send neither");
        assert!(same_origin(
            &with(&[
                ("origin", "https://glucolink.example"),
                ("sec-fetch-site", "same-origin")
            ]),
            &cloud
        ));
        assert!(!same_origin(
            &with(&[("origin", "https://evil.example")]),
            &cloud
        ));
        assert!(!same_origin(
            &with(&[("sec-fetch-site", "cross-site")]),
            &cloud
        ));
        assert!(
            !same_origin(&with(&[("sec-fetch-site", "same-site")]), &cloud),
            "a sibling subdomain"
        );
        assert!(
            same_origin(&with(&[("origin", "https://api.example")]), &cloud),
            "the request's own host"
        );
    }

    #[test]
    fn cookies_are_secure_in_the_cloud_only() {
        let session = NewSession {
            token: "t".into(),
            max_age_seconds: 60,
        };
        let cloud = session_cookie(&Config::cloud(None), &session);
        assert!(cloud.starts_with("__Host-session=t; Path=/;"), "{cloud}");
        assert!(
            cloud.contains("HttpOnly")
                && cloud.contains("SameSite=Strict")
                && cloud.ends_with("; Secure")
        );
        assert!(!session_cookie(&local(), &session).contains("Secure"));
    }
}
