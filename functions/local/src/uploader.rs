//! The uploader client behind `glucolink upload`: sends a device file to a glucolink site with a
//! personal upload token, exactly as the website's Upload now does.

use std::path::Path;

use serde_json::Value;

/// What to upload where.
pub struct UploadRequest<'a> {
    pub site: &'a str,
    pub token: &'a str,
    pub file: &'a Path,
    pub tz: Option<&'a str>,
    pub format: Option<&'a str>,
}

/// Uploads the file; the server's summary, or a sentence that says why not.
pub async fn upload_file(request: UploadRequest<'_>) -> Result<Value, String> {
    let body = std::fs::read(request.file)
        .map_err(|e| format!("cannot read {}: {e}", request.file.display()))?;
    let mut url = reqwest::Url::parse(request.site)
        .and_then(|site| site.join("/api/personal/uploads"))
        .map_err(|_| {
            format!(
                "{} is not a site address like https://glucolink.example.org",
                request.site
            )
        })?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(tz) = request.tz {
            query.append_pair("tz", tz);
        }
        if let Some(format) = request.format {
            query.append_pair("format", format);
        }
    }
    let content_type = match request.file.extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        Some("csv" | "txt") => "text/csv",
        _ => "application/octet-stream",
    };
    // Compressed, so that a 90-day export fits the cloud's request limits (API Gateway, Lambda).
    let body = {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(&body)
            .and_then(|()| encoder.finish())
            .map_err(|e| format!("could not compress the file: {e}"))?
    };
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(request.token)
        .header("Content-Type", content_type)
        .header("Content-Encoding", "gzip")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("the site did not answer: {e}"))?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .map_err(|e| format!("the answer was not JSON ({status}): {e}"))?;
    if status.is_success() {
        Ok(answer)
    } else {
        Err(format!(
            "the upload was refused ({status}): {}",
            answer["error"]["message"]
                .as_str()
                .unwrap_or("no reason given")
        ))
    }
}
