//! Passwords: NIST SP 800-63B-4 rules to accept one, argon2id to store it, constant-time checks.
//!
//! Rules (800-63B-4 §3.1.1.2, single-factor passwords): at least 15 characters, at most 256 (we allow far
//! more than the required 64), any Unicode, NFKC-normalised before hashing, no composition rules, and a
//! check against common and context-specific passwords.
//!
//! Hashing: argon2id with m = 19 MiB, t = 2, p = 1, the OWASP Password Storage Cheat Sheet's first
//! recommended setting. It costs ~20–40 ms on one core, small against a sign-in's network time and cheap
//! enough for a 512 MB Lambda, while making each offline guess cost 19 MiB of memory.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash as PhcString;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use unicode_normalization::UnicodeNormalization;

use crate::error::CoreError;

/// At most this many argon2 computations run at once (each holds 19 MiB): a few per core of the local
/// server or a Lambda, so a burst of sign-ins waits its turn instead of growing memory without bound.
pub const HASHING_AT_ONCE: usize = 4;

static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_AT_ONCE);

/// Runs password work (hashing or verifying) on the blocking pool, at most [`HASHING_AT_ONCE`] at a time.
pub async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CoreError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| CoreError::Internal(format!("hashing permits closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CoreError::Internal(format!("password task failed: {e}")))
}

/// Memory cost in KiB (19 MiB).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Passes over memory.
pub const ARGON2_ITERATIONS: u32 = 2;
/// Lanes.
pub const ARGON2_PARALLELISM: u32 = 1;

/// Passwords seen most often in breach corpora that are long enough to pass the length rule.
const COMMON_LONG_PASSWORDS: &[&str] = &[
    "passwordpassword",
    "password1234567",
    "password12345678",
    "123456789012345",
    "1234567890123456",
    "qwertyuiopasdfgh",
    "qwertyuiopasdfghjkl",
    "qwertyqwertyqwerty",
    "iloveyouiloveyou",
    "letmeinletmein",
    "abcdefghijklmnop",
    "abcdefghijklmnopqrstuvwxyz",
    "correcthorsebatterystaple",
    "administrator123",
    "welcomewelcome",
    "glucolinkglucolink",
];

/// A password that meets the rules. It never leaves the process and is never logged.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 15;
    pub const MAX_CHARS: usize = 256;

    /// Parses a new password, rejecting it if it is too short, too long, common, or built from
    /// `context` words (the username, the email's local part, the person's or clinic's name).
    pub fn parse_new(raw: &str, context: &[&str]) -> Result<Self, CoreError> {
        let weak = |message: String| CoreError::invalid("password", "weak_password", message);
        let normalized: String = raw.nfkc().collect();
        let length = normalized.chars().count();
        if length < Self::MIN_CHARS {
            return Err(weak(format!(
                "Use at least {} characters. A few unrelated words make a strong, memorable password.",
                Self::MIN_CHARS
            )));
        }
        if length > Self::MAX_CHARS {
            return Err(weak(format!("Use at most {} characters.", Self::MAX_CHARS)));
        }
        let folded: String = normalized
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let distinct = {
            let mut chars: Vec<char> = folded.chars().collect();
            chars.sort_unstable();
            chars.dedup();
            chars.len()
        };
        if distinct <= 3 || COMMON_LONG_PASSWORDS.contains(&folded.as_str()) {
            return Err(weak(
                "This password is too common or too easy to guess. Choose another.".into(),
            ));
        }
        for word in context {
            let word: String = word
                .to_lowercase()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if word.chars().count() >= 4 && folded.contains(&word) {
                return Err(weak(
                    "Do not use your name, username or email address in your password.".into(),
                ));
            }
        }
        Ok(Self(normalized))
    }

    /// Wraps a password typed at sign-in: only normalised and bounded, never judged (old rules may differ).
    pub fn for_sign_in(raw: &str) -> Result<Self, CoreError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(CoreError::InvalidCredentials);
        }
        Ok(Self(raw.nfkc().collect()))
    }

    /// Hashes with argon2id and a fresh random salt.
    pub fn hash(&self) -> Result<PasswordHash, CoreError> {
        let hash = hasher()
            .hash_password(self.0.as_bytes())
            .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// Constant-time comparison against a stored hash (the stored hash's own parameters apply).
    pub fn matches(&self, stored: &PasswordHash) -> bool {
        match PhcString::new(&stored.0) {
            Ok(parsed) => hasher().verify_password(self.0.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    }

    /// Spends the same time as a real check, for unknown accounts: timing must not reveal which exist.
    pub fn match_against_nothing(&self) {
        static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| Password("glucolink dummy password".into()).hash().ok());
        if let Some(dummy) = dummy {
            let _ = self.matches(dummy);
        }
    }
}

fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's documented bounds.
    let params = Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A stored PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_long_passphrases_and_checks_them() {
        let password = Password::parse_new("river piano lantern cedar", &["ana"]).expect("strong");
        let hash = password.hash().expect("hash");
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            Password::for_sign_in("river piano lantern cedar")
                .expect("ok")
                .matches(&hash)
        );
        assert!(
            !Password::for_sign_in("river piano lantern ceda")
                .expect("ok")
                .matches(&hash)
        );
    }

    #[test]
    fn rejects_short_common_repetitive_and_contextual_passwords() {
        for (raw, context) in [
            ("short pass", &[][..]),
            ("aaaaaaaaaaaaaaaaaaaa", &[]),
            ("ababababababababab", &[]),
            ("PasswordPassword", &[]),
            ("ana.lopez is my password", &["ana.lopez"]),
        ] {
            assert!(Password::parse_new(raw, context).is_err(), "{raw:?}");
        }
        assert!(
            Password::parse_new(&"x1".repeat(129), &[]).is_err(),
            "too long"
        );
    }

    #[test]
    fn normalises_unicode_before_hashing() {
        // "é" as one code point and as e + combining accent are the same password.
        let composed = Password::parse_new("caf\u{e9} au lait with toast", &[]).expect("ok");
        let hash = composed.hash().expect("hash");
        assert!(
            Password::for_sign_in("cafe\u{301} au lait with toast")
                .expect("ok")
                .matches(&hash)
        );
    }

    #[test]
    fn corrupt_stored_hash_never_matches() {
        let password = Password::for_sign_in("anything at all here").expect("ok");
        assert!(!password.matches(&PasswordHash::from_stored("not a phc string".into())));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_work_runs_a_few_at_a_time() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut tasks = Vec::new();
        for _ in 0..24 {
            let (running, most) = (running.clone(), most.clone());
            tasks.push(tokio::spawn(off_thread(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(15));
                running.fetch_sub(1, Ordering::SeqCst);
            })));
        }
        for task in tasks {
            task.await.expect("task").expect("work");
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=HASHING_AT_ONCE).contains(&most), "{most} at once");
    }
}
