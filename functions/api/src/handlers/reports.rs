//! Reports: "If YES: You can generate a report." The clinic's report of a linked patient (every view
//! audited) and the patient's own, as JSON (the numbers), printable HTML with SVG charts, or PDF.
//! A record that cannot have a report (not linked, sharing revoked) gets a page with the seed's steps
//! when a browser asked for HTML or PDF, and a JSON error otherwise.

use bytes::Bytes;
use glucolink_core::CoreError;
use glucolink_core::account::clinic::{DEFAULT_FRESHNESS_DAYS, Staff};
use glucolink_core::account::personal::{self, Person};
use glucolink_core::audit::{self, NewEvent};
use glucolink_core::ids::PersonId;
use glucolink_core::link;
use glucolink_core::link::Identity;
use glucolink_core::patient::{self, DataTimes, Freshness, LinkState, PatientRecord};
use glucolink_core::report::build::{self, Options, Period, Report, Units};
use glucolink_core::report::ranges::RangePreset;
use glucolink_render::{Audience, Cover, Section, Subject};
use http::{Request, StatusCode};
use jiff::ToSpan;

use super::patients::patient_id;
use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::{require_person, require_staff};
use crate::wire::{Reply, Timings, query_param, query_time_zone};

/// The three ways a report leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Html,
    Pdf,
}

fn format(request: &Request<Bytes>) -> Result<Format, ApiError> {
    match query_param(request, "format").as_deref() {
        None | Some("") | Some("json") => Ok(Format::Json),
        Some("html") => Ok(Format::Html),
        Some("pdf") => Ok(Format::Pdf),
        Some(other) => Err(ApiError::bad_request(
            "unsupported_format",
            format!("The report is available as format=json, html or pdf; not {other:?}."),
        )
        .with_field("format")),
    }
}

/// The report's period, zone, units and targets from the query; by default the last 14 days in the
/// person's zone, in the reader's preferred units, with the record's targets. Empty parameters count
/// as absent (a plain HTML form sends them).
fn options(
    app: &App,
    request: &Request<Bytes>,
    person: &Person,
    preferred_units: Units,
    preset: RangePreset,
    format: Format,
) -> Result<Options, ApiError> {
    let tz = query_time_zone(request)?.unwrap_or_else(|| personal::upload_zone(person));
    let units = match query_param(request, "units").filter(|u| !u.is_empty()) {
        Some(raw) => Units::parse(&raw).map_err(|e| ApiError::from(e).with_field("units"))?,
        None => preferred_units,
    };
    let ranges = match query_param(request, "ranges").filter(|r| !r.is_empty()) {
        Some(raw) => RangePreset::parse(&raw)?,
        None => preset,
    };
    // `from` and `to` name the local dates; without them, `days` (7, 14, 30 or 90: the website's
    // choices, default 14) ending today.
    let today = tz.to_datetime(app.ctx.clock.now()).date();
    let given = |name: &str| query_param(request, name).filter(|v| !v.is_empty());
    let (from, to) = match (given("from"), given("to")) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, today.to_string()),
        (None, to) => {
            let days = match given("days").as_deref() {
                None => 14,
                Some(raw) => raw
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=build::MAX_DAYS).contains(d))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_period",
                            format!("days is a number of days from 1 to {}.", build::MAX_DAYS),
                        )
                        .with_field("days")
                    })?,
            };
            let to = match to {
                Some(to) => to.parse().map_err(|_| {
                    ApiError::bad_request("invalid_date", "to is a date like 2026-11-20.")
                        .with_field("to")
                })?,
                None => today,
            };
            let from = to.checked_sub((days - 1).days()).unwrap_or(to);
            (from.to_string(), to.to_string())
        }
    };
    Ok(Options {
        period: Period::parse(&from, &to)?,
        tz,
        units,
        ranges,
        detail: format != Format::Json,
    })
}

/// Without a chosen end (`from`/`to`), a period that would end today ends on the day of the newest
/// reading instead when that is older than the freshness limit: the last days *with data*, never an
/// empty report. The report says so ([`Period::ends_at_newest_data`]).
async fn end_at_newest_data(
    app: &App,
    request: &Request<Bytes>,
    options: &mut Options,
    person: PersonId,
    freshness_days: i64,
) -> Result<(), ApiError> {
    let chosen = |name: &str| query_param(request, name).is_some_and(|v| !v.is_empty());
    if chosen("from") || chosen("to") {
        return Ok(());
    }
    let times = patient::data_times(&app.ctx, &[person]).await?;
    let Some(newest) = times.get(&person).and_then(|t| t.last_reading_at) else {
        return Ok(());
    };
    if Freshness::of(Some(newest), app.ctx.clock.now(), freshness_days) == Freshness::Old {
        let day = options.tz.to_datetime(newest).date();
        if day < options.period.to {
            options.period = options.period.ending_at_newest_data(day);
        }
    }
    Ok(())
}

/// The report of the period just before, when the comparison page is asked for (numbers only, no
/// per-day traces).
async fn previous_report(
    app: &App,
    person: PersonId,
    options: &Options,
    sections: &[Section],
) -> Result<Option<Report>, ApiError> {
    if !sections.contains(&Section::Comparison) {
        return Ok(None);
    }
    let earlier = Options {
        period: options.period.previous(),
        detail: false,
        ..options.clone()
    };
    Ok(Some(build::build(&app.ctx, person, &earlier).await?))
}

/// The sections to print: `sections=` (a comma-separated list) or the defaults for the period's length.
fn sections(request: &Request<Bytes>, period: &Period) -> Result<Vec<Section>, ApiError> {
    match query_param(request, "sections").filter(|s| !s.is_empty()) {
        None => Ok(Section::defaults(period.days)),
        Some(raw) => Section::parse_list(&raw)
            .map_err(|e| ApiError::bad_request("invalid_sections", e.0).with_field("sections")),
    }
}

/// The same request with another `format` (the HTML page's "Download PDF" link).
fn with_format(request: &Request<Bytes>, format: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()) {
        if key != "format" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("format", format);
    format!("{}?{}", request.uri().path(), query.finish())
}

/// The report in the asked format.
fn reply(report: &Report, format: Format, cover: &Cover<'_>) -> Result<Reply, ApiError> {
    let subject = cover.subject;
    Ok(match format {
        Format::Json => {
            let mut view =
                serde_json::to_value(report).map_err(|e| CoreError::Internal(e.to_string()))?;
            view["patient"] = serde_json::json!({
                "name": subject.name,
                "date_of_birth": subject.date_of_birth.map(|d| d.to_string()),
                "mrn": subject.mrn,
            });
            Reply::json(StatusCode::OK, &view)
        }
        Format::Html => Reply::html(
            StatusCode::OK,
            glucolink_render::html::report(report, cover),
        ),
        Format::Pdf => Reply::pdf(
            glucolink_render::pdf::report(report, cover)
                .map_err(|e| CoreError::Internal(e.to_string()))?,
            format!(
                "glucolink-report-{}-to-{}.pdf",
                report.period.from, report.period.to
            ),
        ),
    })
}

pub async fn personal(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let mut timings = Timings::start();
    let person = require_person(app, request).await?;
    timings.mark("session");
    let format = format(request)?;
    let chosen = options(
        app,
        request,
        &person,
        person.glucose_units,
        RangePreset::Standard,
        format,
    )
    .and_then(|options| Ok((sections(request, &options.period)?, options)));
    let (sections, mut options) = match chosen {
        Ok(chosen) => chosen,
        Err(error) => return refused_query(format, error, "/personal/"),
    };
    end_at_newest_data(
        app,
        request,
        &mut options,
        person.id,
        DEFAULT_FRESHNESS_DAYS,
    )
    .await?;
    timings.mark("access");
    let report = build::build(&app.ctx, person.id, &options).await?;
    let previous = previous_report(app, person.id, &options, &sections).await?;
    timings.mark("build");
    let subject = Subject {
        name: person.name.clone(),
        date_of_birth: person.date_of_birth,
        mrn: None,
        identity_warning: None,
    };
    let cover = Cover {
        subject: &subject,
        sections: &sections,
        previous: previous.as_ref(),
        audience: Audience::Patient,
        generated_at: app.ctx.clock.now(),
        pdf_url: Some(with_format(request, "pdf")),
        back_url: "/personal/".into(),
    };
    let reply = reply(&report, format, &cover)?;
    timings.mark("render");
    Ok(reply.with_timings(&timings))
}

/// A report query that cannot be answered (a period over 90 days, From after To, an unknown section):
/// the JSON error, or for a browser that asked for HTML or PDF a page that says what to change, never
/// raw JSON in a new tab.
fn refused_query(format: Format, error: ApiError, back: &str) -> Result<Reply, ApiError> {
    if format == Format::Json || !error.status.is_client_error() {
        return Err(error);
    }
    Ok(Reply::html(
        error.status,
        glucolink_render::html::problem(
            "This report cannot be made",
            &error.message,
            &[
                "Go back to the report form and change the period or the sections.",
                "A report covers 1 to 90 days, and From is on or before To.",
            ],
            back,
        ),
    ))
}

/// Why a clinic cannot see a record's report, as a JSON error or, for a browser, a page with the steps.
fn cannot_report(format: Format, record: &PatientRecord, message: &str) -> Result<Reply, ApiError> {
    if format == Format::Json {
        return Err(CoreError::Conflict {
            code: "not_linked",
            message: message.into(),
        }
        .into());
    }
    let back = format!("/clinic/patient?id={}", record.id);
    Ok(Reply::html(
        StatusCode::CONFLICT,
        glucolink_render::html::problem(
            &format!("No report for {}", record.name),
            message,
            &[
                "Open the Patient Profile and choose Link to Personal.",
                "Either the patient types their username and password on your screen, or Generate a unique code and share it directly or by Email, SMS text or Print.",
                "The patient enters the code on the Data Sharing page of their personal account, or follows the link in the message, and accepts the request.",
                "Once linked, and once the patient has uploaded (ask them to Upload now), generate the report again.",
            ],
            &back,
        ),
    ))
}

pub async fn clinic(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let mut timings = Timings::start();
    let staff = require_staff(app, request).await?;
    timings.mark("session");
    let format = format(request)?;
    let record = patient::get(&app.ctx, staff.clinic.id, patient_id(params)?).await?;
    let LinkState::Linked { person_id, .. } = record.link else {
        return cannot_report(
            format,
            &record,
            "This record is not linked to a personal account: use Link to Personal first.",
        );
    };
    if !link::clinic_may_read(&app.ctx, staff.clinic.id, person_id).await? {
        return cannot_report(
            format,
            &record,
            "The patient no longer shares their data with this clinic.",
        );
    }
    let person = personal::get(&app.ctx, person_id).await?;
    let chosen = options(
        app,
        request,
        &person,
        staff.clinic.glucose_units,
        record.ranges,
        format,
    )
    .and_then(|options| Ok((sections(request, &options.period)?, options)));
    let (sections, mut options) = match chosen {
        Ok(chosen) => chosen,
        Err(error) => {
            return refused_query(format, error, &format!("/clinic/patient?id={}", record.id));
        }
    };
    let freshness_days = staff.clinic.freshness_days;
    end_at_newest_data(app, request, &mut options, person_id, freshness_days).await?;
    timings.mark("access");
    let report = build::build(&app.ctx, person_id, &options).await?;
    let previous = previous_report(app, person_id, &options, &sections).await?;
    timings.mark("build");
    audit::record(
        &app.ctx,
        report_viewed(
            &staff,
            &record,
            person_id,
            format!(
                "{} viewed the report of {} for {} to {} ({}).",
                staff.user.name,
                record.name,
                options.period.from,
                options.period.to,
                match format {
                    Format::Json => "JSON",
                    Format::Html => "HTML",
                    Format::Pdf => "PDF",
                }
            ),
        ),
    )
    .await?;
    timings.mark("audit");
    let subject = Subject {
        name: record.name.clone(),
        date_of_birth: Some(record.date_of_birth),
        mrn: record.mrn.clone(),
        identity_warning: identity_warning(&record),
    };
    let cover = Cover {
        subject: &subject,
        sections: &sections,
        previous: previous.as_ref(),
        audience: Audience::Clinic,
        generated_at: app.ctx.clock.now(),
        pdf_url: Some(with_format(request, "pdf")),
        back_url: format!("/clinic/patient?id={}", record.id),
    };
    let reply = reply(&report, format, &cover)?;
    timings.mark("render");
    Ok(reply.with_timings(&timings))
}

/// The patient at a glance: the numbers of the period against their goals, the report's own charts
/// (SVG, drawn by the same code as the printed report), the previous period beside it, and how fresh
/// the data is. By default the last 14 days *with data*: when the newest reading is older than the
/// freshness limit, the period ends on its day (and says so).
fn glance_reply(
    report: &Report,
    previous: &Report,
    times: DataTimes,
    freshness_days: i64,
    now: jiff::Timestamp,
    report_url: String,
) -> Reply {
    let glance = glucolink_render::glance::glance(report, Some(previous));
    let comparison: Vec<serde_json::Value> = glance
        .comparison
        .iter()
        .map(|[measure, this_period, previous_period, change]| {
            serde_json::json!({
                "measure": measure,
                "this_period": this_period,
                "previous_period": previous_period,
                "change": change,
            })
        })
        .collect();
    Reply::json(
        StatusCode::OK,
        &serde_json::json!({
            "period": report.period,
            "time_zone": report.time_zone,
            "units": report.units,
            "metrics": report.metrics,
            "targets": report.targets,
            "sufficiency_warning": report.sufficiency_warning,
            "insulin": report.insulin,
            "previous": { "period": previous.period, "metrics": previous.metrics },
            "comparison": comparison,
            "charts": {
                "time_in_ranges": glance.time_in_ranges,
                "agp": glance.agp,
                "daily_profiles": glance.daily_profiles,
                "agp_comparison": glance.agp_comparison,
            },
            "freshness": Freshness::of(times.last_reading_at, now, freshness_days).as_str(),
            "freshness_days": freshness_days,
            "last_reading_at": times.last_reading_at,
            "last_upload_at": times.last_upload_at,
            "notice": report.notice,
            "report_url": report_url,
        }),
    )
}

/// The report page of the same period (the overview's "Open the full report").
fn report_url(path: &str, report: &Report) -> String {
    format!(
        "{path}?format=html&from={}&to={}&units={}",
        report.period.from,
        report.period.to,
        report.units.name()
    )
}

/// This period's report with its days' traces, and the previous period's numbers.
async fn glance_reports(
    app: &App,
    request: &Request<Bytes>,
    person: &Person,
    units: Units,
    preset: RangePreset,
    freshness_days: i64,
) -> Result<(Report, Report), ApiError> {
    let mut options = options(app, request, person, units, preset, Format::Html)?;
    end_at_newest_data(app, request, &mut options, person.id, freshness_days).await?;
    let report = build::build(&app.ctx, person.id, &options).await?;
    let earlier = Options {
        period: options.period.previous(),
        detail: false,
        ..options
    };
    let previous = build::build(&app.ctx, person.id, &earlier).await?;
    Ok((report, previous))
}

pub async fn clinic_overview(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let record = patient::get(&app.ctx, staff.clinic.id, patient_id(params)?).await?;
    let person = readable_person(app, &staff, &record).await?;
    let person_id = person.id;
    let freshness_days = staff.clinic.freshness_days;
    let (report, previous) = glance_reports(
        app,
        request,
        &person,
        staff.clinic.glucose_units,
        record.ranges,
        freshness_days,
    )
    .await?;
    audit::record(
        &app.ctx,
        report_viewed(
            &staff,
            &record,
            person_id,
            format!(
                "{} viewed the overview of {} for {} to {}.",
                staff.user.name, record.name, report.period.from, report.period.to
            ),
        ),
    )
    .await?;
    let times = patient::data_times(&app.ctx, &[person_id])
        .await?
        .remove(&person_id)
        .unwrap_or_default();
    let url = report_url(
        &format!("/api/clinic/patients/{}/report", record.id),
        &report,
    );
    Ok(glance_reply(
        &report,
        &previous,
        times,
        freshness_days,
        app.ctx.clock.now(),
        url,
    ))
}

pub async fn personal_overview(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let (report, previous) = glance_reports(
        app,
        request,
        &person,
        person.glucose_units,
        RangePreset::Standard,
        DEFAULT_FRESHNESS_DAYS,
    )
    .await?;
    let times = patient::data_times(&app.ctx, &[person.id])
        .await?
        .remove(&person.id)
        .unwrap_or_default();
    let url = report_url("/api/personal/report", &report);
    Ok(glance_reply(
        &report,
        &previous,
        times,
        DEFAULT_FRESHNESS_DAYS,
        app.ctx.clock.now(),
        url,
    ))
}

/// What a printout says when the linked account's name or date of birth is not the record's.
pub(crate) fn identity_warning(record: &PatientRecord) -> Option<String> {
    let LinkState::Linked { identity, .. } = &record.link else {
        return None;
    };
    (identity.identity == Identity::Mismatch).then(|| {
        format!(
            "the linked account's {} {} from this record",
            identity.differs.join(" and ").replace('_', " "),
            if identity.differs.len() == 1 {
                "differs"
            } else {
                "differ"
            }
        )
    })
}

/// The audit line of a clinic viewing (or printing) a patient's report or overview.
pub(crate) fn report_viewed(
    staff: &Staff,
    record: &PatientRecord,
    person_id: PersonId,
    detail: String,
) -> NewEvent {
    NewEvent {
        actor: staff.actor(),
        action: "report_viewed",
        clinic: Some(staff.clinic_ref()),
        patient_id: Some(record.id),
        person_id: Some(person_id),
        detail,
    }
}

/// The linked person of a record the clinic may read, or why not (409 `not_linked`, naming the record).
pub(crate) async fn readable_person(
    app: &App,
    staff: &Staff,
    record: &PatientRecord,
) -> Result<Person, ApiError> {
    let LinkState::Linked { person_id, .. } = record.link else {
        return Err(CoreError::Conflict {
            code: "not_linked",
            message: format!(
                "{} is not linked to a personal account: use Link to Personal first.",
                record.name
            ),
        }
        .into());
    };
    if !link::clinic_may_read(&app.ctx, staff.clinic.id, person_id).await? {
        return Err(CoreError::Conflict {
            code: "not_linked",
            message: format!(
                "{} no longer shares their data with this clinic.",
                record.name
            ),
        }
        .into());
    }
    Ok(personal::get(&app.ctx, person_id).await?)
}
