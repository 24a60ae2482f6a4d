//! The application: one `App` serves every route, for the local server and for each Lambda alike.
//!
//! A request flows: route match → CSRF check (state-changing methods) → handler (parses input into
//! domain types, calls `glucolink_core`) → `Reply` → response with the common headers and the `csrf`
//! cookie when the client has none yet.

use bytes::Bytes;
use glucolink_core::Ctx;
use http::{Method, Request, Response, StatusCode};

use crate::error::ApiError;
use crate::handlers;
use crate::routes::{self, Match, PathParams, RouteId};
use crate::security;
use crate::wire::Reply;

/// Deployment-dependent settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark cookies `Secure` (always in the cloud; off for the local server on plain http://127.0.0.1).
    pub secure_cookies: bool,
    /// Serve the local-only routes (the dev outbox).
    pub local_routes: bool,
    /// The site's public origin (`https://…`), for links in messages; when absent, taken from the
    /// request's `Host` header.
    pub site_url: Option<String>,
    /// In the cloud, the secret CloudFront adds to every request it forwards (`X-Origin-Verify`): a
    /// request without it did not come through the site's distribution (someone calling the
    /// execute-api address directly, who could forge the viewer address) and is refused.
    pub origin_secret: Option<String>,
    /// How clinics may join (`open`, `domains`, `invite`): the operator's choice.
    pub clinic_join: glucolink_core::account::verify::JoinPolicy,
}

impl Config {
    /// The cloud deployment: secure cookies, no local-only routes.
    pub fn cloud(site_url: Option<String>) -> Self {
        Self {
            secure_cookies: true,
            local_routes: false,
            site_url,
            origin_secret: None,
            clinic_join: Default::default(),
        }
    }

    /// The local server on http://127.0.0.1.
    pub fn local(site_url: String) -> Self {
        Self {
            secure_cookies: false,
            local_routes: true,
            site_url: Some(site_url),
            origin_secret: None,
            clinic_join: Default::default(),
        }
    }
}

tokio::task_local! {
    /// Who is making the request being handled, once a session or token says so.
    static PRINCIPAL: std::cell::Cell<Option<&'static str>>;
}

/// Who made a request, as the request logs name it (never who exactly): `clinic_user`, `person`,
/// `upload_token` or `anonymous`. `App` puts it in every response's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrincipalKind(pub &'static str);

/// Records the kind of caller the request turned out to be (a no-op outside `App`'s handling).
pub(crate) fn note_principal(kind: &'static str) {
    let _ = PRINCIPAL.try_with(|principal| principal.set(Some(kind)));
}

/// Everything a handler can reach.
#[derive(Clone)]
pub struct App {
    pub ctx: Ctx,
    pub config: Config,
}

impl App {
    pub fn new(ctx: Ctx, config: Config) -> Self {
        Self { ctx, config }
    }

    /// Serves any API request by the route table.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let found = routes::find(
            request.method(),
            request.uri().path(),
            self.config.local_routes,
        );
        match found {
            Match::Found(id, params) => self.run(id, params, request).await,
            Match::WrongMethod { allow } => self.wrong_method(&request, &allow),
            Match::NotFound => self.finish(&request, Err(ApiError::no_such_route())),
        }
    }

    /// Serves one route only (a Lambda's job); any other path is not found.
    pub async fn handle_route(&self, id: RouteId, request: Request<Bytes>) -> Response<Bytes> {
        let route = id.route();
        match routes::match_path(route.path, request.uri().path()) {
            Some(params) if request.method().as_str() == route.method => {
                self.run(id, params, request).await
            }
            Some(_) => self.wrong_method(&request, &[route.method]),
            None => self.finish(&request, Err(ApiError::no_such_route())),
        }
    }

    /// 405, with the `Allow` header listing the methods the path has (RFC 9110 §15.5.6).
    fn wrong_method(&self, request: &Request<Bytes>, allow: &[&str]) -> Response<Bytes> {
        let mut response = self.finish(request, Err(ApiError::method_not_allowed()));
        if let Ok(value) = http::HeaderValue::from_str(&allow.join(", ")) {
            response.headers_mut().insert(http::header::ALLOW, value);
        }
        response
    }

    async fn run(
        &self,
        id: RouteId,
        params: PathParams,
        request: Request<Bytes>,
    ) -> Response<Bytes> {
        // An upload with a bearer token comes from a program, not from a browser a cross-site page could
        // drive (a page cannot add an Authorization header to another origin without CORS, which glucolink
        // never grants); it is authenticated by the token alone, so it needs no CSRF token.
        let token_upload = id == RouteId::Upload && security::bearer_token(&request).is_some();
        let needs_csrf = changes_state(request.method()) && !token_upload;
        let (outcome, principal) = PRINCIPAL
            .scope(std::cell::Cell::new(None), async {
                let outcome = self
                    .checked_dispatch(id, &params, &request, needs_csrf)
                    .await;
                (outcome, PRINCIPAL.with(std::cell::Cell::get))
            })
            .await;
        let mut response = self.finish(&request, outcome);
        response
            .extensions_mut()
            .insert(PrincipalKind(principal.unwrap_or("anonymous")));
        response
    }

    async fn checked_dispatch(
        &self,
        id: RouteId,
        params: &PathParams,
        request: &Request<Bytes>,
        needs_csrf: bool,
    ) -> Result<Reply, ApiError> {
        if !security::through_the_site(request, &self.config) {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_through_the_site",
                "Use glucolink through its website's address.",
            ))
        } else if needs_csrf
            && !(security::csrf_ok(request, &self.config)
                && security::same_origin(request, &self.config))
        {
            Err(ApiError::csrf())
        } else if let Some(unknown) = unknown_query_parameter(id, request) {
            Err(ApiError::new(
                http::StatusCode::BAD_REQUEST,
                "unknown_parameter",
                format!("The query parameter {unknown:?} is not one this request takes."),
            )
            .with_field("query"))
        } else {
            handlers::dispatch(self, id, params, request).await
        }
    }

    /// Builds the response and hands out a CSRF token to clients that have none.
    fn finish(
        &self,
        request: &Request<Bytes>,
        outcome: Result<Reply, ApiError>,
    ) -> Response<Bytes> {
        let (mut reply, retry_after) = match outcome {
            Ok(reply) => (reply, None),
            Err(error) => {
                if error.status == StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::error!(path = %request.uri().path(), "request failed");
                }
                (Reply::from_error(&error), error.retry_after_seconds)
            }
        };
        if crate::wire::cookie(request, security::csrf_cookie_name(&self.config)).is_none() {
            match security::new_csrf_cookie(&self.config) {
                Ok(cookie) => reply.set_cookies.push(cookie),
                Err(error) => tracing::error!(%error, "could not mint a CSRF token"),
            }
        }
        reply.into_response(retry_after)
    }
}

/// Methods that change state must carry the CSRF header.
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The first query parameter the route does not read, if any.
fn unknown_query_parameter(id: RouteId, request: &Request<Bytes>) -> Option<String> {
    let allowed = id.query_parameters();
    form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .map(|(name, _)| name)
        .find(|name| !allowed.contains(&name.as_ref()))
        .map(|name| name.chars().take(40).collect())
}
