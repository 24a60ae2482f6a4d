//! Clinic staff: invitations by email, joining, roles, removal ending sessions, and settings.

use jiff::SignedDuration;
use reqwest::Method;
use serde_json::json;

use crate::support::app::{Browser, TestApp, assert_error, spawn_app, status_and_json};
use crate::support::people::{create_patient, signed_in_clinic, signed_in_person};
use crate::support::staff::{STAFF_PASSWORD, invite, join_as_new};

async fn join(app: &TestApp, token: &str, name: &str) -> Browser {
    join_as_new(app, token, name).await.0
}

#[tokio::test]
async fn an_invited_clinician_joins_works_with_patients_but_cannot_manage_staff() {
    let app = spawn_app().await;
    let admin = app.browser();
    signed_in_clinic(&admin, "admin@staff.example").await;
    let token = invite(&admin, "clin@staff.example", "clinician").await;

    let visitor = app.browser();
    let (status, preview) = status_and_json(
        visitor
            .post(
                "/api/clinic/staff/invitations/lookup",
                &json!({"token": token}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["clinic_name"], "Northgate Diabetes Centre");
    assert_eq!(preview["role"], "clinician");

    let clinician = join(&app, &token, "Casey Clinician").await;
    let (_, me) = status_and_json(clinician.get("/api/me").await).await;
    assert_eq!(me["role"], "clinician");
    create_patient(&clinician, "Shared Record", "1970-01-01", None).await;
    let (_, list) = status_and_json(admin.get("/api/clinic/patients").await).await;
    assert_eq!(
        list["patients"][0]["name"], "Shared Record",
        "one clinic, one list"
    );

    let response = clinician
        .post(
            "/api/clinic/staff/invitations",
            &json!({"email": "x@staff.example", "role": "admin"}),
        )
        .await;
    assert_error(response, 403, "forbidden").await;
    assert_error(clinician.get("/api/clinic/audit").await, 403, "forbidden").await;
    let response = clinician
        .send(
            Method::PUT,
            "/api/clinic/settings",
            Some(&json!({"freshness_days": 3})),
        )
        .await;
    assert_error(response, 403, "forbidden").await;

    let again = app.browser();
    let reuse = again
        .post(
            "/api/clinic/staff/invitations/accept",
            &json!({"token": token, "name": "Again", "password": STAFF_PASSWORD}),
        )
        .await;
    assert_error(reuse, 410, "invitation_invalid").await;
    let (_, staff) = status_and_json(admin.get("/api/clinic/staff").await).await;
    assert_eq!(staff["staff"].as_array().map(Vec::len), Some(2));
    assert_eq!(staff["invitations"], json!([]));
}

#[tokio::test]
async fn removing_a_member_of_staff_ends_their_sessions_at_once() {
    let app = spawn_app().await;
    let admin = app.browser();
    signed_in_clinic(&admin, "boss@staff.example").await;
    let token = invite(&admin, "leaver@staff.example", "clinician").await;
    let leaver = join(&app, &token, "Lee Leaver").await;
    assert_eq!(
        leaver.get("/api/clinic/patients").await.status().as_u16(),
        200
    );
    let (_, me) = status_and_json(leaver.get("/api/me").await).await;
    let user_id = me["user_id"].as_str().expect("id").to_owned();

    let response = admin
        .send(
            Method::DELETE,
            &format!("/api/clinic/staff/{user_id}"),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_error(
        leaver.get("/api/clinic/patients").await,
        401,
        "unauthenticated",
    )
    .await;
    let signin = app
        .browser()
        .post(
            "/api/clinic/signin",
            &json!({"email": "leaver@staff.example", "password": STAFF_PASSWORD}),
        )
        .await;
    assert_error(signin, 401, "invalid_credentials").await;
    let (_, me) = status_and_json(admin.get("/api/me").await).await;
    let own = me["user_id"].as_str().expect("id").to_owned();
    let response = admin
        .send(Method::DELETE, &format!("/api/clinic/staff/{own}"), None)
        .await;
    assert_error(response, 409, "cannot_remove_self").await;
}

/// Two admins removing each other at the same moment: one removal wins, the clinic keeps an admin.
async fn admins_removing_each_other_at_once_leave_one_admin(app: TestApp) {
    let first = app.browser();
    signed_in_clinic(&first, "first@admins.example").await;
    let token = invite(&first, "second@admins.example", "admin").await;
    let second = join(&app, &token, "Sam Second").await;
    let id_of = |body: serde_json::Value| body["user_id"].as_str().expect("id").to_owned();
    let first_id = id_of(status_and_json(first.get("/api/me").await).await.1);
    let second_id = id_of(status_and_json(second.get("/api/me").await).await.1);
    first.csrf().await;
    second.csrf().await;
    let remove = |browser: Browser, id: String| async move {
        browser
            .send(Method::DELETE, &format!("/api/clinic/staff/{id}"), None)
            .await
            .status()
            .as_u16()
    };
    let (a, b) = tokio::join!(
        tokio::spawn(remove(first, second_id)),
        tokio::spawn(remove(second, first_id))
    );
    let mut statuses = vec![a.expect("task"), b.expect("task")];
    statuses.sort_unstable();
    assert_eq!(statuses[0], 204, "{statuses:?}");
    assert!(
        [401, 403, 404].contains(&statuses[1]),
        "the other removal must fail: {statuses:?}"
    );
    // Whoever is left is an admin who can sign in and sees one member of staff.
    let mut admins = 0;
    for email in ["first@admins.example", "second@admins.example"] {
        let browser = app.browser();
        let password = if email.starts_with("first") {
            crate::support::people::CLINIC_PASSWORD
        } else {
            STAFF_PASSWORD
        };
        let signin = browser
            .post(
                "/api/clinic/signin",
                &json!({"email": email, "password": password}),
            )
            .await;
        if signin.status().as_u16() == 200 {
            admins += 1;
            let (_, staff) = status_and_json(browser.get("/api/clinic/staff").await).await;
            assert_eq!(staff["staff"].as_array().map(Vec::len), Some(1), "{staff}");
        }
    }
    assert_eq!(admins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_removing_each_other_at_once_leave_one_admin_on_the_embedded_store() {
    admins_removing_each_other_at_once_leave_one_admin(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_removing_each_other_at_once_leave_one_admin_on_dynamodb() {
    admins_removing_each_other_at_once_leave_one_admin(
        crate::support::app::spawn_app_on_dynamodb().await,
    )
    .await;
}

#[tokio::test]
async fn invitations_expire_and_a_new_one_replaces_the_old() {
    let app = spawn_app().await;
    let admin = app.browser();
    signed_in_clinic(&admin, "inv@staff.example").await;
    let first = invite(&admin, "new@staff.example", "admin").await;
    let second = invite(&admin, "new@staff.example", "clinician").await;
    let response = app
        .browser()
        .post(
            "/api/clinic/staff/invitations/lookup",
            &json!({"token": first}),
        )
        .await;
    assert_error(response, 410, "invitation_invalid").await;
    app.advance(SignedDuration::from_hours(24 * 7 + 1));
    let response = app
        .browser()
        .post(
            "/api/clinic/staff/invitations/lookup",
            &json!({"token": second}),
        )
        .await;
    assert_error(response, 410, "invitation_invalid").await;
}

#[tokio::test]
async fn staff_routes_refuse_bad_input_and_store_nothing() {
    let app = spawn_app().await;
    let admin = app.browser();
    signed_in_clinic(&admin, "input@staff.example").await;
    let path = "/api/clinic/staff/invitations";
    let cases = [
        (json!({"email": "a@b.example"}), 400, "missing_field"),
        (
            json!({"email": "nope", "role": "admin"}),
            400,
            "invalid_email",
        ),
        (
            json!({"email": "a@b.example", "role": "owner"}),
            400,
            "invalid_role",
        ),
        (
            json!({"email": "input@staff.example", "role": "admin"}),
            409,
            "email_taken",
        ),
    ];
    for (body, status, code) in cases {
        let before = app.stored().await;
        assert_error(admin.post(path, &body).await, status, code).await;
        assert_eq!(app.stored().await, before, "{code}");
    }
    let token = invite(&admin, "weak@staff.example", "clinician").await;
    let before = app.stored().await;
    let weak = app
        .browser()
        .post(
            "/api/clinic/staff/invitations/accept",
            &json!({"token": token, "name": "W", "password": "short"}),
        )
        .await;
    assert_error(weak, 400, "weak_password").await;
    let forged = app
        .browser()
        .post(
            "/api/clinic/staff/invitations/accept",
            &json!({"token": "forged", "name": "W", "password": STAFF_PASSWORD}),
        )
        .await;
    assert_error(forged, 410, "invitation_invalid").await;
    for days in [0, 91] {
        let response = admin
            .send(
                Method::PUT,
                "/api/clinic/settings",
                Some(&json!({"freshness_days": days})),
            )
            .await;
        assert_error(response, 400, "invalid_freshness_days").await;
    }
    let response = admin
        .send(
            Method::PUT,
            "/api/clinic/settings",
            Some(&json!({"freshness_days": "7"})),
        )
        .await;
    assert_error(response, 400, "invalid_type").await;
    assert_eq!(app.stored().await, before);
    let person = app.browser();
    signed_in_person(&person, "not.admin").await;
    assert_error(person.get("/api/clinic/staff").await, 403, "forbidden").await;
}

#[tokio::test]
async fn the_freshness_threshold_is_a_clinic_setting() {
    let app = spawn_app().await;
    let admin = app.browser();
    signed_in_clinic(&admin, "setting@staff.example").await;
    let response = admin
        .send(
            Method::PUT,
            "/api/clinic/settings",
            Some(&json!({"freshness_days": 14})),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let (_, list) = status_and_json(admin.get("/api/clinic/patients").await).await;
    assert_eq!(list["freshness_days"], 14);
}

#[tokio::test]
async fn a_waiting_invitation_is_sent_again_or_cancelled() {
    let app = spawn_app().await;
    let admin = app.browser();
    signed_in_clinic(&admin, "admin@resend.example").await;
    let first = invite(&admin, "late@resend.example", "clinician").await;
    // Sent again: the new link works, the first does not.
    let second = invite(&admin, "late@resend.example", "clinician").await;
    assert_ne!(first, second);
    let visitor = app.browser();
    assert_error(
        visitor
            .post(
                "/api/clinic/staff/invitations/lookup",
                &json!({"token": first}),
            )
            .await,
        410,
        "invitation_invalid",
    )
    .await;
    // Unknown addresses and bad input change nothing; an admin cancels once, and the link stops working.
    let before = app.stored_but_sessions().await;
    let cancel = json!({"email": "late@resend.example"});
    for (body, status, code) in [
        (json!({"email": "nobody@resend.example"}), 404, "not_found"),
        (json!({"email": "not an email"}), 400, "invalid_email"),
        (json!({}), 400, "missing_field"),
    ] {
        assert_error(
            admin
                .post("/api/clinic/staff/invitations/cancel", &body)
                .await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(app.stored_but_sessions().await, before);
    let response = admin
        .post("/api/clinic/staff/invitations/cancel", &cancel)
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_error(
        visitor
            .post(
                "/api/clinic/staff/invitations/lookup",
                &json!({"token": second}),
            )
            .await,
        410,
        "invitation_invalid",
    )
    .await;
    let (_, list) = status_and_json(admin.get("/api/clinic/staff").await).await;
    assert_eq!(list["invitations"], json!([]));
    assert_error(
        admin
            .post("/api/clinic/staff/invitations/cancel", &cancel)
            .await,
        404,
        "not_found",
    )
    .await;
    let (_, log) = status_and_json(
        admin
            .get("/api/clinic/audit?action=invitation_cancelled")
            .await,
    )
    .await;
    assert_eq!(log["events"].as_array().map(Vec::len), Some(1));
}
