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
            if i > 0 {
                self.body.push(' ');
            }
            push_tenths(&mut self.body, *x);
            self.body.push(',');
            push_tenths(&mut self.body, *y);
        }
    }

    /// ` name="1.5"`: an attribute with a coordinate to a tenth.
    fn attribute(&mut self, name: &str, value: f32) {
        self.body.push(' ');
        self.body.push_str(name);
        self.body.push_str("=\"");
        push_tenths(&mut self.body, value);
        self.body.push('"');
    }

    /// ` fill="#rrggbb"` or another colour attribute.
    fn color(&mut self, name: &str, color: Color) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.body.push(' ');
        self.body.push_str(name);
        self.body.push_str("=\"#");
        for byte in [color.0, color.1, color.2] {
            self.body.push(char::from(HEX[usize::from(byte >> 4)]));
            self.body.push(char::from(HEX[usize::from(byte & 15)]));
        }
        self.body.push('"');
    }
}

/// Writes a number rounded to one decimal ("12.3", "-0.5", "7.0") without the general float
/// formatter: SVG pages write tens of thousands of coordinates, and this is several times faster
/// than `{:.1}`.
pub(crate) fn push_tenths(out: &mut String, value: f32) {
    let tenths = (f64::from(value) * 10.0).round();
    if !tenths.is_finite() {
        out.push('0');
        return;
    }
    let tenths = tenths as i64;
    if tenths < 0 {
        out.push('-');
    }
    let magnitude = tenths.unsigned_abs();
    for digit in decimal_digits(magnitude / 10, &mut [0; 20]) {
        out.push(char::from(*digit));
    }
    out.push('.');
    out.push(char::from(b'0' + (magnitude % 10) as u8));
}

/// The decimal digits of `value` (ASCII), written into `buffer`: a `u64` has at most 20.
pub(crate) fn decimal_digits(value: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let (mut at, mut rest) = (buffer.len(), value);
    loop {
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &buffer[at..]
}

impl Canvas for Svg {
    fn rect(&mut self, x: f32, y: f32, width: f32, height: f32, fill: Color) {
        self.body.push_str("<rect");
        self.attribute("x", x);
        self.attribute("y", y);
        self.attribute("width", width);
        self.attribute("height", height);
        self.color("fill", fill);
        self.body.push_str("/>");
    }

    fn line(&mut self, points: &[(f32, f32)], stroke: Color, width: f32) {
        if points.len() < 2 {
            return;
        }
        self.body.push_str(r#"<polyline fill="none" points=""#);
        self.points(points);
        self.body.push('"');
        self.color("stroke", stroke);
        let _ = write!(
            self.body,
            r#" stroke-width="{width}" stroke-linejoin="round"/>"#
        );
    }

    fn dashed_line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Color, width: f32) {
        self.body.push_str("<line");
        self.attribute("x1", from.0);
        self.attribute("y1", from.1);
        self.attribute("x2", to.0);
        self.attribute("y2", to.1);
        self.color("stroke", stroke);
        let _ = write!(
            self.body,
            r#" stroke-width="{width}" stroke-dasharray="3 2"/>"#
        );
    }

    fn polygon(&mut self, points: &[(f32, f32)], fill: Color) {
        if points.len() < 3 {
            return;
        }
        self.body.push_str(r#"<polygon points=""#);
        self.points(points);
        self.body.push('"');
        self.color("fill", fill);
        self.body.push_str("/>");
    }

    fn dot(&mut self, x: f32, y: f32, radius: f32, fill: Color) {
        self.body.push_str("<circle");
        self.attribute("cx", x);
        self.attribute("cy", y);
        let _ = write!(self.body, r#" r="{radius}""#);
        self.color("fill", fill);
        self.body.push_str("/>");
    }

    fn text(&mut self, x: f32, y: f32, text: &str, style: TextStyle) {
        let anchor = match style.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        self.body.push_str("<text");
        self.attribute("x", x);
        self.attribute("y", y);
        let _ = write!(
            self.body,
            r#" font-size="{}" text-anchor="{anchor}"{}"#,
            style.size,
            if style.bold {
                r#" font-weight="bold""#
            } else {
                ""
            }
        );
        self.color("fill", style.color);
        self.body.push('>');
        self.body.push_str(&escape(text));
        self.body.push_str("</text>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_to_a_tenth_like_the_formatter() {
        for value in [
            0.0f32, 0.04, 0.05, 1.25, 12.34, 99.96, -0.5, -0.04, -12.36, 1234.5, 595.0,
        ] {
            let mut out = String::new();
            push_tenths(&mut out, value);
            let expected = format!("{:.1}", (f64::from(value) * 10.0).round() / 10.0);
            assert_eq!(out, expected.replace("-0.0", "0.0"), "{value}");
        }
        let mut out = String::new();
        push_tenths(&mut out, f32::NAN);
        assert_eq!(out, "0");
    }

    #[test]
    fn an_svg_rectangle_has_its_coordinates_and_colour() {
        let mut svg = Svg::new(10.0, 10.0, "a chart");
        svg.rect(1.04, 2.0, 3.45, 4.0, Color(0x2e, 0x8b, 0x57));
        assert!(
            svg.finish()
                .contains(r##"<rect x="1.0" y="2.0" width="3.5" height="4.0" fill="#2e8b57"/>"##)
        );
    }
}
