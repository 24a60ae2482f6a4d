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
    #[error("Too many attempts. Try again {}.", crate::words::in_words(*.retry_after_seconds))]
    TooManyAttempts { retry_after_seconds: i64 },
    /// No valid session (missing, expired, revoked or forged).
    #[error("Please sign in.")]
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    #[error("You do not have access to this.")]
    Forbidden,
    /// Not allowed yet, or not here, for a reason the person can act on (`email_unverified`,
    /// `signup_by_invitation`, `domain_not_allowed`). `code` is stable for clients.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("Not found.")]
    NotFound,
    /// A uniqueness rule was broken (email or username already in use).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A personal account whose name or date of birth is not the record's: linking needs a confirmation.
    #[error("{message}")]
    IdentityMismatch {
        differs: Vec<&'static str>,
        message: String,
    },
    /// Something that existed and no longer works (an expired or used link).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// A link code that cannot be used, with the reason (each has its own message).
    #[error("{0}")]
    Code(CodeProblem),
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

/// Why a well-formed link code cannot be used. Messages never say which clinic owns another code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeProblem {
    #[error(
        "We do not recognise this code. Check it and try again, or ask your clinic for a new one."
    )]
    NotFound,
    #[error("This code has expired. Ask your clinic for a new one.")]
    Expired,
    #[error("This code has already been used. If you did not use it, contact your clinic.")]
    Used,
    #[error(
        "This code was cancelled or replaced by a newer one. Ask your clinic for the current code."
    )]
    Cancelled,
}

impl CodeProblem {
    pub fn code(&self) -> &'static str {
        match self {
            CodeProblem::NotFound => "code_not_found",
            CodeProblem::Expired => "code_expired",
            CodeProblem::Used => "code_used",
            CodeProblem::Cancelled => "code_cancelled",
        }
    }
}

#[cfg(test)]
mod wait_tests {
    use super::*;

    #[test]
    fn too_many_attempts_says_the_wait_in_words() {
        assert_eq!(
            CoreError::TooManyAttempts {
                retry_after_seconds: 900
            }
            .to_string(),
            "Too many attempts. Try again in 15 minutes."
        );
    }
}
