//! ras evidence: what rasd signs and what a verifier checks.
//!
//! # Layout
//! - [`claims`]: the EAT-style claims set (`eat_nonce`, `iat`, `eat_profile`, `ras`).
//! - [`jws`]: JWS compact serialization with ES256 and an `x5c` chain (RFC 7515).
//! - [`jwe`]: JWE compact serialization with ECDH-ES and A256GCM on P-256 (RFC 7516): secrets
//!   released to the key that evidence binds.
//! - [`report`]: TEE reports that bind 64 bytes of report data, and the simulated TEE's report.
//! - [`cert`]: AK certificates: issuing, the report extension, chain validation to a trust anchor.
//! - [`x509`]: reading one certificate: a bounded parse, its public key and subject.
//! - [`digest`]: sha256 as hex, the one digest form of ras.
//! - [`pem`]: PEM encoding of certificates and keys.
//! - [`runtime_log`]: per-subject hash chains of runtime events, and their replay.
//! - [`tsm`]: the raw reports of Linux configfs-tsm (TDX quotes, SEV-SNP reports) and where
//!   their report data are.
//! - [`policy`]: verification policy in Rego (regorus), and the default policy.
//! - [`reference`]: reference values (`NAME SHA256` per line).
//! - [`tpm`]: TPM 2.0 keys, quotes and signatures from their wire form, and PCR replay.
//! - [`enrol`]: TPM AK enrolment: the EK certificate check and software `MakeCredential`.
//! - [`merkle`]: the Merkle tree over evidence that shares one TPM quote.
//! - [`verify`]: the ordered checks of DESIGN §4.4, and the verdict that names the first failure.

pub mod cert;
pub mod claims;
pub mod digest;
pub mod enrol;
pub mod jwe;
pub mod jws;
pub mod merkle;
pub mod pem;
pub mod policy;
pub mod reference;
pub mod report;
pub mod runtime_log;
pub mod tpm;
pub mod tsm;
pub mod verify;
pub mod x509;

pub use claims::{Caller, Claims, Measurement, RasClaims, Subject};
pub use digest::sha256_hex;
pub use verify::{
    verify, Appraiser, CheckName, Expectations, ExpectedSubject, Outcome, TsmEvidence, TsmPolicy, Verdict,
};

#[cfg(test)]
mod tests;
