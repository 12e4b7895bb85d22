//! ras-verifier for black-box tests: a replica on a temp state directory (SQLite there unless
//! a `--database` is given), an admin token, a loopback port the kernel picks, killed and
//! reaped on drop; a minimal HTTP/1.1 client for its API; and a webhook receiver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::{bin, wait_for};

/// The admin token every test verifier uses.
pub const TOKEN: &str = "test-admin-token-0123456789";

/// A running ras-verifier.
pub struct Verifier {
    child: Option<Child>,
    /// State directory, token file, log.
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Verifier {
    /// Starts a replica trusting `trust` with `--allow-sim` and `extra` flags.
    pub fn start(trust: &Path, extra: &[&str]) -> Verifier {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).expect("token file");
        let log = std::fs::File::create(dir.path().join("verifier.log")).expect("log");
        let child = Command::new(bin("ras-verifier"))
            .args(["--listen", "127.0.0.1:0", "--allow-sim", "--log", "stderr"])
            .arg("--trust")
            .arg(trust)
            .arg("--admin-token-file")
            .arg(dir.path().join("token"))
            .arg("--state-dir")
            .arg(dir.path())
            .args(extra)
            .env("RAS_LOG", "ras_verifier=debug,info")
            .env_remove("RAS_VERIFIER_DATABASE")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn ras-verifier");
        let mut v = Verifier { child: Some(child), dir, addr: String::new() };
        let up = wait_for(Duration::from_secs(30), || {
            if let Some(status) = v.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("ras-verifier exited early ({status}):\n{}", v.log());
            }
            let log = v.log();
            let serving = log.lines().find_map(|l| l.split(" serving http").nth(1).map(str::to_string));
            match serving.and_then(|r| r.split_once("://").map(|(_, rest)| rest.to_string())) {
                Some(rest) => {
                    v.addr = rest.split_whitespace().next().unwrap_or_default().to_string();
                    true
                }
                None => false,
            }
        });
        up.unwrap_or_else(|| panic!("ras-verifier did not start:\n{}", v.log()));
        v
    }

    /// Its log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("verifier.log")).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `kill -9`, and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM; the exit status within 15 s.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::Signal::SIGTERM);
        let status =
            wait_for(Duration::from_secs(15), || c.try_wait().ok().flatten().is_some()).and_then(|_| c.wait().ok());
        if status.is_none() {
            let _ = c.kill();
            let _ = c.wait();
        }
        status
    }

    /// One request with the admin token.
    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(&self.addr, method, path, Some(TOKEN), body)
    }

    /// One request without a token.
    pub fn open(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(&self.addr, method, path, None, body)
    }

    /// Registers a target; panics unless 201.
    pub fn add_target(&self, target: &Value) {
        let (status, reply) = self.admin("POST", "/v1/targets", Some(target));
        assert_eq!(status, 201, "POST /v1/targets {target}: {reply}\n{}", self.log());
    }

    /// `GET /v1/targets/NAME`.
    pub fn target(&self, name: &str) -> Value {
        let (status, reply) = self.admin("GET", &format!("/v1/targets/{name}"), None);
        assert_eq!(status, 200, "GET target {name}: {reply}");
        reply
    }

    /// Waits up to 60 s for a target to reach `state`; returns the target.
    pub fn wait_state(&self, name: &str, state: &str) -> Value {
        let mut last = Value::Null;
        wait_for(Duration::from_secs(60), || {
            last = self.target(name);
            last["state"] == state
        })
        .unwrap_or_else(|| panic!("{name} did not become {state}: {last:#}\n{}", self.log()));
        last
    }

    /// `GET /metrics` as text.
    pub fn metrics(&self) -> String {
        let (status, body) = raw_http(&self.addr, "GET", "/metrics", None, None);
        assert_eq!(status, 200);
        body
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One HTTP/1.1 request (`Connection: close`); the status and the body parsed as JSON
/// (`Value::Null` when empty, a JSON string when it is not JSON).
pub fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let (status, text) = raw_http(addr, method, path, token, body.map(|b| b.to_string()).as_deref());
    let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, value)
}

/// One HTTP/1.1 request with a raw body; the status and the body text.
pub fn raw_http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let body = body.unwrap_or("");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send request");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("read reply (a timeout is a failure)");
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP header end in {reply:?}"));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("status code");
    let chunked = head.lines().any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked"));
    (status, if chunked { dechunk(body) } else { body.to_string() })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// A webhook receiver on loopback: every POST body, parsed, arrives on `rx`.
pub struct Webhook {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    /// Received notifications.
    pub rx: mpsc::Receiver<Value>,
}

impl Webhook {
    /// Starts it (the thread ends with the test process).
    pub fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut r = BufReader::new(stream);
                let mut len = 0;
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_ok() {
                    let _ = tx.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
                }
                let _ = r.get_mut().write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        Webhook { url, rx }
    }
}

/// A path in `dir`.
pub fn file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write");
    p
}

/// True when a plain-HTTP request to `addr` gets no HTTP reply (a TLS listener), and the
/// bytes it got instead.
pub fn raw_http_tls_refused(addr: &str) -> (bool, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("send");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    (!got.starts_with(b"HTTP/"), got)
}
