//! The PostgreSQL fixture (`ras_tests::postgres`) that ras-verifier's database tests run on:
//! its URL authenticates with the role's password over TCP (and a wrong one is refused), its
//! data survive a restart, and dropping it leaves no server process and no directory behind.

use std::process::Command;

use ras_tests::postgres::{self, Postgres};
use ras_tests::text;

/// The processes whose parent is `pid` (a postmaster's backends and workers), with their start
/// times, so that a pid the kernel hands out again later is not mistaken for one of them.
fn children(pid: u32) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some((parent, start)) = stat(child) {
            if parent == pid {
                out.push((child, start));
            }
        }
    }
    out
}

/// (parent pid, start time) from `/proc/<pid>/stat`, if that process exists.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields count from its end.
    let rest: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
    Some((rest.get(1)?.parse().ok()?, rest.get(19)?.parse().ok()?))
}

#[test]
fn the_postgres_fixture_authenticates_over_tcp_restarts_and_leaves_nothing_behind() {
    if !postgres::available() {
        return;
    }
    let mut pg = Postgres::start();
    let url = pg.url();
    assert_eq!(url, format!("postgres://ras:ras@127.0.0.1:{}/ras", pg.port()));
    assert_eq!(pg.psql("select 1"), "1\n");
    // Through the URL: its role and database, over TCP to the loopback address, and with
    // password authentication (scram), not trust.
    let who = pg.psql("select current_user, current_database(), inet_server_addr(), inet_server_port()");
    assert_eq!(who.trim(), format!("ras|ras|127.0.0.1|{}", pg.port()));
    let auth = pg.psql_admin("select auth_method from pg_hba_file_rules where type = 'host'");
    assert_eq!(auth.trim(), "scram-sha-256", "the TCP rule must ask for the password");
    let wrong = Command::new(pg.program("psql"))
        .arg(url.replace("ras:ras@", "ras:wrong@"))
        .args(["-X", "-w", "-c", "select 1"])
        .env("PGPASSFILE", pg.dir().join("no-pgpass"))
        .env_remove("PGPASSWORD")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(!wrong.status.success(), "a wrong password was accepted");
    assert!(text(&wrong.stderr).contains("password authentication failed"), "{}", text(&wrong.stderr));
    // A private server: only the loopback address, below the ephemeral range, no fsync.
    assert_eq!(pg.psql_admin("show listen_addresses").trim(), "127.0.0.1");
    assert_eq!(pg.psql_admin("show fsync").trim(), "off");
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let low: u16 = range.split_whitespace().next().unwrap().parse().unwrap();
    assert!(pg.port() < low, "port {} is in the ephemeral range", pg.port());
    assert_ne!(pg.port(), 5432, "the fixture must not take the system cluster's port");

    // The role owns its database: it creates tables, and they outlive a restart.
    pg.psql("create table t (x int); insert into t values (42);");
    let before = pg.pid();
    pg.restart();
    assert_ne!(pg.pid(), before, "restart started no new server");
    assert_eq!(pg.psql("select x from t"), "42\n");
    assert_eq!(pg.psql_admin("select tableowner from pg_tables where tablename = 't'").trim(), "ras");

    let (pid, port, dir) = (pg.pid(), pg.port(), pg.dir().to_path_buf());
    let start = stat(pid).expect("the postmaster runs").1;
    let family = children(pid);
    assert!(!family.is_empty(), "the postmaster has no workers: is {pid} the postmaster?");
    drop(pg);
    assert!(stat(pid).is_none_or(|(_, s)| s != start), "the postmaster {pid} outlived the fixture");
    for (child, started) in family {
        assert!(stat(child).is_none_or(|(_, s)| s != started), "postgres process {child} outlived the fixture");
    }
    assert!(!ras_tests::listening(port), "something still listens on port {port}");
    assert!(!dir.exists(), "{} was left behind", dir.display());
}
