//! Per-container bounds (per placement): how many connections one container may hold on the
//! container socket and how many of its calls are served at once. The socket-wide bound
//! alone lets one container take every slot and starve the others; these make each
//! container's share fixed. The container socket is mode 0666, so host processes can
//! connect to it too (to be refused per call): they share one bucket per uid, so that an
//! unprivileged host user cannot take the containers' slots either. On the AF_VSOCK port each
//! VM guest (by the CID the kernel reported) has the same fixed share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::identity::ContainerRef;

/// Whose share a connection counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// A container, by its cgroup.
    Container(ContainerRef),
    /// A caller in no (single) container, by uid.
    Uid(u32),
    /// A VM guest on the AF_VSOCK port, by its CID.
    Vm(u32),
}

impl std::fmt::Display for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bucket::Container(c) => c.fmt(f),
            Bucket::Uid(uid) => write!(f, "uid {uid} outside any container"),
            Bucket::Vm(cid) => write!(f, "vm cid {cid}"),
        }
    }
}

/// Quota state for every container with a connection open.
pub struct Quotas {
    max_connections: usize,
    max_calls: usize,
    by_container: Mutex<HashMap<Bucket, Share>>,
}

struct Share {
    connections: usize,
    calls: Arc<Semaphore>,
}

/// One admitted connection of a container; its slot is given back on drop.
pub struct ConnectionSlot<'a> {
    quotas: &'a Quotas,
    container: Bucket,
    calls: Arc<Semaphore>,
}

impl Quotas {
    /// Bounds per container.
    pub fn new(max_connections: usize, max_calls: usize) -> Self {
        Quotas { max_connections, max_calls, by_container: Mutex::new(HashMap::new()) }
    }

    /// The per-container connection bound.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Admits one more connection of `container`, or `None` when it holds its share already.
    pub fn connect(&self, container: &Bucket) -> Option<ConnectionSlot<'_>> {
        let mut map = self.by_container.lock().expect("quota lock");
        let share = map
            .entry(container.clone())
            .or_insert_with(|| Share { connections: 0, calls: Arc::new(Semaphore::new(self.max_calls)) });
        if share.connections >= self.max_connections {
            return None;
        }
        share.connections += 1;
        Some(ConnectionSlot { quotas: self, container: container.clone(), calls: share.calls.clone() })
    }

    /// Connections open now for `container`.
    pub fn connections(&self, container: &Bucket) -> usize {
        self.by_container.lock().expect("quota lock").get(container).map_or(0, |s| s.connections)
    }
}

impl ConnectionSlot<'_> {
    /// Waits for one of the container's call slots.
    pub async fn call(&self) -> OwnedSemaphorePermit {
        self.calls.clone().acquire_owned().await.expect("call semaphore never closed")
    }
}

impl Drop for ConnectionSlot<'_> {
    fn drop(&mut self) {
        let mut map = self.quotas.by_container.lock().expect("quota lock");
        if let Some(share) = map.get_mut(&self.container) {
            share.connections -= 1;
            if share.connections == 0 {
                map.remove(&self.container);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Runtime;

    fn c(id: &str) -> Bucket {
        Bucket::Container(ContainerRef { runtime: Runtime::Docker, id: id.into() })
    }

    #[test]
    fn each_container_has_its_own_share() {
        let q = Quotas::new(2, 1);
        let a1 = q.connect(&c("a")).unwrap();
        let _a2 = q.connect(&c("a")).unwrap();
        assert!(q.connect(&c("a")).is_none(), "a third connection of a is refused");
        assert!(q.connect(&c("b")).is_some(), "b is not affected by a");
        drop(a1);
        assert_eq!(q.connections(&c("a")), 1);
        assert!(q.connect(&c("a")).is_some(), "a slot given back is reusable");
    }

    #[test]
    fn each_vm_guest_has_its_own_share_apart_from_containers() {
        let q = Quotas::new(1, 1);
        let _a = q.connect(&Bucket::Vm(3)).unwrap();
        assert!(q.connect(&Bucket::Vm(3)).is_none(), "a second connection of CID 3 is refused");
        assert!(q.connect(&Bucket::Vm(4)).is_some(), "CID 4 is not affected");
        assert!(q.connect(&c("3")).is_some(), "nor is a container");
    }

    #[tokio::test]
    async fn calls_of_one_container_wait_for_its_own_slots() {
        let q = Quotas::new(4, 1);
        let a = q.connect(&c("a")).unwrap();
        let a2 = q.connect(&c("a")).unwrap();
        let held = a.call().await;
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), a2.call()).await;
        assert!(waiting.is_err(), "the second call of a waits while the first runs");
        let b = q.connect(&c("b")).unwrap();
        let _b_call = tokio::time::timeout(std::time::Duration::from_millis(50), b.call()).await.expect("b is served");
        drop(held);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), a2.call()).await.expect("then a2 is served");
    }
}
