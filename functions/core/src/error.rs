//! The one error enum of the domain. The API crate maps each variant to an HTTP status in one place.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Input that does not parse into a domain type. `code` is stable for clients.
    #[error("{message}")]
    InvalidInput {
        field: &'static str,
        code: &'static str,
        message: String,
    },
    /// Wrong username/email or password: one answer for both, so accounts cannot be enumerated.
    #[error("The email or username and password do not match an account.")]
    InvalidCredentials,
    /// Too many attempts; try again after the given number of seconds.
    #[error("Too many attempts. Try again in {retry_after_seconds} seconds.")]
    TooManyAttempts { retry_after_seconds: i64 },
    /// No valid session (missing, expired, revoked or forged).
    #[error("Please sign in.")]
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    #[error("You do not have access to this.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    /// A uniqueness rule was broken (email or username already in use).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            code,
            message: message.into(),
        }
    }
}
