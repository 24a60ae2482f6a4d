//! The words of every message glucolink sends, in text, HTML and SMS form. Plain and specific: who asks,
//! what to do, until when, and what to do if it was not expected.

use jiff::Timestamp;

use crate::notify::{Message, Recipient};

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

fn html_page(paragraphs: &[String], link: (&str, &str)) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><body style=\"font-family:sans-serif;line-height:1.5\">",
    );
    for paragraph in paragraphs {
        html.push_str("<p>");
        html.push_str(&escape_html(paragraph));
        html.push_str("</p>");
    }
    html.push_str(&format!(
        "<p><a href=\"{}\">{}</a></p></body></html>",
        escape_html(link.0),
        escape_html(link.1)
    ));
    html
}

/// The message that shares a unique code with a patient (Email or SMS Text of the seed).
pub fn link_code(
    to: Recipient,
    clinic_name: &str,
    code: &str,
    accept_url: &str,
    expires_at: Timestamp,
) -> Message {
    let until = readable(expires_at);
    match to {
        Recipient::Email(to) => {
            let paragraphs = vec![
                "Hello,".to_owned(),
                format!(
                    "{clinic_name} asks to see the diabetes device data you keep in your glucolink personal account."
                ),
                format!(
                    "To accept, open the Data Sharing page of your personal account with the link below (sign in, or create an account, if asked), check the request and choose Accept. Or sign in and enter this code on the Data Sharing page: {code}"
                ),
                format!(
                    "The code is valid until {until}. If you were not expecting this message, you can ignore it: nothing is shared unless you accept."
                ),
            ];
            let text = format!(
                "{}\n\nOpen your Data Sharing page: {accept_url}\n",
                paragraphs.join("\n\n")
            );
            Message::Email {
                to,
                subject: format!("{clinic_name} asks to see your diabetes data"),
                html: html_page(&paragraphs, (accept_url, "Open your Data Sharing page")),
                text,
            }
        }
        Recipient::Sms(to) => Message::Sms {
            to,
            text: format!(
                "{clinic_name} asks to see your glucolink data. Review and accept on your Data Sharing page: {accept_url} (code {code}, valid until {until})."
            ),
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
        Recipient::Email(to) => {
            let paragraphs = vec![
                "Hello,".to_owned(),
                format!("{what} The earlier code no longer works."),
                next.to_owned(),
            ];
            let text = format!("{}\n", paragraphs.join("\n\n"));
            let mut html = String::from(
                "<!doctype html><html lang=\"en\"><body style=\"font-family:sans-serif;line-height:1.5\">",
            );
            for paragraph in &paragraphs {
                html.push_str(&format!("<p>{}</p>", escape_html(paragraph)));
            }
            html.push_str("</body></html>");
            Message::Email {
                to,
                subject: format!("Your code from {clinic_name} no longer works"),
                html,
                text,
            }
        }
        Recipient::Sms(to) => Message::Sms {
            to,
            text: format!("{what} The earlier code no longer works. {next}"),
        },
    }
}

/// The "Upload now" request of the seed's troubleshooting steps.
pub fn upload_now(to: Recipient, clinic_name: &str, home_url: &str) -> Message {
    match to {
        Recipient::Email(to) => {
            let paragraphs = vec![
                "Hello,".to_owned(),
                format!("{clinic_name} would like to see your latest pump, meter and CGM data."),
                "Please open glucolink and choose Upload now on your home page (or in your app's Profile menu) to send your newest device data.".to_owned(),
                "If you were not expecting this message, contact your clinic.".to_owned(),
            ];
            let text = format!(
                "{}\n\nOpen glucolink: {home_url}\n",
                paragraphs.join("\n\n")
            );
            Message::Email {
                to,
                subject: format!("{clinic_name} asks you to upload your device data"),
                html: html_page(&paragraphs, (home_url, "Open glucolink")),
                text,
            }
        }
        Recipient::Sms(to) => Message::Sms {
            to,
            text: format!(
                "{clinic_name} asks you to upload your latest device data: open glucolink and tap Upload now: {home_url}"
            ),
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
        assert!(text.contains("valid until"));
    }

    #[test]
    fn sms_is_one_short_line() {
        let phone = Phone::parse("+447700900123").expect("phone");
        let Message::Sms { text, .. } = upload_now(
            Recipient::Sms(phone),
            "Northgate",
            "https://x.example/personal/",
        ) else {
            panic!("sms expected");
        };
        assert!(text.contains("Upload now") && !text.contains('\n'));
        assert!(text.len() < 200);
    }
}
