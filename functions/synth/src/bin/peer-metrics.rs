//! `peer-metrics FILE`: writes, for `infra/peers/run`, the CGM readings of three virtual patients of 90
//! days (a 780G with Guardian 4, a Dexcom with pens, a Libre 2 with pens, all in Europe/London), the
//! metrics glucolink's report computes from them, and the report's compute time (p50 of 50 runs; build
//! with `--release` for a fair number).

use std::time::{Duration, Instant};

use glucolink_core::data::{Body, Event};
use glucolink_core::report::build::{Options, Period, Units, compose};
use glucolink_core::report::ranges::RangePreset;
use glucolink_synth::{Patient, Profile, generate};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::json;

const ZONE: &str = "Europe/London";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: peer-metrics FILE")?;
    let tz = TimeZone::get(ZONE)?;
    let today = tz.to_datetime(Timestamp::now()).date();
    let start = today.checked_sub(90.days())?;
    let period = Period::parse(&start.to_string(), &today.checked_sub(1.day())?.to_string())?;
    let options = Options {
        period,
        tz: tz.clone(),
        units: Units::MgDl,
        ranges: RangePreset::Standard,
        detail: false,
    };
    let mut patients = Vec::new();
    for (name, profile, seed) in [
        ("medtronic-780g", Profile::MedtronicPump, 1u64),
        ("dexcom-pens", Profile::DexcomPens, 2),
        ("libre2-pens", Profile::LibrePens, 3),
    ] {
        let mut events: Vec<Event> = generate(&Patient {
            seed,
            profile,
            time_zone: ZONE,
            start,
            days: 90,
        });
        events.sort_by_key(|e| (e.at, e.body.kind()));
        let mut samples: Vec<Duration> = Vec::with_capacity(50);
        let mut report = compose(&events, &options)?;
        for _ in 0..50 {
            let started = Instant::now();
            report = compose(&events, &options)?;
            samples.push(started.elapsed());
        }
        samples.sort_unstable();
        let readings: Vec<serde_json::Value> = events
            .iter()
            .filter(|e| (period.from..=period.to).contains(&tz.to_datetime(e.at).date()))
            .filter_map(|e| match e.body {
                Body::Cgm {
                    glucose_tenths_mg_dl,
                } => Some(json!([
                    e.at.to_string(),
                    f64::from(glucose_tenths_mg_dl) / 10.0
                ])),
                _ => None,
            })
            .collect();
        patients.push(json!({
            "name": name,
            "time_zone": ZONE,
            "from": period.from.to_string(),
            "to": period.to.to_string(),
            "metrics": report.metrics,
            "compute_ms_p50": samples[samples.len() / 2].as_secs_f64() * 1000.0,
            "readings": readings,
        }));
    }
    std::fs::write(&path, serde_json::to_vec(&json!({ "patients": patients }))?)?;
    println!("wrote {path}");
    Ok(())
}
