//! Enrolling a TPM attestation key: proof that the AK lives in the TPM whose endorsement key
//! (EK) certificate a verifier trusts. This is the verifier's (or CA's) half of TPM 2.0
//! credential activation (TPM 2.0 Part 1 §24), done in software as Keylime's registrar does:
//!
//! 1. the EK certificate must be issued by one of the TPM maker's CAs the verifier trusts;
//! 2. the AK must be a restricted, TPM-bound signing key (its `TPMT_PUBLIC`);
//! 3. [`make_credential`] seals a random secret to the EK public key and the AK's Name. Only a
//!    TPM that holds that EK's private key *and* has an object with that Name loaded can run
//!    `TPM2_ActivateCredential` on it, so a returned secret proves the AK is in that TPM.
//!
//! The EK is assumed to be the TCG default RSA-2048 EK (nameAlg sha256, AES-128-CFB), the one
//! rasd creates. A software TPM's EK certificate (swtpm's local CA) proves nothing about
//! hardware: only the CA the verifier chooses to trust gives the EK its meaning.

use aes::cipher::{AsyncStreamCipher, KeyIvInit};
use ring::hmac;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Oaep, RsaPublicKey};
use thiserror::Error;

use crate::x509::parse;

/// The OAEP label of a credential's seed (with its NUL, as the TPM hashes it).
const IDENTITY: &str = "IDENTITY\0";

/// Enrolment failed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnrolError {
    /// The EK certificate is not issued by a trusted TPM maker's CA.
    #[error("EK certificate refused: {0}")]
    EkCertificate(String),
    /// The EK key cannot take a credential.
    #[error("EK public key: {0}")]
    EkKey(String),
}

/// Checks that `ek_cert` (DER) is issued by a certificate in `cas` and that both are valid at
/// `now`. Returns the issuing CA's subject.
pub fn verify_ek_certificate(ek_cert: &[u8], cas: &[Vec<u8>], now: i64) -> Result<String, EnrolError> {
    let refuse = |m: String| EnrolError::EkCertificate(m);
    let leaf = parse(ek_cert).map_err(|e| refuse(e.to_string()))?;
    let in_validity = |c: &x509_parser::certificate::X509Certificate<'_>| {
        c.validity().not_before.timestamp() <= now && now <= c.validity().not_after.timestamp()
    };
    if !in_validity(&leaf) {
        return Err(refuse("it is outside its validity period".into()));
    }
    // Every certificate in `cas` is trusted (the TPM maker's issuing CAs and roots, as
    // Keylime's EK certificate store holds them): one that issued the EK certificate is enough.
    let issuer = cas.iter().filter_map(|d| parse(d).ok()).find(|ca| {
        ca.subject().as_raw() == leaf.issuer().as_raw() && leaf.verify_signature(Some(ca.public_key())).is_ok()
    });
    let Some(ca) = issuer else {
        return Err(refuse(format!("no trusted CA (--ek-ca) issued it (its issuer is {})", leaf.issuer())));
    };
    if !ca.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca) {
        return Err(refuse(format!("the issuer {} is not a CA certificate", ca.subject())));
    }
    if !in_validity(&ca) {
        return Err(refuse(format!("the issuing CA {} is outside its validity period", ca.subject())));
    }
    Ok(ca.subject().to_string())
}

/// `KDFa` of TPM 2.0 Part 1 §11.4.10.2 with HMAC-SHA256, for `bits` (a multiple of 8).
pub fn kdfa(key: &[u8], label: &str, context_u: &[u8], context_v: &[u8], bits: u32) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let bytes = (bits / 8) as usize;
    let mut out = Vec::with_capacity(bytes + 32);
    let mut counter: u32 = 1;
    while out.len() < bytes {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(&counter.to_be_bytes());
        ctx.update(label.as_bytes());
        ctx.update(&[0]);
        ctx.update(context_u);
        ctx.update(context_v);
        ctx.update(&bits.to_be_bytes());
        out.extend_from_slice(ctx.sign().as_ref());
        counter += 1;
    }
    out.truncate(bytes);
    out
}

/// A credential for `TPM2_ActivateCredential`: the `TPM2B_ID_OBJECT` and
/// `TPM2B_ENCRYPTED_SECRET` buffers (without their size prefixes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// `integrityHMAC || encIdentity`.
    pub id_object: Vec<u8>,
    /// The seed, RSA-OAEP encrypted to the EK.
    pub secret: Vec<u8>,
}

/// `TPM2_MakeCredential` in software: seals `credential` (at most 32 bytes) to the EK (its
/// certificate's RSA key) and the AK's Name.
pub fn make_credential(ek_cert: &[u8], ak_name: &[u8], credential: &[u8]) -> Result<Credential, EnrolError> {
    let key_err = |m: String| EnrolError::EkKey(m);
    if credential.len() > 32 {
        return Err(key_err("a credential is at most 32 bytes".into()));
    }
    let cert = parse(ek_cert).map_err(|e| key_err(e.to_string()))?;
    let ek = RsaPublicKey::from_public_key_der(cert.public_key().raw)
        .map_err(|e| key_err(format!("not an RSA key ({e}); ras enrols the default RSA-2048 EK")))?;
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let secret = ek
        .encrypt(&mut rand_core::OsRng, Oaep::new_with_label::<rsa::sha2::Sha256, _>(IDENTITY), &seed)
        .map_err(|e| key_err(e.to_string()))?;
    let sym = kdfa(&seed, "STORAGE", ak_name, &[], 128);
    let mut enc_identity = [&(credential.len() as u16).to_be_bytes()[..], credential].concat();
    cfb_mode::Encryptor::<aes::Aes128>::new(sym.as_slice().into(), &[0u8; 16].into()).encrypt(&mut enc_identity);
    let hmac_key = kdfa(&seed, "INTEGRITY", &[], &[], 256);
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, &hmac_key));
    ctx.update(&enc_identity);
    ctx.update(ak_name);
    let integrity = ctx.sign();
    let id_object = [&32u16.to_be_bytes()[..], integrity.as_ref(), &enc_identity].concat();
    Ok(Credential { id_object, secret })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdfa_counts_blocks_and_truncates() {
        let a = kdfa(b"k", "STORAGE", b"u", b"", 128);
        assert_eq!(a.len(), 16);
        let b = kdfa(b"k", "STORAGE", b"u", b"", 512);
        assert_eq!(b.len(), 64);
        // The bit count is part of each block's input, so a shorter key is not a prefix.
        assert_ne!(&b[..16], &a[..]);
        assert_ne!(kdfa(b"k", "INTEGRITY", b"u", b"", 128), a);
    }

    #[test]
    fn a_certificate_without_rsa_cannot_take_a_credential_and_bad_ders_are_refused() {
        let ec = crate::cert::tests::device().1;
        assert!(matches!(make_credential(&ec, &[0; 34], &[1; 32]), Err(EnrolError::EkKey(_))));
        assert!(matches!(make_credential(b"junk", &[0; 34], &[1; 32]), Err(EnrolError::EkKey(_))));
        assert!(matches!(verify_ek_certificate(b"junk", &[], 0), Err(EnrolError::EkCertificate(_))));
        assert!(matches!(
            verify_ek_certificate(&ec, &[], crate::cert::tests::now() as i64),
            Err(EnrolError::EkCertificate(_))
        ));
    }
}
