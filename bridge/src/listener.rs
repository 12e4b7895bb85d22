//! Listeners and connection limits. A listener is bound from `--listen` or adopted from
//! systemd socket activation (TCP and vsock fds). Each accepted connection must get a slot
//! under the total bound and under its source's bound, or it is refused with an error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use ras_proto::api::remote::RemoteError;
use ras_proto::stream::write_message;
use ras_proto::{Reply, VarlinkError};
use ras_server::activation::Activated;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_vsock::{VsockAddr, VsockListener};
use tracing::{debug, error, warn};

use crate::config::{Config, Listen};
use crate::session::{self, Source};

/// A listening socket.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// AF_VSOCK.
    Vsock(VsockListener),
}

impl Listener {
    /// For logs.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map(|a| format!("tcp:{a}")).unwrap_or_else(|_| "tcp:?".into()),
            Listener::Vsock(l) => {
                l.local_addr().map(|a| format!("vsock:{}:{}", a.cid(), a.port())).unwrap_or_else(|_| "vsock:?".into())
            }
        }
    }
}

/// Binds `--listen` addresses, or adopts the socket-activated fds when none are given.
pub async fn open(cfg: &Config, activated: Vec<Activated>) -> anyhow::Result<Vec<Listener>> {
    let mut out = Vec::new();
    if cfg.listen.is_empty() {
        for a in activated {
            match a.family().context("inspect activated fd")? {
                libc::AF_INET | libc::AF_INET6 => {
                    let std = std::net::TcpListener::from(a.fd);
                    std.set_nonblocking(true).context("activated tcp fd")?;
                    out.push(Listener::Tcp(TcpListener::from_std(std).context("activated tcp fd")?));
                }
                libc::AF_VSOCK => out.push(Listener::Vsock(VsockListener::from(a.fd))),
                other => bail!("activated fd has address family {other}; only TCP and vsock are served"),
            }
        }
        if out.is_empty() {
            bail!("nothing to listen on: give --listen tcp:ADDR:PORT or vsock:CID:PORT, or use socket activation");
        }
        return Ok(out);
    }
    for l in &cfg.listen {
        match l {
            Listen::Tcp(addr) => {
                out.push(Listener::Tcp(TcpListener::bind(addr).await.with_context(|| format!("bind tcp:{addr}"))?))
            }
            Listen::Vsock { cid, port } => out.push(Listener::Vsock(
                VsockListener::bind(VsockAddr::new(*cid, *port)).with_context(|| format!("bind vsock:{cid}:{port}"))?,
            )),
        }
    }
    Ok(out)
}

/// The connection bounds, shared by all listeners.
pub struct Limits {
    total: Arc<Semaphore>,
    per_source: Mutex<HashMap<Source, usize>>,
    max_per_source: usize,
}

/// A connection's slot; dropping it frees both bounds.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    limits: Arc<Limits>,
    source: Source,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.limits.per_source.lock().expect("limits lock");
        if let Some(n) = map.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.source);
            }
        }
    }
}

impl Limits {
    /// Bounds from the configuration.
    pub fn new(cfg: &Config) -> Self {
        Limits {
            total: Arc::new(Semaphore::new(cfg.max_connections)),
            per_source: Mutex::new(HashMap::new()),
            max_per_source: cfg.max_per_source,
        }
    }

    /// A slot for a connection from `source`, or the reason there is none.
    pub fn admit(self: &Arc<Self>, source: Source) -> Result<Slot, &'static str> {
        let permit = self.total.clone().try_acquire_owned().map_err(|_| "too many connections")?;
        let key = source.key();
        let mut map = self.per_source.lock().expect("limits lock");
        let n = map.entry(key).or_insert(0);
        if *n >= self.max_per_source {
            return Err("too many connections from this source");
        }
        *n += 1;
        Ok(Slot { _permit: permit, limits: self.clone(), source: key })
    }
}

/// Accepts until the task is dropped.
pub async fn accept_loop(l: Listener, cfg: Arc<Config>, limits: Arc<Limits>) {
    loop {
        let accepted = match &l {
            Listener::Tcp(t) => t.accept().await.map(|(s, a)| {
                let _ = s.set_nodelay(true);
                (Conn::Tcp(s), Source::Ip(a.ip(), a.port()))
            }),
            Listener::Vsock(v) => v.accept().await.map(|(s, a)| (Conn::Vsock(s), Source::Cid(a.cid(), a.port()))),
        };
        let (conn, source) = match accepted {
            Ok(x) => x,
            Err(e) => {
                error!(cause = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match limits.admit(source) {
            Ok(slot) => {
                let cfg = cfg.clone();
                tokio::spawn(async move {
                    match conn {
                        Conn::Tcp(s) => session::serve(s, source, &cfg).await,
                        Conn::Vsock(s) => session::serve(s, source, &cfg).await,
                    }
                    drop(slot);
                });
            }
            Err(reason) => {
                debug!(%source, reason, "connection refused");
                tokio::spawn(async move {
                    match conn {
                        Conn::Tcp(s) => refuse(s, reason).await,
                        Conn::Vsock(s) => refuse(s, reason).await,
                    }
                });
            }
        }
    }
}

enum Conn {
    Tcp(tokio::net::TcpStream),
    Vsock(tokio_vsock::VsockStream),
}

/// Tells a refused peer why, briefly, then closes.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, reason: &str) {
    let err: VarlinkError = RemoteError::Unavailable { reason: reason.into() }.into();
    let reply = Reply::from_error(&err).to_json();
    if tokio::time::timeout(Duration::from_millis(200), write_message(&mut s, &reply)).await.is_err() {
        warn!("refused peer did not take its error");
    }
}
