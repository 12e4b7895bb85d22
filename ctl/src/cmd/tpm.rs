//! `rasctl tpm enroll`: the verifier's one-time enrolment of a host's TPM AK through its
//! bridge (credential activation; see `ras_evidence::enrol`), and
//! `rasctl tpm export`: the fresh TPM quote of a piece of evidence as the files
//! `tpm2_checkquote` (Debian's tpm2-tools 5) reads, so a verifier can check it with a second,
//! independent implementation:
//!
//! `tpm2_checkquote -u ak.pub.pem -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q $(cat qualification.hex)`
//!
//! The PCR file is tpm2-tools' own: its C structures as they lie in memory on a little-endian
//! machine (`TPML_PCR_SELECTION`, a count, then `TPML_DIGEST`s of at most eight values).

use std::path::Path;

use anyhow::{anyhow, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ras_evidence::report::TeeReport;
use ras_evidence::{cert, enrol, jws, pem, tpm};
use ras_proto::api::remote::Enrollment;
use serde_json::json;

use crate::cli::TpmCommand;
use crate::client::{connect as connect_to, explain_refusal, parse_target, runtime};
use crate::failure::{refused, usage, Code, Failure};
use crate::output::{emit, print_json, read_input};

/// `TPM2_NUM_PCR_BANKS`, `TPM2_PCR_SELECT_MAX` and `TPM2_MAX_DIGEST_BUFFER` sizes of tpm2-tss.
const BANKS: usize = 16;
const SELECT_MAX: usize = 4;
const DIGESTS_PER_LIST: usize = 8;
const DIGEST_BUFFER: usize = 64;

pub fn run(json: bool, c: TpmCommand) -> Result<(), Failure> {
    match c {
        TpmCommand::Export { evidence, out_dir } => export(json, &evidence, &out_dir),
        TpmCommand::Enroll { connect, ek_ca, out, timeout } => enroll(json, &connect, &ek_ca, out.as_deref(), timeout),
    }
}

/// What a verifier or CA checked of an enrolment before it seals a credential.
pub(crate) struct Sealed {
    /// The random secret the credential seals.
    pub secret: [u8; 32],
    /// The credential for `TPM2_ActivateCredential`.
    pub credential: enrol::Credential,
    /// sha256 of the TPM AK's SubjectPublicKeyInfo.
    pub fingerprint: String,
    /// Subject of the CA that issued the EK certificate.
    pub ek_issuer: String,
    /// The TPM AK's own certificate (DER).
    pub ak_certificate: Vec<u8>,
}

/// The checks of an enrolment and the credential for it: the EK certificate is the TPM
/// maker's (one of `cas`), the AK is a TPM-bound restricted signer, the certificate to pin is
/// its own; then a fresh secret sealed to that EK and the AK's Name. `from` names the source.
pub(crate) fn seal(got: &Enrollment, cas: &[Vec<u8>], from: &str) -> Result<Sealed, Failure> {
    let b64 = |name: &str, v: &str| {
        STANDARD.decode(v).map_err(|_| refused(anyhow!("{from}: {name} in the enrolment is not base64")))
    };
    let ek_cert = b64("ek_certificate", &got.ek_certificate)?;
    let ak_raw = b64("ak_public", &got.ak_public)?;
    let ak_certificate = b64("ak_certificate", &got.ak_certificate)?;
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let ek_issuer = enrol::verify_ek_certificate(&ek_cert, cas, now).map_err(|e| refused(anyhow!("{from}: {e}")))?;
    let ak = tpm::AkPublic::parse(&ak_raw).map_err(|e| refused(anyhow!("{from}: {e}")))?;
    // The certificate to pin must be the activated AK's own: its key, self-signed, a CA.
    // Signed by the AK alone is not enough: the AK signs what rasd gives it, so a
    // certificate for another (software) key would pass and be pinned.
    let own = cert::spki_of(&ak_certificate).map_err(|e| refused(anyhow!("{from}: the AK certificate: {e}")))?;
    if own != ak.spki_der() {
        return Err(refused(anyhow!("{from}: the AK certificate is for another key than the TPM AK being enrolled")));
    }
    cert::verify_issued_by(&ak_certificate, &ak.spki_der())
        .map_err(|e| refused(anyhow!("{from}: the AK certificate is not self-signed by the TPM AK: {e}")))?;
    // Only the TPM with that EK, holding that AK, can open the credential.
    let mut secret = [0u8; 32];
    rand_fill(&mut secret)?;
    let credential =
        enrol::make_credential(&ek_cert, &ak.name(), &secret).map_err(|e| refused(anyhow!("{from}: {e}")))?;
    Ok(Sealed { secret, credential, fingerprint: ras_evidence::sha256_hex(&ak.spki_der()), ek_issuer, ak_certificate })
}

/// The EK CAs a verifier trusts, from a PEM file.
pub(crate) fn read_cas(ek_ca: &Path) -> Result<Vec<Vec<u8>>, Failure> {
    let text = std::fs::read_to_string(ek_ca).with_context(|| format!("read {}", ek_ca.display())).map_err(usage)?;
    pem::parse_label(&text, "CERTIFICATE").map_err(|e| usage(anyhow!("--ek-ca {}: {e}", ek_ca.display())))
}

fn enroll(json: bool, connect: &str, ek_ca: &Path, out: Option<&Path>, timeout: f64) -> Result<(), Failure> {
    use ras_proto::api::remote::{ActivateCredential, GetEnrollment};
    use ras_proto::api::Method;
    let target = parse_target(connect)?;
    let cas = read_cas(ek_ca)?;
    let deadline = std::time::Duration::from_secs_f64(timeout);
    let rt = runtime()?;
    let within = |what: &'static str| {
        move |_| Failure::new(Code::Daemon, anyhow!("{connect}: no answer to {what} within {timeout} s (--timeout)"))
    };
    let mut conn = rt
        .block_on(async { tokio::time::timeout(deadline, connect_to(&target)).await })
        .map_err(within("connect"))??;
    let got = rt
        .block_on(async { tokio::time::timeout(deadline, conn.call(&GetEnrollment {})).await })
        .map_err(within("GetEnrollment"))?
        .map_err(|e| explain_refusal(GetEnrollment::NAME, &target, e))?;
    let sealed = seal(&got, &cas, connect)?;
    let call = ActivateCredential {
        credential_blob: STANDARD.encode(&sealed.credential.id_object),
        secret: STANDARD.encode(&sealed.credential.secret),
    };
    let activated = rt
        .block_on(async { tokio::time::timeout(deadline, conn.call(&call)).await })
        .map_err(within("ActivateCredential"))?
        .map_err(|e| explain_refusal(ActivateCredential::NAME, &target, e))?;
    if STANDARD.decode(&activated.credential).ok().as_deref() != Some(&sealed.secret[..]) {
        return Err(refused(anyhow!(
            "{connect}: the TPM returned another secret: the AK is not in the TPM of that EK"
        )));
    }
    let (fingerprint, ca) = (&sealed.fingerprint, &sealed.ek_issuer);
    let pem_text = pem::encode("CERTIFICATE", &sealed.ak_certificate);
    match out {
        Some(p) => write(p, pem_text.as_bytes())?,
        None if !json => emit(None, &pem_text)?,
        None => {}
    }
    if json {
        print_json(
            &json!({ "enrolled": true, "ak_fingerprint": fingerprint, "ek_issuer": ca, "ak_certificate": pem_text }),
        );
    } else {
        eprintln!("enrolled TPM AK {fingerprint}: it is in the TPM whose EK certificate {ca} issued");
        if let Some(p) = out {
            eprintln!("pin it: rasctl attest --connect {connect} --trust {}", p.display());
        }
    }
    Ok(())
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    write(path, bytes)
}

fn rand_fill(buf: &mut [u8]) -> Result<(), Failure> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new().fill(buf).map_err(|_| Failure::new(Code::Usage, anyhow!("no system randomness")))
}

fn export(json: bool, evidence: &Path, out_dir: &Path) -> Result<(), Failure> {
    let (evidence, out_dir) = (evidence.to_path_buf(), out_dir.to_path_buf());
    let text = read_input(&evidence)?;
    let parsed = jws::parse(&text).map_err(|e| usage(anyhow!("{}: {e}", evidence.display())))?;
    let claims = parsed.claims().map_err(|e| usage(anyhow!("{}: {e}", evidence.display())))?;
    let quote = claims.ras.tpm_quote.ok_or_else(|| {
        refused(anyhow!(
            "{}: the evidence carries no fresh TPM quote (rasd --tee tpm adds one to host evidence, or to all with --tpm-quote all)",
            evidence.display()
        ))
    })?;
    let report = cert::report_of(&parsed.chain[0]).map_err(|e| refused(anyhow!("AK certificate: {e}")))?;
    let Some(TeeReport::Tpm(report)) = report else {
        return Err(refused(anyhow!("the AK certificate carries no TPM report")));
    };
    let ak = report.ak().map_err(|e| refused(anyhow!("{e}")))?;
    let attest = STANDARD.decode(&quote.attest).map_err(|_| refused(anyhow!("tpm_quote.attest is not base64")))?;
    let sig = STANDARD.decode(&quote.signature).map_err(|_| refused(anyhow!("tpm_quote.signature is not base64")))?;
    let parsed_quote = tpm::Quote::parse(&attest).map_err(|e| refused(anyhow!("{e}")))?;
    let mut values = Vec::new();
    for p in &quote.pcrs {
        let v: [u8; 32] = hex::decode(&p.sha256)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| refused(anyhow!("PCR {} is not 32 bytes of hex", p.index)))?;
        values.push((p.index, v));
    }
    let pcrs = pcr_file(&values).map_err(refused)?;
    std::fs::create_dir_all(&out_dir).with_context(|| format!("create {}", out_dir.display())).map_err(usage)?;
    let qualification = hex::encode(&parsed_quote.extra_data);
    let files: [(&str, Vec<u8>); 5] = [
        ("ak.pub.pem", pem::encode("PUBLIC KEY", &ak.spki_der()).into_bytes()),
        ("quote.msg", attest),
        ("quote.sig", sig),
        ("quote.pcrs", pcrs),
        ("qualification.hex", format!("{qualification}\n").into_bytes()),
    ];
    for (name, bytes) in &files {
        write(&out_dir.join(name), bytes)?;
    }
    if json {
        print_json(
            &json!({ "dir": out_dir, "files": files.iter().map(|(n, _)| *n).collect::<Vec<_>>(), "qualification": qualification }),
        );
    } else {
        say!("wrote ak.pub.pem quote.msg quote.sig quote.pcrs qualification.hex to {}", out_dir.display());
        say!(
            "check: tpm2_checkquote -u ak.pub.pem -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q {qualification}"
        );
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes).with_context(|| format!("write {}", path.display())).map_err(usage)
}

/// tpm2-tools' PCR file for sha256-bank values in ascending index order.
fn pcr_file(values: &[(u8, [u8; 32])]) -> anyhow::Result<Vec<u8>> {
    let mut select = [0u8; SELECT_MAX];
    for (i, _) in values {
        let i = usize::from(*i);
        anyhow::ensure!(i < 24, "PCR {i} is out of range");
        select[i / 8] |= 1 << (i % 8);
    }
    let mut out = Vec::new();
    // TPML_PCR_SELECTION: count, then BANKS entries of {hash u16, sizeofSelect u8,
    // pcrSelect[4]}, each padded to 8 bytes.
    out.extend_from_slice(&1u32.to_le_bytes());
    for bank in 0..BANKS {
        let mut entry = [0u8; 8];
        if bank == 0 {
            entry[..2].copy_from_slice(&0x000bu16.to_le_bytes());
            entry[2] = 3;
            entry[3..3 + SELECT_MAX].copy_from_slice(&select);
        }
        out.extend_from_slice(&entry);
    }
    let lists: Vec<&[(u8, [u8; 32])]> = values.chunks(DIGESTS_PER_LIST).collect();
    out.extend_from_slice(&(lists.len() as u32).to_le_bytes());
    for list in lists {
        // TPML_DIGEST: count, then eight TPM2B_DIGEST {size u16, buffer[64]}.
        out.extend_from_slice(&(list.len() as u32).to_le_bytes());
        for slot in 0..DIGESTS_PER_LIST {
            let mut d = [0u8; 2 + DIGEST_BUFFER];
            if let Some((_, v)) = list.get(slot) {
                d[..2].copy_from_slice(&32u16.to_le_bytes());
                d[2..34].copy_from_slice(v);
            }
            out.extend_from_slice(&d);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pcr_file_has_tpm2_tools_layout() {
        // The layout of a file tpm2_quote -o wrote for sha256:0,1,23 (668 bytes).
        let f = pcr_file(&[(0, [0; 32]), (1, [0; 32]), (23, [0; 32])]).unwrap();
        assert_eq!(f.len(), 668);
        assert_eq!(&f[..12], &[1, 0, 0, 0, 0x0b, 0, 3, 3, 0, 0x80, 0, 0]);
        assert_eq!(&f[0x84..0x8e], &[1, 0, 0, 0, 3, 0, 0, 0, 0x20, 0]);
        assert_eq!(pcr_file(&[(0, [0; 32]); 9]).unwrap().len(), 132 + 4 + 2 * 532);
    }
}
