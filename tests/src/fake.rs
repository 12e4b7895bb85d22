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
