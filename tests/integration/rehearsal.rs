//! The cloud path, through the rehearsal (`infra/rehearse`, started by `infra/test`): CloudFront's
//! behaviours, function and headers in front of API Gateway payload 2.0 events, the real Lambda binary
//! behind the Lambda Runtime API, DynamoDB, S3, SES and SNS in moto, and each route held to its template
//! IAM policies. Accounts, linking (code, email, SMS, credentials), uploads in every export format,
//! reports in every format, every read route, the site's clean URLs and headers, and the logs an
//! operator reads. Each test ends by checking that no function was refused a call by IAM.

use glucolink_api::{Access, ROUTES, RouteId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{
    Browser, TestApp, assert_error, gzip, status_and_json, through_rehearsal,
};
use crate::support::messages::first_link;
use crate::support::people::{
    PERSON_PASSWORD, create_patient, generate_code, linked_patient, signed_in_clinic,
    signed_in_person,
};

/// Fails the test if IAM refused any function a call, naming each refusal.
async fn assert_no_denials(app: &TestApp) {
    let (status, denials) = status_and_json(app.user.get("/_rehearsal/denials").await).await;
    assert_eq!(status, 200);
    assert_eq!(denials, json!([]), "IAM refused these calls");
}

/// What SES and SNS in the rehearsal's moto were asked to send to `recipient`, newest first.
async fn sent_to(app: &TestApp, recipient: &str) -> Vec<Value> {
    let (_, messages) = status_and_json(app.user.get("/_rehearsal/messages").await).await;
    messages
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["to"] == recipient
                || m["to"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|t| t == recipient))
        })
        .collect()
}

fn unique(tag: &str) -> String {
    // The random end of a ULID: unique enough, and short enough for a username.
    let id = ulid::Ulid::new().to_string().to_lowercase();
    format!("{tag}{}", &id[16..])
}

#[tokio::test]
async fn accounts_sign_up_sign_in_and_out_with_cloud_cookies() {
    let app = through_rehearsal();
    let email = format!("{}@clinic.example", unique("rh"));
    let response = app
        .user
        .post(
            "/api/clinic/signup",
            &crate::support::people::clinic_sign_up(&email),
        )
        .await;
    // The session and (when the browser had none) the CSRF cookie come back as separate headers.
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert_eq!(response.status().as_u16(), 201);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-session="))
        .unwrap_or_else(|| panic!("a __Host-session cookie: {cookies:?}"));
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(response.headers().contains_key("apigw-requestid"));
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    let (status, me) = status_and_json(app.user.get("/api/me").await).await;
    assert_eq!((status, me["email"].as_str()), (200, Some(email.as_str())));

    let (status, _) = status_and_json(app.user.post("/api/signout", &json!({})).await).await;
    assert_eq!(status, 204);
    assert_error(app.user.get("/api/me").await, 401, "unauthenticated").await;
    let wrong = app
        .user
        .post(
            "/api/clinic/signin",
            &json!({"email": email, "password": "not the password at all"}),
        )
        .await;
    assert_error(wrong, 401, "invalid_credentials").await;
    crate::support::people::sign_in_clinic(&app.user, &email).await;
    let (status, _) = status_and_json(app.user.get("/api/me").await).await;
    assert_eq!(status, 200);

    // A state change without the CSRF header is refused before any function logic.
    let forged = app
        .user
        .client
        .post(format!("{}/api/signout", app.base))
        .json(&json!({}))
        .send()
        .await
        .expect("POST");
    assert_eq!(forged.status().as_u16(), 403);
    assert_no_denials(&app).await;
}

#[tokio::test]
async fn a_code_sent_by_email_and_sms_links_the_record_and_credentials_link_another() {
    let app = through_rehearsal();
    let clinic = app.browser();
    signed_in_clinic(&clinic, &format!("{}@clinic.example", unique("link"))).await;
    let patient_id = create_patient(&clinic, "Jordan Example", "1990-06-15", None).await;
    let shown = generate_code(&clinic, &patient_id).await;
    let address = format!("{}@example.net", unique("pat"));
    let send = |body: Value| {
        let path = format!("/api/clinic/patients/{patient_id}/link/code/send");
        let clinic = &clinic;
        async move { clinic.post(&path, &body).await }
    };
    let (status, sent) = status_and_json(
        send(json!({"channel": "email", "to": address, "code": shown["code"]})).await,
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    // A number in Ofcom's range for drama, not reused by the other runs against this rehearsal.
    let phone = format!("+447700900{:03}", ulid::Ulid::new().random() % 1000);
    let phone = phone.as_str();
    let (status, sent) =
        status_and_json(send(json!({"channel": "sms", "to": phone, "code": shown["code"]})).await)
            .await;
    assert_eq!(status, 202, "{sent}");
    let emails = sent_to(&app, &address).await;
    assert_eq!(emails.len(), 1, "one email through SES");
    let texts = sent_to(&app, phone).await;
    assert!(!texts.is_empty(), "an SMS through SNS");
    let code_shown = shown["code"].as_str().expect("code");
    assert!(
        texts[0]["body"]
            .as_str()
            .unwrap_or_default()
            .contains(code_shown),
        "{}",
        texts[0]
    );
    let link = first_link(texts[0]["body"].as_str().expect("SMS text"));
    assert!(
        link.starts_with(&app.base),
        "{link} points at the site's own URL"
    );
    let code = link
        .rsplit("code=")
        .next()
        .expect("code in the link")
        .to_owned();

    let patient = app.browser();
    signed_in_person(&patient, &unique("cloud.pat")).await;
    let (status, preview) = status_and_json(
        patient
            .post("/api/personal/sharing/lookup", &json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let (status, accepted) = status_and_json(
        patient
            .post("/api/personal/sharing/accept", &json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    let (_, profile) = status_and_json(
        clinic
            .get(&format!("/api/clinic/patients/{patient_id}"))
            .await,
    )
    .await;
    assert_eq!(profile["link"]["status"], "linked", "{profile}");

    // Link to Personal with the patient typing their credentials at the clinic's screen.
    let username = unique("typed.pat");
    signed_in_person(&app.browser(), &username).await;
    // Another person with the first one's name and date of birth (the test accounts share them): the
    // clinic confirms it is a different person.
    let (status, created) = status_and_json(
        clinic
            .post(
                "/api/clinic/patients",
                &json!({"name": "Jordan Example", "date_of_birth": "1990-06-15", "confirm_duplicate": true}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let other = created["patient_id"]
        .as_str()
        .expect("patient_id")
        .to_owned();
    let (status, linked) = status_and_json(
        clinic
            .post(
                &format!("/api/clinic/patients/{other}/link/credentials"),
                &json!({"username": username, "password": PERSON_PASSWORD, "consent": true}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{linked}");
    assert_no_denials(&app).await;
}

#[tokio::test]
async fn every_export_format_uploads_through_api_gateway_and_a_token_upload_too() {
    use glucolink_synth::{Patient, Profile, export, generate};
    let app = through_rehearsal();
    let patient = app.browser();
    signed_in_person(&patient, &unique("formats")).await;
    let start = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
        .saturating_sub(jiff::Span::new().days(15));
    let weeks = |seed, profile| Patient {
        seed,
        profile,
        time_zone: "Europe/London",
        start,
        days: 14,
    };
    let pump = generate(&weeks(3, Profile::MedtronicPump));
    let libre = generate(&weeks(4, Profile::LibrePens));
    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        ("glucolink-json", "application/json", export::to_json(&pump)),
        (
            "medtronic-carelink-csv",
            "text/csv",
            export::to_carelink_csv(&pump).into_bytes(),
        ),
        (
            "nightscout-json",
            "application/json",
            export::to_nightscout_json(&pump),
        ),
        (
            "abbott-libreview-csv",
            "text/csv",
            export::to_libreview_csv(&libre).into_bytes(),
        ),
        // Sent as bytes with no text type, so API Gateway hands it to the function in base64.
        (
            "dexcom-clarity-csv",
            "application/octet-stream",
            export::to_clarity_csv(&libre).into_bytes(),
        ),
    ];
    for (format, content_type, body) in files {
        let (status, upload) = status_and_json(
            patient
                .post_raw(
                    "/api/personal/uploads?tz=Europe%2FLondon",
                    content_type,
                    body,
                )
                .await,
        )
        .await;
        assert_eq!(status, 201, "{format}: {upload}");
        assert_eq!(upload["format"], format, "{upload}");
    }
    // A 90-day pump export, gzip-compressed as the site and `glucolink upload` send it: uncompressed,
    // its event (the body in JSON or base64) would pass Lambda's 6 MB payload limit.
    let quarter = generate(&Patient {
        seed: 5,
        profile: Profile::MedtronicPump,
        time_zone: "Europe/London",
        start: start.saturating_sub(jiff::Span::new().days(76)),
        days: 90,
    });
    let export = export::to_carelink_csv(&quarter).into_bytes();
    let compressed = gzip(&export);
    let response = patient
        .post_encoded(
            "/api/personal/uploads?tz=Europe%2FLondon",
            "text/csv",
            "gzip",
            compressed.clone(),
        )
        .await;
    let (status, upload) = status_and_json(response).await;
    assert_eq!(
        status,
        201,
        "90 days, {} bytes as {} gzip: {upload}",
        export.len(),
        compressed.len()
    );
    assert_eq!(upload["format"], "medtronic-carelink-csv");

    let (status, token) = status_and_json(
        patient
            .post(
                "/api/personal/upload-tokens",
                &json!({"name": "Kitchen laptop"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let uploader = Browser::from_own_address(&app.base);
    let response = uploader
        .client
        .post(format!("{}/api/personal/uploads", app.base))
        .bearer_auth(token["token"].as_str().expect("token"))
        .header("content-type", "application/json")
        .body(export::to_json(&libre))
        .send()
        .await
        .expect("POST");
    let (status, upload) = status_and_json(response).await;
    assert_eq!(status, 201, "{upload}");
    assert_no_denials(&app).await;
}

#[tokio::test]
async fn reports_arrive_in_every_format_with_pdf_bytes_intact() {
    use glucolink_synth::{Patient, Profile, export, generate};
    let app = through_rehearsal();
    let linked = linked_patient(&app, &unique("report")).await;
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let events = generate(&Patient {
        seed: 11,
        profile: Profile::MedtronicPump,
        time_zone: "Europe/London",
        start: today.saturating_sub(jiff::Span::new().days(91)),
        days: 90,
    });
    let (status, upload) = status_and_json(
        linked
            .patient
            .post_raw(
                "/api/personal/uploads",
                "application/json",
                export::to_json(&events),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{upload}");
    let base = format!(
        "/api/clinic/patients/{}/report?days=90&tz=Europe%2FLondon",
        linked.patient_id
    );
    let (status, report) = status_and_json(linked.clinic.get(&base).await).await;
    assert_eq!(status, 200, "{report}");
    assert!(report["metrics"].is_object(), "{report}");
    let html = linked.clinic.get(&format!("{base}&format=html")).await;
    assert_eq!(html.status().as_u16(), 200);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    // The report keeps its own, stricter CSP (the headers policy does not override it).
    let csp = html.headers()["content-security-policy"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        !csp.contains("script-src 'self'") || csp.contains("default-src 'none'"),
        "{csp}"
    );
    let text = html.text().await.expect("html");
    assert!(text.contains("Jordan Example"));
    let pdf = linked.clinic.get(&format!("{base}&format=pdf")).await;
    assert_eq!(pdf.status().as_u16(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.expect("pdf");
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    assert!(
        bytes.windows(5).rev().take(64).any(|w| w == b"%%EOF"),
        "the PDF ends whole"
    );
    assert!(
        bytes.iter().any(|b| *b >= 0x80),
        "binary streams survive base64 both ways"
    );
    let (status, _) =
        status_and_json(linked.patient.get("/api/personal/report?days=14").await).await;
    assert_eq!(status, 200);
    assert_no_denials(&app).await;
}

#[tokio::test]
async fn every_read_route_works_within_its_read_only_policy() {
    let app = through_rehearsal();
    let tag = unique("reader");
    let linked = linked_patient(&app, &tag).await;
    let invited = format!("{}@staff.example", unique("inv"));
    let (status, _) = status_and_json(
        linked
            .clinic
            .post(
                "/api/clinic/staff/invitations",
                &json!({"email": invited, "role": "clinician"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let email = sent_to(&app, &invited).await;
    let body = email[0]["body"].as_str().unwrap_or_default().to_owned();
    let token = body
        .split("token=")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>()
        })
        .expect("an invitation link");
    let mut called = 0;
    for route in ROUTES.iter().filter(|r| r.id.access() == Access::Read) {
        let (who, method, path, body): (&Browser, Method, String, Option<Value>) = match route.id {
            RouteId::Me => (&linked.patient, Method::GET, "/api/me".into(), None),
            RouteId::ListPatients => (
                &linked.clinic,
                Method::GET,
                "/api/clinic/patients?q=Jordan%20Example".into(),
                None,
            ),
            RouteId::ClinicAudit => (
                &linked.clinic,
                Method::GET,
                "/api/clinic/audit?action=profile_viewed".into(),
                None,
            ),
            RouteId::Sharing => (
                &linked.patient,
                Method::GET,
                "/api/personal/sharing".into(),
                None,
            ),
            RouteId::PersonalAudit => (
                &linked.patient,
                Method::GET,
                "/api/personal/audit".into(),
                None,
            ),
            RouteId::ListStaff => (
                &linked.clinic,
                Method::GET,
                "/api/clinic/staff".into(),
                None,
            ),
            RouteId::PreviewInvitation => (
                &linked.clinic,
                Method::POST,
                "/api/clinic/staff/invitations/lookup".into(),
                Some(json!({"token": token})),
            ),
            RouteId::ListUploadTokens => (
                &linked.patient,
                Method::GET,
                "/api/personal/upload-tokens".into(),
                None,
            ),
            RouteId::PersonalReport => (
                &linked.patient,
                Method::GET,
                "/api/personal/report?format=pdf".into(),
                None,
            ),
            RouteId::PersonalOverview => (
                &linked.patient,
                Method::GET,
                "/api/personal/overview".into(),
                None,
            ),
            RouteId::ListPasskeys => (&linked.clinic, Method::GET, "/api/me/passkeys".into(), None),
            // The local outbox is not deployed: API Gateway has no such route.
            RouteId::DevOutbox => {
                let (status, body) =
                    status_and_json(linked.clinic.get("/api/dev/outbox").await).await;
                assert_eq!((status, body), (404, json!({"message": "Not Found"})));
                continue;
            }
            other => panic!("add a call of the read route {other:?} to this test"),
        };
        let response = who.send(method, &path, body.as_ref()).await;
        let status = response.status().as_u16();
        assert_eq!(
            status,
            200,
            "{path}: {}",
            response.text().await.unwrap_or_default()
        );
        called += 1;
    }
    assert!(called >= 9, "{called} read routes called");
    assert_no_denials(&app).await;
}

#[tokio::test]
async fn the_site_comes_from_s3_through_the_cloudfront_function_with_its_headers() {
    let app = through_rehearsal();
    for (path, heading) in [
        ("/", "glucolink"),
        ("/clinic/signin", "Sign in"),
        ("/personal/", ""),
    ] {
        let page = app.user.get(path).await;
        assert_eq!(page.status().as_u16(), 200, "{path}");
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .unwrap_or("")
                .contains("script-src 'self'")
        );
        let text = page.text().await.expect("page");
        assert!(text.contains(heading), "{path}");
        // Every asset the page names is published under its hashed name, cached for a year.
        let asset = text
            .split("\"/assets/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|name| format!("/assets/{name}"))
            .expect("an asset");
        let fetched = app.user.get(&asset).await;
        assert_eq!(fetched.status().as_u16(), 200, "{asset}");
        assert!(
            fetched.headers()["cache-control"]
                .to_str()
                .unwrap_or("")
                .contains("immutable"),
            "{asset}"
        );
    }
    let missing = app.user.get("/clinic/no-such-page").await;
    assert_eq!(missing.status().as_u16(), 404, "an unknown page is a 404");
    assert!(
        missing.text().await.unwrap_or_default().contains("<html"),
        "with the site's 404 page"
    );
    let posted = app
        .user
        .client
        .post(format!("{}/clinic/signin", app.base))
        .send()
        .await
        .expect("POST");
    assert_eq!(
        posted.status().as_u16(),
        403,
        "the site's behaviour allows GET and HEAD only"
    );
    let (status, body) = status_and_json(app.user.get("/api/no-such-route").await).await;
    assert_eq!((status, body), (404, json!({"message": "Not Found"})));
}

#[tokio::test]
async fn request_logs_say_route_status_and_caller_kind_and_name_no_one() {
    let app = through_rehearsal();
    let tag = unique("logs");
    let linked = linked_patient(&app, &tag).await;
    let (status, _) = status_and_json(
        linked
            .clinic
            .get(&format!("/api/clinic/patients/{}", linked.patient_id))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (_, lines) = status_and_json(app.user.get("/_rehearsal/logs").await).await;
    let lines: Vec<String> = lines
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str().map(str::to_owned))
        .collect();
    let requests: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["kind"] == "request")
        .collect();
    assert!(
        requests
            .iter()
            .any(|r| r["route"] == "clinic-patient-profile"
                && r["principal"] == "clinic_user"
                && r["status"] == 200),
        "a request line for the profile view"
    );
    assert!(
        requests
            .iter()
            .any(|r| r["route"] == "personal-signup" && r["principal"] == "anonymous")
    );
    for request in &requests {
        for field in ["request_id", "route", "status", "latency_ms", "principal"] {
            assert!(!request[field].is_null(), "{field} in {request}");
        }
    }
    for line in &lines {
        for secret in [
            "Jordan Example",
            "1990-06-15",
            &tag,
            &linked.patient_id,
            PERSON_PASSWORD,
        ] {
            assert!(!line.contains(secret), "a log line names {secret}: {line}");
        }
    }
    assert_no_denials(&app).await;
}

/// Asks the rehearsal whether a function's template policies allow a DynamoDB call.
async fn allowed(app: &TestApp, function: &str, operation: &str, body: Value) -> bool {
    let response = app
        .user
        .client
        .post(format!("{}/_rehearsal/iam-check", app.base))
        .json(&json!({"function": function, "operation": operation, "body": body}))
        .send()
        .await
        .expect("POST");
    let (status, verdict) = status_and_json(response).await;
    assert_eq!(status, 200, "{verdict}");
    verdict["allowed"].as_bool().expect("a verdict")
}

#[tokio::test]
async fn the_functions_run_with_the_template_policies_which_refuse_what_a_route_should_not_do() {
    let app = through_rehearsal();
    let item = |pk: &str| json!({"TableName": "t", "Item": {"pk": {"S": pk}, "sk": {"S": "x"}}});
    let key = |pk: &str| json!({"TableName": "t", "Key": {"pk": {"S": pk}, "sk": {"S": "x"}}});
    // A read route keeps its caller's session and nothing else.
    assert!(allowed(&app, "MeFunction", "PutItem", item("SESSION#abc")).await);
    assert!(allowed(&app, "MeFunction", "GetItem", key("PERSON#abc")).await);
    assert!(!allowed(&app, "MeFunction", "PutItem", item("AUDIT#clinic")).await);
    assert!(!allowed(&app, "MeFunction", "UpdateItem", key("SESSION#abc")).await);
    assert!(
        !allowed(
            &app,
            "ClinicPatientsListFunction",
            "TransactWriteItems",
            json!({"TransactItems": [{"Put": item("SESSION#a")}, {"Update": key("THROTTLE#x")}]})
        )
        .await,
        "one item a read route may not write refuses the whole transaction"
    );
    // A write route writes; no route deletes the table or reads it whole.
    assert!(
        allowed(
            &app,
            "ClinicSignupFunction",
            "UpdateItem",
            key("THROTTLE#x")
        )
        .await
    );
    assert!(
        !allowed(
            &app,
            "ClinicSignupFunction",
            "DeleteTable",
            json!({"TableName": "t"})
        )
        .await
    );
    assert!(
        !allowed(
            &app,
            "ClinicPatientsListFunction",
            "Scan",
            json!({"TableName": "t"})
        )
        .await
    );
    assert!(!allowed(&app, "NoSuchFunction", "GetItem", key("X")).await);
}
