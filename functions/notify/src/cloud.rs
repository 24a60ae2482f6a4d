//! Email through Amazon SES v2 and SMS through Amazon SNS. Clients are built from the standard AWS
//! configuration (so tests point them at moto with `AWS_ENDPOINT_URL`); building them makes no network call.

use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};
use aws_sdk_sns::types::MessageAttributeValue;
use glucolink_core::CoreError;
use glucolink_core::notify::{Message, Notifier};

pub struct CloudNotifier {
    ses: aws_sdk_sesv2::Client,
    sns: aws_sdk_sns::Client,
    /// The verified SES sender, e.g. `glucolink <no-reply@clinic.example>`.
    sender_email: String,
    /// Who SMS come from.
    sms: SmsOrigin,
}

/// Who SMS come from: an alphanumeric sender ID where the destination country allows one, and/or a
/// registered origination number (toll-free, 10DLC or long code) where the country requires one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmsOrigin {
    pub sender_id: Option<String>,
    pub origination_number: Option<String>,
}

impl SmsOrigin {
    /// From `SMS_SENDER_ID` and `SMS_ORIGINATION_NUMBER` (empty means unset).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            sender_id: var("SMS_SENDER_ID"),
            origination_number: var("SMS_ORIGINATION_NUMBER"),
        }
    }
}

impl CloudNotifier {
    pub fn new(
        ses: aws_sdk_sesv2::Client,
        sns: aws_sdk_sns::Client,
        sender_email: String,
        sms: SmsOrigin,
    ) -> Self {
        Self {
            ses,
            sns,
            sender_email,
            sms,
        }
    }

    /// From a loaded AWS configuration and the `SENDER_EMAIL`, `SMS_SENDER_ID` and
    /// `SMS_ORIGINATION_NUMBER` environment variables.
    pub fn from_config(config: &aws_config::SdkConfig) -> Result<Self, CoreError> {
        let sender_email = std::env::var("SENDER_EMAIL")
            .ok()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CoreError::Internal("SENDER_EMAIL is not set".into()))?;
        Ok(Self::new(
            aws_sdk_sesv2::Client::new(config),
            aws_sdk_sns::Client::new(config),
            sender_email,
            SmsOrigin::from_env(),
        ))
    }
}

fn content(text: &str) -> Result<Content, CoreError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| CoreError::Internal(e.to_string()))
}

#[async_trait]
impl Notifier for CloudNotifier {
    async fn send(&self, message: Message) -> Result<(), CoreError> {
        let failed = |service: &str, detail: String| {
            tracing::error!(service, %detail, "message not sent");
            CoreError::Internal(format!("{service} did not accept the message"))
        };
        match message {
            Message::Email {
                to,
                subject,
                text,
                html,
            } => {
                let body = Body::builder()
                    .text(content(&text)?)
                    .html(content(&html)?)
                    .build();
                let simple = SesMessage::builder()
                    .subject(content(&subject)?)
                    .body(body)
                    .build();
                self.ses
                    .send_email()
                    .from_email_address(&self.sender_email)
                    .destination(Destination::builder().to_addresses(to.as_str()).build())
                    .content(EmailContent::builder().simple(simple).build())
                    .send()
                    .await
                    .map_err(|e| {
                        failed(
                            "SES",
                            aws_sdk_sesv2::error::DisplayErrorContext(e).to_string(),
                        )
                    })?;
            }
            Message::Sms { to, text } => {
                let attribute = |value: &str| {
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(value)
                        .build()
                        .map_err(|e| CoreError::Internal(e.to_string()))
                };
                let mut publish = self
                    .sns
                    .publish()
                    .phone_number(to.as_str())
                    .message(text)
                    .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?);
                if let Some(sender) = &self.sms.sender_id {
                    publish =
                        publish.message_attributes("AWS.SNS.SMS.SenderID", attribute(sender)?);
                }
                if let Some(number) = &self.sms.origination_number {
                    publish = publish
                        .message_attributes("AWS.MM.SMS.OriginationNumber", attribute(number)?);
                }
                publish.send().await.map_err(|e| {
                    failed(
                        "SNS",
                        aws_sdk_sns::error::DisplayErrorContext(e).to_string(),
                    )
                })?;
            }
        }
        Ok(())
    }
}
