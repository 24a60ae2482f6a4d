//! The local outbox: every message is stored (30 days) instead of delivered, newest first on reading.

use std::sync::Arc;

use async_trait::async_trait;
use glucolink_core::CoreError;
use glucolink_core::clock::Clock;
use glucolink_core::notify::{Message, Notifier};
use glucolink_core::store::{Condition, Direction, Item, Key, Query, Store};
use jiff::Timestamp;
use serde::Serialize;

const PARTITION: &str = "OUTBOX";
const KEEP_SECONDS: i64 = 30 * 86_400;

pub struct OutboxNotifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl OutboxNotifier {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

#[async_trait]
impl Notifier for OutboxNotifier {
    async fn send(&self, message: Message) -> Result<(), CoreError> {
        let now = self.clock.now();
        let mut item = Item::new(Key::new(PARTITION, format!("MSG#{}", ulid::Ulid::new())))
            .with_n("at", now.as_millisecond())
            .with_s("channel", message.channel())
            .with_s("to", message.recipient())
            .expiring_at(now.as_second() + KEEP_SECONDS);
        item = match &message {
            Message::Email {
                subject,
                text,
                html,
                ..
            } => item
                .with_s("subject", subject)
                .with_s("text", text)
                .with_s("html", html),
            Message::Sms { text, .. } => item.with_s("text", text),
        };
        self.store.put(item, Condition::NotExists).await?;
        tracing::info!(
            channel = message.channel(),
            to = message.recipient(),
            "message placed in the local outbox"
        );
        Ok(())
    }
}

/// A message as the outbox shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxMessage {
    pub id: String,
    pub at: Timestamp,
    pub channel: String,
    pub to: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

/// The newest `limit` messages, newest first.
pub async fn newest(store: &dyn Store, limit: usize) -> Result<Vec<OutboxMessage>, CoreError> {
    let mut query = Query::prefix(PARTITION, "MSG#");
    query.direction = Direction::Backward;
    query.limit = limit;
    let page = store.query(&query).await?;
    page.items
        .iter()
        .map(|item| {
            Ok(OutboxMessage {
                id: item.key.sk.trim_start_matches("MSG#").to_owned(),
                at: Timestamp::from_millisecond(item.require_n("at")?)
                    .map_err(|e| CoreError::Internal(e.to_string()))?,
                channel: item.require_s("channel")?.to_owned(),
                to: item.require_s("to")?.to_owned(),
                subject: item.s("subject").map(str::to_owned),
                text: item.require_s("text")?.to_owned(),
                html: item.s("html").map(str::to_owned),
            })
        })
        .collect()
}
