//! `rasctl agent`: runs inside a container and answers the challenges rasd forwards to it.
//!
//! It holds `io.ras.Agent.Serve` open on one connection and answers each event with
//! `io.ras.Agent.Respond` on a second one (a varlink connection carries one call at a time,
//! and Serve never ends). When rasd goes away it reconnects with exponential backoff, so an
//! agent survives daemon restarts by itself. rasd, not the agent, decides which container
//! this is and measures the agent's executable; claims from `--claims` are labelled as the
//! workload's own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use ras_proto::api::{method, AgentEvent};
use ras_proto::client::Client;
use ras_proto::{ProtoError, Request};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixStream;

use crate::cli::AgentArgs;
use crate::client::runtime;
use crate::failure::{usage, Failure};

const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// Where the agent reaches rasd.
#[derive(Debug, Clone)]
enum Endpoint {
    Unix(PathBuf),
    Vsock(u32, u32),
}

/// Any connected stream.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl Endpoint {
    async fn connect(&self) -> anyhow::Result<Box<dyn Stream>> {
        Ok(match self {
            Endpoint::Unix(p) => {
                Box::new(UnixStream::connect(p).await.with_context(|| format!("connect to {}", p.display()))?)
            }
            Endpoint::Vsock(cid, port) => Box::new(
                tokio_vsock::VsockStream::connect(tokio_vsock::VsockAddr::new(*cid, *port))
                    .await
                    .with_context(|| format!("connect to vsock:{cid}:{port}"))?,
            ),
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
            Endpoint::Vsock(cid, port) => write!(f, "vsock:{cid}:{port}"),
        }
    }
}

pub fn run(socket: &Path, a: AgentArgs) -> Result<(), Failure> {
    let endpoint = match &a.connect {
        None => Endpoint::Unix(socket.to_path_buf()),
        Some(t) => match t.strip_prefix("vsock:").and_then(|r| r.split_once(':')) {
            Some((cid, port)) => match (cid.parse(), port.parse()) {
                (Ok(cid), Ok(port)) => Endpoint::Vsock(cid, port),
                _ => return Err(usage(anyhow!("--connect must be vsock:CID:PORT, got {t:?}"))),
            },
            None => return Err(usage(anyhow!("--connect must be vsock:CID:PORT, got {t:?}"))),
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

async fn serve_forever(socket: &Endpoint, container: Option<&str>, claims: Option<&Value>, max_backoff: Duration) {
    let mut backoff = MIN_BACKOFF;
    loop {
        match session(socket, container, claims, &mut backoff).await {
            Ok(()) => eprintln!("rasctl agent: rasd closed the stream; reconnecting"),
            Err(e) => eprintln!("rasctl agent: {e:#}; retrying in {} ms", backoff.as_millis()),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(max_backoff);
    }
}

/// One connection's life: Serve, then answer events until the stream ends.
async fn session(
    socket: &Endpoint,
    container: Option<&str>,
    claims: Option<&Value>,
    backoff: &mut Duration,
) -> anyhow::Result<()> {
    let mut serve = Client::new(socket.connect().await?);
    let params = match container {
        Some(c) => json!({ "container": c }),
        None => json!({}),
    };
    let mut req = Request::new(method::AGENT_SERVE, params);
    req.more = true;
    let ready = event(serve.send(&req).await?)?;
    eprintln!("rasctl agent: ready; rasd says this is container {}", ready.id);
    *backoff = MIN_BACKOFF;
    let mut responder: Option<Client<Box<dyn Stream>>> = None;
    loop {
        let ev = match serve.next_reply().await {
            Ok(r) => event(r)?,
            Err(ProtoError::Closed) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut params = json!({ "id": ev.id });
        if let Some(c) = claims {
            params["claims"] = c.clone();
        }
        // Reuse one answering connection; open a new one if it broke.
        for attempt in 0..2 {
            if responder.is_none() {
                responder = Some(Client::new(socket.connect().await?));
            }
            let client = responder.as_mut().expect("just set");
            match client.call::<Value>(method::AGENT_RESPOND, params.clone()).await {
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
        if ev.kind == "challenge" {
            eprintln!("rasctl agent: answered challenge {}", ev.id);
        }
    }
}

fn event(reply: ras_proto::Reply) -> anyhow::Result<AgentEvent> {
    let params = reply.into_result().map_err(|e| anyhow!("rasd refused the agent: {e}"))?;
    serde_json::from_value(Value::Object(params)).context("unexpected event from rasd")
}
