//! The peer of one unix connection: kernel credentials pinned by a pidfd, and the snapshot of
//! its `/proc` entries read through the pin.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use thiserror::Error;

use ras_evidence::claims::Measurement;

use super::cgroup::{placement, Placement};
use super::ExeCache;
use crate::sys;

/// Bound on `/proc` text files we read (cgroup, status).
const MAX_PROC_FILE: u64 = 64 * 1024;

/// Why a peer could not be identified.
#[derive(Debug, Error)]
pub enum IdentityError {
    /// `SO_PEERCRED` failed.
    #[error("reading SO_PEERCRED")]
    PeerCred(#[source] io::Error),
    /// No pidfd could be had for the peer.
    #[error("pinning the peer with a pidfd")]
    Pidfd(#[source] io::Error),
    /// The pinned process is gone, or its pid now names another process.
    #[error("process {0} exited or its pid was reused")]
    Gone(i32),
    /// A `/proc` read failed.
    #[error("reading /proc/{pid}/{what}")]
    Proc {
        /// The peer pid.
        pid: i32,
        /// The entry.
        what: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A connected peer: credentials as of `connect()`, and a pidfd that pins its process.
#[derive(Debug)]
pub struct Peer {
    /// Process id in rasd's pid namespace.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    pidfd: OwnedFd,
}

/// Namespace inodes of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Namespaces {
    /// `ns/pid`
    pub pid: u64,
    /// `ns/mnt`
    pub mnt: u64,
    /// `ns/net`
    pub net: u64,
    /// `ns/user`
    pub user: u64,
    /// `ns/cgroup`
    pub cgroup: u64,
}

/// What the kernel says about a peer at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Process id.
    pub pid: i32,
    /// User id (`SO_PEERCRED`).
    pub uid: u32,
    /// Group id (`SO_PEERCRED`).
    pub gid: u32,
    /// Supplementary groups (`/proc/<pid>/status`).
    pub groups: Vec<u32>,
    /// Namespace inodes.
    pub ns: Namespaces,
    /// `/proc/<pid>/cgroup`, verbatim.
    pub cgroup: String,
    /// The executable's path.
    pub exe: String,
    /// sha256 of the executable.
    pub exe_sha256: String,
    /// Inode of the pid namespace, then of each ancestor up to rasd's own (via NS_GET_PARENT).
    pub pid_ns_chain: Vec<u64>,
    /// Which container the cgroup path names.
    pub placement: Placement,
}

impl Peer {
    /// Reads the peer's credentials and pins its process.
    pub fn from_socket(sock: &impl std::os::fd::AsFd) -> Result<Self, IdentityError> {
        let cred = getsockopt(sock, PeerCredentials).map_err(|e| IdentityError::PeerCred(e.into()))?;
        let pid = cred.pid();
        let pidfd = match sys::peer_pidfd(&sock.as_fd()).map_err(IdentityError::Pidfd)? {
            Some(fd) => fd,
            // Older kernels: pin now. The check in `open_pinned` still refuses a pid whose
            // process has gone; a reuse before this line is the residual race on such kernels.
            None => sys::pidfd_open(pid).map_err(IdentityError::Pidfd)?,
        };
        Ok(Peer { pid, uid: cred.uid(), gid: cred.gid(), pidfd })
    }

    /// Pins a process found some other way (a /proc scan). The credentials are the process's
    /// real uid and gid.
    pub fn from_pid(pid: i32) -> Result<Self, IdentityError> {
        let pidfd = sys::pidfd_open(pid).map_err(IdentityError::Pidfd)?;
        let dir = open_pinned(pid, &pidfd)?;
        let status =
            read_text(&dir, c"status").map_err(|source| IdentityError::Proc { pid, what: "status", source })?;
        let field = |name: &str| -> u32 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(u32::MAX)
        };
        Ok(Peer { pid, uid: field("Uid:"), gid: field("Gid:"), pidfd })
    }

    /// The pidfd, which turns readable when the process exits.
    pub fn pidfd(&self) -> &OwnedFd {
        &self.pidfd
    }

    /// A peer from parts, for tests of the pinning path.
    #[cfg(test)]
    pub fn from_parts(pid: i32, uid: u32, gid: u32, pidfd: OwnedFd) -> Self {
        Peer { pid, uid, gid, pidfd }
    }

    /// Reads the peer's `/proc` entries through the pin. Blocking: call off the async runtime.
    pub fn snapshot(&self, cache: &ExeCache) -> Result<Identity, IdentityError> {
        let dir = open_pinned(self.pid, &self.pidfd)?;
        let pid = self.pid;
        let proc_err = |what: &'static str| move |source: io::Error| IdentityError::Proc { pid, what, source };
        let ns = Namespaces {
            pid: ns_inode(&dir, c"ns/pid").map_err(proc_err("ns/pid"))?,
            mnt: ns_inode(&dir, c"ns/mnt").map_err(proc_err("ns/mnt"))?,
            net: ns_inode(&dir, c"ns/net").map_err(proc_err("ns/net"))?,
            user: ns_inode(&dir, c"ns/user").map_err(proc_err("ns/user"))?,
            cgroup: ns_inode(&dir, c"ns/cgroup").map_err(proc_err("ns/cgroup"))?,
        };
        let cgroup = read_text(&dir, c"cgroup").map_err(proc_err("cgroup"))?;
        let status = read_text(&dir, c"status").map_err(proc_err("status"))?;
        let exe = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), "exe")
            .map_err(|e| proc_err("exe")(e.into()))?
            .to_string_lossy()
            .into_owned();
        let pid_ns_chain = pid_ns_chain(&dir).map_err(proc_err("ns/pid"))?;
        let exe_file = sys::openat(&dir, c"exe", false).map_err(proc_err("exe"))?;
        let exe_sha256 = cache.digest(exe_file).map_err(proc_err("exe"))?;
        // The reads above went through `dir`; confirm the process still lives so that none of
        // them raced its exit (a dead process's entries read as errors, never as another's).
        check_pin(self.pid, &self.pidfd)?;
        let placement = placement(&cgroup);
        Ok(Identity {
            pid,
            uid: self.uid,
            gid: self.gid,
            groups: parse_groups(&status),
            ns,
            cgroup,
            exe,
            exe_sha256,
            pid_ns_chain,
            placement,
        })
    }

    /// Measures files inside the peer's root filesystem (`/proc/<pid>/root`), resolving each
    /// path as if that root were `/`, so symlinks and `..` cannot lead out of the container.
    pub fn measure_files(&self, paths: &[String]) -> Result<Vec<Measurement>, IdentityError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let dir = open_pinned(self.pid, &self.pidfd)?;
        let pid = self.pid;
        let root =
            sys::openat(&dir, c"root", true).map_err(|source| IdentityError::Proc { pid, what: "root", source })?;
        let out = paths
            .iter()
            .map(|path| {
                let (sha256, error) = match digest_in_root(&root, path) {
                    Ok(d) => (d, None),
                    Err(e) => (String::new(), Some(e.to_string())),
                };
                Measurement { name: format!("file:{path}"), sha256, source: "rasd".into(), error }
            })
            .collect();
        check_pin(self.pid, &self.pidfd)?;
        Ok(out)
    }
}

/// Opens `/proc/<pid>` and proves it belongs to the process `pidfd` pins.
pub fn open_pinned(pid: i32, pidfd: &OwnedFd) -> Result<OwnedFd, IdentityError> {
    // A directory fd: reads through it fail once the process is gone, never reach another.
    let dir = File::open(format!("/proc/{pid}")).map_err(|_| IdentityError::Gone(pid))?;
    check_pin(pid, pidfd)?;
    Ok(OwnedFd::from(dir))
}

/// Fails unless `pidfd` still names a live process with this `pid`.
fn check_pin(pid: i32, pidfd: &OwnedFd) -> Result<(), IdentityError> {
    match pidfd_pid(pidfd) {
        Ok(Some(p)) if p == pid => Ok(()),
        _ => Err(IdentityError::Gone(pid)),
    }
}

/// The pid a pidfd names, from `/proc/self/fdinfo` (`Pid: -1` once the process is gone).
fn pidfd_pid(pidfd: &OwnedFd) -> io::Result<Option<i32>> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))?;
    let pid = info
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "fdinfo has no Pid"))?;
    Ok((pid > 0).then_some(pid))
}

/// Largest file rasd hashes for a measurement.
const MAX_MEASURED_FILE: u64 = 256 << 20;
/// Deepest pid-namespace nesting walked (the kernel allows 32).
const MAX_NS_DEPTH: usize = 33;

fn digest_in_root(root: &File, path: &str) -> io::Result<String> {
    let c = std::ffi::CString::new(path).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let mut f = sys::open_in_root(root, &c)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > MAX_MEASURED_FILE {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "file too large to measure"));
    }
    super::exe_cache::sha256_reader(&mut f)
}

/// The pid namespace's inode and its ancestors', innermost first.
fn pid_ns_chain(dir: &OwnedFd) -> io::Result<Vec<u64>> {
    let mut ns: OwnedFd = sys::openat(dir, c"ns/pid", false)?.into();
    let mut chain = vec![File::from(ns.try_clone()?).metadata()?.ino()];
    while chain.len() < MAX_NS_DEPTH {
        match sys::ns_get_parent(&ns) {
            Ok(parent) => {
                chain.push(File::from(parent.try_clone()?).metadata()?.ino());
                ns = parent;
            }
            // EPERM: the top of what rasd may see (its own namespace or the initial one).
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(chain)
}

fn ns_inode(dir: &OwnedFd, name: &CStr) -> io::Result<u64> {
    Ok(sys::openat(dir, name, false)?.metadata()?.ino())
}

fn read_text(dir: &OwnedFd, name: &CStr) -> io::Result<String> {
    let mut s = String::new();
    sys::openat(dir, name, false)?.take(MAX_PROC_FILE).read_to_string(&mut s)?;
    Ok(s)
}

fn parse_groups(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| g.split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn identifies_the_process_at_the_other_end() {
        let (a, _b) = UnixStream::pair().unwrap();
        let peer = Peer::from_socket(&a).unwrap();
        assert_eq!(peer.pid, std::process::id() as i32);
        let id = peer.snapshot(&ExeCache::default()).unwrap();
        assert_eq!(id.uid, nix::unistd::getuid().as_raw());
        let me = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(id.exe, me.to_string_lossy());
        assert_eq!(id.exe_sha256, ras_evidence::sha256_hex(&std::fs::read(&me).unwrap()));
        let own_pid_ns = std::fs::metadata("/proc/self/ns/pid").unwrap().ino();
        assert_eq!(id.ns.pid, own_pid_ns);
        assert!(!id.cgroup.is_empty());
    }

    /// PID reuse, simulated on the pinning path: the pidfd pins one process while the pid
    /// number names another. The read must be refused, never attributed.
    #[test]
    fn refuses_a_pid_that_the_pin_does_not_name() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let other = child.id() as i32;
        let mine = sys::pidfd_open(std::process::id() as i32).unwrap();
        let peer = Peer::from_parts(other, 0, 0, mine);
        assert!(matches!(peer.snapshot(&ExeCache::default()), Err(IdentityError::Gone(p)) if p == other));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_dead_pinned_process_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let pidfd = sys::pidfd_open(pid).unwrap();
        child.wait().unwrap();
        let peer = Peer::from_parts(pid, 0, 0, pidfd);
        assert!(matches!(peer.snapshot(&ExeCache::default()), Err(IdentityError::Gone(_))));
    }

    #[test]
    fn groups_parse() {
        assert_eq!(parse_groups("Name:\tx\nGroups:\t4 27 1000 \nX: 1"), vec![4, 27, 1000]);
        assert!(parse_groups("Groups:\t\n").is_empty());
    }
}
