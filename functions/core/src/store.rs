//! The Store port: the few typed operations the domain needs from a key-value store with sorted keys.
//!
//! Modelled on DynamoDB's single-table design: items live under a partition key (`pk`) and a sort key
//! (`sk`); one secondary index (`gsi1`) gives a second sort order. Every implementation passes the same
//! conformance suite (`tests/integration/store_conformance.rs`).
//!
//! Expiry: an item with `expires_at` in the past is invisible to every read and counts as absent for
//! every condition, even before it is physically deleted (DynamoDB's TTL deletes with a delay of days).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Attribute names the stores use themselves; items may not use them.
pub const RESERVED_ATTRIBUTES: [&str; 5] = ["pk", "sk", "ttl", "gsi1pk", "gsi1sk"];

/// DynamoDB's item size limit, enforced by every store so that both behave alike.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Most keys one batch read may name (DynamoDB's BatchGetItem limit).
pub const MAX_BATCH_GET_KEYS: usize = 100;

/// Most operations one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_OPS: usize = 100;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// An attribute value. Deliberately small: strings, integers, bytes, booleans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    S(String),
    N(i64),
    B(Vec<u8>),
    Bool(bool),
}

impl Value {
    fn approximate_size(&self) -> usize {
        match self {
            Value::S(s) => s.len(),
            Value::N(_) => 21,
            Value::B(b) => b.len(),
            Value::Bool(_) => 1,
        }
    }
}

/// One stored item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Item {
    pub key: Key,
    pub attrs: BTreeMap<String, Value>,
    /// Unix seconds after which the item no longer exists for readers.
    pub expires_at: Option<i64>,
    /// Key in the secondary index `gsi1`, if the item is indexed there.
    pub gsi1: Option<Key>,
}

impl Default for Key {
    fn default() -> Self {
        Self::new("", "")
    }
}

impl Item {
    pub fn new(key: Key) -> Self {
        Self {
            key,
            ..Self::default()
        }
    }

    /// Builder-style attribute setter.
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.attrs.insert(name.to_owned(), value);
        self
    }

    pub fn with_s(self, name: &str, value: impl Into<String>) -> Self {
        self.with(name, Value::S(value.into()))
    }

    pub fn with_n(self, name: &str, value: i64) -> Self {
        self.with(name, Value::N(value))
    }

    pub fn expiring_at(mut self, epoch_seconds: i64) -> Self {
        self.expires_at = Some(epoch_seconds);
        self
    }

    pub fn indexed(mut self, gsi1: Key) -> Self {
        self.gsi1 = Some(gsi1);
        self
    }

    pub fn s(&self, name: &str) -> Option<&str> {
        match self.attrs.get(name) {
            Some(Value::S(s)) => Some(s),
            _ => None,
        }
    }

    pub fn n(&self, name: &str) -> Option<i64> {
        match self.attrs.get(name) {
            Some(Value::N(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn b(&self, name: &str) -> Option<&[u8]> {
        match self.attrs.get(name) {
            Some(Value::B(b)) => Some(b),
            _ => None,
        }
    }

    /// A required string attribute; a missing one means the stored item is corrupt.
    pub fn require_s(&self, name: &str) -> Result<&str, StoreError> {
        self.s(name).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{}/{} lacks string attribute {name}",
                self.key.pk, self.key.sk
            ))
        })
    }

    /// A required number attribute; a missing one means the stored item is corrupt.
    pub fn require_n(&self, name: &str) -> Result<i64, StoreError> {
        self.n(name).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{}/{} lacks number attribute {name}",
                self.key.pk, self.key.sk
            ))
        })
    }

    /// Whether the item has expired at `now` (Unix seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Size as DynamoDB counts it, closely enough to enforce [`MAX_ITEM_BYTES`] alike everywhere.
    pub fn approximate_size(&self) -> usize {
        let keys = 4 + self.key.pk.len() + self.key.sk.len();
        let index = self
            .gsi1
            .as_ref()
            .map_or(0, |k| 12 + k.pk.len() + k.sk.len());
        let attrs: usize = self
            .attrs
            .iter()
            .map(|(name, value)| name.len() + value.approximate_size())
            .sum();
        keys + index + attrs + self.expires_at.map_or(0, |_| 24)
    }

    /// Checks the rules every store enforces before writing.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.key.pk.is_empty() || self.key.sk.is_empty() {
            return Err(StoreError::Invalid("empty key".into()));
        }
        if let Some(name) = self
            .attrs
            .keys()
            .find(|n| RESERVED_ATTRIBUTES.contains(&n.as_str()))
        {
            return Err(StoreError::Invalid(format!(
                "attribute name {name} is reserved"
            )));
        }
        if self.approximate_size() > MAX_ITEM_BYTES {
            return Err(StoreError::ItemTooLarge);
        }
        Ok(())
    }
}

/// A condition a write must meet, checked atomically with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Write unconditionally.
    None,
    /// The item must not exist (or must have expired).
    NotExists,
    /// The item must exist (and not have expired).
    Exists,
    /// The item must exist and the attribute must hold this value (optimistic concurrency).
    Equals(String, Value),
    /// The item must exist, each `equal` attribute must hold its value and each `absent` one must be
    /// missing: a read-modify-write of an item several writers change (an account: its password, its
    /// passkeys) that must not undo another's change to any of them.
    Unchanged {
        equal: Vec<(String, Value)>,
        absent: Vec<String>,
    },
}

impl Condition {
    /// [`Condition::Unchanged`] for the `names` attributes of an item as `read`: each equal to its
    /// value there, or still absent where it had none.
    pub fn unchanged_from(read: &Item, names: &[&str]) -> Self {
        let mut equal = Vec::new();
        let mut absent = Vec::new();
        for name in names {
            match read.attrs.get(*name) {
                Some(value) => equal.push(((*name).to_owned(), value.clone())),
                None => absent.push((*name).to_owned()),
            }
        }
        Condition::Unchanged { equal, absent }
    }
}

/// Which way a query walks the sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// Which key a query reads: the table's own, or the secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Primary,
    Gsi1,
}

/// Items under one partition key whose sort key starts with a prefix, in sort-key order.
#[derive(Debug, Clone)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk_prefix: String,
    pub direction: Direction,
    /// Inclusive bounds on the sort key, within the prefix (for date ranges such as `DATA#2026-09-01`
    /// to `DATA#2026-11-30~`).
    pub sk_from: Option<String>,
    pub sk_to: Option<String>,
    /// At most this many items per page (a page may hold fewer even when more follow).
    pub limit: usize,
    /// Where the previous page stopped; opaque, from [`Page::cursor`].
    pub cursor: Option<String>,
    /// Only these attributes of each item (with its key, index key and expiry); `None` reads them all.
    /// A projection reads less: the report's memo recognises 90 days of data by their revisions alone.
    pub attributes: Option<Vec<String>>,
}

impl Query {
    pub fn prefix(pk: impl Into<String>, sk_prefix: impl Into<String>) -> Self {
        Self {
            index: Index::Primary,
            pk: pk.into(),
            sk_prefix: sk_prefix.into(),
            direction: Direction::Forward,
            sk_from: None,
            sk_to: None,
            limit: 100,
            cursor: None,
            attributes: None,
        }
    }

    /// Reads only these attributes of each item (with its keys and expiry).
    pub fn only(mut self, attributes: &[&str]) -> Self {
        self.attributes = Some(attributes.iter().map(|a| (*a).to_owned()).collect());
        self
    }

    /// Whether a projection keeps this attribute.
    pub fn keeps(&self, attribute: &str) -> bool {
        self.attributes
            .as_ref()
            .is_none_or(|kept| kept.iter().any(|a| a == attribute))
    }

    /// Only sort keys between `from` and `to`, both inclusive.
    pub fn between(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.sk_from = Some(from.into());
        self.sk_to = Some(to.into());
        self
    }

    /// The lowest sort key the query can match: the prefix, or a higher `sk_from`.
    pub fn lowest_sk(&self) -> String {
        match &self.sk_from {
            Some(from) if from.as_str() > self.sk_prefix.as_str() => from.clone(),
            _ => self.sk_prefix.clone(),
        }
    }

    /// The highest sort key the query can match: just past the prefix, or a lower `sk_to`.
    pub fn highest_sk(&self) -> String {
        let past_prefix = format!("{}{SORTS_LAST}", self.sk_prefix);
        match &self.sk_to {
            Some(to) if *to < past_prefix => to.clone(),
            _ => past_prefix,
        }
    }
}

/// A character that sorts after every character keys are built from (keys are ASCII).
pub const SORTS_LAST: char = '\u{10FFFF}';

/// One page of query results.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow; pass it back in [`Query::cursor`].
    pub cursor: Option<String>,
}

/// One write within a transaction.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        key: Key,
        condition: Condition,
    },
    /// Writes nothing; only its condition must hold.
    Check {
        key: Key,
        condition: Condition,
    },
}

impl WriteOp {
    pub fn key(&self) -> &Key {
        match self {
            WriteOp::Put { item, .. } => &item.key,
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction wrote nothing because the condition of operation `index` failed.
    #[error("transaction canceled: condition of operation {index} failed")]
    TransactionCanceled { index: usize },
    #[error("item too large")]
    ItemTooLarge,
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// The storage port.
#[async_trait]
pub trait Store: Send + Sync {
    /// The item, unless it is absent or expired.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// The live items among `keys` (at most [`MAX_BATCH_GET_KEYS`], no duplicates), in the order of
    /// `keys`; absent and expired ones are left out. One round trip where the store allows it.
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError>;

    /// Writes the whole item if the condition holds.
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError>;

    /// Deletes the item if the condition holds (deleting an absent item is not an error).
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError>;

    /// Atomically adds `delta` to a number attribute and returns the new value.
    ///
    /// An absent or expired item is created with the attribute set to `delta` and the given expiry;
    /// an existing item keeps its expiry, so a counter with an expiry counts within a fixed window.
    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError>;

    /// One page of a prefix query.
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;

    /// All of the writes or none: if any condition fails, nothing is written and the error names it.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;
}

/// Every item a query matches, following its cursor page after page. For small sets only (a person's
/// links, a clinic's staff); large ones are paged to the client instead.
pub async fn query_all(store: &dyn Store, mut query: Query) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    loop {
        let page = store.query(&query).await?;
        items.extend(page.items);
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(items),
        }
    }
}

/// Checks the rules every store enforces on a batch read before running it.
pub fn validate_batch_get(keys: &[Key]) -> Result<(), StoreError> {
    if keys.len() > MAX_BATCH_GET_KEYS {
        return Err(StoreError::Invalid(format!(
            "a batch read names at most {MAX_BATCH_GET_KEYS} keys, not {}",
            keys.len()
        )));
    }
    let distinct: std::collections::HashSet<&Key> = keys.iter().collect();
    if distinct.len() != keys.len() {
        return Err(StoreError::Invalid(
            "a batch read names one key twice".into(),
        ));
    }
    Ok(())
}

/// Checks the rules every store enforces on a transaction before running it.
pub fn validate_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1 to {MAX_TRANSACTION_OPS} operations, not {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        if !seen.insert(op.key()) {
            return Err(StoreError::Invalid(
                "two operations on one item in a transaction".into(),
            ));
        }
        if let WriteOp::Put { item, .. } = op {
            item.validate()?;
        }
    }
    Ok(())
}
