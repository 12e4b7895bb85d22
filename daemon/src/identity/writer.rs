//! A unix stream that knows who wrote what it reads. The listening sockets have
//! `SO_PASSCRED`, so the kernel attaches the writer's pid to every message; this stream reads
//! with `recvmsg` and remembers each writer that was not the expected one. The connection asks
//! after every whole message ([`WriterCheck::foreign_writer`]) and refuses the request when
//! any of its bytes, or bytes read ahead of it, came from another process.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::UnixStream;

use crate::sys;

/// Turns on per-message writer credentials (`SO_PASSCRED`) for a listener, whose accepted
/// sockets inherit it, or for one end of a socket pair before its peer writes.
pub fn enable_writer_credentials(sock: &impl std::os::fd::AsRawFd) -> io::Result<()> {
    sys::set_passcred(sock)
}

/// Streams that can say whether a process other than the pinned one wrote to them.
pub trait WriterCheck {
    /// The first foreign writer seen since the stream was opened: `Some(None)` for bytes that
    /// came without credentials, `Some(Some(pid))` for another process, `None` when every byte
    /// so far came from the pinned process or the stream has no per-message identity.
    fn foreign_writer(&self) -> Option<Option<i32>>;
}

/// A unix stream read with `recvmsg`, remembering foreign writers.
#[derive(Debug)]
pub struct CredStream {
    inner: UnixStream,
    pinned: i32,
    foreign: Option<Option<i32>>,
}

impl CredStream {
    /// Wraps `inner`, whose bytes should all come from `pinned`.
    pub fn new(inner: UnixStream, pinned: i32) -> Self {
        CredStream { inner, pinned, foreign: None }
    }
}

impl WriterCheck for CredStream {
    fn foreign_writer(&self) -> Option<Option<i32>> {
        self.foreign
    }
}

impl AsyncRead for CredStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.inner.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match this.inner.try_io(Interest::READABLE, || sys::recv_with_creds(&this.inner, unfilled)) {
                Ok((n, writer)) => {
                    if n > 0 && writer != Some(this.pinned) && this.foreign.is_none() {
                        this.foreign = Some(writer);
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for CredStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Streams whose peer is identified once, by other means (a VM guest's CID), or test streams.
macro_rules! no_per_message_identity {
    ($($t:ty),*) => {$(
        impl WriterCheck for $t {
            fn foreign_writer(&self) -> Option<Option<i32>> {
                None
            }
        }
    )*};
}
no_per_message_identity!(tokio_vsock::VsockStream, tokio::io::DuplexStream);

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::AsyncReadExt;

    /// A read error other than "try again" reaches the connection, which then closes; it must
    /// not spin. A peer that closes with our bytes unread makes the kernel report ECONNRESET.
    #[tokio::test]
    async fn a_reset_is_an_error_not_a_retry() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let mut s = CredStream::new(UnixStream::from_std(ours).unwrap(), std::process::id() as i32);
        tokio::io::AsyncWriteExt::write_all(&mut s, b"unread").await.unwrap();
        drop(theirs);
        let mut buf = [0u8; 8];
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf));
        let e = read.await.expect("the read returns instead of retrying").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    }

    /// Bytes from this process pass; bytes a forked child writes on the same socket are
    /// attributed to the child.
    #[tokio::test]
    async fn the_kernel_names_each_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        sys::set_passcred(&listener).unwrap();
        let mut client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let mut s = CredStream::new(UnixStream::from_std(server).unwrap(), std::process::id() as i32);
        client.write_all(b"mine").unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(s.foreign_writer(), None);
        // A child writes on the same socket: it gets a dup of the client end as its stdout.
        let out = std::process::Stdio::from(std::os::fd::OwnedFd::from(client.try_clone().unwrap()));
        let mut child = std::process::Command::new("printf").arg("theirs").stdout(out).spawn().unwrap();
        child.wait().unwrap();
        let mut buf = [0u8; 6];
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_exact(&mut buf));
        read.await.expect("the child's bytes arrive").unwrap();
        assert_eq!(&buf, b"theirs");
        assert!(matches!(s.foreign_writer(), Some(Some(p)) if p != std::process::id() as i32));
    }
}
