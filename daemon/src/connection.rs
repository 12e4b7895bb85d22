//! One connection: identify the peer once, then for each message check that the identity
//! still holds for it, parse it, dispatch it and answer it, in order. Framing, deadlines and
//! the exact protocol errors are the server core's ([`ras_server::connection`]). A request
//! whose identity no longer holds gets `PeerChanged` and the connection closes.

use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ras_proto::api::agent::Event;
use ras_proto::{Reply, VarlinkError};
use ras_server::connection::{parse_request, Connection, Limits};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixStream;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::daemon::{Daemon, SocketKind};
use crate::dispatch::{dispatch, Dispatched};
use crate::handlers::agent::AgentStream;
use crate::identity::writer::{CredStream, WriterCheck};
use crate::identity::{Peer, PeerChange, Placement};
use crate::quota::{Bucket, ConnectionSlot};
use crate::subject::{CallContext, Origin};

/// Serves a unix connection until the peer closes it or the stream breaks.
pub async fn serve(stream: UnixStream, kind: SocketKind, daemon: Arc<Daemon>) {
    let peer = match identify(&stream, &daemon).await {
        Ok(p) => Arc::new(p),
        Err(e) => {
            warn!(cause = %e, socket = kind.name(), "cannot identify peer; closing");
            return;
        }
    };
    let id = peer.identity();
    let span = info_span!("conn", socket = kind.name(), peer_pid = peer.pid, peer_uid = id.uid, peer_gid = id.gid);
    // On the container socket each container has a fixed share of connections and calls.
    // Host processes may connect to it too (it is 0666) and share one bucket per uid.
    let slot = match kind {
        SocketKind::Container => {
            let bucket = match &id.placement {
                Placement::Container(c) => Bucket::Container(c.clone()),
                _ => Bucket::Uid(id.uid),
            };
            match daemon.quotas.connect(&bucket) {
                Some(slot) => Some(slot),
                None => {
                    let max = daemon.quotas.max_connections();
                    span.in_scope(|| info!(container = %bucket, max, "container holds its share of connections; closing the new one"));
                    return;
                }
            }
        }
        _ => None,
    };
    let stream = CredStream::new(stream, peer.pid);
    serve_stream(stream, Origin::Process(peer), kind, daemon.clone(), slot.as_ref()).instrument(span).await
}

/// The peer's identity, read off the async runtime (the executable may need hashing).
async fn identify(stream: &UnixStream, daemon: &Arc<Daemon>) -> anyhow::Result<Peer> {
    let fd = stream.as_fd().try_clone_to_owned()?;
    let d = daemon.clone();
    Ok(tokio::task::spawn_blocking(move || Peer::from_socket(&fd, &d.exe_cache)).await??)
}

/// Serves any stream whose peer is already known; used for unix sockets, for VM agents over
/// AF_VSOCK (identified by the CID the kernel reported at accept), and by tests.
pub async fn serve_stream<S: AsyncRead + AsyncWrite + WriterCheck + Unpin>(
    stream: S,
    origin: Origin,
    kind: SocketKind,
    daemon: Arc<Daemon>,
    slot: Option<&ConnectionSlot<'_>>,
) {
    daemon.connections.fetch_add(1, Ordering::Relaxed);
    let limits = Limits { idle_timeout: daemon.config.idle_timeout, max_message: daemon.config.max_message_size };
    let ctx = CallContext { daemon: daemon.clone(), origin, socket: kind };
    serve_messages(Connection::new(stream, limits), &ctx, slot).await;
    daemon.connections.fetch_sub(1, Ordering::Relaxed);
}

/// Whether the identity fixed at connect still holds for the message just read.
fn still_holds<S: WriterCheck>(ctx: &CallContext, stream: &S) -> Result<(), PeerChange> {
    let Origin::Process(peer) = &ctx.origin else { return Ok(()) };
    let writer = match stream.foreign_writer() {
        Some(foreign) => foreign,
        None => Some(peer.pid),
    };
    peer.check(writer)
}

async fn serve_messages<S: AsyncRead + AsyncWrite + WriterCheck + Unpin>(
    mut conn: Connection<S>,
    ctx: &CallContext,
    slot: Option<&ConnectionSlot<'_>>,
) {
    while let Some(frame) = conn.next_frame().await {
        // The writer and the process are checked before the bytes are even parsed.
        if let Err(change) = still_holds(ctx, conn.stream()) {
            info!(reason = %change, change = change.tag(), "identity no longer holds; refusing and closing");
            conn.answer(false, Err(VarlinkError::peer_changed(&change.to_string()))).await;
            return;
        }
        let req = match parse_request(&frame) {
            Ok(req) => req,
            Err(e) => {
                if conn.answer(false, Err(e)).await {
                    continue;
                }
                return;
            }
        };
        let permit = match slot {
            Some(s) => Some(s.call().await),
            None => None,
        };
        ctx.daemon.calls.fetch_add(1, Ordering::Relaxed);
        // In flight until its reply is written: shutdown waits for this count, and the process
        // exits when it reads zero, so a reply not yet written would be lost.
        let busy = InFlight::enter(&ctx.daemon);
        let span = info_span!(
            "call",
            method = %req.method,
            container_id = tracing::field::Empty,
            container_type = tracing::field::Empty,
        );
        let dispatched = dispatch(&req, ctx).instrument(span.clone()).await;
        drop(permit);
        let result = match dispatched {
            Dispatched::Reply(result) => result,
            // The agent's stream lasts as long as the connection, and is not a call in flight.
            Dispatched::Stream(stream) => {
                drop(busy);
                return stream_agent(&mut conn, stream, ctx).instrument(span).await;
            }
        };
        // Routine calls at debug; a refused or failed one at notice (info), with its outcome.
        // MESSAGE is a sentence for `journalctl -u rasd`; the RAS_* fields carry the same.
        let who = Caller(&ctx.origin);
        match &result {
            Ok(_) if issues_evidence(&req.method) => {
                let key = format!("{who} {}", req.method);
                match ctx.daemon.audit.issued(&key, std::time::Instant::now()) {
                    Some(more) => span.in_scope(|| {
                        info!(
                            outcome = "ok",
                            audit = true,
                            "{who} called {}: evidence issued ({more} more since the last such line)",
                            req.method
                        )
                    }),
                    None => span.in_scope(|| debug!(outcome = "ok", "{who} called {}: ok", req.method)),
                }
            }
            Ok(_) => span.in_scope(|| debug!(outcome = "ok", "{who} called {}: ok", req.method)),
            Err(e) => span.in_scope(|| info!(outcome = e.name.as_str(), "{who} called {}: {}", req.method, e.name)),
        }
        let answered = conn.answer(req.oneway, result).await;
        drop(busy);
        if !answered {
            return;
        }
    }
}

/// One call counted in [`Daemon::in_flight`] while it lives.
struct InFlight<'a>(&'a Daemon);

impl<'a> InFlight<'a> {
    fn enter(daemon: &'a Daemon) -> Self {
        daemon.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(daemon)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Methods whose success hands out signed evidence.
fn issues_evidence(method: &str) -> bool {
    matches!(method, "io.ras.Attestation.GetEvidence" | "io.ras.Remote.Challenge")
}

/// Feeds an agent its events until either side ends the stream. The connection closes with
/// it: a Serve call never returns, so nothing may follow it on the same connection.
async fn stream_agent<S: AsyncRead + AsyncWrite + WriterCheck + Unpin>(
    conn: &mut Connection<S>,
    mut s: AgentStream<'_>,
    ctx: &CallContext,
) {
    fn event(e: &Event) -> Reply {
        let mut r = Reply::of(e);
        r.continues = true;
        r
    }
    // `send` bounds each write by the idle timeout: an agent that stops reading loses its
    // stream instead of holding the task and its connection forever.
    if !conn.send(&event(&s.ready)).await {
        return;
    }
    loop {
        tokio::select! {
            ev = s.events.recv() => match ev {
                Some(ev) => {
                    if !conn.send(&event(&ev)).await {
                        info!("agent stream broke or the agent stopped reading; closing");
                        return;
                    }
                }
                None => {
                    info!("agent dropped by rasd");
                    return;
                }
            },
            msg = conn.read() => {
                match msg {
                    Ok(Some(_)) => match still_holds(ctx, conn.stream()) {
                        Err(change) => warn!(reason = %change, "agent stream written by another process; closing"),
                        Ok(()) => warn!("agent sent a call on its Serve connection; closing"),
                    },
                    _ => info!("agent disconnected"),
                }
                return;
            }
        }
    }
}

/// The caller in a log sentence: `pid 4242 (uid 1000, /usr/bin/rasctl)` or `vm cid 5`.
struct Caller<'a>(&'a Origin);

impl std::fmt::Display for Caller<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Origin::Process(p) => {
                let id = p.identity();
                write!(f, "pid {} (uid {}, {})", id.pid, id.uid, id.exe)
            }
            Origin::Vm(cid) => write!(f, "vm cid {cid}"),
        }
    }
}
