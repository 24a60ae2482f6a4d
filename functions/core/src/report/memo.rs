//! Reports composed recently, remembered by exactly what they were composed from: the person, the
//! report's options, and the keys and revisions of the day items read (`data::store::DayItems`). A
//! report is a pure function of those events and options, and every write of a day item gives it a new
//! revision (a ULID, never reused), so a remembered report is returned only when the same items hold the
//! same content: an upload in between changes a revision and the report is composed again. The key
//! is compared whole (no hash, so no collision). Per process, a few reports: a clinic that views a
//! report and then downloads it, or opens it again, is not charged the read's decoding and the
//! composing twice.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::build::{Options, Report};
use crate::ids::PersonId;

/// Reports remembered (the oldest is forgotten first).
const CAPACITY: usize = 8;

static REMEMBERED: Mutex<VecDeque<(String, Report)>> = Mutex::new(VecDeque::new());

/// The key of a report of `person` with `options` composed from day items named `content`; none for a
/// time zone without an IANA name (a zone the key could not tell from another is never remembered).
pub fn key(person: PersonId, options: &Options, content: &str) -> Option<String> {
    let period = &options.period;
    let zone = options.tz.iana_name()?;
    Some(format!(
        "{person}|{}|{}|{}|{zone}|{}|{:?}|{}|{content}",
        period.from,
        period.to,
        period.ends_at_newest_data,
        options.units.name(),
        options.ranges,
        options.detail,
    ))
}

/// The report remembered under `key`, if any.
pub fn recall(key: &str) -> Option<Report> {
    let remembered = REMEMBERED.lock().unwrap_or_else(|e| e.into_inner());
    remembered
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, report)| report.clone())
}

/// Remembers a report under `key`.
pub fn remember(key: String, report: &Report) {
    let mut remembered = REMEMBERED.lock().unwrap_or_else(|e| e.into_inner());
    if remembered.iter().any(|(k, _)| *k == key) {
        return;
    }
    if remembered.len() == CAPACITY {
        remembered.pop_front();
    }
    remembered.push_back((key, report.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::build::{Period, Units};
    use crate::report::ranges::RangePreset;
    use jiff::tz::{Offset, TimeZone};

    fn options(tz: TimeZone, units: Units) -> Options {
        Options {
            period: Period::parse("2026-11-01", "2026-11-14").expect("period"),
            tz,
            units,
            ranges: RangePreset::Standard,
            detail: false,
        }
    }

    #[test]
    fn every_option_and_the_content_are_in_the_key_and_unnamed_zones_are_never_remembered() {
        let person = PersonId::generate();
        let london = TimeZone::get("Europe/London").expect("zone");
        let base = key(person, &options(london.clone(), Units::MgDl), "D#a=r1;");
        assert!(base.is_some());
        for other in [
            key(person, &options(london.clone(), Units::MmolL), "D#a=r1;"),
            key(person, &options(TimeZone::UTC, Units::MgDl), "D#a=r1;"),
            key(person, &options(london.clone(), Units::MgDl), "D#a=r2;"),
            key(
                PersonId::generate(),
                &options(london.clone(), Units::MgDl),
                "D#a=r1;",
            ),
        ] {
            assert_ne!(other, base);
        }
        let fixed = TimeZone::fixed(Offset::constant(2));
        assert_eq!(key(person, &options(fixed, Units::MgDl), "D#a=r1;"), None);
    }
}
