//! `io.ras.Admin`: status, the AK, and container registrations. Only root and the admin
//! group get here ([`crate::subject::authorize_admin`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ras_proto::api::admin::{
    AddContainer, Added, AdminError, Ak, Container, ContainerList, Csr, ImportAkCertificate, Imported, RemoveContainer,
    Status,
};
use ras_proto::api::Empty;
use ras_proto::VarlinkError;
use tracing::{info, warn};

use crate::agents::AgentKey;
use crate::ak::AkError;
use crate::clock::unix_now;
use crate::containers::registry::{Lookup, Registration};
use crate::containers::{register, RegisterError};
use crate::daemon::Daemon;
use crate::identity::Runtime;

/// `GetStatus`.
pub fn get_status(d: &Daemon) -> Status {
    let (proves, does_not_prove) = d.tee.claims();
    let (quotes, quoted) = d.tee.quote_counts();
    Status {
        version: env!("CARGO_PKG_VERSION").into(),
        tee: d.tee.kind().into(),
        proves: proves.into(),
        does_not_prove: does_not_prove.into(),
        quotes: quotes as i64,
        quoted: quoted as i64,
        ak_mode: d.ak.mode().into(),
        ak_fingerprint: d.ak.fingerprint(),
        started_at: d.started_at,
        uptime_secs: unix_now() - d.started_at,
        connections: d.connections.load(Ordering::Relaxed),
        calls: d.calls.load(Ordering::Relaxed),
        containers: d.registry.len() as i64,
        agents: d.agents.count() as i64,
    }
}

/// `GetAk`.
pub fn get_ak(d: &Daemon) -> Ak {
    Ak { mode: d.ak.mode().into(), fingerprint: d.ak.fingerprint(), chain: d.ak.chain_pem() }
}

fn ak_failed(e: &AkError) -> VarlinkError {
    AdminError::AkFailed { reason: e.to_string() }.into()
}

/// `CreateAkCsr`. A fresh TEE report can take seconds (a TDX quote waits for the host's
/// quoting service), so it is made on the blocking pool, not on a worker thread.
pub async fn create_ak_csr(d: &Arc<Daemon>) -> Result<Csr, VarlinkError> {
    let daemon = d.clone();
    let made = tokio::task::spawn_blocking(move || daemon.ak.csr(daemon.tee.as_ref()))
        .await
        .map_err(|e| VarlinkError::from(AdminError::AkFailed { reason: e.to_string() }))?;
    Ok(Csr { csr: made.map_err(|e| ak_failed(&e))? })
}

/// `ImportAkCertificate`.
pub fn import_ak_certificate(d: &Daemon, call: ImportAkCertificate) -> Result<Imported, VarlinkError> {
    match d.ak.import(&call.chain) {
        Ok(()) => {
            info!(mode = d.ak.mode(), "AK certificate chain imported");
            Ok(Imported { mode: d.ak.mode().into(), fingerprint: d.ak.fingerprint() })
        }
        Err(AkError::ImportRejected(reason)) => {
            warn!(%reason, "AK certificate import refused");
            Err(AdminError::AkImportRejected { reason }.into())
        }
        Err(e) => Err(ak_failed(&e)),
    }
}

fn info_of(d: &Daemon, r: Registration) -> Container {
    let agent = d.agents.has(&AgentKey::Container(r.container()));
    Container {
        id: r.id,
        runtime: r.runtime.to_string(),
        name: r.name,
        pid_ns: r.pid_ns,
        registered_at: r.registered_at,
        agent,
    }
}

fn not_found(container: &str, runtime: &str, reason: String) -> VarlinkError {
    AdminError::ContainerNotFound { container: container.into(), r#type: runtime.into(), reason }.into()
}

fn runtime_of(runtime: &str) -> Result<Runtime, VarlinkError> {
    Runtime::parse(runtime).ok_or_else(|| VarlinkError::invalid_parameter("type"))
}

/// `ListContainers`.
pub fn list_containers(d: &Daemon) -> ContainerList {
    ContainerList { containers: d.registry.list().into_iter().map(|r| info_of(d, r)).collect() }
}

/// `AddContainer`.
pub async fn add_container(d: &Arc<Daemon>, call: AddContainer) -> Result<Added, VarlinkError> {
    let runtime = runtime_of(&call.runtime)?;
    match register(d, runtime, &call.container).await {
        Ok(reg) => Ok(Added { container: info_of(d, reg) }),
        Err(RegisterError::NotFound(reason)) => Err(not_found(&call.container, &call.runtime, reason)),
        Err(e) => Err(not_found(&call.container, &call.runtime, format!("{:#}", anyhow::Error::from(e)))),
    }
}

/// `RemoveContainer`.
pub fn remove_container(d: &Daemon, call: RemoveContainer) -> Result<Empty, VarlinkError> {
    let runtime = runtime_of(&call.runtime)?;
    let not_found = |reason: &str| not_found(&call.container, &call.runtime, reason.into());
    let reg = d.registry.find(runtime, &call.container).map_err(|e| match e {
        Lookup::None => not_found("no such registration"),
        Lookup::Ambiguous => not_found("several registrations match; give more of the id"),
    })?;
    let reg = reg.reg;
    d.agents.evict(&AgentKey::Container(reg.container()));
    d.registry.remove(&reg.container(), None).map_err(|e| not_found(&format!("persist: {e}")))?;
    info!(container = %reg.id, runtime = %reg.runtime, "registration removed by operator");
    Ok(Empty {})
}
