//! Reaching rasd and ras-bridge: where a command connects (`--socket`, `--connect`), the
//! connection itself (TCP_NODELAY on every TCP stream), typed calls, and nonces. A connection
//! failure maps to exit code 3 with the address named.

use std::path::Path;

use anyhow::{anyhow, Context};
use ras_proto::api::Method;
use ras_proto::client::Client;
use ras_proto::nonce::NonceError;
use ras_proto::Nonce;
use ring::rand::SecureRandom;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::failure::{refused, usage, Code, Failure};

/// Where a command connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `tcp:HOST:PORT`
    Tcp(String),
    /// `unix:PATH`
    Unix(String),
    /// `vsock:CID:PORT`
    Vsock(u32, u32),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp(a) => write!(f, "tcp:{a}"),
            Target::Unix(p) => write!(f, "unix:{p}"),
            Target::Vsock(cid, port) => write!(f, "vsock:{cid}:{port}"),
        }
    }
}

/// Parses `--connect`.
pub fn parse_target(s: &str) -> Result<Target, Failure> {
    match s.split_once(':') {
        Some(("tcp", addr))
            if addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
        {
            Ok(Target::Tcp(addr.to_string()))
        }
        Some(("unix", path)) if !path.is_empty() => Ok(Target::Unix(path.to_string())),
        Some(("vsock", rest)) => match rest.split_once(':').map(|(c, p)| (c.parse::<u32>(), p.parse::<u32>())) {
            Some((Ok(cid), Ok(port))) => Ok(Target::Vsock(cid, port)),
            _ => Err(usage(anyhow!("--connect vsock:CID:PORT needs numbers, got {s:?}"))),
        },
        _ => Err(usage(anyhow!("--connect must be tcp:HOST:PORT, vsock:CID:PORT or unix:PATH, got {s:?}"))),
    }
}

/// Any connected stream.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A client over any stream.
pub type Conn = Client<Box<dyn Stream>>;

/// Connects to a target.
pub async fn connect(target: &Target) -> Result<Conn, Failure> {
    let stream: std::io::Result<Box<dyn Stream>> = async {
        Ok(match target {
            Target::Tcp(addr) => {
                let s = TcpStream::connect(addr).await?;
                // One small request, one small reply: never wait for Nagle.
                s.set_nodelay(true)?;
                Box::new(s) as Box<dyn Stream>
            }
            Target::Unix(path) => Box::new(UnixStream::connect(path).await?),
            Target::Vsock(cid, port) => {
                Box::new(tokio_vsock::VsockStream::connect(tokio_vsock::VsockAddr::new(*cid, *port)).await?)
            }
        })
    }
    .await;
    let stream = stream.with_context(|| format!("connect to {target}")).map_err(|e| Failure::new(Code::Daemon, e))?;
    Ok(Client::new(stream))
}

/// Connects to the local rasd at `--socket`.
pub async fn local(socket: &Path) -> Result<Conn, Failure> {
    let stream = UnixStream::connect(socket)
        .await
        .with_context(|| format!("connect to rasd at {}", socket.display()))
        .map_err(|e| Failure::new(Code::Daemon, e))?;
    Ok(Client::new(Box::new(stream)))
}

/// One call to the local rasd on a fresh connection.
pub async fn call<M: Method>(socket: &Path, call: &M) -> Result<M::Reply, Failure> {
    Ok(local(socket).await?.call(call).await?)
}

/// Size of a generated nonce.
pub const NONCE_BYTES: usize = 32;

/// A fresh random nonce.
pub fn fresh_nonce() -> Result<Nonce, Failure> {
    let mut n = [0u8; NONCE_BYTES];
    ring::rand::SystemRandom::new()
        .fill(&mut n)
        .map_err(|_| Failure::new(Code::Usage, anyhow!("no randomness for a nonce")))?;
    Ok(Nonce::from_bytes(n.to_vec()).expect("32 bytes is a valid nonce"))
}

/// A nonce given on the command line: text that is not hex is a usage error; a length
/// outside the bounds is refused (exit 1), as rasd and verifiers refuse it.
pub fn nonce_arg(text: &str) -> Result<Nonce, Failure> {
    Nonce::from_hex(text).map_err(|e| match e {
        NonceError::NotHex => usage(anyhow!("--nonce is not hex")),
        NonceError::Length { .. } => refused(anyhow!("{e}")),
    })
}

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Code::Usage, anyhow::Error::from(e).context("start runtime")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("tcp:127.0.0.1:7000").unwrap(), Target::Tcp("127.0.0.1:7000".into()));
        assert_eq!(parse_target("tcp:[::1]:7000").unwrap(), Target::Tcp("[::1]:7000".into()));
        assert_eq!(parse_target("unix:/run/ras/rasd.sock").unwrap(), Target::Unix("/run/ras/rasd.sock".into()));
        assert_eq!(parse_target("vsock:1:7000").unwrap(), Target::Vsock(1, 7000));
        for bad in ["tcp:host", "tcp::1", "udp:x:1", "unix:", "nonsense", "vsock:x:1", "vsock:1"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nonce_args() {
        assert_eq!(nonce_arg(&"ab".repeat(8)).unwrap().as_bytes().len(), 8);
        assert_eq!(nonce_arg("zz").unwrap_err().code, Code::Usage);
        assert_eq!(nonce_arg("0011").unwrap_err().code, Code::Attestation);
        assert_eq!(fresh_nonce().unwrap().as_bytes().len(), NONCE_BYTES);
    }
}
