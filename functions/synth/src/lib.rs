//! Synthetic, deterministic device data: virtual patients whose days have meals and boluses (some
//! missed or mis-sized), exercise lows, overnight highs, sensor warm-ups and gaps, across a clock change,
//! written as glucolink events and as the files real devices export (glucolink JSON, Medtronic CareLink,
//! Dexcom Clarity and Abbott LibreView CSV, Nightscout JSON) with their duplicates: CareLink's
//! selected-then-delivered bolus rows and Nightscout readings sent by two uploaders. The same seed always gives the same data, so tests can state exact expectations.
//!
//! No real patient data is used anywhere: names and serial numbers are invented.

pub mod export;
mod model;

pub use model::{Patient, Profile, generate};

#[cfg(test)]
mod tests {
    use glucolink_core::data::event::{Body, Event, Kind};
    use glucolink_core::data::import::{self, Format, Options};
    use jiff::Timestamp;
    use jiff::civil::date;
    use jiff::tz::TimeZone;

    use super::*;

    fn patient(profile: Profile, days: u32) -> Patient {
        Patient {
            seed: 7,
            profile,
            time_zone: "Europe/London",
            start: date(2026, 10, 15),
            days,
        }
    }

    fn options() -> Options {
        Options {
            tz: TimeZone::get("Europe/London").expect("tz"),
            now: Timestamp::from_second(1_900_000_000).expect("ts"),
        }
    }

    fn values(events: &[Event], kinds: &[Kind]) -> Vec<(i64, Body)> {
        let mut values: Vec<(i64, Body)> = events
            .iter()
            .filter(|e| kinds.contains(&e.body.kind()))
            .map(|e| (e.at.as_second(), e.body.clone()))
            .collect();
        values.sort_by_key(|(at, body)| (*at, format!("{body:?}")));
        values
    }

    #[test]
    fn libreview_and_nightscout_exports_read_back_as_the_same_events() {
        let libre = generate(&patient(Profile::LibrePens, 14));
        let cgm = libre.iter().filter(|e| e.body.kind() == Kind::Cgm).count();
        assert!(
            (14 * 96 * 8 / 10..=14 * 96 + 4).contains(&cgm),
            "{cgm} readings every 15 minutes"
        );
        let csv = export::to_libreview_csv(&libre);
        assert_eq!(
            import::detect(csv.as_bytes()).expect("detect"),
            Format::LibreView
        );
        let parsed =
            import::parse(Format::LibreView, csv.as_bytes(), &options()).expect("libreview");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        let kinds = [Kind::Cgm, Kind::Smbg, Kind::Bolus, Kind::Carbs];
        assert_eq!(
            values(&parsed.events, &kinds),
            values(&libre, &kinds),
            "floating local times, grouped rows, the clock change"
        );

        let pump = generate(&patient(Profile::MedtronicPump, 14));
        let json = export::to_nightscout_json(&pump);
        assert_eq!(import::detect(&json).expect("detect"), Format::Nightscout);
        let parsed = import::parse(Format::Nightscout, &json, &options()).expect("nightscout");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        assert!(
            parsed.events.len() > values(&pump, &kinds).len(),
            "two uploaders send some readings twice"
        );
        // Storage keeps one event per device, kind and instant: what is stored equals the source.
        let mut stored = parsed.events.clone();
        stored.sort_by(|a, b| a.identity().cmp(&b.identity()));
        stored.dedup_by(|a, b| a.identity() == b.identity());
        assert_eq!(values(&stored, &kinds), values(&pump, &kinds));
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        assert_eq!(
            generate(&patient(Profile::MedtronicPump, 3)),
            generate(&patient(Profile::MedtronicPump, 3))
        );
        assert_ne!(
            generate(&patient(Profile::MedtronicPump, 3)),
            generate(&Patient {
                seed: 8,
                ..patient(Profile::MedtronicPump, 3)
            })
        );
    }

    #[test]
    fn a_pump_patient_has_every_kind_readings_every_five_minutes_and_gaps() {
        let events = generate(&patient(Profile::MedtronicPump, 14));
        for kind in Kind::ALL {
            assert!(events.iter().any(|e| e.body.kind() == kind), "{kind:?}");
        }
        let cgm = events.iter().filter(|e| e.body.kind() == Kind::Cgm).count();
        assert!(
            (14 * 288 * 8 / 10..14 * 288).contains(&cgm),
            "{cgm} readings: most, not all, of 14 × 288"
        );
        assert!(events.iter().any(|e| matches!(
            e.body,
            Body::Bolus {
                automatic: true,
                ..
            }
        )));
        assert!(events.iter().any(|e| matches!(e.body, Body::Cgm { glucose_tenths_mg_dl } if glucose_tenths_mg_dl < 700)), "some lows");
        assert!(events.iter().any(|e| matches!(e.body, Body::Cgm { glucose_tenths_mg_dl } if glucose_tenths_mg_dl > 2500)), "some highs");
        let offsets: std::collections::BTreeSet<i16> =
            events.iter().map(|e| e.utc_offset_minutes).collect();
        assert_eq!(
            offsets,
            [0, 60].into_iter().collect(),
            "the data spans the end of summer time"
        );
    }

    #[test]
    fn every_export_reads_back_as_the_same_events() {
        let events = generate(&patient(Profile::MedtronicPump, 14));
        let json =
            import::parse(Format::Json, &export::to_json(&events), &options()).expect("json");
        assert!(json.rejected.is_empty(), "{:?}", json.rejected.first());
        assert_eq!(json.events, events);
        let carelink = export::to_carelink_csv(&events);
        assert_eq!(
            import::detect(carelink.as_bytes()).expect("detect"),
            Format::CareLink
        );
        let parsed =
            import::parse(Format::CareLink, carelink.as_bytes(), &options()).expect("carelink");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        assert_eq!(
            values(&parsed.events, &Kind::ALL),
            values(&events, &Kind::ALL),
            "CareLink keeps every kind, across the clock change"
        );
        let clarity = export::to_clarity_csv(&events);
        let parsed =
            import::parse(Format::Clarity, clarity.as_bytes(), &options()).expect("clarity");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        let kinds = [Kind::Cgm, Kind::Smbg, Kind::Carbs];
        assert_eq!(values(&parsed.events, &kinds), values(&events, &kinds));
    }
}
