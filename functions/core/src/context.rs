//! The small bundle of ports that domain operations take: where to store, what time it is, how to
//! reach people.

use std::sync::Arc;

use crate::clock::Clock;
use crate::notify::Notifier;
use crate::store::Store;

/// What a domain operation needs from the outside world.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub notifier: Arc<dyn Notifier>,
}

impl Ctx {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, notifier: Arc<dyn Notifier>) -> Self {
        Self {
            store,
            clock,
            notifier,
        }
    }
}
