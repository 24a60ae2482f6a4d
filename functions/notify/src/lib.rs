//! Implementations of the domain's `Notifier` port.
//!
//! - [`cloud::CloudNotifier`]: email through Amazon SES v2, SMS through Amazon SNS.
//! - [`outbox::OutboxNotifier`]: local mode; messages land in the store, readable at `GET /api/dev/outbox`
//!   and on the site's outbox page, so a person can follow an emailed link on one machine.
//!
//! Architecture invariant: nothing else in glucolink knows which one is in use.

pub mod cloud;
pub mod outbox;

pub use cloud::{CloudNotifier, SmsOrigin};
pub use outbox::OutboxNotifier;
