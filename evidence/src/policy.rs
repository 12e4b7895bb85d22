//! Verification policy in Rego (the language of OPA), evaluated with `regorus`, the engine
//! Trustee embeds. After the built-in checks, the `policy` check asks the policy: its input is
//! the results of those checks, the verified claims, the verifier's options and what the TEE
//! report established; it answers `data.ras.allow` and, when that is false, the reasons in
//! `data.ras.deny`. [`Policy::default`] (`evidence/policy/default.rego`) decides what the
//! built-in policy check decides, so `--policy` changes only what a policy author changes. The
//! built-in TEE rules (sim, unappraised tsm) are enforced before any policy runs.

use serde_json::Value;
use thiserror::Error;

/// The default policy's source.
pub const DEFAULT: &str = include_str!("../policy/default.rego");
/// Bound on a policy file: a verifier's own input, but a file is still read whole.
pub const MAX_POLICY: usize = 256 * 1024;

/// A policy that could not be loaded or evaluated.
#[derive(Debug, Error)]
pub enum PolicyError {
    /// The Rego does not parse or compile; the message names the file, line and column.
    #[error("policy {name}: {message}")]
    Load {
        /// The file.
        name: String,
        /// regorus' message, with `file:line:col`.
        message: String,
    },
    /// Evaluation failed (a runtime error in a rule, or `allow` is not a boolean).
    #[error("policy {name}: {message}")]
    Eval {
        /// The file.
        name: String,
        /// What failed.
        message: String,
    },
}

/// A loaded policy.
#[derive(Clone)]
pub struct Policy {
    name: String,
    engine: regorus::Engine,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").field("name", &self.name).finish()
    }
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `data.ras.allow`.
    pub allow: bool,
    /// `data.ras.deny`, sorted.
    pub reasons: Vec<String>,
}

impl Policy {
    /// Parses a policy named `name` (a file name, for messages). It must be `package ras`.
    pub fn parse(name: &str, rego: &str) -> Result<Self, PolicyError> {
        let load = |message: String| PolicyError::Load { name: name.to_string(), message };
        if rego.len() > MAX_POLICY {
            return Err(load(format!("{} bytes, at most {MAX_POLICY}", rego.len())));
        }
        let mut engine = regorus::Engine::new();
        let package = engine.add_policy(name.to_string(), rego.to_string()).map_err(|e| load(format!("{e:#}")))?;
        if package != "data.ras" {
            return Err(load(format!("declares {package}; a ras policy is `package ras`")));
        }
        Ok(Policy { name: name.to_string(), engine })
    }

    /// The default policy.
    pub fn builtin() -> Self {
        Policy::parse("default.rego", DEFAULT).expect("the default policy compiles (a test checks it)")
    }

    /// The policy's name (its file).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Evaluates the policy on `input`.
    pub fn evaluate(&self, input: &Value) -> Result<Decision, PolicyError> {
        let eval = |message: String| PolicyError::Eval { name: self.name.clone(), message };
        let mut engine = self.engine.clone();
        let text = serde_json::to_string(input).expect("JSON serializes");
        engine.set_input(regorus::Value::from_json_str(&text).map_err(|e| eval(e.to_string()))?);
        let allow = engine.eval_rule("data.ras.allow".into()).map_err(|e| eval(format!("{e:#}")))?;
        let allow = match allow.to_json_str().map_err(|e| eval(e.to_string()))?.trim() {
            "true" => true,
            "false" => false,
            other => return Err(eval(format!("data.ras.allow is {other}, not a boolean"))),
        };
        let mut reasons = Vec::new();
        if !allow {
            // `deny` is optional: a policy may give no reasons.
            if let Ok(deny) = engine.eval_rule("data.ras.deny".into()) {
                let json: Value = serde_json::from_str(&deny.to_json_str().map_err(|e| eval(e.to_string()))?)
                    .map_err(|e| eval(e.to_string()))?;
                if let Value::Array(items) = json {
                    reasons =
                        items.into_iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect();
                }
            }
            reasons.sort();
        }
        Ok(Decision { allow, reasons })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(kind: &str, allow_sim: bool, fail: bool) -> Value {
        let status = if fail { "fail" } else { "pass" };
        json!({
            "checks": [{"check": "chain", "status": "pass", "detail": "ok"}, {"check": "reference", "status": status, "detail": "exe:/x differs"}],
            "claims": null,
            "options": {"allow_sim": allow_sim, "allow_unappraised": false},
            "tee": {"kind": kind, "appraised": false},
        })
    }

    #[test]
    fn the_default_policy_allows_and_denies_with_reasons() {
        let p = Policy::builtin();
        assert!(p.evaluate(&input("tpm", false, false)).unwrap().allow);
        assert!(p.evaluate(&input("sim", true, false)).unwrap().allow);
        let d = p.evaluate(&input("sim", false, false)).unwrap();
        assert!(!d.allow && d.reasons[0].contains("--allow-sim"), "{d:?}");
        let d = p.evaluate(&input("tpm", false, true)).unwrap();
        assert_eq!(d.reasons, vec!["the reference check failed: exe:/x differs".to_string()]);
        assert!(!p.evaluate(&input("tsm", false, false)).unwrap().allow);
    }

    #[test]
    fn a_broken_policy_names_its_line_and_another_package_is_refused() {
        let e = Policy::parse("mine.rego", "package ras\n\nallow if {\n  input.x ==\n}\n").unwrap_err().to_string();
        assert!(e.contains("mine.rego:5") || e.contains("mine.rego:4"), "{e}");
        let e = Policy::parse("other.rego", "package other\nallow := true\n").unwrap_err().to_string();
        assert!(e.contains("package ras"), "{e}");
    }

    #[test]
    fn allow_must_be_a_boolean() {
        let p = Policy::parse("odd.rego", "package ras\nallow := \"yes\"\n").unwrap();
        assert!(matches!(p.evaluate(&json!({})), Err(PolicyError::Eval { .. })));
        let p = Policy::parse("none.rego", "package ras\n").unwrap();
        // An undefined `allow` is a policy error, not an accidental pass.
        assert!(p.evaluate(&json!({})).is_err() || !p.evaluate(&json!({})).unwrap().allow);
    }
}
