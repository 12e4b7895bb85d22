//! rasctl, the ras command line: a thin client of `ras-proto` and `ras-evidence`.
//!
//! # Layout
//! - [`cli`]: the clap definitions (also the source of the man page and completions).
//! - `cmd`: one module per subcommand.
//! - `client`: targets, connecting (to rasd or a bridge), typed calls and nonces.
//! - `verdict`: expectations, the ordered checks and the printed verdict; `appraiser`: the
//!   external command that appraises the hardware signature of tsm reports.
//! - `failure`: exit codes; `output`: JSON lines and files.
//!
//! Subcommands use these and never each other.

#[macro_use]
mod output;
mod appraiser;
mod client;
mod cmd;
mod failure;
mod verdict;

pub mod cli;

use std::process::ExitCode;

/// Parses the command line, runs it, and maps the outcome to the exit codes of DESIGN §9:
/// 0 success, 1 attestation failed, 2 usage or configuration error, 3 daemon unreachable or
/// protocol error.
pub fn main_with_args() -> ExitCode {
    // Before parsing succeeds, `--json` anywhere on the line asks for a JSON error.
    let json_wanted = std::env::args_os().any(|a| a == "--json");
    let cli = match <cli::Cli as clap::Parser>::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() && json_wanted => {
            json_error(2, e.to_string().trim_end());
            return ExitCode::from(2);
        }
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            match (f.silent, json) {
                (true, _) => {}
                (false, true) => json_error(f.code as u8, &format!("{:#}", f.error)),
                (false, false) => eprintln!("rasctl: {:#}", f.error),
            }
            ExitCode::from(f.code as u8)
        }
    }
}

/// One JSON object on stderr: `{"error": MESSAGE, "exit": CODE}`, so a script that asked for
/// JSON can parse failures too.
fn json_error(code: u8, message: &str) {
    eprintln!("{}", serde_json::json!({ "error": message, "exit": code }));
}
