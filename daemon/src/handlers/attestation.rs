//! `io.ras.Attestation`: evidence for the calling process, whose identity comes from the
//! kernel, and its runtime measurement log. Nothing in a request names the subject.

use ras_evidence::pem;
use ras_evidence::runtime_log::{MAX_CONTENT, MAX_ENTRIES, MAX_LABEL};
use ras_proto::api::{
    AttestationInfo, EvidenceParams, EvidenceReply, ExtendParams, ExtendReply, NoParams, NONCE_MAX, NONCE_MIN,
};
use ras_proto::{Request, VarlinkError};
use serde_json::{json, Value};
use tracing::info;

use super::{check_assertion, identify, measure, reply, resolve, sign_evidence, EvidenceInput};
use crate::dispatch::CallContext;
use crate::logs::LogError;

const IFACE: &str = "io.ras.Attestation";

/// `PeerGone`: the caller could not be identified.
pub fn peer_gone(reason: &str) -> VarlinkError {
    VarlinkError::new(format!("{IFACE}.PeerGone"), json!({ "reason": reason }))
}

/// `SigningFailed`: the TEE or the AK could not produce evidence.
pub fn signing_failed(reason: &str) -> VarlinkError {
    VarlinkError::new(format!("{IFACE}.SigningFailed"), json!({ "reason": reason }))
}

/// Decodes a hex nonce and enforces its bounds.
pub fn parse_nonce(hex_nonce: &str) -> Result<Vec<u8>, VarlinkError> {
    // Bound before decoding, so a huge string costs nothing.
    if hex_nonce.len() > 2 * NONCE_MAX + 2 {
        return Err(invalid_nonce(hex_nonce.len() / 2));
    }
    let nonce = hex::decode(hex_nonce).map_err(|_| VarlinkError::invalid_parameter("nonce"))?;
    if !(NONCE_MIN..=NONCE_MAX).contains(&nonce.len()) {
        return Err(invalid_nonce(nonce.len()));
    }
    Ok(nonce)
}

fn invalid_nonce(got: usize) -> VarlinkError {
    VarlinkError::new(
        format!("{IFACE}.InvalidNonce"),
        json!({ "min_bytes": NONCE_MIN, "max_bytes": NONCE_MAX, "got_bytes": got }),
    )
}

/// `GetEvidence`: signed claims about the caller, bound to its nonce. The subject follows
/// from the socket and the caller's kernel identity ([`resolve`]).
pub async fn get_evidence(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: EvidenceParams = req.params()?;
    let nonce = parse_nonce(&p.nonce)?;
    let id = identify(ctx)?;
    let resolved = resolve(ctx, &id).await?;
    check_assertion(p.container.as_deref(), &resolved)?;
    let measurements = measure(ctx, &resolved).await?;
    let input =
        EvidenceInput { nonce: &nonce, resolved: &resolved, caller: Some(&id), measurements, workload_claims: None };
    let evidence = sign_evidence(&ctx.daemon, input).await?;
    info!(subject = %resolved.subject(), exe = %id.exe, "evidence issued");
    reply(&EvidenceReply { evidence })
}

/// `ExtendMeasurement`: appends to the caller's subject's runtime log, durably.
pub async fn extend_measurement(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: ExtendParams = req.params()?;
    for (name, value, max) in
        [("domain", &p.domain, MAX_LABEL), ("operation", &p.operation, MAX_LABEL), ("content", &p.content, MAX_CONTENT)]
    {
        if value.len() > max || (max == MAX_LABEL && value.is_empty()) {
            return Err(VarlinkError::invalid_parameter(name));
        }
    }
    let id = identify(ctx)?;
    let resolved = resolve(ctx, &id).await?;
    let key = resolved.log_key();
    let d = ctx.daemon.clone();
    let result = tokio::task::spawn_blocking(move || d.logs.extend(&key, &p.domain, &p.operation, &p.content))
        .await
        .map_err(|e| log_failed(&e.to_string()))?;
    match result {
        Ok((seq, chain)) => {
            info!(subject = %resolved.subject(), seq, "runtime log extended");
            reply(&ExtendReply { seq, chain })
        }
        Err(LogError::Full) => Err(VarlinkError::new(
            format!("{IFACE}.LogFull"),
            json!({ "max_entries": MAX_ENTRIES, "max_bytes": crate::logs::MAX_LOG_BYTES }),
        )),
        Err(e) => Err(log_failed(&format!("{:#}", anyhow::Error::from(e)))),
    }
}

fn log_failed(reason: &str) -> VarlinkError {
    VarlinkError::new(format!("{IFACE}.LogFailed"), json!({ "reason": reason }))
}

/// `GetInfo`: version, TEE, AK mode and the trust anchor.
pub fn get_info(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    let d = &ctx.daemon;
    reply(&AttestationInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        tee: d.tee.kind().into(),
        ak_mode: d.ak.mode().into(),
        trust_anchor: d.ak.trust_anchor().map(|der| pem::encode("CERTIFICATE", &der)).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_bounds() {
        assert_eq!(parse_nonce(&"ab".repeat(8)).unwrap().len(), 8);
        assert_eq!(parse_nonce(&"ab".repeat(64)).unwrap().len(), 64);
        for bad in ["ab".repeat(7), "ab".repeat(65), "ab".repeat(10_000)] {
            assert_eq!(parse_nonce(&bad).unwrap_err().short_name(), "InvalidNonce");
        }
        assert_eq!(parse_nonce("zz").unwrap_err().short_name(), "InvalidParameter");
    }
}
