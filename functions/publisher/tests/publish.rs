//! The site publisher against S3 and CloudFront in moto (started by `infra/test`; its URL comes in
//! `GLUCOLINK_TEST_DYNAMODB_URL`): it writes the site with its headers, removes stale files,
//! invalidates the distribution, empties the bucket on Delete, and answers CloudFormation's response URL
//! with SUCCESS or, for a bucket that does not exist, FAILED.

use std::convert::Infallible;

use aws_sdk_cloudfront::types::{
    DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig, ViewerProtocolPolicy,
};
use bytes::Bytes;
use glucolink_publisher::{FILES, Request, handle, publish, respond};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

fn moto_url() -> String {
    std::env::var("GLUCOLINK_TEST_DYNAMODB_URL").expect(
        "GLUCOLINK_TEST_DYNAMODB_URL is not set: run the tests with `infra/test`, which starts moto",
    )
}

async fn clients() -> (aws_sdk_s3::Client, aws_sdk_cloudfront::Client) {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_url())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    (s3, aws_sdk_cloudfront::Client::new(&config))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{nanos}")
}

async fn distribution(cloudfront: &aws_sdk_cloudfront::Client, bucket: &str) -> String {
    let origin = Origin::builder()
        .id("site")
        .domain_name(format!("{bucket}.s3.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .expect("origin");
    let config = DistributionConfig::builder()
        .caller_reference(unique("test"))
        .comment("glucolink publisher test")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .expect("origins"),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("site")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .build()
                .expect("behaviour"),
        )
        .build()
        .expect("config");
    let created = cloudfront
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .expect("create distribution in moto");
    created
        .distribution()
        .map(|d| d.id().to_owned())
        .expect("distribution id")
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

/// A new, empty bucket in moto.
async fn new_bucket(s3: &aws_sdk_s3::Client) -> String {
    let bucket = unique("glucolink-site");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    bucket
}

#[tokio::test]
async fn publishes_the_site_with_headers_removes_stale_files_and_empties_on_delete() {
    let (s3, cloudfront) = clients().await;
    let bucket = new_bucket(&s3).await;
    s3.put_object()
        .bucket(&bucket)
        .key("old-page.html")
        .body(Bytes::from_static(b"old").into())
        .send()
        .await
        .expect("stale object");
    let distribution_id = distribution(&cloudfront, &bucket).await;

    let operator = glucolink_site::Operator::new(
        "Hillside Diabetes Service",
        "help@hillside.example",
        "https://hillside.example/privacy",
        "",
    )
    .expect("operator settings");
    let published = publish(&s3, &cloudfront, &bucket, Some(&distribution_id), &operator)
        .await
        .expect("publish");
    assert_eq!(published.written, FILES.len());
    assert_eq!(published.removed, 1, "old-page.html is gone");
    assert!(
        published.invalidation_id.is_some(),
        "CloudFront invalidated"
    );
    let mut expected: Vec<String> = FILES.iter().map(|f| f.key.to_owned()).collect();
    expected.sort();
    assert_eq!(keys(&s3, &bucket).await, expected);
    let index = s3
        .get_object()
        .bucket(&bucket)
        .key("clinic/patient.html")
        .send()
        .await
        .expect("page");
    assert_eq!(index.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(
        index.cache_control(),
        Some("public, max-age=60, must-revalidate")
    );
    let html = index.body.collect().await.expect("body").into_bytes();
    let html = String::from_utf8_lossy(&html).into_owned();
    assert!(html.contains("Patient Profile") && html.contains("Link to Personal"));
    assert!(
        html.contains("Provided by Hillside Diabetes Service"),
        "{html}"
    );
    assert!(html.contains("href=\"mailto:help@hillside.example\""));
    assert!(html.contains("href=\"https://hillside.example/privacy\""));
    assert!(
        html.contains("href=\"/terms\"") && !html.contains("{{"),
        "every slot filled"
    );

    let delete = request("Delete", &bucket, Some(&distribution_id));
    let answer = handle(&delete, &s3, &cloudfront).await;
    assert_eq!(answer.status, "SUCCESS", "{}", answer.reason);
    assert!(
        keys(&s3, &bucket).await.is_empty(),
        "the bucket can be deleted"
    );
}

fn request(kind: &str, bucket: &str, distribution: Option<&str>) -> Request {
    serde_json::from_value(serde_json::json!({
        "RequestType": kind,
        "ResponseURL": "http://127.0.0.1:9/unused",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/glucolink/1",
        "RequestId": "request-1",
        "LogicalResourceId": "SitePublication",
        "ResourceType": "Custom::SitePublication",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:publisher",
            "BucketName": bucket,
            "DistributionId": distribution,
        }
    }))
    .expect("request")
}

#[tokio::test]
async fn footer_settings_that_cannot_be_shown_fail_the_publication_and_write_nothing() {
    let (s3, cloudfront) = clients().await;
    let bucket = new_bucket(&s3).await;
    let mut create = request("Create", &bucket, None);
    create.resource_properties.privacy_url = "javascript:alert(1)".to_owned();
    let answer = handle(&create, &s3, &cloudfront).await;
    assert_eq!(answer.status, "FAILED");
    assert!(answer.reason.contains("privacy link"), "{}", answer.reason);
    assert!(keys(&s3, &bucket).await.is_empty(), "nothing written");
}

#[tokio::test]
async fn a_failure_is_answered_as_failed_at_the_response_url() {
    let (s3, cloudfront) = clients().await;
    let create = request("Create", &unique("no-such-bucket"), None);
    let answer = handle(&create, &s3, &cloudfront).await;
    assert_eq!(answer.status, "FAILED");
    assert!(
        answer.reason.starts_with("Publishing the site failed"),
        "{}",
        answer.reason
    );
    assert_eq!(answer.logical_resource_id, "SitePublication");

    // The answer reaches CloudFormation's pre-signed URL as a PUT with an empty content type.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/response?signature=x",
        listener.local_addr().expect("addr")
    );
    let (sent, mut received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let sent = sent.clone();
            async move {
                let method = request.method().to_string();
                let content_type = request
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap_or("?").to_owned());
                let body = request
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                let _ = sent.send((method, content_type, body));
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new())))
            }
        });
        let _ = http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
    respond(&reqwest::Client::new(), &url, &answer)
        .await
        .expect("respond");
    let (method, content_type, body) = received.recv().await.expect("a request");
    assert_eq!(method, "PUT");
    assert_eq!(content_type.as_deref(), Some(""));
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["RequestId"], "request-1");
    assert_eq!(
        body["StackId"],
        "arn:aws:cloudformation:us-east-1:123456789012:stack/glucolink/1"
    );
}
