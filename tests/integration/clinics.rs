//! One person in several clinics: an invitation to an address that already signs in joins its login
//! to the clinic, the switcher moves the session between clinics, and removal from one clinic keeps
//! the login for the others.

use serde_json::{Value, json};

use crate::support::app::{Browser, TestApp, assert_error, spawn_app, status_and_json};
use crate::support::messages::outbox_to;
use crate::support::people::{
    create_patient, event_actions, list_patients, names, sign_in_clinic, signed_in_clinic,
};
use crate::support::staff::{STAFF_PASSWORD, invite, join_as_new};

/// Registers a second clinic, named `name`, whose admin is signed in in the returned browser.
async fn other_clinic(app: &TestApp, name: &str, email: &str) -> Browser {
    let admin = app.browser();
    let (status, body) = status_and_json(
        admin
            .post(
                "/api/clinic/signup",
                &json!({"clinic_name": name, "name": "Alex Morgan", "email": email,
                        "password": STAFF_PASSWORD}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    crate::support::messages::verify_clinic(&admin, email).await;
    admin
}

async fn me(browser: &Browser) -> Value {
    let (status, body) = status_and_json(browser.get("/api/me").await).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn clinic_names(me: &Value) -> Vec<(String, bool)> {
    me["clinics"]
        .as_array()
        .expect("clinics")
        .iter()
        .map(|c| {
            (
                c["clinic_name"].as_str().expect("name").to_owned(),
                c["current"].as_bool().expect("current"),
            )
        })
        .collect()
}

fn clinic_id_named(me: &Value, name: &str) -> String {
    me["clinics"]
        .as_array()
        .expect("clinics")
        .iter()
        .find(|c| c["clinic_name"] == name)
        .and_then(|c| c["clinic_id"].as_str())
        .expect("that clinic")
        .to_owned()
}

#[tokio::test]
async fn one_login_joins_a_second_clinic_and_switches_between_them() {
    let app = spawn_app().await;
    let sam = app.browser();
    signed_in_clinic(&sam, "sam@north.example").await;
    create_patient(&sam, "North Patient", "1971-02-03", None).await;
    assert_eq!(
        clinic_names(&me(&sam).await),
        [("Northgate Diabetes Centre".to_owned(), true)]
    );
    let south = other_clinic(&app, "Southbank Endocrinology", "alex@south.example").await;
    create_patient(&south, "South Patient", "1980-04-05", None).await;

    // The invitation says the address already signs in, and the email says how to accept.
    let token = invite(&south, "sam@north.example", "clinician").await;
    let (_, preview) = status_and_json(
        app.browser()
            .post(
                "/api/clinic/staff/invitations/lookup",
                &json!({"token": token}),
            )
            .await,
    )
    .await;
    assert_eq!(preview["existing_login"], true, "{preview}");
    let email = outbox_to(&south, "sam@north.example").await;
    assert!(
        email.iter().any(|m| m["text"]
            .as_str()
            .is_some_and(|t| t.contains("You already sign in to glucolink with this address"))),
        "{email:?}"
    );

    // Refused without a change: a new password for a taken address, another login, a forged token,
    // nobody signed in.
    let before = app.stored_data().await;
    let response = app
        .browser()
        .post(
            "/api/clinic/staff/invitations/accept",
            &json!({"token": token, "name": "Sam Again", "password": STAFF_PASSWORD}),
        )
        .await;
    assert_error(response, 409, "email_taken").await;
    let response = south
        .post(
            "/api/clinic/staff/invitations/join",
            &json!({"token": token}),
        )
        .await;
    assert_error(response, 403, "invitation_for_another_email").await;
    let response = sam
        .post(
            "/api/clinic/staff/invitations/join",
            &json!({"token": "forged"}),
        )
        .await;
    assert_error(response, 410, "invitation_invalid").await;
    let response = sam
        .post("/api/clinic/staff/invitations/join", &json!({}))
        .await;
    assert_error(response, 400, "missing_field").await;
    let response = app
        .browser()
        .post(
            "/api/clinic/staff/invitations/join",
            &json!({"token": token}),
        )
        .await;
    assert_error(response, 401, "unauthenticated").await;
    assert_eq!(app.stored_data().await, before);

    // Sam accepts with the login they have; the session stays in their first clinic.
    let (status, joined) = status_and_json(
        sam.post(
            "/api/clinic/staff/invitations/join",
            &json!({"token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["clinic_name"], "Southbank Endocrinology");
    assert_eq!(joined["role"], "clinician");
    let again = sam
        .post(
            "/api/clinic/staff/invitations/join",
            &json!({"token": token}),
        )
        .await;
    assert_error(again, 410, "invitation_invalid").await;
    let mine = me(&sam).await;
    assert_eq!(
        clinic_names(&mine),
        [
            ("Northgate Diabetes Centre".to_owned(), true),
            ("Southbank Endocrinology".to_owned(), false)
        ]
    );
    assert_eq!(mine["role"], "admin");

    // Switching: a new session in the other clinic, with its role and its records only.
    let south_id = clinic_id_named(&mine, "Southbank Endocrinology");
    let (status, switched) = status_and_json(
        sam.post("/api/me/clinic", &json!({"clinic_id": south_id}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(switched["clinic_name"], "Southbank Endocrinology");
    assert_eq!(switched["role"], "clinician");
    assert_eq!(switched["user_id"], mine["user_id"], "one person, one id");
    assert_eq!(
        names(&list_patients(&sam, "").await),
        ["South Patient"],
        "each clinic sees its own records"
    );
    assert_error(sam.get("/api/clinic/audit").await, 403, "forbidden").await;
    let (_, audit) = status_and_json(south.get("/api/clinic/audit").await).await;
    assert!(
        event_actions(&audit).contains(&"staff_joined".to_owned()),
        "{audit}"
    );
    // The new clinic's log does not say where else the person works (the actor names this clinic).
    assert!(!audit.to_string().contains("Northgate"), "{audit}");

    // Sign-in opens the clinic last switched to.
    sam.post("/api/signout", &json!({})).await;
    sign_in_clinic(&sam, "sam@north.example").await;
    assert_eq!(me(&sam).await["clinic_name"], "Southbank Endocrinology");

    // Bad switches change nothing.
    let north_id = clinic_id_named(&me(&sam).await, "Northgate Diabetes Centre");
    let outsider = app.browser();
    signed_in_clinic(&outsider, "outsider@west.example").await;
    let outsider_clinic = me(&outsider).await["clinic_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let before = app.stored_data().await;
    for (body, status, code) in [
        (json!({"clinic_id": outsider_clinic}), 403, "not_a_member"),
        (
            json!({"clinic_id": "not-a-clinic"}),
            400,
            "invalid_clinic_id",
        ),
        (json!({}), 400, "missing_field"),
        (json!({"clinic_id": 7}), 400, "invalid_type"),
    ] {
        assert_error(sam.post("/api/me/clinic", &body).await, status, code).await;
    }
    assert_eq!(app.stored_data().await, before);
    let (status, back) = status_and_json(
        sam.post("/api/me/clinic", &json!({"clinic_id": north_id}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["role"], "admin");
    assert_eq!(names(&list_patients(&sam, "").await), ["North Patient"]);
}

async fn sign_in(browser: &Browser, email: &str, password: &str) -> u16 {
    browser
        .post(
            "/api/clinic/signin",
            &json!({"email": email, "password": password}),
        )
        .await
        .status()
        .as_u16()
}

async fn remove(admin: &Browser, user_id: &str) {
    let response = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/api/clinic/staff/{user_id}"),
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn removal_from_one_clinic_keeps_the_login_for_the_others() {
    let app = spawn_app().await;
    let sam = app.browser();
    signed_in_clinic(&sam, "sam@north.example").await;
    let south = other_clinic(&app, "Southbank Endocrinology", "alex@south.example").await;
    // Casey joins Northgate as someone new, then Southbank with the same login.
    let token = invite(&sam, "casey@staff.example", "clinician").await;
    let (casey, body) = join_as_new(&app, &token, "Casey Lee").await;
    let casey_id = body["user_id"].as_str().expect("id").to_owned();
    let token = invite(&south, "casey@staff.example", "admin").await;
    let (status, _) = status_and_json(
        casey
            .post(
                "/api/clinic/staff/invitations/join",
                &json!({"token": token}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let casey_in_south = app.browser();
    assert_eq!(
        sign_in(&casey_in_south, "casey@staff.example", STAFF_PASSWORD).await,
        200
    );
    let south_id = clinic_id_named(&me(&casey_in_south).await, "Southbank Endocrinology");
    casey_in_south
        .post("/api/me/clinic", &json!({"clinic_id": south_id}))
        .await;
    assert_eq!(me(&casey_in_south).await["role"], "admin");

    remove(&south, &casey_id).await;
    // Their session in that clinic ended; the one in their other clinic goes on.
    assert_error(casey_in_south.get("/api/me").await, 401, "unauthenticated").await;
    assert_eq!(
        clinic_names(&me(&casey).await),
        [("Northgate Diabetes Centre".to_owned(), true)]
    );
    // Sign-in no longer opens the clinic they left, and they cannot switch back to it.
    assert_eq!(
        sign_in(&casey_in_south, "casey@staff.example", STAFF_PASSWORD).await,
        200
    );
    assert_eq!(
        me(&casey_in_south).await["clinic_name"],
        "Northgate Diabetes Centre"
    );
    let response = casey_in_south
        .post("/api/me/clinic", &json!({"clinic_id": south_id}))
        .await;
    assert_error(response, 403, "not_a_member").await;

    // Invited again, the same login joins again; an address already on the staff is refused.
    let token = invite(&south, "casey@staff.example", "clinician").await;
    let (status, _) = status_and_json(
        casey
            .post(
                "/api/clinic/staff/invitations/join",
                &json!({"token": token}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let before = app.stored_data().await;
    let response = south
        .post(
            "/api/clinic/staff/invitations",
            &json!({"email": "casey@staff.example", "role": "admin"}),
        )
        .await;
    assert_error(response, 409, "email_taken").await;
    assert_eq!(app.stored_data().await, before);

    // Removed from both, the login goes: nothing of it is left and the password no longer works.
    remove(&south, &casey_id).await;
    assert!(
        app.stored()
            .await
            .iter()
            .any(|item| item.key.pk == format!("LOGIN#{casey_id}")),
        "still staff of Northgate"
    );
    remove(&sam, &casey_id).await;
    let left: Vec<String> = app
        .stored()
        .await
        .iter()
        .map(|item| format!("{}/{}", item.key.pk, item.key.sk))
        .filter(|key| {
            key.contains(&casey_id) && !key.starts_with("CLINIC#") && !key.starts_with("SESSIONS#")
                || key.starts_with("EMAIL#casey")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        sign_in(&app.browser(), "casey@staff.example", STAFF_PASSWORD).await,
        401
    );
}

/// A login made before memberships: its credentials on its clinic's staff item, no login item.
async fn make_legacy(app: &TestApp, clinic_id: &str, user_id: &str) {
    use glucolink_core::store::{Condition, Key, Query};
    let store = &app.ctx.as_ref().expect("local app").store;
    let login_key = Key::new(format!("LOGIN#{user_id}"), "META");
    let login = store.get(&login_key).await.expect("read").expect("login");
    let staff_key = Key::new(format!("CLINIC#{clinic_id}"), format!("USER#{user_id}"));
    let staff = store.get(&staff_key).await.expect("read").expect("staff");
    let mut legacy = login.clone();
    legacy.key = staff_key;
    legacy = legacy.with_s("role", staff.s("role").expect("role"));
    store.put(legacy, Condition::Exists).await.expect("write");
    store
        .delete(&login_key, Condition::Exists)
        .await
        .expect("delete");
    let memberships = store
        .query(&Query::prefix(format!("MEMBERSHIPS#{user_id}"), ""))
        .await
        .expect("query");
    for item in memberships.items {
        store
            .delete(&item.key, Condition::Exists)
            .await
            .expect("delete");
    }
}

#[tokio::test]
async fn a_login_made_before_memberships_moves_to_its_own_item_when_it_joins_a_second_clinic() {
    let app = spawn_app().await;
    let sam = app.browser();
    let signed_up = signed_in_clinic(&sam, "sam@north.example").await;
    let north_id = signed_up["clinic_id"].as_str().expect("clinic").to_owned();
    let sam_id = signed_up["user_id"].as_str().expect("user").to_owned();
    make_legacy(&app, &north_id, &sam_id).await;
    // As before memberships: it signs in, and lists its one clinic.
    sign_in_clinic(&sam, "sam@north.example").await;
    assert_eq!(
        clinic_names(&me(&sam).await),
        [("Northgate Diabetes Centre".to_owned(), true)]
    );

    let south = other_clinic(&app, "Southbank Endocrinology", "alex@south.example").await;
    let token = invite(&south, "sam@north.example", "clinician").await;
    let (status, body) = status_and_json(
        sam.post(
            "/api/clinic/staff/invitations/join",
            &json!({"token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let stored = app.stored().await;
    let find = |pk: &str, sk: &str| {
        stored
            .iter()
            .find(|item| item.key.pk == pk && item.key.sk == sk)
            .cloned()
    };
    let login = find(&format!("LOGIN#{sam_id}"), "META").expect("a login item now");
    assert!(login.s("password_hash").is_some());
    assert!(login.s("role").is_none(), "roles belong to clinics");
    let north_staff =
        find(&format!("CLINIC#{north_id}"), &format!("USER#{sam_id}")).expect("membership");
    assert!(north_staff.s("password_hash").is_none(), "{north_staff:?}");
    assert_eq!(north_staff.s("role"), Some("admin"));
    assert_eq!(
        find(&format!("MEMBERSHIPS#{sam_id}"), "COUNT").and_then(|c| c.n("count")),
        Some(2)
    );
    // Both clinics work with the one password.
    assert_eq!(
        clinic_names(&me(&sam).await),
        [
            ("Northgate Diabetes Centre".to_owned(), true),
            ("Southbank Endocrinology".to_owned(), false)
        ]
    );
    sign_in_clinic(&sam, "sam@north.example").await;
    let south_id = clinic_id_named(&me(&sam).await, "Southbank Endocrinology");
    let (status, switched) = status_and_json(
        sam.post("/api/me/clinic", &json!({"clinic_id": south_id}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(switched["role"], "clinician");
}

/// Casey's last clinic removes them while they accept another clinic's invitation, at the same moment,
/// several times over: whatever wins, no membership outlives its login, and the count of the login's
/// clinics is the number of its memberships.
async fn joining_while_being_removed_never_orphans_a_membership(app: TestApp) {
    use glucolink_core::store::Key;
    let store = app.ctx.as_ref().expect("local app").store.clone();
    let south = other_clinic(&app, "Southbank Endocrinology", "alex@south.example").await;
    let south_id = me(&south).await["clinic_id"]
        .as_str()
        .expect("id")
        .to_owned();
    for round in 0..4 {
        let north = app.browser();
        let signed_up = signed_in_clinic(&north, &format!("admin{round}@north.example")).await;
        let north_id = signed_up["clinic_id"].as_str().expect("id").to_owned();
        let email = format!("casey{round}@staff.example");
        let token = invite(&north, &email, "clinician").await;
        let (casey, body) = join_as_new(&app, &token, "Casey Lee").await;
        let casey_id = body["user_id"].as_str().expect("id").to_owned();
        let token = invite(&south, &email, "clinician").await;
        casey.csrf().await;
        north.csrf().await;
        let join = {
            async move {
                casey
                    .post(
                        "/api/clinic/staff/invitations/join",
                        &json!({"token": token}),
                    )
                    .await
                    .status()
                    .as_u16()
            }
        };
        let removal = {
            let casey_id = casey_id.clone();
            async move {
                north
                    .send(
                        reqwest::Method::DELETE,
                        &format!("/api/clinic/staff/{casey_id}"),
                        None,
                    )
                    .await
                    .status()
                    .as_u16()
            }
        };
        let (joined, removed) = tokio::join!(tokio::spawn(join), tokio::spawn(removal));
        let (joined, removed) = (joined.expect("task"), removed.expect("task"));
        assert!([201, 401, 409].contains(&joined), "join: {joined}");
        assert!([204, 409].contains(&removed), "removal: {removed}");
        let get = |key: Key| {
            let store = store.clone();
            async move { store.get(&key).await.expect("read") }
        };
        let login = get(Key::new(format!("LOGIN#{casey_id}"), "META")).await;
        let mut memberships = 0;
        for clinic in [&north_id, &south_id] {
            if get(Key::new(
                format!("CLINIC#{clinic}"),
                format!("USER#{casey_id}"),
            ))
            .await
            .is_some()
            {
                memberships += 1;
            }
        }
        let count = get(Key::new(format!("MEMBERSHIPS#{casey_id}"), "COUNT"))
            .await
            .and_then(|item| item.n("count"))
            .unwrap_or(0);
        assert_eq!(
            login.is_some(),
            memberships > 0,
            "round {round}: join {joined}, removal {removed}"
        );
        assert_eq!(
            count, memberships,
            "round {round}: join {joined}, removal {removed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_while_being_removed_never_orphans_a_membership_on_the_embedded_store() {
    joining_while_being_removed_never_orphans_a_membership(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_while_being_removed_never_orphans_a_membership_on_dynamodb() {
    joining_while_being_removed_never_orphans_a_membership(
        crate::support::app::spawn_app_on_dynamodb().await,
    )
    .await;
}
