//! The website's assembly and delivery: `cargo bench -p glucolink-tests --bench site`.
//!
//! Times the publisher's build of the whole site (every page in the shell, assets hashed leaves first),
//! one page rendered the way `glucolink serve` renders it on each request, and HTTP GETs of pages and a
//! module on the local server (p50/p95). Prints what a first visit transfers: each page's HTML plus its
//! stylesheet and modules, uncompressed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use glucolink_core::Ctx;
use glucolink_core::clock::SystemClock;
use glucolink_core::store::Store;
use glucolink_site::{BuildOptions, Operator, build, page, source_tree_dir};
use glucolink_store::EmbeddedStore;

mod support;
use support::percentile;

const ROUNDS: usize = 300;

fn timed(rounds: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples
}

#[tokio::main]
async fn main() {
    let site = source_tree_dir();
    let options = BuildOptions { include_dev: false };
    let files = build(&site, options).expect("the site builds");
    let builds = timed(20, || {
        build(&site, options).expect("builds");
    });
    println!(
        "whole site build: {} files, {} KB; p50 {:.1} ms, p95 {:.1} ms",
        files.len(),
        files.iter().map(|f| f.bytes.len()).sum::<usize>() / 1024,
        percentile(&builds, 0.5),
        percentile(&builds, 0.95)
    );
    let operator = Operator::default();
    let renders = timed(ROUNDS, || {
        let html = page::render(&site, "clinic/patient.html").expect("renders");
        let _ = operator.fill(&html);
    });
    println!(
        "render the Patient Profile in the shell (per request, local): p50 {:.3} ms, p95 {:.3} ms",
        percentile(&renders, 0.5),
        percentile(&renders, 0.95)
    );

    // What a first visit transfers, page by page: the HTML, the stylesheet and every module it loads.
    let size = |key: &str| {
        files
            .iter()
            .find(|f| f.key == key)
            .map_or(0, |f| f.bytes.len())
    };
    for key in [
        "index.html",
        "clinic/index.html",
        "clinic/patient.html",
        "personal/index.html",
        "clinic/audit.html",
    ] {
        let html = page::render(&site, key).expect("renders");
        let modules: usize = html
            .match_indices("\"/assets/")
            .filter_map(|(at, _)| html[at + 2..].split('"').next())
            .filter(|asset| asset.ends_with(".js") || asset.ends_with(".css"))
            .map(size)
            .sum();
        println!(
            "first visit of /{key}: HTML {:.1} KB + CSS and modules {:.1} KB",
            html.len() as f64 / 1024.0,
            modules as f64 / 1024.0
        );
    }

    let dir = std::env::temp_dir().join(format!("glucolink-bench-site-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let clock = Arc::new(SystemClock);
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&dir.join("bench.redb"), clock.clone()).expect("store"));
    let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
        store.clone(),
        clock.clone(),
    ));
    let ctx = Ctx::new(store, clock, outbox);
    let base = support::serve(ctx).await;
    let http = reqwest::Client::new();
    for path in ["/clinic/patient", "/personal/", "/assets/lib/forms.js"] {
        let mut samples = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let response = http.get(format!("{base}{path}")).send().await.expect("get");
            assert!(response.status().is_success(), "{path}");
            let _ = response.bytes().await.expect("body");
            samples.push(start.elapsed());
        }
        samples.sort();
        println!(
            "GET {path} on the local server: p50 {:.2} ms, p95 {:.2} ms",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
