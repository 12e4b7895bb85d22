//! The one digest form of ras: sha256, lower-case hex (executables, files, AK fingerprints).

/// sha256 of `data`, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}
