//! The route table is the truth: `template.yaml`'s functions are generated from it (and checked here),
//! `docs/openapi.yaml` and the local server must list exactly its routes, and the Lambda crate has the
//! one binary every function runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use glucolink_api::{Access, ROUTES};

use crate::support::app::spawn_app;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_file(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
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

const BEGIN: &str = "  # BEGIN route functions.";
const END: &str = "  # END route functions";

/// `clinic-signup` → `ClinicSignupFunction`.
fn logical_id(lambda_name: &str) -> String {
    let mut id: String = lambda_name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    id.push_str("Function");
    id
}

/// The template's function of every deployed route, as the route table says: the one binary with the
/// route in `GLUCOLINK_ROUTE`, its memory and timeout, the policies of its access, its API event.
fn generated_functions() -> String {
    let mut out = String::new();
    for route in ROUTES.iter().filter(|r| !r.local_only) {
        let name = route.id.lambda_name();
        let policies: &[&str] = match route.id.access() {
            Access::Read => &["TableReadPolicy", "SessionUpkeepPolicy"],
            Access::Write => &["TableReadPolicy", "TableWritePolicy"],
            Access::WriteAndSend => &["TableReadPolicy", "TableWritePolicy", "SendMessagesPolicy"],
        };
        out.push_str(&format!(
            "  {id}:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: glucolink-lambda\n    Properties:\n      CodeUri: functions/lambdas\n      Description: \"{method} {path}\"\n      MemorySize: {memory}\n      Timeout: {timeout}\n      Environment:\n        Variables:\n          GLUCOLINK_ROUTE: {name}\n      Policies:\n",
            id = logical_id(name),
            method = route.method,
            path = route.path,
            memory = route.id.lambda_memory_mb(),
            timeout = route.id.lambda_timeout_seconds(),
        ));
        for policy in policies {
            out.push_str(&format!("        - !Ref {policy}\n"));
        }
        out.push_str(&format!(
            "      Events:\n        Api:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            Method: {method}\n            Path: {path}\n",
            method = route.method,
            path = route.path
        ));
    }
    out
}

/// Where the generated text starts (after the BEGIN comment lines) and ends (at the END line).
fn generated_section(template: &str) -> (usize, usize) {
    let begin = template.find(BEGIN).expect("BEGIN marker in template.yaml");
    let comment: usize = template[begin..]
        .split_inclusive('\n')
        .take_while(|line| line.trim_start().starts_with('#') && !line.starts_with(END))
        .map(str::len)
        .sum();
    let end = template.find(END).expect("END marker in template.yaml");
    (begin + comment, end)
}

#[test]
fn template_functions_are_generated_from_the_route_table() {
    let template = read("template.yaml");
    let (start, end) = generated_section(&template);
    let expected = generated_functions();
    if std::env::var("GLUCOLINK_UPDATE_TEMPLATE").as_deref() == Ok("1") {
        let updated = format!("{}{}{}", &template[..start], expected, &template[end..]);
        std::fs::write(repo_file("template.yaml"), updated).expect("write template.yaml");
        return;
    }
    assert!(
        template[start..end] == expected,
        "template.yaml's route functions differ from the route table: run \
         GLUCOLINK_UPDATE_TEMPLATE=1 cargo test -p glucolink-tests --test integration route_sync"
    );
    // Nothing else in the template declares a function for a route.
    let outside = format!("{}{}", &template[..start], &template[end..]);
    assert!(
        !outside.contains("Type: HttpApi\n"),
        "a route function outside the generated section"
    );
}

#[test]
fn deployed_routes_are_found_by_their_lambda_names_and_local_ones_are_not() {
    for route in ROUTES {
        let found = glucolink_api::RouteId::from_lambda_name(route.id.lambda_name());
        assert_eq!(found, (!route.local_only).then_some(route.id));
    }
    assert_eq!(glucolink_api::RouteId::from_lambda_name("nope"), None);
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
fn the_lambda_crate_has_the_one_binary_every_function_runs() {
    let dir = repo_file("functions/lambdas/src/bin");
    let binaries: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("bin dir")
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .collect();
    assert_eq!(binaries, BTreeSet::from(["glucolink-lambda.rs".to_owned()]));
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
