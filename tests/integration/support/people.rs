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

/// Registers a clinic in this browser (which is then signed in as its admin) and verifies it with the
/// emailed link; returns the sign-up answer.
pub async fn signed_in_clinic(browser: &Browser, email: &str) -> Value {
    let body = signed_in_unverified_clinic(browser, email).await;
    super::messages::verify_clinic(browser, email).await;
    body
}

/// Registers a clinic in this browser without following its verification link.
pub async fn signed_in_unverified_clinic(browser: &Browser, email: &str) -> Value {
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
    // As a person does: the recovery email is confirmed with the link sent to it.
    super::messages::verify_contact(browser, &format!("{username}@example.net")).await;
    body
}

/// Creates a patient record as the signed-in clinic; returns its id.
pub async fn create_patient(
    clinic: &Browser,
    name: &str,
    date_of_birth: &str,
    mrn: Option<&str>,
) -> String {
    let mut body = json!({"name": name, "date_of_birth": date_of_birth});
    if let Some(mrn) = mrn {
        body["mrn"] = json!(mrn);
    }
    let (status, created) = status_and_json(clinic.post("/api/clinic/patients", &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["patient_id"]
        .as_str()
        .expect("patient_id")
        .to_owned()
}

/// The Patient Profile of a record, as the signed-in clinic sees it (asserts 200).
pub async fn profile(clinic: &Browser, patient_id: &str) -> Value {
    let (status, body) = status_and_json(
        clinic
            .get(&format!("/api/clinic/patients/{patient_id}"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Replaces the record's pending code with a new one (`{"replace": true}`); returns the answer.
pub async fn replace_code(clinic: &Browser, patient_id: &str) -> Value {
    let path = format!("/api/clinic/patients/{patient_id}/link/code");
    let (status, body) = status_and_json(clinic.post(&path, &json!({"replace": true})).await).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Generates a unique code for a record; returns the answer (`code`, `expires_at`, `accept_url`).
pub async fn generate_code(clinic: &Browser, patient_id: &str) -> Value {
    let path = format!("/api/clinic/patients/{patient_id}/link/code");
    let (status, body) =
        status_and_json(clinic.send(reqwest::Method::POST, &path, None).await).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// A clinic, a patient with a personal account, and the record linked to it through a unique code.
pub struct Linked {
    pub clinic: Browser,
    pub patient: Browser,
    pub patient_id: String,
    pub person_id: String,
    pub clinic_id: String,
}

pub async fn linked_patient(app: &super::app::TestApp, tag: &str) -> Linked {
    linked_patient_named(app, tag, "Jordan Example", "1990-06-15").await
}

/// A linked record whose patient has this name and date of birth, on both sides of the link.
pub async fn linked_patient_named(
    app: &super::app::TestApp,
    tag: &str,
    name: &str,
    date_of_birth: &str,
) -> Linked {
    let clinic = app.browser();
    let clinic_view = signed_in_clinic(&clinic, &format!("{tag}@clinic.example")).await;
    let (patient, patient_id, person_id) =
        link_new_patient(app, &clinic, tag, name, date_of_birth, None).await;
    Linked {
        clinic,
        patient,
        patient_id,
        person_id,
        clinic_id: clinic_view["clinic_id"]
            .as_str()
            .expect("clinic_id")
            .to_owned(),
    }
}

/// A new personal account (`<tag>.patient`, in `time_zone` if given) linked through a unique code to a
/// new record of the signed-in `clinic`: the patient's browser, the record's and the person's ids.
pub async fn link_new_patient(
    app: &super::app::TestApp,
    clinic: &Browser,
    tag: &str,
    name: &str,
    date_of_birth: &str,
    time_zone: Option<&str>,
) -> (Browser, String, String) {
    let patient = app.browser();
    let mut sign_up = personal_sign_up(&format!("{tag}.patient"));
    sign_up["name"] = json!(name);
    sign_up["date_of_birth"] = json!(date_of_birth);
    if let Some(zone) = time_zone {
        sign_up["time_zone"] = json!(zone);
    }
    let (status, person) =
        status_and_json(patient.post("/api/personal/signup", &sign_up).await).await;
    assert_eq!(status, 201, "{person}");
    let patient_id = create_patient(clinic, name, date_of_birth, None).await;
    let code = generate_code(clinic, &patient_id).await;
    let (status, body) = status_and_json(
        patient
            .post(
                "/api/personal/sharing/accept",
                &json!({"code": code["code"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let person_id = person["person_id"].as_str().expect("person_id").to_owned();
    (patient, patient_id, person_id)
}

/// Signs an existing clinic user in again (after a session expired).
pub async fn sign_in_clinic(browser: &Browser, email: &str) {
    let body = json!({"email": email, "password": CLINIC_PASSWORD});
    let response = browser.post("/api/clinic/signin", &body).await;
    assert_eq!(response.status().as_u16(), 200);
}

/// Signs an existing personal account in again.
pub async fn sign_in_person(browser: &Browser, username: &str) {
    let body = json!({"username": username, "password": PERSON_PASSWORD});
    let response = browser.post("/api/personal/signin", &body).await;
    assert_eq!(response.status().as_u16(), 200);
}

/// The actions of a page of an audit log, newest first.
pub fn event_actions(body: &Value) -> Vec<String> {
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The clinic's patient list with this query (`?sort=cv`…), answered 200.
pub async fn list_patients(clinic: &Browser, query: &str) -> Value {
    let (status, body) =
        status_and_json(clinic.get(&format!("/api/clinic/patients{query}")).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The names of a patient list's rows, in order.
pub fn names(body: &Value) -> Vec<String> {
    body["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}
