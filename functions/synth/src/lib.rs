//! Synthetic, deterministic device data: virtual patients whose days have meals and boluses (some
//! missed or mis-sized), exercise lows, overnight highs, sensor warm-ups and gaps, across a clock change,
//! written as glucolink events and as the files real devices export (glucolink JSON, Medtronic CareLink,
//! Dexcom Clarity and Abbott LibreView CSV, Nightscout JSON) with their duplicates: CareLink's
//! selected-then-delivered bolus rows and Nightscout readings sent by two uploaders. The same seed always gives the same data, so tests can state exact expectations.
//!
//! No real patient data is used anywhere: names and serial numbers are invented.

pub mod export;
mod model;

pub use model::{Patient, Profile, generate, with_clock_settings};

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
        let with_long_acting = [
            Kind::Cgm,
            Kind::Smbg,
            Kind::Bolus,
            Kind::Carbs,
            Kind::LongActing,
        ];
        assert!(libre.iter().any(|e| e.body.kind() == Kind::LongActing));
        assert_eq!(
            values(&parsed.events, &with_long_acting),
            values(&libre, &with_long_acting),
            "floating local times, grouped rows, the clock change"
        );

        // Pens with a long-acting dose every evening, through Clarity.
        let pens = generate(&patient(Profile::DexcomPens, 14));
        let clarity = export::to_clarity_csv(&pens);
        assert!(clarity.contains(",Insulin,Long-Acting,"));
        let parsed =
            import::parse(Format::Clarity, clarity.as_bytes(), &options()).expect("clarity");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        assert_eq!(
            values(&parsed.events, &with_long_acting),
            values(&pens, &with_long_acting),
            "rapid- and long-acting doses of a pen user"
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

    /// The report (Europe/London, mg/dL, standard targets) of some events over local dates.
    fn report_of(events: &[Event], from: &str, to: &str) -> glucolink_core::report::build::Report {
        use glucolink_core::report::build::{Options as ReportOptions, Period, Units, compose};
        use glucolink_core::report::ranges::RangePreset;
        let mut sorted = events.to_vec();
        sorted.sort_by_key(|e| e.at);
        compose(
            &sorted,
            &ReportOptions {
                period: Period::parse(from, to).expect("period"),
                tz: TimeZone::get("Europe/London").expect("tz"),
                units: Units::MgDl,
                ranges: RangePreset::Standard,
                detail: false,
            },
        )
        .expect("report")
    }

    /// Each day's insulin of a 780G in SmartGuard by the documented rule (docs/UPLOADS.md): the day's
    /// automatic total + the delivered boluses + the programmed basal while in manual mode.
    fn rule_totals(events: &[Event], tz: &TimeZone) -> Vec<(jiff::civil::Date, f64)> {
        let mut days: std::collections::BTreeMap<jiff::civil::Date, f64> = Default::default();
        for event in events {
            let day = tz.to_datetime(event.at).date();
            let units = match event.body {
                Body::AutoInsulin { milliunits, .. } => f64::from(milliunits) / 1000.0,
                Body::Bolus {
                    immediate_milliunits,
                    extended_milliunits,
                    ..
                } => f64::from(immediate_milliunits + extended_milliunits) / 1000.0,
                _ => 0.0,
            };
            *days.entry(day).or_default() += units;
        }
        // The one manual stretch: day 6 from 14:00 to midnight on the 0.8 U/h step of the schedule.
        *days.entry(date(2026, 10, 20)).or_default() += 10.0 * 0.8;
        days.into_iter()
            .map(|(d, u)| (d, (u * 100.0).round() / 100.0))
            .collect()
    }

    #[test]
    fn a_smart_guard_carelink_export_gives_the_vendors_daily_totals() {
        let events = generate(&patient(Profile::MedtronicSmartGuard, 8));
        let csv = export::to_carelink_csv(&events);
        assert!(
            csv.contains("Aggregated Auto Insulin Data")
                && csv.contains("CLOSED_LOOP_AUTO_INSULIN")
        );
        let parsed = import::parse(Format::CareLink, csv.as_bytes(), &options()).expect("carelink");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        let kinds = [
            Kind::Cgm,
            Kind::Smbg,
            Kind::Bolus,
            Kind::Basal,
            Kind::Carbs,
            Kind::AutoInsulin,
            Kind::PumpMode,
        ];
        assert_eq!(
            values(&parsed.events, &kinds),
            values(&events, &kinds),
            "the days of automatic insulin and SmartGuard's exit and return read back"
        );
        let tz = TimeZone::get("Europe/London").expect("tz");
        let report = report_of(&parsed.events, "2026-10-15", "2026-10-22");
        let expected = rule_totals(&events, &tz);
        let reported: Vec<(jiff::civil::Date, f64)> = report
            .days
            .iter()
            .map(|d| {
                let total = d.basal_units + d.automatic_units + d.bolus_units;
                (d.date, (total * 100.0).round() / 100.0)
            })
            .collect();
        assert_eq!(reported, expected, "daily totals by the documented rule");
        // No giant bolus at midnight, no programmed basal in SmartGuard.
        assert!(
            report.days.iter().all(|d| d.boluses < 10),
            "{:?}",
            report.days
        );
        let manual_day = &report.days[5];
        assert_eq!(
            manual_day.basal_units, 8.0,
            "programmed basal 14:00–24:00 only"
        );
        assert!(
            report
                .days
                .iter()
                .enumerate()
                .all(|(i, d)| i == 5 || d.basal_units == 0.0)
        );
        let insulin = &report.insulin;
        assert!(insulin.automatic_per_day > 5.0, "{insulin:?}");
        assert!(insulin.automatic_percent.is_some() && insulin.basal_percent.is_some());
    }

    #[test]
    fn a_guardian_connect_export_keeps_its_event_markers() {
        let events = generate(&patient(Profile::DexcomPens, 5));
        let csv = export::to_guardian_connect_csv(&events);
        assert!(csv.contains("Meal: ") && csv.contains("grams;") && csv.contains("Insulin: "));
        assert_eq!(
            import::detect(csv.as_bytes()).expect("detect"),
            Format::CareLink
        );
        let parsed = import::parse(Format::CareLink, csv.as_bytes(), &options()).expect("carelink");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        assert!(
            parsed.conflicts.is_empty(),
            "{:?}",
            parsed.conflicts.first()
        );
        let kinds = [Kind::Cgm, Kind::Bolus, Kind::Carbs];
        let mut stored = parsed.events.clone();
        stored.sort_by(|a, b| a.identity().cmp(&b.identity()));
        stored.dedup_by(|a, b| a.identity() == b.identity());
        assert_eq!(
            values(&stored, &kinds),
            values(&events, &kinds),
            "each marker written twice is stored once"
        );
        assert_eq!(
            parsed.row_counts.total,
            parsed.row_counts.with_events + parsed.row_counts.without_data,
            "{:?}",
            parsed.row_counts
        );
        assert_eq!(
            parsed.row_counts.without_data, 5,
            "two preamble rows, the notice, the divider and the header (blank lines are not rows)"
        );
    }

    #[test]
    fn a_pump_on_its_factory_clock_and_left_on_winter_time_reads_back_at_the_right_instants() {
        let tz = "Europe/London";
        let generated = generate(&Patient {
            start: date(2026, 3, 22),
            ..patient(Profile::MedtronicPump, 14)
        });
        let pump = generated
            .iter()
            .find(|e| matches!(e.body, Body::Basal { .. }))
            .map(|e| e.device.clone())
            .expect("pump");
        let at = |s: &str| s.parse::<Timestamp>().expect("ts");
        // Factory clock (ten years behind) until the 23rd; winter time kept until 1 April, past the
        // change of 29 March.
        let events = with_clock_settings(
            generated,
            &pump,
            tz,
            &[
                (at("2026-03-23T09:00:30Z"), 315_360_000),
                (at("2026-04-01T12:00:30Z"), 3600),
            ],
        );
        let csv = export::to_carelink_csv(&events);
        assert!(csv.contains(",2016/03/"), "the factory clock shows 2016");
        assert!(
            csv.contains(",2026/03/29,02:"),
            "winter time shows times the spring change skipped"
        );
        let parsed = import::parse(Format::CareLink, csv.as_bytes(), &options()).expect("carelink");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        assert!(
            parsed.conflicts.is_empty(),
            "{:?}",
            parsed.conflicts.first()
        );
        assert!(
            parsed.notes.iter().any(|n| n.contains("set 2 time(s)")),
            "{:?}",
            parsed.notes
        );
        let kinds = [
            Kind::Smbg,
            Kind::Bolus,
            Kind::Basal,
            Kind::Carbs,
            Kind::ClockSet,
        ];
        assert_eq!(values(&parsed.events, &kinds), values(&events, &kinds));
    }

    #[test]
    fn a_paradigm_era_carelink_export_reads_back() {
        let events: Vec<Event> = generate(&Patient {
            seed: 42,
            start: date(2014, 3, 3),
            time_zone: "America/Chicago",
            ..patient(Profile::MedtronicPump, 14)
        })
        .into_iter()
        .filter(|e| {
            !matches!(
                e.body,
                Body::Bolus {
                    automatic: true,
                    ..
                }
            )
        })
        .collect();
        let csv = export::to_carelink_paradigm_csv(&events);
        assert!(
            csv.contains("\r\n3/13/14,") || csv.contains(",3/13/14,"),
            "M/D/YY dates"
        );
        assert_eq!(
            import::detect(csv.as_bytes()).expect("detect"),
            Format::CareLink
        );
        let options = Options {
            tz: TimeZone::get("America/Chicago").expect("tz"),
            ..options()
        };
        let parsed = import::parse(Format::CareLink, csv.as_bytes(), &options).expect("paradigm");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected.first());
        let kinds = [Kind::Cgm, Kind::Smbg, Kind::Bolus, Kind::Basal, Kind::Carbs];
        assert_eq!(
            values(&parsed.events, &kinds),
            values(&events, &kinds),
            "every kind, across the spring change of 9 March 2014"
        );
        assert!(
            parsed
                .events
                .iter()
                .all(|e| &*e.device == "Paradigm Revel - 723 #965788")
        );
    }

    #[test]
    fn loop_androidaps_and_iaps_uploads_give_the_same_boluses_and_daily_basal() {
        let events = generate(&Patient {
            seed: 42,
            ..patient(Profile::MedtronicPump, 14)
        });
        assert!(events.iter().any(|e| matches!(
            e.body,
            Body::Basal {
                basal: glucolink_core::data::event::BasalKind::Temporary,
                ..
            }
        )));
        let daily_basal = |events: &[Event]| -> Vec<f64> {
            let report = report_of(events, "2026-10-16", "2026-10-27");
            report.days.iter().map(|d| d.basal_units).collect()
        };
        let expected = daily_basal(&events);
        assert!(expected.iter().all(|u| *u > 15.0), "{expected:?}");
        let kinds = [Kind::Cgm, Kind::Smbg, Kind::Bolus, Kind::Carbs];
        for uploader in [
            export::Uploader::Loop,
            export::Uploader::AndroidAps,
            export::Uploader::IAps,
        ] {
            let json = export::to_nightscout_as(&events, uploader, "Europe/London");
            assert_eq!(import::detect(&json).expect("detect"), Format::Nightscout);
            let parsed = import::parse(Format::Nightscout, &json, &options()).expect("nightscout");
            assert!(
                parsed.rejected.is_empty(),
                "{uploader:?}: {:?}",
                parsed.rejected.first()
            );
            assert!(
                parsed.conflicts.is_empty(),
                "{uploader:?}: {:?}",
                parsed.conflicts.first()
            );
            assert_eq!(
                values(&parsed.events, &kinds),
                values(&events, &kinds),
                "{uploader:?}"
            );
            assert_eq!(
                daily_basal(&parsed.events),
                expected,
                "{uploader:?}: the profile's schedule and the temps"
            );
        }
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
        for kind in [Kind::Cgm, Kind::Smbg, Kind::Bolus, Kind::Basal, Kind::Carbs] {
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
