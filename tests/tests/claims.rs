//! One black-box test per README claim that had none: `container remove`, exit code 3 for an
//! unreachable daemon, ras-bridge's `--max-connections` and `--request-timeout`, and the
//! `openat2(RESOLVE_IN_ROOT)` confinement of measured paths.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ras_tests::docker::{self, Container};
use ras_tests::{nonce, text, wait_for, Bridge, Rasd};
use serde_json::{json, Value};

fn call(stream: &mut TcpStream, method: &str, params: Value) -> Value {
    let mut m = serde_json::to_vec(&json!({ "method": method, "parameters": params })).unwrap();
    m.push(0);
    stream.write_all(&m).unwrap();
    read_reply(stream)
}

fn read_reply(stream: &mut TcpStream) -> Value {
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    while buf.last() != Some(&0) {
        let n = stream.read(&mut b).expect("a reply within the read timeout");
        assert!(n > 0, "closed before a reply");
        buf.extend_from_slice(&b[..n]);
    }
    serde_json::from_slice(&buf[..buf.len() - 1]).unwrap()
}

fn tcp(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s
}

#[test]
fn an_unreachable_daemon_is_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("rasd.sock");
    for args in [&["status"][..], &["evidence", "--nonce", "00112233445566778899"][..]] {
        let out = ras_tests::rasctl(&[&["--socket", missing.to_str().unwrap()][..], args].concat());
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out.stderr));
    }
}

#[test]
fn container_remove_forgets_the_registration() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(&[]);
    let a = Container::registered_agent(&r, &[]);
    let out = r.rasctl(&["container", "remove", &a.id[..12], "--type", "docker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(r.containers().is_empty());
    let out = r.attest(&["--container", &a.id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("UnknownContainer"), "{}", text(&out.stderr));
    // Removing it again names the problem.
    let out = r.rasctl(&["container", "remove", &a.id, "--type", "docker"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("no such registration"), "{}", text(&out.stderr));
}

#[test]
fn the_bridge_keeps_its_connection_bound() {
    let r = Rasd::start(Bridge::RASD_FLAGS);
    let b = Bridge::start(&r, &["--max-connections", "2"]);
    let mut one = tcp(&b.addr);
    let _two = tcp(&b.addr);
    assert!(call(&mut one, "org.varlink.service.GetInfo", json!({}))["error"].is_null());
    std::thread::sleep(Duration::from_millis(200));
    let mut third = tcp(&b.addr);
    let v = read_reply(&mut third);
    assert_eq!(v["error"], "io.ras.Remote.Unavailable", "{v}");
    assert!(v["parameters"]["reason"].as_str().unwrap_or_default().contains("too many connections"), "{v}");
    // A slot given back is usable again.
    drop(one);
    wait_for(Duration::from_secs(5), || {
        let mut s = tcp(&b.addr);
        call(&mut s, "org.varlink.service.GetInfo", json!({}))["error"].is_null()
    })
    .expect("a freed slot is reused");
}

#[test]
fn the_bridge_answers_request_timeout_when_rasd_is_slow() {
    if !ras_tests::is_root() && !ras_tests::unavailable("root (fake containers)") {
        return;
    }
    // A fake container whose agent is frozen: rasd waits 10 s for it; the bridge gives up at 1 s.
    let docker = ras_tests::fake::FakeDocker::start();
    let f = docker.flags();
    let flags = [Bridge::RASD_FLAGS, &["--auto-register", "--challenge-timeout", "10000", &f[0], &f[1]]].concat();
    let r = Rasd::start(&flags);
    let b = Bridge::start(&r, &["--request-timeout", "1"]);
    let mut c = ras_tests::fake::FakeCgroup::new();
    let agent =
        format!("exec {} --socket {} agent", ras_tests::bin("rasctl").display(), r.container_socket().display());
    let init = c.start_init_with(&docker, "slow", &agent);
    r.wait_agent(&c.id);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(init as i32), nix::sys::signal::Signal::SIGSTOP).unwrap();
    let mut s = tcp(&b.addr);
    let started = std::time::Instant::now();
    let v =
        call(&mut s, "io.ras.Remote.Challenge", json!({"nonce": nonce(), "container": {"id": c.id, "type": "docker"}}));
    let took = started.elapsed();
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(init as i32), nix::sys::signal::Signal::SIGCONT);
    assert_eq!(v["error"], "io.ras.Remote.RequestTimeout", "{v}");
    assert_eq!(v["parameters"]["timeout_ms"], 1000, "{v}");
    assert!(took < Duration::from_secs(8), "the bridge waited for rasd's own deadline: {took:?}");
    // The connection stays usable, and its next reply answers its own call.
    let v = call(&mut s, "org.varlink.service.GetInfo", json!({}));
    assert_eq!(v["parameters"]["product"], "ras-bridge", "{v}");
}

/// A container makes a measured path a symlink that climbs out of its root, and another
/// with `..`: rasd resolves both inside the container's root (openat2 RESOLVE_IN_ROOT), so the
/// host file is never what is measured.
#[test]
fn measured_paths_cannot_escape_the_containers_root() {
    if !docker::available() {
        return;
    }
    let host = tempfile::tempdir().unwrap();
    let secret = host.path().join("host-only");
    std::fs::write(&secret, b"host file\n").unwrap();
    let link = "/etc/ras-escape";
    let dots = format!("/../../../../..{}", secret.display());
    let r = Rasd::start(&["--measure-file", link, "--measure-file", &dots]);
    let climb = format!("../../../../../../..{}", secret.display());
    let a = Container::run(&r, &["sh", "-c", &format!("ln -s {climb} {link} && exec rasctl agent")]);
    r.add_container(&a.id);
    r.wait_agent(&a.id);
    let out = r.attest(&["--json", "--container", &a.id]);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}{}", text(&out.stdout), text(&out.stderr)));
    let host_digest = ras_tests::sha256_hex(b"host file\n");
    let ms = v["claims"]["ras"]["measurements"].as_array().cloned().unwrap_or_default();
    assert_eq!(ms.len(), 2, "{v}");
    for m in ms {
        assert_ne!(m["sha256"], host_digest.as_str(), "a host file was measured as the container's: {m}");
        assert!(m["error"].is_string(), "the path resolves to nothing inside the container: {m}");
    }
}
