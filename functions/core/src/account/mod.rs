//! Accounts: clinic staff (who sign in with an email) and personal accounts (who sign in with a username).

pub mod clinic;
pub mod contact;
pub mod deletion;
pub mod fields;
pub mod login;
pub mod passkey;
pub mod password;
pub mod personal;
pub mod reset;
pub mod signin;
pub mod staff;
pub mod two_factor;
pub mod verify;

pub use fields::{DateOfBirth, Email, PersonName, Phone, Username};
pub use password::{Password, PasswordHash};
