//! `rasctl attest`: a remote challenge with a fresh 32-byte nonce, then the ordered checks of
//! DESIGN §4.4 on the answer, including that the subject is what was asked for.

use std::time::Duration;

use anyhow::{anyhow, Context};
use ras_evidence::{Expectations, ExpectedSubject};
use ras_proto::api::{method, EvidenceReply};
use ras_proto::client::Client;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::cli::AttestArgs;
use crate::client::runtime;
use crate::cmd::evidence::fresh_nonce;
use crate::cmd::verify::{expectations, report, report_target};
use crate::failure::{usage, Code, Failure};
use crate::output::{emit, print_json};

/// Deadline for the whole exchange; rasd's agent deadline is shorter.
const EXCHANGE: Duration = Duration::from_secs(60);

/// Where a challenge goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `tcp:HOST:PORT`
    Tcp(String),
    /// `unix:PATH`
    Unix(String),
    /// `vsock:CID:PORT`
    Vsock(u32, u32),
}

/// Parses `--connect`.
pub fn parse_target(s: &str) -> Result<Target, Failure> {
    match s.split_once(':') {
        Some(("tcp", addr))
            if addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
        {
            Ok(Target::Tcp(addr.to_string()))
        }
        Some(("unix", path)) if !path.is_empty() => Ok(Target::Unix(path.to_string())),
        Some(("vsock", rest)) => match rest.split_once(':').map(|(c, p)| (c.parse::<u32>(), p.parse::<u32>())) {
            Some((Ok(cid), Ok(port))) => Ok(Target::Vsock(cid, port)),
            _ => Err(usage(anyhow!("--connect vsock:CID:PORT needs numbers, got {s:?}"))),
        },
        _ => Err(usage(anyhow!("--connect must be tcp:HOST:PORT, vsock:CID:PORT or unix:PATH, got {s:?}"))),
    }
}

async fn challenge<S: AsyncRead + AsyncWrite + Unpin>(stream: S, params: Value) -> Result<String, Failure> {
    let reply: EvidenceReply = Client::new(stream).call(method::CHALLENGE, params).await?;
    Ok(reply.evidence)
}

/// Sends the challenge and returns the evidence.
pub async fn fetch(target: &Target, params: Value) -> Result<String, Failure> {
    let unreachable =
        |e: std::io::Error| Failure::new(Code::Daemon, anyhow::Error::from(e).context("connect to target"));
    let exchange = async {
        match target {
            Target::Tcp(addr) => challenge(TcpStream::connect(addr).await.map_err(unreachable)?, params).await,
            Target::Unix(path) => challenge(UnixStream::connect(path).await.map_err(unreachable)?, params).await,
            Target::Vsock(cid, port) => {
                let addr = tokio_vsock::VsockAddr::new(*cid, *port);
                challenge(tokio_vsock::VsockStream::connect(addr).await.map_err(unreachable)?, params).await
            }
        }
    };
    tokio::time::timeout(EXCHANGE, exchange)
        .await
        .context("no answer within 60 s")
        .map_err(|e| Failure::new(Code::Daemon, e))?
}

/// The challenge parameters and what the answer must show, with a fresh nonce.
fn challenge_for(a: &AttestArgs) -> Result<(Value, Expectations), Failure> {
    let nonce = fresh_nonce()?;
    let mut params = json!({ "nonce": nonce });
    let subject = match (&a.container, a.vm) {
        (Some(id), _) => {
            params["container"] = json!({ "id": id, "type": a.runtime });
            ExpectedSubject::Container { id: id.clone(), runtime: a.runtime.clone() }
        }
        (None, Some(cid)) => {
            params["vm"] = json!(cid);
            ExpectedSubject::Vm { cid }
        }
        (None, None) => ExpectedSubject::Host,
    };
    Ok((params, expectations(&a.policy, &nonce, subject)?))
}

pub fn run(json: bool, a: AttestArgs) -> Result<(), Failure> {
    let targets = a.connect.iter().map(|t| parse_target(t)).collect::<Result<Vec<_>, _>>()?;
    if targets.len() > 1 && a.out.is_some() {
        return Err(usage(anyhow!("--out takes the evidence of a single --connect target")));
    }
    let rt = runtime()?;
    if let [target] = targets.as_slice() {
        let (params, exp) = challenge_for(&a)?;
        let evidence = rt.block_on(fetch(target, params))?;
        if let Some(out) = &a.out {
            emit(Some(out), &format!("{evidence}\n"))?;
        }
        return report(&evidence, &exp, json);
    }
    // Several targets: challenge them all at once, then report in the order given.
    let mut jobs = tokio::task::JoinSet::new();
    let mut expected = Vec::new();
    for (i, target) in targets.into_iter().enumerate() {
        let (params, exp) = challenge_for(&a)?;
        expected.push(exp);
        jobs.spawn_on(async move { (i, fetch(&target, params).await) }, rt.handle());
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
            Ok(evidence) => report_target(Some(name), &evidence, exp, json),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("tcp:127.0.0.1:7000").unwrap(), Target::Tcp("127.0.0.1:7000".into()));
        assert_eq!(parse_target("tcp:[::1]:7000").unwrap(), Target::Tcp("[::1]:7000".into()));
        assert_eq!(parse_target("unix:/run/ras/rasd.sock").unwrap(), Target::Unix("/run/ras/rasd.sock".into()));
        assert_eq!(parse_target("vsock:1:7000").unwrap(), Target::Vsock(1, 7000));
        for bad in ["tcp:host", "tcp::1", "udp:x:1", "unix:", "nonsense", "vsock:x:1", "vsock:1"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
