//! The TPM 2.0 backend (DESIGN §4.1), through `tss-esapi` and a standard TCTI string.
//!
//! Keys. The endorsement key (EK) is the TCG default RSA-2048 EK, a primary the TPM re-derives
//! from its endorsement seed at every start. The TPM AK is a restricted ECDSA P-256 signing key
//! created under the EK once; its public and TPM-wrapped private parts live in
//! `<state>/tpm/`, so a restart loads the same AK. A TPM that was cleared or replaced cannot
//! load it, and rasd then stops rather than make a new AK that verifiers have not pinned.
//!
//! Certificates. The TPM AK signs X.509 itself: a restricted key signs only digests the TPM
//! made (`TPM2_Hash` returns a ticket that proves the data does not start with
//! `TPM_GENERATED_VALUE`, so no certificate can pass for a quote). It signs its own
//! self-signed root (`<state>/tpm/ak-root.crt`), the trust anchor a verifier pins, and the
//! certificate of rasd's fast software evidence key, which also carries a `TPM2_Quote` over the
//! hash of that key's SubjectPublicKeyInfo.
//!
//! Fresh quotes. Evidence that asks for PCRs gets a `TPM2_Quote` over the configured PCRs.
//! One thread owns the TPM; requests that queue while it works are quoted together, with the
//! Merkle root of their leaves as qualifying data, and each evidence carries its proof.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use ras_evidence::report::{TeeReport, TpmReport, REPORT_DATA_LEN};
use ras_evidence::{cert, merkle, pem, tpm as wire};
use tokio::sync::oneshot;
use tss_esapi::abstraction::{ak, ek, pcr, AsymmetricAlgorithmSelection};
use tss_esapi::handles::KeyHandle;
use tss_esapi::interface_types::algorithm::{AsymmetricAlgorithm, HashingAlgorithm, SignatureSchemeAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::structures::{
    Data, MaxBuffer, PcrSelectionList, PcrSelectionListBuilder, PcrSlot, Private, Public, Signature, SignatureScheme,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::traits::{Marshall, UnMarshall};
use tss_esapi::Context;

use super::{AnchorError, Fresh, FreshQuote, LogAnchor, QuoteReply, Tee, TeeError, TpmEnrollment};
use crate::config::TpmConfig;
use crate::state::{ensure_dir, write_atomic};
use ras_evidence::runtime_log::PcrEvent;
use tss_esapi::handles::PcrHandle;

/// `TPM2_Hash` takes at most `MAX_DIGEST_BUFFER` bytes; a certificate must fit.
const MAX_HASH_INPUT: usize = 1024;
/// Times a fresh quote is retried when a PCR changed between reading and quoting it.
const QUOTE_ATTEMPTS: usize = 3;

/// A quote's `TPMS_ATTEST` and `TPMT_SIGNATURE`.
type Signed = (Vec<u8>, Vec<u8>);

/// Work for the thread that owns the TPM.
enum Job {
    /// A quote of the configured PCRs over a Merkle leaf; batched.
    Quote { leaf: [u8; 32], reply: oneshot::Sender<Result<Fresh, String>> },
    /// A quote with no PCRs over `sha256(data)`: the report that binds a key.
    Report { data: [u8; REPORT_DATA_LEN], reply: mpsc::Sender<Result<Signed, String>> },
    /// An ECDSA signature (r || s) by the TPM AK over data the TPM hashes.
    Sign { data: Vec<u8>, reply: mpsc::Sender<Result<[u8; 64], String>> },
    /// A runtime-log event: into the journal, then into the log PCR.
    Extend { event: PcrEvent, reply: mpsc::Sender<Result<(), AnchorError>> },
    /// `TPM2_ActivateCredential` with the AK and the EK.
    Activate { id_object: Vec<u8>, secret: Vec<u8>, reply: mpsc::Sender<Result<Vec<u8>, String>> },
}

/// The TPM backend.
pub struct TpmTee {
    jobs: mpsc::Sender<Job>,
    counts: Arc<Counts>,
    /// The runtime-log PCR, the events it held at start, and whether it had been reset.
    log: Option<(u8, Vec<PcrEvent>, bool)>,
    /// The EK certificate from NV, or why there is none.
    ek_certificate: Result<Vec<u8>, String>,
    ak_public: Vec<u8>,
    root: Vec<u8>,
    signer: rcgen::KeyPair,
}

fn tpm_err(what: &str) -> impl Fn(tss_esapi::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn state_err(path: &Path) -> impl FnOnce(std::io::Error) -> TeeError + '_ {
    move |source| TeeError::State { path: path.display().to_string(), source }
}

impl TpmTee {
    /// Opens the TPM named by the TCTI, loads (or at first start creates) the AK, and starts
    /// the thread that owns the TPM.
    pub fn open(state_dir: &Path, config: &TpmConfig) -> Result<Self, TeeError> {
        let dir = state_dir.join("tpm");
        ensure_dir(&dir, 0o700).map_err(state_err(&dir))?;
        let tcti = TctiNameConf::from_str(&config.tcti)
            .map_err(|e| TeeError::Report(format!("--tpm-tcti {:?} is not a TCTI string: {e}", config.tcti)))?;
        let mut ctx = Context::new(tcti).map_err(|e| {
            TeeError::Report(format!(
                "cannot open the TPM at {:?}: {e} (is the device or simulator there, and may rasd open it? set --tpm-tcti; under systemd, install the drop-in /usr/share/ras/rasd-tpm.conf, see rasd(8))",
                config.tcti
            ))
        })?;
        flush_stale_objects(&mut ctx);
        let (ek, ak, ak_public) = load_or_create_ak(&mut ctx, &dir).map_err(TeeError::Report)?;
        let ek_certificate = ek::retrieve_ek_pubcert(&mut ctx, AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048))
            .map_err(|e| format!("the TPM has no RSA EK certificate in NV index 0x01c00002 ({e})"));
        let (log_state, log) = match config.log_pcr {
            Some(pcr) => {
                let (state, fresh_boot) = open_log(&mut ctx, ak, &dir, pcr).map_err(TeeError::Report)?;
                let events = state.events.clone();
                (Some(state), Some((pcr, events, fresh_boot)))
            }
            None => (None, None),
        };
        let (jobs, rx) = mpsc::channel();
        let mut pcrs = config.pcrs.clone();
        if let Some(pcr) = config.log_pcr {
            // The log PCR is quoted with the others, or nothing would anchor the log.
            pcrs.push(pcr);
            pcrs.sort_unstable();
            pcrs.dedup();
        }
        let batch = config.batch;
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        std::thread::Builder::new()
            .name("ras-tpm".into())
            .spawn(move || serve(ctx, Keys { ek, ak }, Quoting { pcrs, batch, log: log_state }, rx, &c))
            .map_err(|e| TeeError::Report(format!("start TPM thread: {e}")))?;
        let point = wire::AkPublic::parse(&ak_public).map_err(|e| TeeError::Key(e.to_string()))?.point;
        let signer = rcgen::KeyPair::from_remote(Box::new(TpmSigner { point: point.to_vec(), jobs: jobs.clone() }))
            .map_err(|e| TeeError::Key(e.to_string()))?;
        let root = load_or_issue_root(&dir.join("ak-root.crt"), &signer, &point)?;
        Ok(TpmTee { jobs, counts, log, ek_certificate, ak_public, root, signer })
    }

    fn call<T>(&self, job: impl FnOnce(mpsc::Sender<Result<T, String>>) -> Job) -> Result<T, TeeError> {
        let (tx, rx) = mpsc::channel();
        self.jobs.send(job(tx)).map_err(|_| TeeError::Report("the TPM thread has stopped".into()))?;
        rx.recv().map_err(|_| TeeError::Report("the TPM thread has stopped".into()))?.map_err(TeeError::Report)
    }
}

impl Tee for TpmTee {
    fn kind(&self) -> &'static str {
        "tpm"
    }

    fn claims(&self) -> (&'static str, &'static str) {
        (
            "a TPM-resident AK certified the evidence key, and fresh quotes show the PCRs after the verifier's nonce (with rasctl tpm enroll: the AK is in the TPM of a trusted EK)",
            "that rasd itself is intact: root on the host can use the evidence key, and only the quoted PCRs say what booted; nothing about hardware if the EK's CA is swtpm's",
        )
    }

    fn log_anchor(&self) -> Option<&dyn LogAnchor> {
        self.log.as_ref().map(|_| self as &dyn LogAnchor)
    }

    fn quote_counts(&self) -> (u64, u64) {
        (self.counts.quotes.load(Ordering::Relaxed), self.counts.quoted.load(Ordering::Relaxed))
    }

    fn report(&self, data: &[u8; REPORT_DATA_LEN]) -> Result<TeeReport, TeeError> {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        let (attest, signature) = self.call(|reply| Job::Report { data: *data, reply })?;
        Ok(TeeReport::Tpm(TpmReport {
            ak_public: STANDARD.encode(&self.ak_public),
            attest: STANDARD.encode(attest),
            signature: STANDARD.encode(signature),
        }))
    }

    fn root_cert(&self) -> Option<&[u8]> {
        Some(&self.root)
    }

    fn issue_ak_cert(&self, ak: &rcgen::KeyPair, report: &TeeReport) -> Result<Vec<u8>, TeeError> {
        cert::issue_ak(ak, report, &self.root, &self.signer).map_err(|e| TeeError::Key(e.to_string()))
    }

    fn enrollment(&self) -> Option<Result<TpmEnrollment, TeeError>> {
        Some(self.ek_certificate.clone().map_err(TeeError::Report).map(|ek_certificate| TpmEnrollment {
            ek_certificate,
            ak_public: self.ak_public.clone(),
            ak_certificate: self.root.clone(),
        }))
    }

    fn activate_credential(&self, id_object: Vec<u8>, secret: Vec<u8>) -> Option<Result<Vec<u8>, TeeError>> {
        Some(self.call(|reply| Job::Activate { id_object, secret, reply }))
    }

    fn fresh_quote(&self, leaf: [u8; 32]) -> Option<QuoteReply> {
        let (reply, rx) = oneshot::channel();
        // A stopped thread drops `reply`, which the receiver reports as an error.
        let _ = self.jobs.send(Job::Quote { leaf, reply });
        Some(rx)
    }
}

impl LogAnchor for TpmTee {
    fn pcr(&self) -> u8 {
        self.log.as_ref().map_or(0, |l| l.0)
    }

    fn events_at_start(&self) -> &[PcrEvent] {
        self.log.as_ref().map_or(&[], |l| l.1.as_slice())
    }

    fn fresh_boot(&self) -> bool {
        self.log.as_ref().is_some_and(|l| l.2)
    }

    fn extend(&self, event: PcrEvent) -> Result<(), AnchorError> {
        let (reply, rx) = mpsc::channel();
        let stopped = || AnchorError::NotCommitted("the TPM thread has stopped".into());
        self.jobs.send(Job::Extend { event, reply }).map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())?
    }
}

/// The runtime-log PCR as the TPM thread keeps it: the journal file, the events in it (all in
/// the PCR), and whether a failed extend left the two apart until the next start.
struct LogState {
    pcr: u8,
    handle: PcrHandle,
    path: PathBuf,
    file: std::fs::File,
    events: Vec<PcrEvent>,
    broken: bool,
}

/// What the TPM thread quotes, and how.
struct Quoting {
    pcrs: Vec<u8>,
    batch: usize,
    log: Option<LogState>,
}

/// The TPM's reset count (TPM2_Startup(CLEAR) after a reset, that is a boot, increments it),
/// read from the clock info of a quote that selects no PCR.
fn reset_count(ctx: &mut Context, ak: KeyHandle) -> Result<u32, String> {
    let (attest, _) = quote(ctx, ak, &[0; 32], PcrSelectionList::default())?;
    Ok(wire::Quote::parse(&attest).map_err(|e| e.to_string())?.reset_count)
}

/// Loads the journal of runtime-log events and reconciles it with the PCR. A journal written
/// under another TPM reset count is a past boot's: it is put aside (and the caller puts the
/// runtime logs aside too). Then the PCR must equal the journal's replay, or be one event short
/// (a crash between journal and extend: extended now). Anything else means another program
/// extends this PCR, or the journal was changed.
fn open_log(ctx: &mut Context, ak: KeyHandle, dir: &Path, pcr: u8) -> Result<(LogState, bool), String> {
    use std::io::BufRead;
    let handle = PcrHandle::try_from(u32::from(pcr)).map_err(tpm_err("log PCR"))?;
    let path = dir.join("log-events.jsonl");
    let mut events = Vec::new();
    let mut good = 0u64;
    if let Ok(f) = std::fs::File::open(&path) {
        let mut reader = std::io::BufReader::new(f);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).map_err(|e| format!("{}: {e}", path.display()))? > 0 {
            // A line without its newline was torn by a crash and never committed.
            let Some(body) = line.strip_suffix(b"\n") else { break };
            let Ok(event) = serde_json::from_slice::<PcrEvent>(body) else { break };
            if event.pcr_digest().is_none() {
                break;
            }
            good += line.len() as u64;
            events.push(event);
            line.clear();
        }
    }
    let resets = reset_count(ctx, ak)?;
    let boot_path = dir.join("log-events.reset");
    let stored: Option<u32> = std::fs::read_to_string(&boot_path).ok().and_then(|t| t.trim().parse().ok());
    let mut fresh_boot = false;
    if !events.is_empty() && stored != Some(resets) {
        let aside = crate::state::unused_path(dir, &format!("log-events.boot-{}", crate::clock::unix_now()), ".jsonl");
        std::fs::rename(&path, &aside).map_err(|e| format!("put {} aside: {e}", path.display()))?;
        tracing::info!(pcr, journal = %aside.display(), "a new boot (TPM reset count {resets}): a new runtime log starts");
        events.clear();
        good = 0;
        fresh_boot = true;
    }
    if stored != Some(resets) {
        write_atomic(&boot_path, format!("{resets}\n").as_bytes(), 0o600)
            .map_err(|e| format!("{}: {e}", boot_path.display()))?;
    }
    let digests: Vec<[u8; 32]> = events.iter().filter_map(PcrEvent::pcr_digest).collect();
    let value = read_pcr(ctx, pcr)?;
    let all = wire::pcr_replay([0; 32], digests.iter().copied());
    if value == all {
    } else if !digests.is_empty() && value == wire::pcr_replay([0; 32], digests[..digests.len() - 1].iter().copied()) {
        extend_pcr(ctx, handle, *digests.last().expect("not empty"))?;
        tracing::info!(pcr, "extended the last runtime-log event, which a stop had left out of the PCR");
    } else {
        return Err(format!(
            "PCR {pcr} is {}, but the {} runtime-log events in {} replay to {}: another program extends PCR {pcr} (give ras one of its own with --tpm-log-pcr), or the journal was changed; move {} and the runtime-log directory aside to start a new log",
            hex::encode(value),
            events.len(),
            path.display(),
            hex::encode(all),
            path.display()
        ));
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.set_len(good).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((LogState { pcr, handle, path, file, events, broken: false }, fresh_boot))
}

fn read_pcr(ctx: &mut Context, pcr: u8) -> Result<[u8; 32], String> {
    let sel = selection(&[pcr])?;
    let data = ctx.execute_without_session(|c| pcr::read_all(c, sel)).map_err(tpm_err("TPM2_PCR_Read"))?;
    let slot = PcrSlot::try_from(1u32 << pcr).map_err(tpm_err("PCR slot"))?;
    let d = data
        .pcr_bank(HashingAlgorithm::Sha256)
        .and_then(|b| b.get_digest(slot))
        .ok_or_else(|| format!("the TPM did not return PCR {pcr}"))?;
    d.as_slice().try_into().map_err(|_| format!("PCR {pcr} is not 32 bytes"))
}

fn extend_pcr(ctx: &mut Context, handle: PcrHandle, digest: [u8; 32]) -> Result<(), String> {
    use tss_esapi::structures::{Digest, DigestValues};
    let mut values = DigestValues::new();
    values.set(HashingAlgorithm::Sha256, Digest::try_from(digest.to_vec()).map_err(tpm_err("digest"))?);
    ctx.execute_with_nullauth_session(|c| c.pcr_extend(handle, values)).map_err(tpm_err("TPM2_PCR_Extend"))
}

/// Journal first, then the PCR: a crash in between leaves the journal one ahead, which the
/// next start extends. After a failed extend, no further event is taken until then.
fn extend_log(ctx: &mut Context, log: &mut LogState, event: PcrEvent) -> Result<(), AnchorError> {
    use std::io::Write;
    if log.broken {
        return Err(AnchorError::NotCommitted(format!(
            "an earlier extend of PCR {} failed; restart rasd to extend it",
            log.pcr
        )));
    }
    use ras_evidence::runtime_log::{MAX_PCR_EVENTS, PCR_EVENTS_HOST_RESERVE};
    let others = log.events.iter().filter(|e| e.subject != "host").count();
    if log.events.len() >= MAX_PCR_EVENTS
        || (event.subject != "host" && others >= MAX_PCR_EVENTS - PCR_EVENTS_HOST_RESERVE)
    {
        // Containers share what is left after the host's reserve, so churning containers
        // cannot take the host's log away until the next boot.
        return Err(AnchorError::NotCommitted(format!(
            "PCR {} holds {} events ({others} of containers and VM guests), the most one boot may have",
            log.pcr,
            log.events.len()
        )));
    }
    let digest = event.pcr_digest().ok_or_else(|| AnchorError::NotCommitted("bad entry digest".into()))?;
    let mut line = serde_json::to_vec(&event).expect("an event serializes");
    line.push(b'\n');
    let journal = log.file.write_all(&line).and_then(|()| log.file.sync_data());
    if let Err(e) = journal {
        // The line may be half written: cut back to the committed events.
        let committed: u64 = log.events.iter().map(|e| serde_json::to_vec(e).map_or(0, |v| v.len() as u64 + 1)).sum();
        let _ = log.file.set_len(committed);
        return Err(AnchorError::NotCommitted(format!("{}: {e}", log.path.display())));
    }
    log.events.push(event);
    extend_pcr(ctx, log.handle, digest).map_err(|e| {
        log.broken = true;
        AnchorError::NotExtended(e)
    })
}

/// Fresh quotes made, and the evidences they served.
#[derive(Default)]
struct Counts {
    quotes: AtomicU64,
    quoted: AtomicU64,
}

/// The TPM AK as an rcgen signer, so rcgen builds certificates the TPM signs.
struct TpmSigner {
    point: Vec<u8>,
    jobs: mpsc::Sender<Job>,
}

impl rcgen::RemoteKeyPair for TpmSigner {
    fn public_key(&self) -> &[u8] {
        &self.point
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let (reply, rx) = mpsc::channel();
        self.jobs.send(Job::Sign { data: msg.to_vec(), reply }).map_err(|_| rcgen::Error::RemoteKeyError)?;
        let rs = rx.recv().map_err(|_| rcgen::Error::RemoteKeyError)?.map_err(|e| {
            tracing::error!("TPM signing failed: {e}");
            rcgen::Error::RemoteKeyError
        })?;
        Ok(ecdsa_der(&rs))
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// `r || s` as a DER `ECDSA-Sig-Value`.
fn ecdsa_der(rs: &[u8; 64]) -> Vec<u8> {
    fn integer(v: &[u8]) -> Vec<u8> {
        let v = &v[v.iter().position(|&b| b != 0).unwrap_or(v.len() - 1)..];
        let mut out = vec![0x02];
        if v[0] & 0x80 != 0 {
            out.push(v.len() as u8 + 1);
            out.push(0);
        } else {
            out.push(v.len() as u8);
        }
        out.extend_from_slice(v);
        out
    }
    let body = [integer(&rs[..32]), integer(&rs[32..])].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

/// Flushes transient objects left in the TPM. A TPM without a resource manager (swtpm, or
/// `/dev/tpm0`) keeps the objects of a client that died, and has room for only a few; rasd
/// owns such a TPM, so a restart would otherwise run out of object slots. Through
/// `/dev/tpmrm0` the kernel flushes them itself and rasd sees none here.
fn flush_stale_objects(ctx: &mut Context) {
    use tss_esapi::constants::CapabilityType;
    use tss_esapi::structures::CapabilityData;
    const TRANSIENT_FIRST: u32 = 0x8000_0000;
    let Ok((CapabilityData::Handles(handles), _)) = ctx.get_capability(CapabilityType::Handles, TRANSIENT_FIRST, 64)
    else {
        return;
    };
    for handle in handles.into_inner() {
        let flushed =
            ctx.execute_without_session(|c| c.tr_from_tpm_public(handle)).and_then(|object| ctx.flush_context(object));
        if let Err(e) = flushed {
            tracing::warn!("could not flush stale TPM object {handle:?}: {e}");
        }
    }
}

/// The loaded keys: the EK stays loaded for credential activation.
struct Keys {
    ek: KeyHandle,
    ak: KeyHandle,
}

fn load_or_create_ak(ctx: &mut Context, dir: &Path) -> Result<(KeyHandle, KeyHandle, Vec<u8>), String> {
    let ek = ek::create_ek_object(ctx, AsymmetricAlgorithm::Rsa, None).map_err(tpm_err("create the EK"))?;
    let (pub_path, priv_path) = (dir.join("ak.pub"), dir.join("ak.priv"));
    let (public, private) = match (std::fs::read(&pub_path), std::fs::read(&priv_path)) {
        (Ok(p), Ok(k)) => {
            let public = Public::unmarshall(&p).map_err(tpm_err("read ak.pub"))?;
            let private = Private::try_from(k).map_err(tpm_err("read ak.priv"))?;
            (public, private)
        }
        (Err(a), Err(b)) if a.kind() == std::io::ErrorKind::NotFound && b.kind() == std::io::ErrorKind::NotFound => {
            let made = ak::create_ak_2(
                ctx,
                ek,
                HashingAlgorithm::Sha256,
                AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP256),
                SignatureSchemeAlgorithm::EcDsa,
                None,
                None,
            )
            .map_err(tpm_err("create the AK"))?;
            let p = made.out_public.marshall().map_err(tpm_err("encode the AK"))?;
            write_atomic(&priv_path, made.out_private.as_slice(), 0o600)
                .map_err(|e| format!("{}: {e}", priv_path.display()))?;
            write_atomic(&pub_path, &p, 0o644).map_err(|e| format!("{}: {e}", pub_path.display()))?;
            tracing::info!(path = %dir.display(), "created a TPM attestation key");
            (made.out_public, made.out_private)
        }
        _ => {
            return Err(format!(
                "{} holds only half of the TPM AK; move the directory aside to create a new AK",
                dir.display()
            ))
        }
    };
    let handle = ak::load_ak(ctx, ek, None, private, public).map_err(|e| {
        format!(
            "the TPM AK in {} does not load in this TPM ({e}); was the TPM cleared or replaced? Move {} aside to create a new AK, then enrol it with your verifiers again",
            dir.display(),
            dir.display()
        )
    })?;
    let (public, _, _) = ctx.read_public(handle).map_err(tpm_err("read the AK"))?;
    let raw = public.marshall().map_err(tpm_err("encode the AK"))?;
    Ok((ek, handle, raw))
}

/// The self-signed root of the TPM AK, kept while it is for the current AK.
fn load_or_issue_root(path: &PathBuf, signer: &rcgen::KeyPair, point: &[u8; 65]) -> Result<Vec<u8>, TeeError> {
    if let Ok(text) = std::fs::read_to_string(path) {
        if let Ok(mut ders) = pem::parse_label(&text, "CERTIFICATE") {
            let der = ders.swap_remove(0);
            if cert::public_key_of(&der).map(|k| k == point[..]).unwrap_or(false) {
                return Ok(der);
            }
        }
    }
    let der = cert::issue_tpm_root(signer).map_err(|e| TeeError::Key(format!("issue the TPM AK root: {e}")))?;
    write_atomic(path, pem::encode("CERTIFICATE", &der).as_bytes(), 0o644).map_err(state_err(path))?;
    Ok(der)
}

/// The TPM thread: serves jobs in order, quoting every queued quote request at once.
fn serve(mut ctx: Context, keys: Keys, mut q: Quoting, rx: mpsc::Receiver<Job>, counts: &Counts) {
    let ak = keys.ak;
    let (pcrs, batch) = (q.pcrs.clone(), q.batch);
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(j) => j,
            None => match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
        };
        match job {
            Job::Quote { leaf, reply } => {
                let mut waiting = vec![(leaf, reply)];
                while waiting.len() < batch {
                    match rx.try_recv() {
                        Ok(Job::Quote { leaf, reply }) => waiting.push((leaf, reply)),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let leaves: Vec<[u8; 32]> = waiting.iter().map(|(l, _)| *l).collect();
                let made = fresh_quote(&mut ctx, ak, &pcrs, &merkle::root(&leaves));
                // Only this thread extends, so these are exactly the events in the quoted PCR.
                let log = q.log.as_ref().map(|l| (l.pcr, l.events.clone()));
                if made.is_ok() {
                    counts.quotes.fetch_add(1, Ordering::Relaxed);
                    counts.quoted.fetch_add(leaves.len() as u64, Ordering::Relaxed);
                }
                for (i, (_, reply)) in waiting.into_iter().enumerate() {
                    let _ = reply.send(made.clone().map(|(attest, signature, values)| {
                        Fresh::Tpm(FreshQuote {
                            attest,
                            signature,
                            pcrs: values,
                            index: i as u64,
                            batch: leaves.len() as u64,
                            proof: merkle::proof(&leaves, i),
                            log: log.clone(),
                        })
                    }));
                }
            }
            Job::Report { data, reply } => {
                let extra = ring::digest::digest(&ring::digest::SHA256, &data);
                let _ = reply.send(quote(&mut ctx, ak, extra.as_ref(), PcrSelectionList::default()));
            }
            Job::Sign { data, reply } => {
                let _ = reply.send(sign(&mut ctx, ak, data));
            }
            Job::Extend { event, reply } => {
                let done = match q.log.as_mut() {
                    Some(log) => extend_log(&mut ctx, log, event),
                    None => Err(AnchorError::NotCommitted("no runtime-log PCR is configured".into())),
                };
                let _ = reply.send(done);
            }
            Job::Activate { id_object, secret, reply } => {
                let _ = reply.send(activate(&mut ctx, &keys, id_object, secret));
            }
        }
    }
}

fn selection(pcrs: &[u8]) -> Result<PcrSelectionList, String> {
    let slots: Vec<PcrSlot> =
        pcrs.iter().map(|&i| PcrSlot::try_from(1u32 << i).map_err(tpm_err("PCR slot"))).collect::<Result<_, _>>()?;
    PcrSelectionListBuilder::new()
        .with_selection(HashingAlgorithm::Sha256, &slots)
        .build()
        .map_err(tpm_err("PCR selection"))
}

fn quote(ctx: &mut Context, ak: KeyHandle, extra: &[u8], sel: PcrSelectionList) -> Result<Signed, String> {
    let data = Data::try_from(extra.to_vec()).map_err(tpm_err("qualifying data"))?;
    let (attest, sig) = ctx
        .execute_with_nullauth_session(|c| c.quote(ak, data, SignatureScheme::Null, sel))
        .map_err(tpm_err("TPM2_Quote"))?;
    Ok((attest.marshall().map_err(tpm_err("encode quote"))?, sig.marshall().map_err(tpm_err("encode signature"))?))
}

type QuotedPcrs = (Vec<u8>, Vec<u8>, Vec<(u8, [u8; 32])>);

/// Reads the PCRs and quotes them; retried when a PCR moved in between, so the values given
/// are exactly the quoted ones.
fn fresh_quote(ctx: &mut Context, ak: KeyHandle, pcrs: &[u8], root: &[u8; 32]) -> Result<QuotedPcrs, String> {
    let sel = selection(pcrs)?;
    for _ in 0..QUOTE_ATTEMPTS {
        let data = ctx.execute_without_session(|c| pcr::read_all(c, sel.clone())).map_err(tpm_err("TPM2_PCR_Read"))?;
        let bank = data.pcr_bank(HashingAlgorithm::Sha256).ok_or("the TPM has no sha256 PCR bank")?;
        let mut values = Vec::with_capacity(pcrs.len());
        for &i in pcrs {
            let slot = PcrSlot::try_from(1u32 << i).map_err(tpm_err("PCR slot"))?;
            let d = bank.get_digest(slot).ok_or_else(|| format!("the TPM did not return PCR {i}"))?;
            let v: [u8; 32] = d.as_slice().try_into().map_err(|_| format!("PCR {i} is not 32 bytes"))?;
            values.push((i, v));
        }
        let (attest, signature) = quote(ctx, ak, root, sel.clone())?;
        let parsed = wire::Quote::parse(&attest).map_err(|e| e.to_string())?;
        if parsed.pcr_digest == wire::pcr_digest(&values) {
            return Ok((attest, signature, values));
        }
    }
    Err(format!("PCRs kept changing while quoting them ({QUOTE_ATTEMPTS} attempts)"))
}

/// `TPM2_ActivateCredential`: the AK with a password session (its auth is empty), the EK with
/// the policy its default template demands (`PolicySecret(TPM_RH_ENDORSEMENT)`).
fn activate(ctx: &mut Context, keys: &Keys, id_object: Vec<u8>, secret: Vec<u8>) -> Result<Vec<u8>, String> {
    use tss_esapi::attributes::SessionAttributesBuilder;
    use tss_esapi::constants::SessionType;
    use tss_esapi::handles::{AuthHandle, SessionHandle};
    use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
    use tss_esapi::structures::{EncryptedSecret, IdObject, SymmetricDefinition};
    let id_object = IdObject::try_from(id_object).map_err(tpm_err("credential blob"))?;
    let secret = EncryptedSecret::try_from(secret).map_err(tpm_err("secret"))?;
    let session = ctx
        .start_auth_session(
            None,
            None,
            None,
            SessionType::Policy,
            SymmetricDefinition::AES_128_CFB,
            HashingAlgorithm::Sha256,
        )
        .map_err(tpm_err("start a policy session"))?
        .ok_or("the TPM returned no session")?;
    let (attributes, mask) = SessionAttributesBuilder::new().with_decrypt(true).with_encrypt(true).build();
    let activated = ctx
        .tr_sess_set_attributes(session, attributes, mask)
        .and_then(|()| {
            let policy = PolicySession::try_from(session)?;
            ctx.execute_with_nullauth_session(|c| {
                c.policy_secret(
                    policy,
                    AuthHandle::Endorsement,
                    Default::default(),
                    Default::default(),
                    Default::default(),
                    None,
                )
            })
        })
        .and_then(|_| {
            ctx.execute_with_sessions((Some(AuthSession::Password), Some(session), None), |c| {
                c.activate_credential(keys.ak, keys.ek, id_object, secret)
            })
        });
    if let Err(e) = ctx.flush_context(SessionHandle::from(session).into()) {
        tracing::warn!("could not flush the policy session: {e}");
    }
    activated.map(|d| d.as_slice().to_vec()).map_err(tpm_err("TPM2_ActivateCredential"))
}

fn sign(ctx: &mut Context, ak: KeyHandle, data: Vec<u8>) -> Result<[u8; 64], String> {
    if data.len() > MAX_HASH_INPUT {
        return Err(format!("{} bytes to sign, TPM2_Hash takes at most {MAX_HASH_INPUT}", data.len()));
    }
    let buffer = MaxBuffer::try_from(data).map_err(tpm_err("hash input"))?;
    let (digest, ticket) = ctx
        .execute_without_session(|c| c.hash(buffer, HashingAlgorithm::Sha256, Hierarchy::Endorsement))
        .map_err(tpm_err("TPM2_Hash"))?;
    let sig: Signature = ctx
        .execute_with_nullauth_session(|c| c.sign(ak, digest, SignatureScheme::Null, ticket))
        .map_err(tpm_err("TPM2_Sign"))?;
    let raw = sig.marshall().map_err(tpm_err("encode signature"))?;
    wire::ecdsa_signature(&raw).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_der_encodes_sign_bits_and_leading_zeros() {
        let mut rs = [0u8; 64];
        rs[0] = 0x80;
        rs[63] = 1;
        let der = ecdsa_der(&rs);
        assert_eq!(&der[..5], &[0x30, 38, 0x02, 33, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 1]);
    }
}
