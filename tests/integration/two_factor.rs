//! Two-factor sign-in: enrolment with an authenticator app (the test computes its codes), sign-in
//! challenges, replayed and wrong codes, recovery codes, removal, the clinic's requirement, and linking
//! at the clinic's screen refused for an account with two factors.

use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};
use totp_rs::Totp;

use crate::support::app::{Browser, TestApp, assert_error, spawn_app, status_and_json};
use crate::support::messages::{first_link, outbox_to};
use crate::support::people::{
    CLINIC_PASSWORD, PERSON_PASSWORD, create_patient, signed_in_clinic, signed_in_person,
};

/// The authenticator app, which read the QR code's otpauth URI: its code at the test app's clock.
fn app_code(otpauth_uri: &str, app: &TestApp) -> String {
    let totp = Totp::from_url(otpauth_uri)
        .unwrap_or_else(|e| panic!("an app cannot read {otpauth_uri}: {e:?}"));
    totp.generate(u64::try_from(app.clock_now().as_second()).expect("after 1970"))
        .to_string()
}

async fn me(browser: &Browser) -> Value {
    status_and_json(browser.get("/api/me").await).await.1
}

/// Turns two-factor sign-in on for the signed-in account; returns the otpauth URI and the recovery codes.
async fn enrol(app: &TestApp, browser: &Browser) -> (String, Vec<String>) {
    let (status, started) =
        status_and_json(browser.send(Method::POST, "/api/me/totp", None).await).await;
    assert_eq!(status, 200, "{started}");
    let secret = started["secret"].as_str().expect("secret").to_owned();
    let uri = started["otpauth_uri"].as_str().expect("uri").to_owned();
    assert!(uri.starts_with("otpauth://totp/glucolink:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(started["qr_svg"].as_str().expect("qr").contains("<svg"));
    let (status, confirmed) = status_and_json(
        browser
            .post(
                "/api/me/totp/confirm",
                &json!({"code": app_code(&uri, app)}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    let codes: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), 10);
    (uri, codes)
}

/// Signs in with the password and expects a challenge; returns it.
async fn challenge(browser: &Browser, path: &str, body: Value) -> String {
    let (status, answer) = status_and_json(browser.post(path, &body).await).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "second_factor_required");
    answer["error"]["challenge"]
        .as_str()
        .expect("challenge")
        .to_owned()
}

async fn second_factor(browser: &Browser, challenge: &str, code: &str) -> (u16, Value) {
    status_and_json(
        browser
            .post(
                "/api/signin/second-factor",
                &json!({"challenge": challenge, "code": code}),
            )
            .await,
    )
    .await
}

#[tokio::test]
async fn staff_sign_in_with_an_app_code_once_and_recovery_codes_once() {
    let app = spawn_app().await;
    let browser = app.browser();
    signed_in_clinic(&browser, "two.factor@clinic.example").await;
    assert_eq!(me(&browser).await["two_factor"], false);
    let (authenticator, recovery) = enrol(&app, &browser).await;
    assert_eq!(me(&browser).await["two_factor"], true);
    // Starting again while it is on is refused.
    assert_error(
        browser.send(Method::POST, "/api/me/totp", None).await,
        409,
        "two_factor_on",
    )
    .await;

    let sign_in = json!({"email": "two.factor@clinic.example", "password": CLINIC_PASSWORD});
    let other = app.browser();
    app.advance(SignedDuration::from_secs(60));
    let first = challenge(&other, "/api/clinic/signin", sign_in.clone()).await;
    assert_eq!(
        other.get("/api/me").await.status().as_u16(),
        401,
        "no session before the code"
    );
    let (status, wrong) = second_factor(&other, &first, "000000").await;
    assert_eq!(
        (status, wrong["error"]["code"].as_str()),
        (400, Some("wrong_code"))
    );
    let code = app_code(&authenticator, &app);
    let (status, signed_in) = second_factor(&other, &first, &code).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["email"], "two.factor@clinic.example");
    assert_eq!(me(&other).await["kind"], "clinic_user");
    // The challenge is spent, and the same code does not work twice (a replay within its window).
    let (status, _) = second_factor(&other, &first, &code).await;
    assert_eq!(status, 410);
    let third = app.browser();
    let replay = challenge(&third, "/api/clinic/signin", sign_in.clone()).await;
    let (status, replayed) = second_factor(&third, &replay, &code).await;
    assert_eq!(
        (status, replayed["error"]["code"].as_str()),
        (400, Some("wrong_code"))
    );
    // A recovery code works once.
    let (status, _) = second_factor(&third, &replay, &recovery[0].to_lowercase()).await;
    assert_eq!(status, 200);
    let fourth = app.browser();
    let again = challenge(&fourth, "/api/clinic/signin", sign_in.clone()).await;
    let (status, _) = second_factor(&fourth, &again, &recovery[0]).await;
    assert_eq!(status, 400);
    // The next step's code works.
    app.advance(SignedDuration::from_secs(30));
    let (status, _) = second_factor(&fourth, &again, &app_code(&authenticator, &app)).await;
    assert_eq!(status, 200);

    // Audited.
    let (_, log) = status_and_json(browser.get("/api/clinic/audit").await).await;
    let actions: Vec<&str> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "two_factor_enabled",
        "two_factor_used",
        "recovery_code_used",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }

    // Removal needs a code; then the password alone signs in again.
    app.advance(SignedDuration::from_secs(30));
    assert_error(
        browser
            .send(
                Method::DELETE,
                "/api/me/totp",
                Some(&json!({"code": "123456"})),
            )
            .await,
        400,
        "wrong_code",
    )
    .await;
    let response = browser
        .send(
            Method::DELETE,
            "/api/me/totp",
            Some(&json!({"code": app_code(&authenticator, &app)})),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let (status, _) =
        status_and_json(app.browser().post("/api/clinic/signin", &sign_in).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn five_wrong_codes_end_the_challenge_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let browser = app.browser();
    signed_in_person(&browser, "careful.codes").await;
    // Confirming before starting, and a wrong first code, change nothing.
    let before = app.stored_data().await;
    assert_error(
        browser
            .post("/api/me/totp/confirm", &json!({"code": "123456"}))
            .await,
        409,
        "no_enrolment",
    )
    .await;
    assert_eq!(app.stored_data().await, before);
    let (status, started) =
        status_and_json(browser.send(Method::POST, "/api/me/totp", None).await).await;
    assert_eq!(status, 200);
    let authenticator = started["otpauth_uri"].as_str().expect("uri").to_owned();
    let before = app.stored_data().await;
    for (body, code) in [
        (json!({"code": "12345"}), "wrong_code"),
        (json!({"code": "abcdef"}), "wrong_code"),
        (json!({}), "missing_field"),
        (json!({"code": "123456", "more": 1}), "unknown_field"),
    ] {
        assert_error(browser.post("/api/me/totp/confirm", &body).await, 400, code).await;
    }
    assert_eq!(app.stored_data().await, before);
    assert_eq!(me(&browser).await["two_factor"], false);
    let (status, _) = status_and_json(
        browser
            .post(
                "/api/me/totp/confirm",
                &json!({"code": app_code(&authenticator, &app)}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);

    let sign_in = json!({"username": "careful.codes", "password": PERSON_PASSWORD});
    let other = app.browser();
    let token = challenge(&other, "/api/personal/signin", sign_in).await;
    for _ in 0..4 {
        let (status, _) = second_factor(&other, &token, "999999").await;
        assert_eq!(status, 400);
    }
    let (status, gone) = second_factor(&other, &token, "999999").await;
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (410, Some("challenge_expired"))
    );
    let (status, _) = second_factor(&other, &token, &app_code(&authenticator, &app)).await;
    assert_eq!(status, 410, "an ended challenge stays ended");
    for (body, status, code) in [
        (
            json!({"challenge": "forged", "code": "123456"}),
            410,
            "challenge_expired",
        ),
        (
            json!({"challenge": "A".repeat(43), "code": "123456"}),
            410,
            "challenge_expired",
        ),
        (json!({"challenge": token}), 400, "missing_field"),
    ] {
        assert_error(
            other.post("/api/signin/second-factor", &body).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(other.get("/api/me").await.status().as_u16(), 401);
}

#[tokio::test]
async fn a_clinic_can_require_two_factor_sign_in_of_all_staff() {
    let app = spawn_app().await;
    let admin = app.browser();
    signed_in_clinic(&admin, "lead@strict.example").await;
    let require = json!({"require_two_factor": true});
    assert_error(
        admin
            .send(Method::PUT, "/api/clinic/settings", Some(&require))
            .await,
        400,
        "two_factor_off",
    )
    .await;
    enrol(&app, &admin).await;
    let (status, saved) = status_and_json(
        admin
            .send(Method::PUT, "/api/clinic/settings", Some(&require))
            .await,
    )
    .await;
    assert_eq!(
        (status, saved["require_two_factor"].as_bool()),
        (200, Some(true))
    );

    // A colleague without two factors can sign in, but works with patients only once they set it up.
    let (status, _) = status_and_json(
        admin
            .post(
                "/api/clinic/staff/invitations",
                &json!({"email": "new@strict.example", "role": "clinician"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let invitation = outbox_to(&admin, "new@strict.example").await;
    let link = first_link(invitation[0]["text"].as_str().expect("text"));
    let colleague = app.browser();
    let (status, _) = status_and_json(
        colleague
            .post(
                "/api/clinic/staff/invitations/accept",
                &json!({"token": link.rsplit("token=").next(), "name": "Nia New", "password": "cobalt meadow lantern 90"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(me(&colleague).await["clinic_requires_two_factor"], true);
    let message = assert_error(
        colleague.get("/api/clinic/patients").await,
        403,
        "two_factor_setup_required",
    )
    .await;
    assert!(message.contains("Account security"), "{message}");
    enrol(&app, &colleague).await;
    create_patient(&colleague, "Strict Patient", "1970-05-05", None).await;
}

#[tokio::test]
async fn an_account_with_two_factors_is_not_linked_with_a_password_at_the_clinic() {
    let app = spawn_app().await;
    let patient = app.browser();
    signed_in_person(&patient, "guarded.patient").await;
    enrol(&app, &patient).await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "desk@guarded.example").await;
    let record = create_patient(&clinic, "Jordan Example", "1990-06-15", None).await;
    let message = assert_error(
        clinic
            .post(
                &format!("/api/clinic/patients/{record}/link/credentials"),
                &json!({"username": "guarded.patient", "password": PERSON_PASSWORD, "consent": true}),
            )
            .await,
        409,
        "two_factor_on",
    )
    .await;
    assert!(message.contains("Generate a unique code"), "{message}");
}
