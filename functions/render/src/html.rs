//! The report as one printable HTML document: an overview page (metrics with their consensus targets,
//! the time-in-ranges bar, the AGP and the goals), daily glucose profiles, insulin and meals, and the
//! daily detail. Charts are inline SVG drawn by `charts`; the stylesheet (`/assets/report.css`) sets
//! A4 pages for print. No script: the page works under a CSP without scripts.

use std::fmt::Write;

use glucolink_core::report::build::{DayDetail, DaySummary, Report};

use crate::canvas::{Svg, escape};
use crate::charts::{self, Frame, GlucoseScale};
use crate::{
    Cover, Section, Subject, comparison_rows, completeness_summary, day_table, has_data,
    header_lines, insulin_summary, no_data_steps, optional, readable_date,
};

/// Days of daily profiles on one page (five weeks of seven).
pub const PROFILE_DAYS_PER_PAGE: usize = 35;
/// Days of daily detail on one page.
pub const DETAIL_DAYS_PER_PAGE: usize = 3;

fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/assets/report.css">
<script src="/assets/report.js" defer></script>
</head>
<body class="report">
{body}
</body>
</html>
"#,
        title = escape(title)
    )
}

fn page_header(out: &mut String, heading: &str, id: &str, report: &Report, subject: &Subject) {
    let [who, period] = header_lines(report, subject);
    let _ = write!(
        out,
        r#"<section class="page" aria-labelledby="{id}">
<header class="page-head"><p class="brand">glucolink</p><h1 id="{id}">{heading}</h1><p class="who">{who}</p><p class="period">{period}</p></header>
"#,
        heading = escape(heading),
        who = escape(&who),
        period = escape(&period)
    );
}

fn page_footer(out: &mut String, report: &Report, cover: &Cover<'_>) {
    let _ = write!(
        out,
        r#"<footer class="page-foot"><p class="notice">{}</p><p class="generated">Generated {} UTC</p></footer>
</section>
"#,
        escape(report.notice),
        cover.generated_at.strftime("%-d %b %Y %H:%M")
    );
}

/// The GRI zone (A best … E worst), by 20-point bands.
fn gri_zone(gri: f64) -> char {
    match gri {
        g if g < 20.0 => 'A',
        g if g < 40.0 => 'B',
        g if g < 60.0 => 'C',
        g if g < 80.0 => 'D',
        _ => 'E',
    }
}

fn overview(out: &mut String, report: &Report, cover: &Cover<'_>, scale: &GlucoseScale) {
    page_header(out, "Glucose overview", "overview", report, cover.subject);
    let m = &report.metrics;
    let units = report.units.name();
    if let Some(warning) = &report.sufficiency_warning {
        let _ = write!(
            out,
            r#"<p class="warning" role="note">{}</p>"#,
            escape(warning)
        );
    }
    let rows = [
        (
            "Glucose Management Indicator (GMI)",
            optional(m.gmi_percent, " %"),
            "",
        ),
        ("Mean glucose", optional(m.mean, &format!(" {units}")), ""),
        (
            "Glucose variability (CV)",
            optional(m.cv_percent, " %"),
            "≤ 36 %",
        ),
        (
            "Standard deviation",
            optional(m.sd, &format!(" {units}")),
            "",
        ),
        (
            "Time CGM active",
            format!("{} %", m.cgm_active_percent),
            "≥ 70 %",
        ),
        (
            "Days with CGM data",
            format!("{} of {}", m.days_with_data, report.period.days),
            "≥ 14",
        ),
        ("CGM readings", m.readings.to_string(), ""),
        (
            "Glycemia Risk Index (GRI)",
            m.gri
                .map_or("—".into(), |g| format!("{g} (zone {})", gri_zone(g))),
            "lower is better",
        ),
    ];
    out.push_str(r#"<div class="overview"><table class="metrics"><caption>Glucose statistics</caption><thead><tr><th scope="col">Metric</th><th scope="col">Value</th><th scope="col">Target</th></tr></thead><tbody>"#);
    for (label, value, target) in rows {
        let _ = write!(
            out,
            r#"<tr><th scope="row">{label}</th><td>{}</td><td>{target}</td></tr>"#,
            escape(&value)
        );
    }
    out.push_str("</tbody></table>");
    let _ = write!(
        out,
        r#"<figure class="tir"><figcaption>Time in ranges</figcaption>{}</figure></div>"#,
        tir_svg(report, "")
    );
    let t = &report.targets;
    let _ = write!(
        out,
        r#"<table class="goals"><caption>Goals: {} (target {}–{} {units})</caption><thead><tr><th scope="col">Measure</th><th scope="col">Goal</th><th scope="col">Value</th><th scope="col">Met</th></tr></thead><tbody>"#,
        escape(t.label),
        t.target_low,
        t.target_high
    );
    if t.goals.is_empty() {
        out.push_str(r#"<tr><td colspan="4">No CGM data in this period.</td></tr>"#);
    }
    for goal in &t.goals {
        let _ = write!(
            out,
            r#"<tr class="{}"><th scope="row">{}</th><td>{}</td><td>{:.1} %</td><td>{}</td></tr>"#,
            if goal.met { "met" } else { "missed" },
            escape(&goal.label),
            escape(&goal.goal),
            goal.value_percent,
            if goal.met { "Yes" } else { "No" }
        );
    }
    out.push_str("</tbody></table>");
    let _ = write!(
        out,
        r#"<figure class="agp"><figcaption>Ambulatory glucose profile (AGP): median, 25–75 % and 5–95 % by time of day, {units}</figcaption>{}</figure>"#,
        agp_svg(report, scale)
    );
    // As on the AGP Report: the daily profiles of the last 14 days on the first page.
    if let Some((count, svg)) = recent_profiles_svg(report, scale) {
        let _ = write!(
            out,
            r#"<figure class="profiles"><figcaption>Daily glucose profiles, the last {}</figcaption>{svg}</figure>"#,
            crate::days(count as i64),
        );
    }
    page_footer(out, report, cover);
}

/// This period against the previous one: the measures with their change, both time-in-ranges bars
/// and both AGPs on one chart.
fn comparison(out: &mut String, report: &Report, cover: &Cover<'_>, scale: &GlucoseScale) {
    let Some(previous) = cover.previous else {
        return;
    };
    page_header(
        out,
        "Comparison with the previous period",
        "comparison",
        report,
        cover.subject,
    );
    let period = |r: &Report| {
        format!(
            "{} – {}",
            readable_date(r.period.from),
            readable_date(r.period.to)
        )
    };
    let _ = write!(
        out,
        r#"<table class="metrics comparison"><thead><tr><th scope="col">Measure</th><th scope="col">This period<br><span class="muted">{}</span></th><th scope="col">Previous period<br><span class="muted">{}</span></th><th scope="col">Change</th></tr></thead><tbody>"#,
        escape(&period(report)),
        escape(&period(previous))
    );
    for [label, now, then, change] in comparison_rows(report, previous) {
        let _ = write!(
            out,
            r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            escape(&label),
            escape(&now),
            escape(&then),
            escape(&change)
        );
    }
    out.push_str("</tbody></table><div class=\"comparison-bars\">");
    for (caption, r) in [("This period", report), ("Previous period", previous)] {
        let _ = write!(
            out,
            r#"<figure class="tir"><figcaption>Time in ranges · {caption}</figcaption>{}</figure>"#,
            tir_svg(r, &format!(", {}", caption.to_lowercase()))
        );
    }
    out.push_str("</div>");
    let _ = write!(
        out,
        r#"<figure class="agp"><figcaption>Both AGPs, {}</figcaption>{}</figure>"#,
        report.units.name(),
        agp_comparison_svg(report, previous, scale)
    );
    page_footer(out, report, cover);
}

/// The time-in-ranges bar of a report as SVG; `which` follows "Time in ranges" in its label.
pub(crate) fn tir_svg(report: &Report, which: &str) -> String {
    let printed = report.metrics.time_in_ranges.rounded();
    let mut svg = Svg::new(
        250.0,
        170.0,
        &format!(
            "Time in ranges{which}: very high {:.1} %, high {:.1} %, in range {:.1} %, low {:.1} %, very low {:.1} %",
            printed.very_high, printed.high, printed.in_range, printed.low, printed.very_low
        ),
    );
    charts::time_in_ranges(
        &mut svg,
        Frame::new(2.0, 4.0, 244.0, 160.0),
        &report.metrics.time_in_ranges,
        report.units,
    );
    svg.finish()
}

/// The report's AGP as SVG.
pub(crate) fn agp_svg(report: &Report, scale: &GlucoseScale) -> String {
    let mut svg = Svg::new(
        540.0,
        230.0,
        "Ambulatory glucose profile: median, 25–75 % and 5–95 % of glucose by time of day",
    );
    charts::agp(
        &mut svg,
        Frame::new(28.0, 8.0, 480.0, 205.0),
        &report.agp,
        scale,
    );
    svg.finish()
}

/// Both periods' AGPs on one chart, as SVG.
pub(crate) fn agp_comparison_svg(
    report: &Report,
    previous: &Report,
    scale: &GlucoseScale,
) -> String {
    let mut svg = Svg::new(
        540.0,
        240.0,
        "Ambulatory glucose profiles of this period and the previous one on one chart",
    );
    charts::agp_comparison(
        &mut svg,
        Frame::new(28.0, 18.0, 480.0, 205.0),
        &report.agp,
        &previous.agp,
        scale,
    );
    svg.finish()
}

/// The daily profiles of the report's last 14 days as SVG, and how many days they are.
pub(crate) fn recent_profiles_svg(
    report: &Report,
    scale: &GlucoseScale,
) -> Option<(usize, String)> {
    let recent = charts::last_days(&report.days, &report.detail, 14);
    (!recent.is_empty()).then(|| {
        (
            recent.len(),
            profile_svg(
                &recent,
                scale,
                48.0,
                "Daily glucose profiles of the last 14 days: each day's CGM trace in its target band",
            ),
        )
    })
}

/// Days as a grid of profile tiles, seven a row, `tile_height` high (plus their labels).
fn profile_svg(
    days: &[(&DaySummary, &DayDetail)],
    scale: &GlucoseScale,
    tile_height: f32,
    label: &str,
) -> String {
    let row_gap = 6.0;
    let height = days.len().div_ceil(7) as f32 * (tile_height + 12.0 + row_gap);
    let mut svg = Svg::new(540.0, height + 4.0, label);
    charts::profile_grid(
        &mut svg,
        Frame::new(2.0, 0.0, 536.0, height),
        days,
        scale,
        tile_height,
        row_gap,
    );
    svg.finish()
}

fn daily_profiles(out: &mut String, report: &Report, cover: &Cover<'_>, scale: &GlucoseScale) {
    let days: Vec<_> = report.days.iter().zip(&report.detail).collect();
    for chunk in days.chunks(PROFILE_DAYS_PER_PAGE) {
        page_header(
            out,
            "Daily glucose profiles",
            "profiles",
            report,
            cover.subject,
        );
        let svg = profile_svg(
            chunk,
            scale,
            76.0,
            "Daily glucose profiles: each day's CGM trace in its target band",
        );
        let _ = write!(out, r#"<figure class="profiles">{svg}</figure>"#);
        page_footer(out, report, cover);
    }
}

fn insulin_and_meals(out: &mut String, report: &Report, cover: &Cover<'_>) {
    page_header(out, "Insulin and meals", "insulin", report, cover.subject);
    out.push_str(
        r#"<table class="metrics"><caption>Averages per day with insulin data</caption><tbody>"#,
    );
    for (label, value) in insulin_summary(report) {
        let _ = write!(
            out,
            r#"<tr><th scope="row">{label}</th><td>{value}</td></tr>"#
        );
    }
    out.push_str("</tbody></table>");
    out.push_str(r#"<table class="metrics"><caption>Data completeness</caption><tbody>"#);
    for (label, value) in completeness_summary(report) {
        let _ = write!(
            out,
            r#"<tr><th scope="row">{label}</th><td>{value}</td></tr>"#
        );
    }
    out.push_str("</tbody></table>");
    let mut svg = Svg::new(540.0, 230.0, "Insulin and carbohydrate per day");
    charts::daily_totals(&mut svg, Frame::new(4.0, 6.0, 530.0, 220.0), &report.days);
    let _ = write!(
        out,
        r#"<figure class="totals"><figcaption>Per day: insulin (basal and bolus) and carbohydrate</figcaption>{}</figure>"#,
        svg.finish()
    );
    let mut svg = Svg::new(360.0, 120.0, "Carbohydrate by time of day, grams per day");
    charts::carbs_by_time(
        &mut svg,
        Frame::new(4.0, 8.0, 352.0, 110.0),
        &report.carbs.by_time_of_day,
    );
    let _ = write!(
        out,
        r#"<figure class="carbs"><figcaption>Carbohydrate by time of day (g per day)</figcaption>{}</figure>"#,
        svg.finish()
    );
    let (header, rows) = day_table(report);
    out.push_str(
        r#"<div class="table-scroll"><table class="days"><caption>Day by day</caption><thead><tr>"#,
    );
    for name in header {
        let _ = write!(out, r#"<th scope="col">{name}</th>"#);
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        let mut cells = row.into_iter();
        let _ = write!(
            out,
            r#"<tr><th scope="row">{}</th>"#,
            cells.next().unwrap_or_default()
        );
        for cell in cells {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    page_footer(out, report, cover);
}

fn daily_detail(out: &mut String, report: &Report, cover: &Cover<'_>, scale: &GlucoseScale) {
    let days: Vec<_> = report.days.iter().zip(&report.detail).collect();
    for chunk in days.chunks(DETAIL_DAYS_PER_PAGE) {
        page_header(out, "Daily detail", "detail", report, cover.subject);
        for (summary, detail) in chunk {
            let mut svg = Svg::new(
                540.0,
                200.0,
                &format!(
                    "{}: CGM trace, meter readings, carbohydrate, boluses and basal rate",
                    summary.date
                ),
            );
            charts::day_detail(&mut svg, Frame::new(34.0, 4.0, 490.0, 190.0), detail, scale);
            let _ = write!(
                out,
                r#"<figure class="day"><figcaption><strong>{}</strong> · mean {} · in range {} · basal {} U · bolus {} U · carbs {} g</figcaption>{}</figure>"#,
                day_title(summary.date),
                optional(summary.mean, &format!(" {}", report.units.name())),
                optional(summary.in_range_percent, " %"),
                summary.basal_units,
                summary.bolus_units,
                summary.carbs_grams,
                svg.finish()
            );
        }
        page_footer(out, report, cover);
    }
}

fn day_title(date: jiff::civil::Date) -> String {
    date.strftime("%A %-d %B %Y").to_string()
}

fn actions(out: &mut String, cover: &Cover<'_>) {
    out.push_str(
        r#"<nav class="report-actions" aria-label="Report actions"><button type="button" data-print hidden>Print</button>"#,
    );
    if let Some(pdf) = &cover.pdf_url {
        let _ = write!(out, r#"<a href="{}">Download PDF</a>"#, escape(pdf));
    }
    let _ = writeln!(
        out,
        r#"<a href="{}" data-close>Close report</a><span>Each section starts a new A4 page.</span></nav>"#,
        escape(&cover.back_url)
    );
}

/// The whole report as one HTML document.
pub fn report(report: &Report, cover: &Cover<'_>) -> String {
    let mut out = String::with_capacity(256 * 1024);
    actions(&mut out, cover);
    out.push_str("<main>\n");
    if has_data(report) {
        let scale = GlucoseScale::new(
            report.units,
            report.targets.target_low,
            report.targets.target_high,
        );
        for section in cover.sections {
            match section {
                Section::Overview => overview(&mut out, report, cover, &scale),
                Section::DailyProfiles => daily_profiles(&mut out, report, cover, &scale),
                Section::InsulinMeals => insulin_and_meals(&mut out, report, cover),
                Section::DailyDetail => daily_detail(&mut out, report, cover, &scale),
                Section::Comparison => comparison(&mut out, report, cover, &scale),
            }
        }
    } else {
        no_data(&mut out, report, cover);
    }
    out.push_str("</main>");
    document(
        &format!(
            "Glucose report · {} · {} to {}",
            cover.subject.name,
            readable_date(report.period.from),
            readable_date(report.period.to)
        ),
        &out,
    )
}

fn no_data(out: &mut String, report: &Report, cover: &Cover<'_>) {
    page_header(
        out,
        "No data in this period",
        "no-data",
        report,
        cover.subject,
    );
    out.push_str(
        r#"<p>There are no glucose readings, insulin or carbohydrate records in this period.</p><h2>What to do</h2><ol class="steps">"#,
    );
    for step in no_data_steps(cover.audience) {
        let _ = write!(out, "<li>{}</li>", escape(step));
    }
    out.push_str("</ol>");
    page_footer(out, report, cover);
}

/// A page for a report that cannot be made (for example a record not linked to a personal account),
/// with the steps that fix it.
pub fn problem(title: &str, explanation: &str, steps: &[&str], back_url: &str) -> String {
    let mut body = format!(
        r#"<nav class="report-actions" aria-label="Report actions"><a href="{back}" data-close>Close</a></nav>
<main><section class="page problem" aria-labelledby="problem"><header class="page-head"><p class="brand">glucolink</p><h1 id="problem">{title}</h1></header><p>{explanation}</p>"#,
        back = escape(back_url),
        title = escape(title),
        explanation = escape(explanation)
    );
    if !steps.is_empty() {
        body.push_str(r#"<h2>What to do</h2><ol class="steps">"#);
        for step in steps {
            let _ = write!(body, "<li>{}</li>", escape(step));
        }
        body.push_str("</ol>");
    }
    let _ = write!(
        body,
        r#"<footer class="page-foot"><p class="notice">{}</p></footer></section></main>"#,
        escape(glucolink_core::report::build::ADJUNCT_NOTICE)
    );
    document(title, &body)
}
