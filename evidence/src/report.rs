//! TEE reports: a statement by the TEE that binds 64 bytes of report data.
//!
//! rasd binds its AK to the TEE by asking for a report whose data is the sha256 of the AK's
//! SubjectPublicKeyInfo (zero-padded to 64 bytes), and puts the report into an extension of the
//! AK certificate ([`crate::cert`]). The report is JSON tagged by `tee`, wrapped in a DER
//! UTF8String so that the extension value is proper DER.
//!
//! The `sim` report is signed by a software device key. It proves nothing about hardware,
//! which is why verifiers accept it only with `--allow-sim`.
//!
//! The `tpm` report is a `TPM2_Quote` by a TPM-resident attestation key whose qualifying data
//! is the sha256 of the 64 bytes of report data; the same TPM key issued the certificate that
//! carries it, and the verifier checks both ([`TeeReport::issuer_spki`]).
//!
//! The `tsm` report carries the raw report of Linux configfs-tsm (a TDX quote or an SEV-SNP
//! report) as the kernel returned it. Its binding is checked here from the raw bytes
//! ([`crate::tsm`]); its hardware signature is appraised outside ras
//! ([`crate::verify::Appraiser`]).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::signature::{self, EcdsaKeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Size of report data, as in TDX and SEV-SNP reports.
pub const REPORT_DATA_LEN: usize = 64;
/// Domain separation for sim report signatures.
const SIM_CONTEXT: &[u8] = b"ras-sim-report-v1\0";
/// Bound on an encoded report; a peer-supplied certificate cannot make us parse more.
const MAX_REPORT: usize = 64 * 1024;

/// A report failure.
#[derive(Debug, Error)]
pub enum ReportError {
    /// The extension bytes are not a DER UTF8String of JSON.
    #[error("TEE report is malformed: {0}")]
    Malformed(String),
    /// The report does not bind the expected data.
    #[error("TEE report binds other data than the AK public key")]
    WrongReportData,
    /// The report's signature does not verify.
    #[error("TEE report signature does not verify")]
    BadSignature,
    /// The signing key could not be used.
    #[error("TEE signing key is unusable")]
    Key,
    /// The raw configfs-tsm report cannot be read.
    #[error(transparent)]
    Tsm(#[from] crate::tsm::TsmError),
}

/// A TEE report, tagged by backend kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tee", rename_all = "lowercase")]
pub enum TeeReport {
    /// The simulated TEE.
    Sim(SimReport),
    /// A TPM 2.0.
    Tpm(TpmReport),
    /// Linux configfs-tsm: a TDX, SEV-SNP (or, refused by this version, CCA) guest.
    Tsm(TsmReport),
}

/// A report of a TPM 2.0: a quote by its attestation key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmReport {
    /// The TPM AK's `TPMT_PUBLIC` (base64).
    pub ak_public: String,
    /// The quote's `TPMS_ATTEST` (base64); its qualifying data is sha256(report data) and it
    /// selects no PCRs (PCR values travel in fresh quotes, one per evidence).
    pub attest: String,
    /// The quote's `TPMT_SIGNATURE` (base64).
    pub signature: String,
}

impl TpmReport {
    /// The AK this report is by, checked to be a restricted TPM-bound signing key.
    pub fn ak(&self) -> Result<crate::tpm::AkPublic, ReportError> {
        let raw = STANDARD.decode(&self.ak_public).map_err(|_| ReportError::Malformed("ak_public".into()))?;
        crate::tpm::AkPublic::parse(&raw).map_err(|e| ReportError::Malformed(e.to_string()))
    }
}

/// A report of the simulated TEE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimReport {
    /// The 64 bytes of report data, hex.
    pub report_data: String,
    /// The device root certificate (DER, base64), whose key signed the report.
    pub device_cert: String,
    /// ECDSA P-256 signature (r||s, base64url) over the context string and the report data.
    pub signature: String,
}

/// A report of Linux configfs-tsm, as read from `/sys/kernel/config/tsm/report/<entry>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsmReport {
    /// The `provider` attribute: `tdx_guest`, `sev_guest` or `arm_cca_guest`.
    pub provider: String,
    /// The `outblob` attribute, standard base64: the raw TDX quote or SEV-SNP report.
    pub outblob: String,
    /// The `generation` attribute after `outblob` was read.
    pub generation: u64,
    /// The 64 bytes of report data rasd wrote to `inblob`, hex. Informational: a verifier
    /// reads the report data out of `outblob` itself and refuses a report where they differ.
    pub report_data: String,
}

impl TsmReport {
    /// The raw report, decoded and bounded.
    pub fn raw(&self) -> Result<Vec<u8>, ReportError> {
        // Base64 is 4/3 of the bytes: refuse before decoding anything larger than a report.
        if self.outblob.len() > crate::tsm::MAX_OUTBLOB.div_ceil(3) * 4 {
            return Err(crate::tsm::TsmError::TooLarge(self.outblob.len() / 4 * 3).into());
        }
        STANDARD.decode(&self.outblob).map_err(|_| ReportError::Malformed("outblob is not base64".into()))
    }

    /// Reads the raw report and checks that it binds `expected`.
    pub fn check_binding(&self, expected: &[u8; REPORT_DATA_LEN]) -> Result<crate::tsm::Parsed, ReportError> {
        let parsed = crate::tsm::parse(&self.provider, &self.raw()?)?;
        if hex::decode(&self.report_data).ok().as_deref() != Some(&parsed.report_data[..]) {
            return Err(ReportError::Malformed(format!(
                "report_data does not equal the report data inside the {}",
                parsed.provider.report_name()
            )));
        }
        if &parsed.report_data != expected {
            return Err(ReportError::WrongReportData);
        }
        Ok(parsed)
    }
}

impl TeeReport {
    /// Backend kind, as it appears in the `tee` claim.
    pub fn kind(&self) -> &'static str {
        match self {
            TeeReport::Sim(_) => "sim",
            TeeReport::Tpm(_) => "tpm",
            TeeReport::Tsm(_) => "tsm",
        }
    }

    /// The key that must have signed the certificate carrying this report, as a DER
    /// SubjectPublicKeyInfo: for `tpm`, the TPM AK (which issues the certificate, so the
    /// quote and the chain name the same key). `None` where the report does not fix it.
    pub fn issuer_spki(&self) -> Result<Option<Vec<u8>>, ReportError> {
        match self {
            TeeReport::Sim(_) | TeeReport::Tsm(_) => Ok(None),
            TeeReport::Tpm(r) => Ok(Some(r.ak()?.spki_der())),
        }
    }

    /// Makes a sim report over `data`, signed by the device key.
    pub fn sim_sign(
        device_key: &EcdsaKeyPair,
        device_cert_der: &[u8],
        data: &[u8; REPORT_DATA_LEN],
    ) -> Result<Self, ReportError> {
        let rng = ring::rand::SystemRandom::new();
        let msg = [SIM_CONTEXT, data].concat();
        let sig = device_key.sign(&rng, &msg).map_err(|_| ReportError::Key)?;
        Ok(TeeReport::Sim(SimReport {
            report_data: hex::encode(data),
            device_cert: STANDARD.encode(device_cert_der),
            signature: URL_SAFE_NO_PAD.encode(sig.as_ref()),
        }))
    }

    /// Checks that the report binds `expected` and, for `sim`, that its signature verifies.
    /// A `tsm` report's hardware signature is not checked here: that is the appraiser's job
    /// (see [`crate::verify`]), and the verifier says whether it was done.
    pub fn verify(&self, expected: &[u8; REPORT_DATA_LEN]) -> Result<(), ReportError> {
        match self {
            TeeReport::Sim(r) => {
                let data = hex::decode(&r.report_data).map_err(|_| ReportError::Malformed("report_data".into()))?;
                if data != expected {
                    return Err(ReportError::WrongReportData);
                }
                let cert = STANDARD.decode(&r.device_cert).map_err(|_| ReportError::Malformed("device_cert".into()))?;
                let sig =
                    URL_SAFE_NO_PAD.decode(&r.signature).map_err(|_| ReportError::Malformed("signature".into()))?;
                let key = crate::x509::public_key_of(&cert).map_err(|e| ReportError::Malformed(e.to_string()))?;
                let msg = [SIM_CONTEXT, &data].concat();
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, key)
                    .verify(&msg, &sig)
                    .map_err(|_| ReportError::BadSignature)
            }
            TeeReport::Tpm(r) => {
                let ak = r.ak()?;
                let field = |name: &str, v: &str| {
                    STANDARD.decode(v).map_err(|_| ReportError::Malformed(format!("{name} is not base64")))
                };
                let attest = field("attest", &r.attest)?;
                let sig = field("signature", &r.signature)?;
                let want = ring::digest::digest(&ring::digest::SHA256, expected);
                match crate::tpm::verify_quote(&ak, &attest, &sig, want.as_ref(), &[]) {
                    Ok(_) => Ok(()),
                    Err(crate::tpm::TpmError::BadSignature) => Err(ReportError::BadSignature),
                    Err(crate::tpm::TpmError::Mismatch(m)) if m.starts_with("qualifying") => {
                        Err(ReportError::WrongReportData)
                    }
                    Err(e) => Err(ReportError::Malformed(e.to_string())),
                }
            }
            TeeReport::Tsm(r) => r.check_binding(expected).map(drop),
        }
    }

    /// DER encoding for the certificate extension: a UTF8String holding the JSON.
    pub fn to_der(&self) -> Vec<u8> {
        let json = serde_json::to_vec(self).expect("a report is always serializable");
        let mut out = vec![0x0c];
        der_length(json.len(), &mut out);
        out.extend_from_slice(&json);
        out
    }

    /// Parses the extension value written by [`TeeReport::to_der`].
    pub fn from_der(der: &[u8]) -> Result<Self, ReportError> {
        if der.len() > MAX_REPORT {
            return Err(ReportError::Malformed("report too large".into()));
        }
        let (&tag, rest) = der.split_first().ok_or_else(|| ReportError::Malformed("empty".into()))?;
        if tag != 0x0c {
            return Err(ReportError::Malformed("not a UTF8String".into()));
        }
        let (len, body) = read_der_length(rest).ok_or_else(|| ReportError::Malformed("bad length".into()))?;
        if body.len() != len {
            return Err(ReportError::Malformed("length mismatch".into()));
        }
        serde_json::from_slice(body).map_err(|e| ReportError::Malformed(e.to_string()))
    }
}

/// The report data that binds an AK: sha256 of its SubjectPublicKeyInfo, zero-padded.
pub fn ak_binding(spki_der: &[u8]) -> [u8; REPORT_DATA_LEN] {
    let mut data = [0u8; REPORT_DATA_LEN];
    data[..32].copy_from_slice(ring::digest::digest(&ring::digest::SHA256, spki_der).as_ref());
    data
}

fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|&b| b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
}

fn read_der_length(input: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first < 0x80 {
        return Some((first as usize, rest));
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 || rest.len() < n {
        return None;
    }
    let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
    Some((len, &rest[n..]))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cert::tests::device;
    use proptest::prelude::*;

    #[test]
    fn sim_report_roundtrip_and_binding() {
        let (key, cert) = device();
        let data = ak_binding(b"some spki");
        let r = TeeReport::sim_sign(&key, &cert, &data).unwrap();
        let back = TeeReport::from_der(&r.to_der()).unwrap();
        assert_eq!(back, r);
        back.verify(&data).unwrap();
        assert!(matches!(back.verify(&ak_binding(b"other")), Err(ReportError::WrongReportData)));
    }

    #[test]
    fn tampered_sim_report_fails() {
        let (key, cert) = device();
        let data = ak_binding(b"k");
        let TeeReport::Sim(mut r) = TeeReport::sim_sign(&key, &cert, &data).unwrap() else { unreachable!() };
        let (other_key, other_cert) = device();
        let TeeReport::Sim(o) = TeeReport::sim_sign(&other_key, &other_cert, &data).unwrap() else { unreachable!() };
        r.signature = o.signature;
        assert!(matches!(TeeReport::Sim(r).verify(&data), Err(ReportError::BadSignature)));
    }

    /// A tsm report over the recorded TDX quote, with `data` laid over its report data.
    pub(crate) fn tdx_report(data: &[u8; REPORT_DATA_LEN]) -> TeeReport {
        let mut raw = crate::tsm::tests::TDX_V4.to_vec();
        raw[568..632].copy_from_slice(data);
        TeeReport::Tsm(TsmReport {
            provider: "tdx_guest".into(),
            outblob: STANDARD.encode(&raw),
            generation: 1,
            report_data: hex::encode(data),
        })
    }

    #[test]
    fn tsm_report_roundtrip_and_binding_from_the_raw_quote() {
        let data = ak_binding(b"some spki");
        let r = tdx_report(&data);
        let back = TeeReport::from_der(&r.to_der()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.kind(), "tsm");
        back.verify(&data).unwrap();
        assert!(matches!(back.verify(&ak_binding(b"other")), Err(ReportError::WrongReportData)));
    }

    #[test]
    fn a_tsm_report_data_field_is_never_trusted() {
        // The field says the AK's binding, the quote binds something else: refused.
        let data = ak_binding(b"the ak");
        let TeeReport::Tsm(mut r) = tdx_report(&ak_binding(b"another key")) else { unreachable!() };
        r.report_data = hex::encode(data);
        assert!(TeeReport::Tsm(r.clone()).verify(&data).is_err());
        // An unknown provider, a CCA token, and an oversized or non-base64 outblob.
        for (provider, outblob) in [
            ("sgx", r.outblob.clone()),
            ("arm_cca_guest", r.outblob.clone()),
            ("tdx_guest", "A".repeat(50_000)),
            ("tdx_guest", "!!".into()),
        ] {
            let bad = TsmReport { provider: provider.into(), outblob, ..r.clone() };
            assert!(TeeReport::Tsm(bad).verify(&data).is_err(), "{provider}");
        }
    }

    proptest! {
        #[test]
        fn from_der_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = TeeReport::from_der(&bytes);
        }

        #[test]
        fn long_lengths_roundtrip(n in 0usize..70000) {
            let mut out = Vec::new();
            der_length(n, &mut out);
            out.extend(std::iter::repeat_n(0, n));
            let (len, rest) = read_der_length(&out).unwrap();
            prop_assert_eq!(len, n);
            prop_assert_eq!(rest.len(), n);
        }
    }
}
