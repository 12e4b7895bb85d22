//! `rasctl verify`: the ordered checks of DESIGN §4.4 on evidence from a file.

use anyhow::{anyhow, Context};
use ras_evidence::reference::ReferenceValues;
use ras_evidence::{pem, verify, Expectations, ExpectedSubject};
use ras_proto::api::{NONCE_MAX, NONCE_MIN};

use crate::cli::{PolicyArgs, VerifyArgs};
use crate::failure::{refused, usage, Failure};
use crate::output::{emit, print_json, read_input, verdict_json, verdict_text};

/// Builds the verifier's expectations from the command line.
pub fn expectations(policy: &PolicyArgs, nonce_hex: &str, subject: ExpectedSubject) -> Result<Expectations, Failure> {
    let nonce = hex::decode(nonce_hex).map_err(|_| usage(anyhow!("--nonce is not hex")))?;
    if !(NONCE_MIN..=NONCE_MAX).contains(&nonce.len()) {
        return Err(refused(anyhow!("nonce must be {NONCE_MIN} to {NONCE_MAX} bytes, got {}", nonce.len())));
    }
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
        nonce,
        max_age: policy.max_age,
        now,
        subject,
        reference,
        allow_sim: policy.allow_sim,
    })
}

/// Verifies and reports: the verdict goes to standard output; failure exits 1.
pub fn report(evidence: &str, exp: &Expectations, json: bool) -> Result<(), Failure> {
    report_target(None, evidence, exp, json)
}

/// [`report`], naming the target in JSON output when several are attested at once.
pub fn report_target(target: Option<&str>, evidence: &str, exp: &Expectations, json: bool) -> Result<(), Failure> {
    let verdict = verify(evidence, exp);
    if json {
        let mut v = verdict_json(&verdict);
        if let Some(t) = target {
            v["target"] = serde_json::json!(t);
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

pub fn run(json: bool, a: VerifyArgs) -> Result<(), Failure> {
    let subject = match a.container {
        Some(id) => ExpectedSubject::Container { id, runtime: a.runtime },
        None => ExpectedSubject::Host,
    };
    let exp = expectations(&a.policy, &a.nonce, subject)?;
    let evidence = read_input(&a.evidence)?;
    report(&evidence, &exp, json)
}
