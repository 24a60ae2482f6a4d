//! Report speed: `cargo bench -p glucolink-tests --bench reports`.
//!
//! 1. Compute: 90 days of a synthetic MiniMed 780G patient (≈26,000 CGM readings plus boluses, basal,
//!    carbs and meter readings) in memory, composed into a report and written as JSON, HTML and PDF.
//! 2. End to end: the local server with the demo data (the same 90-day patient, linked), timing
//!    `GET /api/clinic/patients/{id}/report` (read + compute + audit + write) in each format, and the
//!    Patient Profile's overview (`…/overview`, 14 and 90 days).
//!
//! Prints p50/p95 in milliseconds and the output sizes. With `--write DIR` it keeps the HTML and PDF it
//! rendered. (The metrics for the peer comparison come from `glucolink-synth`'s `peer-metrics`.)

use std::time::{Duration, Instant};

use glucolink_core::data::Event;
use glucolink_core::report::build::{Options, Period, Units, compose};
use glucolink_core::report::ranges::RangePreset;
use glucolink_render::{Audience, Cover, Subject};
use glucolink_synth::{Patient, Profile, generate};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

mod support;
use support::percentile;

const ROUNDS: usize = 30;

fn line(label: &str, mut samples: Vec<Duration>, bytes: usize) {
    samples.sort_unstable();
    println!(
        "{label:<46} p50={:>7.2} ms  p95={:>7.2} ms  {:>6} KB",
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        bytes / 1024
    );
}

/// The parts of a `Server-Timing` header (`name;dur=ms, …`).
fn server_timing(response: &reqwest::Response) -> Vec<(String, Duration)> {
    let header = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    header
        .split(", ")
        .filter_map(|part| {
            let (name, dur) = part.split_once(";dur=")?;
            let ms: f64 = dur.parse().ok()?;
            Some((name.to_owned(), Duration::from_secs_f64(ms / 1000.0)))
        })
        .collect()
}

fn time<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut samples = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let value = f();
        samples.push(started.elapsed());
        last = Some(value);
    }
    (samples, last.expect("at least one round"))
}

/// A virtual patient living in London (the zone `tz` must be Europe/London).
fn synthetic(profile: Profile, seed: u64, tz: &TimeZone, days: i64) -> (Vec<Event>, Options) {
    let today = tz.to_datetime(Timestamp::now()).date();
    let start = today.checked_sub(days.days()).expect("date");
    let mut events = generate(&Patient {
        seed,
        profile,
        time_zone: "Europe/London",
        start,
        days: days as u32,
    });
    events.sort_by_key(|e| (e.at, e.body.kind()));
    let options = Options {
        period: Period::parse(
            &start.to_string(),
            &today.checked_sub(1.day()).expect("date").to_string(),
        )
        .expect("period"),
        tz: tz.clone(),
        units: Units::MgDl,
        ranges: RangePreset::Standard,
        detail: true,
    };
    (events, options)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tz = TimeZone::get("Europe/London").expect("zone");
    let (events, options) = synthetic(Profile::MedtronicPump, 1, &tz, 90);
    let cgm = events
        .iter()
        .filter(|e| matches!(e.body, glucolink_core::data::Body::Cgm { .. }))
        .count();
    println!(
        "90-day report of a synthetic 780G patient: {} events ({cgm} CGM readings), {ROUNDS} rounds each",
        events.len()
    );
    let subject = Subject {
        name: "Alex Demo".into(),
        date_of_birth: Some(jiff::civil::date(1988, 4, 12)),
        mrn: Some("RDC-1001".into()),
        identity_warning: None,
    };
    let sections = glucolink_render::Section::ALL;
    // The comparison page against a previous period (the same 90 days stand in for it: drawing the
    // page costs the same; the endpoint below reads a real previous period).
    let previous = compose(
        &events,
        &Options {
            detail: false,
            ..options.clone()
        },
    )
    .expect("previous");
    let cover = Cover {
        sections: &sections,
        previous: Some(&previous),
        subject: &subject,
        audience: Audience::Clinic,
        generated_at: Timestamp::now(),
        pdf_url: Some("/report.pdf".into()),
        back_url: "/".into(),
    };
    // The JSON answer needs no per-day traces; the pages do.
    let numbers_only = Options {
        detail: false,
        ..options.clone()
    };
    let (samples, _) = time(ROUNDS, || compose(&events, &numbers_only).expect("report"));
    line("compute numbers (metrics, AGP, days)", samples, 0);
    let (samples, report) = time(ROUNDS, || compose(&events, &options).expect("report"));
    line("compute numbers and per-day traces", samples, 0);
    let (samples, json) = time(ROUNDS, || {
        let report = compose(&events, &numbers_only).expect("report");
        serde_json::to_vec(&report).expect("json")
    });
    line("JSON: compute + serialise", samples, json.len());
    let (samples, html) = time(ROUNDS, || {
        let report = compose(&events, &options).expect("report");
        glucolink_render::html::report(&report, &cover)
    });
    line("HTML: compute + render (SVG charts)", samples, html.len());
    let (samples, pdf) = time(ROUNDS, || {
        let report = compose(&events, &options).expect("report");
        glucolink_render::pdf::report(&report, &cover).expect("pdf")
    });
    line("PDF: compute + render (font subsets)", samples, pdf.len());
    let (samples, _) = time(ROUNDS, || {
        glucolink_render::pdf::report(&report, &cover).expect("pdf")
    });
    line("PDF: render only", samples, 0);
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let dir = std::path::PathBuf::from(args.get(i + 1).expect("--write DIR"));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("report.html"), &html).expect("html");
        std::fs::write(dir.join("report.pdf"), &pdf).expect("pdf");
        println!("wrote {}/report.html and report.pdf", dir.display());
    }

    // End to end on the local server with the demo data.
    let demo = support::demo_clinic("bench-reports").await;
    let (base, client, id) = (&demo.base, &demo.client, &demo.patient_id);
    let today = tz.to_datetime(Timestamp::now()).date();
    let from = today.checked_sub(89.days()).expect("date");
    // A first view: every round another 90-day period, so no round finds its report remembered.
    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let to = today.checked_sub((round as i64).days()).expect("date");
        let from = to.checked_sub(89.days()).expect("date");
        let url = format!("{base}/api/clinic/patients/{id}/report?from={from}&to={to}&format=json");
        let started = Instant::now();
        let response = client.get(&url).send().await.expect("report");
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.expect("body");
        samples.push(started.elapsed());
    }
    line("GET …/report?format=json, first views", samples, 0);
    // The same report again and again (remembered after the first): a repeat view.
    for format in ["json", "html", "pdf"] {
        let url = format!(
            "{base}/api/clinic/patients/{id}/report?from={from}&to={today}&format={format}"
        );
        let mut samples = Vec::with_capacity(ROUNDS);
        let mut parts: std::collections::BTreeMap<String, Vec<Duration>> = Default::default();
        let mut size = 0;
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let response = client.get(&url).send().await.expect("report");
            assert_eq!(response.status().as_u16(), 200);
            let timing = server_timing(&response);
            size = response.bytes().await.expect("body").len();
            let took = started.elapsed();
            samples.push(took);
            let audit = timing
                .iter()
                .find(|(name, _)| name == "audit")
                .map(|(_, d)| *d);
            let audit = audit.expect("the report answers with Server-Timing, audit included");
            parts
                .entry("  all of it but the audit write".into())
                .or_default()
                .push(took.saturating_sub(audit));
            for (name, took) in timing {
                parts
                    .entry(format!("  server: {name}"))
                    .or_default()
                    .push(took);
            }
        }
        line(
            &format!("GET …/report?format={format} (90 days, local)"),
            samples,
            size,
        );
        if format == "json" {
            for (label, samples) in parts {
                line(&label, samples, 0);
            }
        }
    }
    // The patient at a glance (the Patient Profile's overview): this period with its traces, the
    // previous one, the charts as SVG.
    for days in [14, 90] {
        let url = format!("{base}/api/clinic/patients/{id}/overview?days={days}");
        let mut samples = Vec::with_capacity(ROUNDS);
        let mut size = 0;
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let response = client.get(&url).send().await.expect("overview");
            assert_eq!(response.status().as_u16(), 200);
            size = response.bytes().await.expect("body").len();
            samples.push(started.elapsed());
        }
        line(
            &format!("GET …/overview?days={days} (at a glance, local)"),
            samples,
            size,
        );
    }
    endpoint_parts(&demo, &tz, from, today).await;
}

/// Where the JSON endpoint's time goes: each part timed on its own, on the same server and store.
async fn endpoint_parts(
    demo: &support::DemoClinic,
    tz: &TimeZone,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) {
    use glucolink_core::account::{fields::Username, personal};
    use glucolink_core::{audit, data, patient};
    println!("Where the JSON endpoint's time goes (p50 of each part alone):");
    let ctx = &demo.ctx;
    let url = format!("{}/api/me", demo.base);
    let (mut samples, client) = (Vec::with_capacity(ROUNDS), &demo.client);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let response = client.get(&url).send().await.expect("me");
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.expect("body");
        samples.push(started.elapsed());
    }
    line("  HTTP, routing and session (GET /api/me)", samples, 0);
    let username = Username::parse(glucolink_local::demo::PERSON_USERNAME).expect("demo username");
    let person = personal::find_by_username(ctx, &username)
        .await
        .expect("find")
        .expect("the demo patient")
        .id;
    let samples = time_async(|| async {
        data::store::read(ctx, person, from, to)
            .await
            .expect("read");
    })
    .await;
    line("  store: read and decode 90 days of events", samples, 0);
    let samples = time_async(|| async {
        let mut query = glucolink_core::store::Query::prefix(
            glucolink_core::keys::person_pk(person),
            glucolink_core::keys::DATA_PREFIX,
        );
        query.limit = 1000;
        glucolink_core::store::query_all(ctx.store.as_ref(), query)
            .await
            .expect("query");
    })
    .await;
    line(
        "    of which the store's query of the day items",
        samples,
        0,
    );
    let samples = time_async(|| async {
        data::store::read_content(ctx, person, from, to)
            .await
            .expect("content");
    })
    .await;
    line(
        "  store: keys and revisions of the day items (recognises a remembered report)",
        samples,
        0,
    );
    let samples = time_async(|| async {
        data::upload::tallies_between(ctx, person, Timestamp::UNIX_EPOCH, Timestamp::MAX)
            .await
            .expect("tallies");
    })
    .await;
    line(
        "  store: upload tallies (duplicates, conflicts)",
        samples,
        0,
    );
    let samples = time_async(|| async {
        patient::data_times(ctx, &[person]).await.expect("times");
    })
    .await;
    line("  store: newest data (one item)", samples, 0);
    let options = Options {
        period: Period::parse(&from.to_string(), &to.to_string()).expect("period"),
        tz: tz.clone(),
        units: Units::MgDl,
        ranges: RangePreset::Standard,
        detail: false,
    };
    let samples = time_async(|| async {
        glucolink_core::report::build::build(ctx, person, &options)
            .await
            .expect("report");
    })
    .await;
    line("  build: read + compute + upload tallies", samples, 0);
    let samples = time_async(|| async {
        audit::record(
            ctx,
            audit::NewEvent {
                actor: audit::Actor {
                    kind: "system",
                    id: "bench".into(),
                    name: "bench".into(),
                },
                action: "report_viewed",
                clinic: None,
                patient_id: None,
                person_id: Some(person),
                detail: "Benchmark of the audit commit.".into(),
            },
        )
        .await
        .expect("audit");
    })
    .await;
    line("  audit: one durable commit (redb, fsync)", samples, 0);
}

async fn time_async<F, Fut>(mut run: F) -> Vec<std::time::Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        run().await;
        samples.push(started.elapsed());
    }
    samples
}
