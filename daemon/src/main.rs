//! rasd entry point: parse flags, set up logging, run the daemon.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = rasd::config::Args::parse();
    match rasd::listener::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rasd: {e:#}");
            ExitCode::from(2)
        }
    }
}
