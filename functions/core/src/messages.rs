//! The words of every message glucolink sends, in text, HTML and SMS form. Plain and specific: who asks,
//! what to do, until when, and what to do if it was not expected.

use jiff::Timestamp;

use crate::account::fields::Email as EmailAddress;
use crate::notify::{Message, Recipient};
use crate::sms;

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A date people read without ambiguity, in UTC: `3 December 2026, 12:00 UTC`.
pub fn readable(at: Timestamp) -> String {
    at.strftime("%-d %B %Y, %H:%M UTC").to_string()
}

/// A calendar day for an SMS, where every character counts: `9 Dec`.
fn short_day(at: Timestamp) -> String {
    at.strftime("%-d %b").to_string()
}

/// One email: a heading, paragraphs, an optional button (with its link written out below for mail
/// programs that hide buttons), closing paragraphs, and who it is sent for. Rendered as HTML (inline
/// styles and a table layout, as mail programs need) and as plain text with the same words.
pub struct Email<'a> {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub button: Option<(&'a str, &'a str)>,
    pub after: Vec<String>,
    pub sent_for: &'a str,
}

impl Email<'_> {
    fn footer(&self) -> String {
        format!(
            "Sent by glucolink for {}. glucolink shows your diabetes device data only to the clinics you accept.",
            self.sent_for
        )
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        let mut text = format!("{}\n\n", self.heading);
        for paragraph in &self.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        if let Some((url, label)) = self.button {
            text.push_str(&format!("{label}: {url}\n\n"));
        }
        for paragraph in &self.after {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        text.push_str("--\n");
        text.push_str(&self.footer());
        text.push('\n');
        text
    }

    /// The HTML part.
    pub fn html(&self) -> String {
        let p = |text: &str| {
            format!(
                "<p style=\"margin:0 0 16px;font-size:16px;line-height:1.5;color:#1b2430\">{}</p>",
                escape_html(text)
            )
        };
        let mut body = format!(
            "<h1 style=\"margin:0 0 16px;font-size:22px;line-height:1.3;color:#1b2430\">{}</h1>",
            escape_html(&self.heading)
        );
        for paragraph in &self.paragraphs {
            body.push_str(&p(paragraph));
        }
        if let Some((url, label)) = self.button {
            let url = escape_html(url);
            body.push_str(&format!(
                "<table role=\"presentation\" cellspacing=\"0\" cellpadding=\"0\" style=\"margin:8px 0 16px\"><tr><td style=\"border-radius:6px;background:#0b5cad\"><a href=\"{url}\" style=\"display:inline-block;padding:12px 22px;font-size:16px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px\">{}</a></td></tr></table>\
                 <p style=\"margin:0 0 16px;font-size:13px;line-height:1.5;color:#4a5565\">If the button does not work, copy this link into your browser:<br><a href=\"{url}\" style=\"color:#0b5cad;word-break:break-all\">{url}</a></p>",
                escape_html(label)
            ));
        }
        for paragraph in &self.after {
            body.push_str(&p(paragraph));
        }
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
             <body style=\"margin:0;padding:0;background:#f3f6f9;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif\">\
             <table role=\"presentation\" width=\"100%\" cellspacing=\"0\" cellpadding=\"0\" style=\"background:#f3f6f9\"><tr><td align=\"center\" style=\"padding:24px 12px\">\
             <table role=\"presentation\" width=\"100%\" cellspacing=\"0\" cellpadding=\"0\" style=\"max-width:560px\">\
             <tr><td style=\"padding:0 0 12px;font-size:18px;font-weight:700;color:#0b5cad\">glucolink</td></tr>\
             <tr><td style=\"background:#ffffff;border:1px solid #c9d1db;border-radius:8px;padding:24px\">{body}</td></tr>\
             <tr><td style=\"padding:12px 4px;font-size:12px;line-height:1.5;color:#4a5565\">{footer}</td></tr>\
             </table></td></tr></table></body></html>",
            title = escape_html(&self.heading),
            footer = escape_html(&self.footer()),
        )
    }

    /// The email as a message to `to`.
    pub fn to(&self, to: EmailAddress, subject: String) -> Message {
        Message::Email {
            to,
            subject,
            html: self.html(),
            text: self.text(),
        }
    }
}

/// The message that shares a unique code with a patient (Email or SMS Text of the seed).
pub fn link_code(
    to: Recipient,
    clinic_name: &str,
    code: &str,
    accept_url: &str,
    expires_at: Timestamp,
) -> Message {
    match to {
        Recipient::Email(to) => Email {
            heading: format!("{clinic_name} asks to see your diabetes data"),
            paragraphs: vec![
                format!(
                    "{clinic_name} asks to see the pump, meter and CGM data you keep in your glucolink personal account."
                ),
                "Open the request, sign in (or create an account, if asked), check that it is from your clinic and choose Accept.".to_owned(),
            ],
            button: Some((accept_url, "Review the request")),
            after: vec![
                format!(
                    "Or sign in and enter this code on the Data Sharing page: {code}. It works until {}.",
                    readable(expires_at)
                ),
                "If you were not expecting this message, you can ignore it: nothing is shared unless you accept.".to_owned(),
            ],
            sent_for: clinic_name,
        }
        .to(to, format!("{clinic_name} asks to see your diabetes data")),
        Recipient::Sms(to) => Message::Sms {
            to,
            text: sms::compose(clinic_name, |clinic| {
                format!(
                    "{clinic} asks to see your glucolink data. Accept by {}: {accept_url}",
                    short_day(expires_at)
                )
            }),
        },
    }
}

/// Tells whoever received a code that it no longer works (the clinic replaced or cancelled it), so that
/// nobody keeps trying a code on paper or in an old message.
pub fn code_withdrawn(to: Recipient, clinic_name: &str, replaced: bool) -> Message {
    let what = if replaced {
        format!("{clinic_name} replaced the unique code it sent you with a new one.")
    } else {
        format!("{clinic_name} cancelled the unique code it sent you.")
    };
    let next = if replaced {
        "Use the code in the newest message from your clinic, or ask them for it."
    } else {
        "You do not need to do anything. If you expected to share your data, ask your clinic for a new code."
    };
    match to {
        Recipient::Email(to) => Email {
            heading: format!("Your code from {clinic_name} no longer works"),
            paragraphs: vec![format!("{what} The earlier code no longer works.")],
            button: None,
            after: vec![next.to_owned()],
            sent_for: clinic_name,
        }
        .to(to, format!("Your code from {clinic_name} no longer works")),
        Recipient::Sms(to) => Message::Sms {
            to,
            text: sms::compose(clinic_name, |clinic| {
                if replaced {
                    format!(
                        "{clinic} replaced the glucolink code it sent you: the old one no longer works. Use the code in its newest message."
                    )
                } else {
                    format!(
                        "{clinic} cancelled the glucolink code it sent you: it no longer works. Nothing else to do."
                    )
                }
            }),
        },
    }
}

/// The "Upload now" request of the seed's troubleshooting steps.
pub fn upload_now(to: Recipient, clinic_name: &str, home_url: &str) -> Message {
    match to {
        Recipient::Email(to) => Email {
            heading: format!("{clinic_name} asks for your latest device data"),
            paragraphs: vec![
                format!("{clinic_name} would like to see your latest pump, meter and CGM data."),
                "Open glucolink and choose Upload now on your home page to send your newest device export.".to_owned(),
            ],
            button: Some((home_url, "Upload now")),
            after: vec!["If you were not expecting this message, contact your clinic.".to_owned()],
            sent_for: clinic_name,
        }
        .to(to, format!("{clinic_name} asks you to upload your device data")),
        Recipient::Sms(to) => Message::Sms {
            to,
            text: sms::compose(clinic_name, |clinic| {
                format!("{clinic} asks for your latest device data: open {home_url} and choose Upload now.")
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::fields::{Email, Phone};

    #[test]
    fn html_is_escaped_and_text_carries_the_link_and_code() {
        let email = Email::parse("pat@example.net").expect("email");
        let at = Timestamp::from_second(1_796_300_000).expect("ts");
        let Message::Email {
            subject,
            text,
            html,
            ..
        } = link_code(
            Recipient::Email(email),
            "<Evil & Co>",
            "K7Q2M-9XH4T",
            "https://x.example/personal/sharing?code=K7Q2M-9XH4T",
            at,
        )
        else {
            panic!("email expected");
        };
        assert!(subject.contains("<Evil & Co>"));
        assert!(html.contains("&lt;Evil &amp; Co&gt;") && !html.contains("<Evil"));
        assert!(
            text.contains("K7Q2M-9XH4T")
                && text.contains("https://x.example/personal/sharing?code=K7Q2M-9XH4T")
        );
        assert!(text.contains("It works until"));
    }

    #[test]
    fn every_sms_fits_one_segment_with_its_link_whole() {
        let site = "https://d111111abcdef8.cloudfront.net";
        let accept = format!("{site}/personal/sharing?code=K7Q2M-9XH4T");
        let home = format!("{site}/personal/");
        let at = Timestamp::from_second(1_796_300_000).expect("ts");
        for clinic in [
            "Northgate",
            "Clínica Diabetológica Łódź",
            "The Royal Infirmary Paediatric and Adolescent Diabetes and Endocrinology Service",
        ] {
            let sms = |to| Recipient::Sms(Phone::parse(to).expect("phone"));
            for (message, link) in [
                (
                    link_code(sms("+447700900123"), clinic, "K7Q2M-9XH4T", &accept, at),
                    Some(&accept),
                ),
                (upload_now(sms("+447700900123"), clinic, &home), Some(&home)),
                (code_withdrawn(sms("+447700900123"), clinic, true), None),
                (code_withdrawn(sms("+447700900123"), clinic, false), None),
            ] {
                let Message::Sms { text, .. } = message else {
                    panic!("sms expected");
                };
                let length = crate::sms::gsm7_length(&text);
                assert!(
                    length.is_some_and(|l| l <= crate::sms::SEGMENT),
                    "{length:?}: {text}"
                );
                assert!(!text.contains('\n'));
                if let Some(link) = link {
                    assert!(text.contains(link.as_str()), "{text}");
                }
            }
        }
    }

    #[test]
    fn emails_have_a_button_the_link_written_out_and_the_same_words_in_text() {
        let email = Email::parse("pat@example.net").expect("email");
        let Message::Email { html, text, .. } = upload_now(
            Recipient::Email(email),
            "Northgate Clinic",
            "https://x.example/personal/",
        ) else {
            panic!("email expected");
        };
        assert!(html.contains(">Upload now</a>") && html.contains("background:#0b5cad"));
        assert!(
            html.matches("href=\"https://x.example/personal/\"").count() == 2,
            "button and link"
        );
        assert!(text.contains("Upload now: https://x.example/personal/"));
        assert!(
            text.contains("Sent by glucolink for Northgate Clinic")
                && html.contains("Sent by glucolink for Northgate Clinic")
        );
    }
}
