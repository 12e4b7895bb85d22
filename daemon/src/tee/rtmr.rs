//! Runtime-log anchoring in TDX RTMR3 (`--tee tsm --tsm-rtmr`), the configfs-tsm twin of the
//! TPM backend's log PCR. Linux 6.16 and later expose a TD's RTMRs through the TSM
//! measurement-register sysfs ABI: reading `rtmr3:sha384` gives its 48 bytes, writing 48 bytes
//! extends it. Only RTMR3 is used: RTMR0 to RTMR2 hold the firmware's, boot loader's and
//! kernel's measurements, RTMR3 is the one left for the OS and applications.
//!
//! Every event goes to the journal `<state>/tsm/log-events.jsonl` first, then into RTMR3 as
//! [`PcrEvent::rtmr_digest`]. A crash in between leaves the journal one ahead, which the next
//! start extends; any other difference is refused. RTMR3 is zero at a TD's start, but "zero"
//! cannot tell a new boot from a log that never had an event, so the boot is told by the
//! kernel's boot id, recorded next to the journal.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ras_evidence::runtime_log::{rtmr_replay, PcrEvent, MAX_PCR_EVENTS, PCR_EVENTS_HOST_RESERVE};
use ras_evidence::tsm::{Rtmr, RTMR_LEN};
use thiserror::Error;

use super::AnchorError;
use crate::state::{ensure_dir, write_atomic};

/// Where Linux puts TDX RTMR3.
pub const DEFAULT_RTMR: &str = "/sys/class/misc/tdx_guest/measurements/rtmr3:sha384";
/// The kernel's id of this boot.
pub const DEFAULT_BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";
/// How long RTMR3 may take to show an extend. The kernel's does before `write` returns; the
/// wait is for user-space emulations of the file (ras's tests), which extend a moment later.
const EXTEND_WAIT: Duration = Duration::from_secs(2);
/// A boot id is a UUID; anything much longer is not one.
const MAX_BOOT_ID: usize = 128;

/// Where RTMR3 and the boot id are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmrConfig {
    /// The RTMR3 sysfs file.
    pub register: PathBuf,
    /// The file that names this boot.
    pub boot_id: PathBuf,
}

/// An RTMR failure, phrased for the operator.
#[derive(Debug, Error)]
pub enum RtmrError {
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What rasd was doing.
        what: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// RTMR3 did not read as 48 bytes.
    #[error("{path} reads {len} bytes, not the 48 of a SHA-384 RTMR: is it rtmr3:sha384 of a TDX guest (Linux 6.16 or later)? (another file: --tsm-rtmr, or none)")]
    NotRtmr {
        /// The file.
        path: String,
        /// What it gave.
        len: usize,
    },
    /// The boot id file is empty or garbled.
    #[error("{path} does not hold a boot id")]
    BootId {
        /// The file.
        path: String,
    },
    /// RTMR3 is neither the journal's replay nor one event short of it.
    #[error("RTMR3 ({register}) is {value}, but the {events} runtime-log events in {journal} replay to {replay}: another program extends RTMR3, or the journal was changed; move {journal} and the runtime-log directory aside to start a new log (after a new boot), or run with --tsm-rtmr none")]
    Mismatch {
        /// The RTMR3 file.
        register: String,
        /// Its value, hex.
        value: String,
        /// Events in the journal.
        events: usize,
        /// The journal.
        journal: String,
        /// Their replay, hex.
        replay: String,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> RtmrError + 'a {
    move |source| RtmrError::Io { what, path: path.display().to_string(), source }
}

/// The journal and RTMR3 as rasd keeps them: every event in `events` is in RTMR3, unless a
/// failed extend set `broken` (then nothing more is taken until the next start).
pub struct RtmrLog {
    register: PathBuf,
    journal: PathBuf,
    file: File,
    events: Vec<PcrEvent>,
    broken: bool,
}

impl RtmrLog {
    /// Loads the journal in `<state_dir>/tsm/` and reconciles it with RTMR3. Returns the log
    /// and whether this is a new boot (the journal of the last one was put aside, and the
    /// caller puts the runtime logs aside too).
    pub fn open(state_dir: &Path, config: &RtmrConfig) -> Result<(RtmrLog, bool), RtmrError> {
        let dir = state_dir.join("tsm");
        ensure_dir(&dir, 0o700).map_err(io_err("create", &dir))?;
        let journal = dir.join("log-events.jsonl");
        let (mut events, mut good) = read_journal(&journal)?;
        let boot = read_boot_id(&config.boot_id)?;
        let boot_path = dir.join("log-events.boot_id");
        let stored = std::fs::read_to_string(&boot_path).ok().map(|t| t.trim().to_string());
        let mut fresh_boot = false;
        if stored.as_deref() != Some(boot.as_str()) {
            if !events.is_empty() {
                let stem = format!("log-events.boot-{}", crate::clock::unix_now());
                let aside = crate::state::unused_path(&dir, &stem, ".jsonl");
                std::fs::rename(&journal, &aside).map_err(io_err("put aside", &journal))?;
                tracing::info!(journal = %aside.display(), boot = %boot, "a new boot: a new runtime log starts in RTMR3");
                events.clear();
                good = 0;
                fresh_boot = true;
            }
            write_atomic(&boot_path, format!("{boot}\n").as_bytes(), 0o600).map_err(io_err("write", &boot_path))?;
        }
        let digests: Vec<Rtmr> = events.iter().filter_map(PcrEvent::rtmr_digest).collect();
        let value = read_register(&config.register)?;
        let all = rtmr_replay([0; RTMR_LEN], digests.iter().copied());
        if value != all {
            let short = rtmr_replay([0; RTMR_LEN], digests.iter().take(digests.len().saturating_sub(1)).copied());
            match digests.last() {
                Some(last) if value == short => {
                    extend_register(&config.register, &value, last)?;
                    tracing::info!("extended the last runtime-log event, which a stop had left out of RTMR3");
                }
                _ => {
                    return Err(RtmrError::Mismatch {
                        register: config.register.display().to_string(),
                        value: hex::encode(value),
                        events: events.len(),
                        journal: journal.display().to_string(),
                        replay: hex::encode(all),
                    })
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&journal).map_err(io_err("open", &journal))?;
        // Cut a line a crash tore, so the next event starts on a line of its own.
        file.set_len(good).map_err(io_err("truncate", &journal))?;
        Ok((RtmrLog { register: config.register.clone(), journal, file, events, broken: false }, fresh_boot))
    }

    /// The events, all of them in RTMR3 (unless an extend failed, which refuses new ones).
    pub fn events(&self) -> &[PcrEvent] {
        &self.events
    }

    /// Journal first, then RTMR3; bounded like the log PCR, with the host's reserve.
    pub fn extend(&mut self, event: PcrEvent) -> Result<(), AnchorError> {
        if self.broken {
            return Err(AnchorError::NotCommitted(
                "an earlier extend of RTMR3 failed; restart rasd to extend it".into(),
            ));
        }
        let others = self.events.iter().filter(|e| e.subject != "host").count();
        if self.events.len() >= MAX_PCR_EVENTS
            || (event.subject != "host" && others >= MAX_PCR_EVENTS - PCR_EVENTS_HOST_RESERVE)
        {
            return Err(AnchorError::NotCommitted(format!(
                "RTMR3 holds {} events ({others} of containers and VM guests), the most one boot may have",
                self.events.len()
            )));
        }
        let digest = event.rtmr_digest().ok_or_else(|| AnchorError::NotCommitted("bad entry digest".into()))?;
        let Ok(mut line) = serde_json::to_vec(&event) else {
            return Err(AnchorError::NotCommitted("the event does not serialize".into()));
        };
        line.push(b'\n');
        if let Err(e) = self.file.write_all(&line).and_then(|()| self.file.sync_data()) {
            // The line may be half written: cut back to the committed events.
            let committed: u64 =
                self.events.iter().map(|e| serde_json::to_vec(e).map_or(0, |v| v.len() as u64 + 1)).sum();
            let _ = self.file.set_len(committed);
            return Err(AnchorError::NotCommitted(format!("{}: {e}", self.journal.display())));
        }
        let before = rtmr_replay([0; RTMR_LEN], self.events.iter().filter_map(PcrEvent::rtmr_digest));
        self.events.push(event);
        extend_register(&self.register, &before, &digest).map_err(|e| {
            self.broken = true;
            AnchorError::NotExtended(e.to_string())
        })
    }
}

/// The committed events of a journal, and the length of the file they take; a torn or
/// unreadable line ends it (it was never committed).
fn read_journal(path: &Path) -> Result<(Vec<PcrEvent>, u64), RtmrError> {
    let mut events = Vec::new();
    let mut good = 0u64;
    let Ok(f) = File::open(path) else { return Ok((events, 0)) };
    let mut reader = io::BufReader::new(f);
    let mut line = Vec::new();
    while events.len() < MAX_PCR_EVENTS && reader.read_until(b'\n', &mut line).map_err(io_err("read", path))? > 0 {
        let Some(body) = line.strip_suffix(b"\n") else { break };
        let Ok(event) = serde_json::from_slice::<PcrEvent>(body) else { break };
        if event.rtmr_digest().is_none() {
            break;
        }
        good += line.len() as u64;
        events.push(event);
        line.clear();
    }
    Ok((events, good))
}

fn read_boot_id(path: &Path) -> Result<String, RtmrError> {
    let f = File::open(path).map_err(io_err("open", path))?;
    let mut text = String::new();
    f.take(MAX_BOOT_ID as u64 + 1).read_to_string(&mut text).map_err(io_err("read", path))?;
    let id = text.trim();
    if id.is_empty() || id.len() > MAX_BOOT_ID || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(RtmrError::BootId { path: path.display().to_string() });
    }
    Ok(id.to_string())
}

/// Reads RTMR3: exactly 48 bytes.
pub fn read_register(path: &Path) -> Result<Rtmr, RtmrError> {
    let f = File::open(path).map_err(io_err("open", path))?;
    let mut out = Vec::new();
    f.take(RTMR_LEN as u64 + 1).read_to_end(&mut out).map_err(io_err("read", path))?;
    let len = out.len();
    out.try_into().map_err(|_| RtmrError::NotRtmr { path: path.display().to_string(), len })
}

/// Extends RTMR3 with `digest` and reads it back: it must now be `sha384(before || digest)`,
/// or something else extended it in between (or the write did not take).
fn extend_register(path: &Path, before: &Rtmr, digest: &Rtmr) -> Result<(), RtmrError> {
    let mut f = OpenOptions::new().write(true).open(path).map_err(io_err("open", path))?;
    f.write_all(digest).map_err(io_err("extend", path))?;
    drop(f);
    let want = rtmr_replay(*before, [*digest]);
    let deadline = Instant::now() + EXTEND_WAIT;
    loop {
        let value = read_register(path)?;
        if value == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(RtmrError::Io {
                what: "extend",
                path: path.display().to_string(),
                source: io::Error::other(format!(
                    "RTMR3 reads {} after the extend, not {}: another program extends RTMR3",
                    hex::encode(value),
                    hex::encode(want)
                )),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
