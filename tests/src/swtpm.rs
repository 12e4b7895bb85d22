//! A software TPM (Debian's swtpm) for one test: `scripts/swtpm` manufactures it with its own
//! state directory and its own local CA for the EK certificate and serves it on loopback
//! ports; the test kills it by PID on drop.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running swtpm.
pub struct Swtpm {
    child: Child,
    port: u16,
    /// State, CA and logs.
    pub dir: tempfile::TempDir,
}

/// True when swtpm, swtpm_setup, the swtpm TCTI and tpm2-tools are installed.
pub fn available() -> bool {
    let has = |cmd: &str| {
        Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().is_ok_and(|o| o.status.success())
    };
    has("swtpm") && has("swtpm_setup") && has("tpm2_checkquote") && Path::new("/usr/bin/swtpm_localca").exists()
}

/// Both the TPM port and the control port (the TCTI opens both) are listening, read from
/// /proc/net/tcp. Never by connecting: a connect to a loopback port in the ephemeral range
/// that nobody listens on yet can connect to itself and hold the port swtpm is about to bind.
fn listening(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    [port, port.wrapping_add(1)].iter().all(|p| {
        let local = format!("0100007F:{p:04X}");
        table.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1] == local && f[3] == "0A"
        })
    })
}

/// A port pair (TPM, control) that is free now, below the kernel's ephemeral range: bind(0)
/// hands out even ports and connect() takes odd ones from that range, so the odd neighbour of
/// an ephemeral port is exactly what outgoing loopback connections of other tests hold.
fn free_port() -> u16 {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let low: u16 = range.split_whitespace().next().and_then(|w| w.parse().ok()).unwrap_or(32768);
    let span = low.saturating_sub(10_002).max(2);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut n = seed ^ std::process::id().rotate_left(16);
    for _ in 0..1000 {
        n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let port = 10_000 + (n >> 8) as u16 % span;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port pair below {low}")
}

impl Swtpm {
    /// Manufactures a TPM 2.0 with an EK certificate and starts it (`scripts/swtpm`).
    pub fn start() -> Swtpm {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for _ in 0..10 {
            // The swtpm TCTI finds the control channel at the next port.
            let port = free_port();
            let log = std::fs::File::create(d.join("swtpm.log")).expect("swtpm log");
            let mut child = Command::new(crate::repo_root().join("scripts/swtpm"))
                .arg(d)
                .arg(port.to_string())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn scripts/swtpm");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if listening(port) {
                    return Swtpm { child, port, dir };
                }
                // Another process took a port between our probe and swtpm's bind: retry.
                if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("swtpm did not start: {}", std::fs::read_to_string(d.join("swtpm.log")).unwrap_or_default());
    }

    /// Stops the TPM and starts it again on the same state and port: a TPM reset, as at a
    /// reboot (the PCRs start from zero; keys and NV stay).
    pub fn reset(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::File::create(self.dir.path().join("swtpm.log")).expect("swtpm log");
        self.child = Command::new(crate::repo_root().join("scripts/swtpm"))
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn scripts/swtpm");
        let up = crate::wait_for(Duration::from_secs(20), || listening(self.port));
        up.unwrap_or_else(|| panic!("swtpm did not come back on port {}", self.port));
    }

    /// The TCTI string for rasd and tpm2-tools.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// Runs a tpm2-tools command against this TPM.
    pub fn tool(&self, cmd: &str, args: &[&str]) -> Output {
        Command::new(cmd).args(args).env("TPM2TOOLS_TCTI", self.tcti()).output().expect("run tpm2-tools")
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        // Our own child, not yet reaped, so the pid names no other process.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
