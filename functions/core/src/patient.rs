//! Patient records of a clinic: create, read, list by name, and search by a prefix of a name word, the
//! MRN or the date of birth.
//!
//! A record lives in its clinic's partition, so a clinic can only ever address its own records. It is
//! listed by name through the secondary index, and found through small `FIND#<token>#<id>` items written
//! in the same transaction as the record. Updates are optimistic: every write of a record checks the
//! `version` it read.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::account::clinic::{Staff, millis};
use crate::account::fields::{DateOfBirth, PersonName};
use crate::audit::{Actor, NewEvent};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::{ClinicId, PatientId, PersonId};
use crate::keys;
use crate::optimistic::{Commit, commit};
use crate::report::ranges::RangePreset;
use crate::store::{Condition, Index, Item, Key, Query, StoreError, WriteOp};

/// A medical record number: 1–32 letters, digits, `-`, `/` or `.`, as the clinic's system writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mrn(String);

impl Mrn {
    pub const MAX_LEN: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let mrn = raw.trim();
        let valid = !mrn.is_empty()
            && mrn.len() <= Self::MAX_LEN
            && mrn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-/.".contains(c));
        if valid {
            Ok(Self(mrn.to_owned()))
        } else {
            Err(CoreError::invalid(
                "mrn",
                "invalid_mrn",
                format!(
                    "An MRN has 1 to {} letters, digits, dashes, slashes or dots.",
                    Self::MAX_LEN
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lower case, accents removed, runs of white space made one space: how names are compared and searched.
pub fn fold(text: &str) -> String {
    let folded: String = text
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where a record stands with the patient's personal account, and how it got there: every state but
/// "never linked" says since when and who made it so, so that staff see "Priya stopped sharing on
/// 2 Dec" rather than a bare "Not linked".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Never linked, and no code ever sent (or a code the clinic cancelled).
    NotLinked,
    /// A unique code is out and not yet answered.
    Pending {
        expires_at: Timestamp,
        since: Timestamp,
        by: String,
    },
    Linked {
        person_id: PersonId,
        since: Timestamp,
        /// Who linked: the patient (code) or the member of staff (credentials on the clinic's screen).
        by: String,
        identity: IdentityCheck,
    },
    /// The patient stopped sharing from their Data Sharing page.
    SharingStopped { since: Timestamp, by: String },
    /// The code ran out unanswered (`since` is when it expired).
    CodeExpired { since: Timestamp },
    /// The patient declined the request.
    CodeDeclined { since: Timestamp, by: String },
    /// The clinic unlinked the record.
    Unlinked { since: Timestamp, by: String },
}

impl LinkState {
    /// The stable name of the state, as the API and the store write it.
    pub fn status(&self) -> &'static str {
        match self {
            LinkState::NotLinked => "not_linked",
            LinkState::Pending { .. } => "pending",
            LinkState::Linked { .. } => "linked",
            LinkState::SharingStopped { .. } => "sharing_stopped",
            LinkState::CodeExpired { .. } => "code_expired",
            LinkState::CodeDeclined { .. } => "code_declined",
            LinkState::Unlinked { .. } => "unlinked",
        }
    }

    /// Every status, in the order a filter offers them.
    pub const STATUSES: [&'static str; 7] = [
        "not_linked",
        "pending",
        "linked",
        "sharing_stopped",
        "code_expired",
        "code_declined",
        "unlinked",
    ];

    /// Since when the record is in this state (none for a record never linked).
    pub fn since(&self) -> Option<Timestamp> {
        match self {
            LinkState::NotLinked => None,
            LinkState::Pending { since, .. }
            | LinkState::Linked { since, .. }
            | LinkState::SharingStopped { since, .. }
            | LinkState::CodeExpired { since }
            | LinkState::CodeDeclined { since, .. }
            | LinkState::Unlinked { since, .. } => Some(*since),
        }
    }

    /// Who made it so, by name (none for "never linked" and for a code that ran out).
    pub fn by(&self) -> Option<&str> {
        match self {
            LinkState::NotLinked | LinkState::CodeExpired { .. } => None,
            LinkState::Pending { by, .. }
            | LinkState::Linked { by, .. }
            | LinkState::SharingStopped { by, .. }
            | LinkState::CodeDeclined { by, .. }
            | LinkState::Unlinked { by, .. } => Some(by),
        }
    }

    /// Whether a link to a personal account is in place.
    pub fn is_linked(&self) -> bool {
        matches!(self, LinkState::Linked { .. })
    }
}

/// Whether the linked personal account is the person the record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Same name (words in any order, case and accents folded) and the same date of birth.
    Match,
    /// The name or the date of birth differs: staff must check that the right account is linked.
    Mismatch,
    /// The account has no date of birth to compare (the name matches).
    Unknown,
}

impl Identity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Identity::Match => "match",
            Identity::Mismatch => "mismatch",
            Identity::Unknown => "unknown",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "match" => Some(Identity::Match),
            "mismatch" => Some(Identity::Mismatch),
            "unknown" => Some(Identity::Unknown),
            _ => None,
        }
    }
}

/// The comparison of a record with a personal account, and what differs (`name`, `date_of_birth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCheck {
    pub identity: Identity,
    pub differs: Vec<&'static str>,
}

impl IdentityCheck {
    /// Compares the record's name and date of birth with the account's.
    pub fn compare(
        record_name: &str,
        record_date_of_birth: Date,
        person_name: &str,
        person_date_of_birth: Option<Date>,
    ) -> Self {
        let mut differs = Vec::new();
        if name_words(record_name) != name_words(person_name) {
            differs.push("name");
        }
        if person_date_of_birth.is_some_and(|d| d != record_date_of_birth) {
            differs.push("date_of_birth");
        }
        let identity = if !differs.is_empty() {
            Identity::Mismatch
        } else if person_date_of_birth.is_none() {
            Identity::Unknown
        } else {
            Identity::Match
        };
        Self { identity, differs }
    }
}

/// The words of a name, folded and sorted: "Demo, Alex" and "alex DEMO" are the same name; hyphens and
/// apostrophes join nothing ("Mary-Jane O'Neil" = "Mary Jane ONeil").
fn name_words(name: &str) -> Vec<String> {
    let folded = fold(name);
    let mut words: Vec<String> = folded
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-' || c == '.')
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_unstable();
    words
}

/// The last "Upload now" request sent to the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    pub at: Timestamp,
    pub channel: String,
}

#[derive(Debug, Clone)]
pub struct PatientRecord {
    pub id: PatientId,
    pub clinic_id: ClinicId,
    pub name: String,
    pub date_of_birth: Date,
    pub mrn: Option<String>,
    pub created_at: Timestamp,
    pub link: LinkState,
    pub upload_request: Option<UploadRequest>,
    /// The glycemic targets the clinic chose for this patient's reports.
    pub ranges: RangePreset,
    /// The digest of the pending code, if one is out (to retire it when replaced or cancelled).
    pub(crate) code_hash: Option<String>,
    /// The pending code itself, kept in the clinic's own partition so that staff can show, send or
    /// print it again; the patient side finds codes only by their digest.
    pub(crate) pending_code: Option<String>,
    /// Where the pending code was sent (`email:…`, `sms:…`): told when the code stops working.
    pub(crate) code_sent_to: Vec<String>,
    /// When and by whom the record was archived (kept, read-only for linking, out of the patient list
    /// and triage); `None` for an active record.
    pub archived: Option<Archived>,
    pub(crate) version: i64,
}

/// An archived record's when and who.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub at: Timestamp,
    pub by: String,
}

impl PatientRecord {
    /// Forgets the record's code (its digest, the code itself, where it was sent), answering the digest
    /// and the addresses; the code's own item says why it no longer works.
    pub(crate) fn forget_code(&mut self) -> (Option<String>, Vec<String>) {
        self.pending_code = None;
        (
            self.code_hash.take(),
            std::mem::take(&mut self.code_sent_to),
        )
    }
}

/// Raw input for a new record, as typed.
#[derive(Debug, Default)]
pub struct NewPatient<'a> {
    pub name: &'a str,
    pub date_of_birth: &'a str,
    pub mrn: Option<&'a str>,
}

/// Most results a search returns; a clinic with more matches narrows its search.
pub const SEARCH_LIMIT: usize = 50;
/// Records per page of the list.
pub const PAGE_SIZE: usize = 50;

/// Creates a record as [`create`] does, but first, unless `confirmed`, refuses (`possible_duplicate`)
/// when the clinic already has a record with the same name (letter case and accents aside) and date
/// of birth: two records of one person split their data and their link, so the clinic is asked.
pub async fn create_checked(
    ctx: &Ctx,
    clinic: (ClinicId, &str),
    actor: &Actor,
    input: NewPatient<'_>,
    confirmed: bool,
) -> Result<PatientRecord, CoreError> {
    if !confirmed {
        let name = PersonName::parse(input.name)?;
        let today = jiff::tz::TimeZone::UTC.to_datetime(ctx.clock.now()).date();
        let date_of_birth = DateOfBirth::parse(input.date_of_birth.trim(), today)?;
        let same = same_name_and_birth(ctx, clinic.0, name.as_str(), date_of_birth.date()).await?;
        if !same.is_empty() {
            let named: Vec<String> = same
                .iter()
                .map(|r| match &r.mrn {
                    Some(mrn) => format!("{} (MRN {mrn})", r.name),
                    None => format!("{} (no MRN)", r.name),
                })
                .collect();
            return Err(CoreError::Conflict {
                code: "possible_duplicate",
                message: format!(
                    "The clinic already has a record with this name and date of birth: {}. If it is the same person, open that record instead; if not, create this one anyway.",
                    named.join(", ")
                ),
            });
        }
    }
    create(ctx, clinic, actor, input).await
}

/// Deletes a record the clinic made by mistake (audited, with the details it had). A linked record is
/// unlinked first, and a record waiting for a code has its code cancelled first: deleting never ends a
/// patient's sharing or withdraws a code silently.
pub async fn delete(
    ctx: &Ctx,
    clinic: (ClinicId, &str),
    actor: &Actor,
    patient_id: PatientId,
) -> Result<(), CoreError> {
    let (clinic_id, clinic_name) = clinic;
    let record = get(ctx, clinic_id, patient_id).await?;
    match record.link {
        LinkState::Linked { .. } => {
            return Err(CoreError::Conflict {
                code: "linked",
                message: format!(
                    "{} is linked to a personal account. Unlink it first, then delete the record.",
                    record.name
                ),
            });
        }
        LinkState::Pending { .. } => {
            return Err(CoreError::Conflict {
                code: "code_pending",
                message: format!(
                    "{} is waiting for a unique code. Cancel the code first, then delete the record.",
                    record.name
                ),
            });
        }
        _ => {}
    }
    let mut ops = vec![WriteOp::Delete {
        key: keys::patient(clinic_id, patient_id),
        condition: Condition::Equals("version".into(), crate::store::Value::N(record.version)),
    }];
    for token in search_tokens(&record) {
        ops.push(WriteOp::Delete {
            key: keys::patient_search_token(clinic_id, &token, record.id),
            condition: Condition::None,
        });
    }
    if let Some(mrn) = record.mrn.as_deref().and_then(|m| Mrn::parse(m).ok()) {
        ops.push(WriteOp::Delete {
            key: mrn_key(clinic_id, &mrn),
            condition: Condition::None,
        });
    }
    ops.extend(
        NewEvent {
            actor: actor.clone(),
            action: "patient_deleted",
            clinic: Some((clinic_id, clinic_name.to_owned())),
            patient_id: Some(record.id),
            person_id: None,
            detail: format!(
                "Deleted the record of {}, born {}{}.",
                record.name,
                record.date_of_birth,
                record
                    .mrn
                    .as_deref()
                    .map(|m| format!(", MRN {m}"))
                    .unwrap_or_default()
            ),
        }
        .ops(ctx.clock.now()),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { index: 0 }) => Err(CoreError::Conflict {
            code: "record_changed",
            message: "The record changed meanwhile. Reload the page and try again.".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// Archives a record (`archive`) or restores it: an archived record is kept with its data and audit
/// lines, leaves the patient list and triage (it is listed under "Archived records" and still found
/// by search), and cannot be linked until restored. A linked record, or one waiting for a code, is
/// refused: sharing must be ended (or the code cancelled) first, never silently. Audited.
pub async fn set_archived(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    archive: bool,
) -> Result<PatientRecord, CoreError> {
    commit(ctx, || async move {
        let mut record = get(ctx, staff.clinic.id, patient_id).await?;
        if record.archived.is_some() == archive {
            return Ok(Commit::new(Vec::new(), record));
        }
        let now = ctx.clock.now();
        if archive {
            match record.link {
                LinkState::Linked { .. } => {
                    return Err(CoreError::Conflict {
                        code: "linked",
                        message: format!(
                            "{} is linked to a personal account. Unlink it first, then archive the record.",
                            record.name
                        ),
                    });
                }
                LinkState::Pending { .. } => {
                    return Err(CoreError::Conflict {
                        code: "code_pending",
                        message: format!(
                            "{} is waiting for a unique code. Cancel the code first, then archive the record.",
                            record.name
                        ),
                    });
                }
                _ => {}
            }
            record.archived = Some(Archived {
                at: now,
                by: staff.user.name.clone(),
            });
        } else {
            record.archived = None;
        }
        let mut ops = vec![update_op(&mut record)];
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: if archive {
                    "patient_archived"
                } else {
                    "patient_restored"
                },
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: None,
                detail: if archive {
                    format!("Archived the record of {}.", record.name)
                } else {
                    format!("Restored the archived record of {}.", record.name)
                },
            }
            .ops(now),
        );
        Ok(Commit::new(ops, record))
    })
    .await
}

/// Refuses to start linking an archived record.
pub(crate) fn require_active(record: &PatientRecord) -> Result<(), CoreError> {
    match record.archived {
        None => Ok(()),
        Some(_) => Err(CoreError::Conflict {
            code: "archived",
            message: format!(
                "The record of {} is archived. Restore it first (Patient Profile → Correct this record's details).",
                record.name
            ),
        }),
    }
}

/// The clinic's records with this name (folded) and date of birth.
async fn same_name_and_birth(
    ctx: &Ctx,
    clinic_id: ClinicId,
    name: &str,
    date_of_birth: jiff::civil::Date,
) -> Result<Vec<PatientRecord>, CoreError> {
    let query = Query::prefix(
        keys::clinic_pk(clinic_id),
        format!("{}{date_of_birth}#", keys::FIND_PREFIX),
    );
    let ids: Vec<PatientId> = crate::store::query_all(ctx.store.as_ref(), query)
        .await?
        .iter()
        .filter_map(|item| item.key.sk.rsplit('#').next()?.parse().ok())
        .collect();
    let folded = fold(name);
    let mut same = Vec::new();
    for id in ids {
        match get(ctx, clinic_id, id).await {
            Ok(record) if fold(&record.name) == folded => same.push(record),
            Ok(_) | Err(CoreError::NotFound) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(same)
}

/// Creates a record. Fails with `mrn_taken` if another record of the clinic has the same MRN.
pub async fn create(
    ctx: &Ctx,
    clinic: (ClinicId, &str),
    actor: &Actor,
    input: NewPatient<'_>,
) -> Result<PatientRecord, CoreError> {
    let (clinic_id, clinic_name) = clinic;
    let name = PersonName::parse(input.name)?;
    let today = jiff::tz::TimeZone::UTC.to_datetime(ctx.clock.now()).date();
    let date_of_birth = DateOfBirth::parse(input.date_of_birth.trim(), today)?;
    let mrn = input
        .mrn
        .filter(|m| !m.trim().is_empty())
        .map(Mrn::parse)
        .transpose()?;
    let record = PatientRecord {
        id: PatientId::generate(),
        clinic_id,
        name: name.as_str().to_owned(),
        date_of_birth: date_of_birth.date(),
        mrn: mrn.as_ref().map(|m| m.as_str().to_owned()),
        created_at: ctx.clock.now(),
        link: LinkState::NotLinked,
        upload_request: None,
        ranges: RangePreset::Standard,
        code_hash: None,
        pending_code: None,
        code_sent_to: Vec::new(),
        archived: None,
        version: 1,
    };
    let mut ops = Vec::new();
    if let Some(mrn) = &mrn {
        ops.push(WriteOp::Put {
            item: Item::new(mrn_key(clinic_id, mrn)).with_s("patient_id", record.id.to_string()),
            condition: Condition::NotExists,
        });
    }
    ops.push(WriteOp::Put {
        item: record_item(&record),
        condition: Condition::NotExists,
    });
    for token in search_tokens(&record) {
        ops.push(WriteOp::Put {
            item: Item::new(keys::patient_search_token(clinic_id, &token, record.id)),
            condition: Condition::None,
        });
    }
    ops.extend(
        NewEvent {
            actor: actor.clone(),
            action: "patient_created",
            clinic: Some((clinic_id, clinic_name.to_owned())),
            patient_id: Some(record.id),
            person_id: None,
            detail: format!("Created the record of {}.", record.name),
        }
        .ops(ctx.clock.now()),
    );
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(record),
        Err(StoreError::TransactionCanceled { index: 0 }) if mrn.is_some() => Err(mrn_taken()),
        Err(other) => Err(other.into()),
    }
}

fn mrn_key(clinic: ClinicId, mrn: &Mrn) -> Key {
    Key::new(
        keys::clinic_pk(clinic),
        format!("MRN#{}", fold(mrn.as_str())),
    )
}

/// Each word of the name, the whole name, the MRN and the date of birth, folded.
fn search_tokens(record: &PatientRecord) -> BTreeSet<String> {
    let name = fold(&record.name);
    let mut tokens: BTreeSet<String> = name.split(' ').take(10).map(str::to_owned).collect();
    tokens.insert(name);
    if let Some(mrn) = &record.mrn {
        tokens.insert(fold(mrn));
    }
    tokens.insert(record.date_of_birth.to_string());
    tokens.retain(|t| !t.is_empty());
    tokens
}

/// The stored form of a record.
pub(crate) fn record_item(record: &PatientRecord) -> Item {
    let mut item = Item::new(keys::patient(record.clinic_id, record.id))
        .with_s("name", &record.name)
        .with_s("date_of_birth", record.date_of_birth.to_string())
        .with_n("created_at", record.created_at.as_millisecond())
        .with_n("version", record.version)
        .with_s("link", record.link.status())
        .indexed(match &record.archived {
            None => keys::patient_by_name(record.clinic_id, &fold(&record.name), record.id),
            Some(_) => {
                keys::archived_patient_by_name(record.clinic_id, &fold(&record.name), record.id)
            }
        });
    if let Some(archived) = &record.archived {
        item = item
            .with_n("archived_at", archived.at.as_millisecond())
            .with_s("archived_by", &archived.by);
    }
    if let Some(mrn) = &record.mrn {
        item = item.with_s("mrn", mrn);
    }
    if let Some(since) = record.link.since() {
        item = item.with_n("link_since", since.as_millisecond());
    }
    if let Some(by) = record.link.by() {
        item = item.with_s("link_by", by);
    }
    match &record.link {
        LinkState::Pending { expires_at, .. } => {
            item = item.with_n("code_expires_at", expires_at.as_millisecond());
        }
        LinkState::Linked {
            person_id,
            since,
            identity,
            ..
        } => {
            item = item
                .with_s("person_id", person_id.to_string())
                .with_n("linked_at", since.as_millisecond())
                .with_s("identity", identity.identity.as_str());
            if !identity.differs.is_empty() {
                item = item.with_s("identity_differs", identity.differs.join(","));
            }
        }
        _ => {}
    }
    if let Some(hash) = &record.code_hash {
        item = item.with_s("code_hash", hash);
    }
    if let Some(code) = &record.pending_code {
        item = item.with_s("pending_code", code);
    }
    if !record.code_sent_to.is_empty() {
        item = item.with_s("code_sent_to", record.code_sent_to.join("\n"));
    }
    if record.ranges != RangePreset::Standard {
        item = item.with_s("ranges", record.ranges.as_str());
    }
    if let Some(request) = &record.upload_request {
        item = item
            .with_n("upload_request_at", request.at.as_millisecond())
            .with_s("upload_request_channel", &request.channel);
    }
    item
}

/// Reads a record back; a pending code past its expiry reads as `code_expired`.
pub(crate) fn from_item(
    clinic_id: ClinicId,
    item: &Item,
    now: Timestamp,
) -> Result<PatientRecord, CoreError> {
    let corrupt = |what: &str| CoreError::Store(StoreError::Corrupt(format!("patient {what}")));
    let id: PatientId = item
        .key
        .sk
        .strip_prefix("PATIENT#")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| corrupt("id"))?;
    let since = || -> Result<Timestamp, CoreError> {
        item.n("link_since")
            .or(item.n("linked_at"))
            .map_or(Ok(Timestamp::UNIX_EPOCH), millis)
    };
    let by = || item.s("link_by").unwrap_or_default().to_owned();
    let link = match item.require_s("link")? {
        "not_linked" => LinkState::NotLinked,
        "pending" => {
            let expires_at = millis(item.require_n("code_expires_at")?)?;
            if expires_at > now {
                LinkState::Pending {
                    expires_at,
                    since: since()?,
                    by: by(),
                }
            } else {
                LinkState::CodeExpired { since: expires_at }
            }
        }
        "linked" => LinkState::Linked {
            person_id: item
                .require_s("person_id")?
                .parse()
                .map_err(|_| corrupt("person_id"))?,
            since: millis(item.require_n("linked_at")?)?,
            by: by(),
            identity: IdentityCheck {
                // Links made before identities were compared are checked by staff like an account
                // without a date of birth.
                identity: item
                    .s("identity")
                    .map(|raw| Identity::parse(raw).ok_or_else(|| corrupt("identity")))
                    .transpose()?
                    .unwrap_or(Identity::Unknown),
                differs: item
                    .s("identity_differs")
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|field| match field {
                        "name" => Some("name"),
                        "date_of_birth" => Some("date_of_birth"),
                        _ => None,
                    })
                    .collect(),
            },
        },
        "sharing_stopped" => LinkState::SharingStopped {
            since: since()?,
            by: by(),
        },
        "code_expired" => LinkState::CodeExpired { since: since()? },
        "code_declined" => LinkState::CodeDeclined {
            since: since()?,
            by: by(),
        },
        "unlinked" => LinkState::Unlinked {
            since: since()?,
            by: by(),
        },
        _ => return Err(corrupt("link")),
    };
    let pending = matches!(link, LinkState::Pending { .. });
    let upload_request = match (
        item.n("upload_request_at"),
        item.s("upload_request_channel"),
    ) {
        (Some(at), Some(channel)) => Some(UploadRequest {
            at: millis(at)?,
            channel: channel.to_owned(),
        }),
        _ => None,
    };
    Ok(PatientRecord {
        id,
        clinic_id,
        name: item.require_s("name")?.to_owned(),
        date_of_birth: item
            .require_s("date_of_birth")?
            .parse()
            .map_err(|_| corrupt("date_of_birth"))?,
        mrn: item.s("mrn").map(str::to_owned),
        created_at: millis(item.require_n("created_at")?)?,
        link,
        upload_request,
        ranges: item
            .s("ranges")
            .map(RangePreset::parse)
            .transpose()
            .map_err(|_| corrupt("ranges"))?
            .unwrap_or_default(),
        code_hash: item.s("code_hash").map(str::to_owned),
        pending_code: item
            .s("pending_code")
            .filter(|_| pending)
            .map(str::to_owned),
        code_sent_to: item
            .s("code_sent_to")
            .filter(|_| pending)
            .map(|list| list.lines().map(str::to_owned).collect())
            .unwrap_or_default(),
        archived: match item.n("archived_at") {
            Some(at) => Some(Archived {
                at: millis(at)?,
                by: item.s("archived_by").unwrap_or_default().to_owned(),
            }),
            None => None,
        },
        version: item.require_n("version")?,
    })
}

/// The write that stores a changed record and bumps its version; inside a transaction it fails if
/// another write reached the record since it was read.
pub(crate) fn update_op(record: &mut PatientRecord) -> WriteOp {
    let read_version = record.version;
    record.version += 1;
    WriteOp::Put {
        item: record_item(record),
        condition: Condition::Equals("version".into(), crate::store::Value::N(read_version)),
    }
}

/// A record of this clinic; another clinic's id is simply not found.
pub async fn get(
    ctx: &Ctx,
    clinic_id: ClinicId,
    patient_id: PatientId,
) -> Result<PatientRecord, CoreError> {
    let item = ctx
        .store
        .get(&keys::patient(clinic_id, patient_id))
        .await?
        .ok_or(CoreError::NotFound)?;
    from_item(clinic_id, &item, ctx.clock.now())
}

/// Sets the glycemic targets of a record's reports (any member of staff; audited).
pub async fn set_ranges(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    raw: &str,
) -> Result<PatientRecord, CoreError> {
    let preset = RangePreset::parse(raw)?;
    commit(ctx, || async move {
        let mut record = get(ctx, staff.clinic.id, patient_id).await?;
        if record.ranges == preset {
            return Ok(Commit::new(Vec::new(), record));
        }
        record.ranges = preset;
        let now = ctx.clock.now();
        let mut ops = vec![update_op(&mut record)];
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "ranges_changed",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id: None,
                detail: format!(
                    "Set the glycemic targets of {} to {}.",
                    record.name,
                    preset.label()
                ),
            }
            .ops(now),
        );
        Ok(Commit::new(ops, record))
    })
    .await
}

/// Corrects a record's name, date of birth and MRN (any member of staff; audited). A linked record's
/// identity check is made again against the personal account, so correcting the record clears (or
/// raises) the "Check identity" flag.
pub async fn correct(
    ctx: &Ctx,
    staff: &Staff,
    patient_id: PatientId,
    input: NewPatient<'_>,
) -> Result<PatientRecord, CoreError> {
    let name = PersonName::parse(input.name)?;
    let today = jiff::tz::TimeZone::UTC.to_datetime(ctx.clock.now()).date();
    let date_of_birth = DateOfBirth::parse(input.date_of_birth.trim(), today)?.date();
    let mrn = input
        .mrn
        .filter(|m| !m.trim().is_empty())
        .map(Mrn::parse)
        .transpose()?;
    let (name, mrn) = (&name, &mrn);
    commit(ctx, || async move {
        let mut record = get(ctx, staff.clinic.id, patient_id).await?;
        let before = record.clone();
        record.name = name.as_str().to_owned();
        record.date_of_birth = date_of_birth;
        record.mrn = mrn.as_ref().map(|m| m.as_str().to_owned());
        let mut changes = Vec::new();
        if before.name != record.name {
            changes.push(format!("name {} → {}", before.name, record.name));
        }
        if before.date_of_birth != record.date_of_birth {
            changes.push(format!(
                "date of birth {} → {}",
                before.date_of_birth, record.date_of_birth
            ));
        }
        if before.mrn != record.mrn {
            changes.push(format!(
                "MRN {} → {}",
                before.mrn.as_deref().unwrap_or("none"),
                record.mrn.as_deref().unwrap_or("none")
            ));
        }
        if changes.is_empty() {
            return Ok(Commit::new(Vec::new(), record));
        }
        let mut ops = Vec::new();
        let mut mrn_index = None;
        // The MRN index is keyed by the folded MRN: a change of letter case only ("ab-1" to "AB-1")
        // keeps its key, and touching it twice in one transaction would be refused.
        let old_mrn_key = before
            .mrn
            .as_deref()
            .and_then(|m| Mrn::parse(m).ok())
            .map(|m| mrn_key(record.clinic_id, &m));
        let new_mrn_key = mrn.as_ref().map(|m| mrn_key(record.clinic_id, m));
        if old_mrn_key != new_mrn_key {
            if let Some(old) = old_mrn_key {
                ops.push(WriteOp::Delete {
                    key: old,
                    condition: Condition::None,
                });
            }
            if let Some(new) = mrn {
                mrn_index = Some(ops.len());
                ops.push(WriteOp::Put {
                    item: Item::new(mrn_key(record.clinic_id, new))
                        .with_s("patient_id", record.id.to_string()),
                    condition: Condition::NotExists,
                });
            }
        }
        let (old_tokens, new_tokens) = (search_tokens(&before), search_tokens(&record));
        for token in old_tokens.difference(&new_tokens) {
            ops.push(WriteOp::Delete {
                key: keys::patient_search_token(record.clinic_id, token, record.id),
                condition: Condition::None,
            });
        }
        for token in new_tokens.difference(&old_tokens) {
            ops.push(WriteOp::Put {
                item: Item::new(keys::patient_search_token(
                    record.clinic_id,
                    token,
                    record.id,
                )),
                condition: Condition::None,
            });
        }
        let mut person_id = None;
        if let LinkState::Linked {
            person_id: linked,
            identity,
            ..
        } = &mut record.link
        {
            let person = crate::account::personal::get(ctx, *linked).await?;
            *identity = IdentityCheck::compare(
                name.as_str(),
                date_of_birth,
                &person.name,
                person.date_of_birth,
            );
            person_id = Some(*linked);
        }
        ops.push(update_op(&mut record));
        ops.extend(
            NewEvent {
                actor: staff.actor(),
                action: "patient_corrected",
                clinic: Some(staff.clinic_ref()),
                patient_id: Some(patient_id),
                person_id,
                detail: format!(
                    "Corrected the record of {}: {}.",
                    record.name,
                    changes.join("; ")
                ),
            }
            .ops(ctx.clock.now()),
        );
        let commit = Commit::new(ops, record);
        Ok(match mrn_index {
            Some(index) => commit.or_if_refused_at(index, mrn_taken()),
            None => commit,
        })
    })
    .await
}

fn mrn_taken() -> CoreError {
    CoreError::Conflict {
        code: "mrn_taken",
        message: "Another patient record of this clinic has this MRN.".into(),
    }
}

/// Reads at most this many pages of the list to fill one filtered page.
const FILTER_PAGES: usize = 40;

/// The link status a list filter names (`linked`, `sharing_stopped`…).
pub fn parse_link_status(raw: &str) -> Result<&'static str, CoreError> {
    LinkState::STATUSES
        .iter()
        .find(|s| **s == raw)
        .copied()
        .ok_or_else(|| {
            CoreError::invalid(
                "link",
                "invalid_link_status",
                format!("Filter by one of: {}.", LinkState::STATUSES.join(", ")),
            )
        })
}

/// A page of the clinic's records, sorted by name; with `status`, only records in that link state
/// (a filtered page may hold fewer or a few more than [`PAGE_SIZE`]; follow the cursor for the rest).
/// With `archived`, the archived records instead of the active ones.
pub async fn list(
    ctx: &Ctx,
    clinic_id: ClinicId,
    cursor: Option<String>,
    status: Option<&str>,
    archived: bool,
) -> Result<(Vec<PatientRecord>, Option<String>), CoreError> {
    let pk = if archived {
        keys::archived_patients_by_name_pk(clinic_id)
    } else {
        keys::patients_by_name_pk(clinic_id)
    };
    let mut query = Query::prefix(pk, "");
    query.index = Index::Gsi1;
    query.limit = PAGE_SIZE;
    query.cursor = cursor;
    let now = ctx.clock.now();
    let mut records = Vec::new();
    for _ in 0..FILTER_PAGES {
        let page = ctx.store.query(&query).await.map_err(invalid_cursor)?;
        for item in &page.items {
            let record = from_item(clinic_id, item, now)?;
            if status.is_none_or(|s| record.link.status() == s) {
                records.push(record);
            }
        }
        query.cursor = page.cursor;
        if status.is_none() || records.len() >= PAGE_SIZE || query.cursor.is_none() {
            break;
        }
    }
    Ok((records, query.cursor))
}

/// Every record of the clinic (in link state `status`, if given), sorted by name: what a list sorted
/// by numbers ranks. Pages of up to 1,000 records from the name index.
pub async fn list_all(
    ctx: &Ctx,
    clinic_id: ClinicId,
    status: Option<&str>,
) -> Result<Vec<PatientRecord>, CoreError> {
    let mut query = Query::prefix(keys::patients_by_name_pk(clinic_id), "");
    query.index = Index::Gsi1;
    query.limit = 1000;
    let now = ctx.clock.now();
    let mut records = Vec::new();
    loop {
        let page = ctx.store.query(&query).await?;
        for item in &page.items {
            let record = from_item(clinic_id, item, now)?;
            if status.is_none_or(|s| record.link.status() == s) {
                records.push(record);
            }
        }
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(records),
        }
    }
}

fn invalid_cursor(error: StoreError) -> CoreError {
    match error {
        StoreError::Invalid(_) => {
            CoreError::invalid("cursor", "invalid_cursor", "The page cursor is not valid.")
        }
        other => other.into(),
    }
}

/// A search query, folded: 1 to 100 characters.
pub fn parse_search(raw: &str) -> Result<String, CoreError> {
    let folded = fold(raw);
    if folded.is_empty() || folded.chars().count() > 100 {
        return Err(CoreError::invalid(
            "q",
            "invalid_search",
            "Search by 1 to 100 characters of a name, an MRN or a date of birth (for example 3 Dec 1980).",
        ));
    }
    Ok(folded)
}

/// Records with a name word, the whole name, the MRN or the date of birth starting with `query`, or
/// born on a date `query` writes in a common form (see [`crate::written_date`])
/// (already folded by [`parse_search`]), sorted by name; at most [`SEARCH_LIMIT`], and whether more matched.
pub async fn search(
    ctx: &Ctx,
    clinic_id: ClinicId,
    query: &str,
) -> Result<(Vec<PatientRecord>, bool), CoreError> {
    let mut ids: Vec<PatientId> = Vec::new();
    let mut more = false;
    // A date of birth as people write it ("3 Dec 1980", "3/12/1980") is looked up as the dates it
    // can mean; anything else as the start of a name, an MRN or an ISO date.
    let dates = crate::written_date::date_candidates(query);
    let prefixes: Vec<String> = if dates.is_empty() {
        vec![query.to_owned()]
    } else {
        dates.iter().map(ToString::to_string).collect()
    };
    'prefixes: for prefix in prefixes {
        let mut find = Query::prefix(
            keys::clinic_pk(clinic_id),
            format!("{}{prefix}", keys::FIND_PREFIX),
        );
        find.limit = 200;
        loop {
            let page = ctx.store.query(&find).await?;
            for item in &page.items {
                let id = item
                    .key
                    .sk
                    .rsplit('#')
                    .next()
                    .and_then(|id| id.parse::<PatientId>().ok());
                if let Some(id) = id
                    && !ids.contains(&id)
                {
                    if ids.len() == SEARCH_LIMIT {
                        more = true;
                        break 'prefixes;
                    }
                    ids.push(id);
                }
            }
            match page.cursor {
                Some(cursor) => find.cursor = Some(cursor),
                None => break,
            }
        }
    }
    let keys: Vec<Key> = ids.iter().map(|id| keys::patient(clinic_id, *id)).collect();
    let now = ctx.clock.now();
    let mut records = ctx
        .store
        .batch_get(&keys)
        .await?
        .iter()
        .map(|item| from_item(clinic_id, item, now))
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by_key(|r| (fold(&r.name), r.id));
    Ok((records, more))
}

pub use crate::data::upload::DataTimes;

/// When each of a set of people last uploaded and what their newest reading is (one batch read).
pub async fn data_times(
    ctx: &Ctx,
    people: &[PersonId],
) -> Result<HashMap<PersonId, DataTimes>, CoreError> {
    let mut unique: Vec<PersonId> = people.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut times = HashMap::new();
    for chunk in unique.chunks(crate::store::MAX_BATCH_GET_KEYS) {
        let keys: Vec<Key> = chunk.iter().map(|p| keys::data_info(*p)).collect();
        for item in ctx.store.batch_get(&keys).await? {
            let Some(person) = keys::person_of(&item.key) else {
                continue;
            };
            times.insert(person, crate::data::upload::data_times_of(&item)?);
        }
    }
    Ok(times)
}

/// How fresh a record's data is: the one rule the list, the profile and every other screen use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// No reading at all.
    None,
    /// The newest reading is older than the clinic's threshold.
    Old,
    Recent,
}

impl Freshness {
    pub fn of(last_reading_at: Option<Timestamp>, now: Timestamp, threshold_days: i64) -> Self {
        match last_reading_at {
            None => Freshness::None,
            Some(at) if now.as_second() - at.as_second() > threshold_days * 86_400 => {
                Freshness::Old
            }
            Some(_) => Freshness::Recent,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Freshness::None => "none",
            Freshness::Old => "old",
            Freshness::Recent => "recent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_spacing() {
        assert_eq!(fold("  José   ÁLVAREZ "), "jose alvarez");
        assert_eq!(fold("Zoë"), "zoe");
    }

    #[test]
    fn identity_compares_name_words_in_any_order_and_the_exact_date_of_birth() {
        let born = Date::constant(1990, 6, 15);
        let check = |record: &str, person: &str, dob: Option<Date>| {
            IdentityCheck::compare(record, born, person, dob)
        };
        assert_eq!(
            check("EXAMPLE, Jórdan", "Jordan Example", Some(born)).identity,
            Identity::Match
        );
        assert_eq!(
            check("Mary-Jane O'Neil", "mary jane oneil", Some(born)).identity,
            Identity::Match
        );
        let other_day = check(
            "Jordan Example",
            "Jordan Example",
            Some(Date::constant(1990, 6, 16)),
        );
        assert_eq!(
            (other_day.identity, other_day.differs),
            (Identity::Mismatch, vec!["date_of_birth"])
        );
        let other_name = check("Jordan Example", "Jordan Exemple", Some(born));
        assert_eq!(other_name.differs, vec!["name"]);
        assert_eq!(
            check("Jordan Example", "Jordan Example", None).identity,
            Identity::Unknown
        );
        assert_eq!(
            check("Jordan Example", "Alex Demo", None).identity,
            Identity::Mismatch
        );
    }

    #[test]
    fn mrns_are_short_plain_identifiers() {
        assert!(Mrn::parse("MRN-0042/7").is_ok());
        for bad in ["", "   ", "has space", "semi;colon", &"9".repeat(33)] {
            assert!(Mrn::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn freshness_boundary_is_inclusive_of_the_threshold() {
        let now = Timestamp::from_second(100 * 86_400).expect("ts");
        let exactly = Timestamp::from_second(93 * 86_400).expect("ts");
        let older = Timestamp::from_second(93 * 86_400 - 1).expect("ts");
        assert_eq!(Freshness::of(None, now, 7), Freshness::None);
        assert_eq!(Freshness::of(Some(exactly), now, 7), Freshness::Recent);
        assert_eq!(Freshness::of(Some(older), now, 7), Freshness::Old);
    }
}
