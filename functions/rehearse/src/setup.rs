//! What `sam deploy` would create, created in moto from the template's own declarations: the table (keys,
//! indexes, TTL attribute as `AWS::DynamoDB::Table` declares them), the site bucket, the sender identity
//! in SES, a CloudFront distribution to invalidate, and the demo data an operator rehearses with.

use anyhow::{Context, Result, anyhow};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_json::Value;

use crate::template::{Template, text};

/// The operator's own AWS access in moto (not a function's): what creates the stack's resources.
pub fn admin_config(moto: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto)
        .region(aws_config::Region::new(crate::template::REGION))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("test", "test", None, None, "rehearsal"),
        ))
        .build()
}

pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

fn key_schema(keys: &Value) -> Result<Vec<KeySchemaElement>> {
    keys.as_array()
        .into_iter()
        .flatten()
        .map(|key| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(&key["AttributeName"]))
                .key_type(KeyType::from(text(&key["KeyType"]).as_str()))
                .build()?)
        })
        .collect()
}

/// Creates the table `AWS::DynamoDB::Table` declares, under `name`.
pub async fn create_table(
    template: &Template,
    config: &aws_config::SdkConfig,
    name: &str,
) -> Result<()> {
    let (logical_id, _) = template.only("AWS::DynamoDB::Table")?;
    let properties = template.properties(logical_id)?;
    let client = aws_sdk_dynamodb::Client::new(config);
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            properties["BillingMode"]
                .as_str()
                .unwrap_or("PAY_PER_REQUEST"),
        ))
        .set_key_schema(Some(key_schema(&properties["KeySchema"])?));
    for attribute in properties["AttributeDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(&attribute["AttributeName"]))
                .attribute_type(ScalarAttributeType::from(
                    text(&attribute["AttributeType"]).as_str(),
                ))
                .build()?,
        );
    }
    for index in properties["GlobalSecondaryIndexes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(&index["IndexName"]))
                .set_key_schema(Some(key_schema(&index["KeySchema"])?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            text(&index["Projection"]["ProjectionType"]).as_str(),
                        ))
                        .build(),
                )
                .build()?,
        );
    }
    request.send().await.context("creating the table in moto")?;
    let ttl = &properties["TimeToLiveSpecification"];
    if ttl["Enabled"] == true {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(text(&ttl["AttributeName"]))
                    .build()?,
            )
            .send()
            .await
            .context("turning on the table's TTL")?;
    }
    Ok(())
}

/// The site bucket, the sender identity and a distribution (whose id the publisher invalidates).
pub async fn create_site_and_sender(
    template: &Template,
    config: &aws_config::SdkConfig,
    bucket: &str,
) -> Result<String> {
    s3_client(config)
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .context("creating the site bucket")?;
    let ses = aws_sdk_sesv2::Client::new(config);
    let identity = template
        .parameter("SenderIdentity")
        .ok_or_else(|| anyhow!("the template has no SenderIdentity"))?;
    ses.create_email_identity()
        .email_identity(identity)
        .send()
        .await
        .context("verifying the sender identity in SES")?;
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let origin = Origin::builder()
        .id("site")
        .domain_name(format!("{bucket}.s3.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()?;
    let distribution = DistributionConfig::builder()
        .caller_reference(bucket)
        .comment("glucolink rehearsal")
        .enabled(true)
        .origins(Origins::builder().quantity(1).items(origin).build()?)
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("site")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .build()?,
        )
        .build()?;
    let created = aws_sdk_cloudfront::Client::new(config)
        .create_distribution()
        .distribution_config(distribution)
        .send()
        .await
        .context("creating the distribution in moto")?;
    created
        .distribution()
        .map(|d| d.id().to_owned())
        .ok_or_else(|| anyhow!("moto gave no distribution id"))
}

/// The demo clinic and patient, written as the operator's seeding would (not through a function).
pub async fn seed_demo(
    template: &Template,
    config: &aws_config::SdkConfig,
    table: &str,
) -> Result<()> {
    use std::sync::Arc;
    let clock: Arc<dyn glucolink_core::clock::Clock> = Arc::new(glucolink_core::clock::SystemClock);
    let store = glucolink_store::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(config),
        table,
        clock.clone(),
    );
    let sender = template
        .parameter("SenderEmail")
        .unwrap_or_default()
        .to_owned();
    let notifier = glucolink_notify::CloudNotifier::new(
        aws_sdk_sesv2::Client::new(config),
        aws_sdk_sns::Client::new(config),
        sender,
        glucolink_notify::SmsOrigin::default(),
    );
    let ctx = glucolink_core::Ctx::new(Arc::new(store), clock, Arc::new(notifier));
    glucolink_local::demo::ensure(&ctx)
        .await
        .map_err(|e| anyhow!("seeding the demo data: {e}"))?;
    Ok(())
}
