//! `ras-bench-activate SOCKET CMD...`: socket activation for `scripts/bench`'s cold-start
//! run, as systemd does it for `rasd.socket`: bind SOCKET with `SO_PASSCRED` (the unit's
//! `PassCredentials=yes`, without which rasd cannot tell who wrote the first request), wait
//! for the first connection, then exec CMD with the listener as fd 3 and `LISTEN_PID`,
//! `LISTEN_FDS`, `LISTEN_FDNAMES=host` set. `systemd-socket-activate` has no way to set
//! `SO_PASSCRED`.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{setsockopt, sockopt::PassCred};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, socket, cmd @ ..] = args.as_slice() else {
        eprintln!("usage: ras-bench-activate SOCKET CMD...");
        std::process::exit(2);
    };
    if cmd.is_empty() {
        eprintln!("usage: ras-bench-activate SOCKET CMD...");
        std::process::exit(2);
    }
    let listener = UnixListener::bind(socket).unwrap_or_else(|e| panic!("bind {socket}: {e}"));
    setsockopt(&listener, PassCred, &true).expect("SO_PASSCRED");
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::NONE).expect("poll");
    // The shell moves the listener to fd 3 and becomes CMD with its own pid as LISTEN_PID.
    let fd = listener.as_raw_fd();
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).expect("clear FD_CLOEXEC");
    let moves = if fd == 3 { String::new() } else { format!(" 3<&{fd} {fd}<&-") };
    let script = format!("LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=host exec \"$@\"{moves}");
    let err = std::process::Command::new("sh").args(["-c", &script, "sh"]).args(cmd).exec();
    eprintln!("ras-bench-activate: exec: {err}");
    std::process::exit(1);
}
