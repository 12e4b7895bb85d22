//! `io.ras.Agent`: the agent's side of remote challenges.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::method::{interface_calls, Empty, Method};
use crate::error::{interface_errors, parse_params};
use crate::nonce::Nonce;
use crate::VarlinkError;

/// The interface name.
pub const INTERFACE: &str = "io.ras.Agent";

/// `Serve(container?)`, a streaming call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    /// An assertion of the agent's container; never used as identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

impl Method for Serve {
    const NAME: &'static str = "io.ras.Agent.Serve";
    const STREAMING: bool = true;
    type Reply = Event;

    fn from_params(params: Map<String, Value>) -> Result<Self, VarlinkError> {
        parse_params(params)
    }
}

/// What an event of the Serve stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The first event: `id` is the container id rasd derived from the kernel.
    Ready,
    /// A forwarded challenge: `id` names it, `nonce` is the verifier's.
    Challenge,
    /// A health check: `id` names it.
    Ping,
}

/// One reply of the Serve stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What the event is.
    pub kind: EventKind,
    /// Container id (ready) or challenge/ping id.
    pub id: String,
    /// The verifier's nonce (challenge only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Nonce>,
}

/// `Respond(id, claims?)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Respond {
    /// The challenge or ping id.
    pub id: String,
    /// Claims the workload reports about itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
}

/// Largest workload claims object accepted, serialized.
pub const MAX_CLAIMS: usize = 16 * 1024;

impl Method for Respond {
    const NAME: &'static str = "io.ras.Agent.Respond";
    type Reply = Empty;

    fn from_params(params: Map<String, Value>) -> Result<Self, VarlinkError> {
        let call: Respond = parse_params(params)?;
        if call.claims.as_ref().is_some_and(|c| serde_json::to_vec(c).map_or(true, |v| v.len() > MAX_CLAIMS)) {
            return Err(VarlinkError::invalid_parameter("claims"));
        }
        Ok(call)
    }
}

interface_calls! {
    /// A call to `io.ras.Agent`.
    pub enum AgentCall { Serve, Respond }
}

interface_errors! {
    /// The errors of `io.ras.Agent`.
    pub enum AgentError = "io.ras.Agent" {
        /// No pending challenge of this container has this id.
        UnknownChallenge { id: String },
    }
}
