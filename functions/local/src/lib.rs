//! The local edition of glucolink: every route, the site and the embedded store in one process.
//!
//! Architecture invariant: no request logic lives here. The server hands `/api/*` to the same
//! `glucolink_api::App` the Lambdas run; this crate only adds hyper, static files and demo data.

pub mod demo;
pub mod server;
pub mod site;
pub mod uploader;

use std::path::Path;
use std::sync::Arc;

use glucolink_api::{App, Config};
use glucolink_core::Ctx;
use glucolink_core::clock::SystemClock;
use glucolink_core::store::{Store, StoreError};
use glucolink_notify::OutboxNotifier;
use glucolink_store::EmbeddedStore;

/// The app over the embedded store in `data_dir` (created if needed), reachable at `site_url`.
pub fn local_app(data_dir: &Path, site_url: String) -> Result<App, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        StoreError::Unavailable(format!("cannot create {}: {e}", data_dir.display()))
    })?;
    let clock = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(
        &data_dir.join("glucolink.redb"),
        clock.clone(),
    )?);
    let outbox = Arc::new(OutboxNotifier::new(store.clone(), clock.clone()));
    Ok(App::new(
        Ctx::new(store, clock, outbox),
        Config::local(site_url),
    ))
}
