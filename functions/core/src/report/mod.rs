//! Reports: the consensus CGM metrics (`metrics`), computed from stored events. The report pages, charts
//! and PDF build on these numbers.

pub mod build;
pub mod metrics;
