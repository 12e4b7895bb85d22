//! The `ras-verifier` binary: parses the command line, sets up logging, runs the replica.
//! Exit status 2 for a configuration error (DESIGN §9), 1 for a failure while running.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ras_verifier::config::Cli::parse();
    if let Some(note) = ras_server::logging::init(cli.log, "ras-verifier") {
        tracing::warn!("{note}");
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ras-verifier: tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(ras_verifier::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("ras-verifier: {e:#}");
            ExitCode::from(2)
        }
    }
}
