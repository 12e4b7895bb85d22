//! `io.ras.Remote`: challenges from remote verifiers, through ras-bridge.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attestation::Evidence;
use super::method::{interface_calls, simple_method, Method};
use crate::error::{interface_errors, parse_params};
use crate::nonce::{self, Nonce};
use crate::VarlinkError;

/// The interface name.
pub const INTERFACE: &str = "io.ras.Remote";

/// `io.ras.Remote.ContainerRef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerRef {
    /// Id, unique prefix (12+), or registered name.
    pub id: String,
    /// Runtime type.
    #[serde(rename = "type")]
    pub runtime: String,
}

/// `Challenge(nonce, container?, vm?, peer?)`. At most one of `container` and `vm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Challenge {
    /// The verifier's nonce.
    pub nonce: Nonce,
    /// The container to attest; the host when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerRef>,
    /// The VM guest to attest, by its vsock CID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm: Option<u32>,
    /// The remote address the bridge saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

impl Method for Challenge {
    const NAME: &'static str = "io.ras.Remote.Challenge";
    type Reply = Evidence;

    fn from_params(params: Map<String, Value>) -> Result<Self, VarlinkError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            nonce: String,
            #[serde(default)]
            container: Option<ContainerRef>,
            #[serde(default)]
            vm: Option<u32>,
            #[serde(default)]
            peer: Option<String>,
        }
        let w: Wire = parse_params(params)?;
        let nonce = nonce::from_param(&w.nonce, |min_bytes, max_bytes, got_bytes| {
            RemoteError::InvalidNonce { min_bytes, max_bytes, got_bytes }.into()
        })?;
        if w.container.is_some() && w.vm.is_some() {
            return Err(VarlinkError::invalid_parameter("vm"));
        }
        Ok(Challenge { nonce, container: w.container, vm: w.vm, peer: w.peer })
    }
}

/// `GetEnrollment()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetEnrollment {}
simple_method!(GetEnrollment = "io.ras.Remote.GetEnrollment" -> Enrollment);

/// `GetEnrollment` result (binary fields in standard base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// The TPM's EK certificate, DER.
    pub ek_certificate: String,
    /// The TPM AK's `TPMT_PUBLIC`.
    pub ak_public: String,
    /// The TPM AK's self-signed certificate, DER.
    pub ak_certificate: String,
}

/// Longest base64 field of `ActivateCredential`: an RSA-4096 secret is 512 bytes.
pub const MAX_CREDENTIAL_FIELD: usize = 1024;

/// `ActivateCredential(credential_blob, secret)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateCredential {
    /// `TPM2B_ID_OBJECT` contents, base64.
    pub credential_blob: String,
    /// `TPM2B_ENCRYPTED_SECRET` contents, base64.
    pub secret: String,
}

impl Method for ActivateCredential {
    const NAME: &'static str = "io.ras.Remote.ActivateCredential";
    type Reply = Activated;

    fn from_params(params: Map<String, Value>) -> Result<Self, VarlinkError> {
        let call: ActivateCredential = parse_params(params)?;
        for (name, v) in [("credential_blob", &call.credential_blob), ("secret", &call.secret)] {
            if v.len() > MAX_CREDENTIAL_FIELD {
                return Err(VarlinkError::invalid_parameter(name));
            }
        }
        Ok(call)
    }
}

/// `ActivateCredential` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activated {
    /// The activated secret, base64.
    pub credential: String,
}

interface_calls! {
    /// A call to `io.ras.Remote`.
    pub enum RemoteCall { Challenge, GetEnrollment, ActivateCredential }
}

interface_errors! {
    /// The errors of `io.ras.Remote`.
    pub enum RemoteError = "io.ras.Remote" {
        /// The backend has no TPM.
        NoTpm { tee: String },
        /// The TPM refused the credential.
        ActivationFailed { reason: String },
        /// The nonce is not between min_bytes and max_bytes long.
        InvalidNonce { min_bytes: u64, max_bytes: u64, got_bytes: u64 },
        /// No registered container matches.
        UnknownContainer { id: String, r#type: String },
        /// The container has no agent connected.
        NoAgent { id: String, r#type: String },
        /// The agent did not answer within the deadline.
        AgentTimeout { id: String, r#type: String, timeout_ms: u64 },
        /// The agent's connection closed before it answered.
        AgentGone { id: String, r#type: String },
        /// ras-bridge could not reach rasd.
        Unavailable { reason: String },
        /// ras-bridge gave up on the call after timeout_ms.
        RequestTimeout { timeout_ms: u64 },
    }
}
