//! Medtronic CareLink CSV through the upload API: sections and devices, selected vs delivered boluses,
//! dual-wave parts, micro-boluses, basal, suspends, carbs, newest-first rows across the autumn clock
//! change, and the European variant (`;`, decimal comma, mmol/L).

use std::sync::Arc;

use glucolink_core::Ctx;
use glucolink_core::data::event::{BasalKind, Body, Event};
use glucolink_core::data::store;
use jiff::Timestamp;
use jiff::civil::date;

use crate::support::app::{TestApp, spawn_app, status_and_json};
use crate::support::people::signed_in_person;

const HEADER: &str = "Index,Date,Time,New Device Time,BG Source,BG Reading (mg/dL),Linked BG Meter ID,Basal Rate (U/h),Temp Basal Amount,Temp Basal Type,Temp Basal Duration (h:mm:ss),Bolus Type,Bolus Volume Selected (U),Bolus Volume Delivered (U),Bolus Duration (h:mm:ss),Prime Type,Prime Volume Delivered (U),Estimated Reservoir Volume after Fill (U),Alert,User Cleared Alerts,Suspend,Rewind,BWZ Estimate (U),BWZ Target High BG (mg/dL),BWZ Target Low BG (mg/dL),BWZ Carb Ratio (g/U),BWZ Insulin Sensitivity (mg/dL/U),BWZ Carb Input (grams),BWZ BG Input (mg/dL),BWZ Correction Estimate (U),BWZ Food Estimate (U),BWZ Active Insulin (U),BWZ Status,Sensor Calibration BG (mg/dL),Sensor Glucose (mg/dL),ISIG Value,Event Marker,Bolus Number,Bolus Cancellation Reason,BWZ Unabsorbed Insulin Total (U),Final Bolus Estimate,Scroll Step Size,Insulin Action Curve Time,Sensor Calibration Rejected Reason,Preset Bolus,Bolus Source,BLE Network Device,Device Update Event,Network Device Associated Reason,Network Device Disassociated Reason,Network Device Disconnected Reason,Sensor Exception,Preset Temp Basal Name";

/// A data row with the named columns filled and every other one empty.
fn row(index: u32, date: &str, time: &str, values: &[(&str, &str)]) -> String {
    HEADER
        .split(',')
        .map(|column| match column {
            "Index" => format!("{index}.00000"),
            "Date" => date.to_owned(),
            "Time" => time.to_owned(),
            other => values
                .iter()
                .find(|(name, _)| *name == other)
                .map(|(_, v)| (*v).to_owned())
                .unwrap_or_default(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn export(sections: &[(&str, Vec<String>)]) -> String {
    let mut text = String::from(
        "\u{feff}Last Name,First Name,Patient ID,Start Date,End Date,,,,\r\nExample,Jordan,,2026/10/24,2026/10/26,,,,\r\nDevice data shown may exceed selected date range.\r\n",
    );
    for (divider, rows) in sections {
        text.push_str(divider);
        text.push_str("\r\n");
        text.push_str(HEADER);
        text.push_str("\r\n");
        for row in rows {
            text.push_str(row);
            text.push_str("\r\n");
        }
    }
    text
}

async fn events_of(app: &TestApp, person: &str) -> Vec<Event> {
    let store = Arc::new(app.embedded.clone().expect("embedded"));
    let clock: Arc<dyn glucolink_core::clock::Clock> = app.clock.clone();
    let outbox = Arc::new(glucolink_notify::OutboxNotifier::new(
        store.clone(),
        clock.clone(),
    ));
    store::read(
        &Ctx::new(store, clock, outbox),
        person.parse().expect("id"),
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    .await
    .expect("read")
}

fn ts(raw: &str) -> Timestamp {
    raw.parse().expect("timestamp")
}

#[tokio::test]
async fn a_carelink_export_is_read_section_by_section_with_its_traps() {
    let app = spawn_app().await;
    let person = signed_in_person(&app.user, "carelink.user").await;
    // Newest first, as CareLink writes it. Europe/London leaves BST at 02:00 BST on 25 October 2026,
    // so 01:00–01:59 happens twice: index 8 is the first 01:30 (BST), index 6 the second (GMT).
    let pump = vec![
        row(1, "2026/10/25", "09:00:00", &[("Suspend", "USER_SUSPEND")]),
        row(
            2,
            "2026/10/25",
            "08:15:00",
            &[
                ("Temp Basal Amount", "50"),
                ("Temp Basal Type", "Percent"),
                ("Temp Basal Duration (h:mm:ss)", "1:00:00"),
            ],
        ),
        row(
            3,
            "2026/10/25",
            "08:00:00",
            &[
                ("Temp Basal Amount", "1.2"),
                ("Temp Basal Type", "Insulin Rate"),
                ("Temp Basal Duration (h:mm:ss)", "2:00:00"),
            ],
        ),
        row(
            4,
            "2026/10/25",
            "07:30:00",
            &[
                ("Bolus Type", "Dual (square part)"),
                ("Bolus Volume Delivered (U)", "2.0"),
                ("Bolus Duration (h:mm:ss)", "1:30:00"),
            ],
        ),
        row(
            5,
            "2026/10/25",
            "07:30:00",
            &[
                ("Bolus Type", "Dual (normal part)"),
                ("Bolus Volume Selected (U)", "3.0"),
                ("Bolus Volume Delivered (U)", "3.0"),
                ("BWZ Carb Input (grams)", "45"),
            ],
        ),
        row(
            6,
            "2026/10/25",
            "07:30:00",
            &[
                ("Bolus Type", "Dual (normal part)"),
                ("Bolus Volume Selected (U)", "3.0"),
            ],
        ),
        row(
            7,
            "2026/10/25",
            "06:00:00",
            &[
                ("Bolus Type", "Normal"),
                ("Bolus Volume Delivered (U)", "0.15"),
                ("Bolus Source", "CLOSED_LOOP_MICRO_BOLUS"),
            ],
        ),
        row(
            8,
            "2026/10/25",
            "00:00:00",
            &[("Basal Rate (U/h)", "0.850")],
        ),
        row(
            9,
            "2026/10/25",
            "00:00:00",
            &[("BG Reading (mg/dL)", "abc")],
        ),
    ];
    let sensor = vec![
        row(
            1,
            "2026/10/25",
            "02:00:00",
            &[("Sensor Glucose (mg/dL)", "150")],
        ),
        row(
            2,
            "2026/10/25",
            "01:45:00",
            &[("Sensor Glucose (mg/dL)", "145")],
        ),
        row(
            3,
            "2026/10/25",
            "01:30:00",
            &[("Sensor Glucose (mg/dL)", "140")],
        ),
        row(
            4,
            "2026/10/25",
            "01:15:00",
            &[("Sensor Glucose (mg/dL)", "135")],
        ),
        row(
            5,
            "2026/10/25",
            "01:45:00",
            &[("Sensor Glucose (mg/dL)", "125")],
        ),
        row(
            6,
            "2026/10/25",
            "01:30:00",
            &[("Sensor Glucose (mg/dL)", "120")],
        ),
        row(
            7,
            "2026/10/25",
            "01:15:00",
            &[("Sensor Glucose (mg/dL)", "115")],
        ),
        row(
            8,
            "2026/10/25",
            "00:45:00",
            &[
                ("Sensor Glucose (mg/dL)", "110"),
                ("BG Reading (mg/dL)", "112"),
            ],
        ),
    ];
    let file = export(&[
        (
            "-------,MiniMed 780G MMT-1884,Pump,NG1234567H,-------",
            pump,
        ),
        ("-------,Guardian 4 Sensor,Sensor,GT12345,-------", sensor),
    ]);
    let response = app
        .user
        .post_raw(
            "/api/personal/uploads?tz=Europe/London",
            "text/csv",
            file.into_bytes(),
        )
        .await;
    let (status, summary) = status_and_json(response).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["format"], "medtronic-carelink-csv");
    let reasons = summary["rejected"].to_string();
    assert!(reasons.contains("BG reading \\\"abc\\\""), "{reasons}");
    assert_eq!(
        summary["rejected_count"], 1,
        "the percentage temp is resolved: {reasons}"
    );

    let events = events_of(&app, person["person_id"].as_str().expect("id")).await;
    let cgm: Vec<(Timestamp, &Body)> = events
        .iter()
        .filter(|e| matches!(e.body, Body::Cgm { .. }))
        .map(|e| (e.at, &e.body))
        .collect();
    assert_eq!(
        cgm.len(),
        8,
        "both passes through 01:00–02:00 are kept: {cgm:?}"
    );
    let at_0130: Vec<Timestamp> = events
        .iter()
        .filter(|e| {
            matches!(
                e.body,
                Body::Cgm {
                    glucose_tenths_mg_dl: 1200 | 1400
                }
            )
        })
        .map(|e| e.at)
        .collect();
    assert_eq!(
        at_0130,
        vec![ts("2026-10-25T00:30:00Z"), ts("2026-10-25T01:30:00Z")],
        "first 01:30 is BST, second GMT"
    );
    let bolus: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.body, Body::Bolus { .. }))
        .collect();
    assert_eq!(bolus.len(), 2, "{bolus:?}");
    assert_eq!(
        bolus[0].body,
        Body::Bolus {
            immediate_milliunits: 150,
            extended_milliunits: 0,
            extended_minutes: 0,
            automatic: true
        }
    );
    assert_eq!(
        bolus[1].body,
        Body::Bolus {
            immediate_milliunits: 3000,
            extended_milliunits: 2000,
            extended_minutes: 90,
            automatic: false
        },
        "dual wave in one bolus; the selected-only row adds nothing"
    );
    assert_eq!(&*bolus[1].device, "MiniMed 780G MMT-1884 NG1234567H");
    assert!(
        events
            .iter()
            .any(|e| e.body == Body::Carbs { tenths_grams: 450 })
    );
    assert!(events.iter().any(|e| e.body
        == Body::Smbg {
            glucose_tenths_mg_dl: 1120
        }
        && &*e.device == "Guardian 4 Sensor GT12345"));
    let basal: Vec<&Body> = events
        .iter()
        .map(|e| &e.body)
        .filter(|b| matches!(b, Body::Basal { .. }))
        .collect();
    assert_eq!(
        basal,
        vec![
            &Body::Basal {
                rate_milliunits_per_hour: 850,
                duration_seconds: 0,
                basal: BasalKind::Scheduled
            },
            &Body::Basal {
                rate_milliunits_per_hour: 1200,
                duration_seconds: 7200,
                basal: BasalKind::Temporary
            },
            &Body::Basal {
                rate_milliunits_per_hour: 425,
                duration_seconds: 3600,
                basal: BasalKind::Temporary
            },
            &Body::Basal {
                rate_milliunits_per_hour: 0,
                duration_seconds: 0,
                basal: BasalKind::Suspend
            },
        ]
    );
}

#[tokio::test]
async fn a_european_carelink_export_with_semicolons_decimal_commas_and_mmol_reads_alike() {
    let app = spawn_app().await;
    let person = signed_in_person(&app.user, "carelink.eu").await;
    let header = "Index;Date;Time;BG Reading (mmol/L);Basal Rate (U/h);Bolus Type;Bolus Volume Delivered (U);Sensor Glucose (mmol/L)";
    let file = format!(
        "Nachname;Vorname\r\nBeispiel;Jo\r\n-------;MiniMed 780G MMT-1884;Pump;NG7654321H;-------\r\n{header}\r\n\
         3;2026/10/10;08:10:00;;;Normal;4,5;\r\n2;2026/10/10;08:05:00;6,1;;;;\r\n1;2026/10/10;08:00:00;;0,725;;;7,2\r\n"
    );
    let response = app
        .user
        .post_raw(
            "/api/personal/uploads?tz=Europe/Berlin",
            "text/csv",
            file.into_bytes(),
        )
        .await;
    let (status, summary) = status_and_json(response).await;
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["accepted"], 4);
    let events = events_of(&app, person["person_id"].as_str().expect("id")).await;
    assert_eq!(events[0].at, ts("2026-10-10T06:00:00Z"), "CEST is UTC+2");
    assert!(
        events.iter().any(|e| e.body
            == Body::Cgm {
                glucose_tenths_mg_dl: 1297
            }),
        "7.2 × 18.018 = 129.7"
    );
    assert!(events.iter().any(|e| e.body
        == Body::Smbg {
            glucose_tenths_mg_dl: 1099
        }));
    assert!(events.iter().any(|e| e.body
        == Body::Basal {
            rate_milliunits_per_hour: 725,
            duration_seconds: 0,
            basal: BasalKind::Scheduled
        }));
    assert!(events.iter().any(|e| matches!(
        e.body,
        Body::Bolus {
            immediate_milliunits: 4500,
            ..
        }
    )));
}
