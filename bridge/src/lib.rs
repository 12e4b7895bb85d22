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
    init_logging();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start runtime")?;
    rt.block_on(async move {
        let listeners = listener::open(&cfg).await?;
        if nix_is_root() {
            warn!("running as root; ras-bridge needs no privileges (run it as an unprivileged user)");
        }
        let cfg = Arc::new(cfg);
        let limits = Arc::new(listener::Limits::new(&cfg));
        let mut tasks = Vec::new();
        for l in listeners {
            info!(listen = %l.describe(), "listening");
            tasks.push(tokio::spawn(listener::accept_loop(l, cfg.clone(), limits.clone())));
        }
        info!(daemon = %cfg.daemon.display(), "ras-bridge ready");
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("SIGTERM handler")?;
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT: stopping"),
        }
        tasks.iter().for_each(|t| t.abort());
        Ok(())
    })
}

fn nix_is_root() -> bool {
    sys::euid() == 0
}

fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAS_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
