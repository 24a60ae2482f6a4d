//! Reading what was sent: the local outbox over HTTP, and SES/SNS in moto through its data endpoint.

use glucolink_notify::CloudNotifier;
use serde_json::Value;

use super::app::{Browser, status_and_json};
use super::stores::dynamodb_url;

pub const SENDER: &str = "no-reply@glucolink.example";

fn sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(dynamodb_url())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sesv2::config::SharedCredentialsProvider::new(
            aws_sdk_sesv2::config::Credentials::new("test", "test", None, None, "tests"),
        ))
        .build()
}

/// A notifier for SES v2 and SNS in moto, with the sender identity verified as SES requires.
pub async fn cloud_notifier() -> CloudNotifier {
    let config = sdk_config();
    let ses = aws_sdk_sesv2::Client::new(&config);
    // Creating an existing identity again is refused; either way it exists afterwards.
    let _ = ses
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await;
    CloudNotifier::new(
        ses,
        aws_sdk_sns::Client::new(&config),
        SENDER.to_owned(),
        // Both SMS origin settings, so that publishing with them is exercised against SNS.
        glucolink_notify::SmsOrigin {
            sender_id: Some("Glucolink".into()),
            origination_number: Some("+15555550100".into()),
        },
    )
}

/// What moto recorded: `ses.Message` and `sns.SMS` lists.
pub async fn moto_sent() -> Value {
    reqwest::get(format!("{}/moto-api/data.json", dynamodb_url()))
        .await
        .expect("moto data")
        .json()
        .await
        .expect("json")
}

/// Emails SES accepted for one recipient (subjects and HTML bodies).
pub async fn ses_messages_to(recipient: &str) -> Vec<Value> {
    moto_sent().await["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|to| to.iter().any(|t| t == recipient))
        })
        .collect()
}

/// SMS texts SNS accepted for one number.
pub async fn sms_to(number: &str) -> Vec<String> {
    moto_sent().await["sns"]["SMS"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["phone_number"] == number)
        .filter_map(|m| m["message"].as_str().map(str::to_owned))
        .collect()
}

/// The local outbox's messages to one recipient, newest first.
pub async fn outbox_to(browser: &Browser, recipient: &str) -> Vec<Value> {
    let (status, body) = status_and_json(browser.get("/api/dev/outbox").await).await;
    assert_eq!(status, 200, "{body}");
    body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["to"] == recipient)
        .collect()
}

/// The local outbox's messages to one recipient but the recovery-contact confirmations sign-up sends,
/// newest first.
pub async fn outbox_but_confirmations(browser: &Browser, recipient: &str) -> Vec<Value> {
    outbox_to(browser, recipient)
        .await
        .into_iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| !t.contains("/personal/verify-contact?token="))
        })
        .collect()
}

/// The first `http…` link in a text.
pub fn first_link(text: &str) -> String {
    text.split_whitespace()
        .find(|word| word.starts_with("http"))
        .map(|word| word.trim_end_matches(['.', ')', ',']).to_owned())
        .expect("a link in the message")
}

/// The token of the newest clinic verification link sent to `email`: from the local outbox, or from
/// what the cloud rehearsal's SES was asked to send.
pub async fn verification_token(browser: &Browser, email: &str) -> String {
    link_token(browser, email, "/verify?token=").await
}

/// Confirms the recovery email `email` of the signed-in person with the link they were sent.
pub async fn verify_contact(browser: &Browser, email: &str) {
    let token = link_token(browser, email, "/personal/verify-contact?token=").await;
    let response = browser
        .post(
            "/api/personal/verify-contact",
            &serde_json::json!({"token": token}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204, "confirm {email}");
}

/// The token of the newest link with `marker` (`/verify?token=`) sent to `email`.
pub async fn link_token(browser: &Browser, email: &str, marker: &str) -> String {
    let local = browser.get("/api/dev/outbox").await;
    let texts: Vec<String> = if local.status().as_u16() == 200 {
        let (_, body) = status_and_json(local).await;
        let outbox: Vec<String> = body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m["to"] == email)
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect();
        if outbox.is_empty() {
            // The app sends through SES in moto (the cloud configuration).
            let mut sent: Vec<String> = ses_messages_to(email)
                .await
                .into_iter()
                .filter_map(|m| m["body"].as_str().map(str::to_owned))
                .collect();
            sent.reverse();
            sent
        } else {
            outbox
        }
    } else {
        let (_, sent) = status_and_json(browser.get("/_rehearsal/messages").await).await;
        let mut bodies: Vec<String> = sent
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| {
                m["to"] == email
                    || m["to"]
                        .as_array()
                        .is_some_and(|to| to.iter().any(|t| t == email))
            })
            .filter_map(|m| m["body"].as_str().map(str::to_owned))
            .collect();
        // The rehearsal lists oldest first; the local outbox newest first.
        bodies.reverse();
        bodies
    };
    texts
        .iter()
        .find_map(|text| {
            let start = text.find(marker)? + marker.len();
            text.get(start..start + 43).map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no {marker} link sent to {email}"))
}

/// Verifies the clinic whose admin is `email` with the link they were sent.
pub async fn verify_clinic(browser: &Browser, email: &str) {
    let token = verification_token(browser, email).await;
    let response = browser
        .post(
            "/api/clinic/verify-email",
            &serde_json::json!({"token": token}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204, "verify {email}");
}
