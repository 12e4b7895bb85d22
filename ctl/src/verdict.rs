//! Verifying evidence and saying so: the verifier's expectations from the command line, the
//! ordered checks, and the verdict printed for humans or as JSON (exit 1 when it fails).

use anyhow::{anyhow, Context};
use ras_evidence::reference::ReferenceValues;
use ras_evidence::{pem, verify, Expectations, ExpectedSubject, Outcome, Verdict};
use ras_proto::Nonce;
use serde_json::{json, Value};

use crate::cli::PolicyArgs;
use crate::failure::{usage, Failure};
use crate::output::{emit, print_json};

/// Builds the verifier's expectations from the command line.
pub fn expectations(policy: &PolicyArgs, nonce: &Nonce, subject: ExpectedSubject) -> Result<Expectations, Failure> {
    let trust_text = std::fs::read_to_string(&policy.trust)
        .with_context(|| format!("read trust anchor {}", policy.trust.display()))
        .map_err(usage)?;
    let trust_anchors = pem::parse_label(&trust_text, "CERTIFICATE")
        .with_context(|| format!("trust anchor {}", policy.trust.display()))
        .map_err(usage)?;
    let reference = match &policy.reference {
        None => None,
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("read {}", path.display())).map_err(usage)?;
            Some(
                ReferenceValues::parse(&text)
                    .with_context(|| format!("reference file {}", path.display()))
                    .map_err(usage)?,
            )
        }
    };
    if policy.max_age <= 0 {
        return Err(usage(anyhow!("--max-age must be positive")));
    }
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    Ok(Expectations {
        trust_anchors,
        nonce: nonce.as_bytes().to_vec(),
        max_age: policy.max_age,
        now,
        subject,
        reference,
        allow_sim: policy.allow_sim,
        tsm: ras_evidence::TsmPolicy {
            appraiser: policy.tsm_appraiser.clone().map(|cmd| {
                std::sync::Arc::new(crate::appraiser::ExternalAppraiser::new(cmd))
                    as std::sync::Arc<dyn ras_evidence::Appraiser>
            }),
            allow_unappraised: policy.allow_unappraised,
        },
        bind: None,
        policy: match &policy.policy {
            None => None,
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("read {}", path.display())).map_err(usage)?;
                Some(ras_evidence::policy::Policy::parse(&path.display().to_string(), &text).map_err(usage)?)
            }
        },
    })
}

/// Verifies and reports: the verdict goes to standard output; failure exits 1. With
/// `target`, JSON output names it (several targets attested at once).
pub fn report(target: Option<&str>, evidence: &str, exp: &Expectations, json: bool) -> Result<(), Failure> {
    let verdict = verify(evidence, exp);
    if json {
        let mut v = verdict_json(&verdict);
        if let Some(t) = target {
            v["target"] = json!(t);
        }
        print_json(&v);
    } else {
        emit(None, &verdict_text(&verdict))?;
    }
    if verdict.passed() {
        Ok(())
    } else {
        Err(Failure::verdict_printed())
    }
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
