//! Linking safety: the identity check before any link, the link states a record shows afterwards, the
//! pending code the clinic can show, share and print again, and correcting a record. Every refusal
//! leaves the store as it was.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{Browser, TestApp, assert_error, spawn_app, status_and_json};
use crate::support::messages::outbox_to;
use crate::support::people::{
    PERSON_PASSWORD, create_patient, generate_code, linked_patient, profile, signed_in_clinic,
    signed_in_person,
};

/// The accounts of `signed_in_person` are "Jordan Example", born 1990-06-15.
async fn clinic_and_account(app: &TestApp, tag: &str) -> Browser {
    let clinic = app.browser();
    signed_in_clinic(&clinic, &format!("{tag}@clinic.example")).await;
    signed_in_person(&app.browser(), &format!("{tag}.patient")).await;
    clinic
}

#[tokio::test]
async fn credentials_for_the_wrong_record_are_refused_naming_what_differs() {
    let app = spawn_app().await;
    let clinic = clinic_and_account(&app, "wrongrow").await;
    // Staff picked the wrong row: a 17-year-old's record, a 36-year-old's account.
    let girl = create_patient(&clinic, "Emily Young", "2009-03-02", None).await;
    let path = format!("/api/clinic/patients/{girl}/link/credentials");
    let credentials =
        json!({"username": "wrongrow.patient", "password": PERSON_PASSWORD, "consent": true});
    let before = app.stored().await;
    let (status, body) = status_and_json(clinic.post(&path, &credentials).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("identity_mismatch")),
        "{body}"
    );
    assert_eq!(body["error"]["differs"], json!(["name", "date_of_birth"]));
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Emily Young") && message.contains("Jordan Example"),
        "{message}"
    );
    assert_eq!(app.stored().await, before, "nothing linked");

    // Confirming needs a reason; a reason alone does not link.
    let mut confirm = credentials.clone();
    confirm["confirm_mismatch"] = json!(true);
    assert_error(clinic.post(&path, &confirm).await, 400, "reason_required").await;
    confirm["reason"] = json!("x".repeat(501));
    assert_error(clinic.post(&path, &confirm).await, 400, "invalid_reason").await;
    assert_eq!(app.stored().await, before);

    confirm["reason"] = json!("Known to us under her new name");
    let (status, body) = status_and_json(clinic.post(&path, &confirm).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["link"]["identity"], "mismatch");
    let shown = profile(&clinic, &girl).await;
    assert_eq!(shown["link"]["identity"], "mismatch");
    assert_eq!(shown["link"]["differs"], json!(["name", "date_of_birth"]));
    let (_, log) = status_and_json(clinic.get("/api/clinic/audit").await).await;
    assert!(
        log.to_string().contains("Known to us under her new name"),
        "the reason is audited"
    );
    // Every report page says so.
    let report = clinic
        .get(&format!("/api/clinic/patients/{girl}/report?format=html"))
        .await
        .text()
        .await
        .expect("report");
    assert!(
        report.contains("CHECK IDENTITY"),
        "the report carries the flag"
    );
}

#[tokio::test]
async fn a_matching_account_links_at_once_with_words_in_any_order_and_accents_folded() {
    let app = spawn_app().await;
    let clinic = clinic_and_account(&app, "match").await;
    let id = create_patient(&clinic, "EXAMPLE, Jórdan", "1990-06-15", None).await;
    let (status, body) = status_and_json(
        clinic
            .post(
                &format!("/api/clinic/patients/{id}/link/credentials"),
                &json!({"username": "match.patient", "password": PERSON_PASSWORD, "consent": true}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["link"]["identity"], "match");
    assert_eq!(body["link"]["differs"], json!([]));
    assert_eq!(body["link"]["by"], "Jordan Example");
}

#[tokio::test]
async fn correcting_the_record_clears_the_identity_flag_and_is_audited() {
    let app = spawn_app().await;
    let clinic = clinic_and_account(&app, "correct").await;
    let id = create_patient(&clinic, "Jordan Exampel", "1990-06-15", Some("MRN-1")).await;
    create_patient(&clinic, "Other Person", "1970-01-01", Some("MRN-2")).await;
    let (status, _) = status_and_json(
        clinic
            .post(
                &format!("/api/clinic/patients/{id}/link/credentials"),
                &json!({"username": "correct.patient", "password": PERSON_PASSWORD, "consent": true,
                        "confirm_mismatch": true, "reason": "Typo in our record"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(profile(&clinic, &id).await["link"]["identity"], "mismatch");

    let path = format!("/api/clinic/patients/{id}");
    let before = app.stored().await;
    for (body, status, code) in [
        (
            json!({"name": "", "date_of_birth": "1990-06-15"}),
            400,
            "invalid_name",
        ),
        (
            json!({"name": "Jordan Example", "date_of_birth": "15/06/1990x"}),
            400,
            "invalid_date_of_birth",
        ),
        (json!({"name": "Jordan Example"}), 400, "missing_field"),
        (
            json!({"name": "Jordan Example", "date_of_birth": "1990-06-15", "mrn": "MRN-2"}),
            409,
            "mrn_taken",
        ),
    ] {
        assert_error(
            clinic.send(Method::PUT, &path, Some(&body)).await,
            status,
            code,
        )
        .await;
        assert_eq!(app.stored().await, before, "{code} changed the store");
    }
    let (status, corrected) = status_and_json(
        clinic
            .send(
                Method::PUT,
                &path,
                Some(&json!({"name": "Jordan Example", "date_of_birth": "1990-06-15", "mrn": "MRN-1A"})),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{corrected}");
    assert_eq!(corrected["link"]["identity"], "match");
    assert_eq!(corrected["mrn"], "MRN-1A");
    // Search follows the correction; the old MRN is free again.
    let (_, found) = status_and_json(clinic.get("/api/clinic/patients?q=example").await).await;
    assert_eq!(found["patients"][0]["patient_id"], id.as_str());
    let (_, old) = status_and_json(clinic.get("/api/clinic/patients?q=exampel").await).await;
    assert_eq!(old["patients"], json!([]));
    create_patient(&clinic, "New Person", "1980-01-01", Some("MRN-1")).await;
    // A change of letter case only keeps the MRN's index entry (found by the API fuzz: it once
    // touched that entry twice in one transaction and answered 500).
    let (status, recased) = status_and_json(
        clinic
            .send(
                Method::PUT,
                &path,
                Some(&json!({"name": "Jordan Example", "date_of_birth": "1990-06-15", "mrn": "mrn-1a"})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, recased["mrn"].as_str()),
        (200, Some("mrn-1a")),
        "{recased}"
    );
    assert_error(
        clinic
            .post(
                "/api/clinic/patients",
                &json!({"name": "Other", "date_of_birth": "1980-01-01", "mrn": "MRN-1A"}),
            )
            .await,
        409,
        "mrn_taken",
    )
    .await;
    let (_, log) = status_and_json(clinic.get("/api/clinic/audit").await).await;
    assert!(
        log.to_string()
            .contains("name Jordan Exampel → Jordan Example"),
        "{log}"
    );
}

#[tokio::test]
async fn a_second_code_while_one_is_pending_needs_replace_and_the_pending_code_shows_again() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "pending@clinic.example").await;
    let id = create_patient(&clinic, "Pat Pending", "1980-01-01", None).await;
    let first = generate_code(&clinic, &id).await;
    let shown = profile(&clinic, &id).await;
    assert_eq!(shown["pending_code"]["code"], first["code"]);
    assert_eq!(shown["pending_code"]["expires_at"], first["expires_at"]);
    assert_eq!(shown["link"]["by"], "Sam Rivera");

    let path = format!("/api/clinic/patients/{id}/link/code");
    let before = app.stored().await;
    let message = assert_error(
        clinic.send(Method::POST, &path, None).await,
        409,
        "code_pending",
    )
    .await;
    assert!(message.contains("replace"), "{message}");
    assert_error(
        clinic.post(&path, &json!({"replace": "yes"})).await,
        400,
        "invalid_type",
    )
    .await;
    assert_error(
        clinic
            .post(&path, &json!({"replace": true, "extra": 1}))
            .await,
        400,
        "unknown_field",
    )
    .await;
    assert_eq!(app.stored().await, before, "the patient's code still works");

    // Send and print without naming the code share the pending one.
    let send = format!("/api/clinic/patients/{id}/link/code/send");
    let (status, sent) = status_and_json(
        clinic
            .post(&send, &json!({"channel": "email", "to": "pat@example.net"}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["code"], first["code"]);
    assert_eq!(
        profile(&clinic, &id).await["pending_code"]["sent_to"],
        json!(["p***@example.net"])
    );
    let page = clinic
        .get(&format!("/api/clinic/patients/{id}/link/code/print"))
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains(first["code"].as_str().expect("code")));

    // Replacing tells the address the old code went to.
    let (status, second) =
        status_and_json(clinic.post(&path, &json!({"replace": true})).await).await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(second["code"], first["code"]);
    let mail = outbox_to(&clinic, "pat@example.net").await;
    assert!(
        mail.iter().any(|m| m["subject"]
            .as_str()
            .is_some_and(|s| s.contains("no longer works"))),
        "{mail:?}"
    );
    assert_eq!(
        profile(&clinic, &id).await["pending_code"]["sent_to"],
        json!([])
    );

    // Cancelling: no pending code to show, send or print.
    assert_eq!(
        clinic
            .send(Method::DELETE, &path, None)
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(profile(&clinic, &id).await["pending_code"], Value::Null);
    assert_error(
        clinic
            .get(&format!("/api/clinic/patients/{id}/link/code/print"))
            .await,
        409,
        "no_pending_code",
    )
    .await;
}

#[tokio::test]
async fn the_list_filters_by_link_state_and_refuses_unknown_states() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "filter").await;
    let pending = create_patient(&linked.clinic, "Pat Pending", "1980-01-01", None).await;
    generate_code(&linked.clinic, &pending).await;
    create_patient(&linked.clinic, "Never Linked", "1980-01-01", None).await;
    let names = |list: &Value| -> Vec<String> {
        list["patients"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| r["name"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for (filter, expected) in [
        ("linked", vec!["Jordan Example"]),
        ("pending", vec!["Pat Pending"]),
        ("not_linked", vec!["Never Linked"]),
        ("sharing_stopped", vec![]),
    ] {
        let (status, list) = status_and_json(
            linked
                .clinic
                .get(&format!("/api/clinic/patients?link={filter}"))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(names(&list), expected, "{filter}");
    }
    let (_, searched) = status_and_json(
        linked
            .clinic
            .get("/api/clinic/patients?q=pat&link=linked")
            .await,
    )
    .await;
    assert_eq!(names(&searched), Vec::<String>::new());
    let before = app.stored_but_sessions().await;
    assert_error(
        linked.clinic.get("/api/clinic/patients?link=maybe").await,
        400,
        "invalid_link_status",
    )
    .await;
    assert_eq!(app.stored_but_sessions().await, before);
}

#[tokio::test]
async fn data_sharing_shows_the_record_each_clinic_linked() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "sharingrecord").await;
    let (_, sharing) = status_and_json(linked.patient.get("/api/personal/sharing").await).await;
    let record = &sharing["clinics"][0]["record"];
    assert_eq!(record["patient_name"], "Jordan Example");
    assert_eq!(record["patient_date_of_birth"], "1990-06-15");
    assert_eq!(record["identity"], "match");
}

#[tokio::test]
async fn the_patient_sees_a_mismatch_before_accepting() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "preview@clinic.example").await;
    let id = create_patient(&clinic, "Jordan Example", "1991-06-15", None).await;
    let code = generate_code(&clinic, &id).await;
    let patient = app.browser();
    signed_in_person(&patient, "preview.patient").await;
    let (status, preview) = status_and_json(
        patient
            .post(
                "/api/personal/sharing/lookup",
                &json!({"code": code["code"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["identity"], "mismatch");
    assert_eq!(preview["differs"], json!(["date_of_birth"]));
    assert_eq!(preview["patient_date_of_birth"], "1991-06-15");
}
