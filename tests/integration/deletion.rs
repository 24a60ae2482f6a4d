//! "Delete my account": the person's account and data leave the store (the embedded store dumped, the
//! DynamoDB table scanned), their clinics see `sharing_stopped` and are told, and bad requests change
//! nothing.

use glucolink_core::store::Value as StoreValue;
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{
    Browser, TestApp, assert_error, spawn_app, spawn_app_on_dynamodb_table, status_and_json,
};
use crate::support::people::{PERSON_PASSWORD, link_new_patient, profile, signed_in_clinic};
use crate::support::stores::scan_all;

/// A linked patient with a day of readings and an upload token; returns the clinic, the patient, the
/// record id and the person id.
async fn patient_with_data(app: &TestApp, tag: &str) -> (Browser, Browser, String, String) {
    let clinic = app.browser();
    signed_in_clinic(&clinic, &format!("{tag}@clinic.example")).await;
    let (patient, record, person) = link_new_patient(
        app,
        &clinic,
        tag,
        "Rowan Leaving",
        "1982-02-02",
        Some("UTC"),
    )
    .await;
    let now = app.clock_now();
    let events: Vec<Value> = (0..288)
        .map(|i| {
            let at = now - SignedDuration::from_mins(5 * i);
            json!({"type": "cgm", "time": at.to_string(), "value": 110})
        })
        .collect();
    let body =
        serde_json::to_vec(&json!({"device": "Leaving CGM", "events": events})).expect("json");
    let (status, _) = status_and_json(
        patient
            .post_raw("/api/personal/uploads?tz=UTC", "application/json", body)
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = status_and_json(
        patient
            .post("/api/personal/upload-tokens", &json!({"name": "Laptop"}))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    (clinic, patient, record, person)
}

async fn delete(patient: &Browser, body: Value) -> reqwest::Response {
    patient
        .send(Method::DELETE, "/api/personal/account", Some(&body))
        .await
}

/// What must be gone: the person's own items, their indexes and anything naming their contacts.
fn assert_nothing_of_the_person(items: &[(String, String, Vec<String>)], tag: &str, person: &str) {
    let username = format!("{tag}.patient");
    let email = format!("{tag}.patient@example.net");
    for (pk, sk, values) in items {
        // The local outbox stands for the recipients' mailboxes (SES and SNS in the cloud keep nothing
        // in glucolink's table): what was sent to the person is theirs, not glucolink's store.
        if pk == "OUTBOX" {
            continue;
        }
        assert!(
            !pk.contains(person) || pk == "DELETIONS",
            "{pk} {sk} is left"
        );
        assert!(
            !pk.starts_with("DATA") && !sk.starts_with("DATA#"),
            "{pk} {sk} is left"
        );
        for value in values {
            assert!(
                !value.contains(&username) && !value.contains(&email) && value != "+447700900123",
                "{pk} {sk} still holds {value}"
            );
        }
    }
    assert!(
        items
            .iter()
            .any(|(pk, _, values)| pk == "DELETIONS" && values.iter().any(|v| v == person)),
        "the deletion is logged"
    );
}

#[tokio::test]
async fn a_patient_deletes_their_account_and_nothing_of_them_is_left() {
    let app = spawn_app().await;
    let (clinic, patient, record, person) = patient_with_data(&app, "leaving").await;
    let response = delete(&patient, json!({"password": PERSON_PASSWORD})).await;
    assert_eq!(response.status().as_u16(), 204);
    // Signed out everywhere, and the account no longer signs in.
    assert_eq!(patient.get("/api/me").await.status().as_u16(), 401);
    assert_error(
        app.browser()
            .post(
                "/api/personal/signin",
                &json!({"username": "leaving.patient", "password": PERSON_PASSWORD}),
            )
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    // The clinic's record says sharing stopped, its log says why, and no report can be made.
    let seen = profile(&clinic, &record).await;
    assert_eq!(seen["link"]["status"], "sharing_stopped", "{seen}");
    let (_, log) =
        status_and_json(clinic.get("/api/clinic/audit?action=account_deleted").await).await;
    assert_eq!(log["events"].as_array().map(Vec::len), Some(1));
    let (status, _) = status_and_json(
        clinic
            .get(&format!("/api/clinic/patients/{record}/report?format=json"))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    // The whole store: nothing of the person but the line of the deletion.
    let items: Vec<(String, String, Vec<String>)> = app
        .stored()
        .await
        .into_iter()
        .map(|item| {
            let values = item
                .attrs
                .values()
                .filter_map(|v| match v {
                    StoreValue::S(s) => Some(s.clone()),
                    StoreValue::N(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect();
            (item.key.pk, item.key.sk, values)
        })
        .collect();
    assert_nothing_of_the_person(&items, "leaving", &person);
    // The username is free again.
    let (status, _) = status_and_json(
        app.browser()
            .post(
                "/api/personal/signup",
                &crate::support::people::personal_sign_up("leaving.patient"),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn in_dynamodb_a_scan_of_the_table_finds_nothing_of_a_deleted_account() {
    let (app, table) = spawn_app_on_dynamodb_table().await;
    let (_, patient, _, person) = patient_with_data(&app, "scanned").await;
    assert!(
        scan_all(&table)
            .await
            .iter()
            .any(|(pk, _, _)| pk.contains(&person)),
        "the data is there before"
    );
    let response = delete(&patient, json!({"password": PERSON_PASSWORD})).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_nothing_of_the_person(&scan_all(&table).await, "scanned", &person);
}

#[tokio::test]
async fn a_wrong_password_or_a_missing_code_deletes_nothing() {
    let app = spawn_app().await;
    let (clinic, patient, _, _) = patient_with_data(&app, "staying").await;
    let before = app.stored_but_sessions().await;
    let keep = |items: Vec<glucolink_core::store::Item>| -> Vec<glucolink_core::store::Item> {
        items
            .into_iter()
            .filter(|i| !i.key.pk.starts_with("THROTTLE#"))
            .collect()
    };
    for (body, status, code) in [
        (
            json!({"password": "not my password at all"}),
            400,
            "wrong_password",
        ),
        (json!({}), 400, "missing_field"),
        (
            json!({"password": PERSON_PASSWORD, "reason": "x"}),
            400,
            "unknown_field",
        ),
    ] {
        assert_error(delete(&patient, body).await, status, code).await;
    }
    assert_error(
        delete(&clinic, json!({"password": PERSON_PASSWORD})).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(keep(app.stored_but_sessions().await), keep(before));
    assert_eq!(patient.get("/api/me").await.status().as_u16(), 200);
}
