//! `rasctl attest`: a remote challenge with a fresh 32-byte nonce, then the ordered checks on
//! the answer, including that the subject is what was asked for. Several targets are
//! challenged `--concurrency` at a time, with progress on stderr, and reported in the order
//! given, then summed up (with `--json`: one JSON object per line, the summary last).

use std::time::Duration;

use anyhow::{anyhow, Context};
use ras_evidence::{Expectations, ExpectedSubject};
use ras_proto::api::remote::{Challenge, ContainerRef};
use ras_proto::api::Method;
use serde_json::json;

use crate::cli::AttestArgs;
use crate::client::{connect, explain_refusal, fresh_nonce, parse_target, runtime, Target};
use crate::failure::{usage, Code, Failure};
use crate::output::{emit, print_json};
use crate::verdict::{expectations, report};

/// Sends the challenge and returns the evidence, within `deadline` for the whole exchange.
async fn fetch(target: &Target, challenge: &Challenge, deadline: Duration) -> Result<String, Failure> {
    let exchange = async {
        let reply = connect(target).await?.call(challenge).await;
        Ok::<_, Failure>(reply.map_err(|e| explain_refusal(Challenge::NAME, target, e))?.evidence)
    };
    tokio::time::timeout(deadline, exchange)
        .await
        .with_context(|| format!("{target}: no answer within {} s (--timeout)", deadline.as_secs_f64()))
        .map_err(|e| Failure::new(Code::Daemon, e))?
}

/// The challenge, with a fresh nonce, and what the answer must show.
fn challenge_for(a: &AttestArgs) -> Result<(Challenge, Expectations), Failure> {
    let nonce = fresh_nonce()?;
    let (container, vm, subject) = match (&a.container, a.vm) {
        (Some(id), _) => (
            Some(ContainerRef { id: id.clone(), runtime: a.runtime.clone() }),
            None,
            ExpectedSubject::Container { id: id.clone(), runtime: a.runtime.clone() },
        ),
        (None, Some(cid)) => (None, Some(cid), ExpectedSubject::Vm { cid }),
        (None, None) => (None, None, ExpectedSubject::Host),
    };
    let exp = expectations(&a.policy, &nonce, subject)?;
    Ok((Challenge { nonce, container, vm, peer: None }, exp))
}

pub fn run(json: bool, a: AttestArgs) -> Result<(), Failure> {
    let targets = a.connect.iter().map(|t| parse_target(t)).collect::<Result<Vec<_>, _>>()?;
    if targets.len() > 1 && a.out.is_some() {
        return Err(usage(anyhow!("--out takes the evidence of a single --connect target")));
    }
    let rt = runtime()?;
    let deadline = Duration::from_secs_f64(a.timeout);
    if let [target] = targets.as_slice() {
        let (challenge, exp) = challenge_for(&a)?;
        let evidence = rt.block_on(fetch(target, &challenge, deadline))?;
        if let Some(out) = &a.out {
            emit(Some(out), &format!("{evidence}\n"))?;
        }
        return report(None, &evidence, &exp, json);
    }
    // Several targets: challenge up to --concurrency at once, then report in the order given.
    let total = targets.len();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(a.concurrency as usize));
    let mut jobs = tokio::task::JoinSet::new();
    let mut expected = Vec::new();
    for (i, target) in targets.into_iter().enumerate() {
        let (challenge, exp) = challenge_for(&a)?;
        expected.push(exp);
        let slots = slots.clone();
        jobs.spawn_on(
            async move {
                let _slot = slots.acquire_owned().await.expect("the semaphore is never closed");
                (i, fetch(&target, &challenge, deadline).await)
            },
            rt.handle(),
        );
    }
    let mut answers: Vec<Option<Result<String, Failure>>> = (0..total).map(|_| None).collect();
    rt.block_on(async {
        let mut done = 0;
        while let Some(joined) = jobs.join_next().await {
            let (i, answer) = joined.expect("attest task does not panic");
            done += 1;
            let state = if answer.is_ok() { "answered" } else { "unreachable" };
            eprintln!("[{done}/{total}] {}: {state}", a.connect[i]);
            answers[i] = Some(answer);
        }
    });
    let (mut passed, mut failed, mut unreachable) = (0, 0, 0);
    let mut worst: Option<Failure> = None;
    for ((name, exp), answer) in a.connect.iter().zip(&expected).zip(answers) {
        if !json {
            say!("== {name}");
        }
        let outcome = match answer.expect("every job reported") {
            Ok(evidence) => report(Some(name), &evidence, exp, json),
            Err(f) => {
                if json {
                    print_json(&json!({ "target": name, "verdict": "error", "reason": format!("{:#}", f.error) }));
                } else {
                    say!("error: {name}: {:#}", f.error);
                }
                Err(Failure { silent: true, ..f })
            }
        };
        match outcome {
            Ok(()) => passed += 1,
            Err(f) => {
                if f.code == Code::Attestation {
                    failed += 1;
                } else {
                    unreachable += 1;
                }
                if worst.as_ref().is_none_or(|w| (f.code as u8) > (w.code as u8)) {
                    worst = Some(f);
                }
            }
        }
    }
    if json {
        print_json(
            &json!({ "summary": { "targets": total, "passed": passed, "failed": failed, "unreachable": unreachable } }),
        );
    } else {
        say!("{passed} passed, {failed} failed, {unreachable} unreachable (of {total})");
    }
    worst.map_or(Ok(()), Err)
}
