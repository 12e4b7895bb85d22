//! ras-bridge over real TCP loopback: remote host and container attestation, the refusals a
//! verifier must make, the methods the bridge must not serve, hostile remote input, and a
//! rasd restart under a running bridge.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ras_tests::docker::{self, Container};
use ras_tests::{nonce, text, Bridge, Rasd};
use serde_json::json;

fn attest(b: &Bridge, trust: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let target = b.target();
    let base = ["attest", "--connect", target.as_str(), "--trust", trust.to_str().unwrap(), "--allow-sim"];
    ras_tests::rasctl(&[&base[..], extra].concat())
}

/// A raw varlink client over TCP.
struct Tcp(TcpStream);

impl Tcp {
    fn connect(addr: &str) -> Tcp {
        let s = TcpStream::connect(addr).expect("connect bridge");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Tcp(s)
    }

    fn send(&mut self, b: &[u8]) {
        self.0.write_all(b).unwrap();
    }

    fn recv(&mut self) -> serde_json::Value {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            assert_eq!(self.0.read(&mut byte).unwrap(), 1, "connection closed");
            if byte[0] == 0 {
                return serde_json::from_slice(&buf).unwrap();
            }
            buf.push(byte[0]);
        }
    }

    fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let mut m = serde_json::to_vec(&json!({ "method": method, "parameters": params })).unwrap();
        m.push(0);
        self.send(&m);
        self.recv()
    }
}

#[test]
fn host_attestation_over_tcp_and_its_refusals() {
    let r = Rasd::start(Bridge::RASD_FLAGS);
    let b = Bridge::start(&r, &[]);
    let trust = r.trust_anchor();
    let out = attest(&b, &trust, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}\n{}", text(&out.stdout), r.log(), b.log());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["claims"]["ras"]["subject"]["kind"], "host");

    // A foreign trust anchor.
    let other = Rasd::start(&[]);
    let out = attest(&b, &other.trust_anchor(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("FAIL (chain:"), "{}", text(&out.stdout));

    // A wrong container id and an unknown container.
    for id in ["not-a-container", &"ab".repeat(32)] {
        let out = attest(&b, &trust, &["--container", id]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("io.ras.Remote.UnknownContainer"), "{}", text(&out.stderr));
    }
    assert!(r.log().contains("peer=\"tcp:127.0.0.1:"), "rasd logs the remote peer the bridge saw");
}

#[test]
fn host_evidence_offered_for_a_container_challenge_is_refused() {
    // A rogue front door that answers every challenge with host evidence for the same nonce.
    let r = Rasd::start(&[]);
    let trust = r.trust_anchor();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let sock = r.socket();
    let rogue = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut remote = Tcp(s);
        let req = remote.recv();
        let mut upstream = ras_tests::Raw::connect(&sock);
        let nonce = req["parameters"]["nonce"].clone();
        let host = upstream.call("io.ras.Remote.Challenge", json!({ "nonce": nonce }));
        let mut m = serde_json::to_vec(&host).unwrap();
        m.push(0);
        remote.send(&m);
    });
    let target = format!("tcp:{addr}");
    let out = ras_tests::rasctl(&[
        "--json",
        "attest",
        "--connect",
        &target,
        "--container",
        &"cd".repeat(32),
        "--trust",
        trust.to_str().unwrap(),
        "--allow-sim",
    ]);
    rogue.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed_check"], "subject", "{v}");
}

#[test]
fn admin_and_agent_methods_over_tcp_get_errors_and_the_connection_stays() {
    let r = Rasd::start(Bridge::RASD_FLAGS);
    let b = Bridge::start(&r, &[]);
    let mut c = Tcp::connect(&b.addr);
    for m in
        ["io.ras.Admin.GetStatus", "io.ras.Admin.AddContainer", "io.ras.Agent.Serve", "io.ras.Attestation.GetEvidence"]
    {
        let v = c.call(m, json!({}));
        assert_eq!(v["error"], "org.varlink.service.InterfaceNotFound", "{m}: {v}");
    }
    let v = c.call("io.ras.Remote.Nope", json!({}));
    assert_eq!(v["error"], "org.varlink.service.MethodNotFound");
    let info = c.call("org.varlink.service.GetInfo", json!({}));
    assert_eq!(info["parameters"]["interfaces"], json!(["org.varlink.service", "io.ras.Protocol", "io.ras.Remote"]));
    let d = c.call("org.varlink.service.GetInterfaceDescription", json!({"interface": "io.ras.Admin"}));
    assert_eq!(d["error"], "org.varlink.service.InterfaceNotFound");
    let v = c.call("io.ras.Remote.Challenge", json!({"nonce": nonce()}));
    assert!(v["parameters"]["evidence"].is_string(), "{v}");
    // The bridge sets the peer itself; a peer's own claim is replaced, not believed.
    let v = c.call("io.ras.Remote.Challenge", json!({"nonce": nonce(), "peer": "spoofed"}));
    assert!(v["parameters"]["evidence"].is_string(), "{v}");
    assert!(!r.log().contains("spoofed"), "{}", r.log());
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap().split_whitespace().next().unwrap().parse().unwrap()
}

/// A connection from another loopback address (127.0.0.2), so per-source bounds that would
/// apply to the attacker do not touch the well-behaved client on 127.0.0.1.
fn from_attacker(addr: &str) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&"127.0.0.2:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    sock.connect(&addr.parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

#[test]
fn hostile_remote_input_never_stops_service() {
    let r = Rasd::start(Bridge::RASD_FLAGS);
    let b = Bridge::start(&r, &["--idle-timeout", "3", "--max-connections", "700", "--max-per-source", "600"]);
    let trust = r.trust_anchor();
    let rss_before = rss_kib(b.pid());

    // An oversized message, then garbage, on one connection: errors, and the connection stays.
    let mut c = Tcp::connect(&b.addr);
    let mut big = vec![b' '; 64 * 1024 + 1];
    big.push(0);
    c.send(&big);
    assert_eq!(c.recv()["error"], "io.ras.Protocol.MessageTooLarge");
    c.send(b"\xff\xfe garbage \x00");
    assert_eq!(c.recv()["error"], "io.ras.Protocol.MalformedMessage");
    assert!(c.call("org.varlink.service.GetInfo", json!({}))["parameters"]["product"] == "ras-bridge");

    // 500 idle connections and a slowloris sender.
    let idle: Vec<TcpStream> = (0..500).map(|_| from_attacker(&b.addr)).collect();
    let mut slow = TcpStream::connect(&b.addr).unwrap();
    let slow_writer = std::thread::spawn(move || {
        for byte in b"{\"method\":\"org.varlink.service.GetInfo\"".iter().cycle().take(100) {
            if slow.write_all(&[*byte]).is_err() {
                return true; // the bridge closed it
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    });

    // A well-behaved client is served meanwhile, promptly.
    let started = Instant::now();
    let out = attest(&b, &trust, &[]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), b.log());
    eprintln!("well-behaved client under attack: attest took {took:?}");
    assert!(took < Duration::from_secs(5), "starved for {took:?}");

    let rss_during = rss_kib(b.pid());
    eprintln!("bridge RSS: {rss_before} KiB before, {rss_during} KiB with 500 idle connections");
    assert!(rss_during < 128 * 1024, "bridge memory grew to {rss_during} KiB");

    assert!(slow_writer.join().unwrap(), "the slowloris sender was never cut off");
    // Idle connections are closed after the idle timeout.
    let mut first = idle.into_iter().next().unwrap();
    first.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ras_tests::expect_closed(&mut first, "an idle remote connection");
}

#[test]
fn per_source_limit_refuses_with_an_error() {
    let r = Rasd::start(Bridge::RASD_FLAGS);
    let b = Bridge::start(&r, &["--max-per-source", "2"]);
    let _a = Tcp::connect(&b.addr);
    let _b = Tcp::connect(&b.addr);
    // Let the bridge account for the first two before the third arrives.
    std::thread::sleep(Duration::from_millis(200));
    let mut third = Tcp::connect(&b.addr);
    let v = third.recv();
    assert_eq!(v["error"], "io.ras.Remote.Unavailable", "{v}");
}

#[test]
fn rasd_restarts_under_a_running_bridge() {
    let mut r = Rasd::start(Bridge::RASD_FLAGS);
    let b = Bridge::start(&r, &[]);
    let trust = r.trust_anchor();
    let mut c = Tcp::connect(&b.addr);
    assert!(c.call("io.ras.Remote.Challenge", json!({"nonce": nonce()}))["parameters"]["evidence"].is_string());
    r.stop();
    let v = c.call("io.ras.Remote.Challenge", json!({"nonce": nonce()}));
    assert_eq!(v["error"], "io.ras.Remote.Unavailable", "{v}");
    // The bridge names the real cause, and rasctl calls it unreachable (3), not failed (1).
    assert!(v["parameters"]["reason"].as_str().unwrap().contains("cannot reach rasd at"), "{v}");
    let out =
        ras_tests::rasctl(&["attest", "--connect", &b.target(), "--trust", trust.to_str().unwrap(), "--allow-sim"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ras-bridge: io.ras.Remote.Unavailable"), "{}", text(&out.stderr));
    r.restart();
    // Same bridge process, same connection, and new ones too.
    let v = c.call("io.ras.Remote.Challenge", json!({"nonce": nonce()}));
    assert!(v["parameters"]["evidence"].is_string(), "{v}\n{}", b.log());
    let out = attest(&b, &trust, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn container_attestation_over_tcp() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(Bridge::RASD_FLAGS);
    let b = Bridge::start(&r, &[]);
    let a = Container::registered_agent(&r, &[]);
    let trust = r.trust_anchor();
    let out = attest(&b, &trust, &["--json", "--container", &a.id, "--type", "docker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["claims"]["ras"]["subject"]["id"], a.id.as_str());
    // Another container's id never passes for this one.
    let other = Container::sleeper(&r);
    r.add_container(&other.id);
    let out = attest(&b, &trust, &["--container", &other.id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("NoAgent"), "{}", text(&out.stderr));
}

/// vsock runs only where a `VMADDR_CID_LOCAL` (CID 1) bind works; nothing here ever connects
/// to any other CID. This machine kind has no vsock loopback, so the test reports a skip
/// there even in CI: the transport is missing, not an install step. The bridge logic itself
/// is the same generic code the TCP tests cover.
#[test]
fn vsock_local_attestation_when_the_kernel_has_loopback() {
    let r = Rasd::start(Bridge::RASD_FLAGS);
    let port = 20000 + (std::process::id() % 20000);
    let listen = format!("vsock:1:{port}");
    let mut child = ras_tests::Reaped(
        std::process::Command::new(ras_tests::bin("ras-bridge"))
            .args(["--listen", &listen, "--daemon", r.socket().to_str().unwrap()])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    if let Some(status) = child.try_wait().unwrap() {
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        assert!(!status.success());
        assert!(err.contains("bind vsock:1:"), "bridge failed for another reason: {err}");
        ras_tests::allowed_skip("vsock", &format!("a VMADDR_CID_LOCAL transport ({})", err.trim()));
        return;
    }
    let trust = r.trust_anchor();
    let target = format!("vsock:1:{port}");
    let out = ras_tests::rasctl(&["attest", "--connect", &target, "--trust", trust.to_str().unwrap(), "--allow-sim"]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn on_sigterm_the_bridge_lets_a_forwarded_call_finish() {
    if !ras_tests::is_root() && !ras_tests::unavailable("root (cgroups and namespaces)") {
        return;
    }
    let docker = ras_tests::fake::FakeDocker::start();
    let f = docker.flags();
    let flags = [Bridge::RASD_FLAGS, &["--auto-register", "--challenge-timeout", "2000", &f[0], &f[1]]].concat();
    let r = Rasd::start(&flags);
    let b = Bridge::start(&r, &[]);
    // A (fake) container with a frozen agent: the forwarded challenge waits for rasd's deadline.
    let mut c = ras_tests::fake::FakeCgroup::new();
    let agent =
        format!("exec {} --socket {} agent", ras_tests::bin("rasctl").display(), r.container_socket().display());
    let init = c.start_init_with(&docker, "fake", &agent);
    r.wait_agent(&c.id);
    let stop = nix::sys::signal::Signal::SIGSTOP;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(init as i32), stop).unwrap();
    let addr = b.addr.clone();
    let id = c.id.clone();
    let call = std::thread::spawn(move || {
        Tcp::connect(&addr)
            .call("io.ras.Remote.Challenge", json!({"nonce": nonce(), "container": {"id": id, "type": "docker"}}))
    });
    std::thread::sleep(Duration::from_millis(500));
    let term = nix::sys::signal::Signal::SIGTERM;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(b.pid() as i32), term).unwrap();
    let v = call.join().unwrap();
    assert_eq!(v["error"], "io.ras.Remote.AgentTimeout", "{v}\n{}", b.log());
    // And then the bridge exits, cleanly, within its drain bound.
    let mut b = b;
    let status =
        b.wait_exit(Duration::from_secs(6)).unwrap_or_else(|| panic!("the bridge ignored SIGTERM:\n{}", b.log()));
    assert!(status.success(), "the bridge exited with {status}");
    let cont = nix::sys::signal::Signal::SIGCONT;
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(init as i32), cont);
}

#[test]
fn attest_takes_many_targets_concurrently() {
    let r = Rasd::start(Bridge::RASD_FLAGS);
    let b = Bridge::start(&r, &[]);
    let other = Rasd::start(&[]);
    let trust = r.trust_anchor();
    let unix = format!("unix:{}", r.socket().display());
    let foreign = format!("unix:{}", other.socket().display());
    let tcp = b.target();
    let base = ["--json", "attest", "--trust", trust.to_str().unwrap(), "--allow-sim"];
    let ok = ras_tests::rasctl(&[&base[..], &["--connect", &tcp, "--connect", &unix]].concat());
    assert_eq!(ok.status.code(), Some(0), "{}{}", text(&ok.stdout), text(&ok.stderr));
    let verdicts: Vec<serde_json::Value> = text(&ok.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(verdicts.len(), 3, "two verdicts and the summary (JSON Lines)");
    assert_eq!(verdicts[0]["target"], tcp.as_str());
    assert_eq!(verdicts[1]["target"], unix.as_str());
    assert_eq!(verdicts[2]["summary"], serde_json::json!({"targets": 2, "passed": 2, "failed": 0, "unreachable": 0}));
    assert!(text(&ok.stderr).contains("[2/2]"), "no progress on stderr: {}", text(&ok.stderr));
    // One target anchored elsewhere fails the run (exit 1), and is named.
    let mixed = ras_tests::rasctl(&[&base[..], &["--connect", &tcp, "--connect", &foreign]].concat());
    assert_eq!(mixed.status.code(), Some(1));
    let verdicts: Vec<serde_json::Value> =
        text(&mixed.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(verdicts[0]["verdict"], "pass");
    assert_eq!(verdicts[1]["failed_check"], "chain");
    assert_eq!(verdicts[2]["summary"]["failed"], 1);

    // A target that never answers is unreachable after --timeout (exit 3), not a failed
    // attestation, and its line names it; one at a time (--concurrency 1) still finishes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mute = format!("tcp:{}", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let out = ras_tests::rasctl(
        &[&base[..], &["--timeout", "1", "--concurrency", "1", "--connect", &tcp, "--connect", &mute]].concat(),
    );
    assert_eq!(out.status.code(), Some(3), "{}{}", text(&out.stdout), text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[1]["target"], mute.as_str());
    assert!(lines[1]["reason"].as_str().unwrap().contains("--timeout"), "{}", lines[1]);
    assert_eq!(lines[2]["summary"]["unreachable"], 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "--timeout was not applied");
}
