//! The Notifier port: email and SMS to patients and staff. In the cloud it is SES v2 and SNS; locally,
//! an outbox a person can read (`functions/notify`). Messages are composed here, in `messages`.

use async_trait::async_trait;

use crate::account::fields::{Country, Email, Phone};
use crate::error::CoreError;

/// One outgoing message, fully rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Email {
        to: Email,
        subject: String,
        text: String,
        html: String,
    },
    Sms {
        to: Phone,
        text: String,
    },
}

impl Message {
    /// `email` or `sms`.
    pub fn channel(&self) -> &'static str {
        match self {
            Message::Email { .. } => "email",
            Message::Sms { .. } => "sms",
        }
    }

    /// The address or number it goes to.
    pub fn recipient(&self) -> &str {
        match self {
            Message::Email { to, .. } => to.as_str(),
            Message::Sms { to, .. } => to.as_str(),
        }
    }
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Hands the message to the delivery service; `Unavailable`-style failures become `Internal`.
    async fn send(&self, message: Message) -> Result<(), CoreError>;
}

/// Where a clinic sends a message: a channel and an address typed (or taken from the account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Email(Email),
    Sms(Phone),
}

impl Recipient {
    /// Parses `channel` (`email` or `sms`) and `to`.
    pub fn parse(channel: &str, to: &str) -> Result<Self, CoreError> {
        Self::parse_in(channel, to, None)
    }

    /// Parses `channel` and `to`, where a phone number may be written as dialled in `country`.
    pub fn parse_in(channel: &str, to: &str, country: Option<Country>) -> Result<Self, CoreError> {
        Self::check_channel(channel)?;
        if channel == "email" {
            Ok(Recipient::Email(
                Email::parse(to).map_err(|e| rename_field(e, "to"))?,
            ))
        } else {
            Ok(Recipient::Sms(
                Phone::parse_in(to, country).map_err(|e| rename_field(e, "to"))?,
            ))
        }
    }

    /// Refuses any channel but `email` and `sms`.
    pub fn check_channel(channel: &str) -> Result<(), CoreError> {
        match channel {
            "email" | "sms" => Ok(()),
            _ => Err(CoreError::invalid(
                "channel",
                "invalid_channel",
                "The channel is email or sms.",
            )),
        }
    }
}

fn rename_field(error: CoreError, field: &'static str) -> CoreError {
    match error {
        CoreError::InvalidInput { code, message, .. } => CoreError::InvalidInput {
            field,
            code,
            message,
        },
        other => other,
    }
}
