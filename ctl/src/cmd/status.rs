//! `rasctl status`: the daemon's status (io.ras.Admin.GetStatus).

use std::path::Path;

use ras_proto::api::admin::{GetAk, GetStatus};
use ras_proto::api::attestation::GetInfo;

use crate::client::{call, runtime};
use crate::failure::Failure;
use crate::output::print_json;

pub fn run(socket: &Path, json: bool) -> Result<(), Failure> {
    let rt = runtime()?;
    let s = rt.block_on(call(socket, &GetStatus {}))?;
    // The chain, leaf first, by subject; the anchor a verifier pins is its top (or the TPM
    // AK's root, which `rasctl trust-anchor` prints).
    let ak = rt.block_on(call(socket, &GetAk {}))?;
    let info = rt.block_on(call(socket, &GetInfo {}))?;
    let subjects = |pem: &str| -> Vec<String> {
        ras_evidence::pem::parse_label(pem, "CERTIFICATE")
            .unwrap_or_default()
            .iter()
            .map(|der| ras_evidence::cert::subject_of(der).unwrap_or_else(|e| format!("(unreadable: {e})")))
            .collect()
    };
    let chain = subjects(&ak.chain);
    let anchor = subjects(&info.trust_anchor).into_iter().next();
    if json {
        print_json(&serde_json::to_value(&s).expect("status serializes"));
    } else {
        say!("rasd {} (tee {}), up {}s", s.version, s.tee, s.uptime_secs);
        say!("  proves: {}", s.proves);
        say!("  does not prove: {}", s.does_not_prove);
        say!("ak: {} mode, fingerprint {}", s.ak_mode, s.ak_fingerprint);
        for (i, subject) in chain.iter().enumerate() {
            say!("  {} {subject}", if i == 0 { "certificate" } else { "issued by  " });
        }
        match &anchor {
            Some(a) => say!("  trust anchor {a} (rasctl trust-anchor prints it)"),
            None => say!("  trust anchor: none offered (an imported chain without its CA)"),
        }
        if s.tee == "tpm" {
            let rate = s.quotes as f64 / s.uptime_secs.max(1) as f64;
            say!("tpm quotes: {} for {} evidences ({rate:.2} quotes/s since start)", s.quotes, s.quoted);
        }
        say!("connections: {} open, {} calls served", s.connections, s.calls);
        say!("containers: {} registered, {} agents connected", s.containers, s.agents);
    }
    Ok(())
}
