//! `io.ras.Attestation`: evidence for the calling process, whose identity comes from the
//! kernel. Nothing in the request names the subject.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ras_evidence::claims::{Caller, Claims, RasClaims, Subject, EAT_PROFILE};
use ras_evidence::pem;
use ras_proto::api::{AttestationInfo, EvidenceParams, EvidenceReply, NoParams, NONCE_MAX, NONCE_MIN};
use ras_proto::{Request, VarlinkError};
use serde_json::{json, Value};
use tracing::info;

use super::{identify, reply};
use crate::dispatch::CallContext;
use crate::unix_now;

const IFACE: &str = "io.ras.Attestation";

/// `PeerGone`: the caller could not be identified.
pub fn peer_gone(reason: &str) -> VarlinkError {
    VarlinkError::new(format!("{IFACE}.PeerGone"), json!({ "reason": reason }))
}

fn signing_failed(reason: &str) -> VarlinkError {
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

/// `GetEvidence`: signed claims about the caller, bound to its nonce.
pub async fn get_evidence(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: EvidenceParams = req.params()?;
    let nonce = parse_nonce(&p.nonce)?;
    let id = identify(ctx).await?;
    let daemon = &ctx.daemon;
    let claims = Claims {
        eat_nonce: URL_SAFE_NO_PAD.encode(&nonce),
        iat: unix_now(),
        eat_profile: EAT_PROFILE.into(),
        ras: RasClaims {
            subject: Subject::Host,
            caller: Caller {
                uid: id.uid,
                gid: id.gid,
                pid: id.pid,
                exe: id.exe.clone(),
                exe_sha256: id.exe_sha256.clone(),
            },
            measurements: vec![],
            tee: daemon.tee.kind().into(),
        },
    };
    let evidence = daemon.ak.sign(&claims).map_err(|e| signing_failed(&e.to_string()))?;
    info!(subject = "host", exe = %id.exe, "evidence issued");
    reply(&EvidenceReply { evidence })
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
