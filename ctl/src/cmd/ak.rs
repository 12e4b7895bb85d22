//! `rasctl ak show|csr|import`: the attestation key and its certificate (io.ras.Admin).

use std::path::Path;

use anyhow::Context;
use ras_proto::api::{method, AkInfo, CsrReply, ImportReply};
use serde_json::json;

use crate::cli::AkCommand;
use crate::client::{call, runtime};
use crate::failure::{usage, Failure};
use crate::output::{emit, print_json};

pub fn run(socket: &Path, json: bool, c: AkCommand) -> Result<(), Failure> {
    let rt = runtime()?;
    match c {
        AkCommand::Show => {
            let ak: AkInfo = rt.block_on(call(socket, method::GET_AK, json!({})))?;
            if json {
                print_json(&serde_json::to_value(&ak).expect("serializes"));
                return Ok(());
            }
            emit(None, &format!("mode: {}\nfingerprint: {}\n{}", ak.mode, ak.fingerprint, ak.chain))
        }
        AkCommand::Csr { out } => {
            let r: CsrReply = rt.block_on(call(socket, method::CREATE_AK_CSR, json!({})))?;
            emit(out.as_deref(), &r.csr)
        }
        AkCommand::Import { chain } => {
            let text =
                std::fs::read_to_string(&chain).with_context(|| format!("read {}", chain.display())).map_err(usage)?;
            let r: ImportReply = rt.block_on(call(socket, method::IMPORT_AK_CERTIFICATE, json!({ "chain": text })))?;
            if json {
                print_json(&serde_json::to_value(&r).expect("serializes"));
            } else {
                println!("imported: AK {} now in {} mode", r.fingerprint, r.mode);
            }
            Ok(())
        }
    }
}
