//! A private PostgreSQL server for one test, from Debian's `postgresql` package: `initdb` into a
//! fresh temp dir, the server on a loopback port below the ephemeral range (see
//! [`crate::free_ports`]) with its unix socket in that dir, and a database `ras` owned by the
//! role `ras`, password `ras`, which clients reach over TCP with password authentication, as
//! ras-verifier reaches a production database. The fixture's own administration goes over the
//! unix socket as the superuser `postgres`.
//!
//! Nothing here uses, or depends on, a cluster the package may have created and started itself
//! (Debian's `main` on port 5432): the programs are called by their versioned path, never
//! through pg_wrapper or pg_ctlcluster, with every `PG*` variable removed from their
//! environment. Dropping the fixture stops the server by the PID the test started (immediate
//! shutdown) and removes the directory, even when the test fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{Gid, Pid, Uid};

/// The role, its password and its database.
const ROLE: &str = "ras";

/// A running PostgreSQL server, stopped and removed on drop.
pub struct Postgres {
    child: Option<Child>,
    port: u16,
    bin: PathBuf,
    owner: Option<(Uid, Gid)>,
    dir: tempfile::TempDir,
}

/// The newest `/usr/lib/postgresql/<version>/bin` with the server and the client programs
/// (found, not assumed: Debian 12 ships 15, the next release another).
fn bin_dir() -> Option<PathBuf> {
    let version = |name: &str| -> Option<(u32, u32)> {
        let mut parts = name.split('.').map(|p| p.parse::<u32>().ok());
        Some((parts.next()??, parts.next().unwrap_or(Some(0))?))
    };
    let programs = ["initdb", "postgres", "pg_isready", "psql"];
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| Some((version(e.file_name().to_str()?)?, e.path().join("bin"))))
        .filter(|(_, bin)| programs.iter().all(|p| bin.join(p).exists()))
        .max_by_key(|(v, _)| *v)
        .map(|(_, bin)| bin)
}

/// The user the server runs as: `postgres` when the test runs as root, because initdb and
/// postgres refuse to run as root; otherwise the test's own user (`None`).
fn server_owner() -> Option<Option<(Uid, Gid)>> {
    if !crate::is_root() {
        return Some(None);
    }
    let user = nix::unistd::User::from_name("postgres").ok().flatten()?;
    Some(Some((user.uid, user.gid)))
}

/// True when PostgreSQL is installed (and, as root, its `postgres` system user exists);
/// otherwise reports the gap (a failure in CI, a loud skip locally).
pub fn available() -> bool {
    let ok = bin_dir().is_some() && server_owner().is_some();
    ok || crate::unavailable("PostgreSQL (Debian's postgresql package: initdb, postgres, pg_isready, psql)")
}

/// Runs PostgreSQL programs with nothing of the caller's libpq setup: no `PG*` variables
/// (PGHOST, PGPASSWORD, PGSERVICE… would redirect or authenticate a connection), no
/// `~/.pgpass` and English messages, so that an error a test matches reads the same anywhere.
fn hermetic(cmd: &mut Command, dir: &Path) {
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k.starts_with("PG")) {
            cmd.env_remove(k);
        }
    }
    cmd.env("PGPASSFILE", dir.join("no-pgpass")).env("LC_ALL", "C").current_dir(dir);
}

impl Postgres {
    /// Initialises a cluster in a fresh temp dir, starts its server, waits until it accepts
    /// connections, and creates the role and database `ras`. Panics (with the server's log)
    /// when it cannot; call [`available`] first.
    pub fn start() -> Postgres {
        let bin = bin_dir().expect("PostgreSQL is not installed: check postgres::available() first");
        let owner = server_owner().expect("no postgres system user: check postgres::available() first");
        // As root, in /tmp itself: the server's user must reach the directory, and a TMPDIR of
        // root's (0700) would hide it.
        let base = if owner.is_some() { PathBuf::from("/tmp") } else { std::env::temp_dir() };
        let dir = tempfile::Builder::new().prefix("ras-pg-").tempdir_in(base).expect("tempdir");
        if let Some((uid, gid)) = owner {
            nix::unistd::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster's dir to postgres");
        }
        let mut pg = Postgres { child: None, port: 0, bin, owner, dir };
        let data = pg.data_dir();
        let out = pg
            .server_program("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"])
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed:\n{}{}", crate::text(&out.stdout), crate::text(&out.stderr));
        // The unix socket (a 0700 directory of the server's user) stays trusted, for the
        // fixture's own administration; TCP asks for the password, so a client that drops the
        // URL's password fails here as it would against a real database.
        let hba = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";
        std::fs::write(data.join("pg_hba.conf"), hba).expect("write pg_hba.conf");

        for _ in 0..10 {
            pg.port = crate::free_ports(1);
            match pg.spawn() {
                Ok(()) => {
                    pg.admin("postgres", &format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE}';"));
                    pg.admin("postgres", &format!("CREATE DATABASE {ROLE} OWNER {ROLE};"));
                    return pg;
                }
                // Another process bound the port between our probe and the server's bind.
                Err(log) if log.contains("could not bind") || log.contains("could not create any TCP/IP sockets") => {}
                Err(log) => panic!("postgres did not start:\n{log}"),
            }
        }
        panic!("postgres found no free port in 10 tries:\n{}", pg.log())
    }

    /// Starts the server on `self.port` and waits until it accepts connections; on failure
    /// the server is reaped and the error is its log.
    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.log_path()).expect("postgres log");
        let mut child = self
            .server_program("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.path().display()))
            // A test's database is thrown away: flushing to disk only costs time. Commits still
            // reach the kernel before the reply (synchronous_commit stays on), so the data of
            // a server that was killed, not shut down, are there when it starts again.
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn postgres");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.ready() {
                self.child = Some(child);
                return Ok(());
            }
            let exited = child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let why = if exited { "" } else { "not ready within 30 s\n" };
                return Err(format!("{why}{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server accepts connections on its TCP port (pg_isready: authentication is not
    /// tried, so this holds before the role exists).
    fn ready(&self) -> bool {
        let mut cmd = Command::new(self.program("pg_isready"));
        hermetic(&mut cmd, self.dir.path());
        let port = self.port.to_string();
        cmd.args(["-q", "-h", "127.0.0.1", "-p", &port, "-d", "postgres", "-U", "postgres", "-t", "2"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    }

    /// A program of the server's version, run as the server's user.
    fn server_program(&self, name: &str) -> Command {
        let mut cmd = match self.owner {
            // setpriv execs the program itself, so a spawned server's PID is the postmaster's.
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups"]);
                c.arg(self.program(name));
                c
            }
            None => Command::new(self.program(name)),
        };
        hermetic(&mut cmd, self.dir.path());
        cmd
    }

    /// The path of a PostgreSQL program (`psql`, `pg_dump`, …) of the server's version.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// `postgres://ras:ras@127.0.0.1:PORT/ras`: the role `ras` with its password, over TCP.
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}:{ROLE}@127.0.0.1:{}/{ROLE}", self.port)
    }

    /// Runs `sql` (one or more statements) with psql through [`Postgres::url`], as the role
    /// `ras`, and returns its output: unaligned, tuples only (`select 1` gives `"1\n"`).
    /// Panics with psql's error when a statement fails.
    pub fn psql(&self, sql: &str) -> String {
        self.run_psql(&[&self.url()], sql)
    }

    /// Like [`Postgres::psql`], as the superuser `postgres` on the unix socket, in the
    /// database `ras`: to look at what a client did, or to do to it what only an
    /// administrator can (`pg_terminate_backend`, `ALTER ROLE`).
    pub fn psql_admin(&self, sql: &str) -> String {
        self.admin(ROLE, sql)
    }

    fn admin(&self, database: &str, sql: &str) -> String {
        let socket_dir = self.dir.path().to_str().expect("utf-8 temp dir");
        let port = self.port.to_string();
        self.run_psql(&["-h", socket_dir, "-p", &port, "-U", "postgres", "-d", database], sql)
    }

    /// psql with `connection` arguments, never prompting (-w), stopping at the first error.
    /// The statements go on stdin (not `-c`, which would run them as one transaction, where
    /// `CREATE DATABASE` is refused), written from a thread so a large result cannot block it.
    fn run_psql(&self, connection: &[&str], sql: &str) -> String {
        let mut cmd = Command::new(self.program("psql"));
        hermetic(&mut cmd, self.dir.path());
        let mut child = cmd
            .args(connection)
            .args(["-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn psql");
        let mut stdin = child.stdin.take().expect("psql stdin");
        let out: Output = std::thread::scope(|s| {
            s.spawn(move || {
                let _ = stdin.write_all(sql.as_bytes());
            });
            child.wait_with_output().expect("psql output")
        });
        assert!(out.status.success(), "psql {connection:?} failed on:\n{sql}\n{}", crate::text(&out.stderr));
        crate::text(&out.stdout)
    }

    /// Stops the server (immediate shutdown: SIGQUIT) and waits for it, if it runs. The
    /// postmaster stops its backends (SIGKILL after 5 s), reaps them and exits, with no
    /// checkpoint; committed data stay, and the next start replays them from the WAL.
    pub fn stop(&mut self) {
        self.shutdown(Signal::SIGQUIT);
    }

    /// Sends the postmaster `signal` (SIGQUIT immediate, SIGINT fast, SIGTERM smart shutdown)
    /// and waits for it to exit, SIGKILL after 15 s.
    fn shutdown(&mut self, signal: Signal) {
        let Some(mut c) = self.child.take() else { return };
        // Our own child, not yet reaped, so the pid names no other process.
        let _ = kill(Pid::from_raw(c.id() as i32), signal);
        let deadline = Instant::now() + Duration::from_secs(15);
        while c.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = c.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.wait();
    }

    /// Stops the server and starts it again on the same data and port, as an operator's
    /// restart does (fast shutdown: SIGINT, a checkpoint): clients' connections break, their
    /// committed data stay.
    pub fn restart(&mut self) {
        self.shutdown(Signal::SIGINT);
        if let Err(log) = self.spawn() {
            panic!("postgres did not come back on port {}:\n{log}", self.port);
        }
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("postgres is running").id()
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temp dir: the cluster (`data/`), the unix socket and the log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The server first: the temp dir (a field, dropped after this) holds its cluster.
        self.stop();
    }
}
