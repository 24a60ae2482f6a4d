//! Text handling shared by the CSV importers: encodings, delimiters, decimal commas, local times.

use jiff::Timestamp;

use super::{MAX_ROWS, Read};
use crate::error::CoreError;
use jiff::civil::DateTime;
use jiff::tz::{Disambiguation, TimeZone};

/// UTF-8 (with or without a byte-order mark); anything that is not valid UTF-8 is read as Windows-1252's
/// Latin-1 subset, which is what older European exports use.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

/// `;` when a line has more semicolons than commas (European exports), else `,`.
pub fn delimiter(line: &str) -> u8 {
    if line.matches(';').count() > line.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// A number as exports write it: `12.5`, `12,5` (decimal comma), surrounding spaces.
pub fn number(raw: &str) -> Option<f64> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    trimmed
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// The instant of a local wall-clock time in `tz`. In the autumn fold the earlier instant is taken
/// unless `later` says the second occurrence is meant; a time in the spring gap moves forward.
pub fn local_instant(local: DateTime, tz: &TimeZone, later: bool) -> Option<(Timestamp, i16)> {
    let ambiguous = tz.to_ambiguous_timestamp(local);
    let at = if later {
        ambiguous.disambiguate(Disambiguation::Later).ok()?
    } else {
        ambiguous.disambiguate(Disambiguation::Compatible).ok()?
    };
    let offset = i16::try_from(tz.to_offset(at).seconds() / 60).ok()?;
    Some((at, offset))
}

/// Reads local times in the order the device recorded them and resolves the autumn fold: inside the
/// repeated hour, a local time earlier than one already seen is the second occurrence.
#[derive(Debug, Default)]
pub struct FoldReader {
    latest_in_fold: Option<DateTime>,
    second_pass: bool,
}

impl FoldReader {
    /// The instant and offset of the next local time in recording order.
    pub fn instant(&mut self, local: DateTime, tz: &TimeZone) -> Option<(Timestamp, i16)> {
        let ambiguous = tz.to_ambiguous_timestamp(local).is_ambiguous();
        if ambiguous {
            if self.latest_in_fold.is_some_and(|latest| local < latest) {
                self.second_pass = true;
            }
            self.latest_in_fold = Some(self.latest_in_fold.map_or(local, |l| l.max(local)));
        } else {
            self.latest_in_fold = None;
            self.second_pass = false;
        }
        local_instant(local, tz, ambiguous && self.second_pass)
    }
}

/// The readable rows of a CSV text with their line numbers (from 1); unreadable rows go to `rejected`
/// with the reason. Rows may have any number of cells (exports mix sections and preambles).
pub fn csv_rows(
    text: &str,
    delimiter: u8,
    read: &mut Read,
) -> Result<Vec<(usize, csv::StringRecord)>, CoreError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (position, record) in reader.records().enumerate() {
        let line = position + 1;
        if line > MAX_ROWS {
            return Err(CoreError::invalid(
                "file",
                "too_many_rows",
                format!("An upload holds at most {MAX_ROWS} rows."),
            ));
        }
        match record {
            Ok(record) => rows.push((line, record)),
            Err(e) => read.reject(line, format!("unreadable CSV row ({e})")),
        }
        read.total_rows = line;
    }
    Ok(rows)
}
