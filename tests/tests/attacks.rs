//! The adversarial suite: each test is one way an attacker with a shell on the host or in a
//! container would try to bend "which process, which container" (doc/SECURITY.md lists the
//! classes). Every test states the attack, runs it against the built rasd, and checks that the
//! kernel's account wins. Root only; the Docker ones need the test engine.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ras_tests::docker::{self, Container};
use ras_tests::fake::{FakeCgroup, FakeDocker};
use ras_tests::{bin, is_root, nonce, text, wait_for, Rasd, Raw};
use serde_json::{json, Value};

fn root_or_skip() -> bool {
    is_root() || ras_tests::unavailable("root (cgroups and namespaces)")
}

/// The cgroup hierarchy the fake cgroups live in: v1 `pids`, or the unified one.
fn cgroup_base() -> PathBuf {
    let v1 = Path::new("/sys/fs/cgroup/pids");
    if v1.join("cgroup.procs").exists() {
        v1.to_path_buf()
    } else {
        PathBuf::from("/sys/fs/cgroup")
    }
}

/// A user's delegated cgroup subtree (as systemd gives every user session), owned by
/// uid 65534, holding a cgroup named `docker/<id>` after a real container, and an impostor in
/// it: a process of that user in a new user and pid namespace (`unshare -Urpf`), so it is
/// pid 1 of its namespace like a container init. Removed on drop.
struct Impostor {
    root: PathBuf,
    child: std::process::Child,
}

impl Impostor {
    fn start(id: &str, script: &str) -> Impostor {
        let root = cgroup_base().join(format!("ras-test-user-{}", &nonce()[16..]));
        let leaf = root.join("docker").join(id);
        std::fs::create_dir_all(&leaf).unwrap();
        for d in [&root, &root.join("docker"), &leaf] {
            std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
            std::os::unix::fs::chown(d.join("cgroup.procs"), Some(65534), Some(65534)).unwrap();
        }
        let procs = leaf.join("cgroup.procs");
        let inner = format!(
            "echo $$ > {} && exec setpriv --reuid 65534 --regid 65534 --clear-groups unshare -Urpf --kill-child sh -c '{script}'",
            procs.display()
        );
        let child = Command::new("sh").args(["-c", &inner]).spawn().unwrap();
        wait_for(Duration::from_secs(10), || std::fs::read_to_string(&procs).is_ok_and(|p| p.lines().count() >= 2))
            .expect("impostor in its cgroup");
        Impostor { root, child }
    }

    /// Host pid of the impostor's pid 1.
    fn pid1(&self) -> u32 {
        let procs =
            std::fs::read_to_string(self.root.join("docker").join(self.leaf_id()).join("cgroup.procs")).unwrap();
        procs
            .lines()
            .find(|pid| {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                status.lines().find_map(|l| l.strip_prefix("NSpid:")).and_then(|v| v.split_whitespace().last())
                    == Some("1")
            })
            .expect("impostor pid 1")
            .parse()
            .unwrap()
    }

    fn leaf_id(&self) -> String {
        std::fs::read_dir(self.root.join("docker")).unwrap().next().unwrap().unwrap().file_name().into_string().unwrap()
    }
}

impl Drop for Impostor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let leaf = self.root.join("docker").join(self.leaf_id());
        wait_for(Duration::from_secs(5), || {
            std::fs::read_to_string(leaf.join("cgroup.procs")).is_ok_and(|p| p.trim().is_empty())
        });
        let _ = std::fs::remove_dir(&leaf);
        let _ = std::fs::remove_dir(self.root.join("docker"));
        let _ = std::fs::remove_dir(&self.root);
    }
}

fn pid_ns_of(pid: u32) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(format!("/proc/{pid}/ns/pid")).unwrap())
}

fn docker_pid(name: &str) -> u32 {
    let out = Command::new("docker").args(["inspect", "-f", "{{.State.Pid}}", name]).output().unwrap();
    text(&out.stdout).trim().parse().unwrap()
}

/// `docker create` (an id, no process yet) and `docker start` later, so that an impostor can
/// be made first and get the lower pid, which a `/proc` scan in pid order would prefer.
fn created_agent(r: &Rasd) -> Container {
    let name = format!("ras-test-{}", &nonce()[16..]);
    let mount = format!("{}:/run/ras:ro", r.runtime_dir().join("container").display());
    let out = Command::new("docker")
        .args(["create", "--network", "none", "--name", &name, "-v", &mount, docker::IMAGE, "rasctl", "agent"])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker create: {}", text(&out.stderr));
    Container { id: text(&out.stdout).trim().to_string(), name }
}

fn container_socket_reachable_by_others(r: &Rasd) {
    std::fs::set_permissions(r.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Attack: an unprivileged user names a cgroup in its delegated subtree after a real
/// container and sits in it as pid 1 of a new pid namespace, before the container starts.
/// rasd must bind the container to the init Docker reports (verified by the kernel), refuse the
/// impostor on first contact, and the remote attestation must be answered by the real agent.
#[test]
fn an_impostor_init_in_a_delegated_cgroup_is_not_the_container() {
    if !root_or_skip() || !docker::available() {
        return;
    }
    let r = Rasd::start(&["--auto-register"]);
    container_socket_reachable_by_others(&r);
    let c = created_agent(&r);
    let n = nonce();
    let out_file = r.path("impostor.out");
    std::fs::write(&out_file, b"").unwrap();
    std::fs::set_permissions(&out_file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script = format!(
        "{} --socket {} evidence --nonce {n} >{o} 2>&1; echo exit=$? >>{o}; exec sleep 300",
        bin("rasctl").display(),
        r.container_socket().display(),
        o = out_file.display()
    );
    let imp = Impostor::start(&c.id, &script);
    wait_for(Duration::from_secs(10), || std::fs::read_to_string(&out_file).unwrap_or_default().contains("exit="))
        .expect("impostor's evidence attempt finished");
    let said = std::fs::read_to_string(&out_file).unwrap();
    assert!(!said.contains("exit=0"), "the impostor got evidence: {said}");
    assert!(r.containers().is_empty(), "first contact registered the impostor: {:?}", r.containers());

    assert!(Command::new("docker").args(["start", &c.name]).output().unwrap().status.success());
    r.add_container(&c.name);
    let real_ns = pid_ns_of(docker_pid(&c.name));
    let reg = r.containers();
    assert_eq!(reg[0]["pid_ns"], real_ns, "bound to the real init, not the impostor ({})", pid_ns_of(imp.pid1()));
    r.wait_agent(&c.id);
    let out = r.attest(&["--json", "--container", &c.id, "--type", "docker"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), r.log());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["claims"]["ras"]["subject"]["pid_ns"], real_ns);
}

/// Attack: the impostor waits for rasd to restart, hoping the start-up re-scan picks it.
/// rasd re-verifies the recorded init (pid, start time, namespace) and never re-picks.
#[test]
fn a_restart_never_re_picks_an_impostor() {
    if !root_or_skip() || !docker::available() {
        return;
    }
    let mut r = Rasd::start(&[]);
    let c = created_agent(&r);
    let _imp = Impostor::start(&c.id, "exec sleep 300");
    assert!(Command::new("docker").args(["start", &c.name]).output().unwrap().status.success());
    r.add_container(&c.id);
    let real_ns = pid_ns_of(docker_pid(&c.name));
    r.restart();
    let reg = r.containers();
    assert_eq!(reg.len(), 1, "{}", r.log());
    assert_eq!(reg[0]["pid_ns"], real_ns);
    // And once the real container has stopped, a restart drops it instead of finding the
    // impostor.
    r.stop();
    c.kill();
    wait_for(Duration::from_secs(10), || docker_pid(&c.name) == 0).expect("container stopped");
    r.restart();
    assert!(r.containers().is_empty(), "{:?}\n{}", r.containers(), r.log());
    assert!(r.log().contains("registration dropped"), "{}", r.log());
}

/// A container that shares the host's pid namespace cannot be told apart from host processes
/// by its namespace, so rasd refuses to register it rather than trust its cgroup alone.
#[test]
fn a_pid_host_container_cannot_be_registered() {
    if !root_or_skip() || !docker::available() {
        return;
    }
    let r = Rasd::start(&[]);
    let c = Container::run_with(&r, &["--pid", "host"], &["sleep", "300"]);
    let out = r.rasctl(&["container", "add", &c.id, "--type", "docker"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("host's pid namespace"), "{}", text(&out.stderr));
    assert!(r.containers().is_empty());
}

/// The runtime's word is a claim: a runtime (here a fake Docker API) that names a process
/// outside the container, or a container whose cgroup was delegated to a user, is refused.
#[test]
fn a_runtime_that_names_a_process_outside_the_container_is_refused() {
    if !root_or_skip() {
        return;
    }
    let docker = FakeDocker::start();
    let r = docker.rasd(&[]);
    let mut c = FakeCgroup::new();
    c.start_init(&docker, "fake");
    // The runtime lies: it names a host process.
    let mut host = Command::new("sleep").arg("300").spawn().unwrap();
    docker.set(&c.id, "fake", host.id());
    let out = r.rasctl(&["container", "add", "fake", "--type", "docker"]);
    let _ = host.kill();
    let _ = host.wait();
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("not in the container's cgroup"), "{}", text(&out.stderr));
    // The runtime names the real init, but its cgroup belongs to a user.
    let init = c.init_pid();
    docker.set(&c.id, "fake", init);
    let dir = cgroup_base().join("docker").join(&c.id);
    std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
    let out = r.rasctl(&["container", "add", "fake", "--type", "docker"]);
    std::os::unix::fs::chown(&dir, Some(0), None).unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("delegated cgroup"), "{}", text(&out.stderr));
    // Owned by root again, the same init registers.
    r.add_container("fake");
}

/// What the attack scripts share: reading one NUL-terminated reply off a socket.
const PY_PRELUDE: &str = r#"
def reply(s):
    buf = b""
    while not buf.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.rstrip(b"\0").decode()
"#;

fn python(script: &str, args: &[&str]) -> Output {
    let script = format!("{PY_PRELUDE}{script}");
    Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3")
}

/// Attack: connect, fork a helper that keeps the socket, then `execve` a trusted binary. The
/// helper's request must not get evidence naming the trusted binary: the kernel names the
/// writer of every message, and it is not the pinned process.
#[test]
fn a_forked_helper_cannot_speak_for_the_pinned_process() {
    if !root_or_skip() {
        return;
    }
    let r = Rasd::start(&[]);
    let script = r#"
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = json.dumps({"method": "io.ras.Attestation.GetEvidence", "parameters": {"nonce": sys.argv[2]}}).encode() + b"\0"
if os.fork() == 0:
    time.sleep(0.5)
    s.sendall(req)
    sys.stdout.write(reply(s))
    sys.stdout.flush()
    os._exit(0)
os.set_inheritable(s.fileno(), True)
os.execv("/bin/sleep", ["sleep", "2"])
"#;
    let out = python(script, &[r.socket().to_str().unwrap(), &nonce()]);
    let reply: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}{}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(reply["error"], "io.ras.Protocol.PeerChanged", "{reply}");
    assert!(reply["parameters"]["reason"].as_str().unwrap().contains("written by"), "{reply}");
    assert!(r.log().contains("foreign_writer"), "{}", r.log());
}

/// Attack: connect as one program, get identified, then `execve` another and ask through
/// the same connection. Identity was fixed when rasd identified the connection; the request
/// after the exec is refused. (Identification runs as the connection is accepted: a process
/// that execs within those microseconds is identified as what it became. See SECURITY.md.)
#[test]
fn exec_after_connect_is_refused() {
    if !root_or_skip() {
        return;
    }
    let r = Rasd::start(&[]);
    let script = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = '{"method":"io.ras.Attestation.GetEvidence","parameters":{"nonce":"%s"}}' % sys.argv[2]
s.sendall(req.encode() + b"\0")
sys.stdout.write(reply(s) + "\0")
sys.stdout.flush()
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.execv("/bin/sh", ["sh", "-c", "printf '%s\\000' \"$0\" >&3; timeout 10 cat <&3", req])
"#;
    let out = python(script, &[r.socket().to_str().unwrap(), &nonce()]);
    let body = text(&out.stdout);
    let replies: Vec<Value> = body
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(|s| serde_json::from_str(s).unwrap_or_else(|_| panic!("{body}{}", text(&out.stderr))))
        .collect();
    assert_eq!(replies.len(), 2, "{body}{}", text(&out.stderr));
    assert!(replies[0]["parameters"]["evidence"].is_string(), "the identified process is served: {}", replies[0]);
    assert_eq!(replies[1]["error"], "io.ras.Protocol.PeerChanged", "{}", replies[1]);
    assert!(replies[1]["parameters"]["reason"].as_str().unwrap().contains("executed another file"), "{}", replies[1]);
}

/// Attack: connect from one cgroup, get identified, then move into another cgroup and ask
/// through the same connection. The cgroup names the container, so it was fixed at connect;
/// the request after the move is refused.
#[test]
fn a_cgroup_move_after_connect_is_refused() {
    if !root_or_skip() {
        return;
    }
    let r = Rasd::start(&[]);
    let target = cgroup_base().join(format!("ras-test-move-{}", &nonce()[..12]));
    std::fs::create_dir(&target).unwrap();
    let script = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def call():
    req = '{"method":"io.ras.Attestation.GetEvidence","parameters":{"nonce":"%s"}}' % sys.argv[2]
    s.sendall(req.encode() + b"\0")
    sys.stdout.write(reply(s) + "\n")
    sys.stdout.flush()
call()
with open(sys.argv[3], "w") as f:
    f.write("0")
call()
"#;
    let procs = target.join("cgroup.procs");
    let out = python(script, &[r.socket().to_str().unwrap(), &nonce(), procs.to_str().unwrap()]);
    let _ = std::fs::remove_dir(&target);
    let body = text(&out.stdout);
    let replies: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{body}{}", text(&out.stderr))))
        .collect();
    assert_eq!(replies.len(), 2, "{body}{}", text(&out.stderr));
    assert!(replies[0]["parameters"]["evidence"].is_string(), "before the move: {}", replies[0]);
    assert_eq!(replies[1]["error"], "io.ras.Protocol.PeerChanged", "{}", replies[1]);
    assert!(replies[1]["parameters"]["reason"].as_str().unwrap().contains("another cgroup"), "{}", replies[1]);
    assert!(r.log().contains("change=\"cgroup\""), "{}", r.log());
}

/// The same attack from a cgroup whose path is longer than one read of rasd's per-request
/// check (cgroup v1 hosts with many hierarchies and deep paths get there), moving to a sibling
/// whose path differs only past that read. rasd must serve the process while it stays and
/// refuse it once it moved, comparing the whole file, not its first bytes.
#[test]
fn a_cgroup_move_between_long_paths_is_refused() {
    if !root_or_skip() {
        return;
    }
    let r = Rasd::start(&[]);
    // Paths over PATH_MAX: every step is relative to its parent's fd. The script leaves the
    // cgroups and removes them whatever happened.
    let script = r#"
import os, socket, sys
base, sock, nonce, top = sys.argv[1:5]
levels = [top] + ["d" * 250] * 16
def opendirs(names):
    fds = [os.open(base, os.O_RDONLY | os.O_DIRECTORY)]
    for n in names:
        try:
            os.mkdir(n, dir_fd=fds[-1])
        except FileExistsError:
            pass
        fds.append(os.open(n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
    return fds
def enter(fd):
    p = os.open("cgroup.procs", os.O_WRONLY, dir_fd=fd)
    os.write(p, b"0")
    os.close(p)
a = opendirs(levels + ["a" * 250])
b = opendirs(levels + ["b" * 250])
try:
    enter(a[-1])
    sys.stderr.write("cgroup file: %d bytes\n" % len(open("/proc/self/cgroup").read()))
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    def call():
        req = '{"method":"io.ras.Attestation.GetEvidence","parameters":{"nonce":"%s"}}' % nonce
        s.sendall(req.encode() + b"\0")
        sys.stdout.write(reply(s) + "\n")
        sys.stdout.flush()
    call()
    call()
    enter(b[-1])
    call()
finally:
    enter(a[0])
    for fds, leaf in ((a, "a" * 250), (b, "b" * 250)):
        names = levels + [leaf]
        for i in range(len(names) - 1, -1, -1):
            try:
                os.rmdir(names[i], dir_fd=fds[i])
            except OSError:
                pass
"#;
    let base = cgroup_base();
    let top = format!("ras-test-long-{}", &nonce()[..12]);
    let out = python(script, &[base.to_str().unwrap(), r.socket().to_str().unwrap(), &nonce(), &top]);
    assert!(!base.join(&top).exists(), "the test's cgroups were left behind: {}", text(&out.stderr));
    let (body, err) = (text(&out.stdout), text(&out.stderr));
    let size: usize = err
        .lines()
        .find_map(|l| l.strip_prefix("cgroup file: ")?.strip_suffix(" bytes")?.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(size > 4096, "the cgroup file must exceed one read: {size} bytes");
    let replies: Vec<Value> =
        body.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{body}{err}"))).collect();
    assert_eq!(replies.len(), 3, "{body}{err}");
    for (i, reply) in replies[..2].iter().enumerate() {
        assert!(reply["parameters"]["evidence"].is_string(), "call {i} before the move: {reply}");
    }
    assert_eq!(replies[2]["error"], "io.ras.Protocol.PeerChanged", "{}", replies[2]);
    assert!(replies[2]["parameters"]["reason"].as_str().unwrap().contains("another cgroup"), "{}", replies[2]);
}

/// Attack: rewrite an executable in place with the same size and restore its mtime, hoping
/// the digest cache (keyed on what the owner can restore) reports the old digest.
#[test]
fn a_rewritten_executable_with_restored_mtime_gets_a_new_digest() {
    if !root_or_skip() {
        return;
    }
    let r = Rasd::start(&[]);
    let exe = r.path("rasctl-copy");
    std::fs::copy(bin("rasctl"), &exe).unwrap();
    let digest_reported = |exe: &Path| -> String {
        let n = nonce();
        let out = Command::new(exe)
            .args(["--socket", r.socket().to_str().unwrap(), "evidence", "--nonce", &n])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let (_, v) = r.verify_sim(&out.stdout, &n, &[]);
        v["claims"]["ras"]["caller"]["exe_sha256"].as_str().unwrap().to_string()
    };
    let sha = |p: &Path| ras_tests::sha256_hex(&std::fs::read(p).unwrap());
    assert_eq!(digest_reported(&exe), sha(&exe));
    let before = std::fs::metadata(&exe).unwrap();
    // Flip one byte of the compiler's note (a section the loader never reads).
    let mut bytes = std::fs::read(&exe).unwrap();
    let at = bytes.windows(13).position(|w| w == b"rustc version").expect("compiler note in the binary");
    bytes[at] = b'R';
    std::thread::sleep(Duration::from_millis(20));
    std::fs::OpenOptions::new().write(true).open(&exe).unwrap().write_all_at(&bytes[at..at + 1], at as u64).unwrap();
    let times = std::fs::FileTimes::new().set_modified(before.modified().unwrap());
    std::fs::File::options().write(true).open(&exe).unwrap().set_times(times).unwrap();
    let after = std::fs::metadata(&exe).unwrap();
    assert_eq!((after.len(), after.modified().unwrap()), (before.len(), before.modified().unwrap()));
    assert_eq!(digest_reported(&exe), sha(&exe), "the rewritten file's digest, not the cached one");
}

use std::os::unix::fs::FileExt;

/// Attack: the caller shows rasd its own view of the file system (a mount namespace with a
/// pristine copy bound over a measured file, or a chroot), hoping rasd measures through the
/// caller's root. Host files are measured from rasd's own root.
#[test]
fn a_callers_own_root_or_mounts_do_not_change_what_is_measured() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let measured = dir.path().join("measured");
    let pristine = dir.path().join("pristine");
    std::fs::write(&measured, b"what really runs\n").unwrap();
    std::fs::write(&pristine, b"what the verifier wants to see\n").unwrap();
    let r = Rasd::start(&["--measure-file", measured.to_str().unwrap()]);
    let n = nonce();
    let script = format!(
        "mount --bind {} {} && exec {} --socket {} evidence --nonce {n}",
        pristine.display(),
        measured.display(),
        bin("rasctl").display(),
        r.socket().display()
    );
    let out = Command::new("unshare").args(["-m", "sh", "-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, v) = r.verify_sim(&out.stdout, &n, &[]);
    assert_eq!(code, Some(0), "{v}");
    let m = &v["claims"]["ras"]["measurements"][0];
    assert_eq!(m["sha256"], ras_tests::sha256_hex(b"what really runs\n"), "{m}");
}

/// Attack: a container started with a cgroup parent no runtime pattern knows, and the host
/// socket mounted in, asks for host evidence and admin calls. The host socket serves only
/// processes in rasd's pid namespace with rasd's root; `--pid host` is not enough either.
#[test]
fn a_container_with_a_custom_cgroup_parent_is_not_the_host() {
    if !root_or_skip() || !docker::available() {
        return;
    }
    let r = Rasd::start(&[]);
    let parent = format!("/ras-custom-{}", &nonce()[16..]);
    let host_dir = format!("{}:/run/ras-host:ro", r.runtime_dir().display());
    for (extra, reason) in
        [(&[][..], "not in the host's pid namespace"), (&["--pid", "host"][..], "its root directory is not the host's")]
    {
        let opts = [&["--cgroup-parent", parent.as_str(), "-v", host_dir.as_str()][..], extra].concat();
        let c = Container::run_with(&r, &opts, &["sleep", "300"]);
        let out = c.exec(&["rasctl", "--socket", "/run/ras-host/rasd.sock", "evidence", "--nonce", &nonce()]);
        assert_ne!(out.status.code(), Some(0), "host evidence for a container: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains("PermissionDenied"), "{}", text(&out.stderr));
        let out = c.exec(&["rasctl", "--socket", "/run/ras-host/rasd.sock", "status"]);
        assert!(text(&out.stderr).contains("PermissionDenied"), "admin from a container: {}", text(&out.stderr));
        assert!(r.log().contains(reason), "{}", r.log());
    }
    for h in ["pids", "cpu", "memory", ""] {
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(h).join(parent.trim_start_matches('/')));
    }
}

/// True when `path` answers a varlink call as rasd does (an impostor never answers).
fn rasd_answers(path: &Path) -> bool {
    let Ok(s) = std::os::unix::net::UnixStream::connect(path) else { return false };
    s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut raw = Raw(s);
    raw.send(b"{\"method\":\"org.varlink.service.GetInfo\"}\0");
    let mut buf = [0u8; 4096];
    std::io::Read::read(&mut raw.0, &mut buf).is_ok_and(|n| n > 0 && text(&buf[..n]).contains("rasd"))
}

/// Attack: something that can write the socket directory (a container given it read-write)
/// removes rasd's container socket and binds its own, so other containers talk to it. rasd
/// notices within a second and binds its socket again; at start it takes the path back even
/// from a live impostor.
#[test]
fn a_replaced_container_socket_is_repaired() {
    if !root_or_skip() {
        return;
    }
    let mut r = Rasd::start(&[]);
    let path = r.container_socket();
    assert!(rasd_answers(&path));
    std::fs::remove_file(&path).unwrap();
    let impostor = std::os::unix::net::UnixListener::bind(&path).unwrap();
    wait_for(Duration::from_secs(10), || rasd_answers(&path)).unwrap_or_else(|| panic!("not repaired:\n{}", r.log()));
    assert!(r.log().contains("container socket repaired"), "{}", r.log());
    drop(impostor);
    // rasd down, an impostor listening at the path: rasd still starts and takes it back.
    r.stop();
    let _ = std::fs::remove_file(&path);
    let _impostor = std::os::unix::net::UnixListener::bind(&path).unwrap();
    r.restart();
    assert!(rasd_answers(&path), "{}", r.log());
}

/// The shipped mount is read-only: a container's root cannot remove or replace the socket.
#[test]
fn a_read_only_socket_directory_cannot_be_changed_by_a_container() {
    if !root_or_skip() || !docker::available() {
        return;
    }
    let r = Rasd::start(&[]);
    let c = Container::sleeper(&r);
    let out = c.exec(&["rm", "-f", "/run/ras/rasd.sock"]);
    assert_ne!(out.status.code(), Some(0), "a container removed rasd's socket");
    let out = c.exec(&["touch", "/run/ras/other"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(rasd_answers(&r.container_socket()));
}

/// Attack: one container opens 1,100 connections to the container socket and holds them,
/// more than the socket-wide bound, to leave every other container unanswered. Each
/// container has its own share; the other container is served.
#[test]
fn one_container_cannot_starve_another() {
    if !root_or_skip() {
        return;
    }
    let docker = FakeDocker::start();
    let r = docker.rasd(&["--auto-register"]);
    let mut a = FakeCgroup::new();
    let init_a = a.start_init(&docker, "greedy");
    let ready = r.path("greedy.ready");
    let attacker = format!(
        "exec python3 -c '\nimport resource, socket, sys, time\nresource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))\nconns = []\nfor i in range(1100):\n    s = socket.socket(socket.AF_UNIX)\n    s.connect(sys.argv[1])\n    conns.append(s)\nopen(sys.argv[2], \"w\").write(str(len(conns)))\ntime.sleep(120)\n' {} {}",
        r.container_socket().display(),
        ready.display()
    );
    let t = init_a.to_string();
    a.spawn(&["nsenter", "-t", &t, "-p", "--"], &attacker);
    wait_for(Duration::from_secs(60), || ready.exists()).unwrap_or_else(|| panic!("attacker not ready:\n{}", r.log()));
    let mut b = FakeCgroup::new();
    let init_b = b.start_init(&docker, "modest");
    let n = nonce();
    let cmd = format!(
        "exec timeout 20 {} --socket {} --json evidence --nonce {n}",
        bin("rasctl").display(),
        r.container_socket().display()
    );
    let out = b.run_inside(init_b, &cmd);
    assert!(out.status.success(), "the other container was starved: {}\n{}", text(&out.stderr), r.log());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (code, verdict) = r.verify_sim(v["evidence"].as_str().unwrap().as_bytes(), &n, &["--container", &b.id]);
    assert_eq!(code, Some(0), "{verdict}");
    assert!(r.log().contains("holds its share of connections"), "{}", r.log());
    let _ = json!({});
}

/// Attack: send rasd file descriptors (`SCM_RIGHTS`), hoping it closes them itself (a FUSE
/// file whose server never answers FLUSH would hang the closing thread) or leaks them. rasd
/// refuses them (`SO_PASSRIGHTS` off, where the kernel has it) or lets the kernel discard
/// them; it keeps serving, and its fd count does not grow.
#[test]
fn file_descriptors_sent_to_rasd_are_never_taken() {
    let r = Rasd::start(&[]);
    let fds_of = |pid: u32| std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    let before = fds_of(r.pid());
    let script = r#"
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
rd, wr = os.pipe()
req = json.dumps({"method": "org.varlink.service.GetInfo", "parameters": {}}).encode() + b"\0"
try:
    for _ in range(50):
        s.sendmsg([b" "], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [rd, wr]))])
    print("sent")
except PermissionError:
    print("refused")
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
s.sendall(req)
print(reply(s))
"#;
    let out = python(script, &[r.socket().to_str().unwrap()]);
    let said = text(&out.stdout);
    assert!(said.starts_with("sent") || said.starts_with("refused"), "{said}{}", text(&out.stderr));
    let reply: Value = serde_json::from_str(said.lines().nth(1).unwrap_or_default())
        .unwrap_or_else(|_| panic!("{said}{}", text(&out.stderr)));
    assert!(reply["error"].is_null() || reply["error"] == "io.ras.Protocol.MalformedMessage", "{reply}");
    assert!(rasd_answers(&r.socket()), "rasd stopped serving");
    wait_for(Duration::from_secs(5), || fds_of(r.pid()) <= before)
        .unwrap_or_else(|| panic!("fds grew: {before} -> {}", fds_of(r.pid())));
}
