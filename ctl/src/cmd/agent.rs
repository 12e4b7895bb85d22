//! `rasctl agent`: runs inside a container and answers the challenges rasd forwards to it.
//!
//! It holds `io.ras.Agent.Serve` open on one connection and answers each event with
//! `io.ras.Agent.Respond` on a second one (a varlink connection carries one call at a time,
//! and Serve never ends). When rasd goes away it reconnects with exponential backoff, so an
//! agent survives daemon restarts by itself. rasd, not the agent, decides which container
//! this is and measures the agent's executable; claims from `--claims` are labelled as the
//! workload's own.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context};
use ras_proto::api::agent::{EventKind, Respond, Serve};
use ras_proto::ProtoError;
use serde_json::Value;

use crate::cli::AgentArgs;
use crate::client::{connect, parse_target, runtime, Conn, Target};
use crate::failure::{usage, Failure};

const MIN_BACKOFF: Duration = Duration::from_millis(100);

pub fn run(socket: &Path, a: AgentArgs) -> Result<(), Failure> {
    let endpoint = match &a.connect {
        None => Target::Unix(socket.display().to_string()),
        // rasd takes agents on unix sockets and AF_VSOCK only.
        Some(t) => match parse_target(t) {
            Ok(Target::Tcp(_)) | Err(_) => return Err(usage(anyhow!("--connect must be vsock:CID:PORT, got {t:?}"))),
            Ok(target) => target,
        },
    };
    let claims = match &a.claims {
        Some(p) => Some(
            serde_json::from_str::<Value>(
                &std::fs::read_to_string(p).with_context(|| format!("read {}", p.display())).map_err(usage)?,
            )
            .with_context(|| format!("{} is not JSON", p.display()))
            .map_err(usage)?,
        ),
        None => None,
    };
    let max_backoff = Duration::from_millis(a.max_backoff.max(100));
    runtime()?.block_on(async {
        tokio::select! {
            () = serve_forever(&endpoint, a.container.as_deref(), claims.as_ref(), max_backoff) => Ok(()),
            _ = tokio::signal::ctrl_c() => Ok(()),
            _ = sigterm() => Ok(()),
        }
    })
}

async fn sigterm() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

async fn serve_forever(socket: &Target, container: Option<&str>, claims: Option<&Value>, max_backoff: Duration) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let wait = jittered(backoff);
        match session(socket, container, claims, &mut backoff).await {
            Ok(()) => eprintln!("rasctl agent: rasd closed the stream; reconnecting in {} ms", wait.as_millis()),
            Err(e) => eprintln!("rasctl agent: {e:#}; retrying in {} ms", wait.as_millis()),
        }
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(max_backoff);
    }
}

/// A wait drawn uniformly from [backoff/2, backoff], so that a thousand agents that lost rasd
/// at the same moment (a restart) do not come back in lockstep.
fn jittered(backoff: Duration) -> Duration {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    let r = ring::rand::SystemRandom::new().fill(&mut b).map_or(u32::MAX, |()| u32::from_le_bytes(b));
    backoff / 2 + backoff.mul_f64(f64::from(r) / f64::from(u32::MAX) / 2.0)
}

/// One connection's life: Serve, then answer events until the stream ends.
async fn session(
    socket: &Target,
    container: Option<&str>,
    claims: Option<&Value>,
    backoff: &mut Duration,
) -> anyhow::Result<()> {
    let mut serve = connect(socket).await.map_err(|f| f.error)?;
    let ready = serve.call(&Serve { container: container.map(String::from) }).await.map_err(refused)?;
    eprintln!("rasctl agent: ready; rasd says this is container {}", ready.id);
    *backoff = MIN_BACKOFF;
    let mut responder: Option<Conn> = None;
    loop {
        let ev = match serve.next::<Serve>().await {
            Ok(ev) => ev,
            Err(ProtoError::Closed) => return Ok(()),
            Err(e) => return Err(refused(e)),
        };
        let answer = Respond { id: ev.id.clone(), claims: claims.cloned() };
        // Reuse one answering connection; open a new one if it broke.
        for attempt in 0..2 {
            if responder.is_none() {
                responder = Some(connect(socket).await.map_err(|f| f.error)?);
            }
            let client = responder.as_mut().expect("just set");
            match client.call(&answer).await {
                Ok(_) => break,
                Err(ProtoError::Call(e)) => {
                    eprintln!("rasctl agent: rasd refused the answer to {}: {}", ev.id, e.name);
                    break;
                }
                Err(e) if attempt == 0 => {
                    eprintln!("rasctl agent: answering connection broke ({e}); reopening");
                    responder = None;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if ev.kind == EventKind::Challenge {
            eprintln!("rasctl agent: answered challenge {}", ev.id);
        }
    }
}

/// A failure of the Serve stream, for the retry message.
fn refused(e: ProtoError) -> anyhow::Error {
    match e {
        ProtoError::Call(e) => anyhow!("rasd refused the agent: {e}"),
        other => anyhow::Error::from(other).context("unexpected event from rasd"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_jitter_stays_within_half_to_whole_and_spreads() {
        let b = Duration::from_millis(4000);
        let waits: Vec<Duration> = (0..200).map(|_| jittered(b)).collect();
        assert!(waits.iter().all(|w| *w >= b / 2 && *w <= b), "{waits:?}");
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "no jitter: {} distinct waits of 200", distinct.len());
    }
}
