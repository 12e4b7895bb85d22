//! ras-bridge: the unprivileged front door of rasd for remote verifiers, on TCP and AF_VSOCK.
//!
//! It copies no bytes blindly: every message is framed and parsed, only `io.ras.Remote` and
//! `org.varlink.service` are served (the latter answered locally, listing only those), and a
//! challenge is forwarded to rasd with the remote peer's address filled in by the bridge.
//! Every remote input is bounded: total connections, connections per source, the time a
//! message may take to arrive, the time a call may take, and the message size.
//!
//! # Layout
//! - [`config`]: flags and listen addresses.
//! - [`listener`]: listeners (bound or socket-activated) and the connection limits.
//! - [`session`]: one remote connection, generic over the stream type.
//! - [`upstream`]: the connection to rasd, re-established after a rasd restart.
//! - `sys`: socket activation (the only `unsafe`).

#![deny(unsafe_code)]

pub mod config;
pub mod listener;
mod logging;
pub mod session;
#[allow(unsafe_code)]
mod sys;
pub mod upstream;

use std::sync::Arc;

use anyhow::Context;
use tracing::{info, warn};

/// Runs the bridge until SIGTERM or SIGINT.
pub fn run(args: config::Args) -> anyhow::Result<()> {
    let cfg = config::Config::resolve(args)?;
    if let Some(note) = logging::init(cfg.log) {
        warn!("{note}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start runtime")?;
    rt.block_on(async move {
        let listeners = listener::open(&cfg).await?;
        if nix_is_root() {
            warn!("running as root; ras-bridge needs no privileges (run it as an unprivileged user)");
        }
        // Before anything is announced: a SIGTERM right after "ready" must not be lost.
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("SIGTERM handler")?;
        let cfg = Arc::new(cfg);
        let limits = Arc::new(listener::Limits::new(&cfg));
        let mut tasks = Vec::new();
        for l in listeners {
            info!(listen = %l.describe(), "listening");
            tasks.push(tokio::spawn(listener::accept_loop(l, cfg.clone(), limits.clone())));
        }
        info!(daemon = %cfg.daemon.display(), "ras-bridge ready");
        notify(&[sd_notify::NotifyState::Ready]);
        if let Some(interval) = sd_notify::watchdog_enabled() {
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval / 2);
                loop {
                    tick.tick().await;
                    notify(&[sd_notify::NotifyState::Watchdog]);
                }
            }));
        }
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT: stopping"),
        }
        notify(&[sd_notify::NotifyState::Stopping]);
        // Stop accepting; let forwarded calls finish, within a bound.
        tasks.iter().for_each(|t| t.abort());
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while session::IN_FLIGHT.load(std::sync::atomic::Ordering::Acquire) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok(())
    })
}

fn nix_is_root() -> bool {
    sys::euid() == 0
}

/// Tells systemd our state; outside systemd this does nothing.
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        warn!(cause = %e, "sd_notify failed");
    }
}
