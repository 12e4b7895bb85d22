//! External oracles: an independent JOSE implementation (jwcrypto) verifies the JWS, and the
//! stock Python varlink client introspects and calls rasd.

use std::process::Command;

use ras_tests::{nonce, text, venv_python, Rasd};

#[test]
fn jwcrypto_verifies_the_evidence_and_rejects_tampering() {
    let Some(py) = venv_python() else {
        ras_tests::unavailable("the test venv with jwcrypto");
        return;
    };
    let r = Rasd::start(&[]);
    let n = nonce();
    let ev = r.evidence(&n, "ev.jws");
    let script = ras_tests::repo_root().join("tests/oracle/jws_verify.py");
    let out = Command::new(&py).arg(&script).arg(&ev).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims["ras"]["subject"]["kind"], "host");
    assert_eq!(claims["eat_profile"], "tag:ras.invalid,2026:evidence:v1");

    let jws = std::fs::read_to_string(&ev).unwrap();
    let mut parts: Vec<&str> = jws.trim().split('.').collect();
    let forged_payload = base64_url(&serde_json::to_vec(&serde_json::json!({"ras": "forged"})).unwrap());
    parts[1] = &forged_payload;
    let forged = r.path("forged.jws");
    std::fs::write(&forged, parts.join(".")).unwrap();
    let out = Command::new(&py).arg(&script).arg(&forged).output().unwrap();
    assert!(!out.status.success(), "jwcrypto accepted a forged payload");
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[test]
fn stock_python_varlink_client_introspects_and_calls() {
    let Some(py) = venv_python() else {
        ras_tests::unavailable("the test venv with varlink");
        return;
    };
    let r = Rasd::start(&[]);
    let n = nonce();
    let script = ras_tests::repo_root().join("tests/oracle/varlink_client.py");
    let out = Command::new(&py).arg(&script).arg(r.socket()).arg(&n).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    for iface in ["org.varlink.service", "io.ras.Protocol", "io.ras.Attestation", "io.ras.Admin"] {
        assert!(err.contains(&format!("interface {iface}: parsed")), "{err}");
    }
    let ev = r.path("py.jws");
    std::fs::write(&ev, text(&out.stdout).trim()).unwrap();
    let trust = r.trust_anchor();
    let v =
        r.rasctl(&["verify", ev.to_str().unwrap(), "--nonce", &n, "--trust", trust.to_str().unwrap(), "--allow-sim"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stdout));
}
