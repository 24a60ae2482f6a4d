//! The report as a PDF, written in Rust with `pdf-writer` (no browser): A4 pages with the same sections
//! and charts as the HTML. Text is drawn with the embedded fonts of [`crate::fonts`] as CID fonts
//! (Identity-H, the original glyph ids as CIDs, a CIDToGIDMap to the subset's glyphs), each font
//! subset to the glyphs the document uses (`subsetter`) and with a ToUnicode map, so every name prints
//! as typed and copies and searches as text. Content streams and fonts are deflated.

use glucolink_core::report::build::{ADJUNCT_NOTICE, Report};
use std::collections::BTreeMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

use crate::canvas::{Anchor, Canvas, Color, TextStyle, decimal_digits, palette};
use crate::fonts::{self, Font, text_width};
use crate::layout::{
    self, Block, CAPTION_TEXT, CONTENT_WIDTH, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, Page, Placed,
    ROW_HEIGHT, STEP_INDENT, STEP_LINE, STEP_TEXT, TABLE_TEXT, Table, WARNING_LINE, WARNING_TEXT,
    wrap,
};
use crate::{Cover, header_lines, readable_date};

/// A content stream's operators, written directly: numbers to a hundredth without the general float
/// formatter (a 90-day report writes hundreds of thousands of them).
struct Ops {
    bytes: Vec<u8>,
}

impl Ops {
    /// A number rounded to `decimals` places, without trailing zeros ("12", "12.5", "0.25"), then a
    /// space.
    fn number(&mut self, value: f32, decimals: u32) -> &mut Self {
        let scale = 10i64.pow(decimals);
        let scaled = (f64::from(value) * scale as f64).round();
        let scaled = if scaled.is_finite() { scaled as i64 } else { 0 };
        if scaled < 0 {
            self.bytes.push(b'-');
        }
        let magnitude = scaled.unsigned_abs();
        let (whole, mut fraction) = (magnitude / scale as u64, magnitude % scale as u64);
        self.bytes
            .extend_from_slice(decimal_digits(whole, &mut [0; 20]));
        if fraction > 0 {
            self.bytes.push(b'.');
            let mut divisor = scale as u64 / 10;
            while fraction > 0 {
                self.bytes.push(b'0' + (fraction / divisor) as u8);
                fraction %= divisor;
                divisor /= 10;
            }
        }
        self.bytes.push(b' ');
        self
    }

    /// A coordinate, to a hundredth of a point (0.0035 mm).
    fn at(&mut self, value: f32) -> &mut Self {
        self.number(value, 2)
    }

    fn op(&mut self, operator: &str) -> &mut Self {
        self.bytes.extend_from_slice(operator.as_bytes());
        self.bytes.push(b'\n');
        self
    }

    /// A colour as three components to three decimals (a step of 1/255 is 0.0039).
    fn color(&mut self, color: Color, operator: &str) -> &mut Self {
        let (r, g, b) = color.unit();
        self.number(r, 3).number(g, 3).number(b, 3).op(operator)
    }

    /// Glyph ids as a hex string and the show operator: `<0024004B> Tj`.
    fn show(&mut self, font: Font, size: f32, glyphs: &[u16]) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.bytes.push(b'/');
        self.bytes.extend_from_slice(font.resource_name());
        self.bytes.push(b' ');
        self.number(size, 2).op("Tf");
        self.bytes.push(b'<');
        for glyph in glyphs {
            for byte in glyph.to_be_bytes() {
                self.bytes.push(HEX[usize::from(byte >> 4)]);
                self.bytes.push(HEX[usize::from(byte & 15)]);
            }
        }
        self.bytes.extend_from_slice(b"> Tj\n");
    }
}

/// One page's content stream, drawn with top-left coordinates, and the glyphs it used.
struct PdfCanvas {
    content: Ops,
    /// Every glyph drawn on the page and the character it stands for (for the ToUnicode map).
    glyphs: BTreeMap<(Font, u16), char>,
    /// The graphics state already set, so that it is written only when it changes.
    fill: Option<Color>,
    stroke: Option<(Color, f32)>,
}

impl PdfCanvas {
    fn new() -> Self {
        Self {
            content: Ops {
                bytes: Vec::with_capacity(64 * 1024),
            },
            glyphs: BTreeMap::new(),
            fill: None,
            stroke: None,
        }
    }

    fn fill(&mut self, color: Color) {
        if self.fill != Some(color) {
            self.content.color(color, "rg");
            self.fill = Some(color);
        }
    }

    fn stroke(&mut self, color: Color, width: f32) {
        let (old_color, old_width) = self.stroke.unzip();
        if old_color != Some(color) {
            self.content.color(color, "RG");
        }
        if old_width != Some(width) {
            self.content.number(width, 2).op("w");
        }
        self.stroke = Some((color, width));
    }

    fn path(&mut self, points: &[(f32, f32)]) {
        for (i, (x, y)) in points.iter().enumerate() {
            self.content
                .at(*x)
                .at(PAGE_HEIGHT - y)
                .op(if i == 0 { "m" } else { "l" });
        }
    }
}

impl Canvas for PdfCanvas {
    fn rect(&mut self, x: f32, y: f32, width: f32, height: f32, fill: Color) {
        self.fill(fill);
        self.content
            .at(x)
            .at(PAGE_HEIGHT - y - height)
            .at(width)
            .at(height)
            .op("re")
            .op("f");
    }

    fn line(&mut self, points: &[(f32, f32)], stroke: Color, width: f32) {
        if points.len() < 2 {
            return;
        }
        self.stroke(stroke, width);
        self.path(points);
        self.content.op("S");
    }

    fn dashed_line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Color, width: f32) {
        self.stroke(stroke, width);
        self.content.op("[3 2] 0 d");
        self.path(&[from, to]);
        self.content.op("S").op("[] 0 d");
    }

    fn polygon(&mut self, points: &[(f32, f32)], fill: Color) {
        if points.len() < 3 {
            return;
        }
        self.fill(fill);
        self.path(points);
        self.content.op("h").op("f");
    }

    fn dot(&mut self, x: f32, y: f32, radius: f32, fill: Color) {
        // A circle as four Bézier quarters.
        let (cx, cy, r) = (x, PAGE_HEIGHT - y, radius);
        let k = radius * 0.552_284_8;
        self.fill(fill);
        let c = &mut self.content;
        c.at(cx + r).at(cy).op("m");
        for [x1, y1, x2, y2, x3, y3] in [
            [cx + r, cy + k, cx + k, cy + r, cx, cy + r],
            [cx - k, cy + r, cx - r, cy + k, cx - r, cy],
            [cx - r, cy - k, cx - k, cy - r, cx, cy - r],
            [cx + k, cy - r, cx + r, cy - k, cx + r, cy],
        ] {
            c.at(x1).at(y1).at(x2).at(y2).at(x3).at(y3).op("c");
        }
        c.op("f");
    }

    fn text(&mut self, x: f32, y: f32, text: &str, style: TextStyle) {
        let text = fonts::for_print(text);
        let width = text_width(&text, style.size, style.bold);
        let x = match style.anchor {
            Anchor::Start => x,
            Anchor::Middle => x - width / 2.0,
            Anchor::End => x - width,
        };
        self.fill(style.color);
        self.content.op("BT").at(x).at(PAGE_HEIGHT - y).op("Td");
        // One run per font: the glyph ids in that font (Identity-H, two bytes each).
        let mut run: Option<(Font, Vec<u16>)> = None;
        for c in text.chars() {
            let Some(glyph) = fonts::glyph(c, style.bold) else {
                continue;
            };
            self.glyphs
                .entry((glyph.font, glyph.id))
                .or_insert(if c.is_whitespace() { ' ' } else { c });
            match &mut run {
                Some((font, ids)) if *font == glyph.font => ids.push(glyph.id),
                _ => {
                    if let Some((font, ids)) = run.take() {
                        self.content.show(font, style.size, &ids);
                    }
                    run = Some((glyph.font, vec![glyph.id]));
                }
            }
        }
        if let Some((font, ids)) = run {
            self.content.show(font, style.size, &ids);
        }
        self.content.op("ET");
    }
}

/// A table in its box: the caption, the bold heading row, then the rows, each on a rule; the last
/// cell of a goal's row in green when met, red when not.
fn table(canvas: &mut PdfCanvas, placed: &Placed<'_>, table: &Table) {
    let mut top = placed.y;
    if let Some(caption) = &table.caption {
        let style = TextStyle::new(CAPTION_TEXT).bold();
        let style = fitted(caption, style, placed.width);
        canvas.text(placed.x, top + 10.0, caption, style);
        top += layout::CAPTION_HEIGHT;
    }
    let width: f32 = table.widths.iter().sum();
    let header = (!table.header.is_empty()).then_some((&table.header, None));
    for (i, (cells, met)) in header
        .into_iter()
        .chain(table.rows.iter().map(|r| (&r.cells, r.met)))
        .enumerate()
    {
        let mut x = placed.x;
        let last = cells.len().saturating_sub(1);
        for (j, (cell, column)) in cells.iter().zip(&table.widths).enumerate() {
            let mut style = TextStyle::new(TABLE_TEXT);
            if i == 0 && header.is_some() {
                style = style.bold();
            }
            match met {
                Some(true) if j == last => style = style.bold().color(MET),
                Some(false) if j == last => style = style.bold().color(palette::VERY_LOW),
                _ => {}
            }
            // A cell never runs into the next one: a long value prints smaller.
            style = fitted(cell, style, column - 4.0);
            canvas.text(x, top + 8.5, cell, style);
            x += column;
        }
        top += ROW_HEIGHT;
        canvas.line(
            &[(placed.x, top), (placed.x + width, top)],
            palette::GRID,
            0.4,
        );
    }
}

/// The style with a text size at which `text` fits `width` points: its own, or smaller for a long
/// text.
fn fitted(text: &str, mut style: TextStyle, width: f32) -> TextStyle {
    let natural = text_width(text, style.size, style.bold);
    if natural > width {
        style.size *= width / natural;
    }
    style
}

/// "Met: Yes" in the report's green (the HTML's colour).
const MET: Color = Color(0x16, 0x65, 0x34);

/// One block in its box.
fn block(canvas: &mut PdfCanvas, placed: &Placed<'_>) {
    match &placed.block {
        Block::Warning(text) => {
            for (i, line) in wrap(text, WARNING_TEXT, placed.width, true)
                .iter()
                .enumerate()
            {
                canvas.text(
                    placed.x,
                    placed.y + 8.5 + i as f32 * WARNING_LINE,
                    line,
                    TextStyle::new(WARNING_TEXT)
                        .bold()
                        .color(palette::VERY_HIGH),
                );
            }
        }
        Block::Paragraph(text) => {
            canvas.text(placed.x, placed.y + 10.0, text, TextStyle::new(10.0));
        }
        Block::Subheading(text) => {
            canvas.text(placed.x, placed.y + 11.0, text, TextStyle::new(11.0).bold());
        }
        Block::Steps(steps) => {
            let mut y = placed.y + 10.0;
            for (i, step) in steps.iter().enumerate() {
                let lines = wrap(step, STEP_TEXT, placed.width - STEP_INDENT, false);
                for (j, line) in lines.iter().enumerate() {
                    if j == 0 {
                        canvas.text(
                            placed.x,
                            y,
                            &format!("{}.", i + 1),
                            TextStyle::new(STEP_TEXT),
                        );
                    }
                    canvas.text(placed.x + STEP_INDENT, y, line, TextStyle::new(STEP_TEXT));
                    y += STEP_LINE;
                }
            }
        }
        Block::Table(t) => table(canvas, placed, t),
        Block::Figure(figure) => {
            let caption = layout::caption_height(figure);
            if let Some(text) = &figure.caption {
                let style = TextStyle::new(CAPTION_TEXT).bold();
                let style = fitted(text, style, placed.width);
                canvas.text(placed.x, placed.y + 10.0, text, style);
            }
            figure.chart.draw(
                canvas,
                placed.x,
                placed.y + caption,
                placed.width,
                placed.height - caption,
            );
        }
        Block::Side { blocks, .. } => {
            for inner in blocks {
                block(canvas, inner);
            }
        }
    }
}

/// A page's blocks on a new canvas (its header and footer come when the pages are counted).
fn draw(page: &Page<'_>) -> PdfCanvas {
    let mut canvas = PdfCanvas::new();
    for placed in &page.blocks {
        block(&mut canvas, placed);
    }
    canvas
}

fn header(canvas: &mut PdfCanvas, heading: &str, lines: &[String; 2]) {
    canvas.text(
        MARGIN,
        MARGIN + 4.0,
        "glucolink",
        TextStyle::new(8.0).bold().color(palette::MEDIAN),
    );
    canvas.text(MARGIN, MARGIN + 24.0, heading, TextStyle::new(16.0).bold());
    let who = TextStyle::new(9.5).bold();
    let who = fitted(&lines[0], who, CONTENT_WIDTH);
    canvas.text(MARGIN, MARGIN + 40.0, &lines[0], who);
    // The period line shrinks to fit the page when it is long (mmol/L, ending at the newest data).
    let period = TextStyle::new(8.5).color(palette::MUTED);
    let period = fitted(&lines[1], period, CONTENT_WIDTH);
    canvas.text(MARGIN, MARGIN + 53.0, &lines[1], period);
    canvas.line(
        &[
            (MARGIN, MARGIN + 60.0),
            (PAGE_WIDTH - MARGIN, MARGIN + 60.0),
        ],
        palette::GRID,
        0.8,
    );
}

fn footer(canvas: &mut PdfCanvas, page: usize, pages: usize, generated: &str) {
    let mut y = PAGE_HEIGHT - 52.0;
    canvas.line(
        &[(MARGIN, y - 10.0), (PAGE_WIDTH - MARGIN, y - 10.0)],
        palette::GRID,
        0.6,
    );
    for line in wrap(ADJUNCT_NOTICE, 7.0, CONTENT_WIDTH, false) {
        canvas.text(MARGIN, y, &line, TextStyle::new(7.0).color(palette::MUTED));
        y += 9.0;
    }
    canvas.text(
        MARGIN,
        PAGE_HEIGHT - 22.0,
        generated,
        TextStyle::new(7.0).color(palette::MUTED),
    );
    canvas.text(
        PAGE_WIDTH - MARGIN,
        PAGE_HEIGHT - 22.0,
        &format!("Page {page} of {pages}"),
        TextStyle::new(7.0)
            .anchor(Anchor::End)
            .color(palette::MUTED),
    );
}

/// The whole report as a PDF document.
pub fn report(report: &Report, cover: &Cover<'_>) -> Result<Vec<u8>, PdfError> {
    let title = format!(
        "Glucose report · {} · {} to {}",
        cover.subject.name,
        readable_date(report.period.from),
        readable_date(report.period.to)
    );
    reports(&[(report, cover)], &title)
}

/// Several reports in one PDF (a clinic's batch print: each patient's pages in turn, numbered within
/// the patient's own report), titled `title`.
pub fn reports(items: &[(&Report, &Cover<'_>)], title: &str) -> Result<Vec<u8>, PdfError> {
    /// A page with its header lines, footer and number within its own report.
    struct Printed {
        heading: &'static str,
        canvas: PdfCanvas,
        lines: [String; 2],
        generated: String,
        number: usize,
        of: usize,
    }
    let mut pages: Vec<Printed> = Vec::new();
    for (report, cover) in items {
        let own: Vec<(&'static str, PdfCanvas)> = layout::pages(report, cover)
            .iter()
            .map(|page| (page.heading, draw(page)))
            .collect();
        let lines = header_lines(report, cover.subject);
        let generated = format!(
            "Generated {} UTC",
            cover.generated_at.strftime("%-d %b %Y %H:%M")
        );
        let count = own.len();
        for (i, (heading, canvas)) in own.into_iter().enumerate() {
            pages.push(Printed {
                heading,
                canvas,
                lines: lines.clone(),
                generated: generated.clone(),
                number: i + 1,
                of: count,
            });
        }
    }
    let count = pages.len();
    let mut next = Ref::new(1);
    let (catalog, tree, info) = (next.bump(), next.bump(), next.bump());
    let page_refs: Vec<(Ref, Ref)> = (0..count).map(|_| (next.bump(), next.bump())).collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(page, _)| *page))
        .count(count as i32);
    let mut contents = Vec::with_capacity(count);
    let mut used: BTreeMap<Font, BTreeMap<u16, char>> = BTreeMap::new();
    for Printed {
        heading,
        mut canvas,
        lines,
        generated,
        number,
        of,
    } in pages
    {
        header(&mut canvas, heading, &lines);
        footer(&mut canvas, number, of, &generated);
        for ((font, glyph), c) in std::mem::take(&mut canvas.glyphs) {
            used.entry(font).or_default().entry(glyph).or_insert(c);
        }
        contents.push(canvas.content.bytes);
    }
    let font_refs: Vec<(Font, Ref)> = used.keys().map(|font| (*font, next.bump())).collect();
    for (raw, (page_ref, content_ref)) in contents.into_iter().zip(&page_refs) {
        let mut page = pdf.page(*page_ref);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .contents(*content_ref);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        for (font, font_ref) in &font_refs {
            fonts.pair(Name(font.resource_name()), *font_ref);
        }
        fonts.finish();
        resources.finish();
        page.finish();
        // The fastest level: the 90-day report's 1.3 MB of content in a few milliseconds.
        let compressed = deflate(&raw, Compression::fast())?;
        pdf.stream(*content_ref, &compressed)
            .filter(Filter::FlateDecode);
    }
    for (font, font_ref) in font_refs {
        embed_font(&mut pdf, &mut next, font_ref, font, &used[&font])?;
    }
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("glucolink"));
    pdf.set_file_id((b"glucolink-report".to_vec(), b"glucolink-report".to_vec()));
    let mut bytes = pdf.finish();
    bytes.shrink_to_fit();
    Ok(bytes)
}

/// A PDF that could not be written (an embedded font that does not subset: a broken build).
#[derive(Debug)]
pub struct PdfError(pub String);

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the PDF could not be written: {}", self.0)
    }
}

impl std::error::Error for PdfError {}

const IDENTITY: SystemInfo<'static> = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// Writes one font as a Type 0 font over a TrueType CID font: the subset of the glyphs the document
/// uses, their widths, the map from the content's codes (the font's own glyph ids) to the subset's
/// glyphs, and the ToUnicode map that makes the text searchable and copyable.
fn embed_font(
    pdf: &mut Pdf,
    next: &mut Ref,
    type0: Ref,
    font: Font,
    glyphs: &BTreeMap<u16, char>,
) -> Result<(), PdfError> {
    let loaded = font.face();
    let ids: Vec<u16> = glyphs.keys().copied().collect();
    let remapper = GlyphRemapper::new_from_glyphs_sorted(&ids);
    let subset = subsetter::subset(loaded.data, 0, &remapper)
        .map_err(|e| PdfError(format!("{}: {e:?}", loaded.postscript_name)))?;
    let (cid, descriptor, file, to_unicode, cid_to_gid) = (
        next.bump(),
        next.bump(),
        next.bump(),
        next.bump(),
        next.bump(),
    );
    let base_font = format!("{}+{}", subset_tag(&ids), loaded.postscript_name);
    pdf.type0_font(type0)
        .base_font(Name(base_font.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(to_unicode);
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(base_font.as_bytes()))
        .system_info(IDENTITY)
        .font_descriptor(descriptor)
        .cid_to_gid_map_stream(cid_to_gid);
    let mut widths = cid_font.widths();
    for id in &ids {
        widths.consecutive(*id, [loaded.advance(*id)]);
    }
    widths.finish();
    cid_font.finish();
    let face = &loaded.face;
    let units = |v: i16| loaded.to_pdf_units(f32::from(v));
    let bbox = face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(Name(base_font.as_bytes()))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            units(bbox.x_min),
            units(bbox.y_min),
            units(bbox.x_max),
            units(bbox.y_max),
        ))
        .italic_angle(0.0)
        .ascent(units(face.ascender()))
        .descent(units(face.descender()))
        .cap_height(units(face.capital_height().unwrap_or(face.ascender())))
        .stem_v(if font == Font::Bold { 140.0 } else { 80.0 })
        .font_file2(file);
    let compressed = deflate(&subset, Compression::default())?;
    pdf.stream(file, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), subset.len() as i32);
    // CID (the glyph id in the whole font) → glyph id in the subset, two bytes each.
    let last = usize::from(ids.last().copied().unwrap_or(0));
    let mut map = vec![0u8; 2 * (last + 1)];
    for id in &ids {
        let new = remapper.get(*id).unwrap_or(0);
        let at = 2 * usize::from(*id);
        map[at..at + 2].copy_from_slice(&new.to_be_bytes());
    }
    pdf.stream(cid_to_gid, &deflate(&map, Compression::default())?)
        .filter(Filter::FlateDecode);
    let mut cmap = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
    for (id, c) in glyphs {
        cmap.pair(*id, *c);
    }
    let cmap = cmap.finish();
    pdf.stream(
        to_unicode,
        &deflate(cmap.as_slice(), Compression::default())?,
    )
    .filter(Filter::FlateDecode);
    Ok(())
}

/// Bytes as a zlib stream (`/FlateDecode`).
fn deflate(bytes: &[u8], level: Compression) -> Result<Vec<u8>, PdfError> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(bytes.len() / 3), level);
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| PdfError(format!("compression: {e}")))
}

/// The six capital letters that name a font subset (PDF 32000-1, 9.6.4), from the glyphs it holds.
fn subset_tag(glyphs: &[u16]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for glyph in glyphs {
        for byte in glyph.to_be_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_written_with_short_exact_numbers() {
        let mut ops = Ops { bytes: Vec::new() };
        ops.at(12.0)
            .at(12.504)
            .at(-0.25)
            .at(0.001)
            .at(595.0)
            .op("m");
        ops.color(Color(255, 0, 128), "rg");
        ops.show(Font::Regular, 8.5, &[0x24, 0x4B]);
        assert_eq!(
            String::from_utf8(ops.bytes).expect("ascii"),
            "12 12.5 -0.25 0 595 m\n1 0 0.502 rg\n/F1 8.5 Tf\n<0024004B> Tj\n"
        );
    }

    #[test]
    fn lines_wrap_at_the_width() {
        let lines = wrap(ADJUNCT_NOTICE, 7.0, 200.0, false);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| text_width(l, 7.0, false) <= 200.0));
        assert_eq!(lines.join(" "), ADJUNCT_NOTICE);
    }
}
