//! The report's pages. `glucolink-core` computes a [`Report`] (numbers and per-day traces); this crate
//! lays it out as printable HTML with inline SVG charts (`html`) and as a PDF written in Rust (`pdf`),
//! drawing every chart once through the [`canvas::Canvas`] both share (`charts`). Every page carries
//! the patient's name, date of birth and the period, and the adjunct-use notice.

pub mod canvas;
pub mod charts;
pub(crate) mod fonts;
pub mod glance;
pub mod html;
pub mod layout;
pub mod pdf;

use glucolink_core::report::build::Report;
use jiff::Timestamp;
use jiff::civil::Date;

/// Who the report is about, as the page header shows them.
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: String,
    pub date_of_birth: Option<Date>,
    pub mrn: Option<String>,
    /// Set when the linked account's name or date of birth is not the record's: every page says
    /// "Check identity" and what differs, until staff correct the record or unlink.
    pub identity_warning: Option<String>,
}

/// Who reads the report: the troubleshooting steps differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Clinic,
    Patient,
}

/// A part of the report a clinician can choose, in the order the pages print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Statistics, goals, the time-in-ranges bar and the AGP.
    Overview,
    DailyProfiles,
    InsulinMeals,
    DailyDetail,
    /// This period against the one just before it: every measure with its change, both
    /// time-in-ranges bars, both AGPs overlaid.
    Comparison,
}

/// Why a `sections=` list cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionsError(pub String);

impl Section {
    pub const ALL: [Section; 5] = [
        Section::Overview,
        Section::DailyProfiles,
        Section::InsulinMeals,
        Section::DailyDetail,
        Section::Comparison,
    ];

    /// The name in `sections=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Overview => "overview",
            Section::DailyProfiles => "daily_profiles",
            Section::InsulinMeals => "insulin_meals",
            Section::DailyDetail => "daily_detail",
            Section::Comparison => "comparison",
        }
    }

    /// The sections a report of `days` days has when none are chosen: the overview (which shows the
    /// daily profiles of the last 14 days, as the AGP Report does) and insulin and meals; over 14 days
    /// the pages of daily profiles, up to 14 days the daily detail (a page for every three days). The
    /// comparison (a second period to read) only when asked for.
    pub fn defaults(days: i64) -> Vec<Section> {
        Section::ALL
            .into_iter()
            .filter(|s| match s {
                Section::DailyProfiles => days > 14,
                Section::DailyDetail => days <= 14,
                Section::Comparison => false,
                _ => true,
            })
            .collect()
    }

    /// A comma-separated list such as `overview,daily_detail`, in any order, each name once; the
    /// pages print in the report's own order.
    pub fn parse_list(raw: &str) -> Result<Vec<Section>, SectionsError> {
        let mut chosen = Vec::new();
        for name in raw.split(',').map(str::trim) {
            let section = Section::ALL
                .into_iter()
                .find(|s| s.as_str() == name)
                .ok_or_else(|| {
                    SectionsError(format!(
                        "sections is a comma-separated list of overview, daily_profiles, insulin_meals, daily_detail and comparison; not {name:?}."
                    ))
                })?;
            if chosen.contains(&section) {
                return Err(SectionsError(format!(
                    "{name} is listed twice in sections."
                )));
            }
            chosen.push(section);
        }
        chosen.sort();
        Ok(chosen)
    }
}

/// Everything around the numbers that a page shows.
#[derive(Debug, Clone)]
pub struct Cover<'a> {
    pub subject: &'a Subject,
    /// The sections to print, in order (never empty).
    pub sections: &'a [Section],
    /// The report of the period just before, when the sections include the comparison.
    pub previous: Option<&'a Report>,
    pub audience: Audience,
    pub generated_at: Timestamp,
    /// Where the same report downloads as PDF (HTML only).
    pub pdf_url: Option<String>,
    /// Where "Back" goes (HTML only).
    pub back_url: String,
}

/// Whether a report has anything to show: CGM readings, meter readings, insulin or carbs.
pub fn has_data(report: &Report) -> bool {
    report.metrics.readings > 0
        || report.detail.iter().any(|d| !d.meter.is_empty())
        || report.days.iter().any(|d| {
            d.basal_units > 0.0
                || d.bolus_units > 0.0
                || d.automatic_units > 0.0
                || d.carbs_grams > 0.0
        })
}

/// The insulin and carbohydrate summary as `(label, value)` rows, the same on the HTML and PDF pages.
/// Basal that is not in the data reads "not recorded", never 0 %; the automation's share shows only
/// for pumps that report one.
pub(crate) fn insulin_summary(report: &Report) -> Vec<(&'static str, String)> {
    let i = &report.insulin;
    let per_day =
        |units: f64, share: Option<f64>| format!("{units} U/day ({})", optional(share, " %"));
    let mut rows = vec![(
        "Total daily dose",
        i.total_daily_dose.map_or_else(
            || "not recorded (no basal insulin in the data)".to_owned(),
            |total| format!("{total} U"),
        ),
    )];
    rows.push((
        "Basal",
        i.basal_per_day.map_or_else(
            || "not recorded".to_owned(),
            |basal| per_day(basal, i.basal_percent),
        ),
    ));
    if i.automatic_per_day > 0.0 {
        rows.push((
            "Automatic (pump)",
            per_day(i.automatic_per_day, i.automatic_percent),
        ));
    }
    rows.push(("Bolus", per_day(i.bolus_per_day, i.bolus_percent)));
    rows.push(("Boluses per day", i.boluses_per_day.to_string()));
    rows.push((
        "Carbohydrate",
        format!("{} g/day", report.carbs.grams_per_day),
    ));
    rows
}

/// The comparison page's table, the same on both formats: a row per measure with this period's value,
/// the previous period's and the change. Shares of time are the printed (rounded) ones, so a change is
/// the difference of the two numbers beside it.
pub(crate) fn comparison_rows(report: &Report, previous: &Report) -> Vec<[String; 4]> {
    let units = report.units.name();
    let (this, before) = (&report.metrics, &previous.metrics);
    let (tir, tir_before) = (
        this.time_in_ranges.rounded(),
        before.time_in_ranges.rounded(),
    );
    let t = &report.targets;
    let has = |m: &glucolink_core::report::build::ShownMetrics| m.readings > 0;
    let share = |value: f64, present: bool| present.then_some(value);
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut row =
        |label: String, now: Option<f64>, then: Option<f64>, decimals: usize, unit: &str| {
            let shown = |v: Option<f64>| {
                v.map_or_else(|| "—".to_owned(), |v| format!("{v:.decimals$}{unit}"))
            };
            rows.push([
                label,
                shown(now),
                shown(then),
                change(now, then, decimals, unit),
            ]);
        };
    let (p, q) = (has(this), has(before));
    row(
        format!("Time in range {}–{} {units}", t.target_low, t.target_high),
        share(report.targets.in_target_percent, p),
        share(previous.targets.in_target_percent, q),
        1,
        " %",
    );
    row(
        format!("Time below {} {units}", t.target_low),
        share(report.targets.below_target_percent, p),
        share(previous.targets.below_target_percent, q),
        1,
        " %",
    );
    row(
        format!("Time below {} {units}", report.units.show(54.0)),
        share(tir.very_low, p),
        share(tir_before.very_low, q),
        1,
        " %",
    );
    row(
        format!("Time above {} {units}", t.target_high),
        share(report.targets.above_target_percent, p),
        share(previous.targets.above_target_percent, q),
        1,
        " %",
    );
    row(
        format!("Time above {} {units}", report.units.show(250.0)),
        share(tir.very_high, p),
        share(tir_before.very_high, q),
        1,
        " %",
    );
    let glucose_decimals = if report.units == glucolink_core::report::build::Units::MmolL {
        1
    } else {
        0
    };
    let glucose_unit = format!(" {units}");
    row(
        "Mean glucose".into(),
        this.mean,
        before.mean,
        glucose_decimals,
        &glucose_unit,
    );
    row("GMI".into(), this.gmi_percent, before.gmi_percent, 1, " %");
    row(
        "Glucose variability (CV)".into(),
        this.cv_percent,
        before.cv_percent,
        1,
        " %",
    );
    row(
        "Time CGM active".into(),
        Some(this.cgm_active_percent),
        Some(before.cgm_active_percent),
        1,
        " %",
    );
    row("Glycemia Risk Index".into(), this.gri, before.gri, 1, "");
    row(
        "Total daily dose".into(),
        report.insulin.total_daily_dose,
        previous.insulin.total_daily_dose,
        1,
        " U",
    );
    row(
        "Carbohydrate per day".into(),
        Some(report.carbs.grams_per_day),
        Some(previous.carbs.grams_per_day),
        0,
        " g",
    );
    rows
}

/// The change from `then` to `now` with its sign ("+2.3 %", "−5 mg/dL", "no change"), or "—" when
/// either is not recorded.
fn change(now: Option<f64>, then: Option<f64>, decimals: usize, unit: &str) -> String {
    let (Some(now), Some(then)) = (now, then) else {
        return "—".to_owned();
    };
    let factor = 10f64.powi(decimals as i32);
    let difference = (now * factor).round() / factor - (then * factor).round() / factor;
    let difference = (difference * factor).round() / factor;
    if difference == 0.0 {
        "no change".to_owned()
    } else if difference > 0.0 {
        format!("+{difference:.decimals$}{unit}")
    } else {
        format!("−{:.decimals$}{unit}", -difference)
    }
}

/// A number with its unit, or "—" when there is none (never a 0 that looks real).
pub(crate) fn optional(value: Option<f64>, suffix: &str) -> String {
    value.map_or("—".to_owned(), |v| format!("{v}{suffix}"))
}

/// A date as people read it: `20 Nov 2026`.
pub fn readable_date(date: Date) -> String {
    date.strftime("%-d %b %Y").to_string()
}

/// A number of days in words: "1 day", "14 days".
pub fn days(count: i64) -> String {
    if count == 1 {
        "1 day".to_owned()
    } else {
        format!("{count} days")
    }
}

/// The lines every page's header shows.
pub fn header_lines(report: &Report, subject: &Subject) -> [String; 2] {
    let mut who = subject.name.clone();
    if let Some(dob) = subject.date_of_birth {
        who.push_str(&format!(" · DOB {}", readable_date(dob)));
    }
    if let Some(mrn) = &subject.mrn {
        who.push_str(&format!(" · MRN {mrn}"));
    }
    if let Some(warning) = &subject.identity_warning {
        who.push_str(&format!(" · CHECK IDENTITY: {warning}"));
    }
    let period = format!(
        "{} – {} ({}{}) · {} · {}{}",
        readable_date(report.period.from),
        readable_date(report.period.to),
        days(report.period.days),
        if report.period.ends_at_newest_data {
            ", ending at the newest data"
        } else {
            ""
        },
        report.time_zone,
        report.units.name(),
        if report.units == glucolink_core::report::build::Units::MmolL {
            format!(" (1 mmol/L = {} mg/dL)", report.conversion_factor)
        } else {
            String::new()
        }
    );
    [who, period]
}

/// The seed's troubleshooting steps for a report with nothing in it, for each reader.
pub fn no_data_steps(audience: Audience) -> &'static [&'static str] {
    match audience {
        Audience::Clinic => &[
            "Ensure the correct account is linked: the Patient Profile shows the linked personal account's name, username and date of birth.",
            "If the correct account is linked and data is old, ask the patient to Upload now (the Patient Profile sends the request by email or SMS text).",
            "Choose a period that includes the patient's last upload.",
        ],
        Audience::Patient => &[
            "Upload now: on your home page, choose the export file from your pump, meter or CGM software (CareLink, Clarity, LibreView, Nightscout).",
            "Choose a period that includes the days in your upload.",
        ],
    }
}

/// The data completeness of the report's period as `(label, value)` rows, the same on both formats.
pub(crate) fn completeness_summary(report: &Report) -> Vec<(&'static str, String)> {
    let c = &report.completeness;
    let readings = if c.readings.is_empty() {
        "none in this period".to_owned()
    } else {
        c.readings
            .iter()
            .map(|d| {
                format!(
                    "{} of {} expected ({} %, every {} min)",
                    d.present, d.expected, d.percent, d.interval_minutes
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let gaps = match c.gaps.iter().map(|g| g.minutes).max() {
        None => "none".to_owned(),
        Some(longest) => format!(
            "{}, the longest {} h {:02} min",
            c.gap_count,
            longest / 60,
            longest % 60
        ),
    };
    let days = if !c.insulin_recorded {
        "insulin not recorded".to_owned()
    } else if c.days_without_insulin_count == 0 {
        "none".to_owned()
    } else {
        let mut listed: Vec<String> = c
            .days_without_insulin
            .iter()
            .take(5)
            .map(|d| d.strftime("%-d %b").to_string())
            .collect();
        if c.days_without_insulin_count > listed.len() {
            listed.push("…".to_owned());
        }
        format!("{}: {}", c.days_without_insulin_count, listed.join(", "))
    };
    let mut rows = vec![
        ("CGM readings", readings),
        ("Gaps over 2 hours", gaps),
        ("Days with CGM but no insulin data", days),
    ];
    if let (Some(duplicates), Some(conflicts)) = (c.duplicates, c.conflicts) {
        rows.push((
            "Uploads of this period",
            format!(
                "{duplicates} repeated values stored once; {conflicts} conflicting values not stored"
            ),
        ));
    }
    rows
}

/// The day-by-day table, the same on both formats: a header and a row per day; the pump automation's
/// column only when some day has automatic insulin.
pub(crate) fn day_table(report: &Report) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let automatic = report.days.iter().any(|d| d.automatic_units > 0.0);
    let mut header = vec!["Date", "Readings", "Mean", "In range", "Basal U"];
    if automatic {
        header.push("Automatic U");
    }
    header.extend(["Bolus U", "Boluses", "Carbs g"]);
    let rows = report
        .days
        .iter()
        .map(|d| {
            let mut row = vec![
                d.date.strftime("%a %-d %b %Y").to_string(),
                d.readings.to_string(),
                optional(d.mean, ""),
                optional(d.in_range_percent, " %"),
                d.basal_units.to_string(),
            ];
            if automatic {
                row.push(d.automatic_units.to_string());
            }
            row.extend([
                d.bolus_units.to_string(),
                d.boluses.to_string(),
                d.carbs_grams.to_string(),
            ]);
            row
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_parse_in_any_order_and_print_in_the_reports_order() {
        assert_eq!(
            Section::parse_list("daily_detail,overview"),
            Ok(vec![Section::Overview, Section::DailyDetail])
        );
        assert_eq!(
            Section::parse_list(" insulin_meals ").map(|s| s.len()),
            Ok(1)
        );
        assert_eq!(
            Section::parse_list("comparison,overview"),
            Ok(vec![Section::Overview, Section::Comparison])
        );
        for bad in ["", "overview,", "agp", "overview,overview", "Comparison"] {
            assert!(Section::parse_list(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Section::defaults(14),
            [
                Section::Overview,
                Section::InsulinMeals,
                Section::DailyDetail
            ]
        );
        assert_eq!(
            Section::defaults(30),
            [
                Section::Overview,
                Section::DailyProfiles,
                Section::InsulinMeals
            ]
        );
        assert!(!Section::defaults(7).contains(&Section::Comparison));
        assert!(!Section::defaults(30).contains(&Section::DailyDetail));
    }

    #[test]
    fn a_change_is_the_difference_of_the_printed_numbers() {
        assert_eq!(change(Some(72.34), Some(70.0), 1, " %"), "+2.3 %");
        assert_eq!(change(Some(141.4), Some(146.6), 0, " mg/dL"), "−6 mg/dL");
        assert_eq!(change(Some(7.04), Some(6.94), 1, " %"), "+0.1 %");
        assert_eq!(change(Some(7.04), Some(6.96), 1, " %"), "no change");
        assert_eq!(change(Some(5.0), Some(5.04), 1, ""), "no change");
        assert_eq!(change(None, Some(5.0), 1, " U"), "—");
    }
}
