//! Log set-up for ras-bridge: journald (fields prefixed `RAS_`) or stderr, as rasd does.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogTarget;

/// Sets up the global subscriber. Returns a note when journald was wanted but absent.
pub fn init(target: LogTarget) -> Option<String> {
    let filter = || EnvFilter::try_from_env("RAS_LOG").unwrap_or_else(|_| "info".into());
    let want_journal = match target {
        LogTarget::Journald => true,
        LogTarget::Auto => std::env::var_os("JOURNAL_STREAM").is_some(),
        LogTarget::Stderr => false,
    };
    let mut note = None;
    if want_journal {
        match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer.with_field_prefix(Some("RAS".into())).with_syslog_identifier("ras-bridge".into());
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
