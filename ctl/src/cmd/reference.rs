//! `rasctl reference record`: a reference file from known-good evidence. The evidence is taken
//! as known-good by the operator's word; verify it first with `rasctl verify`.

use anyhow::anyhow;
use ras_evidence::jws;
use ras_evidence::reference::ReferenceValues;
use serde_json::json;

use crate::cli::ReferenceCommand;
use crate::failure::{usage, Failure};
use crate::output::{emit, print_json, read_input};

pub fn run(json: bool, c: ReferenceCommand) -> Result<(), Failure> {
    let ReferenceCommand::Record { evidence, out } = c;
    let text = read_input(&evidence)?;
    let claims =
        jws::parse(&text).and_then(|p| p.claims()).map_err(|e| usage(anyhow!("{}: {e}", evidence.display())))?;
    let refs = ReferenceValues::record(&claims);
    if json {
        print_json(&json!({ "entries": refs.len(), "reference": refs.render() }));
        return Ok(());
    }
    emit(out.as_deref(), &refs.render())
}
