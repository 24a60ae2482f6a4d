//! Test helpers shared by the feature modules.

pub mod stores;
