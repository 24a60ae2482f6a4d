//! Helpers shared by the benchmark binaries: a store wrapper that counts requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use glucolink_core::store::{Condition, Item, Key, Page, Query, Store, StoreError, WriteOp};

/// Counts every request made to the store it wraps, and the device-data items (`DATA#…`, readings)
/// asked for.
pub struct CountingStore {
    inner: Arc<dyn Store>,
    requests: AtomicUsize,
    data_reads: AtomicUsize,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            requests: AtomicUsize::new(0),
            data_reads: AtomicUsize::new(0),
        }
    }

    /// Requests that read device data (a `DATA#` item or a query of them) so far.
    pub fn data_reads(&self) -> usize {
        self.data_reads.load(Ordering::Relaxed)
    }

    fn data(&self, sk: &str) {
        if sk.starts_with("DATA#") {
            self.data_reads.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    fn hit(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.hit();
        self.data(&key.sk);
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.hit();
        if let Some(key) = keys.iter().find(|k| k.sk.starts_with("DATA#")) {
            self.data(&key.sk);
        }
        self.inner.batch_get(keys).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.hit();
        self.inner.put(item, condition).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.hit();
        self.inner.delete(key, condition).await
    }
    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        self.hit();
        self.inner.increment(key, attr, delta, expires_at).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.hit();
        self.data(&query.sk_prefix);
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.hit();
        self.inner.transact(ops).await
    }
}
