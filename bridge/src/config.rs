//! ras-bridge flags and listen addresses.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::Parser;
pub use ras_server::logging::LogTarget;

/// ras-bridge: the unprivileged front door of rasd. It serves only io.ras.Remote and
/// org.varlink.service to remote verifiers on TCP and AF_VSOCK, and forwards challenges to
/// rasd with the remote peer's address.
#[derive(Debug, Parser)]
#[command(name = "ras-bridge", version, about)]
pub struct Args {
    /// Where to listen: tcp:ADDR:PORT or vsock:CID:PORT (CID may be "any"); repeatable.
    /// Without it, the listeners come from systemd socket activation.
    #[arg(long = "listen", value_name = "ADDR")]
    pub listen: Vec<String>,
    /// rasd's host socket.
    #[arg(long, value_name = "PATH", default_value = "/run/ras/rasd.sock")]
    pub daemon: PathBuf,
    /// Most remote connections at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections: usize,
    /// Most connections at once from one source address (or vsock CID).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_per_source: usize,
    /// Seconds a connection may take to deliver its next whole message before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub idle_timeout: u64,
    /// Seconds a forwarded call may take.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub request_timeout: u64,
    /// Largest message accepted from a remote peer, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_message_size: usize,
    /// Where logs go: auto (journald under systemd, else stderr), journald, or stderr.
    #[arg(long, value_enum, default_value = "auto")]
    pub log: LogTarget,
}

/// A listen address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// TCP.
    Tcp(SocketAddr),
    /// AF_VSOCK.
    Vsock {
        /// Local CID (`u32::MAX` for any).
        cid: u32,
        /// Port.
        port: u32,
    },
}

impl Listen {
    /// Parses `tcp:ADDR:PORT` or `vsock:CID:PORT`.
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let bad = || anyhow!("--listen must be tcp:ADDR:PORT or vsock:CID:PORT, got {s:?}");
        match s.split_once(':').ok_or_else(bad)? {
            ("tcp", addr) => Ok(Listen::Tcp(addr.parse().map_err(|_| bad())?)),
            ("vsock", rest) => {
                let (cid, port) = rest.split_once(':').ok_or_else(bad)?;
                let cid = if cid == "any" { u32::MAX } else { cid.parse().map_err(|_| bad())? };
                Ok(Listen::Vsock { cid, port: port.parse().map_err(|_| bad())? })
            }
            _ => Err(bad()),
        }
    }
}

/// Resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Explicit listeners (empty: socket activation).
    pub listen: Vec<Listen>,
    /// rasd's socket.
    pub daemon: PathBuf,
    /// Connection bound.
    pub max_connections: usize,
    /// Per-source bound.
    pub max_per_source: usize,
    /// Deadline for each whole message.
    pub idle_timeout: Duration,
    /// Deadline for each forwarded call.
    pub request_timeout: Duration,
    /// Message bound.
    pub max_message_size: usize,
    /// Log target.
    pub log: LogTarget,
}

impl Config {
    /// Validates the flags.
    pub fn resolve(a: Args) -> anyhow::Result<Self> {
        let listen = a.listen.iter().map(|l| Listen::parse(l)).collect::<anyhow::Result<Vec<_>>>()?;
        if a.max_connections == 0 || a.max_per_source == 0 {
            bail!("connection limits must be at least 1");
        }
        if a.idle_timeout == 0 || a.request_timeout == 0 {
            bail!("timeouts must be at least 1 second");
        }
        if !(256..=1 << 20).contains(&a.max_message_size) {
            bail!("max message size must be between 256 bytes and 1 MiB");
        }
        Ok(Config {
            listen,
            daemon: a.daemon,
            max_connections: a.max_connections,
            max_per_source: a.max_per_source,
            idle_timeout: Duration::from_secs(a.idle_timeout),
            request_timeout: Duration::from_secs(a.request_timeout),
            max_message_size: a.max_message_size,
            log: a.log,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(Listen::parse("tcp:127.0.0.1:7000").unwrap(), Listen::Tcp("127.0.0.1:7000".parse().unwrap()));
        assert_eq!(Listen::parse("tcp:[::]:7000").unwrap(), Listen::Tcp("[::]:7000".parse().unwrap()));
        assert_eq!(Listen::parse("vsock:any:7000").unwrap(), Listen::Vsock { cid: u32::MAX, port: 7000 });
        assert_eq!(Listen::parse("vsock:1:7000").unwrap(), Listen::Vsock { cid: 1, port: 7000 });
        for bad in ["tcp:7000", "udp:1.2.3.4:5", "vsock:1", "vsock:x:1", "tcp:localhost"] {
            assert!(Listen::parse(bad).is_err(), "{bad}");
        }
    }
}
