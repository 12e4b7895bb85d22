//! The claims set rasd signs. EAT (RFC 9711) names where one exists, and a `ras` object for
//! the rest (DESIGN §4.3). New fields get `#[serde(default)]` so old evidence still parses.

use serde::{Deserialize, Serialize};

/// The `eat_profile` of ras evidence, version 1.
pub const EAT_PROFILE: &str = "tag:ras.invalid,2026:evidence:v1";

/// A whole claims set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The verifier's nonce, base64url without padding (EAT `eat_nonce`).
    pub eat_nonce: String,
    /// Issued-at, seconds since the epoch.
    pub iat: i64,
    /// Profile URI: [`EAT_PROFILE`].
    pub eat_profile: String,
    /// Everything ras-specific.
    pub ras: RasClaims,
}

/// The `ras` claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RasClaims {
    /// Whom the evidence is about.
    pub subject: Subject,
    /// The process that asked (or answered, for a forwarded challenge), as the kernel reported
    /// it to rasd. Absent for a VM guest, whose processes rasd cannot see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
    /// Measurements, each labelled with who took it.
    #[serde(default)]
    pub measurements: Vec<Measurement>,
    /// TEE backend kind (`sim`, `tpm`, `tsm`).
    pub tee: String,
    /// The subject's runtime measurement log, when it has entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_log: Option<crate::runtime_log::RuntimeLog>,
    /// A sha256 (hex) the caller asked rasd to bind, such as that of its public key. rasd
    /// vouches only that the caller it names asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// A fresh TPM quote of the host's PCRs for this evidence (`tee: tpm` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm_quote: Option<TpmQuote>,
    /// A fresh configfs-tsm report for this evidence (`tee: tsm` only), with the events of
    /// TDX RTMR3 when rasd extends its runtime log into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsm_quote: Option<TsmQuote>,
    /// Claims the workload reported about itself. Not measured by rasd: labelled, kept apart,
    /// and never used as identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_claims: Option<serde_json::Value>,
}

/// Whom the evidence is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Subject {
    /// The host itself.
    Host,
    /// One container, identified by the kernel.
    Container {
        /// Runtime's container id.
        id: String,
        /// Runtime kind (`docker`, `podman`, `containerd`, `crio`).
        #[serde(rename = "type")]
        runtime: String,
        /// Runtime's name for it, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Inode of its pid namespace.
        pid_ns: u64,
    },
    /// A VM guest, identified by its kernel-assigned vsock CID.
    Vm {
        /// The guest's CID.
        cid: u32,
    },
}

impl Subject {
    /// The subject's runtime-log key: `host`, `<runtime>-<id>` for a container, `vm-<cid>`.
    /// rasd keys its logs and the log PCR's events by it.
    pub fn log_key(&self) -> String {
        match self {
            Subject::Host => "host".into(),
            Subject::Container { id, runtime, .. } => format!("{runtime}-{id}"),
            Subject::Vm { cid } => format!("vm-{cid}"),
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Host => write!(f, "host"),
            Subject::Container { id, runtime, name: Some(name), .. } => write!(f, "container {runtime}:{id} ({name})"),
            Subject::Container { id, runtime, name: None, .. } => write!(f, "container {runtime}:{id}"),
            Subject::Vm { cid } => write!(f, "vm cid {cid}"),
        }
    }
}

/// A `TPM2_Quote` made for this evidence, shared by a batch of concurrent requests: its
/// qualifying data is the Merkle root over the batch's leaves, and this evidence's leaf is
/// [`crate::tpm::evidence_leaf`] of its nonce and AK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmQuote {
    /// `TPMS_ATTEST` (base64).
    pub attest: String,
    /// `TPMT_SIGNATURE` by the TPM AK (base64).
    pub signature: String,
    /// The quoted PCRs of the sha256 bank, ascending.
    pub pcrs: Vec<PcrValue>,
    /// This evidence's position in the batch.
    pub index: u64,
    /// How many evidences shared the quote.
    pub batch: u64,
    /// The inclusion proof (hex hashes, bottom up).
    pub proof: Vec<String>,
    /// The runtime-log events extended into a quoted PCR, at the time of the quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PcrLog>,
}

/// A configfs-tsm report made for this evidence, shared by a batch of concurrent requests: its
/// report data is the Merkle root over the batch's leaves ([`crate::tpm::evidence_leaf`] of
/// each nonce and AK), zero-padded to 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsmQuote {
    /// The `provider` attribute (`tdx_guest`, `sev_guest`).
    pub provider: String,
    /// The raw `outblob` (base64): the TDX quote or SEV-SNP report.
    pub outblob: String,
    /// This evidence's position in the batch.
    pub index: u64,
    /// How many evidences shared the report.
    pub batch: u64,
    /// The inclusion proof (hex hashes, bottom up).
    pub proof: Vec<String>,
    /// Every runtime-log event extended into TDX RTMR3 this boot, oldest first, at the time of
    /// the report; absent when rasd does not extend RTMR3 (`--tsm-rtmr none`, SEV-SNP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmr3_events: Option<Vec<crate::runtime_log::PcrEvent>>,
}

/// Every runtime-log event extended into the log PCR since the TPM's last reset, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcrLog {
    /// The PCR (among the quoted ones).
    pub pcr: u8,
    /// The events, oldest first.
    pub events: Vec<crate::runtime_log::PcrEvent>,
}

/// One PCR value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcrValue {
    /// PCR index.
    pub index: u8,
    /// Its sha256-bank value (hex).
    pub sha256: String,
}

/// The calling process, as measured by rasd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// User id from `SO_PEERCRED`.
    pub uid: u32,
    /// Group id from `SO_PEERCRED`.
    pub gid: u32,
    /// Process id in rasd's pid namespace.
    pub pid: i32,
    /// Path of the executable, as `/proc/<pid>/exe` names it.
    pub exe: String,
    /// sha256 (hex) of the executable, read by rasd.
    pub exe_sha256: String,
}

/// One measured item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    /// Reference name, e.g. `file:/etc/app.conf`.
    pub name: String,
    /// sha256 (hex).
    pub sha256: String,
    /// Who took it: `rasd` for measurements rasd made itself, `workload` for reported ones.
    pub source: String,
    /// Why the item could not be measured (then `sha256` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Claims {
    /// Every item a reference file can pin, as (name, sha256): the caller's executable first.
    pub fn measured_items(&self) -> Vec<(String, String)> {
        let mut items: Vec<(String, String)> =
            self.ras.caller.iter().map(|c| (format!("exe:{}", c.exe), c.exe_sha256.clone())).collect();
        if let Some(q) = &self.ras.tpm_quote {
            // The log PCR moves with every extend; the replay, not a reference value, checks it.
            let log_pcr = q.log.as_ref().map(|l| l.pcr);
            let pinnable = q.pcrs.iter().filter(|p| Some(p.index) != log_pcr);
            items.extend(pinnable.map(|p| (format!("pcr:{}", p.index), p.sha256.clone())));
        }
        items.extend(
            self.ras.measurements.iter().filter(|m| m.source == "rasd").map(|m| (m.name.clone(), m.sha256.clone())),
        );
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subject_wire_forms() {
        assert_eq!(serde_json::to_value(Subject::Host).unwrap(), json!({"kind": "host"}));
        let c = Subject::Container { id: "ab".into(), runtime: "docker".into(), name: None, pid_ns: 7 };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"kind": "container", "id": "ab", "type": "docker", "pid_ns": 7})
        );
        assert_eq!(serde_json::to_value(Subject::Vm { cid: 3 }).unwrap(), json!({"kind": "vm", "cid": 3}));
    }
}
