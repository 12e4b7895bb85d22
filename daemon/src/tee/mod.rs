//! TEE backends (DESIGN §4.1). A backend has one job: produce a hardware-rooted report that
//! binds 64 bytes of report data. In "no AS" mode it also owns the root that issues the AK
//! certificate, when it has one; a backend without a key that can sign X.509 (configfs-tsm)
//! has the AK certificate self-signed instead. Report verification lives with the verifier, in
//! `ras-evidence`.

pub mod rtmr;
pub mod sim;
#[cfg(feature = "tpm")]
pub mod tpm;
pub mod tsm;

use ras_evidence::report::{TeeReport, REPORT_DATA_LEN};
use ras_evidence::runtime_log::PcrEvent;
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
    /// A backend's own typed error (configfs-tsm's [`tsm::TsmError`], say). Boxed, so that
    /// this module does not depend on the backends that depend on it.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// A quote of the PCRs made for one evidence, in a batch of `batch` that shares it.
#[derive(Debug, Clone)]
pub struct FreshQuote {
    /// `TPMS_ATTEST`.
    pub attest: Vec<u8>,
    /// `TPMT_SIGNATURE`.
    pub signature: Vec<u8>,
    /// The quoted PCR values (index, sha256 bank).
    pub pcrs: Vec<(u8, [u8; 32])>,
    /// This evidence's leaf index.
    pub index: u64,
    /// Leaves in the batch.
    pub batch: u64,
    /// Inclusion proof of the leaf.
    pub proof: Vec<[u8; 32]>,
    /// The runtime-log PCR and its events at the time of the quote.
    pub log: Option<(u8, Vec<PcrEvent>)>,
}

/// A fresh configfs-tsm report made for one evidence, in a batch of `batch` that shares it.
#[derive(Debug, Clone)]
pub struct FreshReport {
    /// The `provider` attribute.
    pub provider: String,
    /// The raw `outblob`, base64.
    pub outblob: String,
    /// This evidence's leaf index.
    pub index: u64,
    /// Leaves in the batch.
    pub batch: u64,
    /// Inclusion proof of the leaf.
    pub proof: Vec<[u8; 32]>,
    /// The events in RTMR3 at the time of the report, when rasd extends it.
    pub rtmr3_events: Option<Vec<PcrEvent>>,
}

/// A fresh hardware statement for one evidence.
#[derive(Debug, Clone)]
pub enum Fresh {
    /// A TPM quote of the PCRs.
    Tpm(FreshQuote),
    /// A configfs-tsm report.
    Tsm(FreshReport),
}

/// Why an event did not reach the hardware register.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AnchorError {
    /// Nothing was recorded: the caller undoes its entry.
    #[error("the runtime-log PCR journal: {0}")]
    NotCommitted(String),
    /// The event is in the journal but not yet in the register; rasd extends it at its next
    /// start, and refuses further events until then.
    #[error("the runtime-log PCR: {0}; restart rasd to extend it")]
    NotExtended(String),
}

/// A hardware register that runtime-log entries are also extended into (a TPM PCR), so that
/// a log changed later, even by root, no longer replays to the quoted value.
pub trait LogAnchor: Send + Sync {
    /// The register (a PCR index; 3 for TDX RTMR3).
    fn pcr(&self) -> u8;
    /// The events committed when rasd started (after reconciling them with the register).
    fn events_at_start(&self) -> &[PcrEvent];
    /// True when the register had been reset since the journal was written (a new boot): the
    /// journal was put aside, and the runtime logs of that boot must be too.
    fn fresh_boot(&self) -> bool;
    /// Commits `event` to the journal and extends the register. Blocking.
    fn extend(&self, event: PcrEvent) -> Result<(), AnchorError>;
}

/// Where a fresh quote arrives; an error is a sentence for the caller.
pub type QuoteReply = tokio::sync::oneshot::Receiver<Result<Fresh, String>>;

/// What a verifier needs to enrol a TPM AK (DER and `TPMT_PUBLIC` bytes).
#[derive(Debug, Clone)]
pub struct TpmEnrollment {
    /// The EK certificate from the TPM's NV index.
    pub ek_certificate: Vec<u8>,
    /// The TPM AK's `TPMT_PUBLIC`.
    pub ak_public: Vec<u8>,
    /// The TPM AK's self-signed certificate.
    pub ak_certificate: Vec<u8>,
}

/// A TEE backend.
pub trait Tee: Send + Sync {
    /// Kind, as in the `tee` claim.
    fn kind(&self) -> &'static str;
    /// What this backend's evidence establishes, and what it does not, in a sentence each
    /// (`rasctl status`).
    fn claims(&self) -> (&'static str, &'static str);
    /// The register runtime-log entries are extended into, if any.
    fn log_anchor(&self) -> Option<&dyn LogAnchor> {
        None
    }
    /// Fresh quotes so far: (`TPM2_Quote` calls or configfs-tsm reports, evidences they served).
    fn quote_counts(&self) -> (u64, u64) {
        (0, 0)
    }
    /// A report binding `data`.
    fn report(&self, data: &[u8; REPORT_DATA_LEN]) -> Result<TeeReport, TeeError>;
    /// The root certificate (DER) that issues AK certificates in "no AS" mode; `None` when
    /// the backend has none, and the AK certificate is self-signed.
    fn root_cert(&self) -> Option<&[u8]>;
    /// Issues an AK certificate (DER) for `ak` carrying `report`: signed by the root, or
    /// self-signed by the AK when there is no root.
    fn issue_ak_cert(&self, ak: &rcgen::KeyPair, report: &TeeReport) -> Result<Vec<u8>, TeeError>;
    /// Asks for a fresh quote of the platform's registers over a Merkle `leaf`; `None` when
    /// the backend has none (sim).
    fn fresh_quote(&self, _leaf: [u8; 32]) -> Option<QuoteReply> {
        None
    }
    /// The enrolment material of a TPM AK; `None` when the backend has no TPM. Blocks.
    fn enrollment(&self) -> Option<Result<TpmEnrollment, TeeError>> {
        None
    }
    /// `TPM2_ActivateCredential` with the AK and the EK; `None` when the backend has no TPM.
    /// Blocks.
    fn activate_credential(&self, _id_object: Vec<u8>, _secret: Vec<u8>) -> Option<Result<Vec<u8>, TeeError>> {
        None
    }
}
