//! The installed units under a real systemd: a cached Debian 12 tree (scripts/rootfs) gets
//! `scripts/install` with DESTDIR, boots with `systemd-nspawn -b` in its own network
//! namespace, and a oneshot unit inside (tests/boot/check.sh) uses rasd and ras-bridge the
//! way an operator's users would, then starts ras-verifier.service (when built) and asks it
//! for /healthz.

use std::path::Path;
use std::process::Command;

use ras_tests::{repo_root, text};

/// Copies `from` into `to` (reflinks where the file system can), keeping owners and modes.
fn copy_tree(from: &Path, to: &Path) {
    let st = Command::new("cp").args(["-a", "--reflink=auto"]).arg(from).arg(to).status().unwrap();
    assert!(st.success(), "copy {} to {}", from.display(), to.display());
}

fn symlink(target: &str, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[test]
fn the_installed_units_work_under_systemd_as_pid_1() {
    if !ras_tests::is_root() {
        ras_tests::unavailable("root (debootstrap and systemd-nspawn)");
        return;
    }
    let rootfs = Command::new(repo_root().join("scripts/rootfs")).output().unwrap();
    if !rootfs.status.success() {
        ras_tests::unavailable(&format!("a Debian 12 tree from scripts/rootfs: {}", text(&rootfs.stderr)));
        return;
    }
    let cached = std::path::PathBuf::from(text(&rootfs.stdout).trim());
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    copy_tree(&cached, &tree);

    let install = Command::new(repo_root().join("scripts/install"))
        .env("DESTDIR", &tree)
        .env("RAS_BIN_DIR", ras_tests::bin_dir())
        .output()
        .unwrap();
    assert!(install.status.success(), "scripts/install: {}", text(&install.stderr));
    // check.sh starts ras-verifier only when it is installed: once its crate is in the
    // workspace it must be, or that step would pass by not running.
    if repo_root().join("verifier/Cargo.toml").exists() {
        assert!(tree.join("usr/sbin/ras-verifier").exists(), "ras-verifier was not installed into the tree");
    }
    // What `systemctl enable` would do, plus the oneshot check.
    let etc = tree.join("etc/systemd/system");
    for s in ["rasd.socket", "rasd-container.socket", "ras-bridge.socket"] {
        symlink(&format!("/usr/lib/systemd/system/{s}"), &etc.join("sockets.target.wants").join(s));
    }
    std::fs::copy(repo_root().join("tests/boot/check.sh"), tree.join("usr/local/bin/ras-boot-check")).unwrap();
    std::fs::write(
        etc.join("ras-boot-check.service"),
        "[Unit]\nDescription=ras boot test\nAfter=sockets.target systemd-sysusers.service\n\
         [Service]\nType=oneshot\nExecStart=/usr/local/bin/ras-boot-check\nStandardOutput=journal+console\n",
    )
    .unwrap();
    symlink("/etc/systemd/system/ras-boot-check.service", &etc.join("multi-user.target.wants/ras-boot-check.service"));

    // `timeout` bounds a boot that hangs; nspawn's own console output is kept for diagnosis.
    let boot = Command::new("timeout")
        .args(["-k", "10", "300", "systemd-nspawn", "--quiet", "-b", "--register=no", "--keep-unit"])
        .args(["--private-network", "--console=pipe", "--machine=ras-boot-test", "-D"])
        .arg(&tree)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let log = std::fs::read_to_string(tree.join("ras-boot-log")).unwrap_or_default();
    let result = std::fs::read_to_string(tree.join("ras-boot-result")).unwrap_or_default();
    assert_eq!(
        result.trim(),
        "PASS",
        "nspawn exit {:?}\n--- check log\n{log}\n--- console\n{}{}",
        boot.status.code(),
        text(&boot.stdout),
        text(&boot.stderr)
    );
}
