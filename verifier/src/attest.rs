//! One round for one target: a fresh nonce through the target's ras-bridge, then the ordered
//! checks of `ras-evidence` with the target's reference values and Rego policy. No answer
//! (a connection, a timeout, a refusal, an agent that is gone) makes the target
//! `unreachable`; an answer that fails a check makes it `untrusted`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ras_evidence::policy::Policy;
use ras_evidence::reference::ReferenceValues;
use ras_evidence::{verify, Expectations, ExpectedSubject, TsmPolicy};
use ras_proto::api::remote::{Challenge, ContainerRef};
use ras_proto::endpoint::Endpoint;
use ras_proto::Nonce;

use crate::store::{Attestation, State, TargetSpec};

/// Evidence older than this is stale, in seconds.
pub const MAX_AGE: i64 = 60;

/// What every attestation is checked against.
#[derive(Clone)]
pub struct Checker {
    /// Trust anchors (DER).
    pub anchors: Arc<Vec<Vec<u8>>>,
    /// `--allow-sim`.
    pub allow_sim: bool,
    /// `--allow-unappraised`.
    pub allow_unappraised: bool,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// 32 random bytes.
pub fn fresh_nonce() -> Nonce {
    let mut n = [0u8; 32];
    // The OS random source does not fail on Linux once booted; a zero nonce would still be
    // refused by nobody, so fail loudly instead.
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut n).expect("getrandom");
    Nonce::from_bytes(n.to_vec()).expect("32 bytes is a valid nonce")
}

impl Checker {
    /// Expectations for evidence answering `nonce`.
    pub fn expectations(
        &self,
        nonce: &[u8],
        subject: ExpectedSubject,
        reference: Option<ReferenceValues>,
        policy: Option<Policy>,
        bind: Option<String>,
    ) -> Expectations {
        Expectations {
            trust_anchors: self.anchors.as_ref().clone(),
            nonce: nonce.to_vec(),
            max_age: MAX_AGE,
            now: now_ms() / 1000,
            subject,
            reference,
            allow_sim: self.allow_sim,
            tsm: TsmPolicy { appraiser: None, allow_unappraised: self.allow_unappraised },
            bind,
            policy,
        }
    }
}

/// Checks a target's policy and reference text at registration; the error names the line.
pub fn parse_spec(spec: &TargetSpec) -> Result<(Option<ReferenceValues>, Option<Policy>), String> {
    let reference =
        spec.reference.as_deref().map(ReferenceValues::parse).transpose().map_err(|e| format!("reference: {e}"))?;
    let policy = spec
        .policy
        .as_deref()
        .map(|text| Policy::parse(&format!("{}.rego", spec.name), text))
        .transpose()
        .map_err(|e| e.to_string())?;
    Ok((reference, policy))
}

/// The challenge a target gets, and what its answer must show.
fn challenge_for(spec: &TargetSpec) -> (Challenge, ExpectedSubject) {
    let nonce = fresh_nonce();
    match (&spec.container, spec.vm) {
        (Some(id), _) => {
            let runtime = spec.runtime.clone().unwrap_or_else(|| "docker".into());
            (
                Challenge {
                    nonce,
                    container: Some(ContainerRef { id: id.clone(), runtime: runtime.clone() }),
                    vm: None,
                    peer: None,
                },
                ExpectedSubject::Container { id: id.clone(), runtime },
            )
        }
        (None, Some(cid)) => {
            let cid = u32::try_from(cid).unwrap_or(u32::MAX);
            (Challenge { nonce, container: None, vm: Some(cid), peer: None }, ExpectedSubject::Vm { cid })
        }
        (None, None) => (Challenge { nonce, container: None, vm: None, peer: None }, ExpectedSubject::Host),
    }
}

/// Attests one target: the round's outcome (time, state, verdict, reason).
pub async fn attest(checker: &Checker, spec: &TargetSpec, timeout: Duration) -> Attestation {
    let started = Instant::now();
    // The exchange has `timeout`; the whole round, verification included, a second more, so
    // that it ends within its lease (which is longer than that, checked at start).
    let bounded = tokio::time::timeout(timeout + Duration::from_secs(1), round(checker, spec, timeout)).await;
    let (state, verdict, failed_check, reason) = match bounded {
        Ok(Ok(None)) => (State::Trusted, "pass", None, None),
        Ok(Ok(Some((check, why)))) => (State::Untrusted, "fail", Some(check), Some(why)),
        Ok(Err(why)) => (State::Unreachable, "error", None, Some(why)),
        Err(_) => (State::Unreachable, "error", None, Some("the round outlived --timeout".to_string())),
    };
    Attestation {
        round: 0,
        time: now_ms(),
        replica: String::new(),
        state,
        verdict: verdict.into(),
        failed_check,
        reason,
        latency_us: started.elapsed().as_micros() as i64,
    }
}

/// `Ok(None)`: passed; `Ok(Some((check, reason)))`: failed; `Err`: no evidence.
async fn round(checker: &Checker, spec: &TargetSpec, timeout: Duration) -> Result<Option<(String, String)>, String> {
    let endpoint: Endpoint = spec.connect.parse().map_err(|e| format!("connect {e}"))?;
    let (challenge, subject) = challenge_for(spec);
    let exchange = async {
        let mut conn = endpoint.connect().await.map_err(|e| format!("connect to {endpoint}: {e}"))?;
        conn.call(&challenge).await.map_err(|e| format!("{endpoint}: {e}"))
    };
    let evidence = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{endpoint}: no answer within {} s", timeout.as_secs()))??
        .evidence;
    let (reference, policy) = parse_spec(spec).map_err(|e| format!("the target's own {e}"))?;
    let exp = checker.expectations(challenge.nonce.as_bytes(), subject, reference, policy, None);
    // The checks are CPU work (signatures, chains, Rego): off the runtime's threads.
    let verdict = tokio::task::spawn_blocking(move || verify(&evidence, &exp))
        .await
        .map_err(|e| format!("verification did not finish: {e}"))?;
    Ok(verdict.first_failure().map(|(check, why)| (check.as_str().to_string(), why.to_string())))
}
