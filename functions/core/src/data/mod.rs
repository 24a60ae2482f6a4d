//! Device data: the event model, its compact storage (one item per person, UTC day and kind), the
//! importers for the files people upload, and taking an upload in.

pub mod codec;
pub mod completeness;
pub mod event;
pub mod export;
pub mod import;
pub mod store;
pub mod summary;
pub mod tokens;
pub mod upload;

pub use event::{Body, Event, Kind};
