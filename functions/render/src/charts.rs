//! The report's charts, drawn on a [`Canvas`] so the HTML (SVG) and the PDF show the same picture:
//! the stacked time-in-ranges bar, the AGP percentile curves, the small daily glucose profiles, the
//! daily detail (CGM trace in its target band, meter readings, boluses, carbs, basal), and the
//! insulin and carbohydrate bars.

use glucolink_core::report::build::{AgpBin, DayDetail, DaySummary, Point, Units};
use glucolink_core::report::metrics::TimeInRanges;

use crate::canvas::{Anchor, Canvas, Color, TextStyle, palette};

/// A rectangle of the page a chart fills.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Frame {
    pub fn new(x: f32, y: f32, width: f32, height: f32) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// The x of a minute of the day.
    fn minute_x(&self, minute: f32) -> f32 {
        self.x + minute.clamp(0.0, 1440.0) / 1440.0 * self.width
    }
}

/// How glucose maps onto a chart: 0 to `max` in the report's units, with the consensus thresholds and
/// the patient's target range.
#[derive(Debug, Clone, Copy)]
pub struct GlucoseScale {
    pub units: Units,
    pub max: f32,
    pub target_low: f32,
    pub target_high: f32,
}

impl GlucoseScale {
    /// 0–400 mg/dL (0–22.2 mmol/L) and the target range given in the report's units.
    pub fn new(units: Units, target_low: f64, target_high: f64) -> Self {
        Self {
            units,
            max: units.show(400.0) as f32,
            target_low: target_low as f32,
            target_high: target_high as f32,
        }
    }

    fn y(&self, frame: &Frame, value: f32) -> f32 {
        frame.y + frame.height - value.clamp(0.0, self.max) / self.max * frame.height
    }

    /// Axis lines: very low (54 mg/dL), the target range, very high (250 mg/dL).
    /// 54, the target's low and high edges, and 250 mg/dL, in the report's units.
    fn ticks(&self) -> [f32; 4] {
        [
            self.units.show(54.0) as f32,
            self.target_low,
            self.target_high,
            self.units.show(250.0) as f32,
        ]
    }
}

fn fmt(value: f32) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The five consensus ranges from very high to very low, with their shares as printed ([`TimeInRanges::rounded`]).
fn ranges(tir: &TimeInRanges, units: Units) -> [(f64, Color, String); 5] {
    let tir = tir.rounded();
    let u = |v: f64| fmt(units.show(v) as f32);
    let name = units.name();
    [
        (
            tir.very_high,
            palette::VERY_HIGH,
            format!("Very high  > {} {name}", u(250.0)),
        ),
        (
            tir.high,
            palette::HIGH,
            format!("High  {}–{} {name}", u(181.0), u(250.0)),
        ),
        (
            tir.in_range,
            palette::IN_RANGE,
            format!("In range  {}–{} {name}", u(70.0), u(180.0)),
        ),
        (
            tir.low,
            palette::LOW,
            format!("Low  {}–{} {name}", u(54.0), u(69.0)),
        ),
        (
            tir.very_low,
            palette::VERY_LOW,
            format!("Very low  < {} {name}", u(54.0)),
        ),
    ]
}

/// The stacked time-in-ranges bar with each range's share beside it.
pub fn time_in_ranges(canvas: &mut dyn Canvas, frame: Frame, tir: &TimeInRanges, units: Units) {
    let bar_width = 34.0;
    let rows = ranges(tir, units);
    let total: f64 = rows.iter().map(|r| r.0).sum();
    let mut y = frame.y;
    for (share, color, _) in &rows {
        let height = if total > 0.0 {
            (*share / total) as f32 * frame.height
        } else {
            0.0
        };
        if height > 0.0 {
            canvas.rect(frame.x, y, bar_width, height, *color);
        }
        y += height;
    }
    if total <= 0.0 {
        canvas.rect(frame.x, frame.y, bar_width, frame.height, palette::GRID);
    }
    let row_height = frame.height / 5.0;
    for (i, (share, color, label)) in rows.iter().enumerate() {
        let baseline = frame.y + row_height * i as f32 + row_height / 2.0 + 3.0;
        canvas.rect(frame.x + bar_width + 8.0, baseline - 7.0, 8.0, 8.0, *color);
        canvas.text(
            frame.x + bar_width + 20.0,
            baseline,
            label,
            TextStyle::new(8.5),
        );
        canvas.text(
            frame.x + frame.width,
            baseline,
            &format!("{share:.1} %"),
            TextStyle::new(9.5).bold().anchor(Anchor::End),
        );
    }
}

/// Glucose axis, target band and hour ticks shared by the glucose charts.
fn glucose_axes(canvas: &mut dyn Canvas, frame: Frame, scale: &GlucoseScale, labels: bool) {
    let (low, high) = (
        scale.y(&frame, scale.target_high),
        scale.y(&frame, scale.target_low),
    );
    canvas.rect(frame.x, low, frame.width, high - low, palette::TARGET_BAND);
    for tick in scale.ticks() {
        let y = scale.y(&frame, tick);
        canvas.dashed_line((frame.x, y), (frame.x + frame.width, y), palette::GRID, 0.5);
    }
    if labels {
        // The target band's edges are labelled first; 54 and 250 only where they leave room (a
        // small chart labels 70, the band's lower edge, rather than 54 just below it).
        let mut placed: Vec<f32> = Vec::new();
        let [very_low, low, high, very_high] = scale.ticks();
        for tick in [low, high, very_low, very_high] {
            let y = scale.y(&frame, tick);
            if placed.iter().all(|p| (p - y).abs() >= 8.0) {
                placed.push(y);
                canvas.text(
                    frame.x - 3.0,
                    y + 3.0,
                    &fmt(tick),
                    TextStyle::new(7.0)
                        .anchor(Anchor::End)
                        .color(palette::MUTED),
                );
            }
        }
    }
    for target in [scale.target_low, scale.target_high] {
        let y = scale.y(&frame, target);
        canvas.line(
            &[(frame.x, y), (frame.x + frame.width, y)],
            palette::IN_RANGE,
            0.8,
        );
    }
    canvas.line(
        &[
            (frame.x, frame.y),
            (frame.x, frame.y + frame.height),
            (frame.x + frame.width, frame.y + frame.height),
        ],
        palette::MUTED,
        0.6,
    );
    if labels {
        for hour in (0..=24).step_by(3) {
            let x = frame.minute_x(hour as f32 * 60.0);
            let text = match hour {
                0 | 24 => "12am".to_owned(),
                12 => "12pm".to_owned(),
                h if h < 12 => format!("{h}am"),
                h => format!("{}pm", h - 12),
            };
            canvas.text(
                x,
                frame.y + frame.height + 9.0,
                &text,
                TextStyle::new(7.0)
                    .anchor(Anchor::Middle)
                    .color(palette::MUTED),
            );
        }
    }
}

/// The ambulatory glucose profile: 5–95 % and 25–75 % bands and the median, by time of day.
pub fn agp(canvas: &mut dyn Canvas, frame: Frame, bins: &[AgpBin], scale: &GlucoseScale) {
    glucose_axes(canvas, frame, scale, true);
    if bins.is_empty() {
        canvas.text(
            frame.x + frame.width / 2.0,
            frame.y + frame.height / 2.0,
            "No CGM data in this period",
            TextStyle::new(10.0)
                .anchor(Anchor::Middle)
                .color(palette::MUTED),
        );
        return;
    }
    let x = |bin: &AgpBin| frame.minute_x(bin.minute_of_day as f32 + 15.0);
    let y = |v: f64| scale.y(&frame, v as f32);
    let band = |low: fn(&AgpBin) -> f64, high: fn(&AgpBin) -> f64| {
        let mut points: Vec<(f32, f32)> = bins.iter().map(|b| (x(b), y(high(b)))).collect();
        points.extend(bins.iter().rev().map(|b| (x(b), y(low(b)))));
        points
    };
    canvas.polygon(&band(|b| b.p5, |b| b.p95), palette::OUTER_BAND);
    canvas.polygon(&band(|b| b.p25, |b| b.p75), palette::INNER_BAND);
    let median: Vec<(f32, f32)> = bins.iter().map(|b| (x(b), y(b.p50))).collect();
    canvas.line(&median, palette::MEDIAN, 1.6);
    if let Some(last) = bins.last() {
        let labels = [
            ("95%", last.p95),
            ("75%", last.p75),
            ("50%", last.p50),
            ("25%", last.p25),
            ("5%", last.p5),
        ];
        let mut previous = f32::MIN;
        for (label, value) in labels {
            let at = y(value).max(previous + 8.0);
            previous = at;
            canvas.text(
                frame.x + frame.width + 3.0,
                at + 3.0,
                label,
                TextStyle::new(7.0).color(palette::MUTED),
            );
        }
    }
}

/// Two AGPs on one chart: this period's as [`agp`] draws it, and over it the previous period's median
/// (dashed, 1.4 pt) and its 25 % and 75 % lines (dashed, thin), with a legend above the chart.
pub fn agp_comparison(
    canvas: &mut dyn Canvas,
    frame: Frame,
    this: &[AgpBin],
    previous: &[AgpBin],
    scale: &GlucoseScale,
) {
    agp(canvas, frame, this, scale);
    let x = |bin: &AgpBin| frame.minute_x(bin.minute_of_day as f32 + 15.0);
    let y = |v: f64| scale.y(&frame, v as f32);
    type Percentile = fn(&AgpBin) -> f64;
    let lines: [(Percentile, f32); 3] = [(|b| b.p25, 0.6), (|b| b.p75, 0.6), (|b| b.p50, 1.4)];
    for (value, width) in lines {
        for pair in previous.windows(2) {
            canvas.dashed_line(
                (x(&pair[0]), y(value(&pair[0]))),
                (x(&pair[1]), y(value(&pair[1]))),
                palette::PREVIOUS,
                width,
            );
        }
    }
    let legend_y = frame.y - 4.0;
    canvas.line(
        &[(frame.x, legend_y - 3.0), (frame.x + 16.0, legend_y - 3.0)],
        palette::MEDIAN,
        1.6,
    );
    canvas.text(
        frame.x + 20.0,
        legend_y,
        "This period: median, 25–75 % and 5–95 %",
        TextStyle::new(7.5),
    );
    canvas.dashed_line(
        (frame.x + 210.0, legend_y - 3.0),
        (frame.x + 226.0, legend_y - 3.0),
        palette::PREVIOUS,
        1.4,
    );
    canvas.text(
        frame.x + 230.0,
        legend_y,
        if previous.is_empty() {
            "Previous period: no CGM data"
        } else {
            "Previous period: median (dashed), 25 % and 75 % (thin dashed)"
        },
        TextStyle::new(7.5),
    );
}

/// Pieces of a trace without gaps longer than `max_gap` minutes.
fn segments(points: &[Point], max_gap: u16) -> Vec<&[Point]> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for i in 1..points.len() {
        if points[i].minute.saturating_sub(points[i - 1].minute) > max_gap {
            pieces.push(&points[start..i]);
            start = i;
        }
    }
    if start < points.len() {
        pieces.push(&points[start..]);
    }
    pieces
}

fn trace(
    canvas: &mut dyn Canvas,
    frame: Frame,
    points: &[Point],
    scale: &GlucoseScale,
    width: f32,
) {
    for piece in segments(points, 30) {
        let line: Vec<(f32, f32)> = piece
            .iter()
            .map(|p| {
                (
                    frame.minute_x(f32::from(p.minute)),
                    scale.y(&frame, p.value),
                )
            })
            .collect();
        if line.len() == 1 {
            canvas.dot(line[0].0, line[0].1, width, palette::TRACE);
        } else {
            canvas.line(&line, palette::TRACE, width);
        }
    }
}

/// One small daily glucose profile (the AGP report's daily views): the day's trace in its target band.
pub fn day_profile(
    canvas: &mut dyn Canvas,
    frame: Frame,
    label: &str,
    day: &DayDetail,
    scale: &GlucoseScale,
) {
    canvas.text(frame.x + 2.0, frame.y - 3.0, label, TextStyle::new(7.0));
    glucose_axes(canvas, frame, scale, false);
    trace(canvas, frame, &day.cgm, scale, 0.7);
}

/// Daily glucose profiles as a grid of tiles, seven a row (a week), each labelled with its day and
/// its time in range, over the target band. `tile_height` is the chart's height; each row also takes
/// 12 pt for its labels and `row_gap` below.
pub fn profile_grid(
    canvas: &mut dyn Canvas,
    frame: Frame,
    days: &[(&DaySummary, &DayDetail)],
    scale: &GlucoseScale,
    tile_height: f32,
    row_gap: f32,
) {
    let cell_width = frame.width / 7.0;
    for (i, (summary, detail)) in days.iter().enumerate() {
        let (column, row) = ((i % 7) as f32, (i / 7) as f32);
        let label = match summary.in_range_percent {
            Some(share) => format!("{} · {share:.0} %", summary.date.strftime("%a %-d %b")),
            None => summary.date.strftime("%a %-d %b").to_string(),
        };
        day_profile(
            canvas,
            Frame::new(
                frame.x + column * cell_width,
                frame.y + 12.0 + row * (tile_height + 12.0 + row_gap),
                cell_width - 6.0,
                tile_height,
            ),
            &label,
            detail,
            scale,
        );
    }
}

/// The last `count` days of a report with their traces, oldest first.
pub fn last_days<'r>(
    days: &'r [DaySummary],
    detail: &'r [DayDetail],
    count: usize,
) -> Vec<(&'r DaySummary, &'r DayDetail)> {
    let all: Vec<_> = days.iter().zip(detail).collect();
    all[all.len().saturating_sub(count)..].to_vec()
}

/// A day in detail: CGM and meter on the glucose chart with carbs above it, boluses and basal below.
pub fn day_detail(canvas: &mut dyn Canvas, frame: Frame, day: &DayDetail, scale: &GlucoseScale) {
    let carbs_row = 12.0;
    let insulin_height = (frame.height * 0.28).max(36.0);
    let glucose = Frame::new(
        frame.x,
        frame.y + carbs_row,
        frame.width,
        frame.height - carbs_row - insulin_height - 14.0,
    );
    glucose_axes(canvas, glucose, scale, true);
    trace(canvas, glucose, &day.cgm, scale, 1.0);
    for reading in &day.meter {
        let (x, y) = (
            glucose.minute_x(f32::from(reading.minute)),
            scale.y(&glucose, reading.value),
        );
        canvas.dot(x, y, 2.6, palette::WHITE);
        canvas.dot(x, y, 2.0, palette::METER);
    }
    for meal in &day.carbs {
        let x = glucose.minute_x(f32::from(meal.minute));
        canvas.dot(x, frame.y + 4.0, 2.2, palette::CARBS);
        canvas.text(
            x + 3.0,
            frame.y + 7.0,
            &format!("{}g", meal.value.round()),
            TextStyle::new(6.5).color(palette::CARBS),
        );
    }
    // Insulin strip: basal rate as a step line, boluses as bars, labelled when not tiny.
    let strip = Frame::new(
        frame.x,
        frame.y + frame.height - insulin_height,
        frame.width,
        insulin_height,
    );
    canvas.line(
        &[
            (strip.x, strip.y + strip.height),
            (strip.x + strip.width, strip.y + strip.height),
        ],
        palette::MUTED,
        0.6,
    );
    let max_rate = day
        .basal
        .iter()
        .map(|s| s.rate)
        .fold(0.0f32, f32::max)
        .max(0.5);
    let basal_height = strip.height * 0.45;
    let mut steps = Vec::with_capacity(day.basal.len() * 2);
    for step in &day.basal {
        let y = strip.y + strip.height - step.rate / max_rate * basal_height;
        steps.push((strip.minute_x(f32::from(step.from_minute)), y));
        steps.push((strip.minute_x(f32::from(step.to_minute)), y));
    }
    canvas.line(&steps, palette::BASAL, 1.0);
    canvas.text(
        strip.x - 3.0,
        strip.y + strip.height - basal_height + 3.0,
        &format!("{} U/h", fmt((max_rate * 100.0).round() / 100.0)),
        TextStyle::new(6.0)
            .anchor(Anchor::End)
            .color(palette::BASAL),
    );
    let max_bolus = day
        .boluses
        .iter()
        .map(|b| b.value)
        .fold(0.0f32, f32::max)
        .max(1.0);
    for bolus in &day.boluses {
        let x = strip.minute_x(f32::from(bolus.minute));
        let height = (bolus.value / max_bolus * strip.height * 0.9).max(1.0);
        canvas.rect(
            x - 1.0,
            strip.y + strip.height - height,
            2.0,
            height,
            palette::BOLUS,
        );
        if bolus.value >= 1.0 {
            canvas.text(
                x + 2.0,
                strip.y + strip.height - height + 5.0,
                &format!("{}U", fmt((bolus.value * 10.0).round() / 10.0)),
                TextStyle::new(6.0).color(palette::BOLUS),
            );
        }
    }
}

/// Insulin per day (basal and bolus stacked) and carbs per day, as bars over the period.
pub fn daily_totals(canvas: &mut dyn Canvas, frame: Frame, days: &[DaySummary]) {
    if days.is_empty() {
        return;
    }
    let half = (frame.height - 16.0) / 2.0;
    let insulin = Frame::new(frame.x, frame.y + 10.0, frame.width, half - 6.0);
    let carbs = Frame::new(frame.x, frame.y + half + 22.0, frame.width, half - 6.0);
    let step = frame.width / days.len() as f32;
    let bar = (step * 0.7).max(0.8);
    let max_insulin = days
        .iter()
        .map(|d| (d.basal_units + d.automatic_units + d.bolus_units) as f32)
        .fold(1.0f32, f32::max);
    let max_carbs = days
        .iter()
        .map(|d| d.carbs_grams as f32)
        .fold(10.0f32, f32::max);
    let title = format!("Insulin per day (units) · top {}", fmt(max_insulin.round()));
    canvas.text(
        insulin.x,
        insulin.y - 3.0,
        &title,
        TextStyle::new(7.5).color(palette::MUTED),
    );
    let legend_x = insulin.x + 170.0;
    let mut legend = vec![("basal", palette::BASAL), ("bolus", palette::BOLUS)];
    if days.iter().any(|d| d.automatic_units > 0.0) {
        legend.insert(1, ("automatic", palette::AUTOMATIC));
    }
    for (i, (label, color)) in legend.into_iter().enumerate() {
        let x = legend_x + i as f32 * 50.0;
        canvas.rect(x, insulin.y - 9.0, 7.0, 7.0, color);
        canvas.text(x + 10.0, insulin.y - 3.0, label, TextStyle::new(7.5));
    }
    canvas.text(
        carbs.x,
        carbs.y - 3.0,
        &format!("Carbohydrate per day (g) · top {}", fmt(max_carbs.round())),
        TextStyle::new(7.5).color(palette::MUTED),
    );
    for (i, day) in days.iter().enumerate() {
        let x = frame.x + step * i as f32 + (step - bar) / 2.0;
        let basal = day.basal_units as f32 / max_insulin * insulin.height;
        let automatic = day.automatic_units as f32 / max_insulin * insulin.height;
        let bolus = day.bolus_units as f32 / max_insulin * insulin.height;
        let bottom = insulin.y + insulin.height;
        canvas.rect(x, bottom - basal, bar, basal, palette::BASAL);
        canvas.rect(
            x,
            bottom - basal - automatic,
            bar,
            automatic,
            palette::AUTOMATIC,
        );
        canvas.rect(
            x,
            bottom - basal - automatic - bolus,
            bar,
            bolus,
            palette::BOLUS,
        );
        let grams = day.carbs_grams as f32 / max_carbs * carbs.height;
        canvas.rect(
            x,
            carbs.y + carbs.height - grams,
            bar,
            grams,
            palette::CARBS,
        );
    }
    for chart in [insulin, carbs] {
        canvas.line(
            &[
                (chart.x, chart.y + chart.height),
                (chart.x + chart.width, chart.y + chart.height),
            ],
            palette::MUTED,
            0.6,
        );
    }
}

/// Carbohydrate by time of day: four bars (night, morning, afternoon, evening), grams per day.
pub fn carbs_by_time(canvas: &mut dyn Canvas, frame: Frame, grams: &[f64; 4]) {
    let labels = [
        "Night 0–6",
        "Morning 6–12",
        "Afternoon 12–18",
        "Evening 18–24",
    ];
    let max = grams.iter().copied().fold(10.0f64, f64::max) as f32;
    let step = frame.width / 4.0;
    let chart_height = frame.height - 22.0;
    for (i, (label, value)) in labels.iter().zip(grams).enumerate() {
        let x = frame.x + step * i as f32;
        let height = *value as f32 / max * chart_height;
        let bottom = frame.y + chart_height;
        canvas.rect(
            x + step * 0.2,
            bottom - height,
            step * 0.6,
            height,
            palette::CARBS,
        );
        canvas.text(
            x + step / 2.0,
            bottom - height - 3.0,
            &format!("{} g", value.round()),
            TextStyle::new(8.0).anchor(Anchor::Middle),
        );
        canvas.text(
            x + step / 2.0,
            frame.y + frame.height - 8.0,
            label,
            TextStyle::new(7.5)
                .anchor(Anchor::Middle)
                .color(palette::MUTED),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_break_at_gaps_longer_than_half_an_hour() {
        let p = |minute| Point {
            minute,
            value: 100.0,
        };
        let points = [p(0), p(5), p(10), p(60), p(65), p(200)];
        let pieces = segments(&points, 30);
        assert_eq!(
            pieces.iter().map(|s| s.len()).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );
        assert!(segments(&[], 30).is_empty());
    }

    #[test]
    fn the_scale_clamps_and_converts() {
        let frame = Frame::new(0.0, 0.0, 100.0, 100.0);
        let mg = GlucoseScale::new(Units::MgDl, 70.0, 180.0);
        assert_eq!(mg.y(&frame, 0.0), 100.0);
        assert_eq!(mg.y(&frame, 400.0), 0.0);
        assert_eq!(mg.y(&frame, 600.0), 0.0, "off the chart stays on it");
        let mmol = GlucoseScale::new(Units::MmolL, 3.9, 10.0);
        assert_eq!(mmol.max, 22.2);
        assert_eq!(mmol.ticks(), [3.0, 3.9, 10.0, 13.9]);
        let pregnancy = GlucoseScale::new(Units::MgDl, 63.0, 140.0);
        assert_eq!(pregnancy.ticks(), [54.0, 63.0, 140.0, 250.0]);
    }

    #[test]
    fn a_small_chart_labels_the_target_band_before_54() {
        let mut svg = crate::canvas::Svg::new(200.0, 60.0, "axes");
        let scale = GlucoseScale::new(Units::MgDl, 70.0, 180.0);
        agp(&mut svg, Frame::new(20.0, 0.0, 180.0, 50.0), &[], &scale);
        let svg = svg.finish();
        for label in [">70</text>", ">180</text>"] {
            assert!(svg.contains(label), "{label}");
        }
        assert!(!svg.contains(">54</text>"), "54 is 1.8 pt below 70 here");
        let mut tall = crate::canvas::Svg::new(200.0, 300.0, "axes");
        agp(&mut tall, Frame::new(20.0, 0.0, 180.0, 280.0), &[], &scale);
        assert!(tall.finish().contains(">54</text>"), "room for all four");
    }
}
