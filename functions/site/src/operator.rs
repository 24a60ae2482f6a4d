//! The operator's settings shown in every page's footer: who runs the service, how to reach
//! support, and the privacy and terms pages. Configured with `glucolink serve --operator-…` flags
//! locally and with the stack's parameters in the cloud; filled in when a page is served or
//! published (`{{operator.name}}`, `{{operator.contact}}`, `{{operator.privacy_url}}`,
//! `{{operator.terms_url}}`).

use crate::escape_html;

/// Footer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    name: String,
    support_email: Option<String>,
    privacy_url: String,
    terms_url: String,
}

impl Default for Operator {
    fn default() -> Self {
        Self {
            name: "glucolink".to_owned(),
            support_email: None,
            privacy_url: "/privacy".to_owned(),
            terms_url: "/terms".to_owned(),
        }
    }
}

/// A link the footer may show: a path on this site or an `https://` address.
fn checked_url(what: &str, url: &str) -> Result<String, String> {
    let url = url.trim();
    let on_site = url.starts_with('/') && !url.starts_with("//");
    let https = url
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
    if on_site || https {
        Ok(url.to_owned())
    } else {
        Err(format!(
            "the {what} link must be a path on this site (/privacy) or an https:// address, not {url:?}"
        ))
    }
}

impl Operator {
    /// Settings from the operator's values; empty values keep the defaults (the service's own
    /// privacy and terms pages, no support address).
    pub fn new(
        name: &str,
        support_email: &str,
        privacy_url: &str,
        terms_url: &str,
    ) -> Result<Self, String> {
        let defaults = Self::default();
        let support_email = support_email.trim();
        if !support_email.is_empty() {
            let (local, domain) = support_email.split_once('@').ok_or_else(|| {
                format!("the support address {support_email:?} is not an email address")
            })?;
            if local.is_empty()
                || !domain.contains('.')
                || support_email.contains(char::is_whitespace)
            {
                return Err(format!(
                    "the support address {support_email:?} is not an email address"
                ));
            }
        }
        Ok(Self {
            name: match name.trim() {
                "" => defaults.name,
                name => name.to_owned(),
            },
            support_email: (!support_email.is_empty()).then(|| support_email.to_owned()),
            privacy_url: match privacy_url.trim() {
                "" => defaults.privacy_url,
                url => checked_url("privacy", url)?,
            },
            terms_url: match terms_url.trim() {
                "" => defaults.terms_url,
                url => checked_url("terms", url)?,
            },
        })
    }

    /// Fills the operator placeholders of a rendered page.
    pub fn fill(&self, html: &str) -> String {
        let contact = match &self.support_email {
            Some(email) => {
                let email = escape_html(email);
                format!("Help with glucolink: <a href=\"mailto:{email}\">{email}</a>")
            }
            None => "Questions about your care? Ask your clinic.".to_owned(),
        };
        html.replace("{{operator.name}}", &escape_html(&self.name))
            .replace("{{operator.contact}}", &contact)
            .replace("{{operator.privacy_url}}", &escape_html(&self.privacy_url))
            .replace("{{operator.terms_url}}", &escape_html(&self.terms_url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_escaped() {
        let operator = Operator::new(
            "Clinics <&> Co",
            "help@clinic.example",
            "https://clinic.example/privacy",
            "",
        )
        .expect("valid");
        let html = operator.fill(
            "{{operator.name}}|{{operator.contact}}|{{operator.privacy_url}}|{{operator.terms_url}}",
        );
        assert_eq!(
            html,
            "Clinics &lt;&amp;&gt; Co|Help with glucolink: <a href=\"mailto:help@clinic.example\">help@clinic.example</a>|https://clinic.example/privacy|/terms"
        );
        assert!(Operator::new("", "not-an-address", "", "").is_err());
        assert!(Operator::new("", "", "javascript:alert(1)", "").is_err());
        assert!(Operator::new("", "", "http://plain.example", "").is_err());
        assert!(Operator::new("", "", "", "//elsewhere.example").is_err());
        let default = Operator::default().fill("{{operator.contact}}");
        assert!(default.contains("Ask your clinic"));
    }
}
