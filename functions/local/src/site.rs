//! Serves the static site from a directory, with the security headers the cloud distribution also sets.
//!
//! Clean URLs: `/clinic/signin` serves `clinic/signin.html`, `/` and `/clinic/` serve `index.html`.
//! Paths that try to leave the directory are refused.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};

/// The Content-Security-Policy of every page: no inline script, nothing from other origins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

pub struct Site {
    root: PathBuf,
}

impl Site {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The site directory of this source tree (the default for `glucolink serve`).
    pub fn source_tree_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../site")
    }

    pub async fn serve(&self, request: &Request<Bytes>) -> Response<Bytes> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.\n");
        }
        let Some(path) = self.resolve(request.uri().path()).await else {
            return match tokio::fs::read(self.root.join("404.html")).await {
                Ok(page) => with_headers(
                    StatusCode::NOT_FOUND,
                    page.into(),
                    "text/html; charset=utf-8",
                ),
                Err(_) => plain(StatusCode::NOT_FOUND, "Not found.\n"),
            };
        };
        match tokio::fs::read(&path).await {
            Ok(content) => with_headers(StatusCode::OK, content.into(), content_type(&path)),
            Err(_) => plain(StatusCode::NOT_FOUND, "Not found.\n"),
        }
    }

    /// The file a URL path names, if it exists inside the site directory.
    async fn resolve(&self, url_path: &str) -> Option<PathBuf> {
        let relative = Path::new(url_path.trim_start_matches('/'));
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let direct = self.root.join(relative);
        let candidates = [
            direct.join("index.html"),
            direct.with_extension("html"),
            direct.clone(),
        ];
        for candidate in candidates {
            if tokio::fs::metadata(&candidate)
                .await
                .is_ok_and(|m| m.is_file())
            {
                return Some(candidate);
            }
        }
        None
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Bytes> {
    with_headers(
        status,
        Bytes::from_static(text.as_bytes()),
        "text/plain; charset=utf-8",
    )
}

fn with_headers(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}
