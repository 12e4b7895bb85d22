//! `--tsm-appraiser CMD`: the verifier delegates appraising the hardware signature of a `tsm`
//! report (a TDX quote's PCK chain, an SEV-SNP report's VCEK or VLEK) to an external command,
//! such as a Trustee attestation-service client, because that needs the vendors' collateral
//! and policy that rasctl does not carry.
//!
//! The contract (also in `rasctl(1)`): CMD runs under `/bin/sh -c`; its standard input is the
//! raw report exactly as the guest kernel returned it; its environment has `RAS_TSM_PROVIDER`
//! (`tdx_guest` or `sev_guest`) and `RAS_TSM_REPORT_DATA` (the 128 hex digits that rasctl
//! found to bind the AK); exit status 0 accepts the report, anything else refuses it; what it
//! prints (standard output, then standard error, bounded) goes into the verdict. It has
//! [`TIMEOUT`] to finish, then it is killed.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ras_evidence::{Appraiser, TsmEvidence};

/// How long an appraiser may take (collateral downloads included).
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// How much of each of its output streams is kept.
const MAX_OUTPUT: usize = 16 * 1024;

/// An external appraisal command.
pub struct ExternalAppraiser {
    cmd: String,
    timeout: Duration,
}

impl ExternalAppraiser {
    /// The command line, as given to `--tsm-appraiser`.
    pub fn new(cmd: String) -> Self {
        ExternalAppraiser { cmd, timeout: TIMEOUT }
    }
}

/// Reads a stream to its end on a thread, keeping the first [`MAX_OUTPUT`] bytes.
fn collect(stream: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut s) = stream {
        std::thread::spawn(move || {
            let (mut kept, mut buf) = (Vec::new(), [0u8; 4096]);
            while let Ok(n @ 1..) = s.read(&mut buf) {
                let room = MAX_OUTPUT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            let _ = tx.send(kept);
        });
    }
    rx
}

/// Waits for `child` until `deadline`; kills (our own child, by its handle) and reaps it then.
fn wait_until(child: &mut Child, deadline: Instant, timeout: Duration) -> Result<std::process::ExitStatus, String> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("it did not finish within {} s and was killed", timeout.as_secs_f64()));
            }
            Err(e) => return Err(format!("waiting for it failed: {e}")),
        }
    }
}

impl Appraiser for ExternalAppraiser {
    fn appraise(&self, e: &TsmEvidence<'_>) -> Result<String, String> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.cmd)
            .env("RAS_TSM_PROVIDER", e.provider.name())
            .env("RAS_TSM_REPORT_DATA", hex::encode(e.report_data))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| format!("could not run it: {err}"))?;
        let deadline = Instant::now() + self.timeout;
        // On a thread: an appraiser that never reads its input must not block rasctl.
        let (stdin, raw) = (child.stdin.take(), e.raw.to_vec());
        std::thread::spawn(move || {
            if let Some(mut stdin) = stdin {
                // A command that does not read its input closes the pipe: not an error here.
                let _ = stdin.write_all(&raw);
            }
        });
        let (out, err) = (collect(child.stdout.take()), collect(child.stderr.take()));
        let status = wait_until(&mut child, deadline, self.timeout)?;
        // A grandchild may hold the pipes open after the command exited: wait briefly only.
        let grace = Duration::from_secs(1);
        let text = |rx: mpsc::Receiver<Vec<u8>>| {
            String::from_utf8_lossy(&rx.recv_timeout(grace).unwrap_or_default()).trim().to_string()
        };
        let said: Vec<String> = [text(out), text(err)].into_iter().filter(|s| !s.is_empty()).collect();
        let said = said.join("\n");
        if status.success() {
            Ok(said)
        } else {
            let code = status.code().map_or_else(|| "a signal".to_string(), |c| format!("exit status {c}"));
            Err(if said.is_empty() { code } else { format!("{code}: {said}") })
        }
    }

    fn name(&self) -> String {
        format!("--tsm-appraiser {:?}", self.cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ras_evidence::tsm::Provider;

    fn run(cmd: &str) -> Result<String, String> {
        let data = [0xab; 64];
        let e = TsmEvidence { provider: Provider::Tdx, raw: b"quote bytes", report_data: &data };
        ExternalAppraiser { cmd: cmd.into(), timeout: Duration::from_millis(500) }.appraise(&e)
    }

    #[test]
    fn the_command_gets_the_raw_report_and_its_exit_status_decides() {
        let probe = r#"printf '%s %s ' "$RAS_TSM_PROVIDER" "$(wc -c | tr -d ' ')"; printf '%s' "$RAS_TSM_REPORT_DATA" | cut -c1-6"#;
        assert_eq!(run(probe), Ok("tdx_guest 11 ababab".into()));
        assert_eq!(run("echo looked; echo revoked >&2; exit 3"), Err("exit status 3: looked\nrevoked".into()));
        assert_eq!(run("exit 0"), Ok(String::new()), "not reading the report is the command's business");
        assert!(run("/nonexistent/appraiser").unwrap_err().starts_with("exit status 127"));
    }

    #[test]
    fn a_hanging_command_is_killed_and_refuses() {
        let started = Instant::now();
        let e = run("exec sleep 30").unwrap_err();
        assert!(e.contains("did not finish within 0.5 s and was killed"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn its_output_is_bounded() {
        let out = run("head -c 100000 /dev/zero | tr '\\0' x").unwrap();
        assert_eq!(out.len(), MAX_OUTPUT);
    }
}
