//! Host evidence end to end: rasctl evidence, rasctl verify, and every refusal of the
//! Foundation issue, each with exit code 1 and its reason.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use ras_tests::{nonce, text, Rasd};

fn verify(r: &Rasd, evidence: &std::path::Path, nonce: &str, trust: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let args =
        [&["verify", evidence.to_str().unwrap(), "--nonce", nonce, "--trust", trust.to_str().unwrap()], extra].concat();
    let out = r.rasctl(&args);
    (out.status.code().unwrap_or(-1), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn host_evidence_verifies_and_names_the_caller() {
    let r = Rasd::start(&[]);
    let trust = r.trust_anchor();
    let n = nonce();
    let ev = r.evidence(&n, "ev.jws");
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["verdict"], "pass");
    let claims = &v["claims"];
    assert_eq!(claims["ras"]["subject"]["kind"], "host");
    assert_eq!(claims["ras"]["tee"], "sim");
    assert!(claims["ras"]["caller"]["exe"].as_str().unwrap().ends_with("/rasctl"));
    let rasctl = std::fs::read(ras_tests::bin("rasctl")).unwrap();
    let digest = ras_tests_sha256(&rasctl);
    assert_eq!(claims["ras"]["caller"]["exe_sha256"], digest.as_str(), "rasd measured the real executable");
    assert_eq!(claims["ras"]["caller"]["uid"], nix_uid());
}

fn nix_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

fn ras_tests_sha256(data: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .unwrap();
    text(&out.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn refusals_exit_1_and_name_their_reason() {
    let r = Rasd::start(&[]);
    let trust = r.trust_anchor();
    let n = nonce();
    let ev = r.evidence(&n, "ev.jws");

    // A wrong nonce.
    let (code, out) = verify(&r, &ev, &nonce(), &trust, &["--allow-sim"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL (freshness: nonce mismatch"), "{out}");

    // A tampered payload: one character of the claims changed.
    let jws = std::fs::read_to_string(&ev).unwrap();
    let mut parts: Vec<String> = jws.trim().split('.').map(String::from).collect();
    let mut payload = parts[1].clone().into_bytes();
    let i = payload.len() / 2;
    payload[i] = if payload[i] == b'A' { b'B' } else { b'A' };
    parts[1] = String::from_utf8(payload).unwrap();
    let tampered = r.path("tampered.jws");
    std::fs::write(&tampered, parts.join(".")).unwrap();
    let (code, out) = verify(&r, &tampered, &n, &trust, &["--allow-sim"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL (signature:"), "{out}");

    // A foreign root: another rasd's trust anchor.
    let other = Rasd::start(&[]);
    let foreign = other.trust_anchor();
    let (code, out) = verify(&r, &ev, &n, &foreign, &["--allow-sim"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL (chain:"), "{out}");

    // Sim evidence without --allow-sim.
    let (code, out) = verify(&r, &ev, &n, &trust, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL (policy:") && out.contains("--allow-sim"), "{out}");

    // Evidence older than --max-age.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--max-age", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("more than --max-age 1s"), "{out}");
}

#[test]
fn nonces_outside_8_to_64_bytes_are_refused() {
    let r = Rasd::start(&[]);
    for bad in ["00112233445566", &"ab".repeat(65)] {
        let out = r.rasctl(&["evidence", "--nonce", bad]);
        // A usage error (exit 2), refused before it is sent, by the nonce type rasd refuses it with too.
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("nonce must be 8 to 64 bytes"), "{}", text(&out.stderr));
    }
    let trust = r.trust_anchor();
    let ev = r.evidence(&nonce(), "ev.jws");
    let (code, out) = verify(&r, &ev, "0011", &trust, &["--allow-sim"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("nonce must be 8 to 64 bytes"), "{out}");
}

#[test]
fn sockets_and_keys_have_tight_modes_and_the_ak_survives_restart() {
    let mut r = Rasd::start(&[]);
    let meta = std::fs::metadata(r.socket()).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    for key in ["ak/ak.key", "sim/device.key"] {
        let m = std::fs::metadata(r.state_dir().join(key)).unwrap().permissions().mode();
        assert_eq!(m & 0o777, 0o600, "{key}");
    }
    let before = r.rasctl(&["ak", "show", "--json"]);
    assert_eq!(before.status.code(), Some(0), "{}", text(&before.stderr));
    let trust = r.trust_anchor();
    r.restart();
    let after = r.rasctl(&["ak", "show", "--json"]);
    let fp = |o: &std::process::Output| {
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["fingerprint"].clone()
    };
    assert_eq!(fp(&before), fp(&after), "same AK after a restart");
    let n = nonce();
    let ev = r.evidence(&n, "after.jws");
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn status_is_for_root_or_the_admin_group_only() {
    if !ras_tests::is_root() {
        ras_tests::unavailable("root (to run a caller as another uid)");
        return;
    }
    let r = Rasd::start(&["--admin-group", "adm"]);
    let ok = r.rasctl(&["status", "--json"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let status: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(status["tee"], "sim");

    // Let uid 65534 reach the socket; rasd must still refuse it by its kernel identity.
    std::fs::set_permissions(r.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(ras_tests::bin("rasctl"))
            .args(["--socket", r.socket().to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    let denied = as_nobody(&["status"]);
    assert_eq!(denied.status.code(), Some(1), "{}", text(&denied.stderr));
    assert!(text(&denied.stderr).contains("org.varlink.service.PermissionDenied"), "{}", text(&denied.stderr));
    assert!(text(&denied.stderr).contains("--admin-group"), "the refusal names no rule: {}", text(&denied.stderr));
    // The same caller may still get evidence about itself, with its own uid.
    let ev = as_nobody(&["--json", "evidence"]);
    assert_eq!(ev.status.code(), Some(0), "{}", text(&ev.stderr));
    let trust = r.trust_anchor();
    let v: serde_json::Value = serde_json::from_slice(&ev.stdout).unwrap();
    let f = r.path("nobody.jws");
    std::fs::write(&f, v["evidence"].as_str().unwrap()).unwrap();
    let (code, out) = verify(&r, &f, v["nonce"].as_str().unwrap(), &trust, &["--allow-sim", "--json"]);
    assert_eq!(code, 0, "{out}");
    let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verdict["claims"]["ras"]["caller"]["uid"], 65534);
}

#[test]
fn reference_values_recorded_from_known_good_evidence_pass_and_a_changed_digest_fails() {
    let r = Rasd::start(&[]);
    let trust = r.trust_anchor();
    let n = nonce();
    let ev = r.evidence(&n, "ev.jws");
    let refs = r.path("reference.txt");
    let out = r.rasctl(&["reference", "record", ev.to_str().unwrap(), "--out", refs.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let text_refs = std::fs::read_to_string(&refs).unwrap();
    assert!(text_refs.starts_with("exe:") && text_refs.contains("/rasctl "), "{text_refs}");
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--reference", refs.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok    reference   1 measured item(s) match"), "{out}");

    let digest = text_refs.split_whitespace().nth(1).unwrap();
    std::fs::write(&refs, text_refs.replace(digest, &"0".repeat(64))).unwrap();
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--reference", refs.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL (reference:"), "{out}");

    std::fs::write(&refs, "not a reference file\n").unwrap();
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--reference", refs.to_str().unwrap()]);
    assert_eq!(code, 2, "a malformed reference file is a usage error: {out}");
}

#[test]
fn reference_record_with_trust_refuses_evidence_that_does_not_verify() {
    let r = Rasd::start(&[]);
    let other = Rasd::start(&[]);
    let ev = r.evidence(&nonce(), "ev.jws");
    let good = r.trust_anchor();
    let out =
        r.rasctl(&["reference", "record", ev.to_str().unwrap(), "--trust", good.to_str().unwrap(), "--allow-sim"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("exe:"));
    let foreign = other.trust_anchor();
    let out =
        r.rasctl(&["reference", "record", ev.to_str().unwrap(), "--trust", foreign.to_str().unwrap(), "--allow-sim"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not recording: the chain check failed"), "{}", text(&out.stderr));
    let out = r.rasctl(&["reference", "record", ev.to_str().unwrap(), "--trust", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "sim evidence without --allow-sim");
    assert!(out.stdout.is_empty());
}

#[test]
fn input_the_client_can_check_is_a_usage_error_naming_the_flag() {
    let r = Rasd::start(&[]);
    let out = r.rasctl(&["container", "add", "x", "--type", "lxc"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--type") && text(&out.stderr).contains("crio"), "{}", text(&out.stderr));
    // The same with --json: one JSON object on stderr, with the exit code.
    let out = r.rasctl(&["--json", "container", "add", "x", "--type", "lxc"]);
    assert_eq!(out.status.code(), Some(2));
    let e: serde_json::Value = serde_json::from_slice(&out.stderr).expect("a JSON error object");
    assert_eq!(e["exit"], 2, "{e}");
    assert!(e["error"].as_str().unwrap().contains("--type"), "{e}");
    // A failure after parsing is JSON too.
    let out = r.rasctl(&["--json", "evidence", "--nonce", "zz"]);
    let e: serde_json::Value = serde_json::from_slice(&out.stderr).expect("a JSON error object");
    assert_eq!((out.status.code(), e["exit"].as_i64()), (Some(2), Some(2)), "{e}");
}

#[test]
fn evidence_out_dash_is_standard_output_and_an_empty_list_says_so() {
    let r = Rasd::start(&[]);
    let n = nonce();
    let out = r.rasctl(&["evidence", "--nonce", &n, "--out", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim().split('.').count(), 3, "not a JWS on stdout: {}", text(&out.stdout));
    assert!(!std::path::Path::new("-").exists(), "wrote a file named -");
    let out = r.rasctl(&["container", "list"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("no containers registered"), "{}", text(&out.stderr));
}

#[test]
fn an_unreachable_rasd_is_explained_with_what_to_do() {
    let out = ras_tests::rasctl(&["--socket", "/nonexistent/ras/rasd.sock", "evidence"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("systemctl start rasd.socket"), "{}", text(&out.stderr));
    if !ras_tests::is_root() {
        ras_tests::unavailable("root (to call as another uid)");
        return;
    }
    // A socket the caller may not open: the error names the group that may.
    let r = Rasd::start(&["--socket-group", "adm"]);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(ras_tests::bin("rasctl"))
        .args(["--socket", r.socket().to_str().unwrap(), "evidence"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("group adm"), "{}", text(&out.stderr));
}

#[test]
fn a_rego_policy_decides_the_policy_check_and_names_its_errors() {
    let r = Rasd::start(&[]);
    let n = nonce();
    let ev = r.evidence(&n, "ev.jws");
    let trust = r.trust_anchor();
    let write = |name: &str, text: &str| {
        let p = r.path(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    // The default policy, printed, compiles and decides as the built-in rules do.
    let out = r.rasctl(&["policy", "default"]);
    assert_eq!(out.status.code(), Some(0));
    let default = write("default.rego", &text(&out.stdout));
    assert_eq!(r.rasctl(&["policy", "check", &default]).status.code(), Some(0));
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--policy", &default]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&r, &ev, &n, &trust, &["--policy", &default]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--allow-sim"), "{out}");

    // A policy of one's own, on the claims: only this caller's executable may attest.
    let rasctl = ras_tests::bin("rasctl").display().to_string();
    let own = format!(
        "package ras\nimport rego.v1\ndefault allow := false\nallow if input.claims.ras.caller.exe == {rasctl:?}\ndeny contains \"only rasctl may attest\" if not allow\n"
    );
    let own = write("own.rego", &own);
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--policy", &own]);
    assert_eq!(code, 0, "{out}");
    let other = write(
        "other.rego",
        "package ras\nimport rego.v1\ndefault allow := false\ndeny contains \"only /usr/bin/app may attest\" if true\n",
    );
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--policy", &other]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("only /usr/bin/app may attest"), "{out}");

    // A broken policy is a usage error that names its file and line.
    let broken = write("broken.rego", "package ras\n\nallow if {\n  input.x ==\n}\n");
    let out = r.rasctl(&["policy", "check", &broken]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("broken.rego:"), "{}", text(&out.stderr));
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--policy", &broken]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn issued_evidence_leaves_one_audit_line_per_caller_and_minute() {
    let r = Rasd::start(&[]);
    for _ in 0..5 {
        r.evidence(&nonce(), "ev.jws");
    }
    // Each rasctl is another process (pid), so another caller: five lines. Twenty calls of
    // one process are one line.
    let log = r.log();
    assert_eq!(log.matches("called io.ras.Attestation.GetEvidence: evidence issued").count(), 5, "{log}");
    let out = r.rasctl(&["bench", "--op", "evidence", "-n", "20", "-c", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = r.log();
    assert_eq!(log.matches("called io.ras.Attestation.GetEvidence: evidence issued").count(), 6, "{log}");
}

#[test]
fn evidence_binds_the_key_the_caller_names_and_the_verifier_checks_it() {
    let r = Rasd::start(&[]);
    let trust = r.trust_anchor();
    let key = |name: &str| {
        let p = r.path(name);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | openssl pkey -pubout -out {}",
                p.display()
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        p.to_str().unwrap().to_string()
    };
    let (mine, other) = (key("mine.pem"), key("other.pem"));
    let n = nonce();
    let ev = r.path("bound.jws");
    let out = r.rasctl(&["evidence", "--nonce", &n, "--bind-key", &mine, "--out", ev.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--bind-key", &mine]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&r, &ev, &n, &trust, &["--allow-sim", "--bind-key", &other]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the evidence binds"), "{out}");
    // Evidence without a bind does not pass a verifier that asks for one.
    let plain = r.evidence(&n, "plain.jws");
    let (code, out) = verify(&r, &plain, &n, &trust, &["--allow-sim", "--bind-key", &mine]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("binds nothing"), "{out}");
    // A bind that is not a sha256 is refused before rasd is asked (exit 2), and by rasd too.
    let out = r.rasctl(&["evidence", "--nonce", &n, "--bind", "xyz"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let mut raw = ras_tests::Raw::connect(&r.socket());
    let reply = raw.call("io.ras.Attestation.GetEvidence", serde_json::json!({"nonce": n, "bind": "AB"}));
    assert_eq!(reply["error"], "org.varlink.service.InvalidParameter", "{reply}");
}
