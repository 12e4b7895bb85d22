//! Fast identity tests with real namespaces and cgroups but no container engine:
//! `unshare --pid --mount --fork` processes in a Docker-like cgroup (`docker/<id>`). They
//! prove that rasd decides from the kernel: cgroup path *and* pid namespace. Root only.

use ras_tests::fake::{FakeCgroup, FakeDocker};
use ras_tests::{bin, is_root, nonce, text, Rasd};

fn root_or_skip() -> bool {
    is_root() || ras_tests::unavailable("root (cgroups and namespaces)")
}

/// A shell command running rasctl evidence on the container socket, as JSON.
fn evidence_cmd(r: &Rasd, n: &str) -> String {
    format!("exec {} --socket {} --json evidence --nonce {n}", bin("rasctl").display(), r.container_socket().display())
}

/// Verifies the evidence as `id`'s and returns its subject.
fn subject_of(r: &Rasd, out: &std::process::Output, n: &str, id: &str) -> serde_json::Value {
    assert!(out.status.success(), "evidence failed: {}\n{}", text(&out.stderr), r.log());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (_, verdict) = r.verify_sim(v["evidence"].as_str().unwrap().as_bytes(), n, &["--container", id]);
    assert_eq!(verdict["verdict"], "pass", "{verdict}");
    verdict["claims"]["ras"]["subject"].clone()
}

#[test]
fn a_fake_container_is_identified_by_its_cgroup_and_auto_registered() {
    if !root_or_skip() {
        return;
    }
    let docker = FakeDocker::start();
    let r = docker.rasd(&["--auto-register"]);
    let mut c = FakeCgroup::new();
    let init = c.start_init(&docker, "fake");
    let n = nonce();
    let out = c.run_inside(init, &evidence_cmd(&r, &n));
    let subject = subject_of(&r, &out, &n, &c.id);
    assert_eq!(subject["kind"], "container");
    assert_eq!(subject["type"], "docker");
    assert_eq!(subject["id"], c.id.as_str());
}

#[test]
fn unregistered_containers_are_refused_without_auto_register() {
    if !root_or_skip() {
        return;
    }
    let r = Rasd::start(&[]);
    let mut c = FakeCgroup::new();
    let out = c.run(&[], &evidence_cmd(&r, &nonce()));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("NotRegistered"), "{}", text(&out.stderr));
}

#[test]
fn a_nested_pid_namespace_inside_the_container_counts_as_the_container() {
    if !root_or_skip() {
        return;
    }
    let docker = FakeDocker::start();
    let r = docker.rasd(&[]);
    let mut c = FakeCgroup::new();
    let init = c.start_init(&docker, "fake");
    r.add_container(&c.id);
    // Enter the fake container's pid namespace, then make a namespace nested in it.
    let n = nonce();
    let out = c.run_inside(init, &evidence_cmd(&r, &n));
    let subject = subject_of(&r, &out, &n, &c.id);
    assert_eq!(subject["id"], c.id.as_str());
    let registered = r.containers();
    assert_eq!(subject["pid_ns"], registered[0]["pid_ns"], "evidence names the registered (outer) namespace");
}

#[test]
fn a_process_in_the_containers_cgroup_but_another_pid_namespace_is_refused() {
    if !root_or_skip() {
        return;
    }
    let docker = FakeDocker::start();
    let r = docker.rasd(&[]);
    let mut c = FakeCgroup::new();
    c.start_init(&docker, "fake");
    r.add_container(&c.id);
    // A sibling pid namespace, moved into the same cgroup.
    let out = c.run(&[], &evidence_cmd(&r, &nonce()));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
    assert!(r.log().contains("pid namespace does not match"), "{}", r.log());
    // A host process (host pid namespace) moved into the cgroup.
    let script = format!("echo 0 > {} && {}", c.procs().display(), evidence_cmd(&r, &nonce()));
    let out = std::process::Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
}

#[test]
fn a_host_process_on_the_container_socket_is_refused() {
    if !root_or_skip() {
        return;
    }
    let r = Rasd::start(&["--auto-register"]);
    let sock = r.container_socket();
    let out = ras_tests::rasctl(&["--socket", sock.to_str().unwrap(), "evidence", "--nonce", &nonce()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
    assert!(r.log().contains("a process outside any container on the container socket"));
    // The container socket serves no host or admin interfaces at all.
    let out = ras_tests::rasctl(&["--socket", sock.to_str().unwrap(), "status"]);
    assert!(text(&out.stderr).contains("InterfaceNotFound"), "{}", text(&out.stderr));
}

#[test]
fn a_container_process_on_the_host_socket_is_refused() {
    if !root_or_skip() {
        return;
    }
    let r = Rasd::start(&[]);
    let mut c = FakeCgroup::new();
    let script =
        format!("exec {} --socket {} evidence --nonce {}", bin("rasctl").display(), r.socket().display(), nonce());
    let out = c.run(&[], &script);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
}
