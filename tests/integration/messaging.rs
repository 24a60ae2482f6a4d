//! Sharing a code by Email, SMS Text or Print, and Upload now: through the local outbox, and through
//! SES v2 and SNS in moto, reading back what was sent.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{
    TestApp, assert_error, spawn_app, spawn_app_on_cloud_services, status_and_json,
};
use crate::support::messages::{
    first_link, outbox_but_confirmations, outbox_to, ses_messages_to, sms_to,
};
use crate::support::people::{
    create_patient, generate_code, linked_patient, replace_code, signed_in_clinic, signed_in_person,
};

async fn send(
    clinic: &crate::support::app::Browser,
    patient_id: &str,
    body: Value,
) -> reqwest::Response {
    clinic
        .post(
            &format!("/api/clinic/patients/{patient_id}/link/code/send"),
            &body,
        )
        .await
}

#[tokio::test]
async fn an_emailed_code_lands_in_the_outbox_and_its_link_opens_the_request() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "mail@clinic.example").await;
    let patient_id = create_patient(&clinic, "Pat Mail", "1980-01-01", None).await;
    let shown = generate_code(&clinic, &patient_id).await;
    let response = send(
        &clinic,
        &patient_id,
        json!({"channel": "email", "to": "pat.mail@example.net", "code": shown["code"]}),
    )
    .await;
    let (status, sent) = status_and_json(response).await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(
        sent["code"], shown["code"],
        "the code on screen is the one sent"
    );

    let messages = outbox_to(&clinic, "pat.mail@example.net").await;
    assert_eq!(messages.len(), 1);
    let text = messages[0]["text"].as_str().expect("text");
    assert!(
        messages[0]["subject"]
            .as_str()
            .expect("subject")
            .contains("Northgate Diabetes Centre")
    );
    assert!(text.contains(shown["code"].as_str().expect("code")));
    let link = first_link(text);
    assert_eq!(link, shown["accept_url"]);
    let code = link.rsplit("code=").next().expect("code in link");

    let patient = app.browser();
    signed_in_person(&patient, "pat.mail").await;
    let (status, preview) = status_and_json(
        patient
            .post("/api/personal/sharing/lookup", &json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let (_, log) = status_and_json(clinic.get("/api/clinic/audit").await).await;
    let sent_event = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "link_code_sent")
        .cloned()
        .expect("sent event");
    assert!(
        sent_event["detail"]
            .as_str()
            .expect("detail")
            .contains("p***@example.net"),
        "recipients are masked in the log"
    );
}

#[tokio::test]
async fn sending_without_the_shown_code_shares_the_pending_one_and_a_stale_code_is_refused() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "fresh@clinic.example").await;
    let patient_id = create_patient(&clinic, "Pat Sms", "1980-01-01", None).await;
    let first = generate_code(&clinic, &patient_id).await;
    let (status, sent) = status_and_json(
        send(
            &clinic,
            &patient_id,
            json!({"channel": "sms", "to": "+447700900999"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(
        sent["code"], first["code"],
        "the code the patient may already hold"
    );
    let texts = outbox_to(&clinic, "+447700900999").await;
    assert!(
        texts[0]["text"]
            .as_str()
            .expect("text")
            .contains(sent["code"].as_str().expect("code"))
    );
    let current = replace_code(&clinic, &patient_id).await;
    let told = outbox_to(&clinic, "+447700900999").await;
    assert!(
        told.iter().any(|m| m["text"]
            .as_str()
            .is_some_and(|t| t.contains("no longer works"))),
        "whoever received the replaced code is told: {told:?}"
    );
    assert_ne!(current["code"], first["code"]);
    let before = app.stored().await;
    let stale = send(
        &clinic,
        &patient_id,
        json!({"channel": "sms", "to": "+447700900999", "code": first["code"]}),
    )
    .await;
    assert_error(stale, 409, "no_pending_code").await;
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn sending_refuses_bad_channels_and_addresses_and_stores_nothing() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "badsend@clinic.example").await;
    let patient_id = create_patient(&clinic, "Pat Bad", "1980-01-01", None).await;
    let cases = [
        (
            json!({"channel": "fax", "to": "123"}),
            400,
            "invalid_channel",
        ),
        (
            json!({"channel": "email", "to": "not-an-address"}),
            400,
            "invalid_email",
        ),
        (
            json!({"channel": "sms", "to": "0770090012"}),
            400,
            "invalid_phone",
        ),
        (json!({"channel": "sms"}), 400, "missing_field"),
        (
            json!({"channel": "email", "to": "a@b.example", "cc": "x"}),
            400,
            "unknown_field",
        ),
        (
            json!({"channel": "email", "to": "a@b.example", "code": "nonsense"}),
            400,
            "code_malformed",
        ),
    ];
    for (body, status, code) in cases {
        let before = app.stored().await;
        assert_error(send(&clinic, &patient_id, body).await, status, code).await;
        assert_eq!(app.stored().await, before, "{code}");
    }
    assert!(outbox_to(&clinic, "a@b.example").await.is_empty());
}

#[tokio::test]
async fn the_printable_page_shows_the_pending_code_with_a_qr_code() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "print@clinic.example").await;
    let patient_id = create_patient(&clinic, "Pat <Print>", "1980-01-01", None).await;
    let shown = generate_code(&clinic, &patient_id).await;
    let code = shown["code"].as_str().expect("code");
    let response = clinic
        .get(&format!(
            "/api/clinic/patients/{patient_id}/link/code/print?code={code}"
        ))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let page = response.text().await.expect("page");
    assert!(page.contains(code) && page.contains("<svg") && page.contains("Data Sharing"));
    assert!(page.contains("Pat &lt;Print&gt;"), "names are escaped");
    assert!(page.contains("adjunct"));

    let pending = clinic
        .get(&format!(
            "/api/clinic/patients/{patient_id}/link/code/print"
        ))
        .await;
    assert_eq!(
        pending.status().as_u16(),
        200,
        "without ?code= the pending code prints"
    );
    assert!(pending.text().await.expect("page").contains(code));
    let other = replace_code(&clinic, &patient_id).await;
    assert_ne!(other["code"], shown["code"]);
    let stale = clinic
        .get(&format!(
            "/api/clinic/patients/{patient_id}/link/code/print?code={code}"
        ))
        .await;
    assert_error(stale, 409, "no_pending_code").await;
}

#[tokio::test]
async fn upload_now_goes_to_the_linked_account_and_shows_on_the_profile() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "upload").await;
    let path = format!("/api/clinic/patients/{}/upload-request", linked.patient_id);
    let (status, body) = status_and_json(
        linked
            .clinic
            .post(&path, &json!({"channel": "email"}))
            .await,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let messages = outbox_but_confirmations(&linked.clinic, "upload.patient@example.net").await;
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]["text"]
            .as_str()
            .expect("text")
            .contains("Upload now")
    );
    let (status, body) =
        status_and_json(linked.clinic.post(&path, &json!({"channel": "sms"})).await).await;
    assert_eq!(status, 202, "to the account's phone: {body}");
    let texts = outbox_but_confirmations(&linked.clinic, "+447700900123").await;
    assert_eq!(texts.len(), 1);
    let (_, profile) = status_and_json(
        linked
            .clinic
            .get(&format!("/api/clinic/patients/{}", linked.patient_id))
            .await,
    )
    .await;
    assert_eq!(profile["upload_request"]["channel"], "sms");
    let (_, log) = status_and_json(linked.patient.get("/api/personal/audit").await).await;
    assert!(
        log["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "upload_requested")
    );
}

#[tokio::test]
async fn upload_now_needs_a_linked_record_and_a_valid_channel() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "nolink@clinic.example").await;
    let patient_id = create_patient(&clinic, "Pat Nolink", "1980-01-01", None).await;
    let path = format!("/api/clinic/patients/{patient_id}/upload-request");
    let before = app.stored().await;
    assert_error(
        clinic.post(&path, &json!({"channel": "email"})).await,
        409,
        "not_linked",
    )
    .await;
    assert_error(
        clinic.post(&path, &json!({"channel": "pigeon"})).await,
        400,
        "invalid_channel",
    )
    .await;
    assert_error(
        clinic
            .post(&path, &json!({"channel": "email", "to": "nope"}))
            .await,
        400,
        "invalid_email",
    )
    .await;
    assert_error(clinic.post(&path, &json!({})).await, 400, "missing_field").await;
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn the_outbox_exists_only_in_the_local_route_table() {
    let cloud_routes: Vec<_> = glucolink_api::ROUTES
        .iter()
        .filter(|r| !r.local_only)
        .map(|r| r.path)
        .collect();
    assert!(!cloud_routes.contains(&"/api/dev/outbox"));
    let app = spawn_app().await;
    assert_eq!(app.user.get("/api/dev/outbox").await.status().as_u16(), 200);
}

async fn cloud_sends(app: TestApp) {
    let clinic = app.browser();
    signed_in_clinic(
        &clinic,
        &format!(
            "{}@cloud.example",
            ulid::Ulid::new().to_string().to_lowercase()
        ),
    )
    .await;
    let patient_id = create_patient(&clinic, "Pat Cloud", "1980-01-01", None).await;
    let recipient = format!(
        "{}@patients.example",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let (status, sent) = status_and_json(
        send(
            &clinic,
            &patient_id,
            json!({"channel": "email", "to": recipient}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let emails = ses_messages_to(&recipient).await;
    assert_eq!(emails.len(), 1, "SES received the email");
    assert!(
        emails[0]["subject"]
            .as_str()
            .expect("subject")
            .contains("asks to see your diabetes data")
    );
    assert!(
        emails[0]["body"]
            .as_str()
            .expect("body")
            .contains(sent["code"].as_str().expect("code"))
    );
    assert_eq!(emails[0]["source"], crate::support::messages::SENDER);

    let number = format!("+4477009{:05}", ulid::Ulid::new().random() % 100_000);
    let (status, sent) = status_and_json(
        send(
            &clinic,
            &patient_id,
            json!({"channel": "sms", "to": number}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let texts = sms_to(&number).await;
    assert_eq!(texts.len(), 1, "SNS received the SMS");
    assert!(texts[0].contains(sent["accept_url"].as_str().expect("url")));
    let response = clinic
        .send(
            Method::DELETE,
            &format!("/api/clinic/patients/{patient_id}/link/code"),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
}

#[tokio::test]
async fn in_the_cloud_configuration_email_goes_through_ses_and_sms_through_sns() {
    cloud_sends(spawn_app_on_cloud_services().await).await;
}

#[tokio::test]
async fn phone_numbers_are_read_as_dialled_in_the_clinics_country_and_refused_without_one() {
    let app = spawn_app().await;
    let clinic = &app.user;
    signed_in_clinic(clinic, "country@clinic.example").await;
    let patient_id = create_patient(clinic, "Nat Ional", "1980-01-01", None).await;
    generate_code(clinic, &patient_id).await;
    let national = json!({"channel": "sms", "to": "(201) 555-0123"});

    // Without a country, a number without + cannot be read with certainty.
    let before = app.stored().await;
    assert_error(
        send(clinic, &patient_id, national.clone()).await,
        400,
        "invalid_phone",
    )
    .await;
    for (settings, code) in [
        (json!({"country": "USA"}), "invalid_country"),
        (json!({"country": "XX"}), "invalid_country"),
        (json!({"country": 1}), "invalid_type"),
    ] {
        assert_error(
            clinic
                .send(Method::PUT, "/api/clinic/settings", Some(&settings))
                .await,
            400,
            code,
        )
        .await;
    }
    assert_eq!(app.stored().await, before, "refusals store nothing");

    let (status, body) = status_and_json(
        clinic
            .send(
                Method::PUT,
                "/api/clinic/settings",
                Some(&json!({"country": "us"})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, body["country"].as_str()),
        (200, Some("US")),
        "{body}"
    );
    let (status, sent) = status_and_json(send(clinic, &patient_id, national).await).await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(
        outbox_to(clinic, "+12015550123").await.len(),
        1,
        "sent in E.164 form"
    );
    assert_error(
        send(
            clinic,
            &patient_id,
            json!({"channel": "sms", "to": "07400 123456"}),
        )
        .await,
        400,
        "invalid_phone",
    )
    .await;

    let (status, body) = status_and_json(
        clinic
            .send(
                Method::PUT,
                "/api/clinic/settings",
                Some(&json!({"country": ""})),
            )
            .await,
    )
    .await;
    assert_eq!((status, &body["country"]), (200, &Value::Null), "{body}");
}

#[tokio::test]
async fn a_patient_signs_up_with_a_phone_number_as_dialled_at_home() {
    let app = spawn_app().await;
    let body = |country: &str, phone: &str| {
        json!({"username": format!("home.{}", country.to_lowercase()), "password": "saffron tide lantern 29",
               "name": "Pat Home", "phone": phone, "country": country})
    };
    let before = app.stored().await;
    assert_error(
        app.user
            .post("/api/personal/signup", &body("ZZ", "(201) 555-0123"))
            .await,
        400,
        "invalid_country",
    )
    .await;
    assert_error(
        app.user
            .post("/api/personal/signup", &body("US", "555-0123"))
            .await,
        400,
        "invalid_phone",
    )
    .await;
    assert_eq!(app.stored().await, before);
    let (status, created) = status_and_json(
        app.user
            .post("/api/personal/signup", &body("US", "(201) 555-0123"))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["phone"], "+12015550123");
}
