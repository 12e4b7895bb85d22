//! AK certificates: issuing them with the TEE report extension, making a CSR for an external
//! CA, and validating a chain to a trust anchor (rustls-webpki).

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use thiserror::Error;

use crate::report::{ReportError, TeeReport};
use crate::x509::parse;
pub use crate::x509::{public_key_of, spki_of, subject_of, X509Error, MAX_CERT};

/// OID arc of ras: a 2.25 (UUID) arc, provisional until ras has a registered one.
pub const RAS_ARC: &[u64] = &[2, 25, 3386384971033689653];
/// The AK certificate extension that carries the TEE report (`RAS_ARC.1`), non-critical.
pub const REPORT_EXT_OID: &[u64] = &[2, 25, 3386384971033689653, 1];
/// DER of the ras AK extended-key-usage OID (`RAS_ARC.2`): a CA that sets EKUs must include it.
const AK_EKU_DER: &[u8] = &[0x69, 0xae, 0xff, 0xb6, 0xe6, 0x87, 0xb9, 0xbc, 0xfc, 0x35, 0x02];
/// Bound on the number of certificates in a chain from a peer.
pub const MAX_CHAIN: usize = 8;

/// A certificate failure.
#[derive(Debug, Error)]
pub enum CertError {
    /// One certificate does not parse, or has the wrong key.
    #[error(transparent)]
    X509(#[from] X509Error),
    /// The chain does not lead to a trust anchor.
    #[error("chain does not verify to the trust anchor: {0}")]
    Chain(String),
    /// A chain or certificate is over the bounds.
    #[error("chain too large (at most {MAX_CHAIN} certificates of {MAX_CERT} bytes)")]
    TooLarge,
    /// rcgen refused to build a certificate.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// The report extension is broken.
    #[error(transparent)]
    Report(#[from] ReportError),
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "ras");
    dn.push(DnType::CommonName, cn);
    dn
}

fn validity(params: &mut CertificateParams, days: u64) {
    let now = time::OffsetDateTime::now_utc();
    // A minute of slack for verifiers whose clocks run a little behind.
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::days(days as i64);
}

/// Issues the self-signed root certificate of the simulated TEE device.
pub fn issue_sim_root(key: &KeyPair) -> Result<rcgen::Certificate, CertError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn("ras SIMULATED TEE device root (not hardware)");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    validity(&mut params, 20 * 365);
    Ok(params.self_signed(key)?)
}

/// Issues the self-signed root certificate of a TPM attestation key (`key` is the TPM AK as a
/// remote signer). It is small on purpose: the TPM hashes at most 1024 bytes.
pub fn issue_tpm_root(key: &KeyPair) -> Result<Vec<u8>, CertError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn("ras TPM attestation key");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    validity(&mut params, 20 * 365);
    Ok(params.self_signed(key)?.der().to_vec())
}

/// The parameters of an AK certificate (or CSR) that carries `report`.
fn ak_params(report: &TeeReport) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn("ras attestation key");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let mut ext = CustomExtension::from_oid_content(REPORT_EXT_OID, report.to_der());
    ext.set_criticality(false);
    params.custom_extensions = vec![ext];
    params
}

/// Issues the AK certificate, signed by the issuer (the TEE root). Returns DER.
pub fn issue_ak(
    ak: &KeyPair,
    report: &TeeReport,
    issuer_der: &[u8],
    issuer_key: &KeyPair,
) -> Result<Vec<u8>, CertError> {
    let issuer_params = CertificateParams::from_ca_cert_der(&CertificateDer::from(issuer_der))?;
    // rcgen needs an issuer `Certificate`; re-signing its parameters yields the same name and
    // key identifier, which is all that signing uses.
    let issuer = issuer_params.self_signed(issuer_key)?;
    let mut params = ak_params(report);
    // A CSR may not carry these, so they are added only when we issue the certificate.
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, 5 * 365);
    Ok(params.signed_by(ak, &issuer, issuer_key)?.der().to_vec())
}

/// Issues the AK certificate self-signed by the AK, for a TEE without a key that can sign
/// X.509 (configfs-tsm). Returns DER. The signature only makes it a well-formed certificate
/// that `openssl verify` and a pinned trust anchor accept; what ties the AK to hardware is the
/// report it carries, whose report data bind this key.
pub fn issue_self_signed_ak(ak: &KeyPair, report: &TeeReport) -> Result<Vec<u8>, CertError> {
    let mut params = ak_params(report);
    params.is_ca = IsCa::ExplicitNoCa;
    validity(&mut params, 5 * 365);
    Ok(params.self_signed(ak)?.der().to_vec())
}

/// A PKCS#10 request (PEM) for the AK, with the report as a requested extension.
pub fn ak_csr(ak: &KeyPair, report: &TeeReport) -> Result<String, CertError> {
    Ok(ak_params(report).serialize_request(ak)?.pem()?)
}

/// The TEE report carried by a certificate, if it has the extension.
pub fn report_of(der: &[u8]) -> Result<Option<TeeReport>, CertError> {
    let cert = parse(der).map_err(CertError::X509)?;
    let oid = REPORT_EXT_OID.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
    match cert.extensions().iter().find(|e| e.oid.to_id_string() == oid) {
        Some(ext) => Ok(Some(TeeReport::from_der(ext.value)?)),
        None => Ok(None),
    }
}

/// Checks that the key with SubjectPublicKeyInfo `issuer_spki` signed certificate `der`.
pub fn verify_issued_by(der: &[u8], issuer_spki: &[u8]) -> Result<(), CertError> {
    let cert = parse(der).map_err(CertError::X509)?;
    let (_, issuer) =
        <x509_parser::x509::SubjectPublicKeyInfo as x509_parser::prelude::FromDer<_>>::from_der(issuer_spki)
            .map_err(|e| CertError::Chain(format!("issuer key: {e}")))?;
    cert.verify_signature(Some(&issuer)).map_err(|e| CertError::Chain(format!("signature: {e}")))
}

/// sha256 (hex) of a certificate's SubjectPublicKeyInfo: the AK fingerprint.
pub fn fingerprint(der: &[u8]) -> Result<String, CertError> {
    Ok(crate::digest::sha256_hex(&spki_of(der)?))
}

/// Validates `chain` (leaf first) to one of `anchors` at `now` (seconds since the epoch), and
/// returns the anchor it verified to. The anchor's own path-length constraint is enforced too
/// (rustls-webpki does not apply a trust anchor's basic constraints): the TPM AK's root has
/// path length 0, so whoever can make the TPM AK sign once cannot make it issue an
/// intermediate for a software key.
pub fn verify_chain_to<'a>(chain: &[Vec<u8>], anchors: &'a [Vec<u8>], now: u64) -> Result<&'a [u8], CertError> {
    let mut last = None;
    for anchor in anchors {
        match verify_chain(chain, std::slice::from_ref(anchor), now) {
            Ok(()) => {
                let limit = parse(anchor)
                    .map_err(CertError::X509)?
                    .basic_constraints()
                    .ok()
                    .flatten()
                    .and_then(|bc| bc.value.path_len_constraint);
                let intermediates = chain.len() - 1;
                if let Some(n) = limit.filter(|&n| intermediates > n as usize) {
                    last = Some(CertError::Chain(format!(
                        "the trust anchor allows {n} intermediate certificate(s), the chain has {intermediates}"
                    )));
                    continue;
                }
                return Ok(anchor);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| CertError::Chain("no trust anchor given".into())))
}

/// Validates `chain` (leaf first) to one of `anchors` at `now` (seconds since the epoch).
pub fn verify_chain(chain: &[Vec<u8>], anchors: &[Vec<u8>], now: u64) -> Result<(), CertError> {
    if chain.is_empty() || chain.len() > MAX_CHAIN || chain.iter().any(|c| c.len() > MAX_CERT) {
        return Err(CertError::TooLarge);
    }
    let anchor_ders: Vec<CertificateDer<'_>> = anchors.iter().map(|a| CertificateDer::from(a.as_slice())).collect();
    let trust: Vec<_> = anchor_ders
        .iter()
        .map(|a| webpki::anchor_from_trusted_cert(a).map_err(|e| CertError::Chain(format!("trust anchor: {e}"))))
        .collect::<Result<_, _>>()?;
    let leaf_der = CertificateDer::from(chain[0].as_slice());
    let leaf = webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| CertError::Chain(e.to_string()))?;
    let intermediates: Vec<CertificateDer<'_>> =
        chain[1..].iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    leaf.verify_for_usage(
        &[webpki::ring::ECDSA_P256_SHA256, webpki::ring::ECDSA_P384_SHA384, webpki::ring::RSA_PKCS1_2048_8192_SHA256],
        &trust,
        &intermediates,
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(now)),
        webpki::KeyUsage::required_if_present(AK_EKU_DER),
        None,
        None,
    )
    .map_err(|e| CertError::Chain(format!("{e:?}")))?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::ak_binding;
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    /// A fresh sim device: its ring key and root certificate DER.
    pub(crate) fn device() -> (EcdsaKeyPair, Vec<u8>) {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let rc = KeyPair::try_from(pkcs8.as_ref()).unwrap();
        let cert = issue_sim_root(&rc).unwrap().der().to_vec();
        (EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap(), cert)
    }

    pub(crate) fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn ak_chain_verifies_and_carries_the_report() {
        let root_key = KeyPair::generate().unwrap();
        let root = issue_sim_root(&root_key).unwrap().der().to_vec();
        let ak = KeyPair::generate().unwrap();
        let (dev_key, dev_cert) = device();
        let report = TeeReport::sim_sign(&dev_key, &dev_cert, &ak_binding(&ak.public_key_der())).unwrap();
        let leaf = issue_ak(&ak, &report, &root, &root_key).unwrap();
        verify_chain(std::slice::from_ref(&leaf), std::slice::from_ref(&root), now()).unwrap();
        assert_eq!(report_of(&leaf).unwrap(), Some(report));
        assert_eq!(spki_of(&leaf).unwrap(), ak.public_key_der());
        assert_eq!(public_key_of(&leaf).unwrap(), ak.public_key_raw());
        assert!(report_of(&root).unwrap().is_none());

        let other_key = KeyPair::generate().unwrap();
        let other = issue_sim_root(&other_key).unwrap().der().to_vec();
        assert!(matches!(verify_chain(std::slice::from_ref(&leaf), &[other], now()), Err(CertError::Chain(_))));
        assert!(matches!(verify_chain(&[leaf], &[root], now() + 6 * 365 * 86_400), Err(CertError::Chain(_))));
    }

    #[test]
    fn csr_is_pem() {
        let ak = KeyPair::generate().unwrap();
        let (dev_key, dev_cert) = device();
        let report = TeeReport::sim_sign(&dev_key, &dev_cert, &ak_binding(&ak.public_key_der())).unwrap();
        let csr = ak_csr(&ak, &report).unwrap();
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    }

    #[test]
    fn a_self_signed_ak_verifies_to_itself_and_to_a_reissue_only() {
        let ak = KeyPair::generate().unwrap();
        let report = crate::report::tests::tdx_report(&ak_binding(&ak.public_key_der()));
        let leaf = issue_self_signed_ak(&ak, &report).unwrap();
        assert_eq!(report_of(&leaf).unwrap(), Some(report.clone()));
        verify_chain(std::slice::from_ref(&leaf), std::slice::from_ref(&leaf), now()).unwrap();
        // rasd re-issues it at every start: the pinned first one still anchors the new one.
        let again = issue_self_signed_ak(&ak, &report).unwrap();
        assert_ne!(again, leaf);
        verify_chain(std::slice::from_ref(&again), std::slice::from_ref(&leaf), now()).unwrap();
        // Another key's self-signed certificate does not.
        let other = issue_self_signed_ak(&KeyPair::generate().unwrap(), &report).unwrap();
        assert!(verify_chain(&[other], &[leaf], now()).is_err());
    }
}
