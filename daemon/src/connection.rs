//! One connection: read a message, parse it, dispatch it, write the reply, in order. This is
//! the only module that touches bytes. A bad message gets an error reply and the connection
//! stays open; only a broken stream ends it.

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
use crate::identity::Peer;
use crate::{Daemon, SocketKind};

/// Serves a unix connection until the peer closes it or the stream breaks.
pub async fn serve(stream: UnixStream, kind: SocketKind, daemon: Arc<Daemon>) {
    let peer = match Peer::from_socket(&stream) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            warn!(cause = %e, socket = kind.name(), "cannot identify peer; closing");
            return;
        }
    };
    let span = info_span!("conn", socket = kind.name(), peer_pid = peer.pid, peer_uid = peer.uid, peer_gid = peer.gid);
    serve_stream(stream, Origin::Process(peer), kind, daemon).instrument(span).await
}

/// Serves any stream whose peer is already known; used for unix sockets, for VM agents over
/// AF_VSOCK (identified by the CID the kernel reported at accept), and by tests.
pub async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    origin: Origin,
    kind: SocketKind,
    daemon: Arc<Daemon>,
) {
    daemon.connections.fetch_add(1, Ordering::Relaxed);
    let ctx = CallContext { daemon: daemon.clone(), origin, socket: kind };
    serve_messages(stream, &ctx).await;
    daemon.connections.fetch_sub(1, Ordering::Relaxed);
}

async fn serve_messages<S: AsyncRead + AsyncWrite + Unpin>(stream: S, ctx: &CallContext) {
    let mut reader = MessageReader::new(stream, ctx.daemon.config.max_message_size);
    loop {
        let next = tokio::time::timeout(ctx.daemon.config.idle_timeout, reader.next_message()).await;
        let Ok(next) = next else {
            debug!("no whole message within the idle timeout; closing");
            return;
        };
        let (reply, oneway) = match next {
            Ok(None) => return,
            Ok(Some(frame)) => match Request::from_frame(&frame) {
                Ok(req) => {
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
                            // The agent's stream lasts as long as the connection.
                            return stream_agent(&mut reader, stream).instrument(span).await;
                        }
                    }
                }
                Err(e) => (Err(VarlinkError::malformed_message(&malformed_reason(&e))), false),
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
        if let Err(e) = write_message(reader.get_mut(), &reply.to_json()).await {
            debug!(cause = %e, "write failed; connection ends");
            return;
        }
    }
}

/// Feeds an agent its events until either side ends the stream. The connection closes with
/// it: a Serve call never returns, so nothing may follow it on the same connection.
async fn stream_agent<S: AsyncRead + AsyncWrite + Unpin>(reader: &mut MessageReader<S>, mut s: AgentStream<'_>) {
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
                    Ok(Some(_)) => warn!("agent sent a call on its Serve connection; closing"),
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
