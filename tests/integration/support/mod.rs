//! Test helpers shared by the feature modules.

pub mod app;
pub mod authenticator;
pub mod messages;
pub mod pdf;
pub mod people;
pub mod staff;
pub mod stores;
