//! Binding the sockets, accepting within the connection bound, and the daemon's lifetime:
//! start-up, signal handling and shutdown.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use tracing::{error, info, warn};

use crate::config::{Args, Config};
use crate::{connection, containers, health, state, Daemon, SocketKind};

/// Binds a socket at `path` with `mode`, replacing a stale socket file but never a live one.
pub fn bind(path: &Path, mode: u32, gid: Option<u32>) -> anyhow::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!("{} exists and is not a socket", path.display());
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("{} is in use by another daemon", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("remove stale socket {}", path.display()))?;
    }
    let listener = UnixListener::bind(path).with_context(|| format!("bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid)).with_context(|| format!("chgrp {}", path.display()))?;
    }
    Ok(listener)
}

/// Accepts connections until the task is dropped, at most `max` served at once.
pub async fn accept_loop(listener: UnixListener, kind: SocketKind, daemon: Arc<Daemon>) {
    let limit = Arc::new(Semaphore::new(daemon.config.max_connections));
    loop {
        // Waiting for a permit before accepting leaves excess callers in the kernel's backlog
        // instead of holding their fds.
        let permit = limit.clone().acquire_owned().await.expect("semaphore never closed");
        match listener.accept().await {
            Ok((stream, _)) => {
                let daemon = daemon.clone();
                tokio::spawn(async move {
                    connection::serve(stream, kind, daemon).await;
                    drop(permit);
                });
            }
            Err(e) => {
                error!(cause = %e, socket = kind.name(), "accept failed");
                // EMFILE and friends: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Runs rasd until SIGTERM or SIGINT.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::resolve(args)?;
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start runtime")?;
    runtime.block_on(serve(config))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAS_LOG").unwrap_or_else(|_| "info".into());
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(config: Config) -> anyhow::Result<()> {
    state::ensure_dir(&config.state_dir, 0o700).with_context(|| format!("create {}", config.state_dir.display()))?;
    state::ensure_dir(&config.runtime_dir, 0o755)
        .with_context(|| format!("create {}", config.runtime_dir.display()))?;
    let daemon = Arc::new(Daemon::open(config)?);
    let host_path: PathBuf = daemon.config.host_socket();
    let host = bind(&host_path, 0o660, daemon.socket_gid)?;
    info!(
        socket = %host_path.display(),
        tee = daemon.tee.kind(),
        ak_mode = daemon.ak.mode(),
        ak = %daemon.ak.fingerprint(),
        "rasd ready"
    );
    let container_dir = daemon.config.container_dir();
    // The directory is the bind-mount point: create it once, never remove or replace it, so
    // containers started earlier see the new socket after a restart.
    state::ensure_dir(&container_dir, 0o755).with_context(|| format!("create {}", container_dir.display()))?;
    let container_path = container_dir.join("rasd.sock");
    // 0666: containers with user-namespace remapping must reach it; who may do what is
    // decided per connection from the kernel identity.
    let container = bind(&container_path, 0o666, None)?;
    info!(socket = %container_path.display(), "container socket ready");
    containers::restore(&daemon).await;
    let mut tasks = vec![
        tokio::spawn(accept_loop(host, SocketKind::Host, daemon.clone())),
        tokio::spawn(accept_loop(container, SocketKind::Container, daemon.clone())),
    ];
    if let Some(period) = daemon.config.health_check {
        info!(period_secs = period.as_secs(), "agent health checks on");
        tasks.push(tokio::spawn(health::run(daemon.clone(), period)));
    }

    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => info!("SIGINT: stopping"),
    }
    for t in &tasks {
        t.abort();
    }
    for path in [&host_path, &container_path] {
        if let Err(e) = std::fs::remove_file(path) {
            warn!(cause = %e, socket = %path.display(), "remove socket");
        }
    }
    Ok(())
}
