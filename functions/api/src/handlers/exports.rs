//! What a clinic takes away: the patient list with its triage numbers (CSV), a linked patient's data
//! (every event, as glucolink JSON that uploads again, or CSV), and a batch print of chosen patients'
//! overview pages in one PDF. What a patient takes away: all their data ("Download all my data").
//! Every export of health data is audited.

use bytes::Bytes;
use glucolink_core::account::clinic::Staff;
use glucolink_core::account::personal;
use glucolink_core::audit::{self, NewEvent};
use glucolink_core::data::{export, store, upload};
use glucolink_core::ids::{PatientId, PersonId};
use glucolink_core::patient::{self, Freshness, PatientRecord};
use glucolink_core::report::build::{self, MAX_DAYS, Options, Period};
use glucolink_core::{CoreError, triage};
use glucolink_render::{Audience, Cover, Section, Subject};
use http::Request;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Deserialize;

use super::patients::{all_rows, list_query, patient_id};
use super::reports::{readable_person, report_viewed};
use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::{require_person, require_staff};
use crate::wire::{Reply, json_body, query_param};

/// Longest span of one data export, in days.
pub const MAX_EXPORT_DAYS: i64 = 366;
/// Most patients in one batch print.
pub const MAX_BATCH: usize = 50;

fn exported(
    staff: &Staff,
    record: Option<&PatientRecord>,
    person: Option<PersonId>,
    detail: String,
) -> NewEvent {
    NewEvent {
        actor: staff.actor(),
        action: "data_exported",
        clinic: Some(staff.clinic_ref()),
        patient_id: record.map(|r| r.id),
        person_id: person,
        detail,
    }
}

/// Whether a data export asks for CSV (`format=csv`) rather than glucolink JSON (absent, empty or
/// `json`); anything else is refused, naming `what` is exported.
fn csv_asked(request: &Request<Bytes>, what: &str) -> Result<bool, ApiError> {
    match query_param(request, "format").as_deref() {
        None | Some("") | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            "unsupported_format",
            format!("{what} is available as format=json or csv; not {other:?}."),
        )
        .with_field("format")),
    }
}

/// Events with the upload each came in, as a download: CSV rows, or glucolink JSON items (each naming
/// its upload) placed in `body` under `events`.
fn events_download<Id: std::fmt::Display>(
    events: Vec<(glucolink_core::data::event::Event, Option<Id>)>,
    uploads: &[upload::UploadEntry],
    as_csv: bool,
    mut body: serde_json::Value,
    stem: &str,
) -> Result<Reply, ApiError> {
    let upload_of = |id: Option<&Id>| {
        id.and_then(|id| {
            let id = id.to_string();
            uploads.iter().find(|u| u.upload_id == id)
        })
    };
    if as_csv {
        let rows: Vec<_> = events
            .into_iter()
            .map(|(event, source)| {
                let upload = upload_of(source.as_ref());
                (event, upload)
            })
            .collect();
        return Ok(Reply::download(
            export::to_csv(&rows),
            "text/csv; charset=utf-8",
            format!("{stem}.csv"),
        ));
    }
    let items: Vec<serde_json::Value> = events
        .iter()
        .map(|(event, source)| {
            let mut item = export::json_event(event);
            if let Some(upload) = upload_of(source.as_ref()) {
                item["upload_id"] = serde_json::json!(upload.upload_id);
            }
            item
        })
        .collect();
    body["events"] = serde_json::Value::Array(items);
    Ok(Reply::download(
        serde_json::to_vec_pretty(&body).map_err(|e| CoreError::Internal(e.to_string()))?,
        "application/json",
        format!("{stem}.json"),
    ))
}

/// `GET /api/clinic/patients/export.csv`: the list as the query selects and orders it, every row.
pub async fn patient_list(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let now = app.ctx.clock.now();
    let query = list_query(request, now, &staff)?;
    let rows = all_rows(app, &staff, &query).await?;
    let csv = triage::list_csv(&rows, now, staff.clinic.freshness_days);
    audit::record(
        &app.ctx,
        exported(
            &staff,
            None,
            None,
            format!(
                "{} exported the patient list ({} records, numbers of the last {} days) as CSV.",
                staff.user.name,
                rows.len(),
                query.setting.period_days
            ),
        ),
    )
    .await?;
    let today = now.strftime("%Y-%m-%d");
    Ok(Reply::download(
        csv,
        "text/csv; charset=utf-8",
        format!("glucolink-patients-{today}.csv"),
    ))
}

fn date_param(request: &Request<Bytes>, name: &'static str) -> Result<Option<Date>, ApiError> {
    match query_param(request, name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(raw) => raw
            .parse::<Date>()
            .ok()
            .filter(|d| (1900..=2200).contains(&d.year()))
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request("invalid_date", format!("{name} is a date like 2026-11-20."))
                    .with_field(name)
            }),
    }
}

/// `GET /api/clinic/patients/{patient_id}/data?format=csv|json&from=&to=`: every event of the local
/// days `from..=to` (in the patient's zone; by default the last 90 days), with the uploads it came in.
pub async fn patient_data(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let as_csv = csv_asked(request, "The data")?;
    let record = patient::get(&app.ctx, staff.clinic.id, patient_id(params)?).await?;
    let person = readable_person(app, &staff, &record).await?;
    let tz = personal::upload_zone(&person);
    let today = tz.to_datetime(app.ctx.clock.now()).date();
    let to = date_param(request, "to")?.unwrap_or(today);
    let from = match date_param(request, "from")? {
        Some(from) => from,
        None => to.checked_sub(89.days()).unwrap_or(to),
    };
    if from > to {
        return Err(
            ApiError::bad_request("invalid_period", "The period starts after it ends.")
                .with_field("from"),
        );
    }
    if i64::from((to - from).get_days()) + 1 > MAX_EXPORT_DAYS {
        return Err(ApiError::bad_request(
            "invalid_period",
            format!("An export covers at most {MAX_EXPORT_DAYS} days."),
        )
        .with_field("to"));
    }
    let read_from = from.checked_sub(1.day()).unwrap_or(from);
    let read_to = to.checked_add(1.day()).unwrap_or(to);
    let events: Vec<_> = store::read_with_sources(&app.ctx, person.id, read_from, read_to)
        .await?
        .into_iter()
        .filter(|(e, _)| (from..=to).contains(&tz.to_datetime(e.at).date()))
        .collect();
    let uploads = upload::history(&app.ctx, person.id).await?;
    audit::record(
        &app.ctx,
        exported(
            &staff,
            Some(&record),
            Some(person.id),
            format!(
                "{} exported the data of {} for {from} to {to} ({} events) as {}.",
                staff.user.name,
                record.name,
                events.len(),
                if as_csv { "CSV" } else { "glucolink JSON" }
            ),
        ),
    )
    .await?;
    let stem = format!("glucolink-data-{from}-to-{to}");
    let body = serde_json::json!({
        "format": "glucolink-json",
        "exported_at": app.ctx.clock.now(),
        "patient": {
            "name": record.name,
            "date_of_birth": record.date_of_birth.to_string(),
            "mrn": record.mrn,
        },
        "time_zone": tz.iana_name().unwrap_or("UTC"),
        "period": { "from": from.to_string(), "to": to.to_string() },
        "uploads": uploads,
    });
    events_download(events, &uploads, as_csv, body, &stem)
}

/// `GET /api/personal/export?format=json|csv`: everything glucolink holds about the signed-in person —
/// every event (CSV, or glucolink JSON that uploads again), and in the JSON also their account details,
/// uploads, who they share with and their whole audit log (which holds the sharing history).
pub async fn personal_data(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let as_csv = csv_asked(request, "Your data")?;
    let now = app.ctx.clock.now();
    let tz = personal::upload_zone(&person);
    // Every day that can hold data: devices' clocks are never before 1970, uploads never in the future
    // by more than a day.
    let first = Date::constant(1970, 1, 1);
    let last = tz
        .to_datetime(now)
        .date()
        .checked_add(2.days())
        .unwrap_or(Date::MAX);
    let events = store::read_with_sources(&app.ctx, person.id, first, last).await?;
    let uploads = upload::history(&app.ctx, person.id).await?;
    audit::record(
        &app.ctx,
        NewEvent {
            actor: person.actor(),
            action: "data_exported",
            clinic: None,
            patient_id: None,
            person_id: Some(person.id),
            detail: format!(
                "{} downloaded all their data ({} events) as {}.",
                person.name,
                events.len(),
                if as_csv { "CSV" } else { "glucolink JSON" }
            ),
        },
    )
    .await?;
    let stem = format!("glucolink-all-my-data-{}", tz.to_datetime(now).date());
    if as_csv {
        return events_download(events, &uploads, true, serde_json::Value::Null, &stem);
    }
    let mut log = Vec::new();
    let mut cursor = None;
    loop {
        let page = audit::for_person(&app.ctx, person.id, cursor).await?;
        log.extend(page.events);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let sharing = glucolink_core::link::sharing(&app.ctx, person.id).await?;
    let body = serde_json::json!({
        "format": "glucolink-json",
        "exported_at": now,
        "account": {
            "username": person.username,
            "name": person.name,
            "date_of_birth": person.date_of_birth.map(|d| d.to_string()),
            "email": person.email,
            "phone": person.phone,
            "time_zone": person.time_zone,
            "glucose_units": person.glucose_units,
            "created_at": person.created_at,
            "two_factor": person.second_factors.any(),
            "authenticator_app": person.second_factors.authenticator_app,
            "passkeys": person.second_factors.passkeys,
        },
        "time_zone": tz.iana_name().unwrap_or("UTC"),
        "uploads": uploads,
        "sharing": sharing,
        "audit_log": log,
    });
    events_download(events, &uploads, false, body, &stem)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    patient_ids: Vec<String>,
    /// Days of each overview, ending today (or at the newest data when it is old); default 14.
    period_days: Option<i64>,
}

/// `POST /api/clinic/reports/batch`: one PDF with the overview page of each chosen patient, in the
/// order chosen. Refused whole (nothing printed) when a record cannot be printed, naming it.
pub async fn batch_print(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let body: BatchBody = json_body(request)?;
    let days = body.period_days.unwrap_or(14);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::bad_request(
            "invalid_period",
            format!("period_days is a number of days from 1 to {MAX_DAYS}."),
        )
        .with_field("period_days"));
    }
    if body.patient_ids.is_empty() || body.patient_ids.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "invalid_patient_ids",
            format!("Choose 1 to {MAX_BATCH} patients to print."),
        )
        .with_field("patient_ids"));
    }
    let mut ids: Vec<PatientId> = Vec::new();
    for raw in &body.patient_ids {
        let id: PatientId = raw.parse().map_err(|_| {
            ApiError::bad_request(
                "invalid_patient_ids",
                format!("{raw:?} is not a patient id."),
            )
            .with_field("patient_ids")
        })?;
        if ids.contains(&id) {
            return Err(ApiError::bad_request(
                "invalid_patient_ids",
                "Each patient is printed once: a patient is chosen twice.",
            )
            .with_field("patient_ids"));
        }
        ids.push(id);
    }
    // Every record first: a batch that cannot print one of them prints none.
    let mut chosen = Vec::with_capacity(ids.len());
    for id in ids {
        let record = patient::get(&app.ctx, staff.clinic.id, id).await?;
        let person = readable_person(app, &staff, &record).await?;
        chosen.push((record, person));
    }
    let now = app.ctx.clock.now();
    let people: Vec<PersonId> = chosen.iter().map(|(_, p)| p.id).collect();
    let times = patient::data_times(&app.ctx, &people).await?;
    let mut reports = Vec::with_capacity(chosen.len());
    for (record, person) in &chosen {
        let tz = personal::upload_zone(person);
        let today = tz.to_datetime(now).date();
        let from = today.checked_sub((days - 1).days()).unwrap_or(today);
        let mut period = Period::parse(&from.to_string(), &today.to_string())?;
        if let Some(newest) = times.get(&person.id).and_then(|t| t.last_reading_at)
            && Freshness::of(Some(newest), now, staff.clinic.freshness_days) == Freshness::Old
        {
            let day = tz.to_datetime(newest).date();
            if day < period.to {
                period = period.ending_at_newest_data(day);
            }
        }
        let options = Options {
            period,
            tz,
            units: staff.clinic.glucose_units,
            ranges: record.ranges,
            detail: true,
        };
        reports.push(build::build(&app.ctx, person.id, &options).await?);
    }
    for ((record, person), report) in chosen.iter().zip(&reports) {
        audit::record(
            &app.ctx,
            report_viewed(
                &staff,
                record,
                person.id,
                format!(
                    "{} printed the overview of {} for {} to {} (batch print of {} patients).",
                    staff.user.name,
                    record.name,
                    report.period.from,
                    report.period.to,
                    chosen.len()
                ),
            ),
        )
        .await?;
    }
    let subjects: Vec<Subject> = chosen
        .iter()
        .map(|(record, _)| Subject {
            name: record.name.clone(),
            date_of_birth: Some(record.date_of_birth),
            mrn: record.mrn.clone(),
            identity_warning: super::reports::identity_warning(record),
        })
        .collect();
    let sections = [Section::Overview];
    let covers: Vec<Cover> = subjects
        .iter()
        .map(|subject| Cover {
            subject,
            sections: &sections,
            previous: None,
            audience: Audience::Clinic,
            generated_at: now,
            pdf_url: None,
            back_url: "/clinic/".into(),
        })
        .collect();
    let items: Vec<_> = reports.iter().zip(&covers).collect();
    let pdf = glucolink_render::pdf::reports(
        &items,
        &format!("Glucose overviews · {} patients", chosen.len()),
    )
    .map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(Reply::pdf(
        pdf,
        format!("glucolink-overviews-{}.pdf", now.strftime("%Y-%m-%d")),
    ))
}
