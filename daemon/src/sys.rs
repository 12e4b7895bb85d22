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

/// True while the process `pidfd` pins has not been reaped: `pidfd_send_signal(pidfd, 0)`,
/// one syscall. `EPERM` still means the process exists (rasd may lack CAP_KILL over it).
pub fn pidfd_alive(pidfd: &impl AsRawFd) -> bool {
    // SAFETY: pidfd_send_signal takes an fd, a signal number, a null siginfo and flags by
    // value; signal 0 sends nothing and only checks that the process exists.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), 0, std::ptr::null::<u8>(), 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// `fstatat(2)` relative to a directory fd, following symlinks: for `/proc/<pid>/exe` and
/// `root` that is the file the magic link leads to. One syscall.
pub fn fstatat(dir: &impl AsRawFd, path: &std::ffi::CStr) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `dir` is a live fd, `path` a NUL-terminated string that outlives the call, and
    // `st` points to writable memory of the size fstatat fills.
    let rc = unsafe { libc::fstatat(dir.as_raw_fd(), path.as_ptr(), st.as_mut_ptr(), 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatat succeeded, so it initialized the whole struct.
    Ok(unsafe { st.assume_init() })
}

/// `SO_PASSCRED` on a unix socket: the kernel then attaches the writer's pid, uid and gid to
/// every message read from it. Set on a listener, accepted sockets inherit it, and bytes a
/// client wrote before the accept carry credentials too.
pub fn set_passcred(sock: &impl AsRawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a valid c_int for the duration of the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `CMSG_SPACE(sizeof(struct ucred))`: a cmsghdr (16 bytes on 64-bit Linux) and a 12-byte
/// ucred, each padded to 8 bytes.
const fn cmsg_space_ucred() -> usize {
    const fn align(n: usize) -> usize {
        (n + 7) & !7
    }
    align(std::mem::size_of::<libc::cmsghdr>()) + align(std::mem::size_of::<libc::ucred>())
}

/// `SO_PASSRIGHTS` off (Linux 6.16): the kernel refuses `SCM_RIGHTS` sent to this socket (the
/// sender gets EPERM), and accepted sockets inherit it. Older kernels: `Ok(false)`.
pub fn refuse_passed_fds(sock: &impl AsRawFd) -> io::Result<bool> {
    const SO_PASSRIGHTS: libc::c_int = 83;
    let off: libc::c_int = 0;
    // SAFETY: `off` is a valid c_int for the duration of the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PASSRIGHTS,
            (&off as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOPROTOOPT) | Some(libc::EINVAL) => Ok(false),
            _ => Err(e),
        };
    }
    Ok(true)
}

/// `recvmsg(2)` on a unix stream with `SO_PASSCRED`: the bytes read and the pid the kernel
/// named as their writer (`None` when no credentials came with them). The kernel never
/// merges bytes of different writers into one read. File descriptors a peer sends along
/// (`SCM_RIGHTS`) never reach rasd (see below).
pub fn recv_with_creds(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<(usize, Option<i32>)> {
    // Room for exactly one ucred: fds a peer sends along do not fit, so the kernel discards
    // them (MSG_CTRUNC) without installing them. rasd must never close a peer's fd itself:
    // closing a FUSE file whose server does not answer FLUSH blocks the closing thread in
    // uninterruptible sleep. (`SO_PASSRIGHTS` off on the listeners refuses them earlier.)
    const CONTROL: usize = cmsg_space_ucred();
    #[repr(C, align(8))]
    struct Control([u8; CONTROL]);
    let mut control = Control([0; CONTROL]);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: `msg` points at `iov` (which covers `buf`) and `control`, all live and writable
    // for the lengths given, for the duration of the call.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut writer = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within
    // `msg_controllen`; each header they return lies inside `control`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let data = libc::CMSG_DATA(cmsg);
            let len = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
            match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) if len >= std::mem::size_of::<libc::ucred>() => {
                    let cred: libc::ucred = std::ptr::read_unaligned(data.cast());
                    writer = Some(cred.pid);
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n as usize, writer))
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

/// Raises the soft limit on open files to the hard limit and returns it. Each connection
/// holds a socket, a pidfd, its `/proc` directory and its cgroup file, and each registration
/// a pidfd and a root: a thousand agents are past the usual soft limit of 1024, while
/// service managers set the hard limit far higher for exactly this.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit struct to the pointer it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
        // SAFETY: setrlimit reads one rlimit struct; raising the soft limit up to the hard
        // one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
        lim = raised;
    }
    Ok(lim.rlim_cur)
}
