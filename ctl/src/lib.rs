//! rasctl, the ras command line: a thin client of `ras-proto` and `ras-evidence`.
//!
//! # Layout
//! - [`cli`]: the clap definitions (also the source of the man page and completions).
//! - `cmd`: one module per subcommand.
//! - `client`: targets, connecting (to rasd or a bridge), typed calls and nonces.
//! - `verdict`: expectations, the ordered checks and the printed verdict.
//! - `failure`: exit codes; `output`: JSON lines and files.
//!
//! Subcommands use these and never each other.

mod client;
mod cmd;
mod failure;
mod output;
mod verdict;

pub mod cli;

use std::process::ExitCode;

/// Parses the command line, runs it, and maps the outcome to the exit codes of DESIGN §9:
/// 0 success, 1 attestation failed, 2 usage or configuration error, 3 daemon unreachable or
/// protocol error.
pub fn main_with_args() -> ExitCode {
    let cli = match <cli::Cli as clap::Parser>::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.silent {
                eprintln!("rasctl: {:#}", f.error);
            }
            ExitCode::from(f.code as u8)
        }
    }
}
