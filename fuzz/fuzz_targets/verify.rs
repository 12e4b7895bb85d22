//! Fuzzes the whole verifier, `ras_evidence::verify`, as a relying party runs it on evidence
//! from a peer. The first input byte chooses the mode and the expectations:
//!
//! - bit 0 clear: the rest is the evidence text itself (JWS splitting, `x5c`, chain building);
//! - bit 0 set: the rest is a claims payload, signed here by a genuine simulated-TEE AK whose
//!   root is the trust anchor, so every later check (claims, runtime log replay, freshness,
//!   subject, reference values, policy) sees arbitrary claims;
//! - bits 1-2: the expected subject; bit 3: allow sim; bit 4: reference values given;
//!   bit 5: no maximum age (so fixed seed claims stay fresh).
//!
//! Besides never panicking, the verdict must have the shape `verify` promises: every check
//! once and in order, nothing after the first failure but `NotReached`, and claims exactly
//! when the signature check passed. Genuinely signed evidence always passes `chain` and
//! `tee-report`.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use ras_evidence::cert;
use ras_evidence::jws::Header;
use ras_evidence::reference::ReferenceValues;
use ras_evidence::report::{ak_binding, TeeReport};
use ras_evidence::{verify, CheckName, Expectations, ExpectedSubject, Outcome};
use rcgen::KeyPair;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

/// The nonce the verifier expects (`MTIzNDU2Nzg` in base64url).
const NONCE: &[u8] = b"12345678";

/// A simulated TEE: its root certificate (the trust anchor) and a certified AK.
struct Fixture {
    root: Vec<u8>,
    /// Base64url of the protected header, which carries the AK chain.
    header_b64: String,
    ak: EcdsaKeyPair,
    /// The verifier's clock: when the fixture was made, inside the certificates' validity.
    now: i64,
    reference: ReferenceValues,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rng = ring::rand::SystemRandom::new();
        let root_pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let root_rc = KeyPair::try_from(root_pk8.as_ref()).unwrap();
        let root = cert::issue_sim_root(&root_rc).unwrap().der().to_vec();
        let root_ring = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, root_pk8.as_ref(), &rng).unwrap();
        let ak_pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ak_rc = KeyPair::try_from(ak_pk8.as_ref()).unwrap();
        let report = TeeReport::sim_sign(&root_ring, &root, &ak_binding(&ak_rc.public_key_der())).unwrap();
        let leaf = cert::issue_ak(&ak_rc, &report, &root, &root_rc).unwrap();
        let ak = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ak_pk8.as_ref(), &rng).unwrap();
        let header = Header { alg: "ES256".into(), typ: Some("eat+jwt".into()), x5c: vec![STANDARD.encode(&leaf)] };
        let header_b64 = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let reference = ReferenceValues::parse(&format!(
            "exe:/bin/x {}\nfile:/etc/app.conf {}\n",
            "ab".repeat(32),
            "cd".repeat(32)
        ))
        .unwrap();
        Fixture { root, header_b64, ak, now, reference }
    })
}

/// Compact JWS of `payload`, signed by the fixture's AK.
fn sign(f: &Fixture, payload: &[u8]) -> String {
    let input = format!("{}.{}", f.header_b64, URL_SAFE_NO_PAD.encode(payload));
    let sig = f.ak.sign(&ring::rand::SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let f = fixture();
    let signed = mode & 1 == 1;
    let evidence = if signed {
        sign(f, rest)
    } else {
        match std::str::from_utf8(rest) {
            Ok(s) => s.to_string(),
            Err(_) => return,
        }
    };
    let subject = match (mode >> 1) & 3 {
        0 => ExpectedSubject::Host,
        1 => ExpectedSubject::Container {
            id: "3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f".into(),
            runtime: "docker".into(),
        },
        2 => ExpectedSubject::Vm { cid: 3 },
        _ => ExpectedSubject::Any,
    };
    let exp = Expectations {
        trust_anchors: vec![f.root.clone()],
        nonce: NONCE.to_vec(),
        max_age: if mode & 32 != 0 { i64::MAX } else { 60 },
        now: f.now,
        subject,
        reference: (mode & 16 != 0).then(|| f.reference.clone()),
        allow_sim: mode & 8 != 0,
        tsm: Default::default(),
        bind: None,
        policy: None,
    };

    let v = verify(&evidence, &exp);

    let names: Vec<CheckName> = v.checks.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, CheckName::ALL, "every check once, in order");
    if let Some(i) = v.checks.iter().position(|(_, o)| matches!(o, Outcome::Fail(_))) {
        assert!(v.checks[..i].iter().all(|(_, o)| matches!(o, Outcome::Pass(_) | Outcome::Skipped(_))));
        assert!(v.checks[i + 1..].iter().all(|(_, o)| *o == Outcome::NotReached), "{:?}", v.checks);
        assert!(!v.passed());
    } else {
        assert!(v.checks.iter().all(|(_, o)| matches!(o, Outcome::Pass(_) | Outcome::Skipped(_))));
        assert!(v.passed());
    }
    assert_eq!(v.claims.is_some(), matches!(v.checks[2].1, Outcome::Pass(_)), "claims exactly after the signature");
    if signed {
        assert!(matches!(v.checks[0].1, Outcome::Pass(_)), "genuine chain: {:?}", v.checks[0]);
        assert!(matches!(v.checks[1].1, Outcome::Pass(_)), "genuine report: {:?}", v.checks[1]);
    }
    let _ = serde_json::to_string(&v);
});
