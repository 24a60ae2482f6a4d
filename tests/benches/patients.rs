//! Patient list and search on a clinic with 10,000 records: `cargo bench -p glucolink-tests --bench patients`.
//!
//! Builds the records through the domain on the embedded store, then times HTTP requests to the local
//! server (list page, search by name prefix, MRN and date of birth) and counts the store requests each
//! one makes, through a counting wrapper around the store. Prints p50/p95 and requests per page.

use std::sync::Arc;
use std::time::Instant;

use glucolink_core::Ctx;
use glucolink_core::account::clinic::{self, ClinicSignUp, Staff};
use glucolink_core::clock::SystemClock;
use glucolink_core::patient::{self, NewPatient};
use glucolink_core::store::Store;
use glucolink_store::EmbeddedStore;
use glucolink_tests::CountingStore;

mod support;
use support::percentile;

const RECORDS: usize = 10_000;

/// The query string of the i-th request of a case.
type QueryFor = Box<dyn Fn(usize) -> String>;
const ROUNDS: usize = 200;

const FIRST: [&str; 20] = [
    "Ana", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena",
    "Milo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tara",
];
const LAST: [&str; 25] = [
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka",
    "Umar", "Varga", "Weber", "Xu", "Young",
];

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("glucolink-bench-patients-{}", ulid::Ulid::new()));
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
    let staff = Staff::load(&ctx, admin.clinic_id, admin.id)
        .await
        .expect("staff");
    let started = Instant::now();
    for i in 0..RECORDS {
        let name = format!(
            "{} {}-{}",
            FIRST[i % FIRST.len()],
            LAST[(i / FIRST.len()) % LAST.len()],
            i / 500
        );
        let dob = format!("{}-{:02}-{:02}", 1940 + i % 70, 1 + i % 12, 1 + i % 28);
        let mrn = format!("MRN-{i:05}");
        patient::create(
            &ctx,
            (staff.clinic.id, &staff.clinic.name),
            &staff.actor(),
            NewPatient {
                name: &name,
                date_of_birth: &dob,
                mrn: Some(&mrn),
            },
        )
        .await
        .expect("create");
    }
    let build = started.elapsed();
    println!(
        "built {RECORDS} patient records in {:.1} s ({:.0} records/s, one transaction each)",
        build.as_secs_f64(),
        RECORDS as f64 / build.as_secs_f64()
    );

    let base = support::serve(ctx).await;
    let (client, token) = support::client(&base).await;
    support::clinic_sign_in(&client, &base, &token, "bench@clinic.example", password).await;

    println!(
        "patient list and search on {RECORDS} records ({ROUNDS} requests each, sequential, local server)"
    );
    let cases: Vec<(&str, QueryFor)> = vec![
        ("list, first page (50)", Box::new(|_| String::new())),
        (
            "search name prefix (3 letters)",
            Box::new(|i| format!("?q={}", &FIRST[i % FIRST.len()][..3])),
        ),
        (
            "search last name word",
            Box::new(|i| format!("?q={}", LAST[i % LAST.len()])),
        ),
        (
            "search MRN",
            Box::new(|i| format!("?q=MRN-{:05}", (i * 37) % RECORDS)),
        ),
        (
            "search date of birth",
            Box::new(|i| format!("?q={}-{:02}-{:02}", 1940 + i % 70, 1 + i % 12, 1 + i % 28)),
        ),
    ];
    for (label, query) in cases {
        let mut samples = Vec::with_capacity(ROUNDS);
        let mut requests = 0;
        let mut rows = 0;
        for i in 0..ROUNDS {
            let before = counting.requests();
            let started = Instant::now();
            let response = client
                .get(format!("{base}/api/clinic/patients{}", query(i)))
                .send()
                .await
                .expect("list");
            assert_eq!(response.status().as_u16(), 200);
            let body: serde_json::Value = response.json().await.expect("json");
            samples.push(started.elapsed());
            requests += counting.requests() - before;
            rows += body["patients"].as_array().map_or(0, Vec::len);
        }
        samples.sort_unstable();
        println!(
            "{label:<32} p50={:>6.2} ms  p95={:>6.2} ms  rows/page={:>5.1}  store requests/page={:.1}",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95),
            rows as f64 / ROUNDS as f64,
            requests as f64 / ROUNDS as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
