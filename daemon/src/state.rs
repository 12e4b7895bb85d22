//! Crash-safe files in the state directory: every write goes to a temp file in the same
//! directory, is fsynced, renamed over the target, and the directory is fsynced, so a `kill -9`
//! at any moment leaves either the old or the new content, never a torn one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Writes `data` to `path` atomically with permission bits `mode`.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no name"))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        // `mode` is filtered by the umask at creation; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A PEM file of the state directory that could not be read, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum PemFileError {
    /// Reading or writing failed.
    #[error("state file {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file holds no usable PEM block.
    #[error("state file {path}: {source}")]
    Pem {
        /// The file.
        path: String,
        /// The cause.
        source: ras_evidence::pem::PemError,
    },
}

/// Reads the `label` blocks of a PEM file, or, when it does not exist, makes them with
/// `create` and writes them atomically with `mode`. Returns the DER blocks and whether they
/// were just created.
pub fn load_or_create_pem<E: From<PemFileError>>(
    path: &Path,
    label: &str,
    mode: u32,
    create: impl FnOnce() -> Result<Vec<Vec<u8>>, E>,
) -> Result<(Vec<Vec<u8>>, bool), E> {
    let io_err = |source| PemFileError::Io { path: path.display().to_string(), source };
    match fs::read_to_string(path) {
        Ok(text) => {
            let ders = ras_evidence::pem::parse_label(&text, label)
                .map_err(|source| PemFileError::Pem { path: path.display().to_string(), source })?;
            Ok((ders, false))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let ders = create()?;
            let text: String = ders.iter().map(|d| ras_evidence::pem::encode(label, d)).collect();
            write_atomic(path, text.as_bytes(), mode).map_err(io_err)?;
            Ok((ders, true))
        }
        Err(e) => Err(io_err(e).into()),
    }
}

/// Creates `dir` (and parents) with `mode` if missing; an existing directory is left as it is.
pub fn ensure_dir(dir: &Path, mode: u32) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
}

/// `dir/<stem><suffix>`, or `dir/<stem>-<n><suffix>` with the first `n` not taken: where to put
/// something aside without replacing what an earlier run put there.
pub fn unused_path(dir: &Path, stem: &str, suffix: &str) -> PathBuf {
    let first = dir.join(format!("{stem}{suffix}"));
    if !first.exists() {
        return first;
    }
    (2u32..).map(|n| dir.join(format!("{stem}-{n}{suffix}"))).find(|p| !p.exists()).expect("some n is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_and_keep_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("key");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1, "no temp file left behind");
    }
}
