//! Agents and forwarded challenges.
//!
//! An agent holds an `io.ras.Agent.Serve` stream open; rasd keeps one slot per container (or
//! VM guest) with
//! the sender of that stream. A challenge gets a random id and a pending entry, and is sent
//! down the stream; the answer arrives as `io.ras.Agent.Respond(id)` on another connection,
//! which must come from the same container (checked by the caller from the kernel). Each
//! challenge has its own id and its own one-shot channel, so several in flight to one
//! container cannot be confused. When the stream ends, its pending challenges fail at once.
//! [`health`] pings every agent periodically.

pub mod health;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ras_evidence::claims::Measurement;
use ras_proto::api::agent::{Event, EventKind};
use ras_proto::Nonce;
use ring::rand::SecureRandom;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::identity::{ContainerRef, Identity};

/// Whose agent: a container's, or a VM guest's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AgentKey {
    /// A registered container.
    Container(ContainerRef),
    /// A VM guest, by vsock CID.
    Vm(u32),
}

impl std::fmt::Display for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentKey::Container(c) => c.fmt(f),
            AgentKey::Vm(cid) => write!(f, "vm:{cid}"),
        }
    }
}

/// Events queued for one agent before a challenge is refused as busy.
const QUEUE: usize = 64;

/// What came back from the container for one challenge.
#[derive(Debug)]
pub struct Answer {
    /// The answering process, as the kernel describes it (none for a VM guest).
    pub identity: Option<Identity>,
    /// Files rasd measured through the answering process's root.
    pub measurements: Vec<Measurement>,
    /// Claims the workload reported.
    pub claims: Option<Value>,
}

/// Why a forwarded challenge failed.
#[derive(Debug, PartialEq, Eq)]
pub enum ChallengeError {
    /// No agent is connected for the container.
    NoAgent,
    /// The agent's stream ended before it answered.
    Gone,
    /// No answer within the deadline.
    Timeout,
}

struct Slot {
    conn: u64,
    events: mpsc::Sender<Event>,
}

struct Pending {
    container: AgentKey,
    answer: oneshot::Sender<Answer>,
}

/// The agent table.
#[derive(Default)]
pub struct Agents {
    slots: Mutex<HashMap<AgentKey, Slot>>,
    pending: Mutex<HashMap<String, Pending>>,
    next_conn: AtomicU64,
}

/// Held by a Serve connection; dropping it unregisters the agent if it is still the current
/// one for its container.
pub struct AgentGuard<'a> {
    agents: &'a Agents,
    container: AgentKey,
    conn: u64,
}

impl Drop for AgentGuard<'_> {
    fn drop(&mut self) {
        self.agents.detach(&self.container, self.conn);
    }
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut b).expect("system randomness");
    hex::encode(b)
}

impl Agents {
    /// Registers the agent of `container`, replacing an older one (a reconnect). Returns the
    /// stream of events to send it and a guard for its lifetime.
    pub fn attach(&self, container: AgentKey) -> (mpsc::Receiver<Event>, AgentGuard<'_>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        self.slots.lock().expect("slots lock").insert(container.clone(), Slot { conn, events: tx });
        (rx, AgentGuard { agents: self, container, conn })
    }

    fn detach(&self, container: &AgentKey, conn: u64) {
        let mut slots = self.slots.lock().expect("slots lock");
        if slots.get(container).is_some_and(|s| s.conn == conn) {
            slots.remove(container);
            drop(slots);
            // Fail its pending challenges now: dropping the senders wakes their waiters.
            self.pending.lock().expect("pending lock").retain(|_, p| p.container != *container);
        }
    }

    /// Drops the agent of `container` (failed health check): its stream ends.
    pub fn evict(&self, container: &AgentKey) {
        let conn = self.slots.lock().expect("slots lock").get(container).map(|s| s.conn);
        if let Some(conn) = conn {
            self.detach(container, conn);
        }
    }

    /// True when `container` has an agent.
    pub fn has(&self, container: &AgentKey) -> bool {
        self.slots.lock().expect("slots lock").contains_key(container)
    }

    /// Number of agents connected.
    pub fn count(&self) -> usize {
        self.slots.lock().expect("slots lock").len()
    }

    /// Everyone with an agent.
    pub fn keys(&self) -> Vec<AgentKey> {
        self.slots.lock().expect("slots lock").keys().cloned().collect()
    }

    /// Sends a challenge (or, without a nonce, a ping) and waits for the answer.
    pub async fn challenge(
        &self,
        container: &AgentKey,
        nonce: Option<Nonce>,
        deadline: Duration,
    ) -> Result<Answer, ChallengeError> {
        let events = self.slots.lock().expect("slots lock").get(container).map(|s| s.events.clone());
        let events = events.ok_or(ChallengeError::NoAgent)?;
        let id = random_id();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .expect("pending lock")
            .insert(id.clone(), Pending { container: container.clone(), answer: tx });
        let kind = if nonce.is_some() { EventKind::Challenge } else { EventKind::Ping };
        let sent = events.try_send(Event { kind, id: id.clone(), nonce });
        let result = match sent {
            Err(mpsc::error::TrySendError::Closed(_)) => Err(ChallengeError::Gone),
            Err(mpsc::error::TrySendError::Full(_)) => Err(ChallengeError::Timeout),
            Ok(()) => match tokio::time::timeout(deadline, rx).await {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(_)) => Err(ChallengeError::Gone),
                Err(_) => Err(ChallengeError::Timeout),
            },
        };
        self.pending.lock().expect("pending lock").remove(&id);
        result
    }

    /// Whose agent a pending challenge (or ping) was sent to.
    pub fn pending_for(&self, id: &str) -> Option<AgentKey> {
        self.pending.lock().expect("pending lock").get(id).map(|p| p.container.clone())
    }

    /// Delivers an answer. The caller has checked that the responder is in the challenge's
    /// container. Returns false when the challenge is no longer pending.
    pub fn answer(&self, id: &str, answer: Answer) -> bool {
        match self.pending.lock().expect("pending lock").remove(id) {
            Some(p) => p.answer.send(answer).is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Namespaces, Placement, Runtime};

    fn c(id: &str) -> AgentKey {
        AgentKey::Container(ContainerRef { runtime: Runtime::Docker, id: id.into() })
    }

    fn n(b: u8) -> Option<Nonce> {
        Some(Nonce::from_bytes(vec![b; 8]).unwrap())
    }

    fn answer(tag: &str) -> Answer {
        Answer {
            identity: Some(Identity {
                pid: 1,
                uid: 0,
                gid: 0,
                groups: vec![],
                ns: Namespaces::default(),
                cgroup: String::new(),
                exe: tag.into(),
                exe_key: Default::default(),
                exe_sha256: String::new(),
                root: (0, 0),
                pid_ns_chain: vec![],
                placement: Placement::Host,
            }),
            measurements: vec![],
            claims: None,
        }
    }

    #[tokio::test]
    async fn concurrent_challenges_get_their_own_answers() {
        let agents = Agents::default();
        let (mut rx, _guard) = agents.attach(c("a"));
        let agent = async {
            let mut seen = Vec::new();
            for _ in 0..3 {
                seen.push(rx.recv().await.unwrap());
            }
            // Answer in reverse order; each must reach its own challenger.
            for e in seen.iter().rev() {
                assert_eq!(agents.pending_for(&e.id), Some(c("a")), "Respond looks the challenge up by id");
                assert!(agents.answer(&e.id, answer(&e.nonce.as_ref().unwrap().to_hex())));
                assert_eq!(agents.pending_for(&e.id), None, "an answered challenge is no longer pending");
            }
        };
        let d = Duration::from_secs(5);
        let a = c("a");
        let (r1, r2, r3, ()) = tokio::join!(
            agents.challenge(&a, n(1), d),
            agents.challenge(&a, n(2), d),
            agents.challenge(&a, n(3), d),
            agent
        );
        assert_eq!(r1.unwrap().identity.unwrap().exe, n(1).unwrap().to_hex());
        assert_eq!(r2.unwrap().identity.unwrap().exe, n(2).unwrap().to_hex());
        assert_eq!(r3.unwrap().identity.unwrap().exe, n(3).unwrap().to_hex());
    }

    #[tokio::test]
    async fn no_agent_gone_and_timeout_are_distinct() {
        let agents = Agents::default();
        let d = Duration::from_millis(200);
        assert_eq!(agents.challenge(&c("a"), n(0), d).await.unwrap_err(), ChallengeError::NoAgent);

        let (_rx, guard) = agents.attach(c("a"));
        assert_eq!(agents.challenge(&c("a"), n(0), d).await.unwrap_err(), ChallengeError::Timeout);

        // The agent goes away while a challenge waits: the error comes at once, not at the deadline.
        let started = std::time::Instant::now();
        let a = c("a");
        let (r, ()) = tokio::join!(agents.challenge(&a, n(0), Duration::from_secs(30)), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(guard);
        });
        assert_eq!(r.unwrap_err(), ChallengeError::Gone);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!agents.has(&c("a")));
    }

    /// A failed health check evicts: the agent's stream ends, a challenge waiting on it fails
    /// at once, and the table no longer lists it. Others are untouched.
    #[tokio::test]
    async fn eviction_ends_the_stream_fails_its_challenge_and_leaves_the_others() {
        let agents = Agents::default();
        assert_eq!((agents.count(), agents.keys()), (0, vec![]));
        let (mut rx_a, _ga) = agents.attach(c("a"));
        let (_rx_b, _gb) = agents.attach(c("b"));
        let (_rx_v, _gv) = agents.attach(AgentKey::Vm(7));
        let mut keys = agents.keys();
        keys.sort_by_key(|k| k.to_string());
        assert_eq!(keys, [c("a"), c("b"), AgentKey::Vm(7)]);
        assert_eq!(agents.count(), 3);
        let a = c("a");
        let (r, ()) = tokio::join!(agents.challenge(&a, n(1), Duration::from_secs(30)), async {
            // The challenge is pending once the agent has its event.
            assert_eq!(rx_a.recv().await.unwrap().kind, EventKind::Challenge);
            agents.evict(&c("a"));
        });
        assert_eq!(r.unwrap_err(), ChallengeError::Gone);
        assert!(rx_a.recv().await.is_none(), "the evicted agent's stream ends");
        assert!(!agents.has(&c("a")) && agents.has(&c("b")) && agents.has(&AgentKey::Vm(7)));
        assert_eq!(agents.count(), 2);
        agents.evict(&c("a"));
        assert_eq!(agents.count(), 2, "evicting an absent agent changes nothing");
    }

    #[test]
    fn agent_keys_read_as_in_logs() {
        assert_eq!(c("0123456789abcdef0123").to_string(), "docker:0123456789ab");
        assert_eq!(AgentKey::Vm(42).to_string(), "vm:42");
    }

    #[tokio::test]
    async fn a_reconnect_replaces_the_old_agent_and_the_old_guard_is_harmless() {
        let agents = Agents::default();
        let (_rx1, g1) = agents.attach(c("a"));
        let (_rx2, _g2) = agents.attach(c("a"));
        drop(g1);
        assert!(agents.has(&c("a")), "dropping the replaced agent's guard keeps the new one");
    }
}
