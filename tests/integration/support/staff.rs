//! Clinic staff helpers: invite a colleague (the token from the invitation email) and join as someone
//! new with it.

use serde_json::{Value, json};

use super::app::{Browser, TestApp, status_and_json};
use super::messages::{first_link, outbox_to};

/// The password invited colleagues choose.
pub const STAFF_PASSWORD: &str = "copper valley mosaic 12";

/// `admin` invites `email` as `role`; returns the token of the invitation that works now. The outbox's
/// order says nothing under the tests' standing clock, and an address may hold earlier invitations
/// (spent, replaced, or from another clinic), so each of this clinic's is looked up.
pub async fn invite(admin: &Browser, email: &str, role: &str) -> String {
    let (status, body) = status_and_json(
        admin
            .post(
                "/api/clinic/staff/invitations",
                &json!({"email": email, "role": role}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, me) = status_and_json(admin.get("/api/me").await).await;
    let clinic = me["clinic_name"].as_str().expect("clinic name").to_owned();
    for message in outbox_to(admin, email).await {
        let Some(text) = message["text"]
            .as_str()
            .filter(|t| t.contains(&format!("to join {clinic} on glucolink")))
        else {
            continue;
        };
        let link = first_link(text);
        assert!(link.contains("/clinic/join?token="), "{link}");
        let token = link.rsplit("token=").next().expect("token").to_owned();
        let lookup = admin
            .post(
                "/api/clinic/staff/invitations/lookup",
                &json!({"token": token}),
            )
            .await;
        if lookup.status() == 200 {
            return token;
        }
    }
    panic!("no live invitation to {email}");
}

/// Accepts an invitation as someone new (name and [`STAFF_PASSWORD`]) in a new browser, which is then
/// signed in; returns it with the answer (`user_id`, `clinic_id`, …).
pub async fn join_as_new(app: &TestApp, token: &str, name: &str) -> (Browser, Value) {
    let browser = app.browser();
    let (status, body) = status_and_json(
        browser
            .post(
                "/api/clinic/staff/invitations/accept",
                &json!({"token": token, "name": name, "password": STAFF_PASSWORD}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (browser, body)
}
