//! Implementations of the domain's `Store` port.
//!
//! - [`embedded::EmbeddedStore`]: one crash-safe file (redb), the default for local use and tests.
//! - [`dynamodb::DynamoStore`]: the single DynamoDB table of the cloud stack.
//!
//! Architecture invariant: both pass one conformance suite (`tests/integration/store_conformance.rs`);
//! nothing outside this crate knows which one it talks to.

pub mod cursor;
pub mod dynamodb;
pub mod embedded;

pub use dynamodb::DynamoStore;
pub use embedded::EmbeddedStore;
