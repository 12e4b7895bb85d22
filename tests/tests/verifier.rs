//! ras-verifier end to end: targets attested on their intervals through a real ras-bridge
//! (host and Docker container), state changes and webhooks, the API's refusals, secret
//! release (from inside real containers, and decrypted by an independent JOSE library), and
//! several replicas on a real PostgreSQL, one killed with `kill -9` mid-round.

use std::time::Duration;

use ras_tests::docker::{self, Container};
use ras_tests::verifier::{file, http, Verifier, Webhook};
use ras_tests::{is_root, nonce, text, unavailable, venv_python, Bridge, Rasd};
use serde_json::json;

/// A rasd (sim TEE) with a bridge, measuring `measured`, if given.
fn host(measured: Option<&str>) -> (Rasd, Bridge) {
    let mut flags = Bridge::RASD_FLAGS.to_vec();
    if let Some(m) = measured {
        flags.extend(["--measure-file", m]);
    }
    let rasd = Rasd::start(&flags);
    let bridge = Bridge::start(&rasd, &[]);
    (rasd, bridge)
}

#[test]
fn a_host_target_becomes_trusted_then_untrusted_when_a_measured_file_changes_and_the_webhook_hears_it() {
    let dir = tempfile::tempdir().unwrap();
    let measured = file(dir.path(), "app.conf", "mode = safe\n");
    let (rasd, bridge) = host(Some(measured.to_str().unwrap()));
    // Reference values recorded from evidence of the good state, as the bridge gets it (the
    // caller measured is then ras-bridge).
    let ev = dir.path().join("good.jws");
    let trust = rasd.trust_anchor();
    let got = ras_tests::rasctl(&[
        "attest",
        "--connect",
        &bridge.target(),
        "--trust",
        trust.to_str().unwrap(),
        "--allow-sim",
        "--out",
        ev.to_str().unwrap(),
    ]);
    assert_eq!(got.status.code(), Some(0), "{}", text(&got.stderr));
    let rec = rasd.rasctl(&["reference", "record", ev.to_str().unwrap()]);
    assert_eq!(rec.status.code(), Some(0), "{}", text(&rec.stderr));
    let reference = text(&rec.stdout);
    assert!(reference.contains("app.conf"), "the measured file is in the reference: {reference}");

    let hook = Webhook::start();
    let v = Verifier::start(&rasd.trust_anchor(), &["--webhook", &hook.url]);
    v.add_target(&json!({"name": "web-1", "connect": bridge.target(), "interval_s": 1, "reference": reference}));
    let t = v.wait_state("web-1", "trusted");
    assert_eq!(t["last"]["verdict"], "pass", "{t}");
    let change = hook.rx.recv_timeout(Duration::from_secs(30)).expect("webhook for pending -> trusted");
    assert_eq!(
        (change["target"].as_str(), change["from"].as_str(), change["to"].as_str()),
        (Some("web-1"), Some("pending"), Some("trusted"))
    );

    std::fs::write(&measured, "mode = debug\n").unwrap();
    let t = v.wait_state("web-1", "untrusted");
    assert_eq!(t["last"]["failed_check"], "reference", "{t}");
    assert!(t["last"]["reason"].as_str().unwrap().contains("app.conf"), "{t}");
    let change = hook.rx.recv_timeout(Duration::from_secs(30)).expect("webhook for trusted -> untrusted");
    assert_eq!((change["from"].as_str(), change["to"].as_str()), (Some("trusted"), Some("untrusted")), "{change}");
    assert_eq!(change["failed_check"], "reference");
    // History: newest first, every round once, each recorded by this replica.
    let history = t["history"].as_array().unwrap();
    let rounds: Vec<i64> = history.iter().map(|h| h["round"].as_i64().unwrap()).collect();
    assert!(rounds.windows(2).all(|w| w[0] == w[1] + 1), "{rounds:?}");
    let m = v.metrics();
    assert!(m.contains(r#"ras_verifier_attestations_total{outcome="untrusted",failed_check="reference"}"#), "{m}");
    assert!(m.contains(r#"ras_verifier_targets{state="untrusted"} 1"#), "{m}");
}

#[test]
fn a_container_target_is_trusted_and_unreachable_once_its_agent_is_stopped() {
    if !is_root() && unavailable("root (containers)") {
        return;
    }
    if !docker::available() {
        return;
    }
    let (rasd, bridge) = host(None);
    let c = Container::registered_agent(&rasd, &[]);
    let v = Verifier::start(&rasd.trust_anchor(), &["--timeout", "3", "--lease", "10"]);
    v.add_target(
        &json!({"name": "app", "connect": bridge.target(), "container": c.id, "type": "docker", "interval_s": 1}),
    );
    v.add_target(&json!({"name": "node", "connect": bridge.target(), "interval_s": 1}));
    v.wait_state("app", "trusted");
    v.wait_state("node", "trusted");
    c.kill();
    let t = v.wait_state("app", "unreachable");
    assert!(t["last"]["reason"].as_str().is_some_and(|r| !r.is_empty()), "the reason is given: {t}");
    assert_eq!(v.target("node")["state"], "trusted", "the host is not affected");
}

#[test]
fn the_api_refuses_bad_input_with_the_field_named_and_admin_calls_without_the_token() {
    let (rasd, bridge) = host(None);
    let v = Verifier::start(&rasd.trust_anchor(), &[]);
    let (s, r) = v.open("GET", "/v1/targets", None);
    assert_eq!(s, 401, "{r}");
    let (s, _) = http(&v.addr, "GET", "/v1/targets", Some("wrong-token-wrong-token"), None);
    assert_eq!(s, 401);
    let cases = [
        (json!({"name": "a b", "connect": bridge.target(), "interval_s": 5}), "target name"),
        (json!({"name": "a", "connect": "http://x", "interval_s": 5}), "connect"),
        (json!({"name": "a", "connect": bridge.target(), "interval_s": 0}), "interval_s"),
        (json!({"name": "a", "connect": bridge.target(), "interval_s": 5, "colour": 1}), "unknown field"),
        (
            json!({"name": "a", "connect": bridge.target(), "interval_s": 5, "policy": "package ras\nallow if {\n"}),
            "a.rego:",
        ),
        (json!({"name": "a", "connect": bridge.target(), "interval_s": 5, "reference": "nonsense"}), "line 1"),
    ];
    for (body, needle) in cases {
        let (s, r) = v.admin("POST", "/v1/targets", Some(&body));
        assert_eq!(s, 400, "{body}: {r}");
        assert!(r["error"].as_str().unwrap().contains(needle), "{body}: {r} should name {needle}");
    }
    let ok = json!({"name": "a", "connect": bridge.target(), "interval_s": 5});
    v.add_target(&ok);
    let (s, r) = v.admin("POST", "/v1/targets", Some(&ok));
    assert_eq!(s, 409, "{r}");
    let (s, r) = v.admin("GET", "/v1/targets", None);
    assert_eq!((s, r["targets"].as_array().map(Vec::len)), (200, Some(1)), "{r}");
    let (s, _) = v.admin("DELETE", "/v1/targets/a", None);
    assert_eq!(s, 204);
    let (s, _) = v.admin("GET", "/v1/targets/a", None);
    assert_eq!(s, 404);
    let (s, body) = ras_tests::verifier::raw_http(&v.addr, "GET", "/healthz", None, None);
    assert_eq!((s, body.as_str()), (200, "ok\n"));
}

#[test]
fn ras_verifier_refuses_to_start_on_a_non_loopback_address_without_tls() {
    let (rasd, _bridge) = host(None);
    let dir = tempfile::tempdir().unwrap();
    let token = file(dir.path(), "token", "0123456789abcdef0123\n");
    let out = std::process::Command::new(ras_tests::bin("ras-verifier"))
        .args(["--listen", "0.0.0.0:0", "--log", "stderr"])
        .arg("--trust")
        .arg(rasd.trust_anchor())
        .arg("--admin-token-file")
        .arg(&token)
        .arg("--state-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--tls-cert"), "{}", text(&out.stderr));
}

/// `rasctl evidence` from the host socket, bound to `key` (PEM), for `nonce`.
fn bound_evidence(rasd: &Rasd, nonce: &str, key: &std::path::Path) -> String {
    let out = rasd.rasctl(&["evidence", "--nonce", nonce, "--bind-key", key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

fn challenge(v: &Verifier) -> String {
    let (s, c) = v.open("GET", "/v1/challenge", None);
    assert_eq!(s, 200, "{c}");
    c["nonce"].as_str().unwrap().to_string()
}

/// A P-256 key made by jwcrypto: (private JWK JSON, public PEM path).
fn jwcrypto_key(py: &std::path::Path, dir: &std::path::Path, name: &str) -> (String, std::path::PathBuf) {
    let out = std::process::Command::new(py)
        .args(["-c", "from jwcrypto import jwk; k = jwk.JWK.generate(kty='EC', crv='P-256'); import sys; sys.stdout.write(k.export_private() + '\\n' + k.export_to_pem().decode())"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = text(&out.stdout);
    let (jwk, pem) = all.split_once('\n').unwrap();
    (jwk.to_string(), file(dir, name, pem))
}

#[test]
fn a_released_secret_is_a_jwe_that_jwcrypto_decrypts_and_replays_expiry_and_foreign_keys_are_refused() {
    let Some(py) = venv_python() else {
        unavailable("the test venv with jwcrypto (scripts/test makes it)");
        return;
    };
    let (rasd, _bridge) = host(None);
    let v = Verifier::start(&rasd.trust_anchor(), &["--challenge-ttl", "1"]);
    let (s, r) = v.admin("PUT", "/v1/secrets/db-password", Some(&json!({"value": "hunter2-äö"})));
    assert_eq!(s, 201, "{r}");
    let dir = tempfile::tempdir().unwrap();
    let (jwk, key) = jwcrypto_key(&py, dir.path(), "key.pem");

    let n = challenge(&v);
    let evidence = bound_evidence(&rasd, &n, &key);
    let body = json!({"evidence": evidence, "public_key": std::fs::read_to_string(&key).unwrap()});
    let (s, r) = v.open("POST", "/v1/secrets/db-password/release", Some(&body));
    assert_eq!(s, 200, "{r}\n{}", v.log());
    let jwe = r["jwe"].as_str().unwrap();
    let out = std::process::Command::new(&py)
        .args([
            "-c",
            "import sys, json; from jwcrypto import jwk, jwe; k = jwk.JWK.from_json(sys.argv[1]); t = jwe.JWE(); t.deserialize(sys.argv[2], key=k); h = json.loads(t.objects['protected']); assert (h['alg'], h['enc']) == ('ECDH-ES', 'A256GCM'), h; sys.stdout.buffer.write(t.payload)",
            &jwk,
            jwe,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "jwcrypto: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hunter2-äö");

    // The same evidence again: a replay.
    let (s, r) = v.open("POST", "/v1/secrets/db-password/release", Some(&body));
    assert_eq!((s, r["check"].as_str()), (403, Some("freshness")), "{r}");
    assert!(r["error"].as_str().unwrap().contains("replay"), "{r}");

    // Evidence bound to another key than the one posted.
    let (_, k1) = jwcrypto_key(&py, dir.path(), "k1.pem");
    let (_, k2) = jwcrypto_key(&py, dir.path(), "k2.pem");
    let n = challenge(&v);
    let evidence = bound_evidence(&rasd, &n, &k1);
    let body = json!({"evidence": evidence, "public_key": std::fs::read_to_string(&k2).unwrap()});
    let (s, r) = v.open("POST", "/v1/secrets/db-password/release", Some(&body));
    assert_eq!((s, r["check"].as_str()), (403, Some("freshness")), "{r}");
    assert!(r["error"].as_str().unwrap().contains("bind"), "{r}");

    // A nonce this verifier never issued.
    let evidence = bound_evidence(&rasd, &nonce(), &k1);
    let body = json!({"evidence": evidence, "public_key": std::fs::read_to_string(&k1).unwrap()});
    let (s, r) = v.open("POST", "/v1/secrets/db-password/release", Some(&body));
    assert_eq!((s, r["check"].as_str()), (403, Some("freshness")), "{r}");
    assert!(r["error"].as_str().unwrap().contains("not a challenge of this verifier"), "{r}");

    // An expired challenge (--challenge-ttl 1).
    let n = challenge(&v);
    let evidence = bound_evidence(&rasd, &n, &k1);
    std::thread::sleep(Duration::from_millis(1500));
    let body = json!({"evidence": evidence, "public_key": std::fs::read_to_string(&k1).unwrap()});
    let (s, r) = v.open("POST", "/v1/secrets/db-password/release", Some(&body));
    assert_eq!((s, r["check"].as_str()), (403, Some("freshness")), "{r}");
    assert!(r["error"].as_str().unwrap().contains("expired"), "{r}");

    // No such secret.
    let (s, _) = v.open("POST", "/v1/secrets/nope/release", Some(&body));
    assert_eq!(s, 404);
    let m = v.metrics();
    assert!(m.contains(r#"ras_verifier_releases_total{outcome="released"} 1"#), "{m}");
    assert!(m.contains(r#"ras_verifier_releases_total{outcome="refused"} 4"#), "{m}");
}

#[test]
fn a_secret_is_released_into_the_container_its_policy_names_and_to_no_other() {
    if !is_root() && unavailable("root (containers)") {
        return;
    }
    if !docker::available() {
        return;
    }
    let (rasd, _bridge) = host(None);
    let v = Verifier::start(&rasd.trust_anchor(), &[]);
    // Host networking, so that the workload reaches the verifier on loopback; rasd tells
    // containers apart by their pid namespace and cgroup, not by their network.
    let app = Container::run_with(&rasd, &["--network", "host"], &["sleep", "3600"]);
    let other = Container::run_with(&rasd, &["--network", "host"], &["sleep", "3600"]);
    rasd.add_container(&app.id);
    rasd.add_container(&other.id);
    let policy = format!(
        "package ras\nimport rego.v1\ndefault allow := false\n\
         allow if {{\n  every c in input.checks {{ c.status in {{\"pass\", \"skipped\"}} }}\n  \
         input.claims.ras.subject.kind == \"container\"\n  input.claims.ras.subject.id == \"{}\"\n}}\n\
         deny contains \"only the app container gets this secret\" if not allow\n",
        app.id
    );
    let (s, r) = v.admin("PUT", "/v1/secrets/db-key", Some(&json!({"value": "s3cr3t", "policy": policy})));
    assert_eq!(s, 201, "{r}");
    let (s, r) = v.admin(
        "PUT",
        "/v1/secrets/nobody",
        Some(&json!({"value": "x", "policy": "package ras\ndefault allow := false\n"})),
    );
    assert_eq!(s, 201, "{r}");

    let get = |c: &Container, name: &str| c.exec(&["rasctl", "secret", "get", name, "--verifier", &v.url()]);
    let out = get(&app, "db-key");
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stderr), v.log());
    assert_eq!(text(&out.stdout), "s3cr3t");

    let out = get(&other, "db-key");
    assert_eq!(out.status.code(), Some(1), "another container is refused: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("only the app container gets this secret"), "{}", text(&out.stderr));

    let out = get(&app, "nobody");
    assert_eq!(out.status.code(), Some(1), "a policy that denies: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("policy"), "{}", text(&out.stderr));
    assert!(v.log().contains(&format!("secret \"db-key\" released to container docker:{}", app.id)), "{}", v.log());
}

/// Targets per kind in the replica test: half answer, half are a tarpit that accepts and
/// never answers, so that each of those rounds holds its lease for the whole `--timeout`.
const HALF: usize = 8;

#[test]
fn two_replicas_share_a_postgresql_fleet_and_a_replica_killed_mid_round_loses_no_round() {
    if !ras_tests::postgres::available() {
        return;
    }
    let pg = ras_tests::postgres::Postgres::start();
    let (rasd, bridge) = host(None);
    let tarpit = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tarpit_addr = tarpit.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in tarpit.incoming().flatten() {
            held.push(s);
        }
    });
    let trust = rasd.trust_anchor();
    let url = pg.url();
    let flags = |name: &'static str| {
        ["--database", url.as_str(), "--replica", name, "--lease", "4", "--timeout", "1", "--concurrency", "4"].to_vec()
    };
    let mut a = Verifier::start(&trust, &flags("a"));
    let b = Verifier::start(&trust, &flags("b"));
    for i in 0..HALF {
        a.add_target(&json!({"name": format!("good-{i}"), "connect": bridge.target(), "interval_s": 1}));
        b.add_target(&json!({"name": format!("slow-{i}"), "connect": format!("tcp:{tarpit_addr}"), "interval_s": 1}));
    }
    let count = |sql: &str| pg.psql(sql).trim().parse::<i64>().unwrap_or_else(|_| panic!("{sql}"));
    // Both replicas work: each has recorded rounds.
    ras_tests::wait_for(Duration::from_secs(30), || count("SELECT COUNT(DISTINCT replica) FROM attestations") == 2)
        .unwrap_or_else(|| panic!("both replicas attest:\n{}\n{}", a.log(), b.log()));
    // Mid-round: a holds leases it will never release.
    ras_tests::wait_for(Duration::from_secs(30), || count("SELECT COUNT(*) FROM targets WHERE lease_owner = 'a'") > 0)
        .expect("replica a holds leases");
    a.kill9();
    let orphaned: Vec<(String, i64)> = pg
        .psql("SELECT name || ' ' || round FROM targets WHERE lease_owner = 'a' ORDER BY name")
        .lines()
        .filter_map(|l| l.trim().split_once(' ').map(|(n, r)| (n.to_string(), r.parse().unwrap())))
        .collect();
    assert!(!orphaned.is_empty(), "a was killed while it held leases");
    let killed_at = count("SELECT MAX(time) FROM attestations WHERE replica = 'a'");
    // Every target goes on being attested, by b: three more rounds each.
    let rounds = |name: &str| count(&format!("SELECT round FROM targets WHERE name = '{name}'"));
    let before: Vec<(String, i64)> =
        (0..HALF).flat_map(|i| [format!("good-{i}"), format!("slow-{i}")]).map(|n| (n.clone(), rounds(&n))).collect();
    ras_tests::wait_for(Duration::from_secs(60), || before.iter().all(|(n, r)| rounds(n) >= r + 3))
        .unwrap_or_else(|| panic!("every target is attested after a died:\n{}", b.log()));
    // The round a held when it died was attested by b, once.
    for (name, round) in &orphaned {
        let by =
            pg.psql(&format!("SELECT replica FROM attestations WHERE target = '{name}' AND round = {}", round + 1));
        assert_eq!(by.trim(), "b", "{name} round {} (a's lease when it died)", round + 1);
    }
    // No round is missing and none is recorded twice: for every target, its rounds are
    // exactly 1..=round.
    let gaps = count(
        "SELECT COUNT(*) FROM targets t WHERE t.round <> (SELECT COUNT(DISTINCT round) FROM attestations a WHERE a.target = t.name) \
         OR t.round <> (SELECT MAX(round) FROM attestations a WHERE a.target = t.name)",
    );
    assert_eq!(gaps, 0, "{}", pg.psql("SELECT target, round, replica FROM attestations ORDER BY target, round"));
    assert_eq!(count(&format!("SELECT COUNT(*) FROM attestations WHERE replica = 'a' AND time > {killed_at}")), 0);
    assert!(!b.log().contains("not recorded"), "no replica tried to record a round twice:\n{}", b.log());
    // Leases keep replicas off each other's targets: none attested a round another held
    // (fencing would discard it, but the round would have been attested twice).
    assert!(b.metrics().contains("ras_verifier_fenced_total 0\n"), "{}", b.metrics());
    let states = pg.psql("SELECT DISTINCT state FROM targets WHERE name LIKE 'slow-%'");
    assert_eq!(states.trim(), "unreachable");
    assert_eq!(pg.psql("SELECT DISTINCT state FROM targets WHERE name LIKE 'good-%'").trim(), "trusted");
}

#[test]
fn over_tls_a_secret_is_released_to_a_client_that_checks_the_verifiers_certificate() {
    let (rasd, _bridge) = host(None);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args([
            "-subj",
            "/CN=ras-verifier test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (scripts/test installs it)");
    assert!(made.status.success(), "{}", text(&made.stderr));
    let v = Verifier::start(
        &rasd.trust_anchor(),
        &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()],
    );
    assert!(v.log().contains(" serving https://"), "{}", v.log());
    // Nothing in the clear: plain HTTP gets no HTTP answer.
    let (s, _) = ras_tests::verifier::raw_http_tls_refused(&v.addr);
    assert!(s, "plain HTTP to a TLS listener gets no HTTP answer");
    let url = format!("https://{}", v.addr);
    let get = |extra: &[&str]| {
        let mut args = vec!["secret", "get", "tls-secret", "--verifier", &url];
        args.extend_from_slice(extra);
        rasd.rasctl(&args)
    };
    let out = get(&[]);
    assert_eq!(out.status.code(), Some(3), "an unknown certificate is refused: {}", text(&out.stderr));
    let out = get(&["--ca", cert.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "trusted, and no such secret yet: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no secret named tls-secret"), "{}", text(&out.stderr));
}
