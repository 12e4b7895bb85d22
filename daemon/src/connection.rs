//! One connection: read a message, parse it, dispatch it, write the reply, in order. This is
//! the only module that touches bytes. A bad message gets an error reply and the connection
//! stays open; only a broken stream ends it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ras_proto::codec::FrameError;
use ras_proto::stream::{write_message, MessageReader};
use ras_proto::{ProtoError, Reply, Request, VarlinkError};
use tokio::net::UnixStream;
use tracing::{debug, info_span, warn, Instrument};

use crate::dispatch::{dispatch, CallContext};
use crate::identity::Peer;
use crate::{Daemon, SocketKind};

/// Serves a connection until the peer closes it or the stream breaks.
pub async fn serve(stream: UnixStream, kind: SocketKind, daemon: Arc<Daemon>) {
    let peer = match Peer::from_socket(&stream) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            warn!(cause = %e, socket = kind.name(), "cannot identify peer; closing");
            return;
        }
    };
    let span = info_span!("conn", socket = kind.name(), pid = peer.pid, uid = peer.uid, gid = peer.gid);
    daemon.connections.fetch_add(1, Ordering::Relaxed);
    let ctx = CallContext { daemon: daemon.clone(), peer, socket: kind };
    serve_messages(stream, &ctx).instrument(span).await;
    daemon.connections.fetch_sub(1, Ordering::Relaxed);
}

async fn serve_messages(stream: UnixStream, ctx: &CallContext) {
    let mut reader = MessageReader::new(stream, ctx.daemon.config.max_message_size);
    loop {
        let (reply, oneway) = match reader.next_message().await {
            Ok(None) => return,
            Ok(Some(frame)) => match Request::from_frame(&frame) {
                Ok(req) => {
                    ctx.daemon.calls.fetch_add(1, Ordering::Relaxed);
                    let span = info_span!("call", method = %req.method);
                    let result = dispatch(&req, ctx).instrument(span.clone()).await;
                    if let Err(e) = &result {
                        span.in_scope(|| debug!(error = %e.name, "call failed"));
                    }
                    (result, req.oneway)
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
