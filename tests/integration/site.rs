//! The local server serves the site with its security headers.

use crate::support::app::spawn_app;

#[tokio::test]
async fn pages_are_served_with_clean_urls_and_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/clinic/signin",
        "/clinic/signup",
        "/personal/signin",
        "/personal/signup",
        "/clinic/",
        "/personal/",
    ] {
        let response = app.user.get(path).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let csp = response
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(
            response
                .headers()
                .get("x-frame-options")
                .map(|v| v.as_bytes()),
            Some(&b"DENY"[..])
        );
        let html = response.text().await.expect("html");
        assert!(html.contains("<html lang=\"en\">"), "{path}");
        assert!(!html.contains("<script>"), "no inline script on {path}");
    }
}

#[tokio::test]
async fn missing_pages_and_escapes_from_the_site_directory_are_not_found() {
    let app = spawn_app().await;
    assert_eq!(app.user.get("/no/such/page").await.status().as_u16(), 404);
    assert_eq!(
        app.user.get("/%2e%2e/Cargo.toml").await.status().as_u16(),
        404
    );
    assert_eq!(
        app.user.get("/..%2fCargo.toml").await.status().as_u16(),
        404
    );
}

#[tokio::test]
async fn the_shell_sources_are_not_served_and_pages_have_the_shell() {
    let app = spawn_app().await;
    for path in [
        "/_shell.html",
        "/_partials/nav-clinic.html",
        "/_partials/report-period",
    ] {
        assert_eq!(app.user.get(path).await.status().as_u16(), 404, "{path}");
    }
    let page = app
        .user
        .get("/clinic/audit")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.starts_with("<!doctype html>") && page.contains("<footer class=\"site\">"));
    assert!(!page.contains("{{"), "every slot filled");
}

#[test]
fn the_audit_page_offers_exactly_the_actions_the_log_records() {
    let page = std::fs::read_to_string(glucolink_site::source_tree_dir().join("clinic/audit.html"))
        .expect("audit page");
    let offered: Vec<&str> = page
        .split("<option value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|value| !value.is_empty())
        .collect();
    let recorded: Vec<&str> = glucolink_core::audit::ACTIONS
        .iter()
        .map(|(action, _)| *action)
        .collect();
    assert_eq!(offered, recorded);
    for (action, words) in glucolink_core::audit::ACTIONS {
        assert!(
            page.contains(&format!("<option value=\"{action}\">{words}</option>")),
            "{action}"
        );
    }
}

#[test]
fn every_country_the_site_offers_is_one_the_api_accepts() {
    let script =
        std::fs::read_to_string(glucolink_site::source_tree_dir().join("assets/lib/format.js"))
            .expect("format.js");
    let list = script
        .split("const REGIONS = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the REGIONS list");
    let codes: Vec<&str> = list.split(' ').collect();
    assert!(codes.len() > 200 && codes.contains(&"GB") && codes.contains(&"US"));
    for code in codes {
        assert!(
            glucolink_core::account::fields::Country::parse(code).is_ok(),
            "{code}"
        );
    }
}
