//! The command line of rasctl (DESIGN §9). Doc comments are the help text and the man page.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// rasctl: the ras command line for operators (status, AK), workloads (local evidence) and
/// verifiers (verify evidence against a trust anchor).
#[derive(Debug, Parser)]
#[command(name = "rasctl", version, about)]
pub struct Cli {
    /// rasd socket.
    #[arg(long, global = true, env = "RAS_SOCKET", default_value = "/run/ras/rasd.sock", value_name = "PATH")]
    pub socket: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// rasctl commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show rasd's status (root or the admin group).
    Status,
    /// Get evidence for this process from rasd.
    Evidence(EvidenceArgs),
    /// Verify evidence offline, check by check.
    Verify(VerifyArgs),
    /// Print the PEM certificate a verifier passes as --trust.
    TrustAnchor,
    /// Manage the attestation key (root or the admin group).
    #[command(subcommand)]
    Ak(AkCommand),
    /// Reference values.
    #[command(subcommand)]
    Reference(ReferenceCommand),
    /// Measure an operation's throughput and latency percentiles at a concurrency.
    Bench(BenchArgs),
    /// Manage registered containers (root or the admin group).
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Runtime measurements of this process's subject (host or container).
    #[command(subcommand)]
    Measure(MeasureCommand),
    /// Challenge a host, or one container on it, and verify the answer.
    Attest(AttestArgs),
    /// Run inside a container: answer the challenges rasd forwards to it.
    Agent(AgentArgs),
    /// TPM evidence for other tools, and a verifier's enrolment of a host's TPM.
    #[command(subcommand)]
    Tpm(TpmCommand),
    /// The CA's half of TPM enrolment in AS mode.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Verification policies in Rego.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Secrets that ras-verifier releases to attested workloads.
    #[command(subcommand)]
    Secret(SecretCommand),
}

/// `rasctl secret ...`
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Get a secret from ras-verifier: take its challenge, have rasd sign evidence for this
    /// process that binds a fresh one-time key, send both, and decrypt the answer (a JWE to that
    /// key). Writes the secret raw to standard output, or to --out; with --json, one object.
    /// Exit 1 when ras-verifier refuses (the message names the failed check) or has no such
    /// secret; 3 when it or rasd cannot be reached, or answers out of protocol.
    Get(SecretGetArgs),
}

/// `rasctl secret get`
#[derive(Debug, Args)]
pub struct SecretGetArgs {
    /// The secret's name: 1 to 128 of A-Z a-z 0-9 . _ - (not . or ..).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// ras-verifier's base URL, http:// or https:// (the requests go to URL/v1/...).
    #[arg(long, value_name = "URL")]
    pub verifier: String,
    /// PEM certificate(s) to trust for an https:// verifier, instead of the built-in web roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Write the secret to FILE (mode 0600, replaced whole, never through a symbolic link)
    /// instead of standard output (- is standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Seconds to wait for each answer (ras-verifier's two, and rasd's evidence).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub timeout: f64,
}

/// `rasctl tpm ...`
#[derive(Debug, Subcommand)]
pub enum TpmCommand {
    /// Write the evidence's fresh TPM quote as files tpm2_checkquote reads: ak.pub.pem,
    /// quote.msg, quote.sig, quote.pcrs and qualification.hex.
    Export {
        /// Evidence (JWS compact) with a fresh TPM quote, or - for standard input.
        #[arg(value_name = "EVIDENCE")]
        evidence: PathBuf,
        /// Directory to write the files into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// Enrol a host's TPM attestation key once, through its bridge: check its EK certificate
    /// against the TPM maker's CAs, prove with credential activation that the AK lives in that
    /// TPM, and write the AK's certificate, the trust anchor for that host's evidence.
    Enroll {
        /// The host's ras-bridge (tcp:HOST:PORT, vsock:CID:PORT) or a rasd socket (unix:PATH).
        #[arg(long, value_name = "TARGET")]
        connect: String,
        /// PEM certificates of the CAs that may issue EK certificates (the TPM maker's).
        #[arg(long, value_name = "FILE")]
        ek_ca: PathBuf,
        /// Write the enrolled AK certificate (PEM) to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Seconds to wait for each answer.
        #[arg(long, value_name = "SECS", default_value_t = 60.0)]
        timeout: f64,
    },
}

/// `rasctl container ...`
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// List registrations.
    List,
    /// Register a running container by id or name.
    Add {
        /// Container id (64 hex digits or a unique prefix of 12+) or docker name.
        #[arg(value_name = "ID|NAME")]
        container: String,
        /// Runtime: docker, podman, containerd or crio.
        #[arg(long = "type", value_name = "TYPE", default_value = "docker", value_parser = RUNTIMES)]
        runtime: String,
    },
    /// Forget a registration.
    Remove {
        /// Container id, unique prefix (12+), or registered name.
        #[arg(value_name = "ID|NAME")]
        container: String,
        /// Runtime.
        #[arg(long = "type", value_name = "TYPE", default_value = "docker", value_parser = RUNTIMES)]
        runtime: String,
    },
}

/// `rasctl measure ...`
#[derive(Debug, Subcommand)]
pub enum MeasureCommand {
    /// Append an event to the runtime measurement log; durable when this returns.
    Extend {
        /// Event area, e.g. app.
        #[arg(long, value_name = "D")]
        domain: String,
        /// What happened, e.g. load.
        #[arg(long, value_name = "O")]
        operation: String,
        /// What was measured: sha256:<64 hex digits>.
        #[arg(long, value_name = "sha256:HEX", value_parser = parse_content)]
        content: String,
    },
}

/// `rasctl attest`
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// Where to send the challenge: tcp:HOST:PORT, vsock:CID:PORT, or unix:PATH (rasd's host
    /// socket). Repeat it to attest several targets concurrently, each with its own nonce.
    #[arg(long, value_name = "TARGET", required = true)]
    pub connect: Vec<String>,
    /// Attest this container instead of the host.
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
    /// Runtime of --container.
    #[arg(long = "type", value_name = "TYPE", default_value = "docker", value_parser = RUNTIMES, requires = "container")]
    pub runtime: String,
    /// Attest the VM guest with this vsock CID (its agent connected to rasd over AF_VSOCK).
    #[arg(long, value_name = "CID", conflicts_with = "container")]
    pub vm: Option<u32>,
    /// What the verifier accepts.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Also write the evidence to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Seconds to wait for each target's answer (connect and challenge).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    pub timeout: f64,
    /// Most targets challenged at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
}

/// `rasctl agent`
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Reach rasd over AF_VSOCK from a VM guest (vsock:CID:PORT; the host is CID 2) instead
    /// of the unix socket.
    #[arg(long, value_name = "TARGET")]
    pub connect: Option<String>,
    /// JSON file of claims the workload reports about itself, sent with every answer.
    #[arg(long, value_name = "FILE")]
    pub claims: Option<PathBuf>,
    /// Assert which container this is; rasd refuses the agent if the kernel says otherwise.
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
    /// Longest wait between reconnection attempts, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub max_backoff: u64,
}

/// `rasctl bench`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure: `ping` (org.varlink.service.GetInfo), `evidence` (GetEvidence on
    /// --socket), `sign` (ES256 in this process over a signing input of the size rasd
    /// produces), `remote` (io.ras.Remote.Challenge of the host) or `container`
    /// (Challenge of --container, through its agent).
    #[arg(long, value_enum, default_value_t = BenchOp::Evidence)]
    pub op: BenchOp,
    /// Where `ping`, `remote` and `container` connect: tcp:HOST:PORT, unix:PATH or
    /// vsock:CID:PORT (default: unix:--socket).
    #[arg(long, value_name = "URI")]
    pub connect: Option<String>,
    /// Persistent connections (or, for `sign`, threads) calling at once.
    #[arg(long, short = 'c', default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: u64,
    /// Measured calls in all (default 1000 unless --duration is given).
    #[arg(long, short = 'n', value_parser = clap::value_parser!(u64).range(1..=100_000_000), conflicts_with = "duration")]
    pub count: Option<u64>,
    /// Measure for this many seconds instead of a count.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<f64>,
    /// Unmeasured calls per connection first.
    #[arg(long, default_value_t = 20)]
    pub warmup: u64,
    /// The container to challenge (`--op container`).
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
    /// Runtime of --container.
    #[arg(long = "type", value_name = "TYPE", default_value = "docker", value_parser = RUNTIMES)]
    pub runtime: String,
}

/// `rasctl bench --op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchOp {
    /// `org.varlink.service.GetInfo`: the transport's round trip.
    Ping,
    /// `io.ras.Attestation.GetEvidence` on --socket.
    Evidence,
    /// ES256 signatures in this process: the crypto limit.
    Sign,
    /// `io.ras.Remote.Challenge` of the host.
    Remote,
    /// `io.ras.Remote.Challenge` of --container.
    Container,
}

/// Container runtimes rasd knows (the wire names of `--type`).
const RUNTIMES: [&str; 4] = ["docker", "podman", "containerd", "crio"];

/// `--content`: a digest in the form the runtime log records, `sha256:` and 64 hex digits
/// (lowercased), so a placeholder or a typo is refused before anything is made durable.
fn parse_content(s: &str) -> Result<String, String> {
    match s.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
        }
        _ => Err(format!("{s:?} is not sha256:<64 hex digits> (e.g. the output of sha256sum FILE)")),
    }
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds in (0, 86400]")),
    }
}

/// `rasctl evidence`
#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// Nonce, hex, 8 to 64 bytes (default: 32 fresh random bytes).
    #[arg(long, value_name = "HEX")]
    pub nonce: Option<String>,
    /// Write the evidence to FILE instead of standard output (- is standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Assert which container this is; rasd refuses if the kernel says otherwise.
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
    /// Bind this sha256 (64 hex digits): the evidence carries it as `ras.bind`.
    #[arg(long, value_name = "HEX", conflicts_with = "bind_key")]
    pub bind: Option<String>,
    /// Bind this public key (PEM): the sha256 of its SubjectPublicKeyInfo.
    #[arg(long, value_name = "FILE")]
    pub bind_key: Option<PathBuf>,
}

/// `rasctl verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Evidence file (JWS compact), or - for standard input.
    #[arg(value_name = "EVIDENCE")]
    pub evidence: PathBuf,
    /// The nonce that was sent, hex.
    #[arg(long, value_name = "HEX")]
    pub nonce: String,
    /// What the verifier accepts.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Expect evidence for this container instead of the host.
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
    /// Runtime of --container.
    #[arg(long = "type", value_name = "TYPE", default_value = "docker", value_parser = RUNTIMES, requires = "container")]
    pub runtime: String,
    /// Expect the evidence to bind this sha256 (64 hex digits).
    #[arg(long, value_name = "HEX", conflicts_with = "bind_key")]
    pub bind: Option<String>,
    /// Expect the evidence to bind this public key (PEM).
    #[arg(long, value_name = "FILE")]
    pub bind_key: Option<PathBuf>,
}

/// What a verifier accepts: shared by `verify` and, later, `attest`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Trust anchor: PEM certificate(s) of the TEE root or the CA that issued the AK.
    #[arg(long, value_name = "FILE")]
    pub trust: PathBuf,
    /// Reference values: one `NAME SHA256` per line.
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// Accept evidence from the simulated TEE.
    #[arg(long)]
    pub allow_sim: bool,
    /// For tsm evidence: appraise the hardware signature of its TDX quote or SEV-SNP report
    /// with CMD (run by /bin/sh -c; e.g. a Trustee attestation-service client). CMD reads the
    /// raw report on its standard input, finds RAS_TSM_PROVIDER (tdx_guest or sev_guest) and
    /// RAS_TSM_REPORT_DATA (128 hex digits) in its environment, and accepts the report by
    /// exiting 0; any other exit refuses it. Its output is shown in the verdict; it has 60 s.
    #[arg(long, value_name = "CMD")]
    pub tsm_appraiser: Option<String>,
    /// Accept tsm evidence whose hardware signature was not appraised (no --tsm-appraiser):
    /// the report data still bind the AK, but nothing proves the report came from hardware.
    #[arg(long)]
    pub allow_unappraised: bool,
    /// Oldest acceptable evidence, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub max_age: i64,
    /// A Rego policy (`package ras`, deciding `allow`, with reasons in `deny`) that makes the
    /// `policy` check instead of the built-in rules; its input is the checks, the claims, the
    /// options and the TEE kind. Default: the built-in rules (the same as `rasctl policy default`).
    #[arg(long, value_name = "FILE.rego")]
    pub policy: Option<PathBuf>,
}

/// `rasctl ak ...`
#[derive(Debug, Subcommand)]
pub enum AkCommand {
    /// Show the AK: mode, fingerprint and certificate chain.
    Show,
    /// Print a PKCS#10 request for the AK, for an external CA.
    Csr {
        /// Write the request to FILE.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Install a CA-issued AK certificate chain (PEM, leaf first).
    Import {
        /// The chain file.
        #[arg(value_name = "FILE")]
        chain: PathBuf,
    },
    /// With --tee tpm: write the enrolment bundle for an external CA (JSON: the EK
    /// certificate, the TPM AK, its certificate, and a CSR for the evidence key).
    Enrollment {
        /// Write the bundle to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// With --tee tpm: open a CA's credential challenge (`rasctl ca challenge`) with the TPM,
    /// and write the secret (base64) that the CA compares with its own.
    Activate {
        /// The challenge file (JSON).
        #[arg(value_name = "CHALLENGE")]
        challenge: PathBuf,
        /// Write the secret to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `rasctl policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the default policy (what `verify` and `attest` decide without --policy), to start
    /// a policy of your own from.
    Default,
    /// Check that a policy file compiles (`package ras`); errors name the line.
    Check {
        /// The policy.
        #[arg(value_name = "FILE.rego")]
        file: PathBuf,
    },
}

/// `rasctl ca ...`: the CA's half of TPM enrolment in AS mode.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Check an enrolment bundle (`rasctl ak enrollment`) against the TPM maker's CAs and seal
    /// a fresh secret to its EK and TPM AK: the host's `rasctl ak activate` can open it only if
    /// the AK is in that TPM. Sign the bundle's CSR only when the secret it returns is yours.
    Challenge {
        /// The enrolment bundle (JSON).
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        /// PEM certificates of the CAs that may issue EK certificates (the TPM maker's).
        #[arg(long, value_name = "FILE")]
        ek_ca: PathBuf,
        /// Where the challenge (JSON) for the host goes.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Where the sealed secret (base64) goes; keep it to compare with the host's answer.
        #[arg(long, value_name = "FILE")]
        secret_out: PathBuf,
    },
}

/// `rasctl reference ...`
#[derive(Debug, Subcommand)]
pub enum ReferenceCommand {
    /// Write a reference file that accepts what known-good evidence measured.
    Record {
        /// Known-good evidence (JWS compact), or - for standard input.
        #[arg(value_name = "EVIDENCE")]
        evidence: PathBuf,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// First verify the evidence against this trust anchor (chain, TEE report, signature
        /// and policy; freshness is not checked, since recording is offline).
        #[arg(long, value_name = "FILE")]
        trust: Option<PathBuf>,
        /// With --trust: accept evidence from the simulated TEE.
        #[arg(long, requires = "trust")]
        allow_sim: bool,
        /// With --trust: appraise tsm evidence with CMD, as `rasctl verify --tsm-appraiser`.
        #[arg(long, value_name = "CMD", requires = "trust")]
        tsm_appraiser: Option<String>,
        /// With --trust: accept tsm evidence without hardware appraisal.
        #[arg(long, requires = "trust")]
        allow_unappraised: bool,
    },
}
