//! `io.ras.Admin`: status, the attestation key, and container registrations.

use serde::{Deserialize, Serialize};

use super::method::{interface_calls, simple_method, Empty};
use crate::error::interface_errors;

/// The interface name.
pub const INTERFACE: &str = "io.ras.Admin";

/// A registered container (`io.ras.Admin.Container`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
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

/// `GetStatus()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetStatus {}
simple_method!(GetStatus = "io.ras.Admin.GetStatus" -> Status);

/// `GetStatus` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// rasd version.
    pub version: String,
    /// TEE backend kind.
    pub tee: String,
    /// What the backend's evidence establishes.
    #[serde(default)]
    pub proves: String,
    /// What it does not.
    #[serde(default)]
    pub does_not_prove: String,
    /// `TPM2_Quote` calls made for fresh quotes since start.
    #[serde(default)]
    pub quotes: i64,
    /// Evidences those quotes served (more than `quotes` when batched).
    #[serde(default)]
    pub quoted: i64,
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

/// `GetAk()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetAk {}
simple_method!(GetAk = "io.ras.Admin.GetAk" -> Ak);

/// `GetAk` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ak {
    /// How the AK certificate was issued.
    pub mode: String,
    /// sha256 (hex) of the AK's SubjectPublicKeyInfo.
    pub fingerprint: String,
    /// PEM chain, leaf first.
    pub chain: String,
}

/// `CreateAkCsr()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAkCsr {}
simple_method!(CreateAkCsr = "io.ras.Admin.CreateAkCsr" -> Csr);

/// `CreateAkCsr` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Csr {
    /// PEM PKCS#10 request.
    pub csr: String,
}

/// `ImportAkCertificate(chain)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportAkCertificate {
    /// PEM chain, leaf first.
    pub chain: String,
}
simple_method!(ImportAkCertificate = "io.ras.Admin.ImportAkCertificate" -> Imported);

/// `ImportAkCertificate` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    /// The AK mode after import (`ca`).
    pub mode: String,
    /// sha256 (hex) of the AK's SubjectPublicKeyInfo.
    pub fingerprint: String,
}

/// `ListContainers()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListContainers {}
simple_method!(ListContainers = "io.ras.Admin.ListContainers" -> ContainerList);

/// `ListContainers` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerList {
    /// Registrations.
    pub containers: Vec<Container>,
}

/// `AddContainer(container, type)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddContainer {
    /// Id, id prefix (12+), or docker name.
    pub container: String,
    /// Runtime type.
    #[serde(rename = "type")]
    pub runtime: String,
}
simple_method!(AddContainer = "io.ras.Admin.AddContainer" -> Added);

/// `AddContainer` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    /// The registration.
    pub container: Container,
}

/// `RemoveContainer(container, type)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveContainer {
    /// Id, id prefix (12+), or docker name.
    pub container: String,
    /// Runtime type.
    #[serde(rename = "type")]
    pub runtime: String,
}
simple_method!(RemoveContainer = "io.ras.Admin.RemoveContainer" -> Empty);

interface_calls! {
    /// A call to `io.ras.Admin`.
    pub enum AdminCall {
        GetStatus, GetAk, CreateAkCsr, ImportAkCertificate, ListContainers, AddContainer, RemoveContainer,
    }
}

interface_errors! {
    /// The errors of `io.ras.Admin`.
    pub enum AdminError = "io.ras.Admin" {
        /// The imported chain was refused; the old chain stays in use.
        AkImportRejected { reason: String },
        /// The AK or the TEE failed while serving the call.
        AkFailed { reason: String },
        /// No running container matches.
        ContainerNotFound { container: String, r#type: String, reason: String },
    }
}
