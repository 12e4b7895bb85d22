//! `rasctl measure extend`: one event into the caller's runtime measurement log.

use std::path::Path;

use ras_proto::api::attestation::ExtendMeasurement;

use crate::cli::MeasureCommand;
use crate::client::{call, runtime};
use crate::failure::Failure;
use crate::output::print_json;

pub fn run(socket: &Path, json: bool, c: MeasureCommand) -> Result<(), Failure> {
    let MeasureCommand::Extend { domain, operation, content } = c;
    let r = runtime()?.block_on(call(socket, &ExtendMeasurement { domain, operation, content }))?;
    if json {
        print_json(&serde_json::to_value(&r).expect("serializes"));
    } else {
        say!("seq {} chain {}", r.seq, r.chain);
    }
    Ok(())
}
