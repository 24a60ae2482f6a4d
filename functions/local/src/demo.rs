//! Demo data, created on the first start of a new data directory: a clinic with a staff login, a
//! personal account, and patient records in the seed's states (linked, pending code, not linked), so a
//! new user sees every path at once. Synthetic people only.

use glucolink_core::account::clinic::{self, ClinicSignUp, Staff};
use glucolink_core::account::fields::Email;
use glucolink_core::account::personal::{self, PersonalSignUp};
use glucolink_core::link;
use glucolink_core::patient::{self, NewPatient};
use glucolink_core::store::{Condition, Item, Key, StoreError};
use glucolink_core::{CoreError, Ctx};

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
        },
    )
    .await;
    tolerate_existing(created_clinic.map(|_| ()))?;
    let created_person = personal::sign_up(
        ctx,
        PersonalSignUp {
            username: PERSON_USERNAME,
            password: PERSON_PASSWORD,
            name: "Alex Demo",
            date_of_birth: Some("1988-04-12"),
            email: Some("alex.demo@example.org"),
            phone: Some("+447700900001"),
        },
    )
    .await;
    tolerate_existing(created_person.map(|_| ()))?;

    let email = Email::parse(CLINIC_EMAIL)?;
    let admin = clinic::find_user_by_email(ctx, &email)
        .await?
        .ok_or(CoreError::NotFound)?;
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
    link::link_with_credentials(
        ctx,
        &staff,
        linked.id,
        PERSON_USERNAME,
        PERSON_PASSWORD,
        true,
        "demo",
    )
    .await?;
    let pending = new_record("Sam Pending", "1975-09-30", "RDC-1002").await?;
    let code = link::generate_code(ctx, &staff, pending.id).await?;
    new_record("Robin Notlinked", "2001-02-14", "RDC-1003").await?;

    match ctx
        .store
        .put(
            Item::new(marker()).with_n("version", 2),
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

/// An earlier, interrupted start may have created part of the demo already.
fn tolerate_existing(result: Result<(), CoreError>) -> Result<(), CoreError> {
    match result {
        Err(CoreError::Conflict { .. }) => Ok(()),
        other => other,
    }
}
