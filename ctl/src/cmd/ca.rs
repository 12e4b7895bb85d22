//! `rasctl ca challenge`: the CA's half of TPM enrolment in AS mode. The host's
//! `rasctl ak enrollment` bundle is checked as `rasctl tpm enroll` checks what it fetches, and
//! a fresh secret is sealed to its EK and TPM AK; the host's `rasctl ak activate` returns the
//! secret only if the AK is in that TPM. The CA compares the two and only then signs the CSR.

use std::path::Path;

use anyhow::anyhow;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ras_proto::api::remote::{ActivateCredential, Enrollment};
use serde_json::json;

use crate::cli::CaCommand;
use crate::cmd::tpm::{read_cas, seal, write_file};
use crate::failure::{usage, Failure};
use crate::output::{print_json, read_input};

pub fn run(json: bool, c: CaCommand) -> Result<(), Failure> {
    let CaCommand::Challenge { bundle, ek_ca, out, secret_out } = c;
    let text = read_input(&bundle)?;
    let got: Enrollment = serde_json::from_str(&text)
        .map_err(|e| usage(anyhow!("{}: not a bundle from rasctl ak enrollment: {e}", bundle.display())))?;
    let sealed = seal(&got, &read_cas(&ek_ca)?, &bundle.display().to_string())?;
    let challenge = ActivateCredential {
        credential_blob: STANDARD.encode(&sealed.credential.id_object),
        secret: STANDARD.encode(&sealed.credential.secret),
    };
    write_file(&out, format!("{:#}\n", json!(challenge)).as_bytes())?;
    write_secret(&secret_out, &format!("{}\n", STANDARD.encode(sealed.secret)))?;
    if json {
        print_json(&json!({ "ak_fingerprint": sealed.fingerprint, "ek_issuer": sealed.ek_issuer, "challenge": out }));
    } else {
        say!("TPM AK {}: EK certificate issued by {}", sealed.fingerprint, sealed.ek_issuer);
        say!(
            "send {} to the host (rasctl ak activate); sign its CSR only if what it returns equals {}",
            out.display(),
            secret_out.display()
        );
    }
    Ok(())
}

/// The secret is the CA's alone until the host answers: mode 0600.
fn write_secret(path: &Path, text: &str) -> Result<(), Failure> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| usage(anyhow!("write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(|e| usage(anyhow!("write {}: {e}", path.display())))
}
