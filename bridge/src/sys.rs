//! Raw system calls of the bridge: adopting socket-activated listeners (sd_listen_fds(3))
//! and telling their address family apart.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// First fd passed by systemd.
const SD_LISTEN_FDS_START: i32 = 3;

/// The effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The fds systemd passed (`LISTEN_PID` must be us), made close-on-exec. The variables are
/// removed so that children do not inherit them.
pub fn listen_fds() -> io::Result<Vec<OwnedFd>> {
    let pid_ok = std::env::var("LISTEN_PID").ok().and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
    let n: i32 = std::env::var("LISTEN_FDS").ok().and_then(|n| n.parse().ok()).unwrap_or(0);
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    if !pid_ok || n <= 0 {
        return Ok(Vec::new());
    }
    (SD_LISTEN_FDS_START..SD_LISTEN_FDS_START + n)
        .map(|fd| {
            // SAFETY: fcntl on an fd number is harmless even if it is not open (EBADF).
            if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: systemd passed this fd to us (LISTEN_PID matched) and nothing else in
            // the process owns it; it was just checked to be open.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        })
        .collect()
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
