//! The report as one printable HTML document: the pages of [`crate::layout`] in order, each a
//! section with the page's header, its blocks (tables, SVG charts of the same size as in the PDF,
//! warnings, steps) and a footer with the notice and the page number. The stylesheet
//! (`/assets/report.css`) sets A4 pages for print; `/assets/report.js` runs the Print and Close
//! buttons.

use std::fmt::Write;

use glucolink_core::report::build::Report;

use crate::canvas::{Svg, escape};
use crate::charts::GlucoseScale;
use crate::layout::{self, Block, Chart, Figure, Page, Placed, Table};
use crate::{Cover, Subject, header_lines, readable_date};

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

fn page_header(
    out: &mut String,
    page: &Page<'_>,
    number: usize,
    report: &Report,
    subject: &Subject,
) {
    let [who, period] = header_lines(report, subject);
    // Anchors are the section's name and the page number: a section may fill several pages.
    let id = format!("{}-{number}", page.id);
    let _ = write!(
        out,
        r#"<section class="page" aria-labelledby="{id}">
<header class="page-head"><p class="brand">glucolink</p><h1 id="{id}">{heading}</h1><p class="who">{who}</p><p class="period">{period}</p></header>
"#,
        heading = escape(page.heading),
        who = escape(&who),
        period = escape(&period)
    );
}

fn page_footer(out: &mut String, report: &Report, cover: &Cover<'_>, number: usize, count: usize) {
    let _ = write!(
        out,
        r#"<footer class="page-foot"><p class="notice">{}</p><p class="generated"><span>Generated {} UTC</span><span>Page {number} of {count}</span></p></footer>
</section>
"#,
        escape(report.notice),
        cover.generated_at.strftime("%-d %b %Y %H:%M")
    );
}

/// A chart as an `<svg>` of `width` × `height` points, labelled for screen readers.
pub(crate) fn chart_svg(chart: &Chart<'_>, width: f32, height: f32, label: &str) -> String {
    let mut svg = Svg::new(width, height, label);
    chart.draw(&mut svg, 0.0, 0.0, width, height);
    svg.finish()
}

fn table(out: &mut String, table: &Table) {
    if table.scrolls {
        out.push_str(r#"<div class="table-scroll">"#);
    }
    let _ = write!(out, r#"<table class="{}">"#, table.class);
    if let Some(caption) = &table.caption {
        let _ = write!(out, "<caption>{}</caption>", escape(caption));
    }
    if !table.header.is_empty() {
        out.push_str("<thead><tr>");
        for name in &table.header {
            let _ = write!(out, r#"<th scope="col">{}</th>"#, escape(name));
        }
        out.push_str("</tr></thead>");
    }
    out.push_str("<tbody>");
    for row in &table.rows {
        match row.met {
            Some(true) => out.push_str(r#"<tr class="met">"#),
            Some(false) => out.push_str(r#"<tr class="missed">"#),
            None => out.push_str("<tr>"),
        }
        for (i, cell) in row.cells.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, r#"<th scope="row">{}</th>"#, escape(cell));
            } else {
                let _ = write!(out, "<td>{}</td>", escape(cell));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if table.scrolls {
        out.push_str("</div>");
    }
}

fn figure(out: &mut String, placed: &Placed<'_>, figure: &Figure<'_>) {
    let _ = write!(out, r#"<figure class="{}">"#, figure.class);
    if let Some(caption) = &figure.caption {
        let _ = write!(out, "<figcaption>{}</figcaption>", escape(caption));
    }
    let height = placed.height - layout::caption_height(figure);
    out.push_str(&chart_svg(
        &figure.chart,
        placed.width,
        height,
        &figure.label,
    ));
    out.push_str("</figure>");
}

fn block(out: &mut String, placed: &Placed<'_>) {
    match &placed.block {
        Block::Warning(text) => {
            let _ = write!(
                out,
                r#"<p class="warning" role="note">{}</p>"#,
                escape(text)
            );
        }
        Block::Paragraph(text) => {
            let _ = write!(out, "<p>{}</p>", escape(text));
        }
        Block::Subheading(text) => {
            let _ = write!(out, "<h2>{}</h2>", escape(text));
        }
        Block::Steps(steps) => {
            out.push_str(r#"<ol class="steps">"#);
            for step in steps {
                let _ = write!(out, "<li>{}</li>", escape(step));
            }
            out.push_str("</ol>");
        }
        Block::Table(t) => table(out, t),
        Block::Figure(f) => figure(out, placed, f),
        Block::Side { class, blocks } => {
            let _ = write!(out, r#"<div class="{class}">"#);
            for inner in blocks {
                block(out, inner);
            }
            out.push_str("</div>");
        }
    }
}

/// The time-in-ranges bar of a report as SVG (the size of the overview page's); `which` follows
/// "Time in ranges" in its label.
pub(crate) fn tir_svg(report: &Report, which: &str) -> String {
    chart_svg(
        &Chart::TimeInRanges(report),
        layout::TIR_WIDTH,
        layout::TIR_HEIGHT,
        &layout::tir_label(report, which),
    )
}

/// The report's AGP as SVG.
pub(crate) fn agp_svg(report: &Report) -> String {
    chart_svg(
        &Chart::Agp(report),
        layout::CONTENT_WIDTH,
        230.0,
        layout::AGP_LABEL,
    )
}

/// Both periods' AGPs on one chart, as SVG.
pub(crate) fn agp_comparison_svg(report: &Report, previous: &Report) -> String {
    chart_svg(
        &Chart::AgpComparison(report, previous),
        layout::CONTENT_WIDTH,
        240.0,
        "Ambulatory glucose profiles of this period and the previous one on one chart",
    )
}

/// The daily profiles of the report's last 14 days as SVG, and how many days they are.
pub(crate) fn recent_profiles_svg(report: &Report, scale: GlucoseScale) -> Option<(usize, String)> {
    let (chart, height, count) = layout::recent_profiles(report, scale)?;
    Some((
        count,
        chart_svg(
            &chart,
            layout::CONTENT_WIDTH,
            height,
            layout::RECENT_PROFILES_LABEL,
        ),
    ))
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
    let pages = layout::pages(report, cover);
    let count = pages.len();
    for (i, page) in pages.iter().enumerate() {
        page_header(&mut out, page, i + 1, report, cover.subject);
        for placed in &page.blocks {
            block(&mut out, placed);
        }
        page_footer(&mut out, report, cover, i + 1, count);
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
