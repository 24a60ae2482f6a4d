//! glucolink's integration tests: one binary (it links once), one module per feature.
//!
//! API tests talk HTTP to the real local server, started in-process on a random port with a fresh store
//! (`support::app::spawn_app`). DynamoDB tests need the moto server that `infra/test` starts; its URL comes
//! in `GLUCOLINK_TEST_DYNAMODB_URL`.

mod support;

mod accounts;
mod audit;
mod bad_input;
mod carelink;
mod clinics;
mod contacts;
mod deletion;
mod exports;
mod link_safety;
mod linking;
mod messaging;
mod passkeys;
mod passwords;
mod patients;
mod permissions;
mod rehearsal;
mod reports;
mod route_sync;
mod site;
mod staff;
mod store_conformance;
mod triage;
mod two_factor;
mod uploads;
mod verification;
