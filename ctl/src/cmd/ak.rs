//! `rasctl ak show|csr|import`: the attestation key and its certificate (io.ras.Admin), and
//! with a TPM the host's half of AS-mode enrolment: `ak enrollment` (the bundle for the CA)
//! and `ak activate` (the CA's credential challenge, opened by the TPM).

use std::path::Path;

use anyhow::Context;
use ras_proto::api::admin::{CreateAkCsr, GetAk, ImportAkCertificate};
use ras_proto::api::remote::{ActivateCredential, GetEnrollment};
use serde_json::json;

use crate::cli::AkCommand;
use crate::client::{call, runtime};
use crate::failure::{usage, Failure};
use crate::output::{emit, print_json, read_input};

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
            if json && out.is_none() {
                print_json(&json!({ "csr": r.csr }));
                return Ok(());
            }
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
        AkCommand::Enrollment { out } => {
            let e = rt.block_on(call(socket, &GetEnrollment {}))?;
            let csr = rt.block_on(call(socket, &CreateAkCsr {}))?.csr;
            let bundle = json!({
                "ek_certificate": e.ek_certificate,
                "ak_public": e.ak_public,
                "ak_certificate": e.ak_certificate,
                "csr": csr,
            });
            emit(out.as_deref(), &format!("{bundle:#}\n"))
        }
        AkCommand::Activate { challenge, out } => {
            let text = read_input(&challenge)?;
            let call_: ActivateCredential = serde_json::from_str(&text).map_err(|e| {
                usage(anyhow::anyhow!("{}: not a challenge from rasctl ca challenge: {e}", challenge.display()))
            })?;
            let r = rt.block_on(call(socket, &call_))?;
            if json && out.is_none() {
                print_json(&json!({ "credential": r.credential }));
                return Ok(());
            }
            emit(out.as_deref(), &format!("{}\n", r.credential))
        }
    }
}
