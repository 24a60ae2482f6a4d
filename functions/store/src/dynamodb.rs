//! The DynamoDB store: the cloud stack's single table (`pk`, `sk`, `gsi1`, TTL on `ttl`).
//!
//! Conditions become condition expressions that also treat an expired item as absent, because DynamoDB's
//! TTL deletes items days late. The endpoint comes from the usual AWS configuration, so tests point it at
//! moto with `AWS_ENDPOINT_URL` and the code has no test-only branch.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue,
    ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
};
use glucolink_core::clock::Clock;
use glucolink_core::store::{
    Condition, Direction, Index, Item, Key, Page, Query, Store, StoreError, Value, WriteOp,
    validate_batch_get, validate_transaction,
};

use crate::cursor;

type AttributeMap = HashMap<String, AttributeValue>;

/// Name of the secondary index.
pub const GSI1: &str = "gsi1";

/// A store backed by one DynamoDB table.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

/// A condition expression with its placeholders.
#[derive(Default)]
struct Expression {
    text: Option<String>,
    names: HashMap<String, String>,
    values: AttributeMap,
}

const LIVE: &str = "(attribute_not_exists(#ttl) OR #ttl > :now)";

impl Expression {
    fn condition(condition: &Condition, now: i64) -> Self {
        let mut expression = Self::default();
        let text = match condition {
            Condition::None => return expression,
            Condition::NotExists => "attribute_not_exists(#pk) OR #ttl <= :now".to_owned(),
            Condition::Exists => format!("attribute_exists(#pk) AND {LIVE}"),
            Condition::Equals(name, value) => {
                expression.names.insert("#c".into(), name.clone());
                expression.values.insert(":c".into(), to_attribute(value));
                format!("#c = :c AND {LIVE}")
            }
            Condition::Unchanged { equal, absent } => {
                let mut parts = vec!["attribute_exists(#pk)".to_owned()];
                for (i, (name, value)) in equal.iter().enumerate() {
                    expression.names.insert(format!("#e{i}"), name.clone());
                    expression
                        .values
                        .insert(format!(":e{i}"), to_attribute(value));
                    parts.push(format!("#e{i} = :e{i}"));
                }
                for (i, name) in absent.iter().enumerate() {
                    expression.names.insert(format!("#a{i}"), name.clone());
                    parts.push(format!("attribute_not_exists(#a{i})"));
                }
                parts.push(LIVE.to_owned());
                parts.join(" AND ")
            }
        };
        if text.contains("#pk") {
            expression.names.insert("#pk".into(), "pk".into());
        }
        expression.names.insert("#ttl".into(), "ttl".into());
        expression
            .values
            .insert(":now".into(), AttributeValue::N(now.to_string()));
        expression.text = Some(text);
        expression
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<AttributeMap> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::B(b) => AttributeValue::B(Blob::new(b.clone())),
        Value::Bool(b) => AttributeValue::Bool(*b),
    }
}

fn key_map(key: &Key) -> AttributeMap {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
        ("sk".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn item_map(item: &Item) -> AttributeMap {
    let mut map = key_map(&item.key);
    if let Some(at) = item.expires_at {
        map.insert("ttl".into(), AttributeValue::N(at.to_string()));
    }
    if let Some(g) = &item.gsi1 {
        map.insert("gsi1pk".into(), AttributeValue::S(g.pk.clone()));
        map.insert("gsi1sk".into(), AttributeValue::S(g.sk.clone()));
    }
    for (name, value) in &item.attrs {
        map.insert(name.clone(), to_attribute(value));
    }
    map
}

fn from_map(mut map: AttributeMap) -> Result<Item, StoreError> {
    let mut take_s = |name: &str| match map.remove(name) {
        Some(AttributeValue::S(s)) => Ok(Some(s)),
        None => Ok(None),
        Some(_) => Err(StoreError::Corrupt(format!("{name} is not a string"))),
    };
    let pk = take_s("pk")?.ok_or_else(|| StoreError::Corrupt("item without pk".into()))?;
    let sk = take_s("sk")?.ok_or_else(|| StoreError::Corrupt("item without sk".into()))?;
    let gsi1 = match (take_s("gsi1pk")?, take_s("gsi1sk")?) {
        (Some(gpk), Some(gsk)) => Some(Key::new(gpk, gsk)),
        _ => None,
    };
    let expires_at = match map.remove("ttl") {
        Some(AttributeValue::N(n)) => Some(parse_number(&n)?),
        None => None,
        Some(_) => return Err(StoreError::Corrupt("ttl is not a number".into())),
    };
    let mut item = Item {
        key: Key::new(pk, sk),
        expires_at,
        gsi1,
        ..Item::default()
    };
    for (name, attribute) in map {
        let value = match attribute {
            AttributeValue::S(s) => Value::S(s),
            AttributeValue::N(n) => Value::N(parse_number(&n)?),
            AttributeValue::B(b) => Value::B(b.into_inner()),
            AttributeValue::Bool(b) => Value::Bool(b),
            other => {
                return Err(StoreError::Corrupt(format!(
                    "{name} has an unsupported type: {other:?}"
                )));
            }
        };
        item.attrs.insert(name, value);
    }
    Ok(item)
}

fn parse_number(n: &str) -> Result<i64, StoreError> {
    n.parse()
        .map_err(|_| StoreError::Corrupt(format!("{n} is not an integer")))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    /// From a loaded AWS configuration and `TABLE_NAME`. Makes no network call.
    pub fn from_config(
        config: &aws_config::SdkConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let table = std::env::var("TABLE_NAME")
            .map_err(|_| StoreError::Invalid("TABLE_NAME is not set".into()))?;
        Ok(Self::new(Client::new(config), table, clock))
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Creates the table as `template.yaml` declares it (for tests and development against an emulator).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        let index = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key("gsi1pk", KeyType::Hash).map_err(invalid)?)
            .key_schema(key("gsi1sk", KeyType::Range).map_err(invalid)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(invalid)?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["pk", "sk", "gsi1pk", "gsi1sk"]
                    .into_iter()
                    .map(attribute)
                    .collect::<Result<_, _>>()
                    .map_err(invalid)?,
            ))
            .key_schema(key("pk", KeyType::Hash).map_err(invalid)?)
            .key_schema(key("sk", KeyType::Range).map_err(invalid)?)
            .global_secondary_indexes(index)
            .send()
            .await
            .map_err(unavailable)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("ttl")
                    .build()
                    .map_err(invalid)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn transact_item(&self, op: &WriteOp, now: i64) -> Result<TransactWriteItem, StoreError> {
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        let builder = match op {
            WriteOp::Put { item, condition } => {
                let expression = Expression::condition(condition, now);
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item_map(item)))
                    .set_condition_expression(expression.text.clone())
                    .set_expression_attribute_names(expression.names())
                    .set_expression_attribute_values(expression.values())
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().put(put)
            }
            WriteOp::Delete { key, condition } => {
                let expression = Expression::condition(condition, now);
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .set_condition_expression(expression.text.clone())
                    .set_expression_attribute_names(expression.names())
                    .set_expression_attribute_values(expression.values())
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().delete(delete)
            }
            WriteOp::Check { key, condition } => {
                let expression = Expression::condition(condition, now);
                let text = expression
                    .text
                    .clone()
                    .ok_or_else(|| StoreError::Invalid("a check needs a condition".into()))?;
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .condition_expression(text)
                    .set_expression_attribute_names(expression.names())
                    .set_expression_attribute_values(expression.values())
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().condition_check(check)
            }
        };
        Ok(builder.build())
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let now = self.clock.epoch_seconds();
        match output.item {
            Some(map) => Ok(Some(from_map(map)?).filter(|item| !item.is_expired(now))),
            None => Ok(None),
        }
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        validate_batch_get(keys)?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pending: Vec<AttributeMap> = keys.iter().map(key_map).collect();
        let mut found: HashMap<Key, Item> = HashMap::with_capacity(keys.len());
        // DynamoDB may return part of a batch as unprocessed under load: ask again, with backoff.
        for attempt in 0..8u32 {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending.clone()))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(unavailable)?;
            for map in output
                .responses
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default()
            {
                let item = from_map(map)?;
                found.insert(item.key.clone(), item);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
                .map(|rest| rest.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                let now = self.clock.epoch_seconds();
                return Ok(keys
                    .iter()
                    .filter_map(|key| found.remove(key))
                    .filter(|item| !item.is_expired(now))
                    .collect());
            }
            tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
        }
        Err(StoreError::Unavailable(
            "batch read still unprocessed after retries".into(),
        ))
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        item.validate()?;
        let expression = Expression::condition(&condition, self.clock.epoch_seconds());
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_map(&item)))
            .set_condition_expression(expression.text.clone())
            .set_expression_attribute_names(expression.names())
            .set_expression_attribute_values(expression.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::ConditionFailed)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let expression = Expression::condition(&condition, self.clock.epoch_seconds());
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(expression.text.clone())
            .set_expression_attribute_names(expression.names())
            .set_expression_attribute_values(expression.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::ConditionFailed)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        for _attempt in 0..8 {
            let now = self.clock.epoch_seconds();
            // First: add to a live item.
            let updated = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_map(key)))
                .update_expression("ADD #a :d")
                .condition_expression(format!("attribute_exists(#pk) AND {LIVE}"))
                .expression_attribute_names("#a", attr)
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match updated {
                Ok(output) => {
                    return match output.attributes.and_then(|mut a| a.remove(attr)) {
                        Some(AttributeValue::N(n)) => parse_number(&n),
                        _ => Err(StoreError::Corrupt(format!(
                            "{attr} did not come back as a number"
                        ))),
                    };
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(unavailable(e)),
            }
            // Absent or expired: start a new counter, unless another writer just did.
            let mut fresh = Item::new(key.clone()).with_n(attr, delta);
            fresh.expires_at = expires_at;
            match self.put(fresh, Condition::NotExists).await {
                Ok(()) => return Ok(delta),
                Err(StoreError::ConditionFailed) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Unavailable(
            "counter contention did not settle".into(),
        ))
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        if query.limit == 0 {
            return Err(StoreError::Invalid("limit must be at least 1".into()));
        }
        let limit = i32::try_from(query.limit).unwrap_or(i32::MAX);
        let (pk_name, sk_name) = match query.index {
            Index::Primary => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        };
        let mut key_condition = "#qpk = :qpk".to_owned();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .limit(limit)
            .scan_index_forward(query.direction == Direction::Forward)
            // Reads see every write before them, as on the embedded store (an index cannot).
            .consistent_read(query.index == Index::Primary)
            .filter_expression(LIVE)
            .expression_attribute_names("#qpk", pk_name)
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":qpk", AttributeValue::S(query.pk.clone()))
            .expression_attribute_values(
                ":now",
                AttributeValue::N(self.clock.epoch_seconds().to_string()),
            );
        if query.sk_from.is_some() || query.sk_to.is_some() {
            // Bounds within the prefix: BETWEEN is inclusive at both ends, as the port promises.
            key_condition.push_str(" AND #qsk BETWEEN :low AND :high");
            request = request
                .expression_attribute_names("#qsk", sk_name)
                .expression_attribute_values(":low", AttributeValue::S(query.lowest_sk()))
                .expression_attribute_values(":high", AttributeValue::S(query.highest_sk()));
        } else if !query.sk_prefix.is_empty() {
            key_condition.push_str(" AND begins_with(#qsk, :prefix)");
            request = request
                .expression_attribute_names("#qsk", sk_name)
                .expression_attribute_values(":prefix", AttributeValue::S(query.sk_prefix.clone()));
        }
        request = request.key_condition_expression(key_condition);
        if let Some(attributes) = &query.attributes {
            // Keys and expiry always come back, as on the embedded store; every name is a placeholder,
            // so no attribute name can collide with a reserved word.
            let mut projection = "#kpk, #ksk, #kgpk, #kgsk, #ttl".to_owned();
            for (placeholder, name) in [
                ("#kpk", "pk"),
                ("#ksk", "sk"),
                ("#kgpk", "gsi1pk"),
                ("#kgsk", "gsi1sk"),
            ] {
                request = request.expression_attribute_names(placeholder, name);
            }
            for (i, name) in attributes.iter().enumerate() {
                projection.push_str(&format!(", #p{i}"));
                request = request.expression_attribute_names(format!("#p{i}"), name);
            }
            request = request.projection_expression(projection);
        }
        if let Some(cursor) = &query.cursor {
            let start = match query.index {
                Index::Primary => {
                    let parts = cursor::decode(cursor, 1)?;
                    key_map(&Key::new(query.pk.clone(), parts[0].clone()))
                }
                Index::Gsi1 => {
                    let parts = cursor::decode(cursor, 3)?;
                    let mut map = key_map(&Key::new(parts[1].clone(), parts[2].clone()));
                    map.insert("gsi1pk".into(), AttributeValue::S(query.pk.clone()));
                    map.insert("gsi1sk".into(), AttributeValue::S(parts[0].clone()));
                    map
                }
            };
            request = request.set_exclusive_start_key(Some(start));
        }
        if query.index == Index::Gsi1 {
            request = request.index_name(GSI1);
        }
        let output = request.send().await.map_err(unavailable)?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_map)
            .collect::<Result<Vec<_>, _>>()?;
        let cursor = match output.last_evaluated_key {
            Some(last) => {
                let s = |name: &str| match last.get(name) {
                    Some(AttributeValue::S(s)) => Ok(s.clone()),
                    _ => Err(StoreError::Corrupt(format!(
                        "LastEvaluatedKey lacks {name}"
                    ))),
                };
                Some(match query.index {
                    Index::Primary => cursor::encode(&[&s("sk")?]),
                    Index::Gsi1 => cursor::encode(&[&s("gsi1sk")?, &s("pk")?, &s("sk")?]),
                })
            }
            None => None,
        };
        Ok(Page { items, cursor })
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let mut delay = Duration::from_millis(20);
        for _attempt in 0..5 {
            let now = self.clock.epoch_seconds();
            let items = ops
                .iter()
                .map(|op| self.transact_item(op, now))
                .collect::<Result<Vec<_>, _>>()?;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let reasons: Vec<Option<String>> = error
                .as_service_error()
                .and_then(|s| match s {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                        Some(c.cancellation_reasons().iter().map(|r| r.code().map(str::to_owned)).collect())
                    }
                    _ => None,
                })
                .unwrap_or_default();
            if let Some(index) = reasons
                .iter()
                .position(|code| code.as_deref() == Some("ConditionalCheckFailed"))
            {
                return Err(StoreError::TransactionCanceled { index });
            }
            let conflict = reasons
                .iter()
                .any(|code| code.as_deref() == Some("TransactionConflict"))
                || error
                    .as_service_error()
                    .is_some_and(|s| s.is_transaction_in_progress_exception());
            if !conflict {
                return Err(unavailable(error));
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        Err(StoreError::Unavailable(
            "transaction conflicts did not settle".into(),
        ))
    }
}
