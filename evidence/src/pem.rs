//! PEM (RFC 7468) encoding and decoding of DER blocks, over the `pem` crate: this module only
//! fixes the conventions ras uses (LF line endings, 64-column bodies, errors that name what
//! was wrong).

use thiserror::Error;

/// A PEM decoding failure.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PemError {
    /// The text holds a broken block: no END line, mismatched labels, or a body that is not
    /// base64.
    #[error("malformed PEM: {0}")]
    Malformed(String),
    /// No block with the wanted label.
    #[error("no PEM block labelled {0:?}")]
    Missing(String),
}

/// Encodes `der` as a PEM block with `label` (e.g. `CERTIFICATE`).
pub fn encode(label: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(label, der), config)
}

/// Every PEM block in `text`, as (label, DER), in order. Text between blocks is ignored.
pub fn parse_all(text: &str) -> Result<Vec<(String, Vec<u8>)>, PemError> {
    let blocks = pem::parse_many(text).map_err(|e| PemError::Malformed(e.to_string()))?;
    // The crate skips a block it cannot find the end of as if it were text between blocks; a
    // truncated chain file must say so instead of looking shorter.
    let begins = text.lines().filter(|l| l.trim_start().starts_with("-----BEGIN ")).count();
    if begins != blocks.len() {
        return Err(PemError::Malformed(format!(
            "{} BEGIN line(s) without an END line",
            begins - blocks.len().min(begins)
        )));
    }
    Ok(blocks.into_iter().map(|p| (p.tag().to_string(), p.into_contents())).collect())
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
        assert!(a.starts_with("-----BEGIN CERTIFICATE-----\n") && !a.contains('\r'), "{a:?}");
        assert!(a.lines().all(|l| l.len() <= 64), "{a}");
        let text = format!("junk\n{a}between\n{b}");
        let blocks = parse_all(&text).unwrap();
        assert_eq!(blocks, vec![("CERTIFICATE".into(), vec![1; 100]), ("PRIVATE KEY".into(), vec![2; 3])]);
        assert_eq!(parse_label(&text, "CERTIFICATE").unwrap(), vec![vec![1; 100]]);
        assert_eq!(parse_label(&text, "CSR"), Err(PemError::Missing("CSR".into())));
    }

    #[test]
    fn refuses_broken_blocks() {
        for broken in [
            "-----BEGIN X-----\nAAAA\n",
            "-----BEGIN X-----\n!!\n-----END X-----\n",
            "-----BEGIN X-----\nAAAA\n-----END Y-----\n",
        ] {
            assert!(matches!(parse_all(broken), Err(PemError::Malformed(_))), "{broken:?}: {:?}", parse_all(broken));
        }
    }
}
