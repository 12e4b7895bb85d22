//! Attacks on TPM evidence that an adversarial review found, kept as regression tests: each
//! forges evidence the way root on a TPM host could (the TPM AK signs any small certificate
//! for whoever can reach it), and the verifier must refuse it. Software keys stand in for the
//! TPM AK: the verifier sees only keys, certificates and TPM structures.
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose};
use ring::digest::{digest, SHA256};
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use rustls_pki_types::CertificateDer;

use crate::claims::{Caller, Claims, PcrValue, RasClaims, Subject, TpmQuote, EAT_PROFILE};
use crate::reference::ReferenceValues;
use crate::report::{ak_binding, TeeReport, TpmReport};
use crate::verify::{verify, Expectations, ExpectedSubject, TsmPolicy};
use crate::{cert, jws, tpm};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A software P-256 key in the three forms needed.
struct Key {
    ring: EcdsaKeyPair,
    rc: KeyPair,
}
fn key() -> Key {
    let rng = ring::rand::SystemRandom::new();
    let pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    Key {
        ring: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pk8.as_ref(), &rng).unwrap(),
        rc: KeyPair::try_from(pk8.as_ref()).unwrap(),
    }
}

/// A TPMT_PUBLIC that *claims* to be a restricted, fixedTPM ECDSA P-256 key, for a software key.
fn fake_tpmt_public(k: &Key) -> Vec<u8> {
    let p = k.ring.public_key().as_ref(); // 04||x||y
    let mut v = Vec::new();
    v.extend_from_slice(&0x0023u16.to_be_bytes());
    v.extend_from_slice(&0x000bu16.to_be_bytes());
    v.extend_from_slice(&0x0005_0072u32.to_be_bytes());
    v.extend_from_slice(&0u16.to_be_bytes());
    for w in [0x0010u16, 0x0018, 0x000b, 0x0003, 0x0010] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend_from_slice(&32u16.to_be_bytes());
    v.extend_from_slice(&p[1..33]);
    v.extend_from_slice(&32u16.to_be_bytes());
    v.extend_from_slice(&p[33..]);
    v
}

/// A TPMS_ATTEST of type quote; `selections` is a list of sha256-bank selections, each a
/// list of PCR indices, in the order a TPM would hash them.
pub(crate) fn attest(extra: &[u8], selections: &[&[u8]], pcr_digest: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tpm::TPM_GENERATED.to_be_bytes());
    v.extend_from_slice(&tpm::ST_ATTEST_QUOTE.to_be_bytes());
    v.extend_from_slice(&34u16.to_be_bytes());
    v.extend_from_slice(&[0, 0x0b]);
    v.extend_from_slice(&[0; 32]);
    v.extend_from_slice(&(extra.len() as u16).to_be_bytes());
    v.extend_from_slice(extra);
    v.extend_from_slice(&[0; 8 + 4 + 4 + 1 + 8]);
    v.extend_from_slice(&(selections.len() as u32).to_be_bytes());
    for sel in selections {
        v.extend_from_slice(&0x000bu16.to_be_bytes());
        v.push(3);
        let mut bm = [0u8; 3];
        for &i in *sel {
            bm[i as usize / 8] |= 1 << (i % 8);
        }
        v.extend_from_slice(&bm);
    }
    v.extend_from_slice(&(pcr_digest.len() as u16).to_be_bytes());
    v.extend_from_slice(pcr_digest);
    v
}

fn tpmt_signature(k: &Key, msg: &[u8]) -> Vec<u8> {
    let sig = k.ring.sign(&ring::rand::SystemRandom::new(), msg).unwrap();
    let s = sig.as_ref();
    let mut v = vec![0x00, 0x18, 0x00, 0x0b, 0x00, 0x20];
    v.extend_from_slice(&s[..32]);
    v.extend_from_slice(&[0x00, 0x20]);
    v.extend_from_slice(&s[32..]);
    v
}

fn claims(nonce: &[u8], q: TpmQuote) -> Claims {
    Claims {
        eat_nonce: URL_SAFE_NO_PAD.encode(nonce),
        iat: now() as i64,
        eat_profile: EAT_PROFILE.into(),
        ras: RasClaims {
            subject: Subject::Host,
            caller: Some(Caller { uid: 0, gid: 0, pid: 1, exe: "/bin/x".into(), exe_sha256: "ab".repeat(32) }),
            measurements: vec![],
            tee: "tpm".into(),
            runtime_log: None,
            bind: None,
            tpm_quote: Some(q),
            tsm_quote: None,
            workload_claims: None,
        },
    }
}

fn expect(anchor: &[u8], nonce: &[u8], reference: &str) -> Expectations {
    Expectations {
        trust_anchors: vec![anchor.to_vec()],
        nonce: nonce.to_vec(),
        max_age: 60,
        now: now() as i64,
        subject: ExpectedSubject::Host,
        reference: Some(ReferenceValues::parse(reference).unwrap()),
        allow_sim: false,
        tsm: TsmPolicy::default(),
        bind: None,
        policy: None,
    }
}

/// Builds a whole piece of tpm evidence whose report and fresh quote are by `fake_ak` (a
/// software key posing as a TPM AK), whose leaf is issued by `fake_ak` under `issuer_der`,
/// with chain `extra_chain` after the leaf, quoting PCR 0 = `claimed`.
fn forge(fake_ak: &Key, issuer_der: &[u8], extra_chain: &[Vec<u8>], nonce: &[u8], claimed: [u8; 32]) -> String {
    forge_with(fake_ak, (issuer_der, &fake_ak.rc), extra_chain, nonce, &[(0, claimed)], |_| {})
}

/// [`forge`] with the leaf's issuer (certificate and key) given, the quoted PCRs chosen, and
/// `tweak` applied to the claims after the quote was made and before they are signed.
fn forge_with(
    fake_ak: &Key,
    (issuer_der, issuer_key): (&[u8], &KeyPair),
    extra_chain: &[Vec<u8>],
    nonce: &[u8],
    pcrs: &[(u8, [u8; 32])],
    tweak: impl FnOnce(&mut Claims),
) -> String {
    let evk = key();
    let spki = evk.rc.public_key_der();
    let ak_pub = fake_tpmt_public(fake_ak);
    let want = digest(&SHA256, &ak_binding(&spki));
    let empty = digest(&SHA256, b"");
    let rep_att = attest(want.as_ref(), &[], empty.as_ref());
    let report = TeeReport::Tpm(TpmReport {
        ak_public: STANDARD.encode(&ak_pub),
        attest: STANDARD.encode(&rep_att),
        signature: STANDARD.encode(tpmt_signature(fake_ak, &rep_att)),
    });
    let leaf = cert::issue_ak(&evk.rc, &report, issuer_der, issuer_key).unwrap();
    let leaf_hash = tpm::evidence_leaf(nonce, &spki);
    let indices: Vec<u8> = pcrs.iter().map(|(i, _)| *i).collect();
    let q_att = attest(&leaf_hash, &[&indices], &tpm::pcr_digest(pcrs));
    let q = TpmQuote {
        attest: STANDARD.encode(&q_att),
        signature: STANDARD.encode(tpmt_signature(fake_ak, &q_att)),
        pcrs: pcrs.iter().map(|(index, v)| PcrValue { index: *index, sha256: hex::encode(v) }).collect(),
        index: 0,
        batch: 1,
        proof: vec![],
        log: None,
    };
    let mut chain = vec![leaf];
    chain.extend_from_slice(extra_chain);
    let mut c = claims(nonce, q);
    tweak(&mut c);
    jws::sign(&c, &chain, &evk.ring).unwrap()
}

fn reference(golden: [u8; 32]) -> String {
    format!("exe:/bin/x {}\npcr:0 {}\n", "ab".repeat(32), hex::encode(golden))
}

/// An intermediate CA certificate for `sub`, signed once by `ak1` under the TPM AK root.
fn intermediate(anchor: &[u8], ak1: &Key, sub: &Key) -> Vec<u8> {
    let issuer =
        CertificateParams::from_ca_cert_der(&CertificateDer::from(anchor)).unwrap().self_signed(&ak1.rc).unwrap();
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "ras");
    dn.push(DnType::CommonName, "not a TPM");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    p.signed_by(&sub.rc, &issuer, &ak1.rc).unwrap().der().to_vec()
}

#[test]
fn honest_evidence_of_the_pinned_ak_passes() {
    // The control: the same construction with the pinned AK itself verifies.
    let ak1 = key();
    let anchor = cert::issue_tpm_root(&ak1.rc).unwrap();
    let (nonce, golden) = (b"verifier-nonce-0123456789", [0x42u8; 32]);
    let ev = forge(&ak1, &anchor, &[], nonce, golden);
    let v = verify(&ev, &expect(&anchor, nonce, &reference(golden)));
    assert!(v.passed(), "{v:?}");
}

#[test]
fn an_intermediate_signed_once_by_the_tpm_ak_does_not_make_a_software_key_a_tpm_ak() {
    let ak1 = key();
    let anchor = cert::issue_tpm_root(&ak1.rc).unwrap();
    let ak2 = key();
    let inter = intermediate(&anchor, &ak1, &ak2);
    assert!(inter.len() <= 1024, "fits TPM2_Hash: {}", inter.len());
    let (nonce, golden) = (b"verifier-nonce-0123456789", [0x42u8; 32]);
    let ev = forge(&ak2, &inter, std::slice::from_ref(&inter), nonce, golden);
    let v = verify(&ev, &expect(&anchor, nonce, &reference(golden)));
    let (check, reason) = v.first_failure().expect("refused");
    assert_eq!(check, crate::CheckName::Chain, "{reason}");
    assert!(reason.contains("allows 0 intermediate"), "{reason}");
}

#[test]
fn a_leaf_the_pinned_ak_signed_for_another_ak_report_is_refused() {
    // The TPM AK signs a leaf whose report and quotes are by a software key.
    let ak1 = key();
    let anchor = cert::issue_tpm_root(&ak1.rc).unwrap();
    let ak2 = key();
    let evk = key();
    let spki = evk.rc.public_key_der();
    let ak_pub = fake_tpmt_public(&ak2);
    let rep_att = attest(digest(&SHA256, &ak_binding(&spki)).as_ref(), &[], digest(&SHA256, b"").as_ref());
    let report = TeeReport::Tpm(TpmReport {
        ak_public: STANDARD.encode(&ak_pub),
        attest: STANDARD.encode(&rep_att),
        signature: STANDARD.encode(tpmt_signature(&ak2, &rep_att)),
    });
    let leaf = cert::issue_ak(&evk.rc, &report, &anchor, &ak1.rc).unwrap();
    let nonce = b"verifier-nonce-0123456789";
    let mut c = claims(
        nonce,
        TpmQuote {
            attest: String::new(),
            signature: String::new(),
            pcrs: vec![],
            index: 0,
            batch: 1,
            proof: vec![],
            log: None,
        },
    );
    c.ras.tpm_quote = None;
    let ev = jws::sign(&c, &[leaf], &evk.ring).unwrap();
    let v = verify(&ev, &expect(&anchor, nonce, ""));
    let (check, reason) = v.first_failure().expect("refused");
    assert_eq!(check, crate::CheckName::TeeReport, "{reason}");
}

#[test]
fn two_sha256_selections_cannot_swap_pcr_values() {
    let ak1 = key();
    let (p0, p1) = ([0u8; 32], [1u8; 32]);
    // The TPM hashed PCR 1 then PCR 0; a list in index order claims they are swapped.
    let att = attest(&[7; 32], &[&[1], &[0]], &tpm::pcr_digest(&[(1, p0), (0, p1)]));
    let ak = tpm::AkPublic::parse(&fake_tpmt_public(&ak1)).unwrap();
    let r = tpm::verify_quote(&ak, &att, &tpmt_signature(&ak1, &att), &[7; 32], &[(0, p1), (1, p0)]);
    assert!(matches!(r, Err(tpm::TpmError::Malformed { .. })), "{r:?}");
}

/// The quote of honest evidence (the pinned AK's), edited after it was made.
fn quote_edited(tweak: impl FnOnce(&mut Claims)) -> crate::verify::Verdict {
    let ak1 = key();
    let anchor = cert::issue_tpm_root(&ak1.rc).unwrap();
    let (nonce, golden) = (b"verifier-nonce-0123456789", [0x42u8; 32]);
    let ev = forge_with(&ak1, (&anchor, &ak1.rc), &[], nonce, &[(0, golden)], tweak);
    verify(&ev, &expect(&anchor, nonce, &reference(golden)))
}

/// What a check that passed established.
fn detail(v: &crate::verify::Verdict, name: crate::CheckName) -> String {
    match v.checks.iter().find(|(c, _)| *c == name) {
        Some((_, crate::verify::Outcome::Pass(d))) => d.clone(),
        other => panic!("{name:?} did not pass: {other:?}"),
    }
}

fn refused_for(v: &crate::verify::Verdict) -> String {
    v.first_failure().unwrap_or_else(|| panic!("must be refused: {v:?}")).1.to_string()
}

#[test]
fn a_quote_that_does_not_cover_the_listed_pcr_values_is_refused() {
    assert!(quote_edited(|_| {}).passed());
    let v = quote_edited(|c| c.ras.tpm_quote.as_mut().unwrap().pcrs[0].sha256 = hex::encode([0x43u8; 32]));
    assert_eq!(v.first_failure().map(|f| f.0), Some(crate::CheckName::Freshness), "{v:?}");
}

#[test]
fn a_tpm_quote_proof_is_bounded_at_64_hashes() {
    let proof = |n: usize| move |c: &mut Claims| c.ras.tpm_quote.as_mut().unwrap().proof = vec!["00".repeat(32); n];
    assert!(refused_for(&quote_edited(proof(65))).contains("tpm_quote.proof is too long"));
    // 64 is within the bound: refused later, because this proof does not lead to the root.
    let why = refused_for(&quote_edited(proof(64)));
    assert!(!why.contains("too long"), "{why}");
}

#[test]
fn a_runtime_log_must_be_anchored_in_a_quoted_pcr() {
    use crate::runtime_log::{extend, LogEntry, PcrEvent, RuntimeLog};
    let entries: Vec<LogEntry> = (0..2)
        .map(|seq| LogEntry { seq, time: 1, domain: "app".into(), operation: "load".into(), content: seq.to_string() })
        .collect();
    let log = RuntimeLog {
        chain: hex::encode(entries.iter().fold([0u8; 32], |c, e| extend(&c, e))),
        entries: entries.clone(),
    };
    let events: Vec<PcrEvent> = entries
        .iter()
        .map(|e| PcrEvent { subject: "host".into(), seq: e.seq, digest: hex::encode(e.digest()) })
        .collect();
    let log_pcr = tpm::pcr_replay([0; 32], events.iter().map(|e| e.pcr_digest().unwrap()));
    let ak1 = key();
    let anchor = cert::issue_tpm_root(&ak1.rc).unwrap();
    let (nonce, golden) = (b"verifier-nonce-0123456789", [0x42u8; 32]);
    let pcrs = [(0, golden), (15, log_pcr)];
    let with = |anchored: bool| {
        let (log, events) = (log.clone(), events.clone());
        let ev = forge_with(&ak1, (&anchor, &ak1.rc), &[], nonce, &pcrs, move |c| {
            c.ras.runtime_log = Some(log);
            if anchored {
                c.ras.tpm_quote.as_mut().unwrap().log = Some(crate::claims::PcrLog { pcr: 15, events });
            }
        });
        verify(&ev, &expect(&anchor, nonce, &reference(golden)))
    };
    let v = with(true);
    assert!(v.passed(), "{v:?}");
    let d = detail(&v, crate::CheckName::Freshness);
    assert!(d.contains("the runtime log is the one extended into PCR 15 (2 events)"), "{d}");
    // Leaving the log PCR's events out would let a rewritten log pass.
    assert!(refused_for(&with(false)).contains("not anchored in a quoted PCR"));
}

#[test]
fn in_as_mode_a_ca_vouches_for_the_tpm_ak_in_the_certificate() {
    // The pinned anchor is an enrolment CA, not a TPM AK's own root: the report's TPM AK is
    // any key the CA certified.
    let ca = key();
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "ras enrolment CA");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_der = p.self_signed(&ca.rc).unwrap().der().to_vec();
    let tpm_ak = key();
    let (nonce, golden) = (b"verifier-nonce-0123456789", [0x42u8; 32]);
    let ev = forge_with(&tpm_ak, (&ca_der, &ca.rc), &[], nonce, &[(0, golden)], |_| {});
    let v = verify(&ev, &expect(&ca_der, nonce, &reference(golden)));
    assert!(v.passed(), "{v:?}");
    let d = detail(&v, crate::CheckName::TeeReport);
    assert!(d.contains("the CA vouches for the TPM AK"), "{d}");
}
