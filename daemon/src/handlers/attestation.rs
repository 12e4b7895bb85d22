//! `io.ras.Attestation`: evidence for the calling process, whose identity comes from the
//! kernel, and its runtime measurement log. Nothing in a request names the subject.

use std::sync::Arc;

use ras_evidence::pem;
use ras_evidence::runtime_log::{MAX_CONTENT, MAX_ENTRIES, MAX_LABEL};
use ras_proto::api::attestation::{AttestationError, Evidence, ExtendMeasurement, Extended, GetEvidence, Info};
use ras_proto::VarlinkError;
use tracing::{debug, info};

use crate::daemon::Daemon;
use crate::identity::Identity;
use crate::measure::measure;
use crate::runtime_log::{LogError, MAX_LOG_BYTES};
use crate::sign::{sign_evidence, EvidenceInput};
use crate::subject::Subject;

/// `GetEvidence`: signed claims about the caller and its subject, bound to its nonce.
pub async fn get_evidence(
    daemon: &Arc<Daemon>,
    caller: &Identity,
    subject: &Subject,
    call: GetEvidence,
) -> Result<Evidence, VarlinkError> {
    let measurements = measure(daemon, subject).await?;
    let input = EvidenceInput {
        nonce: &call.nonce,
        subject,
        caller: Some(caller),
        measurements,
        workload_claims: None,
        bind: call.bind.clone(),
    };
    let evidence = sign_evidence(daemon, input).await?;
    debug!(subject = %subject.claim(), exe = %caller.exe, "evidence issued");
    Ok(Evidence { evidence })
}

/// `ExtendMeasurement`: appends to the subject's runtime log, durably.
pub async fn extend_measurement(
    daemon: &Arc<Daemon>,
    subject: &Subject,
    call: ExtendMeasurement,
) -> Result<Extended, VarlinkError> {
    for (name, value, max) in [
        ("domain", &call.domain, MAX_LABEL),
        ("operation", &call.operation, MAX_LABEL),
        ("content", &call.content, MAX_CONTENT),
    ] {
        if value.len() > max || (max == MAX_LABEL && value.is_empty()) {
            return Err(VarlinkError::invalid_parameter(name));
        }
    }
    let key = subject.log_key();
    let d = daemon.clone();
    let log_failed = |reason: String| -> VarlinkError { AttestationError::LogFailed { reason }.into() };
    let result = tokio::task::spawn_blocking(move || {
        d.runtime_logs.extend(&key, &call.domain, &call.operation, &call.content, d.tee.log_anchor())
    })
    .await
    .map_err(|e| log_failed(e.to_string()))?;
    match result {
        Ok((seq, chain)) => {
            info!(subject = %subject.claim(), seq, "runtime log extended");
            Ok(Extended { seq, chain })
        }
        Err(LogError::Full) => {
            Err(AttestationError::LogFull { max_entries: MAX_ENTRIES as u64, max_bytes: MAX_LOG_BYTES }.into())
        }
        Err(e) => Err(log_failed(format!("{:#}", anyhow::Error::from(e)))),
    }
}

/// `GetInfo`: version, TEE, AK mode and the trust anchor.
pub fn get_info(daemon: &Daemon) -> Info {
    Info {
        version: env!("CARGO_PKG_VERSION").into(),
        tee: daemon.tee.kind().into(),
        ak_mode: daemon.ak.mode().into(),
        trust_anchor: daemon.ak.trust_anchor().map(|der| pem::encode("CERTIFICATE", &der)).unwrap_or_default(),
    }
}
