//! SMS texts that fit one segment: 160 characters of the GSM 03.38 alphabet (the 7-bit default
//! alphabet every handset reads; one character outside it turns the whole message into UCS-2 with
//! only 70 per segment). Names are written in that alphabet (accents dropped where the letter has
//! none: "Łódź" becomes "Lodz"), and a clinic name too long for one segment is shortened, never the
//! link.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Characters of one segment in the GSM 7-bit alphabet.
pub const SEGMENT: usize = 160;

const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of the extension table: each takes two places (an escape and itself).
const EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// How many GSM 7-bit places `text` takes, or `None` if a character is not in the alphabet.
pub fn gsm7_length(text: &str) -> Option<usize> {
    text.chars().try_fold(0, |length, c| {
        if BASIC.contains(c) {
            Some(length + 1)
        } else if EXTENSION.contains(c) {
            Some(length + 2)
        } else {
            None
        }
    })
}

/// `text` in the GSM 7-bit alphabet: typographic punctuation made plain, letters without their
/// accents where the alphabet lacks the accented one, anything else left out.
pub fn to_gsm7(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if BASIC.contains(c) || EXTENSION.contains(c) {
            out.push(c);
            continue;
        }
        match c {
            '‘' | '’' | '‚' | '′' => out.push('\''),
            '“' | '”' | '„' | '″' => out.push('"'),
            '–' | '—' | '‐' | '−' => out.push('-'),
            '…' => out.push_str("..."),
            '\u{a0}' | '\t' => out.push(' '),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'đ' => out.push('d'),
            'Đ' => out.push('D'),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            other => out.extend(std::iter::once(other).nfkd().filter(|d| {
                !is_combining_mark(*d) && (BASIC.contains(*d) || EXTENSION.contains(*d))
            })),
        }
    }
    out
}

/// One SMS from a template that names the clinic: the clinic's name in the GSM alphabet, shortened
/// (ending in "...") as far as needed for the text to fit one segment. If even a short name does
/// not fit (a very long site address), the text is sent whole over two segments rather than cut.
pub fn compose(clinic_name: &str, text_with: impl Fn(&str) -> String) -> String {
    let name = to_gsm7(clinic_name);
    let name = if name.trim().is_empty() {
        "Your clinic".to_owned()
    } else {
        name.trim().to_owned()
    };
    let full = to_gsm7(&text_with(&name));
    if gsm7_length(&full).is_some_and(|length| length <= SEGMENT) {
        return full;
    }
    let chars: Vec<char> = name.chars().collect();
    for keep in (8..chars.len()).rev() {
        let short: String = chars[..keep]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_owned()
            + "...";
        let text = to_gsm7(&text_with(&short));
        if gsm7_length(&text).is_some_and(|length| length <= SEGMENT) {
            return text;
        }
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_is_counted_with_extension_characters_taking_two_places() {
        assert_eq!(gsm7_length("Hello"), Some(5));
        assert_eq!(gsm7_length("€5 [x]"), Some(9));
        assert_eq!(gsm7_length("Zoë"), None, "ë is not in the alphabet");
        assert_eq!(gsm7_length("Ünal Ärztehaus"), Some(14));
    }

    #[test]
    fn names_are_written_in_the_alphabet() {
        assert_eq!(to_gsm7("Clínica Łódź – Zoë’s"), "Clinica Lodz - Zoe's");
        assert_eq!(to_gsm7("Ärztehaus Müller"), "Ärztehaus Müller");
        assert_eq!(to_gsm7("糖尿病クリニック"), "");
    }

    #[test]
    fn a_long_clinic_name_is_shortened_and_the_link_kept_whole() {
        let link = "https://d111111abcdef8.cloudfront.net/personal/sharing?code=K7Q2M-9XH4T";
        let text = compose(
            "The Royal Infirmary Paediatric and Adolescent Diabetes and Endocrinology Service",
            |clinic| format!("{clinic} asks to see your glucolink data. Accept by 9 Dec: {link}"),
        );
        assert!(gsm7_length(&text).is_some_and(|l| l <= SEGMENT), "{text}");
        assert!(
            text.ends_with(link) && text.starts_with("The Royal Infirmary"),
            "{text}"
        );
        assert!(text.contains("... asks"), "{text}");
        let unnamed = compose("糖尿病クリニック", |clinic| {
            format!("{clinic} asks.")
        });
        assert_eq!(unnamed, "Your clinic asks.");
    }
}
