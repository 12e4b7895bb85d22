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
use tokio::net::UnixStream;

use crate::failure::{usage, Code, Failure};

pub use ras_proto::endpoint::{Conn, Endpoint as Target};

/// Parses `--connect`.
pub fn parse_target(s: &str) -> Result<Target, Failure> {
    s.parse().map_err(|e| usage(anyhow!("--connect {e}")))
}

/// Connects to a target; a failure is exit 3 with the address named.
pub async fn connect(target: &Target) -> Result<Conn, Failure> {
    target.connect().await.with_context(|| format!("connect to {target}")).map_err(|e| Failure::new(Code::Daemon, e))
}

/// Connects to the local rasd at `--socket`.
pub async fn local(socket: &Path) -> Result<Conn, Failure> {
    match UnixStream::connect(socket).await {
        Ok(stream) => Ok(Client::new(Box::new(stream))),
        Err(e) => Err(Failure::new(Code::Daemon, anyhow!("{}", unreachable(socket, &e)))),
    }
}

/// A failed connect to rasd, with what the operator can do about it.
fn unreachable(socket: &Path, e: &std::io::Error) -> String {
    use std::os::unix::fs::MetadataExt;
    let at = socket.display();
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => format!(
            "rasd is not listening at {at} ({e}): start it with `systemctl start rasd.socket`, or run rasd; \
             --socket or RAS_SOCKET name another socket"
        ),
        std::io::ErrorKind::PermissionDenied => {
            let group = std::fs::metadata(socket).ok().map(|m| (m.gid(), m.mode() & 0o777));
            match group {
                Some((gid, mode)) => {
                    let name = group_name(gid).unwrap_or_else(|| gid.to_string());
                    format!(
                        "cannot connect to rasd at {at} ({e}): the socket is mode {mode:o}, group {name}; \
                         join that group (usermod -aG {name} USER, then log in again) or run as root"
                    )
                }
                None => format!("cannot connect to rasd at {at} ({e}): a directory on the way is not searchable"),
            }
        }
        _ => format!("connect to rasd at {at}: {e}"),
    }
}

/// A group's name from /etc/group (where sysusers puts `ras`); None when it is elsewhere.
fn group_name(gid: u32) -> Option<String> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|l| {
        let mut f = l.split(':');
        let (name, _, id) = (f.next()?, f.next()?, f.next()?);
        (id.parse() == Ok(gid)).then(|| name.to_string())
    })
}

/// One call to the local rasd on a fresh connection. A refusal names the rule that would
/// allow the call (rasd's journal has the rule that refused it).
pub async fn call<M: Method>(socket: &Path, call: &M) -> Result<M::Reply, Failure> {
    local(socket).await?.call(call).await.map_err(|e| explain_refusal(M::NAME, &socket.display(), e))
}

/// Turns the standard varlink refusals of rasd into exit 1 with the rule that applies.
pub fn explain_refusal(method: &str, at: &dyn std::fmt::Display, e: ras_proto::ProtoError) -> Failure {
    let ras_proto::ProtoError::Call(v) = &e else { return e.into() };
    let interface = method.rsplit_once('.').map_or(method, |(i, _)| i);
    let why = match v.name.as_str() {
        "org.varlink.service.PermissionDenied" => match interface {
            "io.ras.Admin" => "io.ras.Admin needs root, or membership in rasd's admin group (--admin-group)",
            "io.ras.Remote" => {
                "io.ras.Remote needs root, the admin group, rasd's --remote-uid or its --remote-group (ras-bridge)"
            }
            _ => {
                "rasd did not accept this caller for this socket: a container process on the host socket, \
                 a host process on the container socket, an unregistered container (rasctl container add), \
                 or a --container that is not the caller's; rasd's journal names the rule"
            }
        },
        "org.varlink.service.InterfaceNotFound" if interface.starts_with("io.ras.") => {
            "this socket does not serve it: the container socket serves only io.ras.Attestation and \
             io.ras.Agent; use the host socket /run/ras/rasd.sock"
        }
        _ => return e.into(),
    };
    Failure::new(Code::Attestation, anyhow!("rasd at {at} refused {method} ({}): {why}", v.name))
}

/// Size of a generated nonce.
pub const NONCE_BYTES: usize = 32;

/// The digest `--bind HEX` or `--bind-key FILE` names: 64 lowercase hex digits, the key's
/// being the sha256 of its SubjectPublicKeyInfo (a PEM `PUBLIC KEY`).
pub fn bind_arg(hex_digest: Option<&str>, key: Option<&Path>) -> Result<Option<String>, Failure> {
    if let Some(h) = hex_digest {
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(crate::failure::usage(anyhow!("--bind {h:?}: 64 hex digits (a sha256)")));
        }
        return Ok(Some(h.to_ascii_lowercase()));
    }
    let Some(path) = key else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read {}", path.display()))
        .map_err(crate::failure::usage)?;
    let mut ders = ras_evidence::pem::parse_label(&text, "PUBLIC KEY")
        .map_err(|e| crate::failure::usage(anyhow!("--bind-key {}: {e}", path.display())))?;
    Ok(Some(ras_evidence::sha256_hex(&ders.swap_remove(0))))
}

/// A fresh random nonce.
pub fn fresh_nonce() -> Result<Nonce, Failure> {
    let mut n = [0u8; NONCE_BYTES];
    ring::rand::SystemRandom::new()
        .fill(&mut n)
        .map_err(|_| Failure::new(Code::Usage, anyhow!("no randomness for a nonce")))?;
    Ok(Nonce::from_bytes(n.to_vec()).expect("32 bytes is a valid nonce"))
}

/// A nonce given on the command line: text that is not hex is a usage error; a length
/// outside the bounds is a usage error (exit 2): the client can check it before asking anyone.
pub fn nonce_arg(text: &str) -> Result<Nonce, Failure> {
    Nonce::from_hex(text).map_err(|e| match e {
        NonceError::NotHex => usage(anyhow!("--nonce is not hex")),
        NonceError::Length { .. } => usage(anyhow!("--nonce: {e}")),
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
        assert_eq!(nonce_arg("0011").unwrap_err().code, Code::Usage);
        assert_eq!(fresh_nonce().unwrap().as_bytes().len(), NONCE_BYTES);
    }
}
