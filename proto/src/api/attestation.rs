//! `io.ras.Attestation`: evidence about the calling process, and its runtime log.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::method::{interface_calls, simple_method, Method};
use crate::error::{interface_errors, parse_params};
use crate::nonce::{self, Nonce};
use crate::VarlinkError;

/// The interface name.
pub const INTERFACE: &str = "io.ras.Attestation";

/// `GetEvidence(nonce, container?, bind?)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GetEvidence {
    /// The verifier's nonce.
    pub nonce: Nonce,
    /// An assertion of the caller's own container; never used as identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// A sha256 (64 hex digits, lowercase) the evidence binds, e.g. of the caller's public key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
}

impl Method for GetEvidence {
    const NAME: &'static str = "io.ras.Attestation.GetEvidence";
    type Reply = Evidence;

    fn from_params(params: Map<String, Value>) -> Result<Self, VarlinkError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            nonce: String,
            #[serde(default)]
            container: Option<String>,
            #[serde(default)]
            bind: Option<String>,
        }
        let w: Wire = parse_params(params)?;
        let nonce = nonce::from_param(&w.nonce, |min_bytes, max_bytes, got_bytes| {
            AttestationError::InvalidNonce { min_bytes, max_bytes, got_bytes }.into()
        })?;
        if let Some(b) = &w.bind {
            if b.len() != 64 || !b.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
                return Err(VarlinkError::invalid_parameter("bind"));
            }
        }
        Ok(GetEvidence { nonce, container: w.container, bind: w.bind })
    }
}

/// `GetEvidence` (and `io.ras.Remote.Challenge`) result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// JWS compact serialization.
    pub evidence: String,
}

/// `ExtendMeasurement(domain, operation, content)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendMeasurement {
    /// Event area.
    pub domain: String,
    /// What happened.
    pub operation: String,
    /// The measured content.
    pub content: String,
}
simple_method!(ExtendMeasurement = "io.ras.Attestation.ExtendMeasurement" -> Extended);

/// `ExtendMeasurement` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extended {
    /// The entry's position.
    pub seq: u64,
    /// The chain value after it, hex.
    pub chain: String,
}

/// `GetInfo()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetInfo {}
simple_method!(GetInfo = "io.ras.Attestation.GetInfo" -> Info);

/// `GetInfo` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// rasd version.
    pub version: String,
    /// TEE backend kind (`sim`, `tpm`, `tsm`).
    pub tee: String,
    /// `tee` when the TEE root issued the AK certificate, `ca` when an external CA did.
    pub ak_mode: String,
    /// PEM certificate a verifier passes as `--trust`.
    pub trust_anchor: String,
}

interface_calls! {
    /// A call to `io.ras.Attestation`.
    pub enum AttestationCall { GetEvidence, ExtendMeasurement, GetInfo }
}

interface_errors! {
    /// The errors of `io.ras.Attestation`.
    pub enum AttestationError = "io.ras.Attestation" {
        /// The nonce is not between min_bytes and max_bytes long.
        InvalidNonce { min_bytes: u64, max_bytes: u64, got_bytes: u64 },
        /// The calling process went away, or its /proc entries could not be read.
        PeerGone { reason: String },
        /// The TEE or the AK failed to produce evidence.
        SigningFailed { reason: String },
        /// The caller's container is not registered.
        NotRegistered { id: String, r#type: String },
        /// The subject's runtime log is full.
        LogFull { max_entries: u64, max_bytes: u64 },
        /// The runtime log could not be made durable; the event was not recorded.
        LogFailed { reason: String },
    }
}
