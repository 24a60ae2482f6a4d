//! Unique link codes: 10 Crockford base32 characters (50 bits) in two groups, `K7Q2M-9XH4T`.
//!
//! Typable and unambiguous: the alphabet has no I, L, O or U; when parsing, any letter case is accepted,
//! spaces and dashes are ignored, and I/L are read as 1 and O as 0. Only the SHA-256 of the canonical
//! form is ever stored.

use std::fmt;

use crate::error::CoreError;
use crate::random::sha256_hex;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH: usize = 10;

/// A well-formed link code (not necessarily one that exists).
#[derive(Clone, PartialEq, Eq)]
pub struct LinkCode(String);

impl LinkCode {
    /// A new random code from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CoreError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes)
            .map_err(|e| CoreError::Internal(format!("no randomness: {e}")))?;
        let mut bits = u64::from_le_bytes(bytes);
        let mut code = String::with_capacity(LENGTH);
        for _ in 0..LENGTH {
            code.push(char::from(ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        Ok(Self(code))
    }

    /// Parses what a person typed or a link carried.
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let malformed = || {
            CoreError::invalid(
                "code",
                "code_malformed",
                "A code has 10 letters and digits, like K7Q2M-9XH4T. Check it and try again.",
            )
        };
        if raw.len() > 64 {
            return Err(malformed());
        }
        let mut code = String::with_capacity(LENGTH);
        for c in raw.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' | '\t' => continue,
                'I' | 'L' => '1',
                'O' => '0',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return Err(malformed()),
            };
            code.push(c);
        }
        if code.len() == LENGTH {
            Ok(Self(code))
        } else {
            Err(malformed())
        }
    }

    /// The digest the store keeps.
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }

    /// The code without its dash, for URLs.
    pub fn compact(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LinkCode {
    /// Two groups of five, the form shown to people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (first, second) = self.0.split_at(LENGTH / 2);
        write!(f, "{first}-{second}")
    }
}

impl fmt::Debug for LinkCode {
    /// Codes are secrets: debug output never shows one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkCode(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_parse_back_in_any_form() {
        for _ in 0..200 {
            let code = LinkCode::generate().expect("code");
            let shown = code.to_string();
            assert_eq!(shown.len(), 11);
            assert_eq!(LinkCode::parse(&shown).expect("shown"), code);
            assert_eq!(LinkCode::parse(&shown.to_lowercase()).expect("lower"), code);
            assert_eq!(LinkCode::parse(code.compact()).expect("compact"), code);
            let spaced = shown.replace('-', " ");
            assert_eq!(
                LinkCode::parse(&format!(" {spaced} ")).expect("spaced"),
                code
            );
        }
    }

    #[test]
    fn ambiguous_letters_read_as_digits() {
        assert_eq!(
            LinkCode::parse("iLo23-45678").expect("code"),
            LinkCode::parse("11023-45678").expect("code")
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "",
            "ABCDE",
            "ABCDE-FGHJKM",
            "ABCDE-FGHJU",
            "ABCDE_FGHJK",
            "ÄBCDE-FGHJK",
            &"A".repeat(100),
        ] {
            let error = LinkCode::parse(bad).expect_err(bad);
            assert!(matches!(
                error,
                CoreError::InvalidInput {
                    code: "code_malformed",
                    ..
                }
            ));
        }
    }

    #[test]
    fn codes_carry_fifty_bits_and_differ() {
        let codes: std::collections::HashSet<String> = (0..1000)
            .map(|_| LinkCode::generate().expect("code").to_string())
            .collect();
        assert_eq!(codes.len(), 1000);
        assert_eq!(ALPHABET.len().pow(LENGTH as u32), 1 << 50);
    }

    #[test]
    fn debug_output_hides_the_code() {
        let code = LinkCode::generate().expect("code");
        assert!(!format!("{code:?}").contains(code.compact()));
    }
}
