//! Test helpers shared by the feature modules.

pub mod app;
pub mod people;
pub mod stores;
