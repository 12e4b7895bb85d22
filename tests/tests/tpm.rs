//! The tpm backend against a real software TPM (swtpm, one per test on loopback, with its own
//! state and EK certificate): the AK and its certificates, evidence a verifier accepts without
//! `--allow-sim`, fresh quotes of PCRs and their batches, a changed PCR refused, the same AK
//! after a restart, `tpm2_checkquote` accepting the export, and a TPM that cannot load the AK.

use std::path::Path;

use base64::Engine;
use ras_tests::swtpm::{self, Swtpm};
use ras_tests::{nonce, text, unavailable, Rasd, Raw};
use serde_json::{json, Value};

fn tpm_rasd(tpm: &Swtpm, extra: &[&str]) -> Rasd {
    let tcti = tpm.tcti();
    Rasd::start(&[&["--tee", "tpm", "--tpm-tcti", &tcti], extra].concat())
}

fn verify(rasd: &Rasd, evidence: &Path, nonce: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let trust = rasd.path("tpm-root.pem");
    if !trust.exists() {
        let out = rasd.rasctl(&["trust-anchor"]);
        assert_eq!(out.status.code(), Some(0), "trust-anchor: {}", text(&out.stderr));
        std::fs::write(&trust, &out.stdout).unwrap();
    }
    let (e, t) = (evidence.to_str().unwrap(), trust.to_str().unwrap());
    let out = rasd.rasctl(&[&["--json", "verify", e, "--nonce", nonce, "--trust", t], extra].concat());
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON verdict: {}{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), v)
}

fn check<'a>(verdict: &'a Value, name: &str) -> &'a Value {
    verdict["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).expect("check present")
}

fn claims(jws: &str) -> Value {
    let payload = jws.split('.').nth(1).expect("compact JWS");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Runs rasd once, in the foreground, on `rasd`'s (stopped) directories with the TPM at
/// `tcti`: for the cases where it must refuse to start.
fn rasd_once(rasd: &Rasd, tcti: &str) -> std::process::Output {
    std::process::Command::new(ras_tests::bin("rasd"))
        .args(["--config", rasd.path("rasd.toml").to_str().unwrap()])
        .args(["--runtime-dir", rasd.runtime_dir().to_str().unwrap()])
        .args(["--state-dir", rasd.state_dir().to_str().unwrap()])
        .args(["--log", "stderr", "--tee", "tpm", "--tpm-tcti", tcti])
        .output()
        .unwrap()
}

fn tpm_available() -> bool {
    swtpm::available() || unavailable("swtpm, swtpm-tools and tpm2-tools")
}

#[test]
fn tpm_evidence_verifies_without_allow_sim_and_the_ak_survives_a_restart() {
    if !tpm_available() {
        return;
    }
    let tpm = Swtpm::start();
    let mut rasd = tpm_rasd(&tpm, &[]);
    let n = nonce();
    let ev = rasd.evidence(&n, "ev.jws");
    let (code, v) = verify(&rasd, &ev, &n, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(check(&v, "policy")["detail"].as_str().unwrap().contains("tee tpm"), "{v:#}");
    let fresh = check(&v, "freshness")["detail"].as_str().unwrap().to_string();
    assert!(fresh.contains("TPM quote of PCRs 0,1,2,3,4,5,6,7"), "{fresh}");
    assert!(check(&v, "tee-report")["detail"].as_str().unwrap().contains("TPM AK that quoted it issued"), "{v:#}");
    let root = std::fs::read(rasd.path("tpm-root.pem")).unwrap();
    assert!(text(&root).contains("BEGIN CERTIFICATE"));

    // The TPM-wrapped private part is the daemon's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(rasd.state_dir().join("tpm/ak.priv")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Evidence of another nonce does not pass for this one.
    let (code, v) = verify(&rasd, &ev, &nonce(), &[]);
    assert_eq!(code, Some(1), "{v:#}");

    // A restart loads the same TPM AK: the pinned root still verifies new evidence.
    rasd.restart();
    let out = rasd.rasctl(&["trust-anchor"]);
    assert_eq!(out.stdout, root, "the trust anchor changed across a restart");
    let n = nonce();
    let ev = rasd.evidence(&n, "ev2.jws");
    let (code, v) = verify(&rasd, &ev, &n, &[]);
    assert_eq!(code, Some(0), "{v:#}");
}

#[test]
fn a_pcr_that_changed_since_the_reference_was_recorded_is_refused() {
    if !tpm_available() {
        return;
    }
    let tpm = Swtpm::start();
    let rasd = tpm_rasd(&tpm, &["--tpm-pcrs", "0,7,16"]);
    let n = nonce();
    let ev = rasd.evidence(&n, "good.jws");
    let _ = verify(&rasd, &ev, &n, &[]);
    let reference = rasd.path("reference.txt");
    let out = rasd.rasctl(&[
        "reference",
        "record",
        ev.to_str().unwrap(),
        "--trust",
        rasd.path("tpm-root.pem").to_str().unwrap(),
        "--out",
        reference.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let recorded = std::fs::read_to_string(&reference).unwrap();
    assert!(recorded.contains("pcr:16 "), "{recorded}");
    let r = reference.to_str().unwrap();

    let n = nonce();
    let ev = rasd.evidence(&n, "same.jws");
    let (code, v) = verify(&rasd, &ev, &n, &["--reference", r]);
    assert_eq!(code, Some(0), "{v:#}");

    let out = tpm.tool("tpm2_pcrextend", &[&format!("16:sha256={}", "ab".repeat(32))]);
    assert!(out.status.success(), "tpm2_pcrextend: {}", text(&out.stderr));
    let n = nonce();
    let ev = rasd.evidence(&n, "changed.jws");
    let (code, v) = verify(&rasd, &ev, &n, &["--reference", r]);
    assert_eq!(code, Some(1), "{v:#}");
    let reason = check(&v, "reference")["detail"].as_str().unwrap().to_string();
    assert!(reason.contains("pcr:16"), "{reason}");
}

#[test]
fn tpm2_checkquote_accepts_the_export_and_refuses_it_altered() {
    if !tpm_available() {
        return;
    }
    let tpm = Swtpm::start();
    let rasd = tpm_rasd(&tpm, &["--tpm-pcrs", "0,1,2,3,4,5,6,7,8,9,23"]);
    let ev = rasd.evidence(&nonce(), "ev.jws");
    let dir = rasd.path("export");
    let out = rasd.rasctl(&["tpm", "export", ev.to_str().unwrap(), "--out-dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let q = std::fs::read_to_string(dir.join("qualification.hex")).unwrap().trim().to_string();
    let checkquote = |pcrs: &str, q: &str| {
        std::process::Command::new("tpm2_checkquote")
            .current_dir(&dir)
            .args(["-u", "ak.pub.pem", "-m", "quote.msg", "-s", "quote.sig", "-f", pcrs, "-g", "sha256", "-q", q])
            .output()
            .expect("run tpm2_checkquote")
    };
    let good = checkquote("quote.pcrs", &q);
    assert!(good.status.success(), "tpm2_checkquote refused the export: {}", text(&good.stderr));
    assert!(text(&good.stdout).contains("23:"), "{}", text(&good.stdout));

    let mut pcrs = std::fs::read(dir.join("quote.pcrs")).unwrap();
    pcrs[0x8e] ^= 1; // the first PCR value
    std::fs::write(dir.join("altered.pcrs"), pcrs).unwrap();
    assert!(!checkquote("altered.pcrs", &q).status.success(), "an altered PCR file was accepted");
    assert!(!checkquote("quote.pcrs", &"00".repeat(32)).status.success(), "other qualifying data was accepted");

    // Evidence without a fresh quote says so.
    let sim = Rasd::start(&[]);
    let ev = sim.evidence(&nonce(), "sim.jws");
    let out = sim.rasctl(&["tpm", "export", ev.to_str().unwrap(), "--out-dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no fresh TPM quote"), "{}", text(&out.stderr));
}

/// Sends `n` GetEvidence calls on `n` connections at once and returns (nonce, evidence).
fn concurrent_evidence(rasd: &Rasd, n: usize) -> Vec<(String, String)> {
    let mut conns: Vec<(String, Raw)> = (0..n).map(|_| (nonce(), Raw::connect(&rasd.socket()))).collect();
    for (nonce, c) in &mut conns {
        let mut m = serde_json::to_vec(
            &json!({"method": "io.ras.Attestation.GetEvidence", "parameters": {"nonce": nonce.clone()}}),
        )
        .unwrap();
        m.push(0);
        c.send(&m);
    }
    conns
        .into_iter()
        .map(|(nonce, mut c)| {
            let reply = c.recv();
            let ev = reply["parameters"]["evidence"].as_str().unwrap_or_else(|| panic!("{reply}")).to_string();
            (nonce, ev)
        })
        .collect()
}

#[test]
fn concurrent_challenges_share_a_quote_and_every_proof_verifies() {
    if !tpm_available() {
        return;
    }
    let tpm = Swtpm::start();
    let rasd = tpm_rasd(&tpm, &[]);
    let got = concurrent_evidence(&rasd, 16);
    let batches: Vec<u64> =
        got.iter().map(|(_, ev)| claims(ev)["ras"]["tpm_quote"]["batch"].as_u64().unwrap()).collect();
    assert!(batches.iter().any(|&b| b > 1), "no two of 16 concurrent challenges shared a quote: {batches:?}");
    for (i, (n, ev)) in got.iter().enumerate() {
        let f = rasd.path(&format!("c{i}.jws"));
        std::fs::write(&f, ev).unwrap();
        let (code, v) = verify(&rasd, &f, n, &[]);
        assert_eq!(code, Some(0), "evidence {i} of batch {}: {v:#}", batches[i]);
    }
    // rasctl status counts quotes and the evidences they served.
    let out = rasd.rasctl(&["--json", "status"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (quotes, quoted) = (status["quotes"].as_i64().unwrap(), status["quoted"].as_i64().unwrap());
    assert!(quoted >= 16 && quotes < quoted, "{status}");
    assert!(status["does_not_prove"].as_str().unwrap().contains("root on the host"), "{status}");
    let out = rasd.rasctl(&["status"]);
    assert!(
        text(&out.stdout).contains(&format!("tpm quotes: {quotes} for {quoted} evidences")),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("trust anchor O=ras, CN=ras TPM attestation key"), "{}", text(&out.stdout));

    // A proof is for its own nonce only: evidence i checked against nonce j fails.
    let f = rasd.path("c0.jws");
    let (code, _) = verify(&rasd, &f, &got[1].0, &[]);
    assert_eq!(code, Some(1));

    // --tpm-batch 1 turns batching off: every evidence has its own quote.
    let off = tpm_rasd(&tpm, &["--tpm-batch", "1"]);
    let got = concurrent_evidence(&off, 8);
    for (_, ev) in &got {
        assert_eq!(claims(ev)["ras"]["tpm_quote"]["batch"], 1);
    }
}

#[test]
fn an_ak_that_does_not_load_in_this_tpm_stops_rasd_with_what_to_do() {
    if !tpm_available() {
        return;
    }
    let first = Swtpm::start();
    let mut rasd = tpm_rasd(&first, &[]);
    rasd.stop();
    let other = Swtpm::start();
    let out = rasd_once(&rasd, &other.tcti());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cleared or replaced") && err.contains("aside"), "{err}");
    let out = rasd_once(&rasd, "swtpm:host=127.0.0.1,port=1");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--tpm-tcti"), "{}", text(&out.stderr));
}

#[test]
fn enrolment_through_the_bridge_proves_the_ak_is_in_the_tpm_of_a_trusted_ek() {
    if !tpm_available() {
        return;
    }
    let tpm = Swtpm::start();
    let rasd = tpm_rasd(&tpm, ras_tests::Bridge::RASD_FLAGS);
    let bridge = ras_tests::Bridge::start(&rasd, &[]);
    // swtpm's local CA issued the EK certificate: the "TPM maker" this test trusts.
    let ek_ca = tpm.dir.path().join("ca/issuercert.pem");
    let pinned = rasd.path("enrolled.pem");
    let enroll = |ca: &Path, out: &Path| {
        rasd.rasctl(&[
            "tpm",
            "enroll",
            "--connect",
            &bridge.target(),
            "--ek-ca",
            ca.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = enroll(&ek_ca, &pinned);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("enrolled TPM AK"), "{}", text(&out.stderr));
    // What enrolment pins is the trust anchor rasd reports, and remote evidence verifies with it.
    let anchor = rasd.rasctl(&["trust-anchor"]).stdout;
    assert_eq!(std::fs::read(&pinned).unwrap(), anchor);
    let out = rasd.rasctl(&["attest", "--connect", &bridge.target(), "--trust", pinned.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    // An EK certificate from a CA the verifier does not trust is refused, and nothing is written.
    let other = Swtpm::start();
    let wrong = other.dir.path().join("ca/issuercert.pem");
    let not_written = rasd.path("not-enrolled.pem");
    let out = enroll(&wrong, &not_written);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no trusted CA"), "{}", text(&out.stderr));
    assert!(!not_written.exists());

    // rasd's half against an independent MakeCredential (tpm2-tools, in software): a
    // credential for this AK's Name opens, one for another Name does not.
    let mut raw = ras_tests::Raw::connect(&rasd.socket());
    let e = raw.call("io.ras.Remote.GetEnrollment", json!({}));
    let b64 = base64::engine::general_purpose::STANDARD;
    let ak_public = b64.decode(e["parameters"]["ak_public"].as_str().unwrap()).unwrap();
    let ek_der = b64.decode(e["parameters"]["ek_certificate"].as_str().unwrap()).unwrap();
    let ak_name = format!("000b{}", ras_tests::sha256_hex(&ak_public));
    let activate = |raw: &mut ras_tests::Raw, name: &str| {
        let (cred, secret) = tpm2_makecredential(&rasd, &ek_der, name);
        raw.call(
            "io.ras.Remote.ActivateCredential",
            json!({"credential_blob": b64.encode(cred), "secret": b64.encode(secret)}),
        )
    };
    let reply = activate(&mut raw, &ak_name);
    assert_eq!(reply["parameters"]["credential"], b64.encode([0x5a; 32]), "{reply}");
    let other_name = format!("000b{}", "00".repeat(32));
    let reply = activate(&mut raw, &other_name);
    assert_eq!(reply["error"], "io.ras.Remote.ActivationFailed", "{reply}");
    let reply = raw.call("io.ras.Remote.ActivateCredential", json!({"credential_blob": "AAAA", "secret": "AAAA"}));
    assert_eq!(reply["error"], "io.ras.Remote.ActivationFailed", "{reply}");

    // Without a TPM there is nothing to enrol, and rasd says so.
    let sim = Rasd::start(&[]);
    let mut raw = ras_tests::Raw::connect(&sim.socket());
    let reply = raw.call("io.ras.Remote.GetEnrollment", json!({}));
    assert_eq!(reply["error"], "io.ras.Remote.NoTpm", "{reply}");
    assert_eq!(reply["parameters"]["tee"], "sim");
}

/// tpm2-tools' software `TPM2_MakeCredential` of 32 bytes of 0x5a for the AK `name` (hex),
/// under the EK of `ek_der`; returns the ID object and encrypted secret (without sizes).
fn tpm2_makecredential(rasd: &Rasd, ek_der: &[u8], name: &str) -> (Vec<u8>, Vec<u8>) {
    let der = rasd.path("ek.der");
    std::fs::write(&der, ek_der).unwrap();
    let pem = rasd.path("ek.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "der",
            "-noout",
            "-pubkey",
            "-in",
            der.to_str().unwrap(),
            "-out",
            pem.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secret = rasd.path("secret.bin");
    std::fs::write(&secret, [0x5a; 32]).unwrap();
    let blob = rasd.path("cred.out");
    let out = std::process::Command::new("tpm2_makecredential")
        .args(["-T", "none", "-G", "rsa", "-u", pem.to_str().unwrap(), "-s", secret.to_str().unwrap()])
        .args(["-n", name, "-o", blob.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "tpm2_makecredential: {}", text(&out.stderr));
    // tpm2-tools' file: magic, version, then TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET.
    let f = std::fs::read(&blob).unwrap();
    let sized = |at: usize| {
        let n = u16::from_be_bytes([f[at], f[at + 1]]) as usize;
        (f[at + 2..at + 2 + n].to_vec(), at + 2 + n)
    };
    let (id, next) = sized(8);
    let (enc, _) = sized(next);
    (id, enc)
}

#[test]
fn a_runtime_log_changed_after_the_fact_no_longer_replays_to_the_quoted_pcr() {
    if !tpm_available() {
        return;
    }
    let mut tpm = Swtpm::start();
    let mut rasd = tpm_rasd(&tpm, &[]);
    for content in ["sha256:".to_string() + &"aa".repeat(32), "sha256:".to_string() + &"bb".repeat(32)] {
        let out = rasd.rasctl(&["measure", "extend", "--domain", "app", "--operation", "load", "--content", &content]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let n = nonce();
    let ev = rasd.evidence(&n, "ev.jws");
    let (code, v) = verify(&rasd, &ev, &n, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    let fresh = check(&v, "freshness")["detail"].as_str().unwrap().to_string();
    assert!(fresh.contains("the runtime log is the one extended into PCR 15 (2 events)"), "{fresh}");
    // The log PCR moves with every extend: a reference records the others, not it.
    let claims = claims(&std::fs::read_to_string(&ev).unwrap());
    assert_eq!(claims["ras"]["tpm_quote"]["log"]["pcr"], 15);

    // Root rewrites the second entry while rasd is stopped. The log is self-consistent (rasd
    // recomputes its chain), but it is not what was extended into PCR 15.
    rasd.stop();
    let path = rasd.state_dir().join("runtime-log/host.jsonl");
    let text_log = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text_log.replace(&"bb".repeat(32), &"cc".repeat(32))).unwrap();
    rasd.restart();
    let n = nonce();
    let ev = rasd.evidence(&n, "rewritten.jws");
    let (code, v) = verify(&rasd, &ev, &n, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    let reason = check(&v, "freshness")["detail"].as_str().unwrap().to_string();
    assert!(reason.contains("runtime log entry 1 is not the one extended into PCR 15"), "{reason}");

    // Rewriting the journal as well makes it disagree with the PCR: rasd refuses to start.
    rasd.stop();
    let journal = rasd.state_dir().join("tpm/log-events.jsonl");
    let j = std::fs::read_to_string(&journal).unwrap();
    let first = j.lines().next().unwrap().to_string();
    std::fs::write(&journal, format!("{first}\n")).unwrap();
    let out = rasd_once(&rasd, &tpm.tcti());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("another program extends PCR 15"), "{}", text(&out.stderr));
    std::fs::write(&journal, j).unwrap();

    // A TPM reset (a reboot) starts a new log; the last boot's logs are put aside.
    tpm.reset();
    rasd.restart();
    let aside: Vec<_> = std::fs::read_dir(rasd.state_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("runtime-log.boot-"))
        .collect();
    assert_eq!(aside.len(), 1, "the last boot's runtime logs are put aside");
    let n = nonce();
    let ev = rasd.evidence(&n, "new-boot.jws");
    let (code, v) = verify(&rasd, &ev, &n, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(claims_of(&ev)["ras"]["runtime_log"].is_null());

    // One event, then a reboot: the PCR (zero) equals the journal one event short, which is
    // what a crash looks like too; the TPM's reset count tells the two apart.
    let content = "sha256:".to_string() + &"dd".repeat(32);
    let out = rasd.rasctl(&["measure", "extend", "--domain", "app", "--operation", "load", "--content", &content]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    tpm.reset();
    rasd.restart();
    let n = nonce();
    let ev = rasd.evidence(&n, "second-boot.jws");
    let (code, v) = verify(&rasd, &ev, &n, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(claims_of(&ev)["ras"]["runtime_log"].is_null(), "the last boot's event was carried into this one");
}

fn claims_of(path: &Path) -> Value {
    claims(&std::fs::read_to_string(path).unwrap())
}

#[test]
fn as_mode_enrolment_the_ca_seals_a_secret_only_the_hosts_tpm_can_open() {
    if !tpm_available() {
        return;
    }
    let tpm = Swtpm::start();
    let rasd = tpm_rasd(&tpm, &[]);
    let p = |name: &str| rasd.path(name).to_str().unwrap().to_string();
    let out = rasd.rasctl(&["ak", "enrollment", "--out", &p("bundle.json")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(rasd.path("bundle.json")).unwrap()).unwrap();
    assert!(bundle["csr"].as_str().unwrap().contains("BEGIN CERTIFICATE REQUEST"), "{bundle}");

    let ek_ca = tpm.dir.path().join("ca/issuercert.pem");
    let challenge = |ca: &Path| {
        rasd.rasctl(&[
            "ca",
            "challenge",
            &p("bundle.json"),
            "--ek-ca",
            ca.to_str().unwrap(),
            "--out",
            &p("challenge.json"),
            "--secret-out",
            &p("secret.txt"),
        ])
    };
    let out = challenge(&ek_ca);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(rasd.path("secret.txt")).unwrap().permissions().mode() & 0o777, 0o600);
    let out = rasd.rasctl(&["ak", "activate", &p("challenge.json"), "--out", &p("response.txt")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (secret, response) = (
        std::fs::read_to_string(rasd.path("secret.txt")).unwrap(),
        std::fs::read_to_string(rasd.path("response.txt")).unwrap(),
    );
    assert_eq!(secret, response, "the TPM opened the CA's credential");

    // A challenge sealed for another host's TPM does not open here.
    let other = Swtpm::start();
    let other_rasd = tpm_rasd(&other, &[]);
    let out = other_rasd.rasctl(&["ak", "activate", &p("challenge.json")]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));

    // The CA refuses an EK certificate from a maker it does not trust.
    let out = challenge(&other.dir.path().join("ca/issuercert.pem"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no trusted CA"), "{}", text(&out.stderr));
}
