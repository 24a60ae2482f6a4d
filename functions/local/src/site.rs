//! Serves the site from its source directory, with the security headers the cloud distribution also
//! sets. Pages are rendered in the page shell on each request (`glucolink-site`), so edits show on
//! reload; assets are served under their plain names.
//!
//! Clean URLs: `/clinic/signin` serves `clinic/signin.html`, `/` and `/clinic/` serve `index.html`.
//! Paths that try to leave the directory, and the shell's own `_` sources, are refused.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use glucolink_site::Operator;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};

/// The Content-Security-Policy of every page: no inline script, nothing from other origins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

pub struct Site {
    root: PathBuf,
    operator: Operator,
}

impl Site {
    pub fn new(root: PathBuf, operator: Operator) -> Self {
        Self { root, operator }
    }

    /// The site directory of this source tree (the default for `glucolink serve`).
    pub fn source_tree_dir() -> PathBuf {
        glucolink_site::source_tree_dir()
    }

    /// A page rendered in the shell with the operator's footer, or the file's bytes.
    async fn content(&self, path: &Path) -> Option<Bytes> {
        if path.extension().is_some_and(|e| e == "html") {
            let key = path
                .strip_prefix(&self.root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            match glucolink_site::page::render(&self.root, &key) {
                Ok(html) => Some(self.operator.fill(&html).into()),
                Err(error) => {
                    tracing::error!(%error, "a page of the site does not render");
                    None
                }
            }
        } else {
            tokio::fs::read(path).await.ok().map(Bytes::from)
        }
    }

    pub async fn serve(&self, request: &Request<Bytes>) -> Response<Bytes> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.\n");
        }
        let Some(path) = self.resolve(request.uri().path()).await else {
            return match self.content(&self.root.join("404.html")).await {
                Some(page) => with_headers(StatusCode::NOT_FOUND, page, "text/html; charset=utf-8"),
                None => plain(StatusCode::NOT_FOUND, "Not found.\n"),
            };
        };
        match self.content(&path).await {
            Some(content) => with_headers(StatusCode::OK, content, content_type(&path)),
            None => plain(StatusCode::NOT_FOUND, "Not found.\n"),
        }
    }

    /// The file a URL path names, if it exists inside the site directory.
    async fn resolve(&self, url_path: &str) -> Option<PathBuf> {
        let relative = Path::new(url_path.trim_start_matches('/'));
        if relative.components().any(|c| match c {
            Component::Normal(part) => part.to_string_lossy().starts_with('_'),
            _ => true,
        }) {
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
    glucolink_site::content_type(&path.to_string_lossy())
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
