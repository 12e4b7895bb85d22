//! The verifier: the ordered checks of DESIGN §4.4. Each check runs only when every earlier
//! one passed, so the verdict names the first failure and marks the rest as not reached.
//!
//! 1. `chain`: the `x5c` chain verifies to a trust anchor;
//! 2. `tee-report`: the AK certificate carries a TEE report that binds the AK public key;
//! 3. `signature`: the JWS verifies with the AK, and the claims name the report's TEE;
//! 4. `freshness`: the nonce is the one sent and `iat` is within the maximum age;
//! 5. `subject`: the subject is what was asked for;
//! 6. `reference`: every measured item matches the reference values;
//! 7. `policy`: the TEE kind is acceptable (`sim` only when allowed; `tsm` only when its
//!    hardware signature was appraised, or unappraised reports are explicitly allowed).
//!
//! A `tsm` report's binding is checked here, from the raw report. Its hardware signature is
//! appraised by an [`Appraiser`] the caller supplies (rasctl runs an external command), in the
//! `tee-report` check; without one the verdict says that it was not appraised.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use std::sync::Arc;

use crate::cert;
use crate::claims::{Claims, Subject};
use crate::claims::{TpmQuote, TsmQuote};
use crate::jws;
use crate::reference::ReferenceValues;
use crate::report::{ak_binding, TeeReport, TpmReport, REPORT_DATA_LEN};
use crate::tsm::Provider;
use crate::{merkle, tpm};

/// Tolerated clock skew for `iat` in the future, in seconds.
const FUTURE_SKEW: i64 = 60;

/// The name of a check, in verification order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckName {
    /// Chain to a trust anchor.
    Chain,
    /// TEE report in the AK certificate.
    TeeReport,
    /// JWS signature.
    Signature,
    /// Nonce and age.
    Freshness,
    /// Subject kind and id.
    Subject,
    /// Reference values.
    Reference,
    /// Policy.
    Policy,
}

impl CheckName {
    /// All checks, in order.
    pub const ALL: [CheckName; 7] = [
        CheckName::Chain,
        CheckName::TeeReport,
        CheckName::Signature,
        CheckName::Freshness,
        CheckName::Subject,
        CheckName::Reference,
        CheckName::Policy,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Chain => "chain",
            CheckName::TeeReport => "tee-report",
            CheckName::Signature => "signature",
            CheckName::Freshness => "freshness",
            CheckName::Subject => "subject",
            CheckName::Reference => "reference",
            CheckName::Policy => "policy",
        }
    }
}

/// What became of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum Outcome {
    /// Passed; the detail says what was established.
    Pass(String),
    /// Failed; the detail is the reason.
    Fail(String),
    /// Not applicable (e.g. no reference file); the detail says why.
    Skipped(String),
    /// An earlier check failed.
    NotReached,
}

/// What the verifier expects of the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedSubject {
    /// Host evidence.
    Host,
    /// One container, by runtime and id (an id prefix of 12 or more characters matches).
    Container {
        /// Container id as the verifier named it.
        id: String,
        /// Runtime kind.
        runtime: String,
    },
    /// A VM guest, by its vsock CID.
    Vm {
        /// The guest's CID.
        cid: u32,
    },
    /// Whatever the evidence says (offline checks of evidence of unknown origin).
    Any,
}

/// Everything the verifier was told.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Trust anchor certificates (DER).
    pub trust_anchors: Vec<Vec<u8>>,
    /// The nonce that was sent.
    pub nonce: Vec<u8>,
    /// Oldest acceptable `iat`, as an age in seconds.
    pub max_age: i64,
    /// The verifier's clock, seconds since the epoch.
    pub now: i64,
    /// The subject asked for.
    pub subject: ExpectedSubject,
    /// Reference values, if any.
    pub reference: Option<ReferenceValues>,
    /// Accept the simulated TEE.
    pub allow_sim: bool,
    /// How `tsm` reports are appraised.
    pub tsm: TsmPolicy,
    /// The sha256 (hex) the evidence must bind (`ras.bind`), if the verifier asked for one.
    pub bind: Option<String>,
    /// A Rego policy that decides the `policy` check once the built-in TEE rules (which
    /// [`crate::policy::Policy::builtin`] restates in Rego) have passed: it narrows, never widens.
    pub policy: Option<crate::policy::Policy>,
}

/// A raw configfs-tsm report whose binding already held, handed to an [`Appraiser`].
#[derive(Debug, Clone, Copy)]
pub struct TsmEvidence<'a> {
    /// The hardware.
    pub provider: Provider,
    /// The raw report: the TDX quote or SEV-SNP report, exactly as the kernel returned it.
    pub raw: &'a [u8],
    /// Its report data, which the verifier found to bind the AK.
    pub report_data: &'a [u8; REPORT_DATA_LEN],
}

/// Appraises the hardware signature of a raw TSM report (the Intel PCK chain of a TDX quote,
/// the VCEK or VLEK of an SEV-SNP report) and whatever else its operator's policy demands.
pub trait Appraiser: Send + Sync {
    /// `Ok` with what the appraiser said when the report is genuine; `Err` with why not.
    fn appraise(&self, evidence: &TsmEvidence<'_>) -> Result<String, String>;
    /// How the verdict names it, e.g. `--tsm-appraiser ./check-quote`.
    fn name(&self) -> String;
}

/// What the verifier does with `tsm` reports.
#[derive(Clone, Default)]
pub struct TsmPolicy {
    /// Appraises the hardware signature; `None` leaves it unappraised.
    pub appraiser: Option<Arc<dyn Appraiser>>,
    /// Let the policy check pass a report whose hardware signature was not appraised.
    pub allow_unappraised: bool,
}

impl std::fmt::Debug for TsmPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsmPolicy")
            .field("appraiser", &self.appraiser.as_ref().map(|a| a.name()))
            .field("allow_unappraised", &self.allow_unappraised)
            .finish()
    }
}

/// The result of verification: every check's outcome, and the claims once the signature held.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Outcomes in check order.
    pub checks: Vec<(CheckName, Outcome)>,
    /// Verified claims (present once the signature check passed).
    pub claims: Option<Claims>,
}

impl Verdict {
    /// True when no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|(_, o)| matches!(o, Outcome::Pass(_) | Outcome::Skipped(_)))
    }

    /// The first failed check and its reason.
    pub fn first_failure(&self) -> Option<(CheckName, &str)> {
        self.checks.iter().find_map(|(n, o)| match o {
            Outcome::Fail(r) => Some((*n, r.as_str())),
            _ => None,
        })
    }
}

/// Runs the checks in order on a compact JWS.
pub fn verify(evidence: &str, exp: &Expectations) -> Verdict {
    let mut run = Run { outcomes: Vec::new(), claims: None };
    run.all(evidence, exp);
    let mut checks = run.outcomes;
    for name in CheckName::ALL.iter().skip(checks.len()) {
        checks.push((*name, Outcome::NotReached));
    }
    Verdict { checks, claims: run.claims }
}

struct Run {
    outcomes: Vec<(CheckName, Outcome)>,
    claims: Option<Claims>,
}

impl Run {
    /// Records a check; returns false when it failed, so the caller stops.
    fn record(&mut self, name: CheckName, result: Result<Outcome, String>) -> bool {
        let outcome = result.unwrap_or_else(Outcome::Fail);
        let ok = !matches!(outcome, Outcome::Fail(_));
        self.outcomes.push((name, outcome));
        ok
    }

    fn all(&mut self, evidence: &str, exp: &Expectations) {
        let parsed = jws::parse(evidence).map_err(|e| e.to_string());
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                self.record(CheckName::Chain, Err(e));
                return;
            }
        };
        let leaf = parsed.chain[0].clone();
        let now = u64::try_from(exp.now).unwrap_or(0);
        let anchored = cert::verify_chain_to(&parsed.chain, &exp.trust_anchors, now);
        let anchor = anchored.as_ref().ok().map(|a| a.to_vec());
        let chain = anchored
            .map(|_| Outcome::Pass(format!("AK chain of {} verifies to the trust anchor", parsed.chain.len())))
            .map_err(|e| e.to_string());
        if !self.record(CheckName::Chain, chain) {
            return;
        }
        let anchor = anchor.expect("chain passed");

        let report = check_report(&leaf, &anchor, &exp.tsm);
        let checked = report.as_ref().map(|(c, _)| c.clone()).ok();
        if !self.record(CheckName::TeeReport, report.map(|(_, o)| o)) {
            return;
        }
        let checked = checked.expect("report passed");
        let kind = checked.kind.to_string();
        let tee_report = Some(checked.report.clone());

        let signature = cert::public_key_of(&leaf)
            .map_err(|e| e.to_string())
            .and_then(|point| parsed.verify_signature(&point).map_err(|e| e.to_string()))
            .and_then(|()| parsed.claims().map_err(|e| e.to_string()))
            .and_then(|claims| {
                if claims.ras.tee != kind {
                    return Err(format!("claims say tee {:?}, the AK's report is {kind:?}", claims.ras.tee));
                }
                if let Some(log) = &claims.ras.runtime_log {
                    log.replay()?;
                }
                self.claims = Some(claims);
                Ok(Outcome::Pass("ES256 signature by the AK".into()))
            });
        if !self.record(CheckName::Signature, signature) {
            return;
        }
        let claims = self.claims.clone().expect("signature passed");

        let fresh = check_freshness(&claims, exp).and_then(|o| match (&claims.ras.tpm_quote, &tee_report) {
            (None, _) => Ok(o),
            (Some(q), Some(TeeReport::Tpm(r))) => {
                let spki = cert::spki_of(&leaf).map_err(|e| e.to_string())?;
                let n = check_tpm_quote(q, r, &exp.nonce, &spki, &claims)?;
                let Outcome::Pass(d) = o else { return Ok(o) };
                Ok(Outcome::Pass(format!("{d}; TPM quote of PCRs {n} made for this nonce")))
            }
            (Some(_), _) => Err("the evidence carries a TPM quote but its AK certificate is not a TPM's".into()),
        });
        let fresh = fresh.and_then(|o| match (&claims.ras.tsm_quote, &checked.tsm) {
            (None, _) => Ok(o),
            (Some(q), Some(t)) => {
                let spki = cert::spki_of(&leaf).map_err(|e| e.to_string())?;
                let n = check_tsm_quote(q, t.provider, &exp.nonce, &spki, &claims, &exp.tsm)?;
                let Outcome::Pass(d) = o else { return Ok(o) };
                Ok(Outcome::Pass(format!("{d}; {n}")))
            }
            (Some(_), None) => {
                Err("the evidence carries a configfs-tsm report but its AK certificate is not a tsm one".into())
            }
        });
        if !self.record(CheckName::Freshness, fresh) {
            return;
        }
        if !self.record(CheckName::Subject, check_subject(&claims.ras.subject, &exp.subject)) {
            return;
        }
        let reference = match &exp.reference {
            None => Ok(Outcome::Skipped("no reference values given".into())),
            Some(r) => r.check(&claims).map(|n| Outcome::Pass(format!("{n} measured item(s) match"))),
        };
        if !self.record(CheckName::Reference, reference) {
            return;
        }
        // The TEE gates hold whatever a Rego policy says: a policy narrows what the flags
        // accept and never widens it (a policy that forgets the sim rule must not let sim in).
        let policy = match &checked.tsm {
            _ if kind == "sim" && !exp.allow_sim => Err("evidence comes from the simulated TEE (sim), which proves nothing about hardware; pass --allow-sim to accept it".into()),
            _ if kind == "sim" => Ok(Outcome::Pass("tee sim accepted (--allow-sim)".into())),
            Some(TsmCheck { provider, appraised: true }) => {
                Ok(Outcome::Pass(format!("tee tsm ({}) accepted: its hardware signature was appraised", provider.name())))
            }
            Some(TsmCheck { provider, appraised: false }) if exp.tsm.allow_unappraised => Ok(Outcome::Pass(format!(
                "tee tsm ({}) accepted without appraisal (--allow-unappraised): {}",
                provider.name(),
                unappraised(*provider)
            ))),
            Some(TsmCheck { provider, appraised: false }) => Err(format!(
                "{}; pass --tsm-appraiser CMD to appraise it, or --allow-unappraised to accept the report-data binding alone",
                unappraised(*provider)
            )),
            None => Ok(Outcome::Pass(format!("tee {kind} accepted"))),
        };
        match (&exp.policy, policy) {
            (Some(p), Ok(_)) => {
                // Which key signed and which pinned anchor it chains to: what lets a policy
                // name the host (every host's rasd has its own AK and root).
                let keys = serde_json::json!({
                    "ak_sha256": cert::spki_of(&leaf).map(|k| crate::sha256_hex(&k)).unwrap_or_default(),
                    "anchor_sha256": crate::sha256_hex(&anchor),
                });
                let outcome = self.rego_policy(p, &claims, exp, &checked, keys);
                self.record(CheckName::Policy, outcome);
            }
            (_, gate) => {
                self.record(CheckName::Policy, gate);
            }
        }
    }
}

impl Run {
    /// The `policy` check by a Rego policy: its input is the checks so far (all passed or
    /// skipped, since the run stops at the first failure), the claims, the options, and what
    /// the TEE report established.
    fn rego_policy(
        &self,
        p: &crate::policy::Policy,
        claims: &Claims,
        exp: &Expectations,
        checked: &Checked,
        keys: serde_json::Value,
    ) -> Result<Outcome, String> {
        let checks: Vec<serde_json::Value> = self
            .outcomes
            .iter()
            .map(|(name, o)| {
                let (status, detail) = match o {
                    Outcome::Pass(d) => ("pass", d.as_str()),
                    Outcome::Fail(d) => ("fail", d.as_str()),
                    Outcome::Skipped(d) => ("skipped", d.as_str()),
                    Outcome::NotReached => ("not-reached", ""),
                };
                serde_json::json!({ "check": name.as_str(), "status": status, "detail": detail })
            })
            .collect();
        let input = serde_json::json!({
            "checks": checks,
            "claims": claims,
            "options": { "allow_sim": exp.allow_sim, "allow_unappraised": exp.tsm.allow_unappraised },
            "tee": { "kind": checked.kind, "appraised": checked.tsm.as_ref().is_some_and(|t| t.appraised) },
            "keys": keys,
        });
        let d = p.evaluate(&input).map_err(|e| e.to_string())?;
        if d.allow {
            Ok(Outcome::Pass(format!("policy {} allows", p.name())))
        } else if d.reasons.is_empty() {
            Err(format!("policy {} denies", p.name()))
        } else {
            Err(format!("policy {} denies: {}", p.name(), d.reasons.join("; ")))
        }
    }
}

/// What the tee-report check established, for the policy check.
#[derive(Debug, Clone)]
struct Checked {
    kind: &'static str,
    /// The report itself (a fresh TPM quote is checked against its AK).
    report: TeeReport,
    /// For a `tsm` report: its hardware, and whether an appraiser accepted it.
    tsm: Option<TsmCheck>,
}

#[derive(Debug, Clone)]
struct TsmCheck {
    provider: Provider,
    appraised: bool,
}

/// The plain statement a verdict makes about an unappraised tsm report.
fn unappraised(provider: Provider) -> String {
    format!("the hardware signature of the {} was not appraised (no --tsm-appraiser)", provider.report_name())
}

/// Bound on how much of an appraiser's output a verdict repeats.
const MAX_APPRAISER_OUTPUT: usize = 2000;

fn shorten(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(MAX_APPRAISER_OUTPUT) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn check_report(leaf: &[u8], anchor: &[u8], policy: &TsmPolicy) -> Result<(Checked, Outcome), String> {
    let report = cert::report_of(leaf)
        .map_err(|e| e.to_string())?
        .ok_or("the AK certificate carries no TEE report extension (an external CA must copy it from the CSR)")?;
    let spki = cert::spki_of(leaf).map_err(|e| e.to_string())?;
    let binding = ak_binding(&spki);
    let kind = report.kind();
    let TeeReport::Tsm(tsm) = &report else {
        report.verify(&binding).map_err(|e| e.to_string())?;
        let mut detail = format!("{kind} report binds the AK public key");
        if let Some(issuer) = report.issuer_spki().map_err(|e| e.to_string())? {
            let anchor_key = cert::spki_of(anchor).map_err(|e| e.to_string())?;
            if anchor_key == issuer {
                // No AS: the pinned anchor is the TPM AK's own root. The chain check (with the
                // root's path length 0) proved its key signed the leaf; the report's AK must be
                // that key, so nothing but the pinned TPM AK quotes.
                cert::verify_issued_by(leaf, &issuer)
                    .map_err(|e| format!("the AK certificate was not issued by the TPM key that quoted it: {e}"))?;
                detail.push_str(", and the pinned TPM AK that quoted it issued the certificate");
            } else if is_tpm_ak_root(anchor) {
                return Err("the report's TPM AK is not the pinned TPM AK".into());
            } else {
                // AS mode: a CA that enrolled the TPM AK certified this leaf, report included.
                detail.push_str(", and the CA vouches for the TPM AK in it");
            }
        }
        return Ok((Checked { kind, report: report.clone(), tsm: None }, Outcome::Pass(detail)));
    };
    let parsed = tsm.check_binding(&binding).map_err(|e| e.to_string())?;
    let bound = format!("{} ({}) binds the AK public key", parsed.format, parsed.provider.name());
    let Some(appraiser) = &policy.appraiser else {
        let outcome = Outcome::Pass(format!("{bound}; {}", unappraised(parsed.provider)));
        return Ok((
            Checked {
                kind,
                report: report.clone(),
                tsm: Some(TsmCheck { provider: parsed.provider, appraised: false }),
            },
            outcome,
        ));
    };
    let raw = tsm.raw().map_err(|e| e.to_string())?;
    let evidence = TsmEvidence { provider: parsed.provider, raw: &raw, report_data: &parsed.report_data };
    let said = |s: &str| if s.trim().is_empty() { String::new() } else { format!(": {}", shorten(s)) };
    match appraiser.appraise(&evidence) {
        Ok(out) => Ok((
            Checked {
                kind,
                report: report.clone(),
                tsm: Some(TsmCheck { provider: parsed.provider, appraised: true }),
            },
            Outcome::Pass(format!("{bound}; {} accepted its hardware signature{}", appraiser.name(), said(&out))),
        )),
        Err(why) => Err(format!(
            "{bound}, but {} refused the {}{}",
            appraiser.name(),
            parsed.provider.report_name(),
            said(&why)
        )),
    }
}

/// Whether a trust anchor is a TPM AK's own root (which certifies only its evidence key).
fn is_tpm_ak_root(anchor: &[u8]) -> bool {
    cert::subject_of(anchor).is_ok_and(|s| s.contains("CN=ras TPM attestation key"))
}

/// Checks a fresh TPM quote: by the TPM AK of the certificate, over the listed PCR values, and
/// with this evidence's leaf (nonce and AK) in the Merkle batch it quotes. Returns the PCR list.
fn check_tpm_quote(
    q: &TpmQuote,
    report: &TpmReport,
    nonce: &[u8],
    ak_spki: &[u8],
    claims: &Claims,
) -> Result<String, String> {
    use base64::engine::general_purpose::STANDARD;
    let ak = report.ak().map_err(|e| e.to_string())?;
    let attest = STANDARD.decode(&q.attest).map_err(|_| "tpm_quote.attest is not base64")?;
    let signature = STANDARD.decode(&q.signature).map_err(|_| "tpm_quote.signature is not base64")?;
    let hex32 = |what: &str, s: &str| -> Result<[u8; 32], String> {
        hex::decode(s).ok().and_then(|v| v.try_into().ok()).ok_or_else(|| format!("{what} is not 32 bytes of hex"))
    };
    let pcrs: Vec<(u8, [u8; 32])> =
        q.pcrs.iter().map(|p| Ok((p.index, hex32("a PCR value", &p.sha256)?))).collect::<Result<_, String>>()?;
    if q.proof.len() > 64 {
        return Err("tpm_quote.proof is too long".into());
    }
    let proof: Vec<[u8; 32]> = q.proof.iter().map(|h| hex32("a proof hash", h)).collect::<Result<_, _>>()?;
    let root = merkle::root_from_proof(tpm::evidence_leaf(nonce, ak_spki), q.index, q.batch, &proof)
        .ok_or("the TPM quote's batch proof does not fit its position")?;
    tpm::verify_quote(&ak, &attest, &signature, &root, &pcrs).map_err(|e| e.to_string())?;
    let list: Vec<String> = pcrs.iter().map(|(i, _)| i.to_string()).collect();
    let mut detail = format!("{} (batch of {})", list.join(","), q.batch);
    match &q.log {
        Some(log) => {
            let quoted =
                pcrs.iter().find(|(i, _)| *i == log.pcr).ok_or("the runtime-log PCR is not among the quoted")?;
            let key = claims.ras.subject.log_key();
            let n = crate::runtime_log::check_anchored(
                claims.ras.runtime_log.as_ref(),
                &key,
                log.pcr,
                &log.events,
                &quoted.1,
            )?;
            detail.push_str(&format!("; the runtime log is the one extended into PCR {} ({n} events)", log.pcr));
        }
        // A quote without the log would let whoever holds the keys leave out the log PCR and
        // present a rewritten log.
        None if claims.ras.runtime_log.is_some() => {
            return Err("the evidence has a runtime log and a TPM quote, but the log is not anchored in a quoted PCR (rasd --tpm-log-pcr)".into())
        }
        None => {}
    }
    Ok(detail)
}

/// Checks a fresh configfs-tsm report: it binds the Merkle root of this evidence's leaf (nonce
/// and AK) and proof, its hardware signature is appraised under the same rules as the AK
/// certificate's report, and, for a TDX quote carrying RTMR3 events, RTMR3 is their replay and
/// the subject's runtime log is exactly its events. Returns the sentence for the verdict.
fn check_tsm_quote(
    q: &TsmQuote,
    provider: Provider,
    nonce: &[u8],
    ak_spki: &[u8],
    claims: &Claims,
    policy: &TsmPolicy,
) -> Result<String, String> {
    use base64::engine::general_purpose::STANDARD;
    if q.outblob.len() > crate::tsm::MAX_OUTBLOB.div_ceil(3) * 4 {
        return Err("tsm_quote.outblob is too large".into());
    }
    let raw = STANDARD.decode(&q.outblob).map_err(|_| "tsm_quote.outblob is not base64")?;
    let parsed = crate::tsm::parse(&q.provider, &raw).map_err(|e| format!("tsm_quote: {e}"))?;
    if parsed.provider != provider {
        return Err(format!("the fresh report is from {}, the AK's from {}", parsed.provider.name(), provider.name()));
    }
    if q.proof.len() > 64 {
        return Err("tsm_quote.proof is too long".into());
    }
    let proof: Vec<[u8; 32]> = q
        .proof
        .iter()
        .map(|h| hex::decode(h).ok().and_then(|v| v.try_into().ok()).ok_or("a proof hash is not 32 bytes of hex"))
        .collect::<Result<_, _>>()?;
    let root = merkle::root_from_proof(tpm::evidence_leaf(nonce, ak_spki), q.index, q.batch, &proof)
        .ok_or("the fresh report's batch proof does not fit its position")?;
    let mut want = [0u8; REPORT_DATA_LEN];
    want[..32].copy_from_slice(&root);
    if parsed.report_data != want {
        return Err(format!(
            "the fresh {} does not bind this evidence's nonce and AK (its report data is not the batch's Merkle root)",
            parsed.provider.report_name()
        ));
    }
    let evidence = TsmEvidence { provider: parsed.provider, raw: &raw, report_data: &parsed.report_data };
    let appraised = match &policy.appraiser {
        Some(a) => match a.appraise(&evidence) {
            Ok(_) => format!("appraised by {}", a.name()),
            Err(why) => {
                let why = if why.trim().is_empty() { String::new() } else { format!(": {}", shorten(&why)) };
                return Err(format!("{} refused the fresh {}{why}", a.name(), parsed.provider.report_name()));
            }
        },
        // Without an appraiser the AK's report is not appraised either, and the policy check
        // refuses both unless --allow-unappraised accepts the report-data binding alone.
        None => "its hardware signature not appraised".to_string(),
    };
    let mut detail = format!("fresh {} made for this nonce (batch of {}, {appraised})", parsed.format, q.batch);
    match (&q.rtmr3_events, &parsed.rtmrs) {
        (Some(events), Some(rtmrs)) => {
            let key = claims.ras.subject.log_key();
            let n = crate::runtime_log::check_anchored_rtmr(claims.ras.runtime_log.as_ref(), &key, events, &rtmrs[3])?;
            detail.push_str(&format!("; the runtime log is the one extended into RTMR3 ({n} events)"));
        }
        (Some(_), None) => return Err(format!("tsm_quote has RTMR3 events, but a {} has no RTMRs", parsed.format)),
        // Without the events a rewritten log could not be told from the one extended.
        (None, _) if claims.ras.runtime_log.is_some() => {
            return Err("the evidence has a runtime log and a fresh tsm report, but the log is not anchored in RTMR3 (rasd --tsm-rtmr)".into())
        }
        (None, _) => {}
    }
    Ok(detail)
}

fn check_freshness(claims: &Claims, exp: &Expectations) -> Result<Outcome, String> {
    let nonce = URL_SAFE_NO_PAD.decode(&claims.eat_nonce).map_err(|_| "eat_nonce is not base64url".to_string())?;
    if nonce != exp.nonce {
        return Err(format!(
            "nonce mismatch: evidence binds {}, expected {}",
            hex::encode(&nonce),
            hex::encode(&exp.nonce)
        ));
    }
    // `iat` is the signer's number: saturate rather than overflow on extreme values.
    let age = exp.now.saturating_sub(claims.iat);
    if age < -FUTURE_SKEW {
        return Err(format!("iat is {}s in the future", age.saturating_neg()));
    }
    if age > exp.max_age {
        return Err(format!("evidence is {age}s old, more than --max-age {}s", exp.max_age));
    }
    let mut detail = format!("nonce matches; issued {}s ago (max {}s)", age.max(0), exp.max_age);
    match (&exp.bind, &claims.ras.bind) {
        (None, _) => {}
        (Some(want), Some(got)) if want.eq_ignore_ascii_case(got) => detail.push_str(&format!("; binds {want}")),
        (Some(want), Some(got)) => return Err(format!("the evidence binds {got}, expected {want}")),
        (Some(want), None) => return Err(format!("the evidence binds nothing, expected {want}")),
    }
    Ok(Outcome::Pass(detail))
}

/// What the verifier asked for is read one way only: 12 to 64 hex digits are an id or its
/// prefix, anything else is the runtime's name. Never both: a container may pick a name that
/// looks like another container's id, and a relay could offer its evidence instead.
fn container_matches(asked: &str, id: &str, name: Option<&str>) -> bool {
    let id_like = (12..=64).contains(&asked.len()) && asked.bytes().all(|b| b.is_ascii_hexdigit());
    if id_like {
        id.starts_with(&asked.to_ascii_lowercase())
    } else {
        name == Some(asked)
    }
}

fn check_subject(got: &Subject, want: &ExpectedSubject) -> Result<Outcome, String> {
    let ok = match (want, got) {
        (ExpectedSubject::Any, _) | (ExpectedSubject::Host, Subject::Host) => true,
        (ExpectedSubject::Vm { cid }, Subject::Vm { cid: got }) => cid == got,
        (ExpectedSubject::Container { id, runtime }, Subject::Container { id: got_id, runtime: got_rt, name, .. }) => {
            runtime == got_rt && container_matches(id, got_id, name.as_deref())
        }
        _ => false,
    };
    if ok {
        Ok(Outcome::Pass(format!("subject is {got}")))
    } else {
        let want = match want {
            ExpectedSubject::Host => "host".to_string(),
            ExpectedSubject::Container { id, runtime } => format!("container {runtime}:{id}"),
            ExpectedSubject::Vm { cid } => format!("vm cid {cid}"),
            ExpectedSubject::Any => unreachable!("Any always matches"),
        };
        Err(format!("subject is {got}, expected {want}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::tests::now;
    use crate::claims::{Caller, RasClaims, EAT_PROFILE};
    use crate::report::TeeReport;
    use rcgen::KeyPair;
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    struct Fixture {
        root: Vec<u8>,
        chain: Vec<Vec<u8>>,
        ak: EcdsaKeyPair,
    }

    fn fixture() -> Fixture {
        let rng = ring::rand::SystemRandom::new();
        let root_pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let root_rc = KeyPair::try_from(root_pk8.as_ref()).unwrap();
        let root = cert::issue_sim_root(&root_rc).unwrap().der().to_vec();
        let root_ring = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, root_pk8.as_ref(), &rng).unwrap();
        let ak_pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ak_rc = KeyPair::try_from(ak_pk8.as_ref()).unwrap();
        let report = TeeReport::sim_sign(&root_ring, &root, &ak_binding(&ak_rc.public_key_der())).unwrap();
        let leaf = cert::issue_ak(&ak_rc, &report, &root, &root_rc).unwrap();
        let ak = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ak_pk8.as_ref(), &rng).unwrap();
        Fixture { root, chain: vec![leaf], ak }
    }

    fn claims(nonce: &[u8], subject: Subject) -> Claims {
        Claims {
            eat_nonce: URL_SAFE_NO_PAD.encode(nonce),
            iat: now() as i64,
            eat_profile: EAT_PROFILE.into(),
            ras: RasClaims {
                subject,
                caller: Some(Caller { uid: 0, gid: 0, pid: 1, exe: "/bin/x".into(), exe_sha256: "ab".repeat(32) }),
                measurements: vec![],
                tee: "sim".into(),
                runtime_log: None,
                bind: None,
                tpm_quote: None,
                tsm_quote: None,
                workload_claims: None,
            },
        }
    }

    fn expect(f: &Fixture, nonce: &[u8]) -> Expectations {
        Expectations {
            trust_anchors: vec![f.root.clone()],
            nonce: nonce.to_vec(),
            max_age: 60,
            now: now() as i64,
            subject: ExpectedSubject::Host,
            reference: None,
            allow_sim: true,
            tsm: TsmPolicy::default(),
            bind: None,
            policy: None,
        }
    }

    fn failure(v: &Verdict) -> CheckName {
        v.first_failure().expect("must fail").0
    }

    /// Found by the `verify` fuzz target (fuzz/regressions/verify/freshness-iat-i64-min):
    /// an extreme `iat` overflowed the age computation.
    #[test]
    fn extreme_iat_values_are_refused_not_overflowed() {
        let f = fixture();
        let n = [9u8; 16];
        for iat in [i64::MIN, i64::MAX, i64::MIN + 1] {
            let mut c = claims(&n, Subject::Host);
            c.iat = iat;
            let e = expect(&f, &n);
            let r = check_freshness(&c, &e);
            assert!(r.is_err(), "iat {iat}: {r:?}");
        }
    }

    #[test]
    fn the_default_rego_policy_decides_what_the_built_in_rules_decide() {
        let f = fixture();
        let nonce = b"12345678";
        let host = jws::sign(&claims(nonce, Subject::Host), &f.chain, &f.ak).unwrap();
        let mut tpm_claimed = claims(nonce, Subject::Host);
        tpm_claimed.ras.tee = "tpm".into();
        let mismatch = jws::sign(&tpm_claimed, &f.chain, &f.ak).unwrap();
        for (ev, allow_sim) in [(&host, true), (&host, false), (&mismatch, true)] {
            let mut e = expect(&f, nonce);
            e.allow_sim = allow_sim;
            let built_in = verify(ev, &e);
            e.policy = Some(crate::policy::Policy::builtin());
            let rego = verify(ev, &e);
            assert_eq!(built_in.passed(), rego.passed(), "{built_in:?}\n{rego:?}");
            assert_eq!(built_in.first_failure().map(|f| f.0), rego.first_failure().map(|f| f.0));
        }
        // And a policy of one's own can refuse what the built-in rules accept.
        let mut e = expect(&f, nonce);
        let own = "package ras\nimport rego.v1\ndefault allow := false\nallow if input.claims.ras.caller.exe == \"/usr/bin/app\"\ndeny contains \"only /usr/bin/app may attest\" if not allow\n";
        e.policy = Some(crate::policy::Policy::parse("own.rego", own).unwrap());
        let v = verify(&host, &e);
        assert_eq!(
            v.first_failure(),
            Some((CheckName::Policy, "policy own.rego denies: only /usr/bin/app may attest"))
        );
    }

    #[test]
    fn a_policy_narrows_the_tee_gates_and_never_widens_them() {
        let f = fixture();
        let nonce = b"12345678";
        let host = jws::sign(&claims(nonce, Subject::Host), &f.chain, &f.ak).unwrap();
        let mut e = expect(&f, nonce);
        e.allow_sim = false;
        e.policy = Some(crate::policy::Policy::parse("lax.rego", "package ras\nallow := true\n").unwrap());
        let v = verify(&host, &e);
        let (check, why) = v.first_failure().expect("sim without --allow-sim fails whatever the policy says");
        assert_eq!(check, CheckName::Policy);
        assert!(why.contains("--allow-sim"), "{why}");
        e.allow_sim = true;
        assert!(verify(&host, &e).passed());
    }

    #[test]
    fn a_policy_can_name_the_host_by_its_trust_anchor_and_its_ak() {
        let f = fixture();
        let nonce = b"12345678";
        let host = jws::sign(&claims(nonce, Subject::Host), &f.chain, &f.ak).unwrap();
        let anchor = crate::sha256_hex(&f.root);
        let ak = crate::sha256_hex(&cert::spki_of(&f.chain[0]).unwrap());
        let pin = |a: &str, k: &str| {
            let rego = format!(
                "package ras\nimport rego.v1\ndefault allow := false\nallow if {{\n  input.keys.anchor_sha256 == \"{a}\"\n  input.keys.ak_sha256 == \"{k}\"\n}}\n"
            );
            let mut e = expect(&f, nonce);
            e.policy = Some(crate::policy::Policy::parse("pin.rego", &rego).unwrap());
            verify(&host, &e).passed()
        };
        assert!(pin(&anchor, &ak));
        assert!(!pin(&"0".repeat(64), &ak), "another host's anchor");
        assert!(!pin(&anchor, &"0".repeat(64)), "another AK");
    }

    #[test]
    fn a_bind_asked_for_must_be_the_one_in_the_evidence() {
        let f = fixture();
        let mut c = claims(b"12345678", Subject::Host);
        c.ras.bind = Some("ab".repeat(32));
        let ev = jws::sign(&c, &f.chain, &f.ak).unwrap();
        let mut e = expect(&f, b"12345678");
        e.bind = Some("AB".repeat(32));
        assert!(verify(&ev, &e).passed());
        e.bind = Some("cd".repeat(32));
        assert_eq!(failure(&verify(&ev, &e)), CheckName::Freshness);
        let unbound = jws::sign(&claims(b"12345678", Subject::Host), &f.chain, &f.ak).unwrap();
        assert_eq!(failure(&verify(&unbound, &e)), CheckName::Freshness);
    }

    #[test]
    fn good_evidence_passes_every_check() {
        let f = fixture();
        let ev = jws::sign(&claims(b"12345678", Subject::Host), &f.chain, &f.ak).unwrap();
        let v = verify(&ev, &expect(&f, b"12345678"));
        assert!(v.passed(), "{v:?}");
        assert!(matches!(v.checks[5].1, Outcome::Skipped(_)));
    }

    #[test]
    fn a_runtime_log_that_does_not_replay_fails_the_signature_check() {
        use crate::runtime_log::{extend, LogEntry, RuntimeLog};
        let f = fixture();
        let mut c = claims(b"12345678", Subject::Host);
        let e = LogEntry { seq: 0, time: 1, domain: "d".into(), operation: "o".into(), content: "x".into() };
        let chain = hex::encode(extend(&[0; 32], &e));
        c.ras.runtime_log = Some(RuntimeLog { chain: chain.clone(), entries: vec![e.clone()] });
        let ev = jws::sign(&c, &f.chain, &f.ak).unwrap();
        assert!(verify(&ev, &expect(&f, b"12345678")).passed());
        let mut bad = e;
        bad.content = "y".into();
        c.ras.runtime_log = Some(RuntimeLog { chain, entries: vec![bad] });
        let ev = jws::sign(&c, &f.chain, &f.ak).unwrap();
        let v = verify(&ev, &expect(&f, b"12345678"));
        assert_eq!(v.first_failure().unwrap().0, CheckName::Signature);
    }

    #[test]
    fn each_check_names_its_failure() {
        let f = fixture();
        let ev = jws::sign(&claims(b"12345678", Subject::Host), &f.chain, &f.ak).unwrap();

        let mut e = expect(&f, b"12345678");
        e.trust_anchors = vec![fixture().root];
        assert_eq!(failure(&verify(&ev, &e)), CheckName::Chain);

        assert_eq!(failure(&verify(&ev, &expect(&f, b"87654321"))), CheckName::Freshness);

        let mut e = expect(&f, b"12345678");
        e.now += 120;
        assert_eq!(failure(&verify(&ev, &e)), CheckName::Freshness);

        let mut e = expect(&f, b"12345678");
        e.subject = ExpectedSubject::Container { id: "abc".into(), runtime: "docker".into() };
        assert_eq!(failure(&verify(&ev, &e)), CheckName::Subject);

        let mut e = expect(&f, b"12345678");
        e.reference = Some(ReferenceValues::parse(&format!("exe:/bin/x {}", "cd".repeat(32))).unwrap());
        assert_eq!(failure(&verify(&ev, &e)), CheckName::Reference);

        let mut e = expect(&f, b"12345678");
        e.allow_sim = false;
        let v = verify(&ev, &e);
        assert_eq!(failure(&v), CheckName::Policy);
        assert!(v.first_failure().unwrap().1.contains("--allow-sim"));

        // Signed by a key other than the certified AK.
        let other = fixture();
        let forged = jws::sign(&claims(b"12345678", Subject::Host), &f.chain, &other.ak).unwrap();
        let v = verify(&forged, &expect(&f, b"12345678"));
        assert_eq!(failure(&v), CheckName::Signature);
        assert_eq!(v.checks[6].1, Outcome::NotReached);
    }

    #[test]
    fn container_subject_matches_by_id_or_long_prefix() {
        let s = Subject::Container { id: "0123456789abcdef".into(), runtime: "docker".into(), name: None, pid_ns: 1 };
        let want = |id: &str| ExpectedSubject::Container { id: id.into(), runtime: "docker".into() };
        assert!(check_subject(&s, &want("0123456789abcdef")).is_ok());
        assert!(check_subject(&s, &want("0123456789ab")).is_ok());
        assert!(check_subject(&s, &want("0123")).is_err());
        assert!(check_subject(&s, &ExpectedSubject::Host).is_err());
        assert!(check_subject(&Subject::Host, &want("0123456789abcdef")).is_err());
    }

    #[test]
    fn container_subject_matches_by_name_but_never_a_name_that_looks_like_an_id() {
        let named = |name: &str| Subject::Container {
            id: "0123456789abcdef".into(),
            runtime: "docker".into(),
            name: Some(name.into()),
            pid_ns: 1,
        };
        let want = |id: &str| ExpectedSubject::Container { id: id.into(), runtime: "docker".into() };
        assert!(check_subject(&named("web"), &want("web")).is_ok());
        assert!(check_subject(&named("web"), &want("db")).is_err());
        assert!(check_subject(
            &named("web"),
            &ExpectedSubject::Container { id: "web".into(), runtime: "podman".into() }
        )
        .is_err());
        // A container named like another's id prefix does not pass for it.
        assert!(check_subject(&named("fedcba987654"), &want("fedcba987654")).is_err());
        let unnamed =
            Subject::Container { id: "0123456789abcdef".into(), runtime: "docker".into(), name: None, pid_ns: 1 };
        assert!(check_subject(&unnamed, &want("web")).is_err());
        // The verdict names both.
        assert_eq!(named("web").to_string(), "container docker:0123456789abcdef (web)");
    }

    /// An AK self-signed with a tsm report over the recorded TDX quote, with `data` in the
    /// quote's report data (the AK's binding unless a test says otherwise).
    fn tsm_fixture(data: Option<[u8; 64]>) -> Fixture {
        let rng = ring::rand::SystemRandom::new();
        let ak_pk8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ak_rc = KeyPair::try_from(ak_pk8.as_ref()).unwrap();
        let report = crate::report::tests::tdx_report(&data.unwrap_or(ak_binding(&ak_rc.public_key_der())));
        let leaf = cert::issue_self_signed_ak(&ak_rc, &report).unwrap();
        let ak = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ak_pk8.as_ref(), &rng).unwrap();
        Fixture { root: leaf.clone(), chain: vec![leaf], ak }
    }

    /// An appraiser that answers as told and records what it was shown.
    struct Stub {
        answer: Result<String, String>,
        seen: std::sync::Mutex<Vec<(Provider, usize, [u8; 64])>>,
    }

    impl Appraiser for Stub {
        fn appraise(&self, e: &TsmEvidence<'_>) -> Result<String, String> {
            self.seen.lock().unwrap().push((e.provider, e.raw.len(), *e.report_data));
            self.answer.clone()
        }
        fn name(&self) -> String {
            "--tsm-appraiser stub".into()
        }
    }

    fn tsm_evidence(f: &Fixture) -> String {
        let mut c = claims(b"12345678", Subject::Host);
        c.ras.tee = "tsm".into();
        jws::sign(&c, &f.chain, &f.ak).unwrap()
    }

    fn detail(v: &Verdict, n: CheckName) -> String {
        match &v.checks.iter().find(|(c, _)| *c == n).unwrap().1 {
            Outcome::Pass(d) | Outcome::Fail(d) | Outcome::Skipped(d) => d.clone(),
            Outcome::NotReached => "not reached".into(),
        }
    }

    #[test]
    fn unappraised_tsm_evidence_fails_the_policy_check_and_says_so() {
        let f = tsm_fixture(None);
        let ev = tsm_evidence(&f);
        let mut e = expect(&f, b"12345678");
        e.allow_sim = false;
        let v = verify(&ev, &e);
        assert_eq!(failure(&v), CheckName::Policy, "{v:?}");
        let not_appraised = "the hardware signature of the TDX quote was not appraised (no --tsm-appraiser)";
        assert!(v.first_failure().unwrap().1.contains(not_appraised), "{v:?}");
        assert!(detail(&v, CheckName::TeeReport).contains("TDX quote v4 (tdx_guest) binds the AK public key"));
        assert!(detail(&v, CheckName::TeeReport).contains(not_appraised));
        // Allowed explicitly: a pass that still says it.
        e.tsm.allow_unappraised = true;
        let v = verify(&ev, &e);
        assert!(v.passed(), "{v:?}");
        assert!(detail(&v, CheckName::Policy).contains(not_appraised));
    }

    #[test]
    fn the_appraiser_decides_and_is_shown_the_raw_quote() {
        let f = tsm_fixture(None);
        let ev = tsm_evidence(&f);
        let yes = Arc::new(Stub { answer: Ok("quote ok, TCB UpToDate".into()), seen: Default::default() });
        let mut e = expect(&f, b"12345678");
        e.tsm.appraiser = Some(yes.clone());
        let v = verify(&ev, &e);
        assert!(v.passed(), "{v:?}");
        assert!(detail(&v, CheckName::TeeReport)
            .contains("--tsm-appraiser stub accepted its hardware signature: quote ok, TCB UpToDate"));
        assert!(detail(&v, CheckName::Policy).contains("appraised"));
        let spki = cert::spki_of(&f.chain[0]).unwrap();
        assert_eq!(*yes.seen.lock().unwrap(), vec![(Provider::Tdx, 4936, ak_binding(&spki))]);

        let no = Arc::new(Stub { answer: Err("PCK certificate revoked".into()), seen: Default::default() });
        e.tsm.appraiser = Some(no);
        e.tsm.allow_unappraised = true;
        let v = verify(&ev, &e);
        assert_eq!(failure(&v), CheckName::TeeReport);
        assert!(v.first_failure().unwrap().1.contains("refused the TDX quote: PCK certificate revoked"), "{v:?}");
    }

    /// Host evidence of the tsm fixture with a fresh TDX quote (the recorded sample with the
    /// Merkle root and RTMR3 written in) whose RTMR3 holds `events`, and a runtime log of `entries`.
    fn fresh_tsm_evidence(
        f: &Fixture,
        entries: &[crate::runtime_log::LogEntry],
        events: Option<Vec<crate::runtime_log::PcrEvent>>,
        rtmr3: Option<[u8; 48]>,
    ) -> String {
        jws::sign(&fresh_tsm_claims(f, entries, events, rtmr3), &f.chain, &f.ak).unwrap()
    }

    /// The claims of [`fresh_tsm_evidence`], unsigned.
    fn fresh_tsm_claims(
        f: &Fixture,
        entries: &[crate::runtime_log::LogEntry],
        events: Option<Vec<crate::runtime_log::PcrEvent>>,
        rtmr3: Option<[u8; 48]>,
    ) -> Claims {
        use crate::runtime_log::{extend, rtmr_replay, RuntimeLog};
        use base64::engine::general_purpose::STANDARD;
        let spki = cert::spki_of(&f.chain[0]).unwrap();
        let leaves = [[9u8; 32], tpm::evidence_leaf(b"12345678", &spki)];
        let root = merkle::root(&leaves);
        let mut quote = crate::tsm::tests::TDX_V4.to_vec();
        quote[48 + 520..48 + 552].copy_from_slice(&root);
        quote[48 + 552..48 + 584].fill(0);
        let replayed = rtmr_replay([0; 48], events.iter().flatten().map(|e| e.rtmr_digest().unwrap()));
        quote[48 + 472..48 + 520].copy_from_slice(&rtmr3.unwrap_or(replayed));
        let mut c = claims(b"12345678", Subject::Host);
        c.ras.tee = "tsm".into();
        if !entries.is_empty() {
            let chain = entries.iter().fold([0u8; 32], |c, e| extend(&c, e));
            c.ras.runtime_log = Some(RuntimeLog { chain: hex::encode(chain), entries: entries.to_vec() });
        }
        c.ras.tsm_quote = Some(TsmQuote {
            provider: "tdx_guest".into(),
            outblob: STANDARD.encode(&quote),
            index: 1,
            batch: 2,
            proof: merkle::proof(&leaves, 1).iter().map(hex::encode).collect(),
            rtmr3_events: events,
        });
        c
    }

    #[test]
    fn a_fresh_tdx_quote_anchors_the_runtime_log_in_rtmr3() {
        use crate::runtime_log::{LogEntry, PcrEvent};
        let f = tsm_fixture(None);
        let entries: Vec<LogEntry> = (0..2)
            .map(|seq| LogEntry {
                seq,
                time: 1,
                domain: "app".into(),
                operation: "load".into(),
                content: format!("{seq}"),
            })
            .collect();
        let ev = |e: &LogEntry| PcrEvent { subject: "host".into(), seq: e.seq, digest: hex::encode(e.digest()) };
        let events: Vec<PcrEvent> = entries.iter().map(ev).collect();
        let mut e = expect(&f, b"12345678");
        e.tsm.allow_unappraised = true;
        let v = verify(&fresh_tsm_evidence(&f, &entries, Some(events.clone()), None), &e);
        assert!(v.passed(), "{v:?}");
        let d = detail(&v, CheckName::Freshness);
        assert!(d.contains("fresh TDX quote v4 made for this nonce (batch of 2"), "{d}");
        assert!(d.contains("the runtime log is the one extended into RTMR3 (2 events)"), "{d}");

        // A rewritten entry, an RTMR3 that is not the replay, a log without its events, another
        // nonce: each fails freshness.
        let mut edited = entries.clone();
        edited[1].content = "evil".into();
        let v = verify(&fresh_tsm_evidence(&f, &edited, Some(events.clone()), None), &e);
        assert_eq!(failure(&v), CheckName::Freshness);
        assert!(v.first_failure().unwrap().1.contains("the log was changed"), "{v:?}");
        let v = verify(&fresh_tsm_evidence(&f, &entries, Some(events.clone()), Some([1; 48])), &e);
        assert!(v.first_failure().unwrap().1.contains("do not replay to RTMR3"), "{v:?}");
        let v = verify(&fresh_tsm_evidence(&f, &entries, None, None), &e);
        assert!(v.first_failure().unwrap().1.contains("not anchored in RTMR3"), "{v:?}");
        let v = verify(&fresh_tsm_evidence(&f, &entries, Some(events.clone()), None), &expect_nonce(&e, b"87654321"));
        assert_eq!(failure(&v), CheckName::Freshness);

        // The fresh quote is appraised like the AK's: unappraised, the policy check refuses it
        // without --allow-unappraised, and the appraiser sees the fresh quote too.
        e.tsm.allow_unappraised = false;
        let v = verify(&fresh_tsm_evidence(&f, &entries, Some(events.clone()), None), &e);
        assert_eq!(failure(&v), CheckName::Policy);
        assert!(detail(&v, CheckName::Freshness).contains("its hardware signature not appraised"), "{v:?}");
        let yes = Arc::new(Stub { answer: Ok(String::new()), seen: Default::default() });
        e.tsm.appraiser = Some(yes.clone());
        let v = verify(&fresh_tsm_evidence(&f, &entries, Some(events.clone()), None), &e);
        assert!(v.passed(), "{v:?}");
        assert_eq!(yes.seen.lock().unwrap().len(), 2, "the AK's report and the fresh one");
        assert_eq!(yes.seen.lock().unwrap()[1].2[..32], detail_root(&f), "the fresh quote binds the batch root");
        assert!(detail(&v, CheckName::Freshness).contains("appraised by --tsm-appraiser stub"), "{v:?}");
        // An appraiser that accepts the AK's report but refuses the fresh one fails freshness.
        let once = Arc::new(Once { accepted: Default::default() });
        e.tsm.appraiser = Some(once);
        let v = verify(&fresh_tsm_evidence(&f, &entries, Some(events), None), &e);
        assert_eq!(failure(&v), CheckName::Freshness, "{v:?}");
        assert!(v.first_failure().unwrap().1.contains("refused the fresh TDX quote: only once"), "{v:?}");
    }

    /// The batch root of [`fresh_tsm_evidence`].
    fn detail_root(f: &Fixture) -> [u8; 32] {
        let spki = cert::spki_of(&f.chain[0]).unwrap();
        merkle::root(&[[9u8; 32], tpm::evidence_leaf(b"12345678", &spki)])
    }

    /// Accepts the first report it is shown, refuses the rest.
    struct Once {
        accepted: std::sync::atomic::AtomicBool,
    }

    impl Appraiser for Once {
        fn appraise(&self, _: &TsmEvidence<'_>) -> Result<String, String> {
            match self.accepted.swap(true, std::sync::atomic::Ordering::SeqCst) {
                false => Ok(String::new()),
                true => Err("only once".into()),
            }
        }
        fn name(&self) -> String {
            "--tsm-appraiser once".into()
        }
    }

    fn expect_nonce(e: &Expectations, nonce: &[u8]) -> Expectations {
        Expectations { nonce: nonce.to_vec(), ..e.clone() }
    }

    #[test]
    fn a_tsm_report_that_binds_another_key_is_refused_before_any_appraisal() {
        let f = tsm_fixture(Some(ak_binding(b"some other key")));
        let ev = tsm_evidence(&f);
        let stub = Arc::new(Stub { answer: Ok(String::new()), seen: Default::default() });
        let mut e = expect(&f, b"12345678");
        e.tsm = TsmPolicy { appraiser: Some(stub.clone()), allow_unappraised: true };
        let v = verify(&ev, &e);
        assert_eq!(failure(&v), CheckName::TeeReport);
        assert!(v.first_failure().unwrap().1.contains("binds other data"), "{v:?}");
        assert!(stub.seen.lock().unwrap().is_empty());
        // And claims that name another TEE than the report fail the signature check.
        let f = tsm_fixture(None);
        let ev = jws::sign(&claims(b"12345678", Subject::Host), &f.chain, &f.ak).unwrap();
        assert_eq!(failure(&verify(&ev, &expect(&f, b"12345678"))), CheckName::Signature);
    }

    #[test]
    fn check_names_are_the_wire_names() {
        let names: Vec<&str> = CheckName::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["chain", "tee-report", "signature", "freshness", "subject", "reference", "policy"]);
    }

    #[test]
    fn freshness_bounds_are_inclusive_and_one_second_past_them_fails() {
        let f = fixture();
        let n = [9u8; 16];
        let e = expect(&f, &n);
        let at = |iat: i64| {
            let mut c = claims(&n, Subject::Host);
            c.iat = iat;
            check_freshness(&c, &e)
        };
        assert!(at(e.now - e.max_age).is_ok());
        assert!(at(e.now - e.max_age - 1).unwrap_err().contains("old, more than --max-age"));
        assert!(at(e.now + FUTURE_SKEW).is_ok());
        assert!(at(e.now + FUTURE_SKEW + 1).unwrap_err().contains("in the future"));
    }

    #[test]
    fn a_vm_subject_is_the_vm_of_that_cid_only() {
        let want = ExpectedSubject::Vm { cid: 5 };
        assert!(check_subject(&Subject::Vm { cid: 5 }, &want).is_ok());
        assert!(check_subject(&Subject::Vm { cid: 6 }, &want).is_err());
        assert!(check_subject(&Subject::Host, &want).is_err());
    }

    #[test]
    fn sim_evidence_accepted_by_allow_sim_says_so() {
        let f = fixture();
        let ev = jws::sign(&claims(b"12345678", Subject::Host), &f.chain, &f.ak).unwrap();
        let v = verify(&ev, &expect(&f, b"12345678"));
        assert_eq!(detail(&v, CheckName::Policy), "tee sim accepted (--allow-sim)");
    }

    #[test]
    fn a_fresh_tsm_report_without_a_runtime_log_needs_no_rtmr3_events() {
        let f = tsm_fixture(None);
        let mut e = expect(&f, b"12345678");
        e.tsm.allow_unappraised = true;
        let v = verify(&fresh_tsm_evidence(&f, &[], None, None), &e);
        assert!(v.passed(), "{v:?}");
    }

    #[test]
    fn a_fresh_tsm_report_s_size_and_proof_are_bounded_exactly() {
        use base64::engine::general_purpose::STANDARD;
        let f = tsm_fixture(None);
        let mut e = expect(&f, b"12345678");
        e.tsm.allow_unappraised = true;
        let edited = |tweak: &dyn Fn(&mut TsmQuote)| {
            let mut c = fresh_tsm_claims(&f, &[], None, None);
            tweak(c.ras.tsm_quote.as_mut().unwrap());
            let v = verify(&jws::sign(&c, &f.chain, &f.ak).unwrap(), &e);
            v.first_failure().map(|(_, why)| why.to_string()).unwrap_or_default()
        };
        // The base64 of the kernel's largest report is allowed; one more character is not.
        let limit = crate::tsm::MAX_OUTBLOB.div_ceil(3) * 4;
        let at_limit = edited(&|q| q.outblob = STANDARD.encode(vec![0u8; crate::tsm::MAX_OUTBLOB]));
        assert_eq!(STANDARD.encode(vec![0u8; crate::tsm::MAX_OUTBLOB]).len(), limit);
        assert!(!at_limit.is_empty() && !at_limit.contains("too large"), "{at_limit}");
        assert!(edited(&|q| q.outblob = "A".repeat(limit + 1)).contains("tsm_quote.outblob is too large"));
        // 64 proof hashes are allowed (this proof then fails to lead to the root), 65 are not.
        let p64 = edited(&|q| q.proof = vec!["00".repeat(32); 64]);
        assert!(!p64.is_empty() && !p64.contains("too long"), "{p64}");
        assert!(edited(&|q| q.proof = vec!["00".repeat(32); 65]).contains("tsm_quote.proof is too long"));
    }
}
