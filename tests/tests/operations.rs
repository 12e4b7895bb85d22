//! Operations: systemd units (verify, exposure), socket activation of rasd and ras-bridge with
//! systemd-socket-activate, sd_notify readiness/watchdog/stopping, journald fields, the
//! Kubernetes manifests, and installation into a DESTDIR.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use ras_tests::fake::{FakeCgroup, FakeDocker};
use ras_tests::{bin, nonce, repo_root, text, wait_for, Rasd, Raw, Reaped};
use serde_json::json;

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
        || ras_tests::unavailable(tool)
}

/// Every unit in systemd/ (scripts/install installs these).
const UNITS: &[&str] = &[
    "rasd.socket",
    "rasd-container.socket",
    "rasd.service",
    "ras-bridge.socket",
    "ras-bridge.service",
    "ras-verifier.service",
];

/// The executable ras-verifier.service starts, for `systemd-analyze verify` (which checks that
/// it exists): the built binary once its crate (verifier/) is in the workspace; until then a
/// stand-in, so that the rest of the unit is still verified.
fn verifier_exec() -> String {
    if repo_root().join("verifier/Cargo.toml").exists() {
        bin("ras-verifier").display().to_string()
    } else {
        "/bin/true".to_string()
    }
}

/// The units, with ExecStart= pointing at the built binaries, in a temp dir.
fn staged_units() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for u in UNITS {
        let text = std::fs::read_to_string(repo_root().join("systemd").join(u)).unwrap();
        let text = text.replace("/usr/sbin/ras-verifier", &verifier_exec());
        let text = text.replace("/usr/sbin/", &format!("{}/", ras_tests::bin_dir().display()));
        std::fs::write(dir.path().join(u), text).unwrap();
    }
    dir
}

#[test]
fn systemd_units_verify_clean() {
    if !have("systemd-analyze") {
        return;
    }
    let dir = staged_units();
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&files)
        .env("MANPATH", repo_root().join("man"))
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn exposure_scores_are_within_target() {
    if !have("systemd-analyze") {
        return;
    }
    for (unit, max) in [("rasd.service", 2.0), ("ras-bridge.service", 1.7), ("ras-verifier.service", 1.2)] {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(repo_root().join("systemd").join(unit))
            .output()
            .unwrap();
        let all = text(&out.stdout);
        let score: f64 = all
            .lines()
            .find_map(|l| l.split("Overall exposure level for").nth(1))
            .and_then(|r| r.split(':').nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no score for {unit}:\n{all}{}", text(&out.stderr)));
        eprintln!("{unit}: exposure {score}");
        assert!(score <= max, "{unit} exposure {score} > {max}");
    }
}

/// The value of `key=` in a unit (the last one wins, as in systemd).
fn unit_setting(unit: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    unit.lines().filter_map(|l| l.trim().strip_prefix(&prefix)).next_back().map(|v| v.trim().to_string())
}

/// A DynamicUser= service must name a User= that no sysusers line creates, as user or group:
/// systemd would run it as that static user instead, or, for a group of the name, refuse to
/// start it (217/USER), as it once refused ras-bridge. And a service that gets a credential
/// is handed its path from $CREDENTIALS_DIRECTORY, not a path of its own.
#[test]
fn dynamic_users_collide_with_no_sysusers_name() {
    let sysusers = std::fs::read_to_string(repo_root().join("systemd/ras.sysusers")).unwrap();
    // u NAME…, g NAME…, m USER GROUP: every name the file creates or refers to.
    let taken: Vec<&str> = sysusers
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                ["m", user, group, ..] => vec![*user, *group],
                ["u" | "g", name, ..] => vec![*name],
                _ => vec![],
            }
        })
        .collect();
    assert!(taken.contains(&"ras-bridge"), "the sysusers file did not parse: {taken:?}");
    let mut dynamic = Vec::new();
    for u in UNITS.iter().filter(|u| u.ends_with(".service")) {
        let unit = std::fs::read_to_string(repo_root().join("systemd").join(u)).unwrap();
        if unit_setting(&unit, "DynamicUser").as_deref() != Some("yes") {
            continue;
        }
        dynamic.push(*u);
        let user = unit_setting(&unit, "User").unwrap_or_else(|| panic!("{u}: DynamicUser=yes without User="));
        assert!(!taken.contains(&user.as_str()), "{u}: the dynamic user {user} is also a sysusers name");
        assert!(unit_setting(&unit, "Group").is_none(), "{u}: a dynamic user's group is its own");
    }
    assert!(dynamic.contains(&"ras-verifier.service"), "checked no DynamicUser= unit but {dynamic:?}");
    let verifier = std::fs::read_to_string(repo_root().join("systemd/ras-verifier.service")).unwrap();
    let exec = unit_setting(&verifier, "ExecStart").unwrap();
    let credential = unit_setting(&verifier, "LoadCredential").unwrap();
    let id = credential.split_once(':').unwrap().0;
    assert!(exec.contains(&format!("--admin-token-file ${{CREDENTIALS_DIRECTORY}}/{id}")), "{exec}");
}

/// Starts the socket-activated rasd with a connection that sends nothing, and waits until it
/// serves. systemd-socket-activate, unlike a socket unit with PassCredentials=yes, creates the
/// socket without SO_PASSCRED; rasd sets it once it runs, and bytes queued before that carry
/// no writer, which rasd refuses.
fn activate(socket: &std::path::Path) {
    drop(std::os::unix::net::UnixStream::connect(socket).expect("trigger activation"));
    wait_for(Duration::from_secs(10), || {
        let Ok(s) = std::os::unix::net::UnixStream::connect(socket) else { return false };
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut raw = Raw(s);
        raw.call("org.varlink.service.GetInfo", json!({}))["error"].is_null()
    })
    .expect("rasd serves");
}

#[test]
fn rasd_serves_both_named_activated_sockets() {
    if !have("systemd-socket-activate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("container")).unwrap();
    let host = run.join("rasd.sock");
    let container = run.join("container/rasd.sock");
    let log = std::fs::File::create(dir.path().join("rasd.log")).unwrap();
    // The container fd comes first: rasd must go by name, not by position.
    let mut child = Reaped(
        Command::new("systemd-socket-activate")
            .arg("-l")
            .arg(&container)
            .arg("-l")
            .arg(&host)
            .arg("--fdname=container:host")
            .arg(bin("rasd"))
            .args(["--log", "stderr", "--runtime-dir"])
            .arg(dir.path().join("elsewhere"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(10), || host.exists() && container.exists()).expect("sockets");
    activate(&host);
    let v = Raw::connect(&host).call("io.ras.Attestation.GetEvidence", json!({"nonce": nonce()}));
    assert!(v["parameters"]["evidence"].is_string(), "host socket: {v}");
    // On the container fd, rasd treats the caller as on the container socket: a host process
    // is refused, and Admin is not even served there.
    let v = Raw::connect(&container).call("io.ras.Attestation.GetEvidence", json!({"nonce": nonce()}));
    assert_eq!(v["error"], "org.varlink.service.PermissionDenied", "{v}");
    let v = Raw::connect(&container).call("io.ras.Admin.GetStatus", json!({}));
    assert_eq!(v["error"], "org.varlink.service.InterfaceNotFound", "{v}");
    assert!(!dir.path().join("elsewhere/rasd.sock").exists(), "rasd bound a socket of its own");
    let _ = child.kill();
    let _ = child.wait();
}

/// Two activated fds whose names rasd does not know: it refuses to guess which is which.
#[test]
fn two_activated_fds_with_unknown_names_are_refused() {
    if !have("systemd-socket-activate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let log = dir.path().join("rasd.log");
    let mut child = Reaped(
        Command::new("systemd-socket-activate")
            .arg("-l")
            .arg(&a)
            .arg("-l")
            .arg(&b)
            .arg("--fdname=foo:bar")
            .arg(bin("rasd"))
            .args(["--log", "stderr", "--runtime-dir"])
            .arg(dir.path().join("run"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(10), || a.exists()).expect("sockets");
    // Activate it; it must exit with an error naming the expected names.
    drop(std::os::unix::net::UnixStream::connect(&a));
    let exited = wait_for(Duration::from_secs(10), || child.try_wait().ok().flatten().is_some());
    let _ = child.kill();
    let status = child.wait().unwrap();
    exited.unwrap_or_else(|| panic!("rasd kept running with unknown fd names"));
    assert!(!status.success());
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("expected \"host\" and \"container\""), "{said}");
}

#[test]
fn a_single_activated_fd_is_the_host_socket_and_rasd_binds_the_container_socket() {
    if !have("systemd-socket-activate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("activated.sock");
    let run = dir.path().join("run");
    let mut child = Reaped(
        Command::new("systemd-socket-activate")
            .arg("-l")
            .arg(&host)
            .arg("--fdname=whatever")
            .arg(bin("rasd"))
            .args(["--log", "stderr", "--runtime-dir"])
            .arg(&run)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(10), || host.exists()).expect("socket");
    activate(&host);
    let v = Raw::connect(&host).call("io.ras.Admin.GetStatus", json!({}));
    assert!(v["error"].is_null(), "{v}");
    wait_for(Duration::from_secs(10), || run.join("container/rasd.sock").exists())
        .expect("rasd bound the container socket");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_bridge_serves_on_an_activated_tcp_fd() {
    if !have("systemd-socket-activate") {
        return;
    }
    let r = Rasd::start(&[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Reaped(
        Command::new("systemd-socket-activate")
            .args(["-l", &addr])
            .arg(bin("ras-bridge"))
            .args(["--log", "stderr", "--daemon"])
            .arg(r.socket())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(10), || std::net::TcpStream::connect(&addr).is_ok()).expect("listening");
    let trust = r.trust_anchor();
    let out = ras_tests::rasctl(&[
        "attest",
        "--connect",
        &format!("tcp:{addr}"),
        "--trust",
        trust.to_str().unwrap(),
        "--allow-sim",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// rasd on temp paths with `extra` flags, sending sd_notify messages (watchdog every 200 ms)
/// to the returned datagram socket, as systemd would receive them.
fn rasd_under_a_fake_systemd(extra: &[&str]) -> (tempfile::TempDir, UnixDatagram, Reaped) {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let child = Reaped(
        Command::new(bin("rasd"))
            .args(["--log", "stderr"])
            .args(extra)
            .arg("--runtime-dir")
            .arg(dir.path().join("run"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .env("NOTIFY_SOCKET", &sock_path)
            .env("WATCHDOG_USEC", "200000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (dir, sock, child)
}

#[test]
fn rasd_notifies_ready_watchdog_and_stopping() {
    let (dir, sock, mut child) = rasd_under_a_fake_systemd(&[]);
    let mut seen = String::new();
    let mut buf = [0u8; 512];
    while !(seen.contains("READY=1") && seen.contains("WATCHDOG=1")) {
        let n = sock.recv(&mut buf).expect("a notification");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        seen.push('\n');
    }
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    while !seen.contains("STOPPING=1") {
        let n = sock.recv(&mut buf).expect("STOPPING=1");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "rasd exited with {status}");
    assert!(!dir.path().join("run/rasd.sock").exists(), "rasd removed the socket it bound");
}

#[test]
fn the_watchdog_stops_pinging_when_rasd_cannot_serve_a_connection() {
    let (dir, sock, mut child) = rasd_under_a_fake_systemd(&["--max-connections", "1"]);
    let mut buf = [0u8; 512];
    let mut next = |timeout: Duration| -> Option<String> {
        sock.set_read_timeout(Some(timeout)).unwrap();
        sock.recv(&mut buf).ok().map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    let pinged = |next: &mut dyn FnMut(Duration) -> Option<String>, within: Duration| {
        let deadline = std::time::Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match next(left.max(Duration::from_millis(1))) {
                Some(m) if m.contains("WATCHDOG=1") => return true,
                Some(_) => {}
                None => return false,
            }
        }
        false
    };
    assert!(pinged(&mut next, Duration::from_secs(10)), "no WATCHDOG=1 from a healthy rasd");
    // The only connection slot is taken: the watchdog's own probe cannot be served.
    let held = std::os::unix::net::UnixStream::connect(dir.path().join("run/rasd.sock")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    while next(Duration::from_millis(1)).is_some() {}
    assert!(!pinged(&mut next, Duration::from_secs(1)), "the watchdog pinged while no call could be served");
    drop(held);
    assert!(pinged(&mut next, Duration::from_secs(10)), "no WATCHDOG=1 after the slot was free again");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}

/// Starts systemd-journald by hand when none runs; stops it (by pid) on drop.
struct Journald(Option<std::process::Child>);

impl Journald {
    fn running() -> bool {
        UnixDatagram::unbound().and_then(|s| s.connect("/run/systemd/journal/socket")).is_ok()
    }

    fn ensure() -> Option<Journald> {
        if Self::running() {
            return Some(Journald(None));
        }
        let bin = ["/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(bin) = bin else {
            ras_tests::unavailable("systemd-journald");
            return None;
        };
        let child = Command::new(bin).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        wait_for(Duration::from_secs(10), Self::running).expect("journald came up");
        Some(Journald(Some(child)))
    }
}

impl Drop for Journald {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_call_leaves_a_journal_entry_with_the_peer_fields() {
    if !ras_tests::is_root() && !ras_tests::unavailable("root (to start journald)") {
        return;
    }
    let Some(_journald) = Journald::ensure() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let docker = FakeDocker::start();
    let mut child = Reaped(
        Command::new(bin("rasd"))
            .args(docker.flags())
            .args(["--log", "journald", "--auto-register", "--runtime-dir"])
            .arg(&run)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            // Routine calls are logged at debug (refusals at notice): ask for them.
            .env("RAS_LOG", "debug")
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(10), || run.join("rasd.sock").exists()).expect("rasd up");
    let n = nonce();
    let v = Raw::connect(&run.join("rasd.sock")).call("io.ras.Attestation.GetEvidence", json!({"nonce": n}));
    assert!(v["parameters"]["evidence"].is_string());
    let me = std::process::id().to_string();
    // And from a (fake) container, which adds the container fields.
    let mut c = FakeCgroup::new();
    let init = c.start_init(&docker, "fake");
    let script = format!(
        "exec {} --socket {} evidence --nonce {n}",
        bin("rasctl").display(),
        run.join("container/rasd.sock").display()
    );
    let out = c.run_inside(init, &script);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let query = |filters: &[&str]| -> Vec<serde_json::Value> {
        let out = Command::new("journalctl")
            .args(["--no-pager", "-o", "json", "SYSLOG_IDENTIFIER=rasd", "RAS_METHOD=io.ras.Attestation.GetEvidence"])
            .args(filters)
            .arg(format!("_PID={}", child.id()))
            .output()
            .unwrap();
        text(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    };
    let mut host = Vec::new();
    let mut contained = Vec::new();
    wait_for(Duration::from_secs(10), || {
        host = query(&[&format!("RAS_PEER_PID={me}"), "RAS_OUTCOME=ok"]);
        contained = query(&[&format!("RAS_CONTAINER_ID={}", c.id), "RAS_CONTAINER_TYPE=docker", "RAS_OUTCOME=ok"]);
        !host.is_empty() && !contained.is_empty()
    })
    .unwrap_or_else(|| panic!("no journal entries: host {host:?}, container {contained:?}"));
    assert_eq!(host[0]["RAS_PEER_UID"], nix::unistd::getuid().as_raw().to_string());
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}

#[test]
fn kubernetes_manifests_are_valid() {
    let Some(py) = ras_tests::venv_python() else {
        ras_tests::unavailable("the test venv (PyYAML)");
        return;
    };
    let k8s = repo_root().join("deploy/kubernetes");
    let out = Command::new(py)
        .arg(repo_root().join("tests/oracle/check_deploy.py"))
        .arg(k8s.join("ras-daemonset.yaml"))
        .arg(k8s.join("ras-workload-pod.yaml"))
        .arg(k8s.join("ras-verifier.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("ras-verifier: Deployment, Service and PostgreSQL ok"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("deploy manifests ok"));
}

#[test]
fn install_honours_destdir_and_prefix() {
    let dest = tempfile::tempdir().unwrap();
    let out = Command::new(repo_root().join("scripts/install"))
        .env("DESTDIR", dest.path())
        .env("PREFIX", "/opt/ras")
        .env("RAS_BIN_DIR", ras_tests::bin_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for f in [
        "opt/ras/sbin/rasd",
        "opt/ras/sbin/ras-bridge",
        "opt/ras/bin/rasctl",
        "opt/ras/lib/systemd/system/rasd.service",
        "opt/ras/lib/systemd/system/rasd.socket",
        "opt/ras/lib/systemd/system/rasd-container.socket",
        "opt/ras/lib/systemd/system/ras-bridge.socket",
        "opt/ras/lib/systemd/system/ras-bridge.service",
        "opt/ras/lib/systemd/system/ras-verifier.service",
        "opt/ras/lib/sysusers.d/ras.conf",
        "opt/ras/lib/tmpfiles.d/ras.conf",
        "opt/ras/share/man/man1/rasctl.1",
        "opt/ras/share/man/man5/rasd.toml.5",
        "opt/ras/share/man/man8/rasd.8",
        "opt/ras/share/man/man8/ras-bridge.8",
        "opt/ras/share/bash-completion/completions/rasctl",
        "opt/ras/share/zsh/vendor-completions/_rasctl",
        "opt/ras/share/fish/vendor_completions.d/rasctl.fish",
        "opt/ras/share/ras/rasd-vsock.conf",
        "opt/ras/share/ras/rasd-tsm.conf",
        "etc/ras/rasd.toml",
    ] {
        assert!(dest.path().join(f).exists(), "{f} not installed");
    }
    let unit = std::fs::read_to_string(dest.path().join("opt/ras/lib/systemd/system/rasd.service")).unwrap();
    assert!(unit.contains("ExecStart=/opt/ras/sbin/rasd"), "{unit}");
    let unit = std::fs::read_to_string(dest.path().join("opt/ras/lib/systemd/system/ras-verifier.service")).unwrap();
    assert!(unit.contains("ExecStart=/opt/ras/sbin/ras-verifier "), "{unit}");
    // The verifier's binary is installed exactly when it was built.
    let built = ras_tests::bin_dir().join("ras-verifier").exists();
    assert_eq!(dest.path().join("opt/ras/sbin/ras-verifier").exists(), built, "ras-verifier built: {built}");
    // The sample configuration parses.
    let cfg = dest.path().join("etc/ras/rasd.toml");
    let check = Command::new(bin("rasd")).arg("--config").arg(&cfg).args(["--state-dir", "relative"]).output().unwrap();
    assert!(text(&check.stderr).contains("must be an absolute path"), "config did not parse: {}", text(&check.stderr));

    // --uninstall removes every installed file and keeps the configuration.
    let out = Command::new(repo_root().join("scripts/install"))
        .arg("--uninstall")
        .env("DESTDIR", dest.path())
        .env("PREFIX", "/opt/ras")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let left: Vec<_> = walkdir(dest.path()).into_iter().filter(|p| p.is_file()).collect();
    assert_eq!(left, vec![dest.path().join("etc/ras/rasd.toml")], "uninstall left files behind");
}

#[test]
fn rasd_refuses_to_start_with_a_group_that_does_not_exist() {
    for flag in ["--socket-group", "--admin-group", "--remote-group"] {
        let d = tempfile::tempdir().unwrap();
        // `timeout`: a rasd that wrongly accepts the group would serve forever.
        let out = Command::new("timeout")
            .arg("20")
            .arg(bin("rasd"))
            .arg("--runtime-dir")
            .arg(d.path().join("run"))
            .arg("--state-dir")
            .arg(d.path().join("state"))
            .args([flag, "no-such-ras-group", "--log", "stderr"])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        // 2: rasd could not start (rasd(8), EXIT STATUS).
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains(&format!("{flag} no-such-ras-group: no such group")), "{flag}: {err}");
        assert!(!d.path().join("run/rasd.sock").exists(), "{flag}: rasd bound its socket anyway");
    }
}

/// Every path under `dir`, depth first.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn on_sigterm_a_call_in_flight_still_gets_its_reply() {
    if !ras_tests::is_root() && !ras_tests::unavailable("root (cgroups and namespaces)") {
        return;
    }
    // A (fake) container whose agent is frozen: a challenge to it waits for the deadline.
    let docker = FakeDocker::start();
    let r = docker.rasd(&["--auto-register", "--challenge-timeout", "2000"]);
    let mut c = FakeCgroup::new();
    let agent = format!("exec {} --socket {} agent", bin("rasctl").display(), r.container_socket().display());
    let init = c.start_init_with(&docker, "fake", &agent);
    r.wait_agent(&c.id);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(init as i32), nix::sys::signal::Signal::SIGSTOP).unwrap();
    let sock = r.socket();
    let id = c.id.clone();
    let call = std::thread::spawn(move || {
        let mut raw = Raw::connect(&sock);
        raw.call("io.ras.Remote.Challenge", json!({"nonce": nonce(), "container": {"id": id, "type": "docker"}}))
    });
    std::thread::sleep(Duration::from_millis(500));
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(r.pid() as i32), nix::sys::signal::Signal::SIGTERM);
    // The caller gets rasd's answer (the agent's deadline passed), not a dropped connection.
    let v = call.join().unwrap();
    assert_eq!(v["error"], "io.ras.Remote.AgentTimeout", "{v}");
    // And then rasd exits, cleanly, within its 5 s drain bound.
    let mut r = r;
    let status = r.wait_exit(Duration::from_secs(6)).unwrap_or_else(|| panic!("rasd ignored SIGTERM:\n{}", r.log()));
    assert!(status.success(), "rasd exited with {status}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(init as i32), nix::sys::signal::Signal::SIGCONT);
}

/// `--json` applies to every subcommand: its output is JSON lines, or its error a JSON object
/// on stderr, or it refuses `--json` where there is no result to print (`agent`).
#[test]
fn every_subcommand_speaks_json_or_refuses_it() {
    let r = Rasd::start(&[]);
    let n = ras_tests::nonce();
    let ev = r.evidence(&n, "ev.jws");
    let trust = r.trust_anchor();
    let (ev, trust) = (ev.to_str().unwrap().to_string(), trust.to_str().unwrap().to_string());
    let unix = format!("unix:{}", r.socket().display());
    let missing = r.path("missing").to_str().unwrap().to_string();
    let content = format!("sha256:{}", "ab".repeat(32));
    let policy = r.path("p.rego");
    std::fs::write(&policy, "package ras\nallow := true\n").unwrap();
    let policy = policy.to_str().unwrap().to_string();
    let runs: Vec<Vec<&str>> = vec![
        vec!["status"],
        vec!["evidence", "--nonce", "0011223344556677"],
        vec!["verify", &ev, "--nonce", &n, "--trust", &trust, "--allow-sim"],
        vec!["verify", &ev, "--nonce", &n, "--trust", &trust],
        vec!["trust-anchor"],
        vec!["ak", "show"],
        vec!["ak", "csr"],
        vec!["ak", "import", &missing],
        vec!["ak", "enrollment"],
        vec!["ak", "activate", &missing],
        vec!["reference", "record", &ev],
        vec!["bench", "--op", "ping", "-n", "20"],
        vec!["container", "list"],
        vec!["container", "add", "nosuch", "--type", "docker"],
        vec!["container", "remove", "nosuch", "--type", "docker"],
        vec!["measure", "extend", "--domain", "app", "--operation", "load", "--content", &content],
        vec!["attest", "--connect", &unix, "--trust", &trust, "--allow-sim"],
        vec!["tpm", "export", &ev, "--out-dir", &missing],
        vec!["tpm", "enroll", "--connect", &unix, "--ek-ca", &missing],
        vec!["ca", "challenge", &missing, "--ek-ca", &missing, "--out", &missing, "--secret-out", &missing],
        vec!["policy", "default"],
        vec!["policy", "check", &policy],
        // No ras-verifier listens there: the error must still be one JSON object (exit 3).
        vec!["secret", "get", "db", "--verifier", "http://127.0.0.1:1", "--timeout", "5"],
    ];
    for args in &runs {
        let out = r.rasctl(&[&["--json"], args.as_slice()].concat());
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        if out.status.success() {
            assert!(!stdout.trim().is_empty(), "{args:?}: no output");
            for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
                assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "{args:?}: not JSON: {line}");
            }
        } else if stdout.trim().is_empty() {
            let e: serde_json::Value = serde_json::from_str(stderr.trim())
                .unwrap_or_else(|_| panic!("{args:?}: the error is not JSON: {stderr}"));
            assert!(e["error"].is_string() && e["exit"] == out.status.code().unwrap(), "{args:?}: {e}");
        } else {
            // A verdict that failed is printed as JSON and exits 1.
            for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
                assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "{args:?}: not JSON: {line}");
            }
        }
    }
    let out = r.rasctl(&["--json", "agent"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no JSON output"), "{}", text(&out.stderr));
}
