//! Exports through the HTTP API: the patient list as CSV with the list's numbers, a patient's data as
//! glucolink JSON (which uploads again) and CSV, and the batch print of overview pages as one PDF;
//! every bad request refused with nothing stored.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::app::{Browser, assert_error, spawn_app, status_and_json};
use crate::support::pdf;
use crate::support::people::{
    create_patient, link_new_patient, signed_in_clinic, signed_in_person,
};

fn readings(now: Timestamp, days: i64, value: impl Fn(i64) -> i64) -> Vec<Value> {
    let start = now - SignedDuration::from_hours(24 * days);
    (0..days * 288)
        .map(|i| {
            let at = start + SignedDuration::from_mins(5 * i);
            json!({"type": "cgm", "time": at.to_string(), "value": value(i)})
        })
        .collect()
}

async fn upload(patient: &Browser, events: Value) -> Value {
    let body = serde_json::to_vec(&events).expect("json");
    let (status, answer) = status_and_json(
        patient
            .post_raw("/api/personal/uploads?tz=UTC", "application/json", body)
            .await,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    answer
}

async fn download(browser: &Browser, path: &str, content_type: &str) -> Vec<u8> {
    let response = browser.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with(content_type), "{path}");
    assert!(header("content-disposition").starts_with("attachment; filename=\"glucolink-"));
    response.bytes().await.expect("body").to_vec()
}

#[tokio::test]
async fn the_patient_list_exports_as_csv_with_the_lists_numbers() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "export.list@clinic.example").await;
    let (patient, _, _) = link_new_patient(
        &app,
        &clinic,
        "export.list",
        "Lee Listed",
        "1977-07-07",
        Some("UTC"),
    )
    .await;
    upload(
        &patient,
        json!({"device": "CSV Sensor", "events": readings(now, 14, |i| if i % 20 == 0 { 50 } else { 140 })}),
    )
    .await;
    create_patient(&clinic, "=cmd|' /C calc'!A0", "1980-01-01", None).await;
    let (_, list) = status_and_json(clinic.get("/api/clinic/patients?sort=very_low").await).await;
    let csv = String::from_utf8(
        download(
            &clinic,
            "/api/clinic/patients/export.csv?sort=very_low",
            "text/csv",
        )
        .await,
    )
    .expect("utf-8");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("name,date_of_birth,mrn,link_status,"));
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(cells[0], "Lee Listed", "the ranked order: numbers first");
    let summary = &list["patients"][0]["summary"];
    let in_range = summary["time_in_ranges"]["in_range"]
        .as_f64()
        .expect("in range");
    assert_eq!(cells[11], format!("{in_range:.1}"), "the list's number");
    assert_eq!(cells[21], "time_below_54;time_below_70");
    // The unlinked record: no numbers (empty, never 0), and its name cannot run as a formula.
    assert!(lines[2].starts_with("'=cmd|"), "{}", lines[2]);
    assert!(
        lines[2].contains(",not_linked,,,none,,,,,,,,,,,,,,,,"),
        "{}",
        lines[2]
    );
    let (_, audit) =
        status_and_json(clinic.get("/api/clinic/audit?action=data_exported").await).await;
    assert!(
        audit["events"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("exported the patient list (2 records")
    );
    assert_error(
        clinic
            .get("/api/clinic/patients/export.csv?sort=mean")
            .await,
        400,
        "invalid_sort",
    )
    .await;
}

#[tokio::test]
async fn a_patients_data_exports_as_json_that_uploads_again_and_as_csv() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "export.data@clinic.example").await;
    let (patient, patient_id, _) = link_new_patient(
        &app,
        &clinic,
        "export.data",
        "Dee Data",
        "1966-06-06",
        Some("UTC"),
    )
    .await;
    let mut events = readings(now, 3, |i| 100 + i % 50);
    events.push(json!({"type": "bolus", "time": (now - SignedDuration::from_hours(5)).to_string(), "units": 4.5}));
    events.push(json!({"type": "carbs", "time": (now - SignedDuration::from_hours(5)).to_string(), "grams": 40}));
    let file = json!({"device": "Export Pump", "events": events});
    let stored = upload(&patient, file.clone()).await;
    let accepted = stored["accepted"].as_u64().expect("accepted");
    let first_upload = stored["upload_id"].as_str().expect("upload_id").to_owned();
    // The same file again stores nothing new: every event keeps the upload that first brought it.
    let again = upload(&patient, file).await;
    assert_eq!(again["accepted"], 0);
    let path = format!("/api/clinic/patients/{patient_id}/data");
    let exported: Value =
        serde_json::from_slice(&download(&clinic, &path, "application/json").await).expect("json");
    assert_eq!(exported["format"], "glucolink-json");
    assert_eq!(exported["patient"]["name"], "Dee Data");
    assert_eq!(
        exported["events"].as_array().map(Vec::len),
        Some(accepted as usize)
    );
    assert_eq!(exported["uploads"][0]["format"], "glucolink-json");
    assert_eq!(exported["uploads"][0]["accepted"], accepted);
    assert_eq!(exported["uploads"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        exported["uploads"][0]["sha256"].as_str().map(str::len),
        Some(64)
    );
    assert!(
        exported["events"]
            .as_array()
            .is_some_and(|e| e.iter().all(|e| e["upload_id"] == first_upload.as_str())),
        "each event names the upload (file) it came in"
    );
    let bolus = exported["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "bolus"))
        .expect("bolus");
    assert_eq!(
        (bolus["units"].as_f64(), &bolus["device"]),
        (Some(4.5), &json!("Export Pump"))
    );
    assert!(
        bolus["time"]
            .as_str()
            .is_some_and(|t| t.ends_with("+00:00"))
    );
    // The export uploads again, whole, into another account.
    let other = app.browser();
    signed_in_person(&other, "export.again").await;
    let again = upload(&other, exported.clone()).await;
    assert_eq!(again["accepted"], accepted);
    assert_eq!(again["rejected_count"], 0);
    // CSV: a header and a row an event.
    let csv = String::from_utf8(download(&clinic, &format!("{path}?format=csv"), "text/csv").await)
        .expect("utf-8");
    assert_eq!(csv.lines().count(), accepted as usize + 1);
    assert!(
        csv.lines().any(|l| l.contains(",Export Pump,bolus,,4.5,")),
        "{csv:.400}"
    );
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.contains(&format!(",{first_upload},glucolink-json,"))),
        "{csv:.400}"
    );
    // A window of days.
    let today = jiff::tz::TimeZone::UTC.to_datetime(now).date();
    let windowed: Value = serde_json::from_slice(
        &download(
            &clinic,
            &format!("{path}?from={today}&to={today}"),
            "application/json",
        )
        .await,
    )
    .expect("json");
    assert!(windowed["events"].as_array().map(Vec::len) < Some(accepted as usize));

    let unlinked = create_patient(&clinic, "Una Unlinked", "1990-01-01", None).await;
    let before = app.stored_but_sessions().await;
    for (query, status, code) in [
        ("format=xml", 400, "unsupported_format"),
        ("from=2026-02-30", 400, "invalid_date"),
        ("from=2026-11-20&to=2026-11-01", 400, "invalid_period"),
        ("from=2024-01-01&to=2026-01-01", 400, "invalid_period"),
        ("colour=red", 400, "unknown_parameter"),
    ] {
        assert_error(clinic.get(&format!("{path}?{query}")).await, status, code).await;
    }
    assert_error(
        clinic
            .get(&format!("/api/clinic/patients/{unlinked}/data"))
            .await,
        409,
        "not_linked",
    )
    .await;
    assert_error(patient.get(&path).await, 403, "forbidden").await;
    assert_eq!(
        app.stored_but_sessions().await,
        before,
        "nothing stored, nothing audited"
    );
}

#[tokio::test]
async fn a_batch_print_is_one_pdf_with_each_patients_overview_or_nothing() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "export.batch@clinic.example").await;
    let mut ids = Vec::new();
    for (tag, name) in [("batch.one", "Bea Batch"), ("batch.two", "Бора Печать")] {
        let (patient, patient_id, _) =
            link_new_patient(&app, &clinic, tag, name, "1970-01-01", Some("UTC")).await;
        upload(
            &patient,
            json!({"device": "Batch Sensor", "events": readings(now, 14, |i| 90 + i % 120)}),
        )
        .await;
        ids.push(patient_id);
    }
    let response = clinic
        .post(
            "/api/clinic/reports/batch",
            &json!({"patient_ids": [ids[1], ids[0]], "period_days": 14}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let pages = pdf::pages(&response.bytes().await.expect("pdf"));
    assert_eq!(pages.len(), 2, "one overview page each");
    assert!(pages[0].contains("Бора Печать") && pages[0].contains("Glucose overview"));
    assert!(pages[1].contains("Bea Batch"));
    for page in &pages {
        assert!(page.contains("adjunct"), "every page carries the notice");
    }
    let (_, audit) =
        status_and_json(clinic.get("/api/clinic/audit?action=report_viewed").await).await;
    assert_eq!(
        audit["events"].as_array().map(Vec::len),
        Some(2),
        "a line for each patient"
    );

    let unlinked = create_patient(&clinic, "Nia Notlinked", "1990-01-01", None).await;
    let before = app.stored_but_sessions().await;
    let many: Vec<String> = (0..51).map(|_| ids[0].clone()).collect();
    for (body, status, code) in [
        (json!({"patient_ids": []}), 400, "invalid_patient_ids"),
        (json!({"patient_ids": many}), 400, "invalid_patient_ids"),
        (
            json!({"patient_ids": [ids[0], ids[0]]}),
            400,
            "invalid_patient_ids",
        ),
        (
            json!({"patient_ids": ["not-an-id"]}),
            400,
            "invalid_patient_ids",
        ),
        (
            json!({"patient_ids": [ids[0]], "period_days": 0}),
            400,
            "invalid_period",
        ),
        (
            json!({"patient_ids": [ids[0]], "period_days": 91}),
            400,
            "invalid_period",
        ),
        (
            json!({"patient_ids": [ids[0]], "colour": "red"}),
            400,
            "unknown_field",
        ),
        (json!({"period_days": 14}), 400, "missing_field"),
        (
            json!({"patient_ids": [ids[0], unlinked]}),
            409,
            "not_linked",
        ),
        (
            json!({"patient_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]}),
            404,
            "not_found",
        ),
    ] {
        assert_error(
            clinic.post("/api/clinic/reports/batch", &body).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(
        app.stored_but_sessions().await,
        before,
        "a refused batch prints and records nothing"
    );
}

#[tokio::test]
async fn a_patient_downloads_all_their_data_which_uploads_again() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "all.my.data@clinic.example").await;
    let (patient, _, _) = link_new_patient(
        &app,
        &clinic,
        "all.my.data",
        "Ana Data",
        "1975-05-05",
        Some("UTC"),
    )
    .await;
    // Data from two years apart: all of it comes out.
    let mut events = readings(now, 2, |i| 90 + i % 60);
    events.push(json!({"type": "cgm", "time": (now - SignedDuration::from_hours(24 * 700)).to_string(), "value": 123}));
    let stored = upload(&patient, json!({"device": "Old and New", "events": events})).await;
    let accepted = stored["accepted"].as_u64().expect("accepted");

    let mine: Value = serde_json::from_slice(
        &download(
            &patient,
            "/api/personal/export?format=json",
            "application/json",
        )
        .await,
    )
    .expect("json");
    assert_eq!(mine["account"]["username"], "all.my.data.patient");
    assert_eq!(mine["account"]["name"], "Ana Data");
    assert_eq!(
        mine["events"].as_array().map(Vec::len),
        Some(accepted as usize)
    );
    assert_eq!(mine["uploads"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        mine["sharing"]["clinics"][0]["clinic_name"],
        "Northgate Diabetes Centre"
    );
    let actions: Vec<&str> = mine["audit_log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"linked") && actions.contains(&"data_uploaded"),
        "{actions:?}"
    );
    // The download is glucolink JSON: uploading it again adds nothing.
    let again = upload(&patient, mine).await;
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"].as_u64(), Some(accepted));

    let csv =
        String::from_utf8(download(&patient, "/api/personal/export?format=csv", "text/csv").await)
            .expect("utf-8");
    assert!(
        csv.starts_with("time_utc,time_local,device,type"),
        "{}",
        &csv[..80]
    );
    assert_eq!(csv.lines().count(), accepted as usize + 1);
    // Audited in the person's own log.
    let (_, log) = status_and_json(patient.get("/api/personal/audit").await).await;
    assert_eq!(log["events"][0]["action"], "data_exported");

    // Bad input and the wrong kind of account change nothing.
    let before = app.stored_but_sessions().await;
    assert_error(
        patient.get("/api/personal/export?format=xml").await,
        400,
        "unsupported_format",
    )
    .await;
    assert_error(
        patient.get("/api/personal/export?days=3").await,
        400,
        "unknown_parameter",
    )
    .await;
    assert_error(clinic.get("/api/personal/export").await, 403, "forbidden").await;
    assert_error(
        app.browser().get("/api/personal/export").await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(app.stored_but_sessions().await, before);
}
