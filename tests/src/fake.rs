//! Lightweight "containers" for fast identity tests: a process in its own pid (and mount)
//! namespace, made with `unshare --pid --mount --fork`, that moves itself into a cgroup with
//! a Docker-like path (`docker/<64 hex>`). rasd cannot tell it from a Docker container by
//! the kernel's account, which is the point. Needs root.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Docker-like cgroup, removed on drop (after its processes are gone).
pub struct FakeCgroup {
    /// The 64-hex-digit id.
    pub id: String,
    dir: PathBuf,
    children: Vec<Child>,
}

impl FakeCgroup {
    /// Creates `docker/<id>` in the v1 pids hierarchy, or in the unified one on v2 hosts.
    pub fn new() -> FakeCgroup {
        let seed = crate::nonce();
        let id = format!("{seed}{seed}");
        assert_eq!(id.len(), 64);
        let base = if PathBuf::from("/sys/fs/cgroup/pids/cgroup.procs").exists() {
            PathBuf::from("/sys/fs/cgroup/pids")
        } else {
            PathBuf::from("/sys/fs/cgroup")
        };
        let dir = base.join("docker").join(&id);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        FakeCgroup { id, dir, children: Vec::new() }
    }

    /// `cgroup.procs` of the fake container.
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Runs `script` (sh) as pid 1 of a new pid namespace, after it moved itself into this
    /// cgroup. `prefix` goes before `unshare` (e.g. an `nsenter` into another namespace).
    pub fn spawn(&mut self, prefix: &[&str], script: &str) -> u32 {
        let inner = format!("echo 0 > {} && {script}", self.procs().display());
        let mut cmd = if prefix.is_empty() { Command::new("unshare") } else { Command::new(prefix[0]) };
        if !prefix.is_empty() {
            cmd.args(&prefix[1..]).arg("unshare");
        }
        let child = cmd
            .args(["--pid", "--mount", "--fork", "--kill-child", "sh", "-c", &inner])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Runs `script` in a new pid namespace inside this cgroup and returns its output.
    pub fn run(&mut self, prefix: &[&str], script: &str) -> std::process::Output {
        self.spawn(prefix, script);
        let child = self.children.pop().expect("just spawned");
        child.wait_with_output().expect("wait unshare")
    }

    /// Starts the fake container's init (a sleeping pid 1 in a new pid namespace) and tells
    /// `docker` that it is this container's init, under the name `name`. Returns its host pid.
    pub fn start_init(&mut self, docker: &FakeDocker, name: &str) -> u32 {
        self.spawn(&[], "exec sleep 300");
        let init = self.init_pid();
        docker.set(&self.id, name, init);
        init
    }

    /// Starts `script` as the fake container's init (pid 1 of a new pid namespace), tells
    /// `docker` about it first, and returns its host pid. The script starts only once docker
    /// knows it, so an agent's first contact already finds it.
    pub fn start_init_with(&mut self, docker: &FakeDocker, name: &str, script: &str) -> u32 {
        let flag = std::env::temp_dir().join(format!("ras-fake-init-{}", crate::nonce()));
        let gated = format!("while [ ! -e {f} ]; do sleep 0.02; done; rm -f {f}; {script}", f = flag.display());
        self.spawn(&[], &gated);
        let init = self.init_pid();
        docker.set(&self.id, name, init);
        std::fs::write(&flag, b"").expect("write init flag");
        init
    }

    /// Runs `script` in a pid namespace nested in the init's (a process "inside" the fake
    /// container), and returns its output.
    pub fn run_inside(&mut self, init: u32, script: &str) -> std::process::Output {
        let t = init.to_string();
        self.run(&["nsenter", "-t", &t, "-p", "--"], script)
    }

    /// Host pid of the first process in the cgroup whose innermost pid is 1 (the fake init).
    pub fn init_pid(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let procs = std::fs::read_to_string(self.procs()).unwrap_or_default();
            for pid in procs.lines() {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let inner =
                    status.lines().find_map(|l| l.strip_prefix("NSpid:")).and_then(|v| v.split_whitespace().last());
                if inner == Some("1") {
                    return pid.parse().expect("pid");
                }
            }
            assert!(Instant::now() < deadline, "fake container init did not appear");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Default for FakeCgroup {
    fn default() -> Self {
        FakeCgroup::new()
    }
}

impl Drop for FakeCgroup {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // --kill-child takes the inner processes down with unshare; wait for the cgroup to empty.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(self.procs()).is_ok_and(|p| !p.trim().is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A fake Docker Engine API on a unix socket, for tests that register fake containers: it
/// answers `GET /containers/{id|name}/json` with the id, name and `State.Pid` it was told.
/// What it says is a claim, as Docker's is: rasd must check it against the kernel, and tests
/// use this to make the "runtime" lie. Stops on drop.
pub struct FakeDocker {
    /// The socket, for `rasd --docker-socket`.
    pub socket: PathBuf,
    known: std::sync::Arc<std::sync::Mutex<Vec<(String, String, u32)>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    _dir: tempfile::TempDir,
}

impl FakeDocker {
    /// Starts serving.
    pub fn start() -> FakeDocker {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind fake docker");
        listener.set_nonblocking(true).expect("nonblocking");
        let known: std::sync::Arc<std::sync::Mutex<Vec<(String, String, u32)>>> = Default::default();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (k, s) = (known.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&req).into_owned();
                let key = text
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.strip_prefix("/containers/"))
                    .and_then(|p| p.strip_suffix("/json"))
                    .unwrap_or_default()
                    .to_string();
                let hit = k
                    .lock()
                    .expect("fake docker lock")
                    .iter()
                    .find(|(id, name, _)| *id == key || *name == key || (key.len() >= 12 && id.starts_with(&key)))
                    .cloned();
                let resp = match hit {
                    Some((id, name, pid)) => {
                        let body = serde_json::json!({ "Id": id, "Name": format!("/{name}"), "State": { "Pid": pid, "Running": pid > 0 } })
                            .to_string();
                        format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}")
                    }
                    None => "HTTP/1.0 404 Not Found\r\n\r\n{}".to_string(),
                };
                let _ = conn.write_all(resp.as_bytes());
            }
        });
        FakeDocker { socket, known, stop, _dir: dir }
    }

    /// Says that container `id`, named `name`, has its init at host pid `pid`.
    pub fn set(&self, id: &str, name: &str, pid: u32) {
        let mut k = self.known.lock().expect("fake docker lock");
        k.retain(|(i, _, _)| i != id);
        k.push((id.to_string(), name.to_string(), pid));
    }

    /// A rasd that asks this fake for containers, with `extra` flags.
    pub fn rasd(&self, extra: &[&str]) -> crate::Rasd {
        let f = self.flags();
        crate::Rasd::start(&[extra, &[f[0].as_str(), f[1].as_str()]].concat())
    }

    /// `--docker-socket PATH` for rasd.
    pub fn flags(&self) -> [String; 2] {
        ["--docker-socket".into(), self.socket.display().to_string()]
    }
}

impl Drop for FakeDocker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
