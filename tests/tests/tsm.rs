//! `rasd --tee tsm` end to end, against an emulated configfs-tsm tree whose "kernel" answers
//! with a recorded TDX quote or SEV-SNP report (`ras_tests::tsm`): the evidence rasd signs is
//! checked by `rasctl verify`, without an appraiser (refused, and the verdict says why), with
//! `--allow-unappraised`, and with appraiser commands that accept and refuse; `rasctl attest`
//! with an appraiser; and a CSR with a fresh report.

use std::path::Path;
use std::process::Command;

use ras_tests::tsm::{Hardware, TsmEmulator};
use ras_tests::{nonce, text, Rasd};
use serde_json::Value;

/// `rasctl --json verify` of `evidence` against `trust`: the exit code and the verdict.
fn verify(r: &Rasd, evidence: &Path, trust: &Path, nonce: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let (ev, trust) = (evidence.to_str().unwrap(), trust.to_str().unwrap());
    let out = r.rasctl(&[&["--json", "verify", ev, "--nonce", nonce, "--trust", trust], extra].concat());
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON verdict: {}{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), v)
}

fn detail(v: &Value, check: &str) -> String {
    let c = v["checks"].as_array().unwrap().iter().find(|c| c["check"] == check).unwrap();
    c["detail"].as_str().unwrap_or_default().to_string()
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perms = std::fs::metadata(&p).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&p, perms).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn tsm_evidence_is_refused_unappraised_and_the_appraiser_decides() {
    for (hardware, report, size) in [(Hardware::Tdx, "TDX quote", 4936), (Hardware::Snp, "SEV-SNP report", 1184)] {
        let emu = TsmEmulator::start(hardware);
        let r = Rasd::start(&["--tee", "tsm", "--tsm-path", emu.path().to_str().unwrap()]);
        let n = nonce();
        let ev = r.evidence(&n, "tsm.jws");
        let trust = r.trust_anchor();
        let not_appraised = format!("the hardware signature of the {report} was not appraised (no --tsm-appraiser)");

        let (code, v) = verify(&r, &ev, &trust, &n, &[]);
        assert_eq!(code, Some(1), "{v}");
        assert_eq!(v["failed_check"], "policy", "{v}");
        assert!(v["reason"].as_str().unwrap().contains(&not_appraised), "{v}");
        assert!(detail(&v, "tee-report").contains("binds the AK public key"), "{v}");
        assert_eq!(v["claims"]["ras"]["tee"], "tsm");

        let (code, v) = verify(&r, &ev, &trust, &n, &["--allow-unappraised"]);
        assert_eq!(code, Some(0), "{v}");
        assert!(detail(&v, "policy").contains(&not_appraised), "{v}");

        // The appraiser gets the raw report on its standard input.
        let ok = script(
            r.dir.path(),
            "ok.sh",
            &format!(
                "n=$(wc -c | tr -d ' '); echo \"appraised $RAS_TSM_PROVIDER report of $n bytes\"; [ \"$n\" = {size} ]"
            ),
        );
        let (code, v) = verify(&r, &ev, &trust, &n, &["--tsm-appraiser", &ok]);
        assert_eq!(code, Some(0), "{v}");
        assert!(detail(&v, "tee-report").contains(&format!("report of {size} bytes")), "{v}");
        assert!(detail(&v, "policy").contains("hardware signature was appraised"), "{v}");

        let no = script(r.dir.path(), "no.sh", "echo 'TCB status OutOfDate' >&2; exit 1");
        let (code, v) = verify(&r, &ev, &trust, &n, &["--tsm-appraiser", &no, "--allow-unappraised"]);
        assert_eq!(code, Some(1), "{v}");
        assert_eq!(v["failed_check"], "tee-report", "{v}");
        assert!(v["reason"].as_str().unwrap().contains("TCB status OutOfDate"), "{v}");

        // The human verdict says it as plainly.
        let out = r.rasctl(&["verify", ev.to_str().unwrap(), "--nonce", &n, "--trust", trust.to_str().unwrap()]);
        assert!(text(&out.stdout).contains(&not_appraised), "{}", text(&out.stdout));
        // A remote challenge through rasd's host socket, checked with the same appraiser.
        let connect = format!("unix:{}", r.socket().display());
        let out = ras_tests::rasctl(&[
            "--json",
            "attest",
            "--connect",
            &connect,
            "--trust",
            trust.to_str().unwrap(),
            "--tsm-appraiser",
            &ok,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
        // A CSR carries a fresh report: one more entry, made and removed.
        let before = emu.entries();
        let out = r.rasctl(&["ak", "csr"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        assert_eq!(emu.entries(), before + 1);
        assert_eq!(emu.leftovers(), Vec::<String>::new(), "rasd removes its report entries");
    }
}

#[test]
fn rasd_without_configfs_tsm_says_what_to_check() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("rasd.toml"), "tee = \"tsm\"\n").unwrap();
    let missing = d.path().join("no/tsm/report");
    let out = Command::new(ras_tests::bin("rasd"))
        .arg("--config")
        .arg(d.path().join("rasd.toml"))
        .arg("--runtime-dir")
        .arg(d.path().join("run"))
        .arg("--state-dir")
        .arg(d.path().join("state"))
        .args(["--log", "stderr", "--tsm-path", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let e = text(&out.stderr);
    assert!(e.contains(&format!("configfs-tsm not found at {}", missing.display())), "{e}");
    assert!(e.contains("CONFIG_TSM_REPORTS"), "{e}");
}

fn extend(r: &Rasd, content: &str) {
    let out = r.rasctl(&["measure", "extend", "--domain", "app", "--operation", "load", "--content", content]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn claims_of(path: &Path) -> Value {
    let jws = std::fs::read_to_string(path).unwrap();
    let payload = jws.split('.').nth(1).unwrap();
    use base64::Engine;
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The runtime log is extended into the emulated TDX RTMR3 and fresh host evidence carries a
/// fresh TDX quote showing it: rewriting the log afterwards, or the journal, is caught; a new
/// boot id starts a new log.
#[test]
fn tsm_runtime_log_is_anchored_in_rtmr3() {
    let emu = TsmEmulator::start(Hardware::Tdx);
    let (tree, rtmr, boot) = (emu.path(), emu.rtmr_path(), emu.boot_id_path());
    let args = [
        "--tee",
        "tsm",
        "--tsm-path",
        tree.to_str().unwrap(),
        "--tsm-rtmr",
        rtmr.to_str().unwrap(),
        "--tsm-boot-id",
        boot.to_str().unwrap(),
    ];
    let mut r = Rasd::start(&args);
    extend(&r, &format!("sha256:{}", "aa".repeat(32)));
    extend(&r, &format!("sha256:{}", "bb".repeat(32)));
    assert_ne!(emu.rtmr3(), [0; 48], "the extends reached RTMR3");
    let n = nonce();
    let ev = r.evidence(&n, "rtmr.jws");
    let trust = r.trust_anchor();
    let (code, v) = verify(&r, &ev, &trust, &n, &["--allow-unappraised"]);
    assert_eq!(code, Some(0), "{v}");
    let fresh = detail(&v, "freshness");
    assert!(fresh.contains("fresh TDX quote v4 made for this nonce"), "{fresh}");
    assert!(fresh.contains("the runtime log is the one extended into RTMR3 (2 events)"), "{fresh}");
    assert_eq!(claims_of(&ev)["ras"]["tsm_quote"]["rtmr3_events"].as_array().unwrap().len(), 2);
    // Without --allow-unappraised the policy refuses it, as any unappraised tsm evidence.
    let (code, v) = verify(&r, &ev, &trust, &n, &[]);
    assert_eq!((code, v["failed_check"].as_str()), (Some(1), Some("policy")), "{v}");

    // Root rewrites an entry while rasd is stopped: self-consistent, but not what RTMR3 holds.
    r.stop();
    let log = r.state_dir().join("runtime-log/host.jsonl");
    let saved = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, saved.replace(&"bb".repeat(32), &"cc".repeat(32))).unwrap();
    r.restart();
    let n = nonce();
    let ev = r.evidence(&n, "rewritten.jws");
    let (code, v) = verify(&r, &ev, &trust, &n, &["--allow-unappraised"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["failed_check"], "freshness", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("runtime log entry 1 is not the one extended into RTMR3"), "{v}");

    // A rewritten journal no longer replays to RTMR3: rasd refuses to start, saying what to do.
    r.stop();
    std::fs::write(&log, &saved).unwrap();
    let journal = r.state_dir().join("tsm/log-events.jsonl");
    let j = std::fs::read_to_string(&journal).unwrap();
    // Only the first event left: RTMR3 holds two, which is no crash's leftover.
    let first = j.lines().next().unwrap().to_string();
    std::fs::write(&journal, format!("{first}\n")).unwrap();
    // Bounded, so a rasd that wrongly starts fails the test instead of hanging it.
    let out = Command::new("timeout")
        .arg("30")
        .arg(ras_tests::bin("rasd"))
        .args(["--config", r.path("rasd.toml").to_str().unwrap()])
        .args(["--runtime-dir", r.runtime_dir().to_str().unwrap()])
        .args(["--state-dir", r.state_dir().to_str().unwrap()])
        .args(["--log", "stderr"])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("another program extends RTMR3, or the journal was changed"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&journal, &j).unwrap();

    // A new boot (RTMR3 zero, another boot id) starts a new log; the old logs are put aside.
    emu.reboot(2);
    r.restart();
    let aside = std::fs::read_dir(r.state_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("runtime-log.boot-"))
        .count();
    assert_eq!(aside, 1, "the last boot's runtime logs are put aside");
    extend(&r, &format!("sha256:{}", "dd".repeat(32)));
    let n = nonce();
    let ev = r.evidence(&n, "new-boot.jws");
    let (code, v) = verify(&r, &ev, &trust, &n, &["--allow-unappraised"]);
    assert_eq!(code, Some(0), "{v}");
    assert!(detail(&v, "freshness").contains("extended into RTMR3 (1 events)"), "{v}");
}
