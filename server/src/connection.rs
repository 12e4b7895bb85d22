//! One connection's messages, the same for every ras server: a message must arrive whole
//! within the idle deadline, an oversized one is answered with `MessageTooLarge` and dropped,
//! one that is not a call is answered with `MalformedMessage` (without echoing the peer's
//! bytes), and a reply must be taken by the peer within the same deadline. In each of those
//! cases but the last the connection stays open.

use std::time::Duration;

use ras_proto::codec::FrameError;
use ras_proto::stream::{write_message, MessageReader};
use ras_proto::{ProtoError, Reply, Request, VarlinkError};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, warn};

/// The bounds of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a message may take to arrive whole, and a reply to be taken.
    pub idle_timeout: Duration,
    /// Largest message, in bytes, before its NUL terminator.
    pub max_message: usize,
}

/// A connection, read message by message.
pub struct Connection<S> {
    reader: MessageReader<S>,
    idle: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Wraps an accepted stream.
    pub fn new(stream: S, limits: Limits) -> Self {
        Connection { reader: MessageReader::new(stream, limits.max_message), idle: limits.idle_timeout }
    }

    /// The next whole message. `None` when the peer closed, the stream broke, no whole
    /// message arrived within the idle deadline, or an error reply could not be written.
    /// An oversized message is answered here and skipped.
    pub async fn next_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            let Ok(next) = tokio::time::timeout(self.idle, self.reader.next_message()).await else {
                debug!("no whole message within the idle timeout; closing");
                return None;
            };
            match next {
                Ok(frame) => return frame,
                Err(ProtoError::Frame(FrameError::TooLarge { limit })) => {
                    warn!(limit, "message too large; dropped");
                    if !self.send(&Reply::from_error(&VarlinkError::message_too_large(limit))).await {
                        return None;
                    }
                }
                Err(e) => {
                    debug!(cause = %e, "connection ends");
                    return None;
                }
            }
        }
    }

    /// Writes a reply within the idle deadline. False when the connection should end: the
    /// stream broke, or the peer does not read its replies (it would otherwise hold the
    /// connection and its reply buffer forever).
    pub async fn send(&mut self, reply: &Reply) -> bool {
        let bytes = reply.to_json();
        match tokio::time::timeout(self.idle, write_message(self.reader.get_mut(), &bytes)).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                debug!(cause = %e, "write failed; connection ends");
                false
            }
            Err(_) => {
                warn!("peer does not read its replies; closing");
                false
            }
        }
    }

    /// Answers a call: its result, or nothing when it was `oneway`. False when the
    /// connection should end.
    pub async fn answer(&mut self, oneway: bool, result: Result<Value, VarlinkError>) -> bool {
        if oneway {
            return true;
        }
        let reply = match result {
            Ok(params) => Reply::ok(params),
            Err(e) => Reply::from_error(&e),
        };
        self.send(&reply).await
    }

    /// The next message with no deadline, for a stream that stays open (an agent's).
    pub async fn read(&mut self) -> Result<Option<Vec<u8>>, ProtoError> {
        self.reader.next_message().await
    }

    /// The stream.
    pub fn stream(&self) -> &S {
        self.reader.get_ref()
    }
}

/// Parses a frame as a call, or names why it is not one, without echoing the peer's bytes.
pub fn parse_request(frame: &[u8]) -> Result<Request, VarlinkError> {
    Request::from_frame(frame).map_err(|e| {
        let reason = match &e {
            ProtoError::Malformed(j) if j.is_syntax() || j.is_eof() => "not valid JSON",
            ProtoError::Malformed(j) if j.is_data() => {
                "not a varlink call: expected an object with a string \"method\""
            }
            _ => "unreadable message",
        };
        VarlinkError::malformed_message(reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const LIMITS: Limits = Limits { idle_timeout: Duration::from_secs(5), max_message: 64 };

    async fn reply_of(peer: &mut tokio::io::DuplexStream) -> serde_json::Value {
        let mut buf = Vec::new();
        loop {
            let b = peer.read_u8().await.unwrap();
            if b == 0 {
                return serde_json::from_slice(&buf).unwrap();
            }
            buf.push(b);
        }
    }

    #[tokio::test]
    async fn oversized_and_malformed_messages_are_answered_and_the_connection_goes_on() {
        let (mut peer, server) = tokio::io::duplex(4096);
        let mut conn = Connection::new(server, LIMITS);
        peer.write_all(&[b'x'; 100]).await.unwrap();
        peer.write_all(b"\0[1]\0").await.unwrap();
        let frame = conn.next_frame().await.unwrap();
        assert_eq!(reply_of(&mut peer).await["error"], "io.ras.Protocol.MessageTooLarge");
        let e = parse_request(&frame).unwrap_err();
        assert!(conn.answer(false, Err(e)).await);
        let r = reply_of(&mut peer).await;
        assert_eq!(r["error"], "io.ras.Protocol.MalformedMessage");
        assert!(!r.to_string().contains("[1]"), "the peer's bytes are not echoed");
        assert!(conn.answer(true, Ok(serde_json::json!({}))).await, "oneway: no reply");
        drop(peer);
        assert!(conn.next_frame().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_that_never_completes_ends_the_connection_at_the_deadline() {
        let (mut peer, server) = tokio::io::duplex(4096);
        let mut conn = Connection::new(server, LIMITS);
        peer.write_all(b"{\"method\":").await.unwrap();
        assert!(conn.next_frame().await.is_none());
    }
}
