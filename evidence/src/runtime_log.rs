//! Runtime measurement logs: one hash chain per subject, extended by `ExtendMeasurement`.
//!
//! Each entry is digested over a length-prefixed binary encoding (no JSON canonicalization to
//! get wrong), and the chain is `chain' = sha256(chain || entry_digest)`, starting from 32
//! zero bytes. Evidence carries the entries and the chain value; the verifier replays them.

use ring::digest::{digest, Context, SHA256};
use serde::{Deserialize, Serialize};

/// Most entries one subject's log may hold; evidence must stay small.
pub const MAX_ENTRIES: usize = 1024;
/// Longest `domain` or `operation`, in bytes.
pub const MAX_LABEL: usize = 128;
/// Longest `content`, in bytes.
pub const MAX_CONTENT: usize = 4096;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When rasd recorded it, seconds since the epoch.
    pub time: i64,
    /// What area the event belongs to (e.g. `app`, `config`).
    pub domain: String,
    /// What happened (e.g. `load`, `update`).
    pub operation: String,
    /// The measured content (e.g. a digest or a file name), as the workload gave it.
    pub content: String,
}

impl LogEntry {
    /// The entry's digest.
    pub fn digest(&self) -> [u8; 32] {
        let mut ctx = Context::new(&SHA256);
        ctx.update(b"ras-runtime-log-v1\0");
        ctx.update(&self.seq.to_be_bytes());
        ctx.update(&self.time.to_be_bytes());
        for field in [&self.domain, &self.operation, &self.content] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field.as_bytes());
        }
        ctx.finish().as_ref().try_into().expect("sha256 is 32 bytes")
    }
}

/// The chain value after `entry`.
pub fn extend(chain: &[u8; 32], entry: &LogEntry) -> [u8; 32] {
    let input = [chain.as_slice(), &entry.digest()].concat();
    digest(&SHA256, &input).as_ref().try_into().expect("sha256 is 32 bytes")
}

/// A log as carried in evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeLog {
    /// The chain value after the last entry, hex.
    pub chain: String,
    /// Every entry, in order.
    pub entries: Vec<LogEntry>,
}

impl RuntimeLog {
    /// Replays the entries and compares with the chain value; names the first problem.
    pub fn replay(&self) -> Result<(), String> {
        let mut chain = [0u8; 32];
        for (i, e) in self.entries.iter().enumerate() {
            if e.seq != i as u64 {
                return Err(format!("runtime log entry {i} has seq {}", e.seq));
            }
            chain = extend(&chain, e);
        }
        if hex::encode(chain) != self.chain {
            return Err("runtime log does not replay to its chain value".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, content: &str) -> LogEntry {
        LogEntry { seq, time: 5, domain: "app".into(), operation: "load".into(), content: content.into() }
    }

    #[test]
    fn replays_and_detects_edits() {
        let entries = vec![entry(0, "a"), entry(1, "b")];
        let chain = entries.iter().fold([0u8; 32], |c, e| extend(&c, e));
        let mut log = RuntimeLog { chain: hex::encode(chain), entries };
        log.replay().unwrap();
        log.entries[1].content = "c".into();
        assert!(log.replay().is_err());
        log.entries.remove(1);
        assert!(log.replay().is_err());
    }

    #[test]
    fn fields_cannot_be_shifted_between_each_other() {
        let a = LogEntry { seq: 0, time: 0, domain: "ab".into(), operation: "c".into(), content: String::new() };
        let b = LogEntry { seq: 0, time: 0, domain: "a".into(), operation: "bc".into(), content: String::new() };
        assert_ne!(a.digest(), b.digest());
    }
}
