//! One description of every report page, drawn by both formats: which pages a report has, each page's
//! heading and its blocks (tables, figures, warnings, steps) with their words, numbers and precision,
//! and where each block sits on an A4 page in points. `pdf` draws the blocks at those places; `html`
//! writes them in the same order as a page section, each chart an SVG of the same size. So the two
//! formats have the same pages, headings and numbers (a test compares their text page by page).

use glucolink_core::report::build::{DayDetail, DaySummary, Report};

use crate::canvas::Canvas;
use crate::charts::{self, Frame, GlucoseScale};
use crate::fonts::text_width;
use crate::{
    Cover, Section, comparison_rows, completeness_summary, day_table, has_data, insulin_summary,
    no_data_steps, optional, readable_date,
};

pub const PAGE_WIDTH: f32 = 595.0;
pub const PAGE_HEIGHT: f32 = 842.0;
pub const MARGIN: f32 = 36.0;
pub const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// Where a page's own content starts, below the header.
pub const BODY_TOP: f32 = 104.0;
/// Where it must end, above the footer.
pub const BODY_BOTTOM: f32 = PAGE_HEIGHT - 64.0;

/// Days of daily profiles on one page (five weeks of seven).
pub const PROFILE_DAYS_PER_PAGE: usize = 35;
/// Days of daily detail on one page.
pub const DETAIL_DAYS_PER_PAGE: usize = 3;

/// A table row's height, and a caption's or a figure caption's line.
pub const ROW_HEIGHT: f32 = 12.0;
pub const CAPTION_HEIGHT: f32 = 14.0;
/// The text sizes both formats use.
pub const TABLE_TEXT: f32 = 8.5;
pub const CAPTION_TEXT: f32 = 9.5;
pub const WARNING_TEXT: f32 = 8.5;
pub const WARNING_LINE: f32 = 11.0;
/// Space between blocks.
const GAP: f32 = 8.0;

/// One printed page: its heading (the header's large line) and its blocks in reading order.
pub struct Page<'r> {
    pub heading: &'static str,
    /// The HTML section's anchor.
    pub id: &'static str,
    pub blocks: Vec<Placed<'r>>,
}

/// A block and the box it fills on the page (points, origin top left; `y` is the box's top).
pub struct Placed<'r> {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub block: Block<'r>,
}

/// What a page is made of.
pub enum Block<'r> {
    /// A warning about the data (printed bold, in the warning colour).
    Warning(String),
    Paragraph(String),
    /// A small heading inside a page ("What to do").
    Subheading(&'static str),
    /// Numbered steps.
    Steps(Vec<String>),
    Table(Table),
    Figure(Figure<'r>),
    /// Blocks side by side (each placed in its own box); on a phone the HTML stacks them.
    Side {
        class: &'static str,
        blocks: Vec<Placed<'r>>,
    },
}

/// A table: an optional caption, the column headings and rows whose first cell names the row.
pub struct Table {
    pub class: &'static str,
    pub caption: Option<String>,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
    /// Column widths in points (the PDF's; the HTML lets the browser size them).
    pub widths: Vec<f32>,
    /// Rows too wide for a phone scroll inside their box.
    pub scrolls: bool,
}

/// A row of cells, and whether its last cell says a goal was met.
pub struct Row {
    pub cells: Vec<String>,
    pub met: Option<bool>,
}

impl Row {
    fn new(cells: Vec<String>) -> Self {
        Row { cells, met: None }
    }
}

/// A chart with its caption. The box is the chart's own area, below the caption line.
pub struct Figure<'r> {
    pub class: &'static str,
    pub caption: Option<String>,
    /// What a screen reader says of the chart.
    pub label: String,
    pub chart: Chart<'r>,
}

/// The charts of the report, each drawn by `charts` on either canvas.
pub enum Chart<'r> {
    TimeInRanges(&'r Report),
    Agp(&'r Report),
    AgpComparison(&'r Report, &'r Report),
    Profiles {
        days: Vec<(&'r DaySummary, &'r DayDetail)>,
        scale: GlucoseScale,
        tile_height: f32,
        row_gap: f32,
    },
    DailyTotals(&'r Report),
    CarbsByTime(&'r Report),
    DayDetail(&'r DayDetail, GlucoseScale),
}

impl Chart<'_> {
    /// The space around the plot inside the chart's box (left, top, right, bottom): axis labels and
    /// legends.
    fn insets(&self) -> (f32, f32, f32, f32) {
        match self {
            Chart::TimeInRanges(_) => (2.0, 4.0, 2.0, 4.0),
            Chart::Agp(_) => (26.0, 8.0, 26.0, 14.0),
            Chart::AgpComparison(..) => (26.0, 18.0, 26.0, 14.0),
            Chart::Profiles { .. } => (0.0, 0.0, 0.0, 0.0),
            Chart::DailyTotals(_) => (4.0, 6.0, 4.0, 4.0),
            Chart::CarbsByTime(_) => (4.0, 8.0, 4.0, 2.0),
            Chart::DayDetail(..) => (32.0, 4.0, 4.0, 6.0),
        }
    }

    /// Draws the chart in a box of `width` × `height` whose top left is (`x`, `y`).
    pub fn draw(&self, canvas: &mut dyn Canvas, x: f32, y: f32, width: f32, height: f32) {
        let (left, top, right, bottom) = self.insets();
        let frame = Frame::new(
            x + left,
            y + top,
            width - left - right,
            height - top - bottom,
        );
        match self {
            Chart::TimeInRanges(report) => {
                charts::time_in_ranges(canvas, frame, &report.metrics.time_in_ranges, report.units);
            }
            Chart::Agp(report) => charts::agp(canvas, frame, &report.agp, &scale_of(report)),
            Chart::AgpComparison(report, previous) => {
                charts::agp_comparison(canvas, frame, &report.agp, &previous.agp, &scale_of(report))
            }
            Chart::Profiles {
                days,
                scale,
                tile_height,
                row_gap,
            } => charts::profile_grid(canvas, frame, days, scale, *tile_height, *row_gap),
            Chart::DailyTotals(report) => charts::daily_totals(canvas, frame, &report.days),
            Chart::CarbsByTime(report) => {
                charts::carbs_by_time(canvas, frame, &report.carbs.by_time_of_day);
            }
            Chart::DayDetail(day, scale) => charts::day_detail(canvas, frame, day, scale),
        }
    }
}

/// The report's glucose axis: 0–400 mg/dL with its target range.
pub fn scale_of(report: &Report) -> GlucoseScale {
    GlucoseScale::new(
        report.units,
        report.targets.target_low,
        report.targets.target_high,
    )
}

/// Lines of at most `width` points, broken at spaces.
pub fn wrap(text: &str, size: f32, width: f32, bold: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, size, bold) > width && !line.is_empty() {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The text size of steps and paragraphs, the indent of a step's text and a line's height.
pub const STEP_TEXT: f32 = 9.5;
pub const STEP_INDENT: f32 = 16.0;
pub const STEP_LINE: f32 = 13.0;

/// A page's blocks placed one below the other from the body's top.
struct Flow<'r> {
    y: f32,
    blocks: Vec<Placed<'r>>,
}

impl<'r> Flow<'r> {
    fn new() -> Self {
        Flow {
            y: BODY_TOP,
            blocks: Vec::new(),
        }
    }

    fn push(&mut self, height: f32, block: Block<'r>) {
        self.blocks.push(Placed {
            x: MARGIN,
            y: self.y,
            width: CONTENT_WIDTH,
            height,
            block,
        });
        self.y += height + GAP;
    }

    fn table(&mut self, table: Table) {
        self.push(table_height(&table), Block::Table(table));
    }

    /// A figure whose chart is `height` high (its caption line comes on top).
    fn figure(&mut self, width: f32, height: f32, figure: Figure<'r>) {
        let caption = if figure.caption.is_some() {
            CAPTION_HEIGHT
        } else {
            0.0
        };
        self.blocks.push(Placed {
            x: MARGIN,
            y: self.y,
            width,
            height: height + caption,
            block: Block::Figure(figure),
        });
        self.y += height + caption + GAP;
    }

    fn page(self, heading: &'static str, id: &'static str) -> Page<'r> {
        Page {
            heading,
            id,
            blocks: self.blocks,
        }
    }
}

/// How tall a table prints: its caption, its heading row and its rows.
pub fn table_height(table: &Table) -> f32 {
    let caption = if table.caption.is_some() {
        CAPTION_HEIGHT
    } else {
        0.0
    };
    let header = if table.header.is_empty() {
        0.0
    } else {
        ROW_HEIGHT
    };
    caption + header + table.rows.len() as f32 * ROW_HEIGHT
}

/// How tall a figure's caption is, when it has one.
pub fn caption_height(figure: &Figure<'_>) -> f32 {
    if figure.caption.is_some() {
        CAPTION_HEIGHT
    } else {
        0.0
    }
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// The GRI zone (A best … E worst), by 20-point bands.
pub fn gri_zone(gri: f64) -> char {
    match gri {
        g if g < 20.0 => 'A',
        g if g < 40.0 => 'B',
        g if g < 60.0 => 'C',
        g if g < 80.0 => 'D',
        _ => 'E',
    }
}

/// The statistics beside the time-in-ranges bar, as on the AGP Report.
fn statistics(report: &Report) -> Table {
    let m = &report.metrics;
    let units = report.units.name();
    let rows = [
        [
            "Glucose Management Indicator (GMI)".to_owned(),
            optional(m.gmi_percent, " %"),
            String::new(),
        ],
        [
            "Mean glucose".into(),
            optional(m.mean, &format!(" {units}")),
            String::new(),
        ],
        [
            "Glucose variability (CV)".into(),
            optional(m.cv_percent, " %"),
            "≤ 36 %".into(),
        ],
        [
            "Standard deviation".into(),
            optional(m.sd, &format!(" {units}")),
            String::new(),
        ],
        [
            "Time CGM active".into(),
            format!("{} %", m.cgm_active_percent),
            "≥ 70 %".into(),
        ],
        [
            "Days with CGM data".into(),
            format!("{} of {}", m.days_with_data, report.period.days),
            "≥ 14".into(),
        ],
        ["CGM readings".into(), m.readings.to_string(), String::new()],
        [
            "Glycemia Risk Index (GRI)".into(),
            m.gri
                .map_or("—".into(), |g| format!("{g} (zone {})", gri_zone(g))),
            "lower is better".into(),
        ],
    ];
    Table {
        class: "metrics",
        caption: Some("Glucose statistics".into()),
        header: strings(&["Metric", "Value", "Target"]),
        rows: rows.into_iter().map(|r| Row::new(r.into())).collect(),
        widths: vec![160.0, 75.0, 70.0],
        scrolls: false,
    }
}

/// The record's goals for its targets, each met or not.
fn goals(report: &Report) -> Table {
    let t = &report.targets;
    let mut rows: Vec<Row> = t
        .goals
        .iter()
        .map(|g| Row {
            cells: vec![
                g.label.clone(),
                g.goal.clone(),
                format!("{:.1} %", g.value_percent),
                if g.met { "Yes" } else { "No" }.into(),
            ],
            met: Some(g.met),
        })
        .collect();
    if rows.is_empty() {
        rows.push(Row::new(vec!["No CGM data in this period.".into()]));
    }
    Table {
        class: "goals",
        caption: Some(format!(
            "Goals: {} (target {}–{} {})",
            t.label,
            t.target_low,
            t.target_high,
            report.units.name()
        )),
        header: strings(&["Measure", "Goal", "Value", "Met"]),
        rows,
        widths: vec![250.0, 100.0, 100.0, 73.0],
        scrolls: false,
    }
}

/// The daily profiles of `days` as a grid of tiles, seven a row, and the grid's height.
fn profiles<'r>(
    days: Vec<(&'r DaySummary, &'r DayDetail)>,
    scale: GlucoseScale,
    tile_height: f32,
    row_gap: f32,
) -> (Chart<'r>, f32) {
    let height = days.len().div_ceil(7) as f32 * (tile_height + 12.0 + row_gap);
    (
        Chart::Profiles {
            days,
            scale,
            tile_height,
            row_gap,
        },
        height,
    )
}

/// The first page, laid out as the AGP Report v5: statistics beside the time-in-ranges bar, the
/// goals, the AGP, and the daily profiles of the last 14 days.
fn overview(report: &Report) -> Page<'_> {
    let mut flow = Flow::new();
    if let Some(warning) = &report.sufficiency_warning {
        let lines = wrap(warning, WARNING_TEXT, CONTENT_WIDTH, true).len() as f32;
        flow.push(lines * WARNING_LINE, Block::Warning(warning.clone()));
    }
    let statistics = statistics(report);
    let stats_height = table_height(&statistics);
    let (tir_width, tir_height) = (TIR_WIDTH, TIR_HEIGHT);
    let tir_x = MARGIN + CONTENT_WIDTH - tir_width;
    let side_height = stats_height.max(CAPTION_HEIGHT + tir_height);
    let y = flow.y;
    flow.push(
        side_height,
        Block::Side {
            class: "overview",
            blocks: vec![
                Placed {
                    x: MARGIN,
                    y,
                    width: tir_x - MARGIN - GAP,
                    height: stats_height,
                    block: Block::Table(statistics),
                },
                Placed {
                    x: tir_x,
                    y,
                    width: tir_width,
                    height: CAPTION_HEIGHT + tir_height,
                    block: Block::Figure(Figure {
                        class: "tir",
                        caption: Some("Time in ranges".into()),
                        label: tir_label(report, ""),
                        chart: Chart::TimeInRanges(report),
                    }),
                },
            ],
        },
    );
    flow.table(goals(report));
    let recent = recent_profiles(report, scale_of(report));
    let below = recent
        .as_ref()
        .map_or(0.0, |(_, height, _)| CAPTION_HEIGHT + height + GAP);
    let agp_height = (BODY_BOTTOM - flow.y - CAPTION_HEIGHT - GAP - below).clamp(120.0, 290.0);
    flow.figure(
        CONTENT_WIDTH,
        agp_height,
        Figure {
            class: "agp",
            caption: Some(format!(
                "Ambulatory glucose profile (AGP): median, 25–75 % and 5–95 % by time of day, {}",
                report.units.name()
            )),
            label: AGP_LABEL.into(),
            chart: Chart::Agp(report),
        },
    );
    if let Some((grid, grid_height, recent_count)) = recent {
        flow.figure(
            CONTENT_WIDTH,
            grid_height,
            Figure {
                class: "profiles",
                caption: Some(format!(
                    "Daily glucose profiles, the last {}",
                    crate::days(recent_count as i64)
                )),
                label: RECENT_PROFILES_LABEL.into(),
                chart: grid,
            },
        );
    }
    flow.page("Glucose overview", "overview")
}

/// The time-in-ranges bar's size beside the statistics (and on the website's overview).
pub const TIR_WIDTH: f32 = 210.0;
pub const TIR_HEIGHT: f32 = 112.0;

/// The daily profiles of the report's last 14 days (as on the AGP Report's first page): the chart,
/// its height and how many days; none without days.
pub(crate) fn recent_profiles(
    report: &Report,
    scale: GlucoseScale,
) -> Option<(Chart<'_>, f32, usize)> {
    let recent = charts::last_days(&report.days, &report.detail, 14);
    let count = recent.len();
    (count > 0).then(|| {
        let (chart, height) = profiles(recent, scale, 50.0, 6.0);
        (chart, height, count)
    })
}

pub(crate) const AGP_LABEL: &str =
    "Ambulatory glucose profile: median, 25–75 % and 5–95 % of glucose by time of day";
pub(crate) const RECENT_PROFILES_LABEL: &str =
    "Daily glucose profiles of the last 14 days: each day's CGM trace in its target band";

/// What a screen reader says of a time-in-ranges bar; `which` follows "Time in ranges".
pub(crate) fn tir_label(report: &Report, which: &str) -> String {
    let printed = report.metrics.time_in_ranges.rounded();
    format!(
        "Time in ranges{which}: very high {:.1} %, high {:.1} %, in range {:.1} %, low {:.1} %, very low {:.1} %",
        printed.very_high, printed.high, printed.in_range, printed.low, printed.very_low
    )
}

/// Every day's trace, 35 days (five weeks) a page.
fn daily_profiles(report: &Report) -> Vec<Page<'_>> {
    let days: Vec<_> = report.days.iter().zip(&report.detail).collect();
    days.chunks(PROFILE_DAYS_PER_PAGE)
        .map(|chunk| {
            let mut flow = Flow::new();
            let (grid, height) = profiles(chunk.to_vec(), scale_of(report), 104.0, 14.0);
            flow.figure(
                CONTENT_WIDTH,
                height,
                Figure {
                    class: "profiles",
                    caption: None,
                    label: "Daily glucose profiles: each day's CGM trace in its target band".into(),
                    chart: grid,
                },
            );
            flow.page("Daily glucose profiles", "profiles")
        })
        .collect()
}

/// Rows of the day-by-day table on one page.
pub fn day_rows_per_page() -> usize {
    ((BODY_BOTTOM - BODY_TOP - CAPTION_HEIGHT - ROW_HEIGHT) / ROW_HEIGHT) as usize
}

/// Averages, data completeness, the daily totals and carbohydrate charts; then the day-by-day table
/// on as many pages as it needs.
fn insulin_and_meals(report: &Report) -> Vec<Page<'_>> {
    let pairs = |rows: Vec<(&'static str, String)>| -> Vec<Row> {
        rows.into_iter()
            .map(|(label, value)| Row::new(vec![label.to_owned(), value]))
            .collect()
    };
    let mut flow = Flow::new();
    flow.table(Table {
        class: "metrics",
        caption: Some("Averages per day with insulin data".into()),
        header: Vec::new(),
        rows: pairs(insulin_summary(report)),
        widths: vec![170.0, 300.0],
        scrolls: false,
    });
    flow.table(Table {
        class: "metrics",
        caption: Some("Data completeness".into()),
        header: Vec::new(),
        rows: pairs(completeness_summary(report)),
        widths: vec![170.0, 350.0],
        scrolls: false,
    });
    flow.figure(
        CONTENT_WIDTH,
        220.0,
        Figure {
            class: "totals",
            caption: Some("Per day: insulin (basal and bolus) and carbohydrate".into()),
            label: "Insulin and carbohydrate per day".into(),
            chart: Chart::DailyTotals(report),
        },
    );
    flow.figure(
        360.0,
        120.0,
        Figure {
            class: "carbs",
            caption: Some("Carbohydrate by time of day (g per day)".into()),
            label: "Carbohydrate by time of day, grams per day".into(),
            chart: Chart::CarbsByTime(report),
        },
    );
    let (header, rows) = day_table(report);
    let widths = if header.len() == 9 {
        vec![95.0, 50.0, 45.0, 52.0, 50.0, 62.0, 50.0, 50.0, 50.0]
    } else {
        vec![100.0, 55.0, 55.0, 60.0, 55.0, 55.0, 55.0, 55.0]
    };
    let days = |rows: &[Vec<String>]| Table {
        class: "days",
        caption: Some("Day by day".into()),
        header: strings(&header),
        rows: rows.iter().cloned().map(Row::new).collect(),
        widths: widths.clone(),
        scrolls: true,
    };
    // The whole table below the charts when it fits there; otherwise on pages of its own.
    let whole = days(&rows);
    if flow.y + table_height(&whole) <= BODY_BOTTOM {
        flow.table(whole);
        return vec![flow.page("Insulin and meals", "insulin")];
    }
    let mut pages = vec![flow.page("Insulin and meals", "insulin")];
    for chunk in rows.chunks(day_rows_per_page()) {
        let mut flow = Flow::new();
        flow.table(days(chunk));
        pages.push(flow.page("Insulin and meals", "days"));
    }
    pages
}

/// Each day in detail, three a page.
fn daily_detail(report: &Report) -> Vec<Page<'_>> {
    let days: Vec<_> = report.days.iter().zip(&report.detail).collect();
    let slot = (BODY_BOTTOM - BODY_TOP) / DETAIL_DAYS_PER_PAGE as f32;
    let units = report.units.name();
    days.chunks(DETAIL_DAYS_PER_PAGE)
        .map(|chunk| {
            let mut flow = Flow::new();
            for (summary, detail) in chunk {
                flow.figure(
                    CONTENT_WIDTH,
                    slot - CAPTION_HEIGHT - GAP,
                    Figure {
                        class: "day",
                        caption: Some(format!(
                            "{} · mean {} · in range {} · basal {} U · bolus {} U · carbs {} g",
                            summary.date.strftime("%A %-d %B %Y"),
                            optional(summary.mean, &format!(" {units}")),
                            optional(summary.in_range_percent, " %"),
                            summary.basal_units,
                            summary.bolus_units,
                            summary.carbs_grams
                        )),
                        label: format!(
                            "{}: CGM trace, meter readings, carbohydrate, boluses and basal rate",
                            summary.date
                        ),
                        chart: Chart::DayDetail(detail, scale_of(report)),
                    },
                );
            }
            flow.page("Daily detail", "detail")
        })
        .collect()
}

/// This period against the previous one: every measure with its change, both time-in-ranges bars,
/// both AGPs on one chart.
fn comparison<'r>(report: &'r Report, previous: &'r Report) -> Page<'r> {
    let period = |r: &Report| {
        format!(
            "{} – {}",
            readable_date(r.period.from),
            readable_date(r.period.to)
        )
    };
    let mut rows = vec![Row::new(vec![
        "Dates".into(),
        period(report),
        period(previous),
        String::new(),
    ])];
    rows.extend(
        comparison_rows(report, previous)
            .into_iter()
            .map(|r| Row::new(r.into())),
    );
    let mut flow = Flow::new();
    flow.table(Table {
        class: "metrics comparison",
        caption: None,
        header: strings(&["Measure", "This period", "Previous period", "Change"]),
        rows,
        widths: vec![190.0, 120.0, 120.0, 90.0],
        scrolls: false,
    });
    let (width, height) = ((CONTENT_WIDTH - GAP) / 2.0, 112.0);
    let y = flow.y;
    let bars = [("This period", report), ("Previous period", previous)]
        .into_iter()
        .enumerate()
        .map(|(i, (caption, r))| Placed {
            x: MARGIN + i as f32 * (width + GAP),
            y,
            width,
            height: CAPTION_HEIGHT + height,
            block: Block::Figure(Figure {
                class: "tir",
                caption: Some(format!("Time in ranges · {caption}")),
                label: tir_label(r, &format!(", {}", caption.to_lowercase())),
                chart: Chart::TimeInRanges(r),
            }),
        })
        .collect();
    flow.push(
        CAPTION_HEIGHT + height,
        Block::Side {
            class: "comparison-bars",
            blocks: bars,
        },
    );
    let agp_height = (BODY_BOTTOM - flow.y - CAPTION_HEIGHT).clamp(120.0, 240.0);
    flow.figure(
        CONTENT_WIDTH,
        agp_height,
        Figure {
            class: "agp",
            caption: Some(format!("Both AGPs, {}", report.units.name())),
            label: "Ambulatory glucose profiles of this period and the previous one on one chart"
                .into(),
            chart: Chart::AgpComparison(report, previous),
        },
    );
    flow.page("Comparison with the previous period", "comparison")
}

/// The page of a report with nothing in it, with the reader's steps.
fn no_data(cover: &Cover<'_>) -> Page<'static> {
    let mut flow = Flow::new();
    flow.push(
        CAPTION_HEIGHT,
        Block::Paragraph(
            "There are no glucose readings, insulin or carbohydrate records in this period.".into(),
        ),
    );
    flow.push(CAPTION_HEIGHT, Block::Subheading("What to do"));
    let steps: Vec<String> = no_data_steps(cover.audience)
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let lines: usize = steps
        .iter()
        .map(|s| wrap(s, STEP_TEXT, CONTENT_WIDTH - STEP_INDENT, false).len())
        .sum();
    flow.push(lines as f32 * STEP_LINE, Block::Steps(steps));
    flow.page("No data in this period", "no-data")
}

/// Every page of a report, in order: the chosen sections, or the no-data page.
pub fn pages<'r>(report: &'r Report, cover: &Cover<'r>) -> Vec<Page<'r>> {
    if !has_data(report) {
        return vec![no_data(cover)];
    }
    let mut pages = Vec::new();
    for section in cover.sections {
        match section {
            Section::Overview => pages.push(overview(report)),
            Section::DailyProfiles => pages.extend(daily_profiles(report)),
            Section::InsulinMeals => pages.extend(insulin_and_meals(report)),
            Section::DailyDetail => pages.extend(daily_detail(report)),
            Section::Comparison => {
                if let Some(previous) = cover.previous {
                    pages.push(comparison(report, previous));
                }
            }
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Audience, Subject};
    use glucolink_core::report::build::{Options, Period, Units, compose};
    use glucolink_core::report::ranges::RangePreset;
    use glucolink_synth::{Patient, Profile, generate};
    use jiff::ToSpan;
    use jiff::civil::date;

    fn report(days: i64, units: Units, profile: Profile) -> Report {
        let start = date(2026, 8, 1);
        let events = generate(&Patient {
            seed: 5,
            profile,
            time_zone: "Europe/London",
            start,
            days: 92,
        });
        let to = start.checked_add(91.days()).expect("date");
        let from = to.checked_sub((days - 1).days()).expect("date");
        compose(
            &events,
            &Options {
                period: Period::parse(&from.to_string(), &to.to_string()).expect("period"),
                tz: jiff::tz::TimeZone::get("Europe/London").expect("zone"),
                units,
                ranges: RangePreset::Standard,
                detail: true,
            },
        )
        .expect("report")
    }

    fn inside(placed: &Placed<'_>, page: &str) {
        assert!(
            placed.y >= BODY_TOP && placed.y + placed.height <= BODY_BOTTOM + 0.01,
            "{page}: a block from {} to {} leaves the body",
            placed.y,
            placed.y + placed.height
        );
        assert!(
            placed.x >= MARGIN && placed.x + placed.width <= PAGE_WIDTH - MARGIN + 0.01,
            "{page}: a block leaves the page's width"
        );
        if let Block::Table(table) = &placed.block {
            assert!(
                table.widths.iter().sum::<f32>() <= placed.width + 0.01,
                "{page}: table width"
            );
        }
        if let Block::Side { blocks, .. } = &placed.block {
            for inner in blocks {
                inside(inner, page);
            }
        }
    }

    #[test]
    fn every_block_of_every_page_stays_within_the_page_body() {
        let subject = Subject {
            name: "Test Person".into(),
            date_of_birth: None,
            mrn: None,
            identity_warning: None,
        };
        for profile in [Profile::MedtronicPump, Profile::LibrePens] {
            for units in [Units::MgDl, Units::MmolL] {
                for days in [1, 2, 7, 9, 10, 11, 12, 14, 15, 30, 54, 55, 90] {
                    let report = report(days, units, profile);
                    let previous = report.clone();
                    let cover = Cover {
                        subject: &subject,
                        sections: &Section::ALL,
                        previous: Some(&previous),
                        audience: Audience::Clinic,
                        generated_at: jiff::Timestamp::UNIX_EPOCH,
                        pdf_url: None,
                        back_url: String::new(),
                    };
                    let pages = pages(&report, &cover);
                    let detail = (days as usize).div_ceil(DETAIL_DAYS_PER_PAGE);
                    let profiles = (days as usize).div_ceil(PROFILE_DAYS_PER_PAGE);
                    let day_table = if days <= 10 {
                        0
                    } else {
                        (days as usize).div_ceil(day_rows_per_page())
                    };
                    assert_eq!(
                        pages.len(),
                        1 + profiles + 1 + day_table + detail + 1,
                        "{days} days"
                    );
                    for page in &pages {
                        for placed in &page.blocks {
                            inside(placed, &format!("{days} days, {}", page.heading));
                        }
                    }
                }
            }
        }
    }
}
