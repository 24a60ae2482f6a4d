//! The clinic's patient records: list and search, create, the Patient Profile, and the clinic's audit log.

use bytes::Bytes;
use glucolink_core::account::clinic::Staff;
use glucolink_core::account::personal;
use glucolink_core::audit::{self, NewEvent};
use glucolink_core::ids::PatientId;
use glucolink_core::link;
use glucolink_core::patient::{
    self, DataTimes, Freshness, LinkState, NewPatient, PatientRecord, fold,
};
use glucolink_core::triage::{self, Flag, Order, Setting, SortKey, TriageSummary};
use glucolink_core::{CoreError, Ctx};
use http::{Request, StatusCode};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ApiError;
use crate::routes::PathParams;
use crate::security::{require_any_staff, require_staff};
use crate::wire::{Reply, json_body, query_param, query_time_zone};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPatientBody {
    name: String,
    date_of_birth: String,
    mrn: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePatientBody {
    name: String,
    date_of_birth: String,
    mrn: Option<String>,
    /// Create it although another record has the same name and date of birth.
    #[serde(default)]
    confirm_duplicate: bool,
}

/// Where the record stands with the patient's account, since when and by whom.
#[derive(Serialize)]
struct LinkView {
    /// `not_linked`, `pending`, `linked`, `sharing_stopped`, `code_expired`, `code_declined`, `unlinked`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_expires_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<Timestamp>,
    /// Who made it so, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<String>,
    /// Linked records: `match`, `mismatch` (show "Check identity") or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'static str>,
    /// Linked records: what differs between the record and the account (`name`, `date_of_birth`).
    #[serde(skip_serializing_if = "Option::is_none")]
    differs: Option<Vec<&'static str>>,
}

/// One row of the patient list (and the top of the profile).
#[derive(Serialize)]
pub(crate) struct PatientSummary {
    patient_id: String,
    name: String,
    date_of_birth: String,
    mrn: Option<String>,
    link: LinkView,
    last_upload_at: Option<Timestamp>,
    last_reading_at: Option<Timestamp>,
    freshness: &'static str,
    /// The triage numbers over the list's period; absent when the record has no data to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<TriageSummary>,
    /// When the record was archived; absent for an active record.
    #[serde(skip_serializing_if = "Option::is_none")]
    archived_at: Option<Timestamp>,
    /// Who archived it.
    #[serde(skip_serializing_if = "Option::is_none")]
    archived_by: Option<String>,
}

pub(crate) fn summary(
    record: &PatientRecord,
    times: DataTimes,
    now: Timestamp,
    freshness_days: i64,
) -> PatientSummary {
    let code_expires_at = match &record.link {
        LinkState::Pending { expires_at, .. } => Some(*expires_at),
        _ => None,
    };
    let identity = match &record.link {
        LinkState::Linked { identity, .. } => Some(identity),
        _ => None,
    };
    PatientSummary {
        patient_id: record.id.to_string(),
        name: record.name.clone(),
        date_of_birth: record.date_of_birth.to_string(),
        mrn: record.mrn.clone(),
        link: LinkView {
            status: record.link.status(),
            code_expires_at,
            since: record.link.since(),
            by: record.link.by().map(str::to_owned),
            identity: identity.map(|i| i.identity.as_str()),
            differs: identity.map(|i| i.differs.clone()),
        },
        last_upload_at: times.last_upload_at,
        last_reading_at: times.last_reading_at,
        freshness: Freshness::of(times.last_reading_at, now, freshness_days).as_str(),
        summary: None,
        archived_at: record.archived.as_ref().map(|a| a.at),
        archived_by: record.archived.as_ref().map(|a| a.by.clone()),
    }
}

/// Data times of the linked records among `records` (one batch read).
async fn times_of(ctx: &Ctx, records: &[PatientRecord]) -> Result<Vec<DataTimes>, CoreError> {
    let people: Vec<_> = records
        .iter()
        .filter_map(|r| match r.link {
            LinkState::Linked { person_id, .. } => Some(person_id),
            _ => None,
        })
        .collect();
    let times = patient::data_times(ctx, &people).await?;
    Ok(records
        .iter()
        .map(|r| match r.link {
            LinkState::Linked { person_id, .. } => {
                times.get(&person_id).copied().unwrap_or_default()
            }
            _ => DataTimes::default(),
        })
        .collect())
}

/// The list's query: which records, over which period, in which order.
pub(crate) struct ListQuery {
    search: Option<String>,
    status: Option<&'static str>,
    pub(crate) setting: Setting,
    sort: SortKey,
    order: Order,
    flag: Option<Flag>,
    cursor: Option<String>,
    /// The archived records (by name) instead of the active ones.
    archived: bool,
}

pub(crate) fn list_query(
    request: &Request<Bytes>,
    now: Timestamp,
    staff: &Staff,
) -> Result<ListQuery, ApiError> {
    let given = |name: &str| query_param(request, name).filter(|v| !v.trim().is_empty());
    let search = given("q").map(|q| patient::parse_search(&q)).transpose()?;
    // `link_status` (the contract's name) or `link` (the list's first name for it); each given one is
    // checked, and two that disagree are refused rather than one silently winning.
    let mut statuses = Vec::new();
    for name in ["link_status", "link"] {
        if let Some(raw) = given(name) {
            statuses.push(patient::parse_link_status(&raw)?);
        }
    }
    if statuses.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err(ApiError::bad_request(
            "invalid_link_status",
            "link and link_status name different link states: give one of them.",
        )
        .with_field("link_status"));
    }
    let status = statuses.first().copied();
    let period_days = given("period_days")
        .map(|d| triage::parse_period_days(&d))
        .transpose()?
        .unwrap_or(triage::DEFAULT_PERIOD_DAYS);
    let sort = given("sort")
        .map(|s| SortKey::parse(&s))
        .transpose()?
        .unwrap_or(SortKey::Name);
    let order = given("order")
        .map(|o| Order::parse(&o))
        .transpose()?
        .unwrap_or_else(|| sort.attention_first());
    let flag = given("flag").map(|f| Flag::parse(&f)).transpose()?;
    let archived = match given("archived").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_archived",
                "archived is true (the archived records) or false (the active ones).",
            )
            .with_field("archived"));
        }
    };
    Ok(ListQuery {
        archived,
        search,
        status,
        setting: Setting {
            period_days,
            now,
            freshness_days: staff.clinic.freshness_days,
        },
        sort,
        order,
        flag,
        cursor: given("cursor"),
    })
}

/// A page of a list sorted by numbers starts at a row: `r<offset>`.
fn ranked_offset(cursor: Option<&str>) -> Result<usize, ApiError> {
    match cursor {
        None => Ok(0),
        Some(cursor) => cursor
            .strip_prefix('r')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "The page cursor is not valid.")
                    .with_field("cursor")
            }),
    }
}

/// A record with its data times and triage numbers.
pub(crate) type Row = (PatientRecord, DataTimes, Option<TriageSummary>);

/// The records with their data times and numbers (two batch reads), keeping those with the query's flag.
async fn with_numbers(
    app: &App,
    records: Vec<PatientRecord>,
    query: &ListQuery,
) -> Result<Vec<Row>, ApiError> {
    let times = times_of(&app.ctx, &records).await?;
    let numbers = triage::summaries(&app.ctx, &records, &times, query.setting).await?;
    Ok(records
        .into_iter()
        .zip(times)
        .zip(numbers)
        .map(|((record, times), numbers)| (record, times, numbers))
        .filter(|(_, _, numbers)| {
            query
                .flag
                .is_none_or(|flag| numbers.as_ref().is_some_and(|n| n.has(flag)))
        })
        .collect())
}

/// Every row the query selects (a search's matches, or the whole clinic), in the query's order.
pub(crate) async fn all_rows(
    app: &App,
    staff: &Staff,
    query: &ListQuery,
) -> Result<Vec<Row>, ApiError> {
    let records = match &query.search {
        Some(folded) => {
            let (mut records, _) = patient::search(&app.ctx, staff.clinic.id, folded).await?;
            records.retain(|r| query.status.is_none_or(|s| r.link.status() == s));
            records
        }
        None => patient::list_all(&app.ctx, staff.clinic.id, query.status).await?,
    };
    let mut rows = with_numbers(app, records, query).await?;
    triage::sort(&mut rows, query.sort, query.order);
    Ok(rows)
}

/// The clinic's patient list: a page of records, each with its triage numbers over the period. By
/// name, a page follows the name index; sorted by a number or filtered by a flag, every record of the
/// clinic is ranked from the summaries (never the readings) and the page is cut from that order.
pub async fn list(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let now = app.ctx.clock.now();
    let query = list_query(request, now, &staff)?;
    // Archived records are listed by name only: they have no triage.
    let ranked = !query.archived
        && (query.sort != SortKey::Name || query.order == Order::Desc || query.flag.is_some());
    let (records, mut next_cursor, more) = match &query.search {
        Some(folded) => {
            let (mut records, more) = patient::search(&app.ctx, staff.clinic.id, folded).await?;
            records.retain(|r| query.status.is_none_or(|s| r.link.status() == s));
            if query.archived {
                records.retain(|r| r.archived.is_some());
            }
            (records, None, more)
        }
        None if ranked => {
            ranked_offset(query.cursor.as_deref())?;
            let records = patient::list_all(&app.ctx, staff.clinic.id, query.status).await?;
            (records, None, false)
        }
        None => {
            let (records, next) = patient::list(
                &app.ctx,
                staff.clinic.id,
                query.cursor.clone(),
                query.status,
                query.archived,
            )
            .await?;
            (records, next, false)
        }
    };
    let mut rows = with_numbers(app, records, &query).await?;
    if ranked || query.search.is_some() {
        triage::sort(&mut rows, query.sort, query.order);
    }
    if ranked && query.search.is_none() {
        let offset = ranked_offset(query.cursor.as_deref())?;
        let end = (offset + patient::PAGE_SIZE).min(rows.len());
        next_cursor = (end < rows.len()).then(|| format!("r{end}"));
        rows = rows
            .into_iter()
            .skip(offset)
            .take(end.saturating_sub(offset))
            .collect();
    }
    let patients: Vec<PatientSummary> = rows
        .into_iter()
        .map(|(record, times, numbers)| {
            let mut view = summary(&record, times, now, staff.clinic.freshness_days);
            view.summary = numbers;
            view
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({
            "patients": patients,
            "next_cursor": next_cursor,
            "more_matches": more,
            "freshness_days": staff.clinic.freshness_days,
            "glucose_units": staff.clinic.glucose_units,
            "country": staff.clinic.country.as_ref().map(|c| c.code()),
            "period_days": query.setting.period_days,
            "sort": query.sort.as_str(),
            "order": match query.order { Order::Asc => "asc", Order::Desc => "desc" },
        }),
    ))
}

pub async fn create(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let body: CreatePatientBody = json_body(request)?;
    let record = patient::create_checked(
        &app.ctx,
        (staff.clinic.id, &staff.clinic.name),
        &staff.actor(),
        NewPatient {
            name: &body.name,
            date_of_birth: &body.date_of_birth,
            mrn: body.mrn.as_deref(),
        },
        body.confirm_duplicate,
    )
    .await?;
    let now = app.ctx.clock.now();
    let view = summary(
        &record,
        DataTimes::default(),
        now,
        staff.clinic.freshness_days,
    );
    Ok(Reply::json(StatusCode::CREATED, &view))
}

/// The record a path names, within the caller's clinic.
pub(crate) fn patient_id(params: &PathParams) -> Result<PatientId, ApiError> {
    params
        .get("patient_id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(ApiError::not_found)
}

#[derive(Serialize)]
struct LinkedAccount {
    person_id: String,
    name: String,
    username: String,
    date_of_birth: Option<String>,
    /// Fields where the personal account differs from the record: check the right account is linked.
    mismatches: Vec<&'static str>,
}

pub async fn profile(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let record = patient::get(&app.ctx, staff.clinic.id, patient_id(params)?).await?;
    let now = app.ctx.clock.now();
    let mut linked_account = None;
    let mut times = DataTimes::default();
    if let LinkState::Linked { person_id, .. } = record.link
        && link::clinic_may_read(&app.ctx, staff.clinic.id, person_id).await?
    {
        let person = personal::get(&app.ctx, person_id).await?;
        times = patient::data_times(&app.ctx, &[person_id])
            .await?
            .remove(&person_id)
            .unwrap_or_default();
        let mut mismatches = Vec::new();
        if fold(&person.name) != fold(&record.name) {
            mismatches.push("name");
        }
        if person.date_of_birth != Some(record.date_of_birth) {
            mismatches.push("date_of_birth");
        }
        audit::record(&app.ctx, viewed(&staff, &record, person_id)).await?;
        linked_account = Some(LinkedAccount {
            person_id: person_id.to_string(),
            name: person.name,
            username: person.username,
            date_of_birth: person.date_of_birth.map(|d| d.to_string()),
            mismatches,
        });
    }
    let mut row = summary(&record, times, now, staff.clinic.freshness_days);
    if linked_account.is_some() {
        let setting = Setting {
            period_days: triage::DEFAULT_PERIOD_DAYS,
            now,
            freshness_days: staff.clinic.freshness_days,
        };
        row.summary = triage::summaries(&app.ctx, std::slice::from_ref(&record), &[times], setting)
            .await?
            .pop()
            .flatten();
    }
    let mut view = serde_json::to_value(row).map_err(|e| CoreError::Internal(e.to_string()))?;
    view["linked_account"] = serde_json::to_value(linked_account).unwrap_or_default();
    view["upload_request"] = match &record.upload_request {
        Some(request) => serde_json::json!({"at": request.at, "channel": request.channel}),
        None => serde_json::Value::Null,
    };
    view["pending_code"] = match link::pending_code(&record) {
        Some(pending) => serde_json::json!({
            "code": pending.issued.code.to_string(),
            "expires_at": pending.issued.expires_at,
            "created_at": pending.created_at,
            "sent_to": pending.sent_to,
            "accept_url": link::accept_url(&super::linking::site_url(app, request), &pending.issued.code),
        }),
        None => serde_json::Value::Null,
    };
    view["freshness_days"] = serde_json::json!(staff.clinic.freshness_days);
    view["ranges"] = serde_json::json!({"preset": record.ranges, "label": record.ranges.label()});
    view["glucose_units"] = serde_json::json!(staff.clinic.glucose_units);
    Ok(Reply::json(StatusCode::OK, &view))
}

/// Corrects the record's name, date of birth and MRN (PUT: the whole set; MRN may be left out to clear
/// it). A linked record's identity is checked again.
pub async fn correct(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let body: NewPatientBody = json_body(request)?;
    let record = patient::correct(
        &app.ctx,
        &staff,
        patient_id(params)?,
        NewPatient {
            name: &body.name,
            date_of_birth: &body.date_of_birth,
            mrn: body.mrn.as_deref(),
        },
    )
    .await?;
    record_answer(app, &staff, &record).await
}

/// A changed record, answered as the list shows it (with its data times).
async fn record_answer(
    app: &App,
    staff: &Staff,
    record: &PatientRecord,
) -> Result<Reply, ApiError> {
    let times = times_of(&app.ctx, std::slice::from_ref(record)).await?;
    let view = summary(
        record,
        times.into_iter().next().unwrap_or_default(),
        app.ctx.clock.now(),
        staff.clinic.freshness_days,
    );
    Ok(Reply::json(StatusCode::OK, &view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchivedBody {
    archived: bool,
}

/// Archives the record (`{"archived": true}`) or restores it (`false`); answers the record as the list
/// shows it.
pub async fn set_archived(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let body: ArchivedBody = json_body(request)?;
    let record =
        patient::set_archived(&app.ctx, &staff, patient_id(params)?, body.archived).await?;
    record_answer(app, &staff, &record).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangesBody {
    ranges: String,
}

/// Sets the glycemic targets of the record's reports: standard, older_high_risk or pregnancy.
pub async fn set_ranges(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    let body: RangesBody = json_body(request)?;
    let record = patient::set_ranges(&app.ctx, &staff, patient_id(params)?, &body.ranges).await?;
    Ok(Reply::json(
        StatusCode::OK,
        &serde_json::json!({"patient_id": record.id.to_string(), "ranges": {"preset": record.ranges, "label": record.ranges.label()}}),
    ))
}

fn viewed(
    staff: &Staff,
    record: &PatientRecord,
    person_id: glucolink_core::ids::PersonId,
) -> NewEvent {
    NewEvent {
        actor: staff.actor(),
        action: "profile_viewed",
        clinic: Some(staff.clinic_ref()),
        patient_id: Some(record.id),
        person_id: Some(person_id),
        detail: format!(
            "{} opened the Patient Profile of {}.",
            staff.user.name, record.name
        ),
    }
}

pub async fn clinic_audit(app: &App, request: &Request<Bytes>) -> Result<Reply, ApiError> {
    let staff = require_any_staff(app, request).await?;
    staff.require_admin()?;
    let filter = audit_filter(request)?;
    let page = audit::for_clinic_filtered(
        &app.ctx,
        staff.clinic.id,
        &filter,
        query_param(request, "cursor"),
    )
    .await?;
    Ok(Reply::json(StatusCode::OK, &page))
}

/// The audit log's filters from the query: `patient` (a record id), `actor` (who acted), `action`,
/// and `from`/`to` (calendar dates, both inclusive, in `tz`, default UTC).
fn audit_filter(request: &Request<Bytes>) -> Result<audit::AuditFilter, ApiError> {
    // An empty filter is a filter that cannot be read (`?to=`), not a missing one; only `actor`, free
    // text, may be empty.
    let given = |name: &str| query_param(request, name);
    let zone = query_time_zone(request)?.unwrap_or(jiff::tz::TimeZone::UTC);
    let day = |field: &'static str| -> Result<Option<jiff::civil::Date>, ApiError> {
        given(field)
            .map(|raw| {
                raw.parse::<jiff::civil::Date>().map_err(|_| {
                    ApiError::from(CoreError::invalid(
                        field,
                        "invalid_date",
                        "Dates are written YYYY-MM-DD.",
                    ))
                })
            })
            .transpose()
    };
    let start_of = |date: jiff::civil::Date| -> Result<jiff::Timestamp, ApiError> {
        zone.to_ambiguous_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .map_err(|_| {
                ApiError::from(CoreError::invalid(
                    "from",
                    "invalid_date",
                    "That date is out of range.",
                ))
            })
    };
    let (from, to) = (day("from")?, day("to")?);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(CoreError::invalid(
            "to",
            "invalid_range",
            "The end date is before the start date.",
        )
        .into());
    }
    Ok(audit::AuditFilter {
        patient_id: given("patient")
            .map(|raw| {
                raw.parse().map_err(|_| {
                    ApiError::from(CoreError::invalid(
                        "patient",
                        "invalid_patient",
                        "That is not a patient record's id.",
                    ))
                })
            })
            .transpose()?,
        actor_id: given("actor").filter(|actor| !actor.is_empty()),
        action: given("action")
            .map(|raw| audit::AuditFilter::parse_action(&raw))
            .transpose()?,
        from: from.map(start_of).transpose()?,
        until: to
            .map(|d| {
                d.tomorrow().map_err(|_| {
                    ApiError::from(CoreError::invalid(
                        "to",
                        "invalid_date",
                        "That date is out of range.",
                    ))
                })
            })
            .transpose()?
            .map(start_of)
            .transpose()?,
    })
}

/// Deletes a record made by mistake (not linked, no pending code); audited.
pub async fn delete(
    app: &App,
    request: &Request<Bytes>,
    params: &PathParams,
) -> Result<Reply, ApiError> {
    let staff = require_staff(app, request).await?;
    patient::delete(
        &app.ctx,
        (staff.clinic.id, &staff.clinic.name),
        &staff.actor(),
        patient_id(params)?,
    )
    .await?;
    Ok(Reply::no_content())
}
