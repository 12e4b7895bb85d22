//! Raw system calls of the bridge: adopting socket-activated listeners (sd_listen_fds(3))
//! and telling their address family apart.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The fds systemd passed (`LISTEN_PID` must be us), owned and close-on-exec. The
/// `LISTEN_*` variables are removed so that children do not inherit them.
pub fn activated_fds() -> io::Result<Vec<OwnedFd>> {
    let fds: Vec<std::os::fd::RawFd> = sd_notify::listen_fds()?.collect();
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(var);
    }
    // SAFETY: sd_notify returned these fds only because LISTEN_PID names this process, so
    // systemd passed them to us and nothing else in the process owns them.
    Ok(fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }).collect())
}

/// The address family of a socket (`AF_INET`, `AF_INET6`, `AF_VSOCK`, ...).
pub fn family(fd: &OwnedFd) -> io::Result<i32> {
    // SAFETY: sockaddr_storage is plain bytes, for which zero is a valid value.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` and `len` are valid for writes; the kernel writes at most `len` bytes.
    let rc = unsafe { libc::getsockname(fd.as_raw_fd(), (&mut addr as *mut libc::sockaddr_storage).cast(), &mut len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(addr.ss_family as i32)
}
