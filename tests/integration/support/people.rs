//! Synthetic sign-up data and signed-in helpers: `signed_in_clinic()`, `signed_in_person()`.

use serde_json::{Value, json};

use super::app::{Browser, status_and_json};

pub const CLINIC_PASSWORD: &str = "harbour maple quartz 31";
pub const PERSON_PASSWORD: &str = "pebble lantern orchid 58";

pub fn clinic_sign_up(email: &str) -> Value {
    json!({
        "clinic_name": "Northgate Diabetes Centre",
        "name": "Sam Rivera",
        "email": email,
        "password": CLINIC_PASSWORD,
    })
}

pub fn personal_sign_up(username: &str) -> Value {
    json!({
        "username": username,
        "password": PERSON_PASSWORD,
        "name": "Jordan Example",
        "date_of_birth": "1990-06-15",
        "email": format!("{username}@example.net"),
        "phone": "+447700900123",
    })
}

/// Registers a clinic in this browser (which is then signed in as its admin); returns the answer.
pub async fn signed_in_clinic(browser: &Browser, email: &str) -> Value {
    let (status, body) = status_and_json(
        browser
            .post("/api/clinic/signup", &clinic_sign_up(email))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Creates a personal account in this browser (which is then signed in to it); returns the answer.
pub async fn signed_in_person(browser: &Browser, username: &str) -> Value {
    let (status, body) = status_and_json(
        browser
            .post("/api/personal/signup", &personal_sign_up(username))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}
