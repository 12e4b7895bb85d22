//! TPM 2.0 structures as a verifier needs them, parsed from their wire form (TPM 2.0 Part 2,
//! big-endian) without a TSS: `TPMT_PUBLIC` of an ECC attestation key, `TPMS_ATTEST` of a
//! `TPM2_Quote`, and `TPMT_SIGNATURE` (ECDSA). A verifier host needs no TPM and no C library.
//!
//! Every length is checked against the input before it is used; nothing here panics on peer
//! bytes.

use ring::digest::{digest, SHA256};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use thiserror::Error;

/// `TPM_GENERATED_VALUE`: what the TPM puts first in every structure it signs.
pub const TPM_GENERATED: u32 = 0xff54_4347;
/// `TPM_ST_ATTEST_QUOTE`.
pub const ST_ATTEST_QUOTE: u16 = 0x8018;
const ALG_ECC: u16 = 0x0023;
const ALG_SHA256: u16 = 0x000b;
const ALG_ECDSA: u16 = 0x0018;
const ALG_NULL: u16 = 0x0010;
const CURVE_P256: u16 = 0x0003;
/// Bound on any one TPM structure a peer hands us (a quote is ~150 bytes).
pub const MAX_STRUCTURE: usize = 4096;
/// The number of PCRs in a bank we accept selections for.
pub const PCR_COUNT: u8 = 24;

/// `TPMA_OBJECT` bits an attestation key must have: created in and bound to its TPM
/// (`fixedTPM`, `fixedParent`, `sensitiveDataOrigin`), and a restricted signing key, so that
/// it signs only TPM-made structures and hashes the TPM checked.
pub const AK_ATTRIBUTES: u32 = 0x2 | 0x10 | 0x20 | 0x1_0000 | 0x4_0000;
/// `TPMA_OBJECT.decrypt`, which an AK must not have.
const ATTR_DECRYPT: u32 = 0x2_0000;

/// A TPM structure could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TpmError {
    /// The bytes do not parse as the structure.
    #[error("TPM {what} is malformed: {why}")]
    Malformed {
        /// Which structure.
        what: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The key is not an attestation key ras accepts.
    #[error("TPM attestation key refused: {0}")]
    Key(String),
    /// The signature does not verify with the AK.
    #[error("TPM quote signature does not verify with the attestation key")]
    BadSignature,
    /// The quote is not by this AK, or not over what was expected.
    #[error("TPM quote {0}")]
    Mismatch(String),
}

fn malformed(what: &'static str, why: impl Into<String>) -> TpmError {
    TpmError::Malformed { what, why: why.into() }
}

/// A bounds-checked big-endian reader.
struct Reader<'a> {
    what: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(what: &'static str, bytes: &'a [u8]) -> Result<Self, TpmError> {
        if bytes.len() > MAX_STRUCTURE {
            return Err(malformed(what, format!("{} bytes, at most {MAX_STRUCTURE}", bytes.len())));
        }
        Ok(Reader { what, rest: bytes })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], TpmError> {
        if self.rest.len() < n {
            return Err(malformed(self.what, "truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, TpmError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, TpmError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, TpmError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, TpmError> {
        let b = self.take(8)?;
        Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    /// A `TPM2B_*`: a u16 size and that many bytes.
    fn sized(&mut self) -> Result<&'a [u8], TpmError> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    fn expect(&mut self, field: &str, want: u16) -> Result<(), TpmError> {
        let got = self.u16()?;
        if got != want {
            return Err(malformed(self.what, format!("{field} is {got:#06x}, expected {want:#06x}")));
        }
        Ok(())
    }

    fn end(self) -> Result<(), TpmError> {
        if !self.rest.is_empty() {
            return Err(malformed(self.what, format!("{} trailing bytes", self.rest.len())));
        }
        Ok(())
    }
}

/// An ECC P-256 attestation key, from its `TPMT_PUBLIC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AkPublic {
    /// The `TPMT_PUBLIC` bytes, as the TPM reported them (its Name hashes these).
    pub raw: Vec<u8>,
    /// `TPMA_OBJECT`.
    pub attributes: u32,
    /// The uncompressed point `04 || x || y`.
    pub point: [u8; 65],
}

impl AkPublic {
    /// Parses a `TPMT_PUBLIC` and checks that it is a restricted, TPM-bound ECDSA P-256 key
    /// with sha256 names: the only AK shape ras creates and accepts.
    pub fn parse(raw: &[u8]) -> Result<Self, TpmError> {
        let mut r = Reader::new("TPMT_PUBLIC", raw)?;
        r.expect("type", ALG_ECC)?;
        r.expect("nameAlg", ALG_SHA256)?;
        let attributes = r.u32()?;
        let _auth_policy = r.sized()?;
        r.expect("symmetric", ALG_NULL)?;
        r.expect("scheme", ALG_ECDSA)?;
        r.expect("scheme hash", ALG_SHA256)?;
        r.expect("curve", CURVE_P256)?;
        r.expect("kdf", ALG_NULL)?;
        let x = r.sized()?;
        let y = r.sized()?;
        r.end()?;
        if attributes & AK_ATTRIBUTES != AK_ATTRIBUTES || attributes & ATTR_DECRYPT != 0 {
            return Err(TpmError::Key(format!(
                "attributes {attributes:#010x} lack fixedTPM, fixedParent, sensitiveDataOrigin, restricted or sign, or include decrypt"
            )));
        }
        Ok(AkPublic { raw: raw.to_vec(), attributes, point: point(x, y)? })
    }

    /// The TPM Name: `nameAlg || sha256(TPMT_PUBLIC)`.
    pub fn name(&self) -> Vec<u8> {
        [&ALG_SHA256.to_be_bytes()[..], digest(&SHA256, &self.raw).as_ref()].concat()
    }

    /// The key as a DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        // id-ecPublicKey with prime256v1, then the BIT STRING of the point.
        const PREFIX: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
            0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        [&PREFIX[..], &self.point].concat()
    }

    /// Verifies an ECDSA `TPMT_SIGNATURE` over `message` (sha256 is applied here).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), TpmError> {
        let fixed = ecdsa_signature(signature)?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.point[..])
            .verify(message, &fixed)
            .map_err(|_| TpmError::BadSignature)
    }
}

fn left_pad_32(what: &'static str, v: &[u8]) -> Result<[u8; 32], TpmError> {
    if v.len() > 32 {
        return Err(malformed(what, format!("a P-256 value of {} bytes", v.len())));
    }
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(v);
    Ok(out)
}

fn point(x: &[u8], y: &[u8]) -> Result<[u8; 65], TpmError> {
    let mut p = [4u8; 65];
    p[1..33].copy_from_slice(&left_pad_32("TPMT_PUBLIC", x)?);
    p[33..].copy_from_slice(&left_pad_32("TPMT_PUBLIC", y)?);
    Ok(p)
}

/// A `TPMT_SIGNATURE` with ECDSA over sha256, as `r || s`.
pub fn ecdsa_signature(raw: &[u8]) -> Result<[u8; 64], TpmError> {
    let mut r = Reader::new("TPMT_SIGNATURE", raw)?;
    r.expect("sigAlg", ALG_ECDSA)?;
    r.expect("hash", ALG_SHA256)?;
    let sig_r = left_pad_32("TPMT_SIGNATURE", r.sized()?)?;
    let sig_s = left_pad_32("TPMT_SIGNATURE", r.sized()?)?;
    r.end()?;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&sig_r);
    out[32..].copy_from_slice(&sig_s);
    Ok(out)
}

/// The parts of a quote's `TPMS_ATTEST` a verifier uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The Qualified Name of the key that signed it. It hashes the key's parents too, so a
    /// verifier without the EK cannot recompute it; the signature is what ties the quote to
    /// the AK.
    pub qualified_signer: Vec<u8>,
    /// The caller's qualifying data (ras: a hash that binds what the quote is for).
    pub extra_data: Vec<u8>,
    /// `TPMS_CLOCK_INFO.resetCount`: TPM resets (reboots) so far.
    pub reset_count: u32,
    /// `TPMS_CLOCK_INFO.restartCount`.
    pub restart_count: u32,
    /// Selected PCR indices of the sha256 bank, ascending (one selection, read bit by bit).
    pub pcrs: Vec<u8>,
    /// sha256 over the selected PCR values, in selection order.
    pub pcr_digest: Vec<u8>,
}

impl Quote {
    /// Parses a `TPMS_ATTEST` of type quote. Only the sha256 bank may be selected.
    pub fn parse(raw: &[u8]) -> Result<Self, TpmError> {
        const WHAT: &str = "TPMS_ATTEST";
        let mut r = Reader::new(WHAT, raw)?;
        if r.u32()? != TPM_GENERATED {
            return Err(malformed(WHAT, "magic is not TPM_GENERATED_VALUE"));
        }
        r.expect("type", ST_ATTEST_QUOTE)?;
        let qualified_signer = r.sized()?.to_vec();
        let extra_data = r.sized()?.to_vec();
        let _clock = r.u64()?;
        let reset_count = r.u32()?;
        let restart_count = r.u32()?;
        let _safe = r.u8()?;
        let _firmware = r.u64()?;
        let banks = r.u32()?;
        let mut pcrs = Vec::new();
        let mut sha256_seen = false;
        for _ in 0..banks.min(16) {
            let alg = r.u16()?;
            let size = r.u8()? as usize;
            let bitmap = r.take(size)?;
            let selected = (0..size * 8).filter(|i| bitmap[i / 8] & (1 << (i % 8)) != 0);
            if alg != ALG_SHA256 {
                if selected.clone().next().is_some() {
                    return Err(malformed(WHAT, format!("selects PCRs of bank {alg:#06x}; only sha256 is used")));
                }
                continue;
            }
            // The TPM hashes values in selection order; two sha256 selections would let a list
            // in index order match a digest over another order (PCR values swapped).
            if std::mem::replace(&mut sha256_seen, true) {
                return Err(malformed(WHAT, "selects the sha256 bank twice"));
            }
            for i in selected {
                if i >= PCR_COUNT as usize {
                    return Err(malformed(WHAT, format!("selects PCR {i}")));
                }
                pcrs.push(i as u8);
            }
        }
        if banks > 16 {
            return Err(malformed(WHAT, format!("{banks} PCR banks")));
        }
        let pcr_digest = r.sized()?.to_vec();
        r.end()?;
        Ok(Quote { qualified_signer, extra_data, reset_count, restart_count, pcrs, pcr_digest })
    }
}

/// Verifies a quote: signed by `ak`, over `extra_data`, and over exactly the
/// PCR values given (index, sha256 value), which must be the quote's whole selection.
pub fn verify_quote(
    ak: &AkPublic,
    attest: &[u8],
    signature: &[u8],
    extra_data: &[u8],
    pcr_values: &[(u8, [u8; 32])],
) -> Result<Quote, TpmError> {
    ak.verify(attest, signature)?;
    let quote = Quote::parse(attest)?;
    if quote.extra_data != extra_data {
        return Err(TpmError::Mismatch("qualifying data does not bind this evidence".into()));
    }
    let given: Vec<u8> = pcr_values.iter().map(|(i, _)| *i).collect();
    if given != quote.pcrs {
        return Err(TpmError::Mismatch(format!("selects PCRs {:?}, the evidence lists {:?}", quote.pcrs, given)));
    }
    if pcr_digest(pcr_values) != quote.pcr_digest {
        return Err(TpmError::Mismatch("PCR digest does not match the listed PCR values".into()));
    }
    Ok(quote)
}

/// The Merkle leaf of one evidence in a quote batch: it binds the verifier's nonce and the
/// AK (the key that signs the evidence), so a quote made for one challenge proves nothing
/// for another.
pub fn evidence_leaf(nonce: &[u8], ak_spki: &[u8]) -> [u8; 32] {
    let ak = digest(&SHA256, ak_spki);
    let data = [b"ras-tpm-quote-v1\0".as_slice(), &(nonce.len() as u64).to_be_bytes(), nonce, ak.as_ref()].concat();
    crate::merkle::leaf_hash(&data)
}

/// sha256 over PCR values in order, as `TPM2_Quote` computes `pcrDigest`.
pub fn pcr_digest(pcr_values: &[(u8, [u8; 32])]) -> Vec<u8> {
    let all: Vec<u8> = pcr_values.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    digest(&SHA256, &all).as_ref().to_vec()
}

/// The value of a PCR after extending `events` (sha256 digests) into `start`.
pub fn pcr_replay(start: [u8; 32], events: impl IntoIterator<Item = [u8; 32]>) -> [u8; 32] {
    events
        .into_iter()
        .fold(start, |pcr, e| digest(&SHA256, &[pcr, e].concat()).as_ref().try_into().expect("sha256 is 32 bytes"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    // Recorded from swtpm 0.7.1 (libtpms): an AK made with tss-esapi's create_ak under the
    // RSA EK, and a quote by it over PCR 23 with 32 bytes of 0x07 as qualifying data.
    pub const AK: &str = "0023000b00050072000000100018000b0003001000205608ef86e418cc2c1025f5d2bd6dda41ff828712674672ebecd8ecd1c320b7400020f7884b808007af7c399ede4fa4a3791b738bbe72decbab5323104f909d213928";
    pub const ATTEST: &str = "ff54434780180022000b0daa6685964448aa82091a435a991ce917629d72f724b570605cc258000add67002007070707070707070707070707070707070707070707070707070707070707070000000000000388000000020000000001201910230016363600000001000b03000080002066687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925";
    pub const SIG: &str = "0018000b0020a80a15920c7914de6273f325269d53a03c6c500b643d9d08c606d1d2edae694f0020cc9f2e039a6dde6183ad799592389e5258315e547a76b4bb5698d33e13603e8e";

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn a_recorded_swtpm_quote_verifies() {
        let ak = AkPublic::parse(&h(AK)).unwrap();
        let q = verify_quote(&ak, &h(ATTEST), &h(SIG), &[7; 32], &[(23, [0; 32])]).unwrap();
        assert_eq!(q.pcrs, vec![23]);
        assert_eq!(q.reset_count, 2);
        assert_eq!(ak.spki_der().len(), 91);
    }

    #[test]
    fn every_mismatch_is_refused() {
        let ak = AkPublic::parse(&h(AK)).unwrap();
        let (a, s) = (h(ATTEST), h(SIG));
        assert!(matches!(verify_quote(&ak, &a, &s, &[8; 32], &[(23, [0; 32])]), Err(TpmError::Mismatch(_))));
        assert!(matches!(verify_quote(&ak, &a, &s, &[7; 32], &[(23, [1; 32])]), Err(TpmError::Mismatch(_))));
        assert!(matches!(verify_quote(&ak, &a, &s, &[7; 32], &[(22, [0; 32])]), Err(TpmError::Mismatch(_))));
        assert!(matches!(verify_quote(&ak, &a, &s, &[7; 32], &[]), Err(TpmError::Mismatch(_))));
        let mut tampered = a.clone();
        tampered[60] ^= 1;
        assert_eq!(verify_quote(&ak, &tampered, &s, &[7; 32], &[(23, [0; 32])]), Err(TpmError::BadSignature));
    }

    #[test]
    fn a_key_that_is_not_a_restricted_tpm_bound_signer_is_refused() {
        let mut raw = h(AK);
        raw[4..8].copy_from_slice(&0x0004_0072u32.to_be_bytes()); // restricted cleared
        assert!(matches!(AkPublic::parse(&raw), Err(TpmError::Key(_))));
        raw[4..8].copy_from_slice(&0x0007_0072u32.to_be_bytes()); // decrypt set
        assert!(matches!(AkPublic::parse(&raw), Err(TpmError::Key(_))));
    }

    #[test]
    fn a_quote_that_selects_the_sha256_bank_twice_is_refused() {
        // swtpm, tpm2_quote -l sha256:1+sha256:0: its pcrDigest is H(PCR1 || PCR0), which a list
        // in index order would match with the two values swapped.
        let mut a = h(ATTEST);
        let at = a.len() - 34 - 10; // TPML_PCR_SELECTION: count, then {alg, size, 3 bytes}
        let sel = a[at + 4..at + 10].to_vec();
        a.splice(at..at + 4, 2u32.to_be_bytes());
        a.splice(at + 10..at + 10, sel);
        assert_eq!(
            Quote::parse(&a),
            Err(TpmError::Malformed { what: "TPMS_ATTEST", why: "selects the sha256 bank twice".into() })
        );
    }

    #[test]
    fn replay_matches_a_tpm_extend() {
        // swtpm: PCR 23 from zero, extended with 32 bytes of 0x01.
        let want: [u8; 32] = h("5c85955f709283ecce2b74f1b1552918819f390911816e7bb466805a38ab87f3").try_into().unwrap();
        assert_eq!(pcr_replay([0; 32], [[1; 32]]), want);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = AkPublic::parse(&bytes);
            let _ = Quote::parse(&bytes);
            let _ = ecdsa_signature(&bytes);
        }

        #[test]
        fn truncations_of_a_real_quote_are_malformed(cut in 0usize..145) {
            let a = h(ATTEST);
            let malformed = matches!(Quote::parse(&a[..cut]), Err(TpmError::Malformed { .. }));
            prop_assert!(malformed);
        }
    }
}
