//! Accounts and sessions through the HTTP API: sign-up, sign-in, sign-out, /api/me, lockout, expiry.

use jiff::SignedDuration;
use reqwest::Method;
use serde_json::json;

use crate::support::app::{
    TestApp, assert_error, spawn_app, spawn_app_on_dynamodb, status_and_json,
};
use crate::support::people::{
    CLINIC_PASSWORD, PERSON_PASSWORD, clinic_sign_up, personal_sign_up, signed_in_clinic,
    signed_in_person,
};

#[tokio::test]
async fn clinic_sign_up_creates_the_clinic_and_signs_its_admin_in() {
    let app = spawn_app().await;
    let created = signed_in_clinic(&app.user, "sam@northgate.example").await;
    assert_eq!(created["kind"], "clinic_user");
    assert_eq!(created["role"], "admin");
    assert_eq!(created["clinic_name"], "Northgate Diabetes Centre");
    assert_eq!(
        created["clinic_id"].as_str().map(str::len),
        Some(26),
        "a ULID"
    );
    let (status, me) = status_and_json(app.user.get("/api/me").await).await;
    assert_eq!(status, 200);
    assert_eq!(me["user_id"], created["user_id"]);
    assert_eq!(me["email"], "sam@northgate.example");
    assert!(
        !me.to_string().contains("argon2"),
        "no password hash leaves: {me}"
    );
}

#[tokio::test]
async fn personal_sign_up_creates_the_account_and_signs_in() {
    let app = spawn_app().await;
    let created = signed_in_person(&app.user, "jordan.e").await;
    assert_eq!(created["kind"], "person");
    let (status, me) = status_and_json(app.user.get("/api/me").await).await;
    assert_eq!(status, 200);
    assert_eq!(me["person_id"], created["person_id"]);
    assert_eq!(me["username"], "jordan.e");
    assert_eq!(me["date_of_birth"], "1990-06-15");
    assert_eq!(me["phone"], "+447700900123");
}

#[tokio::test]
async fn sign_in_works_for_both_kinds_of_account_with_a_fresh_browser() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "lee@clinic.example").await;
    signed_in_person(&app.browser(), "casey").await;

    let staff = app.browser();
    let (status, body) = status_and_json(
        staff
            .post(
                "/api/clinic/signin",
                &json!({"email": "LEE@clinic.example", "password": CLINIC_PASSWORD}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "email is case-insensitive: {body}");
    assert_eq!(body["kind"], "clinic_user");

    let patient = app.browser();
    let (status, body) = status_and_json(
        patient
            .post(
                "/api/personal/signin",
                &json!({"username": "casey", "password": PERSON_PASSWORD}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, me) = status_and_json(patient.get("/api/me").await).await;
    assert_eq!(me["kind"], "person");
}

#[tokio::test]
async fn unknown_account_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "ana@clinic.example").await;
    let browser = app.browser();
    let wrong = browser
        .post(
            "/api/clinic/signin",
            &json!({"email": "ana@clinic.example", "password": "not the password at all"}),
        )
        .await;
    let unknown = browser
        .post(
            "/api/clinic/signin",
            &json!({"email": "nobody@clinic.example", "password": "not the password at all"}),
        )
        .await;
    let (wrong_status, wrong_body) = status_and_json(wrong).await;
    let (unknown_status, unknown_body) = status_and_json(unknown).await;
    assert_eq!(wrong_status, 401);
    assert_eq!(wrong_body["error"]["code"], "invalid_credentials");
    assert_eq!((wrong_status, wrong_body), (unknown_status, unknown_body));
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site_strict() {
    let app = spawn_app().await;
    let response = app
        .user
        .post("/api/personal/signup", &personal_sign_up("cookie.check"))
        .await;
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Max-Age="), "{session}");
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server_not_just_in_the_browser() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "river").await;
    let stolen = app.user.cookie("session").expect("session");
    let response = app.user.send(Method::POST, "/api/signout", None).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_error(app.user.get("/api/me").await, 401, "unauthenticated").await;

    let replay = app.browser();
    replay.set_cookie("session", &stolen);
    assert_error(replay.get("/api/me").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_account() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "many.devices").await;
    let phone = app.browser();
    let signed_in = phone
        .post(
            "/api/personal/signin",
            &json!({"username": "many.devices", "password": PERSON_PASSWORD}),
        )
        .await;
    assert_eq!(signed_in.status().as_u16(), 200);
    let response = app
        .user
        .send(Method::POST, "/api/signout?everywhere=true", None)
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_error(phone.get("/api/me").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn sign_out_without_a_session_is_harmless() {
    let app = spawn_app().await;
    let response = app.user.send(Method::POST, "/api/signout", None).await;
    assert_eq!(response.status().as_u16(), 204);
}

#[tokio::test]
async fn clinic_sessions_expire_after_thirty_idle_minutes() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "idle@clinic.example").await;
    app.advance(SignedDuration::from_mins(29));
    assert_eq!(app.user.get("/api/me").await.status().as_u16(), 200);
    app.advance(SignedDuration::from_mins(29));
    assert_eq!(
        app.user.get("/api/me").await.status().as_u16(),
        200,
        "use refreshes the idle timer"
    );
    app.advance(SignedDuration::from_mins(31));
    assert_error(app.user.get("/api/me").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn sessions_end_at_their_absolute_limit_even_when_in_use() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "busy@clinic.example").await;
    for _ in 0..24 {
        app.advance(SignedDuration::from_mins(25));
        app.user.get("/api/me").await;
    }
    // 10 hours in: still valid. 12 hours is the clinic limit.
    assert_eq!(app.user.get("/api/me").await.status().as_u16(), 200);
    for _ in 0..5 {
        app.advance(SignedDuration::from_mins(25));
        app.user.get("/api/me").await;
    }
    assert_error(app.user.get("/api/me").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn forged_and_malformed_session_cookies_are_refused() {
    let app = spawn_app().await;
    for forged in [
        "x",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "../../etc/passwd",
        "",
    ] {
        let browser = app.browser();
        browser.set_cookie("session", forged);
        assert_error(browser.get("/api/me").await, 401, "unauthenticated").await;
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_for_a_while() {
    let app = spawn_app().await;
    signed_in_person(&app.user, "locked.out").await;
    let attacker = app.browser();
    for _ in 0..5 {
        let response = attacker
            .post(
                "/api/personal/signin",
                &json!({"username": "locked.out", "password": "guess guess guess 1"}),
            )
            .await;
        assert_error(response, 401, "invalid_credentials").await;
    }
    // Even the right password is refused now, with a retry time.
    let response = attacker
        .post(
            "/api/personal/signin",
            &json!({"username": "locked.out", "password": PERSON_PASSWORD}),
        )
        .await;
    let retry_header = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .expect("Retry-After header");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "too_many_attempts");
    assert_eq!(body["error"]["retry_after_seconds"], retry_header);
    assert!((1..=900).contains(&retry_header));

    app.advance(SignedDuration::from_mins(16));
    let response = attacker
        .post(
            "/api/personal/signin",
            &json!({"username": "locked.out", "password": PERSON_PASSWORD}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "the window has passed");
}

/// Several sign-ups with one email (or username) at the same instant: exactly one wins.
async fn concurrent_sign_ups_have_exactly_one_winner(app: TestApp) {
    let mut clinic_tasks = Vec::new();
    let mut person_tasks = Vec::new();
    for _ in 0..6 {
        let browser = app.browser();
        browser.csrf().await;
        clinic_tasks.push(tokio::spawn(async move {
            browser
                .post("/api/clinic/signup", &clinic_sign_up("race@clinic.example"))
                .await
                .status()
                .as_u16()
        }));
        let browser = app.browser();
        browser.csrf().await;
        person_tasks.push(tokio::spawn(async move {
            browser
                .post("/api/personal/signup", &personal_sign_up("race.winner"))
                .await
                .status()
                .as_u16()
        }));
    }
    for tasks in [clinic_tasks, person_tasks] {
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.expect("task"));
        }
        statuses.sort_unstable();
        assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_have_exactly_one_winner_on_the_embedded_store() {
    concurrent_sign_ups_have_exactly_one_winner(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_have_exactly_one_winner_on_dynamodb() {
    concurrent_sign_ups_have_exactly_one_winner(spawn_app_on_dynamodb().await).await;
}

/// Parallel guesses at one account: the attempts are booked before the password work, so exactly the
/// limit (5) are checked, the rest refused, and a right password among the later ones does not get in.
async fn parallel_guesses_cannot_outrun_the_lockout(app: TestApp) {
    signed_in_person(&app.user, "parallel.target").await;
    let mut tasks = Vec::new();
    for guess in 0..30 {
        let browser = app.browser();
        browser.csrf().await;
        let password = if guess == 25 {
            PERSON_PASSWORD.to_owned()
        } else {
            format!("wrong guess number {guess}")
        };
        tasks.push(tokio::spawn(async move {
            browser
                .post(
                    "/api/personal/signin",
                    &json!({"username": "parallel.target", "password": password}),
                )
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert_eq!(checked, 5, "exactly the limit is checked: {statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 200).count() <= 1,
        "{statuses:?}"
    );
    // Whatever the order, once the window is full even the right password waits.
    let response = app
        .browser()
        .post(
            "/api/personal/signin",
            &json!({"username": "parallel.target", "password": PERSON_PASSWORD}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_cannot_outrun_the_lockout_on_the_embedded_store() {
    parallel_guesses_cannot_outrun_the_lockout(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_cannot_outrun_the_lockout_on_dynamodb() {
    parallel_guesses_cannot_outrun_the_lockout(spawn_app_on_dynamodb().await).await;
}

#[tokio::test]
async fn taken_email_and_username_get_clear_conflicts() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "taken@clinic.example").await;
    signed_in_person(&app.browser(), "taken").await;
    let other = app.browser();
    let message = assert_error(
        other
            .post(
                "/api/clinic/signup",
                &clinic_sign_up("Taken@Clinic.example"),
            )
            .await,
        409,
        "email_taken",
    )
    .await;
    assert!(message.contains("Sign in"), "{message}");
    assert_error(
        other
            .post("/api/personal/signup", &personal_sign_up("TAKEN"))
            .await,
        409,
        "username_taken",
    )
    .await;
}

#[tokio::test]
async fn the_whole_flow_works_on_dynamodb_too() {
    let app = spawn_app_on_dynamodb().await;
    signed_in_clinic(&app.user, "cloud@clinic.example").await;
    let (status, me) = status_and_json(app.user.get("/api/me").await).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "cloud@clinic.example");
    let response = app.user.send(Method::POST, "/api/signout", None).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_error(app.user.get("/api/me").await, 401, "unauthenticated").await;
    let again = app.browser();
    let response = again
        .post(
            "/api/clinic/signin",
            &json!({"email": "cloud@clinic.example", "password": CLINIC_PASSWORD}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
}
