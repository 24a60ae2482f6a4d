//! Reports through the HTTP API: the clinic's report of a linked patient (audited), the patient's own,
//! hand-checkable metrics, units, and every bad query refused with nothing stored.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::{Browser, assert_error, spawn_app, status_and_json};
use crate::support::pdf;
use crate::support::people::{create_patient, linked_patient, signed_in_clinic};

async fn upload_json(patient: &Browser, events: Value) {
    let body =
        serde_json::to_vec(&json!({"device": "Report Sensor", "events": events})).expect("json");
    let response = patient
        .post_raw("/api/personal/uploads?tz=UTC", "application/json", body)
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

#[tokio::test]
async fn a_clinic_report_of_a_linked_patient_has_hand_checkable_metrics_and_is_audited() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "report").await;
    // One reading in each consensus range, five minutes apart, on 2026-11-20 (UTC).
    let values = [50, 60, 100, 200, 300];
    let events: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"type": "cgm", "time": format!("2026-11-20T08:{:02}:00Z", i * 5), "value": v}))
        .chain([json!({"type": "bolus", "time": "2026-11-20T08:00:00Z", "units": 4.0}), json!({"type": "carbs", "time": "2026-11-20T08:00:00Z", "grams": 50})])
        .collect();
    upload_json(&linked.patient, Value::Array(events)).await;
    let path = format!(
        "/api/clinic/patients/{}/report?from=2026-11-20&to=2026-11-20&tz=UTC",
        linked.patient_id
    );
    let (status, report) = status_and_json(linked.clinic.get(&path).await).await;
    assert_eq!(status, 200, "{report}");
    let m = &report["metrics"];
    for range in ["very_low", "low", "in_range", "high", "very_high"] {
        assert_eq!(m["time_in_ranges"][range], 20.0, "{range}");
    }
    assert_eq!(m["mean"], 142.0);
    assert_eq!(m["gmi_percent"], 6.7, "3.31 + 0.02392 × 142 = 6.707");
    assert_eq!(m["gri"], 100.0);
    assert_eq!(m["readings"], 5);
    assert_eq!(report["period"]["days"], 1);
    assert_eq!(report["days"][0]["bolus_units"], 4.0);
    // Boluses only: basal is not recorded, so neither is a total daily dose (never a 0 that looks real).
    assert_eq!(report["insulin"]["basal_per_day"], Value::Null);
    assert_eq!(report["insulin"]["total_daily_dose"], Value::Null);
    assert_eq!(report["insulin"]["bolus_per_day"], 4.0);
    // Completeness over the period up to the newest data (08:20 + 5 minutes): 5 of 101 readings, the
    // 8-hour stretch before the first one a gap; the day has insulin; one upload, nothing repeated.
    let c = &report["completeness"];
    assert_eq!(c["readings"][0]["present"], 5, "{c}");
    assert_eq!(c["readings"][0]["expected"], 101, "{c}");
    assert_eq!(c["gap_count"], 1, "{c}");
    assert_eq!(c["days_without_insulin_count"], 0, "{c}");
    assert_eq!(
        (c["duplicates"].as_u64(), c["conflicts"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(report["carbs"]["by_time_of_day"][1], 50.0, "a morning meal");
    assert!(
        report["notice"]
            .as_str()
            .expect("notice")
            .contains("adjunct")
    );
    assert!(
        report["sufficiency_warning"]
            .as_str()
            .expect("warning")
            .contains("14 days")
    );
    assert_eq!(report["patient"]["name"], "Jordan Example");

    let (status, mmol) =
        status_and_json(linked.clinic.get(&format!("{path}&units=mmol/L")).await).await;
    assert_eq!(status, 200);
    assert_eq!(mmol["units"], "mmol/L");
    assert_eq!(mmol["metrics"]["mean"], 7.9, "142 / 18.018 = 7.88");

    let (_, log) = status_and_json(linked.patient.get("/api/personal/audit").await).await;
    assert!(
        log["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "report_viewed"),
        "{log}"
    );
}

#[tokio::test]
async fn a_patient_sees_their_own_report_for_the_last_fourteen_days_by_default() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "own.report").await;
    let now = app.clock_now();
    upload_json(
        &linked.patient,
        json!([{"type": "cgm", "time": now.to_string(), "value": 120}]),
    )
    .await;
    let (status, report) = status_and_json(linked.patient.get("/api/personal/report").await).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["period"]["days"], 14);
    assert_eq!(report["metrics"]["readings"], 1);
    assert_eq!(report["days"].as_array().map(Vec::len), Some(14));
    // What the website's form sends: a number of days, empty dates and units.
    let (status, week) = status_and_json(
        linked
            .patient
            .get("/api/personal/report?days=7&from=&to=&units=&format=json")
            .await,
    )
    .await;
    assert_eq!(status, 200, "{week}");
    assert_eq!(week["period"]["days"], 7);
    assert_eq!(week["period"]["to"], report["period"]["to"], "ending today");
    let (_, ending) = status_and_json(
        linked
            .patient
            .get("/api/personal/report?days=30&to=2026-06-30")
            .await,
    )
    .await;
    assert_eq!(ending["period"]["from"], "2026-06-01");
}

/// "Linked but no or old data": a report of the last days ending today would be empty, so without a
/// chosen end the period ends on the day of the newest reading, and the report says so.
#[tokio::test]
async fn without_a_chosen_end_a_report_of_old_data_ends_at_the_newest_reading() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "stale.report").await;
    upload_json(&linked.patient, a_day_of_pump_data()).await;
    // The newest reading is 20 Nov 2026 23:55 UTC; "now" is at least 12 days later (over 7 days).
    let newest: jiff::Timestamp = "2026-11-20T23:55:00Z".parse().expect("ts");
    let now = glucolink_core::clock::Clock::now(app.clock.as_ref());
    assert!(now.duration_since(newest) > jiff::SignedDuration::from_hours(7 * 24));
    let clinic = format!("/api/clinic/patients/{}/report", linked.patient_id);
    for base in [clinic.as_str(), "/api/personal/report"] {
        let browser = if base == clinic {
            &linked.clinic
        } else {
            &linked.patient
        };
        let (status, report) =
            status_and_json(browser.get(&format!("{base}?tz=UTC&days=7")).await).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["period"]["from"], "2026-11-14");
        assert_eq!(report["period"]["to"], "2026-11-20");
        assert_eq!(report["period"]["ends_at_newest_data"], true);
        assert_eq!(report["metrics"]["readings"], 288);
        let html = browser.get(&format!("{base}?tz=UTC&format=html")).await;
        let html = html.text().await.expect("html");
        assert!(html.contains("7 Nov 2026 – 20 Nov 2026 (14 days, ending at the newest data)"));
        // A chosen end is kept, even when it holds no data.
        let (_, chosen) = status_and_json(
            browser
                .get(&format!("{base}?tz=UTC&days=7&to=2026-12-02"))
                .await,
        )
        .await;
        assert_eq!(chosen["period"]["to"], "2026-12-02");
        assert_eq!(chosen["period"]["ends_at_newest_data"], false);
        assert_eq!(chosen["metrics"]["readings"], 0);
    }
    // Within the clinic's freshness limit the period ends today, as it always did.
    let response = linked
        .clinic
        .send(
            Method::PUT,
            "/api/clinic/settings",
            Some(&json!({ "freshness_days": 90 })),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let (_, fresh) = status_and_json(linked.clinic.get(&format!("{clinic}?tz=UTC")).await).await;
    assert_eq!(fresh["period"]["ends_at_newest_data"], false);
    assert_eq!(
        fresh["period"]["to"],
        jiff::tz::TimeZone::UTC.to_datetime(now).date().to_string()
    );
}

#[tokio::test]
async fn sections_choose_the_pages_and_long_periods_leave_out_the_daily_detail() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "sections.report").await;
    upload_json(&linked.patient, a_day_of_pump_data()).await;
    let base = format!(
        "/api/clinic/patients/{}/report?tz=UTC&to=2026-11-20",
        linked.patient_id
    );
    let headings = |text: &str| {
        [
            "Glucose overview",
            "Daily glucose profiles",
            "Insulin and meals",
            "Daily detail",
        ]
        .into_iter()
        .filter(|h| text.contains(&format!(">{h}</h1>")))
        .collect::<Vec<_>>()
    };
    let html = |query: String| {
        let clinic = &linked.clinic;
        async move { clinic.get(&query).await.text().await.expect("html") }
    };
    // Up to 14 days the overview holds every daily profile and each day has its detail page; over
    // 14 days the pages of daily profiles, and no daily detail unless asked for.
    assert_eq!(
        headings(&html(format!("{base}&days=14&format=html")).await),
        ["Glucose overview", "Insulin and meals", "Daily detail"]
    );
    let month = html(format!("{base}&days=30&format=html")).await;
    assert_eq!(
        headings(&month),
        [
            "Glucose overview",
            "Daily glucose profiles",
            "Insulin and meals"
        ]
    );
    let chosen = format!("{base}&days=30&sections=daily_detail,overview");
    assert_eq!(
        headings(&html(format!("{chosen}&format=html")).await),
        ["Glucose overview", "Daily detail"]
    );
    // The PDF prints the same sections, and its download link keeps the choice.
    assert!(
        html(format!("{chosen}&format=html"))
            .await
            .contains("sections=daily_detail%2Coverview")
    );
    let pdf = linked.clinic.get(&format!("{chosen}&format=pdf")).await;
    let pages = pdf::pages(&pdf.bytes().await.expect("pdf"));
    assert_eq!(
        pages.len(),
        1 + 10,
        "the overview and 30 days at 3 per page"
    );
    assert!(pages[0].contains("Glucose overview"));
    assert!(pages[1..].iter().all(|p| p.contains("Daily detail")));
}

/// The comparison page: this week against the week before, every measure with its change, in HTML
/// and PDF alike.
#[tokio::test]
async fn the_comparison_page_sets_this_period_against_the_previous_one() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "compare.report").await;
    upload_json(&linked.patient, a_day_of_pump_data()).await;
    // A week earlier, a day wholly in range (no 200 mg/dL hour).
    let mut earlier = a_day_of_pump_data();
    for event in earlier.as_array_mut().expect("events") {
        let time = event["time"]
            .as_str()
            .expect("time")
            .replace("2026-11-20", "2026-11-13");
        event["time"] = json!(time);
        if event["type"] == "cgm" {
            event["value"] = json!(120);
        }
    }
    upload_json(&linked.patient, earlier).await;
    let path = format!(
        "/api/clinic/patients/{}/report?tz=UTC&to=2026-11-20&days=7&sections=overview,comparison",
        linked.patient_id
    );
    let html = linked.clinic.get(&format!("{path}&format=html")).await;
    assert_eq!(html.status().as_u16(), 200);
    let html = html.text().await.expect("html");
    assert!(html.contains(">Comparison with the previous period</h1>"));
    assert!(html.contains("14 Nov 2026 – 20 Nov 2026"));
    assert!(html.contains("7 Nov 2026 – 13 Nov 2026"));
    // 95.8 % in range this week against 100.0 % the week before.
    assert!(
        html.contains(
            "<tr><th scope=\"row\">Time in range 70–180 mg/dL</th><td>95.8 %</td><td>100.0 %</td><td>−4.2 %</td></tr>"
        ),
        "{html}"
    );
    assert_eq!(html.matches("Time in ranges · ").count(), 2, "both bars");
    assert!(html.contains("Previous period: median (dashed)"));
    let pdf = linked.clinic.get(&format!("{path}&format=pdf")).await;
    let pages = pdf::pages(&pdf.bytes().await.expect("pdf"));
    assert_eq!(pages.len(), 2, "the overview and the comparison");
    let page = &pages[1];
    assert!(page.contains("Comparison with the previous period"));
    for needle in [
        "95.8 %",
        "100.0 %",
        "−4.2 %",
        "Time in ranges · Previous period",
    ] {
        assert!(page.contains(needle), "{needle} in\n{page}");
    }
    // Without data in the previous period, its numbers are "—", never 0.
    let (_, plain) = status_and_json(
        linked
            .clinic
            .get(&format!(
                "/api/clinic/patients/{}/report?tz=UTC&to=2026-11-13&days=7",
                linked.patient_id
            ))
            .await,
    )
    .await;
    assert_eq!(plain["metrics"]["readings"], 288);
    let first = linked
        .clinic
        .get(&format!(
            "/api/clinic/patients/{}/report?tz=UTC&to=2026-11-13&days=7&sections=comparison&format=html",
            linked.patient_id
        ))
        .await
        .text()
        .await
        .expect("html");
    assert!(
        first.contains("<td>100.0 %</td><td>—</td><td>—</td>"),
        "{first}"
    );
}

#[tokio::test]
async fn bad_report_queries_are_refused_and_unlinked_records_have_no_report() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "bad.report").await;
    let base = format!("/api/clinic/patients/{}/report", linked.patient_id);
    let before = app.stored().await;
    let cases = [
        ("?from=2026-11-20&to=2026-11-01", "invalid_period"),
        ("?from=2026-01-01&to=2026-11-01", "invalid_period"),
        ("?from=yesterday&to=2026-11-01", "invalid_date"),
        ("?from=9999-12-25&to=9999-12-31", "invalid_date"),
        ("?from=-009999-01-01&to=-009999-01-02", "invalid_date"),
        ("?days=7&to=9999-12-31", "invalid_date"),
        ("?units=furlongs", "invalid_units"),
        ("?tz=Mars/Olympus", "invalid_tz"),
        ("?format=docx", "unsupported_format"),
        ("?ranges=tight", "invalid_ranges"),
        ("?days=0", "invalid_period"),
        ("?days=91", "invalid_period"),
        ("?days=week", "invalid_period"),
        ("?days=7&to=soon", "invalid_date"),
        ("?sections=agp", "invalid_sections"),
        ("?sections=overview,overview", "invalid_sections"),
        ("?sections=overview,", "invalid_sections"),
        ("?sections=comparison,comparison", "invalid_sections"),
    ];
    for (query, code) in cases {
        assert_error(
            linked.clinic.get(&format!("{base}{query}")).await,
            400,
            code,
        )
        .await;
        assert_error(
            linked
                .patient
                .get(&format!("/api/personal/report{query}"))
                .await,
            400,
            code,
        )
        .await;
    }
    // A browser that asked for a page gets a page that says what to change, never raw JSON.
    for query in [
        "?from=2026-11-20&to=2026-11-01&format=html",
        "?days=120&format=pdf",
        "?sections=agp&format=html",
    ] {
        for response in [
            linked.clinic.get(&format!("{base}{query}")).await,
            linked
                .patient
                .get(&format!("/api/personal/report{query}"))
                .await,
        ] {
            assert_eq!(response.status().as_u16(), 400, "{query}");
            assert_eq!(
                response.headers()["content-type"],
                "text/html; charset=utf-8",
                "{query}"
            );
            let page = response.text().await.expect("page");
            assert!(page.contains("This report cannot be made"), "{page}");
            assert!(page.contains("A report covers 1 to 90 days"), "{page}");
        }
    }
    assert_eq!(
        app.stored().await,
        before,
        "refused queries write nothing, not even an audit event"
    );

    let unlinked = create_patient(&linked.clinic, "Not Linked", "1970-01-01", None).await;
    assert_error(
        linked
            .clinic
            .get(&format!("/api/clinic/patients/{unlinked}/report"))
            .await,
        409,
        "not_linked",
    )
    .await;
    let intruder = app.browser();
    signed_in_clinic(&intruder, "intruder.report@clinic.example").await;
    assert_error(intruder.get(&base).await, 404, "not_found").await;

    let response = linked
        .patient
        .send(
            reqwest::Method::DELETE,
            &format!("/api/personal/sharing/{}", linked.clinic_id),
            None,
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_error(linked.clinic.get(&base).await, 409, "not_linked").await;
}

/// A day of readings every 5 minutes at 120 mg/dL with a 200 mg/dL hour after breakfast, a bolus, a
/// meal, a scheduled basal rate and one meter reading, on 2026-11-20 (UTC).
fn a_day_of_pump_data() -> Value {
    let mut events: Vec<Value> = (0..288)
        .map(|i| {
            let (hour, minute) = (i / 12, i % 12 * 5);
            let value = if hour == 8 { 200 } else { 120 };
            json!({"type": "cgm", "time": format!("2026-11-20T{hour:02}:{minute:02}:00Z"), "value": value})
        })
        .collect();
    events.extend([
        json!({"type": "bolus", "time": "2026-11-20T07:30:00Z", "units": 5.5}),
        json!({"type": "carbs", "time": "2026-11-20T07:30:00Z", "grams": 60}),
        json!({"type": "basal", "time": "2026-11-20T00:00:00Z", "rate": 1.0}),
        json!({"type": "smbg", "time": "2026-11-20T12:00:00Z", "value": 110}),
    ]);
    Value::Array(events)
}

#[tokio::test]
async fn the_html_report_has_every_section_and_the_notice_name_dob_and_period_on_every_page() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "html.report").await;
    upload_json(&linked.patient, a_day_of_pump_data()).await;
    let path = format!(
        "/api/clinic/patients/{}/report?from=2026-11-20&to=2026-11-20&tz=UTC&format=html&sections=overview,daily_profiles,insulin_meals,daily_detail",
        linked.patient_id
    );
    let response = linked.clinic.get(&path).await;
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "only the site's own scripts may run in a report: {csp}"
    );
    let html = response.text().await.expect("html");
    for section in [
        "Glucose overview",
        "Daily glucose profiles",
        "Insulin and meals",
        "Daily detail",
        "Time in ranges",
        "Ambulatory glucose profile",
        "Goals: Standard targets",
        "Download PDF",
    ] {
        assert!(html.contains(section), "{section} missing");
    }
    let pages = html.matches(r#"<section class="page""#).count();
    assert_eq!(
        pages, 4,
        "overview, profiles, insulin and meals, one detail page"
    );
    for needle in [
        "intended for use as an adjunct",
        "Jordan Example · DOB 15 Jun 1990",
        "20 Nov 2026 – 20 Nov 2026 (1 day)",
    ] {
        assert_eq!(
            html.matches(needle).count(),
            pages,
            "{needle} on every page"
        );
    }
    assert!(html.matches("<svg").count() >= 5, "charts are inline SVG");
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one script: the Print and Close buttons"
    );
    assert!(html.contains(r#"<script src="/assets/report.js" defer></script>"#));
    assert!(html.contains("data-print hidden>Print</button>"));
    assert!(html.contains("data-close>Close report</a>"));
    // 12 of 288 readings are high: 95.8 % in range, and the day's insulin is basal 24 U + bolus 5.5 U.
    assert!(html.contains("In range  70–180 mg/dL"));
    assert!(html.contains("95.8 %"));
    assert!(html.contains("<td>29.5 U</td>"), "total daily dose");
    assert!(html.contains("format=pdf"));
}

#[tokio::test]
async fn the_pdf_report_is_a_real_pdf_with_the_notice_and_patient_on_every_page() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "pdf.report").await;
    upload_json(&linked.patient, a_day_of_pump_data()).await;
    let path = format!(
        "/api/clinic/patients/{}/report?from=2026-11-14&to=2026-11-20&tz=UTC&format=pdf",
        linked.patient_id
    );
    let response = linked.clinic.get(&path).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .expect("disposition")
            .contains("glucolink-report-2026-11-14-to-2026-11-20.pdf")
    );
    let pdf = response.bytes().await.expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF document");
    assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
    let pages = pdf.windows(11).filter(|w| *w == b"/Type /Page").count()
        - pdf.windows(12).filter(|w| *w == b"/Type /Pages").count();
    // Overview (with the 7 daily profiles), insulin and meals with the day-by-day table below its
    // charts (7 rows fit), and 7 days at 3 per page.
    assert_eq!(pages, 1 + 1 + 3);
    let text = pdf::pages(&pdf);
    assert_eq!(text.len(), pages, "pdftotext reads every page");
    for (number, page) in text.iter().enumerate() {
        for needle in [
            "Jordan Example · DOB 15 Jun 1990",
            "glucolink reports are intended for use as an adjunct",
            "14 Nov 2026 – 20 Nov 2026 (7 days) · UTC · mg/dL",
            &format!("Page {} of {pages}", number + 1),
        ] {
            assert!(page.contains(needle), "{needle} on page {}", number + 1);
        }
    }
    let all = text.concat();
    for heading in ["Glucose overview", "Daily detail", "Insulin and meals"] {
        assert!(all.contains(heading), "{heading}");
    }
    for goal in ["≤ 36 %", "≥ 70 %"] {
        assert!(text[0].contains(goal), "{goal} printed with its sign");
    }
}

/// Names in any script print in the PDF exactly as typed (fonts embedded and subset, with their
/// ToUnicode maps), on every page; scripts the PDF cannot draw without a shaper are marked, never
/// printed with letters missing.
#[tokio::test]
async fn the_pdf_prints_every_name_as_typed_or_says_where_it_is_printed() {
    let app = spawn_app().await;
    let report = "report?from=2026-11-20&to=2026-11-20&tz=UTC";
    for (i, (name, dob, printed)) in [
        ("Иван Петров", "1961-03-04", "Иван Петров · DOB 4 Mar 1961"),
        (
            "Иван Петрова",
            "1961-03-04",
            "Иван Петрова · DOB 4 Mar 1961",
        ),
        ("山田 太郎", "1975-08-15", "山田 太郎 · DOB 15 Aug 1975"),
        ("Łukasz Żółć", "1990-01-02", "Łukasz Żółć · DOB 2 Jan 1990"),
        (
            "Dvořák Ševčík",
            "1985-12-24",
            "Dvořák Ševčík · DOB 24 Dec 1985",
        ),
        ("김민준", "2001-05-05", "김민준 · DOB 5 May 2001"),
        (
            "محمد علي",
            "1980-01-01",
            "[Arabic script: printed on the HTML report only] · DOB 1 Jan 1980",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let linked =
            crate::support::people::linked_patient_named(&app, &format!("names{i}"), name, dob)
                .await;
        upload_json(&linked.patient, a_day_of_pump_data()).await;
        let path = format!("/api/clinic/patients/{}/{report}", linked.patient_id);
        let pdf = linked.clinic.get(&format!("{path}&format=pdf")).await;
        assert_eq!(pdf.status().as_u16(), 200);
        let pages = pdf::pages(&pdf.bytes().await.expect("pdf"));
        assert!(pages.len() > 1);
        for (number, page) in pages.iter().enumerate() {
            assert!(
                page.contains(printed),
                "{printed} on page {} of {name}'s report:\n{page}",
                number + 1
            );
        }
        // The HTML report shows every name as typed, whatever the script.
        let html = linked.clinic.get(&format!("{path}&format=html")).await;
        let html = html.text().await.expect("html");
        assert!(html.contains(name), "{name} in the HTML report");
        // The patient's own PDF too.
        let own = linked
            .patient
            .get(&format!("/api/personal/{report}&format=pdf"))
            .await;
        assert_eq!(own.status().as_u16(), 200);
        assert!(pdf::pages(&own.bytes().await.expect("pdf"))[0].contains(printed));
    }
}

#[tokio::test]
async fn a_browser_asking_for_the_report_of_an_unlinked_record_gets_the_linking_steps() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "steps.report").await;
    let unlinked = create_patient(&linked.clinic, "Sam Unlinked", "1970-01-01", None).await;
    for format in ["html", "pdf"] {
        let response = linked
            .clinic
            .get(&format!(
                "/api/clinic/patients/{unlinked}/report?format={format}"
            ))
            .await;
        assert_eq!(response.status().as_u16(), 409);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let page = response.text().await.expect("page");
        for words in [
            "No report for Sam Unlinked",
            "Patient Profile",
            "Link to Personal",
            "Generate a unique code",
            "Email, SMS text or Print",
            "Data Sharing",
            "Upload now",
        ] {
            assert!(page.contains(words), "{words} missing from {page}");
        }
    }
}

#[tokio::test]
async fn a_period_without_data_says_so_and_points_to_upload_now() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "empty.report").await;
    let path = format!(
        "/api/clinic/patients/{}/report?from=2026-11-01&to=2026-11-07&format=html",
        linked.patient_id
    );
    let response = linked.clinic.get(&path).await;
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.expect("page");
    for words in [
        "No data in this period",
        "Ensure the correct account is linked",
        "Upload now",
        "intended for use as an adjunct",
    ] {
        assert!(page.contains(words), "{words}");
    }
    let own = linked
        .patient
        .get("/api/personal/report?from=2026-11-01&to=2026-11-07&format=html")
        .await
        .text()
        .await
        .expect("page");
    assert!(own.contains("No data in this period") && own.contains("Upload now"));
    let (status, json) = status_and_json(
        linked
            .clinic
            .get(&path.replace("format=html", "format=json"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json["metrics"]["readings"], 0);
    assert_eq!(
        json["metrics"]["mean"],
        Value::Null,
        "no number that looks real"
    );
}

#[tokio::test]
async fn a_pregnancy_preset_sets_the_target_range_and_goals_of_the_record() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "preset.report").await;
    // 62.9 below, 63.0 and 140.0 in range, 140.1 above (mg/dL).
    let events: Vec<Value> = [62.9, 63.0, 140.0, 140.1]
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"type": "cgm", "time": format!("2026-11-20T10:{:02}:00Z", i * 5), "value": v}))
        .collect();
    upload_json(&linked.patient, Value::Array(events)).await;
    let ranges = format!("/api/clinic/patients/{}/ranges", linked.patient_id);
    let response = linked
        .clinic
        .send(Method::PUT, &ranges, Some(&json!({"ranges": "pregnancy"})))
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ranges"]["preset"], "pregnancy");
    let (_, profile) = status_and_json(
        linked
            .clinic
            .get(&format!("/api/clinic/patients/{}", linked.patient_id))
            .await,
    )
    .await;
    assert_eq!(profile["ranges"]["preset"], "pregnancy");
    let report_path = format!(
        "/api/clinic/patients/{}/report?from=2026-11-20&to=2026-11-20&tz=UTC",
        linked.patient_id
    );
    let (_, report) = status_and_json(linked.clinic.get(&report_path).await).await;
    let targets = &report["targets"];
    assert_eq!(targets["preset"], "pregnancy");
    assert_eq!(
        (
            targets["target_low"].clone(),
            targets["target_high"].clone()
        ),
        (json!(63.0), json!(140.0))
    );
    assert_eq!(targets["in_target_percent"], 50.0);
    assert_eq!(targets["below_target_percent"], 25.0);
    assert_eq!(targets["goals"][0]["label"], "Time in range 63–140 mg/dL");
    assert_eq!(targets["goals"][0]["met"], false, "50 % is not > 70 %");
    assert_eq!(
        (
            report["metrics"]["time_in_ranges"]["low"].clone(),
            report["metrics"]["time_in_ranges"]["in_range"].clone()
        ),
        (json!(50.0), json!(50.0)),
        "the consensus ranges stay as they are: 62.9 and 63.0 are low, 140.0 and 140.1 in 70–180"
    );
    // The query can ask for other targets once; the record keeps its preset.
    let (_, older) = status_and_json(
        linked
            .clinic
            .get(&format!("{report_path}&ranges=older_high_risk"))
            .await,
    )
    .await;
    assert_eq!(older["targets"]["goals"][0]["goal"], "> 50 %");

    let before = app.stored().await;
    for (body, code) in [
        (json!({"ranges": "tight"}), "invalid_ranges"),
        (json!({}), "missing_field"),
        (
            json!({"ranges": "pregnancy", "colour": "red"}),
            "unknown_field",
        ),
        (json!({"ranges": 3}), "invalid_type"),
    ] {
        assert_error(
            linked.clinic.send(Method::PUT, &ranges, Some(&body)).await,
            400,
            code,
        )
        .await;
    }
    assert_eq!(app.stored().await, before, "refused changes store nothing");
    let other = app.browser();
    signed_in_clinic(&other, "other.preset@clinic.example").await;
    assert_error(
        other
            .send(Method::PUT, &ranges, Some(&json!({"ranges": "standard"})))
            .await,
        404,
        "not_found",
    )
    .await;
    let (_, log) = status_and_json(linked.clinic.get("/api/clinic/audit").await).await;
    assert!(
        log["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "ranges_changed"),
        "{log}"
    );
}

#[tokio::test]
async fn units_are_each_readers_preference() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "units.report").await;
    upload_json(
        &linked.patient,
        json!([{"type": "cgm", "time": "2026-11-20T10:00:00Z", "value": 180.18}]),
    )
    .await;
    let clinic_path = format!(
        "/api/clinic/patients/{}/report?from=2026-11-20&to=2026-11-20&tz=UTC",
        linked.patient_id
    );
    let response = linked
        .clinic
        .send(
            Method::PUT,
            "/api/clinic/settings",
            Some(&json!({"glucose_units": "mmol/L"})),
        )
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["glucose_units"], "mmol/L");
    assert_eq!(body["freshness_days"], 7, "unchanged");
    let (_, report) = status_and_json(linked.clinic.get(&clinic_path).await).await;
    assert_eq!(report["units"], "mmol/L");
    assert_eq!(report["metrics"]["mean"], 10.0, "180.18 / 18.018");
    assert_eq!(report["conversion_factor"], 18.018);
    let own_path = "/api/personal/report?from=2026-11-20&to=2026-11-20&tz=UTC";
    let (_, own) = status_and_json(linked.patient.get(own_path).await).await;
    assert_eq!(
        own["units"], "mg/dL",
        "the patient's own preference is separate"
    );
    let response = linked
        .patient
        .send(
            Method::PUT,
            "/api/personal/profile",
            Some(&json!({"glucose_units": "mmol/L"})),
        )
        .await;
    let (status, me) = status_and_json(response).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["glucose_units"], "mmol/L");
    let (_, own) = status_and_json(linked.patient.get(own_path).await).await;
    assert_eq!(own["units"], "mmol/L");

    let before = app.stored().await;
    let (clinic_settings, profile) = ("/api/clinic/settings", "/api/personal/profile");
    for (who, path, body, code) in [
        (
            &linked.clinic,
            clinic_settings,
            json!({"glucose_units": "mg"}),
            "invalid_units",
        ),
        (&linked.clinic, clinic_settings, json!({}), "missing_field"),
        (
            &linked.patient,
            profile,
            json!({"glucose_units": "grains"}),
            "invalid_units",
        ),
        (&linked.patient, profile, json!({}), "missing_field"),
    ] {
        assert_error(who.send(Method::PUT, path, Some(&body)).await, 400, code).await;
    }
    assert_eq!(app.stored().await, before);
}

/// The text of each HTML report page (`<section class="page">`) as a reader sees it: tags read as
/// spaces, entities decoded, and the numbers the browser puts before the items of a numbered list.
fn html_pages(html: &str) -> Vec<String> {
    html.split(r#"<section class="page""#)
        .skip(1)
        .map(|page| {
            let page = page.split("</section>").next().unwrap_or_default();
            let (mut text, mut tag, mut in_tag, mut item) = (String::new(), String::new(), true, 0);
            for c in page.chars() {
                match (c, in_tag) {
                    ('<', _) => {
                        in_tag = true;
                        tag.clear();
                    }
                    ('>', true) => {
                        in_tag = false;
                        text.push(' ');
                        if tag.starts_with("ol") {
                            item = 0;
                        } else if tag == "li" {
                            item += 1;
                            text.push_str(&format!("{item}. "));
                        }
                    }
                    (c, true) => tag.push(c),
                    (c, false) => text.push(c),
                }
            }
            text.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

/// The words of a page, sorted: the same words in both formats, wherever each format puts them.
fn words(text: &str) -> Vec<&str> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    words.sort_unstable();
    words
}

#[tokio::test]
async fn the_html_and_pdf_reports_have_the_same_pages_with_the_same_words() {
    use glucolink_synth::{Patient, Profile, export, generate};
    let app = spawn_app().await;
    let linked = linked_patient(&app, "same.pages").await;
    // Three weeks of a 780G pump with SmartGuard and its sensor, meals and boluses.
    let events = generate(&Patient {
        seed: 17,
        profile: Profile::MedtronicPump,
        time_zone: "Europe/London",
        start: jiff::civil::date(2026, 10, 1),
        days: 42,
    });
    let response = linked
        .patient
        .post_raw(
            "/api/personal/uploads?tz=Europe/London",
            "text/csv",
            export::to_carelink_csv(&events).into_bytes(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    for (query, pages_expected) in [
        // Every section over three weeks: the overview, one page of profiles, insulin and meals with
        // the day-by-day table on its own page, seven pages of detail, the comparison.
        (
            "from=2026-10-22&to=2026-11-11&sections=overview,daily_profiles,insulin_meals,daily_detail,comparison",
            1 + 1 + 2 + 7 + 1,
        ),
        // Two days: the day-by-day table fits below the charts.
        ("from=2026-11-10&to=2026-11-11&units=mmol/L", 1 + 1 + 1),
        // Nothing stored in that period.
        ("from=2025-01-01&to=2025-01-14", 1),
    ] {
        let path = format!(
            "/api/clinic/patients/{}/report?tz=Europe/London&{query}",
            linked.patient_id
        );
        let html = linked.clinic.get(&format!("{path}&format=html")).await;
        assert_eq!(html.status().as_u16(), 200, "{query}");
        let html = html_pages(&html.text().await.expect("html"));
        let pdf = linked.clinic.get(&format!("{path}&format=pdf")).await;
        assert_eq!(pdf.status().as_u16(), 200, "{query}");
        let pdf = pdf::pages_as_drawn(&pdf.bytes().await.expect("pdf"));
        assert_eq!(html.len(), pages_expected, "HTML pages of {query}");
        assert_eq!(pdf.len(), pages_expected, "PDF pages of {query}");
        for (number, (html, pdf)) in html.iter().zip(&pdf).enumerate() {
            let (html_words, pdf_words) = (words(html), words(pdf));
            if html_words != pdf_words {
                let only = |a: &[&str], b: &[&str]| -> Vec<String> {
                    let mut rest = b.to_vec();
                    a.iter()
                        .filter(|w| match rest.iter().position(|r| r == *w) {
                            Some(i) => {
                                rest.remove(i);
                                false
                            }
                            None => true,
                        })
                        .map(|w| (*w).to_owned())
                        .collect()
                };
                panic!(
                    "page {} of {query} differs.\nonly in HTML: {:?}\nonly in PDF: {:?}",
                    number + 1,
                    only(&html_words, &pdf_words),
                    only(&pdf_words, &html_words)
                );
            }
            assert!(
                pdf.contains(&format!("Page {} of {pages_expected}", number + 1)),
                "page numbers"
            );
        }
    }
}

#[tokio::test]
async fn a_report_viewed_again_after_an_upload_has_the_new_data() {
    let app = spawn_app().await;
    let linked = linked_patient(&app, "again.report").await;
    let readings = |hours: std::ops::Range<u32>| {
        Value::Array(
            hours
                .flat_map(|hour| {
                    (0..12).map(move |i| {
                        json!({"type": "cgm", "time": format!("2026-11-20T{hour:02}:{:02}:00Z", i * 5), "value": 100 + hour})
                    })
                })
                .collect(),
        )
    };
    upload_json(&linked.patient, readings(0..12)).await;
    let path = format!(
        "/api/clinic/patients/{}/report?from=2026-11-20&to=2026-11-20&tz=UTC&format=json",
        linked.patient_id
    );
    let count = |report: &Value| report["metrics"]["readings"].as_u64();
    // Where the time went, part by part (the report bench reads it to set the audit write apart).
    let response = linked.clinic.get(&path).await;
    let timing = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let parts: Vec<&str> = timing
        .split(", ")
        .filter_map(|p| p.split(';').next())
        .collect();
    assert_eq!(
        parts,
        ["session", "access", "build", "audit", "render"],
        "{timing}"
    );
    let (status, first) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(count(&first), Some(144));
    // The same report again (composed once, remembered): the same numbers.
    let (_, again) = status_and_json(linked.clinic.get(&path).await).await;
    assert_eq!(again["metrics"], first["metrics"]);
    // The afternoon arrives: the next view has it, never the remembered morning.
    upload_json(&linked.patient, readings(12..24)).await;
    let (_, after) = status_and_json(linked.clinic.get(&path).await).await;
    assert_eq!(count(&after), Some(288));
    assert_ne!(after["metrics"]["mean"], first["metrics"]["mean"]);
    // Other options are another report: the patient's mmol/L view of the same data.
    let (_, mmol) = status_and_json(linked.clinic.get(&format!("{path}&units=mmol/L")).await).await;
    assert_eq!(count(&mmol), Some(288));
    assert_eq!(mmol["units"], "mmol/L");
}
