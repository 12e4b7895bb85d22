//! `rasctl ak show|csr|import`: the attestation key and its certificate (io.ras.Admin).

use std::path::Path;

use anyhow::Context;
use ras_proto::api::admin::{CreateAkCsr, GetAk, ImportAkCertificate};

use crate::cli::AkCommand;
use crate::client::{call, runtime};
use crate::failure::{usage, Failure};
use crate::output::{emit, print_json};

pub fn run(socket: &Path, json: bool, c: AkCommand) -> Result<(), Failure> {
    let rt = runtime()?;
    match c {
        AkCommand::Show => {
            let ak = rt.block_on(call(socket, &GetAk {}))?;
            if json {
                print_json(&serde_json::to_value(&ak).expect("serializes"));
                return Ok(());
            }
            emit(None, &format!("mode: {}\nfingerprint: {}\n{}", ak.mode, ak.fingerprint, ak.chain))
        }
        AkCommand::Csr { out } => {
            let r = rt.block_on(call(socket, &CreateAkCsr {}))?;
            emit(out.as_deref(), &r.csr)
        }
        AkCommand::Import { chain } => {
            let text =
                std::fs::read_to_string(&chain).with_context(|| format!("read {}", chain.display())).map_err(usage)?;
            let r = rt.block_on(call(socket, &ImportAkCertificate { chain: text }))?;
            if json {
                print_json(&serde_json::to_value(&r).expect("serializes"));
            } else {
                say!("imported: AK {} now in {} mode", r.fingerprint, r.mode);
            }
            Ok(())
        }
    }
}
