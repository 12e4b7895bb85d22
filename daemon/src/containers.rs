//! The life of a registration: register a running container (find its init from the kernel,
//! look its name up, persist), watch its init's pidfd so the registration leaves when the
//! container stops, and restore registrations at start-up for containers still running.

use std::sync::Arc;

use thiserror::Error;
use tracing::{info, warn};

use crate::agents::AgentKey;
use crate::identity::{ContainerRef, Runtime};
use crate::registry::{find_init, Init, Registration};
use crate::{docker_api, unix_now, Daemon};

/// Why a container could not be registered.
#[derive(Debug, Error)]
pub enum RegisterError {
    /// No running container matches.
    #[error("{0}")]
    NotFound(String),
    /// Persisting the registration failed.
    #[error("persist registration")]
    Persist(#[source] std::io::Error),
}

/// Resolves `key` (a full id, a 12+ hex prefix, or a docker name) to a container id.
fn resolve_id(daemon: &Daemon, runtime: Runtime, key: &str) -> Result<(String, Option<String>), RegisterError> {
    let is_hex = !key.is_empty() && key.bytes().all(|b| b.is_ascii_hexdigit());
    if runtime == Runtime::Docker {
        match docker_api::inspect(&daemon.config.docker_socket, key) {
            Ok(i) => return Ok((i.id, Some(i.name))),
            Err(e) if !(is_hex && key.len() == 64) => {
                return Err(RegisterError::NotFound(format!("docker does not know {key:?}: {e:#}")));
            }
            Err(_) => {}
        }
    }
    if is_hex && key.len() == 64 {
        return Ok((key.to_ascii_lowercase(), None));
    }
    Err(RegisterError::NotFound(format!("{runtime} containers are registered by their full 64-digit id")))
}

/// Registers a running container and starts watching for its exit. Blocking parts run off
/// the runtime.
pub async fn register(daemon: &Arc<Daemon>, runtime: Runtime, key: &str) -> Result<Registration, RegisterError> {
    let d = daemon.clone();
    let key = key.to_string();
    let (reg, init) = tokio::task::spawn_blocking(move || {
        let (id, name) = resolve_id(&d, runtime, &key)?;
        let c = ContainerRef { runtime, id: id.clone() };
        let init = find_init(&c, &d.exe_cache)
            .map_err(|e| RegisterError::NotFound(format!("scan /proc: {e}")))?
            .ok_or_else(|| RegisterError::NotFound(format!("no process of {c} runs on this host")))?;
        let pid_ns = *init.identity.pid_ns_chain.first().expect("chain has the own namespace");
        let reg = Registration { id, runtime, name, pid_ns, registered_at: unix_now() };
        d.registry.insert(reg.clone()).map_err(RegisterError::Persist)?;
        Ok::<_, RegisterError>((reg, init))
    })
    .await
    .map_err(|e| RegisterError::NotFound(format!("register task: {e}")))??;
    info!(container = %reg.id, runtime = %reg.runtime, name = ?reg.name, pid_ns = reg.pid_ns, init = init.peer.pid, "container registered");
    watch_exit(daemon.clone(), reg.clone(), init);
    Ok(reg)
}

/// Removes the registration (and drops the agent) when the container's init exits.
fn watch_exit(daemon: Arc<Daemon>, reg: Registration, init: Init) {
    tokio::spawn(async move {
        let fd = match init.peer.pidfd().try_clone() {
            Ok(fd) => fd,
            Err(e) => return warn!(cause = %e, "cannot watch container init"),
        };
        if let Err(e) = crate::sys::wait_exit(fd).await {
            return warn!(cause = %e, "cannot watch container init");
        }
        let c = reg.container();
        daemon.agents.evict(&AgentKey::Container(c.clone()));
        match daemon.registry.remove(&c, Some(reg.pid_ns)) {
            Ok(Some(_)) => info!(container = %reg.id, runtime = %reg.runtime, "container exited; registration removed"),
            Ok(None) => {}
            Err(e) => warn!(cause = %e, container = %reg.id, "container exited; removing its registration failed"),
        }
    });
}

/// At start-up: keeps registrations whose container still runs in the same pid namespace,
/// and watches them; drops the others.
pub async fn restore(daemon: &Arc<Daemon>) {
    for reg in daemon.registry.list() {
        let d = daemon.clone();
        let c = reg.container();
        let found = tokio::task::spawn_blocking(move || find_init(&c, &d.exe_cache)).await;
        match found {
            Ok(Ok(Some(init))) if init.identity.pid_ns_chain.first() == Some(&reg.pid_ns) => {
                info!(container = %reg.id, runtime = %reg.runtime, "registration restored");
                watch_exit(daemon.clone(), reg, init);
            }
            _ => {
                info!(container = %reg.id, runtime = %reg.runtime, "container gone or restarted while rasd was down; registration dropped");
                let _ = daemon.registry.remove(&reg.container(), Some(reg.pid_ns));
            }
        }
    }
}
