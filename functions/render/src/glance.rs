//! The patient at a glance: the report's own charts — the time-in-ranges bar, the AGP, the daily
//! profiles of the last 14 days and both periods' AGPs — as SVG documents for the Patient Profile and
//! the patient's home page, with the comparison table's rows. Drawn by the same code as the report's
//! first and comparison pages, so a screen and a printout never differ.

use glucolink_core::report::build::Report;

use crate::charts::GlucoseScale;
use crate::{comparison_rows, has_data, html};

/// The charts of one period (and the previous one), each an `<svg>` element with its own label.
#[derive(Debug, Clone, Default)]
pub struct Glance {
    pub time_in_ranges: Option<String>,
    pub agp: Option<String>,
    pub daily_profiles: Option<String>,
    /// Both periods' AGPs on one chart, when the previous period has readings.
    pub agp_comparison: Option<String>,
    /// Measure, this period, the previous one, the change.
    pub comparison: Vec<[String; 4]>,
}

/// The charts of `report` (without CGM readings there is nothing to draw: all absent).
pub fn glance(report: &Report, previous: Option<&Report>) -> Glance {
    if report.metrics.readings == 0 && !has_data(report) {
        return Glance::default();
    }
    let scale = GlucoseScale::new(
        report.units,
        report.targets.target_low,
        report.targets.target_high,
    );
    let cgm = report.metrics.readings > 0;
    let previous = previous.filter(|p| p.metrics.readings > 0);
    Glance {
        time_in_ranges: cgm.then(|| html::tir_svg(report, "")),
        agp: cgm.then(|| html::agp_svg(report)),
        daily_profiles: html::recent_profiles_svg(report, scale).map(|(_, svg)| svg),
        agp_comparison: previous
            .filter(|_| cgm)
            .map(|p| html::agp_comparison_svg(report, p)),
        comparison: previous.map_or_else(Vec::new, |p| comparison_rows(report, p)),
    }
}
