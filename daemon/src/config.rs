//! rasd configuration: command-line flags over `/etc/ras/rasd.toml`. Every option exists in
//! both; flags win. The raw inputs ([`Args`], [`FileConfig`]) are resolved once into a
//! validated [`Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
pub use ras_server::logging::LogTarget;
use serde::Deserialize;

/// Where the configuration file is read from when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/ras/rasd.toml";

/// TEE backends built into this rasd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeeKind {
    /// Simulated TEE: software keys, for any machine; verifiers refuse it without --allow-sim.
    Sim,
    /// TPM 2.0 through a TCTI (--tpm-tcti); needs a rasd built with the `tpm` feature.
    Tpm,
    /// Linux configfs-tsm (--tsm-path) in a TDX or SEV-SNP guest: the raw hardware report in a
    /// self-signed AK certificate; verifiers appraise it with --tsm-appraiser.
    Tsm,
}

/// Which evidence carries a fresh TPM quote of the PCRs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotePolicy {
    /// Host evidence only (containers and VM guests share the host's PCRs, but pay no quote).
    Host,
    /// Every evidence.
    All,
    /// None: PCRs are not attested; the AK certificate's quote still binds the AK to the TPM.
    None,
}

/// The TPM settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmConfig {
    /// TCTI string, as tpm2-tools take it.
    pub tcti: String,
    /// PCRs of the sha256 bank quoted in fresh quotes.
    pub pcrs: Vec<u8>,
    /// Which evidence gets a fresh quote.
    pub quote: QuotePolicy,
    /// Most evidences that share one quote; 1 turns batching off.
    pub batch: usize,
    /// The PCR runtime-log entries are also extended into; `None` for none.
    pub log_pcr: Option<u8>,
}

/// rasd: the ras host daemon. It owns the TEE session and the attestation key, and serves
/// evidence to local callers whose identity it reads from the kernel.
#[derive(Debug, Parser)]
#[command(name = "rasd", version, about)]
pub struct Args {
    /// Configuration file (TOML); flags override it. Default: /etc/ras/rasd.toml if present.
    #[arg(long, env = "RASD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Runtime directory for the sockets. Default: /run/ras.
    #[arg(long, env = "RASD_RUNTIME_DIR", value_name = "DIR")]
    pub runtime_dir: Option<PathBuf>,
    /// State directory for keys and certificates. Default: /var/lib/ras.
    #[arg(long, env = "RASD_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// TEE backend. Default: sim.
    #[arg(long, value_enum)]
    pub tee: Option<TeeKind>,
    /// TPM TCTI (a tpm2-tools TCTI string), for --tee tpm. Default: device:/dev/tpmrm0.
    #[arg(long, value_name = "TCTI")]
    pub tpm_tcti: Option<String>,
    /// PCRs (sha256 bank, comma-separated) in fresh TPM quotes. Default: 0,1,2,3,4,5,6,7.
    #[arg(long, value_name = "LIST")]
    pub tpm_pcrs: Option<String>,
    /// Which evidence carries a fresh TPM quote of the PCRs (--tee tpm) or a fresh configfs-tsm report (--tee tsm). Default: host.
    #[arg(long, value_enum)]
    pub tpm_quote: Option<QuotePolicy>,
    /// Most concurrent evidences that share one TPM quote (a Merkle root); 1 turns batching off. Default: 64 (1 to 1024).
    #[arg(long, value_name = "N")]
    pub tpm_batch: Option<usize>,
    /// The PCR every runtime-log entry is also extended into, which no other software may extend, or `none`. Default: 15.
    #[arg(long, value_name = "PCR")]
    pub tpm_log_pcr: Option<String>,
    /// The configfs-tsm report directory that --tee tsm uses. Default: /sys/kernel/config/tsm/report.
    #[arg(long, value_name = "DIR")]
    pub tsm_path: Option<PathBuf>,
    /// TDX RTMR3 (Linux 6.16+ sysfs), into which --tee tsm extends every runtime-log entry, or `none`; only RTMR3, the one for the OS and applications, is used. Default: /sys/class/misc/tdx_guest/measurements/rtmr3:sha384 (skipped when absent).
    #[arg(long, value_name = "PATH")]
    pub tsm_rtmr: Option<String>,
    /// The file that names this boot, for the RTMR3 journal (tests emulate it). Default: /proc/sys/kernel/random/boot_id.
    #[arg(long, value_name = "FILE", hide = true)]
    pub tsm_boot_id: Option<PathBuf>,
    /// Where logs go. Default: auto.
    #[arg(long, value_enum)]
    pub log: Option<LogTarget>,
    /// Group whose members may call io.ras.Admin, besides root (default: none, root only).
    #[arg(long, value_name = "GROUP")]
    pub admin_group: Option<String>,
    /// Group that owns the host socket: its members may connect (default: ras, if it exists;
    /// a group named here or in the file must exist).
    #[arg(long, value_name = "GROUP")]
    pub socket_group: Option<String>,
    /// Largest accepted message, in bytes. Default: 1048576 (1 MiB; 256 B to 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_message_size: Option<usize>,
    /// Most connections served at once per socket; more wait in the accept queue. Default: 1024.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds a connection may wait before sending its next whole message (agent streams
    /// are exempt); then it is closed, so idle peers cannot hold every connection slot. Default: 120 s.
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Most connections one container may hold open on the container socket (and one VM guest
    /// on the vsock port); more are closed at once, so one cannot take the slots of the others. Default: 32.
    #[arg(long, value_name = "N")]
    pub max_container_connections: Option<usize>,
    /// Most calls of one container (or VM guest) served at once; more wait their turn. Default: 8.
    #[arg(long, value_name = "N")]
    pub max_container_calls: Option<usize>,
    /// Register a container on its first connection to the container socket
    /// (`--auto-register=false` overrides the file). Default: false.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub auto_register: Option<bool>,
    /// Minutes between health checks of agents; <= 0 turns them off (at most 10080, a week). Default: 0 (off).
    #[arg(long, value_name = "MINUTES", allow_negative_numbers = true)]
    pub health_check: Option<i64>,
    /// Deadline for an agent's answer to a forwarded challenge, in milliseconds. Default: 10000 ms (100 ms to 600 s).
    #[arg(long, value_name = "MS")]
    pub challenge_timeout: Option<u64>,
    /// Docker API socket, used to resolve container names. Default: /var/run/docker.sock.
    #[arg(long, value_name = "PATH")]
    pub docker_socket: Option<PathBuf>,
    /// A file rasd measures in every container (and on the host) it attests; repeatable. Default: none.
    #[arg(long = "measure-file", value_name = "PATH")]
    pub measure_files: Vec<String>,
    /// A uid allowed to send io.ras.Remote challenges on the host socket (the bridge's). Default: none.
    #[arg(long, value_name = "UID")]
    pub remote_uid: Option<u32>,
    /// A group allowed to send io.ras.Remote challenges on the host socket. Default: none (a group named must exist).
    #[arg(long, value_name = "GROUP")]
    pub remote_group: Option<String>,
    /// Listen on this AF_VSOCK port for agents in VM guests (identified by their CID). Default: none (no AF_VSOCK listener).
    #[arg(long, value_name = "PORT")]
    pub vsock_agent_port: Option<u32>,
}

/// The configuration file. Same names as the flags, in snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    runtime_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    tee: Option<TeeKind>,
    tpm_tcti: Option<String>,
    tpm_pcrs: Option<String>,
    tpm_quote: Option<QuotePolicy>,
    tpm_batch: Option<usize>,
    tpm_log_pcr: Option<String>,
    tsm_path: Option<PathBuf>,
    tsm_rtmr: Option<String>,
    log: Option<LogTarget>,
    admin_group: Option<String>,
    socket_group: Option<String>,
    max_message_size: Option<usize>,
    max_connections: Option<usize>,
    idle_timeout: Option<u64>,
    max_container_connections: Option<usize>,
    max_container_calls: Option<usize>,
    auto_register: Option<bool>,
    health_check: Option<i64>,
    challenge_timeout: Option<u64>,
    docker_socket: Option<PathBuf>,
    #[serde(default)]
    measure_files: Vec<String>,
    /// Per container (id, 12+ prefix, or name): files measured in it besides the global ones.
    #[serde(default)]
    container_measure_files: BTreeMap<String, Vec<String>>,
    remote_uid: Option<u32>,
    remote_group: Option<String>,
    vsock_agent_port: Option<u32>,
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
    /// TPM settings (used with `tee = tpm`).
    pub tpm: TpmConfig,
    /// configfs-tsm report directory (`--tee tsm`).
    pub tsm_path: PathBuf,
    /// TDX RTMR3 for the runtime log (`--tee tsm`); `None` for none. `rtmr_default` says the
    /// path was not given, so a guest without it (SEV-SNP, an older kernel) runs unanchored.
    pub tsm_rtmr: Option<crate::tee::rtmr::RtmrConfig>,
    /// Whether `tsm_rtmr` is the default path rather than one the operator named.
    pub tsm_rtmr_default: bool,
    /// Log target.
    pub log: LogTarget,
    /// Admin group name, if configured.
    pub admin_group: Option<String>,
    /// Host socket group name.
    pub socket_group: Option<String>,
    /// Whether `socket_group` was named by the operator (then it must exist) or is the default.
    pub socket_group_explicit: bool,
    /// Message bound.
    pub max_message_size: usize,
    /// Connection bound per socket.
    pub max_connections: usize,
    /// How long a connection may take to send its next message.
    pub idle_timeout: Duration,
    /// Connections per container on the container socket.
    pub max_container_connections: usize,
    /// Calls in progress per container.
    pub max_container_calls: usize,
    /// Register containers on first connection.
    pub auto_register: bool,
    /// Health check period; `None` when off.
    pub health_check: Option<Duration>,
    /// Deadline for agents' answers.
    pub challenge_timeout: Duration,
    /// Docker API socket.
    pub docker_socket: PathBuf,
    /// Files measured everywhere.
    pub measure_files: Vec<String>,
    /// Files measured per container, keyed by id, prefix or name.
    pub container_measure_files: BTreeMap<String, Vec<String>>,
    /// Uid allowed to call io.ras.Remote.
    pub remote_uid: Option<u32>,
    /// Group allowed to call io.ras.Remote.
    pub remote_group: Option<String>,
    /// AF_VSOCK port for VM agents.
    pub vsock_agent_port: Option<u32>,
}

/// Parses `--tpm-log-pcr`: `none`, or one static PCR (0 to 15). 16 and 23 can be reset at
/// locality 0, and 17 to 22 are DRTM's: a forged log could be replayed into them.
fn log_pcr(text: &str) -> anyhow::Result<Option<u8>> {
    match text.trim() {
        "none" => Ok(None),
        t => match t.parse::<u8>() {
            Ok(n) if n < 16 => Ok(Some(n)),
            Ok(n) if n < 24 => bail!(
                "--tpm-log-pcr {n}: PCRs 16 to 23 can be reset or are DRTM's; name a static PCR (0 to 15) that no other software extends, or none"
            ),
            _ => bail!("--tpm-log-pcr {t:?}: one PCR index (0 to 15) or none"),
        },
    }
}

/// Parses a PCR list such as `0,1,2,7`: indices 0 to 23, each once; sorted.
fn parse_pcrs(text: &str) -> anyhow::Result<Vec<u8>> {
    let mut pcrs = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        match word.parse::<u8>() {
            Ok(i) if i < ras_evidence::tpm::PCR_COUNT => pcrs.push(i),
            _ => bail!("--tpm-pcrs {text:?}: {word:?} is not a PCR index (0 to 23)"),
        }
    }
    pcrs.sort_unstable();
    pcrs.dedup();
    Ok(pcrs)
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
            tpm: TpmConfig {
                tcti: args.tpm_tcti.or(file.tpm_tcti).unwrap_or_else(|| "device:/dev/tpmrm0".into()),
                pcrs: parse_pcrs(args.tpm_pcrs.or(file.tpm_pcrs).as_deref().unwrap_or("0,1,2,3,4,5,6,7"))?,
                quote: args.tpm_quote.or(file.tpm_quote).unwrap_or(QuotePolicy::Host),
                batch: args.tpm_batch.or(file.tpm_batch).unwrap_or(64),
                log_pcr: log_pcr(args.tpm_log_pcr.or(file.tpm_log_pcr).as_deref().unwrap_or("15"))?,
            },
            tsm_path: args.tsm_path.or(file.tsm_path).unwrap_or_else(|| crate::tee::tsm::DEFAULT_PATH.into()),
            tsm_rtmr_default: args.tsm_rtmr.is_none() && file.tsm_rtmr.is_none(),
            tsm_rtmr: match args.tsm_rtmr.or(file.tsm_rtmr).as_deref().unwrap_or(crate::tee::rtmr::DEFAULT_RTMR) {
                "none" => None,
                path => Some(crate::tee::rtmr::RtmrConfig {
                    register: path.into(),
                    boot_id: args.tsm_boot_id.unwrap_or_else(|| crate::tee::rtmr::DEFAULT_BOOT_ID.into()),
                }),
            },
            log: args.log.or(file.log).unwrap_or(LogTarget::Auto),
            admin_group: args.admin_group.or(file.admin_group),
            socket_group_explicit: args.socket_group.is_some() || file.socket_group.is_some(),
            socket_group: args.socket_group.or(file.socket_group).or_else(|| Some("ras".into())),
            max_message_size: args.max_message_size.or(file.max_message_size).unwrap_or(ras_proto::DEFAULT_MAX_MESSAGE),
            max_connections: args.max_connections.or(file.max_connections).unwrap_or(1024),
            idle_timeout: Duration::from_secs(args.idle_timeout.or(file.idle_timeout).unwrap_or(120).max(1)),
            max_container_connections: args.max_container_connections.or(file.max_container_connections).unwrap_or(32),
            max_container_calls: args.max_container_calls.or(file.max_container_calls).unwrap_or(8),
            auto_register: args.auto_register.or(file.auto_register).unwrap_or(false),
            health_check: match test_health_check_seconds() {
                Some(secs) => Some(Duration::from_secs(secs.max(1))),
                None => health_check(args.health_check.or(file.health_check).unwrap_or(0))?,
            },
            challenge_timeout: Duration::from_millis(
                args.challenge_timeout.or(file.challenge_timeout).unwrap_or(10_000),
            ),
            docker_socket: args.docker_socket.or(file.docker_socket).unwrap_or_else(|| "/var/run/docker.sock".into()),
            measure_files: if args.measure_files.is_empty() { file.measure_files } else { args.measure_files },
            container_measure_files: file.container_measure_files,
            remote_uid: args.remote_uid.or(file.remote_uid),
            remote_group: args.remote_group.or(file.remote_group),
            vsock_agent_port: args.vsock_agent_port.or(file.vsock_agent_port),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(256..=64 << 20).contains(&self.max_message_size) {
            bail!("max message size must be between 256 bytes and 64 MiB, got {}", self.max_message_size);
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&self.challenge_timeout) {
            bail!("challenge timeout must be between 100 ms and 600 s");
        }
        let all_files = self.measure_files.iter().chain(self.container_measure_files.values().flatten());
        if let Some(bad) = all_files.into_iter().find(|p| !p.starts_with('/') || p.contains('\0')) {
            bail!("measured file paths must be absolute, got {bad:?}");
        }
        if !(1..=ras_evidence::merkle::MAX_LEAVES).contains(&self.tpm.batch) {
            bail!("tpm batch must be between 1 and {}, got {}", ras_evidence::merkle::MAX_LEAVES, self.tpm.batch);
        }
        if self.max_connections == 0 {
            bail!("max connections must be at least 1");
        }
        if self.max_container_connections == 0 || self.max_container_calls == 0 {
            bail!("per-container connection and call limits must be at least 1");
        }
        for (name, dir) in [("runtime", &self.runtime_dir), ("state", &self.state_dir), ("tsm", &self.tsm_path)] {
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

    /// The directory users bind-mount into containers.
    pub fn container_dir(&self) -> PathBuf {
        self.runtime_dir.join("container")
    }

    /// Files to measure in a container: the global list, then its own (by id, prefix or name).
    pub fn files_for(&self, id: &str, name: Option<&str>) -> Vec<String> {
        let mut files = self.measure_files.clone();
        for (key, extra) in &self.container_measure_files {
            let hit = key == id || (key.len() >= 12 && id.starts_with(key.as_str())) || Some(key.as_str()) == name;
            if hit {
                files.extend(extra.iter().cloned());
            }
        }
        files.dedup();
        files
    }
}

/// TEST ONLY: `RASD_TEST_HEALTH_CHECK_SECONDS` sets the health-check period in seconds, so
/// that tests need not wait the contract's minute. Deliberately not a flag or a config key.
fn test_health_check_seconds() -> Option<u64> {
    std::env::var("RASD_TEST_HEALTH_CHECK_SECONDS").ok()?.parse().ok()
}

/// Maximum health-check period: a week, in minutes.
const MAX_HEALTH_MINUTES: i64 = 10_080;

fn health_check(minutes: i64) -> anyhow::Result<Option<Duration>> {
    match minutes {
        m if m <= 0 => Ok(None),
        m if m > MAX_HEALTH_MINUTES => {
            bail!("health check period must be at most {MAX_HEALTH_MINUTES} minutes, got {m}")
        }
        m => Ok(Some(Duration::from_secs(m as u64 * 60))),
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read config {}", path.display()))?;
    parse_file(&text).with_context(|| format!("parse config {}", path.display()))
}

/// Parses the text of a `rasd.toml`; the fuzz target's entry point as well.
pub fn parse_file(text: &str) -> Result<FileConfig, toml::de::Error> {
    toml::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        Args::parse_from(std::iter::once("rasd").chain(extra.iter().copied()))
    }

    #[test]
    fn the_log_pcr_is_one_static_pcr_or_none() {
        assert_eq!(log_pcr("15").unwrap(), Some(15));
        assert_eq!(log_pcr("none").unwrap(), None);
        for bad in ["16", "23", "1,2", "x", "24"] {
            assert!(log_pcr(bad).is_err(), "{bad}");
        }
        assert!(log_pcr("23").unwrap_err().to_string().contains("reset"));
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
    fn every_flag_states_its_default() {
        use clap::CommandFactory;
        let cmd = Args::command();
        let missing: Vec<_> = cmd
            .get_arguments()
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .filter(|a| !a.get_help().is_some_and(|h| h.to_string().to_lowercase().contains("default")))
            .map(|a| a.get_id().to_string())
            .collect();
        assert!(missing.is_empty(), "--help gives no default for {missing:?}");
        // The stated numbers are the ones resolve() applies.
        let cfg = Config::resolve(args(&["--config", "/dev/null"])).unwrap();
        assert_eq!((cfg.max_message_size, cfg.max_connections, cfg.idle_timeout.as_secs()), (1_048_576, 1024, 120));
        assert_eq!((cfg.max_container_connections, cfg.max_container_calls), (32, 8));
        assert_eq!(cfg.challenge_timeout.as_millis(), 10_000);
        assert_eq!((cfg.tee, cfg.tsm_path.as_path()), (TeeKind::Sim, Path::new("/sys/kernel/config/tsm/report")));
    }

    #[test]
    fn tsm_rtmr_defaults_to_rtmr3_and_none_turns_it_off() {
        let cfg = Config::resolve(args(&["--config", "/dev/null"])).unwrap();
        let r = cfg.tsm_rtmr.unwrap();
        assert_eq!(r.register, Path::new("/sys/class/misc/tdx_guest/measurements/rtmr3:sha384"));
        assert_eq!(r.boot_id, Path::new("/proc/sys/kernel/random/boot_id"));
        assert!(cfg.tsm_rtmr_default);
        let cfg = Config::resolve(args(&["--config", "/dev/null", "--tsm-rtmr", "none"])).unwrap();
        assert_eq!(cfg.tsm_rtmr, None);
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("rasd.toml");
        std::fs::write(&f, "tsm_rtmr = \"/x/rtmr3\"\n").unwrap();
        let cfg = Config::resolve(args(&["--config", f.to_str().unwrap()])).unwrap();
        assert_eq!(cfg.tsm_rtmr.unwrap().register, Path::new("/x/rtmr3"));
        assert!(!cfg.tsm_rtmr_default);
    }

    #[test]
    fn tsm_is_selected_by_flag_or_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("rasd.toml");
        std::fs::write(&f, "tee = \"tsm\"\ntsm_path = \"/emulated/tsm\"\n").unwrap();
        let cfg = Config::resolve(args(&["--config", f.to_str().unwrap()])).unwrap();
        assert_eq!((cfg.tee, cfg.tsm_path.as_path()), (TeeKind::Tsm, Path::new("/emulated/tsm")));
        let cfg = Config::resolve(args(&["--config", "/dev/null", "--tee", "tsm", "--tsm-path", "/x"])).unwrap();
        assert_eq!((cfg.tee, cfg.tsm_path.as_path()), (TeeKind::Tsm, Path::new("/x")));
        assert!(Config::resolve(args(&["--config", "/dev/null", "--tsm-path", "relative"])).is_err());
    }

    #[test]
    fn a_boolean_in_the_file_is_overridden_by_its_flag_either_way() {
        let d = tempfile::tempdir().unwrap();
        let (on, off) = (d.path().join("on.toml"), d.path().join("off.toml"));
        std::fs::write(&on, "auto_register = true\n").unwrap();
        std::fs::write(&off, "auto_register = false\n").unwrap();
        let resolve = |f: &Path, extra: &[&str]| {
            let mut a = vec!["--config", f.to_str().unwrap()];
            a.extend_from_slice(extra);
            Config::resolve(args(&a)).unwrap().auto_register
        };
        assert!(resolve(&on, &[]));
        assert!(!resolve(&on, &["--auto-register=false"]));
        assert!(resolve(&off, &["--auto-register"]));
        assert!(resolve(&off, &["--auto-register=true"]));
        assert!(!Config::resolve(args(&[])).unwrap().auto_register || Path::new(DEFAULT_CONFIG).exists());
        assert!(Args::try_parse_from(["rasd", "--auto-register=maybe"]).is_err());
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
        assert!(Config::resolve(args(&["--health-check", "10081"])).is_err());
        assert!(Config::resolve(args(&["--measure-file", "relative/path"])).is_err());
    }

    #[test]
    fn health_check_bounds() {
        assert_eq!(Config::resolve(args(&["--health-check", "-5"])).unwrap().health_check, None);
        assert_eq!(Config::resolve(args(&["--health-check", "0"])).unwrap().health_check, None);
        let week = Config::resolve(args(&["--health-check", "10080"])).unwrap().health_check;
        assert_eq!(week, Some(Duration::from_secs(10_080 * 60)));
    }

    #[test]
    fn per_container_files() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("rasd.toml");
        let text = "measure_files = [\"/etc/os-release\"]\n[container_measure_files]\nweb = [\"/app/conf\"]\n";
        std::fs::write(&f, text).unwrap();
        let cfg = Config::resolve(args(&["--config", f.to_str().unwrap()])).unwrap();
        assert_eq!(cfg.files_for("ab", Some("web")), vec!["/etc/os-release", "/app/conf"]);
        assert_eq!(cfg.files_for("ab", None), vec!["/etc/os-release"]);
    }
}
