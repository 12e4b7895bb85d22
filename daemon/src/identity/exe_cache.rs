//! sha256 of executables, cached by (device, inode, size, mtime, ctime) so that a busy caller
//! costs one `fstat` per call. The owner of a file can rewrite it in place and then restore
//! its size and mtime (`touch -d`), but not its ctime: the kernel sets ctime on every change of
//! content or metadata, to the current time, and no system call sets it back. So a rewritten
//! file always misses.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

/// Largest executable rasd hashes (as large as a measured file may be).
pub const MAX_EXE_SIZE: u64 = 256 << 20;

/// Entries kept before the cache is cleared; bounds memory whatever callers run.
const MAX_ENTRIES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
    ctime: i64,
    ctime_nsec: i64,
}

impl Key {
    fn of(m: &std::fs::Metadata) -> Self {
        Key {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ctime: m.ctime(),
            ctime_nsec: m.ctime_nsec(),
        }
    }
}

/// A bounded digest cache.
#[derive(Debug, Default)]
pub struct ExeCache {
    map: Mutex<HashMap<Key, String>>,
}

impl ExeCache {
    /// The sha256 (hex) of an opened executable.
    pub fn digest(&self, mut file: File) -> io::Result<String> {
        let m = file.metadata()?;
        // A sparse file can claim terabytes and still run; hashing it would hold a thread for
        // hours. Such a caller is not identified.
        if m.len() > MAX_EXE_SIZE {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "executable larger than 256 MiB; not hashed"));
        }
        let key = Key::of(&m);
        if let Some(d) = self.map.lock().expect("cache lock").get(&key) {
            return Ok(d.clone());
        }
        let digest = sha256_reader(&mut file)?;
        let mut map = self.map.lock().expect("cache lock");
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, digest.clone());
        Ok(digest)
    }

    /// Entries cached now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().expect("cache lock").len()
    }
}

/// sha256 (hex) of everything `r` yields, read in 64 KiB chunks.
pub fn sha256_reader(mut r: impl Read) -> io::Result<String> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(ctx.finish()));
        }
        ctx.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn caches_and_misses_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let c = ExeCache::default();
        let d1 = c.digest(File::open(&p).unwrap()).unwrap();
        assert_eq!(d1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(c.digest(File::open(&p).unwrap()).unwrap(), d1);
        assert_eq!(c.len(), 1);
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(b"d").unwrap();
        assert_ne!(c.digest(File::open(&p).unwrap()).unwrap(), d1);
    }

    /// The size bound is inclusive, and a file one byte over it (sparse: it costs no disk) is
    /// refused before anything is read.
    #[test]
    fn the_size_bound_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let c = ExeCache::default();
        let at = dir.path().join("at");
        File::create(&at).unwrap().set_len(MAX_EXE_SIZE).unwrap();
        assert_eq!(c.digest(File::open(&at).unwrap()).unwrap().len(), 64, "a file of exactly the bound is hashed");
        let over = dir.path().join("over");
        File::create(&over).unwrap().set_len(MAX_EXE_SIZE + 1).unwrap();
        assert_eq!(c.digest(File::open(&over).unwrap()).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    /// Entries accumulate up to the bound; past it the cache starts again rather than grow.
    #[test]
    fn the_cache_holds_up_to_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let c = ExeCache::default();
        for i in 0..=MAX_ENTRIES {
            let p = dir.path().join(i.to_string());
            std::fs::write(&p, i.to_string()).unwrap();
            c.digest(File::open(&p).unwrap()).unwrap();
            let expected = if i < MAX_ENTRIES { i + 1 } else { 1 };
            assert_eq!(c.len(), expected, "after {} files", i + 1);
        }
    }

    /// The attack: rewrite in place with the same size, then restore the old mtime. Only the
    /// kernel-set ctime tells the versions apart, and it must.
    #[test]
    fn a_rewrite_with_restored_size_and_mtime_misses() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"good").unwrap();
        let before = std::fs::metadata(&p).unwrap();
        let c = ExeCache::default();
        let good = c.digest(File::open(&p).unwrap()).unwrap();
        // Make sure the clock has moved on, so the rewrite gets a new ctime.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().write_all(b"evil").unwrap();
        let times = std::fs::FileTimes::new().set_modified(before.modified().unwrap());
        File::options().write(true).open(&p).unwrap().set_times(times).unwrap();
        let after = std::fs::metadata(&p).unwrap();
        assert_eq!(
            (after.len(), after.mtime(), after.mtime_nsec()),
            (before.len(), before.mtime(), before.mtime_nsec())
        );
        let now = c.digest(File::open(&p).unwrap()).unwrap();
        assert_ne!(now, good, "a rewritten file must not keep its old digest");
        assert_eq!(now, crate::identity::exe_cache::sha256_reader(&b"evil"[..]).unwrap());
    }
}
