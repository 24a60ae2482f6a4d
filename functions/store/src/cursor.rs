//! Opaque pagination cursors: a list of key strings, as URL-safe base64 of JSON.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use glucolink_core::store::StoreError;

pub fn encode(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(parts).unwrap_or_default())
}

pub fn decode(cursor: &str, expected_parts: usize) -> Result<Vec<String>, StoreError> {
    let invalid = || StoreError::Invalid("malformed cursor".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if parts.len() == expected_parts {
        Ok(parts)
    } else {
        Err(invalid())
    }
}
