//! Content-hashed asset names, with references between assets rewritten.
//!
//! An asset's hashed name depends on its bytes *after* its own references were rewritten, so a
//! module whose import changed gets a new name too (a Merkle-style chain). Assets are therefore
//! hashed leaves first; a cycle of references cannot be hashed and fails the build. References are
//! absolute paths in quotes (`"/assets/lib/api.js"`, `'…'`) or in CSS `url(/assets/…)`; relative
//! imports would point at plain names from hashed files and are refused.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::BuildError;

/// One asset under both of its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// `assets/lib/api.0123456789.js`
    pub hashed_key: String,
    /// The source bytes (references to plain names).
    pub plain: Vec<u8>,
    /// The bytes with references rewritten to hashed names.
    pub hashed: Vec<u8>,
}

/// Every asset's hashed name.
#[derive(Debug, Clone, Default)]
pub struct HashedAssets {
    by_key: BTreeMap<String, Asset>,
}

impl HashedAssets {
    pub fn get(&self, key: &str) -> Option<&Asset> {
        self.by_key.get(key)
    }

    /// Rewrites every reference to a plain asset name in `text` to its hashed name.
    pub fn rewrite(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (key, asset) in &self.by_key {
            for (open, close) in QUOTES {
                let plain = format!("{open}/{key}{close}");
                if text.contains(&plain) {
                    text = text.replace(&plain, &format!("{open}/{}{close}", asset.hashed_key));
                }
            }
        }
        text
    }
}

const QUOTES: [(&str, &str); 3] = [("\"", "\""), ("'", "'"), ("url(", ")")];

fn is_text(key: &str) -> bool {
    key.ends_with(".js") || key.ends_with(".css") || key.ends_with(".svg")
}

/// The absolute `/assets/…` paths a text asset refers to, among `known` keys.
pub fn references<'k>(text: &str, known: impl Iterator<Item = &'k String>) -> Vec<String> {
    known
        .filter(|key| {
            QUOTES
                .iter()
                .any(|(open, close)| text.contains(&format!("{open}/{key}{close}")))
        })
        .cloned()
        .collect()
}

fn refuse_relative_imports(key: &str, text: &str) -> Result<(), BuildError> {
    if !key.ends_with(".js") {
        return Ok(());
    }
    for pattern in [
        "from \"./",
        "from \"../",
        "from './",
        "from '../",
        "import(\"./",
        "import('./",
        "import \"./",
        "import './",
    ] {
        if text.contains(pattern) {
            return Err(BuildError(format!(
                "{key}: import modules by their absolute path (\"/assets/…\"), not a relative one, so that hashed names can be rewritten"
            )));
        }
    }
    Ok(())
}

fn short_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(5)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hashed_key(key: &str, digest: &str) -> String {
    match key.rsplit_once('.') {
        Some((stem, ext)) if !stem.ends_with('/') => format!("{stem}.{digest}.{ext}"),
        _ => format!("{key}.{digest}"),
    }
}

/// Hashes every asset (keys like `assets/style.css`), leaves first.
pub fn hash_names(sources: &[(String, Vec<u8>)]) -> Result<HashedAssets, BuildError> {
    let keys: Vec<String> = sources.iter().map(|(k, _)| k.clone()).collect();
    let mut pending: BTreeMap<&str, (&[u8], Vec<String>)> = BTreeMap::new();
    for (key, bytes) in sources {
        let refs = if is_text(key) {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| BuildError(format!("{key} is not UTF-8 text")))?;
            refuse_relative_imports(key, text)?;
            references(text, keys.iter().filter(|k| *k != key))
        } else {
            Vec::new()
        };
        pending.insert(key, (bytes, refs));
    }
    let mut done = HashedAssets::default();
    while !pending.is_empty() {
        let ready: Vec<&str> = pending
            .iter()
            .filter(|(_, (_, refs))| refs.iter().all(|r| done.by_key.contains_key(r)))
            .map(|(key, _)| *key)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = pending.keys().copied().collect();
            return Err(BuildError(format!(
                "these assets refer to each other in a cycle, so they cannot be hashed: {}",
                stuck.join(", ")
            )));
        }
        for key in ready {
            let Some((bytes, _)) = pending.remove(key) else {
                continue;
            };
            let hashed = if is_text(key) {
                done.rewrite(&String::from_utf8_lossy(bytes)).into_bytes()
            } else {
                bytes.to_vec()
            };
            let asset = Asset {
                hashed_key: hashed_key(key, &short_digest(&hashed)),
                plain: bytes.to_vec(),
                hashed,
            };
            done.by_key.insert(key.to_owned(), asset);
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(key: &str, text: &str) -> (String, Vec<u8>) {
        (key.to_owned(), text.as_bytes().to_vec())
    }

    #[test]
    fn a_changed_leaf_renames_every_module_that_imports_it() {
        let leaf = src("assets/lib/api.js", "export const a = 1;");
        let page = src(
            "assets/pages/home.js",
            "import { a } from \"/assets/lib/api.js\";",
        );
        let before = hash_names(&[leaf, page.clone()]).expect("hashes");
        let after =
            hash_names(&[src("assets/lib/api.js", "export const a = 2;"), page]).expect("hashes");
        let name = |h: &HashedAssets, k: &str| h.get(k).expect("asset").hashed_key.clone();
        assert_ne!(
            name(&before, "assets/pages/home.js"),
            name(&after, "assets/pages/home.js")
        );
        let home = after.get("assets/pages/home.js").expect("home");
        let text = String::from_utf8(home.hashed.clone()).expect("utf-8");
        assert!(text.contains(&format!("\"/{}\"", name(&after, "assets/lib/api.js"))));
        assert!(
            String::from_utf8(home.plain.clone())
                .expect("utf-8")
                .contains("\"/assets/lib/api.js\"")
        );
    }

    #[test]
    fn relative_imports_and_cycles_fail_the_build() {
        let relative = hash_names(&[src("assets/a.js", "import { b } from \"./b.js\";")]);
        assert!(relative.is_err_and(|e| e.0.contains("absolute path")));
        let cycle = hash_names(&[
            src("assets/a.js", "import \"/assets/b.js\";"),
            src("assets/b.js", "import \"/assets/a.js\";"),
        ]);
        assert!(cycle.is_err_and(|e| e.0.contains("cycle")));
    }

    #[test]
    fn css_urls_and_names_that_share_a_suffix_are_told_apart() {
        let hashed = hash_names(&[
            src("assets/brand/mark.svg", "<svg/>"),
            src(
                "assets/style.css",
                "a{background:url(/assets/brand/mark.svg)}",
            ),
            src("assets/app.js", "1"),
            src("assets/pages/app.js", "2"),
        ])
        .expect("hashes");
        let css = String::from_utf8(hashed.get("assets/style.css").expect("css").hashed.clone())
            .expect("utf-8");
        assert!(css.contains(&hashed.get("assets/brand/mark.svg").expect("svg").hashed_key));
        let html = hashed.rewrite("<script src=\"/assets/pages/app.js\"></script>");
        assert!(html.contains(&hashed.get("assets/pages/app.js").expect("js").hashed_key));
    }
}
