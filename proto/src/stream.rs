//! Async message I/O over any tokio stream: a bounded reader that yields one message per NUL,
//! and a writer that appends the terminator. Used by rasd's connections and by clients.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::codec::{encode, Decoder, FrameError};
use crate::error::ProtoError;

/// The most read from the socket at once.
const READ_CHUNK: usize = 16 * 1024;
/// The first read's size. Requests are a few hundred bytes, and a connection that sits idle
/// (an agent's stream, a bridge's upstream) keeps its read buffer: a thousand agents at
/// 16 KiB each would be 16 MiB of rasd. The buffer doubles whenever a read fills it.
const FIRST_CHUNK: usize = 512;

/// Reads NUL-terminated messages, holding at most `limit + READ_CHUNK` bytes per connection.
pub struct MessageReader<R> {
    inner: R,
    decoder: Decoder,
    chunk: Vec<u8>,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    /// A reader that refuses messages longer than `limit` bytes.
    pub fn new(inner: R, limit: usize) -> Self {
        MessageReader { inner, decoder: Decoder::new(limit), chunk: vec![0; FIRST_CHUNK] }
    }

    /// The next message. `Ok(None)` is a clean end of stream; an oversized message gives
    /// `Err(ProtoError::Frame)` once, after which reading may continue.
    pub async fn next_message(&mut self) -> Result<Option<Vec<u8>>, ProtoError> {
        loop {
            if let Some(frame) = self.decoder.next_frame() {
                return frame.map(Some).map_err(|e: FrameError| e.into());
            }
            let n = self.inner.read(&mut self.chunk).await?;
            if n == 0 {
                return if self.decoder.is_idle() { Ok(None) } else { Err(ProtoError::TruncatedMessage) };
            }
            self.decoder.push(&self.chunk[..n]);
            if n == self.chunk.len() && n < READ_CHUNK {
                self.chunk.resize(2 * n, 0);
            }
        }
    }

    /// The underlying stream, to look at.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying stream.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

/// Writes one message and its terminator, then flushes.
pub async fn write_message<W: AsyncWrite + Unpin>(w: &mut W, json: &[u8]) -> Result<(), ProtoError> {
    w.write_all(&encode(json)).await?;
    w.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_messages_and_recovers_from_oversize() {
        let (mut a, b) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            a.write_all(b"{\"method\":\"x.Y\"}\0").await.unwrap();
            a.write_all(&[b'x'; 300]).await.unwrap();
            a.write_all(b"\0{}\0").await.unwrap();
        });
        let mut r = MessageReader::new(b, 100);
        assert_eq!(r.next_message().await.unwrap().unwrap(), b"{\"method\":\"x.Y\"}");
        assert!(matches!(r.next_message().await, Err(ProtoError::Frame(FrameError::TooLarge { limit: 100 }))));
        assert_eq!(r.next_message().await.unwrap().unwrap(), b"{}");
        writer.await.unwrap();
        assert!(r.next_message().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn truncated_message_is_an_error() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(b"{\"meth").await.unwrap();
        drop(a);
        let mut r = MessageReader::new(b, 100);
        assert!(matches!(r.next_message().await, Err(ProtoError::TruncatedMessage)));
    }
}
