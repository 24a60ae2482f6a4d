//! A software passkey authenticator for API tests: it answers the options of
//! `navigator.credentials.create` and `.get` the way a phone or a password manager does (ES256 key,
//! attestation "none", user present and verified), and writes `PublicKeyCredential.toJSON()`.
//!
//! Its CBOR is written by hand: the few shapes WebAuthn needs (maps of small integers, text and byte
//! strings), in CTAP2's canonical order.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// User present, user verified, attested credential data included.
const FLAGS_CREATE: u8 = 0x01 | 0x04 | 0x40;
/// User present, user verified.
const FLAGS_GET: u8 = 0x01 | 0x04;

pub struct Authenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    rp_id: String,
    pub counter: u32,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64url: {text}: {e}"))
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, 2, bytes.len());
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor_head(out, 3, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn cbor_head(out: &mut Vec<u8>, major: u8, len: usize) {
    let major = major << 5;
    match len {
        0..=23 => out.push(major | u8::try_from(len).expect("small")),
        24..=255 => out.extend([major | 24, u8::try_from(len).expect("byte")]),
        _ => {
            out.push(major | 25);
            out.extend(u16::try_from(len).expect("short").to_be_bytes());
        }
    }
}

/// The options' `publicKey` part, whichever way the server wrapped it.
fn public_key(options: &Value) -> &Value {
    options.get("publicKey").unwrap_or(options)
}

/// `clientDataJSON` as a browser at `origin` writes it (WebAuthn fixes the order of its members).
fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#
    )
    .into_bytes()
}

impl Authenticator {
    /// Creates a passkey for the creation `options` (as `/api/me/passkeys/options` answers them), in a
    /// browser at `origin`; returns the authenticator and the credential JSON to send back.
    pub fn create(options: &Value, origin: &str) -> (Self, Value) {
        let options = public_key(options);
        let rp_id = options["rp"]["id"].as_str().expect("rp.id").to_owned();
        let challenge = options["challenge"].as_str().expect("challenge");
        let user_handle = unb64(options["user"]["id"].as_str().expect("user.id"));
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).expect("random");
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("random");
        let key = SigningKey::from_slice(&secret).expect("a P-256 key");
        let authenticator = Self {
            key,
            credential_id: id.to_vec(),
            user_handle,
            rp_id,
            counter: 0,
        };
        let credential = authenticator.attest(challenge, origin);
        (authenticator, credential)
    }

    fn point(&self) -> (Vec<u8>, Vec<u8>) {
        let encoded = self.key.verifying_key().to_encoded_point(false);
        (
            encoded.x().expect("x").to_vec(),
            encoded.y().expect("y").to_vec(),
        )
    }

    fn attest(&self, challenge: &str, origin: &str) -> Value {
        let (x, y) = self.point();
        // COSE_Key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut cose, &x);
        cose.push(0x22);
        cbor_bytes(&mut cose, &y);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(FLAGS_CREATE);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID: none
        auth_data.extend(
            u16::try_from(self.credential_id.len())
                .expect("id")
                .to_be_bytes(),
        );
        auth_data.extend(&self.credential_id);
        auth_data.extend(&cose);
        // {"fmt": "none", "attStmt": {}, "authData": …}
        let mut attestation = vec![0xa3];
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        attestation.push(0xa0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);
        // SubjectPublicKeyInfo of a P-256 key: a fixed prefix and the uncompressed point.
        let mut spki = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
        ];
        spki.extend(&x);
        spki.extend(&y);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(&client_data("webauthn.create", challenge, origin)),
                "attestationObject": b64(&attestation),
                "authenticatorData": b64(&auth_data),
                "transports": ["internal"],
                "publicKey": b64(&spki),
                "publicKeyAlgorithm": -7,
            },
        })
    }

    /// Answers the request `options` (as `/api/signin/passkey/options` answers them) in a browser at
    /// `origin`: the assertion JSON to send back. Each answer counts one more use.
    pub fn get(&mut self, options: &Value, origin: &str) -> Value {
        let options = public_key(options);
        let challenge = options["challenge"].as_str().expect("challenge");
        self.counter += 1;
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(FLAGS_GET);
        auth_data.extend(self.counter.to_be_bytes());
        let client_data = client_data("webauthn.get", challenge, origin);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
        })
    }
}
