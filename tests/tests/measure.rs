//! Runtime measurement logs end to end: ExtendMeasurement is durable before it replies
//! (survives kill -9), and evidence carries the chain that the verifier replays.

use ras_tests::{nonce, text, Rasd};

#[test]
fn extended_events_survive_kill_9_and_replay_in_evidence() {
    let mut r = Rasd::start(&[]);
    let contents = [format!("sha256:{}", "a".repeat(64)), format!("sha256:{}", "B".repeat(64))];
    for (i, content) in contents.iter().enumerate() {
        let out =
            r.rasctl(&["--json", "measure", "extend", "--domain", "app", "--operation", "load", "--content", content]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["seq"], i);
    }
    // No graceful shutdown: the entries must already be on disk.
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(r.pid() as i32), nix::sys::signal::Signal::SIGKILL);
    r.restart();
    let n = nonce();
    let ev = r.evidence(&n, "ev.jws");
    let (_, v) = r.verify_sim(&std::fs::read(&ev).unwrap(), &n, &[]);
    assert_eq!(v["verdict"], "pass", "{v}");
    let log = &v["claims"]["ras"]["runtime_log"];
    assert_eq!(log["entries"].as_array().unwrap().len(), 2, "{log}");
    // The client records the digest lowercased, in one spelling.
    assert_eq!(log["entries"][1]["content"], format!("sha256:{}", "b".repeat(64)));
}

#[test]
fn oversized_measurement_fields_are_refused() {
    let r = Rasd::start(&[]);
    let big = "x".repeat(5000);
    let content = format!("sha256:{}", "a".repeat(64));
    let out = r.rasctl(&["measure", "extend", "--domain", &big, "--operation", "load", "--content", &content]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("InvalidParameter"), "{}", text(&out.stderr));
}

#[test]
fn content_that_is_not_a_sha256_digest_is_refused_before_it_is_recorded() {
    let r = Rasd::start(&[]);
    for bad in ["sha256:...", "sha256:abcd", &format!("sha1:{}", "a".repeat(64)), &format!("sha256:{}", "g".repeat(64))]
    {
        let out = r.rasctl(&["measure", "extend", "--domain", "app", "--operation", "load", "--content", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("--content"), "{bad}: {}", text(&out.stderr));
    }
    let n = nonce();
    let ev = r.evidence(&n, "ev.jws");
    let (_, v) = r.verify_sim(&std::fs::read(&ev).unwrap(), &n, &[]);
    let entries = &v["claims"]["ras"]["runtime_log"]["entries"];
    assert!(entries.is_null() || entries.as_array().unwrap().is_empty(), "a refused event was recorded: {v}");
}
