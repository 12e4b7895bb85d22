//! Real Docker containers for the container tests, made from the `ras-test:latest` image
//! that `scripts/setup-docker` builds (busybox + a static rasctl). Every container is removed
//! on drop, by name, even when the test fails.

use std::process::{Command, Output};

use crate::{nonce, text, Rasd};

/// The image the tests run.
pub const IMAGE: &str = "ras-test:latest";

/// True when a Docker engine answers and the test image exists; otherwise reports the gap
/// (a failure in CI, a loud skip locally).
pub fn available() -> bool {
    let ok = Command::new("docker").args(["image", "inspect", IMAGE]).output().is_ok_and(|o| o.status.success());
    ok || crate::unavailable("docker with the ras-test image (scripts/setup-docker)")
}

/// A running container, removed on drop.
pub struct Container {
    /// Full id.
    pub id: String,
    /// Unique name.
    pub name: String,
}

impl Container {
    /// `docker run -d --network none -v <runtime>/container:/run/ras:ro IMAGE cmd...`
    pub fn run(rasd: &Rasd, cmd: &[&str]) -> Container {
        Container::run_with(rasd, &[], cmd)
    }

    /// Like [`Container::run`], with extra `docker run` options (`--network` among them
    /// replaces the default `--network none`).
    pub fn run_with(rasd: &Rasd, options: &[&str], cmd: &[&str]) -> Container {
        let name = format!("ras-test-{}", &nonce()[16..]);
        // Read-only, as every example ships it: a writable mount would let the container's
        // root replace the socket the other containers use.
        let mount = format!("{}:/run/ras:ro", rasd.runtime_dir().join("container").display());
        // No network unless the test asks for one.
        let network: &[&str] = if options.contains(&"--network") { &[] } else { &["--network", "none"] };
        let out = Command::new("docker")
            .args(["run", "-d"])
            .args(network)
            .args(["--name", &name, "-v", &mount])
            .args(options)
            .arg(IMAGE)
            .args(cmd)
            .output()
            .expect("docker run");
        assert!(out.status.success(), "docker run: {}", text(&out.stderr));
        Container { id: text(&out.stdout).trim().to_string(), name }
    }

    /// A long-running container that only sleeps.
    pub fn sleeper(rasd: &Rasd) -> Container {
        Container::run(rasd, &["sleep", "3600"])
    }

    /// A container whose main process is `rasctl agent` (plus `extra` flags).
    pub fn agent(rasd: &Rasd, extra: &[&str]) -> Container {
        Container::run(rasd, &[&["rasctl", "agent"], extra].concat())
    }

    /// An agent container, registered with `rasd`, whose agent is connected.
    pub fn registered_agent(rasd: &Rasd, extra: &[&str]) -> Container {
        let c = Container::agent(rasd, extra);
        rasd.add_container(&c.id);
        rasd.wait_agent(&c.id);
        c
    }

    /// `docker exec`.
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("docker").arg("exec").arg(&self.name).args(args).output().expect("docker exec")
    }

    /// The container's combined log.
    pub fn logs(&self) -> String {
        let o = Command::new("docker").args(["logs", &self.name]).output().expect("docker logs");
        text(&o.stdout) + &text(&o.stderr)
    }

    /// `docker kill`.
    pub fn kill(&self) {
        let _ = Command::new("docker").args(["kill", &self.name]).output();
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.name]).output();
    }
}
