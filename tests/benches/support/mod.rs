//! What the benchmark binaries share: percentiles, the real local server on a loopback port, and an
//! HTTP client with its cookie jar and CSRF token (as the website has them).

#![allow(dead_code)] // each benchmark uses a part of this

use std::sync::Arc;
use std::time::Duration;

use glucolink_api::{App, Config};
use glucolink_core::Ctx;
use glucolink_local::server::{self, LocalServer};
use glucolink_local::site::Site;

/// The `p` quantile (0–1) of sorted samples, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Starts the local server on `ctx` on a free loopback port, in this process; returns its base URL.
pub async fn serve(ctx: Ctx) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = App::new(ctx, Config::local(base.clone()));
    tokio::spawn(server::run(
        listener,
        Arc::new(LocalServer {
            app,
            site: Site::new(Site::source_tree_dir(), glucolink_site::Operator::default()),
            limits: server::Limits::default(),
        }),
    ));
    base
}

/// A client with a cookie jar, and the CSRF token the server handed it.
pub async fn client(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let response = client
        .get(format!("{base}/api/me"))
        .send()
        .await
        .expect("me");
    let token = response
        .cookies()
        .find(|c| c.name() == "csrf")
        .map(|c| c.value().to_owned())
        .expect("csrf cookie");
    (client, token)
}

/// Signs a clinic user in with `client`.
pub async fn clinic_sign_in(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    email: &str,
    password: &str,
) {
    let signed_in = client
        .post(format!("{base}/api/clinic/signin"))
        .header("X-CSRF-Token", token)
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("signin");
    assert_eq!(signed_in.status().as_u16(), 200);
}

/// The local server with the demo data on a fresh embedded store, a clinic session of the demo admin,
/// and the demo's linked 90-day patient.
pub struct DemoClinic {
    pub base: String,
    pub client: reqwest::Client,
    pub patient_id: String,
    /// The server's store and clock, for timing domain calls without HTTP.
    pub ctx: Ctx,
    /// The store's directory; removed when the demo is dropped.
    pub dir: std::path::PathBuf,
}

impl Drop for DemoClinic {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn demo_clinic(label: &str) -> DemoClinic {
    let dir = std::env::temp_dir().join(format!("glucolink-{label}-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let clock = Arc::new(glucolink_core::clock::SystemClock);
    let store: Arc<dyn glucolink_core::store::Store> = Arc::new(
        glucolink_store::EmbeddedStore::open(&dir.join("bench.redb"), clock.clone())
            .expect("store"),
    );
    let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
        store.clone(),
        clock.clone(),
    ));
    let ctx = Ctx::new(store, clock, outbox);
    glucolink_local::demo::ensure(&ctx)
        .await
        .expect("demo data");
    let base = serve(ctx.clone()).await;
    let (client, csrf) = client(&base).await;
    clinic_sign_in(
        &client,
        &base,
        &csrf,
        glucolink_local::demo::CLINIC_EMAIL,
        glucolink_local::demo::CLINIC_PASSWORD,
    )
    .await;
    let list: serde_json::Value = client
        .get(format!("{base}/api/clinic/patients?q=RDC-1001"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    let patient_id = list["patients"][0]["patient_id"]
        .as_str()
        .expect("demo patient")
        .to_owned();
    DemoClinic {
        base,
        client,
        ctx,
        patient_id,
        dir,
    }
}
