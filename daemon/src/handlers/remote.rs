//! `io.ras.Remote`: challenges from remote verifiers (through ras-bridge) or authorized local
//! callers. A container (or VM guest) challenge is answered only with evidence whose subject
//! is that container (or guest), measured through the answering agent; every failure has its
//! own error, and none of them falls back to host evidence.

use ras_proto::api::{ChallengeParams, EvidenceReply};
use ras_proto::{Request, VarlinkError};
use serde_json::{json, Value};
use tracing::{info, warn};

use super::attestation::parse_nonce;
use super::{identify, in_group, measure, reply, sign_evidence, EvidenceInput, Resolved};
use crate::agents::ChallengeError;
use crate::dispatch::CallContext;
use crate::docker_api;
use crate::identity::{ContainerRef, Runtime};
use crate::registry::Registered;

const IFACE: &str = "io.ras.Remote";

fn error(name: &str, params: Value) -> VarlinkError {
    VarlinkError::new(format!("{IFACE}.{name}"), params)
}

/// The registration a challenge names. A Docker name is resolved by Docker now, not by the
/// name recorded at registration, so a renamed container (or a new one given the old name)
/// is found by what its name means today; the recorded name is brought up to date.
async fn find_target(d: &std::sync::Arc<crate::Daemon>, runtime: Runtime, key: &str) -> Option<Registered> {
    let is_hex = key.len() >= 12 && key.bytes().all(|b| b.is_ascii_hexdigit());
    if runtime != Runtime::Docker || is_hex {
        return d.registry.find(runtime, key).ok();
    }
    let (sock, name) = (d.config.docker_socket.clone(), key.to_string());
    let inspected = tokio::task::spawn_blocking(move || docker_api::inspect(&sock, &name)).await.ok()?.ok()?;
    let reg = d.registry.get(&ContainerRef { runtime, id: inspected.id })?;
    if let Err(e) = d.registry.rename(&reg.reg.container(), &inspected.name) {
        warn!(cause = %e, "recording the container's new name failed");
    }
    d.registry.get(&reg.reg.container())
}

/// `Challenge`.
pub async fn challenge(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: ChallengeParams = req.params()?;
    let nonce = parse_nonce(&p.nonce)?;
    if p.container.is_some() && p.vm.is_some() {
        return Err(VarlinkError::invalid_parameter("vm"));
    }
    let caller = identify(ctx)?;
    let d = &ctx.daemon;
    let allowed =
        in_group(&caller, d.admin_gid) || in_group(&caller, d.remote_gid) || d.config.remote_uid == Some(caller.uid);
    if !allowed {
        warn!(uid = caller.uid, exe = %caller.exe, "remote challenge from an unauthorized caller");
        return Err(VarlinkError::permission_denied());
    }
    let peer = p.peer.as_deref().unwrap_or("local");

    // The subject asked for, and the error parameters that name it.
    let (resolved, ids) = match (&p.container, p.vm) {
        (None, None) => {
            let resolved = Resolved::Host;
            let measurements = measure(ctx, &resolved).await?;
            let input = EvidenceInput {
                nonce: &nonce,
                resolved: &resolved,
                caller: Some(&caller),
                measurements,
                workload_claims: None,
            };
            let evidence = sign_evidence(d, input).await?;
            info!(peer, subject = "host", "remote challenge answered");
            return reply(&EvidenceReply { evidence });
        }
        (Some(target), _) => {
            let unknown = || error("UnknownContainer", json!({ "id": target.id, "type": target.runtime }));
            let runtime = Runtime::parse(&target.runtime).ok_or_else(unknown)?;
            let reg = find_target(d, runtime, &target.id).await.ok_or_else(unknown)?;
            let ids = json!({ "id": reg.reg.id, "type": reg.reg.runtime.as_str() });
            (Resolved::Container(reg), ids)
        }
        (None, Some(cid)) => (Resolved::Vm(cid), json!({ "id": cid.to_string(), "type": "vm" })),
    };
    let key = resolved.agent_key().expect("containers and VMs have agent slots");
    let timeout = d.config.challenge_timeout;
    let answer = d.agents.challenge(&key, Some(p.nonce.clone()), timeout).await.map_err(|e| {
        warn!(peer, agent = %key, error = ?e, "challenge through the agent failed");
        match e {
            ChallengeError::NoAgent => error("NoAgent", ids.clone()),
            ChallengeError::Gone => error("AgentGone", ids.clone()),
            ChallengeError::Timeout => {
                let mut params = ids.clone();
                params["timeout_ms"] = json!(timeout.as_millis() as u64);
                error("AgentTimeout", params)
            }
        }
    })?;
    let input = EvidenceInput {
        nonce: &nonce,
        resolved: &resolved,
        caller: answer.identity.as_ref(),
        measurements: answer.measurements,
        workload_claims: answer.claims,
    };
    let evidence = sign_evidence(d, input).await?;
    info!(peer, subject = %resolved.subject(), agent = %key, "remote challenge answered through the agent");
    reply(&EvidenceReply { evidence })
}
