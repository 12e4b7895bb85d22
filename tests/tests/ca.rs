//! AS mode and the openssl oracle: openssl verifies the TEE-issued AK chain; an external CA
//! (plain `openssl x509 -req`) signs rasd's CSR; the imported chain then rides in the evidence.

use std::process::Command;

use base64::Engine;
use ras_tests::{nonce, text, Rasd};

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).output().expect("openssl is installed (scripts/test)")
}

fn ok(out: &std::process::Output, what: &str) {
    assert!(out.status.success(), "{what}: {}{}", text(&out.stdout), text(&out.stderr));
}

/// The x5c chain of an evidence file, as PEM files leaf first.
fn x5c_pems(r: &Rasd, evidence: &std::path::Path) -> Vec<std::path::PathBuf> {
    let jws = std::fs::read_to_string(evidence).unwrap();
    let h = jws.split('.').next().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    header["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = r.path(&format!("x5c-{i}.der"));
            std::fs::write(&p, base64::engine::general_purpose::STANDARD.decode(c.as_str().unwrap()).unwrap()).unwrap();
            let pem = r.path(&format!("x5c-{i}.pem"));
            ok(
                &openssl(&["x509", "-inform", "DER", "-in", p.to_str().unwrap(), "-out", pem.to_str().unwrap()]),
                "der to pem",
            );
            pem
        })
        .collect()
}

#[test]
fn openssl_verifies_the_tee_issued_ak_chain() {
    let r = Rasd::start(&[]);
    let trust = r.trust_anchor();
    let ev = r.evidence(&nonce(), "ev.jws");
    let chain = x5c_pems(&r, &ev);
    assert_eq!(chain.len(), 1);
    let out = openssl(&["verify", "-CAfile", trust.to_str().unwrap(), chain[0].to_str().unwrap()]);
    ok(&out, "openssl verify");
    assert!(text(&out.stdout).contains(": OK"));
    // The root says it is simulated, and the AK carries the non-critical report extension.
    let root = text(&openssl(&["x509", "-in", trust.to_str().unwrap(), "-noout", "-subject"]).stdout);
    assert!(root.contains("SIMULATED"), "{root}");
    let leaf = text(&openssl(&["x509", "-in", chain[0].to_str().unwrap(), "-noout", "-text"]).stdout);
    assert!(leaf.contains("2.25.3386384971033689653.1:"), "{leaf}");
    assert!(!leaf.contains("2.25.3386384971033689653.1: critical"), "{leaf}");
}

#[test]
fn as_mode_csr_signed_by_openssl_ca_and_imported() {
    let r = Rasd::start(&[]);
    let sim_root = r.trust_anchor();
    let p = |n: &str| r.path(n).to_str().unwrap().to_string();

    // A CA of our own.
    ok(&openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &p("ca.key")]), "ca key");
    ok(
        &openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &p("ca.key"),
            "-subj",
            "/CN=test attestation CA",
            "-days",
            "30",
            "-out",
            &p("ca.pem"),
        ]),
        "ca cert",
    );

    let csr = r.rasctl(&["ak", "csr", "--out", &p("ak.csr")]);
    assert_eq!(csr.status.code(), Some(0), "{}", text(&csr.stderr));
    ok(&openssl(&["req", "-in", &p("ak.csr"), "-verify", "-noout"]), "csr self-signature");

    // An external CA: plain `openssl x509 -req`, with extra flags.
    let sign = |out: &str, extra: &[&str]| {
        let (csr, ca, key) = (p("ak.csr"), p("ca.pem"), p("ca.key"));
        let base = ["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &key, "-days", "30", "-out", out];
        ok(&openssl(&[&base[..], extra].concat()), out);
    };
    // Without copying the CSR's extensions the certificate lacks the TEE report: refused.
    sign(&p("bare.pem"), &[]);
    let refused = r.rasctl(&["ak", "import", &p("bare.pem")]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("copy_extensions"), "{}", text(&refused.stderr));
    sign(&p("ak.pem"), &["-copy_extensions", "copy"]);
    let chain =
        format!("{}{}", std::fs::read_to_string(p("ak.pem")).unwrap(), std::fs::read_to_string(p("ca.pem")).unwrap());
    std::fs::write(p("chain.pem"), chain).unwrap();
    let imported = r.rasctl(&["ak", "import", &p("chain.pem")]);
    assert_eq!(imported.status.code(), Some(0), "{}", text(&imported.stderr));
    assert!(text(&imported.stdout).contains("ca mode"));

    let n = nonce();
    let ev = r.evidence(&n, "ev.jws");
    let x5c = x5c_pems(&r, &ev);
    assert_eq!(x5c.len(), 2, "evidence carries the CA-issued chain");
    ok(&openssl(&["verify", "-CAfile", &p("ca.pem"), x5c[0].to_str().unwrap()]), "openssl verify CA chain");

    let pass = r.rasctl(&["verify", ev.to_str().unwrap(), "--nonce", &n, "--trust", &p("ca.pem"), "--allow-sim"]);
    assert_eq!(pass.status.code(), Some(0), "{}", text(&pass.stdout));
    // The sim root no longer anchors this AK.
    let fail = r.rasctl(&[
        "verify",
        ev.to_str().unwrap(),
        "--nonce",
        &n,
        "--trust",
        sim_root.to_str().unwrap(),
        "--allow-sim",
    ]);
    assert_eq!(fail.status.code(), Some(1));
    assert!(text(&fail.stdout).contains("FAIL (chain:"), "{}", text(&fail.stdout));
    // trust-anchor now offers the CA certificate, and the import survives a restart.
    let ta = r.rasctl(&["trust-anchor"]);
    assert_eq!(text(&ta.stdout), std::fs::read_to_string(p("ca.pem")).unwrap().replace("\r", ""));
}
