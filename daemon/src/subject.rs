//! Whom a call is about, and whether the caller may make it, decided from the kernel alone.
//!
//! Read top to bottom: a connection's [`Origin`] (a pinned process, or a VM guest by its
//! kernel-assigned CID) → its [`Identity`], fixed at connect ([`crate::identity`]) → its
//! placement (host, a container, or ambiguous) → the [`Subject`] its evidence may be about,
//! given the socket → the rules for the host socket, the admin and remote-challenge groups,
//! and for a request that names a container. Handlers receive what this module resolved and
//! never compute it themselves.

use std::sync::Arc;

use ras_evidence::claims;
use ras_proto::api::attestation::AttestationError;
use ras_proto::api::remote::{Challenge, RemoteError};
use ras_proto::VarlinkError;
use tracing::{info, warn};

use crate::agents::AgentKey;
use crate::containers::registry::Registered;
use crate::containers::{docker_api, register};
use crate::daemon::{Daemon, SocketKind};
use crate::identity::{ContainerRef, Identity, Peer, Placement, Runtime};

/// Who is at the other end of a connection, as the kernel says.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A local process, pinned by a pidfd.
    Process(Arc<Peer>),
    /// A VM guest, by the vsock CID the kernel assigned it.
    Vm(u32),
}

/// What a call knows about where it came from.
pub struct CallContext {
    /// Shared daemon state.
    pub daemon: Arc<Daemon>,
    /// The connection's peer.
    pub origin: Origin,
    /// The socket the call came in on.
    pub socket: SocketKind,
}

/// Whom evidence is about.
#[derive(Debug, Clone)]
pub enum Subject {
    /// The host.
    Host,
    /// A registered container, with its pinned init.
    Container(Registered),
    /// A VM guest, by vsock CID.
    Vm(u32),
}

impl Subject {
    /// The runtime-log key.
    pub fn log_key(&self) -> String {
        // The verifier derives the same key from the claims, to find this subject's events in
        // the log PCR.
        self.claim().log_key()
    }

    /// The subject as the evidence claims name it.
    pub fn claim(&self) -> claims::Subject {
        match self {
            Subject::Host => claims::Subject::Host,
            Subject::Container(r) => claims::Subject::Container {
                id: r.reg.id.clone(),
                runtime: r.reg.runtime.to_string(),
                name: r.reg.name.clone(),
                pid_ns: r.reg.pid_ns,
            },
            Subject::Vm(cid) => claims::Subject::Vm { cid: *cid },
        }
    }

    /// The agent slot of this subject, if it can have one.
    pub fn agent_key(&self) -> Option<AgentKey> {
        match self {
            Subject::Host => None,
            Subject::Container(r) => Some(AgentKey::Container(r.reg.container())),
            Subject::Vm(cid) => Some(AgentKey::Vm(*cid)),
        }
    }
}

/// The calling process's identity, fixed when it connected (and checked against each request
/// by the connection before the call got here). A VM guest has no process here.
pub fn caller(ctx: &CallContext) -> Result<&Identity, VarlinkError> {
    match &ctx.origin {
        Origin::Process(p) => Ok(p.identity()),
        Origin::Vm(_) => Err(VarlinkError::permission_denied()),
    }
}

/// Why a caller is not a host process, if it is not.
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

fn refuse<T>(ctx: &CallContext, id: &Identity, why: &str) -> Result<T, VarlinkError> {
    info!(pid = id.pid, uid = id.uid, exe = %id.exe, socket = ctx.socket.name(), reason = why, "caller refused");
    Err(VarlinkError::permission_denied())
}

/// The host socket serves host processes only, whatever the interface: a process in a
/// container (or in no known container but outside the host's pid namespace or root) gets
/// neither host evidence nor admin calls nor remote challenges there.
pub fn require_host_process(ctx: &CallContext) -> Result<(), VarlinkError> {
    let id = caller(ctx)?;
    match not_a_host_process(&ctx.daemon, id) {
        None => Ok(()),
        Some(why) => refuse(ctx, id, why),
    }
}

/// Decides, from the kernel identity alone, whom a local caller may get evidence for. On the
/// host socket that is the host, and only for a host process ([`not_a_host_process`]). On the
/// container socket it is the caller's registered container (registered now under
/// `--auto-register`), and only from its pid namespace or one nested in it while its init
/// runs; a host process is refused.
pub async fn resolve(ctx: &CallContext, id: &Identity) -> Result<Subject, VarlinkError> {
    match (ctx.socket, &id.placement) {
        (SocketKind::Vsock, _) => refuse(ctx, id, "a local process on the vsock agent port"),
        (_, Placement::Ambiguous) => refuse(ctx, id, "cgroup hierarchies name different containers"),
        (SocketKind::Host, _) => match not_a_host_process(&ctx.daemon, id) {
            None => Ok(Subject::Host),
            Some(why) => refuse(ctx, id, why),
        },
        (SocketKind::Container, Placement::Host) => {
            refuse(ctx, id, "a process outside any container on the container socket")
        }
        (SocketKind::Container, Placement::Container(c)) => {
            let reg = registration(ctx, c).await?;
            let span = tracing::Span::current();
            span.record("container_id", reg.reg.id.as_str());
            span.record("container_type", reg.reg.runtime.as_str());
            if !reg.admits(&id.pid_ns_chain) {
                info!(container = %reg.reg.id, registered_pid_ns = reg.reg.pid_ns, caller_pid_ns = ?id.pid_ns_chain, init_alive = reg.pin.alive(), "pid namespace does not match the registration");
                return refuse(ctx, id, "pid namespace does not match the container's registration");
            }
            Ok(Subject::Container(reg))
        }
    }
}

/// The container's registration, made now when `--auto-register` is on.
async fn registration(ctx: &CallContext, c: &ContainerRef) -> Result<Registered, VarlinkError> {
    let not_registered = || AttestationError::NotRegistered { id: c.id.clone(), r#type: c.runtime.to_string() };
    if let Some(r) = ctx.daemon.registry.get(c) {
        return Ok(r);
    }
    if !ctx.daemon.config.auto_register {
        return Err(not_registered().into());
    }
    if let Err(e) = register(&ctx.daemon, c.runtime, &c.id).await {
        warn!(container = %c, cause = %format!("{:#}", anyhow::Error::from(e)), "auto-registration failed");
        return Err(not_registered().into());
    }
    ctx.daemon.registry.get(c).ok_or_else(|| not_registered().into())
}

/// Whom the caller is, with its process identity when it has one: a VM guest is its CID,
/// a local process is resolved by [`resolve`].
pub async fn resolve_origin(ctx: &CallContext) -> Result<(Option<&Identity>, Subject), VarlinkError> {
    match &ctx.origin {
        Origin::Vm(cid) => Ok((None, Subject::Vm(*cid))),
        Origin::Process(_) => {
            let id = caller(ctx)?;
            let subject = resolve(ctx, id).await?;
            Ok((Some(id), subject))
        }
    }
}

/// The subject a remote challenge names: the host, a VM guest by CID, or a registered
/// container. A Docker name is resolved by Docker now, not by the name recorded at
/// registration, so a renamed container (or a new one given the old name) is found by what
/// its name means today; the recorded name is brought up to date.
pub async fn named(daemon: &Arc<Daemon>, call: &Challenge) -> Result<Subject, VarlinkError> {
    let target = match (&call.container, call.vm) {
        (None, None) => return Ok(Subject::Host),
        (None, Some(cid)) => return Ok(Subject::Vm(cid)),
        (Some(target), _) => target,
    };
    let unknown = || RemoteError::UnknownContainer { id: target.id.clone(), r#type: target.runtime.clone() };
    let runtime = Runtime::parse(&target.runtime).ok_or_else(unknown)?;
    let key = target.id.as_str();
    let is_hex = key.len() >= 12 && key.bytes().all(|b| b.is_ascii_hexdigit());
    if runtime != Runtime::Docker || is_hex {
        return daemon.registry.find(runtime, key).map(Subject::Container).map_err(|_| unknown().into());
    }
    let (sock, name) = (daemon.config.docker_socket.clone(), key.to_string());
    let inspected = tokio::task::spawn_blocking(move || docker_api::inspect(&sock, &name)).await;
    let inspected = inspected.ok().and_then(Result::ok).ok_or_else(unknown)?;
    let reg = daemon.registry.get(&ContainerRef { runtime, id: inspected.id }).ok_or_else(unknown)?;
    if let Err(e) = daemon.registry.rename(&reg.reg.container(), &inspected.name) {
        warn!(cause = %e, "recording the container's new name failed");
    }
    daemon.registry.get(&reg.reg.container()).map(Subject::Container).ok_or_else(|| unknown().into())
}

/// Refuses a request that names a container other than the caller's own. The name is only
/// ever checked, never used.
pub fn check_assertion(claimed: Option<&str>, subject: &Subject) -> Result<(), VarlinkError> {
    let Some(claimed) = claimed else { return Ok(()) };
    let ok = match subject {
        Subject::Host | Subject::Vm(_) => false,
        Subject::Container(r) => {
            let r = &r.reg;
            claimed == r.id || (claimed.len() >= 12 && r.id.starts_with(claimed)) || r.name.as_deref() == Some(claimed)
        }
    };
    if ok {
        return Ok(());
    }
    info!(claimed, "request names another container; refused");
    Err(VarlinkError::permission_denied())
}

/// True for root or a member of `gid`, by the kernel's credentials and supplementary groups.
fn in_group(id: &Identity, gid: Option<u32>) -> bool {
    id.uid == 0 || gid.is_some_and(|g| id.gid == g || id.groups.contains(&g))
}

/// `io.ras.Admin` is for root and the admin group.
pub fn authorize_admin(ctx: &CallContext) -> Result<&Identity, VarlinkError> {
    let id = caller(ctx)?;
    if in_group(id, ctx.daemon.admin_gid) {
        return Ok(id);
    }
    info!(uid = id.uid, exe = %id.exe, "admin call refused");
    Err(VarlinkError::permission_denied())
}

/// `io.ras.Remote` is for admins, the remote group, and the bridge's uid (`remote_uid`).
pub fn authorize_remote(ctx: &CallContext) -> Result<&Identity, VarlinkError> {
    let id = caller(ctx)?;
    let d = &ctx.daemon;
    if in_group(id, d.admin_gid) || in_group(id, d.remote_gid) || d.config.remote_uid == Some(id.uid) {
        return Ok(id);
    }
    info!(uid = id.uid, exe = %id.exe, "remote challenge from an unauthorized caller");
    Err(VarlinkError::permission_denied())
}
