//! Signing evidence: the claims about a subject (its caller, measurements, runtime log and
//! any workload claims), bound to the verifier's nonce and signed with the AK.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ras_evidence::claims::{Caller, Claims, Measurement, PcrLog, PcrValue, RasClaims, TpmQuote, TsmQuote, EAT_PROFILE};
use ras_proto::api::attestation::AttestationError;
use ras_proto::{Nonce, VarlinkError};
use serde_json::Value;

use crate::clock::unix_now;
use crate::config::QuotePolicy;
use crate::daemon::Daemon;
use crate::identity::Identity;
use crate::subject::Subject;
use crate::tee::Fresh;

/// Everything that goes into one piece of evidence.
pub struct EvidenceInput<'a> {
    /// The verifier's nonce.
    pub nonce: &'a Nonce,
    /// Whom it is about.
    pub subject: &'a Subject,
    /// The process measured as the caller (none for a VM guest).
    pub caller: Option<&'a Identity>,
    /// Files rasd measured.
    pub measurements: Vec<Measurement>,
    /// Claims the workload reported.
    pub workload_claims: Option<Value>,
    /// The digest the caller asked to bind.
    pub bind: Option<String>,
}

/// `SigningFailed` with a reason.
pub fn signing_failed(reason: String) -> VarlinkError {
    AttestationError::SigningFailed { reason }.into()
}

/// Builds the claims and signs them with the AK.
pub async fn sign_evidence(daemon: &Arc<Daemon>, input: EvidenceInput<'_>) -> Result<String, VarlinkError> {
    let key = input.subject.log_key();
    // In memory and uncontended nearly always: read inline, and hop to the blocking pool
    // only for the first load from disk or while an extend holds the log across its fsync.
    let runtime_log = match daemon.runtime_logs.try_snapshot(&key) {
        Some(log) => log,
        None => {
            let d = daemon.clone();
            tokio::task::spawn_blocking(move || d.runtime_logs.snapshot(&key))
                .await
                .map_err(|e| signing_failed(e.to_string()))?
                .map_err(|e| signing_failed(format!("{:#}", anyhow::Error::from(e))))?
        }
    };
    let (tpm_quote, tsm_quote) = fresh_quote(daemon, &input).await?;
    let claims = Claims {
        eat_nonce: URL_SAFE_NO_PAD.encode(input.nonce.as_bytes()),
        iat: unix_now(),
        eat_profile: EAT_PROFILE.into(),
        ras: RasClaims {
            subject: input.subject.claim(),
            caller: input.caller.map(|id| Caller {
                uid: id.uid,
                gid: id.gid,
                pid: id.pid,
                exe: id.exe.clone(),
                exe_sha256: id.exe_sha256.clone(),
            }),
            measurements: input.measurements,
            tee: daemon.tee.kind().into(),
            runtime_log,
            bind: input.bind.clone(),
            tpm_quote,
            tsm_quote,
            workload_claims: input.workload_claims,
        },
    };
    daemon.ak.sign(&claims).map_err(|e| signing_failed(e.to_string()))
}

/// A fresh TPM quote of the PCRs, or a fresh configfs-tsm report, for this evidence, when the
/// backend has one and the policy asks for it (`--tpm-quote`).
async fn fresh_quote(
    daemon: &Daemon,
    input: &EvidenceInput<'_>,
) -> Result<(Option<TpmQuote>, Option<TsmQuote>), VarlinkError> {
    let wanted = match daemon.config.tpm.quote {
        QuotePolicy::None => false,
        QuotePolicy::Host => matches!(input.subject.claim(), ras_evidence::Subject::Host),
        QuotePolicy::All => true,
    };
    if !wanted {
        return Ok((None, None));
    }
    let leaf = ras_evidence::tpm::evidence_leaf(input.nonce.as_bytes(), daemon.ak.spki());
    let Some(reply) = daemon.tee.fresh_quote(leaf) else { return Ok((None, None)) };
    let q = match reply.await.map_err(|_| signing_failed("the TEE thread stopped".into()))? {
        Ok(Fresh::Tpm(q)) => q,
        Ok(Fresh::Tsm(r)) => {
            return Ok((
                None,
                Some(TsmQuote {
                    provider: r.provider,
                    outblob: r.outblob,
                    index: r.index,
                    batch: r.batch,
                    proof: r.proof.iter().map(hex::encode).collect(),
                    rtmr3_events: r.rtmr3_events,
                }),
            ))
        }
        Err(e) => return Err(signing_failed(format!("fresh {} quote: {e}", daemon.tee.kind()))),
    };
    Ok((
        Some(TpmQuote {
            attest: STANDARD.encode(&q.attest),
            signature: STANDARD.encode(&q.signature),
            pcrs: q.pcrs.iter().map(|(i, v)| PcrValue { index: *i, sha256: hex::encode(v) }).collect(),
            index: q.index,
            batch: q.batch,
            proof: q.proof.iter().map(hex::encode).collect(),
            log: q.log.map(|(pcr, events)| PcrLog { pcr, events }),
        }),
        None,
    ))
}
