//! The README's tour, run line by line as written, against a fresh rasd, a ras-bridge the
//! tour itself starts, and a docker container: the README cannot drift from what works. Only
//! the placeholders are replaced (HOST, IMAGE, the container name, the socket paths), each
//! by an explicit rule below; a tour line that fails fails the test with its output.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ras_tests::docker::{self, IMAGE};
use ras_tests::{nonce, repo_root, text, Rasd};

/// The lines of the first ```sh block after "## A tour", without comments and blanks.
fn tour_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let after = &readme[readme.find("## A tour").expect("README has a tour")..];
    let block = &after[after.find("```sh\n").unwrap() + 6..];
    let block = &block[..block.find("```").unwrap()];
    block.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
}

/// Kills the bridge the tour started and removes its container, also when the test fails.
struct Cleanup {
    bridge: Option<Child>,
    container: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut b) = self.bridge.take() {
            let _ = b.kill();
            let _ = b.wait();
        }
        let _ = Command::new("docker").args(["rm", "-f", &self.container]).output();
    }
}

#[test]
fn the_readme_tour_runs_as_written() {
    if !docker::available() {
        return;
    }
    let lines = tour_lines();
    assert!(lines.len() >= 12, "the tour lost its lines: {lines:?}");
    let r = Rasd::start(&[]);
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("app.bin"), b"the workload's binary").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let name = format!("ras-tour-{}", &nonce()[..12]);
    let mut cleanup = Cleanup { bridge: None, container: name.clone() };
    let socket = r.socket().to_str().unwrap().to_string();
    let substitute = |line: &str| -> String {
        line.replace("tcp:HOST:7000", &format!("tcp:127.0.0.1:{port}"))
            .replace("tcp:0.0.0.0:7000", &format!("tcp:127.0.0.1:{port} --daemon {socket}"))
            .replace("/run/ras/container:", &format!("{}/container:", r.runtime_dir().display()))
            // The tests' containers have no network; the agent needs none.
            .replace("docker run -d", "docker run -d --network none")
            .replace(" IMAGE ", &format!(" {IMAGE} "))
            .replace(" web ", &format!(" {name} "))
    };
    let path = format!("{}:{}", ras_tests::bin_dir().display(), std::env::var("PATH").unwrap_or_default());
    let bash = |line: &str| {
        let mut c = Command::new("bash");
        c.args(["-euo", "pipefail", "-c", line]).current_dir(work.path()).env("PATH", &path).env("RAS_SOCKET", &socket);
        c
    };
    let mut ran = 0;
    for line in &lines {
        let cmd = substitute(line);
        if let Some(background) = cmd.strip_suffix('&') {
            // The tour starts the bridge in the background; the test keeps its pid.
            let child = bash(&format!("exec {background}")).stdin(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
            cleanup.bridge = Some(child);
            ras_tests::wait_for(Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
            ran += 1;
            continue;
        }
        let out = bash(&cmd).output().unwrap();
        assert!(
            out.status.success(),
            "README tour line failed ({:?}):\n  {line}\nran as:\n  {cmd}\n--- stdout\n{}--- stderr\n{}--- rasd log\n{}",
            out.status.code(),
            text(&out.stdout),
            text(&out.stderr),
            r.log()
        );
        if cmd.contains("attest") && !cmd.contains("--json") {
            assert!(text(&out.stdout).contains("verdict: PASS"), "{line}: no passing verdict: {}", text(&out.stdout));
        }
        if cmd.contains("--container") {
            assert!(
                text(&out.stdout).contains(&format!("({name})")),
                "{line}: the verdict does not name the container"
            );
        }
        if cmd.starts_with("rasctl container add") {
            // The agent (started by the tour's docker run) connects with backoff; the tour's
            // next remote challenge needs it.
            let id = Command::new("docker").args(["inspect", "-f", "{{.Id}}", &name]).output().unwrap();
            r.wait_agent(text(&id.stdout).trim());
        }
        ran += 1;
    }
    assert_eq!(ran, lines.len());
}
