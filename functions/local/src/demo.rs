//! Demo data, created on the first start of a new data directory: a clinic with a staff login and a
//! personal account, so a new user can sign in at once. Synthetic people only.

use glucolink_core::account::clinic::{self, ClinicSignUp};
use glucolink_core::account::personal::{self, PersonalSignUp};
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

/// Creates the demo data unless this store already has it. Returns whether it created anything.
pub async fn ensure(ctx: &Ctx) -> Result<bool, CoreError> {
    if ctx.store.get(&marker()).await?.is_some() {
        return Ok(false);
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
            phone: None,
        },
    )
    .await;
    tolerate_existing(created_person.map(|_| ()))?;
    match ctx
        .store
        .put(
            Item::new(marker()).with_n("version", 1),
            Condition::NotExists,
        )
        .await
    {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(true),
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
