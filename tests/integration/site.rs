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
