//! Reports: "If YES: You can generate a report." The clinic's report of a linked patient (audited) and
//! the patient's own. JSON now; the printable HTML and the PDF come with the report pages.

use bytes::Bytes;
use glucolink_core::CoreError;
use glucolink_core::account::personal::{self, Person};
use glucolink_core::audit::{self, NewEvent};
use glucolink_core::link;
use glucolink_core::patient::{self, LinkState};
use glucolink_core::report::build::{self, Period, Units};
use http::{Request, StatusCode};
use jiff::ToSpan;
use jiff::tz::TimeZone;

use super::patients::patient_id;
use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::{require_person, require_staff};
use crate::wire::{Reply, query_param, query_time_zone};

/// The report's period, units and zone from the query; the last 14 days in the person's zone by default.
fn options(
    app: &App,
    request: &Request<Bytes>,
    person: &Person,
) -> Result<(Period, TimeZone, Units), ApiError> {
    match query_param(request, "format").as_deref() {
        None | Some("") | Some("json") => {}
        Some(other) => {
            return Err(ApiError::bad_request(
                "unsupported_format",
                format!("The report is available as format=json; {other:?} is not available yet."),
            )
            .with_field("format"));
        }
    }
    let tz = query_time_zone(request)?.unwrap_or_else(|| personal::upload_zone(person));
    let units = match query_param(request, "units").filter(|u| !u.is_empty()) {
        Some(raw) => Units::parse(&raw)?,
        None => Units::MgDl,
    };
    let today = tz.to_datetime(app.ctx.clock.now()).date();
    let from = query_param(request, "from")
        .unwrap_or_else(|| today.checked_sub(13.days()).unwrap_or(today).to_string());
    let to = query_param(request, "to").unwrap_or_else(|| today.to_string());
    Ok((Period::parse(&from, &to)?, tz, units))
}

pub async fn personal(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let person = require_person(app, request).await?;
    let (period, tz, units) = options(app, request, &person)?;
    let report = build::build(&app.ctx, person.id, period, tz, units).await?;
    Ok(Reply::json(StatusCode::OK, &report))
}

pub async fn clinic(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let record = patient::get(&app.ctx, staff.clinic.id, patient_id(params)?).await?;
    let LinkState::Linked { person_id, .. } = record.link else {
        return Err(CoreError::Conflict {
            code: "not_linked",
            message: "This record is not linked to a personal account: use Link to Personal first."
                .into(),
        }
        .into());
    };
    if !link::clinic_may_read(&app.ctx, staff.clinic.id, person_id).await? {
        return Err(CoreError::Conflict {
            code: "not_linked",
            message: "The patient no longer shares their data with this clinic.".into(),
        }
        .into());
    }
    let person = personal::get(&app.ctx, person_id).await?;
    let (period, tz, units) = options(app, request, &person)?;
    let report = build::build(&app.ctx, person_id, period, tz, units).await?;
    audit::record(
        &app.ctx,
        NewEvent {
            actor: staff.actor(),
            action: "report_viewed",
            clinic: Some(staff.clinic_ref()),
            patient_id: Some(record.id),
            person_id: Some(person_id),
            detail: format!(
                "{} viewed the report of {} for {} to {}.",
                staff.user.name, record.name, period.from, period.to
            ),
        },
    )
    .await?;
    let mut view = serde_json::to_value(&report).map_err(|e| CoreError::Internal(e.to_string()))?;
    view["patient"] = serde_json::json!({"name": record.name, "date_of_birth": record.date_of_birth.to_string(), "mrn": record.mrn});
    Ok(Reply::json(StatusCode::OK, &view))
}
