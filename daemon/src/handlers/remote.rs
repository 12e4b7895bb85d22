//! `io.ras.Remote`: challenges from remote verifiers (through ras-bridge) or authorized local
//! callers. A container challenge is answered only with evidence whose subject is that
//! container, measured through the answering agent; every failure has its own error.

use ras_proto::api::{ChallengeParams, EvidenceReply};
use ras_proto::{Request, VarlinkError};
use serde_json::{json, Value};
use tracing::{info, warn};

use super::attestation::parse_nonce;
use super::{identify, in_group, measure, reply, sign_evidence, EvidenceInput, Resolved};
use crate::agents::ChallengeError;
use crate::dispatch::CallContext;
use crate::identity::Runtime;
use crate::registry::Lookup;

const IFACE: &str = "io.ras.Remote";

fn error(name: &str, params: Value) -> VarlinkError {
    VarlinkError::new(format!("{IFACE}.{name}"), params)
}

/// `Challenge`.
pub async fn challenge(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: ChallengeParams = req.params()?;
    let nonce = parse_nonce(&p.nonce)?;
    let caller = identify(ctx).await?;
    let d = &ctx.daemon;
    let allowed =
        in_group(&caller, d.admin_gid) || in_group(&caller, d.remote_gid) || d.config.remote_uid == Some(caller.uid);
    if !allowed {
        warn!(uid = caller.uid, exe = %caller.exe, "remote challenge from an unauthorized caller");
        return Err(VarlinkError::permission_denied());
    }
    let peer = p.peer.as_deref().unwrap_or("local");
    let Some(target) = p.container else {
        let resolved = Resolved::Host;
        let measurements = measure(ctx, ctx.peer.clone(), &resolved).await?;
        let input =
            EvidenceInput { nonce: &nonce, resolved: &resolved, caller: &caller, measurements, workload_claims: None };
        let evidence = sign_evidence(d, input).await?;
        info!(peer, subject = "host", "remote challenge answered");
        return reply(&EvidenceReply { evidence });
    };
    let unknown = || error("UnknownContainer", json!({ "id": target.id, "type": target.runtime }));
    let runtime = Runtime::parse(&target.runtime).ok_or_else(unknown)?;
    let reg = match d.registry.find(runtime, &target.id) {
        Ok(r) => r,
        Err(Lookup::None | Lookup::Ambiguous) => return Err(unknown()),
    };
    let c = reg.container();
    let ids = json!({ "id": reg.id, "type": reg.runtime.as_str() });
    let timeout = d.config.challenge_timeout;
    let answer = d.agents.challenge(&c, Some(p.nonce.clone()), timeout).await.map_err(|e| {
        warn!(peer, container = %c, error = ?e, "container challenge failed");
        match e {
            ChallengeError::NoAgent => error("NoAgent", ids.clone()),
            ChallengeError::Gone => error("AgentGone", ids.clone()),
            ChallengeError::Timeout => error(
                "AgentTimeout",
                json!({ "id": reg.id, "type": reg.runtime.as_str(), "timeout_ms": timeout.as_millis() as u64 }),
            ),
        }
    })?;
    let resolved = Resolved::Container(reg);
    let input = EvidenceInput {
        nonce: &nonce,
        resolved: &resolved,
        caller: &answer.identity,
        measurements: answer.measurements,
        workload_claims: answer.claims,
    };
    let evidence = sign_evidence(d, input).await?;
    info!(peer, subject = %resolved.subject(), agent_pid = answer.identity.pid, "remote container challenge answered");
    reply(&EvidenceReply { evidence })
}
