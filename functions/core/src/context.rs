//! The small bundle of ports that domain operations take: where to store and what time it is.

use std::sync::Arc;

use crate::clock::Clock;
use crate::store::Store;

/// What a domain operation needs from the outside world.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Ctx {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}
