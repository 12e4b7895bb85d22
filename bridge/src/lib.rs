//! ras-bridge: the unprivileged front door of rasd for remote verifiers, on TCP and AF_VSOCK.
//!
//! It copies no bytes blindly: every message is framed and parsed into a typed call, only
//! `io.ras.Remote` and `org.varlink.service` are served (the latter answered locally, listing
//! only those), and a challenge is forwarded to rasd with the remote peer's address filled in
//! by the bridge. Every remote input is bounded: total connections, connections per source,
//! the time a message may take to arrive, the time a call may take, and the message size.
//!
//! # Layout
//! - [`config`]: flags and listen addresses.
//! - [`listener`]: listeners (bound or socket-activated) and the connection limits.
//! - [`session`]: one remote connection, generic over the stream type.
//! - [`upstream`]: the connection to rasd, re-established after a rasd restart.
//!
//! Framing, `org.varlink.service`, logging, activation and the lifecycle are the server
//! core's (`ras-server`), shared with rasd.

#![deny(unsafe_code)]

pub mod config;
pub mod listener;
pub mod session;
pub mod upstream;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;
use ras_server::lifecycle::{self, Lifecycle};
use ras_server::{activation, logging};
use tracing::{info, warn};

/// Runs the bridge until SIGTERM or SIGINT.
pub fn run(args: config::Args) -> anyhow::Result<()> {
    // Before any thread exists (see ras_server::activation).
    let activated = activation::take().context("adopt socket-activated fds")?;
    let cfg = config::Config::resolve(args)?;
    if let Some(note) = logging::init(cfg.log, "ras-bridge") {
        warn!("{note}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start runtime")?;
    rt.block_on(async move {
        let listeners = listener::open(&cfg, activated).await?;
        if lifecycle::running_as_root() {
            warn!("running as root; ras-bridge needs no privileges (run it as an unprivileged user)");
        }
        let mut life = Lifecycle::install().context("SIGTERM handler")?;
        let cfg = Arc::new(cfg);
        let limits = Arc::new(listener::Limits::new(&cfg));
        let mut tasks = Vec::new();
        for l in listeners {
            info!(listen = %l.describe(), "listening");
            tasks.push(tokio::spawn(listener::accept_loop(l, cfg.clone(), limits.clone())));
        }
        // Say at start whether rasd answers, so a wrong --daemon or a missing group shows in
        // `systemctl status ras-bridge` before the first verifier's challenge fails.
        match tokio::net::UnixStream::connect(&cfg.daemon).await {
            Ok(_) => info!(daemon = %cfg.daemon.display(), "ras-bridge ready; rasd is reachable"),
            Err(e) => tracing::warn!(
                daemon = %cfg.daemon.display(),
                cause = %e,
                "ras-bridge ready, but rasd is not reachable: challenges fail with io.ras.Remote.Unavailable until it is \
                 (start rasd.socket; the bridge's user must be in the socket's group)"
            ),
        }
        tasks.extend(life.ready());
        life.stopped().await;
        // Stop accepting; let forwarded calls finish, within a bound.
        tasks.iter().for_each(|t| t.abort());
        lifecycle::drain(|| session::IN_FLIGHT.load(Ordering::Acquire) as u64).await;
        Ok(())
    })
}
