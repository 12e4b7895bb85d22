//! Where a varlink peer listens — `tcp:HOST:PORT`, `unix:PATH` or `vsock:CID:PORT` — and
//! connecting to it. `rasctl` and `ras-verifier` reach rasd and ras-bridge through this.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::client::Client;

/// A peer's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `tcp:HOST:PORT`
    Tcp(String),
    /// `unix:PATH`
    Unix(String),
    /// `vsock:CID:PORT`
    Vsock(u32, u32),
}

/// An address that is none of the three forms.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EndpointError {
    /// `vsock:` with a CID or port that is not a number.
    #[error("vsock:CID:PORT needs numbers, got {0:?}")]
    Vsock(String),
    /// Anything else.
    #[error("must be tcp:HOST:PORT, vsock:CID:PORT or unix:PATH, got {0:?}")]
    Form(String),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "tcp:{a}"),
            Endpoint::Unix(p) => write!(f, "unix:{p}"),
            Endpoint::Vsock(cid, port) => write!(f, "vsock:{cid}:{port}"),
        }
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("tcp", addr))
                if addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
            {
                Ok(Endpoint::Tcp(addr.to_string()))
            }
            Some(("unix", path)) if !path.is_empty() => Ok(Endpoint::Unix(path.to_string())),
            Some(("vsock", rest)) => match rest.split_once(':').map(|(c, p)| (c.parse::<u32>(), p.parse::<u32>())) {
                Some((Ok(cid), Ok(port))) => Ok(Endpoint::Vsock(cid, port)),
                _ => Err(EndpointError::Vsock(s.to_string())),
            },
            _ => Err(EndpointError::Form(s.to_string())),
        }
    }
}

/// Any connected stream.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A client over any stream.
pub type Conn = Client<Box<dyn Stream>>;

impl Endpoint {
    /// Connects. TCP streams get `TCP_NODELAY`: one small request, one small reply, never
    /// wait for Nagle.
    pub async fn connect(&self) -> std::io::Result<Conn> {
        let stream: Box<dyn Stream> = match self {
            Endpoint::Tcp(addr) => {
                let s = TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                Box::new(s)
            }
            Endpoint::Unix(path) => Box::new(UnixStream::connect(path).await?),
            Endpoint::Vsock(cid, port) => {
                Box::new(tokio_vsock::VsockStream::connect(tokio_vsock::VsockAddr::new(*cid, *port)).await?)
            }
        };
        Ok(Client::new(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse_and_print_back() {
        for s in ["tcp:127.0.0.1:7000", "tcp:[::1]:7000", "unix:/run/ras/rasd.sock", "vsock:1:7001"] {
            assert_eq!(s.parse::<Endpoint>().unwrap().to_string(), s);
        }
        for s in ["tcp:host", "tcp::7000", "tcp:h:99999", "unix:", "http://x", "vsock:x:1", "vsock:1"] {
            assert!(s.parse::<Endpoint>().is_err(), "{s}");
        }
    }
}
