//! Every raw syscall rasd makes. Each returns `io::Result` and safe owned types, so the rest of
//! the daemon stays free of `unsafe`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `SO_PEERPIDFD` (Linux 6.5): a pidfd of the peer, taken when it connected. libc does not
/// define it yet; the value is the same on every architecture.
const SO_PEERPIDFD: libc::c_int = 77;

/// A pidfd for the process at the other end of a unix socket, pinned at `connect()` time.
/// `Ok(None)` when the kernel predates `SO_PEERPIDFD`.
pub fn peer_pidfd(sock: &impl AsRawFd) -> io::Result<Option<OwnedFd>> {
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` and `len` are valid for writes of the sizes given; the kernel writes at most
    // `len` bytes into `fd` and updates `len`.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOPROTOOPT) => Ok(None),
            _ => Err(err),
        };
    }
    // SAFETY: on success the kernel returned a new pidfd that nothing else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `pidfd_open(2)`: a pidfd for `pid`, used when `SO_PEERPIDFD` is missing.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags by value and returns a new fd or -1.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success the syscall returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(rc as libc::c_int) })
}

/// `openat(2)` relative to a directory fd, read-only, close-on-exec. Symlinks are followed, so
/// `exe` opens the executable itself.
pub fn openat(dir: &OwnedFd, path: &std::ffi::CStr, directory: bool) -> io::Result<std::fs::File> {
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | if directory { libc::O_DIRECTORY } else { 0 };
    // SAFETY: `dir` is a live fd and `path` a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), path.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success openat returned a new fd that nothing else owns.
    Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `NS_GET_PARENT` (`_IO(0xb7, 0x2)`): the parent of a pid namespace. Fails with `EPERM` at
/// the top of what the caller may see.
pub fn ns_get_parent(ns: &impl AsRawFd) -> io::Result<OwnedFd> {
    const NS_GET_PARENT: libc::c_ulong = (0xb7 << 8) | 0x2;
    // SAFETY: the ioctl takes no argument and returns a new fd or -1.
    let fd = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_PARENT as _) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success the ioctl returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `openat2(2)` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: opens `path` read-only as if
/// `root` were `/`, so `..` and absolute symlinks inside a container's tree cannot escape it.
pub fn open_in_root(root: &impl AsRawFd, path: &std::ffi::CStr) -> io::Result<std::fs::File> {
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    /// `struct open_how` of linux/openat2.h (libc's is non-exhaustive).
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: `how` is a valid open_how of the size passed; `path` is NUL-terminated and
    // outlives the call; `root` is a live fd.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success openat2 returned a new fd that nothing else owns.
    Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) }))
}

/// Waits until the process behind `pidfd` exits (a pidfd turns readable then).
pub async fn wait_exit(pidfd: OwnedFd) -> io::Result<()> {
    // SAFETY: the AsyncFd takes ownership of `pidfd`, a valid open fd, and nothing else closes
    // or replaces it while it is registered.
    let afd = unsafe { tokio::io::unix::AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE)? };
    let _ = afd.readable().await?;
    Ok(())
}

/// Socket-activated fds with their `FileDescriptorName=`s, owned; the `LISTEN_*` variables are
/// removed so children do not inherit them. Empty when rasd was not socket-activated.
pub fn activated_fds() -> io::Result<Vec<(OwnedFd, String)>> {
    let fds: Vec<(std::os::fd::RawFd, String)> = sd_notify::listen_fds_with_names()?.collect();
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(var);
    }
    // SAFETY: sd_notify returned these fds only because LISTEN_PID names this process, so
    // systemd passed them to us and nothing else in the process owns them.
    Ok(fds.into_iter().map(|(fd, name)| (unsafe { OwnedFd::from_raw_fd(fd) }, name)).collect())
}
