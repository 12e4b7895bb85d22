//! The life of a registration: register a running container (ask its runtime for the init,
//! let the kernel confirm it, pin it, persist), watch the init's pidfd so the registration
//! leaves when the container stops, and re-verify registrations at start-up, dropping every
//! one that no longer matches. Nothing here ever picks a different process than the one that
//! was verified. [`registry`] holds the registrations; [`docker_api`] asks Docker.

pub mod docker_api;
pub mod registry;

use std::sync::Arc;

use thiserror::Error;
use tracing::{info, warn};

use crate::agents::AgentKey;
use crate::clock::unix_now;
use crate::daemon::Daemon;
use crate::identity::{ContainerRef, Runtime};
use registry::{scan_init, verify_init, InitError, InitPin, Registered, Registration};

/// Why a container could not be registered.
#[derive(Debug, Error)]
pub enum RegisterError {
    /// The runtime does not know the container, or it is not running.
    #[error("{0}")]
    NotFound(String),
    /// The kernel does not confirm the process the runtime named.
    #[error("the kernel does not confirm {container}'s init")]
    Unverified {
        /// The container.
        container: String,
        /// What failed.
        #[source]
        source: InitError,
    },
    /// Persisting the registration failed.
    #[error("persist registration")]
    Persist(#[source] std::io::Error),
}

/// What the runtime says about a container: its id, name and init pid.
struct RuntimeView {
    id: String,
    name: Option<String>,
    /// `None` for runtimes rasd has no API client for: the init is found by a scan.
    init: Option<i32>,
}

/// Asks the runtime about `key` (a full id, a 12+ hex prefix, or a docker name).
fn ask_runtime(daemon: &Daemon, runtime: Runtime, key: &str) -> Result<RuntimeView, RegisterError> {
    if runtime == Runtime::Docker {
        let i = docker_api::inspect(&daemon.config.docker_socket, key)
            .map_err(|e| RegisterError::NotFound(format!("docker does not know {key:?}: {e:#}")))?;
        if !i.running || i.pid <= 0 {
            return Err(RegisterError::NotFound(format!("docker container {key:?} is not running")));
        }
        return Ok(RuntimeView { id: i.id, name: Some(i.name), init: Some(i.pid) });
    }
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(RuntimeView { id: key.to_ascii_lowercase(), name: None, init: None });
    }
    Err(RegisterError::NotFound(format!("{runtime} containers are registered by their full 64-digit id")))
}

/// The init of a container, verified and pinned: the runtime's pid when it reports one,
/// else the one outermost candidate of a scan.
fn locate(daemon: &Daemon, c: &ContainerRef, init: Option<i32>) -> Result<InitPin, RegisterError> {
    let verified = match init {
        Some(pid) => verify_init(pid, c, daemon.own_pid_ns).map(|(pin, _)| pin),
        None => scan_init(c, daemon.own_pid_ns),
    };
    verified.map_err(|source| RegisterError::Unverified { container: c.to_string(), source })
}

/// Registers a running container and starts watching for its exit. Blocking parts run off
/// the runtime. Registering a container that is registered already, with the same init,
/// changes nothing.
pub async fn register(daemon: &Arc<Daemon>, runtime: Runtime, key: &str) -> Result<Registration, RegisterError> {
    let d = daemon.clone();
    let key = key.to_string();
    let (registered, fresh) = tokio::task::spawn_blocking(move || {
        let view = ask_runtime(&d, runtime, &key)?;
        let c = ContainerRef { runtime, id: view.id.clone() };
        let pin = locate(&d, &c, view.init)?;
        if let Some(current) = d.registry.get(&c) {
            if current.pin.alive() && current.reg.init_pid == pin.pid && current.reg.init_start == pin.start {
                return Ok((current, false));
            }
        }
        let reg = Registration {
            id: view.id,
            runtime,
            name: view.name,
            pid_ns: pin.pid_ns,
            init_pid: pin.pid,
            init_start: pin.start,
            registered_at: unix_now(),
        };
        let registered = Registered { reg, pin: Arc::new(pin) };
        d.registry.insert(registered.clone()).map_err(RegisterError::Persist)?;
        Ok::<_, RegisterError>((registered, true))
    })
    .await
    .map_err(|e| RegisterError::NotFound(format!("register task: {e}")))??;
    if fresh {
        let r = &registered.reg;
        info!(container = %r.id, runtime = %r.runtime, name = ?r.name, pid_ns = r.pid_ns, init = r.init_pid, "container registered");
        watch_exit(daemon.clone(), registered.clone());
    }
    Ok(registered.reg)
}

/// Removes the registration (and drops the agent) when the container's init exits.
fn watch_exit(daemon: Arc<Daemon>, registered: Registered) {
    tokio::spawn(async move {
        let reg = registered.reg;
        let fd = match registered.pin.pidfd().try_clone() {
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

/// Re-verifies one saved registration: the runtime (when rasd can ask it) must still name the
/// same init, and the kernel must confirm that it is the same process (pid, start time) in
/// the same pid namespace.
fn reverify(daemon: &Daemon, reg: &Registration) -> Result<InitPin, String> {
    let c = reg.container();
    if reg.runtime == Runtime::Docker {
        let view = ask_runtime(daemon, reg.runtime, &reg.id).map_err(|e| e.to_string())?;
        if view.init != Some(reg.init_pid) {
            return Err(format!("docker now names init {:?}, registered {}", view.init, reg.init_pid));
        }
    }
    let (pin, _) = verify_init(reg.init_pid, &c, daemon.own_pid_ns).map_err(|e| e.to_string())?;
    if (pin.start, pin.pid_ns) != (reg.init_start, reg.pid_ns) {
        return Err("the init was replaced (start time or pid namespace differ)".into());
    }
    Ok(pin)
}

/// At start-up: keeps the saved registrations whose init is verifiably the same process,
/// and watches them; drops the others, and writes the result.
pub async fn restore(daemon: &Arc<Daemon>) {
    for reg in daemon.registry.take_saved() {
        let d = daemon.clone();
        let r = reg.clone();
        let checked = tokio::task::spawn_blocking(move || reverify(&d, &r)).await;
        match checked {
            Ok(Ok(pin)) => {
                let registered = Registered { reg, pin: Arc::new(pin) };
                if let Err(e) = daemon.registry.insert(registered.clone()) {
                    warn!(cause = %e, "restoring a registration failed");
                    continue;
                }
                info!(container = %registered.reg.id, runtime = %registered.reg.runtime, "registration restored");
                watch_exit(daemon.clone(), registered);
            }
            Ok(Err(why)) => {
                info!(container = %reg.id, runtime = %reg.runtime, reason = %why, "container gone or restarted while rasd was down; registration dropped");
            }
            Err(e) => warn!(cause = %e, "restore task failed"),
        }
    }
    if let Err(e) = daemon.registry.persist_now() {
        warn!(cause = %e, "writing the restored registrations failed");
    }
}
