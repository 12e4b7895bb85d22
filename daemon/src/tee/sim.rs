//! The simulated TEE: a persistent software "device root" key and its self-signed certificate,
//! kept in `<state>/sim/`. Its reports and root say they are simulated, and verifiers refuse
//! them unless told `--allow-sim`. It exists so that ras runs end to end on any machine.

use std::path::{Path, PathBuf};

use ras_evidence::cert;
use ras_evidence::report::{TeeReport, REPORT_DATA_LEN};
use ring::signature::EcdsaKeyPair;

use super::{Tee, TeeError};
use crate::keys::{key_pair, new_pkcs8};
use crate::state::{ensure_dir, load_or_create_pem};

/// The simulated TEE device.
pub struct SimTee {
    key: EcdsaKeyPair,
    rc_key: rcgen::KeyPair,
    root: Vec<u8>,
}

impl SimTee {
    /// Loads the device from `<state>/sim`, creating key and root at first start.
    pub fn open(state_dir: &Path) -> Result<Self, TeeError> {
        let dir = state_dir.join("sim");
        let st = |path: &PathBuf| {
            let path = path.display().to_string();
            move |source| TeeError::State { path, source }
        };
        ensure_dir(&dir, 0o700).map_err(st(&dir))?;
        let key_path = dir.join("device.key");
        let cert_path = dir.join("device.crt");
        let (mut keys, created) =
            load_or_create_pem(&key_path, "PRIVATE KEY", 0o600, || Ok::<_, TeeError>(vec![new_pkcs8()?]))?;
        if created {
            // A new key invalidates any old root certificate.
            let _ = std::fs::remove_file(&cert_path);
        }
        let (key, rc_key) = key_pair(&keys.swap_remove(0))?;
        let (mut roots, _) = load_or_create_pem(&cert_path, "CERTIFICATE", 0o644, || {
            let der = cert::issue_sim_root(&rc_key).map_err(|e| TeeError::Key(e.to_string()))?.der().to_vec();
            Ok::<_, TeeError>(vec![der])
        })?;
        let root = roots.swap_remove(0);
        Ok(SimTee { key, rc_key, root })
    }
}

impl Tee for SimTee {
    fn kind(&self) -> &'static str {
        "sim"
    }

    fn claims(&self) -> (&'static str, &'static str) {
        (
            "which process and container asked, as the kernel names them; signed by a software key",
            "anything about hardware or firmware: the device key is a file, and root can forge reports (verifiers need --allow-sim)",
        )
    }

    fn report(&self, data: &[u8; REPORT_DATA_LEN]) -> Result<TeeReport, TeeError> {
        TeeReport::sim_sign(&self.key, &self.root, data).map_err(|e| TeeError::Report(e.to_string()))
    }

    fn root_cert(&self) -> Option<&[u8]> {
        Some(&self.root)
    }

    fn issue_ak_cert(&self, ak: &rcgen::KeyPair, report: &TeeReport) -> Result<Vec<u8>, TeeError> {
        cert::issue_ak(ak, report, &self.root, &self.rc_key).map_err(|e| TeeError::Key(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn device_persists_with_tight_modes() {
        let d = tempfile::tempdir().unwrap();
        let a = SimTee::open(d.path()).unwrap();
        let b = SimTee::open(d.path()).unwrap();
        assert_eq!(a.root_cert(), b.root_cert());
        assert!(a.root_cert().is_some());
        let mode = std::fs::metadata(d.path().join("sim/device.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(cert::subject_of(a.root_cert().unwrap()).unwrap().contains("SIMULATED"));
    }
}
