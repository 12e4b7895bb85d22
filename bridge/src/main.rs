//! ras-bridge entry point.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = ras_bridge::config::Args::parse();
    match ras_bridge::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ras-bridge: {e:#}");
            ExitCode::from(2)
        }
    }
}
