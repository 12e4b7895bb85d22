//! ras-verifier, the relying party of ras: it keeps attesting a fleet of targets through
//! their ras-bridges, decides with Rego policy, records state in SQLite or PostgreSQL, and
//! releases secrets (as JWE) to workloads whose evidence passes.
//!
//! # Layout
//! - [`config`]: the command line and what it resolves to (checked at start).
//! - [`store`]: the database (sqlx; leases and fencing for several replicas).
//! - [`attest`]: one round for one target; [`scheduler`]: the loop that claims due targets.
//! - [`challenge`]: stateless secret-release challenges.
//! - [`api`]: the HTTP API; [`listener`]: plain or TLS; [`app`]: what they share.
//! - [`metrics`]: Prometheus; [`webhook`]: state-change notifications.
//!
//! The checks themselves are `ras-evidence`'s, the same code `rasctl verify` runs.

pub mod api;
pub mod app;
pub mod attest;
pub mod challenge;
pub mod config;
pub mod listener;
pub mod metrics;
pub mod scheduler;
pub mod store;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::app::App;
use crate::attest::Checker;
use crate::challenge::Challenges;
use crate::config::Cli;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::webhook::Webhooks;

/// Secret releases verified at once per replica.
const RELEASES_AT_ONCE: usize = 32;

/// Runs a replica until SIGTERM or SIGINT.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Everything a flag names is read before anything is served.
    let anchors = cli.trust_anchors()?;
    let token = cli.admin_token()?;
    let tls = cli.tls()?;
    let webhooks =
        cli.webhook.iter().map(|u| webhook::parse_url(u)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
    if cli.lease <= cli.timeout + 2 {
        anyhow::bail!(
            "--lease {} must be longer than --timeout {} plus two seconds, or rounds outlive their leases",
            cli.lease,
            cli.timeout
        );
    }
    let url = cli.database_url()?;
    let store = Store::open(&url).await.with_context(|| format!("open the database ({})", redact(&url)))?;
    let key = store.challenge_key().await.context("the shared challenge key")?;
    let metrics = Arc::new(Metrics::default());
    let app = Arc::new(App {
        checker: Checker {
            anchors: Arc::new(anchors),
            allow_sim: cli.allow_sim,
            allow_unappraised: cli.allow_unappraised,
        },
        webhooks: Webhooks::start(webhooks, metrics.clone()),
        metrics,
        replica: cli.replica_name(),
        concurrency: cli.concurrency as usize,
        lease: Duration::from_secs(cli.lease.into()),
        timeout: Duration::from_secs(cli.timeout.into()),
        challenges: Challenges::new(&key),
        challenge_ttl: Duration::from_secs(cli.challenge_ttl.into()),
        admin_token_sha256: ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .expect("32 bytes"),
        max_targets: cli.max_targets,
        wake: Notify::new(),
        release_slots: tokio::sync::Semaphore::new(RELEASES_AT_ONCE),
        store,
    });
    let mut lifecycle = ras_server::lifecycle::Lifecycle::install().context("install the SIGTERM handler")?;
    let tcp = tokio::net::TcpListener::bind(cli.listen).await.with_context(|| format!("--listen {}", cli.listen))?;
    let local = tcp.local_addr()?;
    let stop = Arc::new(Notify::new());
    let scheduler = tokio::spawn(scheduler::run(app.clone(), stop.clone()));
    let router = api::router(app.clone());
    let (quit_tx, quit_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = quit_rx.await;
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match tls {
        Some(config) => {
            let listener = listener::TlsListener::new(tcp, config)?;
            tokio::spawn(async move { axum::serve(listener, router).with_graceful_shutdown(shutdown).await })
        }
        None => tokio::spawn(async move { axum::serve(tcp, router).with_graceful_shutdown(shutdown).await }),
    };
    info!(
        "ras-verifier {} serving {scheme}://{local} as replica {} on {:?} ({})",
        env!("CARGO_PKG_VERSION"),
        app.replica,
        app.store.backend(),
        redact(&url)
    );
    let _watchdog = lifecycle.ready();
    lifecycle.stopped().await;
    stop.notify_one();
    let _ = quit_tx.send(());
    if tokio::time::timeout(api::DRAIN, server).await.is_err() {
        warn!("requests still in flight after {:?}; stopping anyway", api::DRAIN);
    }
    let _ = tokio::time::timeout(app.timeout + Duration::from_secs(1), scheduler).await;
    Ok(())
}

/// A database URL without its password (user info or a `password=` parameter), for logs.
pub fn redact(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = base[s + 3..at].split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &base[..s + 3], &base[at..])
        }
        _ => base.to_string(),
    };
    match query {
        None => base,
        Some(q) => {
            let q: Vec<String> =
                q.split('&')
                    .map(|kv| {
                        if kv.to_ascii_lowercase().starts_with("password=") {
                            "password=***".into()
                        } else {
                            kv.into()
                        }
                    })
                    .collect();
            format!("{base}?{}", q.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(super::redact("postgres://ras:s3cret@db:5432/ras"), "postgres://ras:***@db:5432/ras");
        assert_eq!(super::redact("sqlite:///var/lib/x.db?mode=rwc"), "sqlite:///var/lib/x.db?mode=rwc");
        assert_eq!(super::redact("postgres://db/ras?user=r&password=p"), "postgres://db/ras?user=r&password=***");
    }
}
