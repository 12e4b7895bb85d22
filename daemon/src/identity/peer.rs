//! The peer of one unix connection: kernel credentials pinned by a pidfd, the snapshot of its
//! `/proc` entries taken when it connected, and the per-request check that the snapshot still
//! describes the process that wrote the request.
//!
//! Identity is fixed at connect. Every later request must pass [`Peer::check`]: the kernel
//! named the pinned pid as the writer of its bytes (`SCM_CREDENTIALS`), the pinned process is
//! still alive (one pidfd syscall), and its executable and cgroup are the ones it connected
//! with. A pid match after a successful liveness check is exact: while the pidfd's process
//! lives its pid cannot name another process, so the writer was the pinned process.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileExt, MetadataExt};

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use thiserror::Error;

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

/// Why a request on a connection no longer matches the identity fixed at connect.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PeerChange {
    /// The kernel named another process (or none) as the writer of the request.
    #[error("{}", foreign_writer_text(*writer, *pinned))]
    ForeignWriter {
        /// The writer's pid, as the kernel reported it.
        writer: Option<i32>,
        /// The pinned pid.
        pinned: i32,
    },
    /// The pinned process exited.
    #[error("the process that connected ({0}) exited")]
    Exited(i32),
    /// The pinned process now runs another executable file.
    #[error("the process that connected ({0}) executed another file since")]
    Exec(i32),
    /// The pinned process moved to another cgroup.
    #[error("the process that connected ({0}) moved to another cgroup since")]
    Cgroup(i32),
}

fn foreign_writer_text(writer: Option<i32>, pinned: i32) -> String {
    match writer {
        Some(p) => format!("the request was written by pid {p}, not by the process that connected ({pinned})"),
        // Only bytes queued before SO_PASSCRED was set come without credentials: a socket
        // created by a service manager without it (PassCredentials=yes fixes that).
        None => format!(
            "the kernel attached no writer credentials to the request of pid {pinned} (a socket-activated socket needs PassCredentials=yes)"
        ),
    }
}

impl PeerChange {
    /// A short tag for logs and the wire.
    pub fn tag(&self) -> &'static str {
        match self {
            PeerChange::ForeignWriter { .. } => "foreign_writer",
            PeerChange::Exited(_) => "exited",
            PeerChange::Exec(_) => "exec",
            PeerChange::Cgroup(_) => "cgroup",
        }
    }
}

/// A file as the kernel identifies it, with the ctime its owner cannot set back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileKey {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// ctime, seconds and nanoseconds.
    pub ctime: (i64, i64),
}

impl FileKey {
    /// The key of a file's metadata.
    pub fn of(m: &std::fs::Metadata) -> Self {
        FileKey { dev: m.dev(), ino: m.ino(), ctime: (m.ctime(), m.ctime_nsec()) }
    }

    /// The key of what `fstatat(2)` returned.
    pub fn of_stat(st: &libc::stat) -> Self {
        FileKey { dev: st.st_dev, ino: st.st_ino, ctime: (st.st_ctime, st.st_ctime_nsec) }
    }
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

/// What the kernel said about a peer when it connected.
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
    /// The executable file that was mapped.
    pub exe_key: FileKey,
    /// sha256 of the executable.
    pub exe_sha256: String,
    /// The process's root directory (device, inode).
    pub root: (u64, u64),
    /// Inode of the pid namespace, then of each ancestor up to rasd's own (via NS_GET_PARENT).
    pub pid_ns_chain: Vec<u64>,
    /// Which container the cgroup path names.
    pub placement: Placement,
}

/// A connected peer: credentials as of `connect()`, a pidfd that pins its process, its
/// `/proc` directory proven to be that process's, and what the kernel said of it then.
#[derive(Debug)]
pub struct Peer {
    /// Process id in rasd's pid namespace.
    pub pid: i32,
    pidfd: OwnedFd,
    dir: OwnedFd,
    /// `/proc/<pid>/cgroup`, kept open: each check re-reads it with one `pread` at offset 0
    /// (a seq_file renders afresh from offset 0) instead of open, read, read, close.
    cgroup: File,
    identity: Identity,
}

impl Peer {
    /// Reads the peer's credentials, pins its process and takes its identity. Blocking (the
    /// executable may have to be hashed): call off the async runtime.
    pub fn from_socket(sock: &impl std::os::fd::AsFd, cache: &ExeCache) -> Result<Self, IdentityError> {
        let cred = getsockopt(sock, PeerCredentials).map_err(|e| IdentityError::PeerCred(e.into()))?;
        let pid = cred.pid();
        let pidfd = match sys::peer_pidfd(&sock.as_fd()).map_err(IdentityError::Pidfd)? {
            Some(fd) => fd,
            // Older kernels: pin now. The check in `open_pinned` still refuses a pid whose
            // process has gone; a reuse before this line is the residual race on such kernels.
            None => sys::pidfd_open(pid).map_err(IdentityError::Pidfd)?,
        };
        Peer::pin(pid, cred.uid(), cred.gid(), pidfd, cache)
    }

    /// Pins `pid` by `pidfd` and reads its identity through the pin.
    pub fn pin(pid: i32, uid: u32, gid: u32, pidfd: OwnedFd, cache: &ExeCache) -> Result<Self, IdentityError> {
        let dir = open_pinned(pid, &pidfd)?;
        let cgroup = sys::openat(&dir, c"cgroup", false).map_err(|source| IdentityError::Proc {
            pid,
            what: "cgroup",
            source,
        })?;
        let identity = read_identity(pid, uid, gid, &pidfd, &dir, &cgroup, cache)?;
        Ok(Peer { pid, pidfd, dir, cgroup, identity })
    }

    /// What the kernel said of the peer when it connected.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The pidfd, which turns readable when the process exits.
    pub fn pidfd(&self) -> &OwnedFd {
        &self.pidfd
    }

    /// Checks that a request written by `writer` (the pid the kernel attached to its bytes)
    /// may be served under the identity fixed at connect. Three syscalls when it holds: the
    /// liveness probe, a stat of what `exe` leads to, a pread of `cgroup`. The probe comes
    /// first, so the two reads describe the pinned process, whose pid cannot be reused while
    /// the pidfd says it lives; a process that dies between them makes the reads fail.
    pub fn check(&self, writer: Option<i32>) -> Result<(), PeerChange> {
        if writer != Some(self.pid) {
            return Err(PeerChange::ForeignWriter { writer, pinned: self.pid });
        }
        if !sys::pidfd_alive(&self.pidfd) {
            return Err(PeerChange::Exited(self.pid));
        }
        // The file /proc/<pid>/exe leads to now: another file after an execve.
        match sys::fstatat(&self.dir, c"exe") {
            Ok(st) if FileKey::of_stat(&st) == self.identity.exe_key => {}
            Ok(_) => return Err(PeerChange::Exec(self.pid)),
            Err(_) => return Err(PeerChange::Exited(self.pid)),
        }
        let mut buf = [0u8; CGROUP_BUF];
        let now = match self.cgroup.read_at(&mut buf, 0) {
            Ok(n) if n < buf.len() => &buf[..n],
            // Too long for one read (many v1 hierarchies with deep paths): read it whole.
            Ok(_) => match read_cgroup(&self.cgroup) {
                Ok(c) if c == self.identity.cgroup => return Ok(()),
                Ok(_) => return Err(PeerChange::Cgroup(self.pid)),
                Err(_) => return Err(PeerChange::Exited(self.pid)),
            },
            Err(_) => return Err(PeerChange::Exited(self.pid)),
        };
        if now != self.identity.cgroup.as_bytes() {
            return Err(PeerChange::Cgroup(self.pid));
        }
        Ok(())
    }
}

/// Reads what the kernel says of a pinned process, through its proven `/proc` directory.
fn read_identity(
    pid: i32,
    uid: u32,
    gid: u32,
    pidfd: &OwnedFd,
    dir: &OwnedFd,
    cgroup: &File,
    cache: &ExeCache,
) -> Result<Identity, IdentityError> {
    let proc_err = |what: &'static str| move |source: io::Error| IdentityError::Proc { pid, what, source };
    let ns = Namespaces {
        pid: ns_inode(dir, c"ns/pid").map_err(proc_err("ns/pid"))?,
        mnt: ns_inode(dir, c"ns/mnt").map_err(proc_err("ns/mnt"))?,
        net: ns_inode(dir, c"ns/net").map_err(proc_err("ns/net"))?,
        user: ns_inode(dir, c"ns/user").map_err(proc_err("ns/user"))?,
        cgroup: ns_inode(dir, c"ns/cgroup").map_err(proc_err("ns/cgroup"))?,
    };
    let cgroup = read_cgroup(cgroup).map_err(proc_err("cgroup"))?;
    let status = read_text(dir, c"status").map_err(proc_err("status"))?;
    let exe = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), "exe")
        .map_err(|e| proc_err("exe")(e.into()))?
        .to_string_lossy()
        .into_owned();
    let pid_ns_chain = pid_ns_chain(dir).map_err(proc_err("ns/pid"))?;
    let exe_file = sys::openat(dir, c"exe", false).map_err(proc_err("exe"))?;
    let exe_key = FileKey::of(&exe_file.metadata().map_err(proc_err("exe"))?);
    let exe_sha256 = cache.digest(exe_file).map_err(proc_err("exe"))?;
    let root = sys::fstatat(dir, c"root").map_err(proc_err("root"))?;
    // The reads above went through `dir`; confirm the process still lives so that none of
    // them raced its exit (a dead process's entries read as errors, never as another's).
    check_pin(pid, pidfd)?;
    let placement = placement(&cgroup);
    Ok(Identity {
        pid,
        uid,
        gid,
        groups: parse_groups(&status),
        ns,
        cgroup,
        exe,
        exe_key,
        exe_sha256,
        root: (root.st_dev, root.st_ino),
        pid_ns_chain,
        placement,
    })
}

/// Opens `/proc/<pid>` and proves it belongs to the process `pidfd` pins.
pub fn open_pinned(pid: i32, pidfd: &OwnedFd) -> Result<OwnedFd, IdentityError> {
    // A directory fd: reads through it fail once the process is gone, never reach another.
    let dir = File::open(format!("/proc/{pid}")).map_err(|_| IdentityError::Gone(pid))?;
    check_pin(pid, pidfd)?;
    Ok(OwnedFd::from(dir))
}

/// Fails unless the process `pidfd` pins is still alive. The pidfd was taken for `pid`, so
/// while it lives `pid` names it and nothing else.
pub fn check_pin(pid: i32, pidfd: &OwnedFd) -> Result<(), IdentityError> {
    if sys::pidfd_alive(pidfd) {
        Ok(())
    } else {
        Err(IdentityError::Gone(pid))
    }
}

/// Largest file rasd hashes for a measurement.
pub const MAX_MEASURED_FILE: u64 = 256 << 20;
/// Deepest pid-namespace nesting walked (the kernel allows 32).
const MAX_NS_DEPTH: usize = 33;

/// sha256 of `path` resolved inside `root` as if it were `/`: symlinks and `..` cannot lead
/// out of it, magic links are refused, only regular files up to [`MAX_MEASURED_FILE`].
pub fn digest_in_root(root: &File, path: &str) -> io::Result<String> {
    let c = std::ffi::CString::new(path).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let mut f = sys::open_in_root(root, &c)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > MAX_MEASURED_FILE {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "file too large to measure"));
    }
    super::exe_cache::sha256_reader((&mut f).take(MAX_MEASURED_FILE))
}

/// The pid namespace's inode and its ancestors', innermost first.
pub fn pid_ns_chain(dir: &OwnedFd) -> io::Result<Vec<u64>> {
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

/// The inode of a namespace entry (`ns/pid`, …).
pub fn ns_inode(dir: &OwnedFd, name: &CStr) -> io::Result<u64> {
    Ok(sys::openat(dir, name, false)?.metadata()?.ino())
}

/// One `pread` of the cgroup file fits this; a longer one is read whole.
const CGROUP_BUF: usize = 4096;

/// The whole cgroup file, from offset 0, through the fd kept open for it (bounded).
fn read_cgroup(f: &File) -> io::Result<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; CGROUP_BUF];
    loop {
        let n = f.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            break;
        }
        if out.len() + n > MAX_PROC_FILE as usize {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "cgroup file too large"));
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(out).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "cgroup file is not UTF-8"))
}

/// A bounded read of a `/proc` text file through the pinned directory.
pub fn read_text(dir: &OwnedFd, name: &CStr) -> io::Result<String> {
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
        let peer = Peer::from_socket(&a, &ExeCache::default()).unwrap();
        assert_eq!(peer.pid, std::process::id() as i32);
        let id = peer.identity();
        assert_eq!(id.uid, nix::unistd::getuid().as_raw());
        let me = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(id.exe, me.to_string_lossy());
        assert_eq!(id.exe_sha256, ras_evidence::sha256_hex(&std::fs::read(&me).unwrap()));
        let own_pid_ns = std::fs::metadata("/proc/self/ns/pid").unwrap().ino();
        assert_eq!(id.ns.pid, own_pid_ns);
        let root = std::fs::metadata("/").unwrap();
        assert_eq!(id.root, (root.dev(), root.ino()));
        assert!(!id.cgroup.is_empty());
        assert_eq!(peer.check(Some(peer.pid)), Ok(()));
        assert_eq!(peer.check(Some(1)), Err(PeerChange::ForeignWriter { writer: Some(1), pinned: peer.pid }));
        assert!(matches!(peer.check(None), Err(PeerChange::ForeignWriter { writer: None, .. })));
    }

    /// PID reuse, simulated on the pinning path: the pidfd pins one process, now dead, while
    /// the pid number names another. The pin must be refused, never attributed.
    #[test]
    fn refuses_a_pid_that_the_pin_does_not_name() {
        let mut dead = std::process::Command::new("true").spawn().unwrap();
        let stale = sys::pidfd_open(dead.id() as i32).unwrap();
        dead.wait().unwrap();
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let other = child.id() as i32;
        let r = Peer::pin(other, 0, 0, stale, &ExeCache::default());
        assert!(matches!(r, Err(IdentityError::Gone(p)) if p == other), "{r:?}");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// A child killed and reaped when the test ends, whether it passed or not: a failing
    /// assertion must not leave a process polling for a flag in a removed directory.
    struct Child(std::process::Child);

    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn a_dead_pinned_process_is_gone() {
        let mut child = Child(std::process::Command::new("sleep").arg("30").spawn().unwrap());
        let pid = child.0.id() as i32;
        let peer = Peer::pin(pid, 0, 0, sys::pidfd_open(pid).unwrap(), &ExeCache::default()).unwrap();
        assert_eq!(peer.check(Some(pid)), Ok(()));
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        assert_eq!(peer.check(Some(pid)), Err(PeerChange::Exited(pid)));
    }

    /// A process that executes another file after it was pinned is not the process that
    /// was identified.
    #[test]
    fn an_exec_after_pinning_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("go");
        // sh waits for the flag, then becomes sleep: same pid, another executable.
        let script = format!("while [ ! -e {} ]; do sleep 0.01; done; exec sleep 30", flag.display());
        let child = Child(std::process::Command::new("sh").args(["-c", &script]).spawn().unwrap());
        let pid = child.0.id() as i32;
        let peer = Peer::pin(pid, 0, 0, sys::pidfd_open(pid).unwrap(), &ExeCache::default()).unwrap();
        assert_eq!(peer.check(Some(pid)), Ok(()));
        std::fs::write(&flag, b"").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while peer.check(Some(pid)).is_ok() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(peer.check(Some(pid)), Err(PeerChange::Exec(pid)));
        drop(child);
    }

    /// The measured-file bound is inclusive; one byte over (sparse: no disk) is refused before
    /// anything is read.
    #[test]
    fn the_measured_file_bound_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        File::create(dir.path().join("at")).unwrap().set_len(MAX_MEASURED_FILE).unwrap();
        File::create(dir.path().join("over")).unwrap().set_len(MAX_MEASURED_FILE + 1).unwrap();
        let root = File::open(dir.path()).unwrap();
        assert_eq!(digest_in_root(&root, "/at").unwrap().len(), 64, "a file of exactly the bound is measured");
        let e = digest_in_root(&root, "/over").unwrap_err();
        assert_eq!((e.kind(), e.to_string().as_str()), (io::ErrorKind::InvalidInput, "file too large to measure"));
    }

    #[test]
    fn groups_parse() {
        assert_eq!(parse_groups("Name:\tx\nGroups:\t4 27 1000 \nX: 1"), vec![4, 27, 1000]);
        assert!(parse_groups("Groups:\t\n").is_empty());
    }
}
