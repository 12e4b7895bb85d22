//! The HTTP API (DESIGN §9): admin endpoints for targets and secrets behind a bearer token;
//! `GET /v1/challenge` and `POST /v1/secrets/{name}/release`, open because the evidence is
//! the credential; `/metrics` and `/healthz`. Every error is JSON `{"error", "check"}` with a
//! status that says whose fault it is: 400 malformed, 401 no or wrong token, 403 refused (the
//! evidence failed a check or the policy), 404 no such thing, 409 exists, 503 database down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use ras_evidence::{jws, Expectations, ExpectedSubject};
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::{info, warn};

use crate::app::App;
use crate::attest::{now_ms, parse_spec};
use crate::metrics::Outcome;
use crate::store::{StoreError, TargetSpec};

/// Largest request body (evidence with a TPM quote and runtime log fits easily).
pub const MAX_BODY: usize = 1 << 20;
/// Largest secret value.
pub const MAX_SECRET: usize = ras_evidence::jwe::MAX_PLAINTEXT;
/// Shortest and longest target interval, in seconds.
pub const INTERVAL_S: std::ops::RangeInclusive<u64> = 1..=7 * 86_400;
/// Rounds shown in a target's history.
const HISTORY_SHOWN: i64 = 20;

/// An error as a client sees it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    check: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError { status, error: error.into(), check: None }
    }
    fn bad(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, error)
    }
    fn refused(check: &str, error: impl Into<String>) -> Self {
        ApiError { status: StatusCode::FORBIDDEN, error: error.into(), check: Some(check.into()) }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Exists(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            StoreError::Full(_) => ApiError::new(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
            _ => {
                warn!("{e}");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the verifier's database failed; see its log")
            }
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        ApiError::new(e.status(), format!("request body: {} (at most {MAX_BODY} bytes)", e.body_text()))
    }
}

/// A JSON request body, whatever its Content-Type says (`curl -d` sends a form type).
fn json_body<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    serde_json::from_slice(&body?).map_err(|e| ApiError::bad(format!("request body: {e}")))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(json!({ "error": self.error, "check": self.check }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        r
    }
}

type Reply = Result<Response, ApiError>;

/// The router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/targets", post(add_target).get(list_targets))
        .route("/v1/targets/{name}", get(show_target).delete(delete_target))
        .route("/v1/challenge", get(challenge))
        .route("/v1/secrets/{name}", put(put_secret).delete(delete_secret))
        .route("/v1/secrets/{name}/release", post(release))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// The admin token must come as `Authorization: Bearer TOKEN`.
fn admin(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "admin endpoint: send Authorization: Bearer TOKEN (--admin-token-file)",
        ));
    };
    // Digests are compared, so the time taken says nothing about the token.
    let digest = ring::digest::digest(&ring::digest::SHA256, given.trim().as_bytes());
    if digest.as_ref() != app.admin_token_sha256 {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong admin token"));
    }
    Ok(())
}

/// Names of targets and secrets: what fits a URL path segment and a log line unquoted.
fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad(format!("{what} name {name:?}: 1 to 128 of A-Z a-z 0-9 . _ -")))
    }
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    match app.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            warn!("healthz: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer; see the verifier's log\n").into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    match app.store.state_counts().await {
        Ok(counts) => app.metrics.set_targets(&counts),
        Err(e) => warn!("metrics: targets by state: {e}"),
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], app.metrics.encode())
        .into_response()
}

/// `POST /v1/targets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTarget {
    name: String,
    connect: String,
    container: Option<String>,
    #[serde(rename = "type")]
    runtime: Option<String>,
    vm: Option<u32>,
    interval_s: u64,
    policy: Option<String>,
    reference: Option<String>,
}

impl NewTarget {
    fn into_spec(self) -> Result<TargetSpec, ApiError> {
        check_name("target", &self.name)?;
        self.connect.parse::<ras_proto::endpoint::Endpoint>().map_err(|e| ApiError::bad(format!("connect {e}")))?;
        if !INTERVAL_S.contains(&self.interval_s) {
            return Err(ApiError::bad(format!(
                "interval_s {}: from {} to {} seconds",
                self.interval_s,
                INTERVAL_S.start(),
                INTERVAL_S.end()
            )));
        }
        if let Some(c) = &self.container {
            check_name("container", c)?;
        }
        if self.runtime.is_some() && self.container.is_none() {
            return Err(ApiError::bad("type names a container runtime: give container too"));
        }
        if let Some(r) = &self.runtime {
            if !(1..=32).contains(&r.len()) || !r.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(ApiError::bad(format!("type {r:?}: a runtime name such as docker")));
            }
        }
        if self.container.is_some() && self.vm.is_some() {
            return Err(ApiError::bad("a target is a host, a container or a vm: not both container and vm"));
        }
        let spec = TargetSpec {
            name: self.name,
            connect: self.connect,
            container: self.container,
            runtime: self.runtime,
            vm: self.vm.map(i64::from),
            interval_ms: (self.interval_s * 1000) as i64,
            policy: self.policy,
            reference: self.reference,
        };
        parse_spec(&spec).map_err(ApiError::bad)?;
        Ok(spec)
    }
}

fn target_json(t: &crate::store::Target) -> Value {
    json!({
        "name": t.spec.name,
        "connect": t.spec.connect,
        "container": t.spec.container,
        "type": t.spec.runtime,
        "vm": t.spec.vm,
        "interval_s": t.spec.interval_ms / 1000,
        "policy": t.spec.policy.is_some(),
        "reference": t.spec.reference.is_some(),
        "state": t.state,
        "rounds": t.round,
        "last": t.last.as_ref().map(|a| json!({
            "time": a.time, "verdict": a.verdict, "failed_check": a.failed_check, "reason": a.reason,
        })),
    })
}

async fn add_target(State(app): State<Arc<App>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Reply {
    admin(&app, &headers)?;
    let spec = json_body::<NewTarget>(body)?.into_spec()?;
    app.store.add_target(&spec, now_ms(), app.max_targets).await?;
    info!("target {} added ({})", spec.name, spec.connect);
    app.wake.notify_one();
    let t =
        app.store.target(&spec.name).await?.ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "deleted meanwhile"))?;
    Ok((StatusCode::CREATED, Json(target_json(&t))).into_response())
}

async fn list_targets(State(app): State<Arc<App>>, headers: HeaderMap) -> Reply {
    admin(&app, &headers)?;
    let all = app.store.targets().await?;
    Ok(Json(json!({ "targets": all.iter().map(target_json).collect::<Vec<_>>() })).into_response())
}

async fn show_target(State(app): State<Arc<App>>, headers: HeaderMap, Path(name): Path<String>) -> Reply {
    admin(&app, &headers)?;
    let t = app
        .store
        .target(&name)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no target {name:?}")))?;
    let mut v = target_json(&t);
    v["history"] = json!(app.store.history(&name, HISTORY_SHOWN).await?);
    Ok(Json(v).into_response())
}

async fn delete_target(State(app): State<Arc<App>>, headers: HeaderMap, Path(name): Path<String>) -> Reply {
    admin(&app, &headers)?;
    if !app.store.delete_target(&name).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no target {name:?}")));
    }
    info!("target {name} deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn challenge(State(app): State<Arc<App>>) -> Reply {
    let expires = now_ms() + app.challenge_ttl.as_millis() as i64;
    let nonce = app.challenges.issue(expires);
    Ok(Json(json!({ "nonce": hex::encode(nonce), "expires": expires / 1000 })).into_response())
}

/// `PUT /v1/secrets/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSecret {
    value: String,
    policy: Option<String>,
}

async fn put_secret(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    admin(&app, &headers)?;
    check_name("secret", &name)?;
    let s: NewSecret = json_body(body)?;
    if s.value.len() > MAX_SECRET {
        return Err(ApiError::bad(format!("value: {} bytes, at most {MAX_SECRET}", s.value.len())));
    }
    if let Some(p) = &s.policy {
        ras_evidence::policy::Policy::parse(&format!("{name}.rego"), p).map_err(|e| ApiError::bad(e.to_string()))?;
    }
    let created = app.store.put_secret(&name, &s.value, s.policy.as_deref(), now_ms()).await?;
    info!("secret {name} {}", if created { "stored" } else { "replaced" });
    if s.policy.is_none() {
        warn!("secret {name} has no policy: the default policy releases it to any workload whose evidence passes");
    }
    Ok(if created { StatusCode::CREATED } else { StatusCode::OK }.into_response())
}

async fn delete_secret(State(app): State<Arc<App>>, headers: HeaderMap, Path(name): Path<String>) -> Reply {
    admin(&app, &headers)?;
    if !app.store.delete_secret(&name).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no secret {name:?}")));
    }
    info!("secret {name} deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/secrets/{name}/release`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    evidence: String,
    public_key: String,
}

async fn release(State(app): State<Arc<App>>, Path(name): Path<String>, body: Result<Bytes, BytesRejection>) -> Reply {
    let started = Instant::now();
    let result = release_checked(&app, &name, body).await;
    let outcome = match &result {
        Ok(_) => "released",
        Err(e) if e.status == StatusCode::FORBIDDEN => "refused",
        Err(e) if e.status == StatusCode::NOT_FOUND => "unknown-secret",
        Err(e) if e.status == StatusCode::BAD_REQUEST => "bad-request",
        Err(_) => "error",
    };
    app.metrics.releases.get_or_create(&Outcome { outcome: outcome.into() }).inc();
    app.metrics.release_seconds.observe(started.elapsed().as_secs_f64());
    if let Err(e) = &result {
        warn!("secret {name:?}: release {outcome}: {}", e.error);
    }
    result.map(|jwe| Json(json!({ "jwe": jwe })).into_response())
}

/// The release itself: the compact JWE of the secret, or why not.
async fn release_checked(app: &App, name: &str, body: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    check_name("secret", name).map_err(|e| ApiError::new(StatusCode::NOT_FOUND, e.error))?;
    let req: ReleaseRequest = json_body(body)?;
    let (value, policy) = app
        .store
        .secret(name)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no secret {name:?}")))?;
    let mut keys = ras_evidence::pem::parse_label(&req.public_key, "PUBLIC KEY")
        .map_err(|e| ApiError::bad(format!("public_key: {e}")))?;
    if keys.len() != 1 {
        return Err(ApiError::bad("public_key: exactly one PUBLIC KEY (a P-256 SubjectPublicKeyInfo in PEM)"));
    }
    let spki = keys.swap_remove(0);
    // The nonce is read from the evidence before it is verified: it is only looked up here;
    // the freshness check below compares it with the signed claims.
    let nonce = jws::parse(&req.evidence)
        .and_then(|p| p.claims())
        .ok()
        .and_then(|c| base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, c.eat_nonce).ok())
        .ok_or_else(|| ApiError::refused("chain", "evidence: not a ras evidence JWS with an eat_nonce"))?;
    let expires = app.challenges.check(&nonce, now_ms()).map_err(|e| ApiError::refused("freshness", e.to_string()))?;
    // Verification is CPU work that anyone may ask for: a bounded number at once, off the
    // runtime's threads, and before the challenge is marked used, so junk cannot burn a
    // workload's challenge.
    let _slot = app.release_slots.try_acquire().map_err(|_| {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "the verifier is busy with other releases; retry shortly")
    })?;
    let bind = ras_evidence::sha256_hex(&spki);
    let exp = app.checker.expectations(&nonce, ExpectedSubject::Any, None, None, Some(bind));
    let (evidence, secret) = (req.evidence, name.to_string());
    let verdict = tokio::task::spawn_blocking(move || {
        let policy = match policy {
            Some(text) => ras_evidence::policy::Policy::parse(&format!("{secret}.rego"), &text)?,
            None => ras_evidence::policy::Policy::builtin(),
        };
        Ok::<_, ras_evidence::policy::PolicyError>(ras_evidence::verify(
            &evidence,
            &Expectations { policy: Some(policy), ..exp },
        ))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("verification did not finish: {e}")))?
    .map_err(|e| {
        warn!("secret {name:?}: its stored policy does not load: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the secret's policy does not load; see the verifier's log")
    })?;
    if let Some((check, why)) = verdict.first_failure() {
        return Err(ApiError::refused(check.as_str(), why));
    }
    if !app.store.use_challenge(&hex::encode(&nonce), expires).await? {
        return Err(ApiError::refused("freshness", "this challenge was already answered (a replay); get a fresh one"));
    }
    let subject = verdict.claims.as_ref().map_or_else(String::new, |c| c.ras.subject.to_string());
    let jwe =
        ras_evidence::jwe::encrypt(value.as_bytes(), &spki).map_err(|e| ApiError::bad(format!("public_key: {e}")))?;
    info!("secret {name:?} released to {subject}");
    Ok(jwe)
}

/// How long a graceful stop waits for requests in flight.
pub const DRAIN: Duration = Duration::from_secs(5);
