//! rasd configuration: command-line flags over `/etc/ras/rasd.toml`. Every option exists in
//! both; flags win. The raw inputs ([`Args`], [`FileConfig`]) are resolved once into a
//! validated [`Config`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use serde::Deserialize;

/// Where the configuration file is read from when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/ras/rasd.toml";

/// TEE backends built into this rasd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeeKind {
    /// Simulated TEE: software keys, for any machine; verifiers refuse it without --allow-sim.
    Sim,
}

/// Log destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogTarget {
    /// The best available (stderr in this build).
    Auto,
    /// Standard error.
    Stderr,
}

/// rasd: the ras host daemon. It owns the TEE session and the attestation key, and serves
/// evidence to local callers whose identity it reads from the kernel.
#[derive(Debug, Parser)]
#[command(name = "rasd", version, about)]
pub struct Args {
    /// Configuration file (TOML); flags override it. Default: /etc/ras/rasd.toml if present.
    #[arg(long, env = "RASD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Runtime directory for the sockets.
    #[arg(long, env = "RASD_RUNTIME_DIR", value_name = "DIR")]
    pub runtime_dir: Option<PathBuf>,
    /// State directory for keys and certificates.
    #[arg(long, env = "RASD_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// TEE backend.
    #[arg(long, value_enum)]
    pub tee: Option<TeeKind>,
    /// Where logs go.
    #[arg(long, value_enum)]
    pub log: Option<LogTarget>,
    /// Group whose members may call io.ras.Admin, besides root (default: ras, if it exists).
    #[arg(long, value_name = "GROUP")]
    pub admin_group: Option<String>,
    /// Largest accepted message, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_message_size: Option<usize>,
    /// Most connections served at once per socket; more wait in the accept queue.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}

/// The configuration file. Same names as the flags, in snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    runtime_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    tee: Option<TeeKind>,
    log: Option<LogTarget>,
    admin_group: Option<String>,
    max_message_size: Option<usize>,
    max_connections: Option<usize>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Socket directory.
    pub runtime_dir: PathBuf,
    /// Keys, certificates.
    pub state_dir: PathBuf,
    /// Backend.
    pub tee: TeeKind,
    /// Log target.
    pub log: LogTarget,
    /// Admin group name, if configured or the default exists.
    pub admin_group: Option<String>,
    /// Message bound.
    pub max_message_size: usize,
    /// Connection bound per socket.
    pub max_connections: usize,
}

impl Config {
    /// Merges flags over the file and validates.
    pub fn resolve(args: Args) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG).exists() => read_file(Path::new(DEFAULT_CONFIG))?,
            None => FileConfig::default(),
        };
        let cfg = Config {
            runtime_dir: args.runtime_dir.or(file.runtime_dir).unwrap_or_else(|| "/run/ras".into()),
            state_dir: args.state_dir.or(file.state_dir).unwrap_or_else(|| "/var/lib/ras".into()),
            tee: args.tee.or(file.tee).unwrap_or(TeeKind::Sim),
            log: args.log.or(file.log).unwrap_or(LogTarget::Auto),
            admin_group: args.admin_group.or(file.admin_group).or_else(|| Some("ras".into())),
            max_message_size: args.max_message_size.or(file.max_message_size).unwrap_or(ras_proto::DEFAULT_MAX_MESSAGE),
            max_connections: args.max_connections.or(file.max_connections).unwrap_or(1024),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(256..=64 << 20).contains(&self.max_message_size) {
            bail!("max message size must be between 256 bytes and 64 MiB, got {}", self.max_message_size);
        }
        if self.max_connections == 0 {
            bail!("max connections must be at least 1");
        }
        for (name, dir) in [("runtime", &self.runtime_dir), ("state", &self.state_dir)] {
            if !dir.is_absolute() {
                bail!("{name} directory must be an absolute path, got {}", dir.display());
            }
        }
        Ok(())
    }

    /// The host socket.
    pub fn host_socket(&self) -> PathBuf {
        self.runtime_dir.join("rasd.sock")
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parse config {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        Args::parse_from(std::iter::once("rasd").chain(extra.iter().copied()))
    }

    #[test]
    fn flags_win_over_the_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("rasd.toml");
        std::fs::write(&f, "state_dir = \"/from/file\"\nruntime_dir = \"/file/run\"\n").unwrap();
        let cfg = Config::resolve(args(&["--config", f.to_str().unwrap(), "--runtime-dir", "/flag/run"])).unwrap();
        assert_eq!(cfg.runtime_dir, PathBuf::from("/flag/run"));
        assert_eq!(cfg.state_dir, PathBuf::from("/from/file"));
    }

    #[test]
    fn bad_files_and_values_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("rasd.toml");
        std::fs::write(&f, "no_such_option = 1\n").unwrap();
        assert!(Config::resolve(args(&["--config", f.to_str().unwrap()])).is_err());
        assert!(Config::resolve(args(&["--config", "/nonexistent/rasd.toml"])).is_err());
        assert!(Config::resolve(args(&["--state-dir", "relative"])).is_err());
        assert!(Config::resolve(args(&["--max-message-size", "10"])).is_err());
    }
}
