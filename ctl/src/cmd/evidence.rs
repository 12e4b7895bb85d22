//! `rasctl evidence`: evidence for this process, from the local rasd.

use ras_proto::api::attestation::GetEvidence;
use serde_json::json;

use crate::cli::EvidenceArgs;
use crate::client::{bind_arg, call, fresh_nonce, nonce_arg, runtime};
use crate::failure::Failure;
use crate::output::{emit, print_json};

pub fn run(socket: &std::path::Path, json: bool, a: EvidenceArgs) -> Result<(), Failure> {
    let nonce = match &a.nonce {
        Some(n) => nonce_arg(n)?,
        None => fresh_nonce()?,
    };
    let bind = bind_arg(a.bind.as_deref(), a.bind_key.as_deref())?;
    let request = GetEvidence { nonce: nonce.clone(), container: a.container.clone(), bind };
    let reply = runtime()?.block_on(call(socket, &request))?;
    if json {
        print_json(&json!({ "nonce": nonce, "evidence": reply.evidence }));
        return Ok(());
    }
    emit(a.out.as_deref(), &format!("{}\n", reply.evidence))?;
    if a.out.is_some() {
        say!("nonce {nonce}");
    } else {
        eprintln!("nonce {nonce}");
    }
    Ok(())
}
