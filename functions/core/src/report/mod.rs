//! Reports: the consensus CGM metrics (`metrics`), the patient's target presets (`ranges`), the exact sums they come from (`tally`) and the
//! report itself (`build`): numbers and the per-day traces the HTML and PDF pages draw.

pub mod build;
pub mod memo;
pub mod metrics;
pub mod ranges;
pub mod tally;
