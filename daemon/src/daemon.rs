//! The state every connection shares ([`Daemon`]), opened once at start, and which socket a
//! connection came in on ([`SocketKind`]).

use std::sync::atomic::AtomicI64;

use std::os::unix::fs::MetadataExt;

use anyhow::Context;

use crate::agents::Agents;
use crate::ak::AkStore;
use crate::clock::unix_now;
use crate::config::{Config, TeeKind};
use crate::containers::registry::Registry;
use crate::identity::ExeCache;
use crate::quota::Quotas;
use crate::runtime_log::Logs;
use crate::tee::sim::SimTee;
use crate::tee::tsm::TsmTee;
use crate::tee::Tee;

/// Which socket a connection arrived on; it decides the interfaces served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `<runtime>/rasd.sock`: host workloads and administrators.
    Host,
    /// `<runtime>/container/rasd.sock`: bind-mounted into containers.
    Container,
    /// AF_VSOCK: agents in VM guests.
    Vsock,
}

impl SocketKind {
    /// The interfaces served on this socket, as `GetInfo` lists them. The container socket
    /// serves only container-scoped interfaces, and the vsock port only the agent's.
    pub fn interfaces(self) -> &'static [&'static str] {
        match self {
            SocketKind::Host => {
                &["org.varlink.service", "io.ras.Protocol", "io.ras.Attestation", "io.ras.Admin", "io.ras.Remote"]
            }
            SocketKind::Container => &["org.varlink.service", "io.ras.Protocol", "io.ras.Attestation", "io.ras.Agent"],
            SocketKind::Vsock => &["org.varlink.service", "io.ras.Protocol", "io.ras.Agent"],
        }
    }

    /// Name for logs.
    pub fn name(self) -> &'static str {
        match self {
            SocketKind::Host => "host",
            SocketKind::Container => "container",
            SocketKind::Vsock => "vsock",
        }
    }
}

/// Everything the daemon shares between connections.
pub struct Daemon {
    /// Resolved configuration.
    pub config: Config,
    /// The TEE backend.
    pub tee: Box<dyn Tee>,
    /// The attestation key.
    pub ak: AkStore,
    /// Executable digests.
    pub exe_cache: ExeCache,
    /// Group allowed to administer, besides root.
    pub admin_gid: Option<u32>,
    /// Group that owns the host socket.
    pub socket_gid: Option<u32>,
    /// Group allowed to send remote challenges, besides admins.
    pub remote_gid: Option<u32>,
    /// Registered containers.
    pub registry: Registry,
    /// Connected agents.
    pub agents: Agents,
    /// Runtime measurement logs.
    pub runtime_logs: Logs,
    /// Start time, seconds since the epoch.
    pub started_at: i64,
    /// Connections open now.
    pub connections: AtomicI64,
    /// Calls served since start.
    pub calls: AtomicI64,
    /// Calls being served now (agent streams excluded); shutdown waits for these.
    pub in_flight: AtomicI64,
    /// Inode of rasd's own pid namespace: host callers share it.
    pub own_pid_ns: u64,
    /// rasd's root directory (device, inode): host callers share it.
    pub own_root: (u64, u64),
    /// rasd's root directory, opened once: host files are measured through it.
    pub root_dir: std::fs::File,
    /// Per-container connection and call quotas.
    pub quotas: Quotas,
    /// The info-level trail of issued evidence.
    pub audit: crate::audit::Audit,
}

/// Looks up a group the operator named; a name that does not resolve is a configuration
/// error, never a silently root-only socket or an authorization rule that matches no one.
fn gid_of(option: &str, name: &str) -> anyhow::Result<u32> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => anyhow::bail!(
            "--{option} {name}: no such group; create it (systemd-sysusers ras.conf, or groupadd --system {name}) or name an existing group in --{option} or {key} in rasd.toml",
            key = option.replace('-', "_")
        ),
        Err(e) => anyhow::bail!("--{option} {name}: group lookup failed: {e}"),
    }
}

/// After a reset of the log PCR (a new boot) the runtime logs speak of a boot that is over:
/// they move to `runtime-log.boot-<time>`, and this boot's logs start empty.
fn put_runtime_logs_aside(state_dir: &std::path::Path) -> anyhow::Result<()> {
    let dir = state_dir.join("runtime-log");
    let empty = std::fs::read_dir(&dir).map(|mut d| d.next().is_none()).unwrap_or(true);
    if !empty {
        let aside = crate::state::unused_path(state_dir, &format!("runtime-log.boot-{}", unix_now()), "");
        std::fs::rename(&dir, &aside).with_context(|| format!("put {} aside", dir.display()))?;
        tracing::info!(aside = %aside.display(), "a new boot: the last boot's runtime logs are put aside");
    }
    Ok(())
}

impl Daemon {
    /// Opens the TEE and the AK (creating them at first start).
    pub fn open(config: Config) -> anyhow::Result<Self> {
        let tee: Box<dyn Tee> = match config.tee {
            TeeKind::Sim => Box::new(SimTee::open(&config.state_dir).context("open sim TEE")?),
            #[cfg(feature = "tpm")]
            TeeKind::Tpm => {
                Box::new(crate::tee::tpm::TpmTee::open(&config.state_dir, &config.tpm).context("open the TPM")?)
            }
            #[cfg(not(feature = "tpm"))]
            TeeKind::Tpm => anyhow::bail!(
                "--tee tpm: this rasd was built without TPM support; build it with `cargo build --features tpm` (needs Debian's libtss2-dev)"
            ),
            TeeKind::Tsm => {
                // The default RTMR3 path is absent on SEV-SNP and before Linux 6.16: the log
                // then stays unanchored, which verifiers see (no RTMR3 events with the log).
                let rtmr = config.tsm_rtmr.as_ref().filter(|r| {
                    let skip = config.tsm_rtmr_default && !r.register.exists();
                    if skip {
                        tracing::info!(path = %r.register.display(), "no TDX RTMR3: runtime logs are not anchored in hardware");
                    }
                    !skip
                });
                let anchor = rtmr.map(|r| (config.state_dir.as_path(), r));
                Box::new(TsmTee::open_anchored(&config.tsm_path, anchor, config.tpm.batch).context("open configfs-tsm TEE")?)
            }
        };
        let ak = AkStore::open(&config.state_dir, tee.as_ref()).context("open attestation key")?;
        let admin_gid = config.admin_group.as_deref().map(|g| gid_of("admin-group", g)).transpose()?;
        let remote_gid = config.remote_group.as_deref().map(|g| gid_of("remote-group", g)).transpose()?;
        let socket_gid = match config.socket_group.as_deref() {
            Some(g) if config.socket_group_explicit => Some(gid_of("socket-group", g)?),
            // The default group `ras` is used when it exists (sysusers creates it); without it
            // the host socket stays root-only, which is the safe side.
            Some(g) => nix::unistd::Group::from_name(g).ok().flatten().map(|g| g.gid.as_raw()),
            None => None,
        };
        let registry = Registry::open(&config.state_dir).context("load container registrations")?;
        let runtime_logs = match tee.log_anchor() {
            None => Logs::new(&config.state_dir),
            Some(anchor) => {
                if anchor.fresh_boot() {
                    put_runtime_logs_aside(&config.state_dir)?;
                }
                Logs::anchored(&config.state_dir, anchor.events_at_start())
            }
        }
        .context("open runtime logs")?;
        let own_pid_ns = std::fs::metadata("/proc/self/ns/pid").context("stat own pid namespace")?.ino();
        let root_dir = std::fs::File::open("/").context("open /")?;
        let root_meta = root_dir.metadata().context("stat /")?;
        let quotas = Quotas::new(config.max_container_connections, config.max_container_calls);
        Ok(Daemon {
            config,
            tee,
            ak,
            exe_cache: ExeCache::default(),
            admin_gid,
            remote_gid,
            socket_gid,
            registry,
            agents: Agents::default(),
            runtime_logs,
            started_at: unix_now(),
            connections: AtomicI64::new(0),
            calls: AtomicI64::new(0),
            in_flight: AtomicI64::new(0),
            own_pid_ns,
            own_root: (root_meta.dev(), root_meta.ino()),
            root_dir,
            quotas,
            audit: Default::default(),
        })
    }
}
