//! One module per subcommand; each is a thin client of `ras-proto` and `ras-evidence`.

mod agent;
mod ak;
mod attest;
mod bench;
mod ca;
mod container;
mod evidence;
mod measure;
mod policy;
mod reference;
mod secret;
mod status;
mod tpm;
mod trust_anchor;
mod verify;

use crate::cli::{Cli, Command};
use crate::failure::Failure;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    match cli.command {
        Command::Status => status::run(&cli.socket, json),
        Command::Evidence(a) => evidence::run(&cli.socket, json, a),
        Command::Verify(a) => verify::run(json, a),
        Command::TrustAnchor => trust_anchor::run(&cli.socket, json),
        Command::Ak(c) => ak::run(&cli.socket, json, c),
        Command::Reference(c) => reference::run(json, c),
        Command::Bench(a) => bench::run(&cli.socket, json, a),
        Command::Container(c) => container::run(&cli.socket, json, c),
        Command::Measure(c) => measure::run(&cli.socket, json, c),
        Command::Attest(a) => attest::run(json, a),
        // The agent serves until stopped and prints progress, not a result.
        Command::Agent(_) if json => Err(crate::failure::usage(anyhow::anyhow!(
            "rasctl agent has no JSON output: it answers challenges until it is stopped; drop --json"
        ))),
        Command::Agent(a) => agent::run(&cli.socket, a),
        Command::Tpm(c) => tpm::run(json, c),
        Command::Ca(c) => ca::run(json, c),
        Command::Policy(c) => policy::run(json, c),
        Command::Secret(c) => secret::run(&cli.socket, json, c),
    }
}
