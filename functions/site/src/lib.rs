//! The website as it is served: assembled from the sources in `site/`.
//!
//! - Every page (`*.html` other than `_*` files) is a fragment with a short front matter; it is
//!   rendered inside the one page shell `site/_shell.html` with the navigation of its area
//!   (`site/_partials/nav-<area>.html`), see [`page`].
//! - Assets are published under content-hashed names as well as their plain names; JavaScript
//!   modules import each other by absolute `/assets/…` paths, which the build rewrites to hashed
//!   names, leaves first, see [`assets`].
//! - The footer's operator settings (support contact, privacy and terms links) are filled in when
//!   the site is served or published, see [`operator`].
//!
//! `glucolink serve` renders each page on request (edits show on reload); the site publisher
//! runs [`build`] at compile time and fills the operator settings at deploy time.

pub mod assets;
pub mod operator;
pub mod page;

use std::path::{Path, PathBuf};

pub use operator::Operator;

/// One file of the site as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltFile {
    /// The URL path without its leading `/` (also the S3 object key).
    pub key: String,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    pub bytes: Vec<u8>,
}

/// What a build includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Include the local-only pages under `dev/` (never published).
    pub include_dev: bool,
}

/// Cache policy of pages: revalidate after a minute.
pub const PAGE_CACHE: &str = "public, max-age=60, must-revalidate";
/// Cache policy of assets under their plain names (report pages the API serves point at these).
pub const PLAIN_ASSET_CACHE: &str = "public, max-age=300";
/// Cache policy of assets under content-hashed names.
pub const HASHED_ASSET_CACHE: &str = "public, max-age=31536000, immutable";

/// A site that cannot be built, with the file and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The `site/` directory of this source tree.
pub fn source_tree_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../site")
}

/// The content type of a file, by its name.
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// Whether a source file is part of the served site: `_*` files and folders are the shell and its
/// partials, `dev/` holds local-only pages.
pub fn is_served(key: &str, options: BuildOptions) -> bool {
    !key.split('/').any(|part| part.starts_with('_'))
        && (options.include_dev || !key.starts_with("dev/"))
}

/// Every source file under `dir`, as (key, path), sorted by key.
pub fn source_files(site: &Path) -> Result<Vec<(String, PathBuf)>, BuildError> {
    let mut out = Vec::new();
    walk(site, site, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), BuildError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| BuildError(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| BuildError(format!("cannot read {}: {e}", dir.display())))?
            .path();
        let key = path
            .strip_prefix(root)
            .map_err(|_| BuildError(format!("{} is outside the site", path.display())))?
            .to_string_lossy()
            .replace('\\', "/");
        if path.is_dir() {
            walk(&path, root, out)?;
        } else {
            out.push((key, path));
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|e| BuildError(format!("cannot read {}: {e}", path.display())))
}

/// Builds the whole site for publishing: every page rendered in the shell and pointing at hashed
/// asset names, every asset under its plain and its hashed name. Operator placeholders remain in
/// the pages (see [`Operator::fill`]).
pub fn build(site: &Path, options: BuildOptions) -> Result<Vec<BuiltFile>, BuildError> {
    let sources = source_files(site)?;
    let mut asset_sources = Vec::new();
    for (key, path) in &sources {
        if key.starts_with("assets/") && is_served(key, options) {
            asset_sources.push((key.clone(), read(path)?));
        }
    }
    let hashed = assets::hash_names(&asset_sources)?;
    let mut out = Vec::new();
    for (key, path) in &sources {
        if !is_served(key, options) {
            continue;
        }
        if key.ends_with(".html") {
            let html = page::render(site, key)?;
            out.push(BuiltFile {
                key: key.clone(),
                content_type: content_type(key),
                cache_control: PAGE_CACHE,
                bytes: hashed.rewrite(&html).into_bytes(),
            });
        } else if let Some(asset) = hashed.get(key) {
            out.push(BuiltFile {
                key: key.clone(),
                content_type: content_type(key),
                cache_control: PLAIN_ASSET_CACHE,
                bytes: asset.plain.clone(),
            });
            out.push(BuiltFile {
                key: asset.hashed_key.clone(),
                content_type: content_type(key),
                cache_control: HASHED_ASSET_CACHE,
                bytes: asset.hashed.clone(),
            });
        } else {
            out.push(BuiltFile {
                key: key.clone(),
                content_type: content_type(key),
                cache_control: PLAIN_ASSET_CACHE,
                bytes: read(path)?,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_site_builds_with_every_page_in_the_shell() {
        let files = build(&source_tree_dir(), BuildOptions { include_dev: false })
            .expect("the site builds");
        let find = |k: &str| files.iter().find(|f| f.key == k);
        let index = find("index.html").expect("index.html");
        let html = std::str::from_utf8(&index.bytes).expect("utf-8");
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains("<footer"), "the shell's footer");
        assert!(
            !html.contains("\"/assets/style.css\""),
            "points at hashed names"
        );
        assert!(files.iter().all(|f| !f.key.starts_with("dev/")));
        assert!(
            files
                .iter()
                .all(|f| !f.key.contains("/_") && !f.key.starts_with('_'))
        );
        assert!(find("404.html").is_some() && find("clinic/patient.html").is_some());
    }
}
