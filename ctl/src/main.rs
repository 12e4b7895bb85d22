//! rasctl entry point. Exit codes (DESIGN §9): 0 success, 1 attestation failed, 2 usage or
//! configuration error, 3 daemon unreachable or protocol error.

use std::process::ExitCode;

mod cli;
mod client;
mod cmd;
mod failure;
mod output;

fn main() -> ExitCode {
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
