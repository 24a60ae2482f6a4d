//! Demo data, created on the first start of a new data directory: a clinic with a staff login, a
//! personal account, and patient records in each of the seed's states — linked with 90 days of recent
//! data, linked with old data, a pending unique code, not linked, a code that expired unanswered,
//! and one whose patient stopped sharing — so a new user sees every path at once. Synthetic people and data only (`glucolink-synth`).

use glucolink_core::account::clinic::{self, ClinicSignUp, Staff};
use glucolink_core::account::fields::{Email, Username};
use glucolink_core::account::personal::{self, PersonalSignUp};
use glucolink_core::data::import::{Format, Parsed, Read};
use glucolink_core::data::upload;
use glucolink_core::link;
use glucolink_core::patient::{self, NewPatient};
use glucolink_core::store::{Condition, Item, Key, StoreError};
use glucolink_core::{CoreError, Ctx};
use glucolink_synth::{Patient, Profile};

/// A login printed at start-up.
pub struct DemoLogin {
    pub who: &'static str,
    pub login: &'static str,
    pub password: &'static str,
}

pub const CLINIC_EMAIL: &str = "demo.clinic@example.org";
pub const CLINIC_PASSWORD: &str = "lantern orchard violet 42";
pub const PERSON_USERNAME: &str = "demo.patient";
pub const PERSON_PASSWORD: &str = "kettle meadow sparrow 17";

pub fn logins() -> [DemoLogin; 2] {
    [
        DemoLogin {
            who: "Clinic staff (admin of Riverside Diabetes Clinic)",
            login: CLINIC_EMAIL,
            password: CLINIC_PASSWORD,
        },
        DemoLogin {
            who: "Personal account (Alex Demo)",
            login: PERSON_USERNAME,
            password: PERSON_PASSWORD,
        },
    ]
}

fn marker() -> Key {
    Key::new("DEMO", "META")
}

/// What a first start created, to print.
pub struct Created {
    /// The pending code of the demo's "pending" record (shown once, like in the product).
    pub pending_code: Option<String>,
}

/// Creates the demo data unless this store already has it.
pub async fn ensure(ctx: &Ctx) -> Result<Option<Created>, CoreError> {
    if ctx.store.get(&marker()).await?.is_some() {
        return Ok(None);
    }
    let created_clinic = clinic::sign_up(
        ctx,
        ClinicSignUp {
            clinic_name: "Riverside Diabetes Clinic",
            name: "Dana Demo",
            email: CLINIC_EMAIL,
            password: CLINIC_PASSWORD,
            source: "",
        },
    )
    .await;
    tolerate_existing(created_clinic.map(|_| ()))?;

    let email = Email::parse(CLINIC_EMAIL)?;
    let admin = clinic::find_user_by_email(ctx, &email)
        .await?
        .ok_or(CoreError::NotFound)?;
    // The demo clinic is the operator's own: verified, so it works from the first sign-in.
    if !clinic::get_clinic(ctx, admin.clinic_id)
        .await?
        .verification
        .is_verified()
    {
        glucolink_core::account::verify::mark_verified_by_operator(ctx, admin.clinic_id).await?;
    }
    let staff = Staff::load(ctx, admin.clinic_id, admin.id).await?;
    // A clinic in the United Kingdom: its staff may type phone numbers as dialled there.
    glucolink_core::account::staff::update_settings(
        ctx,
        &staff,
        glucolink_core::account::staff::SettingsChange {
            freshness_days: None,
            glucose_units: None,
            country: Some("GB"),
            require_two_factor: None,
        },
    )
    .await?;
    let staff = Staff::load(ctx, admin.clinic_id, admin.id).await?;
    let actor = staff.actor();
    let new_record = |name: &'static str, date_of_birth: &'static str, mrn: &'static str| {
        patient::create(
            ctx,
            (staff.clinic.id, &staff.clinic.name),
            &actor,
            NewPatient {
                name,
                date_of_birth,
                mrn: Some(mrn),
            },
        )
    };
    let linked = new_record("Alex Demo", "1988-04-12", "RDC-1001").await?;
    let alex = linked_account(
        ctx,
        &staff,
        linked.id,
        DemoPerson {
            username: PERSON_USERNAME,
            password: PERSON_PASSWORD,
            name: "Alex Demo",
            date_of_birth: "1988-04-12",
            email: "alex.demo@example.org",
            phone: Some("+447700900001"),
        },
    )
    .await?;
    // 90 days of a MiniMed 780G up to today: linked with recent data.
    upload_synthetic(ctx, &alex, Profile::MedtronicPump, 1, 90, 0).await?;

    // Linked, but the newest data is three weeks old: the seed's "no data / old data" path.
    let old_record = new_record("Morgan Olddata", "1969-06-01", "RDC-1004").await?;
    let morgan = linked_account(
        ctx,
        &staff,
        old_record.id,
        DemoPerson {
            username: "demo.olddata",
            password: "pebble harbour willow 63",
            name: "Morgan Olddata",
            date_of_birth: "1969-06-01",
            email: "morgan.olddata@example.org",
            phone: None,
        },
    )
    .await?;
    upload_synthetic(ctx, &morgan, Profile::DexcomPens, 2, 30, 21).await?;
    let pending = new_record("Sam Pending", "1975-09-30", "RDC-1002").await?;
    let code = link::generate_code(ctx, &staff, pending.id, false).await?;
    new_record("Robin Notlinked", "2001-02-14", "RDC-1003").await?;

    // A code sent ten days ago that ran out unanswered: made on a clock set back, read now.
    let lapsed = new_record("Casey Lapsed", "1958-03-14", "RDC-1006").await?;
    let ten_days_ago = ctx
        .clock
        .now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * 10))
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    let back_then = Ctx {
        clock: std::sync::Arc::new(glucolink_core::clock::FixedClock::new(ten_days_ago)),
        ..ctx.clone()
    };
    link::generate_code(&back_then, &staff, lapsed.id, false).await?;

    // Linked once, then the patient stopped sharing: the record says who and when, not "Not linked".
    let stopped_record = new_record("Priya Stopped", "1992-11-23", "RDC-1005").await?;
    let priya = linked_account(
        ctx,
        &staff,
        stopped_record.id,
        DemoPerson {
            username: "demo.stopped",
            password: "copper willow meadow 58",
            name: "Priya Stopped",
            date_of_birth: "1992-11-23",
            email: "priya.stopped@example.org",
            phone: None,
        },
    )
    .await?;
    link::revoke(ctx, &priya, staff.clinic.id).await?;

    match ctx
        .store
        .put(
            Item::new(marker()).with_n("version", 3),
            Condition::NotExists,
        )
        .await
    {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(Some(Created {
            pending_code: Some(code.code.to_string()),
        })),
        Err(other) => Err(other.into()),
    }
}

/// A demo personal account, as signed up.
struct DemoPerson<'a> {
    username: &'a str,
    password: &'a str,
    name: &'a str,
    date_of_birth: &'a str,
    email: &'a str,
    phone: Option<&'a str>,
}

/// Signs the person up (unless an interrupted start already did) and links them to `record` with their
/// credentials on the clinic's screen, as the quick guide's path (a) does.
async fn linked_account(
    ctx: &Ctx,
    staff: &Staff,
    record: glucolink_core::ids::PatientId,
    who: DemoPerson<'_>,
) -> Result<personal::Person, CoreError> {
    let created = personal::sign_up(
        ctx,
        PersonalSignUp {
            username: who.username,
            password: who.password,
            name: who.name,
            date_of_birth: Some(who.date_of_birth),
            email: Some(who.email),
            phone: who.phone,
            time_zone: Some("Europe/London"),
            country: Some("GB"),
            source: "",
        },
    )
    .await;
    if let Ok(person) = &created {
        // Demo addresses are placeholders: the operator vouches for them (no link could arrive).
        glucolink_core::account::contact::confirm_seeded(ctx, person.id).await?;
    }
    tolerate_existing(created.map(|_| ()))?;
    link::link_with_credentials(
        ctx,
        staff,
        record,
        link::CredentialsLink {
            username: who.username,
            password: who.password,
            consent: true,
            ..Default::default()
        },
        "demo",
    )
    .await?;
    personal::find_by_username(ctx, &Username::parse(who.username)?)
        .await?
        .ok_or(CoreError::NotFound)
}

/// Uploads `days` of synthetic data for a person, ending `days_ago` days before today.
async fn upload_synthetic(
    ctx: &Ctx,
    person: &personal::Person,
    profile: Profile,
    seed: u64,
    days: u32,
    days_ago: i64,
) -> Result<(), CoreError> {
    let zone = "Europe/London";
    let tz = jiff::tz::TimeZone::get(zone).map_err(|e| CoreError::Internal(e.to_string()))?;
    let today = tz.to_datetime(ctx.clock.now()).date();
    let start = today
        .checked_sub(jiff::Span::new().days(i64::from(days) - 1 + days_ago))
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    let now = ctx.clock.now();
    let events: Vec<_> = glucolink_synth::generate(&Patient {
        seed,
        profile,
        time_zone: zone,
        start,
        days,
    })
    .into_iter()
    .filter(|e| e.at <= now)
    .collect();
    let rows = vec![0; events.len()];
    let parsed = Parsed::new(
        Format::Json,
        Read {
            events,
            rows,
            ..Read::default()
        },
        &tz,
    );
    upload::ingest(ctx, person, parsed, "demo").await?;
    Ok(())
}

/// An earlier, interrupted start may have created part of the demo already.
fn tolerate_existing(result: Result<(), CoreError>) -> Result<(), CoreError> {
    match result {
        Err(CoreError::Conflict { .. }) => Ok(()),
        other => other,
    }
}
