//! The command line of ras-verifier (also the source of its man page), and what it resolves
//! to: the database URL, the trust anchors, the admin token, the listener's TLS. Everything a
//! flag names is read and checked here, at start, so that a mistake stops the service with
//! the flag named instead of failing the first request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Parser;

use ras_server::logging::LogTarget;

/// ras-verifier: the relying party of ras. It attests registered targets (hosts, containers,
/// VM guests, through their ras-bridge) on their intervals, keeps their state in SQLite or
/// PostgreSQL, notifies webhooks when a state changes, and releases secrets to workloads
/// whose evidence passes the secret's Rego policy.
#[derive(Debug, Parser)]
#[command(name = "ras-verifier", version, about, long_about = None)]
pub struct Cli {
    /// Where the HTTP API listens. Plain HTTP only on a loopback address; anywhere else
    /// --tls-cert and --tls-key are required.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// The database: `sqlite://PATH` or `postgres://USER:PASS@HOST:PORT/DB`. Several
    /// replicas share one PostgreSQL database. Defaults to SQLite in the state directory.
    /// Prefer the environment variable for a URL that carries a password.
    #[arg(long, value_name = "URL", env = "RAS_VERIFIER_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
    /// The state directory (the SQLite database lives here by default).
    #[arg(long, value_name = "DIR", env = "STATE_DIRECTORY", default_value = "/var/lib/ras-verifier")]
    pub state_dir: PathBuf,
    /// PEM file of the trust anchors that evidence must chain to (`rasctl trust-anchor`).
    #[arg(long, value_name = "FILE")]
    pub trust: PathBuf,
    /// Accept evidence from the simulated TEE (`sim`), which proves nothing about hardware.
    #[arg(long)]
    pub allow_sim: bool,
    /// Accept `tsm` reports whose hardware signature was not appraised.
    #[arg(long)]
    pub allow_unappraised: bool,
    /// A file holding the bearer token of the admin endpoints (targets, secrets).
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: PathBuf,
    /// TLS certificate chain (PEM) of the API.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) of the API.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// POST a JSON notification here whenever a target changes state (repeatable).
    #[arg(long, value_name = "URL")]
    pub webhook: Vec<String>,
    /// Attestations in flight at once, per replica.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// This replica's name in leases and history; unique among replicas sharing a database.
    /// Defaults to the host name and a random suffix.
    #[arg(long, value_name = "NAME")]
    pub replica: Option<String>,
    /// How long a claimed target stays leased to this replica: a replica that dies holds its
    /// targets this long at most before another replica attests them.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(2..=3600))]
    pub lease: u32,
    /// How long a secret-release challenge stays valid.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub challenge_ttl: u32,
    /// How long a target may take to answer a challenge.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=300))]
    pub timeout: u32,
    /// The most targets the database may hold.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_targets: u32,
    /// Where logs go.
    #[arg(long, value_enum, value_name = "TARGET", default_value = "auto")]
    pub log: LogTarget,
}

/// Upper bound on a file named by a flag (token, anchors, TLS material).
const MAX_FILE: u64 = 1 << 20;

/// Reads a small file named by `flag`.
fn read_flag_file(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("{flag} {}", path.display()))?;
    if meta.len() > MAX_FILE {
        bail!("{flag} {}: {} bytes, at most {MAX_FILE}", path.display(), meta.len());
    }
    std::fs::read(path).with_context(|| format!("{flag} {}", path.display()))
}

impl Cli {
    /// The database URL: `--database`, or SQLite in the state directory.
    pub fn database_url(&self) -> anyhow::Result<String> {
        match &self.database {
            Some(url)
                if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                Ok(url.clone())
            }
            Some(_) => bail!("--database must be sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB"),
            None => {
                std::fs::create_dir_all(&self.state_dir)
                    .with_context(|| format!("create --state-dir {}", self.state_dir.display()))?;
                Ok(format!("sqlite://{}?mode=rwc", self.state_dir.join("verifier.db").display()))
            }
        }
    }

    /// The trust anchors (DER).
    pub fn trust_anchors(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let text = read_flag_file("--trust", &self.trust)?;
        let text = String::from_utf8(text).map_err(|_| anyhow!("--trust {}: not PEM text", self.trust.display()))?;
        ras_evidence::pem::parse_label(&text, "CERTIFICATE")
            .with_context(|| format!("--trust {}", self.trust.display()))
    }

    /// The admin token: the file's first line, at least 16 characters.
    pub fn admin_token(&self) -> anyhow::Result<String> {
        let raw = read_flag_file("--admin-token-file", &self.admin_token_file)?;
        let text = String::from_utf8(raw).map_err(|_| anyhow!("--admin-token-file: not text"))?;
        let token = text.lines().next().unwrap_or("").trim().to_string();
        if token.len() < 16 {
            bail!(
                "--admin-token-file {}: the token must be at least 16 characters (e.g. `head -c 32 /dev/urandom | base64`)",
                self.admin_token_file.display()
            );
        }
        Ok(token)
    }

    /// The TLS configuration, or None for plain HTTP, which only a loopback address gets.
    pub fn tls(&self) -> anyhow::Result<Option<tokio_rustls::rustls::ServerConfig>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            if !self.listen.ip().is_loopback() {
                bail!(
                    "--listen {} is not a loopback address: plain HTTP would carry admin tokens and secrets in \
                     the clear; give --tls-cert and --tls-key",
                    self.listen
                );
            }
            return Ok(None);
        };
        let certs = rustls_pemfile::certs(&mut read_flag_file("--tls-cert", cert)?.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("--tls-cert {}", cert.display()))?;
        if certs.is_empty() {
            bail!("--tls-cert {}: no CERTIFICATE in it", cert.display());
        }
        let key = rustls_pemfile::private_key(&mut read_flag_file("--tls-key", key)?.as_slice())
            .with_context(|| format!("--tls-key {}", key.display()))?
            .ok_or_else(|| anyhow!("--tls-key {}: no private key in it", key.display()))?;
        let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("--tls-cert and --tls-key do not form a usable key pair")?;
        Ok(Some(config))
    }

    /// This replica's name.
    pub fn replica_name(&self) -> String {
        self.replica.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            let mut suffix = [0u8; 4];
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut suffix);
            format!("{}-{}", host.trim(), hex::encode(suffix))
        })
    }
}
