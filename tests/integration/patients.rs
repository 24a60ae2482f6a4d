//! Patient records through the HTTP API: create (asking first for a possible duplicate), list, search,
//! profile, freshness, clinic isolation, deletion of a record made by mistake, archive and restore.

use glucolink_core::store::{Condition, Item, Key, Value};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Value as Json, json};

use crate::support::app::{TestApp, assert_error, spawn_app, status_and_json};
use crate::support::people::{
    create_patient, event_actions, generate_code, linked_patient, list_patients, names,
    signed_in_clinic, signed_in_person,
};

async fn list(clinic: &crate::support::app::Browser, query: &str) -> Json {
    list_patients(clinic, query).await
}

#[tokio::test]
async fn a_clinic_creates_records_and_lists_them_by_name_with_link_status() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "list@clinic.example").await;
    create_patient(&app.user, "Zoë Walker", "1975-01-02", Some("MRN-3")).await;
    create_patient(&app.user, "adam Brown", "1980-03-04", None).await;
    create_patient(&app.user, "Maria López", "1990-05-06", Some("MRN-1")).await;
    let body = list(&app.user, "").await;
    assert_eq!(
        names(&body),
        vec!["adam Brown", "Maria López", "Zoë Walker"]
    );
    let first = &body["patients"][0];
    assert_eq!(first["link"]["status"], "not_linked");
    assert_eq!(first["freshness"], "none");
    assert_eq!(first["last_upload_at"], Json::Null);
    assert_eq!(body["freshness_days"], 7);
}

#[tokio::test]
async fn search_finds_records_by_name_word_mrn_or_date_of_birth_ignoring_case_and_accents() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "search@clinic.example").await;
    create_patient(&app.user, "José Álvarez", "1961-07-08", Some("AB-100")).await;
    create_patient(&app.user, "Josephine Alder", "1999-12-31", Some("CD-200")).await;
    create_patient(&app.user, "Sam Other", "1961-07-09", None).await;
    assert_eq!(
        names(&list(&app.user, "?q=jos").await),
        vec!["José Álvarez", "Josephine Alder"]
    );
    assert_eq!(
        names(&list(&app.user, "?q=ALVA").await),
        vec!["José Álvarez"]
    );
    assert_eq!(
        names(&list(&app.user, "?q=jose%20alv").await),
        vec!["José Álvarez"]
    );
    assert_eq!(
        names(&list(&app.user, "?q=cd-2").await),
        vec!["Josephine Alder"]
    );
    assert_eq!(
        names(&list(&app.user, "?q=1961-07").await),
        vec!["José Álvarez", "Sam Other"]
    );
    assert!(names(&list(&app.user, "?q=nobody").await).is_empty());
}

#[tokio::test]
async fn search_reads_a_date_of_birth_written_the_way_people_write_it() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "dates@clinic.example").await;
    create_patient(&app.user, "Ada December", "1980-12-03", None).await;
    create_patient(&app.user, "Bea March", "1980-03-12", None).await;
    create_patient(&app.user, "Cy September", "1980-09-30", None).await;
    for (written, expected) in [
        ("3%20Dec%201980", vec!["Ada December"]),
        ("December%203,%201980", vec!["Ada December"]),
        ("03.12.1980", vec!["Ada December", "Bea March"]),
        ("3/12/1980", vec!["Ada December", "Bea March"]),
        ("30/09/1980", vec!["Cy September"]),
        ("09/30/1980", vec!["Cy September"]),
    ] {
        assert_eq!(
            names(&list(&app.user, &format!("?q={written}")).await),
            expected,
            "{written}"
        );
    }
    assert!(
        names(&list(&app.user, "?q=31/02/1980").await).is_empty(),
        "no such day"
    );
}

#[tokio::test]
async fn the_list_pages_through_many_records() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "pages@clinic.example").await;
    for i in 0..55 {
        create_patient(&app.user, &format!("Patient {i:03}"), "1970-01-01", None).await;
    }
    let first = list(&app.user, "").await;
    assert_eq!(first["patients"].as_array().map(Vec::len), Some(50));
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let second = list(&app.user, &format!("?cursor={cursor}")).await;
    assert_eq!(
        names(&second),
        (50..55)
            .map(|i| format!("Patient {i:03}"))
            .collect::<Vec<_>>()
    );
    assert_error(
        app.user.get("/api/clinic/patients?cursor=garbage").await,
        400,
        "invalid_cursor",
    )
    .await;
}

#[tokio::test]
async fn the_same_mrn_twice_in_one_clinic_is_a_conflict_but_not_across_clinics() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "mrn@clinic.example").await;
    create_patient(&app.user, "First Person", "1970-01-01", Some("X-1")).await;
    let before = app.stored().await;
    let response = app
        .user
        .post(
            "/api/clinic/patients",
            &json!({"name": "Second Person", "date_of_birth": "1971-01-01", "mrn": "x-1"}),
        )
        .await;
    assert_error(response, 409, "mrn_taken").await;
    assert_eq!(app.stored().await, before);
    let other = app.browser();
    signed_in_clinic(&other, "mrn@other.example").await;
    create_patient(&other, "Third Person", "1972-01-01", Some("X-1")).await;
}

#[tokio::test]
async fn creating_a_record_refuses_bad_input_and_stores_nothing() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "bad@clinic.example").await;
    let cases = [
        (json!({"date_of_birth": "1970-01-01"}), 400, "missing_field"),
        (
            json!({"name": "A B", "date_of_birth": "1970-01-01", "ssn": "1"}),
            400,
            "unknown_field",
        ),
        (
            json!({"name": "A B", "date_of_birth": 1970}),
            400,
            "invalid_type",
        ),
        (
            json!({"name": "", "date_of_birth": "1970-01-01"}),
            400,
            "invalid_name",
        ),
        (
            json!({"name": "n".repeat(101), "date_of_birth": "1970-01-01"}),
            400,
            "invalid_name",
        ),
        (
            json!({"name": "A B", "date_of_birth": "01/01/1970"}),
            400,
            "invalid_date_of_birth",
        ),
        (
            json!({"name": "A B", "date_of_birth": "2999-01-01"}),
            400,
            "invalid_date_of_birth",
        ),
        (
            json!({"name": "A B", "date_of_birth": "1970-01-01", "mrn": "has space"}),
            400,
            "invalid_mrn",
        ),
        (
            json!({"name": "A B", "date_of_birth": "1970-01-01", "mrn": "9".repeat(33)}),
            400,
            "invalid_mrn",
        ),
    ];
    for (body, status, code) in cases {
        let before = app.stored().await;
        assert_error(
            app.user.post("/api/clinic/patients", &body).await,
            status,
            code,
        )
        .await;
        assert_eq!(app.stored().await, before, "{code}");
    }
    assert_error(
        app.user
            .get(&format!("/api/clinic/patients?q={}", "a".repeat(101)))
            .await,
        400,
        "invalid_search",
    )
    .await;
}

#[tokio::test]
async fn a_clinic_can_never_see_search_or_touch_another_clinics_records() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "owner").await;
    let intruder = app.browser();
    signed_in_clinic(&intruder, "intruder@clinic.example").await;
    let before = app.stored().await;
    let id = &linked.patient_id;
    assert_error(
        intruder.get(&format!("/api/clinic/patients/{id}")).await,
        404,
        "not_found",
    )
    .await;
    for (method, path) in [
        (
            reqwest::Method::POST,
            format!("/api/clinic/patients/{id}/link/code"),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/clinic/patients/{id}/link/code"),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/clinic/patients/{id}/link"),
        ),
    ] {
        assert_error(intruder.send(method, &path, None).await, 404, "not_found").await;
    }
    let response = intruder
        .post(
            &format!("/api/clinic/patients/{id}/link/credentials"),
            &json!({"username": "owner.patient", "password": "pebble lantern orchid 58", "consent": true}),
        )
        .await;
    assert_error(response, 404, "not_found").await;
    assert!(names(&list(&intruder, "?q=jordan").await).is_empty());
    assert!(names(&list(&intruder, "").await).is_empty());
    assert_eq!(app.stored().await, before, "nothing stored changed");
}

#[tokio::test]
async fn personal_accounts_cannot_use_clinic_routes_and_signed_out_callers_are_refused() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "not.staff").await;
    assert_error(app.user.get("/api/clinic/patients").await, 403, "forbidden").await;
    let response = app
        .user
        .post(
            "/api/clinic/patients",
            &json!({"name": "A B", "date_of_birth": "1970-01-01"}),
        )
        .await;
    assert_error(response, 403, "forbidden").await;
    assert_error(
        app.browser().get("/api/clinic/patients").await,
        401,
        "unauthenticated",
    )
    .await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "staff.only@clinic.example").await;
    assert_error(clinic.get("/api/personal/sharing").await, 403, "forbidden").await;
}

/// Sets when the person last uploaded and their newest reading (what an upload records).
async fn set_data_times(app: &TestApp, person_id: &str, upload: Timestamp, reading: Timestamp) {
    let store = app.embedded.as_ref().expect("embedded");
    let item = Item::new(Key::new(format!("PERSON#{person_id}"), "DATAINFO"))
        .with("last_upload_at", Value::N(upload.as_millisecond()))
        .with("last_reading_at", Value::N(reading.as_millisecond()))
        .with("version", Value::N(1));
    glucolink_core::store::Store::put(store, item, Condition::None)
        .await
        .expect("put");
}

#[tokio::test]
async fn freshness_follows_the_newest_reading_against_the_clinics_threshold() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "fresh").await;
    let now = app.clock_now();
    let row = |body: Json| body["patients"][0].clone();
    assert_eq!(row(list(&linked.clinic, "").await)["freshness"], "none");

    set_data_times(
        &app,
        &linked.person_id,
        now,
        now - SignedDuration::from_hours(24 * 3),
    )
    .await;
    let recent = row(list(&linked.clinic, "").await);
    assert_eq!(recent["freshness"], "recent");
    assert_eq!(recent["link"]["status"], "linked");
    assert!(recent["last_upload_at"].is_string() && recent["last_reading_at"].is_string());

    set_data_times(
        &app,
        &linked.person_id,
        now,
        now - SignedDuration::from_hours(24 * 8),
    )
    .await;
    assert_eq!(row(list(&linked.clinic, "").await)["freshness"], "old");
    let (_, profile) = status_and_json(
        linked
            .clinic
            .get(&format!("/api/clinic/patients/{}", linked.patient_id))
            .await,
    )
    .await;
    assert_eq!(profile["freshness"], "old", "list and profile agree");
}

#[tokio::test]
async fn a_second_record_with_the_same_name_and_birth_date_asks_first() {
    let app = spawn_app().await;
    crate::support::people::signed_in_clinic(&app.user, "twins@clinic.example").await;
    crate::support::people::create_patient(&app.user, "Ada Éarly", "1980-01-01", Some("A-1")).await;
    let before = app.stored_but_sessions().await;
    let same = json!({"name": "ADA  EARLY", "date_of_birth": "1980-01-01"});
    let message = assert_error(
        app.user.post("/api/clinic/patients", &same).await,
        409,
        "possible_duplicate",
    )
    .await;
    assert!(message.contains("Ada Éarly (MRN A-1)"), "{message}");
    assert_eq!(app.stored_but_sessions().await, before, "nothing created");
    // Another birth date is another person; a confirmed duplicate is created.
    let other = json!({"name": "Ada Early", "date_of_birth": "1980-01-02"});
    let (status, _) = status_and_json(app.user.post("/api/clinic/patients", &other).await).await;
    assert_eq!(status, 201);
    let mut confirmed = same.clone();
    confirmed["confirm_duplicate"] = json!(true);
    let (status, _) =
        status_and_json(app.user.post("/api/clinic/patients", &confirmed).await).await;
    assert_eq!(status, 201);
    let mut wrong = same;
    wrong["confirm_duplicate"] = json!("yes");
    assert_error(
        app.user.post("/api/clinic/patients", &wrong).await,
        400,
        "invalid_type",
    )
    .await;
}

#[tokio::test]
async fn a_record_made_by_mistake_is_deleted_but_never_a_linked_or_waiting_one() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "tidy@clinic.example").await;
    let mistake = create_patient(&clinic, "Typo Person", "1990-01-01", Some("T-9")).await;
    let waiting = create_patient(&clinic, "Waiting Person", "1991-01-01", None).await;
    generate_code(&clinic, &waiting).await;
    let linked = linked_patient(&app, "tidy.linked").await;

    // Refused, and nothing changes: linked, waiting for a code, unknown, another clinic's.
    let before = app.stored_data().await;
    assert_error(
        clinic
            .send(
                Method::DELETE,
                &format!("/api/clinic/patients/{waiting}"),
                None,
            )
            .await,
        409,
        "code_pending",
    )
    .await;
    assert_error(
        linked
            .clinic
            .send(
                Method::DELETE,
                &format!("/api/clinic/patients/{}", linked.patient_id),
                None,
            )
            .await,
        409,
        "linked",
    )
    .await;
    assert_error(
        clinic
            .send(
                Method::DELETE,
                &format!("/api/clinic/patients/{}", linked.patient_id),
                None,
            )
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        clinic
            .send(Method::DELETE, "/api/clinic/patients/not-an-id", None)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.stored_data().await, before);

    let response = clinic
        .send(
            Method::DELETE,
            &format!("/api/clinic/patients/{mistake}"),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_error(
        clinic.get(&format!("/api/clinic/patients/{mistake}")).await,
        404,
        "not_found",
    )
    .await;
    // Gone from the list and search, its MRN free again, and the log says what it held.
    let (_, found) = status_and_json(clinic.get("/api/clinic/patients?q=typo").await).await;
    assert_eq!(found["patients"], json!([]));
    create_patient(&clinic, "Right Person", "1990-01-01", Some("T-9")).await;
    let (_, log) =
        status_and_json(clinic.get("/api/clinic/audit?action=patient_deleted").await).await;
    assert_eq!(
        log["events"][0]["detail"],
        "Deleted the record of Typo Person, born 1990-01-01, MRN T-9."
    );
}

async fn set_archived(
    clinic: &crate::support::app::Browser,
    patient_id: &str,
    body: &Json,
) -> reqwest::Response {
    clinic
        .send(
            Method::PUT,
            &format!("/api/clinic/patients/{patient_id}/archived"),
            Some(body),
        )
        .await
}

#[tokio::test]
async fn an_archived_record_leaves_the_list_and_triage_is_found_by_search_and_restored() {
    let app = spawn_app().await;
    let clinic = app.browser();
    signed_in_clinic(&clinic, "archive@clinic.example").await;
    let moved = create_patient(&clinic, "Moved Away", "1970-05-05", Some("MA-1")).await;
    create_patient(&clinic, "Still Here", "1971-06-06", None).await;
    let waiting = create_patient(&clinic, "Waiting Still", "1972-07-07", None).await;
    generate_code(&clinic, &waiting).await;
    let linked = linked_patient(&app, "archive.linked").await;

    // Refused, and nothing changes: linked, waiting, bad bodies, unknown, another clinic's.
    let before = app.stored_data().await;
    for (who, id, body, status, code) in [
        (
            &clinic,
            waiting.as_str(),
            json!({"archived": true}),
            409,
            "code_pending",
        ),
        (
            &linked.clinic,
            linked.patient_id.as_str(),
            json!({"archived": true}),
            409,
            "linked",
        ),
        (
            &clinic,
            moved.as_str(),
            json!({"archived": "yes"}),
            400,
            "invalid_type",
        ),
        (&clinic, moved.as_str(), json!({}), 400, "missing_field"),
        (
            &clinic,
            moved.as_str(),
            json!({"archived": true, "why": "x"}),
            400,
            "unknown_field",
        ),
        (
            &clinic,
            "not-an-id",
            json!({"archived": true}),
            404,
            "not_found",
        ),
        (
            &clinic,
            linked.patient_id.as_str(),
            json!({"archived": true}),
            404,
            "not_found",
        ),
    ] {
        assert_error(set_archived(who, id, &body).await, status, code).await;
    }
    assert_error(
        clinic.get("/api/clinic/patients?archived=maybe").await,
        400,
        "invalid_archived",
    )
    .await;
    assert_eq!(app.stored_data().await, before);

    let (status, archived) =
        status_and_json(set_archived(&clinic, &moved, &json!({"archived": true})).await).await;
    assert_eq!(status, 200, "{archived}");
    assert!(archived["archived_at"].is_string(), "{archived}");
    assert_eq!(archived["archived_by"], "Sam Rivera");
    // Again: nothing more happens.
    let (status, _) =
        status_and_json(set_archived(&clinic, &moved, &json!({"archived": true})).await).await;
    assert_eq!(status, 200);

    // Out of the list and of triage (sorted by a number); under "archived"; found by search, marked.
    assert_eq!(
        names(&list(&clinic, "").await),
        ["Still Here", "Waiting Still"]
    );
    assert_eq!(
        names(&list(&clinic, "?sort=in_range&order=asc").await),
        ["Still Here", "Waiting Still"]
    );
    assert_eq!(
        names(&list(&clinic, "?archived=true").await),
        ["Moved Away"]
    );
    let found = list(&clinic, "?q=moved").await;
    assert_eq!(names(&found), ["Moved Away"]);
    assert!(found["patients"][0]["archived_at"].is_string());
    let (_, profile) =
        status_and_json(clinic.get(&format!("/api/clinic/patients/{moved}")).await).await;
    assert!(profile["archived_at"].is_string(), "{profile}");

    // An archived record cannot be linked until restored; its MRN stays taken.
    let before = app.stored_data().await;
    assert_error(
        clinic
            .send(
                Method::POST,
                &format!("/api/clinic/patients/{moved}/link/code"),
                None,
            )
            .await,
        409,
        "archived",
    )
    .await;
    assert_eq!(app.stored_data().await, before);
    assert_error(
        clinic
            .post(
                "/api/clinic/patients",
                &json!({"name": "Other Person", "date_of_birth": "1980-01-01", "mrn": "MA-1"}),
            )
            .await,
        409,
        "mrn_taken",
    )
    .await;

    let (status, restored) =
        status_and_json(set_archived(&clinic, &moved, &json!({"archived": false})).await).await;
    assert_eq!(status, 200, "{restored}");
    assert!(restored.get("archived_at").is_none(), "{restored}");
    assert_eq!(
        names(&list(&clinic, "").await),
        ["Moved Away", "Still Here", "Waiting Still"]
    );
    assert_eq!(list(&clinic, "?archived=true").await["patients"], json!([]));
    generate_code(&clinic, &moved).await;
    let (_, log) = status_and_json(clinic.get("/api/clinic/audit").await).await;
    let actions = event_actions(&log);
    assert!(
        actions.iter().any(|a| a == "patient_archived"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "patient_restored"),
        "{actions:?}"
    );
}
