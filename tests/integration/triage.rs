//! The clinic's triage list through the HTTP API: each record's numbers over the period (the report's
//! numbers for the same dates, on both stores, after uploads that raced), sorting, flags, filters,
//! paging, and every bad query refused with nothing stored.

use std::sync::{Arc, Mutex};

use glucolink_core::Ctx;
use glucolink_core::account::personal::{self, Person, PersonalSignUp};
use glucolink_core::clock::Clock;
use glucolink_core::data::store as data_store;
use glucolink_core::data::summary;
use glucolink_core::data::{Body, Event};
use glucolink_core::store::{Condition, Item, Key, Page, Query, Store, StoreError, WriteOp};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::app::{
    Browser, TestApp, assert_error, spawn_app, spawn_app_on_dynamodb, status_and_json,
};
use crate::support::people::{
    create_patient, link_new_patient, list_patients, names, signed_in_clinic,
};

/// CGM readings every 5 minutes from `days` days before `now` up to `until_days` before it, with values
/// from `value(i)`.
fn readings(now: Timestamp, days: i64, until_days: i64, value: impl Fn(i64) -> i64) -> Vec<Value> {
    let start = now - SignedDuration::from_hours(24 * days);
    let end = now - SignedDuration::from_hours(24 * until_days);
    let mut events = Vec::new();
    let mut i = 0;
    let mut at = start;
    while at < end {
        events.push(json!({"type": "cgm", "time": at.to_string(), "value": value(i)}));
        at += SignedDuration::from_mins(5);
        i += 1;
    }
    events
}

async fn upload(patient: &Browser, events: Vec<Value>) {
    let body =
        serde_json::to_vec(&json!({"device": "Triage Sensor", "events": events})).expect("json");
    let response = patient
        .post_raw("/api/personal/uploads?tz=UTC", "application/json", body)
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

async fn list(clinic: &Browser, query: &str) -> Value {
    list_patients(clinic, query).await
}

fn row<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {body}"))
}

/// A varied day: lows in the small hours, highs after meals.
fn varied(i: i64) -> i64 {
    let minute = (i * 5) % 1440;
    match minute {
        120..=180 => 48 + i % 9,
        181..=240 => 62 + i % 7,
        480..=600 => 190 + i % 80,
        720..=780 => 260 + i % 40,
        _ => 95 + (i * 7) % 70,
    }
}

async fn numbers_match_the_report(app: TestApp) {
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "triage.same@clinic.example").await;
    let (patient, patient_id, _) = link_new_patient(
        &app,
        &clinic,
        "triage.same",
        "Noor Haddad",
        "1984-02-29",
        Some("America/New_York"),
    )
    .await;
    // Twenty days in two files that overlap by three days, sent at once: the summary must hold both.
    let (older, newer) = (
        readings(now, 20, 7, varied),
        readings(now, 10, 0, |i| varied(i + 3)),
    );
    tokio::join!(upload(&patient, older), upload(&patient, newer));
    let body = list(&clinic, "").await;
    let summary = &row(&body, "Noor Haddad")["summary"];
    assert!(summary.is_object(), "{body}");
    let (from, to) = (
        summary["period"]["from"].as_str().expect("from"),
        summary["period"]["to"].as_str().expect("to"),
    );
    let (status, report) = status_and_json(
        clinic
            .get(&format!(
                "/api/clinic/patients/{patient_id}/report?from={from}&to={to}&units=mg/dL"
            ))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let m = &report["metrics"];
    assert_eq!(
        summary["time_in_ranges"], m["time_in_ranges"],
        "{summary}\n{m}"
    );
    for (ours, theirs) in [
        ("mean", "mean"),
        ("gmi_percent", "gmi_percent"),
        ("cv_percent", "cv_percent"),
        ("cgm_active_percent", "cgm_active_percent"),
        ("readings", "readings"),
    ] {
        assert_eq!(summary[ours], m[theirs], "{ours}: {summary}\n{m}");
    }
    assert!(summary["readings"].as_u64().expect("readings") > 3000);
    assert!(
        summary["previous_in_range"].is_number(),
        "six days of the previous period"
    );
    let flags: Vec<&str> = summary["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(flags, ["time_below_54", "time_below_70", "cv"]);
    // The Patient Profile shows the same numbers.
    let (_, profile) = status_and_json(
        clinic
            .get(&format!("/api/clinic/patients/{patient_id}"))
            .await,
    )
    .await;
    assert_eq!(profile["summary"], *summary);
    // Uploading the same file again changes nothing.
    upload(&patient, readings(now, 10, 0, |i| varied(i + 3))).await;
    assert_eq!(list(&clinic, "").await["patients"][0]["summary"], *summary);
}

#[tokio::test]
async fn triage_numbers_are_the_reports_numbers_for_the_same_period() {
    numbers_match_the_report(spawn_app().await).await;
}

#[tokio::test]
async fn triage_numbers_are_the_reports_numbers_on_dynamodb_too() {
    numbers_match_the_report(spawn_app_on_dynamodb().await).await;
}

#[tokio::test]
async fn the_list_sorts_filters_and_flags_who_needs_attention() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "triage.sort@clinic.example").await;
    let mut patients = Vec::new();
    for (tag, name) in [
        ("ann", "Ann Steady"),
        ("ben", "Ben Lows"),
        ("cara", "Cara Quiet"),
        ("dev", "Dev Dropping"),
    ] {
        let (patient, _, _) = link_new_patient(
            &app,
            &clinic,
            &format!("triage.{tag}"),
            name,
            "1970-01-01",
            None,
        )
        .await;
        patients.push(patient);
    }
    create_patient(&clinic, "Eve Unlinked", "1971-01-01", None).await;
    // Ann: 120 all day for 28 days. Ben: one reading in ten at 50. Cara: nothing for 20 days.
    // Dev: in range the 14 days before, then half the day at 200.
    upload(&patients[0], readings(now, 28, 0, |_| 120)).await;
    upload(
        &patients[1],
        readings(now, 14, 0, |i| if i % 10 == 0 { 50 } else { 130 }),
    )
    .await;
    upload(&patients[2], readings(now, 30, 20, |_| 110)).await;
    upload(&patients[3], readings(now, 28, 14, |_| 120)).await;
    upload(
        &patients[3],
        readings(now, 14, 0, |i| if (i / 144) % 2 == 0 { 200 } else { 120 }),
    )
    .await;

    let body = list(&clinic, "").await;
    assert_eq!(body["period_days"], 14);
    assert_eq!(
        names(&body),
        [
            "Ann Steady",
            "Ben Lows",
            "Cara Quiet",
            "Dev Dropping",
            "Eve Unlinked"
        ]
    );
    let flags = |body: &Value, name: &str| row(body, name)["summary"]["flags"].clone();
    assert_eq!(flags(&body, "Ann Steady"), json!([]));
    assert_eq!(
        flags(&body, "Ben Lows"),
        json!(["time_below_54", "time_below_70"])
    );
    assert_eq!(flags(&body, "Cara Quiet"), json!(["no_recent_data"]));
    assert_eq!(
        row(&body, "Cara Quiet")["summary"]["time_in_ranges"],
        Value::Null,
        "not 0 %"
    );
    assert_eq!(row(&body, "Cara Quiet")["summary"]["readings"], 0);
    assert_eq!(
        flags(&body, "Dev Dropping"),
        json!(["time_in_range", "in_range_drop"])
    );
    let before = row(&body, "Dev Dropping")["summary"]["previous_in_range"].as_f64();
    assert!(before > Some(90.0), "{before:?}");
    assert!(
        row(&body, "Eve Unlinked").get("summary").is_none(),
        "no data, no numbers"
    );

    // Sorted by a number, worst first by default; records without the number last, by name.
    assert_eq!(
        names(&list(&clinic, "?sort=very_low").await),
        [
            "Ben Lows",
            "Ann Steady",
            "Dev Dropping",
            "Cara Quiet",
            "Eve Unlinked"
        ]
    );
    assert_eq!(
        names(&list(&clinic, "?sort=in_range").await)[..3],
        ["Dev Dropping", "Ben Lows", "Ann Steady"]
    );
    assert_eq!(
        names(&list(&clinic, "?sort=in_range&order=desc").await)[..2],
        ["Ann Steady", "Ben Lows"]
    );
    assert_eq!(
        names(&list(&clinic, "?sort=last_reading").await)[0],
        "Cara Quiet",
        "the oldest reading first"
    );
    assert_eq!(
        names(&list(&clinic, "?sort=in_range_change").await)[0],
        "Dev Dropping"
    );
    assert_eq!(
        names(&list(&clinic, "?sort=name&order=desc").await)[0],
        "Eve Unlinked"
    );
    // Filters by flag and link state, and search, on top of the order.
    assert_eq!(
        names(&list(&clinic, "?flag=time_below_54").await),
        ["Ben Lows"]
    );
    assert_eq!(
        names(&list(&clinic, "?flag=no_recent_data").await),
        ["Cara Quiet"]
    );
    assert_eq!(
        names(&list(&clinic, "?link_status=not_linked").await),
        ["Eve Unlinked"]
    );
    assert_eq!(
        names(&list(&clinic, "?q=dev&sort=very_low").await),
        ["Dev Dropping"]
    );
    // Over 30 days Cara's readings count, and she is no longer without numbers.
    let month = list(&clinic, "?period_days=30").await;
    assert!(row(&month, "Cara Quiet")["summary"]["readings"].as_u64() > Some(2000));
    assert_eq!(month["period_days"], 30);
}

#[tokio::test]
async fn a_sorted_list_pages_with_its_cursor() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "triage.pages@clinic.example").await;
    for i in 0..53 {
        create_patient(
            &app.user,
            &format!("Page Person {i:02}"),
            "1980-01-01",
            None,
        )
        .await;
    }
    let first = list(&app.user, "?sort=name&order=desc").await;
    assert_eq!(first["patients"].as_array().map(Vec::len), Some(50));
    assert_eq!(names(&first)[0], "Page Person 52");
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let second = list(&app.user, &format!("?sort=name&order=desc&cursor={cursor}")).await;
    assert_eq!(
        names(&second),
        ["Page Person 02", "Page Person 01", "Page Person 00"]
    );
    assert_eq!(second["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_triage_queries_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    signed_in_clinic(&app.user, "triage.bad@clinic.example").await;
    create_patient(&app.user, "Kept Record", "1980-01-01", None).await;
    let before = app.stored_but_sessions().await;
    for (query, code) in [
        ("period_days=15", "invalid_period_days"),
        ("period_days=fourteen", "invalid_period_days"),
        ("period_days=90", "invalid_period_days"),
        ("sort=mean", "invalid_sort"),
        ("order=up", "invalid_order"),
        ("sort=cv&order=sideways", "invalid_order"),
        ("flag=low", "invalid_flag"),
        ("link_status=gone", "invalid_link_status"),
        ("link_status=linked&link=null", "invalid_link_status"),
        ("link_status=linked&link=pending", "invalid_link_status"),
        ("archived=yes", "invalid_archived"),
        ("sort=cv&cursor=page-2", "invalid_cursor"),
        ("sort=cv&cursor=r-1", "invalid_cursor"),
        ("cursor=garbage", "invalid_cursor"),
        ("colour=red", "unknown_parameter"),
    ] {
        let message = assert_error(
            app.user.get(&format!("/api/clinic/patients?{query}")).await,
            400,
            code,
        )
        .await;
        assert!(!message.is_empty(), "{query}");
    }
    assert_eq!(app.stored_but_sessions().await, before, "nothing stored");
}

/// Six files of the same fourteen days (every sixth reading each) sent at once, on DynamoDB: every
/// upload races for the same summary, and the summary still holds every reading.
#[tokio::test]
async fn racing_uploads_of_the_same_days_leave_the_summary_whole() {
    let app = spawn_app_on_dynamodb().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "triage.race@clinic.example").await;
    let (patient, patient_id, _) = link_new_patient(
        &app,
        &clinic,
        "triage.race",
        "Rae Racing",
        "1990-01-01",
        None,
    )
    .await;
    let all = readings(now, 14, 0, varied);
    let file = |k: usize| -> Vec<Value> { all.iter().skip(k).step_by(6).cloned().collect() };
    tokio::join!(
        upload(&patient, file(0)),
        upload(&patient, file(1)),
        upload(&patient, file(2)),
        upload(&patient, file(3)),
        upload(&patient, file(4)),
        upload(&patient, file(5)),
    );
    let summary = list(&clinic, "").await["patients"][0]["summary"].clone();
    // The period's days (the first day of the data is the day before the period).
    assert!(summary["readings"].as_u64() > Some(13 * 288), "{summary}");
    let (from, to) = (&summary["period"]["from"], &summary["period"]["to"]);
    let (_, report) = status_and_json(
        clinic
            .get(&format!(
                "/api/clinic/patients/{patient_id}/report?from={}&to={}",
                from.as_str().expect("from"),
                to.as_str().expect("to")
            ))
            .await,
    )
    .await;
    assert_eq!(
        summary["time_in_ranges"],
        report["metrics"]["time_in_ranges"]
    );
    assert_eq!(summary["cv_percent"], report["metrics"]["cv_percent"]);
    assert_eq!(summary["readings"], report["metrics"]["readings"]);
    assert_eq!(
        summary["cgm_active_percent"], report["metrics"]["cgm_active_percent"],
        "five-minute readings: the six files together, not each alone"
    );
}

/// A patient who moves to another time zone: their days are other days, and the list follows.
#[tokio::test]
async fn a_new_time_zone_rebuilds_the_summary_in_its_local_days() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "triage.zone@clinic.example").await;
    let (patient, patient_id, _) = link_new_patient(
        &app,
        &clinic,
        "triage.zone",
        "Zed Moving",
        "1990-01-01",
        Some("UTC"),
    )
    .await;
    upload(&patient, readings(now, 20, 0, varied)).await;
    let response = patient
        .send(
            reqwest::Method::PUT,
            "/api/personal/profile",
            Some(&json!({"time_zone": "Pacific/Auckland"})),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let summary = list(&clinic, "").await["patients"][0]["summary"].clone();
    let auckland_today = jiff::tz::TimeZone::get("Pacific/Auckland")
        .expect("tz")
        .to_datetime(now)
        .date();
    assert_eq!(summary["period"]["to"], auckland_today.to_string());
    let (_, report) = status_and_json(
        clinic
            .get(&format!("/api/clinic/patients/{patient_id}/report?days=14"))
            .await,
    )
    .await;
    assert_eq!(report["period"]["to"], summary["period"]["to"]);
    assert_eq!(
        summary["time_in_ranges"],
        report["metrics"]["time_in_ranges"]
    );
    assert_eq!(summary["readings"], report["metrics"]["readings"]);
}

/// A store that, just before the first summary write, lets another upload land: its data merged and
/// its own summary written, between this writer's read and its write.
struct AnotherUploadLands {
    inner: Arc<dyn Store>,
    other: Mutex<Option<(Ctx, Person, Vec<Event>)>>,
}

#[async_trait::async_trait]
impl Store for AnotherUploadLands {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        let other = if item.key.sk == "DATASUMMARY" {
            self.other.lock().expect("lock").take()
        } else {
            None
        };
        if let Some((ctx, person, events)) = other {
            let (first, last) = (events[0].at, events[events.len() - 1].at);
            data_store::merge(&ctx, person.id, events, None)
                .await
                .expect("merge");
            summary::refresh(&ctx, &person, first, last)
                .await
                .expect("the other summary");
        }
        self.inner.put(item, condition).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.inner.delete(key, condition).await
    }
    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        self.inner.increment(key, attr, delta, expires_at).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.transact(ops).await
    }
}

fn cgm(at: Timestamp, tenths: u16) -> Event {
    Event {
        at,
        utc_offset_minutes: 0,
        device: "Race Sensor".into(),
        body: Body::Cgm {
            glucose_tenths_mg_dl: tenths,
        },
    }
}

/// The summary's write is conditional on the version it read: a writer whose data read missed an
/// upload that landed meanwhile loses the race, reads again and writes both (written unconditionally,
/// the summary would hold only the first upload's readings).
#[tokio::test]
async fn a_summary_written_after_a_racing_upload_reads_the_data_again() {
    let clock: Arc<dyn Clock> = Arc::new(glucolink_core::clock::FixedClock::new(Timestamp::now()));
    let inner = crate::support::stores::embedded(clock.clone());
    let notifier: Arc<dyn glucolink_core::notify::Notifier> = Arc::new(
        glucolink_notify::OutboxNotifier::new(inner.clone(), clock.clone()),
    );
    let plain = Ctx::new(inner.clone(), clock.clone(), notifier.clone());
    let person = personal::sign_up(
        &plain,
        PersonalSignUp {
            username: "race.person",
            password: "pebble lantern orchid 58",
            name: "Rae Racing",
            email: Some("rae.racing@example.net"),
            time_zone: Some("UTC"),
            ..PersonalSignUp::default()
        },
    )
    .await
    .expect("sign up");
    let now = clock.now();
    let morning: Vec<Event> = (0..72)
        .map(|i| cgm(now - SignedDuration::from_mins(600 - i * 5), 1200))
        .collect();
    let evening: Vec<Event> = (0..24)
        .map(|i| cgm(now - SignedDuration::from_mins(240 - i * 5), 500))
        .collect();
    data_store::merge(&plain, person.id, morning.clone(), None)
        .await
        .expect("merge");
    let racing = Ctx::new(
        Arc::new(AnotherUploadLands {
            inner: inner.clone(),
            other: Mutex::new(Some((plain.clone(), person.clone(), evening))),
        }),
        clock.clone(),
        notifier,
    );
    summary::refresh(&racing, &person, morning[0].at, morning[71].at)
        .await
        .expect("refresh");
    let summaries = summary::read_many(&plain, &[person.id])
        .await
        .expect("read");
    let days = &summaries[&person.id].days;
    let readings: u64 = days.iter().map(|d| d.readings()).sum();
    assert_eq!(readings, 96, "both uploads' readings: {days:?}");
    let computed = summary::computed(&plain, &person).await.expect("computed");
    assert_eq!(
        summaries[&person.id], computed,
        "the same as from the readings"
    );
}

/// On DynamoDB a ranked page reads the records, each linked person's data times and summary in
/// batches, never a reading; the number of requests does not grow with the days of data.
#[tokio::test]
async fn a_ranked_page_on_dynamodb_reads_summaries_in_batches_and_no_readings() {
    let (app, counting) = crate::support::app::spawn_app_on_counted_dynamodb().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "triage.count@clinic.example").await;
    for (tag, days) in [("one", 3), ("two", 14), ("three", 30)] {
        let (patient, _, _) = link_new_patient(
            &app,
            &clinic,
            &format!("triage.count.{tag}"),
            tag,
            "1980-01-01",
            None,
        )
        .await;
        upload(&patient, readings(now, days, 0, varied)).await;
    }
    list(&clinic, "?sort=cv").await;
    let (before, data_before) = (counting.requests(), counting.data_reads());
    let body = list(&clinic, "?sort=cv&period_days=30").await;
    let (requests, data_reads) = (
        counting.requests() - before,
        counting.data_reads() - data_before,
    );
    assert_eq!(body["patients"].as_array().map(Vec::len), Some(3));
    assert_eq!(data_reads, 0, "no reading is read");
    // The session (read, and its idle timer), the clinic and its user, one query of the records, one
    // batch of data times, one of summaries.
    assert!(requests <= 8, "{requests} store requests");
}

/// The Patient Profile's overview and the patient's home page: the report's numbers and charts for the
/// last 14 days with data, the previous period beside them, and every bad query refused.
#[tokio::test]
async fn the_patient_at_a_glance_has_the_reports_numbers_charts_and_comparison() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "glance@clinic.example").await;
    let (patient, patient_id, _) = link_new_patient(
        &app,
        &clinic,
        "glance",
        "Gia Glance",
        "1985-05-05",
        Some("UTC"),
    )
    .await;
    upload(&patient, readings(now, 20, 0, varied)).await;
    let path = format!("/api/clinic/patients/{patient_id}/overview");
    let (status, glance) = status_and_json(clinic.get(&path).await).await;
    assert_eq!(status, 200, "{glance}");
    assert_eq!(glance["period"]["days"], 14);
    assert_eq!(glance["period"]["ends_at_newest_data"], false);
    assert_eq!(glance["freshness"], "recent");
    for chart in ["time_in_ranges", "agp", "daily_profiles", "agp_comparison"] {
        let svg = glance["charts"][chart].as_str().unwrap_or_default();
        assert!(
            svg.starts_with("<svg") && svg.contains("aria-label"),
            "{chart}: {svg:.80}"
        );
    }
    assert!(
        glance["comparison"]
            .as_array()
            .is_some_and(|rows| rows.len() > 5),
        "{}",
        glance["comparison"]
    );
    assert!(
        glance["notice"]
            .as_str()
            .unwrap_or_default()
            .contains("adjunct")
    );
    // The same numbers as the report of the same period, and as the list.
    let (from, to) = (
        glance["period"]["from"].as_str().expect("from"),
        glance["period"]["to"].as_str().expect("to"),
    );
    let (_, report) = status_and_json(
        clinic
            .get(&format!(
                "/api/clinic/patients/{patient_id}/report?from={from}&to={to}"
            ))
            .await,
    )
    .await;
    assert_eq!(glance["metrics"], report["metrics"]);
    let row = list(&clinic, "").await["patients"][0]["summary"].clone();
    assert_eq!(row["time_in_ranges"], glance["metrics"]["time_in_ranges"]);
    let url = glance["report_url"].as_str().expect("report_url");
    assert!(url.contains("format=html") && url.contains(&format!("from={from}")));
    // The patient sees the same overview of their data.
    let (status, own) = status_and_json(patient.get("/api/personal/overview").await).await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["metrics"], glance["metrics"]);
    assert_eq!(
        own["report_url"]
            .as_str()
            .map(|u| u.starts_with("/api/personal/report")),
        Some(true)
    );

    let unlinked = create_patient(&clinic, "Ned Notlinked", "1990-01-01", None).await;
    let other = app.browser();
    signed_in_clinic(&other, "glance.other@clinic.example").await;
    let before = app.stored_but_sessions().await;
    for (query, code) in [
        ("days=0", "invalid_period"),
        ("days=91", "invalid_period"),
        ("days=two", "invalid_period"),
        ("units=kg", "invalid_units"),
        ("from=2026-01-01", "unknown_parameter"),
    ] {
        assert_error(clinic.get(&format!("{path}?{query}")).await, 400, code).await;
        assert_error(
            patient
                .get(&format!("/api/personal/overview?{query}"))
                .await,
            400,
            code,
        )
        .await;
    }
    assert_error(
        clinic
            .get(&format!("/api/clinic/patients/{unlinked}/overview"))
            .await,
        409,
        "not_linked",
    )
    .await;
    assert_error(
        clinic
            .get("/api/clinic/patients/01ARZ3NDEKTSV4RRFFQ69G5FAV/overview")
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(other.get(&path).await, 404, "not_found").await;
    assert_error(patient.get(&path).await, 403, "forbidden").await;
    assert_eq!(
        app.stored_but_sessions().await,
        before,
        "refused queries store nothing, not even an audit line"
    );
}

/// Three weeks without data: the overview shows the 14 days up to the newest reading, and says so.
#[tokio::test]
async fn an_overview_of_old_data_ends_at_the_newest_reading() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let clinic = app.browser();
    signed_in_clinic(&clinic, "glance.old@clinic.example").await;
    let (patient, patient_id, _) = link_new_patient(
        &app,
        &clinic,
        "glance.old",
        "Olu Old",
        "1960-01-01",
        Some("UTC"),
    )
    .await;
    upload(&patient, readings(now, 40, 21, varied)).await;
    let (status, glance) = status_and_json(
        clinic
            .get(&format!("/api/clinic/patients/{patient_id}/overview"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{glance}");
    assert_eq!(glance["freshness"], "old");
    assert_eq!(glance["period"]["ends_at_newest_data"], true);
    assert!(
        glance["metrics"]["readings"].as_u64() > Some(3000),
        "14 days with data"
    );
    assert!(glance["charts"]["agp"].is_string());
}
