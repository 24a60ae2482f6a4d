//! What the rehearsal shows: its own lines, and each function's log lines prefixed with the function
//! and instance (as CloudWatch Logs would show them in the function's log stream). The last lines are
//! also kept for `GET /_rehearsal/logs`, so tests can read what an operator would read.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many function lines `GET /_rehearsal/logs` keeps.
const KEPT: usize = 20_000;

#[derive(Clone)]
pub struct Logs {
    verbose: bool,
    kept: Arc<Mutex<VecDeque<String>>>,
}

impl Logs {
    pub fn new(verbose: bool) -> Self {
        Self {
            verbose,
            kept: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// A line of the rehearsal itself.
    pub fn rehearsal(&self, line: &str) {
        eprintln!("rehearsal: {line}");
    }

    /// A line only shown with `--verbose` (Lambda's REPORT lines).
    pub fn rehearsal_quiet(&self, line: &str) {
        if self.verbose {
            eprintln!("rehearsal: {line}");
        }
    }

    /// A line of the API's access log (the stage's `AccessLogSettings` format).
    pub fn access(&self, line: &serde_json::Value) {
        if self.verbose {
            eprintln!("[HttpApi access] {line}");
        }
    }

    /// A line a function wrote to stdout or stderr.
    pub fn function(&self, instance: &str, line: &str) {
        eprintln!("[{instance}] {line}");
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back(line.to_owned());
        }
    }

    /// The function lines kept, oldest first.
    pub fn kept(&self) -> Vec<String> {
        self.kept
            .lock()
            .map(|kept| kept.iter().cloned().collect())
            .unwrap_or_default()
    }
}
