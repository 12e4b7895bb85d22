//! Registered containers: `{id, type, name, pid_ns, init_pid, init_start, registered_at}`,
//! persisted atomically in `<state>/containers.json`, and the pinned init of each.
//!
//! A container is bound to the init process its runtime reports (Docker's `State.Pid`; a
//! `/proc` scan that must find exactly one outermost candidate for runtimes rasd has no API
//! client for), and only after the kernel agrees ([`verify_init`]): the process's cgroup names
//! the container under the runtime's own parent, it is pid 1 of its own pid namespace, that
//! namespace is not rasd's, and the cgroup directories are root's (not delegated). The init is
//! then pinned: its pidfd, its pid-namespace fd and its root directory. Holding the namespace
//! fd keeps the namespace, so its inode number cannot be handed to a new namespace while the
//! registration lives; the pidfd says whether the init still runs. Connections from the
//! container must come from that namespace or one nested in it. A registration leaves when
//! the init exits (its pidfd turns readable), after failed health checks, or when an operator
//! removes it. Registrations read from disk at start are not trusted until re-verified.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::identity::cgroup::{container_of_path, placement};
use crate::identity::peer::{check_pin, ns_inode, open_pinned, pid_ns_chain, read_text};
use crate::identity::{ContainerRef, Placement, Runtime};
use crate::state::write_atomic;
use crate::sys;

/// One registration, as persisted.
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
    /// The init's pid on the host (0 in files written before it was recorded: never matches).
    #[serde(default)]
    pub init_pid: i32,
    /// The init's start time, in clock ticks since boot (`/proc/<pid>/stat` field 22).
    #[serde(default)]
    pub init_start: u64,
    /// Seconds since the epoch.
    pub registered_at: i64,
}

impl Registration {
    /// The key.
    pub fn container(&self) -> ContainerRef {
        ContainerRef { runtime: self.runtime, id: self.id.clone() }
    }
}

/// The init process of a registered container, pinned at registration.
#[derive(Debug)]
pub struct InitPin {
    /// Host pid.
    pub pid: i32,
    /// Start time in clock ticks since boot.
    pub start: u64,
    /// Inode of its pid namespace.
    pub pid_ns: u64,
    pidfd: OwnedFd,
    /// Held so that the namespace, and with it its inode number, outlives any reuse.
    _ns: File,
    root: File,
}

impl InitPin {
    /// True while the init runs.
    pub fn alive(&self) -> bool {
        sys::pidfd_alive(&self.pidfd)
    }

    /// The pidfd (readable once the init exits).
    pub fn pidfd(&self) -> &OwnedFd {
        &self.pidfd
    }

    /// The container's root directory as the init saw it at registration: container files
    /// are measured through it, never through a caller's root.
    pub fn root(&self) -> &File {
        &self.root
    }
}

/// A live registration: what is persisted, and the pinned init.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The record.
    pub reg: Registration,
    /// The init.
    pub pin: Arc<InitPin>,
}

impl Registered {
    /// True when a caller with this pid-namespace chain belongs to the container: the init
    /// still runs, and the caller's namespace or an ancestor of it is the init's. While the
    /// init runs its namespace is alive, so no other namespace can carry its inode number.
    pub fn admits(&self, pid_ns_chain: &[u64]) -> bool {
        self.pin.alive() && pid_ns_chain.contains(&self.reg.pid_ns)
    }
}

/// The registry of live (verified and pinned) registrations.
pub struct Registry {
    path: PathBuf,
    map: Mutex<HashMap<ContainerRef, Registered>>,
    saved: Mutex<Vec<Registration>>,
}

impl Registry {
    /// Loads `<state>/containers.json` (empty when missing). What it holds is kept aside for
    /// [`Registry::take_saved`]: nothing is live until it was verified again.
    pub fn open(state_dir: &Path) -> io::Result<Self> {
        let path = state_dir.join("containers.json");
        let list: Vec<Registration> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Registry { path, map: Mutex::new(HashMap::new()), saved: Mutex::new(list) })
    }

    /// The registrations found on disk at start, once.
    pub fn take_saved(&self) -> Vec<Registration> {
        std::mem::take(&mut *self.saved.lock().expect("registry lock"))
    }

    fn persist(&self, map: &HashMap<ContainerRef, Registered>) -> io::Result<()> {
        let mut list: Vec<&Registration> = map.values().map(|r| &r.reg).collect();
        list.sort_by(|a, b| (a.runtime.as_str(), &a.id).cmp(&(b.runtime.as_str(), &b.id)));
        write_atomic(&self.path, &serde_json::to_vec_pretty(&list).expect("registrations serialize"), 0o600)
    }

    /// Writes the live registrations (after start-up dropped those that no longer hold).
    pub fn persist_now(&self) -> io::Result<()> {
        let map = self.map.lock().expect("registry lock");
        self.persist(&map)
    }

    /// The registration of a container.
    pub fn get(&self, c: &ContainerRef) -> Option<Registered> {
        self.map.lock().expect("registry lock").get(c).cloned()
    }

    /// All registrations, sorted.
    pub fn list(&self) -> Vec<Registration> {
        let mut v: Vec<Registration> =
            self.map.lock().expect("registry lock").values().map(|r| r.reg.clone()).collect();
        v.sort_by(|a, b| (a.runtime.as_str(), &a.id).cmp(&(b.runtime.as_str(), &b.id)));
        v
    }

    /// Number of live registrations.
    pub fn len(&self) -> usize {
        self.map.lock().expect("registry lock").len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces a registration, durably.
    pub fn insert(&self, r: Registered) -> io::Result<()> {
        let mut map = self.map.lock().expect("registry lock");
        let c = r.reg.container();
        let old = map.insert(c.clone(), r);
        if let Err(e) = self.persist(&map) {
            // Keep memory and disk in agreement.
            match old {
                Some(o) => map.insert(c, o),
                None => map.remove(&c),
            };
            return Err(e);
        }
        Ok(())
    }

    /// Updates the recorded name (the runtime renamed the container), durably.
    pub fn rename(&self, c: &ContainerRef, name: &str) -> io::Result<()> {
        let mut map = self.map.lock().expect("registry lock");
        let Some(r) = map.get_mut(c) else { return Ok(()) };
        if r.reg.name.as_deref() == Some(name) {
            return Ok(());
        }
        let old = r.reg.name.replace(name.to_string());
        if let Err(e) = self.persist(&map) {
            if let Some(r) = map.get_mut(c) {
                r.reg.name = old;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Removes a registration, but only if it still has `pid_ns` (when given), so a late exit
    /// notice of an old instance cannot remove its successor.
    pub fn remove(&self, c: &ContainerRef, pid_ns: Option<u64>) -> io::Result<Option<Registration>> {
        let mut map = self.map.lock().expect("registry lock");
        if pid_ns.is_some_and(|ns| map.get(c).is_some_and(|r| r.reg.pid_ns != ns)) {
            return Ok(None);
        }
        let removed = map.remove(c);
        if removed.is_some() {
            self.persist(&map)?;
        }
        Ok(removed.map(|r| r.reg))
    }

    /// Finds a registration by full id, a unique prefix of 12 or more, or its name.
    pub fn find(&self, runtime: Runtime, key: &str) -> Result<Registered, Lookup> {
        let map = self.map.lock().expect("registry lock");
        let hits: Vec<&Registered> = map
            .values()
            .filter(|r| r.reg.runtime == runtime)
            .filter(|r| {
                let r = &r.reg;
                r.id == key || (key.len() >= 12 && r.id.starts_with(key)) || r.name.as_deref() == Some(key)
            })
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

/// Why a process is not a container's init, or no init could be settled on.
#[derive(Debug, Error)]
pub enum InitError {
    /// The process is gone (or exited while it was read).
    #[error("process {0} is not running")]
    Gone(i32),
    /// Its cgroup does not name the container under the runtime's own parent.
    #[error("process {pid} is not in the container's cgroup (the kernel places it: {found})")]
    NotInContainer {
        /// The pid.
        pid: i32,
        /// Where the kernel places it.
        found: String,
    },
    /// It is not pid 1 of its pid namespace.
    #[error("process {0} is not pid 1 of its pid namespace")]
    NotInit(i32),
    /// It shares rasd's pid namespace (`--pid host`): its processes cannot be told apart from
    /// host processes by their namespace, so the container cannot be registered.
    #[error("process {0} shares the host's pid namespace (a --pid host container cannot be registered)")]
    HostPidNamespace(i32),
    /// A cgroup directory on its path belongs to a user: a delegated cgroup says nothing.
    #[error("cgroup directory {0} is owned by uid {1}, not root: a delegated cgroup is not a container")]
    DelegatedCgroup(String, u32),
    /// None of its cgroup directories could be found under /sys/fs/cgroup.
    #[error("the cgroup directories of process {0} are not under /sys/fs/cgroup")]
    NoCgroupDir(i32),
    /// Several processes could be the init.
    #[error("{0} processes could each be the container's init; refusing to guess")]
    Ambiguous(usize),
    /// No process of the container runs.
    #[error("no process of {0} runs on this host")]
    NotFound(String),
    /// A `/proc` read failed.
    #[error("reading /proc/{0}")]
    Proc(i32, #[source] io::Error),
}

/// Verifies that `pid` is the init of container `c` by the kernel's account, and pins it.
/// `own_pid_ns` is rasd's pid namespace. Blocking.
pub fn verify_init(pid: i32, c: &ContainerRef, own_pid_ns: u64) -> Result<(InitPin, Vec<u64>), InitError> {
    if pid <= 0 {
        return Err(InitError::Gone(pid));
    }
    let pidfd = sys::pidfd_open(pid).map_err(|_| InitError::Gone(pid))?;
    let dir = open_pinned(pid, &pidfd).map_err(|_| InitError::Gone(pid))?;
    let proc_err = |e| InitError::Proc(pid, e);
    let cgroup = read_text(&dir, c"cgroup").map_err(proc_err)?;
    match placement(&cgroup) {
        Placement::Container(found) if found == *c => {}
        other => return Err(InitError::NotInContainer { pid, found: describe(&other) }),
    }
    let pid_ns = ns_inode(&dir, c"ns/pid").map_err(proc_err)?;
    if pid_ns == own_pid_ns {
        return Err(InitError::HostPidNamespace(pid));
    }
    let status = read_text(&dir, c"status").map_err(proc_err)?;
    if innermost_pid(&status) != Some(1) {
        return Err(InitError::NotInit(pid));
    }
    check_cgroup_owner(pid, &cgroup)?;
    let stat = read_text(&dir, c"stat").map_err(proc_err)?;
    let start = start_time(&stat).ok_or_else(|| proc_err(io::Error::new(io::ErrorKind::InvalidData, "stat")))?;
    let chain = pid_ns_chain(&dir).map_err(proc_err)?;
    let ns = sys::openat(&dir, c"ns/pid", false).map_err(proc_err)?;
    let root = sys::openat(&dir, c"root", true).map_err(proc_err)?;
    // The namespace fd must be the namespace checked above, and every read must have been of
    // the live pinned process.
    if ns.metadata().map_err(proc_err)?.ino() != pid_ns {
        return Err(InitError::Gone(pid));
    }
    check_pin(pid, &pidfd).map_err(|_| InitError::Gone(pid))?;
    Ok((InitPin { pid, start, pid_ns, pidfd, _ns: ns, root }, chain))
}

/// Finds the init of `c` by scanning `/proc`, for runtimes rasd has no API client for: every
/// process that passes [`verify_init`] is a candidate, nested ones are dropped (a container
/// may run pid namespaces of its own), and exactly one must remain. Blocking.
pub fn scan_init(c: &ContainerRef, own_pid_ns: u64) -> Result<InitPin, InitError> {
    let mut found: Vec<(InitPin, Vec<u64>)> = Vec::new();
    let entries = std::fs::read_dir("/proc").map_err(|e| InitError::Proc(0, e))?;
    for entry in entries {
        let Some(pid) = entry.ok().and_then(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok())) else {
            continue;
        };
        // A cheap unpinned filter first; verify_init decides through the pin.
        let Ok(cgroup) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else { continue };
        if placement(&cgroup) != Placement::Container(c.clone()) {
            continue;
        }
        if let Ok(candidate) = verify_init(pid, c, own_pid_ns) {
            found.push(candidate);
        }
    }
    // Drop candidates nested inside another candidate's namespace.
    let outer: Vec<usize> = (0..found.len())
        .filter(|&i| !found.iter().enumerate().any(|(j, o)| j != i && found[i].1[1..].contains(&o.0.pid_ns)))
        .collect();
    match outer.as_slice() {
        [one] => Ok(found.swap_remove(*one).0),
        [] => Err(InitError::NotFound(c.to_string())),
        many => Err(InitError::Ambiguous(many.len())),
    }
}

fn describe(p: &Placement) -> String {
    match p {
        Placement::Host => "in no container".into(),
        Placement::Container(c) => format!("in {c}"),
        Placement::Ambiguous => "in several containers".into(),
    }
}

/// Refuses a process whose container cgroup directories, or any of their ancestors, belong
/// to anyone but root: such a cgroup was delegated, and its name says nothing.
fn check_cgroup_owner(pid: i32, cgroup: &str) -> Result<(), InitError> {
    let mut checked = 0;
    for dir in cgroup_dirs(cgroup) {
        let mut p = dir.as_path();
        loop {
            match std::fs::metadata(p) {
                Ok(m) if m.uid() != 0 => return Err(InitError::DelegatedCgroup(p.display().to_string(), m.uid())),
                Ok(_) => checked += 1,
                Err(_) => break,
            }
            match p.parent() {
                Some(parent) if parent.starts_with("/sys/fs/cgroup") => p = parent,
                _ => break,
            }
        }
    }
    if checked == 0 {
        return Err(InitError::NoCgroupDir(pid));
    }
    Ok(())
}

/// The directories under `/sys/fs/cgroup` of the cgroup lines that name a container.
fn cgroup_dirs(cgroup: &str) -> Vec<PathBuf> {
    cgroup
        .lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let (hid, controllers, path) = (it.next()?, it.next()?, it.next()?);
            container_of_path(path)?;
            let base = if hid == "0" && controllers.is_empty() {
                PathBuf::from("/sys/fs/cgroup")
            } else {
                Path::new("/sys/fs/cgroup").join(controllers.trim_start_matches("name="))
            };
            Some(base.join(path.trim_start_matches('/')))
        })
        .collect()
}

/// Field 22 of `/proc/<pid>/stat`, after the parenthesised command name (which may hold
/// spaces and parentheses itself).
fn start_time(stat: &str) -> Option<u64> {
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// The last `NSpid` field: the pid in the innermost namespace.
fn innermost_pid(status: &str) -> Option<i32> {
    status.lines().find_map(|l| l.strip_prefix("NSpid:")).and_then(|v| v.split_whitespace().last()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f";

    /// A pin of this test process, standing in for a container init in registry tests.
    fn pin_self(pid_ns: u64) -> Arc<InitPin> {
        let pid = std::process::id() as i32;
        Arc::new(InitPin {
            pid,
            start: 1,
            pid_ns,
            pidfd: sys::pidfd_open(pid).unwrap(),
            _ns: File::open("/proc/self/ns/pid").unwrap(),
            root: File::open("/").unwrap(),
        })
    }

    fn reg(id: &str, name: Option<&str>, ns: u64) -> Registration {
        Registration {
            id: id.into(),
            runtime: Runtime::Docker,
            name: name.map(String::from),
            pid_ns: ns,
            init_pid: 5,
            init_start: 6,
            registered_at: 1,
        }
    }

    fn live(r: Registration) -> Registered {
        let ns = r.pid_ns;
        Registered { reg: r, pin: pin_self(ns) }
    }

    #[test]
    fn persists_finds_and_removes() {
        let d = tempfile::tempdir().unwrap();
        let r = Registry::open(d.path()).unwrap();
        r.insert(live(reg(A, Some("web"), 7))).unwrap();
        assert_eq!(r.find(Runtime::Docker, &A[..12]).unwrap().reg.id, A);
        assert_eq!(r.find(Runtime::Docker, "web").unwrap().reg.id, A);
        assert!(matches!(r.find(Runtime::Docker, &A[..8]), Err(Lookup::None)), "short prefixes do not match");
        assert!(matches!(r.find(Runtime::Podman, A), Err(Lookup::None)));
        r.rename(&reg(A, None, 7).container(), "web2").unwrap();
        // Reopened: nothing is live until verified; the saved records are handed out once.
        let again = Registry::open(d.path()).unwrap();
        assert!(again.list().is_empty());
        assert_eq!(again.take_saved(), vec![reg(A, Some("web2"), 7)]);
        assert!(again.take_saved().is_empty());
        // A stale exit notice (other pid ns) does not remove the current instance.
        assert_eq!(r.remove(&reg(A, None, 7).container(), Some(8)).unwrap(), None);
        assert!(r.remove(&reg(A, None, 7).container(), Some(7)).unwrap().is_some());
        assert!(Registry::open(d.path()).unwrap().take_saved().is_empty());
    }

    /// What the admin calls and the start-up pruning read: get, list (sorted), len, and
    /// persist_now writing exactly the live set.
    #[test]
    fn get_list_len_and_persist_now_show_the_live_set() {
        const B: &str = "0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b";
        let d = tempfile::tempdir().unwrap();
        let r = Registry::open(d.path()).unwrap();
        assert!(r.is_empty() && r.list().is_empty());
        assert_eq!(r.len(), 0);
        r.insert(live(reg(A, Some("web"), 7))).unwrap();
        r.insert(live(reg(B, None, 9))).unwrap();
        assert_eq!(r.len(), 2);
        assert!(!r.is_empty());
        assert_eq!(r.list(), vec![reg(B, None, 9), reg(A, Some("web"), 7)], "sorted by runtime and id");
        assert_eq!(r.get(&reg(A, None, 7).container()).unwrap().reg, reg(A, Some("web"), 7));
        assert!(r.get(&ContainerRef { runtime: Runtime::Podman, id: A.into() }).is_none());
        // Start-up drops what no longer holds from memory, then writes the rest in one go.
        r.map.lock().unwrap().remove(&reg(B, None, 9).container());
        std::fs::write(d.path().join("containers.json"), "[]").unwrap();
        r.persist_now().unwrap();
        assert_eq!(Registry::open(d.path()).unwrap().take_saved(), vec![reg(A, Some("web"), 7)]);
    }

    /// A missing file is an empty registry; an unreadable or corrupt one stops rasd rather
    /// than silently forgetting every container.
    #[test]
    fn open_tells_a_missing_file_from_a_broken_one() {
        let d = tempfile::tempdir().unwrap();
        assert!(Registry::open(d.path()).unwrap().take_saved().is_empty());
        std::fs::create_dir(d.path().join("containers.json")).unwrap();
        assert!(Registry::open(d.path()).is_err(), "a directory in its place is an error, not an empty registry");
        std::fs::remove_dir(d.path().join("containers.json")).unwrap();
        std::fs::write(d.path().join("containers.json"), "{not json").unwrap();
        assert_eq!(Registry::open(d.path()).err().unwrap().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn old_files_without_the_init_load_and_never_match() {
        let old = format!(r#"[{{"id":"{A}","type":"docker","pid_ns":7,"registered_at":1}}]"#);
        let r: Vec<Registration> = serde_json::from_str(&old).unwrap();
        assert_eq!((r[0].init_pid, r[0].init_start), (0, 0));
    }

    #[test]
    fn nested_namespaces_are_admitted() {
        let r = live(reg(A, None, 7));
        assert!(r.admits(&[7, 1]));
        assert!(r.admits(&[9, 7, 1]), "a pid namespace nested in the container's");
        assert!(!r.admits(&[1]), "the host's");
        assert!(!r.admits(&[8, 1]), "a sibling");
    }

    #[test]
    fn a_dead_init_admits_no_one() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let pidfd = sys::pidfd_open(pid).unwrap();
        child.wait().unwrap();
        let pin = InitPin {
            pid,
            start: 1,
            pid_ns: 7,
            pidfd,
            _ns: File::open("/proc/self/ns/pid").unwrap(),
            root: File::open("/").unwrap(),
        };
        let r = Registered { reg: reg(A, None, 7), pin: Arc::new(pin) };
        assert!(!r.admits(&[7, 1]), "the namespace number may belong to a new namespace now");
    }

    #[test]
    fn this_process_is_no_container_init() {
        let own = std::fs::metadata("/proc/self/ns/pid").unwrap().ino();
        let c = ContainerRef { runtime: Runtime::Docker, id: A.into() };
        let e = verify_init(std::process::id() as i32, &c, own).unwrap_err();
        assert!(matches!(e, InitError::NotInContainer { .. }), "{e}");
        assert!(matches!(verify_init(0, &c, own), Err(InitError::Gone(0))));
    }

    #[test]
    fn proc_fields() {
        assert_eq!(innermost_pid("Name:\tsh\nNSpid:\t4242\t1\n"), Some(1));
        assert_eq!(innermost_pid("NSpid:\t4242\n"), Some(4242));
        assert_eq!(innermost_pid("Name:\tsh\n"), None);
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(start_time(stat), Some(98765));
        assert_eq!(start_time("garbage"), None);
    }

    #[test]
    fn cgroup_directories_of_container_lines() {
        let f = format!("12:pids:/docker/{A}\n1:name=systemd:/docker/{A}\n0::/user.slice\n");
        let dirs = cgroup_dirs(&f);
        assert_eq!(
            dirs,
            vec![
                PathBuf::from(format!("/sys/fs/cgroup/pids/docker/{A}")),
                PathBuf::from(format!("/sys/fs/cgroup/systemd/docker/{A}"))
            ]
        );
        assert_eq!(
            cgroup_dirs(&format!("0::/docker/{A}\n")),
            vec![PathBuf::from(format!("/sys/fs/cgroup/docker/{A}"))]
        );
    }
}
