//! The IAM of a `Read` route (`RouteId::access`) lets it write session items only. This checks that its
//! code needs no more: every read route, called by the right person after the idle timer's touch
//! interval, leaves every item but sessions exactly as it was.

use glucolink_api::{Access, ROUTES, RouteId};
use jiff::SignedDuration;
use serde_json::json;

use crate::support::app::{Browser, status_and_json};
use crate::support::messages::{first_link, outbox_to};
use crate::support::people::linked_patient;

/// Items other than sessions (`SESSION#…`, `SESSIONS#…`).
async fn non_session_items(app: &crate::support::app::TestApp) -> Vec<String> {
    app.stored_but_sessions()
        .await
        .into_iter()
        .map(|item| format!("{item:?}"))
        .collect()
}

#[tokio::test]
async fn read_routes_change_nothing_but_sessions() {
    let app = crate::support::app::spawn_app().await;
    let linked = linked_patient(&app, "readonly").await;
    let body = serde_json::to_vec(&json!({"device": "Sensor", "events": [
        {"type": "cgm", "time": app.clock_now().to_string(), "value": 120}
    ]}))
    .expect("json");
    let uploaded = linked
        .patient
        .post_raw("/api/personal/uploads", "application/json", body)
        .await;
    assert_eq!(uploaded.status().as_u16(), 201);
    let invited = linked
        .clinic
        .post(
            "/api/clinic/staff/invitations",
            &json!({"email": "reader@staff.example", "role": "clinician"}),
        )
        .await;
    assert_eq!(invited.status().as_u16(), 201);
    let messages = outbox_to(&linked.clinic, "reader@staff.example").await;
    let link = first_link(messages[0]["text"].as_str().expect("text"));
    let invitation = link.rsplit("token=").next().expect("token").to_owned();
    for route in ROUTES.iter().filter(|r| r.id.access() == Access::Read) {
        let (who, method, path, body): (&Browser, &str, String, Option<serde_json::Value>) =
            match route.id {
                RouteId::Me => (&linked.patient, "GET", "/api/me".into(), None),
                RouteId::ListPatients => (
                    &linked.clinic,
                    "GET",
                    "/api/clinic/patients?q=Jordan".into(),
                    None,
                ),
                RouteId::ClinicAudit => (&linked.clinic, "GET", "/api/clinic/audit".into(), None),
                RouteId::Sharing => (&linked.patient, "GET", "/api/personal/sharing".into(), None),
                RouteId::PersonalAudit => {
                    (&linked.patient, "GET", "/api/personal/audit".into(), None)
                }
                RouteId::DevOutbox => (&linked.clinic, "GET", "/api/dev/outbox".into(), None),
                RouteId::ListStaff => (&linked.clinic, "GET", "/api/clinic/staff".into(), None),
                RouteId::PreviewInvitation => (
                    &linked.clinic,
                    "POST",
                    "/api/clinic/staff/invitations/lookup".into(),
                    Some(json!({"token": invitation})),
                ),
                RouteId::ListUploadTokens => (
                    &linked.patient,
                    "GET",
                    "/api/personal/upload-tokens".into(),
                    None,
                ),
                RouteId::PersonalReport => (
                    &linked.patient,
                    "GET",
                    "/api/personal/report?format=pdf".into(),
                    None,
                ),
                RouteId::PersonalOverview => (
                    &linked.patient,
                    "GET",
                    "/api/personal/overview".into(),
                    None,
                ),
                RouteId::ListPasskeys => (&linked.clinic, "GET", "/api/me/passkeys".into(), None),
                other => panic!("add a call of the read route {other:?} to this test"),
            };
        // Past the idle timer's touch interval, so the session is due a write.
        app.advance(SignedDuration::from_secs(61));
        let before = non_session_items(&app).await;
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = who.send(method, &path, body.as_ref()).await;
        let status = response.status().as_u16();
        assert_eq!(
            status,
            200,
            "{path}: {}",
            response.text().await.unwrap_or_default()
        );
        assert_eq!(
            non_session_items(&app).await,
            before,
            "{path} ({:?}) wrote more than sessions",
            route.id
        );
    }
    // And a write route does write: the check above can fail.
    let before = non_session_items(&app).await;
    let (status, _) = status_and_json(
        linked
            .clinic
            .get(&format!("/api/clinic/patients/{}", linked.patient_id))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(
        non_session_items(&app).await,
        before,
        "the profile view is audited"
    );
}
