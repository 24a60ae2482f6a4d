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
            site: Site::new(Site::source_tree_dir()),
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
