//! Sign-in latency on the local server: `cargo bench -p glucolink-tests --bench signin`.
//!
//! Starts the real local server in-process (embedded store in a temp dir), creates one clinic user and
//! one personal account, then times full HTTP sign-ins (request → argon2id check → session write →
//! response) one after another, the session check, a member of staff of two clinics' `GET /api/me` and
//! clinic switch, and the argon2id check alone. Prints p50/p95/p99 in milliseconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use glucolink_core::Ctx;
use glucolink_core::account::Password;
use glucolink_core::clock::SystemClock;
use glucolink_store::EmbeddedStore;
use serde_json::json;

const ROUNDS: usize = 200;

mod support;
use support::percentile;

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    println!(
        "{label:<34} n={:<4} p50={:>7.2} ms  p95={:>7.2} ms  p99={:>7.2} ms",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99)
    );
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("glucolink-bench-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let clock = Arc::new(SystemClock);
    let store = EmbeddedStore::open(&dir.join("bench.redb"), clock.clone()).expect("store");
    let store: Arc<dyn glucolink_core::store::Store> = Arc::new(store);
    let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
        store.clone(),
        clock.clone(),
    ));
    let ctx = Ctx::new(store, clock, outbox);
    let base = support::serve(ctx.clone()).await;
    let (client, mut token) = support::client(&base).await;
    let password = "orchard lantern quartz 88";
    // Every new session comes with a new CSRF token: each answer's replaces the one before.
    let renewed = |response: &reqwest::Response| {
        response
            .cookies()
            .find(|c| c.name() == "csrf")
            .map(|c| c.value().to_owned())
    };
    for (path, body) in [
        (
            "/api/clinic/signup",
            json!({"clinic_name": "Bench Clinic", "name": "Bench Admin", "email": "bench@clinic.example", "password": password}),
        ),
        (
            "/api/personal/signup",
            json!({"username": "bench.person", "name": "Bench Person", "password": password, "email": "bench.person@example.net"}),
        ),
    ] {
        let made = client
            .post(format!("{base}{path}"))
            .header("X-CSRF-Token", &token)
            .json(&body)
            .send()
            .await
            .expect("sign-up");
        assert_eq!(made.status().as_u16(), 201, "{path}");
        token = renewed(&made).unwrap_or(token);
    }

    println!(
        "glucolink sign-in benchmark ({ROUNDS} rounds each, sequential, local server, embedded store)"
    );
    for (label, path, body) in [
        (
            "POST /api/clinic/signin",
            "/api/clinic/signin",
            json!({"email": "bench@clinic.example", "password": password}),
        ),
        (
            "POST /api/personal/signin",
            "/api/personal/signin",
            json!({"username": "bench.person", "password": password}),
        ),
    ] {
        let mut samples = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let response = client
                .post(format!("{base}{path}"))
                .header("X-CSRF-Token", &token)
                .json(&body)
                .send()
                .await
                .expect("signin");
            assert_eq!(response.status().as_u16(), 200);
            token = renewed(&response).unwrap_or(token);
            response.bytes().await.expect("body");
            samples.push(started.elapsed());
        }
        report(label, samples);
    }

    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let response = client
            .get(format!("{base}/api/me"))
            .send()
            .await
            .expect("me");
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.expect("body");
        samples.push(started.elapsed());
    }
    report("GET /api/me (session check)", samples);

    // One person in two clinics: the operator adds a second clinic for the bench admin, who joins it
    // with their login; then `GET /api/me` lists both, and switching starts a session in the other.
    let (second, _) = glucolink_core::account::verify::add_clinic(
        &ctx,
        "Bench East",
        "bench@clinic.example",
        &base,
    )
    .await
    .expect("second clinic");
    let outbox: serde_json::Value = client
        .get(format!("{base}/api/dev/outbox"))
        .send()
        .await
        .expect("outbox")
        .json()
        .await
        .expect("outbox json");
    let invitation = outbox["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["text"].as_str())
        .find(|text| text.contains("Bench East"))
        .and_then(|text| text.split("token=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("invitation token")
        .to_owned();
    let signed_in = client
        .post(format!("{base}/api/clinic/signin"))
        .header("X-CSRF-Token", &token)
        .json(&json!({"email": "bench@clinic.example", "password": password}))
        .send()
        .await
        .expect("signin");
    assert_eq!(signed_in.status().as_u16(), 200);
    token = renewed(&signed_in).unwrap_or(token);
    let first_clinic = signed_in.json::<serde_json::Value>().await.expect("me")["clinic_id"]
        .as_str()
        .expect("clinic")
        .to_owned();
    let joined = client
        .post(format!("{base}/api/clinic/staff/invitations/join"))
        .header("X-CSRF-Token", &token)
        .json(&json!({"token": invitation}))
        .send()
        .await
        .expect("join");
    assert_eq!(joined.status().as_u16(), 201);
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let response = client
            .get(format!("{base}/api/me"))
            .send()
            .await
            .expect("me");
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.expect("body");
        samples.push(started.elapsed());
    }
    report("GET /api/me (staff of 2 clinics)", samples);
    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let target = if round % 2 == 0 {
            second.id.to_string()
        } else {
            first_clinic.clone()
        };
        let started = Instant::now();
        let response = client
            .post(format!("{base}/api/me/clinic"))
            .header("X-CSRF-Token", &token)
            .json(&json!({"clinic_id": target}))
            .send()
            .await
            .expect("switch");
        assert_eq!(response.status().as_u16(), 200);
        token = renewed(&response).unwrap_or(token);
        response.bytes().await.expect("body");
        samples.push(started.elapsed());
    }
    report("POST /api/me/clinic (switch)", samples);

    let typed = Password::for_sign_in(password).expect("password");
    let hash = typed.hash().expect("hash");
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        assert!(typed.matches(&hash));
        samples.push(started.elapsed());
    }
    report("argon2id verify alone", samples);
    let _ = std::fs::remove_dir_all(&dir);
}
