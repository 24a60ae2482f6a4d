//! glucolink's domain: accounts, sessions and (later) clinics, patients, links, data and reports.
//!
//! Architecture invariant: this crate never does I/O itself and knows nothing of HTTP or AWS.
//! Everything it needs from the outside world comes through the ports in [`store`] and [`clock`].

pub mod account;
pub mod audit;
pub mod clock;
pub mod context;
pub mod data;
pub mod error;
pub mod ids;
pub mod keys;
pub mod link;
pub mod messages;
pub mod notify;
mod optimistic;
pub mod patient;
pub mod random;
pub mod report;
pub mod session;
pub mod sms;
pub mod store;
pub mod throttle;
pub mod triage;
pub mod words;
pub mod written_date;

pub use context::Ctx;
pub use error::CoreError;
