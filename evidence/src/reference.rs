//! Reference values: a plain text file with one `NAME SHA256` per line, in the spirit of
//! kunpengsecl's `basevalue.txt`. Blank lines and `#` comments are ignored. Names have no
//! spaces: `exe:/usr/bin/app` for an executable, `file:/etc/app.conf` for a file.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::claims::Claims;

/// A malformed reference file; the line number is 1-based.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReferenceError {
    /// A line is not `NAME SHA256`.
    #[error("line {0}: expected `NAME SHA256`")]
    Syntax(usize),
    /// The digest is not 64 hex digits.
    #[error("line {0}: digest is not 64 hex digits")]
    Digest(usize),
    /// A name appears twice with different digests.
    #[error("line {0}: {1} is listed twice with different digests")]
    Conflict(usize, String),
}

/// Known-good digests by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceValues(BTreeMap<String, String>);

impl ReferenceValues {
    /// Parses a reference file.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(name), Some(digest), None) = (words.next(), words.next(), words.next()) else {
                return Err(ReferenceError::Syntax(n));
            };
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ReferenceError::Digest(n));
            }
            let digest = digest.to_ascii_lowercase();
            if let Some(old) = map.insert(name.to_string(), digest.clone()) {
                if old != digest {
                    return Err(ReferenceError::Conflict(n, name.to_string()));
                }
            }
        }
        Ok(ReferenceValues(map))
    }

    /// The reference file that accepts exactly what `claims` measured.
    pub fn record(claims: &Claims) -> Self {
        ReferenceValues(claims.measured_items().into_iter().collect())
    }

    /// Renders the file.
    pub fn render(&self) -> String {
        self.0.iter().map(|(n, d)| format!("{n} {d}\n")).collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True with no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks every item `claims` measured: each must be listed, with the same digest. A
    /// listed PCR (`pcr:N`) must also be in the evidence: a pinned register that was not
    /// quoted is not a match. Returns the number of items checked, or the first mismatch.
    pub fn check(&self, claims: &Claims) -> Result<usize, String> {
        let items = claims.measured_items();
        for (name, digest) in &items {
            match self.0.get(name) {
                None => return Err(format!("{name} is not in the reference values")),
                Some(want) if want != digest => return Err(format!("{name} is {digest}, reference says {want}")),
                Some(_) => {}
            }
        }
        if let Some(pcr) = self.0.keys().find(|k| k.starts_with("pcr:") && !items.iter().any(|(n, _)| n == *k)) {
            return Err(format!(
                "the reference pins {pcr}, but the evidence carries no TPM quote of it (rasd --tee tpm quotes the PCRs in --tpm-pcrs)"
            ));
        }
        Ok(items.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn parses_and_renders() {
        let text = format!("# comment\n\nexe:/bin/a {D}\nfile:/etc/x {}\n", D.to_uppercase());
        let r = ReferenceValues::parse(&text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.render(), format!("exe:/bin/a {D}\nfile:/etc/x {D}\n"));
    }

    #[test]
    fn a_pinned_pcr_missing_from_the_evidence_fails() {
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "eat_nonce": "AA", "iat": 0, "eat_profile": "p",
            "ras": {"subject": {"kind": "host"}, "tee": "tpm"}
        }))
        .unwrap();
        assert_eq!(ReferenceValues::parse("").unwrap().check(&claims), Ok(0));
        let r = ReferenceValues::parse(&format!("pcr:7 {D}\n")).unwrap();
        assert!(r.check(&claims).unwrap_err().contains("pcr:7"));
    }

    #[test]
    fn reports_bad_lines() {
        assert_eq!(ReferenceValues::parse("a"), Err(ReferenceError::Syntax(1)));
        assert_eq!(ReferenceValues::parse("\na b c"), Err(ReferenceError::Syntax(2)));
        assert_eq!(ReferenceValues::parse("a xyz"), Err(ReferenceError::Digest(1)));
        let bad = format!("a {D}\na {}\n", "b".repeat(64));
        assert_eq!(ReferenceValues::parse(&bad), Err(ReferenceError::Conflict(2, "a".into())));
    }
}
