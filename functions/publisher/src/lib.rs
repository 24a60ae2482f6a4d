//! Publishes the website from the stack itself: `sam deploy` runs this as a CloudFormation custom
//! resource. On Create and Update it writes the site embedded at build time (`build.rs`) into the
//! private bucket, removes files the site no longer has, and invalidates CloudFront; on Delete it
//! empties the bucket so that the stack can delete it. Every answer goes back to CloudFormation's
//! pre-signed response URL, failures included, so a deployment never hangs.

use std::collections::BTreeSet;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::{Deserialize, Serialize};

/// One file of the published site.
#[derive(Debug)]
pub struct SiteFile {
    /// The object key: the URL path without its leading `/`.
    pub key: &'static str,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/site_files.rs"));

/// Any failure, as the text CloudFormation shows.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The CloudFormation custom resource request (the fields glucolink uses).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub request_type: String,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub resource_properties: Properties,
}

/// The resource's properties in `template.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Properties {
    pub bucket_name: String,
    #[serde(default)]
    pub distribution_id: Option<String>,
    /// Who provides the service, shown in every page's footer (empty: "glucolink").
    #[serde(default)]
    pub operator_name: String,
    /// The support address in the footer (empty: patients are pointed to their clinic).
    #[serde(default)]
    pub support_email: String,
    /// The privacy notice: a path on the site or an https:// address (empty: the site's own page).
    #[serde(default)]
    pub privacy_url: String,
    /// The terms of use: a path on the site or an https:// address (empty: the site's own page).
    #[serde(default)]
    pub terms_url: String,
}

impl Properties {
    /// The footer settings these properties give, or why they cannot be used.
    pub fn operator(&self) -> Result<glucolink_site::Operator, Error> {
        Ok(glucolink_site::Operator::new(
            &self.operator_name,
            &self.support_email,
            &self.privacy_url,
            &self.terms_url,
        )?)
    }
}

/// The answer CloudFormation expects at the response URL.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    pub status: &'static str,
    pub reason: String,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub data: serde_json::Value,
}

/// What a publication did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Published {
    pub written: usize,
    pub removed: usize,
    pub invalidation_id: Option<String>,
}

/// Every object key in the bucket.
async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<BTreeSet<String>, Error> {
    let mut keys = BTreeSet::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        for object in page?.contents() {
            if let Some(key) = object.key() {
                keys.insert(key.to_owned());
            }
        }
    }
    Ok(keys)
}

async fn remove(s3: &aws_sdk_s3::Client, bucket: &str, keys: Vec<String>) -> Result<usize, Error> {
    let count = keys.len();
    for chunk in keys.chunks(1000) {
        let objects = chunk
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()?;
        s3.delete_objects()
            .bucket(bucket)
            .delete(Delete::builder().set_objects(Some(objects)).build()?)
            .send()
            .await?;
    }
    Ok(count)
}

/// The bytes of a file as published: pages with the operator's footer settings filled in.
pub fn published_bytes(file: &SiteFile, operator: &glucolink_site::Operator) -> ByteStream {
    match std::str::from_utf8(file.bytes) {
        Ok(html) if file.key.ends_with(".html") => {
            ByteStream::from(operator.fill(html).into_bytes())
        }
        _ => ByteStream::from_static(file.bytes),
    }
}

/// Writes the site into the bucket, removes what it no longer has, and invalidates the distribution.
pub async fn publish(
    s3: &aws_sdk_s3::Client,
    cloudfront: &aws_sdk_cloudfront::Client,
    bucket: &str,
    distribution_id: Option<&str>,
    operator: &glucolink_site::Operator,
) -> Result<Published, Error> {
    for file in FILES {
        s3.put_object()
            .bucket(bucket)
            .key(file.key)
            .content_type(file.content_type)
            .cache_control(file.cache_control)
            .body(published_bytes(file, operator))
            .send()
            .await?;
    }
    let wanted: BTreeSet<&str> = FILES.iter().map(|f| f.key).collect();
    let stale: Vec<String> = keys(s3, bucket)
        .await?
        .into_iter()
        .filter(|key| !wanted.contains(key.as_str()))
        .collect();
    let removed = remove(s3, bucket, stale).await?;
    let mut invalidation_id = None;
    if let Some(distribution) = distribution_id.filter(|d| !d.is_empty()) {
        let paths = aws_sdk_cloudfront::types::Paths::builder()
            .quantity(1)
            .items("/*")
            .build()?;
        let batch = aws_sdk_cloudfront::types::InvalidationBatch::builder()
            .paths(paths)
            .caller_reference(format!(
                "glucolink-{}-{}",
                &SITE_DIGEST[..12],
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default()
            ))
            .build()?;
        let created = cloudfront
            .create_invalidation()
            .distribution_id(distribution)
            .invalidation_batch(batch)
            .send()
            .await?;
        invalidation_id = created
            .invalidation()
            .map(|invalidation| invalidation.id().to_owned());
    }
    Ok(Published {
        written: FILES.len(),
        removed,
        invalidation_id,
    })
}

/// Removes every object, so that CloudFormation can delete the bucket; a bucket already gone is fine.
pub async fn empty(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<usize, Error> {
    match keys(s3, bucket).await {
        Ok(all) => remove(s3, bucket, all.into_iter().collect()).await,
        Err(error) if format!("{error:?}").contains("NoSuchBucket") => Ok(0),
        Err(error) => Err(error),
    }
}

/// Carries out one request and says how it went (never an error: a failure is a FAILED answer).
pub async fn handle(
    request: &Request,
    s3: &aws_sdk_s3::Client,
    cloudfront: &aws_sdk_cloudfront::Client,
) -> Response {
    let bucket = &request.resource_properties.bucket_name;
    let outcome = match request.request_type.as_str() {
        "Create" | "Update" => match request.resource_properties.operator() {
            Ok(operator) => {
                publish(
                    s3,
                    cloudfront,
                    bucket,
                    request.resource_properties.distribution_id.as_deref(),
                    &operator,
                )
                .await
            }
            Err(error) => Err(error),
        }
        .map(|p| {
            serde_json::json!({
                "Written": p.written,
                "Removed": p.removed,
                "InvalidationId": p.invalidation_id,
                "SiteDigest": SITE_DIGEST,
            })
        }),
        "Delete" => empty(s3, bucket)
            .await
            .map(|removed| serde_json::json!({ "Removed": removed })),
        other => Err(format!("unknown request type {other:?}").into()),
    };
    let (status, reason, data) = match outcome {
        Ok(data) => ("SUCCESS", "Site published.".to_owned(), data),
        Err(error) => (
            "FAILED",
            format!("Publishing the site failed: {error}"),
            serde_json::Value::Null,
        ),
    };
    Response {
        status,
        reason,
        physical_resource_id: request
            .physical_resource_id
            .clone()
            .unwrap_or_else(|| format!("glucolink-site-{bucket}")),
        stack_id: request.stack_id.clone(),
        request_id: request.request_id.clone(),
        logical_resource_id: request.logical_resource_id.clone(),
        data,
    }
}

/// Sends the answer to CloudFormation's pre-signed URL (a PUT with an empty content type, as it asks).
pub async fn respond(http: &reqwest::Client, url: &str, response: &Response) -> Result<(), Error> {
    let sent = http
        .put(url)
        .header("content-type", "")
        .body(serde_json::to_vec(response)?)
        .send()
        .await?;
    if !sent.status().is_success() {
        return Err(format!("the response URL answered {}", sent.status()).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_site_has_hashed_assets_and_pages_pointing_at_them() {
        let key = |k: &str| FILES.iter().find(|f| f.key == k);
        let index = key("index.html").expect("index.html");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert!(index.cache_control.contains("max-age=60"));
        let html = std::str::from_utf8(index.bytes).expect("utf-8");
        let hashed_js = FILES
            .iter()
            .find(|f| f.key.starts_with("assets/style.") && f.key != "assets/style.css")
            .expect("a hashed style.css");
        assert!(html.contains(&format!("\"/{}\"", hashed_js.key)), "{html}");
        assert!(!html.contains("\"/assets/style.css\""));
        assert!(hashed_js.cache_control.contains("immutable"));
        let plain_css = key("assets/report.css").expect("report.css under its own name too");
        assert!(plain_css.cache_control.contains("max-age=300"));
        assert!(
            FILES.iter().all(|f| !f.key.starts_with("dev/")),
            "no local-only pages"
        );
        assert!(key("clinic/patient.html").is_some() && key("404.html").is_some());
        assert_eq!(SITE_DIGEST.len(), 64);
    }
}
