//! PDF documents as a reader sees them: the text of each page, extracted by poppler's `pdftotext`
//! (an independent reader: it finds the words only through the fonts' ToUnicode maps), and the
//! number of pages.

use std::process::Command;

/// The text of every page, in reading order (`pdftotext -layout`: one line per printed line).
pub fn pages(pdf: &[u8]) -> Vec<String> {
    extract(pdf, "-layout")
}

/// The text of every page in the order it is drawn (`pdftotext -raw`): every word as drawn, without
/// the layout mode's guesses about which gaps are spaces (it reads "< 4 %" in a table as "<4%").
pub fn pages_as_drawn(pdf: &[u8]) -> Vec<String> {
    extract(pdf, "-raw")
}

fn extract(pdf: &[u8], mode: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("glucolink-pdf-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("report.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let output = Command::new("pdftotext")
        .args([mode, "-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext runs (infra/test installs poppler-utils)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "pdftotext could not read the PDF: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8 text");
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}
