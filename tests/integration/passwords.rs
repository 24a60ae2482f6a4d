//! "Forgot password?": reset links by email and SMS for both kinds of account, single use, newest only,
//! 30 minutes, the same answer whether or not an account exists, every session ended, audited.

use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{
    Browser, assert_error, spawn_app, spawn_app_on_cloud_services, status_and_json,
};
use crate::support::messages::{first_link, outbox_to, ses_messages_to, sms_to};
use crate::support::people::{
    CLINIC_PASSWORD, PERSON_PASSWORD, personal_sign_up, signed_in_clinic, signed_in_person,
};

const NEW_PASSWORD: &str = "juniper harbour kite 73";

/// Confirms a recovery contact with the link the outbox holds for it.
async fn confirm_contact(browser: &Browser, recipient: &str) {
    let token =
        crate::support::messages::link_token(browser, recipient, "/personal/verify-contact?token=")
            .await;
    let response = browser
        .post("/api/personal/verify-contact", &json!({"token": token}))
        .await;
    assert_eq!(response.status().as_u16(), 204, "confirm {recipient}");
}

/// The token of the newest reset link sent to `recipient` (email address or phone number).
async fn reset_token_sent_to(browser: &Browser, recipient: &str) -> String {
    let messages = outbox_to(browser, recipient).await;
    let text = messages
        .iter()
        .filter_map(|m| m["text"].as_str())
        .find(|t| t.contains("/reset?token="))
        .unwrap_or_else(|| panic!("no reset link sent to {recipient}: {messages:?}"));
    token_of(&first_link(text))
}

/// The texts of the reset messages sent to `recipient`, newest first.
async fn resets_sent_to(browser: &Browser, recipient: &str) -> Vec<String> {
    outbox_to(browser, recipient)
        .await
        .iter()
        .filter_map(|m| m["text"].as_str())
        .filter(|t| t.contains("/reset?token="))
        .map(str::to_owned)
        .collect()
}

fn token_of(link: &str) -> String {
    link.rsplit("token=").next().expect("token").to_owned()
}

async fn ask(browser: &Browser, path: &str, body: Value) -> Value {
    let (status, answer) = status_and_json(browser.post(path, &body).await).await;
    assert_eq!(status, 202, "{answer}");
    answer
}

async fn complete(browser: &Browser, token: &str, password: &str) -> reqwest::Response {
    browser
        .post(
            "/api/password-reset",
            &json!({"token": token, "password": password}),
        )
        .await
}

async fn status_of(browser: &Browser, path: &str) -> u16 {
    browser.get(path).await.status().as_u16()
}

#[tokio::test]
async fn a_clinic_user_resets_their_password_by_email_and_every_session_ends() {
    let app = spawn_app().await;
    let at_work = app.browser();
    signed_in_clinic(&at_work, "lee@reset.example").await;
    assert_eq!(status_of(&at_work, "/api/me").await, 200);

    let at_home = app.browser();
    let known = ask(
        &at_home,
        "/api/clinic/password-reset",
        json!({"email": "Lee@Reset.example"}),
    )
    .await;
    let unknown = ask(
        &at_home,
        "/api/clinic/password-reset",
        json!({"email": "nobody@reset.example"}),
    )
    .await;
    assert_eq!(
        known, unknown,
        "the answer must not tell whether an account exists"
    );
    assert!(outbox_to(&at_home, "nobody@reset.example").await.is_empty());

    let messages = resets_sent_to(&at_home, "lee@reset.example").await;
    assert_eq!(messages.len(), 1);
    let text = messages[0].as_str();
    assert!(text.contains("30 minutes"), "{text}");
    let link = first_link(text);
    assert!(
        link.starts_with(&format!("{}/reset?token=", app.base)),
        "{link}"
    );
    let token = token_of(&link);
    assert!(text.contains(&format!("Reset token (if the link does not open): {token}")));

    let response = complete(&at_home, &token, NEW_PASSWORD).await;
    assert_eq!(response.status().as_u16(), 204);
    // The session at work has ended; the old password no longer works, the new one does.
    assert_eq!(status_of(&at_work, "/api/me").await, 401);
    let sign_in = |password: &str| json!({"email": "lee@reset.example", "password": password});
    assert_error(
        at_home
            .post("/api/clinic/signin", &sign_in(CLINIC_PASSWORD))
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    let (status, _) = status_and_json(
        at_home
            .post("/api/clinic/signin", &sign_in(NEW_PASSWORD))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    // Single use.
    assert_error(
        complete(&at_home, &token, "another fine pass phrase 9").await,
        400,
        "invalid_token",
    )
    .await;
    // Audited in the clinic's log.
    let (_, log) = status_and_json(at_home.get("/api/clinic/audit").await).await;
    let actions: Vec<&str> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"password_reset_requested"), "{actions:?}");
    assert!(actions.contains(&"password_reset"), "{actions:?}");
}

#[tokio::test]
async fn a_patient_resets_by_username_email_or_phone_and_only_the_newest_link_works() {
    let app = spawn_app().await;
    let own = app.browser();
    signed_in_person(&own, "robin.reset").await;
    // The phone is confirmed too (signing up confirmed the email): only confirmed contacts get links.
    confirm_contact(&own, "+447700900123").await;
    let other = app.browser();

    // By username: the link goes to the account's email.
    ask(
        &other,
        "/api/personal/password-reset",
        json!({"username": "Robin.Reset"}),
    )
    .await;
    let by_email = reset_token_sent_to(&other, "robin.reset@example.net").await;
    // By phone: a text message; the emailed link stops working.
    ask(
        &other,
        "/api/personal/password-reset",
        json!({"phone": "+44 7700 900123"}),
    )
    .await;
    let by_sms = reset_token_sent_to(&other, "+447700900123").await;
    let sms = outbox_to(&other, "+447700900123").await;
    assert!(
        sms[0]["text"]
            .as_str()
            .expect("text")
            .contains("robin.reset")
    );
    assert_error(
        complete(&other, &by_email, NEW_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;

    assert_eq!(
        complete(&other, &by_sms, NEW_PASSWORD)
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(status_of(&own, "/api/me").await, 401);
    let (status, _) = status_and_json(
        other
            .post(
                "/api/personal/signin",
                &json!({"username": "robin.reset", "password": NEW_PASSWORD}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (_, log) = status_and_json(other.get("/api/personal/audit").await).await;
    let actions: Vec<&str> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"password_reset"), "{actions:?}");
}

#[tokio::test]
async fn one_recovery_email_of_two_accounts_gets_a_link_for_each() {
    let app = spawn_app().await;
    let parent = app.browser();
    for username in ["alex.family", "sam.family"] {
        let mut body = personal_sign_up(username);
        body["email"] = json!("parent@family.example");
        let browser = app.browser();
        let (status, answer) =
            status_and_json(browser.post("/api/personal/signup", &body).await).await;
        assert_eq!(status, 201, "{answer}");
        confirm_contact(&browser, "parent@family.example").await;
    }
    ask(
        &parent,
        "/api/personal/password-reset",
        json!({"email": "parent@family.example"}),
    )
    .await;
    let messages: Vec<_> = outbox_to(&parent, "parent@family.example")
        .await
        .into_iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| t.contains("/reset?token="))
        })
        .collect();
    assert_eq!(messages.len(), 2);
    let texts: Vec<&str> = messages.iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("alex.family")));
    assert!(texts.iter().any(|t| t.contains("sam.family")));
    // Each link resets its own account only.
    let alex = texts
        .iter()
        .find(|t| t.contains("alex.family"))
        .map(|t| token_of(&first_link(t)))
        .expect("alex's link");
    assert_eq!(
        complete(&parent, &alex, NEW_PASSWORD)
            .await
            .status()
            .as_u16(),
        204
    );
    let sign_in =
        |username: &str, password: &str| json!({"username": username, "password": password});
    let (status, _) = status_and_json(
        parent
            .post(
                "/api/personal/signin",
                &sign_in("sam.family", PERSON_PASSWORD),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "the other account keeps its password");
}

#[tokio::test]
async fn a_reset_link_expires_after_30_minutes_and_changes_nothing() {
    let app = spawn_app().await;
    let browser = app.browser();
    signed_in_person(&browser, "late.reader").await;
    ask(
        &browser,
        "/api/personal/password-reset",
        json!({"username": "late.reader"}),
    )
    .await;
    let token = reset_token_sent_to(&browser, "late.reader@example.net").await;
    app.advance(SignedDuration::from_mins(31));
    let before = app.stored_data().await;
    let message = assert_error(
        complete(&browser, &token, NEW_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;
    assert!(message.contains("Ask for a new one"), "{message}");
    assert_eq!(app.stored_data().await, before);
}

#[tokio::test]
async fn bad_reset_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let browser = app.browser();
    signed_in_person(&browser, "careful.typist").await;
    ask(
        &browser,
        "/api/personal/password-reset",
        json!({"username": "careful.typist"}),
    )
    .await;
    let token = reset_token_sent_to(&browser, "careful.typist@example.net").await;
    let before = app.stored_data().await;

    let refused: Vec<(&str, Value, &str)> = vec![
        (
            "/api/password-reset",
            json!({"token": "A".repeat(43), "password": NEW_PASSWORD}),
            "invalid_token",
        ),
        (
            "/api/password-reset",
            json!({"token": "short", "password": NEW_PASSWORD}),
            "invalid_token",
        ),
        (
            "/api/password-reset",
            json!({"token": token, "password": "short"}),
            "weak_password",
        ),
        (
            "/api/password-reset",
            json!({"token": token}),
            "missing_field",
        ),
        (
            "/api/password-reset",
            json!({"token": token, "password": NEW_PASSWORD, "extra": 1}),
            "unknown_field",
        ),
        ("/api/personal/password-reset", json!({}), "missing_field"),
        (
            "/api/personal/password-reset",
            json!({"username": "careful.typist", "email": "a@b.example"}),
            "one_field",
        ),
        (
            "/api/personal/password-reset",
            json!({"email": "not an email"}),
            "invalid_email",
        ),
        (
            "/api/personal/password-reset",
            json!({"phone": "12"}),
            "invalid_phone",
        ),
        (
            "/api/clinic/password-reset",
            json!({"email": ""}),
            "invalid_email",
        ),
        (
            "/api/clinic/password-reset",
            json!({"username": "x"}),
            "unknown_field",
        ),
    ];
    for (path, body, code) in refused {
        let (status, answer) = status_and_json(browser.post(path, &body).await).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{path} {body}: {answer}");
    }
    assert_eq!(
        app.stored_data().await,
        before,
        "a refused request stores nothing"
    );
    // The weak password did not spend the link.
    assert_eq!(
        complete(&browser, &token, NEW_PASSWORD)
            .await
            .status()
            .as_u16(),
        204
    );
}

#[tokio::test]
async fn asking_is_limited_per_account_alike_whether_or_not_it_exists() {
    let app = spawn_app().await;
    let browser = app.browser();
    signed_in_clinic(&browser, "busy@limit.example").await;
    for email in ["busy@limit.example", "ghost@limit.example"] {
        for _ in 0..5 {
            ask(
                &browser,
                "/api/clinic/password-reset",
                json!({"email": email}),
            )
            .await;
        }
        let response = browser
            .send(
                Method::POST,
                "/api/clinic/password-reset",
                Some(&json!({"email": email})),
            )
            .await;
        let message = assert_error(response, 429, "too_many_attempts").await;
        assert!(
            message.starts_with("Too many attempts. Try again in ") && !message.contains("second"),
            "humane words: {message}"
        );
    }
    assert_eq!(
        resets_sent_to(&browser, "busy@limit.example").await.len(),
        5
    );
}

#[tokio::test]
async fn reset_links_go_through_ses_and_sns() {
    let app = spawn_app_on_cloud_services().await;
    let browser = app.browser();
    // moto keeps what every earlier run sent: a fresh address, and only the new text counts.
    let email = format!("cloud.reset.{}@ses.example", ulid::Ulid::new()).to_lowercase();
    let phone = "+447700900777";
    let texts_before = sms_to(phone).await.len();
    let mut body = personal_sign_up("cloud.reset");
    body["email"] = json!(email);
    body["phone"] = json!(phone);
    let (status, answer) = status_and_json(browser.post("/api/personal/signup", &body).await).await;
    assert_eq!(status, 201, "{answer}");
    // Sign-up sent a confirmation to each contact, through SES and SNS; following them confirms both.
    let confirmations = ses_messages_to(&email).await;
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    assert_eq!(
        confirmations[0]["subject"],
        "Confirm your glucolink recovery email"
    );
    let texts = sms_to(phone).await;
    assert_eq!(texts.len(), texts_before + 1, "{texts:?}");
    for text in [
        confirmations[0]["body"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        texts[texts.len() - 1].clone(),
    ] {
        let token: String = text
            .split("verify-contact?token=")
            .nth(1)
            .map(|rest| rest.chars().take(43).collect())
            .unwrap_or_else(|| panic!("no confirmation link in {text}"));
        let response = browser
            .post("/api/personal/verify-contact", &json!({"token": token}))
            .await;
        assert_eq!(response.status().as_u16(), 204, "{text}");
    }
    let texts_before = texts.len();
    ask(
        &browser,
        "/api/personal/password-reset",
        json!({"username": "cloud.reset"}),
    )
    .await;
    let emails = ses_messages_to(&email).await;
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert_eq!(emails[1]["subject"], "Reset your glucolink password");
    ask(
        &browser,
        "/api/personal/password-reset",
        json!({"phone": phone}),
    )
    .await;
    let texts = sms_to(phone).await;
    assert_eq!(texts.len(), texts_before + 1, "{texts:?}");
    let token = token_of(&first_link(texts.last().expect("the new text")));
    assert_eq!(
        complete(&browser, &token, NEW_PASSWORD)
            .await
            .status()
            .as_u16(),
        204
    );
}
