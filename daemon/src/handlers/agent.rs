//! `io.ras.Agent`: the agent in a container or a VM guest. `Serve` opens the stream rasd
//! forwards challenges on; `Respond` answers one, from any process of the same container (or
//! the same CID). Both work out who is answering from the kernel; the agent's own words are
//! only checked, never used.

use ras_proto::api::{AgentEvent, RespondParams, ServeParams};
use ras_proto::{Request, VarlinkError};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{check_assertion, measure, resolve_origin, Resolved};
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
    let (id, resolved) = resolve_origin(ctx).await?;
    check_assertion(p.container.as_deref(), &resolved)?;
    let key = resolved.agent_key().ok_or_else(VarlinkError::permission_denied)?;
    let (events, guard) = ctx.daemon.agents.attach(key.clone());
    let ready_id = match &resolved {
        Resolved::Container(reg) => reg.reg.id.clone(),
        _ => key.to_string(),
    };
    info!(agent = %key, agent_pid = ?id.as_ref().map(|i| i.pid), exe = ?id.as_ref().map(|i| &i.exe), "agent connected");
    Ok(AgentStream { ready: AgentEvent { kind: "ready".into(), id: ready_id, nonce: None }, events, guard })
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
    let (identity, resolved) = resolve_origin(ctx).await?;
    let responder = resolved.agent_key().ok_or_else(VarlinkError::permission_denied)?;
    let target = ctx.daemon.agents.pending_for(&p.id).ok_or_else(unknown)?;
    if target != responder {
        warn!(challenge_for = %target, %responder, "answer from another container; refused");
        return Err(VarlinkError::permission_denied());
    }
    let measurements = measure(ctx, &resolved).await?;
    let answer = Answer { identity, measurements, claims: p.claims };
    if !ctx.daemon.agents.answer(&p.id, answer) {
        return Err(unknown());
    }
    Ok(json!({}))
}
