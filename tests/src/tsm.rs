//! An emulated configfs-tsm report tree (`/sys/kernel/config/tsm/report`) for tests of
//! `rasd --tee tsm`: a thread plays the kernel. When a directory appears under the tree it
//! populates it with `provider`, `generation`, `inblob` and `outblob`; when `inblob` is
//! written it answers with a recorded public sample report (`evidence/testdata/tsm/`) whose
//! report data are the bytes written, at the vendor's offset, and bumps `generation`.
//!
//! It also plays TDX RTMR3 as Linux's TSM measurement-register sysfs file
//! (`rtmr3:sha384`), a polled plain file: 48 bytes written over it are taken as an extend of
//! an in-memory SHA-384 register, whose value is then written back, and each TDX quote carries
//! the current value at RTMR3's offset. A boot id file next to it changes with [`TsmEmulator::reboot`].
//!
//! A real configfs blocks a reader of `outblob` until the report exists and removes the
//! attributes with the directory. Plain files can do neither, so `inblob`, `outblob` and
//! `generation` are FIFOs: each open waits for the "kernel" thread, which therefore sees
//! rasd's steps in order (generation, inblob, outblob, generation) and, at the last one,
//! unlinks the attributes so that rasd's `rmdir` finds the entry empty, as on configfs.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A recorded TDX quote v4 (trustee's `tdx_quote_4.dat`); its report data start at 568.
pub const TDX_QUOTE: &[u8] = include_bytes!("../../evidence/testdata/tsm/tdx_quote_4.dat");
/// A recorded SEV-SNP report (trustee's `snp/test-report.bin`); its report data start at 0x50.
pub const SNP_REPORT: &[u8] = include_bytes!("../../evidence/testdata/tsm/snp_report.bin");

/// Which guest the emulated kernel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hardware {
    /// `tdx_guest`, answering with [`TDX_QUOTE`].
    Tdx,
    /// `sev_guest`, answering with [`SNP_REPORT`].
    Snp,
    /// `arm_cca_guest`, answering with bytes that are no CCA token (rasd must refuse the
    /// provider before it looks at them).
    Cca,
}

impl Hardware {
    fn provider(self) -> &'static str {
        match self {
            Hardware::Tdx => "tdx_guest",
            Hardware::Snp => "sev_guest",
            Hardware::Cca => "arm_cca_guest",
        }
    }

    /// The report for `data`: the sample with `data` laid over its report data.
    fn report(self, data: &[u8], rtmr3: &[u8; 48]) -> Vec<u8> {
        let (sample, at) = match self {
            Hardware::Tdx => (TDX_QUOTE, 568),
            Hardware::Snp => (SNP_REPORT, 0x50),
            Hardware::Cca => (SNP_REPORT, 0x50),
        };
        let mut out = sample.to_vec();
        let n = data.len().min(64);
        out[at..at + 64].fill(0);
        out[at..at + n].copy_from_slice(&data[..n]);
        if self == Hardware::Tdx {
            // RTMR3: the 48 bytes before REPORTDATA in the TD report body (at quote offset 48).
            out[48 + 472..48 + 520].copy_from_slice(rtmr3);
        }
        out
    }
}

struct Shared {
    hardware: Hardware,
    stop: AtomicBool,
    /// Entries still to answer as if another process wrote them too (`u32::MAX`: always).
    spoil: AtomicU32,
    /// Answer with other report data than were written.
    lie: AtomicBool,
    /// Entries served so far.
    entries: AtomicUsize,
    /// RTMR3's file and value.
    rtmr: (PathBuf, Mutex<[u8; 48]>),
}

impl Shared {
    /// Takes 48 bytes written over the RTMR3 file as an extend, and writes the new value back.
    fn sync_rtmr(&self) -> [u8; 48] {
        let mut value = self.rtmr.1.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(bytes) = std::fs::read(&self.rtmr.0) {
            if bytes.len() == 48 && bytes[..] != value[..] {
                let input = [&value[..], &bytes].concat();
                let next = ring::digest::digest(&ring::digest::SHA384, &input);
                value.copy_from_slice(next.as_ref());
                overwrite(&self.rtmr.0, &value[..]);
            }
        }
        *value
    }
}

/// Writes the register's new value over the old one in place. `std::fs::write` would
/// truncate first, and rasd, polling the file for its extend to show, could read the empty
/// file in between; the kernel's register never reads short.
fn overwrite(path: &Path, value: &[u8]) {
    if let Ok(mut f) = OpenOptions::new().write(true).open(path) {
        let _ = f.write_all(value);
    }
}

/// The emulated tree and its "kernel" thread, stopped on drop.
pub struct TsmEmulator {
    dir: tempfile::TempDir,
    shared: Arc<Shared>,
    watcher: Option<JoinHandle<()>>,
}

impl TsmEmulator {
    /// A tree of `hardware`, with its kernel thread running.
    pub fn start(hardware: Hardware) -> TsmEmulator {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("report")).expect("tree");
        std::fs::create_dir(dir.path().join("staging")).expect("staging");
        let rtmr = dir.path().join("rtmr3:sha384");
        std::fs::write(&rtmr, [0u8; 48]).expect("rtmr3");
        std::fs::write(dir.path().join("boot_id"), "00000000-0000-4000-8000-000000000001\n").expect("boot id");
        let shared = Arc::new(Shared {
            hardware,
            stop: AtomicBool::new(false),
            spoil: AtomicU32::new(0),
            lie: AtomicBool::new(false),
            entries: AtomicUsize::new(0),
            rtmr: (rtmr, Mutex::new([0; 48])),
        });
        let (root, s) = (dir.path().to_path_buf(), shared.clone());
        let watcher = std::thread::spawn(move || watch(&root, &s));
        TsmEmulator { dir, shared, watcher: Some(watcher) }
    }

    /// The report directory, for `--tsm-path`.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("report")
    }

    /// The emulated `rtmr3:sha384` file (`--tsm-rtmr`).
    pub fn rtmr_path(&self) -> PathBuf {
        self.shared.rtmr.0.clone()
    }

    /// The emulated boot id file.
    pub fn boot_id_path(&self) -> PathBuf {
        self.dir.path().join("boot_id")
    }

    /// RTMR3 now.
    pub fn rtmr3(&self) -> [u8; 48] {
        self.shared.sync_rtmr()
    }

    /// A new boot: RTMR3 back to zero and a new boot id.
    pub fn reboot(&self, n: u32) {
        let mut value = self.shared.rtmr.1.lock().unwrap_or_else(|p| p.into_inner());
        *value = [0; 48];
        overwrite(&self.shared.rtmr.0, &[0u8; 48]);
        std::fs::write(self.boot_id_path(), format!("00000000-0000-4000-8000-{n:012}\n")).expect("boot id");
    }

    /// The next `n` entries are written by "another process" too: their generation moves by
    /// two across the client's single write. `u32::MAX` spoils every entry.
    pub fn spoil(&self, n: u32) {
        self.shared.spoil.store(n, Ordering::SeqCst);
    }

    /// From now on, answer with report data other than the ones written.
    pub fn lie(&self) {
        self.shared.lie.store(true, Ordering::SeqCst);
    }

    /// Entries the kernel has served.
    pub fn entries(&self) -> usize {
        self.shared.entries.load(Ordering::SeqCst)
    }

    /// What is left in the tree (entries the client did not remove).
    pub fn leftovers(&self) -> Vec<String> {
        let entries = std::fs::read_dir(self.path()).expect("read tree");
        entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
    }
}

impl Drop for TsmEmulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        // A per-entry thread still waiting on a FIFO (its client gave up half-way) is left to
        // the end of the test process; the tree itself goes with the temp directory.
    }
}

/// The kernel's side: notice new entries and serve each on its own thread.
fn watch(root: &Path, shared: &Arc<Shared>) {
    let tree = root.join("report");
    let mut seen = HashSet::new();
    while !shared.stop.load(Ordering::SeqCst) {
        shared.sync_rtmr();
        for entry in std::fs::read_dir(&tree).into_iter().flatten().flatten() {
            let name = entry.file_name();
            if entry.path().is_dir() && seen.insert(name.clone()) {
                let (path, staging, s) = (entry.path(), root.join("staging").join(&name), shared.clone());
                std::thread::spawn(move || serve(&path, &staging, &s));
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn fifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
}

/// Opens a FIFO for writing (waiting for the client to open it for reading) and writes.
fn answer(path: &Path, bytes: &[u8], before_write: impl FnOnce()) {
    let mut f = OpenOptions::new().write(true).open(path).expect("open fifo for writing");
    before_write();
    // The client may have given up; that is its test's failure, not a panic here.
    let _ = f.write_all(bytes);
}

fn serve(entry: &Path, staging: &Path, shared: &Shared) {
    for name in ["inblob", "outblob", "generation"] {
        fifo(&entry.join(name));
    }
    // `provider` appears whole (a rename), last: the client waits for all four.
    std::fs::write(staging, format!("{}\n", shared.hardware.provider())).expect("stage provider");
    std::fs::rename(staging, entry.join("provider")).expect("provider");
    answer(&entry.join("generation"), b"0\n", || {});
    let mut written = Vec::new();
    let inblob = File::open(entry.join("inblob")).expect("open inblob");
    let _ = inblob.take(4096).read_to_end(&mut written);
    let spoiled = shared.spoil.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
        0 => None,
        u32::MAX => Some(u32::MAX),
        n => Some(n - 1),
    });
    let generation = if spoiled.is_ok() { 2 } else { 1 };
    if shared.lie.load(Ordering::SeqCst) {
        written.iter_mut().for_each(|b| *b ^= 0x5a);
    }
    answer(&entry.join("outblob"), &shared.hardware.report(&written, &shared.sync_rtmr()), || {});
    shared.entries.fetch_add(1, Ordering::SeqCst);
    // The client's last read: once it has the FIFO open, the attributes can go, as configfs
    // removes them with the directory.
    answer(&entry.join("generation"), format!("{generation}\n").as_bytes(), || {
        for name in ["inblob", "outblob", "generation", "provider"] {
            let _ = std::fs::remove_file(entry.join(name));
        }
    });
}
