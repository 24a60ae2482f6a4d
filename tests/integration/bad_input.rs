//! Every input path refuses bad input with a clear 4xx JSON error and leaves the store exactly as it was.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{TestApp, assert_error, spawn_app};
use crate::support::people::{clinic_sign_up, personal_sign_up, signed_in_clinic};

/// Sends `body` as JSON to `path` and asserts the error and that nothing stored changed.
async fn refused(app: &TestApp, path: &str, body: Value, status: u16, code: &str) {
    let before = app.stored().await;
    assert_error(app.user.post(path, &body).await, status, code).await;
    assert_eq!(
        app.stored().await,
        before,
        "{path} {code} changed the store"
    );
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().expect("object").remove(field);
    body
}

#[tokio::test]
async fn clinic_sign_up_refuses_each_kind_of_bad_input() {
    let app = spawn_app().await;
    let good = clinic_sign_up("good@clinic.example");
    let path = "/api/clinic/signup";
    refused(
        &app,
        path,
        without(good.clone(), "email"),
        400,
        "missing_field",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "is_admin", json!(true)),
        400,
        "unknown_field",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "email", json!(42)),
        400,
        "invalid_type",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "email", json!("not-an-email")),
        400,
        "invalid_email",
    )
    .await;
    refused(
        &app,
        path,
        with(
            good.clone(),
            "email",
            json!(format!("{}@x.example", "a".repeat(260))),
        ),
        400,
        "invalid_email",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "password", json!("short")),
        400,
        "weak_password",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "password", json!("passwordpassword")),
        400,
        "weak_password",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "password", json!("x".repeat(300))),
        400,
        "weak_password",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "name", json!("n".repeat(101))),
        400,
        "invalid_name",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "name", json!("   ")),
        400,
        "invalid_name",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "clinic_name", json!("c".repeat(121))),
        400,
        "invalid_clinic_name",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "clinic_name", json!("Bad\u{0007}Name")),
        400,
        "invalid_clinic_name",
    )
    .await;
    // A phishing link in the clinic's name would reach patients in every code message.
    refused(
        &app,
        path,
        with(
            good.clone(),
            "clinic_name",
            json!("Riverside Clinic: log in at https://evil.example"),
        ),
        400,
        "invalid_clinic_name",
    )
    .await;
    // A bidirectional override makes "Alex \u{202e}omeD" show as "Alex Demo".
    refused(
        &app,
        path,
        with(good.clone(), "name", json!("Alex \u{202e}omeD")),
        400,
        "invalid_name",
    )
    .await;
    refused(&app, path, json!([1, 2, 3]), 400, "invalid_type").await;
}

#[tokio::test]
async fn sign_ups_are_limited_per_source() {
    let app = spawn_app().await;
    for i in 0..60 {
        let response = app
            .browser()
            .post(
                "/api/personal/signup",
                &personal_sign_up(&format!("many.{i}")),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201, "sign-up {i}");
    }
    let before = app.stored().await;
    let response = app
        .browser()
        .post("/api/personal/signup", &personal_sign_up("one.too.many"))
        .await;
    assert_error(response, 429, "too_many_attempts").await;
    let clinic = app
        .browser()
        .post("/api/clinic/signup", &clinic_sign_up("late@clinic.example"))
        .await;
    assert_error(clinic, 429, "too_many_attempts").await;
    // No account was created; only the limit's counter moved.
    let created: Vec<_> = app
        .stored()
        .await
        .into_iter()
        .filter(|item| !before.contains(item) && !item.key.pk.starts_with("THROTTLE"))
        .collect();
    assert!(created.is_empty(), "{created:?}");
}

#[tokio::test]
async fn personal_sign_up_refuses_each_kind_of_bad_input() {
    let app = spawn_app().await;
    let good = personal_sign_up("good.user");
    let path = "/api/personal/signup";
    refused(
        &app,
        path,
        without(good.clone(), "username"),
        400,
        "missing_field",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "role", json!("admin")),
        400,
        "unknown_field",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "date_of_birth", json!(19900615)),
        400,
        "invalid_type",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "username", json!("a b")),
        400,
        "invalid_username",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "username", json!("u".repeat(33))),
        400,
        "invalid_username",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "date_of_birth", json!("2999-01-01")),
        400,
        "invalid_date_of_birth",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "date_of_birth", json!("15/06/1990")),
        400,
        "invalid_date_of_birth",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "phone", json!("12345")),
        400,
        "invalid_phone",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "email", json!("nobody@")),
        400,
        "invalid_email",
    )
    .await;
    refused(
        &app,
        path,
        with(good.clone(), "password", json!("good.user is great")),
        400,
        "weak_password",
    )
    .await;
}

#[tokio::test]
async fn sign_in_refuses_malformed_requests_without_touching_the_store() {
    let app = spawn_app().await;
    refused(
        &app,
        "/api/clinic/signin",
        json!({"email": "a@b.example"}),
        400,
        "missing_field",
    )
    .await;
    refused(
        &app,
        "/api/clinic/signin",
        json!({"email": "a@b.example", "password": 1}),
        400,
        "invalid_type",
    )
    .await;
    refused(
        &app,
        "/api/clinic/signin",
        json!({"email": "no-at-sign", "password": "whatever it is"}),
        400,
        "invalid_email",
    )
    .await;
    refused(
        &app,
        "/api/personal/signin",
        json!({"username": "x", "password": "p", "remember": true}),
        400,
        "unknown_field",
    )
    .await;
}

#[tokio::test]
async fn malformed_json_wrong_content_type_and_oversize_bodies_are_refused() {
    let app = spawn_app().await;
    let before = app.stored().await;
    for path in [
        "/api/clinic/signup",
        "/api/personal/signup",
        "/api/clinic/signin",
        "/api/personal/signin",
    ] {
        let response = app
            .user
            .post_raw(path, "application/json", b"{\"password\": ".to_vec())
            .await;
        assert_error(response, 400, "malformed_json").await;
        let response = app.user.post_raw(path, "text/plain", b"{}".to_vec()).await;
        assert_error(response, 415, "unsupported_media_type").await;
        let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(20 * 1024));
        let response = app
            .user
            .post_raw(path, "application/json", huge.into_bytes())
            .await;
        assert_error(response, 413, "body_too_large").await;
    }
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn state_changing_requests_need_the_csrf_token() {
    let app = spawn_app().await;
    let body = clinic_sign_up("csrf@clinic.example");
    let before = app.stored().await;

    // No CSRF cookie and no header at all.
    let response = app
        .user
        .client
        .post(format!("{}/api/clinic/signup", app.base))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_error(response, 403, "csrf").await;

    // Cookie present, header missing.
    app.user.csrf().await;
    let response = app
        .user
        .client
        .post(format!("{}/api/clinic/signup", app.base))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_error(response, 403, "csrf").await;

    // Header that does not match the cookie (what a cross-site page would have to guess).
    let response = app
        .user
        .client
        .post(format!("{}/api/clinic/signup", app.base))
        .header("X-CSRF-Token", "guessed-token")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_error(response, 403, "csrf").await;
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token_and_keeps_the_session_without_it() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "keep@clinic.example").await;
    let before = app.stored().await;
    let response = app
        .user
        .client
        .post(format!("{}/api/signout", app.base))
        .send()
        .await
        .expect("send");
    assert_error(response, 403, "csrf").await;
    assert_eq!(app.stored().await, before);
    assert_eq!(app.user.get("/api/me").await.status().as_u16(), 200);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_json_errors() {
    let app = spawn_app().await;
    assert_error(
        app.user.get("/api/nothing-here").await,
        404,
        "no_such_route",
    )
    .await;
    assert_error(
        app.user.get("/api/clinic/signup").await,
        405,
        "method_not_allowed",
    )
    .await;
    let wrong = app.user.send(Method::DELETE, "/api/me", None).await;
    assert_eq!(
        wrong.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET"),
        "a 405 names the methods the path has"
    );
    assert_error(wrong, 405, "method_not_allowed").await;
    let staff = app
        .user
        .send(Method::PATCH, "/api/clinic/staff/01ABC", None)
        .await;
    assert_eq!(
        staff.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("DELETE")
    );
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_naming_them() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "params@clinic.example").await;
    for path in [
        "/api/clinic/patients?shoe_size=44",
        "/api/clinic/patients?q=ann&page=2",
        "/api/me?debug=1",
        "/api/clinic/audit?cursor=&limit=5",
    ] {
        let before = app.stored_but_sessions().await;
        let message = assert_error(app.user.get(path).await, 400, "unknown_parameter").await;
        let name = path
            .rsplit(['?', '&'])
            .next()
            .and_then(|p| p.split('=').next())
            .unwrap_or("");
        assert!(message.contains(name), "{path}: {message}");
        // Only the session's idle timer may move; nothing else is written.
        assert_eq!(
            app.stored_but_sessions().await,
            before,
            "{path} changed the store"
        );
    }
    let before = app.stored().await;
    let refused = app
        .user
        .post(
            "/api/clinic/patients?admin=true",
            &json!({"name": "Param Test", "date_of_birth": "1990-01-01"}),
        )
        .await;
    assert_error(refused, 400, "unknown_parameter").await;
    assert_eq!(app.stored().await, before, "nothing created");
    // The parameters a route reads still work.
    assert_eq!(
        app.user
            .get("/api/clinic/patients?q=ann")
            .await
            .status()
            .as_u16(),
        200
    );
}

/// Raw TCP to the local server, as a slow or hostile client would talk.
async fn raw(app: &TestApp) -> tokio::net::TcpStream {
    let address = app.base.trim_start_matches("http://");
    tokio::net::TcpStream::connect(address)
        .await
        .expect("connect")
}

/// Reads until the server answers or closes (at most 10 s).
async fn read_answer(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if String::from_utf8_lossy(&answer).contains("\r\n\r\n{") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn stalled_and_oversized_requests_are_cut_off_without_waiting_for_ever() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    // Half a header, never finished: the connection is closed after the header timeout.
    let mut stalled = raw(&app).await;
    stalled
        .write_all(b"GET /api/me HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("write");
    let started = std::time::Instant::now();
    let answer = read_answer(&mut stalled).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(9),
        "closed, not left open"
    );
    assert!(!answer.contains("200 OK"), "{answer}");
    // A body announced but never sent: 408 after the body timeout.
    let mut slow = raw(&app).await;
    slow.write_all(b"POST /api/personal/signin HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\"")
        .await
        .expect("write");
    let answer = read_answer(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    // A body over the limit is refused from its Content-Length, before it is sent.
    let mut huge = raw(&app).await;
    huge.write_all(b"POST /api/personal/uploads HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\nContent-Length: 40000000\r\n\r\n")
        .await
        .expect("write");
    let answer = read_answer(&mut huge).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn a_state_change_from_another_site_is_refused_and_sign_in_rotates_the_csrf_token() {
    let app = spawn_app().await;
    let token = app.user.csrf().await;
    let before = app.stored().await;
    for (name, value) in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let response = app
            .user
            .client
            .post(format!("{}/api/personal/signup", app.base))
            .header("X-CSRF-Token", &token)
            .header(name, value)
            .json(&personal_sign_up("from.elsewhere"))
            .send()
            .await
            .expect("request");
        assert_error(response, 403, "csrf").await;
    }
    assert_eq!(app.stored().await, before, "nothing created");
    // The browser's own page: same origin, accepted; the token changes with the new session.
    let response = app
        .user
        .client
        .post(format!("{}/api/personal/signup", app.base))
        .header("X-CSRF-Token", &token)
        .header("Origin", &app.base)
        .header("Sec-Fetch-Site", "same-origin")
        .json(&personal_sign_up("from.here"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 201);
    let rotated = app.user.cookie("csrf").expect("csrf");
    assert_ne!(rotated, token, "a new token with the new session");
}

#[tokio::test]
async fn a_null_field_is_refused_rather_than_read_as_left_out() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "nulls@clinic.example").await;
    let before = app.stored().await;
    let message = assert_error(
        app.user
            .send(
                Method::PUT,
                "/api/clinic/settings",
                Some(&json!({ "freshness_days": 3, "glucose_units": null })),
            )
            .await,
        400,
        "invalid_type",
    )
    .await;
    assert!(message.contains("glucose_units"), "{message}");
    assert_eq!(
        app.stored().await,
        before,
        "nothing saved, not even the days"
    );
}

#[tokio::test]
async fn an_invitation_form_with_a_bad_password_is_refused_before_the_link_is_judged() {
    let app = spawn_app().await;
    // A link that was never issued would answer 410; a password too short is the form's fault first.
    refused(
        &app,
        "/api/clinic/staff/invitations/accept",
        json!({ "token": "no-such-invitation", "name": "Sam Staff", "password": "short" }),
        400,
        "weak_password",
    )
    .await;
    refused(
        &app,
        "/api/clinic/staff/invitations/accept",
        json!({ "token": "no-such-invitation", "name": "Sam Staff", "password": "a long enough passphrase here" }),
        410,
        "invitation_invalid",
    )
    .await;
}
