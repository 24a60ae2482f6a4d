//! The printable unique-code page (the seed's Print option): the code, the accept link as a QR code,
//! plain steps, and the adjunct-use notice. Self-contained HTML with the site's stylesheet.

use glucolink_core::CoreError;
use glucolink_core::messages::{escape_html, readable};
use jiff::Timestamp;
use qrcode::QrCode;
use qrcode::render::svg;

pub use glucolink_core::report::build::ADJUNCT_NOTICE;

pub fn code_page(
    clinic_name: &str,
    patient_name: &str,
    code: &str,
    accept_url: &str,
    expires_at: Timestamp,
) -> Result<String, CoreError> {
    let qr = QrCode::new(accept_url.as_bytes())
        .map_err(|e| CoreError::Internal(format!("QR code: {e}")))?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let qr = qr.replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the link to your Data Sharing page\" ",
        1,
    );
    let clinic = escape_html(clinic_name);
    Ok(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Unique code for {patient} · {clinic}</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<main class="print-page">
<h1>Link your glucolink personal account to {clinic}</h1>
<p>For: <strong>{patient}</strong></p>
<p class="code-large">{code}</p>
<p>Valid until {until}. The code works once.</p>
<div class="qr">{qr}</div>
<h2>How to accept</h2>
<ol>
<li>Scan the QR code, or go to <span class="url">{url}</span>.</li>
<li>Sign in to your personal account (or create one).</li>
<li>On the <strong>Data Sharing</strong> page, check that the request comes from {clinic}, then choose <strong>Accept</strong>. If you signed in yourself, enter the code {code} on the Data Sharing page.</li>
</ol>
<p>You can stop sharing at any time on your Data Sharing page.</p>
<p class="notice">{notice}</p>
</main>
</body>
</html>
"#,
        patient = escape_html(patient_name),
        code = escape_html(code),
        until = escape_html(&readable(expires_at)),
        url = escape_html(accept_url),
        notice = ADJUNCT_NOTICE,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_names_and_carries_code_qr_and_notice() {
        let page = code_page(
            "<b>Clinic</b>",
            "Ana & Co",
            "K7Q2M-9XH4T",
            "https://x.example/personal/sharing?code=K7Q2M-9XH4T",
            Timestamp::from_second(1_796_300_000).expect("ts"),
        )
        .expect("page");
        assert!(page.contains("&lt;b&gt;Clinic&lt;/b&gt;") && !page.contains("<b>Clinic"));
        assert!(page.contains("Ana &amp; Co"));
        assert!(page.contains("K7Q2M-9XH4T") && page.contains("<svg"));
        assert!(page.contains("adjunct"));
        assert!(!page.contains("<script"));
    }
}
