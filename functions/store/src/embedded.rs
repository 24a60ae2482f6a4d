//! The embedded store: one redb file, ACID and crash-safe (copy-on-write B-trees, checksummed commits).
//!
//! redb serialises write transactions, so every conditional write checks its condition and writes inside
//! one write transaction: conditions and counters are atomic without locks of our own. Blocking redb calls
//! run on tokio's blocking pool.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use glucolink_core::clock::Clock;
use glucolink_core::store::{
    Condition, Direction, Index, Item, Key, Page, Query, Store, StoreError, Value, WriteOp,
    validate_batch_get, validate_transaction,
};
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::cursor;

/// (pk, sk) → encoded item.
const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
/// (gsi1pk, gsi1sk, pk, sk) → nothing: the secondary index.
const GSI1: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi1");

/// Sorts after any key part (keys are built from ASCII).
const AFTER_PREFIX: &str = "\u{10FFFF}";

/// One entry of a range over [`ITEMS`], as redb yields it.
type RangeEntry<'a> = Result<
    (
        redb::AccessGuard<'a, (&'static str, &'static str)>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

/// What the file holds for one item besides its key.
#[derive(Serialize, Deserialize)]
struct Stored {
    attrs: Vec<(String, Value)>,
    expires_at: Option<i64>,
    gsi1: Option<(String, String)>,
}

fn encode(item: &Item) -> Result<Vec<u8>, StoreError> {
    let stored = Stored {
        attrs: item
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        expires_at: item.expires_at,
        gsi1: item.gsi1.as_ref().map(|k| (k.pk.clone(), k.sk.clone())),
    };
    postcard::to_allocvec(&stored).map_err(|e| StoreError::Invalid(format!("encode: {e}")))
}

fn decode(pk: &str, sk: &str, bytes: &[u8]) -> Result<Item, StoreError> {
    let stored: Stored =
        postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("{pk}/{sk}: {e}")))?;
    Ok(Item {
        key: Key::new(pk, sk),
        attrs: stored.attrs.into_iter().collect(),
        expires_at: stored.expires_at,
        gsi1: stored.gsi1.map(|(pk, sk)| Key::new(pk, sk)),
    })
}

/// [`Stored`] read in place, for projections: attribute values stay in the file's bytes until kept.
#[derive(Deserialize)]
struct StoredRef<'a> {
    #[serde(borrow)]
    attrs: Vec<(&'a str, ValueRef<'a>)>,
    expires_at: Option<i64>,
    #[serde(borrow)]
    gsi1: Option<(&'a str, &'a str)>,
}

/// [`Value`] borrowed from the file's bytes (same variants in the same order: the same encoding).
#[derive(Deserialize)]
enum ValueRef<'a> {
    S(&'a str),
    N(i64),
    B(&'a [u8]),
    Bool(bool),
}

impl ValueRef<'_> {
    fn to_value(&self) -> Value {
        match self {
            ValueRef::S(s) => Value::S((*s).to_owned()),
            ValueRef::N(n) => Value::N(*n),
            ValueRef::B(b) => Value::B(b.to_vec()),
            ValueRef::Bool(b) => Value::Bool(*b),
        }
    }
}

/// The item with only the attributes the query keeps, copying nothing else out of the file.
fn decode_projected(pk: &str, sk: &str, bytes: &[u8], query: &Query) -> Result<Item, StoreError> {
    if query.attributes.is_none() {
        return decode(pk, sk, bytes);
    }
    let stored: StoredRef<'_> =
        postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("{pk}/{sk}: {e}")))?;
    Ok(Item {
        key: Key::new(pk, sk),
        attrs: stored
            .attrs
            .iter()
            .filter(|(name, _)| query.keeps(name))
            .map(|(name, value)| ((*name).to_owned(), value.to_value()))
            .collect(),
        expires_at: stored.expires_at,
        gsi1: stored.gsi1.map(|(pk, sk)| Key::new(pk, sk)),
    })
}

fn db_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The embedded store. Cheap to clone; all clones share the file.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store file.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(db_error)?;
        let txn = db.begin_write().map_err(db_error)?;
        txn.open_table(ITEMS).map_err(db_error)?;
        txn.open_table(GSI1).map_err(db_error)?;
        txn.commit().map_err(db_error)?;
        Ok(Self {
            db: Arc::new(db),
            clock,
        })
    }

    /// Physically deletes expired items (DynamoDB's TTL does this in the cloud). Returns how many.
    pub async fn purge_expired(&self) -> Result<usize, StoreError> {
        let now = self.clock.epoch_seconds();
        self.write(move |items, index| {
            let mut expired = Vec::new();
            for entry in items.iter().map_err(db_error)? {
                let (key, value) = entry.map_err(db_error)?;
                let (pk, sk) = key.value();
                let item = decode(pk, sk, value.value())?;
                if item.is_expired(now) {
                    expired.push(item);
                }
            }
            for item in &expired {
                remove(items, index, &item.key)?;
            }
            Ok(expired.len())
        })
        .await
    }

    /// Every item in key order, expired ones included: for backups, and for tests that prove a refused
    /// request changed nothing.
    pub async fn dump(&self) -> Result<Vec<Item>, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(db_error)?;
            let items = txn.open_table(ITEMS).map_err(db_error)?;
            let mut all = Vec::new();
            for entry in items.iter().map_err(db_error)? {
                let (key, value) = entry.map_err(db_error)?;
                let (pk, sk) = key.value();
                all.push(decode(pk, sk, value.value())?);
            }
            Ok(all)
        })
        .await
        .map_err(db_error)?
    }

    /// Runs `work` in one write transaction on the blocking pool; commits only if it succeeds.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(
                &mut Table<(&str, &str), &[u8]>,
                &mut Table<(&str, &str, &str, &str), ()>,
            ) -> Result<T, StoreError>
            + Send
            + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_write().map_err(db_error)?;
            let result = {
                let mut items = txn.open_table(ITEMS).map_err(db_error)?;
                let mut index = txn.open_table(GSI1).map_err(db_error)?;
                work(&mut items, &mut index)
            };
            match result {
                Ok(value) => {
                    txn.commit().map_err(db_error)?;
                    Ok(value)
                }
                Err(e) => {
                    txn.abort().map_err(db_error)?;
                    Err(e)
                }
            }
        })
        .await
        .map_err(db_error)?
    }
}

fn load(
    items: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    key: &Key,
) -> Result<Option<Item>, StoreError> {
    match items
        .get((key.pk.as_str(), key.sk.as_str()))
        .map_err(db_error)?
    {
        Some(bytes) => Ok(Some(decode(&key.pk, &key.sk, bytes.value())?)),
        None => Ok(None),
    }
}

/// The live (unexpired) item at `key`.
fn load_live(
    items: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    key: &Key,
    now: i64,
) -> Result<Option<Item>, StoreError> {
    Ok(load(items, key)?.filter(|item| !item.is_expired(now)))
}

fn holds(condition: &Condition, current: Option<&Item>) -> bool {
    match condition {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Exists => current.is_some(),
        Condition::Equals(name, value) => {
            current.is_some_and(|item| item.attrs.get(name) == Some(value))
        }
        Condition::Unchanged { equal, absent } => current.is_some_and(|item| {
            equal
                .iter()
                .all(|(name, value)| item.attrs.get(name) == Some(value))
                && absent.iter().all(|name| !item.attrs.contains_key(name))
        }),
    }
}

fn remove(
    items: &mut Table<(&str, &str), &[u8]>,
    index: &mut Table<(&str, &str, &str, &str), ()>,
    key: &Key,
) -> Result<(), StoreError> {
    if let Some(old) = load(items, key)? {
        if let Some(g) = &old.gsi1 {
            index
                .remove((
                    g.pk.as_str(),
                    g.sk.as_str(),
                    key.pk.as_str(),
                    key.sk.as_str(),
                ))
                .map_err(db_error)?;
        }
        items
            .remove((key.pk.as_str(), key.sk.as_str()))
            .map_err(db_error)?;
    }
    Ok(())
}

fn insert(
    items: &mut Table<(&str, &str), &[u8]>,
    index: &mut Table<(&str, &str, &str, &str), ()>,
    item: &Item,
) -> Result<(), StoreError> {
    remove(items, index, &item.key)?;
    let bytes = encode(item)?;
    items
        .insert(
            (item.key.pk.as_str(), item.key.sk.as_str()),
            bytes.as_slice(),
        )
        .map_err(db_error)?;
    if let Some(g) = &item.gsi1 {
        index
            .insert(
                (
                    g.pk.as_str(),
                    g.sk.as_str(),
                    item.key.pk.as_str(),
                    item.key.sk.as_str(),
                ),
                (),
            )
            .map_err(db_error)?;
    }
    Ok(())
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let db = self.db.clone();
        let key = key.clone();
        let now = self.clock.epoch_seconds();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(db_error)?;
            let items = txn.open_table(ITEMS).map_err(db_error)?;
            load_live(&items, &key, now)
        })
        .await
        .map_err(db_error)?
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        validate_batch_get(keys)?;
        let db = self.db.clone();
        let keys = keys.to_vec();
        let now = self.clock.epoch_seconds();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(db_error)?;
            let items = txn.open_table(ITEMS).map_err(db_error)?;
            let mut found = Vec::with_capacity(keys.len());
            for key in &keys {
                if let Some(item) = load_live(&items, key, now)? {
                    found.push(item);
                }
            }
            Ok(found)
        })
        .await
        .map_err(db_error)?
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        item.validate()?;
        let now = self.clock.epoch_seconds();
        self.write(move |items, index| {
            let current = load_live(items, &item.key, now)?;
            if !holds(&condition, current.as_ref()) {
                return Err(StoreError::ConditionFailed);
            }
            insert(items, index, &item)
        })
        .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let key = key.clone();
        let now = self.clock.epoch_seconds();
        self.write(move |items, index| {
            let current = load_live(items, &key, now)?;
            if !holds(&condition, current.as_ref()) {
                return Err(StoreError::ConditionFailed);
            }
            remove(items, index, &key)
        })
        .await
    }

    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        let key = key.clone();
        let attr = attr.to_owned();
        let now = self.clock.epoch_seconds();
        self.write(move |items, index| {
            let item = match load_live(items, &key, now)? {
                Some(mut item) => {
                    let current = match item.attrs.get(&attr) {
                        None => 0,
                        Some(Value::N(n)) => *n,
                        Some(_) => {
                            return Err(StoreError::Invalid(format!("{attr} is not a number")));
                        }
                    };
                    let next = current
                        .checked_add(delta)
                        .ok_or_else(|| StoreError::Invalid("counter overflow".into()))?;
                    item.attrs.insert(attr.clone(), Value::N(next));
                    item
                }
                None => Item {
                    key: key.clone(),
                    expires_at,
                    ..Item::default()
                }
                .with_n(&attr, delta),
            };
            item.validate()?;
            insert(items, index, &item)?;
            item.n(&attr)
                .ok_or_else(|| StoreError::Corrupt("counter vanished".into()))
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let db = self.db.clone();
        let query = query.clone();
        let now = self.clock.epoch_seconds();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(db_error)?;
            let items = txn.open_table(ITEMS).map_err(db_error)?;
            match query.index {
                Index::Primary => query_primary(&items, &query, now),
                Index::Gsi1 => {
                    let index = txn.open_table(GSI1).map_err(db_error)?;
                    query_gsi1(&items, &index, &query, now)
                }
            }
        })
        .await
        .map_err(db_error)?
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let now = self.clock.epoch_seconds();
        self.write(move |items, index| {
            for (position, op) in ops.iter().enumerate() {
                let condition = match op {
                    WriteOp::Put { condition, .. }
                    | WriteOp::Delete { condition, .. }
                    | WriteOp::Check { condition, .. } => condition,
                };
                let current = load_live(items, op.key(), now)?;
                if !holds(condition, current.as_ref()) {
                    return Err(StoreError::TransactionCanceled { index: position });
                }
            }
            for op in &ops {
                match op {
                    WriteOp::Put { item, .. } => insert(items, index, item)?,
                    WriteOp::Delete { key, .. } => remove(items, index, key)?,
                    WriteOp::Check { .. } => {}
                }
            }
            Ok(())
        })
        .await
    }
}

fn page_size(query: &Query) -> Result<usize, StoreError> {
    if query.limit == 0 {
        return Err(StoreError::Invalid("limit must be at least 1".into()));
    }
    Ok(query.limit)
}

fn query_primary(
    items: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    query: &Query,
    now: i64,
) -> Result<Page, StoreError> {
    let limit = page_size(query)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode(c, 1))
        .transpose()?;
    let (lowest, upper) = (query.lowest_sk(), query.highest_sk());
    let pk = query.pk.as_str();
    let (low, high) = match (&after, query.direction) {
        (Some(last), Direction::Forward) => (
            Bound::Excluded((pk, last[0].as_str())),
            Bound::Included((pk, upper.as_str())),
        ),
        (Some(last), Direction::Backward) => (
            Bound::Included((pk, lowest.as_str())),
            Bound::Excluded((pk, last[0].as_str())),
        ),
        (None, _) => (
            Bound::Included((pk, lowest.as_str())),
            Bound::Included((pk, upper.as_str())),
        ),
    };
    let range = items.range::<(&str, &str)>((low, high)).map_err(db_error)?;
    let mut page = Page::default();
    let mut visit = |entry: RangeEntry<'_>| -> Result<bool, StoreError> {
        let (key, value) = entry.map_err(db_error)?;
        let (pk, sk) = key.value();
        if !sk.starts_with(query.sk_prefix.as_str()) {
            return Ok(true);
        }
        if page.items.len() == limit {
            page.cursor = page
                .items
                .last()
                .map(|last: &Item| cursor::encode(&[last.key.sk.as_str()]));
            return Ok(false);
        }
        let item = decode_projected(pk, sk, value.value(), query)?;
        if !item.is_expired(now) {
            page.items.push(item);
        }
        Ok(true)
    };
    match query.direction {
        Direction::Forward => {
            for entry in range {
                if !visit(entry)? {
                    break;
                }
            }
        }
        Direction::Backward => {
            for entry in range.rev() {
                if !visit(entry)? {
                    break;
                }
            }
        }
    }
    Ok(page)
}

fn query_gsi1(
    items: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    index: &impl ReadableTable<(&'static str, &'static str, &'static str, &'static str), ()>,
    query: &Query,
    now: i64,
) -> Result<Page, StoreError> {
    let limit = page_size(query)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode(c, 3))
        .transpose()?;
    let (lowest, upper) = (query.lowest_sk(), query.highest_sk());
    let gpk = query.pk.as_str();
    let start = (gpk, lowest.as_str(), "", "");
    // Past every (pk, sk) that shares the highest index sort key, so `sk_to` is inclusive.
    let end = (gpk, upper.as_str(), AFTER_PREFIX, AFTER_PREFIX);
    let (low, high) = match (&after, query.direction) {
        (Some(last), Direction::Forward) => (
            Bound::Excluded((gpk, last[0].as_str(), last[1].as_str(), last[2].as_str())),
            Bound::Included(end),
        ),
        (Some(last), Direction::Backward) => (
            Bound::Included(start),
            Bound::Excluded((gpk, last[0].as_str(), last[1].as_str(), last[2].as_str())),
        ),
        (None, _) => (Bound::Included(start), Bound::Included(end)),
    };
    let range = index
        .range::<(&str, &str, &str, &str)>((low, high))
        .map_err(db_error)?;
    let entries: Box<dyn Iterator<Item = _>> = match query.direction {
        Direction::Forward => Box::new(range),
        Direction::Backward => Box::new(range.rev()),
    };
    let mut page = Page::default();
    let mut last_index_key: Option<(String, String, String)> = None;
    for entry in entries {
        let (key, _) = entry.map_err(db_error)?;
        let (_, gsk, pk, sk) = key.value();
        if !gsk.starts_with(query.sk_prefix.as_str()) {
            continue;
        }
        if page.items.len() == limit {
            page.cursor = last_index_key
                .as_ref()
                .map(|(g, p, s)| cursor::encode(&[g, p, s]));
            break;
        }
        if let Some(mut item) = load_live(items, &Key::new(pk, sk), now)? {
            item.attrs.retain(|name, _| query.keeps(name));
            page.items.push(item);
            last_index_key = Some((gsk.to_owned(), pk.to_owned(), sk.to_owned()));
        }
    }
    Ok(page)
}
