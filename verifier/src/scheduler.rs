//! The attestation loop of one replica: claim due targets (as many as there are free slots of
//! `--concurrency`), attest each on its own task, record the round under the lease, and on a
//! change of state log it and notify the webhooks. Each target's next round is due one
//! interval later, with up to a tenth of it as random jitter so a fleet registered at once
//! spreads out.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tracing::{debug, info, warn};

use crate::app::App;
use crate::attest::{attest, now_ms};
use crate::metrics::AttestLabels;
use crate::store::{Claimed, State};
use crate::webhook::Change;

/// How often the loop looks for due targets when nothing wakes it.
const POLL: Duration = Duration::from_millis(250);

/// Runs until `stop` is notified; then waits for rounds in flight and gives up the leases.
pub async fn run(app: Arc<App>, stop: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(app.concurrency));
    let mut last_prune = 0;
    loop {
        let free = slots.available_permits();
        if free > 0 {
            let now = now_ms();
            match app.store.claim(&app.replica, now, app.lease.as_millis() as i64, free as i64).await {
                Ok(claimed) => {
                    for c in claimed {
                        let permit = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
                        let app = app.clone();
                        tokio::spawn(async move {
                            one(&app, c).await;
                            drop(permit);
                            // A free slot: look for due targets now, not at the next poll
                            // (which would cap a replica at --concurrency per POLL).
                            app.wake.notify_one();
                        });
                    }
                }
                Err(e) => warn!("claiming due targets: {e}"),
            }
            if now - last_prune > 60_000 {
                last_prune = now;
                if let Err(e) = app.store.prune(now).await {
                    warn!("pruning used challenges: {e}");
                }
            }
        }
        tokio::select! {
            _ = stop.notified() => break,
            _ = app.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    // Rounds in flight finish (each is bounded by --timeout), then the leases go.
    let _ = slots.acquire_many(app.concurrency as u32).await;
    match app.store.release_leases(&app.replica).await {
        Ok(n) => info!("stopped; released {n} leases"),
        Err(e) => warn!("stopping: could not release leases (they expire by themselves): {e}"),
    }
}

/// A random jitter of up to a tenth of `interval_ms`.
fn jitter(interval_ms: i64) -> i64 {
    let mut b = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    let span = (interval_ms / 10).max(1) as u64;
    (u64::from_le_bytes(b) % span) as i64
}

/// One round of one claimed target.
async fn one(app: &App, claimed: Claimed) {
    let mut a = attest(&app.checker, &claimed.spec, app.timeout).await;
    a.round = claimed.round;
    a.replica = app.replica.clone();
    let next_due = a.time + claimed.spec.interval_ms + jitter(claimed.spec.interval_ms);
    app.metrics.attestation_seconds.observe(a.latency_us as f64 / 1e6);
    match app.store.record(&app.replica, &claimed, &a, next_due).await {
        Ok(true) => {}
        Ok(false) => {
            app.metrics.fenced.inc();
            warn!(
                "{} round {}: the lease passed to another replica; result discarded",
                claimed.spec.name, claimed.round
            );
            return;
        }
        Err(e) => {
            warn!("{} round {}: not recorded: {e}", claimed.spec.name, claimed.round);
            return;
        }
    }
    app.metrics
        .attestations
        .get_or_create(&AttestLabels {
            outcome: a.state.as_str().into(),
            failed_check: a.failed_check.clone().unwrap_or_default(),
        })
        .inc();
    let why = a.reason.as_deref().unwrap_or("");
    if claimed.state == a.state {
        debug!(target = %claimed.spec.name, round = a.round, state = a.state.as_str(), "attested");
        return;
    }
    let check = a.failed_check.as_deref().map_or(String::new(), |c| format!(" (the {c} check)"));
    match a.state {
        State::Trusted => info!("{} is now trusted (was {})", claimed.spec.name, claimed.state.as_str()),
        _ => warn!("{} is now {} (was {}){check}: {why}", claimed.spec.name, a.state.as_str(), claimed.state.as_str()),
    }
    app.webhooks.send(Change {
        target: claimed.spec.name.clone(),
        from: claimed.state,
        to: a.state,
        time: a.time,
        round: a.round,
        failed_check: a.failed_check.clone(),
        reason: a.reason.clone(),
        replica: app.replica.clone(),
    });
}
