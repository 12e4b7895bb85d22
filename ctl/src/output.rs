//! What rasctl prints: verdicts, JSON, and files. User output, not logging.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ras_evidence::{Outcome, Verdict};
use serde_json::{json, Value};

use crate::failure::{usage, Failure};

/// Prints a JSON value on one line.
pub fn print_json(v: &Value) {
    println!("{v}");
}

/// Writes `text` to `out`, or to standard output.
pub fn emit(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("write {}", p.display())).map_err(usage),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                // A closed pipe (`| head`) is not a failure.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(usage(e)),
                _ => Ok(()),
            }
        }
    }
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<String, Failure> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("read standard input")
    } else {
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
    };
    text.map_err(usage)
}

/// The verdict as JSON.
pub fn verdict_json(v: &Verdict) -> Value {
    let checks: Vec<Value> = v
        .checks
        .iter()
        .map(|(name, o)| {
            let (status, detail) = match o {
                Outcome::Pass(d) => ("pass", Some(d)),
                Outcome::Fail(d) => ("fail", Some(d)),
                Outcome::Skipped(d) => ("skipped", Some(d)),
                Outcome::NotReached => ("not-reached", None),
            };
            json!({ "check": name.as_str(), "status": status, "detail": detail })
        })
        .collect();
    let failure = v.first_failure();
    json!({
        "verdict": if v.passed() { "pass" } else { "fail" },
        "failed_check": failure.map(|(n, _)| n.as_str()),
        "reason": failure.map(|(_, r)| r),
        "checks": checks,
        "claims": v.claims,
    })
}

/// The verdict for humans: one line per check, then who the evidence is about.
pub fn verdict_text(v: &Verdict) -> String {
    let mut s = match v.first_failure() {
        None => "verdict: PASS\n".to_string(),
        Some((name, reason)) => format!("verdict: FAIL ({}: {reason})\n", name.as_str()),
    };
    for (name, o) in &v.checks {
        let (mark, detail) = match o {
            Outcome::Pass(d) => ("ok  ", d.as_str()),
            Outcome::Fail(d) => ("FAIL", d.as_str()),
            Outcome::Skipped(d) => ("skip", d.as_str()),
            Outcome::NotReached => ("--  ", "not reached"),
        };
        s.push_str(&format!("  {mark}  {:<11} {detail}\n", name.as_str()));
    }
    if let Some(c) = &v.claims {
        let caller = match &c.ras.caller {
            Some(p) => {
                format!("caller uid {} gid {} pid {} exe {} (sha256 {})", p.uid, p.gid, p.pid, p.exe, p.exe_sha256)
            }
            None => "no caller process (a VM guest)".into(),
        };
        s.push_str(&format!("subject: {}; {caller}; tee {}\n", c.ras.subject, c.ras.tee));
    }
    s
}
