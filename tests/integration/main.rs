//! glucolink's integration tests: one binary (it links once), one module per feature.
//!
//! DynamoDB tests need the moto server that `infra/test` starts; its URL comes in
//! `GLUCOLINK_TEST_DYNAMODB_URL`.

mod support;

mod store_conformance;
