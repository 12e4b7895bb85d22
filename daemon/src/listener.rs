//! The sockets (socket-activated or bound here), accepting within the connection bound, and
//! the daemon's lifetime: readiness and watchdog notifications, signals, and a shutdown that
//! lets calls in flight finish within a bound.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use tracing::{debug, error, info, warn, Instrument};

use crate::agents::health;
use crate::config::{Args, Config};
use crate::daemon::{Daemon, SocketKind};
use crate::subject::Origin;
use crate::workers::Workers;
use crate::{connection, containers, state, sys};
use ras_server::activation::{self, Activated};
use ras_server::lifecycle::{self, Lifecycle};
use ras_server::logging;

/// Who may own the path a socket is bound at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The host socket: a live socket there is another rasd, and rasd refuses to start.
    Exclusive,
    /// The container socket: containers can reach its directory, so whatever is there (an
    /// impostor's socket, a file) is replaced. The host socket decides whether another rasd
    /// runs.
    Replace,
}

/// Binds a socket at `path` with `mode`, with `SO_PASSCRED` so that every message carries
/// its writer's pid. A stale socket file is replaced; a live one only under [`Claim::Replace`].
pub fn bind(path: &Path, mode: u32, gid: Option<u32>, claim: Claim) -> anyhow::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_dir() {
            if claim == Claim::Exclusive {
                bail!("{} is a directory, not a socket", path.display());
            }
            // Someone made a directory where the container socket belongs: move it aside
            // (never delete what may hold someone's files) and take the path back.
            let aside = path.with_extension(format!("displaced-{}", crate::clock::unix_now()));
            warn!(socket = %path.display(), to = %aside.display(), "a directory took the container socket's place; moving it aside");
            std::fs::rename(path, &aside).with_context(|| format!("move {} aside", path.display()))?;
        } else {
            if claim == Claim::Exclusive && !meta.file_type().is_socket() {
                bail!("{} exists and is not a socket", path.display());
            }
            let live = meta.file_type().is_socket() && std::os::unix::net::UnixStream::connect(path).is_ok();
            if live && claim == Claim::Exclusive {
                bail!("{} is in use by another daemon", path.display());
            }
            if live || !meta.file_type().is_socket() {
                warn!(socket = %path.display(), "something else held this socket path; replacing it");
            }
            std::fs::remove_file(path).with_context(|| format!("remove stale socket {}", path.display()))?;
        }
    }
    let listener = UnixListener::bind(path).with_context(|| format!("bind {}", path.display()))?;
    sys::set_passcred(&listener).with_context(|| format!("SO_PASSCRED on {}", path.display()))?;
    sys::refuse_passed_fds(&listener).with_context(|| format!("SO_PASSRIGHTS on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid)).with_context(|| format!("chgrp {}", path.display()))?;
    }
    Ok(listener)
}

/// How often rasd checks that the container socket's path still names its own socket.
const SOCKET_CHECK: Duration = Duration::from_secs(1);

/// A path's (device, inode), without following a symlink.
fn path_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Accepts connections until the task is dropped, at most `max` served at once. With
/// `guard`, the path the listener is bound at is checked every second: when it was removed or
/// replaced (a container that could write the socket directory), rasd binds it anew.
pub async fn accept_loop(
    listener: UnixListener,
    kind: SocketKind,
    daemon: Arc<Daemon>,
    workers: Arc<Workers>,
    guard: Option<PathBuf>,
) {
    let limit = Arc::new(Semaphore::new(daemon.config.max_connections));
    let mut listener = listener;
    let mut known = guard.as_deref().and_then(path_id);
    let mut tick = tokio::time::interval(SOCKET_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Waiting for a permit before accepting leaves excess callers in the kernel's backlog
        // instead of holding their fds.
        let permit = limit.clone().acquire_owned().await.expect("semaphore never closed");
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => workers.serve(stream, kind, permit),
                Err(e) => {
                    error!(cause = %e, socket = kind.name(), "accept failed");
                    // EMFILE and friends: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            _ = tick.tick(), if guard.is_some() => {
                let path = guard.as_deref().expect("guarded");
                if known.is_some() && path_id(path) == known {
                    continue;
                }
                warn!(socket = %path.display(), "the container socket was removed or replaced; binding it again");
                match bind(path, 0o666, None, Claim::Replace) {
                    Ok(l) => {
                        listener = l;
                        known = path_id(path);
                        info!(socket = %path.display(), "container socket repaired");
                    }
                    Err(e) => error!(cause = %format!("{e:#}"), socket = %path.display(), "repairing the container socket failed"),
                }
            }
        }
    }
}

/// Accepts VM agents over AF_VSOCK. The peer CID comes from the kernel at accept, so it is the
/// guest's identity; CIDs 0 to 2 (hypervisor, local, host) are not guests and are refused.
/// One org.varlink.service.GetInfo on a fresh connection to the host socket: proof that the
/// accept loop takes connections and calls are served. Without a path (an abstract or
/// unnamed socket), only the runtime's liveness is proven.
async fn self_probe(path: Option<PathBuf>) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    let stream =
        tokio::net::UnixStream::connect(&path).await.map_err(|e| format!("connect {}: {e}", path.display()))?;
    let mut client = ras_proto::client::Client::new(stream);
    client.call(&ras_proto::api::service::GetInfo {}).await.map(drop).map_err(|e| format!("GetInfo: {e}"))
}

/// Keeps `systemctl status rasd` telling what rasd is doing, every few seconds.
async fn report_status(daemon: Arc<Daemon>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        lifecycle::status(&format!(
            "serving: {} containers registered, {} agents connected, {} connections open, {} calls since start",
            daemon.registry.len(),
            daemon.agents.count(),
            daemon.connections.load(Ordering::Relaxed),
            daemon.calls.load(Ordering::Relaxed),
        ));
    }
}

/// Explains a failed AF_VSOCK bind in the operator's terms. EAFNOSUPPORT is what both a kernel
/// without a vsock transport and rasd.service's `RestrictAddressFamilies=AF_UNIX` return.
fn vsock_bind_error(port: u32, e: std::io::Error) -> anyhow::Error {
    if e.raw_os_error() == Some(libc::EAFNOSUPPORT) {
        anyhow::anyhow!(
            "vsock_agent_port {port}: AF_VSOCK is not available to rasd ({e}). Under systemd, rasd.service \
             allows only AF_UNIX: install /usr/share/ras/rasd-vsock.conf as \
             /etc/systemd/system/rasd.service.d/vsock.conf (rasd(8), VM AGENTS). Otherwise the kernel has \
             no vsock transport (modprobe vhost_vsock on a VM host), or unset vsock_agent_port"
        )
    } else {
        anyhow::Error::new(e).context(format!("bind vsock:any:{port} for VM agents"))
    }
}

async fn vsock_accept_loop(listener: tokio_vsock::VsockListener, daemon: Arc<Daemon>) {
    let limit = Arc::new(Semaphore::new(daemon.config.max_connections));
    loop {
        let permit = limit.clone().acquire_owned().await.expect("semaphore never closed");
        match listener.accept().await {
            Ok((stream, addr)) if addr.cid() > 2 => {
                let daemon = daemon.clone();
                let span = tracing::info_span!("conn", socket = "vsock", peer_cid = addr.cid());
                tokio::spawn(
                    async move {
                        // Each guest has a fixed share of the port's connections and calls, as each
                        // container has on the container socket: one guest cannot take them all.
                        let bucket = crate::quota::Bucket::Vm(addr.cid());
                        let Some(slot) = daemon.quotas.connect(&bucket) else {
                            let max = daemon.quotas.max_connections();
                            info!(guest = %bucket, max, "guest holds its share of connections; closing the new one");
                            return;
                        };
                        let d = daemon.clone();
                        connection::serve_stream(stream, Origin::Vm(addr.cid()), SocketKind::Vsock, d, Some(&slot))
                            .await;
                        drop(slot);
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
            Ok((_, addr)) => warn!(cid = addr.cid(), "vsock connection from a non-guest CID refused"),
            Err(e) => {
                error!(cause = %e, "vsock accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Runs rasd until SIGTERM or SIGINT.
pub fn run(args: Args) -> anyhow::Result<()> {
    // Before any thread exists (see ras_server::activation).
    let activated = activation::take().context("adopt socket-activated fds")?;
    let config = Config::resolve(args)?;
    if let Some(note) = logging::init(config.log, "rasd") {
        warn!("{note}");
    }
    match crate::sys::raise_nofile_limit() {
        Ok(n) => debug!(max_open_files = n, "open-file limit"),
        Err(e) => warn!(cause = %e, "cannot raise the open-file limit; many agents may exhaust it"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start runtime")?;
    runtime.block_on(serve(config, activated))
}

/// The two listeners: from socket activation (fd names `host` and `container`; a single fd
/// of any other name is the host socket) or bound here.
fn sockets(daemon: &Daemon, activated: Vec<Activated>) -> anyhow::Result<(UnixListener, UnixListener, Vec<PathBuf>)> {
    let mut host = None;
    let mut container = None;
    let single = activated.len() == 1;
    for Activated { fd, name } in activated {
        let std = std::os::unix::net::UnixListener::from(fd);
        std.set_nonblocking(true).context("activated socket")?;
        sys::set_passcred(&std).context("SO_PASSCRED on an activated socket")?;
        sys::refuse_passed_fds(&std).context("SO_PASSRIGHTS on an activated socket")?;
        let l = UnixListener::from_std(std).context("activated socket")?;
        match name.as_str() {
            "container" => container = Some(l),
            "host" => host = Some(l),
            _ if single => host = Some(l),
            other => bail!("socket-activated fd named {other:?}: expected \"host\" and \"container\""),
        }
    }
    // Sockets bound here are removed at exit; activated ones belong to systemd.
    let mut owned = Vec::new();
    let host = match host {
        Some(l) => l,
        None => {
            let path = daemon.config.host_socket();
            let l = bind(&path, 0o660, daemon.socket_gid, Claim::Exclusive)?;
            owned.push(path);
            l
        }
    };
    let container = match container {
        Some(l) => l,
        None => {
            let dir = daemon.config.container_dir();
            // The directory is the bind-mount point: create it once, never remove or replace
            // it, so containers started earlier see the new socket after a restart.
            state::ensure_dir(&dir, 0o755).with_context(|| format!("create {}", dir.display()))?;
            let path = dir.join("rasd.sock");
            // 0666: containers with user-namespace remapping must reach it; who may do what is
            // decided per connection from the kernel identity.
            let l = bind(&path, 0o666, None, Claim::Replace)?;
            owned.push(path);
            l
        }
    };
    Ok((host, container, owned))
}

async fn serve(config: Config, activated: Vec<Activated>) -> anyhow::Result<()> {
    state::ensure_dir(&config.state_dir, 0o700).with_context(|| format!("create {}", config.state_dir.display()))?;
    state::ensure_dir(&config.runtime_dir, 0o755)
        .with_context(|| format!("create {}", config.runtime_dir.display()))?;
    // Before anything is announced: a SIGTERM right after READY must not be lost.
    let mut life = Lifecycle::install().context("SIGTERM handler")?;
    let daemon = Arc::new(Daemon::open(config)?);
    // The host socket first: it alone decides whether another rasd runs.
    let (host, container, owned) = sockets(&daemon, activated)?;
    // The watchdog asks rasd itself, through the host socket, as any caller would.
    let probe_path = host.local_addr().ok().and_then(|a| a.as_pathname().map(Path::to_path_buf));
    let container_path = daemon.config.container_dir().join("rasd.sock");
    containers::restore(&daemon).await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let d = daemon.clone();
    let workers = Arc::new(Workers::start(cores, move |stream, kind| connection::serve(stream, kind, d.clone()))?);
    let mut tasks = vec![
        tokio::spawn(accept_loop(host, SocketKind::Host, daemon.clone(), workers.clone(), None)),
        tokio::spawn(accept_loop(container, SocketKind::Container, daemon.clone(), workers, Some(container_path))),
    ];
    if let Some(port) = daemon.config.vsock_agent_port {
        let l = tokio_vsock::VsockListener::bind(tokio_vsock::VsockAddr::new(libc::VMADDR_CID_ANY, port))
            .map_err(|e| vsock_bind_error(port, e))?;
        info!(port, "listening for VM agents on AF_VSOCK");
        tasks.push(tokio::spawn(vsock_accept_loop(l, daemon.clone())));
    }
    if let Some(period) = daemon.config.health_check {
        info!(period_secs = period.as_secs(), "agent health checks on");
        tasks.push(tokio::spawn(health::run(daemon.clone(), period)));
    }
    info!(
        runtime_dir = %daemon.config.runtime_dir.display(),
        tee = daemon.tee.kind(),
        ak_mode = daemon.ak.mode(),
        ak = %daemon.ak.fingerprint(),
        "rasd ready"
    );
    tasks.extend(life.ready_probed(move || self_probe(probe_path.clone())));
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        tasks.push(tokio::spawn(report_status(daemon.clone())));
    }
    life.stopped().await;
    for t in &tasks {
        t.abort();
    }
    // Calls in flight finish, within a bound; new connections are no longer accepted.
    lifecycle::drain(|| daemon.in_flight.load(Ordering::Acquire).max(0) as u64).await;
    for path in owned {
        if let Err(e) = std::fs::remove_file(&path) {
            warn!(cause = %e, socket = %path.display(), "remove socket");
        }
    }
    Ok(())
}
