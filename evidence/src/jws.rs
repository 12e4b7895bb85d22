//! JWS compact serialization (RFC 7515) with ES256 and an `x5c` certificate chain.
//!
//! The signature is the fixed-width `r || s` form that JWS requires, which is what ring's
//! `*_FIXED` algorithms produce and check, so no DER conversion is involved.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::signature::{self, EcdsaKeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cert::{MAX_CERT, MAX_CHAIN};
use crate::claims::Claims;

/// Bound on a whole evidence string from a peer.
pub const MAX_EVIDENCE: usize = 256 * 1024;

/// A JWS failure.
#[derive(Debug, Error)]
pub enum JwsError {
    /// Not three base64url parts, or a part that does not decode.
    #[error("not a JWS compact serialization: {0}")]
    Format(&'static str),
    /// The header is not the ES256 + x5c form ras uses.
    #[error("unsupported JWS header: {0}")]
    Header(String),
    /// Over the size bounds.
    #[error("evidence larger than {MAX_EVIDENCE} bytes")]
    TooLarge,
    /// The signature does not verify with the AK.
    #[error("JWS signature does not verify with the AK public key")]
    BadSignature,
    /// The payload is not a ras claims set.
    #[error("claims do not parse: {0}")]
    Claims(String),
    /// Signing failed.
    #[error("signing failed")]
    Sign,
}

/// The protected header.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Always `ES256`.
    pub alg: String,
    /// Media type of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// AK certificate chain, leaf first, standard base64 DER (RFC 7515 §4.1.6).
    #[serde(default)]
    pub x5c: Vec<String>,
}

/// Signs `claims` with the AK, embedding its certificate `chain` (DER, leaf first).
pub fn sign(claims: &Claims, chain: &[Vec<u8>], key: &EcdsaKeyPair) -> Result<String, JwsError> {
    sign_with_header(&encode_header(chain), claims, key)
}

/// The protected header for `chain` (DER, leaf first), base64url-encoded. It changes only
/// when the chain does, so a signer encodes it once per chain, not once per signature.
pub fn encode_header(chain: &[Vec<u8>]) -> String {
    let header = Header {
        alg: "ES256".into(),
        typ: Some("eat+jwt".into()),
        x5c: chain.iter().map(|c| STANDARD.encode(c)).collect(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header serializes"))
}

/// Signs `claims` under a header made by [`encode_header`].
pub fn sign_with_header(header: &str, claims: &Claims, key: &EcdsaKeyPair) -> Result<String, JwsError> {
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    let mut out = String::with_capacity(header.len() + 2 + (payload.len() * 4).div_ceil(3) + 87);
    out.push_str(header);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    let sig = key.sign(&ring::rand::SystemRandom::new(), out.as_bytes()).map_err(|_| JwsError::Sign)?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut out);
    Ok(out)
}

/// A parsed, not yet verified, JWS.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The protected header.
    pub header: Header,
    /// The decoded `x5c` chain (DER, leaf first).
    pub chain: Vec<Vec<u8>>,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    signing_input: String,
    signature: Vec<u8>,
}

/// Splits and decodes a compact JWS, enforcing the size bounds.
pub fn parse(compact: &str) -> Result<Parsed, JwsError> {
    let compact = compact.trim();
    if compact.len() > MAX_EVIDENCE {
        return Err(JwsError::TooLarge);
    }
    let mut parts = compact.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Format("expected three dot-separated parts"));
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| JwsError::Format("header is not base64url"))?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| JwsError::Format("payload is not base64url"))?;
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwsError::Format("signature is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|e| JwsError::Header(e.to_string()))?;
    if header.alg != "ES256" {
        return Err(JwsError::Header(format!("alg {:?}, expected ES256", header.alg)));
    }
    if header.x5c.is_empty() || header.x5c.len() > MAX_CHAIN {
        return Err(JwsError::Header(format!("x5c must hold 1 to {MAX_CHAIN} certificates")));
    }
    let chain = header
        .x5c
        .iter()
        .map(|c| STANDARD.decode(c).map_err(|_| JwsError::Header("x5c entry is not base64".into())))
        .collect::<Result<Vec<_>, _>>()?;
    if chain.iter().any(|c| c.len() > MAX_CERT) {
        return Err(JwsError::TooLarge);
    }
    Ok(Parsed { header, chain, payload, signing_input: format!("{h}.{p}"), signature })
}

impl Parsed {
    /// Checks the ES256 signature with a raw P-256 public point.
    pub fn verify_signature(&self, public_point: &[u8]) -> Result<(), JwsError> {
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public_point)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JwsError::BadSignature)
    }

    /// The payload as claims. Only meaningful after the signature verified.
    pub fn claims(&self) -> Result<Claims, JwsError> {
        serde_json::from_slice(&self.payload).map_err(|e| JwsError::Claims(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::tests::device;
    use crate::claims::{Caller, RasClaims, Subject};
    use proptest::prelude::*;

    pub(crate) fn claims() -> Claims {
        Claims {
            eat_nonce: "AAAAAAAAAAA".into(),
            iat: 1,
            eat_profile: crate::claims::EAT_PROFILE.into(),
            ras: RasClaims {
                subject: Subject::Host,
                caller: Some(Caller { uid: 0, gid: 0, pid: 1, exe: "/x".into(), exe_sha256: "00".into() }),
                measurements: vec![],
                tee: "sim".into(),
                runtime_log: None,
                bind: None,
                tpm_quote: None,
                tsm_quote: None,
                workload_claims: None,
            },
        }
    }

    #[test]
    fn sign_parse_verify() {
        let (key, cert) = device();
        let jws = sign(&claims(), std::slice::from_ref(&cert), &key).unwrap();
        let parsed = parse(&jws).unwrap();
        assert_eq!(parsed.chain, vec![cert.clone()]);
        let point = crate::cert::public_key_of(&cert).unwrap();
        parsed.verify_signature(&point).unwrap();
        assert_eq!(parsed.claims().unwrap(), claims());

        // Flip one payload character: the signature must fail.
        let mut parts: Vec<String> = jws.split('.').map(String::from).collect();
        let mut p: Vec<u8> = parts[1].clone().into_bytes();
        p[5] = if p[5] == b'A' { b'B' } else { b'A' };
        parts[1] = String::from_utf8(p).unwrap();
        let tampered = parse(&parts.join(".")).unwrap();
        assert!(matches!(tampered.verify_signature(&point), Err(JwsError::BadSignature)));
    }

    #[test]
    fn refuses_other_algorithms_and_shapes() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","x5c":["AA=="]}"#),
            URL_SAFE_NO_PAD.encode(b"{}")
        );
        assert!(matches!(parse(&none), Err(JwsError::Header(_))));
        assert!(matches!(parse("a.b"), Err(JwsError::Format(_))));
        assert!(matches!(parse("a.b.c.d"), Err(JwsError::Format(_))));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "[A-Za-z0-9_.-]{0,200}") {
            let _ = parse(&s);
        }
    }
}
