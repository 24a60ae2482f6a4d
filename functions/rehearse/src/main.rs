//! `glucolink-rehearse`: the whole product the way the cloud runs it, on one machine.
//!
//! One origin (`--port`) behaves like CloudFront + API Gateway: `/api/*` becomes an API Gateway HTTP API
//! event handed through the Lambda Runtime API to the real Lambda binary (one process pool per function
//! of `template.yaml`, each with its template environment and only its template IAM policies), and the
//! rest is the published site from S3, through the template's CloudFront Function and security headers.
//! DynamoDB, S3, SES, SNS and CloudFront's API are moto (`--moto`). `infra/rehearse` starts moto,
//! builds the binaries and runs this. Rehearsal-only pages live under `/_rehearsal/` (messages sent,
//! IAM denials, the functions' log lines); the cloud has no such path.

mod api_gateway;
mod cloudfront;
mod http_server;
mod iam;
mod lambda;
mod logs;
mod setup;
mod template;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use clap::Parser;
use serde_json::{Value, json};

use crate::http_server::Answer;
use crate::lambda::{Outcome, Pool};
use crate::logs::Logs;
use crate::template::{REGION, Template};

/// The rehearsal's stack name (`AWS::StackName`).
pub const STACK: &str = "glucolink-rehearsal";

#[derive(Parser)]
#[command(
    name = "glucolink-rehearse",
    about = "The cloud rehearsal (see infra/rehearse)"
)]
struct Args {
    /// Serve the origin on 127.0.0.1:PORT.
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// template.yaml as JSON (infra/template_json.py).
    #[arg(long)]
    template_json: PathBuf,
    /// moto's URL (DynamoDB, S3, SES, SNS, CloudFront).
    #[arg(long)]
    moto: String,
    /// The folder with the Lambda binaries the template names (glucolink-lambda, site-publisher).
    #[arg(long)]
    binaries: PathBuf,
    /// Also show each invocation's REPORT line and the API's access log.
    #[arg(long)]
    verbose: bool,
    /// Do not create the demo clinic and patient.
    #[arg(long)]
    no_demo: bool,
}

struct Rehearsal {
    cloudfront: cloudfront::CloudFront,
    proxy: Arc<iam::AwsProxy>,
    pools: HashMap<String, Arc<Pool>>,
    moto: String,
    /// The table's name (the IAM check of `/_rehearsal/iam-check` is about it).
    table: String,
    logs: Logs,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let logs = Logs::new(args.verbose);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let origin = format!("http://127.0.0.1:{}", args.port);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{}", args.port))?;

    let mut template = Template::load(&args.template_json)?;
    let suffix = ulid::Ulid::new().to_string().to_lowercase()[16..].to_owned();
    let table = format!("{STACK}-table-{suffix}");
    let bucket = format!("{STACK}-site-{suffix}");
    let api_id = format!("rh{}", &suffix[..8]);
    let mut secret = [0u8; 24];
    getrandom::fill(&mut secret).map_err(|e| anyhow!("random: {e}"))?;
    let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    template.set_parameter("SiteUrl", &origin)?;
    template.set_physical("Table", &table);
    template.set_physical("SiteBucket", &bucket);
    template.set_physical("HttpApi", &api_id);
    template.set_secret("OriginSecret", &secret);

    let admin = setup::admin_config(&args.moto);
    setup::create_table(&template, &admin, &table).await?;
    let distribution = setup::create_site_and_sender(&template, &admin, &bucket).await?;
    template.set_physical("Distribution", &distribution);
    template.set_attribute(
        "Distribution",
        "DomainName",
        &format!("127.0.0.1:{}", args.port),
    );

    let functions = template.functions()?;
    let mut principals = HashMap::new();
    let mut access_keys = BTreeMap::new();
    for function in &functions {
        let key = format!("AKIAREHEARSAL{}", function.logical_id.to_ascii_uppercase());
        principals.insert(
            key.clone(),
            (function.logical_id.clone(), function.statements.clone()),
        );
        access_keys.insert(function.logical_id.clone(), key);
    }
    let proxy = iam::AwsProxy::new(&args.moto, principals, logs.clone());
    let proxy_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let proxy_url = format!("http://{}", proxy_listener.local_addr()?);
    {
        let proxy = proxy.clone();
        tokio::spawn(http_server::serve(
            proxy_listener,
            Arc::new(move |parts, body, peer| {
                let proxy = proxy.clone();
                async move { proxy.handle(parts, body, peer).await }
            }),
        ));
    }

    let mut pools = HashMap::new();
    for function in functions {
        let binary = args.binaries.join(&function.binary);
        if !binary.is_file() {
            bail!(
                "no binary {} (build it first: infra/rehearse does)",
                binary.display()
            );
        }
        let mut environment = function.environment.clone();
        for (name, value) in [
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            (
                "AWS_ACCESS_KEY_ID",
                access_keys[&function.logical_id].clone(),
            ),
            ("AWS_SECRET_ACCESS_KEY", "rehearsal".to_owned()),
            ("AWS_SESSION_TOKEN", "rehearsal".to_owned()),
            ("AWS_ENDPOINT_URL", proxy_url.clone()),
            ("AWS_LAMBDA_FUNCTION_NAME", function.logical_id.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                function.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/glucolink/{STACK}/functions"),
            ),
            ("_HANDLER", "bootstrap".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ] {
            environment.insert(name.to_owned(), value);
        }
        pools.insert(
            function.logical_id.clone(),
            Pool::new(
                function,
                binary,
                environment,
                shutdown.clone(),
                logs.clone(),
            ),
        );
    }

    let work_dir = std::env::temp_dir().join(format!("{STACK}-{suffix}"));
    std::fs::create_dir_all(&work_dir)?;
    let api = Arc::new(api_gateway::ApiGateway::new(
        &api_id,
        template.routes()?,
        pools.clone(),
        logs.clone(),
    ));
    let cloudfront = cloudfront::CloudFront::new(
        &template,
        api,
        setup::s3_client(&admin),
        &bucket,
        &distribution,
        &work_dir,
    )?;

    publish_site(&template, &pools).await?;
    if !args.no_demo {
        setup::seed_demo(&template, &admin, &table).await?;
    }

    let rehearsal = Arc::new(Rehearsal {
        cloudfront,
        proxy,
        pools,
        moto: args.moto.clone(),
        table: table.clone(),
        logs: logs.clone(),
    });
    let server = tokio::spawn(http_server::serve(
        listener,
        Arc::new(move |parts, body, peer| {
            let rehearsal = rehearsal.clone();
            async move { rehearsal.handle(parts, body, peer).await }
        }),
    ));
    println!(
        "glucolink rehearsal ready at {origin} in {:.1} s (table {table}, bucket {bucket}); Ctrl+C stops it",
        started.elapsed().as_secs_f64()
    );

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    logs.rehearsal("stopping: ending every function instance");
    let _ = stop.send(true);
    server.abort();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = std::fs::remove_dir_all(&work_dir);
    Ok(())
}

/// Runs the site publisher the way CloudFormation does: a `Create` event for the `SitePublication`
/// custom resource, answered on its `ResponseURL`.
async fn publish_site(template: &Template, pools: &HashMap<String, Arc<Pool>>) -> Result<()> {
    let (logical_id, resource) = template
        .resources()
        .find(|(_, r)| r["Type"] == "Custom::SitePublication")
        .ok_or_else(|| anyhow!("the template has no Custom::SitePublication"))?;
    let service = resource["Properties"]["ServiceToken"]["Ref"]
        .as_str()
        .and_then(|r| r.split('.').next())
        .ok_or_else(|| anyhow!("{logical_id}: ServiceToken is not a function"))?;
    let publisher = pools
        .get(service)
        .ok_or_else(|| anyhow!("no function {service}"))?;
    let (response_url, answer) = publisher.cloudformation_url().await?;
    let event = json!({
        "RequestType": "Create",
        "ServiceToken": format!("arn:aws:lambda:{REGION}:{}:function:{service}", template::ACCOUNT),
        "ResponseURL": response_url,
        "StackId": format!("arn:aws:cloudformation:{REGION}:{}:stack/{STACK}/rehearsal", template::ACCOUNT),
        "RequestId": ulid::Ulid::new().to_string(),
        "ResourceType": resource["Type"],
        "LogicalResourceId": logical_id,
        "ResourceProperties": template.properties(logical_id)?,
    });
    match publisher.invoke(Bytes::from(event.to_string())).await? {
        Outcome::Response(_) => {}
        other => bail!("the site publisher failed: {other:?}"),
    }
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), answer)
        .await
        .context("the site publisher did not answer CloudFormation")??;
    if answer["Status"] != "SUCCESS" {
        bail!("the site publisher answered {answer}");
    }
    Ok(())
}

impl Rehearsal {
    async fn handle(&self, parts: http::request::Parts, body: Bytes, peer: SocketAddr) -> Answer {
        match parts.uri.path() {
            "/_rehearsal/denials" => http_server::json(200, &json!(self.proxy.denials())),
            "/_rehearsal/logs" => http_server::json(200, &json!(self.logs.kept())),
            "/_rehearsal/aws-calls" => http_server::json(200, &json!(self.proxy.calls())),
            "/_rehearsal/cold-starts" => http_server::json(
                200,
                &json!(
                    self.pools
                        .iter()
                        .map(|(name, pool)| (name.clone(), pool.cold_starts()))
                        .collect::<BTreeMap<_, _>>()
                ),
            ),
            "/_rehearsal/messages" => self.messages().await,
            "/_rehearsal/outbox" => self.outbox_page().await,
            "/_rehearsal/iam-check" if parts.method == http::Method::POST => {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut call = request["body"].clone();
                if let Some(table) = call.get_mut("TableName") {
                    *table = Value::String(self.table.clone());
                }
                for item in call["TransactItems"].as_array_mut().into_iter().flatten() {
                    for part in item
                        .as_object_mut()
                        .into_iter()
                        .flat_map(|o| o.values_mut())
                    {
                        part["TableName"] = Value::String(self.table.clone());
                    }
                }
                let verdict = self.proxy.check_dynamodb(
                    &template::text(&request["function"]),
                    &template::text(&request["operation"]),
                    &call,
                );
                http_server::json(
                    200,
                    &match verdict {
                        Ok(()) => json!({"allowed": true}),
                        Err(reason) => json!({"allowed": false, "reason": reason}),
                    },
                )
            }
            _ => self.cloudfront.handle(parts, body, peer).await,
        }
    }

    /// What SES and SNS in moto were asked to send, newest first, as `{kind, to, subject, body}`.
    async fn messages(&self) -> Answer {
        match self.sent().await {
            Ok(messages) => http_server::json(200, &Value::Array(messages)),
            Err(error) => http_server::plain(502, &format!("moto: {error}")),
        }
    }

    /// The messages sent, as a page like the local outbox (`/dev/outbox`): one `article` each, with
    /// the text and its links, so a person (or a browser test) can open what a patient received.
    async fn outbox_page(&self) -> Answer {
        let messages = match self.sent().await {
            Ok(messages) => messages,
            Err(error) => return http_server::plain(502, &format!("moto: {error}")),
        };
        let mut page = String::from(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Messages sent (rehearsal)</title></head><body><main><h1>Messages sent through SES and SNS (rehearsal)</h1>",
        );
        for message in &messages {
            let to = match &message["to"] {
                Value::Array(to) => to.iter().map(template::text).collect::<Vec<_>>().join(", "),
                other => template::text(other),
            };
            let body = template::text(&message["body"]);
            let text = if body.trim_start().starts_with('<') {
                html_to_text(&body)
            } else {
                body
            };
            page.push_str(&format!(
                "<article><h2>{}</h2><p>To: {}</p><p style=\"white-space: pre-wrap\">",
                escape(&template::text(&message["subject"])),
                escape(&to)
            ));
            let mut word = String::new();
            for character in text.chars().chain([' ']) {
                if !character.is_whitespace() {
                    word.push(character);
                    continue;
                }
                if word.starts_with("http://") || word.starts_with("https://") {
                    let url = word.trim_end_matches(['.', ',', ')']);
                    page.push_str(&format!(
                        "<a href=\"{0}\">{0}</a>{1}",
                        escape(url),
                        escape(&word[url.len()..])
                    ));
                } else {
                    page.push_str(&escape(&word));
                }
                page.push(character);
                word.clear();
            }
            page.push_str("</p></article>");
        }
        page.push_str("</main></body></html>");
        http_server::answer(200, "text/html; charset=utf-8", Bytes::from(page))
    }

    async fn sent(&self) -> Result<Vec<Value>> {
        let data: Value = reqwest::get(format!("{}/moto-api/data.json", self.moto))
            .await?
            .json()
            .await?;
        let mut messages = Vec::new();
        for message in data["ses"]["Message"].as_array().into_iter().flatten() {
            messages.push(json!({
                "kind": "email",
                "to": message["destinations"]["ToAddresses"],
                "subject": message["subject"],
                "body": message["body"],
            }));
        }
        for message in data["sns"]["SMS"].as_array().into_iter().flatten() {
            messages.push(json!({
                "kind": "sms",
                "to": message["phone_number"],
                "body": message["message"],
            }));
        }
        messages.reverse();
        Ok(messages)
    }
}

/// Text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An HTML email's text: paragraphs on lines of their own, tags dropped, and links that only a button
/// carries written out once at the end.
fn html_to_text(html: &str) -> String {
    let body = html.split("<body").nth(1).unwrap_or(html);
    let mut text = String::new();
    let mut links = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start + 1..start + end];
        if let Some(href) = tag
            .split("href=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
        {
            links.push(href.replace("&amp;", "&"));
        }
        if ["/p", "br", "/h1", "/tr"]
            .iter()
            .any(|t| tag.starts_with(t))
        {
            text.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    text.push_str(rest);
    let mut text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ");
    for link in links {
        if !text.contains(&link) {
            text.push('\n');
            text.push_str(&link);
        }
    }
    text
}
