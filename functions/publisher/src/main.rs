//! The site publisher Lambda: CloudFormation invokes it for the `SitePublication` custom resource of
//! `template.yaml`; it publishes (or, on Delete, removes) the site and answers CloudFormation.

use glucolink_publisher::{Request, handle, respond};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .without_time()
        .with_ansi(false)
        .init();
    // Reading the configuration makes no network call; credentials come on first use.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::new(&config);
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let http = reqwest::Client::new();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Request>| {
        let (s3, cloudfront, http) = (&s3, &cloudfront, &http);
        async move {
            let response = handle(&event.payload, s3, cloudfront).await;
            tracing::info!(status = response.status, reason = %response.reason, "custom resource");
            respond(http, &event.payload.response_url, &response).await
        }
    }))
    .await
}
