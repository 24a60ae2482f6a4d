//! Importers: turn what a person uploads (our JSON, or an export they already have) into events.
//!
//! Each importer is a pure function of the bytes, the time zone for floating local times and the
//! current time; it never panics (property tests feed it random and mutated input), reports every row it
//! cannot use with the reason, and never guesses silently. `detect` picks the format from the content.

pub mod clarity;
pub mod json;
mod text;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::event::Event;
use super::upload::Rejected;
use crate::error::CoreError;

/// Largest upload accepted (API Gateway's payload limit is 10 MB): 90 days of any supported export fit.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Most rows (or JSON events) read from one upload.
pub const MAX_ROWS: usize = 500_000;

/// The formats glucolink reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// glucolink's own JSON (`docs/UPLOADS.md`).
    Json,
    /// Dexcom Clarity CSV export.
    Clarity,
}

impl Format {
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Json => "glucolink-json",
            Format::Clarity => "dexcom-clarity-csv",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Format::Json => "glucolink JSON",
            Format::Clarity => "Dexcom Clarity CSV",
        }
    }

    /// A `format=` value (our names, or short ones: `json`, `clarity`).
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "glucolink-json" | "json" => Ok(Format::Json),
            "dexcom-clarity-csv" | "clarity" => Ok(Format::Clarity),
            _ => Err(CoreError::invalid(
                "format",
                "unknown_format",
                "The format is one of glucolink-json or dexcom-clarity-csv; leave it out to detect it.",
            )),
        }
    }
}

/// What an importer needs besides the bytes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The zone of times without an offset (the person's, or the `tz` of the request).
    pub tz: TimeZone,
    /// Events more than a day after this are refused (a wrong device clock).
    pub now: Timestamp,
}

/// An importer's result.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub format: Format,
    pub events: Vec<Event>,
    pub rejected: Vec<Rejected>,
}

/// Which format the bytes are, from their content.
pub fn detect(bytes: &[u8]) -> Result<Format, CoreError> {
    let text = text::decode(bytes);
    let start = text.trim_start();
    if start.starts_with('{') || start.starts_with('[') {
        return Ok(Format::Json);
    }
    if clarity::looks_like(&text) {
        return Ok(Format::Clarity);
    }
    Err(CoreError::invalid(
        "file",
        "unknown_format",
        "This file is not one glucolink reads: upload glucolink JSON or a Dexcom Clarity CSV export.",
    ))
}

/// Reads the bytes as `format`.
pub fn parse(format: Format, bytes: &[u8], options: &Options) -> Result<Parsed, CoreError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(CoreError::invalid(
            "file",
            "file_too_large",
            format!(
                "An upload can be at most {} MB.",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
        ));
    }
    let (events, rejected) = match format {
        Format::Json => json::parse(bytes, options)?,
        Format::Clarity => clarity::parse(&text::decode(bytes), options)?,
    };
    Ok(Parsed {
        format,
        events,
        rejected,
    })
}

/// Refuses events from the future (beyond a day of clock skew).
pub(crate) fn plausible_time(at: Timestamp, options: &Options) -> Result<(), String> {
    if at.as_second() > options.now.as_second() + 86_400 {
        Err("the time is in the future; check the device clock".into())
    } else if at.as_second() < 946_684_800 {
        Err("the time is before the year 2000".into())
    } else {
        Ok(())
    }
}

/// [`parse`] on the blocking pool: a large file takes a while and must not stall other requests.
pub async fn parse_off_thread(
    format: Format,
    bytes: std::sync::Arc<[u8]>,
    options: Options,
) -> Result<Parsed, CoreError> {
    tokio::task::spawn_blocking(move || parse(format, bytes.as_ref(), &options))
        .await
        .map_err(|e| CoreError::Internal(format!("import task failed: {e}")))?
}
