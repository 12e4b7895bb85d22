//! The configfs-tsm TEE (`--tee tsm`): reports from the Linux kernel's TSM report interface,
//! `/sys/kernel/config/tsm/report` (Linux 6.7 and later, `CONFIG_TSM_REPORTS`), in a TDX,
//! SEV-SNP or Arm CCA guest.
//!
//! For each report rasd creates an entry of its own (`mkdir`), writes the 64 bytes of report
//! data to `inblob`, reads `outblob` (the TDX quote or SEV-SNP report), `provider` and
//! `generation`, and removes the entry again, also when something failed. The kernel bumps
//! `generation` on every write to an entry; if it moved by more than rasd's own write, another
//! process wrote the entry between rasd's write and read, and the outblob may answer that
//! write instead: rasd then starts over with a new entry, a bounded number of times.
//!
//! Fresh reports. Evidence that asks for one gets a report whose report data is the Merkle
//! root of the leaves of the requests that queued meanwhile (zero-padded to 64 bytes), made by
//! one thread, as the TPM backend batches its quotes. With `--tsm-rtmr` every runtime-log
//! event is also extended into TDX RTMR3 ([`super::rtmr`]), and each fresh report carries the
//! events RTMR3 held when it was made: extends wait while a report is made, so the two agree.
//!
//! There is no hardware key that can sign X.509, so in "no AS" mode the AK certificate is
//! self-signed by the AK and carries the raw report (DESIGN §4.2, EVIDENCE §3): the trust comes
//! from the report's binding of the AK and from the appraisal of its hardware signature.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ras_evidence::cert;
use ras_evidence::report::{TeeReport, TsmReport, REPORT_DATA_LEN};
use ring::rand::SecureRandom;
use thiserror::Error;

use ras_evidence::merkle;
use ras_evidence::runtime_log::PcrEvent;
use tokio::sync::oneshot;

use super::rtmr::{RtmrConfig, RtmrLog};
use super::{AnchorError, Fresh, FreshReport, LogAnchor, QuoteReply, Tee, TeeError};

/// Where the kernel puts the TSM report interface.
pub const DEFAULT_PATH: &str = "/sys/kernel/config/tsm/report";
/// Reports tried before a persistent concurrent writer is an error.
const ATTEMPTS: u32 = 3;
/// Bound on `outblob`: a kernel-controlled size, and more than the kernel's own 32 KiB limit.
const MAX_OUTBLOB: usize = 64 * 1024;
/// Bound on the small text attributes (`provider`, `generation`).
const MAX_TEXT: usize = 256;
/// The attributes rasd uses; configfs creates them with the entry.
const ATTRIBUTES: [&str; 4] = ["inblob", "outblob", "provider", "generation"];
/// How long an entry's attributes may take to appear. On a real configfs they exist when
/// `mkdir` returns, so the first look succeeds; the wait is for user-space emulations of the
/// tree (ras's tests, development setups), which populate a new entry a moment later.
const ATTRIBUTE_WAIT: Duration = Duration::from_secs(2);

/// A configfs-tsm failure, phrased for the operator.
#[derive(Debug, Error)]
pub enum TsmError {
    /// The report directory is missing.
    #[error(
        "configfs-tsm not found at {path}: is configfs mounted (mount -t configfs none /sys/kernel/config), and does \
         this kernel (6.7 or later) have CONFIG_TSM_REPORTS in a TDX, SEV-SNP or CCA guest? (another directory: --tsm-path)"
    )]
    NotFound {
        /// The base path.
        path: String,
    },
    /// The report directory is read-only to rasd.
    #[error(
        "configfs-tsm at {path} is read-only to rasd: under systemd, install the drop-in /usr/share/ras/rasd-tsm.conf \
         (rasd(8), CONFIGFS-TSM), which makes only that directory writable"
    )]
    ReadOnly {
        /// The base path.
        path: String,
    },
    /// A file operation on the tree failed.
    #[error("configfs-tsm: {what} {path}: {source}")]
    Io {
        /// What rasd was doing.
        what: &'static str,
        /// The file or directory.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A new entry lacks an attribute.
    #[error(
        "configfs-tsm entry {path} has no {attribute} attribute: is {base} really the configfs-tsm report directory?"
    )]
    MissingAttribute {
        /// The entry.
        path: String,
        /// The missing attribute.
        attribute: &'static str,
        /// The base path.
        base: String,
    },
    /// An attribute is larger than any kernel makes it.
    #[error("configfs-tsm {path} is larger than {max} bytes")]
    TooLarge {
        /// The attribute.
        path: String,
        /// Its bound.
        max: usize,
    },
    /// `generation` or `provider` is not what the kernel writes.
    #[error("configfs-tsm {path} reads {text:?}, which the kernel never writes")]
    Garbled {
        /// The attribute.
        path: String,
        /// What it said (bounded).
        text: String,
    },
    /// Another process kept writing rasd's entries.
    #[error(
        "configfs-tsm: another process wrote rasd's report entries in each of {ATTEMPTS} attempts (generation went from \
         {before} to {after} across rasd's single write); find what else writes under {base}, then restart rasd"
    )]
    Contended {
        /// The base path.
        base: String,
        /// Generation before rasd's write, in the last attempt.
        before: u64,
        /// Generation after rasd read the outblob, in the last attempt.
        after: u64,
    },
    /// The provider's report cannot be used.
    #[error("configfs-tsm provider {provider}: {source}; use --tee sim, or a TDX or SEV-SNP guest")]
    Provider {
        /// The provider attribute.
        provider: String,
        /// Why.
        #[source]
        source: ras_evidence::tsm::TsmError,
    },
    /// RTMR3 could not be opened or reconciled with the journal.
    #[error(transparent)]
    Rtmr(#[from] super::rtmr::RtmrError),
    /// The kernel's report binds other data than rasd wrote.
    #[error("configfs-tsm returned a {report} that binds other report data than rasd wrote to {path}/inblob")]
    Mismatch {
        /// The entry.
        path: String,
        /// What kind of report.
        report: &'static str,
    },
}

impl From<TsmError> for TeeError {
    fn from(e: TsmError) -> Self {
        TeeError::Backend(Box::new(e))
    }
}

/// The configfs-tsm device.
pub struct TsmTee {
    device: Arc<Device>,
    /// RTMR3 and its journal, shared with the report thread; the events it held at start, and
    /// whether that start was a new boot.
    log: Option<(Arc<Mutex<RtmrLog>>, Vec<PcrEvent>, bool)>,
    /// Fresh-report requests, to the thread that batches them.
    quotes: mpsc::Sender<(Leaf, oneshot::Sender<Result<Fresh, String>>)>,
    counts: Arc<(AtomicU64, AtomicU64)>,
}

type Leaf = [u8; 32];

/// The report directory, and rasd's entries in it.
struct Device {
    base: PathBuf,
    /// Numbers rasd's entries, with the pid and a random tag, so their names never collide.
    seq: AtomicU64,
}

impl TsmTee {
    /// Opens the report directory `base` (`--tsm-path`), without RTMR3.
    pub fn open(base: &Path) -> Result<Self, TeeError> {
        Self::open_anchored(base, None, 1)
    }

    /// Opens the report directory `base`; with `rtmr` (the state directory and where RTMR3
    /// is), reconciles the runtime-log journal with RTMR3. `batch` bounds a fresh-report batch.
    pub fn open_anchored(base: &Path, rtmr: Option<(&Path, &RtmrConfig)>, batch: usize) -> Result<Self, TeeError> {
        if !base.is_dir() {
            return Err(TsmError::NotFound { path: base.display().to_string() }.into());
        }
        let device = Arc::new(Device { base: base.to_path_buf(), seq: AtomicU64::new(0) });
        let log = match rtmr {
            Some((state_dir, config)) => {
                let (log, fresh_boot) = RtmrLog::open(state_dir, config).map_err(TsmError::from)?;
                let events = log.events().to_vec();
                Some((Arc::new(Mutex::new(log)), events, fresh_boot))
            }
            None => None,
        };
        let (quotes, rx) = mpsc::channel();
        let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        let (d, l, c) = (device.clone(), log.as_ref().map(|l| l.0.clone()), counts.clone());
        std::thread::Builder::new()
            .name("ras-tsm".into())
            .spawn(move || serve_quotes(&d, l.as_deref(), &rx, batch.max(1), &c))
            .map_err(|e| TeeError::Report(format!("start the configfs-tsm thread: {e}")))?;
        Ok(TsmTee { device, log, quotes, counts })
    }

    /// The report directory.
    pub fn base(&self) -> &Path {
        &self.device.base
    }
}

/// The report thread: every request queued meanwhile (up to `batch`) shares one report over
/// the Merkle root of their leaves. RTMR3's lock is held across the report, so the events
/// handed out are exactly those the report's RTMR3 shows.
fn serve_quotes(
    device: &Device,
    log: Option<&Mutex<RtmrLog>>,
    rx: &mpsc::Receiver<(Leaf, oneshot::Sender<Result<Fresh, String>>)>,
    batch: usize,
    counts: &(AtomicU64, AtomicU64),
) {
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        while waiting.len() < batch {
            match rx.try_recv() {
                Ok(next) => waiting.push(next),
                Err(_) => break,
            }
        }
        let leaves: Vec<Leaf> = waiting.iter().map(|(l, _)| *l).collect();
        let mut data = [0u8; REPORT_DATA_LEN];
        data[..32].copy_from_slice(&merkle::root(&leaves));
        let made = {
            let guard = log.map(|l| l.lock().unwrap_or_else(|p| p.into_inner()));
            let report = device.report(&data).map_err(|e| e.to_string());
            report.map(|r| (r, guard.map(|g| g.events().to_vec())))
        };
        if made.is_ok() {
            counts.0.fetch_add(1, Ordering::Relaxed);
            counts.1.fetch_add(leaves.len() as u64, Ordering::Relaxed);
        }
        for (i, (_, reply)) in waiting.into_iter().enumerate() {
            let fresh = match &made {
                Ok((TeeReport::Tsm(r), events)) => Ok(Fresh::Tsm(FreshReport {
                    provider: r.provider.clone(),
                    outblob: r.outblob.clone(),
                    index: i as u64,
                    batch: leaves.len() as u64,
                    proof: merkle::proof(&leaves, i),
                    rtmr3_events: events.clone(),
                })),
                Ok(_) => Err("configfs-tsm gave another kind of report".to_string()),
                Err(e) => Err(e.clone()),
            };
            let _ = reply.send(fresh);
        }
    }
}

impl Device {
    fn report(&self, data: &[u8; REPORT_DATA_LEN]) -> Result<TeeReport, TeeError> {
        let mut last = (0, 0);
        for _ in 0..ATTEMPTS {
            match self.attempt(data)? {
                Ok(report) => return Ok(report),
                Err(generations) => last = generations,
            }
        }
        let (before, after) = last;
        Err(TsmError::Contended { base: self.base.display().to_string(), before, after }.into())
    }

    /// One report, in one new entry: `Ok(Err((before, after)))` when a concurrent writer
    /// moved the generation between rasd's write and its read.
    fn attempt(&self, data: &[u8; REPORT_DATA_LEN]) -> Result<Result<TeeReport, (u64, u64)>, TsmError> {
        let entry = Entry::create(&self.base, self.seq.fetch_add(1, Ordering::Relaxed))?;
        entry.wait_for_attributes(&self.base)?;
        let provider = entry.read_text("provider")?;
        let before = entry.generation()?;
        entry.write("inblob", data)?;
        let outblob = entry.read("outblob", MAX_OUTBLOB)?;
        let after = entry.generation()?;
        if after != before.wrapping_add(1) {
            tracing::warn!(entry = %entry.path.display(), before, after, "configfs-tsm entry written by another process; retrying");
            return Ok(Err((before, after)));
        }
        // The same reading a verifier does: refuse to certify what no verifier could check.
        let parsed = ras_evidence::tsm::parse(&provider, &outblob)
            .map_err(|source| TsmError::Provider { provider: provider.clone(), source })?;
        if parsed.report_data != *data {
            let path = entry.path.display().to_string();
            return Err(TsmError::Mismatch { path, report: parsed.provider.report_name() });
        }
        Ok(Ok(TeeReport::Tsm(TsmReport {
            provider,
            outblob: STANDARD.encode(&outblob),
            generation: after,
            report_data: hex::encode(data),
        })))
    }
}

impl Tee for TsmTee {
    fn kind(&self) -> &'static str {
        "tsm"
    }

    fn claims(&self) -> (&'static str, &'static str) {
        (
            "that a TDX or SEV-SNP guest with the report's measurements asked for a report over the AK, once an appraiser checked the hardware signature; fresh reports (host evidence) show the guest after the verifier's nonce, with the runtime log in RTMR3 (TDX)",
            "the measurements' meaning (the appraiser's policy), freshness for evidence without a fresh report, or anything about a CCA guest",
        )
    }

    fn report(&self, data: &[u8; REPORT_DATA_LEN]) -> Result<TeeReport, TeeError> {
        self.device.report(data)
    }

    fn log_anchor(&self) -> Option<&dyn LogAnchor> {
        self.log.as_ref().map(|_| self as &dyn LogAnchor)
    }

    fn quote_counts(&self) -> (u64, u64) {
        (self.counts.0.load(Ordering::Relaxed), self.counts.1.load(Ordering::Relaxed))
    }

    fn fresh_quote(&self, leaf: [u8; 32]) -> Option<QuoteReply> {
        let (reply, rx) = oneshot::channel();
        // A stopped thread drops `reply`, which the receiver reports as an error.
        let _ = self.quotes.send((leaf, reply));
        Some(rx)
    }

    fn root_cert(&self) -> Option<&[u8]> {
        None
    }

    fn issue_ak_cert(&self, ak: &rcgen::KeyPair, report: &TeeReport) -> Result<Vec<u8>, TeeError> {
        cert::issue_self_signed_ak(ak, report).map_err(|e| TeeError::Key(e.to_string()))
    }
}

impl LogAnchor for TsmTee {
    fn pcr(&self) -> u8 {
        3
    }

    fn events_at_start(&self) -> &[PcrEvent] {
        self.log.as_ref().map_or(&[], |l| l.1.as_slice())
    }

    fn fresh_boot(&self) -> bool {
        self.log.as_ref().is_some_and(|l| l.2)
    }

    fn extend(&self, event: PcrEvent) -> Result<(), AnchorError> {
        let Some((log, _, _)) = &self.log else {
            return Err(AnchorError::NotCommitted("no RTMR3 is configured".into()));
        };
        log.lock().unwrap_or_else(|p| p.into_inner()).extend(event)
    }
}

/// One report entry, removed on drop.
struct Entry {
    path: PathBuf,
}

impl Entry {
    fn create(base: &Path, seq: u64) -> Result<Entry, TsmError> {
        let mut tag = [0u8; 4];
        // A name that no earlier rasd with the same pid left behind.
        ring::rand::SystemRandom::new().fill(&mut tag).map_err(|_| TsmError::Io {
            what: "draw a random entry name under",
            path: base.display().to_string(),
            source: io::Error::other("no system randomness"),
        })?;
        let path = base.join(format!("ras-{}-{seq}-{}", std::process::id(), hex::encode(tag)));
        std::fs::create_dir(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => TsmError::NotFound { path: base.display().to_string() },
            // systemd's ProtectKernelTunables= makes /sys, configfs included, read-only.
            _ if source.raw_os_error() == Some(libc::EROFS) => TsmError::ReadOnly { path: base.display().to_string() },
            _ => TsmError::Io { what: "create report entry", path: path.display().to_string(), source },
        })?;
        Ok(Entry { path })
    }

    fn wait_for_attributes(&self, base: &Path) -> Result<(), TsmError> {
        let deadline = Instant::now() + ATTRIBUTE_WAIT;
        for attribute in ATTRIBUTES {
            while std::fs::symlink_metadata(self.path.join(attribute)).is_err() {
                if Instant::now() > deadline {
                    let path = self.path.display().to_string();
                    return Err(TsmError::MissingAttribute { path, attribute, base: base.display().to_string() });
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    }

    fn io(&self, what: &'static str, attribute: &str) -> impl FnOnce(io::Error) -> TsmError {
        let path = self.path.join(attribute).display().to_string();
        move |source| TsmError::Io { what, path, source }
    }

    /// Writes an attribute in one go. configfs hands a binary attribute's bytes to the kernel
    /// when the file is closed, which the end of this function does.
    fn write(&self, attribute: &str, data: &[u8]) -> Result<(), TsmError> {
        let mut f =
            OpenOptions::new().write(true).open(self.path.join(attribute)).map_err(self.io("open", attribute))?;
        f.write_all(data).map_err(self.io("write", attribute))
    }

    /// Reads an attribute, at most `max` bytes; more is an error, never a truncated report.
    fn read(&self, attribute: &str, max: usize) -> Result<Vec<u8>, TsmError> {
        let f = File::open(self.path.join(attribute)).map_err(self.io("open", attribute))?;
        let mut out = Vec::new();
        f.take(max as u64 + 1).read_to_end(&mut out).map_err(self.io("read", attribute))?;
        if out.len() > max {
            return Err(TsmError::TooLarge { path: self.path.join(attribute).display().to_string(), max });
        }
        Ok(out)
    }

    fn read_text(&self, attribute: &str) -> Result<String, TsmError> {
        let bytes = self.read(attribute, MAX_TEXT)?;
        let text = String::from_utf8_lossy(&bytes).trim().to_string();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(TsmError::Garbled { path: self.path.join(attribute).display().to_string(), text });
        }
        Ok(text)
    }

    fn generation(&self) -> Result<u64, TsmError> {
        let text = self.read_text("generation")?;
        text.parse().map_err(|_| TsmError::Garbled { path: self.path.join("generation").display().to_string(), text })
    }
}

impl Drop for Entry {
    /// configfs removes the attributes with the directory. An entry left behind would hold a
    /// report in kernel memory until the next boot, so a failure is logged.
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir(&self.path) {
            tracing::warn!(entry = %self.path.display(), error = %e, "could not remove configfs-tsm report entry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ak::AkStore;
    use ras_evidence::report::{ak_binding, ReportError};
    use ras_tests::tsm::{Hardware, TsmEmulator};

    fn report_of(tee: &TsmTee, data: &[u8; 64]) -> TsmReport {
        match tee.report(data).unwrap() {
            TeeReport::Tsm(r) => r,
            other => panic!("not a tsm report: {other:?}"),
        }
    }

    #[test]
    fn a_report_binds_what_was_written_and_its_entry_is_removed() {
        for hardware in [Hardware::Tdx, Hardware::Snp] {
            let emu = TsmEmulator::start(hardware);
            let tee = TsmTee::open(&emu.path()).unwrap();
            let data = ak_binding(b"the AK's SubjectPublicKeyInfo");
            let r = report_of(&tee, &data);
            assert_eq!(r.provider, if hardware == Hardware::Tdx { "tdx_guest" } else { "sev_guest" });
            assert_eq!(r.generation, 1);
            let report = TeeReport::Tsm(r);
            // What a verifier does: read the report data out of the raw report.
            report.verify(&data).unwrap();
            assert!(matches!(report.verify(&ak_binding(b"another key")), Err(ReportError::WrongReportData)));
            assert_eq!(emu.entries(), 1);
            assert_eq!(emu.leftovers(), Vec::<String>::new(), "{hardware:?}: entries are removed");
        }
    }

    #[test]
    fn a_concurrent_writer_causes_a_retry_and_a_persistent_one_a_clear_error() {
        let emu = TsmEmulator::start(Hardware::Tdx);
        let tee = TsmTee::open(&emu.path()).unwrap();
        let data = ak_binding(b"k");
        emu.spoil(1);
        TeeReport::Tsm(report_of(&tee, &data)).verify(&data).unwrap();
        assert_eq!(emu.entries(), 2, "one spoiled entry, then a good one");
        emu.spoil(u32::MAX);
        let e = tee.report(&data).unwrap_err().to_string();
        assert!(e.contains("another process wrote rasd's report entries in each of 3 attempts"), "{e}");
        assert!(e.contains("from 0 to 2"), "{e}");
        assert_eq!(emu.entries(), 5);
        assert_eq!(emu.leftovers(), Vec::<String>::new());
    }

    #[test]
    fn a_kernel_that_binds_other_data_or_an_unreadable_provider_is_refused() {
        let emu = TsmEmulator::start(Hardware::Tdx);
        emu.lie();
        let e = TsmTee::open(&emu.path()).unwrap().report(&[7; 64]).unwrap_err().to_string();
        assert!(e.contains("binds other report data than rasd wrote"), "{e}");
        assert_eq!(emu.leftovers(), Vec::<String>::new());
        let emu = TsmEmulator::start(Hardware::Cca);
        let e = TsmTee::open(&emu.path()).unwrap().report(&[7; 64]).unwrap_err().to_string();
        assert!(e.contains("arm_cca_guest is not supported"), "{e}");
        assert_eq!(emu.leftovers(), Vec::<String>::new());
    }

    fn event(seq: u64, subject: &str) -> PcrEvent {
        PcrEvent { subject: subject.into(), seq, digest: hex::encode([seq as u8 + 1; 32]) }
    }

    #[test]
    fn runtime_log_events_go_into_rtmr3_and_fresh_reports_show_them() {
        use ras_evidence::runtime_log::rtmr_replay;
        let emu = TsmEmulator::start(Hardware::Tdx);
        let state = tempfile::tempdir().unwrap();
        let config = RtmrConfig { register: emu.rtmr_path(), boot_id: emu.boot_id_path() };
        let open = || TsmTee::open_anchored(&emu.path(), Some((state.path(), &config)), 8);
        let tee = open().unwrap();
        assert!(!tee.fresh_boot());
        let anchor = tee.log_anchor().unwrap();
        anchor.extend(event(0, "host")).unwrap();
        anchor.extend(event(1, "host")).unwrap();
        let events = [event(0, "host"), event(1, "host")];
        let want = rtmr_replay([0; 48], events.iter().map(|e| e.rtmr_digest().unwrap()));
        assert_eq!(emu.rtmr3(), want);

        // Two leaves in one batch, or one each: either way the report binds the Merkle root,
        // shows RTMR3, and carries the events.
        let leaves = [[1u8; 32], [2u8; 32]];
        let replies: Vec<_> = leaves.iter().map(|l| tee.fresh_quote(*l).unwrap()).collect();
        for (leaf, reply) in leaves.iter().zip(replies) {
            let Fresh::Tsm(r) = reply.blocking_recv().unwrap().unwrap() else { panic!("not a tsm report") };
            assert_eq!(r.rtmr3_events.as_deref(), Some(&events[..]));
            let raw = STANDARD.decode(&r.outblob).unwrap();
            let parsed = ras_evidence::tsm::parse(&r.provider, &raw).unwrap();
            assert_eq!(parsed.rtmrs.unwrap()[3], want);
            let root = merkle::root_from_proof(*leaf, r.index, r.batch, &r.proof).unwrap();
            assert_eq!(parsed.report_data[..32], root);
            assert_eq!(parsed.report_data[32..], [0; 32]);
        }
        assert_eq!(tee.quote_counts().1, 2);
        drop(tee);

        // A restart reconciles: equal, then one behind (a crash between journal and RTMR3).
        let tee = open().unwrap();
        assert_eq!(tee.log_anchor().unwrap().events_at_start(), &events[..]);
        drop(tee);
        let journal = state.path().join("tsm/log-events.jsonl");
        let mut text = std::fs::read_to_string(&journal).unwrap();
        text.push_str(&serde_json::to_string(&event(2, "docker-x")).unwrap());
        text.push('\n');
        std::fs::write(&journal, &text).unwrap();
        let tee = open().unwrap();
        assert_eq!(tee.log_anchor().unwrap().events_at_start().len(), 3);
        let all: Vec<PcrEvent> = tee.log_anchor().unwrap().events_at_start().to_vec();
        assert_eq!(emu.rtmr3(), rtmr_replay([0; 48], all.iter().map(|e| e.rtmr_digest().unwrap())));
        drop(tee);

        // A rewritten journal does not replay to RTMR3: refused, with what to do.
        std::fs::write(&journal, text.replace("docker-x", "host")).unwrap();
        let e = open().err().expect("must refuse").to_string();
        assert!(e.contains("another program extends RTMR3, or the journal was changed"), "{e}");
        std::fs::write(&journal, &text).unwrap();

        // A new boot: RTMR3 is zero again and the boot id changed; the old journal is put aside.
        emu.reboot(2);
        let tee = open().unwrap();
        assert!(tee.fresh_boot());
        assert!(tee.log_anchor().unwrap().events_at_start().is_empty());
        let aside = std::fs::read_dir(state.path().join("tsm"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("log-events.boot-"));
        assert_eq!(aside.count(), 1);
        // Zero without a new boot id is not a new boot: the journal of this boot must match
        // (two events, so zero is not merely one behind).
        tee.log_anchor().unwrap().extend(event(0, "host")).unwrap();
        tee.log_anchor().unwrap().extend(event(1, "host")).unwrap();
        drop(tee);
        std::fs::write(emu.rtmr_path(), [0u8; 48]).unwrap();
        emu.reboot(2);
        let e = open().err().expect("must refuse").to_string();
        assert!(e.contains("replay to"), "{e}");
    }

    #[test]
    fn rtmr3_that_is_not_48_bytes_is_refused() {
        let emu = TsmEmulator::start(Hardware::Tdx);
        let state = tempfile::tempdir().unwrap();
        let bad = state.path().join("rtmr");
        std::fs::write(&bad, b"short").unwrap();
        let config = RtmrConfig { register: bad, boot_id: emu.boot_id_path() };
        let e = TsmTee::open_anchored(&emu.path(), Some((state.path(), &config)), 8).err().unwrap().to_string();
        assert!(e.contains("reads 5 bytes, not the 48"), "{e}");
    }

    #[test]
    fn a_missing_configfs_says_what_to_check() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("tsm/report");
        let e = TsmTee::open(&missing).err().expect("must fail").to_string();
        assert!(e.contains(&format!("configfs-tsm not found at {}", missing.display())), "{e}");
        assert!(e.contains("CONFIG_TSM_REPORTS") && e.contains("6.7"), "{e}");
        // A directory that is not configfs: mkdir works, the attributes never come.
        let tee = TsmTee::open(d.path()).unwrap();
        let e = tee.report(&[0; 64]).unwrap_err().to_string();
        assert!(e.contains("has no inblob attribute"), "{e}");
    }

    #[test]
    fn the_ak_certificate_is_self_signed_carries_the_report_and_is_reissued_per_start() {
        let emu = TsmEmulator::start(Hardware::Tdx);
        let tee = TsmTee::open(&emu.path()).unwrap();
        let state = tempfile::tempdir().unwrap();
        let ak = AkStore::open(state.path(), &tee).unwrap();
        assert_eq!(ak.mode(), "tee");
        let leaf = ras_evidence::pem::parse_label(&ak.chain_pem(), "CERTIFICATE").unwrap().remove(0);
        let anchor = ak.trust_anchor().unwrap();
        assert_eq!(anchor, leaf, "the trust anchor is the self-signed AK certificate");
        let spki = cert::spki_of(&leaf).unwrap();
        cert::report_of(&leaf).unwrap().unwrap().verify(&ak_binding(&spki)).unwrap();
        // Restart: same key, a fresh report, and the pinned first certificate still anchors it.
        let again = AkStore::open(state.path(), &tee).unwrap();
        assert_eq!(again.fingerprint(), ak.fingerprint());
        let leaf2 = ras_evidence::pem::parse_label(&again.chain_pem(), "CERTIFICATE").unwrap().remove(0);
        assert_ne!(leaf2, leaf);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        cert::verify_chain(&[leaf2], &[anchor], now).unwrap();
        assert_eq!(emu.entries(), 2);
    }
}
