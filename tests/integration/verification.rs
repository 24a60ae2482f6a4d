//! Verified clinics: a new clinic verifies its admin's email before it can work with patients; the
//! operator's join mode (open, domains, invite); clinics the operator adds; patients see how a clinic
//! was verified.

use glucolink_core::account::verify::{self, JoinPolicy};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{
    Browser, assert_error, spawn_app, spawn_app_where_clinics_join, status_and_json,
};
use crate::support::messages::{first_link, outbox_to, verification_token, verify_clinic};
use crate::support::people::{
    clinic_sign_up, create_patient, generate_code, personal_sign_up, signed_in_person,
    signed_in_unverified_clinic,
};

async fn me(browser: &Browser) -> Value {
    let (status, body) = status_and_json(browser.get("/api/me").await).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_new_clinic_works_with_patients_only_once_its_email_is_verified() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_unverified_clinic(&clinic, "admin@northgate.example").await;
    assert_eq!(me(&clinic).await["clinic_verification"], "pending");
    let email = outbox_to(&clinic, "admin@northgate.example").await;
    assert_eq!(email.len(), 1);
    let text = email[0]["text"].as_str().expect("text");
    assert!(
        first_link(text).starts_with(&format!("{}/verify?token=", app.base)),
        "{text}"
    );
    assert!(text.contains("Verification token (if the link does not open): "));

    // Every patient, linking, message and report route waits for verification; nothing is stored.
    let before = app.stored_data().await;
    let some_id = "01JD0000000000000000000000";
    let refused: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/clinic/patients".into(), None),
        (
            Method::POST,
            "/api/clinic/patients".into(),
            Some(json!({"name": "Ada Early", "date_of_birth": "1980-01-01"})),
        ),
        (Method::GET, format!("/api/clinic/patients/{some_id}"), None),
        (
            Method::PUT,
            format!("/api/clinic/patients/{some_id}"),
            Some(json!({"name": "X"})),
        ),
        (
            Method::POST,
            format!("/api/clinic/patients/{some_id}/link/code"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/clinic/patients/{some_id}/link/code/send"),
            Some(json!({"channel": "email", "to": "a@b.example", "code": "ABCDEFGHJK"})),
        ),
        (
            Method::POST,
            format!("/api/clinic/patients/{some_id}/link/credentials"),
            Some(json!({"username": "x", "password": "y", "consent": true})),
        ),
        (
            Method::POST,
            format!("/api/clinic/patients/{some_id}/upload-request"),
            Some(json!({"channel": "email"})),
        ),
        (
            Method::GET,
            format!("/api/clinic/patients/{some_id}/report"),
            None,
        ),
        (
            Method::GET,
            format!("/api/clinic/patients/{some_id}/overview"),
            None,
        ),
        (
            Method::GET,
            format!("/api/clinic/patients/{some_id}/data"),
            None,
        ),
        (Method::GET, "/api/clinic/patients/export.csv".into(), None),
        (
            Method::POST,
            "/api/clinic/reports/batch".into(),
            Some(json!({"patient_ids": [some_id]})),
        ),
        (
            Method::POST,
            "/api/clinic/staff/invitations".into(),
            Some(json!({"email": "c@northgate.example", "role": "clinician"})),
        ),
    ];
    for (method, path, body) in refused {
        let response = clinic.send(method.clone(), &path, body.as_ref()).await;
        let message = assert_error(response, 403, "email_unverified").await;
        assert!(
            message.contains("Verify your clinic's email"),
            "{method} {path}: {message}"
        );
    }
    assert_eq!(
        app.stored_data().await,
        before,
        "nothing stored before verification"
    );
    // What an unverified clinic still can do: see itself, its staff, its log; change its settings.
    for path in ["/api/me", "/api/clinic/staff", "/api/clinic/audit"] {
        assert_eq!(clinic.get(path).await.status().as_u16(), 200, "{path}");
    }

    // "Send the link again", then the newest link verifies the clinic; following it again is fine.
    let (status, answer) = status_and_json(
        clinic
            .send(Method::POST, "/api/clinic/verification-email", None)
            .await,
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(outbox_to(&clinic, "admin@northgate.example").await.len(), 2);
    let token = verification_token(&clinic, "admin@northgate.example").await;
    let visitor = app.browser();
    for _ in 0..2 {
        let response = visitor
            .post("/api/clinic/verify-email", &json!({"token": token}))
            .await;
        assert_eq!(response.status().as_u16(), 204);
    }
    let now = me(&clinic).await;
    assert_eq!(now["clinic_verification"], "email");
    assert_eq!(
        now["clinic_verified_as"],
        "Verified: its administrator receives email at northgate.example"
    );
    assert_error(
        clinic
            .send(Method::POST, "/api/clinic/verification-email", None)
            .await,
        409,
        "already_verified",
    )
    .await;

    // Now it works, and a patient sees how the clinic was verified before accepting.
    let patient_id = create_patient(&clinic, "Ada Early", "1980-01-01", None).await;
    let code = generate_code(&clinic, &patient_id).await;
    let patient = app.browser();
    signed_in_person(&patient, "ada.early").await;
    let (status, request) = status_and_json(
        patient
            .post(
                "/api/personal/sharing/lookup",
                &json!({"code": code["code"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{request}");
    assert_eq!(
        request["clinic_verified_as"],
        "Verified: its administrator receives email at northgate.example"
    );
    let (_, log) =
        status_and_json(clinic.get("/api/clinic/audit?action=clinic_verified").await).await;
    assert_eq!(log["events"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn bad_verification_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_unverified_clinic(&clinic, "careful@verify.example").await;
    let before = app.stored_data().await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"token": "A".repeat(43)}),
            410,
            "verification_invalid",
        ),
        (json!({"token": "short"}), 410, "verification_invalid"),
        (json!({}), 400, "missing_field"),
        (json!({"token": 7}), 400, "invalid_type"),
        (json!({"token": "x", "clinic": "y"}), 400, "unknown_field"),
    ];
    for (body, status, code) in cases {
        assert_error(
            clinic.post("/api/clinic/verify-email", &body).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(app.stored_data().await, before);
    assert_eq!(me(&clinic).await["clinic_verification"], "pending");
    // A personal account cannot ask for a clinic's link.
    let person = app.browser();
    signed_in_person(&person, "not.a.clinic").await;
    assert_error(
        person
            .send(Method::POST, "/api/clinic/verification-email", None)
            .await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn in_invite_mode_nobody_registers_a_clinic_and_the_operator_adds_one() {
    let app = spawn_app_where_clinics_join(JoinPolicy::Invite).await;
    let browser = app.browser();
    let before = app.stored_data().await;
    let message = assert_error(
        browser
            .post(
                "/api/clinic/signup",
                &clinic_sign_up("hopeful@clinic.example"),
            )
            .await,
        403,
        "signup_by_invitation",
    )
    .await;
    assert!(
        message.contains("by invitation from its operator"),
        "{message}"
    );
    assert_eq!(app.stored_data().await, before);
    // Patients still sign up as usual.
    let (status, _) = status_and_json(
        browser
            .post("/api/personal/signup", &personal_sign_up("still.welcome"))
            .await,
    )
    .await;
    assert_eq!(status, 201);

    // The operator adds a clinic; its first admin joins from the emailed invitation.
    let ctx = app.ctx.as_ref().expect("local app");
    let (clinic, _) =
        verify::add_clinic(ctx, "Hillside Practice", "lead@hillside.example", &app.base)
            .await
            .expect("operator adds a clinic");
    assert_eq!(clinic.verification.kind(), "operator");
    let invitation = outbox_to(&browser, "lead@hillside.example").await;
    let link = first_link(invitation[0]["text"].as_str().expect("text"));
    let token = link.rsplit("token=").next().expect("token");
    let admin = app.browser();
    let (status, joined) = status_and_json(
        admin
            .post(
                "/api/clinic/staff/invitations/accept",
                &json!({"token": token, "name": "Lee Lead", "password": "granite orchard pepper 41"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{joined}");
    let now = me(&admin).await;
    assert_eq!(now["role"], "admin");
    assert_eq!(now["clinic_name"], "Hillside Practice");
    assert_eq!(now["clinic_verification"], "operator");
    create_patient(&admin, "First Patient", "1990-01-01", None).await;
    // A second clinic for the same address: its login is invited, and joins with its password.
    let (second, invitation) =
        verify::add_clinic(ctx, "Hillside East", "lead@hillside.example", &app.base)
            .await
            .expect("operator adds a second clinic");
    assert!(invitation.existing_login);
    let messages = outbox_to(&browser, "lead@hillside.example").await;
    let text = messages
        .iter()
        .find_map(|m| m["text"].as_str().filter(|t| t.contains("Hillside East")))
        .expect("the second invitation");
    let link = first_link(text);
    let token = link.rsplit("token=").next().expect("token");
    let (status, joined) = status_and_json(
        admin
            .post(
                "/api/clinic/staff/invitations/join",
                &json!({"token": token}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["clinic_id"], second.id.to_string());
    assert_eq!(
        me(&admin).await["clinics"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn in_domains_mode_only_listed_domains_register_a_clinic() {
    let app = spawn_app_where_clinics_join(JoinPolicy::Domains(vec!["nhs.example".into()])).await;
    let outsider = app.browser();
    let before = app.stored_data().await;
    let message = assert_error(
        outsider
            .post(
                "/api/clinic/signup",
                &clinic_sign_up("someone@gmail.example"),
            )
            .await,
        403,
        "domain_not_allowed",
    )
    .await;
    assert!(message.contains("nhs.example"), "{message}");
    assert_eq!(app.stored_data().await, before);
    let insider = app.browser();
    signed_in_unverified_clinic(&insider, "Lead@NHS.example").await;
    verify_clinic(&insider, "lead@nhs.example").await;
    assert_eq!(me(&insider).await["clinic_verification"], "email");
}
