//! The clinic's triage list on 1,000 linked patients: `cargo bench -p glucolink-tests --bench triage`.
//!
//! Builds, through the domain on the embedded store, a clinic with 1,000 records, each linked (code and
//! accept) to its own personal account with 15 days of synthetic CGM and pump or pen data (uploads that
//! keep each person's summary), then times HTTP requests to the local server: the first page by name,
//! the whole clinic ranked by a number, filtered by a flag, over 30 days. Prints p50/p95, the store
//! requests per page and how many of them read device data (readings): the list must read summaries
//! only. (`PATIENTS=200` builds fewer, for a quick look.)

use std::sync::Arc;
use std::time::Instant;

use glucolink_core::Ctx;
use glucolink_core::account::clinic::{self, ClinicSignUp, Staff};
use glucolink_core::account::personal::{self, PersonalSignUp};
use glucolink_core::clock::SystemClock;
use glucolink_core::data::import::{Format, Parsed, Read};
use glucolink_core::data::upload;
use glucolink_core::link::{self, CodeRef};
use glucolink_core::patient::{self, NewPatient};
use glucolink_core::store::Store;
use glucolink_store::EmbeddedStore;
use glucolink_synth::{Patient, Profile, generate};
use glucolink_tests::CountingStore;
use jiff::ToSpan;

mod support;
use support::percentile;

const ROUNDS: usize = 40;
const PROFILES: [Profile; 3] = [
    Profile::MedtronicPump,
    Profile::DexcomPens,
    Profile::LibrePens,
];

/// One linked patient with 15 days of data up to now.
async fn linked_patient(ctx: Ctx, staff: Arc<Staff>, i: usize) {
    let username = format!("bench.patient.{i:04}");
    let name = format!("Patient {i:04}");
    let date_of_birth = format!("{}-{:02}-{:02}", 1940 + i % 70, 1 + i % 12, 1 + i % 28);
    let email = format!("{username}@example.net");
    let person = personal::sign_up(
        &ctx,
        PersonalSignUp {
            username: &username,
            password: "orchard lantern quartz 88",
            name: &name,
            date_of_birth: Some(&date_of_birth),
            email: Some(&email),
            time_zone: Some("Europe/London"),
            ..PersonalSignUp::default()
        },
    )
    .await
    .expect("person");
    let record = patient::create(
        &ctx,
        (staff.clinic.id, &staff.clinic.name),
        &staff.actor(),
        NewPatient {
            name: &name,
            date_of_birth: &date_of_birth,
            mrn: None,
        },
    )
    .await
    .expect("record");
    let issued = link::generate_code(&ctx, &staff, record.id, false)
        .await
        .expect("code");
    let code = issued.code.to_string();
    link::accept(&ctx, &person, CodeRef::Typed(&code), "", false)
        .await
        .expect("accept");
    let tz = jiff::tz::TimeZone::get("Europe/London").expect("zone");
    let now = ctx.clock.now();
    let today = tz.to_datetime(now).date();
    let events: Vec<_> = generate(&Patient {
        seed: i as u64,
        profile: PROFILES[i % PROFILES.len()],
        time_zone: "Europe/London",
        start: today.checked_sub(14.days()).expect("start"),
        days: 15,
    })
    .into_iter()
    .filter(|e| e.at <= now)
    .collect();
    let rows = vec![0; events.len()];
    let parsed = Parsed::new(
        Format::Json,
        Read {
            events,
            rows,
            ..Read::default()
        },
        &tz,
    );
    upload::ingest(&ctx, &person, parsed, "bench")
        .await
        .expect("upload");
}

#[tokio::main]
async fn main() {
    let patients: usize = std::env::var("PATIENTS")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1000);
    let dir = std::env::temp_dir().join(format!("glucolink-bench-triage-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let clock = Arc::new(SystemClock);
    let embedded: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&dir.join("bench.redb"), clock.clone()).expect("store"));
    let counting = Arc::new(CountingStore::new(embedded));
    let store: Arc<dyn Store> = counting.clone();
    let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
        store.clone(),
        clock.clone(),
    ));
    let ctx = Ctx::new(store, clock, outbox);
    let password = "orchard lantern quartz 88";
    clinic::sign_up(
        &ctx,
        ClinicSignUp {
            clinic_name: "Bench Clinic",
            name: "Bench Admin",
            email: "bench@clinic.example",
            password,
            source: "",
        },
    )
    .await
    .expect("clinic");
    let admin = clinic::find_user_by_email(
        &ctx,
        &glucolink_core::account::Email::parse("bench@clinic.example").expect("email"),
    )
    .await
    .expect("find")
    .expect("admin");
    let staff = Arc::new(
        Staff::load(&ctx, admin.clinic_id, admin.id)
            .await
            .expect("staff"),
    );
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..patients {
        if tasks.len() >= 4 {
            tasks.join_next().await.expect("task").expect("patient");
        }
        tasks.spawn(linked_patient(ctx.clone(), staff.clone(), i));
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("patient");
    }
    println!(
        "built {patients} linked patients with 15 days each in {:.1} s (sign-up, record, code, accept, upload)",
        started.elapsed().as_secs_f64()
    );

    let base = support::serve(ctx).await;
    let (client, token) = support::client(&base).await;
    support::clinic_sign_in(&client, &base, &token, "bench@clinic.example", password).await;
    println!(
        "triage list of {patients} linked patients ({ROUNDS} requests each, sequential, local server)"
    );
    for (label, query) in [
        ("first page by name (50)", ""),
        ("ranked by time below 54 (all)", "?sort=very_low"),
        ("ranked by time in range (all)", "?sort=in_range"),
        ("flag time_below_70", "?flag=time_below_70"),
        ("ranked by CV, 30 days", "?sort=cv&period_days=30"),
        ("second page ranked by GMI", "?sort=gmi&cursor=r50"),
    ] {
        let mut samples = Vec::with_capacity(ROUNDS);
        let (mut requests, mut data_reads, mut rows) = (0, 0, 0);
        for _ in 0..ROUNDS {
            let (before, data_before) = (counting.requests(), counting.data_reads());
            let started = Instant::now();
            let response = client
                .get(format!("{base}/api/clinic/patients{query}"))
                .send()
                .await
                .expect("list");
            assert_eq!(response.status().as_u16(), 200);
            let body: serde_json::Value = response.json().await.expect("json");
            samples.push(started.elapsed());
            requests += counting.requests() - before;
            data_reads += counting.data_reads() - data_before;
            rows += body["patients"].as_array().map_or(0, Vec::len);
        }
        samples.sort_unstable();
        println!(
            "{label:<32} p50={:>7.2} ms  p95={:>7.2} ms  rows={:>4.0}  store requests/page={:>5.1}  of them reading device data={:.1}",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95),
            rows as f64 / ROUNDS as f64,
            requests as f64 / ROUNDS as f64,
            data_reads as f64 / ROUNDS as f64,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
