//! The Clock port: every domain decision about time asks a `Clock`, so tests can fix and move time.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Source of the current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;

    /// Whole seconds since the Unix epoch, the unit of every stored expiry.
    fn epoch_seconds(&self) -> i64 {
        self.now().as_second()
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}
