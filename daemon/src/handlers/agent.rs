//! `io.ras.Agent`: the agent in a container or a VM guest. `Serve` opens the stream rasd
//! forwards challenges on; `Respond` answers one, from any process of the same container (or
//! the same CID). Who is answering was resolved from the kernel before the handler runs; the
//! agent's own words are only checked, never used.

use std::sync::Arc;

use ras_proto::api::agent::{AgentError, Event, EventKind, Respond};
use ras_proto::api::Empty;
use ras_proto::VarlinkError;
use tokio::sync::mpsc;
use tracing::info;

use crate::agents::{AgentGuard, AgentKey, Answer};
use crate::daemon::Daemon;
use crate::identity::Identity;
use crate::measure::measure;
use crate::subject::Subject;

/// An open Serve stream: the first event, the rest, and the registration's lifetime.
pub struct AgentStream<'a> {
    /// `ready`, sent first.
    pub ready: Event,
    /// Challenges and pings.
    pub events: mpsc::Receiver<Event>,
    /// Unregisters the agent when dropped.
    pub guard: AgentGuard<'a>,
}

fn agent_key(subject: &Subject) -> Result<AgentKey, VarlinkError> {
    subject.agent_key().ok_or_else(VarlinkError::permission_denied)
}

/// `Serve`: registers the caller as its subject's agent.
pub fn serve<'a>(
    daemon: &'a Daemon,
    identity: Option<&Identity>,
    subject: &Subject,
) -> Result<AgentStream<'a>, VarlinkError> {
    let key = agent_key(subject)?;
    let (events, guard) = daemon.agents.attach(key.clone());
    let ready_id = match subject {
        Subject::Container(reg) => reg.reg.id.clone(),
        _ => key.to_string(),
    };
    info!(agent = %key, agent_pid = ?identity.map(|i| i.pid), exe = ?identity.map(|i| &i.exe), "agent connected");
    Ok(AgentStream { ready: Event { kind: EventKind::Ready, id: ready_id, nonce: None }, events, guard })
}

/// `Respond`: delivers an answer, after checking that the responder is the challenge's
/// subject. A response from another container leaves the challenge pending for the real
/// agent.
pub async fn respond(
    daemon: &Arc<Daemon>,
    identity: Option<&Identity>,
    subject: &Subject,
    call: Respond,
) -> Result<Empty, VarlinkError> {
    let unknown = || -> VarlinkError { AgentError::UnknownChallenge { id: call.id.clone() }.into() };
    let responder = agent_key(subject)?;
    let target = daemon.agents.pending_for(&call.id).ok_or_else(unknown)?;
    if target != responder {
        info!(challenge_for = %target, %responder, "answer from another container; refused");
        return Err(VarlinkError::permission_denied());
    }
    let measurements = measure(daemon, subject).await?;
    let answer = Answer { identity: identity.cloned(), measurements, claims: call.claims };
    if !daemon.agents.answer(&call.id, answer) {
        return Err(unknown());
    }
    Ok(Empty {})
}
