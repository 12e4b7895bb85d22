//! Log set-up: journald when asked for or when the journal is what stderr goes to, stderr
//! otherwise. Under journald every span field becomes a journal field prefixed `RAS_`
//! (`RAS_PEER_PID`, `RAS_CONTAINER_ID`, `RAS_METHOD`, `RAS_OUTCOME`, ...).

use std::io::IsTerminal;

use serde::Deserialize;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Log destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    /// journald when systemd connected stderr to the journal (JOURNAL_STREAM), else stderr.
    Auto,
    /// The systemd journal, with structured fields; stderr when it is absent.
    Journald,
    /// Standard error.
    Stderr,
}

/// Sets up the global subscriber once, with `identifier` as the journal's
/// SYSLOG_IDENTIFIER. Returns a note when journald was wanted but absent.
pub fn init(target: LogTarget, identifier: &str) -> Option<String> {
    // RAS_LOG first, then the RUST_LOG every tracing user knows; info by default.
    let filter = || {
        EnvFilter::try_from_env("RAS_LOG")
            .or_else(|_| EnvFilter::try_from_env("RUST_LOG"))
            .unwrap_or_else(|_| "info".into())
    };
    // JOURNAL_STREAM means systemd connected stderr to the journal.
    let want_journal = match target {
        LogTarget::Journald => true,
        LogTarget::Auto => std::env::var_os("JOURNAL_STREAM").is_some(),
        LogTarget::Stderr => false,
    };
    let mut note = None;
    if want_journal {
        match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer.with_field_prefix(Some("RAS".into())).with_syslog_identifier(identifier.into());
                tracing_subscriber::registry().with(filter()).with(layer).init();
                return None;
            }
            Err(e) => note = Some(format!("journald is not available ({e}); logging to stderr")),
        }
    }
    let fmt = tracing_subscriber::fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr);
    tracing_subscriber::registry().with(filter()).with(fmt).init();
    note
}
