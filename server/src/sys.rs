//! Raw system calls of the server core: adopting socket-activated fds, asking a socket's
//! address family, and the effective uid.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Takes ownership of fds systemd passed.
pub fn adopt(fds: Vec<(RawFd, String)>) -> Vec<(OwnedFd, String)> {
    // SAFETY: sd_notify returned these fds only because LISTEN_PID names this process, so
    // systemd passed them to us; they are adopted once, here, and nothing else owns them.
    fds.into_iter().map(|(fd, name)| (unsafe { OwnedFd::from_raw_fd(fd) }, name)).collect()
}

/// The address family of a socket (`AF_UNIX`, `AF_INET`, `AF_INET6`, `AF_VSOCK`, ...).
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

/// The effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
