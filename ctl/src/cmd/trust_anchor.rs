//! `rasctl trust-anchor`: the PEM a verifier passes as `--trust`.

use std::path::Path;

use anyhow::anyhow;
use ras_proto::api::attestation::GetInfo;
use serde_json::json;

use crate::client::{call, runtime};
use crate::failure::{refused, Failure};
use crate::output::{emit, print_json};

pub fn run(socket: &Path, json: bool) -> Result<(), Failure> {
    let info = runtime()?.block_on(call(socket, &GetInfo {}))?;
    if info.trust_anchor.is_empty() {
        return Err(refused(anyhow!(
            "rasd has no trust anchor to offer: its AK chain was imported without the CA certificate; use your CA's certificate"
        )));
    }
    if json {
        print_json(&json!({ "tee": info.tee, "ak_mode": info.ak_mode, "trust_anchor": info.trust_anchor }));
        Ok(())
    } else {
        emit(None, &info.trust_anchor)
    }
}
