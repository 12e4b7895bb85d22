//! A software TPM (Debian's swtpm) for one test: `scripts/swtpm` manufactures it with its own
//! state directory and its own local CA for the EK certificate and serves it on loopback
//! ports; the test kills it by PID on drop.

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

/// Both the TPM port and the control port (the TCTI opens both) are listening.
fn listening(port: u16) -> bool {
    crate::listening(port) && crate::listening(port.wrapping_add(1))
}

impl Swtpm {
    /// Manufactures a TPM 2.0 with an EK certificate and starts it (`scripts/swtpm`).
    pub fn start() -> Swtpm {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for _ in 0..10 {
            // The swtpm TCTI finds the control channel at the next port.
            let port = crate::free_ports(2);
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
