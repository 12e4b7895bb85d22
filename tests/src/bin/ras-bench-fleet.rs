//! `ras-bench-fleet`: many container agents for `scripts/bench`, each `rasctl agent` running
//! as pid 1 of its own pid and mount namespace inside a Docker-like cgroup, registered
//! through a fake Docker Engine API (see `ras_tests::fake`). rasd identifies them from the
//! kernel exactly as it identifies Docker's containers: only the engine's answer at
//! registration is stood in, and that answer is off the measured path.
//!
//! Usage: `ras-bench-fleet RASCTL CONTAINER_SOCKET CONTROL`. It prints `docker PATH` (for
//! `rasd --docker-socket`), then watches the file CONTROL: `grow N` in it brings the fleet to
//! N agents and prints `grown N FIRST_ID`. When CONTROL is removed every agent and cgroup
//! goes and it exits. (A file, not stdin: every process the script starts would inherit the
//! write end of a pipe and keep the fleet alive.)

use std::io::Write;
use std::sync::Mutex;

use ras_tests::fake::{FakeCgroup, FakeDocker};

/// Spawning threads: each spawn waits on its init, so a few in parallel go faster.
const SPAWNERS: usize = 4;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, rasctl, socket, control] = args.as_slice() else {
        eprintln!("usage: ras-bench-fleet RASCTL CONTAINER_SOCKET CONTROL");
        std::process::exit(2);
    };
    let docker = FakeDocker::start();
    println!("docker {}", docker.socket.display());
    std::io::stdout().flush().expect("stdout");
    let fleet: Mutex<Vec<FakeCgroup>> = Mutex::new(Vec::new());
    let script = format!("exec {rasctl} --socket {socket} agent --max-backoff 1000 2>/dev/null");
    loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let Ok(line) = std::fs::read_to_string(control) else { break };
        let Some(n) = line.trim().strip_prefix("grow ").and_then(|n| n.trim().parse::<usize>().ok()) else {
            continue;
        };
        let have = fleet.lock().expect("fleet").len();
        if n <= have {
            continue;
        }
        let todo = n - have;
        std::thread::scope(|s| {
            for t in 0..SPAWNERS {
                let (fleet, docker, script) = (&fleet, &docker, &script);
                s.spawn(move || {
                    for i in (t..todo).step_by(SPAWNERS) {
                        let mut c = FakeCgroup::new();
                        c.start_init_with(docker, &format!("bench-{}", have + i), script);
                        fleet.lock().expect("fleet").push(c);
                    }
                });
            }
        });
        let first = fleet.lock().expect("fleet").first().map(|c| c.id.clone()).unwrap_or_default();
        println!("grown {} {first}", fleet.lock().expect("fleet").len());
        std::io::stdout().flush().expect("stdout");
    }
}
