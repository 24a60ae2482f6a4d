//! Recovery contacts of personal accounts: required at sign-up, confirmed by the link sent to each,
//! the only destinations of reset links once confirmed, sent again on request, and changed with the
//! password (a new contact waits for its own confirmation; an old link no longer confirms anything).

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{Browser, assert_error, spawn_app, status_and_json};
use crate::support::messages::{link_token, outbox_to};
use crate::support::people::{PERSON_PASSWORD, personal_sign_up};

const MARKER: &str = "/personal/verify-contact?token=";

async fn me(browser: &Browser) -> Value {
    status_and_json(browser.get("/api/me").await).await.1
}

async fn confirm(browser: &Browser, token: &str) -> reqwest::Response {
    browser
        .post("/api/personal/verify-contact", &json!({"token": token}))
        .await
}

async fn resets_to(browser: &Browser, recipient: &str) -> usize {
    outbox_to(browser, recipient)
        .await
        .iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| t.contains("/reset?token="))
        })
        .count()
}

async fn ask_reset(browser: &Browser, username: &str) {
    let response = browser
        .post(
            "/api/personal/password-reset",
            &json!({"username": username}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 202);
}

#[tokio::test]
async fn sign_up_needs_a_recovery_contact_and_only_a_confirmed_one_gets_reset_links() {
    let app = spawn_app().await;
    let browser = app.browser();
    let before = app.stored_data().await;
    let mut body = personal_sign_up("no.contact");
    body.as_object_mut().map(|b| {
        b.remove("email");
        b.remove("phone")
    });
    assert_error(
        browser.post("/api/personal/signup", &body).await,
        400,
        "recovery_contact_required",
    )
    .await;
    body["email"] = json!("   ");
    assert_error(
        browser.post("/api/personal/signup", &body).await,
        400,
        "recovery_contact_required",
    )
    .await;
    assert_eq!(app.stored_data().await, before);

    // An email alone is enough; it waits for its confirmation.
    body["email"] = json!("casey.contact@example.net");
    body["username"] = json!("casey.contact");
    let (status, created) =
        status_and_json(browser.post("/api/personal/signup", &body).await).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["email_verified"], false);
    // Not confirmed: "Forgot password?" sends it nothing (and says the same as ever).
    let stranger = app.browser();
    ask_reset(&stranger, "casey.contact").await;
    assert_eq!(resets_to(&stranger, "casey.contact@example.net").await, 0);

    // Forged and malformed tokens are refused and change nothing.
    let before = app.stored_data().await;
    for token in ["", "short", &"A".repeat(43), &"x".repeat(500)] {
        assert_error(confirm(&stranger, token).await, 410, "verification_expired").await;
    }
    assert_error(
        stranger
            .post("/api/personal/verify-contact", &json!({"token": 7}))
            .await,
        400,
        "invalid_type",
    )
    .await;
    assert_eq!(app.stored_data().await, before);

    // The link confirms it, from any browser, and again changes nothing.
    let token = link_token(&browser, "casey.contact@example.net", MARKER).await;
    assert_eq!(confirm(&stranger, &token).await.status().as_u16(), 204);
    assert_eq!(confirm(&stranger, &token).await.status().as_u16(), 204);
    assert_eq!(me(&browser).await["email_verified"], true);
    ask_reset(&stranger, "casey.contact").await;
    assert_eq!(resets_to(&stranger, "casey.contact@example.net").await, 1);
    let (_, log) = status_and_json(browser.get("/api/personal/audit").await).await;
    assert!(
        log["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "contact_verified"),
        "{log}"
    );
    // Nothing left to confirm.
    assert_error(
        browser
            .send(Method::POST, "/api/personal/contact-verification", None)
            .await,
        409,
        "nothing_to_verify",
    )
    .await;
}

#[tokio::test]
async fn the_link_is_sent_again_at_most_five_times_an_hour() {
    let app = spawn_app().await;
    let browser = app.browser();
    let (status, _) = status_and_json(
        browser
            .post("/api/personal/signup", &personal_sign_up("resend.contact"))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    // Sign-up sent one; four more may go this hour.
    for _ in 0..4 {
        let (status, sent) = status_and_json(
            browser
                .send(Method::POST, "/api/personal/contact-verification", None)
                .await,
        )
        .await;
        assert_eq!(status, 202, "{sent}");
        assert_eq!(sent["sent"], json!(["email", "phone"]));
    }
    let message = assert_error(
        browser
            .send(Method::POST, "/api/personal/contact-verification", None)
            .await,
        429,
        "too_many_attempts",
    )
    .await;
    assert!(message.contains("Try again in"), "{message}");
}

#[tokio::test]
async fn changing_contacts_needs_the_password_and_a_new_confirmation() {
    let app = spawn_app().await;
    let browser = app.browser();
    crate::support::people::signed_in_person(&browser, "change.contact").await;
    let old_phone_token = link_token(&browser, "+447700900123", MARKER).await;

    let before = app.stored_data().await;
    for (body, code) in [
        (
            json!({"password": "not the password at all", "email": "new@example.net"}),
            "wrong_password",
        ),
        (
            json!({"password": PERSON_PASSWORD}),
            "recovery_contact_required",
        ),
        (
            json!({"password": PERSON_PASSWORD, "email": "not an email"}),
            "invalid_email",
        ),
        (
            json!({"password": PERSON_PASSWORD, "phone": "12"}),
            "invalid_phone",
        ),
        (json!({"email": "new@example.net"}), "missing_field"),
        (
            json!({"password": PERSON_PASSWORD, "email": "new@example.net", "extra": 1}),
            "unknown_field",
        ),
    ] {
        assert_error(
            browser
                .send(Method::PUT, "/api/personal/contact", Some(&body))
                .await,
            400,
            code,
        )
        .await;
    }
    assert_eq!(app.stored_data().await, before);

    // A new email (the phone goes): unconfirmed, sent its link; the old phone's link no longer works.
    let (status, changed) = status_and_json(
        browser
            .send(
                Method::PUT,
                "/api/personal/contact",
                Some(&json!({"password": PERSON_PASSWORD, "email": "New.Address@Example.net"})),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["email"], "new.address@example.net");
    assert_eq!(changed["email_verified"], false);
    assert_eq!(changed["phone"], Value::Null);
    assert_error(
        confirm(&browser, &old_phone_token).await,
        410,
        "verification_expired",
    )
    .await;
    // Reset links go to neither the old nor the unconfirmed new address.
    let stranger = app.browser();
    ask_reset(&stranger, "change.contact").await;
    assert_eq!(resets_to(&stranger, "change.contact@example.net").await, 0);
    assert_eq!(resets_to(&stranger, "new.address@example.net").await, 0);
    let token = link_token(&browser, "new.address@example.net", MARKER).await;
    assert_eq!(confirm(&browser, &token).await.status().as_u16(), 204);
    ask_reset(&stranger, "change.contact").await;
    assert_eq!(resets_to(&stranger, "new.address@example.net").await, 1);
    // The old address no longer finds the account.
    let response = stranger
        .post(
            "/api/personal/password-reset",
            &json!({"email": "change.contact@example.net"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(resets_to(&stranger, "change.contact@example.net").await, 0);
}
