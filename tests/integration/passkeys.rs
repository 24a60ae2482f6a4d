//! Passkeys: adding one (a software authenticator answers as a phone would), signing in with it alone
//! and as the second step after a password, and every way a passkey answer can be wrong: from another
//! origin, replayed, cloned, of another account or area, unreadable, removed; the store unchanged by
//! each refusal.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{Browser, assert_error, spawn_app, status_and_json};
use crate::support::authenticator::Authenticator;
use crate::support::people::{
    CLINIC_PASSWORD, PERSON_PASSWORD, create_patient, event_actions, signed_in_clinic,
    signed_in_person,
};

async fn options(browser: &Browser, path: &str) -> Value {
    let (status, body) = status_and_json(browser.send(Method::POST, path, None).await).await;
    assert_eq!(status, 200, "{body}");
    body["options"].clone()
}

/// Adds a passkey to the signed-in account; returns the authenticator that holds it.
async fn add_passkey(browser: &Browser, name: &str) -> Authenticator {
    let created = options(browser, "/api/me/passkeys/options").await;
    let (authenticator, credential) = Authenticator::create(&created, &browser.base);
    let (status, added) = status_and_json(
        browser
            .post(
                "/api/me/passkeys",
                &json!({"credential": credential, "name": name}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["name"], name);
    authenticator
}

/// Signs in with the passkey alone (no password), with the body's extra fields.
async fn passkey_sign_in(
    browser: &Browser,
    authenticator: &mut Authenticator,
    extra: Value,
) -> (u16, Value) {
    let asked = options(browser, "/api/signin/passkey/options").await;
    let mut body = json!({"credential": authenticator.get(&asked, &browser.base)});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    status_and_json(browser.post("/api/signin/passkey", &body).await).await
}

async fn me(browser: &Browser) -> Value {
    status_and_json(browser.get("/api/me").await).await.1
}

async fn audit_actions(browser: &Browser, path: &str) -> Vec<String> {
    event_actions(&status_and_json(browser.get(path).await).await.1)
}

#[tokio::test]
async fn a_staff_passkey_signs_in_alone_and_as_the_second_step_after_the_password() {
    let app = spawn_app().await;
    let browser = app.browser_by_name();
    signed_in_clinic(&browser, "passkey.user@clinic.example").await;
    assert_eq!(me(&browser).await["passkeys"], 0);
    let mut authenticator = add_passkey(&browser, "Work laptop").await;
    let account = me(&browser).await;
    assert_eq!(
        (
            &account["passkeys"],
            &account["two_factor"],
            &account["authenticator_app"]
        ),
        (&json!(1), &json!(true), &json!(false))
    );
    let (_, listed) = status_and_json(browser.get("/api/me/passkeys").await).await;
    assert_eq!(listed["passkeys"][0]["name"], "Work laptop");
    assert_eq!(listed["passkeys"][0]["last_used_at"], Value::Null);

    // The password alone no longer signs in: the account asks for its passkey.
    let second = app.browser_by_name();
    let (status, asked) = status_and_json(
        second
            .post(
                "/api/clinic/signin",
                &json!({"email": "passkey.user@clinic.example", "password": CLINIC_PASSWORD}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 401, "{asked}");
    assert_eq!(asked["error"]["code"], "second_factor_required");
    assert_eq!(asked["error"]["methods"], json!(["passkey"]));
    let challenge = asked["error"]["challenge"].as_str().expect("challenge");
    let (status, signed_in) = passkey_sign_in(
        &second,
        &mut authenticator,
        json!({"challenge": challenge, "area": "clinic"}),
    )
    .await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["email"], "passkey.user@clinic.example");
    assert_eq!(me(&second).await["kind"], "clinic_user");
    // The challenge is spent.
    let (status, _) =
        passkey_sign_in(&second, &mut authenticator, json!({"challenge": challenge})).await;
    assert_eq!(status, 410);

    // On its own: no password at all.
    let third = app.browser_by_name();
    let (status, signed_in) =
        passkey_sign_in(&third, &mut authenticator, json!({"area": "clinic"})).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(me(&third).await["email"], "passkey.user@clinic.example");
    let (_, listed) = status_and_json(third.get("/api/me/passkeys").await).await;
    assert!(
        listed["passkeys"][0]["last_used_at"].is_string(),
        "{listed}"
    );

    let actions = audit_actions(&browser, "/api/clinic/audit").await;
    assert!(actions.iter().any(|a| a == "passkey_added"), "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| *a == "passkey_used").count(),
        2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn refused_passkey_answers_change_nothing() {
    let app = spawn_app().await;
    let browser = app.browser_by_name();
    signed_in_clinic(&browser, "careful@clinic.example").await;

    // Unreadable and forged answers.
    let created = options(&browser, "/api/me/passkeys/options").await;
    let before = app.stored_data().await;
    for (body, status, code) in [
        (
            json!({"credential": {"id": "x"}}),
            400,
            "passkey_unreadable",
        ),
        (
            json!({"credential": "not an object"}),
            400,
            "passkey_unreadable",
        ),
        (json!({}), 400, "missing_field"),
        (
            json!({"credential": {}, "name": "x".repeat(61)}),
            400,
            "too_long",
        ),
    ] {
        assert_error(browser.post("/api/me/passkeys", &body).await, status, code).await;
    }
    assert_eq!(app.stored_data().await, before);
    // Created in a page of another origin (a phishing site): refused, and the ceremony is spent.
    let (_, phished) = Authenticator::create(&created, "http://evil.localhost:1");
    assert_error(
        browser
            .post("/api/me/passkeys", &json!({"credential": phished}))
            .await,
        400,
        "passkey_refused",
    )
    .await;
    let (_, late) = Authenticator::create(&created, &browser.base);
    assert_error(
        browser
            .post("/api/me/passkeys", &json!({"credential": late}))
            .await,
        410,
        "passkey_expired",
    )
    .await;
    // Nothing stored but the ceremony gone.
    let but_ceremonies = |items: Vec<glucolink_core::store::Item>| {
        items
            .into_iter()
            .filter(|i| !i.key.pk.starts_with("WEBAUTHN#"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        but_ceremonies(app.stored_data().await),
        but_ceremonies(before)
    );
    assert_eq!(me(&browser).await["passkeys"], 0);

    // A numeric address cannot hold passkeys: said so, with the address that can.
    let numeric = app.browser();
    signed_in_clinic(&numeric, "numeric@clinic.example").await;
    let message = assert_error(
        numeric
            .send(Method::POST, "/api/me/passkeys/options", None)
            .await,
        409,
        "passkeys_unavailable",
    )
    .await;
    assert!(message.contains("http://localhost:"), "{message}");

    let mut authenticator = add_passkey(&browser, "Phone").await;
    let stored = app.stored_data().await;

    // A signature replayed: the ceremony works once.
    let anonymous = app.browser_by_name();
    let asked = options(&anonymous, "/api/signin/passkey/options").await;
    let answer = authenticator.get(&asked, &anonymous.base);
    let (status, _) = status_and_json(
        anonymous
            .post("/api/signin/passkey", &json!({"credential": answer}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let replay = app.browser_by_name();
    assert_error(
        replay
            .post("/api/signin/passkey", &json!({"credential": answer}))
            .await,
        410,
        "passkey_expired",
    )
    .await;
    // A cloned key (its counter behind the one seen): refused.
    let stored_after_use = app.stored_data().await;
    authenticator.counter = 0;
    let (status, cloned) = passkey_sign_in(&replay, &mut authenticator, json!({})).await;
    assert_eq!(
        (status, cloned["error"]["code"].as_str()),
        (400, Some("passkey_refused")),
        "{cloned}"
    );
    // From another origin.
    authenticator.counter = 10;
    let asked = options(&replay, "/api/signin/passkey/options").await;
    let phished = authenticator.get(&asked, "https://evil.example");
    assert_error(
        replay
            .post("/api/signin/passkey", &json!({"credential": phished}))
            .await,
        400,
        "passkey_refused",
    )
    .await;
    // On the personal sign-in page.
    let (status, wrong_area) =
        passkey_sign_in(&replay, &mut authenticator, json!({"area": "personal"})).await;
    assert_eq!(
        (status, wrong_area["error"]["code"].as_str()),
        (400, Some("wrong_area")),
        "{wrong_area}"
    );
    assert_eq!(replay.get("/api/me").await.status().as_u16(), 401);
    assert_error(
        replay
            .post(
                "/api/signin/passkey",
                &json!({"credential": {}, "area": "admin"}),
            )
            .await,
        400,
        "invalid_area",
    )
    .await;
    // Nothing changed but the passkey's counter and last use, and the audit lines of the one sign-in.
    let but_use = |items: Vec<glucolink_core::store::Item>| {
        items
            .into_iter()
            .filter(|i| {
                !i.key.pk.starts_with("PASSKEYS#")
                    && !i.key.sk.starts_with("AUDIT#")
                    && !i.key.pk.starts_with("WEBAUTHN#")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(but_use(app.stored_data().await), but_use(stored.clone()));
    let used = |items: &[glucolink_core::store::Item]| {
        items
            .iter()
            .filter(|i| {
                i.attrs.get("action")
                    == Some(&glucolink_core::store::Value::S("passkey_used".into()))
            })
            .count()
    };
    assert_eq!(used(&app.stored_data().await), 1, "one sign-in, one line");
    assert_eq!(used(&stored_after_use), 1);

    // Removing needs the password.
    let id = status_and_json(browser.get("/api/me/passkeys").await)
        .await
        .1["passkeys"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let before_removal = app.stored_data().await;
    assert_error(
        browser
            .send(
                Method::DELETE,
                &format!("/api/me/passkeys/{id}"),
                Some(&json!({"password": "not the password"})),
            )
            .await,
        400,
        "wrong_password",
    )
    .await;
    assert_error(
        browser
            .send(
                Method::DELETE,
                "/api/me/passkeys/not-a-passkey",
                Some(&json!({"password": CLINIC_PASSWORD})),
            )
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.stored_data().await, before_removal);
    let response = browser
        .send(
            Method::DELETE,
            &format!("/api/me/passkeys/{id}"),
            Some(&json!({"password": CLINIC_PASSWORD})),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(me(&browser).await["two_factor"], false);
    let (status, removed) = passkey_sign_in(&replay, &mut authenticator, json!({})).await;
    assert_eq!(
        (status, removed["error"]["code"].as_str()),
        (400, Some("passkey_unknown")),
        "{removed}"
    );
    let actions = audit_actions(&browser, "/api/clinic/audit").await;
    assert!(
        actions.iter().any(|a| a == "passkey_removed"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_passkey_of_another_account_does_not_complete_a_password_sign_in() {
    let app = spawn_app().await;
    let first = app.browser_by_name();
    signed_in_clinic(&first, "first@clinic.example").await;
    let mut first_key = add_passkey(&first, "First's key").await;
    let second = app.browser_by_name();
    signed_in_clinic(&second, "second@clinic.example").await;
    add_passkey(&second, "Second's key").await;

    let attacker = app.browser_by_name();
    let (_, asked) = status_and_json(
        attacker
            .post(
                "/api/clinic/signin",
                &json!({"email": "second@clinic.example", "password": CLINIC_PASSWORD}),
            )
            .await,
    )
    .await;
    let challenge = asked["error"]["challenge"].as_str().expect("challenge");
    let (status, refused) =
        passkey_sign_in(&attacker, &mut first_key, json!({"challenge": challenge})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("passkey_of_another_account")),
        "{refused}"
    );
    assert_eq!(attacker.get("/api/me").await.status().as_u16(), 401);
}

#[tokio::test]
async fn a_passkey_meets_the_clinics_two_factor_rule_and_patients_may_use_passkeys_too() {
    let app = spawn_app().await;
    let admin = app.browser_by_name();
    signed_in_clinic(&admin, "rule@clinic.example").await;
    add_passkey(&admin, "Admin's key").await;
    // An admin with a passkey (and no app) may require two factors of all staff, and still works.
    let (status, body) = status_and_json(
        admin
            .send(
                Method::PUT,
                "/api/clinic/settings",
                Some(&json!({"require_two_factor": true})),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    create_patient(&admin, "Robin Keys", "1980-01-02", None).await;

    // A patient adds a passkey and signs in with it; deleting the account removes it everywhere.
    let patient = app.browser_by_name();
    signed_in_person(&patient, "passkey.patient").await;
    let mut key = add_passkey(&patient, "My phone").await;
    let fresh = app.browser_by_name();
    let (status, signed_in) = passkey_sign_in(&fresh, &mut key, json!({"area": "personal"})).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["username"], "passkey.patient");
    let response = fresh
        .send(
            Method::DELETE,
            "/api/personal/account",
            Some(&json!({"password": PERSON_PASSWORD})),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let leftovers: Vec<String> = app
        .stored()
        .await
        .into_iter()
        .filter(|i| i.key.pk.starts_with("PASSKEY"))
        .map(|i| i.key.pk)
        .collect();
    // Only the admin's passkey remains (its two items).
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    let (status, gone) = passkey_sign_in(&app.browser_by_name(), &mut key, json!({})).await;
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (400, Some("passkey_unknown")),
        "{gone}"
    );
}
