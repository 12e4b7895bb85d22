//! Helpers for black-box tests of the built binaries: locating them, running rasd on temp
//! paths (killed by PID on drop, even when a test fails), running rasctl, raw varlink over a
//! unix socket, and the rule for optional components (a loud skip locally, a failure in CI).
//! [`tsm`] emulates a configfs-tsm report tree for `--tee tsm`; [`swtpm`] and [`postgres`] run
//! a software TPM and a private PostgreSQL server on loopback ports from [`free_ports`].

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod docker;
pub mod fake;
pub mod postgres;
pub mod swtpm;
pub mod tsm;
pub mod verifier;

/// The directory holding the built binaries (`target/<profile>`), from this test's own path;
/// `RAS_BIN_DIR` runs the suite against other builds (an older commit, a mutant).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RAS_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test exe path");
    // target/<profile>/deps/blackbox-<hash>
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf()
}

/// A built binary; panics with the build command when it is missing or older than the
/// sources it is built from, so a black-box test never runs a stale binary.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: build the binaries first (cargo build --workspace --bins --all-features)",
        p.display()
    );
    let built = std::fs::metadata(&p).and_then(|m| m.modified()).expect("binary mtime");
    let other_build = std::env::var_os("RAS_BIN_DIR").is_some();
    if let Some((newest, source)) = newest_source(name).filter(|_| !other_build) {
        assert!(
            built >= newest,
            "{} is older than {}: rebuild first (cargo build --workspace --bins --all-features)",
            p.display(),
            source.display()
        );
    }
    p
}

/// The most recently changed source file of the crates binary `name` is built from.
fn newest_source(name: &str) -> Option<(std::time::SystemTime, PathBuf)> {
    let crates: &[&str] = match name {
        "rasd" => &["proto", "evidence", "server", "daemon"],
        "ras-bridge" => &["proto", "server", "bridge"],
        "rasctl" => &["proto", "evidence", "ctl"],
        "ras-verifier" => &["proto", "evidence", "server", "verifier"],
        _ => &[],
    };
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    let mut stack: Vec<PathBuf> = crates.iter().map(|c| repo_root().join(c).join("src")).collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "tests.rs") {
                // A `#[cfg(test)] mod tests;` file is not part of the binary: cargo rightly
                // does not relink it when only that file changed.
                continue;
            } else if let Ok(m) = meta.modified() {
                if newest.as_ref().is_none_or(|(t, _)| m > *t) {
                    newest = Some((m, path));
                }
            }
        }
    }
    newest
}

/// True when a missing component must fail the test rather than skip it.
pub fn required() -> bool {
    let on = |v: &str| std::env::var(v).is_ok_and(|x| !x.is_empty() && x != "0" && x != "false");
    on("CI") || on("RAS_REQUIRE_DOCKER") || on("RAS_REQUIRE_ALL")
}

/// Reports a missing component: panics in CI, records a skip otherwise (see [`record_skip`]).
/// Returns false so callers can `if !available(..) { return; }`.
pub fn unavailable(what: &str) -> bool {
    if required() {
        panic!("{what} is required in CI (CI/RAS_REQUIRE_DOCKER set) but is not available");
    }
    record_skip(what, None);
    false
}

/// A skip that is allowed even in CI because the machine cannot provide the component at all
/// (not an install step): `allow` names its entry in the written allowlist of scripts/test.
pub fn allowed_skip(allow: &str, what: &str) {
    record_skip(what, Some(allow));
}

/// Writes a skip where the runner counts it: a line in `$RAS_SKIP_LOG` (scripts/test sets it;
/// it subtracts skips from the passes and fails CI on any skip not on its allowlist), and a
/// notice on stderr.
fn record_skip(what: &str, allow: Option<&str>) {
    let test = std::thread::current().name().unwrap_or("unknown").to_string();
    if let Some(path) = std::env::var_os("RAS_SKIP_LOG") {
        let line = format!("{}\t{test}\t{what}\n", allow.map_or("skip".to_string(), |a| format!("allow:{a}")));
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        written.expect("record the skip in RAS_SKIP_LOG");
    }
    eprintln!("\n*** SKIPPED {test}: {what} is not available; run scripts/test to install it ***\n");
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

/// The test venv's python, which has `varlink`, `jwcrypto` and `yaml`, if present.
pub fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("RAS_VENV").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".venv"));
    let py = venv.join("bin/python");
    let ok = py.exists()
        && Command::new(&py).args(["-c", "import varlink, jwcrypto, yaml"]).status().is_ok_and(|s| s.success());
    ok.then_some(py)
}

/// True when running as root.
pub fn is_root() -> bool {
    nix::unistd::getuid().is_root()
}

/// A child process of a test, killed and reaped on drop, so a failing assertion never leaves
/// a daemon running (our own child, not yet reaped: its pid names no other process).
pub struct Reaped(pub Child);

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A rasd on temp paths, killed and reaped on drop.
pub struct Rasd {
    child: Option<Child>,
    /// Holds runtime and state directories.
    pub dir: tempfile::TempDir,
    extra: Vec<String>,
    env: Vec<(String, String)>,
}

impl Rasd {
    /// Starts rasd with `extra` flags and waits for its socket.
    pub fn start(extra: &[&str]) -> Rasd {
        Rasd::start_with_env(extra, &[])
    }

    /// Starts rasd with `extra` flags and environment variables.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Rasd {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut r = Rasd { child: None, dir, extra: extra.iter().map(|s| s.to_string()).collect(), env };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("rasd.log")).expect("log file");
        // Hermetic: an empty configuration of its own, never the host's /etc/ras/rasd.toml.
        let config = self.dir.path().join("rasd.toml");
        if !config.exists() {
            std::fs::write(&config, b"").expect("write empty rasd.toml");
        }
        let child = Command::new(bin("rasd"))
            .arg("--config")
            .arg(&config)
            .arg("--runtime-dir")
            .arg(self.runtime_dir())
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["--log", "stderr"])
            .args(&self.extra)
            .env("RAS_LOG", "debug")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn rasd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(self.socket()).is_err() {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("rasd exited early ({status}):\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "rasd did not come up:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops rasd (SIGTERM, then SIGKILL) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Our own child, not yet reaped, so the pid cannot name another process.
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while c.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.wait();
        }
    }

    /// Waits up to `within` for rasd to exit by itself (after a signal the test sent), and
    /// reaps it; `None` when it was still running at the deadline.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        wait_child(self.child.as_mut()?, within).inspect(|_| {
            self.child = None;
        })
    }

    /// Stops and starts again on the same directories.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `<dir>/run`
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// `<dir>/state`
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The host socket.
    pub fn socket(&self) -> PathBuf {
        self.runtime_dir().join("rasd.sock")
    }

    /// rasd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rasd.log")).unwrap_or_default()
    }

    /// Runs rasctl against this rasd.
    pub fn rasctl(&self, args: &[&str]) -> Output {
        rasctl(&[&["--socket", self.socket().to_str().expect("utf-8 path")], args].concat())
    }

    /// A path in the test directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the trust anchor to `root.pem` and returns its path.
    pub fn trust_anchor(&self) -> PathBuf {
        let out = self.rasctl(&["trust-anchor"]);
        assert_eq!(out.status.code(), Some(0), "trust-anchor: {}", text(&out.stderr));
        let p = self.path("root.pem");
        std::fs::write(&p, &out.stdout).expect("write root.pem");
        p
    }

    /// Gets evidence for `nonce` into a file and returns its path.
    pub fn evidence(&self, nonce: &str, name: &str) -> PathBuf {
        let p = self.path(name);
        let out = self.rasctl(&["evidence", "--nonce", nonce, "--out", p.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(0), "evidence: {}", text(&out.stderr));
        p
    }
}

impl Rasd {
    /// The container socket.
    pub fn container_socket(&self) -> PathBuf {
        self.runtime_dir().join("container/rasd.sock")
    }

    /// Registrations, as `rasctl container list --json` reports them.
    pub fn containers(&self) -> Vec<Value> {
        let out = self.rasctl(&["--json", "container", "list"]);
        assert_eq!(out.status.code(), Some(0), "container list: {}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("list is JSON");
        v["containers"].as_array().cloned().unwrap_or_default()
    }

    /// Registers a container, asserting success.
    pub fn add_container(&self, id: &str) {
        let out = self.rasctl(&["container", "add", id, "--type", "docker"]);
        assert_eq!(out.status.code(), Some(0), "container add: {}\n{}", text(&out.stderr), self.log());
    }

    /// Waits until `id`'s agent is connected.
    pub fn wait_agent(&self, id: &str) {
        wait_for(Duration::from_secs(30), || self.containers().iter().any(|c| c["id"] == id && c["agent"] == true))
            .unwrap_or_else(|| panic!("agent of {id} did not connect; rasd log:\n{}", self.log()));
    }

    /// `rasctl --json verify` of `evidence` (JWS text) against this rasd's trust anchor with
    /// `--allow-sim` and `extra` flags: the exit code and the JSON verdict.
    pub fn verify_sim(&self, evidence: &[u8], nonce: &str, extra: &[&str]) -> (Option<i32>, Value) {
        let f = self.path(&format!("verify-{}.jws", &crate::nonce()[16..]));
        std::fs::write(&f, evidence).expect("write evidence");
        let trust = self.trust_anchor();
        let (f, trust) = (f.to_str().expect("utf-8"), trust.to_str().expect("utf-8"));
        let base = ["--json", "verify", f, "--nonce", nonce, "--trust", trust, "--allow-sim"];
        let out = self.rasctl(&[&base[..], extra].concat());
        let verdict = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("no JSON verdict: {}{}", text(&out.stdout), text(&out.stderr)));
        (out.status.code(), verdict)
    }

    /// `rasctl attest` through the host socket, with the sim trust anchor.
    pub fn attest(&self, extra: &[&str]) -> Output {
        let trust = self.trust_anchor();
        let connect = format!("unix:{}", self.socket().display());
        let base = ["attest", "--connect", &connect, "--trust", trust.to_str().expect("utf-8"), "--allow-sim"];
        rasctl(&[&base[..], extra].concat())
    }
}

/// A ras-bridge in front of a [`Rasd`], listening on an ephemeral loopback port. As root it
/// runs as uid/gid 65534 (unprivileged, as in production), and the rasd it fronts must let
/// that uid connect and challenge (see [`Bridge::RASD_FLAGS`]). Killed on drop.
pub struct Bridge {
    child: Option<Child>,
    log: PathBuf,
    /// `127.0.0.1:<port>`
    pub addr: String,
}

impl Bridge {
    /// Flags rasd needs so that an unprivileged bridge may connect and send challenges.
    pub const RASD_FLAGS: &'static [&'static str] = &["--socket-group", "nogroup", "--remote-uid", "65534"];

    /// Starts a bridge for `rasd` with `extra` flags.
    pub fn start(rasd: &Rasd, extra: &[&str]) -> Bridge {
        let log = rasd.path(&format!("bridge-{}.log", &nonce()[16..]));
        let file = std::fs::File::create(&log).expect("bridge log");
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"]).arg(bin("ras-bridge"));
            c
        } else {
            Command::new(bin("ras-bridge"))
        };
        // The socket directory must be searchable by the bridge's uid.
        let _ = std::fs::set_permissions(rasd.dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755));
        let child = cmd
            .args(["--listen", "tcp:127.0.0.1:0", "--daemon", rasd.socket().to_str().expect("utf-8")])
            .args(extra)
            .env("RAS_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn ras-bridge");
        let mut b = Bridge { child: Some(child), log, addr: String::new() };
        let found = wait_for(Duration::from_secs(20), || {
            let text = b.log();
            match text.lines().find_map(|l| l.split("listen=tcp:").nth(1)) {
                Some(rest) => {
                    b.addr = rest.split_whitespace().next().unwrap_or_default().to_string();
                    true
                }
                None => false,
            }
        });
        found.unwrap_or_else(|| panic!("ras-bridge did not start:\n{}", b.log()));
        b
    }

    /// The bridge's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits up to `within` for the bridge to exit by itself, and reaps it.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        wait_child(self.child.as_mut()?, within).inspect(|_| {
            self.child = None;
        })
    }

    /// `tcp:ADDR` for rasctl.
    pub fn target(&self) -> String {
        format!("tcp:{}", self.addr)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The exit status of `child` if it exits within `within`.
fn wait_child(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The first of `n` consecutive loopback TCP ports that are all free now, below the kernel's
/// ephemeral range, for a server a test starts (swtpm, PostgreSQL) that takes a port number
/// rather than binding port 0 itself. Below that range because bind(0) hands out even ports
/// and connect() takes odd ones from it: the odd neighbour of an ephemeral port is exactly
/// what outgoing loopback connections of other tests hold. Free *now* only: the caller's
/// server may still lose the port to another process, and must then retry with a new one.
pub fn free_ports(n: u16) -> u16 {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let low: u16 = range.split_whitespace().next().and_then(|w| w.parse().ok()).unwrap_or(32768);
    let span = low.saturating_sub(10_000 + n).max(n);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut x = seed ^ std::process::id().rotate_left(16);
    for _ in 0..1000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let port = 10_000 + (x >> 8) as u16 % span;
        if (port..port + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return port;
        }
    }
    panic!("no {n} free consecutive loopback ports below {low}")
}

/// True when a socket listens on 127.0.0.1:`port`, read from /proc/net/tcp. Never by
/// connecting: a connect to a loopback port in the ephemeral range that nobody listens on yet
/// can connect to itself and hold the port the server is about to bind.
pub fn listening(port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3 && f[1] == local && f[3] == "0A"
    })
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return Some(());
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Rasd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs rasctl with `args`.
pub fn rasctl(args: &[&str]) -> Output {
    Command::new(bin("rasctl")).args(args).output().expect("run rasctl")
}

/// Lossy UTF-8.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A raw varlink connection for protocol tests.
pub struct Raw(pub UnixStream);

impl Raw {
    /// Connects with a read timeout.
    pub fn connect(path: &Path) -> Raw {
        let s = UnixStream::connect(path).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        Raw(s)
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).expect("send");
    }

    /// Reads one NUL-terminated reply.
    pub fn recv(&mut self) -> Value {
        let mut buf = Vec::new();
        let mut b = [0u8; 1];
        loop {
            let n = self.0.read(&mut b).expect("read reply");
            assert!(n == 1, "connection closed before a reply");
            if b[0] == 0 {
                break;
            }
            buf.push(b[0]);
        }
        serde_json::from_slice(&buf).expect("reply is JSON")
    }

    /// Sends a call and reads its reply.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let mut m = serde_json::to_vec(&serde_json::json!({ "method": method, "parameters": params })).expect("json");
        m.push(0);
        self.send(&m);
        self.recv()
    }
}

/// A 16-byte nonce, hex, different on each call.
pub fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as u64;
    format!("{:016x}{:016x}", t, N.fetch_add(1, Ordering::Relaxed))
}

/// sha256 of `bytes`, hex, from coreutils' `sha256sum` (an oracle independent of rasd).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("sha256sum");
    child.stdin.take().expect("stdin").write_all(bytes).expect("write to sha256sum");
    let out = child.wait_with_output().expect("sha256sum output");
    text(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

/// Asserts that the peer closed the stream: a read returns end-of-file (or a reset). A read
/// that times out means the peer kept the connection open, and that fails the test; so do
/// bytes instead of a close. Set a read timeout on the stream first.
pub fn expect_closed(stream: &mut impl Read, what: &str) {
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("{what}: the peer sent {n} bytes instead of closing"),
        Err(e) => panic!("{what}: the connection is still open ({e})"),
    }
}
