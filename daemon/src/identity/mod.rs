//! Who is calling, from the kernel alone (doc/DESIGN.md, Identity).
//!
//! On accept rasd takes `SO_PEERCRED` (pid, uid, gid) and a pidfd of the peer. Every read of
//! `/proc/<pid>` goes through a directory fd that is proven to belong to the pinned process:
//! the directory is opened first, then the pidfd is checked to still be alive. Had the process
//! died and its pid been reused in between, the pidfd would report it dead, so the directory
//! cannot belong to an impostor; and reads through an opened `/proc/<pid>` directory fail
//! rather than follow a new process. The identity read then is fixed for the connection
//! ([`peer`]); every request is checked against it, with the writer of its bytes named by the
//! kernel ([`writer`]). [`cgroup`] maps cgroup paths to containers.

pub mod cgroup;
pub mod exe_cache;
pub mod peer;
pub mod writer;

pub use cgroup::{ContainerRef, Placement, Runtime};
pub use exe_cache::ExeCache;
pub use peer::{FileKey, Identity, IdentityError, Namespaces, Peer, PeerChange};
