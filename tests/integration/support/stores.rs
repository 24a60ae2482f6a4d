//! Fresh stores for tests: an embedded store in a new temporary file, or a new table in moto.

use std::path::PathBuf;
use std::sync::Arc;

use glucolink_core::clock::{Clock, SystemClock};
use glucolink_core::store::Store;
use glucolink_store::{DynamoStore, EmbeddedStore};

/// A directory under the system temp dir, unique to this call, removed by nobody (the OS cleans tmp).
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glucolink-test-{label}-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

pub fn embedded(clock: Arc<dyn Clock>) -> Arc<dyn Store> {
    let path = temp_dir("store").join("store.redb");
    Arc::new(EmbeddedStore::open(&path, clock).expect("open embedded store"))
}

/// The moto endpoint. Missing means the suite was not started by `infra/test`: fail loudly, never skip.
pub fn dynamodb_url() -> String {
    std::env::var("GLUCOLINK_TEST_DYNAMODB_URL").expect(
        "GLUCOLINK_TEST_DYNAMODB_URL is not set: run the tests with `infra/test`, which starts moto (DynamoDB emulator)",
    )
}

/// A DynamoDB client for moto: dummy credentials, a fixed region, the moto endpoint.
pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(dynamodb_url())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A new table in moto, created exactly as the template declares it.
pub async fn dynamodb(clock: Arc<dyn Clock>) -> Arc<dyn Store> {
    dynamodb_named(clock).await.0
}

/// A new table in moto and its name (for tests that scan it whole).
pub async fn dynamodb_named(clock: Arc<dyn Clock>) -> (Arc<dyn Store>, String) {
    let table = format!(
        "glucolink-test-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let store = DynamoStore::new(dynamodb_client(), table.clone(), clock);
    store.create_table().await.expect("create table in moto");
    (Arc::new(store), table)
}

/// Every item of a moto table as (pk, sk, every string and number in it), by a full scan.
pub async fn scan_all(table: &str) -> Vec<(String, String, Vec<String>)> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = dynamodb_client();
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items.unwrap_or_default() {
            let text = |name: &str| match item.get(name) {
                Some(AttributeValue::S(s)) => s.clone(),
                _ => String::new(),
            };
            let values = item
                .values()
                .filter_map(|v| match v {
                    AttributeValue::S(s) | AttributeValue::N(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            items.push((text("pk"), text("sk"), values));
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
