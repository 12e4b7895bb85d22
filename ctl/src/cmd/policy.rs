//! `rasctl policy default|check`: the default Rego policy to start from, and a compile check
//! of a policy file that names the line of an error.

use anyhow::Context;
use ras_evidence::policy::{Policy, DEFAULT};
use serde_json::json;

use crate::cli::PolicyCommand;
use crate::failure::{usage, Failure};
use crate::output::{emit, print_json};

pub fn run(json: bool, c: PolicyCommand) -> Result<(), Failure> {
    match c {
        PolicyCommand::Default if json => {
            print_json(&json!({ "policy": DEFAULT }));
            Ok(())
        }
        PolicyCommand::Default => emit(None, DEFAULT),
        PolicyCommand::Check { file } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("read {}", file.display())).map_err(usage)?;
            Policy::parse(&file.display().to_string(), &text).map_err(usage)?;
            if json {
                print_json(&json!({ "policy": file, "ok": true }));
            } else {
                say!("{}: compiles (package ras)", file.display());
            }
            Ok(())
        }
    }
}
