//! Reading one certificate from a peer: a bounded DER parse, its SubjectPublicKeyInfo, its
//! P-256 public key and its subject. Both AK certificates ([`crate::cert`]) and the sim
//! report's device certificate ([`crate::report`]) are read here.

use thiserror::Error;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Bound on one certificate from a peer.
pub const MAX_CERT: usize = 16 * 1024;

/// A certificate that cannot be read.
#[derive(Debug, Error)]
pub enum X509Error {
    /// DER that does not parse as a certificate.
    #[error("certificate does not parse: {0}")]
    Parse(String),
    /// The public key is not ECDSA P-256.
    #[error("certificate key is not ECDSA P-256")]
    KeyType,
    /// The certificate is over [`MAX_CERT`].
    #[error("certificate larger than {MAX_CERT} bytes")]
    TooLarge,
}

/// Parses one whole certificate, at most [`MAX_CERT`] bytes.
pub fn parse(der: &[u8]) -> Result<X509Certificate<'_>, X509Error> {
    if der.len() > MAX_CERT {
        return Err(X509Error::TooLarge);
    }
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| X509Error::Parse(e.to_string()))?;
    if !rest.is_empty() {
        return Err(X509Error::Parse("trailing bytes".into()));
    }
    Ok(cert)
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn spki_of(der: &[u8]) -> Result<Vec<u8>, X509Error> {
    Ok(parse(der)?.public_key().raw.to_vec())
}

/// The raw P-256 public point of a certificate, as ring's verifiers take it.
pub fn public_key_of(der: &[u8]) -> Result<Vec<u8>, X509Error> {
    let cert = parse(der)?;
    let spki = cert.public_key();
    const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
    const P256: &str = "1.2.840.10045.3.1.7";
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
    if spki.algorithm.algorithm.to_id_string() != EC_PUBLIC_KEY || curve.as_deref() != Some(P256) {
        return Err(X509Error::KeyType);
    }
    Ok(spki.subject_public_key.data.to_vec())
}

/// The subject of a certificate, for messages.
pub fn subject_of(der: &[u8]) -> Result<String, X509Error> {
    Ok(parse(der)?.subject().to_string())
}
