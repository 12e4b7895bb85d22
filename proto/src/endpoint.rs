//! Where a client connects: `tcp:HOST:PORT`, `unix:PATH` or `vsock:CID:PORT`, parsed from the
//! command line and connected to, for rasctl and ras-verifier alike. Only the address and the
//! stream live here; what a failed connect means to the user is each binary's business.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::client::Client;

/// An address to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `tcp:HOST:PORT`
    Tcp(String),
    /// `unix:PATH`
    Unix(String),
    /// `vsock:CID:PORT`
    Vsock(u32, u32),
}

/// An address that does not parse; the message reads after the flag's name.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// Not one of the three forms.
    #[error("must be tcp:HOST:PORT, vsock:CID:PORT or unix:PATH, got {0:?}")]
    Form(String),
    /// `vsock:` with a CID or port that is not a number.
    #[error("vsock:CID:PORT needs numbers, got {0:?}")]
    Vsock(String),
}

impl std::str::FromStr for Endpoint {
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

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "tcp:{a}"),
            Endpoint::Unix(p) => write!(f, "unix:{p}"),
            Endpoint::Vsock(cid, port) => write!(f, "vsock:{cid}:{port}"),
        }
    }
}

/// Any connected stream.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A client over any stream.
pub type Conn = Client<Box<dyn Stream>>;

impl Endpoint {
    /// Connects; the error is the socket's, for the caller to name the address in.
    pub async fn connect(&self) -> std::io::Result<Conn> {
        let stream: Box<dyn Stream> = match self {
            Endpoint::Tcp(addr) => {
                let s = TcpStream::connect(addr).await?;
                // One small request, one small reply: never wait for Nagle.
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
