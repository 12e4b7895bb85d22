//! One connection: identify the peer once, then read a message, check that the identity still
//! holds for it, parse it, dispatch it, write the reply, in order. This is the only module
//! that touches bytes. A bad message gets an error reply and the connection stays open; a
//! request whose identity no longer holds gets `PeerChanged` and the connection closes; only
//! a broken stream ends it otherwise.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ras_proto::api::AgentEvent;
use ras_proto::codec::FrameError;
use ras_proto::stream::{write_message, MessageReader};
use ras_proto::{ProtoError, Reply, Request, VarlinkError};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixStream;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::dispatch::{dispatch, CallContext, Dispatched, Origin};
use crate::handlers::agent::AgentStream;
use crate::identity::writer::{CredStream, WriterCheck};
use crate::identity::{Peer, PeerChange, Placement};
use crate::quota::{Bucket, ConnectionSlot};
use crate::{Daemon, SocketKind};
use std::os::fd::AsFd;

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
    let quotas = daemon.clone();
    // Host processes may connect to it too (it is 0666) and share one bucket per uid.
    let slot = match kind {
        SocketKind::Container => {
            let bucket = match &id.placement {
                Placement::Container(c) => Bucket::Container(c.clone()),
                _ => Bucket::Uid(id.uid),
            };
            match quotas.quotas.connect(&bucket) {
                Some(slot) => Some(slot),
                None => {
                    let max = quotas.quotas.max_connections();
                    span.in_scope(|| warn!(container = %bucket, max, "container holds its share of connections; closing the new one"));
                    return;
                }
            }
        }
        _ => None,
    };
    let stream = CredStream::new(stream, peer.pid);
    serve_stream(stream, Origin::Process(peer), kind, daemon, slot.as_ref()).instrument(span).await
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
    let ctx = CallContext { daemon: daemon.clone(), origin, socket: kind };
    serve_messages(stream, &ctx, slot).await;
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
    stream: S,
    ctx: &CallContext,
    slot: Option<&ConnectionSlot<'_>>,
) {
    let mut reader = MessageReader::new(stream, ctx.daemon.config.max_message_size);
    loop {
        let next = tokio::time::timeout(ctx.daemon.config.idle_timeout, reader.next_message()).await;
        let Ok(next) = next else {
            debug!("no whole message within the idle timeout; closing");
            return;
        };
        let mut close = false;
        let (reply, oneway) = match next {
            Ok(None) => return,
            Ok(Some(frame)) => match (still_holds(ctx, reader.get_ref()), Request::from_frame(&frame)) {
                (Err(change), _) => {
                    warn!(reason = %change, change = change.tag(), "identity no longer holds; refusing and closing");
                    close = true;
                    (Err(VarlinkError::peer_changed(&change.to_string())), false)
                }
                (Ok(()), Ok(req)) => {
                    let _permit = match slot {
                        Some(s) => Some(s.call().await),
                        None => None,
                    };
                    ctx.daemon.calls.fetch_add(1, Ordering::Relaxed);
                    ctx.daemon.in_flight.fetch_add(1, Ordering::AcqRel);
                    let span = info_span!(
                        "call",
                        method = %req.method,
                        container_id = tracing::field::Empty,
                        container_type = tracing::field::Empty,
                    );
                    let dispatched = dispatch(&req, ctx).instrument(span.clone()).await;
                    ctx.daemon.in_flight.fetch_sub(1, Ordering::AcqRel);
                    match dispatched {
                        Dispatched::Reply(result) => {
                            let outcome = result.as_ref().err().map_or("ok", |e| e.name.as_str());
                            span.in_scope(|| info!(outcome, "call"));
                            (result, req.oneway)
                        }
                        Dispatched::Stream(stream) => {
                            drop(_permit);
                            // The agent's stream lasts as long as the connection.
                            return stream_agent(&mut reader, stream, ctx).instrument(span).await;
                        }
                    }
                }
                (Ok(()), Err(e)) => (Err(VarlinkError::malformed_message(&malformed_reason(&e))), false),
            },
            Err(ProtoError::Frame(FrameError::TooLarge { limit })) => {
                warn!(limit, "message too large; dropped");
                (Err(VarlinkError::message_too_large(limit)), false)
            }
            Err(e) => {
                debug!(cause = %e, "connection ends");
                return;
            }
        };
        if oneway {
            continue;
        }
        let reply = match reply {
            Ok(params) => Reply::ok(params),
            Err(e) => Reply::from_error(&e),
        };
        // A peer that does not read its replies does not hold the connection (and its reply
        // buffer) forever: the write gets the same deadline as a read.
        let bytes = reply.to_json();
        let write = write_message(reader.get_mut(), &bytes);
        match tokio::time::timeout(ctx.daemon.config.idle_timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                debug!(cause = %e, "write failed; connection ends");
                return;
            }
            Err(_) => {
                warn!("peer does not read its replies; closing");
                return;
            }
        }
        if close {
            return;
        }
    }
}

/// Feeds an agent its events until either side ends the stream. The connection closes with
/// it: a Serve call never returns, so nothing may follow it on the same connection.
async fn stream_agent<S: AsyncRead + AsyncWrite + WriterCheck + Unpin>(
    reader: &mut MessageReader<S>,
    mut s: AgentStream<'_>,
    ctx: &CallContext,
) {
    let event = |e: &AgentEvent| {
        let mut r = Reply::ok(serde_json::to_value(e).expect("events serialize"));
        r.continues = true;
        r.to_json()
    };
    if write_message(reader.get_mut(), &event(&s.ready)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            ev = s.events.recv() => match ev {
                Some(ev) => {
                    if let Err(e) = write_message(reader.get_mut(), &event(&ev)).await {
                        info!(cause = %e, "agent stream broke");
                        return;
                    }
                }
                None => {
                    info!("agent dropped by rasd");
                    return;
                }
            },
            msg = reader.next_message() => {
                match msg {
                    Ok(Some(_)) => match still_holds(ctx, reader.get_ref()) {
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

/// A short reason for a malformed message, without echoing the peer's bytes.
fn malformed_reason(e: &ProtoError) -> String {
    match e {
        ProtoError::Malformed(j) if j.is_syntax() || j.is_eof() => "not valid JSON".into(),
        ProtoError::Malformed(j) if j.is_data() => {
            "not a varlink call: expected an object with a string \"method\"".into()
        }
        _ => "unreadable message".into(),
    }
}
