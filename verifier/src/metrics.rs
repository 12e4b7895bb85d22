//! `/metrics` in the Prometheus text format: attestations by outcome and failed check, their
//! latency, targets by state (read from the database at each scrape, so every replica reports
//! the fleet), secret releases by outcome and their latency, webhook deliveries.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::State;

/// Labels of an attestation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttestLabels {
    /// The state it led to.
    pub outcome: String,
    /// The first failed check, or empty.
    pub failed_check: String,
}

/// One label, `outcome` or `state`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    /// Its value.
    pub outcome: String,
}

/// Targets by state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// The state.
    pub state: String,
}

/// Every metric of a replica.
pub struct Metrics {
    registry: Registry,
    /// Attestations by outcome.
    pub attestations: Family<AttestLabels, Counter>,
    /// Challenge-to-verdict latency.
    pub attestation_seconds: Histogram,
    /// Targets by state.
    pub targets: Family<StateLabel, Gauge>,
    /// Secret releases by outcome.
    pub releases: Family<Outcome, Counter>,
    /// Release latency.
    pub release_seconds: Histogram,
    /// Webhook deliveries by outcome.
    pub webhooks: Family<Outcome, Counter>,
    /// Results discarded because another replica took the lease over.
    pub fenced: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ras_verifier");
        let attestations = Family::<AttestLabels, Counter>::default();
        registry.register(
            "attestations",
            "Attestations by outcome (the state reached) and first failed check",
            attestations.clone(),
        );
        let attestation_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register("attestation_seconds", "Challenge to verdict, per attestation", attestation_seconds.clone());
        let targets = Family::<StateLabel, Gauge>::default();
        registry.register("targets", "Targets by state, fleet-wide (from the database)", targets.clone());
        let releases = Family::<Outcome, Counter>::default();
        registry.register("releases", "Secret releases by outcome", releases.clone());
        let release_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register("release_seconds", "Secret release requests, evidence check to JWE", release_seconds.clone());
        let webhooks = Family::<Outcome, Counter>::default();
        registry.register("webhooks", "Webhook deliveries by outcome", webhooks.clone());
        let fenced = Counter::default();
        registry.register(
            "fenced",
            "Results discarded because the lease had passed to another replica",
            fenced.clone(),
        );
        Metrics { registry, attestations, attestation_seconds, targets, releases, release_seconds, webhooks, fenced }
    }
}

impl Metrics {
    /// Sets the targets gauge from the database's counts (states absent there read 0).
    pub fn set_targets(&self, counts: &[(State, i64)]) {
        for s in State::ALL {
            let n = counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
            self.targets.get_or_create(&StateLabel { state: s.as_str().into() }).set(n);
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
