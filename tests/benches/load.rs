//! Load on the local server: `cargo bench -p glucolink-tests --bench load`.
//!
//! The demo data (a clinic, a linked 90-day patient) on the embedded store, one signed-in clinic
//! session, then for `GET /api/me`, the patient list and a 90-day JSON report: requests per second and
//! p50/p95/p99 latency at 1, 8 and 32 requests in flight, with the process's resident memory before
//! and after; then a soak in two halves (reads that store nothing, then with audited report views)
//! that prints memory as it goes, to tell a leak from the store's own growth. Numbers, not a test: nothing here fails on a threshold.

mod support;

use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use support::percentile;

/// Resident memory of this process (the server runs in it), in MB.
fn resident_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `total` GETs of `url` with `concurrency` in flight; (requests per second, sorted latencies).
async fn run(
    client: &reqwest::Client,
    url: &str,
    concurrency: usize,
    total: usize,
) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let per_worker = total / concurrency;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url) = (client.clone(), url.to_owned());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let sent = Instant::now();
                let response = client.get(&url).send().await.expect("request");
                assert_eq!(response.status().as_u16(), 200, "{url}");
                response.bytes().await.expect("body");
                samples.push(sent.elapsed());
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await.expect("worker"));
    }
    let rate = samples.len() as f64 / started.elapsed().as_secs_f64();
    samples.sort_unstable();
    (rate, samples)
}

#[tokio::main]
async fn main() {
    let demo = support::demo_clinic("load").await;
    let (base, client, id) = (&demo.base, &demo.client, &demo.patient_id);
    let today = TimeZone::get("Europe/London")
        .expect("zone")
        .to_datetime(Timestamp::now())
        .date();
    let from = today.checked_sub(89.days()).expect("date");
    let targets = [
        ("GET /api/me", format!("{base}/api/me"), 2_000),
        (
            "GET /api/clinic/patients",
            format!("{base}/api/clinic/patients"),
            2_000,
        ),
        (
            "GET …/report (90 days, JSON)",
            format!("{base}/api/clinic/patients/{id}/report?from={from}&to={today}&format=json"),
            320,
        ),
    ];
    println!("resident memory at start: {:.0} MB", resident_mb());
    println!(
        "{:<32} {:>5} {:>10} {:>9} {:>9} {:>9}",
        "request", "conc.", "req/s", "p50 ms", "p95 ms", "p99 ms"
    );
    for (name, url, total) in &targets {
        for concurrency in [1, 8, 32] {
            let (rate, samples) = run(client, url, concurrency, *total).await;
            println!(
                "{name:<32} {concurrency:>5} {rate:>10.0} {:>9.2} {:>9.2} {:>9.2}",
                percentile(&samples, 0.50),
                percentile(&samples, 0.95),
                percentile(&samples, 0.99)
            );
        }
    }
    println!("resident memory after the runs: {:.0} MB", resident_mb());
    // Soak, in two halves that tell growth apart from a leak: first only reads that store nothing but
    // the session's idle timer (me and the list), then the mix with reports, each of which is audited
    // as a view and so adds an event to the store. Memory every round.
    let soak = Duration::from_secs(
        std::env::var("GLUCOLINK_SOAK_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(120),
    );
    for (half, chosen) in [
        ("reads only", &targets[..2]),
        ("with reports", &targets[..]),
    ] {
        let started = Instant::now();
        let mut round = 0;
        let mut memory = Vec::new();
        while started.elapsed() < soak / 2 {
            for (_, url, total) in chosen {
                run(client, url, 8, total / 4).await;
            }
            round += 1;
            memory.push(resident_mb());
        }
        let first = memory.first().copied().unwrap_or(0.0);
        let last = memory.last().copied().unwrap_or(0.0);
        let peak = memory.iter().copied().fold(0.0, f64::max);
        let reports = if chosen.len() > 2 {
            round * targets[2].2 / 4
        } else {
            0
        };
        println!(
            "soak, {half}: {round} rounds in {:.0} s ({reports} audited report views); resident memory first round {first:.0} MB, last {last:.0} MB, peak {peak:.0} MB",
            started.elapsed().as_secs_f64()
        );
    }
}
