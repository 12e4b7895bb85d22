//! `rasctl attest`: a remote challenge with a fresh 32-byte nonce, then the ordered checks on
//! the answer, including that the subject is what was asked for.

use std::time::Duration;

use anyhow::{anyhow, Context};
use ras_evidence::{Expectations, ExpectedSubject};
use ras_proto::api::remote::{Challenge, ContainerRef};
use serde_json::json;

use crate::cli::AttestArgs;
use crate::client::{connect, fresh_nonce, parse_target, runtime, Target};
use crate::failure::{usage, Code, Failure};
use crate::output::{emit, print_json};
use crate::verdict::{expectations, report};

/// Deadline for the whole exchange; rasd's agent deadline is shorter.
const EXCHANGE: Duration = Duration::from_secs(60);

/// Sends the challenge and returns the evidence.
async fn fetch(target: &Target, challenge: &Challenge) -> Result<String, Failure> {
    let exchange = async { Ok::<_, Failure>(connect(target).await?.call(challenge).await?.evidence) };
    tokio::time::timeout(EXCHANGE, exchange)
        .await
        .context("no answer within 60 s")
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
    if let [target] = targets.as_slice() {
        let (challenge, exp) = challenge_for(&a)?;
        let evidence = rt.block_on(fetch(target, &challenge))?;
        if let Some(out) = &a.out {
            emit(Some(out), &format!("{evidence}\n"))?;
        }
        return report(None, &evidence, &exp, json);
    }
    // Several targets: challenge them all at once, then report in the order given.
    let mut jobs = tokio::task::JoinSet::new();
    let mut expected = Vec::new();
    for (i, target) in targets.into_iter().enumerate() {
        let (challenge, exp) = challenge_for(&a)?;
        expected.push(exp);
        jobs.spawn_on(async move { (i, fetch(&target, &challenge).await) }, rt.handle());
    }
    let mut answers: Vec<Option<Result<String, Failure>>> = (0..expected.len()).map(|_| None).collect();
    rt.block_on(async {
        while let Some(done) = jobs.join_next().await {
            let (i, answer) = done.expect("attest task does not panic");
            answers[i] = Some(answer);
        }
    });
    let mut worst: Option<Failure> = None;
    for ((name, exp), answer) in a.connect.iter().zip(&expected).zip(answers) {
        if !json {
            println!("== {name}");
        }
        let outcome = match answer.expect("every job reported") {
            Ok(evidence) => report(Some(name), &evidence, exp, json),
            Err(f) => {
                if json {
                    print_json(&json!({ "target": name, "verdict": "error", "reason": format!("{:#}", f.error) }));
                } else {
                    println!("error: {:#}", f.error);
                }
                Err(Failure { silent: true, ..f })
            }
        };
        if let Err(f) = outcome {
            if worst.as_ref().is_none_or(|w| (f.code as u8) > (w.code as u8)) {
                worst = Some(f);
            }
        }
    }
    worst.map_or(Ok(()), Err)
}
