//! The clinic's audit log narrowed by patient, actor, action and dates, page by page, and the refusal
//! of filters it cannot read.

use jiff::{Timestamp, ToSpan};
use reqwest::Method;
use serde_json::{Value as Json, json};

use crate::support::app::{Browser, assert_error, spawn_app, status_and_json};
use crate::support::people::{create_patient, event_actions, signed_in_clinic};

/// Changes a record's glycemic targets: one `ranges_changed` event in the log.
async fn change_targets(clinic: &Browser, patient_id: &str, preset: &str) {
    let response = clinic
        .send(
            Method::PUT,
            &format!("/api/clinic/patients/{patient_id}/ranges"),
            Some(&json!({"ranges": preset})),
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn log(clinic: &Browser, query: &str) -> Json {
    let (status, body) =
        status_and_json(clinic.get(&format!("/api/clinic/audit{query}")).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn the_log_is_narrowed_by_patient_action_actor_and_dates() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "audit.filters@clinic.example").await;
    let ada = create_patient(&app.user, "Ada Audit", "1970-01-01", None).await;
    let bo = create_patient(&app.user, "Bo Audit", "1971-01-01", None).await;
    change_targets(&app.user, &ada, "pregnancy").await;
    change_targets(&app.user, &ada, "standard").await;
    change_targets(&app.user, &bo, "pregnancy").await;

    // Five changes, and the clinic's verification when it signed up.
    let everything = log(&app.user, "").await;
    assert_eq!(everything["events"].as_array().map(Vec::len), Some(6));
    let for_ada = log(&app.user, &format!("?patient={ada}")).await;
    assert_eq!(
        event_actions(&for_ada),
        ["ranges_changed", "ranges_changed", "patient_created"]
    );
    let views = log(&app.user, "?action=ranges_changed").await;
    assert_eq!(event_actions(&views).len(), 3);
    let ada_views = log(&app.user, &format!("?action=ranges_changed&patient={ada}")).await;
    assert_eq!(event_actions(&ada_views).len(), 2);
    let actor = everything["events"][0]["actor"]["id"]
        .as_str()
        .expect("actor id");
    assert_eq!(
        event_actions(&log(&app.user, &format!("?actor={actor}")).await).len(),
        6
    );
    assert!(event_actions(&log(&app.user, "?actor=someone-else").await).is_empty());

    let today = jiff::tz::TimeZone::UTC.to_datetime(Timestamp::now()).date();
    let yesterday = today.checked_sub(1.day()).expect("date");
    let tomorrow = today.checked_add(1.day()).expect("date");
    assert_eq!(
        event_actions(&log(&app.user, &format!("?from={today}&to={today}&tz=UTC")).await).len(),
        6
    );
    assert!(event_actions(&log(&app.user, &format!("?to={yesterday}")).await).is_empty());
    assert!(event_actions(&log(&app.user, &format!("?from={tomorrow}")).await).is_empty());
}

#[tokio::test]
async fn a_long_filtered_log_comes_in_pages() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "audit.pages@clinic.example").await;
    let ada = create_patient(&app.user, "Ada Pages", "1970-01-01", None).await;
    for i in 0..55 {
        change_targets(
            &app.user,
            &ada,
            if i % 2 == 0 { "pregnancy" } else { "standard" },
        )
        .await;
    }
    let first = log(&app.user, "?action=ranges_changed").await;
    assert_eq!(event_actions(&first).len(), 50);
    let cursor = first["next_cursor"].as_str().expect("more");
    let second = log(
        &app.user,
        &format!("?action=ranges_changed&cursor={cursor}"),
    )
    .await;
    assert_eq!(event_actions(&second).len(), 5);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn filters_that_cannot_be_read_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "audit.bad@clinic.example").await;
    let before = app.stored().await;
    for (query, status, code) in [
        ("?action=deleted_everything", 400, "invalid_action"),
        ("?from=2026-13-01", 400, "invalid_date"),
        ("?to=yesterday", 400, "invalid_date"),
        ("?to=", 400, "invalid_date"),
        ("?action=", 400, "invalid_action"),
        ("?patient=", 400, "invalid_patient"),
        ("?from=2026-05-02&to=2026-05-01", 400, "invalid_range"),
        ("?patient=not-an-id", 400, "invalid_patient"),
        ("?tz=Mars/Olympus", 400, "invalid_tz"),
        ("?colour=red", 400, "unknown_parameter"),
    ] {
        assert_error(
            app.user.get(&format!("/api/clinic/audit{query}")).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(app.stored().await, before);
}
