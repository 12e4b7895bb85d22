//! sha256 of executables, cached by (device, inode, size, mtime) so that a busy caller costs
//! one `fstat` per call. A file that changes in place changes its mtime or size, and misses.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

/// Entries kept before the cache is cleared; bounds memory whatever callers run.
const MAX_ENTRIES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
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
        let key = Key { dev: m.dev(), ino: m.ino(), size: m.size(), mtime: m.mtime(), mtime_nsec: m.mtime_nsec() };
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
}
