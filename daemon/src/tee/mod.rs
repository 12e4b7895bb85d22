//! TEE backends (DESIGN §4.1). A backend has one job: produce a hardware-rooted report that
//! binds 64 bytes of report data. In "no AS" mode it also owns the root that issues the AK
//! certificate, when it has one; a backend without a key that can sign X.509 (configfs-tsm)
//! has the AK certificate self-signed instead. Report verification lives with the verifier, in
//! `ras-evidence`.

pub mod sim;
pub mod tsm;

use ras_evidence::report::{TeeReport, REPORT_DATA_LEN};
use thiserror::Error;

/// A backend failure.
#[derive(Debug, Error)]
pub enum TeeError {
    /// Backend state on disk could not be read or written.
    #[error("TEE state {path}")]
    State {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A key or certificate is unusable.
    #[error("TEE key material: {0}")]
    Key(String),
    /// A key or certificate file could not be read or written.
    #[error(transparent)]
    File(#[from] crate::state::PemFileError),
    /// A key could not be made or loaded.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    /// Report generation failed.
    #[error("TEE report: {0}")]
    Report(String),
    /// The configfs-tsm interface failed.
    #[error(transparent)]
    Tsm(#[from] tsm::TsmError),
}

/// A TEE backend.
pub trait Tee: Send + Sync {
    /// Kind, as in the `tee` claim.
    fn kind(&self) -> &'static str;
    /// A report binding `data`.
    fn report(&self, data: &[u8; REPORT_DATA_LEN]) -> Result<TeeReport, TeeError>;
    /// The root certificate (DER) that issues AK certificates in "no AS" mode; `None` when
    /// the backend has none, and the AK certificate is self-signed.
    fn root_cert(&self) -> Option<&[u8]>;
    /// Issues an AK certificate (DER) for `ak` carrying `report`: signed by the root, or
    /// self-signed by the AK when there is no root.
    fn issue_ak_cert(&self, ak: &rcgen::KeyPair, report: &TeeReport) -> Result<Vec<u8>, TeeError>;
}
