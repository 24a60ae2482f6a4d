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
    let table = format!(
        "glucolink-test-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let store = DynamoStore::new(dynamodb_client(), table, clock);
    store.create_table().await.expect("create table in moto");
    Arc::new(store)
}

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
