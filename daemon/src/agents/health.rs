//! Health checks of agents (`--health-check MINUTES`): every period, each connected agent is
//! pinged down its stream and must answer within the challenge deadline. A dead agent is
//! dropped and its registration removed, and both are logged.

use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, warn};

use crate::agents::AgentKey;
use crate::daemon::Daemon;

/// Runs forever; spawn it only when health checks are on.
pub async fn run(daemon: Arc<Daemon>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        for c in daemon.agents.keys() {
            match daemon.agents.challenge(&c, None, daemon.config.challenge_timeout).await {
                Ok(_) => debug!(container = %c, "agent healthy"),
                Err(e) => {
                    warn!(container = %c, error = ?e, "agent failed its health check; dropping it and its registration");
                    daemon.agents.evict(&c);
                    if let AgentKey::Container(container) = &c {
                        // Only the instance that was pinged: a successor registered meanwhile stays.
                        let pid_ns = daemon.registry.get(container).map(|r| r.reg.pid_ns);
                        if let Err(e) = daemon.registry.remove(container, pid_ns) {
                            warn!(container = %c, cause = %e, "removing the registration failed");
                        }
                    }
                }
            }
        }
    }
}
