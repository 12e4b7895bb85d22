//! A minimal Docker Engine API client: a container's id, name and init pid (`State.Pid`).
//! Docker's word is a claim that registration then verifies against the kernel (the init's
//! cgroup, that it is pid 1 of its own pid namespace, the cgroup's owner): the Docker daemon
//! says which process to look at, the kernel says what that process is.

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
    /// The init process's pid on the host (`State.Pid`); 0 when the container is not running.
    pub pid: i32,
    /// `State.Running`.
    pub running: bool,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "State", default)]
    state: RawState,
}

#[derive(Deserialize, Default)]
struct RawState {
    #[serde(rename = "Pid", default)]
    pid: i32,
    #[serde(rename = "Running", default)]
    running: bool,
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
    Ok(Inspect {
        id: raw.id,
        name: raw.name.trim_start_matches('/').to_string(),
        pid: raw.state.pid,
        running: raw.state.running,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_inspect_response() {
        let body = r#"{"Id":"abc","Name":"/web","State":{"Pid":42,"Running":true}}"#;
        let resp = format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}");
        let want = Inspect { id: "abc".into(), name: "web".into(), pid: 42, running: true };
        assert_eq!(parse_response(resp.as_bytes()).unwrap(), want);
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
