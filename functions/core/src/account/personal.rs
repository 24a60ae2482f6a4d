//! Personal (patient) accounts: sign-up with a username unique across glucolink.

use jiff::Timestamp;
use jiff::civil::Date;

use super::clinic::{hash_off_thread, millis};
use super::fields::{Country, DateOfBirth, Email, PersonName, Phone, Username};
use super::password::{Password, PasswordHash};
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::PersonId;
use crate::keys;
use crate::report::build::Units;
use crate::store::{Condition, Item, StoreError, WriteOp};

#[derive(Debug, Clone)]
pub struct Person {
    pub id: PersonId,
    pub username: String,
    pub name: String,
    pub date_of_birth: Option<Date>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The person followed the link sent to the email (a reset link goes only to a verified contact).
    pub email_verified: bool,
    /// The person followed the link sent to the phone.
    pub phone_verified: bool,
    /// The IANA zone the person lives in: local times in their uploads are read in it.
    pub time_zone: Option<String>,
    /// The glucose units of the person's own reports.
    pub glucose_units: Units,
    pub created_at: Timestamp,
    pub(crate) password_hash: PasswordHash,
    /// Whether the recovery contacts are in the contact index (accounts made before it are indexed at
    /// their next sign-in).
    pub(crate) contacts_indexed: bool,
    /// Its second factors (an authenticator app, passkeys).
    pub second_factors: super::two_factor::SecondFactors,
}

/// Raw sign-up input, as typed.
#[derive(Debug, Default)]
pub struct PersonalSignUp<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub name: &'a str,
    pub date_of_birth: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    /// The two-letter country a phone number written as dialled at home belongs to.
    pub country: Option<&'a str>,
    /// Where the request came from, for the per-source sign-up limit (empty: not limited, for the demo).
    pub source: &'a str,
}

/// Creates a personal account. Fails with `username_taken` if the username is in use.
pub async fn sign_up(ctx: &Ctx, input: PersonalSignUp<'_>) -> Result<Person, CoreError> {
    let username = Username::parse(input.username)?;
    let name = PersonName::parse(input.name)?;
    let today = jiff::tz::TimeZone::UTC.to_datetime(ctx.clock.now()).date();
    let date_of_birth = input
        .date_of_birth
        .filter(|s| !s.trim().is_empty())
        .map(|s| DateOfBirth::parse(s.trim(), today))
        .transpose()?;
    let email = input
        .email
        .filter(|s| !s.trim().is_empty())
        .map(Email::parse)
        .transpose()?;
    let country = input
        .country
        .filter(|s| !s.trim().is_empty())
        .map(Country::parse)
        .transpose()?;
    let phone = input
        .phone
        .filter(|s| !s.trim().is_empty())
        .map(|raw| Phone::parse_in(raw, country))
        .transpose()?;
    let time_zone = input
        .time_zone
        .filter(|s| !s.trim().is_empty())
        .map(parse_time_zone)
        .transpose()?;
    let local_part = email
        .as_ref()
        .and_then(|e| e.as_str().split('@').next())
        .unwrap_or_default();
    let password = Password::parse_new(
        input.password,
        &[username.as_str(), name.as_str(), local_part],
    )?;
    if email.is_none() && phone.is_none() {
        return Err(super::contact::required());
    }
    if !input.source.is_empty() {
        crate::throttle::spend(ctx, crate::throttle::SIGN_UP_PER_SOURCE, input.source).await?;
    }
    let password_hash = hash_off_thread(password).await?;
    let person = Person {
        id: PersonId::generate(),
        username: username.as_str().to_owned(),
        name: name.as_str().to_owned(),
        date_of_birth: date_of_birth.map(|d| d.date()),
        email: email.map(|e| e.as_str().to_owned()),
        phone: phone.map(|p| p.as_str().to_owned()),
        email_verified: false,
        phone_verified: false,
        time_zone,
        glucose_units: Units::MgDl,
        created_at: ctx.clock.now(),
        password_hash,
        contacts_indexed: true,
        second_factors: Default::default(),
    };
    let mut ops = vec![
        WriteOp::Put {
            item: Item::new(keys::username(&username)).with_s("person_id", person.id.to_string()),
            condition: Condition::NotExists,
        },
        WriteOp::Put {
            item: person_item(&person),
            condition: Condition::NotExists,
        },
    ];
    ops.extend(contact_ops(&person));
    match ctx.store.transact(ops).await {
        Ok(()) => Ok(person),
        Err(StoreError::TransactionCanceled { index: 0 }) => Err(CoreError::Conflict {
            code: "username_taken",
            message: "This username is taken. Choose another.".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

fn person_item(person: &Person) -> Item {
    let mut item = Item::new(keys::person(person.id))
        .with_s("username", &person.username)
        .with_s("name", &person.name)
        .with_s("password_hash", person.password_hash.as_str())
        .with_n("created_at", person.created_at.as_millisecond());
    if let Some(dob) = person.date_of_birth {
        item = item.with_s("date_of_birth", dob.to_string());
    }
    if let Some(email) = &person.email {
        item = item.with_s("email", email);
    }
    if let Some(phone) = &person.phone {
        item = item.with_s("phone", phone);
    }
    if let Some(zone) = &person.time_zone {
        item = item.with_s("time_zone", zone);
    }
    if person.glucose_units != Units::MgDl {
        item = item.with_s("glucose_units", person.glucose_units.name());
    }
    if person.contacts_indexed {
        item = item.with("contacts_indexed", crate::store::Value::Bool(true));
    }
    item
}

/// The contact index entries of a person's recovery email and phone (for "Forgot password?").
fn contact_ops(person: &Person) -> Vec<WriteOp> {
    [person.email.as_deref(), person.phone.as_deref()]
        .into_iter()
        .flatten()
        .map(|contact| WriteOp::Put {
            item: Item::new(keys::contact(contact, person.id)),
            condition: Condition::None,
        })
        .collect()
}

/// Puts an account made before the contact index into it (once; at sign-in).
pub(crate) async fn index_contacts(ctx: &Ctx, person: &Person) -> Result<(), CoreError> {
    if person.contacts_indexed {
        return Ok(());
    }
    let Some(item) = ctx.store.get(&keys::person(person.id)).await? else {
        return Ok(());
    };
    let mut ops = contact_ops(person);
    ops.push(WriteOp::Put {
        item: item.with("contacts_indexed", crate::store::Value::Bool(true)),
        condition: Condition::Equals(
            "password_hash".into(),
            crate::store::Value::S(person.password_hash.as_str().to_owned()),
        ),
    });
    match ctx.store.transact(ops).await {
        // Changed meanwhile (a reset): the next sign-in indexes it.
        Ok(()) | Err(StoreError::TransactionCanceled { .. }) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

pub async fn get(ctx: &Ctx, id: PersonId) -> Result<Person, CoreError> {
    let item = ctx
        .store
        .get(&keys::person(id))
        .await?
        .ok_or(CoreError::NotFound)?;
    let date_of_birth = item
        .s("date_of_birth")
        .map(|s| s.parse::<Date>())
        .transpose()
        .map_err(|e| CoreError::Store(StoreError::Corrupt(format!("date_of_birth: {e}"))))?;
    Ok(Person {
        id,
        username: item.require_s("username")?.to_owned(),
        name: item.require_s("name")?.to_owned(),
        date_of_birth,
        email: item.s("email").map(str::to_owned),
        phone: item.s("phone").map(str::to_owned),
        email_verified: item.attrs.get(super::contact::EMAIL_VERIFIED)
            == Some(&crate::store::Value::Bool(true)),
        phone_verified: item.attrs.get(super::contact::PHONE_VERIFIED)
            == Some(&crate::store::Value::Bool(true)),
        time_zone: item.s("time_zone").map(str::to_owned),
        glucose_units: crate::account::clinic::stored_units(item.s("glucose_units"))?,
        created_at: millis(item.require_n("created_at")?)?,
        password_hash: PasswordHash::from_stored(item.require_s("password_hash")?.to_owned()),
        contacts_indexed: matches!(
            item.attrs.get("contacts_indexed"),
            Some(crate::store::Value::Bool(true))
        ),
        second_factors: super::two_factor::SecondFactors::of(&item),
    })
}

/// The person a username belongs to, if any.
pub async fn find_by_username(ctx: &Ctx, username: &Username) -> Result<Option<Person>, CoreError> {
    let Some(index) = ctx.store.get(&keys::username(username)).await? else {
        return Ok(None);
    };
    let id = index
        .require_s("person_id")?
        .parse()
        .map_err(|_| CoreError::Store(StoreError::Corrupt("username index".into())))?;
    match get(ctx, id).await {
        Ok(person) => Ok(Some(person)),
        Err(CoreError::NotFound) => Ok(None),
        Err(other) => Err(other),
    }
}

impl Person {
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            kind: "person",
            id: self.id.to_string(),
            name: self.name.clone(),
        }
    }
}

/// An IANA time zone name that glucolink knows (`Europe/London`, `America/New_York`, `UTC`).
pub fn parse_time_zone(raw: &str) -> Result<String, CoreError> {
    let name = raw.trim();
    if name.len() <= 64 && jiff::tz::TimeZone::get(name).is_ok() {
        Ok(name.to_owned())
    } else {
        Err(CoreError::invalid(
            "time_zone",
            "invalid_time_zone",
            format!("{name:?} is not a time zone name like Europe/London."),
        ))
    }
}

/// The zone local times of this person's uploads are read in: their profile's, else UTC.
pub fn upload_zone(person: &Person) -> jiff::tz::TimeZone {
    person
        .time_zone
        .as_deref()
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

/// A change of the person's profile settings; absent fields stay as they are.
#[derive(Debug, Default)]
pub struct ProfileChange<'a> {
    /// The IANA zone local times in their uploads are read in.
    pub time_zone: Option<&'a str>,
    /// `mg/dL` or `mmol/L`: the units of their reports.
    pub glucose_units: Option<&'a str>,
}

/// Changes the person's profile settings and returns the person as they now are.
pub async fn update_profile(
    ctx: &Ctx,
    person: &Person,
    change: ProfileChange<'_>,
) -> Result<Person, CoreError> {
    let zone = change.time_zone.map(parse_time_zone).transpose()?;
    let units = change.glucose_units.map(Units::parse).transpose()?;
    if zone.is_none() && units.is_none() {
        return Err(CoreError::invalid(
            "time_zone",
            "missing_field",
            "Send time_zone, glucose_units or both.",
        ));
    }
    let mut item = ctx
        .store
        .get(&keys::person(person.id))
        .await?
        .ok_or(CoreError::NotFound)?;
    if let Some(zone) = zone {
        item = item.with_s("time_zone", &zone);
    }
    if let Some(units) = units {
        item = item.with_s("glucose_units", units.name());
    }
    ctx.store.put(item, Condition::Exists).await?;
    let updated = get(ctx, person.id).await?;
    if updated.time_zone != person.time_zone {
        // The summary's days are local days: in another zone they are other days.
        crate::data::summary::rebuild(ctx, &updated).await?;
    }
    Ok(updated)
}
