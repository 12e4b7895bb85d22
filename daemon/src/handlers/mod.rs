//! Method handlers, one file per interface. Handlers take typed parameters from the request,
//! read or change daemon state, and return the reply parameters or an exact varlink error.
//! This module holds what several interfaces share: the caller's identity, who the caller
//! is as a subject, authorization, and signing evidence.

pub mod admin;
pub mod agent;
pub mod attestation;
pub mod remote;
pub mod service;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ras_evidence::claims::{Caller, Claims, Measurement, RasClaims, Subject, EAT_PROFILE};
use ras_proto::VarlinkError;
use serde::Serialize;
use serde_json::{json, Value};
use tracing::warn;

use std::sync::Arc;

use crate::agents::AgentKey;
use crate::containers::register;
use crate::dispatch::{CallContext, Origin};
use crate::identity::{ContainerRef, Identity, Peer, Placement};
use crate::registry::Registration;
use crate::{unix_now, Daemon, SocketKind};

/// Serializes a reply struct.
pub fn reply<T: Serialize>(v: &T) -> Result<Value, VarlinkError> {
    Ok(serde_json::to_value(v).expect("reply types serialize"))
}

/// The calling process, pinned; a VM guest has none.
pub fn process(ctx: &CallContext) -> Result<Arc<Peer>, VarlinkError> {
    match &ctx.origin {
        Origin::Process(p) => Ok(p.clone()),
        Origin::Vm(_) => Err(VarlinkError::permission_denied()),
    }
}

/// The caller's identity now, read off the async runtime.
pub async fn identify(ctx: &CallContext) -> Result<Identity, VarlinkError> {
    let daemon = ctx.daemon.clone();
    let peer = process(ctx)?;
    tokio::task::spawn_blocking(move || peer.snapshot(&daemon.exe_cache))
        .await
        .map_err(|e| attestation::peer_gone(&e.to_string()))?
        .map_err(|e| attestation::peer_gone(&format!("{:#}", anyhow::Error::from(e))))
}

/// Whom a caller's evidence is about.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// The host.
    Host,
    /// A registered container.
    Container(Registration),
    /// A VM guest, by vsock CID.
    Vm(u32),
}

impl Resolved {
    /// The runtime-log subject key.
    pub fn log_key(&self) -> String {
        match self {
            Resolved::Host => "host".into(),
            Resolved::Container(r) => format!("{}-{}", r.runtime, r.id),
            Resolved::Vm(cid) => format!("vm-{cid}"),
        }
    }

    /// The evidence subject.
    pub fn subject(&self) -> Subject {
        match self {
            Resolved::Host => Subject::Host,
            Resolved::Container(r) => Subject::Container {
                id: r.id.clone(),
                runtime: r.runtime.to_string(),
                name: r.name.clone(),
                pid_ns: r.pid_ns,
            },
            Resolved::Vm(cid) => Subject::Vm { cid: *cid },
        }
    }

    /// The agent slot of this subject, if it can have one.
    pub fn agent_key(&self) -> Option<AgentKey> {
        match self {
            Resolved::Host => None,
            Resolved::Container(r) => Some(AgentKey::Container(r.container())),
            Resolved::Vm(cid) => Some(AgentKey::Vm(*cid)),
        }
    }
}

/// Whom the caller is, with its process identity when it has one: a VM guest is its CID,
/// a local process is resolved by [`resolve`].
pub async fn resolve_origin(ctx: &CallContext) -> Result<(Option<Identity>, Resolved), VarlinkError> {
    match &ctx.origin {
        Origin::Vm(cid) => Ok((None, Resolved::Vm(*cid))),
        Origin::Process(_) => {
            let id = identify(ctx).await?;
            let resolved = resolve(ctx, &id).await?;
            Ok((Some(id), resolved))
        }
    }
}

/// Decides, from the kernel identity alone, whom a caller may get evidence for. On the host
/// socket that is the host, and a caller inside a container is refused. On the container
/// socket it is the caller's registered container, and only from its pid namespace or one
/// nested in it; a host process is refused.
pub async fn resolve(ctx: &CallContext, id: &Identity) -> Result<Resolved, VarlinkError> {
    let refuse = |why: &str| {
        warn!(pid = id.pid, uid = id.uid, exe = %id.exe, socket = ctx.socket.name(), reason = why, "caller refused");
        Err(VarlinkError::permission_denied())
    };
    match (ctx.socket, &id.placement) {
        (SocketKind::Vsock, _) => refuse("a local process on the vsock agent port"),
        (_, Placement::Ambiguous) => refuse("cgroup hierarchies name different containers"),
        (SocketKind::Host, Placement::Host) => Ok(Resolved::Host),
        (SocketKind::Host, Placement::Container(_)) => refuse("a container process on the host socket"),
        (SocketKind::Container, Placement::Host) => refuse("a process outside any container on the container socket"),
        (SocketKind::Container, Placement::Container(c)) => {
            let reg = match ctx.daemon.registry.get(c) {
                Some(r) => r,
                None if ctx.daemon.config.auto_register => match register(&ctx.daemon, c.runtime, &c.id).await {
                    Ok(r) => r,
                    Err(e) => {
                        warn!(container = %c, cause = %e, "auto-registration failed");
                        return Err(not_registered(c));
                    }
                },
                None => return Err(not_registered(c)),
            };
            let span = tracing::Span::current();
            span.record("container_id", reg.id.as_str());
            span.record("container_type", reg.runtime.as_str());
            if !reg.admits(&id.pid_ns_chain) {
                warn!(container = %reg.id, registered_pid_ns = reg.pid_ns, caller_pid_ns = ?id.pid_ns_chain, "pid namespace does not match the registration");
                return refuse("pid namespace does not match the container's registration");
            }
            Ok(Resolved::Container(reg))
        }
    }
}

fn not_registered(c: &ContainerRef) -> VarlinkError {
    VarlinkError::new("io.ras.Attestation.NotRegistered", json!({ "id": c.id, "type": c.runtime.as_str() }))
}

/// Refuses a request that names a container other than the caller's own.
pub fn check_assertion(claimed: Option<&str>, resolved: &Resolved) -> Result<(), VarlinkError> {
    let Some(claimed) = claimed else { return Ok(()) };
    let ok = match resolved {
        Resolved::Host | Resolved::Vm(_) => false,
        Resolved::Container(r) => {
            claimed == r.id || (claimed.len() >= 12 && r.id.starts_with(claimed)) || r.name.as_deref() == Some(claimed)
        }
    };
    if ok {
        return Ok(());
    }
    warn!(claimed, "request names another container; refused");
    Err(VarlinkError::permission_denied())
}

/// True for root or a member of `gid`.
pub fn in_group(id: &Identity, gid: Option<u32>) -> bool {
    id.uid == 0 || gid.is_some_and(|g| id.gid == g || id.groups.contains(&g))
}

/// Everything that goes into one piece of evidence.
pub struct EvidenceInput<'a> {
    /// The verifier's nonce.
    pub nonce: &'a [u8],
    /// Whom it is about.
    pub resolved: &'a Resolved,
    /// The process measured as the caller (none for a VM guest).
    pub caller: Option<&'a Identity>,
    /// Files rasd measured.
    pub measurements: Vec<Measurement>,
    /// Claims the workload reported.
    pub workload_claims: Option<Value>,
}

/// Builds the claims and signs them with the AK.
pub async fn sign_evidence(daemon: &Arc<Daemon>, input: EvidenceInput<'_>) -> Result<String, VarlinkError> {
    let d = daemon.clone();
    let key = input.resolved.log_key();
    let runtime_log = tokio::task::spawn_blocking(move || d.logs.snapshot(&key))
        .await
        .map_err(|e| attestation::signing_failed(&e.to_string()))?
        .map_err(|e| attestation::signing_failed(&format!("{:#}", anyhow::Error::from(e))))?;
    let claims = Claims {
        eat_nonce: URL_SAFE_NO_PAD.encode(input.nonce),
        iat: unix_now(),
        eat_profile: EAT_PROFILE.into(),
        ras: RasClaims {
            subject: input.resolved.subject(),
            caller: input.caller.map(|id| Caller {
                uid: id.uid,
                gid: id.gid,
                pid: id.pid,
                exe: id.exe.clone(),
                exe_sha256: id.exe_sha256.clone(),
            }),
            measurements: input.measurements,
            tee: daemon.tee.kind().into(),
            runtime_log,
            workload_claims: input.workload_claims,
        },
    };
    daemon.ak.sign(&claims).map_err(|e| attestation::signing_failed(&e.to_string()))
}

/// Measures the configured files for a subject, through `peer`'s root. Blocking work runs
/// off the runtime.
pub async fn measure(ctx: &CallContext, resolved: &Resolved) -> Result<Vec<Measurement>, VarlinkError> {
    let files = match resolved {
        Resolved::Host => ctx.daemon.config.measure_files.clone(),
        Resolved::Container(r) => ctx.daemon.config.files_for(&r.id, r.name.as_deref()),
        // rasd cannot read a VM guest's files.
        Resolved::Vm(_) => Vec::new(),
    };
    let peer = match &ctx.origin {
        Origin::Process(p) => p.clone(),
        Origin::Vm(_) => return Ok(Vec::new()),
    };
    if files.is_empty() {
        return Ok(Vec::new());
    }
    tokio::task::spawn_blocking(move || peer.measure_files(&files))
        .await
        .map_err(|e| attestation::peer_gone(&e.to_string()))?
        .map_err(|e| attestation::peer_gone(&format!("{:#}", anyhow::Error::from(e))))
}
