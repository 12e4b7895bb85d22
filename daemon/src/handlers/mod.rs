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
use crate::identity::peer::digest_in_root;
use crate::identity::{ContainerRef, Identity, Peer, Placement};
use crate::registry::{InitPin, Registered};
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

/// The caller's identity, fixed when it connected (and checked against each request by the
/// connection before the call reached a handler).
pub fn identify(ctx: &CallContext) -> Result<Identity, VarlinkError> {
    Ok(process(ctx)?.identity().clone())
}

/// Why a caller on the host socket is not a host process, if it is not.
pub fn not_a_host_process(daemon: &Daemon, id: &Identity) -> Option<&'static str> {
    match &id.placement {
        Placement::Ambiguous => Some("cgroup hierarchies name different containers"),
        Placement::Container(_) => Some("a container process on the host socket"),
        // A cgroup that names no known container is not proof of being on the host (a custom
        // cgroup parent): the host shares rasd's pid namespace and root directory. Mount
        // namespaces are not compared, since systemd gives hardened services their own.
        Placement::Host if id.ns.pid != daemon.own_pid_ns => Some("not in the host's pid namespace"),
        Placement::Host if id.root != daemon.own_root => Some("its root directory is not the host's"),
        Placement::Host => None,
    }
}

/// Refuses a caller on the host socket that is not a host process (every interface there
/// but `org.varlink.service` asks this first).
pub fn require_host_process(ctx: &CallContext) -> Result<(), VarlinkError> {
    let id = process(ctx)?.identity().clone();
    match not_a_host_process(&ctx.daemon, &id) {
        None => Ok(()),
        Some(why) => {
            warn!(pid = id.pid, uid = id.uid, exe = %id.exe, socket = ctx.socket.name(), reason = why, "caller refused");
            Err(VarlinkError::permission_denied())
        }
    }
}

/// Whom a caller's evidence is about.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// The host.
    Host,
    /// A registered container, with its pinned init.
    Container(Registered),
    /// A VM guest, by vsock CID.
    Vm(u32),
}

impl Resolved {
    /// The runtime-log subject key.
    pub fn log_key(&self) -> String {
        match self {
            Resolved::Host => "host".into(),
            Resolved::Container(r) => format!("{}-{}", r.reg.runtime, r.reg.id),
            Resolved::Vm(cid) => format!("vm-{cid}"),
        }
    }

    /// The evidence subject.
    pub fn subject(&self) -> Subject {
        match self {
            Resolved::Host => Subject::Host,
            Resolved::Container(r) => Subject::Container {
                id: r.reg.id.clone(),
                runtime: r.reg.runtime.to_string(),
                name: r.reg.name.clone(),
                pid_ns: r.reg.pid_ns,
            },
            Resolved::Vm(cid) => Subject::Vm { cid: *cid },
        }
    }

    /// The agent slot of this subject, if it can have one.
    pub fn agent_key(&self) -> Option<AgentKey> {
        match self {
            Resolved::Host => None,
            Resolved::Container(r) => Some(AgentKey::Container(r.reg.container())),
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
            let id = identify(ctx)?;
            let resolved = resolve(ctx, &id).await?;
            Ok((Some(id), resolved))
        }
    }
}

/// Decides, from the kernel identity alone, whom a caller may get evidence for. On the host
/// socket that is the host, and only for a host process ([`not_a_host_process`]). On the
/// container socket it is the caller's registered container, and only from its pid namespace
/// or one nested in it while its init runs; a host process is refused.
pub async fn resolve(ctx: &CallContext, id: &Identity) -> Result<Resolved, VarlinkError> {
    let refuse = |why: &str| {
        warn!(pid = id.pid, uid = id.uid, exe = %id.exe, socket = ctx.socket.name(), reason = why, "caller refused");
        Err(VarlinkError::permission_denied())
    };
    match (ctx.socket, &id.placement) {
        (SocketKind::Vsock, _) => refuse("a local process on the vsock agent port"),
        (_, Placement::Ambiguous) => refuse("cgroup hierarchies name different containers"),
        (SocketKind::Host, _) => match not_a_host_process(&ctx.daemon, id) {
            None => Ok(Resolved::Host),
            Some(why) => refuse(why),
        },
        (SocketKind::Container, Placement::Host) => refuse("a process outside any container on the container socket"),
        (SocketKind::Container, Placement::Container(c)) => {
            let reg = match ctx.daemon.registry.get(c) {
                Some(r) => r,
                None if ctx.daemon.config.auto_register => match register(&ctx.daemon, c.runtime, &c.id).await {
                    Ok(_) => ctx.daemon.registry.get(c).ok_or_else(|| not_registered(c))?,
                    Err(e) => {
                        warn!(container = %c, cause = %format!("{:#}", anyhow::Error::from(e)), "auto-registration failed");
                        return Err(not_registered(c));
                    }
                },
                None => return Err(not_registered(c)),
            };
            let span = tracing::Span::current();
            span.record("container_id", reg.reg.id.as_str());
            span.record("container_type", reg.reg.runtime.as_str());
            if !reg.admits(&id.pid_ns_chain) {
                warn!(container = %reg.reg.id, registered_pid_ns = reg.reg.pid_ns, caller_pid_ns = ?id.pid_ns_chain, init_alive = reg.pin.alive(), "pid namespace does not match the registration");
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
            let r = &r.reg;
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

/// Measures the configured files of a subject: host files from rasd's own root, container
/// files through the root of the container's registered init (pinned at registration);
/// never through the caller's root, which a caller can change. Blocking work runs off the
/// runtime.
pub async fn measure(ctx: &CallContext, resolved: &Resolved) -> Result<Vec<Measurement>, VarlinkError> {
    let (files, root) = match resolved {
        Resolved::Host => (ctx.daemon.config.measure_files.clone(), Root::Host(ctx.daemon.clone())),
        Resolved::Container(r) => {
            (ctx.daemon.config.files_for(&r.reg.id, r.reg.name.as_deref()), Root::Container(r.pin.clone()))
        }
        // rasd cannot read a VM guest's files.
        Resolved::Vm(_) => return Ok(Vec::new()),
    };
    if files.is_empty() {
        return Ok(Vec::new());
    }
    tokio::task::spawn_blocking(move || {
        let root = match &root {
            Root::Host(d) => &d.root_dir,
            Root::Container(pin) => pin.root(),
        };
        files
            .iter()
            .map(|path| {
                let (sha256, error) = match digest_in_root(root, path) {
                    Ok(d) => (d, None),
                    Err(e) => (String::new(), Some(e.to_string())),
                };
                Measurement { name: format!("file:{path}"), sha256, source: "rasd".into(), error }
            })
            .collect()
    })
    .await
    .map_err(|e| attestation::signing_failed(&e.to_string()))
}

/// The root a subject's files are read through.
enum Root {
    Host(Arc<Daemon>),
    Container(Arc<InitPin>),
}
