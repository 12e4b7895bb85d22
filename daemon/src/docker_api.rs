//! A minimal Docker Engine API client, used only to turn a container name into its id. The
//! id it returns is checked against the kernel (the init process's cgroup) before use, so
//! the Docker daemon is a directory service here, not a source of identity.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

/// Bound on an API response.
const MAX_RESPONSE: u64 = 4 << 20;

/// A lookup failure.
#[derive(Debug, Error)]
pub enum DockerError {
    /// The name has characters Docker never allows.
    #[error("{0:?} is not a valid container name")]
    BadName(String),
    /// The socket could not be reached or the exchange failed.
    #[error("docker API at {0}")]
    Io(String, #[source] io::Error),
    /// Docker answered with an error status.
    #[error("docker API: HTTP {0}")]
    Status(u16),
    /// The answer did not parse.
    #[error("docker API: unexpected response")]
    Parse,
}

/// What rasd needs of `GET /containers/{name}/json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspect {
    /// Full id.
    pub id: String,
    /// Name without the leading slash.
    pub name: String,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
}

/// Looks a container up by name or id.
pub fn inspect(socket: &Path, name: &str) -> Result<Inspect, DockerError> {
    // Docker names: [a-zA-Z0-9][a-zA-Z0-9_.-]*; ids are hex. Anything else never reaches the URL.
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && name.len() <= 128;
    if !valid {
        return Err(DockerError::BadName(name.into()));
    }
    let io_err = |e| DockerError::Io(socket.display().to_string(), e);
    let mut s = UnixStream::connect(socket).map_err(io_err)?;
    s.set_read_timeout(Some(Duration::from_secs(5))).map_err(io_err)?;
    s.set_write_timeout(Some(Duration::from_secs(5))).map_err(io_err)?;
    write!(s, "GET /containers/{name}/json HTTP/1.0\r\nHost: docker\r\n\r\n").map_err(io_err)?;
    let mut resp = Vec::new();
    s.take(MAX_RESPONSE).read_to_end(&mut resp).map_err(io_err)?;
    parse_response(&resp)
}

/// Parses an HTTP/1.0 inspect response (public for the fuzz target).
pub fn parse_response(resp: &[u8]) -> Result<Inspect, DockerError> {
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n").ok_or(DockerError::Parse)?;
    let head = std::str::from_utf8(&resp[..split]).map_err(|_| DockerError::Parse)?;
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or(DockerError::Parse)?;
    if status != 200 {
        return Err(DockerError::Status(status));
    }
    let raw: Raw = serde_json::from_slice(&resp[split + 4..]).map_err(|_| DockerError::Parse)?;
    Ok(Inspect { id: raw.id, name: raw.name.trim_start_matches('/').to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_inspect_response() {
        let body = r#"{"Id":"abc","Name":"/web","State":{"Pid":42}}"#;
        let resp = format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}");
        assert_eq!(parse_response(resp.as_bytes()).unwrap(), Inspect { id: "abc".into(), name: "web".into() });
        assert!(matches!(parse_response(b"HTTP/1.0 404 Not Found\r\n\r\n{}"), Err(DockerError::Status(404))));
        assert!(matches!(parse_response(b"garbage"), Err(DockerError::Parse)));
    }

    #[test]
    fn refuses_names_that_could_bend_the_url() {
        for bad in ["", "../x", "a/b", "a b", "-x", "a?b"] {
            assert!(matches!(inspect(Path::new("/nonexistent"), bad), Err(DockerError::BadName(_))), "{bad}");
        }
    }
}
