//! Dates of birth as people type them into a search box: `1980-12-03`, `3/12/1980`, `03.12.1980`,
//! `3 Dec 1980`, `December 3, 1980`. A numeric date whose day and month could be either way round
//! (`3/12/1980`) gives both dates, so that a search finds the record whichever convention the
//! clinic uses; the results show each record's date of birth in full, so nothing is guessed on the
//! reader's behalf. Two-digit years are not read (the century would be a guess).

use jiff::civil::Date;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A month named in full or by its first three letters (`sept` too).
fn month_named(word: &str) -> Option<i8> {
    let word = word.trim_end_matches('.');
    if word.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(word))
        .and_then(|i| i8::try_from(i + 1).ok())
}

fn date(year: i16, month: i8, day: i8) -> Option<Date> {
    Date::new(year, month, day).ok()
}

fn year(text: &str) -> Option<i16> {
    (text.len() == 4)
        .then(|| text.parse::<i16>().ok())
        .flatten()
        .filter(|y| (1850..=2200).contains(y))
}

fn small(text: &str) -> Option<i8> {
    (1..=2)
        .contains(&text.len())
        .then(|| text.parse::<i8>().ok())
        .flatten()
}

/// A calendar date in words that no reader can take the wrong way round: "20 May 1978".
pub fn spelled(date: Date) -> String {
    date.strftime("%-d %B %Y").to_string()
}

/// The dates a search text can mean, most likely first; empty when it is not a date.
pub fn date_candidates(text: &str) -> Vec<Date> {
    let text = text.trim().to_lowercase();
    let parts: Vec<&str> = text
        .split(|c: char| c == '/' || c == '-' || c == '.' || c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    let mut found = Vec::new();
    if let [a, b, c] = parts.as_slice() {
        let numeric = [a, b, c]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_digit()));
        if numeric {
            if let (Some(y), Some(m), Some(d)) = (year(a), small(b), small(c)) {
                found.extend(date(y, m, d));
            } else if let (Some(first), Some(second), Some(y)) = (small(a), small(b), year(c)) {
                // Day first (most of the world), then month first (the United States).
                found.extend(date(y, second, first));
                found.extend(date(y, first, second));
            }
        } else if let (Some(d), Some(m), Some(y)) = (small(a), month_named(b), year(c)) {
            found.extend(date(y, m, d));
        } else if let (Some(m), Some(d), Some(y)) = (month_named(a), small(b), year(c)) {
            found.extend(date(y, m, d));
        } else if let (Some(y), Some(m), Some(d)) = (year(a), month_named(b), small(c)) {
            found.extend(date(y, m, d));
        }
    }
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> Vec<String> {
        date_candidates(text)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_common_written_forms_are_read() {
        assert_eq!(iso("1980-12-03"), ["1980-12-03"]);
        assert_eq!(iso("1980/12/3"), ["1980-12-03"]);
        assert_eq!(iso("3 Dec 1980"), ["1980-12-03"]);
        assert_eq!(iso("3 december 1980"), ["1980-12-03"]);
        assert_eq!(iso("December 3, 1980"), ["1980-12-03"]);
        assert_eq!(iso("Sept 30 1980"), ["1980-09-30"]);
        assert_eq!(
            iso("30.09.1980"),
            ["1980-09-30"],
            "only one reading is a date"
        );
        assert_eq!(iso("09/30/1980"), ["1980-09-30"]);
    }

    #[test]
    fn day_and_month_either_way_round_give_both_dates() {
        assert_eq!(iso("3/12/1980"), ["1980-12-03", "1980-03-12"]);
        assert_eq!(iso("05/05/1980"), ["1980-05-05"]);
    }

    #[test]
    fn dates_are_spelled_out() {
        assert_eq!(spelled(Date::constant(1978, 5, 20)), "20 May 1978");
        assert_eq!(spelled(Date::constant(2009, 12, 3)), "3 December 2009");
    }

    #[test]
    fn what_is_not_a_whole_date_is_not_read_as_one() {
        for text in [
            "3/12/80",
            "Dec 1980",
            "31/02/1980",
            "Ada Lovelace",
            "12345",
            "1980",
            "ma 3 1980",
        ] {
            assert!(date_candidates(text).is_empty(), "{text}");
        }
    }
}
