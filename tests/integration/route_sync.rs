//! The route table is the truth: `template.yaml`, `docs/openapi.yaml`, the Lambda binaries and the local
//! server must list exactly its routes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use glucolink_api::ROUTES;

use crate::support::app::spawn_app;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_file(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// (binary, METHOD, path) of the deployed routes, from the route table.
fn table() -> BTreeSet<(String, String, String)> {
    ROUTES
        .iter()
        .filter(|r| !r.local_only)
        .map(|r| {
            (
                r.id.lambda_name().to_owned(),
                r.method.to_owned(),
                r.path.to_owned(),
            )
        })
        .collect()
}

/// (binary, METHOD, path) of each function in `template.yaml`: its `Binary:`, then its event's
/// `Method:` and `Path:` lines, in that order.
fn template_routes(template: &str) -> BTreeSet<(String, String, String)> {
    let mut found = BTreeSet::new();
    let (mut binary, mut method) = (None::<String>, None::<String>);
    for line in template.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Binary:") {
            binary = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("Method:") {
            method = Some(value.trim().to_uppercase());
        } else if let Some(value) = line.strip_prefix("Path:") {
            let entry = (
                binary.take().expect("Binary: before Path:"),
                method.take().expect("Method: before Path:"),
                value.trim().to_owned(),
            );
            assert!(found.insert(entry.clone()), "listed twice: {entry:?}");
        }
    }
    found
}

/// (METHOD, path) of every operation in the OpenAPI file: paths at two spaces, methods at four.
fn openapi_routes(openapi: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut in_paths = false;
    let mut path = None::<String>;
    for line in openapi.lines() {
        if !line.starts_with(' ') {
            in_paths = line.starts_with("paths:");
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(m) = line.strip_prefix("    ").and_then(|m| m.strip_suffix(':'))
            && ["get", "post", "put", "patch", "delete"].contains(&m)
        {
            let path = path.clone().expect("a method under a path");
            found.insert((m.to_uppercase(), path));
        }
    }
    found
}

#[test]
fn template_lists_exactly_the_route_table_with_the_right_binaries() {
    assert_eq!(template_routes(&read("template.yaml")), table());
}

#[test]
fn openapi_documents_exactly_the_route_table() {
    let documented = openapi_routes(&read("docs/openapi.yaml"));
    let expected: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, expected);
}

#[test]
fn every_deployed_route_has_its_lambda_binary_and_no_binary_is_orphaned() {
    let dir = repo_file("functions/lambdas/src/bin");
    let binaries: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("bin dir")
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()?
                .strip_suffix(".rs")
                .map(str::to_owned)
        })
        .collect();
    let expected: BTreeSet<String> = table().into_iter().map(|(binary, _, _)| binary).collect();
    assert_eq!(binaries, expected);
    for route in ROUTES.iter().filter(|r| !r.local_only) {
        let source = read(&format!(
            "functions/lambdas/src/bin/{}.rs",
            route.id.lambda_name()
        ));
        assert!(
            source.contains(&format!("RouteId::{:?})", route.id)),
            "{} must run RouteId::{:?}",
            route.id.lambda_name(),
            route.id
        );
    }
}

#[tokio::test]
async fn the_local_server_answers_every_route() {
    let app = spawn_app().await;
    for route in ROUTES {
        let path = route
            .path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "01ARZ3NDEKTSV4RRFFQ69G5FAV"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).expect("method");
        let response = app.user.send(method, &path, None).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        assert!(
            status != 405 && !body.contains("no_such_route"),
            "{} {} is not served: {status} {body}",
            route.method,
            route.path
        );
    }
}
