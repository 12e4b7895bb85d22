//! `rasctl evidence`: evidence for this process, from the local rasd.

use ras_proto::api::{method, EvidenceReply};
use ring::rand::SecureRandom;
use serde_json::json;

use crate::cli::EvidenceArgs;
use crate::client::{call, runtime};
use crate::failure::{Code, Failure};
use crate::output::{emit, print_json};

/// Size of a generated nonce.
pub const NONCE_BYTES: usize = 32;

/// A fresh random nonce, hex.
pub fn fresh_nonce() -> Result<String, Failure> {
    let mut n = [0u8; NONCE_BYTES];
    ring::rand::SystemRandom::new()
        .fill(&mut n)
        .map_err(|_| Failure::new(Code::Usage, anyhow::anyhow!("no randomness for a nonce")))?;
    Ok(hex::encode(n))
}

pub fn run(socket: &std::path::Path, json: bool, a: EvidenceArgs) -> Result<(), Failure> {
    let nonce = match a.nonce {
        Some(n) => n,
        None => fresh_nonce()?,
    };
    let mut params = json!({ "nonce": nonce });
    if let Some(c) = &a.container {
        params["container"] = json!(c);
    }
    let reply: EvidenceReply = runtime()?.block_on(call(socket, method::GET_EVIDENCE, params))?;
    if json {
        print_json(&json!({ "nonce": nonce, "evidence": reply.evidence }));
        return Ok(());
    }
    emit(a.out.as_deref(), &format!("{}\n", reply.evidence))?;
    if a.out.is_some() {
        println!("nonce {nonce}");
    } else {
        eprintln!("nonce {nonce}");
    }
    Ok(())
}
