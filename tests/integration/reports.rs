//! Reports through the HTTP API: the clinic's report of a linked patient (audited), the patient's own,
//! hand-checkable metrics, units, and every bad query refused with nothing stored.

use serde_json::{Value, json};

use crate::support::app::{Browser, assert_error, spawn_app, status_and_json};
use crate::support::people::{create_patient, linked_patient, signed_in_clinic};

async fn upload_json(patient: &Browser, events: Value) {
    let body =
        serde_json::to_vec(&json!({"device": "Report Sensor", "events": events})).expect("json");
    let response = patient
        .post_raw("/api/personal/uploads?tz=UTC", "application/json", body)
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

#[tokio::test]
async fn a_clinic_report_of_a_linked_patient_has_hand_checkable_metrics_and_is_audited() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "report").await;
    // One reading in each consensus range, five minutes apart, on 2026-11-20 (UTC).
    let values = [50, 60, 100, 200, 300];
    let events: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"type": "cgm", "time": format!("2026-11-20T08:{:02}:00Z", i * 5), "value": v}))
        .chain([json!({"type": "bolus", "time": "2026-11-20T08:00:00Z", "units": 4.0}), json!({"type": "carbs", "time": "2026-11-20T08:00:00Z", "grams": 50})])
        .collect();
    upload_json(&linked.patient, Value::Array(events)).await;
    let path = format!(
        "/api/clinic/patients/{}/report?from=2026-11-20&to=2026-11-20&tz=UTC",
        linked.patient_id
    );
    let (status, report) = status_and_json(linked.clinic.get(&path).await).await;
    assert_eq!(status, 200, "{report}");
    let m = &report["metrics"];
    for range in ["very_low", "low", "in_range", "high", "very_high"] {
        assert_eq!(m["time_in_ranges"][range], 20.0, "{range}");
    }
    assert_eq!(m["mean"], 142.0);
    assert_eq!(m["gmi_percent"], 6.7, "3.31 + 0.02392 × 142 = 6.707");
    assert_eq!(m["gri"], 100.0);
    assert_eq!(m["readings"], 5);
    assert_eq!(report["period"]["days"], 1);
    assert_eq!(report["days"][0]["bolus_units"], 4.0);
    assert_eq!(report["carbs"]["by_time_of_day"][1], 50.0, "a morning meal");
    assert!(
        report["notice"]
            .as_str()
            .expect("notice")
            .contains("adjunct")
    );
    assert!(
        report["sufficiency_warning"]
            .as_str()
            .expect("warning")
            .contains("14 days")
    );
    assert_eq!(report["patient"]["name"], "Jordan Example");

    let (status, mmol) =
        status_and_json(linked.clinic.get(&format!("{path}&units=mmol/L")).await).await;
    assert_eq!(status, 200);
    assert_eq!(mmol["units"], "mmol/L");
    assert_eq!(mmol["metrics"]["mean"], 7.9, "142 / 18.018 = 7.88");

    let (_, log) = status_and_json(linked.patient.get("/api/personal/audit").await).await;
    assert!(
        log["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "report_viewed"),
        "{log}"
    );
}

#[tokio::test]
async fn a_patient_sees_their_own_report_for_the_last_fourteen_days_by_default() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "own.report").await;
    let now = app.clock_now();
    upload_json(
        &linked.patient,
        json!([{"type": "cgm", "time": now.to_string(), "value": 120}]),
    )
    .await;
    let (status, report) = status_and_json(linked.patient.get("/api/personal/report").await).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["period"]["days"], 14);
    assert_eq!(report["metrics"]["readings"], 1);
    assert_eq!(report["days"].as_array().map(Vec::len), Some(14));
}

#[tokio::test]
async fn bad_report_queries_are_refused_and_unlinked_records_have_no_report() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "bad.report").await;
    let base = format!("/api/clinic/patients/{}/report", linked.patient_id);
    let before = app.stored().await;
    let cases = [
        ("?from=2026-11-20&to=2026-11-01", "invalid_period"),
        ("?from=2026-01-01&to=2026-11-01", "invalid_period"),
        ("?from=yesterday&to=2026-11-01", "invalid_date"),
        ("?units=furlongs", "invalid_units"),
        ("?tz=Mars/Olympus", "invalid_tz"),
        ("?format=pdf", "unsupported_format"),
    ];
    for (query, code) in cases {
        assert_error(
            linked.clinic.get(&format!("{base}{query}")).await,
            400,
            code,
        )
        .await;
        assert_error(
            linked
                .patient
                .get(&format!("/api/personal/report{query}"))
                .await,
            400,
            code,
        )
        .await;
    }
    assert_eq!(
        app.stored().await,
        before,
        "refused queries write nothing, not even an audit event"
    );

    let unlinked = create_patient(&linked.clinic, "Not Linked", "1970-01-01", None).await;
    assert_error(
        linked
            .clinic
            .get(&format!("/api/clinic/patients/{unlinked}/report"))
            .await,
        409,
        "not_linked",
    )
    .await;
    let intruder = app.browser();
    signed_in_clinic(&intruder, "intruder.report@clinic.example").await;
    assert_error(intruder.get(&base).await, 404, "not_found").await;

    let response = linked
        .patient
        .send(
            reqwest::Method::DELETE,
            &format!("/api/personal/sharing/{}", linked.clinic_id),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_error(linked.clinic.get(&base).await, 409, "not_linked").await;
}
