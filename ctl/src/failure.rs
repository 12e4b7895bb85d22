//! How a command fails: an error chain and the exit code it maps to.

use ras_proto::ProtoError;

/// Exit codes of DESIGN §9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Attestation failed, or the daemon refused with a stated reason.
    Attestation = 1,
    /// Bad usage or configuration.
    Usage = 2,
    /// Daemon unreachable, or a protocol error.
    Daemon = 3,
}

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: Code,
    /// What went wrong, with context.
    pub error: anyhow::Error,
    /// The command already told the user (a printed verdict); print nothing more.
    pub silent: bool,
}

impl Failure {
    /// A failure with `code`.
    pub fn new(code: Code, error: impl Into<anyhow::Error>) -> Self {
        Failure { code, error: error.into(), silent: false }
    }

    /// An attestation failure whose verdict was already printed.
    pub fn verdict_printed() -> Self {
        Failure { code: Code::Attestation, error: anyhow::anyhow!("attestation failed"), silent: true }
    }
}

/// Shorthand for `Failure::new(Code::Usage, ..)`.
pub fn usage(error: impl Into<anyhow::Error>) -> Failure {
    Failure::new(Code::Usage, error)
}

/// Shorthand for `Failure::new(Code::Attestation, ..)`.
pub fn refused(error: impl Into<anyhow::Error>) -> Failure {
    Failure::new(Code::Attestation, error)
}

impl From<ProtoError> for Failure {
    /// `io.ras.*` errors are refusals with a reason (exit 1); everything else is a
    /// protocol or transport failure (exit 3).
    fn from(e: ProtoError) -> Self {
        match e {
            // Produced by ras-bridge, not by rasd: the attestation did not fail, it did not
            // happen (rasd unreachable, the bridge at capacity, or its deadline passed).
            ProtoError::Call(v)
                if v.name == "io.ras.Remote.Unavailable" || v.name == "io.ras.Remote.RequestTimeout" =>
            {
                Failure::new(Code::Daemon, anyhow::anyhow!("ras-bridge: {}", describe(&v)))
            }
            ProtoError::Call(v) if v.name.starts_with("io.ras.") && !v.name.starts_with("io.ras.Protocol.") => {
                Failure::new(Code::Attestation, anyhow::anyhow!("rasd refused: {}", describe(&v)))
            }
            ProtoError::Call(v) => Failure::new(Code::Daemon, anyhow::anyhow!("rasd error: {}", describe(&v))),
            other => Failure::new(Code::Daemon, anyhow::Error::from(other).context("talk to rasd")),
        }
    }
}

/// A varlink error for humans: its short name and parameters.
fn describe(v: &ras_proto::VarlinkError) -> String {
    let params = v.parameters.as_object().filter(|m| !m.is_empty());
    match params {
        Some(m) => {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, val)| format!("{k}={}", val.as_str().map(String::from).unwrap_or(val.to_string())))
                .collect();
            format!("{} ({})", v.name, fields.join(", "))
        }
        None => v.name.clone(),
    }
}
