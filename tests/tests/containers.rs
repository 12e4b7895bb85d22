//! Container attestation on real Docker: agents answering forwarded challenges, local
//! evidence inside a container, restarts, `docker kill`, and the spoofing suite. Each needs
//! Docker and the `ras-test` image (scripts/setup-docker); in CI their absence fails.

use ras_tests::docker::{self, Container};
use ras_tests::{nonce, text, wait_for, Rasd};
use std::time::Duration;

fn verdict(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not a JSON verdict: {}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn container_a_runs_an_agent_and_is_challenged() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(&["--measure-file", "/etc/ras-test-release"]);
    let a = Container::registered_agent(&r, &[]);
    let out = r.attest(&["--json", "--container", &a.id[..12], "--type", "docker"]);
    let v = verdict(&out);
    assert_eq!(out.status.code(), Some(0), "{v}\n{}", r.log());
    let ras = &v["claims"]["ras"];
    assert_eq!(ras["subject"]["kind"], "container");
    assert_eq!(ras["subject"]["id"], a.id.as_str());
    assert_eq!(ras["subject"]["name"], a.name.as_str());
    assert_eq!(ras["caller"]["exe"], "/usr/bin/rasctl", "the agent's executable, measured by rasd");
    // rasd read the file itself, through the agent's root: sha256("ras test image\n").
    let m = &ras["measurements"][0];
    assert_eq!(m["name"], "file:/etc/ras-test-release");
    assert_eq!(m["source"], "rasd");
    assert_eq!(m["sha256"], "5e977ee278117f00730e5a2e256751e298b6f87553c85e92fea527000cb720cf");
}

#[test]
fn several_challenges_in_flight_to_one_container_are_each_answered() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(&[]);
    let a = Container::registered_agent(&r, &[]);
    let trust = r.trust_anchor();
    let connect = format!("unix:{}", r.socket().display());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (connect, trust, id) = (connect.clone(), trust.clone(), a.id.clone());
            std::thread::spawn(move || {
                ras_tests::rasctl(&[
                    "attest",
                    "--connect",
                    &connect,
                    "--container",
                    &id,
                    "--trust",
                    trust.to_str().unwrap(),
                    "--allow-sim",
                ])
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    }
}

#[test]
fn local_evidence_inside_container_b_names_b() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(&[]);
    let b = Container::sleeper(&r);
    r.add_container(&b.id);
    let n = nonce();
    let out = b.exec(&["rasctl", "evidence", "--nonce", &n]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, v) = r.verify_sim(&out.stdout, &n, &["--container", &b.id]);
    assert_eq!(code, Some(0), "{v}");
    // Never valid as host evidence.
    let (code, v) = r.verify_sim(&out.stdout, &n, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(v["failed_check"], "subject");
}

#[test]
fn after_a_rasd_restart_the_agent_comes_back_by_itself() {
    if !docker::available() {
        return;
    }
    let mut r = Rasd::start(&[]);
    let a = Container::registered_agent(&r, &["--max-backoff", "500"]);
    r.restart();
    assert_eq!(r.containers().len(), 1, "registration restored:\n{}", r.log());
    r.wait_agent(&a.id);
    let out = r.attest(&["--container", &a.id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(a.logs().contains("reconnecting") || a.logs().contains("retrying"), "{}", a.logs());
}

#[test]
fn after_docker_kill_the_registration_is_gone() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(&[]);
    let a = Container::registered_agent(&r, &[]);
    a.kill();
    wait_for(Duration::from_secs(15), || r.containers().is_empty())
        .unwrap_or_else(|| panic!("registration still there:\n{}", r.log()));
    assert!(r.log().contains("container exited; registration removed"));
    let out = r.attest(&["--container", &a.id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("UnknownContainer"), "{}", text(&out.stderr));
}

#[test]
fn an_unknown_container_and_a_container_without_agent_get_their_own_errors() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(&[]);
    let b = Container::sleeper(&r);
    r.add_container(&b.id);
    let out = r.attest(&["--container", &b.id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("io.ras.Remote.NoAgent"), "{}", text(&out.stderr));
    let out = r.attest(&["--container", &"ab".repeat(32)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("io.ras.Remote.UnknownContainer"), "{}", text(&out.stderr));
}

/// The agent dies while a challenge to it is in flight: the challenger gets AgentGone at
/// once (the stream closing fails the pending challenge), not the deadline's AgentTimeout.
#[test]
fn an_agent_killed_during_a_challenge_gives_agent_gone_at_once() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(&["--challenge-timeout", "20000"]);
    let a = Container::run(&r, &["sh", "-c", "rasctl agent & echo $! > /tmp/agent.pid; sleep 3600"]);
    r.add_container(&a.id);
    r.wait_agent(&a.id);
    // Frozen, the agent cannot answer; the challenge waits on it.
    assert!(a.exec(&["sh", "-c", "kill -STOP $(cat /tmp/agent.pid)"]).status.success());
    let trust = r.trust_anchor();
    let connect = format!("unix:{}", r.socket().display());
    let id = a.id.clone();
    let started = std::time::Instant::now();
    let attest = std::thread::spawn(move || {
        ras_tests::rasctl(&[
            "attest",
            "--connect",
            &connect,
            "--container",
            &id,
            "--trust",
            trust.to_str().unwrap(),
            "--allow-sim",
        ])
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(a.exec(&["sh", "-c", "kill -KILL $(cat /tmp/agent.pid)"]).status.success());
    let out = attest.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("io.ras.Remote.AgentGone"), "{}", text(&out.stderr));
    // Well before the 20 s deadline: the upper bound is what tells Gone from Timeout.
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[test]
fn a_mute_agent_times_out_and_a_dead_one_is_dropped() {
    if !docker::available() {
        return;
    }
    let r = Rasd::start(&["--challenge-timeout", "1500"]);
    // A container whose "agent" is killed mid-flight: the kernel closes its stream.
    let a = Container::run(&r, &["sh", "-c", "rasctl agent & echo $! > /tmp/agent.pid; sleep 3600"]);
    r.add_container(&a.id);
    r.wait_agent(&a.id);
    let killed = a.exec(&["sh", "-c", "kill -STOP $(cat /tmp/agent.pid)"]);
    assert!(killed.status.success());
    let started = std::time::Instant::now();
    let out = r.attest(&["--container", &a.id]);
    assert!(text(&out.stderr).contains("io.ras.Remote.AgentTimeout"), "{}", text(&out.stderr));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1400), "answered before the deadline: {took:?}");
    assert!(took < Duration::from_secs(10), "the 1.5 s deadline was not kept: {took:?}");
    let _ = a.exec(&["sh", "-c", "kill -KILL $(cat /tmp/agent.pid)"]);
    wait_for(Duration::from_secs(10), || r.containers().iter().all(|c| c["agent"] == false)).expect("agent dropped");
    let out = r.attest(&["--container", &a.id]);
    assert!(text(&out.stderr).contains("io.ras.Remote.NoAgent"), "{}", text(&out.stderr));
}

mod spoofing {
    use super::*;

    #[test]
    fn b_asks_for_a() {
        if !docker::available() {
            return;
        }
        let r = Rasd::start(&[]);
        let a = Container::sleeper(&r);
        let b = Container::sleeper(&r);
        r.add_container(&a.id);
        r.add_container(&b.id);
        let out = b.exec(&["rasctl", "evidence", "--nonce", &nonce(), "--container", &a.id]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
        // Remote challenges are not served on the container socket at all.
        let trust = r.trust_anchor();
        let copied = std::process::Command::new("docker")
            .args(["cp", trust.to_str().unwrap(), &format!("{}:/tmp/root.pem", b.name)])
            .output()
            .unwrap();
        assert!(copied.status.success(), "{}", text(&copied.stderr));
        let out = b.exec(&[
            "rasctl",
            "attest",
            "--connect",
            "unix:/run/ras/rasd.sock",
            "--container",
            &a.id,
            "--trust",
            "/tmp/root.pem",
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("InterfaceNotFound"), "{}", text(&out.stderr));
    }

    #[test]
    fn a_fake_agent_in_b_claims_a() {
        if !docker::available() {
            return;
        }
        let r = Rasd::start(&[]);
        let a = Container::sleeper(&r);
        r.add_container(&a.id);
        let b = Container::sleeper(&r);
        r.add_container(&b.id);
        // An agent in B that says it is A is refused outright...
        let claim = b.exec(&["timeout", "3", "rasctl", "agent", "--container", &a.id]);
        assert!(text(&claim.stderr).contains("PermissionDenied"), "{}", text(&claim.stderr));
        // ...and a plain agent in B serves B only: A's challenge finds no agent.
        let _agent =
            std::process::Command::new("docker").args(["exec", "-d", &b.name, "rasctl", "agent"]).output().unwrap();
        r.wait_agent(&b.id);
        let out = r.attest(&["--container", &a.id]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("io.ras.Remote.NoAgent"), "{}", text(&out.stderr));
        let out = r.attest(&["--json", "--container", &b.id]);
        assert_eq!(verdict(&out)["claims"]["ras"]["subject"]["id"], b.id.as_str());
    }

    #[test]
    fn a_process_put_into_as_cgroup_but_kept_in_another_pid_namespace() {
        if !docker::available() || (!ras_tests::is_root() && !ras_tests::unavailable("root")) {
            return;
        }
        let r = Rasd::start(&[]);
        let a = Container::sleeper(&r);
        r.add_container(&a.id);
        // A host process moves itself into every cgroup hierarchy of A, then asks.
        let script = format!(
            "for d in /sys/fs/cgroup/*/docker/{id} /sys/fs/cgroup/docker/{id} /sys/fs/cgroup/system.slice/docker-{id}.scope; do \
             [ -e $d/cgroup.procs ] && echo 0 > $d/cgroup.procs; done; \
             exec unshare --pid --fork {rasctl} --socket {sock} evidence --nonce {n}",
            id = a.id,
            rasctl = ras_tests::bin("rasctl").display(),
            sock = r.container_socket().display(),
            n = nonce()
        );
        let out = std::process::Command::new("sh").args(["-c", &script]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
        assert!(r.log().contains("pid namespace does not match"), "{}", r.log());
    }

    #[test]
    fn a_nested_pid_namespace_inside_a_is_accepted_as_a() {
        if !docker::available() {
            return;
        }
        let r = Rasd::start(&[]);
        // CAP_SYS_ADMIN lets the workload make a pid namespace of its own inside A.
        let a = Container::run_with(&r, &["--cap-add", "SYS_ADMIN"], &["sleep", "3600"]);
        r.add_container(&a.id);
        let n = nonce();
        let out = a.exec(&["unshare", "-p", "-f", "rasctl", "evidence", "--nonce", &n]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let (code, v) = r.verify_sim(&out.stdout, &n, &["--container", &a.id]);
        assert_eq!(code, Some(0), "{v}");
    }

    #[test]
    fn a_host_process_on_the_container_socket() {
        if !docker::available() {
            return;
        }
        let r = Rasd::start(&["--auto-register"]);
        let _a = Container::agent(&r, &[]);
        let out =
            ras_tests::rasctl(&["--socket", r.container_socket().to_str().unwrap(), "evidence", "--nonce", &nonce()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
    }
}

#[test]
fn the_health_check_drops_a_dead_agent_and_its_registration() {
    if !docker::available() {
        return;
    }
    // The contract's periods are minutes; the test-only variable makes one round 2 s.
    let r = Rasd::start_with_env(&["--challenge-timeout", "1000"], &[("RASD_TEST_HEALTH_CHECK_SECONDS", "2")]);
    let a = Container::run(&r, &["sh", "-c", "rasctl agent & echo $! > /tmp/agent.pid; sleep 3600"]);
    r.add_container(&a.id);
    r.wait_agent(&a.id);
    // Frozen, not dead: its connection stays open, so only the health check can notice.
    assert!(a.exec(&["sh", "-c", "kill -STOP $(cat /tmp/agent.pid)"]).status.success());
    wait_for(Duration::from_secs(30), || r.containers().is_empty())
        .unwrap_or_else(|| panic!("health check did not drop the agent:\n{}", r.log()));
    assert!(r.log().contains("agent failed its health check"), "{}", r.log());
}
