//! Registered containers: `{id, type, name, pid_ns, registered_at}`, persisted atomically in
//! `<state>/containers.json`.
//!
//! Registration finds the container's init process on the host from the kernel alone (a
//! process whose cgroup names the container and whose innermost pid is 1) and records its
//! pid namespace. Connections from the container must come from that namespace or one nested
//! in it. A registration leaves when the init process exits (its pidfd turns readable), after
//! failed health checks, or when an operator removes it.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::identity::{ContainerRef, ExeCache, Identity, Peer, Placement, Runtime};
use crate::state::write_atomic;

/// One registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Full container id.
    pub id: String,
    /// Runtime.
    #[serde(rename = "type")]
    pub runtime: Runtime,
    /// Runtime's name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Inode of the container's pid namespace (its init's).
    pub pid_ns: u64,
    /// Seconds since the epoch.
    pub registered_at: i64,
}

impl Registration {
    /// The key.
    pub fn container(&self) -> ContainerRef {
        ContainerRef { runtime: self.runtime, id: self.id.clone() }
    }

    /// True when a caller with this pid-namespace chain belongs to the container: its own
    /// namespace or any ancestor is the registered one (nested namespaces inside count).
    pub fn admits(&self, pid_ns_chain: &[u64]) -> bool {
        pid_ns_chain.contains(&self.pid_ns)
    }
}

/// The registry.
pub struct Registry {
    path: PathBuf,
    map: Mutex<HashMap<ContainerRef, Registration>>,
}

impl Registry {
    /// Loads `<state>/containers.json` (empty when missing).
    pub fn open(state_dir: &Path) -> io::Result<Self> {
        let path = state_dir.join("containers.json");
        let list: Vec<Registration> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let map = list.into_iter().map(|r| (r.container(), r)).collect();
        Ok(Registry { path, map: Mutex::new(map) })
    }

    fn persist(&self, map: &HashMap<ContainerRef, Registration>) -> io::Result<()> {
        let mut list: Vec<&Registration> = map.values().collect();
        list.sort_by(|a, b| (a.runtime.as_str(), &a.id).cmp(&(b.runtime.as_str(), &b.id)));
        write_atomic(&self.path, &serde_json::to_vec_pretty(&list).expect("registrations serialize"), 0o600)
    }

    /// The registration of a container.
    pub fn get(&self, c: &ContainerRef) -> Option<Registration> {
        self.map.lock().expect("registry lock").get(c).cloned()
    }

    /// All registrations, sorted.
    pub fn list(&self) -> Vec<Registration> {
        let mut v: Vec<Registration> = self.map.lock().expect("registry lock").values().cloned().collect();
        v.sort_by(|a, b| (a.runtime.as_str(), &a.id).cmp(&(b.runtime.as_str(), &b.id)));
        v
    }

    /// Adds or replaces a registration, durably.
    pub fn insert(&self, r: Registration) -> io::Result<()> {
        let mut map = self.map.lock().expect("registry lock");
        let old = map.insert(r.container(), r.clone());
        if let Err(e) = self.persist(&map) {
            // Keep memory and disk in agreement.
            match old {
                Some(o) => map.insert(r.container(), o),
                None => map.remove(&r.container()),
            };
            return Err(e);
        }
        Ok(())
    }

    /// Removes a registration, but only if it still has `pid_ns` (when given), so a late exit
    /// notice of an old instance cannot remove its successor.
    pub fn remove(&self, c: &ContainerRef, pid_ns: Option<u64>) -> io::Result<Option<Registration>> {
        let mut map = self.map.lock().expect("registry lock");
        if pid_ns.is_some_and(|ns| map.get(c).is_some_and(|r| r.pid_ns != ns)) {
            return Ok(None);
        }
        let removed = map.remove(c);
        if removed.is_some() {
            self.persist(&map)?;
        }
        Ok(removed)
    }

    /// Finds a registration by full id, a unique prefix of 12 or more, or its name.
    pub fn find(&self, runtime: Runtime, key: &str) -> Result<Registration, Lookup> {
        let map = self.map.lock().expect("registry lock");
        let hits: Vec<&Registration> = map
            .values()
            .filter(|r| r.runtime == runtime)
            .filter(|r| r.id == key || (key.len() >= 12 && r.id.starts_with(key)) || r.name.as_deref() == Some(key))
            .collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Lookup::None),
            _ => Err(Lookup::Ambiguous),
        }
    }
}

/// Why a lookup found no single registration.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Nothing matches.
    None,
    /// Several match.
    Ambiguous,
}

/// The init process of a running container: a pinned peer and what the kernel says of it.
pub struct Init {
    /// The process, pinned by a pidfd.
    pub peer: Peer,
    /// Its identity.
    pub identity: Identity,
}

/// Scans `/proc` for the container's init process: its cgroup names the container and its
/// innermost pid (`NSpid`) is 1. Blocking.
pub fn find_init(c: &ContainerRef, cache: &ExeCache) -> io::Result<Option<Init>> {
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry.ok().and_then(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok())) else {
            continue;
        };
        // A cheap unpinned filter first; the pinned snapshot below decides.
        let Ok(cgroup) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else { continue };
        if crate::identity::cgroup::placement(&cgroup) != Placement::Container(c.clone()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { continue };
        if innermost_pid(&status) != Some(1) {
            continue;
        }
        let Ok(peer) = Peer::from_pid(pid) else { continue };
        let Ok(identity) = peer.snapshot(cache) else { continue };
        if identity.placement == Placement::Container(c.clone()) {
            return Ok(Some(Init { peer, identity }));
        }
    }
    Ok(None)
}

/// The last `NSpid` field: the pid in the innermost namespace.
fn innermost_pid(status: &str) -> Option<i32> {
    status.lines().find_map(|l| l.strip_prefix("NSpid:")).and_then(|v| v.split_whitespace().last()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f";

    fn reg(id: &str, name: Option<&str>, ns: u64) -> Registration {
        Registration {
            id: id.into(),
            runtime: Runtime::Docker,
            name: name.map(String::from),
            pid_ns: ns,
            registered_at: 1,
        }
    }

    #[test]
    fn persists_finds_and_removes() {
        let d = tempfile::tempdir().unwrap();
        let r = Registry::open(d.path()).unwrap();
        r.insert(reg(A, Some("web"), 7)).unwrap();
        let again = Registry::open(d.path()).unwrap();
        assert_eq!(again.list(), vec![reg(A, Some("web"), 7)]);
        assert_eq!(again.find(Runtime::Docker, &A[..12]).unwrap().id, A);
        assert_eq!(again.find(Runtime::Docker, "web").unwrap().id, A);
        assert_eq!(again.find(Runtime::Docker, &A[..8]), Err(Lookup::None), "short prefixes do not match");
        assert_eq!(again.find(Runtime::Podman, A), Err(Lookup::None));
        // A stale exit notice (other pid ns) does not remove the current instance.
        assert_eq!(again.remove(&reg(A, None, 7).container(), Some(8)).unwrap(), None);
        assert!(again.remove(&reg(A, None, 7).container(), Some(7)).unwrap().is_some());
        assert!(Registry::open(d.path()).unwrap().list().is_empty());
    }

    #[test]
    fn nested_namespaces_are_admitted() {
        let r = reg(A, None, 7);
        assert!(r.admits(&[7, 1]));
        assert!(r.admits(&[9, 7, 1]), "a pid namespace nested in the container's");
        assert!(!r.admits(&[1]), "the host's");
        assert!(!r.admits(&[8, 1]), "a sibling");
    }

    #[test]
    fn nspid() {
        assert_eq!(innermost_pid("Name:\tsh\nNSpid:\t4242\t1\n"), Some(1));
        assert_eq!(innermost_pid("NSpid:\t4242\n"), Some(4242));
        assert_eq!(innermost_pid("Name:\tsh\n"), None);
    }
}
