//! `rasctl secret get`: the workload's half of secret release. ras-verifier gives a nonce;
//! rasd signs evidence for this process over it that binds a fresh one-time key; ras-verifier
//! checks the evidence and answers with the secret as a JWE to that key, which only this
//! process can open, once.
//!
//! Every flag is checked before any traffic, so a typo costs no challenge. The HTTP side is
//! blocking (ureq): two requests in sequence need no runtime, and the local rasd call gets a
//! runtime of its own as in `rasctl evidence`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ras_evidence::jwe::Recipient;
use ras_proto::api::attestation::GetEvidence;
use ras_proto::Nonce;
use ring::rand::SecureRandom;
use serde::Deserialize;
use serde_json::json;

use crate::cli::{SecretCommand, SecretGetArgs};
use crate::client::{call, runtime};
use crate::failure::{refused, usage, Code, Failure};
use crate::output::{print_json, write_stdout};

/// Longest secret name; names are path segments of ras-verifier's API.
const MAX_NAME: usize = 128;
/// Bound on one response body from ras-verifier: a JWE of at most
/// [`ras_evidence::jwe::MAX_JWE`] in JSON, with room to spare, and no more.
const MAX_BODY: usize = 2 * 1024 * 1024;
/// Bound on the verifier's own words that rasctl repeats in a message.
const MAX_QUOTED: usize = 512;

pub fn run(socket: &Path, json: bool, c: SecretCommand) -> Result<(), Failure> {
    match c {
        SecretCommand::Get(a) => get(socket, json, a),
    }
}

fn get(socket: &Path, json: bool, a: SecretGetArgs) -> Result<(), Failure> {
    check_name(&a.name)?;
    let base = verifier_url(&a.verifier)?;
    let out = a.out.as_deref().filter(|p| *p != Path::new("-"));
    if let Some(path) = out {
        check_out(path)?;
    }
    let timeout = Duration::from_secs_f64(a.timeout);
    let verifier = Verifier::new(base, a.ca.as_deref(), timeout)?;

    let nonce = verifier.challenge()?;
    let recipient = Recipient::generate().map_err(|e| Failure::new(Code::Usage, anyhow!("one-time key: {e}")))?;
    let bind = ras_evidence::sha256_hex(&recipient.public_spki_der());
    let request = GetEvidence { nonce, container: None, bind: Some(bind) };
    let evidence = runtime()?
        .block_on(async { tokio::time::timeout(timeout, call(socket, &request)).await })
        .map_err(|_| {
            Failure::new(Code::Daemon, anyhow!("rasd at {} did not answer within {} s", socket.display(), a.timeout))
        })??
        .evidence;
    let jwe = verifier.release(&a.name, &evidence, &recipient.public_pem())?;
    let secret = recipient.decrypt(&jwe).map_err(|e| {
        Failure::new(
            Code::Daemon,
            anyhow!("ras-verifier at {}: the released secret {} does not open: {e}", verifier.base, a.name),
        )
    })?;

    match (out, json) {
        (Some(path), json) => {
            write_private(path, &secret)?;
            if json {
                print_json(&json!({ "name": a.name, "bytes": secret.len(), "out": path.display().to_string() }));
            } else {
                say!("secret {}: {} bytes written to {}", a.name, secret.len(), path.display());
            }
            Ok(())
        }
        (None, true) => {
            print_json(&json!({ "name": a.name, "value_base64": STANDARD.encode(&secret) }));
            Ok(())
        }
        (None, false) => write_stdout(&secret),
    }
}

/// NAME: 1 to [`MAX_NAME`] of `[A-Za-z0-9._-]`, and not `.` or `..`, which a URL would
/// resolve away (`/v1/secrets/../release` is another path).
fn check_name(name: &str) -> Result<(), Failure> {
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(usage(anyhow!("secret NAME {name:?}: 1 to {MAX_NAME} of A-Z a-z 0-9 . _ - (not . or ..)")))
    }
}

/// `--verifier`: an http or https URL with a host, to which `/v1/...` is appended; without
/// credentials (a command line is visible to every process), a query or a fragment. The
/// base is returned without a trailing slash.
fn verifier_url(text: &str) -> Result<String, Failure> {
    let bad = |why: &str| usage(anyhow!("--verifier {text:?}: {why}"));
    let url = url::Url::parse(text).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be http:// or https://"));
    }
    if url.host().is_none() {
        return Err(bad("names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment (requests go to URL/v1/...)"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// `--out` before anything is fetched: refuse a symbolic link (the secret would land
/// wherever it points), a directory or a special file, and a missing directory.
fn check_out(path: &Path) -> Result<(), Failure> {
    let bad = |why: String| usage(anyhow!("--out {}: {why}", path.display()));
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(bad("is a symbolic link; refusing to write through it".into()))
        }
        Ok(m) if !m.is_file() => return Err(bad("exists and is not a regular file".into())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bad(e.to_string())),
    }
    let (dir, _) = split_out(path).map_err(bad)?;
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(bad(format!("{} is not a directory", dir.display()))),
        Err(e) => Err(bad(format!("directory {}: {e}", dir.display()))),
    }
}

/// The directory and file name of `--out`.
fn split_out(path: &Path) -> Result<(PathBuf, &std::ffi::OsStr), String> {
    let name = path.file_name().ok_or_else(|| "names no file".to_string())?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

/// Writes the secret to `path` mode 0600: into a new file beside it, then renamed over it, so
/// a reader never sees half a secret and an existing file's mode or links are not inherited.
fn write_private(path: &Path, data: &[u8]) -> Result<(), Failure> {
    check_out(path)?;
    let (dir, name) = split_out(path).map_err(|why| usage(anyhow!("--out {}: {why}", path.display())))?;
    let mut suffix = [0u8; 8];
    ring::rand::SystemRandom::new().fill(&mut suffix).map_err(|_| usage(anyhow!("no randomness")))?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), hex::encode(suffix)));
    let written = write_then_rename(&tmp, path, &dir, data);
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(usage)
}

/// [`write_private`]'s steps, any of which may fail after `tmp` exists.
fn write_then_rename(tmp: &Path, path: &Path, dir: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;

    // create_new: never open a file (or a link) that someone else put at this name.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .with_context(|| format!("create {}", tmp.display()))?;
    f.write_all(data).and_then(|()| f.sync_all()).with_context(|| format!("write {}", tmp.display()))?;
    // A link made at the destination since the first check is replaced, not followed:
    // rename acts on the name. Checking again only makes the refusal say so.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        anyhow::bail!("{} became a symbolic link; refusing to replace it", path.display());
    }
    std::fs::rename(tmp, path).with_context(|| format!("rename {} to {}", tmp.display(), path.display()))?;
    // The rename is durable once the directory is.
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("sync {}", dir.display()))
}

/// ras-verifier over HTTP.
#[derive(Debug)]
struct Verifier {
    agent: ureq::Agent,
    /// The base URL, no trailing slash.
    base: String,
}

/// `GET /v1/challenge` → 200.
#[derive(Deserialize)]
struct ChallengeReply {
    /// Hex. (`expires` is ras-verifier's to enforce; the exchange is over within --timeout.)
    nonce: String,
}

/// `POST /v1/secrets/NAME/release` → 200.
#[derive(Deserialize)]
struct ReleaseReply {
    jwe: String,
}

/// Any error reply of ras-verifier.
#[derive(Deserialize)]
struct ErrorReply {
    error: String,
    #[serde(default)]
    check: Option<String>,
}

/// Which request an answer is to: a 404 means another thing for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Challenge,
    Release,
}

impl Verifier {
    /// An agent with the timeout, no redirects (the evidence goes to the verifier named, not
    /// wherever it points), and for https the roots of `--ca` or the built-in web roots.
    fn new(base: String, ca: Option<&Path>, timeout: Duration) -> Result<Verifier, Failure> {
        let mut builder = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .user_agent(concat!("rasctl/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = ca {
            if !base.starts_with("https://") {
                return Err(usage(anyhow!("--ca is for an https:// --verifier; {base} is not")));
            }
            builder = builder.tls_config(Arc::new(tls_roots(ca)?));
        }
        Ok(Verifier { agent: builder.build(), base })
    }

    /// A fresh nonce from ras-verifier, checked to be one rasd accepts.
    fn challenge(&self) -> Result<Nonce, Failure> {
        let url = format!("{}/v1/challenge", self.base);
        let body = self.exchange(Step::Challenge, "", &url, self.agent.get(&url).call())?;
        let reply: ChallengeReply = self.parse(&url, &body)?;
        Nonce::from_hex(&reply.nonce)
            .map_err(|e| self.protocol(&url, format!("the challenge's nonce is not one rasd takes: {e}")))
    }

    /// The JWE ras-verifier releases secret `name` as, for this evidence and key.
    fn release(&self, name: &str, evidence: &str, public_pem: &str) -> Result<String, Failure> {
        let url = format!("{}/v1/secrets/{name}/release", self.base);
        let request = json!({ "evidence": evidence, "public_key": public_pem }).to_string();
        let answer = self.agent.post(&url).set("Content-Type", "application/json").send_string(&request);
        let body = self.exchange(Step::Release, name, &url, answer)?;
        let reply: ReleaseReply = self.parse(&url, &body)?;
        Ok(reply.jwe)
    }

    /// The body of a 200 answer; any other answer, or none, as a failure.
    fn exchange(
        &self,
        step: Step,
        name: &str,
        url: &str,
        answer: Result<ureq::Response, ureq::Error>,
    ) -> Result<Vec<u8>, Failure> {
        let response = match answer {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            // ureq's message starts with the URL when it knows it.
            Err(ureq::Error::Transport(t)) if t.url().is_some() => {
                return Err(Failure::new(Code::Daemon, anyhow!("cannot reach ras-verifier at {t}")))
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(Failure::new(Code::Daemon, anyhow!("cannot reach ras-verifier at {url}: {t}")))
            }
        };
        let status = response.status();
        let body = read_bounded(response.into_reader(), MAX_BODY)
            .map_err(|e| self.protocol(url, format!("reading the answer (HTTP {status}): {e}")))?;
        if status == 200 {
            Ok(body)
        } else {
            Err(answer_failure(step, name, url, status, &body))
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self, url: &str, body: &[u8]) -> Result<T, Failure> {
        serde_json::from_slice(body)
            .map_err(|e| self.protocol(url, format!("the answer is not the JSON expected: {e}")))
    }

    fn protocol(&self, url: &str, why: String) -> Failure {
        Failure::new(Code::Daemon, anyhow!("ras-verifier at {url}: {why}"))
    }
}

/// Reads at most `max` bytes; more is an error, not a truncation.
fn read_bounded(reader: impl Read, max: usize) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    reader.take(max as u64 + 1).read_to_end(&mut body)?;
    if body.len() > max {
        return Err(std::io::Error::other(format!("longer than {max} bytes")));
    }
    Ok(body)
}

/// What a non-200 answer of ras-verifier means for the exit code: 403 is a refusal (the
/// evidence failed a check, or the policy denied this workload) and a 404 of the release is a
/// name it does not have, both exit 1; anything else, a 400 (this rasctl and that verifier
/// disagree on the protocol), a 404 of the challenge (not a ras-verifier), 409, 429, 5xx or a
/// redirect, is exit 3: the release did not happen, rather than was denied.
fn answer_failure(step: Step, name: &str, url: &str, status: u16, body: &[u8]) -> Failure {
    let (error, check) = match serde_json::from_slice::<ErrorReply>(body) {
        Ok(e) => (quoted(&e.error), e.check.as_deref().map(quoted)),
        Err(_) if body.is_empty() => ("no reason given".to_string(), None),
        Err(_) => (quoted(&String::from_utf8_lossy(body)), None),
    };
    match (status, step) {
        (403, _) => {
            let check = check.map(|c| format!(" (failed check: {c})")).unwrap_or_default();
            refused(anyhow!("ras-verifier refused secret {name}: {error}{check}"))
        }
        (404, Step::Release) => refused(anyhow!("no secret named {name} at ras-verifier {url}: {error}")),
        (404, Step::Challenge) => {
            Failure::new(Code::Daemon, anyhow!("{url}: HTTP 404 ({error}): is --verifier the base URL of a ras-verifier?"))
        }
        (400, _) => Failure::new(Code::Daemon, anyhow!("ras-verifier at {url} rejected the request (HTTP 400): {error}")),
        (300..=399, _) => {
            Failure::new(Code::Daemon, anyhow!("ras-verifier at {url} redirected (HTTP {status}); redirects are not followed: give --verifier the final URL"))
        }
        _ => Failure::new(Code::Daemon, anyhow!("ras-verifier at {url} answered HTTP {status}: {error}")),
    }
}

/// The verifier's text, fit for a terminal and a log line: control characters escaped,
/// at most [`MAX_QUOTED`] characters.
fn quoted(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.trim().chars().enumerate() {
        if i == MAX_QUOTED {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The roots of `--ca`: every PEM certificate in FILE.
fn tls_roots(path: &Path) -> Result<ureq::rustls::ClientConfig, Failure> {
    use ureq::rustls;

    let bad = |why: String| usage(anyhow!("--ca {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let ders = ras_evidence::pem::parse_label(&text, "CERTIFICATE").map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for (i, der) in ders.into_iter().enumerate() {
        roots
            .add(rustls::pki_types::CertificateDer::from(der))
            .map_err(|e| bad(format!("certificate {}: {e}", i + 1)))?;
    }
    // The ring provider explicitly, as ureq itself does: no process-wide default to rely on.
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    #[test]
    fn names() {
        for good in ["db", "db-password", "tls.key", "A_b-9.x", &"n".repeat(MAX_NAME), "..."] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", "a%2f", &"n".repeat(MAX_NAME + 1), "a?b", "a#b"] {
            let f = check_name(bad).unwrap_err();
            assert_eq!(f.code, Code::Usage, "{bad}");
            assert!(f.error.to_string().contains("secret NAME"), "{}", f.error);
        }
    }

    #[test]
    fn verifier_urls() {
        assert_eq!(verifier_url("https://verifier.example").unwrap(), "https://verifier.example");
        assert_eq!(verifier_url("https://verifier.example/").unwrap(), "https://verifier.example");
        assert_eq!(verifier_url("http://127.0.0.1:8080/ras/").unwrap(), "http://127.0.0.1:8080/ras");
        assert_eq!(verifier_url("HTTP://[::1]:80").unwrap(), "http://[::1]");
        for bad in [
            "",
            "verifier.example",
            "ftp://verifier.example",
            "unix:/run/ras/rasd.sock",
            "tcp:host:7000",
            "http://",
            "https://user:pw@verifier.example",
            "https://verifier.example/?x=1",
            "https://verifier.example/#x",
            "file:///etc/passwd",
        ] {
            let f = verifier_url(bad).unwrap_err();
            assert_eq!(f.code, Code::Usage, "{bad}");
            assert!(f.error.to_string().starts_with("--verifier"), "{}", f.error);
        }
    }

    #[test]
    fn answers_map_to_exit_codes() {
        let url = "http://v/v1/secrets/db/release";
        let body = br#"{"error": "nonce was issued 400 s ago", "check": "freshness"}"#;
        let f = answer_failure(Step::Release, "db", url, 403, body);
        assert_eq!(f.code, Code::Attestation);
        assert_eq!(
            f.error.to_string(),
            "ras-verifier refused secret db: nonce was issued 400 s ago (failed check: freshness)"
        );
        let f = answer_failure(Step::Release, "db", url, 403, br#"{"error": "policy denied", "check": null}"#);
        assert_eq!(
            (f.code, f.error.to_string()),
            (Code::Attestation, "ras-verifier refused secret db: policy denied".into())
        );
        let f = answer_failure(Step::Release, "db", url, 404, br#"{"error": "unknown secret"}"#);
        assert_eq!(f.code, Code::Attestation);
        assert!(f.error.to_string().starts_with("no secret named db"), "{}", f.error);
        let f = answer_failure(Step::Challenge, "db", "http://v/v1/challenge", 404, b"Not Found");
        assert_eq!(f.code, Code::Daemon);
        assert!(f.error.to_string().contains("is --verifier the base URL"), "{}", f.error);
        for status in [400, 409, 429, 500, 502, 503, 301, 201] {
            let f = answer_failure(Step::Release, "db", url, status, br#"{"error": "x"}"#);
            assert_eq!(f.code, Code::Daemon, "{status}");
            assert!(f.error.to_string().contains(url), "{status}: {}", f.error);
        }
        // The verifier's text is quoted, not replayed: no terminal escapes, bounded.
        let f = answer_failure(Step::Release, "db", url, 500, format!("\u{1b}[2J{}", "x".repeat(5000)).as_bytes());
        let text = f.error.to_string();
        assert!(!text.contains('\u{1b}') && text.contains("\\u{1b}") && text.len() < 700, "{text}");
        let f = answer_failure(Step::Release, "db", url, 503, b"");
        assert!(f.error.to_string().contains("no reason given"), "{}", f.error);
    }

    /// A one-connection HTTP server on loopback that answers each request with the next of
    /// `answers` (status line, body); returns its base URL and the requests it read.
    fn serve(answers: Vec<(&'static str, Vec<u8>)>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, body) in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = std::io::BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut request_body = vec![0; length];
                reader.read_exact(&mut request_body).unwrap();
                seen.push(format!("{head}{}", String::from_utf8(request_body).unwrap()));
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
            seen
        });
        (base, handle)
    }

    fn verifier(base: &str) -> Verifier {
        Verifier::new(base.to_string(), None, Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn the_exchange_over_http() {
        let recipient = Recipient::generate().unwrap();
        let jwe = ras_evidence::jwe::encrypt(b"s3cret", &recipient.public_spki_der()).unwrap();
        let nonce = "ab".repeat(32);
        let (base, server) = serve(vec![
            ("200 OK", format!(r#"{{"nonce": "{nonce}", "expires": 1795624842}}"#).into_bytes()),
            ("200 OK", json!({ "jwe": jwe }).to_string().into_bytes()),
        ]);
        let v = verifier(&base);
        assert_eq!(v.challenge().unwrap().to_hex(), nonce);
        let pem = recipient.public_pem();
        let got = v.release("db", "EVIDENCE", &pem).unwrap();
        assert_eq!(recipient.decrypt(&got).unwrap(), b"s3cret");
        let seen = server.join().unwrap();
        assert!(seen[0].starts_with("GET /v1/challenge HTTP/1.1\r\n"), "{}", seen[0]);
        assert!(seen[1].starts_with("POST /v1/secrets/db/release HTTP/1.1\r\n"), "{}", seen[1]);
        let (_, sent) = seen[1].split_once("\r\n\r\n").unwrap();
        let sent: serde_json::Value = serde_json::from_str(sent).unwrap();
        assert_eq!(sent, json!({ "evidence": "EVIDENCE", "public_key": pem }));
    }

    #[test]
    fn refusals_and_bad_answers_over_http() {
        let (base, server) = serve(vec![
            ("403 Forbidden", br#"{"error": "evidence binds another key", "check": "freshness"}"#.to_vec()),
            ("404 Not Found", br#"{"error": "no such secret", "check": null}"#.to_vec()),
            ("200 OK", br#"{"nonce": "not hex"}"#.to_vec()),
            ("200 OK", b"<html>".to_vec()),
            ("302 Found", Vec::new()),
            ("200 OK", vec![b' '; MAX_BODY + 1]),
        ]);
        let v = verifier(&base);
        let f = v.release("db", "E", "K").unwrap_err();
        assert_eq!(f.code, Code::Attestation);
        assert_eq!(
            f.error.to_string(),
            "ras-verifier refused secret db: evidence binds another key (failed check: freshness)"
        );
        let f = v.release("db", "E", "K").unwrap_err();
        assert_eq!(f.code, Code::Attestation);
        assert!(f.error.to_string().starts_with("no secret named db"), "{}", f.error);
        for expected in ["not one rasd takes", "not the JSON expected", "redirects are not followed", "longer than"] {
            let f = v.challenge().unwrap_err();
            assert_eq!(f.code, Code::Daemon);
            assert!(format!("{:#}", f.error).contains(expected), "{expected}: {:#}", f.error);
        }
        server.join().unwrap();
    }

    #[test]
    fn unreachable_and_silent_verifiers_are_exit_3() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let f = verifier(&base).challenge().unwrap_err();
        assert_eq!(f.code, Code::Daemon);
        assert!(f.error.to_string().contains(&base), "{}", f.error);
        // Accepts, never answers.
        let mute = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", mute.local_addr().unwrap());
        let v = Verifier::new(base.clone(), None, Duration::from_millis(300)).unwrap();
        let started = std::time::Instant::now();
        let f = v.challenge().unwrap_err();
        assert_eq!(f.code, Code::Daemon);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        drop(mute);
    }

    #[test]
    fn ca_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let f = Verifier::new("https://v".into(), Some(&missing), Duration::from_secs(1)).unwrap_err();
        assert_eq!(f.code, Code::Usage);
        assert!(f.error.to_string().starts_with("--ca"), "{}", f.error);
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        assert_eq!(
            Verifier::new("https://v".into(), Some(&junk), Duration::from_secs(1)).unwrap_err().code,
            Code::Usage
        );
        let not_der = dir.path().join("bad.pem");
        std::fs::write(&not_der, ras_evidence::pem::encode("CERTIFICATE", b"nonsense")).unwrap();
        assert_eq!(
            Verifier::new("https://v".into(), Some(&not_der), Duration::from_secs(1)).unwrap_err().code,
            Code::Usage
        );
        let good = dir.path().join("ca.pem");
        let cert = self_signed();
        std::fs::write(&good, ras_evidence::pem::encode("CERTIFICATE", &cert)).unwrap();
        assert!(Verifier::new("https://v".into(), Some(&good), Duration::from_secs(1)).is_ok());
        // --ca with http:// is a mistake worth saying: nothing would be checked.
        let f = Verifier::new("http://v".into(), Some(&good), Duration::from_secs(1)).unwrap_err();
        assert_eq!(f.code, Code::Usage);
    }

    /// A self-signed certificate.
    fn self_signed() -> Vec<u8> {
        rcgen::generate_simple_self_signed(vec!["v".into()]).unwrap().cert.der().to_vec()
    }

    #[test]
    fn out_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        check_out(&path).unwrap();
        write_private(&path, b"one").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // Replaced whole; an existing file's wider mode is not kept.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
        // Never through a link, dangling or not.
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for f in [check_out(&link).unwrap_err(), write_private(&link, b"x").unwrap_err()] {
            assert_eq!(f.code, Code::Usage);
            assert!(f.error.to_string().contains("symbolic link"), "{}", f.error);
        }
        assert!(!target.exists());
        assert_eq!(check_out(dir.path()).unwrap_err().code, Code::Usage);
        assert_eq!(check_out(&dir.path().join("no/such/dir/secret")).unwrap_err().code, Code::Usage);
        assert_eq!(check_out(Path::new("/")).unwrap_err().code, Code::Usage);
    }
}
