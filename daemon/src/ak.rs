//! The attestation key (AK): an ECDSA P-256 key created at first start and kept in
//! `<state>/ak/`, with its certificate chain. In "tee" mode the TEE root issues the
//! certificate; in "ca" mode an external CA signed our CSR and the operator imported the chain.
//! Either way the leaf carries the TEE report over the AK public key. A TEE without a root
//! (configfs-tsm) has the "tee" mode certificate self-signed by the AK, and re-issued with a
//! fresh report at every start.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use ras_evidence::claims::Claims;
use ras_evidence::report::ak_binding;
use ras_evidence::{cert, jws, pem};
use ring::signature::EcdsaKeyPair;
use thiserror::Error;

use crate::keys::{key_pair, new_pkcs8, KeyError};
use crate::state::{ensure_dir, load_or_create_pem, write_atomic, PemFileError};
use crate::tee::{Tee, TeeError};

/// An AK failure.
#[derive(Debug, Error)]
pub enum AkError {
    /// Reading or writing AK files.
    #[error("AK file {path}")]
    State {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Key or certificate material is broken.
    #[error("AK material: {0}")]
    Material(String),
    /// The TEE failed.
    #[error(transparent)]
    Tee(#[from] TeeError),
    /// A key or certificate file could not be read or written.
    #[error(transparent)]
    File(#[from] PemFileError),
    /// The AK key could not be made or loaded.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// An imported chain was refused.
    #[error("{0}")]
    ImportRejected(String),
    /// Signing evidence failed.
    #[error("signing evidence: {0}")]
    Sign(String),
}

struct Chain {
    ders: Vec<Vec<u8>>,
    /// The JWS header with this chain in `x5c`, encoded once.
    header: String,
    mode: &'static str,
}

impl Chain {
    fn new(ders: Vec<Vec<u8>>, tee_root: Option<&[u8]>) -> Chain {
        let mode = mode_of(&ders, tee_root);
        Chain { header: jws::encode_header(&ders), ders, mode }
    }
}

/// The AK and its certificate chain.
pub struct AkStore {
    key: EcdsaKeyPair,
    rc_key: rcgen::KeyPair,
    spki: Vec<u8>,
    chain: RwLock<Chain>,
    chain_path: PathBuf,
    /// The TEE's root, or `None` when "tee" mode certificates are self-signed.
    tee_root: Option<Vec<u8>>,
}

fn state_err(path: &Path) -> impl FnOnce(std::io::Error) -> AkError + '_ {
    move |source| AkError::State { path: path.display().to_string(), source }
}

impl AkStore {
    /// Loads the AK from `<state>/ak`, creating key and TEE-issued certificate at first start.
    pub fn open(state_dir: &Path, tee: &dyn Tee) -> Result<Self, AkError> {
        let dir = state_dir.join("ak");
        ensure_dir(&dir, 0o700).map_err(state_err(&dir))?;
        let key_path = dir.join("ak.key");
        let chain_path = dir.join("ak-chain.pem");
        let (mut keys, created) =
            load_or_create_pem(&key_path, "PRIVATE KEY", 0o600, || Ok::<_, AkError>(vec![new_pkcs8()?]))?;
        if created {
            // A new key needs a new certificate.
            let _ = std::fs::remove_file(&chain_path);
        }
        let (key, rc_key) = key_pair(&keys.swap_remove(0))?;
        let spki = rc_key.public_key_der();
        if !created && !chain_is_for(&chain_path, tee.kind()) {
            // The backend changed (say sim to tpm): the old chain is another TEE's.
            let _ = std::fs::remove_file(&chain_path);
        }
        let issue = || {
            let report = tee.report(&ak_binding(&spki))?;
            Ok::<_, AkError>(vec![tee.issue_ak_cert(&rc_key, &report)?])
        };
        let (mut ders, created) = load_or_create_pem(&chain_path, "CERTIFICATE", 0o644, issue)?;
        let tee_root = tee.root_cert().map(<[u8]>::to_vec);
        if tee_root.is_none() && !created && mode_of(&ders, None) == "tee" {
            // A configfs-tsm report speaks of this boot (a TD's RTMRs, an SNP guest's TCB):
            // a self-signed certificate costs nothing to re-issue, and with the same key and
            // subject it still verifies to the copy a verifier pinned.
            ders = issue()?;
            let text: String = ders.iter().map(|d| pem::encode("CERTIFICATE", d)).collect();
            write_atomic(&chain_path, text.as_bytes(), 0o644).map_err(state_err(&chain_path))?;
        }
        let chain = RwLock::new(Chain::new(ders, tee_root.as_deref()));
        Ok(AkStore { key, rc_key, spki, chain, chain_path, tee_root })
    }

    /// Signs a claims set as a JWS with the current chain in `x5c`.
    pub fn sign(&self, claims: &Claims) -> Result<String, AkError> {
        let chain = self.chain.read().expect("chain lock");
        jws::sign_with_header(&chain.header, claims, &self.key).map_err(|e| AkError::Sign(e.to_string()))
    }

    /// `tee` or `ca`.
    pub fn mode(&self) -> &'static str {
        self.chain.read().expect("chain lock").mode
    }

    /// The chain as PEM, leaf first.
    pub fn chain_pem(&self) -> String {
        self.chain.read().expect("chain lock").ders.iter().map(|d| pem::encode("CERTIFICATE", d)).collect()
    }

    /// The AK's SubjectPublicKeyInfo (DER).
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// sha256 (hex) of the AK's SubjectPublicKeyInfo.
    pub fn fingerprint(&self) -> String {
        ras_evidence::sha256_hex(&self.spki)
    }

    /// The certificate a verifier should trust: the TEE root in "tee" mode (the self-signed AK
    /// certificate itself when the TEE has no root), the top of the imported chain in "ca"
    /// mode (none when only the leaf was imported).
    pub fn trust_anchor(&self) -> Option<Vec<u8>> {
        let chain = self.chain.read().expect("chain lock");
        match chain.mode {
            "tee" => self.tee_root.clone().or_else(|| chain.ders.first().cloned()),
            _ if chain.ders.len() > 1 => chain.ders.last().cloned(),
            _ => None,
        }
    }

    /// A PKCS#10 request for an external CA, with a fresh TEE report.
    pub fn csr(&self, tee: &dyn Tee) -> Result<String, AkError> {
        let report = tee.report(&ak_binding(&self.spki))?;
        cert::ak_csr(&self.rc_key, &report).map_err(|e| AkError::Material(e.to_string()))
    }

    /// Validates and installs a CA-issued chain (PEM, leaf first). On refusal nothing changes.
    pub fn import(&self, chain_pem: &str) -> Result<(), AkError> {
        let reject = |m: String| AkError::ImportRejected(m);
        let ders = pem::parse_label(chain_pem, "CERTIFICATE").map_err(|e| reject(e.to_string()))?;
        if ders.len() > cert::MAX_CHAIN {
            return Err(reject(format!("chain has {} certificates, at most {} allowed", ders.len(), cert::MAX_CHAIN)));
        }
        let leaf = &ders[0];
        let spki = cert::spki_of(leaf).map_err(|e| reject(e.to_string()))?;
        if spki != self.spki {
            return Err(reject("the leaf certificate is for another key than this AK".into()));
        }
        let report = cert::report_of(leaf).map_err(|e| reject(e.to_string()))?.ok_or_else(|| {
            reject("the leaf lacks the TEE report extension; have the CA copy the CSR's extensions (openssl x509 -req -copy_extensions copy)".into())
        })?;
        report.verify(&ak_binding(&self.spki)).map_err(|e| reject(e.to_string()))?;
        if ders.len() > 1 {
            let top = ders.last().expect("len > 1").clone();
            cert::verify_chain(&ders, &[top], now()).map_err(|e| reject(e.to_string()))?;
        }
        let text: String = ders.iter().map(|d| pem::encode("CERTIFICATE", d)).collect();
        write_atomic(&self.chain_path, text.as_bytes(), 0o644).map_err(state_err(&self.chain_path))?;
        *self.chain.write().expect("chain lock") = Chain::new(ders, self.tee_root.as_deref());
        Ok(())
    }
}

/// Whether the chain on disk is absent or its leaf carries a report of TEE `kind`.
fn chain_is_for(path: &Path, kind: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return true };
    let leaf = pem::parse_label(&text, "CERTIFICATE").ok().and_then(|mut d| (!d.is_empty()).then(|| d.swap_remove(0)));
    match leaf.map(|l| cert::report_of(&l)) {
        Some(Ok(Some(report))) => report.kind() == kind,
        // A CA-issued chain without our extension, or a broken file: leave it to the load.
        _ => true,
    }
}

/// "tee" when the chain is the one leaf the TEE issued: signed by its root, or, without a
/// root, self-signed; "ca" otherwise.
fn mode_of(chain: &[Vec<u8>], tee_root: Option<&[u8]>) -> &'static str {
    let anchor = tee_root.or(chain.first().map(Vec::as_slice)).map(<[u8]>::to_vec);
    if chain.len() == 1 && anchor.is_some_and(|a| cert::verify_chain(chain, &[a], now()).is_ok()) {
        "tee"
    } else {
        "ca"
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tee::sim::SimTee;

    #[test]
    fn same_ak_after_restart() {
        let d = tempfile::tempdir().unwrap();
        let tee = SimTee::open(d.path()).unwrap();
        let a = AkStore::open(d.path(), &tee).unwrap();
        let b = AkStore::open(d.path(), &tee).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.chain_pem(), b.chain_pem());
        assert_eq!(a.mode(), "tee");
        assert_eq!(a.trust_anchor().as_deref(), tee.root_cert());
    }

    #[test]
    fn import_refuses_a_foreign_leaf_and_keeps_the_old_chain() {
        let d = tempfile::tempdir().unwrap();
        let tee = SimTee::open(d.path()).unwrap();
        let a = AkStore::open(d.path(), &tee).unwrap();
        let other = tempfile::tempdir().unwrap();
        let b = AkStore::open(other.path(), &SimTee::open(other.path()).unwrap()).unwrap();
        let before = a.chain_pem();
        assert!(matches!(a.import(&b.chain_pem()), Err(AkError::ImportRejected(_))));
        assert!(matches!(a.import("garbage"), Err(AkError::ImportRejected(_))));
        assert_eq!(a.chain_pem(), before);
    }
}
