//! Runtime measurement logs: one hash chain per subject, extended by `ExtendMeasurement`.
//!
//! Each entry is digested over a length-prefixed binary encoding (no JSON canonicalization to
//! get wrong), and the chain is `chain' = sha256(chain || entry_digest)`, starting from 32
//! zero bytes. Evidence carries the entries and the chain value; the verifier replays them.

use ring::digest::{digest, Context, SHA256, SHA384};
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

/// Most events one boot's log PCR may take (every subject's entries together): host evidence
/// carries them all (about 230 bytes each in the JWS), and must stay well inside the 1 MiB
/// message limit.
pub const MAX_PCR_EVENTS: usize = 2048;
/// Of [`MAX_PCR_EVENTS`], how many only the host may use (one full log of its own).
pub const PCR_EVENTS_HOST_RESERVE: usize = MAX_ENTRIES;

/// One entry as extended into the log PCR: whose log, which entry, and the entry's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcrEvent {
    /// The subject's log key ([`crate::claims::Subject::log_key`]).
    pub subject: String,
    /// The entry's `seq` in that subject's log.
    pub seq: u64,
    /// The entry's digest ([`LogEntry::digest`]), hex.
    pub digest: String,
}

impl PcrEvent {
    /// What is extended into the PCR for this event: sha256 over `ras-runtime-pcr-v1\0`, the
    /// key's length (8 bytes, big-endian), the key, and the entry digest. The key makes an
    /// entry of one subject useless as another's; the entry digest covers its `seq`.
    pub fn pcr_digest(&self) -> Option<[u8; 32]> {
        let entry: [u8; 32] = hex::decode(&self.digest).ok()?.try_into().ok()?;
        let mut ctx = Context::new(&SHA256);
        ctx.update(b"ras-runtime-pcr-v1\0");
        ctx.update(&(self.subject.len() as u64).to_be_bytes());
        ctx.update(self.subject.as_bytes());
        ctx.update(&entry);
        Some(ctx.finish().as_ref().try_into().expect("sha256 is 32 bytes"))
    }
}

impl PcrEvent {
    /// What is extended into TDX RTMR3 for this event: SHA-384 over `ras-runtime-rtmr-v1\0`
    /// and then the same fields as [`PcrEvent::pcr_digest`]. Its own domain string keeps a
    /// digest made for one register from being presented as made for the other.
    pub fn rtmr_digest(&self) -> Option<crate::tsm::Rtmr> {
        let entry: [u8; 32] = hex::decode(&self.digest).ok()?.try_into().ok()?;
        let mut ctx = Context::new(&SHA384);
        ctx.update(b"ras-runtime-rtmr-v1\0");
        ctx.update(&(self.subject.len() as u64).to_be_bytes());
        ctx.update(self.subject.as_bytes());
        ctx.update(&entry);
        Some(ctx.finish().as_ref().try_into().expect("sha384 is 48 bytes"))
    }
}

/// The register of the TDX RTMR extend operation: `rtmr' = sha384(rtmr || digest)`, from
/// `start` (48 zero bytes at a TD's start).
pub fn rtmr_replay(start: crate::tsm::Rtmr, digests: impl IntoIterator<Item = crate::tsm::Rtmr>) -> crate::tsm::Rtmr {
    digests.into_iter().fold(start, |r, d| {
        let input = [r.as_slice(), &d].concat();
        digest(&SHA384, &input).as_ref().try_into().expect("sha384 is 48 bytes")
    })
}

/// Checks a runtime log against the events of TDX RTMR3, read as `rtmr3` from a fresh TDX
/// quote: the events replay to it from zero, and this subject's events are exactly its log's
/// entries, in order (as [`check_anchored`] for a PCR). Returns the number of events.
pub fn check_anchored_rtmr(
    log: Option<&RuntimeLog>,
    key: &str,
    events: &[PcrEvent],
    rtmr3: &crate::tsm::Rtmr,
) -> Result<usize, String> {
    if events.len() > MAX_PCR_EVENTS {
        return Err(format!("{} runtime-log events, at most {MAX_PCR_EVENTS}", events.len()));
    }
    let digests = events
        .iter()
        .map(|e| e.rtmr_digest().ok_or("a runtime-log event digest is not 32 bytes of hex"))
        .collect::<Result<Vec<_>, _>>()?;
    if rtmr_replay([0; crate::tsm::RTMR_LEN], digests) != *rtmr3 {
        return Err(
            "the runtime-log events do not replay to RTMR3 of the fresh TDX quote (does other software extend it?)"
                .into(),
        );
    }
    subject_events_match(log, key, "RTMR3", events)?;
    Ok(events.len())
}

/// This subject's events are exactly its log's entries, in order.
fn subject_events_match(
    log: Option<&RuntimeLog>,
    key: &str,
    register: &str,
    events: &[PcrEvent],
) -> Result<(), String> {
    let mine: Vec<&PcrEvent> = events.iter().filter(|e| e.subject == key).collect();
    let entries = log.map(|l| l.entries.as_slice()).unwrap_or_default();
    if mine.len() != entries.len() {
        return Err(format!(
            "the runtime log has {} entries, but {register} holds {} events of this subject: the log was changed after it was extended",
            entries.len(),
            mine.len()
        ));
    }
    for (e, ev) in entries.iter().zip(mine) {
        if ev.seq != e.seq || ev.digest != hex::encode(e.digest()) {
            return Err(format!(
                "runtime log entry {} is not the one extended into {register}: the log was changed",
                e.seq
            ));
        }
    }
    Ok(())
}

/// Checks a runtime log against the events of the log PCR, which replay to `quoted`: the
/// events replay, and this subject's events are exactly its log's entries, in order. Returns
/// the number of events.
pub fn check_anchored(
    log: Option<&RuntimeLog>,
    key: &str,
    pcr: u8,
    events: &[PcrEvent],
    quoted: &[u8; 32],
) -> Result<usize, String> {
    if pcr >= 16 {
        // 16 and 23 reset at locality 0 (anyone with the TPM can reset and replay a forged
        // log), 17 to 22 belong to DRTM: a log PCR is a static one.
        return Err(format!(
            "the runtime log is anchored in PCR {pcr}, which can be reset; only PCRs 0 to 15 anchor it"
        ));
    }
    if events.len() > MAX_PCR_EVENTS {
        return Err(format!("{} runtime-log events, at most {MAX_PCR_EVENTS}", events.len()));
    }
    let digests = events
        .iter()
        .map(|e| e.pcr_digest().ok_or("a runtime-log event digest is not 32 bytes of hex"))
        .collect::<Result<Vec<_>, _>>()?;
    if crate::tpm::pcr_replay([0; 32], digests) != *quoted {
        return Err(format!(
            "the runtime-log events do not replay to the quoted PCR {pcr} (does other software extend it?)"
        ));
    }
    subject_events_match(log, key, &format!("PCR {pcr}"), events)?;
    Ok(events.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host log of two entries, and the events of the log register: host, a container's, host.
    fn two_host_entries_and_a_container_s() -> (RuntimeLog, Vec<PcrEvent>) {
        let entries = vec![entry(0, "a"), entry(1, "b")];
        let chain = entries.iter().fold([0u8; 32], |c, e| extend(&c, e));
        let ev = |subject: &str, e: &LogEntry| PcrEvent {
            subject: subject.into(),
            seq: e.seq,
            digest: hex::encode(e.digest()),
        };
        let events = vec![ev("host", &entries[0]), ev("docker-x", &entries[0]), ev("host", &entries[1])];
        (RuntimeLog { chain: hex::encode(chain), entries }, events)
    }

    #[test]
    fn an_anchored_log_must_be_the_extended_one() {
        let (log, events) = two_host_entries_and_a_container_s();
        let pcr = crate::tpm::pcr_replay([0; 32], events.iter().map(|e| e.pcr_digest().unwrap()));
        assert_eq!(check_anchored(Some(&log), "host", 15, &events, &pcr), Ok(3));
        // Another subject's entries do not count; an edited or dropped entry is caught.
        assert!(check_anchored(Some(&log), "docker-x", 15, &events, &pcr).is_err());
        let mut edited = log.clone();
        edited.entries[1].content = "c".into();
        assert!(check_anchored(Some(&edited), "host", 15, &events, &pcr).unwrap_err().contains("changed"));
        assert!(check_anchored(None, "host", 15, &events, &pcr).is_err());
        // Events that were rewritten do not replay to the quoted value.
        let mut forged = events.clone();
        forged[1].subject = "host".into();
        assert!(check_anchored(Some(&log), "host", 15, &forged, &pcr).unwrap_err().contains("replay"));
    }

    #[test]
    fn an_rtmr_anchored_log_replays_in_sha384_and_must_be_the_extended_one() {
        let (log, events) = two_host_entries_and_a_container_s();
        // The replay by hand: sha384(rtmr || digest), from zero.
        let mut rtmr = [0u8; 48];
        for e in &events {
            let d = e.rtmr_digest().unwrap();
            rtmr = digest(&SHA384, &[rtmr.as_slice(), &d].concat()).as_ref().try_into().unwrap();
        }
        assert_eq!(rtmr_replay([0; 48], events.iter().map(|e| e.rtmr_digest().unwrap())), rtmr);
        // The domain string differs from the PCR's: the first 32 bytes are not the PCR digest.
        assert_ne!(events[0].rtmr_digest().unwrap()[..32], events[0].pcr_digest().unwrap());
        assert_eq!(check_anchored_rtmr(Some(&log), "host", &events, &rtmr), Ok(3));
        assert!(check_anchored_rtmr(Some(&log), "docker-x", &events, &rtmr).unwrap_err().contains("RTMR3 holds 1"));
        let mut edited = log.clone();
        edited.entries[1].content = "c".into();
        assert!(check_anchored_rtmr(Some(&edited), "host", &events, &rtmr).unwrap_err().contains("changed"));
        assert!(check_anchored_rtmr(Some(&log), "host", &events[..2], &rtmr).unwrap_err().contains("replay"));
        assert!(check_anchored_rtmr(Some(&log), "host", &events, &[0; 48]).unwrap_err().contains("replay"));
        let mut bad = events.clone();
        bad[0].digest = "zz".into();
        assert!(check_anchored_rtmr(Some(&log), "host", &bad, &rtmr).is_err());
    }

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
