//! Who is calling, from the kernel alone (DESIGN §3).
//!
//! On accept rasd takes `SO_PEERCRED` (pid, uid, gid) and a pidfd of the peer. Every later read
//! of `/proc/<pid>` goes through a directory fd that is proven to belong to the pinned process:
//! the directory is opened first, then the pidfd is checked to still name that pid. If the
//! process had died and its pid been reused in between, the pidfd would report it dead, so the
//! directory cannot belong to an impostor; and reads through an opened `/proc/<pid>` directory
//! fail rather than follow a new process.

pub mod cgroup;
pub mod exe_cache;
mod peer;

pub use cgroup::{ContainerRef, Placement, Runtime};
pub use exe_cache::ExeCache;
pub use peer::{Identity, IdentityError, Namespaces, Peer};
