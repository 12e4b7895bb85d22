//! Runtime measurement logs on disk: one append-only JSON-lines file per subject in
//! `<state>/runtime-log/`. An entry is fsynced before `ExtendMeasurement` replies, so an
//! acknowledged event survives `kill -9`; a torn last line (never acknowledged) is dropped at
//! load.
//!
//! With a [`LogAnchor`] (a TPM PCR), every entry is also committed to the anchor's journal and
//! extended into the register before the reply. The journal is then the commit point: an
//! entry a subject's file holds beyond the journal's count for it was never acknowledged, and
//! is dropped at load.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ras_evidence::runtime_log::{extend, LogEntry, PcrEvent, RuntimeLog, MAX_ENTRIES};
use thiserror::Error;

use crate::state::ensure_dir;
use crate::tee::{AnchorError, LogAnchor};

/// An extend failure.
#[derive(Debug, Error)]
pub enum LogError {
    /// The subject's log is full.
    #[error("runtime log is full ({MAX_ENTRIES} entries or {MAX_LOG_BYTES} bytes)")]
    Full,
    /// The log could not be written durably.
    #[error("runtime log {0}")]
    Io(String, #[source] io::Error),
    /// The entry could not be anchored in the hardware register.
    #[error(transparent)]
    Anchor(#[from] AnchorError),
}

struct Log {
    file: File,
    entries: Vec<LogEntry>,
    chain: [u8; 32],
    /// Bytes of the log as stored (JSON lines, escapes included).
    bytes: u64,
}

/// Bound on one subject's log in bytes, as encoded: every piece of that subject's evidence
/// carries the whole log, and evidence must stay well inside the 1 MiB message limit (base64
/// adds a third). A log of control characters escapes to six bytes per byte, so a count of
/// entries alone does not bound it.
pub const MAX_LOG_BYTES: u64 = 256 * 1024;

/// Every subject's log.
pub struct Logs {
    dir: PathBuf,
    open: Mutex<HashMap<String, Log>>,
    /// With an anchor: per subject, the entries its journal held at start. Entries past these
    /// were never acknowledged.
    committed: Option<HashMap<String, u64>>,
}

impl Logs {
    /// Logs under `<state>/runtime-log`.
    pub fn new(state_dir: &Path) -> io::Result<Self> {
        let dir = state_dir.join("runtime-log");
        ensure_dir(&dir, 0o700)?;
        Ok(Logs { dir, open: Mutex::new(HashMap::new()), committed: None })
    }

    /// Logs whose entries are also anchored: `events` are those the anchor's journal held at
    /// start.
    pub fn anchored(state_dir: &Path, events: &[PcrEvent]) -> io::Result<Self> {
        let mut logs = Logs::new(state_dir)?;
        let mut committed = HashMap::new();
        for e in events {
            *committed.entry(e.subject.clone()).or_insert(0) += 1;
        }
        logs.committed = Some(committed);
        Ok(logs)
    }

    fn load<'a>(&self, open: &'a mut HashMap<String, Log>, subject: &str) -> Result<&'a mut Log, LogError> {
        if !open.contains_key(subject) {
            let path = self.dir.join(format!("{subject}.jsonl"));
            let err = |e| LogError::Io(path.display().to_string(), e);
            let file = OpenOptions::new().create(true).read(true).append(true).mode(0o600).open(&path).map_err(err)?;
            let mut entries = Vec::new();
            let mut chain = [0u8; 32];
            let mut good_len = 0u64;
            let mut reader = io::BufReader::new(&file);
            let mut line = Vec::new();
            let limit = self.committed.as_ref().map(|c| c.get(subject).copied().unwrap_or(0));
            loop {
                if limit.is_some_and(|n| entries.len() as u64 >= n) {
                    // Past the journal: written, never committed, never acknowledged.
                    break;
                }
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                // A line without its newline was torn by a crash (never acknowledged); a
                // complete entry is only one that was written whole, newline included.
                let Some(body) = line.strip_suffix(b"\n") else { break };
                match serde_json::from_slice::<LogEntry>(body) {
                    Ok(e) if e.seq == entries.len() as u64 => {
                        chain = extend(&chain, &e);
                        entries.push(e);
                        good_len += line.len() as u64;
                    }
                    _ => break,
                }
            }
            // Drop a torn tail so the next append starts on a clean line.
            file.set_len(good_len).map_err(err)?;
            open.insert(subject.to_string(), Log { file, entries, chain, bytes: good_len });
        }
        Ok(open.get_mut(subject).expect("inserted above"))
    }

    /// Appends an event to `subject`'s log, durably, and through `anchor` into its register.
    /// Returns (seq, chain hex). Blocking.
    pub fn extend(
        &self,
        subject: &str,
        domain: &str,
        operation: &str,
        content: &str,
        anchor: Option<&dyn LogAnchor>,
    ) -> Result<(u64, String), LogError> {
        let mut open = self.open.lock().expect("logs lock");
        let log = self.load(&mut open, subject)?;
        if log.entries.len() >= MAX_ENTRIES {
            return Err(LogError::Full);
        }
        let entry = LogEntry {
            seq: log.entries.len() as u64,
            time: crate::clock::unix_now(),
            domain: domain.into(),
            operation: operation.into(),
            content: content.into(),
        };
        let mut line = serde_json::to_vec(&entry).expect("entry serializes");
        line.push(b'\n');
        if log.bytes + line.len() as u64 > MAX_LOG_BYTES {
            return Err(LogError::Full);
        }
        let err = |e| LogError::Io(subject.to_string(), e);
        log.file.write_all(&line).map_err(err)?;
        log.file.sync_data().map_err(err)?;
        if let Some(anchor) = anchor {
            let event = PcrEvent { subject: subject.to_string(), seq: entry.seq, digest: hex::encode(entry.digest()) };
            match anchor.extend(event) {
                Ok(()) => {}
                // Committed: the entry stays, and rasd extends the register at its next start.
                Err(e @ AnchorError::NotExtended(_)) => {
                    log.chain = extend(&log.chain, &entry);
                    log.bytes += line.len() as u64;
                    log.entries.push(entry);
                    return Err(e.into());
                }
                Err(e @ AnchorError::NotCommitted(_)) => {
                    // Not committed: undo the line, so the file stays what was acknowledged.
                    let _ = log.file.set_len(log.bytes);
                    return Err(e.into());
                }
            }
        }
        log.chain = extend(&log.chain, &entry);
        log.bytes += line.len() as u64;
        log.entries.push(entry);
        Ok((log.entries.len() as u64 - 1, hex::encode(log.chain)))
    }

    /// The log as evidence carries it; `None` when it has no entries. Blocking.
    pub fn snapshot(&self, subject: &str) -> Result<Option<RuntimeLog>, LogError> {
        let mut open = self.open.lock().expect("logs lock");
        Ok(Self::view(self.load(&mut open, subject)?))
    }

    /// [`Self::snapshot`] without blocking: `None` when it would have to wait, for the disk
    /// (the log is not loaded yet) or for an extend holding the lock across its fsync. A
    /// caller on the async runtime tries this first and goes to the blocking pool only then.
    pub fn try_snapshot(&self, subject: &str) -> Option<Option<RuntimeLog>> {
        let open = self.open.try_lock().ok()?;
        open.get(subject).map(Self::view)
    }

    fn view(log: &Log) -> Option<RuntimeLog> {
        (!log.entries.is_empty()).then(|| RuntimeLog { chain: hex::encode(log.chain), entries: log.entries.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_drops_a_torn_tail() {
        let d = tempfile::tempdir().unwrap();
        let logs = Logs::new(d.path()).unwrap();
        logs.extend("host", "app", "load", "a", None).unwrap();
        let (seq, chain) = logs.extend("host", "app", "load", "b", None).unwrap();
        assert_eq!(seq, 1);
        drop(logs);
        let path = d.path().join("runtime-log/host.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":2,\"ti").unwrap();
        let logs = Logs::new(d.path()).unwrap();
        let snap = logs.snapshot("host").unwrap().unwrap();
        assert_eq!(snap.entries.len(), 2);
        assert_eq!(snap.chain, chain);
        snap.replay().unwrap();
        assert_eq!(logs.extend("host", "app", "load", "c", None).unwrap().0, 2);
        assert!(logs.snapshot("other").unwrap().is_none());
    }

    /// A crash between the entry's JSON and its newline leaves a whole object without the
    /// newline: it was never acknowledged, is dropped, and the next append starts clean.
    #[test]
    fn an_entry_without_its_newline_is_torn() {
        let d = tempfile::tempdir().unwrap();
        let logs = Logs::new(d.path()).unwrap();
        logs.extend("host", "app", "load", "a", None).unwrap();
        drop(logs);
        let path = d.path().join("runtime-log/host.jsonl");
        let whole = std::fs::read(&path).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(whole.strip_suffix(b"\n").unwrap().to_vec().as_slice()).unwrap();
        drop(f);
        let logs = Logs::new(d.path()).unwrap();
        assert_eq!(logs.snapshot("host").unwrap().unwrap().entries.len(), 1);
        assert_eq!(logs.extend("host", "app", "load", "b", None).unwrap().0, 1);
        drop(logs);
        let logs = Logs::new(d.path()).unwrap();
        let snap = logs.snapshot("host").unwrap().unwrap();
        assert_eq!(snap.entries.len(), 2, "the entry after the torn one survives a reload");
        snap.replay().unwrap();
    }

    #[test]
    fn a_log_is_bounded_in_bytes_not_only_entries() {
        let d = tempfile::tempdir().unwrap();
        let logs = Logs::new(d.path()).unwrap();
        // Control characters escape to six bytes each.
        let fat = "\u{1}".repeat(4000);
        let mut n = 0;
        while logs.extend("host", "app", "load", &fat, None).is_ok() {
            n += 1;
            assert!(n < MAX_ENTRIES, "no byte bound");
        }
        assert!(matches!(logs.extend("host", "app", "load", &fat, None), Err(LogError::Full)));
        let stored = std::fs::metadata(d.path().join("runtime-log/host.jsonl")).unwrap().len();
        assert!(stored <= MAX_LOG_BYTES, "{stored}");
        // The budget survives a reload.
        drop(logs);
        let logs = Logs::new(d.path()).unwrap();
        assert!(matches!(logs.extend("host", "app", "load", &fat, None), Err(LogError::Full)));
    }
}
