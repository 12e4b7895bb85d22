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
