//! The drawing surface the charts use: a few shapes and text in points, origin top left, y down. One
//! implementation writes SVG (the HTML report), the other a PDF content stream (`pdf.rs`), so every
//! chart is drawn by the same code in both formats.

use std::fmt::Write;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    pub fn unit(self) -> (f32, f32, f32) {
        (
            f32::from(self.0) / 255.0,
            f32::from(self.1) / 255.0,
            f32::from(self.2) / 255.0,
        )
    }
}

/// The report's palette: the consensus range colours (AGP report conventions) and chart inks.
pub mod palette {
    use super::Color;
    pub const VERY_LOW: Color = Color(0x9b, 0x1c, 0x1c);
    pub const LOW: Color = Color(0xe0, 0x3c, 0x31);
    pub const IN_RANGE: Color = Color(0x2e, 0x8b, 0x57);
    pub const HIGH: Color = Color(0xf2, 0xb1, 0x34);
    pub const VERY_HIGH: Color = Color(0xe0, 0x7b, 0x00);
    pub const INK: Color = Color(0x1f, 0x29, 0x37);
    pub const MUTED: Color = Color(0x6b, 0x72, 0x80);
    pub const GRID: Color = Color(0xd1, 0xd5, 0xdb);
    pub const TARGET_BAND: Color = Color(0xe3, 0xf2, 0xe8);
    pub const OUTER_BAND: Color = Color(0xbf, 0xd7, 0xf0);
    pub const INNER_BAND: Color = Color(0x6f, 0x9f, 0xd8);
    pub const MEDIAN: Color = Color(0x1e, 0x3a, 0x8a);
    pub const TRACE: Color = Color(0x25, 0x63, 0xeb);
    pub const METER: Color = Color(0x7c, 0x2d, 0x12);
    pub const BOLUS: Color = Color(0x6d, 0x28, 0xd9);
    pub const BASAL: Color = Color(0x0f, 0x76, 0x6e);
    /// The pump automation's insulin (780G SmartGuard), between basal and bolus in the daily bars.
    pub const AUTOMATIC: Color = Color(0x5e, 0xa5, 0xd8);
    pub const CARBS: Color = Color(0xb4, 0x53, 0x09);
    pub const WHITE: Color = Color(0xff, 0xff, 0xff);
    /// The previous period's AGP lines on the comparison page.
    pub const PREVIOUS: Color = Color(0xb4, 0x23, 0x18);
}

/// Where a text's `x` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    pub size: f32,
    pub anchor: Anchor,
    pub bold: bool,
    pub color: Color,
}

impl TextStyle {
    pub fn new(size: f32) -> Self {
        Self {
            size,
            anchor: Anchor::Start,
            bold: false,
            color: palette::INK,
        }
    }
    pub fn anchor(mut self, anchor: Anchor) -> Self {
        self.anchor = anchor;
        self
    }
    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
    pub fn color(mut self, color: Color) -> Self {
        self.color = color;
        self
    }
}

/// What charts draw on. Coordinates in points (1/72 inch), origin top left, y down; `y` of a text is
/// its baseline.
pub trait Canvas {
    fn rect(&mut self, x: f32, y: f32, width: f32, height: f32, fill: Color);
    fn line(&mut self, points: &[(f32, f32)], stroke: Color, width: f32);
    fn dashed_line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Color, width: f32);
    fn polygon(&mut self, points: &[(f32, f32)], fill: Color);
    fn dot(&mut self, x: f32, y: f32, radius: f32, fill: Color);
    fn text(&mut self, x: f32, y: f32, text: &str, style: TextStyle);
}

pub use glucolink_core::messages::escape_html as escape;

/// An `<svg>` element under construction.
pub struct Svg {
    body: String,
    width: f32,
    height: f32,
    label: String,
}

impl Svg {
    /// A chart of this size; `label` is what a screen reader says of it.
    pub fn new(width: f32, height: f32, label: &str) -> Self {
        Self {
            body: String::with_capacity(16 * 1024),
            width,
            height,
            label: escape(label),
        }
    }

    pub fn finish(self) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}" font-family="Helvetica, Arial, sans-serif">{body}</svg>"#,
            w = self.width,
            h = self.height,
            label = self.label,
            body = self.body
        )
    }

    fn points(&mut self, points: &[(f32, f32)]) {
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(
                self.body,
                "{}{:.1},{:.1}",
                if i == 0 { "" } else { " " },
                x,
                y
            );
        }
    }
}

impl Canvas for Svg {
    fn rect(&mut self, x: f32, y: f32, width: f32, height: f32, fill: Color) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}" fill="{}"/>"#,
            fill.hex()
        );
    }

    fn line(&mut self, points: &[(f32, f32)], stroke: Color, width: f32) {
        if points.len() < 2 {
            return;
        }
        self.body.push_str(r#"<polyline fill="none" points=""#);
        self.points(points);
        let _ = write!(
            self.body,
            r#"" stroke="{}" stroke-width="{width}" stroke-linejoin="round"/>"#,
            stroke.hex()
        );
    }

    fn dashed_line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Color, width: f32) {
        let _ = write!(
            self.body,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="{width}" stroke-dasharray="3 2"/>"#,
            from.0,
            from.1,
            to.0,
            to.1,
            stroke.hex()
        );
    }

    fn polygon(&mut self, points: &[(f32, f32)], fill: Color) {
        if points.len() < 3 {
            return;
        }
        self.body.push_str(r#"<polygon points=""#);
        self.points(points);
        let _ = write!(self.body, r#"" fill="{}"/>"#, fill.hex());
    }

    fn dot(&mut self, x: f32, y: f32, radius: f32, fill: Color) {
        let _ = write!(
            self.body,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="{radius}" fill="{}"/>"#,
            fill.hex()
        );
    }

    fn text(&mut self, x: f32, y: f32, text: &str, style: TextStyle) {
        let anchor = match style.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{}" text-anchor="{anchor}"{} fill="{}">{}</text>"#,
            style.size,
            if style.bold {
                r#" font-weight="bold""#
            } else {
                ""
            },
            style.color.hex(),
            escape(text)
        );
    }
}
