//! Typed identifiers (ULIDs): a `ClinicId` can never be passed where a `PersonId` is expected.

use std::fmt;
use std::str::FromStr;

use ulid::Ulid;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            /// A new, time-ordered identifier.
            pub fn generate() -> Self {
                Self(Ulid::new())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = crate::error::CoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ulid::from_string(s).map(Self).map_err(|_| crate::error::CoreError::NotFound)
            }
        }
    };
}

ulid_id!(
    /// A clinic (the organisation).
    ClinicId
);
ulid_id!(
    /// A member of a clinic's staff.
    ClinicUserId
);
ulid_id!(
    /// A personal (patient) account.
    PersonId
);
ulid_id!(
    /// A patient record in a clinic.
    PatientId
);
