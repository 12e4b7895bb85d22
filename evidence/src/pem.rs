//! PEM (RFC 7468) encoding and decoding of DER blocks.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use thiserror::Error;

/// A PEM decoding failure.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PemError {
    /// A BEGIN line without its END line.
    #[error("PEM block {0:?} has no END line")]
    Unterminated(String),
    /// The body is not base64.
    #[error("PEM block {0:?} is not valid base64")]
    Base64(String),
    /// No block with the wanted label.
    #[error("no PEM block labelled {0:?}")]
    Missing(String),
}

/// Encodes `der` as a PEM block with `label` (e.g. `CERTIFICATE`).
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every PEM block in `text`, as (label, DER), in order. Text between blocks is ignored.
pub fn parse_all(text: &str) -> Result<Vec<(String, Vec<u8>)>, PemError> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line.trim().strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for l in lines.by_ref() {
            if l.trim() == end {
                closed = true;
                break;
            }
            body.push_str(l.trim());
        }
        if !closed {
            return Err(PemError::Unterminated(label.to_string()));
        }
        let der = STANDARD.decode(body).map_err(|_| PemError::Base64(label.to_string()))?;
        blocks.push((label.to_string(), der));
    }
    Ok(blocks)
}

/// The DER of every block labelled `label`.
pub fn parse_label(text: &str, label: &str) -> Result<Vec<Vec<u8>>, PemError> {
    let ders: Vec<Vec<u8>> = parse_all(text)?.into_iter().filter(|(l, _)| l == label).map(|(_, d)| d).collect();
    if ders.is_empty() {
        return Err(PemError::Missing(label.to_string()));
    }
    Ok(ders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_several_blocks() {
        let a = encode("CERTIFICATE", &[1; 100]);
        let b = encode("PRIVATE KEY", &[2; 3]);
        let text = format!("junk\n{a}between\n{b}");
        let blocks = parse_all(&text).unwrap();
        assert_eq!(blocks, vec![("CERTIFICATE".into(), vec![1; 100]), ("PRIVATE KEY".into(), vec![2; 3])]);
        assert_eq!(parse_label(&text, "CERTIFICATE").unwrap(), vec![vec![1; 100]]);
        assert_eq!(parse_label(&text, "CSR"), Err(PemError::Missing("CSR".into())));
    }

    #[test]
    fn refuses_broken_blocks() {
        assert!(matches!(parse_all("-----BEGIN X-----\nAAAA\n"), Err(PemError::Unterminated(_))));
        assert!(matches!(parse_all("-----BEGIN X-----\n!!\n-----END X-----\n"), Err(PemError::Base64(_))));
    }
}
