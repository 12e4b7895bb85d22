//! P-256 key material: one PKCS#8 key seen both as a ring signer (JWS, reports) and as an
//! rcgen key pair (certificates, CSRs).

use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use thiserror::Error;

/// A key that cannot be made or used.
#[derive(Debug, Error)]
#[error("key material: {0}")]
pub struct KeyError(String);

/// A new P-256 key as PKCS#8 DER.
pub fn new_pkcs8() -> Result<Vec<u8>, KeyError> {
    let rng = ring::rand::SystemRandom::new();
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| KeyError("key generation failed".into()))
}

/// The ring signer and the rcgen view of one PKCS#8 key.
pub fn key_pair(pkcs8: &[u8]) -> Result<(EcdsaKeyPair, rcgen::KeyPair), KeyError> {
    let rng = ring::rand::SystemRandom::new();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
        .map_err(|e| KeyError(format!("not a P-256 PKCS#8 key: {e}")))?;
    let rc = rcgen::KeyPair::try_from(pkcs8).map_err(|e| KeyError(e.to_string()))?;
    Ok((key, rc))
}
