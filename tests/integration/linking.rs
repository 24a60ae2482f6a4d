//! Link to Personal through the HTTP API: the seed's unique-code flow, credentials, cancel, unlink,
//! revoke, and every way a code can be refused.

use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{
    Browser, TestApp, assert_error, spawn_app, spawn_app_on_dynamodb, status_and_json,
};
use crate::support::people::{
    PERSON_PASSWORD, create_patient, event_actions, generate_code, linked_patient, profile,
    replace_code, sign_in_clinic, sign_in_person, signed_in_clinic, signed_in_person,
};

async fn actions(browser: &Browser, path: &str) -> Vec<String> {
    let (status, body) = status_and_json(browser.get(path).await).await;
    assert_eq!(status, 200, "{body}");
    event_actions(&body)
}

async fn the_seed_flow_links_a_record_with_a_unique_code(app: TestApp) {
    let clinic = app.browser();
    signed_in_clinic(&clinic, "seed@clinic.example").await;
    let patient_id = create_patient(&clinic, "Jordan Example", "1990-06-15", Some("J-1")).await;
    assert_eq!(
        profile(&clinic, &patient_id).await["link"]["status"],
        "not_linked"
    );

    let issued = generate_code(&clinic, &patient_id).await;
    let code = issued["code"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 11);
    assert_eq!(&code[5..6], "-");
    assert!(
        issued["accept_url"]
            .as_str()
            .expect("url")
            .ends_with(&format!("/personal/sharing?code={code}"))
    );
    let pending = profile(&clinic, &patient_id).await;
    assert_eq!(pending["link"]["status"], "pending");
    assert_eq!(pending["link"]["code_expires_at"], issued["expires_at"]);

    let patient = app.browser();
    signed_in_person(&patient, "jordan.e").await;
    let typed = code.to_lowercase().replace('-', " ");
    let (status, preview) = status_and_json(
        patient
            .post("/api/personal/sharing/lookup", &json!({"code": typed}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["clinic_name"], "Northgate Diabetes Centre");
    assert_eq!(preview["patient_name"], "Jordan Example");
    assert!(
        preview["what_the_clinic_sees"]
            .as_str()
            .expect("what")
            .contains("CGM")
    );
    let (_, sharing) = status_and_json(patient.get("/api/personal/sharing").await).await;
    assert_eq!(
        sharing["pending"][0]["clinic_name"],
        "Northgate Diabetes Centre"
    );

    let (status, accepted) = status_and_json(
        patient
            .post(
                "/api/personal/sharing/accept",
                &json!({"request_id": preview["request_id"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["clinic_name"], "Northgate Diabetes Centre");

    let linked = profile(&clinic, &patient_id).await;
    assert_eq!(linked["link"]["status"], "linked");
    assert_eq!(linked["linked_account"]["username"], "jordan.e");
    assert_eq!(linked["linked_account"]["mismatches"], json!([]));
    let (_, sharing) = status_and_json(patient.get("/api/personal/sharing").await).await;
    assert_eq!(
        sharing["clinics"][0]["clinic_name"],
        "Northgate Diabetes Centre"
    );
    assert_eq!(sharing["pending"], json!([]));

    let patient_log = actions(&patient, "/api/personal/audit").await;
    assert!(
        patient_log.contains(&"linked".to_owned()),
        "{patient_log:?}"
    );
    assert!(
        patient_log.contains(&"profile_viewed".to_owned()),
        "{patient_log:?}"
    );
    let clinic_log = actions(&clinic, "/api/clinic/audit").await;
    for action in [
        "patient_created",
        "link_code_created",
        "linked",
        "profile_viewed",
    ] {
        assert!(
            clinic_log.contains(&action.to_owned()),
            "{action} in {clinic_log:?}"
        );
    }
}

#[tokio::test]
async fn the_seed_flow_links_a_record_with_a_unique_code_on_the_embedded_store() {
    the_seed_flow_links_a_record_with_a_unique_code(spawn_app().await).await;
}

#[tokio::test]
async fn the_seed_flow_links_a_record_with_a_unique_code_on_dynamodb() {
    the_seed_flow_links_a_record_with_a_unique_code(spawn_app_on_dynamodb().await).await;
}

#[tokio::test]
async fn every_kind_of_unusable_code_gets_its_own_message() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "codes@clinic.example").await;
    let patient_id = create_patient(&clinic, "Jordan Example", "1990-06-15", None).await;
    let patient = app.browser();
    signed_in_person(&patient, "casey.code").await;
    let accept = |code: &Value| {
        let body = json!({"code": code});
        let patient = &patient;
        async move { patient.post("/api/personal/sharing/accept", &body).await }
    };

    let first = generate_code(&clinic, &patient_id).await;
    let second = replace_code(&clinic, &patient_id).await;
    let replaced = assert_error(accept(&first["code"]).await, 410, "code_cancelled").await;
    assert!(replaced.contains("newer"), "{replaced}");

    let response = clinic
        .send(
            Method::DELETE,
            &format!("/api/clinic/patients/{patient_id}/link/code"),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(
        profile(&clinic, &patient_id).await["link"]["status"],
        "not_linked"
    );
    assert_error(accept(&second["code"]).await, 410, "code_cancelled").await;
    assert_eq!(
        profile(&clinic, &patient_id).await["pending_code"],
        Value::Null
    );

    let third = generate_code(&clinic, &patient_id).await;
    app.advance(SignedDuration::from_hours(24 * 7 + 1));
    // A week later both have to sign in again.
    sign_in_clinic(&clinic, "codes@clinic.example").await;
    sign_in_person(&patient, "casey.code").await;
    let lapsed = profile(&clinic, &patient_id).await;
    assert_eq!(
        lapsed["link"]["status"], "code_expired",
        "an expired code is not pending, and says so"
    );
    assert_eq!(lapsed["link"]["since"], third["expires_at"]);
    assert_eq!(lapsed["pending_code"], Value::Null);
    let expired = assert_error(accept(&third["code"]).await, 410, "code_expired").await;
    assert!(expired.contains("expired"), "{expired}");

    assert_error(accept(&json!("ABCDE-FGHJK")).await, 404, "code_not_found").await;
    assert_error(accept(&json!("not a code")).await, 400, "code_malformed").await;
    assert_error(accept(&json!(42)).await, 400, "invalid_type").await;
    let response = patient
        .post("/api/personal/sharing/accept", &json!({}))
        .await;
    assert_error(response, 400, "missing_field").await;

    let fourth = generate_code(&clinic, &patient_id).await;
    assert_eq!(accept(&fourth["code"]).await.status().as_u16(), 200);
    let other = app.browser();
    signed_in_person(&other, "someone.else").await;
    let used = other
        .post(
            "/api/personal/sharing/accept",
            &json!({"code": fourth["code"]}),
        )
        .await;
    let message = assert_error(used, 409, "code_used").await;
    assert!(
        !message.contains("Northgate"),
        "never names the clinic: {message}"
    );
}

/// 60 unknown codes from one account at once: the guesses are booked before the look-up, so exactly the
/// limit (10) are looked up and the rest refused.
async fn parallel_code_guesses_are_bounded(app: TestApp) {
    signed_in_person(&app.user, "parallel.guesser").await;
    let token = app.user.csrf().await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let client = app.user.client.clone();
        let url = format!("{}/api/personal/sharing/lookup", app.user.base);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("X-CSRF-Token", token)
                .json(&json!({"code": format!("ZZZZZ-ZZZ{:02}", i % 100)}))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_code_guesses_are_bounded_on_the_embedded_store() {
    parallel_code_guesses_are_bounded(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_code_guesses_are_bounded_on_dynamodb() {
    parallel_code_guesses_are_bounded(spawn_app_on_dynamodb().await).await;
}

#[tokio::test]
async fn guessing_codes_is_bounded_per_account() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "guesser").await;
    for i in 0..10 {
        let response = app
            .user
            .post(
                "/api/personal/sharing/lookup",
                &json!({"code": format!("ZZZZZ-ZZZ{:02}", i)}),
            )
            .await;
        assert_error(response, 404, "code_not_found").await;
    }
    let response = app
        .user
        .post(
            "/api/personal/sharing/lookup",
            &json!({"code": "ZZZZZ-ZZZZZ"}),
        )
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    assert!(
        body["error"]["retry_after_seconds"]
            .as_i64()
            .is_some_and(|s| (1..=3600).contains(&s))
    );
}

#[tokio::test]
async fn guessing_codes_is_bounded_per_source_across_accounts() {
    let app = spawn_app().await;
    let mut refused = false;
    // Four accounts from one address, 8 wrong codes each: the address's limit (30 an hour) stops them.
    for account in 0..4 {
        let browser = app.browser();
        signed_in_person(&browser, &format!("spray{account}")).await;
        for i in 0..8 {
            let response = browser
                .post(
                    "/api/personal/sharing/lookup",
                    &json!({"code": format!("YYYYY-YY{account}{i:02}")}),
                )
                .await;
            let status = response.status().as_u16();
            if account * 8 + i < 30 {
                assert_eq!(status, 404, "attempt {}", account * 8 + i);
            } else {
                assert_eq!(status, 429, "attempt {}", account * 8 + i);
                refused = true;
            }
        }
    }
    assert!(refused);
}

async fn two_accounts_redeeming_one_code_have_exactly_one_winner(app: TestApp) {
    let clinic = app.browser();
    signed_in_clinic(&clinic, "race@clinic.example").await;
    let patient_id = create_patient(&clinic, "Jordan Example", "1990-06-15", None).await;
    let code = generate_code(&clinic, &patient_id).await["code"].clone();
    let mut tasks = Vec::new();
    // Every racer's account matches the record (the identity check is not what this test is about).
    for i in 0..4 {
        let browser = app.browser();
        signed_in_person(&browser, &format!("racer{i}")).await;
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            let response = browser
                .post("/api/personal/sharing/accept", &json!({"code": code}))
                .await;
            let (status, body) = status_and_json(response).await;
            let (_, sharing) = status_and_json(browser.get("/api/personal/sharing").await).await;
            (
                status,
                body,
                sharing["clinics"].as_array().map_or(0, Vec::len),
            )
        }));
    }
    let mut winners = 0;
    for task in tasks {
        let (status, body, shared) = task.await.expect("task");
        if status == 200 {
            winners += 1;
            assert_eq!(shared, 1);
        } else {
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (409, Some("code_used")),
                "{body}"
            );
            assert_eq!(shared, 0, "the loser has no half-written link");
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(
        profile(&clinic, &patient_id).await["link"]["status"],
        "linked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_redeeming_one_code_have_exactly_one_winner_on_the_embedded_store() {
    two_accounts_redeeming_one_code_have_exactly_one_winner(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_redeeming_one_code_have_exactly_one_winner_on_dynamodb() {
    two_accounts_redeeming_one_code_have_exactly_one_winner(spawn_app_on_dynamodb().await).await;
}

#[tokio::test]
async fn a_request_id_works_only_for_the_person_who_previewed_it() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "rid@clinic.example").await;
    let patient_id = create_patient(&clinic, "Rid Patient", "1980-01-01", None).await;
    let code = generate_code(&clinic, &patient_id).await;
    let patient = app.browser();
    signed_in_person(&patient, "rid.owner").await;
    let (_, preview) = status_and_json(
        patient
            .post(
                "/api/personal/sharing/lookup",
                &json!({"code": code["code"]}),
            )
            .await,
    )
    .await;
    let thief = app.browser();
    signed_in_person(&thief, "rid.thief").await;
    let response = thief
        .post(
            "/api/personal/sharing/accept",
            &json!({"request_id": preview["request_id"]}),
        )
        .await;
    assert_error(response, 404, "code_not_found").await;
    assert_eq!(
        profile(&clinic, &patient_id).await["link"]["status"],
        "pending"
    );
}

#[tokio::test]
async fn linking_with_the_patients_credentials_needs_consent_and_gives_the_clinic_no_patient_session()
 {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "creds@clinic.example").await;
    signed_in_person(&app.browser(), "cred.patient").await;
    let patient_id = create_patient(&clinic, "Jordan Example", "1990-06-15", None).await;
    let path = format!("/api/clinic/patients/{patient_id}/link/credentials");
    let before = app.stored().await;
    let no_consent = clinic
        .post(
            &path,
            &json!({"username": "cred.patient", "password": PERSON_PASSWORD, "consent": false}),
        )
        .await;
    assert_error(no_consent, 400, "consent_required").await;
    let missing = clinic
        .post(
            &path,
            &json!({"username": "cred.patient", "password": PERSON_PASSWORD}),
        )
        .await;
    assert_error(missing, 400, "missing_field").await;
    assert_eq!(app.stored().await, before);

    let response = clinic
        .post(
            &path,
            &json!({"username": "cred.patient", "password": PERSON_PASSWORD, "consent": true}),
        )
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["link"]["status"], "linked");
    assert_eq!(body["linked_account"]["username"], "cred.patient");
    let (_, me) = status_and_json(clinic.get("/api/me").await).await;
    assert_eq!(
        me["kind"], "clinic_user",
        "the clinic's browser is still the clinic"
    );
    assert!(clinic.cookie("session").is_some());
    assert!(
        !app.stored()
            .await
            .iter()
            .any(|item| format!("{item:?}").contains(PERSON_PASSWORD)),
        "the password is never stored"
    );
}

#[tokio::test]
async fn wrong_credentials_on_the_clinic_screen_count_toward_the_patients_lockout() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "lock@clinic.example").await;
    signed_in_person(&app.browser(), "lock.patient").await;
    let patient_id = create_patient(&clinic, "Lock Patient", "1990-06-15", None).await;
    let path = format!("/api/clinic/patients/{patient_id}/link/credentials");
    for _ in 0..5 {
        let response = clinic
            .post(&path, &json!({"username": "lock.patient", "password": "wrong wrong wrong 1", "consent": true}))
            .await;
        assert_error(response, 401, "invalid_credentials").await;
    }
    let response = app
        .browser()
        .post(
            "/api/personal/signin",
            &json!({"username": "lock.patient", "password": PERSON_PASSWORD}),
        )
        .await;
    assert_error(response, 429, "too_many_attempts").await;
}

#[tokio::test]
async fn revoking_stops_the_clinics_next_read_and_unlinking_ends_sharing() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "revoke").await;
    assert!(profile(&linked.clinic, &linked.patient_id).await["linked_account"].is_object());
    let response = linked
        .patient
        .send(
            Method::DELETE,
            &format!("/api/personal/sharing/{}", linked.clinic_id),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let after = profile(&linked.clinic, &linked.patient_id).await;
    assert_eq!(after["link"]["status"], "sharing_stopped");
    assert_eq!(after["link"]["by"], "Jordan Example");
    assert!(after["link"]["since"].is_string());
    assert_eq!(after["linked_account"], Value::Null);
    let again = linked
        .patient
        .send(
            Method::DELETE,
            &format!("/api/personal/sharing/{}", linked.clinic_id),
            None,
        )
        .await;
    assert_error(again, 404, "not_found").await;

    let second = linked_patient(&app, "unlink").await;
    let response = second
        .clinic
        .send(
            Method::DELETE,
            &format!("/api/clinic/patients/{}/link", second.patient_id),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let unlinked = profile(&second.clinic, &second.patient_id).await;
    assert_eq!(unlinked["link"]["status"], "unlinked");
    assert_eq!(unlinked["link"]["by"], "Sam Rivera");
    let (_, sharing) = status_and_json(second.patient.get("/api/personal/sharing").await).await;
    assert_eq!(sharing["clinics"], serde_json::json!([]));
    let log = actions(&second.patient, "/api/personal/audit").await;
    assert!(log.contains(&"unlinked".to_owned()), "{log:?}");
    let response = second
        .clinic
        .send(
            Method::DELETE,
            &format!("/api/clinic/patients/{}/link", second.patient_id),
            None,
        )
        .await;
    assert_error(response, 409, "not_linked").await;
}

#[tokio::test]
async fn a_linked_record_refuses_new_codes_and_a_person_links_once_per_clinic() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "once").await;
    let response = linked
        .clinic
        .send(
            Method::POST,
            &format!("/api/clinic/patients/{}/link/code", linked.patient_id),
            None,
        )
        .await;
    assert_error(response, 409, "already_linked").await;
    let other_record = create_patient(&linked.clinic, "Jordan Duplicate", "1990-06-15", None).await;
    let code = generate_code(&linked.clinic, &other_record).await;
    let response = linked
        .patient
        .post(
            "/api/personal/sharing/accept",
            &json!({"code": code["code"]}),
        )
        .await;
    let message = assert_error(response, 409, "already_linked").await;
    assert!(message.contains("already share"), "{message}");
}

#[tokio::test]
async fn the_profile_warns_when_the_linked_account_does_not_match_the_record() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "match@clinic.example").await;
    let patient_id = create_patient(&clinic, "Someone Different", "2001-01-01", None).await;
    let code = generate_code(&clinic, &patient_id).await;
    let patient = app.browser();
    signed_in_person(&patient, "mismatch").await;
    let before = app.stored().await;
    let refused = patient
        .post(
            "/api/personal/sharing/accept",
            &json!({"code": code["code"]}),
        )
        .await;
    let (status, body) = status_and_json(refused).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("identity_mismatch")),
        "{body}"
    );
    assert_eq!(body["error"]["differs"], json!(["name", "date_of_birth"]));
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("1 January 2001") && message.contains("15 June 1990"),
        "{message}"
    );
    assert_eq!(
        app.stored().await,
        before,
        "nothing linked, the code still pending"
    );
    let response = patient
        .post(
            "/api/personal/sharing/accept",
            &json!({"code": code["code"], "confirm_mismatch": true}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let linked = profile(&clinic, &patient_id).await;
    assert_eq!(
        linked["linked_account"]["mismatches"],
        json!(["name", "date_of_birth"])
    );
    assert_eq!(linked["link"]["identity"], "mismatch");
    assert_eq!(linked["link"]["differs"], json!(["name", "date_of_birth"]));
    let (_, list) = status_and_json(clinic.get("/api/clinic/patients").await).await;
    assert_eq!(list["patients"][0]["link"]["identity"], "mismatch");
}

#[tokio::test]
async fn declining_ends_the_request() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "decline@clinic.example").await;
    let patient_id = create_patient(&clinic, "Dee Cline", "1990-01-01", None).await;
    let code = generate_code(&clinic, &patient_id).await;
    let patient = app.browser();
    signed_in_person(&patient, "dee.cline").await;
    let response = patient
        .post(
            "/api/personal/sharing/decline",
            &json!({"code": code["code"]}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let declined = profile(&clinic, &patient_id).await;
    assert_eq!(declined["link"]["status"], "code_declined");
    assert_eq!(declined["link"]["by"], "Jordan Example");
    let response = patient
        .post(
            "/api/personal/sharing/accept",
            &json!({"code": code["code"]}),
        )
        .await;
    assert_error(response, 410, "code_cancelled").await;
}

#[tokio::test]
async fn clinicians_cannot_read_the_clinic_audit_log_but_admins_can() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "audit@clinic.example").await;
    assert_eq!(
        app.user.get("/api/clinic/audit").await.status().as_u16(),
        200
    );
    assert_error(
        app.user.get("/api/clinic/audit?cursor=nope").await,
        400,
        "invalid_cursor",
    )
    .await;
}
