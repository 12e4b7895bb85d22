//! `io.ras.Agent`: the in-container agent. `Serve` opens the stream rasd forwards challenges
//! on; `Respond` answers one, from any process of the same container. Both work out the
//! container from the kernel; the agent's own words are only checked, never used.

use std::sync::Arc;

use ras_proto::api::{AgentEvent, RespondParams, ServeParams};
use ras_proto::{Request, VarlinkError};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{check_assertion, identify, measure, resolve, Resolved};
use crate::agents::{AgentGuard, Answer};
use crate::dispatch::CallContext;

/// Largest workload claims object accepted, serialized.
const MAX_CLAIMS: usize = 16 * 1024;

/// An open Serve stream: the first event, the rest, and the registration's lifetime.
pub struct AgentStream<'a> {
    /// `ready`, sent first.
    pub ready: AgentEvent,
    /// Challenges and pings.
    pub events: mpsc::Receiver<AgentEvent>,
    /// Unregisters the agent when dropped.
    pub guard: AgentGuard<'a>,
}

/// `Serve`: registers the caller as its container's agent.
pub async fn serve<'a>(req: &Request, ctx: &'a CallContext) -> Result<AgentStream<'a>, VarlinkError> {
    let p: ServeParams = req.params()?;
    if !req.more {
        return Err(VarlinkError::expected_more());
    }
    let id = identify(ctx).await?;
    let resolved = resolve(ctx, &id).await?;
    check_assertion(p.container.as_deref(), &resolved)?;
    let Resolved::Container(reg) = resolved else {
        return Err(VarlinkError::permission_denied());
    };
    let (events, guard) = ctx.daemon.agents.attach(reg.container());
    info!(container = %reg.id, runtime = %reg.runtime, agent_pid = id.pid, exe = %id.exe, "agent connected");
    Ok(AgentStream { ready: AgentEvent { kind: "ready".into(), id: reg.id, nonce: None }, events, guard })
}

/// `Respond`: delivers an answer, after checking that the responder is in the challenge's
/// container. A response from another container leaves the challenge pending for the real
/// agent.
pub async fn respond(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: RespondParams = req.params()?;
    if p.claims.as_ref().is_some_and(|c| serde_json::to_vec(c).map_or(true, |v| v.len() > MAX_CLAIMS)) {
        return Err(VarlinkError::invalid_parameter("claims"));
    }
    let unknown = || VarlinkError::new("io.ras.Agent.UnknownChallenge", json!({ "id": p.id }));
    let identity = identify(ctx).await?;
    let resolved = resolve(ctx, &identity).await?;
    let Resolved::Container(reg) = &resolved else { return Err(VarlinkError::permission_denied()) };
    let target = ctx.daemon.agents.pending_container(&p.id).ok_or_else(unknown)?;
    if target != reg.container() {
        warn!(challenge_for = %target, responder = %reg.container(), "answer from another container; refused");
        return Err(VarlinkError::permission_denied());
    }
    let measurements = measure(ctx, Arc::clone(&ctx.peer), &resolved).await?;
    let answer = Answer { identity, measurements, claims: p.claims };
    if !ctx.daemon.agents.answer(&p.id, answer) {
        return Err(unknown());
    }
    Ok(json!({}))
}
