//! The fonts of the PDF report and which text they can print. DejaVu Sans (regular and bold) draws
//! Latin with all its extensions, Greek, Cyrillic and the report's signs (≤ ≥ – ·); Droid Sans
//! Fallback draws Chinese and Japanese, and Nanum Gothic Korean. Both are compiled in (`fonts/`, with their licences)
//! and the PDF embeds only the glyphs it uses.
//!
//! Text is not shaped. Scripts whose letters join, reorder or stack with their neighbours (Arabic,
//! Hebrew, the Indic scripts, Thai…) would print wrong without a shaper, so they are never drawn:
//! [`for_print`] replaces each run of such words with a bracketed mark that names the script and
//! points to the HTML report, which shows every name as typed.

use std::borrow::Cow;
use std::sync::LazyLock;

use ttf_parser::{Face, GlyphId};

/// One of the embedded fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Font {
    Regular,
    Bold,
    Cjk,
    Hangul,
}

impl Font {
    /// The name of the font in a page's resources.
    pub(crate) fn resource_name(self) -> &'static [u8] {
        match self {
            Font::Regular => b"F1",
            Font::Bold => b"F2",
            Font::Cjk => b"F3",
            Font::Hangul => b"F4",
        }
    }

    pub(crate) fn face(self) -> &'static LoadedFace {
        &FACES[self as usize]
    }
}

/// A font file and what the PDF needs to know about it.
pub(crate) struct LoadedFace {
    pub(crate) data: &'static [u8],
    pub(crate) face: Face<'static>,
    /// The PostScript name, without spaces.
    pub(crate) postscript_name: &'static str,
}

impl LoadedFace {
    fn load(data: &'static [u8], postscript_name: &'static str) -> Self {
        // The fonts are part of the build and a unit test parses each one; a font that does not parse
        // is a broken build, not bad input.
        let face = Face::parse(data, 0).expect("an embedded font parses");
        Self {
            data,
            face,
            postscript_name,
        }
    }

    /// Font units to PDF glyph space (thousandths of an em).
    pub(crate) fn to_pdf_units(&self, value: f32) -> f32 {
        value * 1000.0 / f32::from(self.face.units_per_em())
    }

    /// The advance of a glyph in thousandths of an em.
    pub(crate) fn advance(&self, glyph: u16) -> f32 {
        self.to_pdf_units(f32::from(
            self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0),
        ))
    }
}

static FACES: LazyLock<[LoadedFace; 4]> = LazyLock::new(|| {
    [
        LoadedFace::load(include_bytes!("../fonts/DejaVuSans.ttf"), "DejaVuSans"),
        LoadedFace::load(
            include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
            "DejaVuSans-Bold",
        ),
        LoadedFace::load(
            include_bytes!("../fonts/DroidSansFallbackFull.ttf"),
            "DroidSansFallback",
        ),
        LoadedFace::load(include_bytes!("../fonts/NanumGothic.ttf"), "NanumGothic"),
    ]
});

/// A character as the PDF draws it: which font, which glyph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Glyph {
    pub(crate) font: Font,
    pub(crate) id: u16,
}

impl Glyph {
    /// The advance in points at a font size.
    pub(crate) fn width(self, size: f32) -> f32 {
        self.font.face().advance(self.id) / 1000.0 * size
    }
}

/// The characters below this code point (Latin, Greek, Cyrillic) are looked up once, in a table.
const TABLE_END: usize = 0x530;

/// The glyphs of the first [`TABLE_END`] characters, regular then bold: a report is mostly these, and
/// a table look-up is several times faster than the fonts' character maps.
static COMMON: LazyLock<Vec<Option<Glyph>>> = LazyLock::new(|| {
    [false, true]
        .into_iter()
        .flat_map(|bold| {
            (0..TABLE_END as u32)
                .map(move |code| char::from_u32(code).and_then(|c| lookup(c, bold)))
        })
        .collect()
});

/// The glyph that prints `c`: DejaVu in the asked weight, then regular DejaVu (bold lacks a few
/// rare letters), then the Chinese and Japanese font, then the Korean one. `None` when no font has
/// it or its script needs shaping.
pub(crate) fn glyph(c: char, bold: bool) -> Option<Glyph> {
    let code = c as usize;
    if code < TABLE_END {
        return COMMON[usize::from(bold) * TABLE_END + code];
    }
    lookup(c, bold)
}

fn lookup(c: char, bold: bool) -> Option<Glyph> {
    if needs_shaping(c).is_some() {
        return None;
    }
    // Any kind of space prints as a space; other control and format characters print nothing.
    let c = if c.is_whitespace() { ' ' } else { c };
    if c.is_control() {
        return None;
    }
    let preferred = if bold { Font::Bold } else { Font::Regular };
    [preferred, Font::Regular, Font::Cjk, Font::Hangul]
        .into_iter()
        .find_map(|font| {
            let id = font.face().face.glyph_index(c)?;
            (id.0 != 0).then_some(Glyph { font, id: id.0 })
        })
}

/// The width of text in points, as the PDF draws it.
pub(crate) fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    text.chars()
        .filter_map(|c| glyph(c, bold))
        .map(|g| g.width(size))
        .sum()
}

/// The script of a character that can only be printed by a text shaper, by its Unicode block.
fn needs_shaping(c: char) -> Option<&'static str> {
    let script = match u32::from(c) {
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => "Hebrew",
        0x0600..=0x06FF | 0x0750..=0x077F | 0x0870..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            "Arabic"
        }
        0x0700..=0x074F => "Syriac",
        0x0780..=0x07BF => "Thaana",
        0x07C0..=0x07FF => "N'Ko",
        0x0900..=0x097F | 0xA8E0..=0xA8FF => "Devanagari",
        0x0980..=0x09FF => "Bengali",
        0x0A00..=0x0A7F => "Gurmukhi",
        0x0A80..=0x0AFF => "Gujarati",
        0x0B00..=0x0B7F => "Odia",
        0x0B80..=0x0BFF => "Tamil",
        0x0C00..=0x0C7F => "Telugu",
        0x0C80..=0x0CFF => "Kannada",
        0x0D00..=0x0D7F => "Malayalam",
        0x0D80..=0x0DFF => "Sinhala",
        0x0E00..=0x0E7F => "Thai",
        0x0E80..=0x0EFF => "Lao",
        0x0F00..=0x0FFF => "Tibetan",
        0x1000..=0x109F => "Myanmar",
        0x1780..=0x17FF | 0x19E0..=0x19FF => "Khmer",
        0x1800..=0x18AF => "Mongolian",
        0x1100..=0x11FF | 0xA960..=0xA97F | 0xD7B0..=0xD7FF => "Hangul Jamo",
        _ => return None,
    };
    Some(script)
}

/// What a word that cannot be printed is written in, for the mark that replaces it.
fn unprintable_script(word: &str) -> Option<&'static str> {
    let mut unprintable = false;
    for c in word.chars() {
        if let Some(script) = needs_shaping(c) {
            return Some(script);
        }
        if glyph(c, false).is_none() && !c.is_control() {
            unprintable = true;
        }
    }
    unprintable.then_some("a script this PDF cannot print")
}

/// Text as the PDF prints it: unchanged when every character can be drawn; otherwise each run of
/// words that cannot be drawn becomes one mark, e.g. `[Arabic script: printed on the HTML report
/// only]`, so a name is never printed with letters missing or replaced.
pub(crate) fn for_print(text: &str) -> Cow<'_, str> {
    if text
        .chars()
        .all(|c| glyph(c, false).is_some() || c.is_control())
    {
        return Cow::Borrowed(text);
    }
    let mut out: Vec<String> = Vec::new();
    let mut pending: Option<&'static str> = None;
    for word in text.split(' ') {
        match unprintable_script(word) {
            Some(script) => {
                pending.get_or_insert(script);
            }
            None => {
                if let Some(script) = pending.take() {
                    out.push(mark(script));
                }
                out.push(word.to_owned());
            }
        }
    }
    if let Some(script) = pending {
        out.push(mark(script));
    }
    Cow::Owned(out.join(" "))
}

fn mark(script: &str) -> String {
    if script.starts_with("a script") {
        format!("[written in {script}: printed on the HTML report only]")
    } else {
        format!("[{script} script: printed on the HTML report only]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_font_parses_and_has_its_glyphs() {
        for font in [Font::Regular, Font::Bold, Font::Cjk, Font::Hangul] {
            assert!(font.face().face.number_of_glyphs() > 1000, "{font:?}");
        }
        assert_eq!(glyph('Ж', false).map(|g| g.font), Some(Font::Regular));
        assert_eq!(glyph('ł', true).map(|g| g.font), Some(Font::Bold));
        assert_eq!(glyph('山', false).map(|g| g.font), Some(Font::Cjk));
        assert_eq!(glyph('한', true).map(|g| g.font), Some(Font::Hangul));
        for sign in ['≥', '≤', '–', '·', '—', '…', '€'] {
            assert_eq!(glyph(sign, false).map(|g| g.font), Some(Font::Regular));
        }
    }

    #[test]
    fn the_table_of_common_characters_is_the_fonts_own_answer() {
        for code in 0..TABLE_END as u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            for bold in [false, true] {
                assert_eq!(glyph(c, bold), lookup(c, bold), "U+{code:04X}");
            }
        }
        assert!(glyph('A', true).is_some_and(|g| g.font == Font::Bold));
    }

    #[test]
    fn names_in_latin_greek_cyrillic_and_cjk_print_as_typed() {
        for name in [
            "Иван Петров",
            "山田 太郎",
            "Łukasz Żółć",
            "Dvořák Ševčík",
            "Γιώργος Παπαδόπουλος",
            "김민준",
            "Zoë O’Brien-Nguyễn",
        ] {
            assert_eq!(for_print(name), name);
        }
    }

    #[test]
    fn scripts_that_need_shaping_are_marked_never_mangled() {
        assert_eq!(
            for_print("محمد علي · DOB 1 Jan 1980"),
            "[Arabic script: printed on the HTML report only] · DOB 1 Jan 1980"
        );
        assert_eq!(
            for_print("Dana כהן"),
            "Dana [Hebrew script: printed on the HTML report only]"
        );
        assert_eq!(
            for_print("अमित"),
            "[Devanagari script: printed on the HTML report only]"
        );
        // A character no embedded font has (Egyptian hieroglyph).
        assert_eq!(
            for_print("A \u{13000}"),
            "A [written in a script this PDF cannot print: printed on the HTML report only]"
        );
    }

    #[test]
    fn text_is_measured_with_the_fonts_own_advances() {
        // DejaVu Sans: "H" 1540 and "i" 569 units of 2048 per em.
        let expected = (1540.0 + 569.0) / 2048.0 * 10.0;
        assert!((text_width("Hi", 10.0, false) - expected).abs() < 1e-3);
        assert!(text_width("W", 10.0, true) > text_width("i", 10.0, true));
        assert!(text_width("山田", 10.0, false) > 15.0);
    }
}
