//! What every part of a running replica shares: the store, the checker, metrics, webhooks,
//! challenges and its settings.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::attest::Checker;
use crate::challenge::Challenges;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::webhook::Webhooks;

/// A replica's shared state.
pub struct App {
    /// The database.
    pub store: Store,
    /// Trust anchors and TEE options.
    pub checker: Checker,
    /// Counters and histograms.
    pub metrics: Arc<Metrics>,
    /// State-change notifications.
    pub webhooks: Webhooks,
    /// This replica's name in leases.
    pub replica: String,
    /// Attestations in flight at once.
    pub concurrency: usize,
    /// Lease length.
    pub lease: Duration,
    /// Per-attestation deadline.
    pub timeout: Duration,
    /// Secret-release challenges.
    pub challenges: Challenges,
    /// Their lifetime.
    pub challenge_ttl: Duration,
    /// SHA-256 of the admin token.
    pub admin_token_sha256: [u8; 32],
    /// `--max-targets`.
    pub max_targets: u32,
    /// Wakes the scheduler (a target was added).
    pub wake: Notify,
    /// Secret releases being verified at once; more get 429.
    pub release_slots: tokio::sync::Semaphore,
}
