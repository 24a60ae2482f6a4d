//! Optimistic writes: read, decide, write in one transaction under the condition that nothing changed
//! since the read (a record's `version`, a code's `status`); when another write won the race, read
//! again and decide again. Used by every change of a patient record.

use crate::context::Ctx;
use crate::error::CoreError;
use crate::store::{StoreError, WriteOp};

/// How often an attempt is made before the caller is told to try again.
const ATTEMPTS: usize = 4;

/// What one attempt decided: the writes (one transaction) and the answer once they land.
pub(crate) struct Commit<T> {
    ops: Vec<WriteOp>,
    value: T,
    /// A canceled write at this index is an answer in itself (the code was used meanwhile), not a race.
    settled_by: Option<(usize, CoreError)>,
}

impl<T> Commit<T> {
    pub(crate) fn new(ops: Vec<WriteOp>, value: T) -> Self {
        Self {
            ops,
            value,
            settled_by: None,
        }
    }

    /// When the write at `index` is the one refused, answer `error` instead of trying again.
    pub(crate) fn or_if_refused_at(mut self, index: usize, error: CoreError) -> Self {
        self.settled_by = Some((index, error));
        self
    }
}

/// Runs `attempt` (which reads what it needs and decides the writes) until its transaction lands.
///
/// `attempt` is a closure returning a future (`|| async move { … }`) rather than an async closure, so that
/// the future is `Send` for the servers that spawn it; it captures references, copied into each attempt.
pub(crate) async fn commit<T, F, Fut>(ctx: &Ctx, mut attempt: F) -> Result<T, CoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Commit<T>, CoreError>>,
{
    for _ in 0..ATTEMPTS {
        let Commit {
            ops,
            value,
            settled_by,
        } = attempt().await?;
        if ops.is_empty() {
            return Ok(value);
        }
        match ctx.store.transact(ops).await {
            Ok(()) => return Ok(value),
            Err(StoreError::TransactionCanceled { index }) => match settled_by {
                Some((at, error)) if at == index => return Err(error),
                _ => continue,
            },
            Err(other) => return Err(other.into()),
        }
    }
    Err(busy())
}

/// The answer when every attempt lost a race.
pub(crate) fn busy() -> CoreError {
    CoreError::Conflict {
        code: "try_again",
        message: "The record changed while we were saving. Please try again.".into(),
    }
}
