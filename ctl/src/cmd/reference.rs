//! `rasctl reference record`: a reference file from known-good evidence. With `--trust` the
//! evidence is verified first (all but freshness); without it, it is taken as known-good on
//! the operator's word.

use anyhow::anyhow;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ras_evidence::reference::ReferenceValues;
use ras_evidence::{jws, verify, ExpectedSubject};
use ras_proto::Nonce;
use serde_json::json;

use crate::cli::{PolicyArgs, ReferenceCommand};
use crate::failure::{refused, usage, Failure};
use crate::output::{emit, print_json, read_input};
use crate::verdict::expectations;

pub fn run(json: bool, c: ReferenceCommand) -> Result<(), Failure> {
    let ReferenceCommand::Record { evidence, out, trust, allow_sim, tsm_appraiser, allow_unappraised } = c;
    let text = read_input(&evidence)?;
    let claims =
        jws::parse(&text).and_then(|p| p.claims()).map_err(|e| usage(anyhow!("{}: {e}", evidence.display())))?;
    if let Some(trust) = trust {
        // The evidence's own nonce: freshness has no meaning offline, everything else does.
        let nonce = URL_SAFE_NO_PAD
            .decode(&claims.eat_nonce)
            .ok()
            .and_then(|n| Nonce::from_bytes(n).ok())
            .ok_or_else(|| refused(anyhow!("eat_nonce is not a base64url nonce of 8 to 64 bytes")))?;
        let policy = PolicyArgs {
            trust,
            reference: None,
            allow_sim,
            tsm_appraiser,
            allow_unappraised,
            max_age: i64::MAX / 4,
            policy: None,
        };
        let exp = expectations(&policy, &nonce, ExpectedSubject::Any)?;
        if let Some((check, reason)) = verify(&text, &exp).first_failure() {
            return Err(refused(anyhow!("not recording: the {} check failed: {reason}", check.as_str())));
        }
    }
    let refs = ReferenceValues::record(&claims);
    if json {
        print_json(&json!({ "entries": refs.len(), "reference": refs.render() }));
        return Ok(());
    }
    emit(out.as_deref(), &refs.render())
}
