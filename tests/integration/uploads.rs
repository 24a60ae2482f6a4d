//! Upload now through the HTTP API: our JSON and Dexcom Clarity CSV, idempotent re-uploads, rejected
//! rows with reasons, freshness for the clinic, bad files that store nothing, and concurrent uploads.

use std::sync::Arc;

use glucolink_core::Ctx;
use glucolink_core::data::event::{Body, Event};
use glucolink_core::data::store;
use glucolink_core::ids::PersonId;
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::app::{
    Browser, TestApp, assert_error, gzip, spawn_app, spawn_app_on_dynamodb, status_and_json,
};
use crate::support::people::{linked_patient, signed_in_clinic, signed_in_person};

async fn upload(
    browser: &Browser,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    browser
        .post_raw(&format!("/api/personal/uploads{query}"), content_type, body)
        .await
}

fn json_file(events: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"device": "Test Meter 1", "events": events})).expect("json")
}

/// The person's stored events on the given UTC days, read through the domain.
async fn stored_events(
    app: &TestApp,
    person: &str,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Vec<Event> {
    let store = Arc::new(app.embedded.clone().expect("embedded"));
    let clock: Arc<dyn glucolink_core::clock::Clock> = app.clock.clone();
    let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
        store.clone(),
        clock.clone(),
    ));
    let ctx = Ctx::new(store, clock, outbox);
    let person: PersonId = person.parse().expect("person id");
    store::read(&ctx, person, from, to).await.expect("read")
}

#[tokio::test]
async fn a_json_upload_stores_every_kind_and_a_second_upload_of_it_stores_nothing() {
    let app = spawn_app().await;
    let person = signed_in_person(&app.user, "uploader").await;
    let events = json!([
        {"type": "cgm", "time": "2026-11-20T08:00:00+01:00", "value": 132},
        {"type": "cgm", "time": "2026-11-20T08:05:00+01:00", "value": 7.5, "unit": "mmol/L"},
        {"type": "smbg", "time": "2026-11-20T07:55:00", "value": 110},
        {"type": "bolus", "time": "2026-11-20T07:02:00Z", "units": 4.5, "extended_units": 1.0, "extended_minutes": 60},
        {"type": "basal", "time": "2026-11-20T00:00:00Z", "rate": 0.85, "duration_minutes": 60},
        {"type": "carbs", "time": "2026-11-20T07:00:00Z", "grams": 45}
    ]);
    let response = upload(
        &app.user,
        "?tz=Europe/Paris",
        "application/json",
        json_file(events.clone()),
    )
    .await;
    let (status, summary) = status_and_json(response).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["format"], "glucolink-json");
    assert_eq!(
        (summary["accepted"].as_u64(), summary["duplicates"].as_u64()),
        (Some(6), Some(0))
    );

    let again = upload(
        &app.user,
        "?tz=Europe/Paris",
        "application/json",
        json_file(events),
    )
    .await;
    let (status, summary) = status_and_json(again).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(
        (summary["accepted"].as_u64(), summary["duplicates"].as_u64()),
        (Some(0), Some(6))
    );

    let person_id = person["person_id"].as_str().expect("id");
    let stored = stored_events(&app, person_id, date(2026, 11, 20), date(2026, 11, 20)).await;
    assert_eq!(stored.len(), 6);
    let smbg = stored
        .iter()
        .find(|e| matches!(e.body, Body::Smbg { .. }))
        .expect("smbg");
    assert_eq!(
        smbg.at,
        "2026-11-20T06:55:00Z".parse::<Timestamp>().expect("ts"),
        "local time read in Europe/Paris"
    );
    assert_eq!(smbg.utc_offset_minutes, 60);
    let mmol = stored
        .iter()
        .find(|e| e.at == "2026-11-20T07:05:00Z".parse::<Timestamp>().expect("ts"))
        .expect("cgm");
    assert_eq!(
        mmol.body,
        Body::Cgm {
            glucose_tenths_mg_dl: 1351
        },
        "7.5 mmol/L × 18.018 = 135.1 mg/dL"
    );
}

#[tokio::test]
async fn rows_that_cannot_be_used_are_reported_with_their_reason_and_the_rest_is_stored() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "partial").await;
    let events = json!([
        {"type": "cgm", "time": "2026-11-20T08:00:00Z", "value": 132},
        {"type": "cgm", "time": "2026-11-20T08:05:00Z", "value": 900},
        {"type": "ketone", "time": "2026-11-20T08:05:00Z", "value": 1},
        {"type": "cgm", "value": 120},
        {"type": "bolus", "time": "2026-11-20T08:05:00Z", "units": -1},
        {"type": "cgm", "time": "2099-01-01T00:00:00Z", "value": 100}
    ]);
    let (status, summary) =
        status_and_json(upload(&app.user, "", "application/json", json_file(events)).await).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["accepted"], 1);
    let rows: Vec<u64> = summary["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .filter_map(|r| r["row"].as_u64())
        .collect();
    assert_eq!(rows, vec![2, 3, 4, 5, 6]);
    let reasons = summary["rejected"].to_string();
    for expected in [
        "outside 20–600",
        "not cgm, smbg",
        "\\\"time\\\" is missing",
        "above 0",
        "future",
    ] {
        assert!(reasons.contains(expected), "{expected} in {reasons}");
    }
}

#[tokio::test]
async fn a_different_value_for_the_same_instant_is_a_conflict_not_a_duplicate_and_every_row_is_counted()
 {
    let app = spawn_app().await;
    let person = signed_in_person(&app.user, "conflicts").await;
    let first = json!([
        {"type": "cgm", "time": "2026-11-20T08:00:00Z", "value": 132},
        {"type": "cgm", "time": "2026-11-20T08:05:00Z", "value": 140},
        {"type": "cgm", "time": "2026-11-20T08:05:00Z", "value": 150},
        {"type": "cgm", "time": "2026-11-20T08:10:00Z", "value": 145},
        {"type": "cgm", "time": "2026-11-20T08:10:00Z", "value": 145},
        {"type": "ketone", "time": "2026-11-20T08:05:00Z", "value": 1}
    ]);
    let (status, summary) =
        status_and_json(upload(&app.user, "", "application/json", json_file(first)).await).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["accepted"], 3, "{summary}");
    assert_eq!(
        summary["duplicates"], 1,
        "the same value twice is a duplicate"
    );
    assert_eq!(summary["conflict_count"], 1);
    let conflict = &summary["conflicts"][0];
    assert_eq!(conflict["row"], 3);
    assert_eq!(conflict["kept"], "140 mg/dL");
    assert_eq!(conflict["not_kept"], "150 mg/dL");
    assert_eq!(conflict["kept_from"], "file");
    // Every item is accounted for: 4 with events, 1 conflicting, 1 rejected.
    assert_eq!(
        summary["rows"],
        json!({"total": 6, "with_events": 4, "conflicting": 1, "rejected": 1, "skipped": 0, "without_data": 0})
    );
    assert_eq!(summary["completeness"]["conflicts"], 1);
    assert_eq!(summary["devices"][0]["device"], "Test Meter 1");
    assert_eq!(summary["devices"][0]["kinds"], json!(["cgm"]));

    // A corrected value uploaded later does not replace the stored one: it is reported.
    let later = json!([{"type": "cgm", "time": "2026-11-20T08:00:00Z", "value": 133}]);
    let before = app.stored().await;
    let (status, summary) =
        status_and_json(upload(&app.user, "", "application/json", json_file(later)).await).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(
        (summary["accepted"].as_u64(), summary["duplicates"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(summary["conflicts"][0]["kept_from"], "stored");
    assert_eq!(summary["conflicts"][0]["kept"], "132 mg/dL");
    assert_eq!(summary["conflicts"][0]["row"], 1);
    let stored = stored_events(
        &app,
        person["person_id"].as_str().expect("id"),
        date(2026, 11, 20),
        date(2026, 11, 20),
    )
    .await;
    assert!(stored.iter().any(|e| e.body
        == Body::Cgm {
            glucose_tenths_mg_dl: 1320
        }));
    assert_eq!(stored.len(), 3);
    assert_ne!(app.stored().await, before, "the upload itself is recorded");
}

#[tokio::test]
async fn a_clarity_export_is_detected_and_read_in_local_time() {
    let app = spawn_app().await;
    let person = signed_in_person(&app.user, "dexcom.user").await;
    let csv = "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),Transmitter ID\r\n\
1,,FirstName,,Jordan,,,,,,,,,\r\n\
2,,Device,,,G7 Mobile App,Android G7,,,,,,,\r\n\
3,2026-07-01T08:00:00,EGV,,,,Android G7,142,,,,1.1,12345,TX1\r\n\
4,2026-07-01T08:05:00,EGV,,,,Android G7,Low,,,,,12645,TX1\r\n\
5,2026-07-01T08:10:00,EGV,,,,Android G7,High,,,,,12945,TX1\r\n\
6,2026-07-01T08:12:00,Carbs,,,,Android G7,,,40,,,,\r\n\
7,2026-07-01T08:13:00,Insulin,Fast-Acting,,,Android G7,,5.5,,,,,\r\n\
8,2026-07-01T09:00:00,Alert,High,,,Android G7,,,,,,,\r\n\
9,2026-07-01T09:05:00,EGV,,,,Android G7,abc,,,,,,TX1\r\n";
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(csv.as_bytes());
    let (status, summary) =
        status_and_json(upload(&app.user, "?tz=America/New_York", "text/csv", bytes).await).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["format"], "dexcom-clarity-csv");
    assert_eq!(summary["accepted"], 5);
    assert_eq!(
        summary["rejected"][0]["row"], 10,
        "the line of the file, header included"
    );
    let stored = stored_events(
        &app,
        person["person_id"].as_str().expect("id"),
        date(2026, 7, 1),
        date(2026, 7, 1),
    )
    .await;
    let first = &stored[0];
    assert_eq!(
        first.at,
        "2026-07-01T12:00:00Z".parse::<Timestamp>().expect("ts"),
        "EDT is UTC-4"
    );
    assert_eq!(first.utc_offset_minutes, -240);
    let values: Vec<&Body> = stored
        .iter()
        .map(|e| &e.body)
        .filter(|b| matches!(b, Body::Cgm { .. }))
        .collect();
    assert_eq!(
        values,
        vec![
            &Body::Cgm {
                glucose_tenths_mg_dl: 1420
            },
            &Body::Cgm {
                glucose_tenths_mg_dl: 390
            },
            &Body::Cgm {
                glucose_tenths_mg_dl: 4010
            }
        ]
    );
}

#[tokio::test]
async fn nightscout_treatments_with_a_type_and_percentage_temps_are_read_and_every_item_is_accounted_for()
 {
    let app = spawn_app().await;
    let person = signed_in_person(&app.user, "loop.user").await;
    let profile = json!({"defaultProfile": "Default", "startDate": "2021-01-01T00:00:00Z",
        "store": {"Default": {"timezone": "UTC", "basal": [{"time": "00:00", "value": 0.8, "timeAsSeconds": 0}]}}});
    let body = serde_json::to_vec(&json!({
        "profile": [profile],
        "treatments": [
            {"eventType": "SMB", "created_at": "2021-01-30T00:37:14+00:00", "insulin": 1.5, "type": "SMB"},
            {"eventType": "Bolus", "created_at": "2021-01-30T00:47:14Z", "insulin": 2.05, "type": "normal"},
            {"eventType": "Temp Basal", "created_at": "2021-01-30T01:00:00+00:00", "rate": 40, "duration": 30},
            {"eventType": "Site Change", "created_at": "2021-01-30T01:10:00Z"},
            {"eventType": "Meal Bolus", "created_at": "2021-01-30T01:20:00Z", "insulin": 500}
        ]
    }))
    .expect("json");
    let (status, summary) =
        status_and_json(upload(&app.user, "", "application/json", body).await).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["format"], "nightscout-json");
    assert_eq!(summary["rejected_count"], 1, "{summary}");
    assert_eq!(summary["rejected"][0]["item"], "treatments[4]");
    assert_eq!(summary["skipped"][0]["count"], 1, "{summary}");
    let events = stored_events(
        &app,
        person["person_id"].as_str().expect("id"),
        date(2021, 1, 30),
        date(2021, 1, 30),
    )
    .await;
    let boluses: Vec<(u32, bool)> = events
        .iter()
        .filter_map(|e| match e.body {
            Body::Bolus {
                immediate_milliunits,
                automatic,
                ..
            } => Some((immediate_milliunits, automatic)),
            _ => None,
        })
        .collect();
    assert_eq!(boluses, vec![(1500, true), (2050, false)]);
    assert!(
        events.iter().any(|e| matches!(
            e.body,
            Body::Basal {
                rate_milliunits_per_hour: 320,
                duration_seconds: 1800,
                ..
            }
        )),
        "40 % of 0.8 U/h"
    );
}

#[tokio::test]
async fn after_an_upload_the_clinic_sees_fresh_data() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "fresh.upload").await;
    let now = app.clock_now();
    let events = json!([{"type": "cgm", "time": now.to_string(), "value": 120}]);
    let response = upload(&linked.patient, "", "application/json", json_file(events)).await;
    assert_eq!(response.status().as_u16(), 201);
    let (_, list) = status_and_json(linked.clinic.get("/api/clinic/patients").await).await;
    let row = &list["patients"][0];
    assert_eq!(row["freshness"], "recent");
    assert!(row["last_upload_at"].is_string());
}

#[tokio::test]
async fn bad_uploads_get_clear_errors_and_store_nothing() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "bad.files").await;
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("", "application/json", Vec::new(), 400, "empty_file"),
        (
            "",
            "text/csv",
            b"just,some,text\n1,2,3\n".to_vec(),
            400,
            "unknown_format",
        ),
        (
            "?format=fax",
            "application/json",
            b"{}".to_vec(),
            400,
            "unknown_format",
        ),
        (
            "?tz=Mars/Olympus",
            "application/json",
            json_file(json!([])),
            400,
            "invalid_tz",
        ),
        (
            "",
            "application/json",
            b"[1, 2".to_vec(),
            400,
            "invalid_json_upload",
        ),
        (
            "",
            "application/json",
            b"{\"events\": 5}".to_vec(),
            400,
            "invalid_json_upload",
        ),
        (
            "",
            "application/json",
            json_file(json!([])),
            400,
            "no_events",
        ),
        (
            "",
            "application/json",
            json_file(json!([{"type": "cgm", "time": "soon", "value": 1}])),
            400,
            "no_events",
        ),
        (
            "?format=clarity",
            "text/csv",
            b"no header here\n".to_vec(),
            400,
            "invalid_clarity_csv",
        ),
        // An offset no place uses.
        (
            "",
            "application/json",
            json_file(json!([{"type": "cgm", "time": "2026-11-20T08:00:00+25:00", "value": 120}])),
            400,
            "no_events",
        ),
        (
            "",
            "application/json",
            br#"[{"eventType":"Meal Bolus","created_at":"2026-11-20T08:00:00+1500","insulin":2}]"#.to_vec(),
            400,
            "no_events",
        ),
        // A percentage temporary basal without the profile it scales: refused, not stored as U/h.
        (
            "",
            "application/json",
            br#"[{"eventType":"Temp Basal","created_at":"2021-01-30T01:00:00+00:00","rate":40,"duration":30}]"#.to_vec(),
            400,
            "no_events",
        ),
        (
            "?format=nightscout",
            "application/json",
            br#"{"entries": 5}"#.to_vec(),
            400,
            "no_events",
        ),
    ];
    for (query, content_type, body, status, code) in cases {
        let before = app.stored().await;
        assert_error(
            upload(&app.user, query, content_type, body).await,
            status,
            code,
        )
        .await;
        assert_eq!(app.stored().await, before, "{code} changed the store");
    }
    let before = app.stored().await;
    let huge = vec![b' '; 10 * 1024 * 1024 + 1];
    assert_error(
        upload(&app.user, "", "text/csv", huge).await,
        413,
        "body_too_large",
    )
    .await;
    assert_eq!(app.stored().await, before);
    let clinic = app.browser();
    signed_in_clinic(&clinic, "not.uploader@clinic.example").await;
    assert_error(
        upload(&clinic, "", "application/json", json_file(json!([]))).await,
        403,
        "forbidden",
    )
    .await;
}

/// 200 readings of one day in four parts, one per upload.
fn day_in_parts() -> Vec<Vec<Value>> {
    (0..4)
        .map(|part| {
            (0..50)
                .map(|i| {
                    let minute = part * 50 + i;
                    json!({"type": "cgm", "time": format!("2026-11-20T{:02}:{:02}:{:02}Z", minute / 60, minute % 60, part), "value": 100 + i})
                })
                .collect()
        })
        .collect()
}

/// Four uploads of the same day at once: every reading is stored once; uploading them all again
/// stores nothing.
async fn concurrent_uploads_to_the_same_day_lose_nothing(app: &TestApp) -> String {
    let person = signed_in_person(&app.user, "busy.uploader").await;
    let session = app.user.cookie("session").expect("session");
    let mut tasks = Vec::new();
    for events in day_in_parts() {
        let browser = Browser::new(&app.base);
        browser.set_cookie("session", &session);
        tasks.push(tokio::spawn(async move {
            let response = upload(
                &browser,
                "",
                "application/json",
                json_file(Value::Array(events)),
            )
            .await;
            status_and_json(response).await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let (status, summary) = task.await.expect("task");
        assert_eq!(status, 201, "{summary}");
        accepted += summary["accepted"].as_u64().expect("accepted");
    }
    assert_eq!(accepted, 200);
    let all: Vec<Value> = day_in_parts().into_iter().flatten().collect();
    let (status, summary) = status_and_json(
        upload(
            &app.user,
            "",
            "application/json",
            json_file(Value::Array(all)),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(
        (summary["accepted"].as_u64(), summary["duplicates"].as_u64()),
        (Some(0), Some(200))
    );
    person["person_id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_to_the_same_day_lose_nothing_on_the_embedded_store() {
    let app = spawn_app().await;
    let person = concurrent_uploads_to_the_same_day_lose_nothing(&app).await;
    let stored = stored_events(&app, &person, date(2026, 11, 20), date(2026, 11, 20)).await;
    assert_eq!(stored.len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_to_the_same_day_lose_nothing_on_dynamodb() {
    concurrent_uploads_to_the_same_day_lose_nothing(&spawn_app_on_dynamodb().await).await;
}

/// 20 uploads of overlapping data at once: every one answers 201 once its data are stored (never a
/// "try again" after the fact), the events are stored once, and each upload has its audit event.
async fn parallel_overlapping_uploads_all_succeed_and_are_all_recorded(app: &TestApp) -> String {
    let person = signed_in_person(&app.user, "overlapping.uploader").await;
    let session = app.user.cookie("session").expect("session");
    let all: Vec<Value> = day_in_parts().into_iter().flatten().collect();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let browser = Browser::new(&app.base);
        browser.set_cookie("session", &session);
        let file = json_file(Value::Array(all.clone()));
        tasks.push(tokio::spawn(async move {
            status_and_json(upload(&browser, "", "application/json", file).await).await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let (status, summary) = task.await.expect("task");
        assert_eq!(status, 201, "{summary}");
        accepted += summary["accepted"].as_u64().expect("accepted");
    }
    assert_eq!(accepted, 200, "each reading stored once");
    let (_, log) = status_and_json(app.user.get("/api/personal/audit").await).await;
    let uploads = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "data_uploaded")
        .count();
    assert_eq!(uploads, 20, "one audit event per upload");
    person["person_id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_overlapping_uploads_all_succeed_and_are_all_recorded_on_the_embedded_store() {
    let app = spawn_app().await;
    let person = parallel_overlapping_uploads_all_succeed_and_are_all_recorded(&app).await;
    // The clinic's freshness: the newest reading is the newest of all the uploads.
    let person_id: glucolink_core::ids::PersonId = person.parse().expect("id");
    let store = Arc::new(app.embedded.clone().expect("embedded"));
    let clock: Arc<dyn glucolink_core::clock::Clock> = app.clock.clone();
    let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
        store.clone(),
        clock.clone(),
    ));
    let times = glucolink_core::patient::data_times(&Ctx::new(store, clock, outbox), &[person_id])
        .await
        .expect("times");
    assert_eq!(
        times[&person_id].last_reading_at,
        Some("2026-11-20T03:19:03Z".parse().expect("ts"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_overlapping_uploads_all_succeed_and_are_all_recorded_on_dynamodb() {
    parallel_overlapping_uploads_all_succeed_and_are_all_recorded(&spawn_app_on_dynamodb().await)
        .await;
}

#[tokio::test]
async fn an_upload_interrupted_mid_way_is_repaired_by_the_next_one() {
    use glucolink_core::store::{Condition, Item};
    let app = spawn_app().await;
    let person = signed_in_person(&app.user, "crashed.upload").await;
    let person_id: glucolink_core::ids::PersonId = person["person_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("id");
    // What a process killed mid-upload leaves: a started record (and possibly part of the data).
    let started = app.clock_now();
    let store = app.embedded.as_ref().expect("embedded store");
    glucolink_core::store::Store::put(
        store,
        Item::new(glucolink_core::keys::upload(person_id, ulid::Ulid::new()))
            .with_s("status", "started")
            .with_s("format", "glucolink-json")
            .with_n("at", started.as_millisecond())
            .with_n("newest_reading_at", started.as_millisecond() - 60_000),
        Condition::NotExists,
    )
    .await
    .expect("put");
    app.advance(SignedDuration::from_mins(20));
    let later = json!([{"type": "cgm", "time": "2026-11-20T08:00:00Z", "value": 120}]);
    let (status, _) =
        status_and_json(upload(&app.user, "", "application/json", json_file(later)).await).await;
    assert_eq!(status, 201);
    let log = status_and_json(app.user.get("/api/personal/audit").await)
        .await
        .1;
    let actions: Vec<&str> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"data_upload_interrupted"), "{actions:?}");
    let statuses: Vec<String> = app
        .stored()
        .await
        .into_iter()
        .filter(|i| i.key.sk.starts_with("UPLOAD#"))
        .filter_map(|i| i.s("status").map(str::to_owned))
        .collect();
    assert!(statuses.contains(&"interrupted".to_owned()), "{statuses:?}");
    assert!(!statuses.contains(&"started".to_owned()), "{statuses:?}");
}

#[tokio::test]
async fn a_file_too_dense_to_store_is_refused_whole() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "dense.file").await;
    // A reading every second for a day, and another day of normal data first in the file.
    let mut events: Vec<Value> = (0..288)
        .map(|i| json!({"type": "cgm", "time": format!("2026-11-19T{:02}:{:02}:00Z", i * 5 / 60, i * 5 % 60), "value": 120}))
        .collect();
    events.extend((0..86_400).map(|s| json!({"type": "cgm", "time": format!("2026-11-20T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60), "value": 40 + s * 37 % 360})));
    let before = app.stored().await;
    let response = upload(
        &app.user,
        "",
        "application/json",
        json_file(Value::Array(events)),
    )
    .await;
    assert_error(response, 400, "too_dense").await;
    assert_eq!(
        app.stored().await,
        before,
        "nothing stored, no upload record"
    );
}

/// A format, its content type, the file, and the (accepted, duplicates) expected if exact.
type ExportCase = (&'static str, &'static str, Vec<u8>, Option<(usize, usize)>);

#[tokio::test]
async fn every_supported_export_of_the_same_synthetic_weeks_is_detected_and_stored() {
    use glucolink_synth::{Patient, Profile, export, generate};
    let app = spawn_app().await;
    signed_in_person(&app.user, "all.formats").await;
    let weeks = |seed, profile| Patient {
        seed,
        profile,
        time_zone: "Europe/London",
        start: date(2026, 9, 1),
        days: 14,
    };
    let pump = generate(&weeks(3, Profile::MedtronicPump));
    let libre = generate(&weeks(4, Profile::LibrePens));
    // (format, file, new events expected, duplicates expected). The CareLink export holds the same
    // events as the JSON uploaded before it, so it stores nothing: overlapping exports never count twice.
    let files: Vec<ExportCase> = vec![
        (
            "glucolink-json",
            "application/json",
            export::to_json(&pump),
            Some((pump.len(), 0)),
        ),
        (
            "medtronic-carelink-csv",
            "text/csv",
            export::to_carelink_csv(&pump).into_bytes(),
            Some((0, pump.len())),
        ),
        (
            "nightscout-json",
            "application/json",
            export::to_nightscout_json(&pump),
            None,
        ),
        (
            "abbott-libreview-csv",
            "text/csv",
            export::to_libreview_csv(&libre).into_bytes(),
            Some((libre.len(), 0)),
        ),
        (
            "dexcom-clarity-csv",
            "text/csv",
            export::to_clarity_csv(&libre).into_bytes(),
            None,
        ),
    ];
    for (format, content_type, body, expected) in files {
        let response = upload(&app.user, "?tz=Europe/London", content_type, body).await;
        let (status, summary) = status_and_json(response).await;
        assert_eq!(status, 201, "{format}: {summary}");
        assert_eq!(summary["format"], format);
        assert_eq!(summary["rejected_count"], 0, "{format}: {summary}");
        match expected {
            Some((accepted, duplicates)) => {
                assert_eq!(
                    summary["accepted"].as_u64(),
                    Some(accepted as u64),
                    "{format}"
                );
                assert_eq!(
                    summary["duplicates"].as_u64(),
                    Some(duplicates as u64),
                    "{format}"
                );
            }
            None => assert!(
                summary["accepted"].as_u64().is_some_and(|n| n > 0),
                "{format}: {summary}"
            ),
        }
    }
}

#[tokio::test]
async fn an_upload_token_uploads_without_a_session_and_stops_working_when_revoked() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "token.owner").await;
    let (status, created) = status_and_json(
        app.user
            .post(
                "/api/personal/upload-tokens",
                &json!({"name": "Laptop uploader"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("glk_"));
    let (_, listed) = status_and_json(app.user.get("/api/personal/upload-tokens").await).await;
    assert_eq!(listed["tokens"][0]["name"], "Laptop uploader");
    assert!(
        !listed.to_string().contains(&token),
        "the secret is shown once only"
    );
    assert!(
        !app.stored()
            .await
            .iter()
            .any(|item| format!("{item:?}").contains(&token)),
        "stored hashed"
    );

    // A program with the token, no cookies and no CSRF token.
    let client = reqwest::Client::new();
    let events = json!([{"type": "smbg", "time": "2026-11-20T07:55:00Z", "value": 110}]);
    let response = client
        .post(format!("{}/api/personal/uploads", app.base))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(json_file(events.clone()))
        .send()
        .await
        .expect("send");
    let (status, summary) = status_and_json(response).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["accepted"], 1);

    let before = app.stored().await;
    for bad in ["glk_forged", "not-even-a-token", &format!("{token}x")] {
        let response = client
            .post(format!("{}/api/personal/uploads", app.base))
            .bearer_auth(bad)
            .header("Content-Type", "application/json")
            .body(json_file(events.clone()))
            .send()
            .await
            .expect("send");
        assert_error(response, 401, "unauthenticated").await;
    }
    assert_eq!(app.stored().await, before);

    let token_id = created["token_id"].as_str().expect("id");
    let response = app
        .user
        .send(
            reqwest::Method::DELETE,
            &format!("/api/personal/upload-tokens/{token_id}"),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let response = client
        .post(format!("{}/api/personal/uploads", app.base))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(json_file(events))
        .send()
        .await
        .expect("send");
    assert_error(response, 401, "unauthenticated").await;
    assert_error(
        app.user
            .post("/api/personal/upload-tokens", &json!({"name": ""}))
            .await,
        400,
        "invalid_token_name",
    )
    .await;
    let other_route = client
        .post(format!("{}/api/personal/upload-tokens", app.base))
        .bearer_auth(&token)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("send");
    assert_error(other_route, 403, "csrf").await;
}

#[tokio::test]
async fn the_glucolink_upload_command_sends_a_file_with_a_token() {
    use glucolink_local::uploader::{UploadRequest, upload_file};
    let app = spawn_app().await;
    signed_in_person(&app.user, "cli.user").await;
    let (_, created) = status_and_json(
        app.user
            .post("/api/personal/upload-tokens", &json!({"name": "CLI"}))
            .await,
    )
    .await;
    let token = created["token"].as_str().expect("token").to_owned();
    let path = crate::support::stores::temp_dir("cli").join("readings.json");
    std::fs::write(
        &path,
        json_file(json!([{"type": "cgm", "time": "2026-11-20T08:00:00", "value": 101}])),
    )
    .expect("write");
    let request = |site, token| UploadRequest {
        site,
        token,
        file: &path,
        tz: Some("Europe/Paris"),
        format: None,
    };
    let summary = upload_file(request(&app.base, &token))
        .await
        .expect("uploaded");
    assert_eq!(summary["accepted"], 1);
    let refused = upload_file(request(&app.base, "glk_wrong"))
        .await
        .expect_err("refused");
    assert!(
        refused.contains("401") && refused.contains("sign in"),
        "{refused}"
    );
    let unreachable = upload_file(request("not a url", &token))
        .await
        .expect_err("bad url");
    assert!(unreachable.contains("not a site address"), "{unreachable}");
}

#[tokio::test]
async fn local_times_are_read_in_the_profile_time_zone_unless_the_upload_names_one() {
    let app = spawn_app().await;
    let mut body = crate::support::people::personal_sign_up("zoned");
    body["time_zone"] = json!("America/New_York");
    let (status, person) =
        status_and_json(app.user.post("/api/personal/signup", &body).await).await;
    assert_eq!(status, 201, "{person}");
    assert_eq!(person["time_zone"], "America/New_York");
    let events = json!([{"type": "cgm", "time": "2026-07-01T08:00:00", "value": 100}]);
    assert_eq!(
        upload(&app.user, "", "application/json", json_file(events))
            .await
            .status()
            .as_u16(),
        201
    );
    let stored = stored_events(
        &app,
        person["person_id"].as_str().expect("id"),
        date(2026, 7, 1),
        date(2026, 7, 1),
    )
    .await;
    assert_eq!(
        stored[0].at,
        "2026-07-01T12:00:00Z".parse::<Timestamp>().expect("ts"),
        "EDT, from the profile"
    );

    let response = app
        .user
        .send(
            reqwest::Method::PUT,
            "/api/personal/profile",
            Some(&json!({"time_zone": "Asia/Tokyo"})),
        )
        .await;
    let (status, updated) = status_and_json(response).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["time_zone"], "Asia/Tokyo");
    let before = app.stored().await;
    let response = app
        .user
        .send(
            reqwest::Method::PUT,
            "/api/personal/profile",
            Some(&json!({"time_zone": "Mars/Olympus"})),
        )
        .await;
    assert_error(response, 400, "invalid_time_zone").await;
    let response = app
        .user
        .send(
            reqwest::Method::PUT,
            "/api/personal/profile",
            Some(&json!({"tz": "UTC"})),
        )
        .await;
    assert_error(response, 400, "unknown_field").await;
    assert_eq!(app.stored().await, before);
    let mut bad = crate::support::people::personal_sign_up("zoned.bad");
    bad["time_zone"] = json!("Nowhere/City");
    assert_error(
        app.browser().post("/api/personal/signup", &bad).await,
        400,
        "invalid_time_zone",
    )
    .await;
}

#[tokio::test]
async fn ninety_days_of_a_carelink_export_upload_in_one_go() {
    use glucolink_synth::{Patient, Profile, export, generate};
    let app = spawn_app().await;
    signed_in_person(&app.user, "ninety.days").await;
    let events = generate(&Patient {
        seed: 9,
        profile: Profile::MedtronicPump,
        time_zone: "Europe/London",
        start: date(2026, 8, 1),
        days: 90,
    });
    let file = export::to_carelink_csv(&events);
    assert!(file.len() < 10 * 1024 * 1024, "{} bytes", file.len());
    let (status, summary) = status_and_json(
        upload(
            &app.user,
            "?tz=Europe/London",
            "text/csv",
            file.into_bytes(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["accepted"].as_u64(), Some(events.len() as u64));
    assert_eq!(summary["rejected_count"], 0);
}

async fn upload_encoded(browser: &Browser, encoding: &str, body: Vec<u8>) -> reqwest::Response {
    browser
        .post_encoded(
            "/api/personal/uploads?tz=Europe/London",
            "text/csv",
            encoding,
            body,
        )
        .await
}

#[tokio::test]
async fn a_gzip_compressed_upload_is_the_same_file_and_bad_encodings_store_nothing() {
    use glucolink_synth::{Patient, Profile, export, generate};
    let app = spawn_app().await;
    signed_in_person(&app.user, "gzip.files").await;
    let events = generate(&Patient {
        seed: 21,
        profile: Profile::MedtronicPump,
        time_zone: "Europe/London",
        start: date(2026, 9, 1),
        days: 7,
    });
    let file = export::to_carelink_csv(&events).into_bytes();
    let before = app.stored().await;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("gzip", b"not gzip at all".to_vec(), 400, "invalid_encoding"),
        ("gzip", gzip(&file)[..200].to_vec(), 400, "invalid_encoding"),
        ("br", file.clone(), 415, "unsupported_encoding"),
        // 11 MiB of zeros compress to about 11 KB: the inflated size is what counts.
        (
            "gzip",
            gzip(&vec![b'0'; 11 * 1024 * 1024]),
            413,
            "body_too_large",
        ),
    ];
    for (encoding, body, status, code) in cases {
        let message = assert_error(
            upload_encoded(&app.user, encoding, body).await,
            status,
            code,
        )
        .await;
        assert!(!message.contains("bytes"), "said in words: {message}");
    }
    assert_eq!(app.stored().await, before, "refused uploads store nothing");

    let compressed = gzip(&file);
    assert!(
        compressed.len() * 5 < file.len(),
        "an export compresses well"
    );
    let (status, first) =
        status_and_json(upload_encoded(&app.user, "gzip", compressed).await).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["format"], "medtronic-carelink-csv");
    assert_eq!(
        first["accepted"].as_u64(),
        Some(events.len() as u64),
        "{first}"
    );
    // The same file sent as it is: the same file, nothing stored twice.
    let (status, second) =
        status_and_json(upload(&app.user, "?tz=Europe/London", "text/csv", file).await).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["accepted"], 0, "{second}");
    assert_eq!(
        second["duplicates"].as_u64(),
        Some(events.len() as u64),
        "{second}"
    );
}
