//! Typed parameters and results of the `io.ras.*` methods, shared by rasd and its clients.
//! Field names are the wire names; new fields are added with `#[serde(default)]`, never renamed.

use serde::{Deserialize, Serialize};

/// Method names, so both sides spell them once.
pub mod method {
    /// `org.varlink.service.GetInfo`
    pub const SERVICE_GET_INFO: &str = "org.varlink.service.GetInfo";
    /// `org.varlink.service.GetInterfaceDescription`
    pub const SERVICE_GET_DESCRIPTION: &str = "org.varlink.service.GetInterfaceDescription";
    /// `io.ras.Attestation.GetEvidence`
    pub const GET_EVIDENCE: &str = "io.ras.Attestation.GetEvidence";
    /// `io.ras.Attestation.GetInfo`
    pub const GET_INFO: &str = "io.ras.Attestation.GetInfo";
    /// `io.ras.Admin.GetStatus`
    pub const GET_STATUS: &str = "io.ras.Admin.GetStatus";
    /// `io.ras.Admin.GetAk`
    pub const GET_AK: &str = "io.ras.Admin.GetAk";
    /// `io.ras.Admin.CreateAkCsr`
    pub const CREATE_AK_CSR: &str = "io.ras.Admin.CreateAkCsr";
    /// `io.ras.Admin.ImportAkCertificate`
    pub const IMPORT_AK_CERTIFICATE: &str = "io.ras.Admin.ImportAkCertificate";
    /// `io.ras.Admin.ListContainers`
    pub const LIST_CONTAINERS: &str = "io.ras.Admin.ListContainers";
    /// `io.ras.Admin.AddContainer`
    pub const ADD_CONTAINER: &str = "io.ras.Admin.AddContainer";
    /// `io.ras.Admin.RemoveContainer`
    pub const REMOVE_CONTAINER: &str = "io.ras.Admin.RemoveContainer";
    /// `io.ras.Attestation.ExtendMeasurement`
    pub const EXTEND_MEASUREMENT: &str = "io.ras.Attestation.ExtendMeasurement";
    /// `io.ras.Agent.Serve`
    pub const AGENT_SERVE: &str = "io.ras.Agent.Serve";
    /// `io.ras.Agent.Respond`
    pub const AGENT_RESPOND: &str = "io.ras.Agent.Respond";
    /// `io.ras.Remote.Challenge`
    pub const CHALLENGE: &str = "io.ras.Remote.Challenge";
}

/// Bounds on a nonce, in bytes (DESIGN §4.3).
pub const NONCE_MIN: usize = 8;
/// Upper bound on a nonce, in bytes.
pub const NONCE_MAX: usize = 64;

/// `org.varlink.service.GetInfo` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Who made the service.
    pub vendor: String,
    /// The product name.
    pub product: String,
    /// The product version.
    pub version: String,
    /// Where to read about it.
    pub url: String,
    /// Interfaces served on this socket.
    pub interfaces: Vec<String>,
}

/// `org.varlink.service.GetInterfaceDescription` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptionParams {
    /// The interface to describe.
    pub interface: String,
}

/// `GetEvidence` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceParams {
    /// Hex-encoded nonce, 8 to 64 bytes.
    pub nonce: String,
    /// An assertion of the caller's own container; never used as identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// `ExtendMeasurement` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendParams {
    /// Event area.
    pub domain: String,
    /// What happened.
    pub operation: String,
    /// The measured content.
    pub content: String,
}

/// `ExtendMeasurement` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtendReply {
    /// The entry's position.
    pub seq: u64,
    /// The chain value after it, hex.
    pub chain: String,
}

/// A registered container (`io.ras.Admin.Container`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// Full container id.
    pub id: String,
    /// Runtime type.
    #[serde(rename = "type")]
    pub runtime: String,
    /// Runtime's name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Inode of the container's pid namespace.
    pub pid_ns: u64,
    /// Registration time, seconds since the epoch.
    pub registered_at: i64,
    /// An agent is connected now.
    pub agent: bool,
}

/// `ListContainers` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerList {
    /// Registrations.
    pub containers: Vec<ContainerInfo>,
}

/// `AddContainer` / `RemoveContainer` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerParams {
    /// Id, id prefix (12+), or docker name.
    pub container: String,
    /// Runtime type.
    #[serde(rename = "type")]
    pub runtime: String,
}

/// `AddContainer` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddContainerReply {
    /// The registration.
    pub container: ContainerInfo,
}

/// `io.ras.Agent.Serve` parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeParams {
    /// An assertion of the agent's container; never used as identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// One reply of the `io.ras.Agent.Serve` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentEvent {
    /// `ready`, `challenge` or `ping`.
    pub kind: String,
    /// Container id (ready) or challenge/ping id.
    pub id: String,
    /// The verifier's nonce (challenge only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// `io.ras.Agent.Respond` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondParams {
    /// The challenge or ping id.
    pub id: String,
    /// Claims the workload reports about itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<serde_json::Value>,
}

/// `io.ras.Remote.ContainerRef`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteContainer {
    /// Id, unique prefix (12+), or registered name.
    pub id: String,
    /// Runtime type.
    #[serde(rename = "type")]
    pub runtime: String,
}

/// `io.ras.Remote.Challenge` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeParams {
    /// Hex nonce, 8 to 64 bytes.
    pub nonce: String,
    /// The container to attest; the host when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<RemoteContainer>,
    /// The VM guest to attest, by its vsock CID (exclusive with `container`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<u32>,
    /// The remote address the bridge saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// `GetEvidence` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceReply {
    /// JWS compact serialization.
    pub evidence: String,
}

/// `io.ras.Attestation.GetInfo` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttestationInfo {
    /// rasd version.
    pub version: String,
    /// TEE backend kind (`sim`, `tpm`, `tsm`).
    pub tee: String,
    /// `tee` when the TEE root issued the AK certificate, `ca` when an external CA did.
    pub ak_mode: String,
    /// PEM certificate a verifier passes as `--trust`.
    pub trust_anchor: String,
}

/// `io.ras.Admin.GetStatus` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// rasd version.
    pub version: String,
    /// TEE backend kind.
    pub tee: String,
    /// How the AK certificate was issued.
    pub ak_mode: String,
    /// sha256 (hex) of the AK's SubjectPublicKeyInfo.
    pub ak_fingerprint: String,
    /// Start time, seconds since the epoch.
    pub started_at: i64,
    /// Seconds since start.
    pub uptime_secs: i64,
    /// Connections open now.
    pub connections: i64,
    /// Calls served since start.
    pub calls: i64,
    /// Registered containers.
    #[serde(default)]
    pub containers: i64,
    /// Connected agents.
    #[serde(default)]
    pub agents: i64,
}

/// `io.ras.Admin.GetAk` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AkInfo {
    /// How the AK certificate was issued.
    pub mode: String,
    /// sha256 (hex) of the AK's SubjectPublicKeyInfo.
    pub fingerprint: String,
    /// PEM chain, leaf first.
    pub chain: String,
}

/// `io.ras.Admin.CreateAkCsr` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CsrReply {
    /// PEM PKCS#10 request.
    pub csr: String,
}

/// `io.ras.Admin.ImportAkCertificate` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// PEM chain, leaf first.
    pub chain: String,
}

/// `io.ras.Admin.ImportAkCertificate` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReply {
    /// The AK mode after import (`ca`).
    pub mode: String,
    /// sha256 (hex) of the AK's SubjectPublicKeyInfo.
    pub fingerprint: String,
}

/// Methods that take no parameters still refuse unknown ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}
