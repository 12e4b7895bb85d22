//! JWE compact serialization (RFC 7516) with `alg` ECDH-ES (direct key agreement, RFC 7518
//! §4.6) and `enc` A256GCM, on P-256 only: how ras-verifier releases a secret to the key that
//! attested evidence binds, and how `rasctl secret get` opens it.
//!
//! One algorithm pair, on purpose: every option a JWE can carry (key wrapping, compression,
//! critical extensions, other curves) is a branch an attacker can steer, and nothing here
//! needs one. The receiving side's key is ephemeral ([`Recipient`]) and opens exactly one
//! JWE, so a secret released to it cannot be opened again later with a stolen key file.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Bound on an accepted compact JWE (all five parts and their dots).
pub const MAX_JWE: usize = 1024 * 1024;
/// Bound on what [`encrypt`] accepts: secrets are keys, passwords and small files.
pub const MAX_PLAINTEXT: usize = 64 * 1024;
/// Bound on the base64url protected header: ours is about 250 bytes; the slack allows a
/// sender's `kid`, `apu` or `apv`, not a document.
const MAX_HEADER: usize = 4096;

const ALG: &str = "ECDH-ES";
const ENC: &str = "A256GCM";
/// AES-256 key, in bytes.
const KEY_LEN: usize = 32;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// P-256 field element, in bytes.
const COORD_LEN: usize = 32;

/// The DER of a P-256 SubjectPublicKeyInfo up to its uncompressed point: SEQUENCE {
/// SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) 04 ‖ x ‖ y }. The
/// encoding of such a key is unique (DER, a named curve, a fixed-size point), so a byte
/// comparison is a complete parse and refuses every other key type or curve.
const P256_SPKI_PREFIX: [u8; 27] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
];
/// Length of that SubjectPublicKeyInfo.
const P256_SPKI_LEN: usize = P256_SPKI_PREFIX.len() + 2 * COORD_LEN;

/// A JWE failure. Each variant says which part was wrong, so a relying party's log and
/// rasctl's message point at the cause.
#[derive(Debug, Error)]
pub enum JweError {
    /// Not five base64url parts, or a part that does not decode or has the wrong size.
    #[error("not a JWE compact serialization: {0}")]
    Format(&'static str),
    /// The compact JWE is over [`MAX_JWE`], or its header over its bound.
    #[error("JWE {what} larger than {max} bytes")]
    TooLarge {
        /// Which part.
        what: &'static str,
        /// Its bound.
        max: usize,
    },
    /// [`encrypt`] was given more than [`MAX_PLAINTEXT`] bytes.
    #[error("plaintext of {0} bytes is larger than {MAX_PLAINTEXT} bytes")]
    PlaintextTooLarge(usize),
    /// The protected header is not JSON of the expected shape.
    #[error("JWE header does not parse: {0}")]
    Header(String),
    /// `alg` is not ECDH-ES.
    #[error("JWE alg {0:?} refused: only ECDH-ES (direct key agreement)")]
    Alg(String),
    /// `enc` is not A256GCM.
    #[error("JWE enc {0:?} refused: only A256GCM")]
    Enc(String),
    /// The header asks for compression (`zip`), which this profile refuses (compressing
    /// before encryption leaks the plaintext through the length).
    #[error("JWE zip {0:?} refused: compressed plaintexts are not accepted")]
    Zip(String),
    /// The header marks parameters critical (`crit`); none are understood.
    #[error("JWE crit {0} refused: no extension parameters are understood")]
    Crit(String),
    /// The ephemeral public key is not a P-256 point given as an EC JWK.
    #[error("JWE epk refused: {0}")]
    Epk(String),
    /// The JWE has an encrypted key, which direct key agreement never has.
    #[error("JWE encrypted key must be empty with ECDH-ES")]
    EncryptedKey,
    /// The recipient key given to [`encrypt`] is not a P-256 SubjectPublicKeyInfo with an
    /// uncompressed point on the curve.
    #[error("recipient key is not a P-256 public key: {0}")]
    RecipientKey(&'static str),
    /// Authentication failed: the JWE was made for another key, or a part was changed.
    #[error("JWE does not decrypt: made for another key, or its header, iv, ciphertext or tag was changed")]
    Decrypt,
    /// The system's randomness or a primitive failed.
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
}

/// The protected header as sent.
#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    enc: &'a str,
    epk: EpkOut,
}

/// An EC public JWK (RFC 7518 §6.2.1).
#[derive(Serialize)]
struct EpkOut {
    kty: &'static str,
    crv: &'static str,
    x: String,
    y: String,
}

/// The protected header as received. Unknown, non-critical parameters (`kid`, `typ`, `cty`)
/// are ignored as RFC 7516 §4 requires; a duplicated parameter is a parse error.
#[derive(Deserialize)]
struct HeaderIn {
    alg: Option<String>,
    enc: Option<String>,
    epk: Option<serde_json::Value>,
    zip: Option<serde_json::Value>,
    crit: Option<serde_json::Value>,
    apu: Option<String>,
    apv: Option<String>,
}

/// Encrypts `plaintext` to the P-256 public key `recipient_spki_der` (DER
/// SubjectPublicKeyInfo, id-ecPublicKey + prime256v1): compact JWE.
pub fn encrypt(plaintext: &[u8], recipient_spki_der: &[u8]) -> Result<String, JweError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(JweError::PlaintextTooLarge(plaintext.len()));
    }
    let recipient = p256_point(recipient_spki_der)?;
    let rng = SystemRandom::new();
    let ephemeral = EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
        .map_err(|_| JweError::Crypto("generate an ephemeral key"))?;
    let epk = ephemeral.compute_public_key().map_err(|_| JweError::Crypto("compute the ephemeral public key"))?;
    let (x, y) = epk.as_ref()[1..].split_at(COORD_LEN);
    let header = HeaderOut {
        alg: ALG,
        enc: ENC,
        epk: EpkOut { kty: "EC", crv: "P-256", x: URL_SAFE_NO_PAD.encode(x), y: URL_SAFE_NO_PAD.encode(y) },
    };
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("the header serializes"));
    // ring checks that the recipient's point is on the curve before it multiplies.
    let cek = agreement::agree_ephemeral(ephemeral, &UnparsedPublicKey::new(&agreement::ECDH_P256, recipient), |z| {
        concat_kdf(z, ENC, KEY_LEN, &[], &[])
    })
    .map_err(|_| JweError::RecipientKey("the point is not on P-256"))?;
    let mut iv = [0u8; IV_LEN];
    rng.fill(&mut iv).map_err(|_| JweError::Crypto("random iv"))?;
    let key = aes_key(&cek)?;
    let mut ciphertext = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(header.as_bytes()), &mut ciphertext)
        .map_err(|_| JweError::Crypto("AES-GCM seal"))?;
    // header . (empty encrypted key) . iv . ciphertext . tag
    let mut out = String::with_capacity(header.len() + 4 + 16 + (ciphertext.len() * 4).div_ceil(3) + 22);
    out.push_str(&header);
    out.push_str("..");
    URL_SAFE_NO_PAD.encode_string(iv, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&ciphertext, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut out);
    Ok(out)
}

/// An ephemeral P-256 key pair of the receiving side (rasctl), used for exactly one
/// decryption: ring's ephemeral keys are consumed by the agreement, which is why
/// [`Recipient::decrypt`] takes `self`.
pub struct Recipient {
    private: EphemeralPrivateKey,
    /// The uncompressed point 04 ‖ x ‖ y.
    public: Vec<u8>,
}

impl std::fmt::Debug for Recipient {
    /// The public half only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipient").field("public", &hex::encode(&self.public)).finish_non_exhaustive()
    }
}

impl Recipient {
    /// A fresh key pair.
    pub fn generate() -> Result<Recipient, JweError> {
        let private = EphemeralPrivateKey::generate(&agreement::ECDH_P256, &SystemRandom::new())
            .map_err(|_| JweError::Crypto("generate the recipient key"))?;
        let public = private.compute_public_key().map_err(|_| JweError::Crypto("compute the recipient public key"))?;
        Ok(Recipient { private, public: public.as_ref().to_vec() })
    }

    /// The public key as DER SubjectPublicKeyInfo: what evidence binds (its sha256) and
    /// what the sender encrypts to.
    pub fn public_spki_der(&self) -> Vec<u8> {
        let mut der = Vec::with_capacity(P256_SPKI_LEN);
        der.extend_from_slice(&P256_SPKI_PREFIX[..P256_SPKI_PREFIX.len() - 1]);
        der.extend_from_slice(&self.public);
        der
    }

    /// The public key as a PEM `PUBLIC KEY` block.
    pub fn public_pem(&self) -> String {
        crate::pem::encode("PUBLIC KEY", &self.public_spki_der())
    }

    /// Checks and opens a compact JWE made for this key. The header is checked in full
    /// before the key is used, so a refused JWE says why rather than failing to decrypt.
    pub fn decrypt(self, compact: &str) -> Result<Vec<u8>, JweError> {
        let parsed = parse(compact)?;
        let cek = agreement::agree_ephemeral(
            self.private,
            &UnparsedPublicKey::new(&agreement::ECDH_P256, &parsed.epk),
            |z| concat_kdf(z, ENC, KEY_LEN, &parsed.apu, &parsed.apv),
        )
        .map_err(|_| JweError::Epk("the point is not on P-256".into()))?;
        let key = aes_key(&cek)?;
        let mut in_out = parsed.ciphertext;
        in_out.extend_from_slice(&parsed.tag);
        let len = key
            .open_in_place(Nonce::assume_unique_for_key(parsed.iv), Aad::from(parsed.aad.as_bytes()), &mut in_out)
            .map_err(|_| JweError::Decrypt)?
            .len();
        in_out.truncate(len);
        Ok(in_out)
    }
}

/// A compact JWE whose header passed every check, not yet authenticated.
struct Parsed<'a> {
    /// The base64url protected header, the AAD of A256GCM.
    aad: &'a str,
    /// The sender's ephemeral point, 04 ‖ x ‖ y (not yet checked to be on the curve; the
    /// agreement does that).
    epk: Vec<u8>,
    apu: Vec<u8>,
    apv: Vec<u8>,
    iv: [u8; IV_LEN],
    ciphertext: Vec<u8>,
    tag: [u8; TAG_LEN],
}

fn parse(compact: &str) -> Result<Parsed<'_>, JweError> {
    let compact = compact.trim_matches(|c: char| c.is_ascii_whitespace());
    if compact.len() > MAX_JWE {
        return Err(JweError::TooLarge { what: "compact serialization", max: MAX_JWE });
    }
    let mut parts = compact.split('.');
    let (Some(h), Some(k), Some(iv), Some(c), Some(t), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JweError::Format("expected five dot-separated parts"));
    };
    if h.len() > MAX_HEADER {
        return Err(JweError::TooLarge { what: "protected header", max: MAX_HEADER });
    }
    let header_json = b64(h, "protected header is not base64url")?;
    let header: HeaderIn = serde_json::from_slice(&header_json).map_err(|e| JweError::Header(e.to_string()))?;
    match header.alg.as_deref() {
        Some(ALG) => {}
        Some(other) => return Err(JweError::Alg(other.into())),
        None => return Err(JweError::Header("no alg".into())),
    }
    match header.enc.as_deref() {
        Some(ENC) => {}
        Some(other) => return Err(JweError::Enc(other.into())),
        None => return Err(JweError::Header("no enc".into())),
    }
    if let Some(zip) = header.zip {
        return Err(JweError::Zip(zip.as_str().map_or_else(|| zip.to_string(), str::to_string)));
    }
    if let Some(crit) = header.crit {
        return Err(JweError::Crit(crit.to_string()));
    }
    let epk = epk_point(header.epk.as_ref())?;
    let apu = header.apu.as_deref().map_or(Ok(Vec::new()), |s| b64(s, "apu is not base64url"))?;
    let apv = header.apv.as_deref().map_or(Ok(Vec::new()), |s| b64(s, "apv is not base64url"))?;
    if !k.is_empty() {
        return Err(JweError::EncryptedKey);
    }
    let iv: [u8; IV_LEN] =
        b64(iv, "iv is not base64url")?.try_into().map_err(|_| JweError::Format("iv is not 96 bits"))?;
    let tag: [u8; TAG_LEN] =
        b64(t, "tag is not base64url")?.try_into().map_err(|_| JweError::Format("tag is not 128 bits"))?;
    let ciphertext = b64(c, "ciphertext is not base64url")?;
    Ok(Parsed { aad: h, epk, apu, apv, iv, ciphertext, tag })
}

/// The `epk` header parameter as an uncompressed point: an EC JWK on P-256 with two 32-byte
/// coordinates and no private part.
fn epk_point(epk: Option<&serde_json::Value>) -> Result<Vec<u8>, JweError> {
    let epk = epk.ok_or_else(|| JweError::Epk("missing".into()))?;
    let jwk = epk.as_object().ok_or_else(|| JweError::Epk("not a JSON object".into()))?;
    let field = |name: &str| jwk.get(name).and_then(|v| v.as_str());
    if field("kty") != Some("EC") {
        return Err(JweError::Epk(format!("kty {}, expected \"EC\"", show(jwk.get("kty")))));
    }
    if field("crv") != Some("P-256") {
        return Err(JweError::Epk(format!("crv {}, expected \"P-256\"", show(jwk.get("crv")))));
    }
    // A private key in a header is a sender's bug at best; refusing it keeps such a sender
    // from believing it works.
    if jwk.contains_key("d") {
        return Err(JweError::Epk("carries a private key (d)".into()));
    }
    let mut point = Vec::with_capacity(1 + 2 * COORD_LEN);
    point.push(0x04);
    for name in ["x", "y"] {
        let coord = field(name)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .filter(|c| c.len() == COORD_LEN)
            .ok_or_else(|| JweError::Epk(format!("{name} is not 32 bytes of base64url")))?;
        point.extend_from_slice(&coord);
    }
    Ok(point)
}

/// A JSON value for an error message, bounded: the header's text is the peer's.
fn show(v: Option<&serde_json::Value>) -> String {
    let mut s = v.map_or_else(|| "missing".to_string(), |v| v.to_string());
    if s.len() > 64 {
        let mut end = 64;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, JweError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| JweError::Format(what))
}

/// The uncompressed point of a P-256 SubjectPublicKeyInfo (see [`P256_SPKI_PREFIX`]).
fn p256_point(spki: &[u8]) -> Result<&[u8], JweError> {
    if spki.len() != P256_SPKI_LEN {
        return Err(JweError::RecipientKey("not the 91-byte SubjectPublicKeyInfo of a P-256 key"));
    }
    let (prefix, _) = spki.split_at(P256_SPKI_PREFIX.len());
    if prefix != P256_SPKI_PREFIX {
        return Err(JweError::RecipientKey("not id-ecPublicKey on prime256v1 with an uncompressed point"));
    }
    Ok(&spki[P256_SPKI_PREFIX.len() - 1..])
}

fn aes_key(cek: &[u8]) -> Result<LessSafeKey, JweError> {
    UnboundKey::new(&aead::AES_256_GCM, cek).map(LessSafeKey::new).map_err(|_| JweError::Crypto("AES-256-GCM key"))
}

/// The Concat KDF of NIST SP 800-56A as RFC 7518 §4.6.2 uses it with SHA-256, for direct key
/// agreement: AlgorithmID is the `enc` name, PartyUInfo and PartyVInfo are `apu` and `apv`,
/// SuppPubInfo is the key length in bits, and SuppPrivInfo is empty. Each round hashes a
/// 32-bit big-endian counter (from 1), Z and that OtherInfo; the key is the first `key_len`
/// bytes of the rounds' output.
fn concat_kdf(z: &[u8], enc: &str, key_len: usize, apu: &[u8], apv: &[u8]) -> Vec<u8> {
    fn length_prefixed(other: &mut Vec<u8>, data: &[u8]) {
        // The header bound keeps these far below 4 GiB.
        other.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
        other.extend_from_slice(data);
    }
    let mut other = Vec::with_capacity(16 + enc.len() + apu.len() + apv.len());
    length_prefixed(&mut other, enc.as_bytes());
    length_prefixed(&mut other, apu);
    length_prefixed(&mut other, apv);
    other.extend_from_slice(&u32::try_from(key_len * 8).unwrap_or(u32::MAX).to_be_bytes());
    let mut key = Vec::with_capacity(key_len.next_multiple_of(32));
    let mut counter: u32 = 1;
    while key.len() < key_len {
        let mut round = ring::digest::Context::new(&ring::digest::SHA256);
        round.update(&counter.to_be_bytes());
        round.update(z);
        round.update(&other);
        key.extend_from_slice(round.finish().as_ref());
        counter += 1;
    }
    key.truncate(key_len);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use x509_parser::prelude::FromDer;

    /// RFC 7518 Appendix C: Z of Alice's ephemeral key and Bob's key, and the A128GCM key
    /// derived from it with apu "Alice" and apv "Bob".
    #[test]
    fn concat_kdf_matches_rfc7518_appendix_c() {
        let z = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128,
            106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let key = concat_kdf(&z, "A128GCM", 16, b"Alice", b"Bob");
        assert_eq!(key, [86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26]);
        assert_eq!(URL_SAFE_NO_PAD.encode(&key), "VqqN6vgjbSBcIijNcacQGg");
        // More than one round: the first 32 bytes are the one-round key of the same length.
        let long = concat_kdf(&z, "A256GCM", 48, &[], &[]);
        assert_eq!(long.len(), 48);
        assert_ne!(long[..32], concat_kdf(&z, "A256GCM", 32, &[], &[])[..], "keydatalen is in OtherInfo");
    }

    #[test]
    fn round_trip() {
        let largest = vec![7u8; MAX_PLAINTEXT];
        for plaintext in [&b""[..], &b"s3cret"[..], &largest[..]] {
            let r = Recipient::generate().unwrap();
            let jwe = encrypt(plaintext, &r.public_spki_der()).unwrap();
            assert!(jwe.len() <= MAX_JWE);
            let parts: Vec<&str> = jwe.split('.').collect();
            assert_eq!(parts.len(), 5);
            assert!(parts[1].is_empty());
            let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
            assert_eq!(header["alg"], "ECDH-ES");
            assert_eq!(header["enc"], "A256GCM");
            assert_eq!(header["epk"]["kty"], "EC");
            assert_eq!(header["epk"]["crv"], "P-256");
            assert_eq!(r.decrypt(&jwe).unwrap(), plaintext);
        }
    }

    #[test]
    fn public_key_forms() {
        let r = Recipient::generate().unwrap();
        let der = r.public_spki_der();
        assert_eq!(der.len(), P256_SPKI_LEN);
        assert_eq!(p256_point(&der).unwrap(), &r.public[..]);
        let pem = r.public_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        assert_eq!(crate::pem::parse_label(&pem, "PUBLIC KEY").unwrap(), vec![der.clone()]);
        // The same SPKI x509-parser reads as an EC key on prime256v1.
        let (rest, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&der).unwrap();
        assert!(rest.is_empty());
        assert_eq!(spki.algorithm.algorithm, x509_parser::oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY);
        assert!(!format!("{r:?}").contains("private"), "{r:?}");
    }

    #[test]
    fn wrong_recipient_fails() {
        let (a, b) = (Recipient::generate().unwrap(), Recipient::generate().unwrap());
        let jwe = encrypt(b"for a", &a.public_spki_der()).unwrap();
        assert!(matches!(b.decrypt(&jwe), Err(JweError::Decrypt)));
    }

    /// Replaces part `i` of a compact JWE.
    fn with_part(jwe: &str, i: usize, part: &str) -> String {
        let mut parts: Vec<&str> = jwe.split('.').collect();
        parts[i] = part;
        parts.join(".")
    }

    /// Part `i`, decoded, changed by `f`, encoded again.
    fn tampered(jwe: &str, i: usize, f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(jwe.split('.').nth(i).unwrap()).unwrap();
        f(&mut bytes);
        with_part(jwe, i, &URL_SAFE_NO_PAD.encode(bytes))
    }

    fn header_of(jwe: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwe.split('.').next().unwrap()).unwrap()).unwrap()
    }

    fn with_header(jwe: &str, header: &serde_json::Value) -> String {
        with_part(jwe, 0, &URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()))
    }

    #[test]
    fn each_tampered_part_fails() {
        let r = || Recipient::generate().unwrap();
        type Tamper = fn(&str) -> String;
        let cases: [(&str, Tamper); 5] = [
            // A header that still passes every check, but is not the one the tag covers.
            ("header", |jwe: &str| {
                let mut h = header_of(jwe);
                h["kid"] = json!("added");
                with_header(jwe, &h)
            }),
            ("iv", |jwe: &str| tampered(jwe, 2, |b| b[0] ^= 1)),
            ("ciphertext", |jwe: &str| tampered(jwe, 3, |b| b[0] ^= 1)),
            ("tag", |jwe: &str| tampered(jwe, 4, |b| b[15] ^= 0x80)),
            ("truncated ciphertext", |jwe: &str| {
                tampered(jwe, 3, |b| {
                    b.pop();
                })
            }),
        ];
        for (what, change) in cases {
            let recipient = r();
            let jwe = encrypt(b"the secret", &recipient.public_spki_der()).unwrap();
            let bad = change(&jwe);
            assert_ne!(bad, jwe);
            assert!(matches!(recipient.decrypt(&bad), Err(JweError::Decrypt)), "{what}");
        }
        // Another sender's epk: a valid point, so only the tag catches it.
        let recipient = r();
        let jwe = encrypt(b"the secret", &recipient.public_spki_der()).unwrap();
        let mut h = header_of(&jwe);
        h["epk"] = header_of(&encrypt(b"x", &recipient.public_spki_der()).unwrap())["epk"].clone();
        assert!(matches!(recipient.decrypt(&with_header(&jwe, &h)), Err(JweError::Decrypt)));
    }

    #[test]
    fn header_refusals() {
        let jwe = encrypt(b"x", &Recipient::generate().unwrap().public_spki_der()).unwrap();
        let good = header_of(&jwe);
        let refuse = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut h = good.clone();
            change(&mut h);
            Recipient::generate().unwrap().decrypt(&with_header(&jwe, &h)).unwrap_err()
        };
        assert!(matches!(refuse(&|h| h["alg"] = json!("ECDH-ES+A256KW")), JweError::Alg(a) if a == "ECDH-ES+A256KW"));
        assert!(matches!(refuse(&|h| h["alg"] = json!("dir")), JweError::Alg(_)));
        assert!(matches!(refuse(&|h| drop(h.as_object_mut().unwrap().remove("alg"))), JweError::Header(_)));
        assert!(matches!(refuse(&|h| h["alg"] = json!(1)), JweError::Header(_)));
        assert!(matches!(refuse(&|h| h["enc"] = json!("A128GCM")), JweError::Enc(e) if e == "A128GCM"));
        assert!(matches!(refuse(&|h| h["enc"] = json!("A256CBC-HS512")), JweError::Enc(_)));
        assert!(matches!(refuse(&|h| h["zip"] = json!("DEF")), JweError::Zip(z) if z == "DEF"));
        assert!(matches!(refuse(&|h| h["crit"] = json!(["exp"])), JweError::Crit(_)));
        assert!(matches!(refuse(&|h| h["crit"] = json!([])), JweError::Crit(_)));
        assert!(matches!(refuse(&|h| h["epk"]["crv"] = json!("P-384")), JweError::Epk(_)));
        assert!(matches!(refuse(&|h| h["epk"]["kty"] = json!("OKP")), JweError::Epk(_)));
        assert!(matches!(refuse(&|h| h["epk"]["d"] = json!("AAAA")), JweError::Epk(_)));
        assert!(matches!(refuse(&|h| h["epk"]["x"] = json!("AAAA")), JweError::Epk(_)));
        assert!(matches!(refuse(&|h| h["epk"] = json!("key")), JweError::Epk(_)));
        assert!(matches!(refuse(&|h| drop(h.as_object_mut().unwrap().remove("epk"))), JweError::Epk(_)));
        // Coordinates of the right size that are not a point on the curve.
        let not_a_point = |h: &mut serde_json::Value| {
            h["epk"]["x"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
            h["epk"]["y"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
        };
        assert!(matches!(refuse(&not_a_point), JweError::Epk(_)));
        assert!(matches!(refuse(&|h| h["apu"] = json!("!!")), JweError::Format(_)));
        // A duplicated parameter is ambiguous: refused, not resolved either way.
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(jwe.split('.').next().unwrap()).unwrap()).unwrap();
        let dup = raw.replacen("{", "{\"alg\":\"dir\",", 1);
        let bad = with_part(&jwe, 0, &URL_SAFE_NO_PAD.encode(dup));
        assert!(matches!(Recipient::generate().unwrap().decrypt(&bad), Err(JweError::Header(_))));
    }

    #[test]
    fn format_refusals() {
        let r = Recipient::generate().unwrap();
        let jwe = encrypt(b"x", &r.public_spki_der()).unwrap();
        let decrypt = |s: &str| Recipient::generate().unwrap().decrypt(s).unwrap_err();
        assert!(matches!(decrypt(""), JweError::Format(_)));
        assert!(matches!(decrypt(&jwe.replacen("..", ".", 1)), JweError::Format(_)));
        assert!(matches!(decrypt(&format!("{jwe}.")), JweError::Format(_)));
        assert!(matches!(decrypt(&with_part(&jwe, 1, "AAAA")), JweError::EncryptedKey));
        assert!(matches!(decrypt(&with_part(&jwe, 0, "e30=")), JweError::Format(_)));
        assert!(matches!(decrypt(&with_part(&jwe, 0, "bm90IGpzb24")), JweError::Header(_)));
        assert!(matches!(
            decrypt(&tampered(&jwe, 2, |b| {
                b.pop();
            })),
            JweError::Format(_)
        ));
        assert!(matches!(decrypt(&tampered(&jwe, 4, |b| b.push(0))), JweError::Format(_)));
        assert!(matches!(decrypt(&with_part(&jwe, 3, "*")), JweError::Format(_)));
        // Surrounding whitespace (a line read from a file) is not part of the JWE.
        assert_eq!(r.decrypt(&format!("{jwe}\n")).unwrap(), b"x");
    }

    #[test]
    fn oversize_refusals() {
        let r = Recipient::generate().unwrap();
        let spki = r.public_spki_der();
        assert!(matches!(encrypt(&[0; MAX_PLAINTEXT + 1], &spki), Err(JweError::PlaintextTooLarge(_))));
        let jwe = encrypt(b"x", &spki).unwrap();
        let huge = with_part(&jwe, 3, &"A".repeat(MAX_JWE));
        assert!(matches!(r.decrypt(&huge), Err(JweError::TooLarge { what: "compact serialization", .. })));
        let mut h = header_of(&jwe);
        h["kid"] = json!("k".repeat(MAX_HEADER));
        let r = Recipient::generate().unwrap();
        assert!(matches!(r.decrypt(&with_header(&jwe, &h)), Err(JweError::TooLarge { what: "protected header", .. })));
    }

    #[test]
    fn non_p256_recipient_keys_are_refused() {
        let spki = Recipient::generate().unwrap().public_spki_der();
        // A P-384 key: id-ecPublicKey with secp384r1.
        let p384 = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap();
        let p384 = rcgen::KeyPair::try_from(p384.as_ref()).unwrap().public_key_der();
        // An Ed25519 key.
        let ed = ring::signature::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let ed = rcgen::KeyPair::try_from(ed.as_ref()).unwrap().public_key_der();
        // A compressed P-256 point (the SPKI of the same curve with 02/03 and x only).
        let mut compressed = P256_SPKI_PREFIX[..P256_SPKI_PREFIX.len() - 1].to_vec();
        compressed[1] = 0x39;
        compressed[P256_SPKI_PREFIX.len() - 3] = 0x22;
        compressed.push(0x02);
        compressed.extend_from_slice(&spki[P256_SPKI_PREFIX.len()..][..32]);
        let mut trailing = spki.clone();
        trailing.push(0);
        let mut off_curve = spki.clone();
        off_curve[P256_SPKI_PREFIX.len()..].fill(1);
        for (what, key) in
            [("p384", p384), ("ed25519", ed), ("compressed", compressed), ("trailing", trailing), ("empty", vec![])]
        {
            assert!(matches!(encrypt(b"x", &key), Err(JweError::RecipientKey(_))), "{what}");
        }
        assert!(matches!(encrypt(b"x", &off_curve), Err(JweError::RecipientKey(_))));
        // The PEM text instead of its DER.
        let pem = Recipient::generate().unwrap().public_pem();
        assert!(matches!(encrypt(b"x", pem.as_bytes()), Err(JweError::RecipientKey(_))));
    }
}
