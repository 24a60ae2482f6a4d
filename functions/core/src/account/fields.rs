//! Parsed account fields: a value of these types is valid by construction ("parse, don't validate").

use std::fmt;

use jiff::civil::Date;
use unicode_normalization::UnicodeNormalization;

use crate::error::CoreError;

/// A person's or clinic's display name: trimmed, NFC-normalised, 1..=max characters, no control characters.
fn display_text(
    field: &'static str,
    code: &'static str,
    raw: &str,
    max: usize,
) -> Result<String, CoreError> {
    let text: String = raw.trim().nfc().collect();
    let length = text.chars().count();
    if length == 0 {
        return Err(CoreError::invalid(
            field,
            code,
            format!("Enter a {}.", field.replace('_', " ")),
        ));
    }
    if length > max {
        return Err(CoreError::invalid(
            field,
            code,
            format!(
                "The {} can be at most {max} characters long.",
                field.replace('_', " ")
            ),
        ));
    }
    if text.chars().any(char::is_control) || hides_text(&text) {
        return Err(CoreError::invalid(
            field,
            code,
            format!(
                "The {} contains characters that are not allowed.",
                field.replace('_', " ")
            ),
        ));
    }
    if looks_like_an_address(&text) {
        return Err(CoreError::invalid(
            field,
            code,
            format!(
                "The {} cannot contain a web or email address.",
                field.replace('_', " ")
            ),
        ));
    }
    Ok(text)
}

/// Unicode format characters (general category Cf), line and paragraph separators: they reorder or
/// hide text (`"Alex \u{202e}omeD"` shows as "Alex Demo"). Zero-width (non-)joiners stay allowed
/// between letters, where scripts such as Persian and the Indic ones need them in names.
fn hides_text(text: &str) -> bool {
    const FORMAT: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x2028, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        let code = u32::from(*c);
        if !FORMAT
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&code))
        {
            return false;
        }
        let joiner = code == 0x200C || code == 0x200D;
        let between_letters = i > 0
            && chars.get(i - 1).is_some_and(|c| c.is_alphabetic())
            && chars.get(i + 1).is_some_and(|c| c.is_alphabetic());
        !(joiner && between_letters)
    })
}

/// Whether a name carries a web or email address (`https://…`, `www.…`, `a@b.c`, `evil.example`):
/// names are shown to patients in messages glucolink sends, so they must not carry links.
fn looks_like_an_address(text: &str) -> bool {
    let lower = text.to_lowercase();
    if lower.contains("://") || lower.contains("www.") || lower.contains('@') {
        return true;
    }
    // A word with a dot between letters and two or more letters after the last dot: a domain name.
    lower.split_whitespace().any(|word| {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        let host = word.split(['/', '?', '#', ':']).next().unwrap_or(word);
        let Some((head, tail)) = host.rsplit_once('.') else {
            return false;
        };
        !head.is_empty()
            && head.chars().last().is_some_and(char::is_alphanumeric)
            && tail.chars().count() >= 2
            && tail.chars().all(|c| c.is_ascii_alphabetic())
    })
}

/// A person's name (staff member or patient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        display_text("name", "invalid_name", raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A clinic's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClinicName(String);

impl ClinicName {
    pub const MAX_CHARS: usize = 120;

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        display_text("clinic_name", "invalid_clinic_name", raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, normalised to lower case. Checks the shape only; delivery proves the rest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let invalid = || {
            CoreError::invalid(
                "email",
                "invalid_email",
                "Enter a valid email address, like name@example.org.",
            )
        };
        let email = raw.trim().to_lowercase();
        if email.len() > Self::MAX_LEN {
            return Err(CoreError::invalid(
                "email",
                "invalid_email",
                format!(
                    "An email address can be at most {} characters long.",
                    Self::MAX_LEN
                ),
            ));
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A personal account's username: 3–32 of `a-z 0-9 . _ -`, starting with a letter or digit; case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let name = raw.trim().to_lowercase();
        let well_formed = (Self::MIN_LEN..=Self::MAX_LEN).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && name.starts_with(|c: char| c.is_ascii_alphanumeric());
        if well_formed {
            Ok(Self(name))
        } else {
            Err(CoreError::invalid(
                "username",
                "invalid_username",
                format!(
                    "A username has {} to {} characters: letters, digits, dot, dash or underscore, starting with a letter or digit.",
                    Self::MIN_LEN,
                    Self::MAX_LEN
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A country, by its ISO 3166-1 two-letter code (`GB`, `US`, `DE`): the default for phone numbers
/// written as they are dialled at home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(phonenumber::country::Id);

impl Country {
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let code = raw.trim().to_ascii_uppercase();
        code.parse::<phonenumber::country::Id>()
            .ok()
            .filter(|_| code.len() == 2)
            .map(Self)
            .ok_or_else(|| {
                CoreError::invalid(
                    "country",
                    "invalid_country",
                    "Choose a country by its two-letter code, like GB, US or DE.",
                )
            })
    }

    /// The two-letter code.
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

/// A phone number in E.164 form: `+` and 8 to 15 digits, the first not zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// A number written the way it is dialled in `country` ("07700 900123" in GB) or in international
    /// form ("+44 7700 900123", "0044 7700 900123"). A national number must be a real number of that
    /// country's plan (libphonenumber's metadata): a number that cannot be read with certainty is
    /// refused rather than sent to a guess.
    pub fn parse_in(raw: &str, country: Option<Country>) -> Result<Self, CoreError> {
        let trimmed = raw.trim();
        if let Some(rest) = trimmed.strip_prefix("00") {
            return Self::parse(&format!("+{rest}"));
        }
        if trimmed.starts_with('+') {
            return Self::parse(trimmed);
        }
        let Some(country) = country else {
            return Self::parse(trimmed);
        };
        let national = phonenumber::parse(Some(country.0), trimmed)
            .ok()
            .filter(phonenumber::is_valid)
            .ok_or_else(|| {
                CoreError::invalid(
                    "phone",
                    "invalid_phone",
                    format!(
                        "This is not a phone number of {} as it is dialled there. Check it, or enter it in international form, like +44 7700 900123.",
                        country.code()
                    ),
                )
            })?;
        Self::parse(&national.format().mode(phonenumber::Mode::E164).to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let valid = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(compact))
        } else {
            Err(CoreError::invalid(
                "phone",
                "invalid_phone",
                "Enter the phone number in international form, like +44 7700 900123.",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date of birth: a real calendar date, not in the future, not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateOfBirth(Date);

impl DateOfBirth {
    pub fn parse(raw: &str, today: Date) -> Result<Self, CoreError> {
        let invalid =
            |message: &str| CoreError::invalid("date_of_birth", "invalid_date_of_birth", message);
        if raw.len() != 10 {
            return Err(invalid("Enter the date of birth as YYYY-MM-DD."));
        }
        let date: Date = raw
            .parse()
            .map_err(|_| invalid("Enter the date of birth as YYYY-MM-DD."))?;
        if date > today || date.year() < 1900 {
            return Err(invalid("Enter a date of birth between 1900 and today."));
        }
        Ok(Self(date))
    }

    pub fn date(&self) -> Date {
        self.0
    }
}

impl fmt::Display for DateOfBirth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(err: CoreError) -> &'static str {
        match err {
            CoreError::InvalidInput { code, .. } => code,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ana.Lopez@Example.ORG ").map(|e| e.0).ok(),
            Some("ana.lopez@example.org".into())
        );
        for bad in [
            "",
            "no-at-sign",
            "a@b",
            "a@@b.org",
            "a b@c.org",
            "a@-b.org",
            ".a@b.org",
            "a..b@c.org",
            "a@b.c0m",
        ] {
            assert_eq!(
                Email::parse(bad).map_err(code).err(),
                Some("invalid_email"),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn usernames_are_case_insensitive_and_restricted() {
        assert_eq!(
            Username::parse("Ana_L").map(|u| u.0).ok(),
            Some("ana_l".into())
        );
        for bad in ["ab", "_ana", "ana lopez", "ana@x", &"a".repeat(33), "ñandú"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Ana López ").map(|n| n.0).ok(),
            Some("Ana López".into())
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse("Ana\u{0007}").is_err());
        assert!(ClinicName::parse(&"x".repeat(120)).is_ok());
    }

    #[test]
    fn names_cannot_hide_or_reorder_text_or_carry_addresses() {
        for bad in [
            "Alex \u{202e}omeD",
            "Alex\u{200b}Demo",
            "Alex\u{2028}Demo",
            "\u{2066}Alex\u{2069}",
            "Ale\u{00ad}x",
            "\u{feff}Alex",
        ] {
            assert!(PersonName::parse(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "Riverside Clinic https://evil.example/login",
            "Visit www.evil.example",
            "Clinic evil.example",
            "Call help@evil.example",
            "Clinic (bit.ly/x)",
        ] {
            assert!(ClinicName::parse(bad).is_err(), "{bad:?}");
        }
        for good in [
            "St. Mary's Diabetes Centre",
            "Dr. Ana López",
            "Jean-Paul O'Neill",
            "علی\u{200c}رضا",
            "山田 太郎",
            "Clinic No. 5",
            "A.B. Smith",
        ] {
            assert!(PersonName::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn phones_must_be_e164() {
        assert_eq!(
            Phone::parse("+44 7700 900123").map(|p| p.0).ok(),
            Some("+447700900123".into())
        );
        for bad in [
            "07700900123",
            "+0123456789",
            "+12",
            "+44 7700 9001234567",
            "+44abc",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_of_birth_are_real_past_dates() {
        let today = Date::constant(2026, 11, 25);
        assert!(DateOfBirth::parse("1981-02-29", today).is_err());
        assert!(DateOfBirth::parse("1984-02-29", today).is_ok());
        assert!(DateOfBirth::parse("2026-11-26", today).is_err());
        assert!(DateOfBirth::parse("1899-12-31", today).is_err());
        assert!(DateOfBirth::parse("12/01/1990", today).is_err());
    }

    #[test]
    fn phone_numbers_are_read_as_dialled_at_home_or_in_international_form() {
        let gb = Country::parse("gb").ok();
        let us = Country::parse("US").ok();
        let e164 = |raw: &str, country| Phone::parse_in(raw, country).map(|p| p.0).ok();
        // Parsed, never sent: the numbers of these tests are only read.
        assert_eq!(e164("07400 123456", gb).as_deref(), Some("+447400123456"));
        assert_eq!(
            e164("0151 23456789", Country::parse("DE").ok()).as_deref(),
            Some("+4915123456789")
        );
        assert_eq!(
            e164("07700 900123", gb),
            None,
            "Ofcom's drama range is no real number"
        );
        assert_eq!(
            e164("+44 7700 900123", us).as_deref(),
            Some("+447700900123")
        );
        assert_eq!(
            e164("0044 7700 900123", None).as_deref(),
            Some("+447700900123")
        );
        assert_eq!(e164("(201) 555-0123", us).as_deref(), Some("+12015550123"));
        assert_eq!(e164("07400 123456", us), None, "not a US number");
        assert_eq!(e164("07400 123456", None), None, "no country to read it in");
        assert_eq!(e164("12", gb), None);
        for bad in ["", "G", "GBR", "XX", "12"] {
            assert!(Country::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Country::parse(" de ")
                .map(|c| c.code().to_owned())
                .ok()
                .as_deref(),
            Some("DE")
        );
    }
}
