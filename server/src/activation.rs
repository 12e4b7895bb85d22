//! Socket activation (sd_listen_fds(3)). The fds are taken, and the `LISTEN_*` variables
//! removed so children do not inherit them, while the process has one thread: changing the
//! environment while other threads may read it is undefined behaviour. Both binaries call
//! [`take`] first thing in `main`, before the tokio runtime starts.

use std::io;
use std::os::fd::OwnedFd;

use crate::sys;

/// One fd systemd passed, with its `FileDescriptorName=`.
#[derive(Debug)]
pub struct Activated {
    /// The listening socket.
    pub fd: OwnedFd,
    /// Its name (`LISTEN_FDNAMES`), or `unknown`.
    pub name: String,
}

impl Activated {
    /// The socket's address family (`libc::AF_*`).
    pub fn family(&self) -> io::Result<i32> {
        sys::family(&self.fd)
    }
}

/// The fds passed to this process (`LISTEN_PID` must name it); none outside socket
/// activation. Call it before any other thread exists.
pub fn take() -> io::Result<Vec<Activated>> {
    let fds: Vec<_> = sd_notify::listen_fds_with_names()?.collect();
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        // Single-threaded here (see the module comment), so this races with no reader.
        std::env::remove_var(var);
    }
    Ok(sys::adopt(fds).into_iter().map(|(fd, name)| Activated { fd, name }).collect())
}
