//! Sign-in latency on the local server: `cargo bench -p glucolink-tests --bench signin`.
//!
//! Starts the real local server in-process (embedded store in a temp dir), creates one clinic user and
//! one personal account, then times full HTTP sign-ins (request → argon2id check → session write →
//! response) one after another, and the argon2id check alone. Prints p50/p95/p99 in milliseconds.

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
    let base = support::serve(Ctx::new(store, clock, outbox)).await;
    let (client, token) = support::client(&base).await;
    let password = "orchard lantern quartz 88";
    let signup = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .header("X-CSRF-Token", &token)
            .json(&body)
            .send()
    };
    let made = signup(
        "/api/clinic/signup",
        json!({"clinic_name": "Bench Clinic", "name": "Bench Admin", "email": "bench@clinic.example", "password": password}),
    )
    .await
    .expect("clinic signup");
    assert_eq!(made.status().as_u16(), 201);
    let made = signup(
        "/api/personal/signup",
        json!({"username": "bench.person", "name": "Bench Person", "password": password, "email": "bench.person@example.net"}),
    )
    .await
    .expect("personal signup");
    assert_eq!(made.status().as_u16(), 201);

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
