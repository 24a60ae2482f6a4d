//! The API's one error type and the one place where domain errors become HTTP statuses.
//!
//! Every error leaves as `{"error":{"code":"…","message":"…"}}` (plus `field` or `retry_after_seconds`
//! where they help the client). Internal and storage failures are logged and answered with a generic 500
//! (503 when the store is unreachable): no detail of the cause leaves the server.

use glucolink_core::CoreError;
use glucolink_core::error::CodeProblem;
use glucolink_core::store::StoreError;
use http::StatusCode;
use serde_json::{Value, json};

/// An error answer: status, stable code, human message, and optional extras.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    pub retry_after_seconds: Option<i64>,
    /// What differs between a record and a personal account (`identity_mismatch`).
    pub differs: Vec<&'static str>,
    /// The sign-in challenge to complete with a second factor (`second_factor_required`).
    pub challenge: Option<Box<SecondFactorChallenge>>,
}

/// A sign-in waiting for its second factor: the challenge and the ways the account can complete it
/// (`app`: a code from an authenticator app or a recovery code; `passkey`).
#[derive(Debug)]
pub struct SecondFactorChallenge {
    pub token: String,
    pub methods: Vec<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_seconds: None,
            differs: Vec::new(),
            challenge: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "The request lacks a valid CSRF token. Reload the page and try again.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    /// No route has this path (distinct from `not_found`, which says a record does not exist).
    pub fn no_such_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "no_such_route",
            "There is no API route at this path.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This method is not allowed here.",
        )
    }

    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        if let Some(seconds) = self.retry_after_seconds {
            error["retry_after_seconds"] = json!(seconds);
        }
        if !self.differs.is_empty() {
            error["differs"] = json!(self.differs);
        }
        if let Some(challenge) = &self.challenge {
            error["challenge"] = json!(challenge.token);
            error["methods"] = json!(challenge.methods);
        }
        json!({ "error": error })
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::InvalidInput {
                field,
                code,
                message,
            } => ApiError::bad_request(code, message).with_field(field),
            CoreError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                error.to_string(),
            ),
            CoreError::TooManyAttempts {
                retry_after_seconds,
            } => ApiError {
                retry_after_seconds: Some(retry_after_seconds),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    error.to_string(),
                )
            },
            CoreError::Unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                error.to_string(),
            ),
            CoreError::Forbidden => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            CoreError::Refused { code, message } => {
                ApiError::new(StatusCode::FORBIDDEN, code, message)
            }
            CoreError::NotFound => ApiError::not_found(),
            CoreError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            CoreError::Gone { code, message } => ApiError::new(StatusCode::GONE, code, message),
            CoreError::IdentityMismatch { differs, message } => ApiError {
                differs,
                ..ApiError::new(StatusCode::CONFLICT, "identity_mismatch", message)
            },
            CoreError::Code(problem) => {
                let status = match problem {
                    CodeProblem::NotFound => StatusCode::NOT_FOUND,
                    CodeProblem::Used => StatusCode::CONFLICT,
                    CodeProblem::Expired | CodeProblem::Cancelled => StatusCode::GONE,
                };
                ApiError::new(status, problem.code(), problem.to_string()).with_field("code")
            }
            CoreError::Store(StoreError::Unavailable(detail)) => {
                tracing::error!(%detail, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is briefly unavailable. Try again in a moment.",
                )
            }
            CoreError::Store(other) => internal(&other.to_string()),
            CoreError::Internal(detail) => internal(&detail),
        }
    }
}

fn internal(detail: &str) -> ApiError {
    tracing::error!(%detail, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Something went wrong on our side. Try again later.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_map_to_stable_codes_and_statuses() {
        let cases = [
            (
                CoreError::invalid("email", "invalid_email", "x"),
                400,
                "invalid_email",
            ),
            (CoreError::InvalidCredentials, 401, "invalid_credentials"),
            (CoreError::Unauthenticated, 401, "unauthenticated"),
            (
                CoreError::TooManyAttempts {
                    retry_after_seconds: 9,
                },
                429,
                "too_many_attempts",
            ),
            (CoreError::Forbidden, 403, "forbidden"),
            (CoreError::NotFound, 404, "not_found"),
            (
                CoreError::Conflict {
                    code: "email_taken",
                    message: "m".into(),
                },
                409,
                "email_taken",
            ),
            (
                CoreError::Store(StoreError::Unavailable("down".into())),
                503,
                "unavailable",
            ),
            (CoreError::Internal("secret detail".into()), 500, "internal"),
        ];
        for (error, status, code) in cases {
            let api = ApiError::from(error);
            assert_eq!(api.status.as_u16(), status);
            assert_eq!(api.code, code);
            assert!(!api.message.contains("secret detail"));
        }
    }

    #[test]
    fn body_carries_field_and_retry_time() {
        let api = ApiError::from(CoreError::TooManyAttempts {
            retry_after_seconds: 30,
        });
        assert_eq!(api.body()["error"]["retry_after_seconds"], 30);
        let api = ApiError::from(CoreError::invalid("name", "invalid_name", "Enter a name."));
        assert_eq!(api.body()["error"]["field"], "name");
    }
}
