//! Device data import and storage: `cargo bench -p glucolink-tests --bench import`.
//!
//! Generates 90 days of a synthetic MiniMed 780G patient (CGM every 5 minutes, boluses, micro-boluses,
//! basal, carbs, meter readings), writes it as a Medtronic CareLink CSV export, then measures: parsing
//! (rows per second), the whole upload into the embedded store, the bytes stored per patient-day of CGM
//! against one item per reading, and the store requests (and time) to read the 90 days back.

use std::sync::Arc;
use std::time::Instant;

use glucolink_core::Ctx;
use glucolink_core::account::personal::{self, PersonalSignUp};
use glucolink_core::clock::SystemClock;
use glucolink_core::data::import::{self, Format, Options};
use glucolink_core::data::{Kind, store, upload};
use glucolink_core::store::{Query, Store};
use glucolink_store::EmbeddedStore;
use glucolink_synth::{Patient, Profile, export, generate};
use glucolink_tests::CountingStore;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

#[tokio::main]
async fn main() {
    let tz = TimeZone::get("Europe/London").expect("zone");
    let today = tz.to_datetime(Timestamp::now()).date();
    let start = today.checked_sub(90.days()).expect("date");
    let patient = Patient {
        seed: 42,
        profile: Profile::MedtronicPump,
        time_zone: "Europe/London",
        start,
        days: 90,
    };
    let events = generate(&patient);
    let csv = export::to_carelink_csv(&events);
    let rows = csv.lines().count();
    println!(
        "90 days of a synthetic 780G patient: {} events ({} CGM readings), CareLink CSV of {rows} rows, {:.1} MB",
        events.len(),
        events.iter().filter(|e| e.body.kind() == Kind::Cgm).count(),
        csv.len() as f64 / 1e6
    );
    let options = Options {
        tz: tz.clone(),
        now: Timestamp::now(),
    };

    let mut best = f64::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let parsed = import::parse(Format::CareLink, csv.as_bytes(), &options).expect("parse");
        assert_eq!(parsed.events.len(), events.len(), "every event read back");
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "parse CareLink CSV (best of 5):   {:>8.1} ms  {:>10.0} rows/s",
        best * 1000.0,
        rows as f64 / best
    );

    // The two halves of a parse: the importer's rows, then conflicts, row counts and completeness.
    let (mut read_best, mut assess_best) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let started = Instant::now();
        let read = import::carelink::parse(&csv, &options).expect("read");
        let read_done = Instant::now();
        let parsed = import::Parsed::new(Format::CareLink, read, &tz);
        assert!(parsed.conflicts.is_empty());
        read_best = read_best.min((read_done - started).as_secs_f64());
        assess_best = assess_best.min(read_done.elapsed().as_secs_f64());
    }
    println!(
        "  of which rows to events:         {:>8.1} ms; conflicts, row counts, completeness {:.1} ms",
        read_best * 1000.0,
        assess_best * 1000.0
    );

    smart_guard_daily_totals(&tz, start);

    let dir = std::env::temp_dir().join(format!("glucolink-bench-import-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let clock = Arc::new(SystemClock);
    let embedded: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&dir.join("bench.redb"), clock.clone()).expect("store"));
    let counting = Arc::new(CountingStore::new(embedded.clone()));
    let store_port: Arc<dyn Store> = counting.clone();
    let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
        store_port.clone(),
        clock.clone(),
    ));
    let ctx = Ctx::new(store_port, clock, outbox);
    let person = personal::sign_up(
        &ctx,
        PersonalSignUp {
            username: "bench.person",
            password: "orchard lantern quartz 88",
            name: "Bench Person",
            email: Some("bench.person@example.net"),
            ..PersonalSignUp::default()
        },
    )
    .await
    .expect("person");

    let before = counting.requests();
    let started = Instant::now();
    let parsed = import::parse(Format::CareLink, csv.as_bytes(), &options).expect("parse");
    let summary = upload::ingest(&ctx, &person, parsed, "bench")
        .await
        .expect("ingest");
    let total = started.elapsed().as_secs_f64();
    println!(
        "whole upload (parse + store):      {:>8.1} ms  {:>10.0} rows/s  accepted {}  store requests {}",
        total * 1000.0,
        rows as f64 / total,
        summary.accepted,
        counting.requests() - before
    );
    let started = Instant::now();
    let parsed = import::parse(Format::CareLink, csv.as_bytes(), &options).expect("parse");
    let again = upload::ingest(&ctx, &person, parsed, "bench")
        .await
        .expect("ingest");
    println!(
        "same file again (all duplicates):  {:>8.1} ms  accepted {}  duplicates {}",
        started.elapsed().as_secs_f64() * 1000.0,
        again.accepted,
        again.duplicates
    );

    let mut query = Query::prefix(format!("PERSON#{}", person.id), "DATA#");
    query.limit = 1000;
    let items = glucolink_core::store::query_all(embedded.as_ref(), query)
        .await
        .expect("items");
    let cgm: Vec<usize> = items
        .iter()
        .filter(|i| i.key.sk.ends_with("#cgm"))
        .map(|i| i.approximate_size())
        .collect();
    let full_days: Vec<&usize> = cgm.iter().filter(|size| **size > 1000).collect();
    let average = full_days.iter().copied().sum::<usize>() as f64 / full_days.len().max(1) as f64;
    // One item per reading: pk, sk, time, value, device, offset and TTL attributes, ~200 bytes each.
    let per_reading = 288.0 * 200.0;
    println!(
        "stored per patient-day of CGM:     {:>8.0} bytes (one item per reading would be ≈{:.0} KB: {:.0}× more); {} day items for 90 days",
        average,
        per_reading / 1000.0,
        per_reading / average,
        items.len()
    );

    let before = counting.requests();
    let started = Instant::now();
    let read = store::read(&ctx, person.id, start, today)
        .await
        .expect("read");
    println!(
        "read 90 days of all kinds:         {:>8.1} ms  {} events  store requests {}",
        started.elapsed().as_secs_f64() * 1000.0,
        read.len(),
        counting.requests() - before
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A MiniMed 780G in SmartGuard for 8 days (a SmartGuard exit at 14:00 on the sixth), through CareLink
/// CSV and back: each day's insulin as the report counts it, against the documented rule (automatic
/// total + delivered boluses + programmed basal in manual mode only, docs/UPLOADS.md).
fn smart_guard_daily_totals(tz: &TimeZone, start: jiff::civil::Date) {
    use glucolink_core::data::Body;
    use glucolink_core::report::build::{Options as ReportOptions, Period, Units, compose};
    use glucolink_core::report::ranges::RangePreset;
    let events = generate(&Patient {
        seed: 42,
        profile: Profile::MedtronicSmartGuard,
        time_zone: "Europe/London",
        start,
        days: 8,
    });
    let csv = export::to_carelink_csv(&events);
    let options = Options {
        tz: tz.clone(),
        now: Timestamp::now(),
    };
    let mut parsed = import::parse(Format::CareLink, csv.as_bytes(), &options)
        .expect("parse")
        .events;
    parsed.sort_by_key(|e| e.at);
    let last = start.checked_add(7.days()).expect("date");
    let report = compose(
        &parsed,
        &ReportOptions {
            period: Period::parse(&start.to_string(), &last.to_string()).expect("period"),
            tz: tz.clone(),
            units: Units::MgDl,
            ranges: RangePreset::Standard,
            detail: false,
        },
    )
    .expect("report");
    println!(
        "780G in SmartGuard, 8 days through CareLink CSV (U/day: automatic + bolus + manual basal = total; by the rule):"
    );
    for day in &report.days {
        let sum = |f: &dyn Fn(&Body) -> f64| -> f64 {
            events
                .iter()
                .filter(|e| tz.to_datetime(e.at).date() == day.date)
                .map(|e| f(&e.body))
                .sum()
        };
        let automatic = sum(&|b| match b {
            Body::AutoInsulin { milliunits, .. } => f64::from(*milliunits) / 1000.0,
            _ => 0.0,
        });
        let bolus = sum(&|b| match b {
            Body::Bolus {
                immediate_milliunits,
                ..
            } => f64::from(*immediate_milliunits) / 1000.0,
            _ => 0.0,
        });
        // The one manual stretch (day 6 from 14:00) runs on the 0.8 U/h step: 10 h.
        let manual_basal = if day.date == start.checked_add(5.days()).expect("date") {
            8.0
        } else {
            0.0
        };
        println!(
            "  {}  {:>6.2} + {:>6.2} + {:>5.2} = {:>6.2}   rule {:>6.2}",
            day.date,
            day.automatic_units,
            day.bolus_units,
            day.basal_units,
            day.automatic_units + day.bolus_units + day.basal_units,
            automatic + bolus + manual_basal
        );
    }
    println!(
        "  average: total daily dose {:?} U, automatic {:?} %, basal {:?} %, bolus {:?} %",
        report.insulin.total_daily_dose,
        report.insulin.automatic_percent,
        report.insulin.basal_percent,
        report.insulin.bolus_percent
    );
}
