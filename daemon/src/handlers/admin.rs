//! `io.ras.Admin`: status and AK management, for root or the admin group only. The check uses
//! the caller's kernel credentials and supplementary groups, read through the pidfd pin.

use std::sync::atomic::Ordering;

use ras_proto::api::{
    AddContainerReply, AkInfo, ContainerInfo, ContainerList, ContainerParams, CsrReply, ImportParams, ImportReply,
    NoParams, Status,
};
use ras_proto::{Request, VarlinkError};
use serde_json::{json, Value};
use tracing::{info, warn};

use super::{identify, in_group, reply};
use crate::agents::AgentKey;
use crate::ak::AkError;
use crate::containers::{register, RegisterError};
use crate::dispatch::CallContext;
use crate::identity::Runtime;
use crate::registry::{Lookup, Registration};
use crate::unix_now;

/// Refuses callers that are neither root nor in the admin group.
async fn authorize(ctx: &CallContext) -> Result<(), VarlinkError> {
    let id = identify(ctx)?;
    if in_group(&id, ctx.daemon.admin_gid) {
        return Ok(());
    }
    warn!(uid = id.uid, exe = %id.exe, "admin call refused");
    Err(VarlinkError::permission_denied())
}

/// `GetStatus`.
pub async fn get_status(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    authorize(ctx).await?;
    let d = &ctx.daemon;
    reply(&Status {
        version: env!("CARGO_PKG_VERSION").into(),
        tee: d.tee.kind().into(),
        ak_mode: d.ak.mode().into(),
        ak_fingerprint: d.ak.fingerprint(),
        started_at: d.started_at,
        uptime_secs: unix_now() - d.started_at,
        connections: d.connections.load(Ordering::Relaxed),
        calls: d.calls.load(Ordering::Relaxed),
        containers: d.registry.len() as i64,
        agents: d.agents.count() as i64,
    })
}

/// `GetAk`.
pub async fn get_ak(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    authorize(ctx).await?;
    let ak = &ctx.daemon.ak;
    reply(&AkInfo { mode: ak.mode().into(), fingerprint: ak.fingerprint(), chain: ak.chain_pem() })
}

/// `CreateAkCsr`.
pub async fn create_ak_csr(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    authorize(ctx).await?;
    let csr = ctx.daemon.ak.csr(ctx.daemon.tee.as_ref()).map_err(|e| ak_failed(&e))?;
    reply(&CsrReply { csr })
}

/// `ImportAkCertificate`.
pub async fn import_ak_certificate(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: ImportParams = req.params()?;
    authorize(ctx).await?;
    let ak = &ctx.daemon.ak;
    match ak.import(&p.chain) {
        Ok(()) => {
            info!(mode = ak.mode(), "AK certificate chain imported");
            reply(&ImportReply { mode: ak.mode().into(), fingerprint: ak.fingerprint() })
        }
        Err(AkError::ImportRejected(reason)) => {
            warn!(%reason, "AK certificate import refused");
            Err(rejected(&reason))
        }
        Err(e) => Err(ak_failed(&e)),
    }
}

fn rejected(reason: &str) -> VarlinkError {
    VarlinkError::new("io.ras.Admin.AkImportRejected", json!({ "reason": reason }))
}

fn ak_failed(e: &AkError) -> VarlinkError {
    VarlinkError::new("io.ras.Admin.AkFailed", json!({ "reason": format!("{:#}", anyhow::Error::msg(e.to_string())) }))
}

fn info_of(ctx: &CallContext, r: Registration) -> ContainerInfo {
    let agent = ctx.daemon.agents.has(&AgentKey::Container(r.container()));
    ContainerInfo {
        id: r.id,
        runtime: r.runtime.to_string(),
        name: r.name,
        pid_ns: r.pid_ns,
        registered_at: r.registered_at,
        agent,
    }
}

fn not_found(p: &ContainerParams, reason: &str) -> VarlinkError {
    VarlinkError::new(
        "io.ras.Admin.ContainerNotFound",
        json!({ "container": p.container, "type": p.runtime, "reason": reason }),
    )
}

fn runtime_of(p: &ContainerParams) -> Result<Runtime, VarlinkError> {
    Runtime::parse(&p.runtime).ok_or_else(|| VarlinkError::invalid_parameter("type"))
}

/// `ListContainers`.
pub async fn list_containers(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    authorize(ctx).await?;
    let containers = ctx.daemon.registry.list().into_iter().map(|r| info_of(ctx, r)).collect();
    reply(&ContainerList { containers })
}

/// `AddContainer`.
pub async fn add_container(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: ContainerParams = req.params()?;
    let runtime = runtime_of(&p)?;
    authorize(ctx).await?;
    match register(&ctx.daemon, runtime, &p.container).await {
        Ok(reg) => reply(&AddContainerReply { container: info_of(ctx, reg) }),
        Err(RegisterError::NotFound(reason)) => Err(not_found(&p, &reason)),
        Err(e) => Err(not_found(&p, &format!("{:#}", anyhow::Error::from(e)))),
    }
}

/// `RemoveContainer`.
pub async fn remove_container(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: ContainerParams = req.params()?;
    let runtime = runtime_of(&p)?;
    authorize(ctx).await?;
    let d = &ctx.daemon;
    let reg = d.registry.find(runtime, &p.container).map_err(|e| match e {
        Lookup::None => not_found(&p, "no such registration"),
        Lookup::Ambiguous => not_found(&p, "several registrations match; give more of the id"),
    })?;
    let reg = reg.reg;
    d.agents.evict(&AgentKey::Container(reg.container()));
    d.registry.remove(&reg.container(), None).map_err(|e| not_found(&p, &format!("persist: {e}")))?;
    info!(container = %reg.id, runtime = %reg.runtime, "registration removed by operator");
    Ok(json!({}))
}
