//! `io.ras.Remote`: challenges from remote verifiers (through ras-bridge) or authorized local
//! callers. A container (or VM guest) challenge is answered only with evidence whose subject
//! is that container (or guest), measured through the answering agent; every failure has its
//! own error, and none of them falls back to host evidence.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ras_proto::api::attestation::Evidence;
use ras_proto::api::remote::{ActivateCredential, Activated, Challenge, Enrollment, RemoteError};
use ras_proto::VarlinkError;
use tracing::{debug, warn};

use crate::agents::{AgentKey, ChallengeError};
use crate::daemon::Daemon;
use crate::identity::Identity;
use crate::measure::measure;
use crate::sign::{sign_evidence, EvidenceInput};
use crate::subject::Subject;

/// `Challenge`, for the subject the verifier named ([`crate::subject::named`]).
pub async fn challenge(
    d: &Arc<Daemon>,
    caller: &Identity,
    subject: &Subject,
    call: Challenge,
) -> Result<Evidence, VarlinkError> {
    let peer = call.peer.as_deref().unwrap_or("local");
    // The agent to ask, and the error parameters that name the subject.
    let (key, id, r#type) = match subject {
        Subject::Host => {
            // Measured and signed here, with the challenger as the caller.
            let measurements = measure(d, subject).await?;
            let input = EvidenceInput {
                nonce: &call.nonce,
                subject,
                caller: Some(caller),
                measurements,
                workload_claims: None,
                bind: None,
            };
            let evidence = sign_evidence(d, input).await?;
            debug!(peer, subject = "host", "remote challenge answered");
            return Ok(Evidence { evidence });
        }
        Subject::Container(r) => (AgentKey::Container(r.reg.container()), r.reg.id.clone(), r.reg.runtime.to_string()),
        Subject::Vm(cid) => (AgentKey::Vm(*cid), cid.to_string(), "vm".to_string()),
    };
    let timeout = d.config.challenge_timeout;
    let answer = d.agents.challenge(&key, Some(call.nonce.clone()), timeout).await.map_err(|e| {
        warn!(peer, agent = %key, error = ?e, "challenge through the agent failed");
        let (id, r#type) = (id.clone(), r#type.clone());
        VarlinkError::from(match e {
            ChallengeError::NoAgent => RemoteError::NoAgent { id, r#type },
            ChallengeError::Gone => RemoteError::AgentGone { id, r#type },
            ChallengeError::Timeout => RemoteError::AgentTimeout { id, r#type, timeout_ms: timeout.as_millis() as u64 },
        })
    })?;
    let input = EvidenceInput {
        nonce: &call.nonce,
        subject,
        caller: answer.identity.as_ref(),
        measurements: answer.measurements,
        workload_claims: answer.claims,
        bind: None,
    };
    let evidence = sign_evidence(d, input).await?;
    debug!(peer, subject = %subject.claim(), agent = %key, "remote challenge answered through the agent");
    Ok(Evidence { evidence })
}

/// `GetEnrollment`: the TPM's EK certificate and the TPM AK, for a verifier to enrol.
pub async fn get_enrollment(d: &Arc<Daemon>) -> Result<Enrollment, VarlinkError> {
    let d2 = d.clone();
    let got = tokio::task::spawn_blocking(move || d2.tee.enrollment())
        .await
        .map_err(|e| RemoteError::ActivationFailed { reason: e.to_string() })?;
    let e = got
        .ok_or_else(|| RemoteError::NoTpm { tee: d.tee.kind().into() })?
        .map_err(|e| RemoteError::ActivationFailed { reason: e.to_string() })?;
    Ok(Enrollment {
        ek_certificate: STANDARD.encode(e.ek_certificate),
        ak_public: STANDARD.encode(e.ak_public),
        ak_certificate: STANDARD.encode(e.ak_certificate),
    })
}

/// `ActivateCredential`: the TPM decrypts what a verifier sealed to its EK and AK.
pub async fn activate_credential(d: &Arc<Daemon>, call: ActivateCredential) -> Result<Activated, VarlinkError> {
    let decode = |name: &str, v: &str| STANDARD.decode(v).map_err(|_| VarlinkError::invalid_parameter(name));
    let (blob, secret) = (decode("credential_blob", &call.credential_blob)?, decode("secret", &call.secret)?);
    let d2 = d.clone();
    let got = tokio::task::spawn_blocking(move || d2.tee.activate_credential(blob, secret))
        .await
        .map_err(|e| RemoteError::ActivationFailed { reason: e.to_string() })?;
    let credential = got.ok_or_else(|| RemoteError::NoTpm { tee: d.tee.kind().into() })?.map_err(|e| {
        warn!(error = %e, "credential activation failed");
        RemoteError::ActivationFailed { reason: e.to_string() }
    })?;
    Ok(Activated { credential: STANDARD.encode(credential) })
}
