//! The identity table: which container a cgroup path belongs to.
//!
//! Each pattern names one runtime's layout **anchored at the root of the hierarchy**, below the
//! parent cgroups the runtime itself creates (`/docker`, `/system.slice`, `/machine.slice`,
//! `/kubepods…`). Creating a cgroup there takes root on the host; a user's delegated subtree
//! (`/user.slice/…/user@1000.service/…`) can hold any names, so nothing below it is a
//! container, whatever it is called. Because only the root prefix is read, names a workload
//! makes below its own cgroup cannot steer the result either. On cgroup v1 every hierarchy
//! line is read; lines that name different containers make the caller ambiguous and it is
//! refused.
//!
//! Rootless podman runs its containers inside the user's own delegated cgroup, so their
//! cgroup says nothing the user could not say: they are the user's host processes here.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Container runtimes rasd recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// Docker (moby), cgroupfs or systemd driver.
    Docker,
    /// Podman / libpod.
    Podman,
    /// containerd, including CRI (kubepods) and nerdctl.
    Containerd,
    /// CRI-O.
    Crio,
}

impl Runtime {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::Crio => "crio",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Runtime::Docker, Runtime::Podman, Runtime::Containerd, Runtime::Crio].into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container as the kernel's cgroup path names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContainerRef {
    /// The runtime.
    pub runtime: Runtime,
    /// Full 64-hex-digit container id.
    pub id: String,
}

impl fmt::Display for ContainerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.runtime, &self.id[..12.min(self.id.len())])
    }
}

/// What the cgroup file says about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// In no container.
    Host,
    /// In one container.
    Container(ContainerRef),
    /// cgroup v1 hierarchies disagree about the container.
    Ambiguous,
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `<prefix><64 hex><suffix>` → the id.
fn wrapped<'a>(c: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    c.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)).filter(|id| is_id(id))
}

/// A container scope directly below a pod cgroup: `<id>` (containerd, cgroupfs),
/// `cri-containerd-<id>.scope`, `crio-<id>[.scope]`, `docker-<id>.scope` (cri-dockerd).
fn pod_member(c: &str) -> Option<(Runtime, &str)> {
    if is_id(c) {
        return Some((Runtime::Containerd, c));
    }
    wrapped(c, "cri-containerd-", ".scope")
        .map(|id| (Runtime::Containerd, id))
        .or_else(|| wrapped(c, "crio-", ".scope").or_else(|| wrapped(c, "crio-", "")).map(|id| (Runtime::Crio, id)))
        .or_else(|| wrapped(c, "docker-", ".scope").map(|id| (Runtime::Docker, id)))
}

/// `/kubepods[.slice]/[<qos>/]<pod>/<container>`, in the cgroupfs and systemd spellings.
fn kubepods<'a>(rest: &[&'a str]) -> Option<(Runtime, &'a str)> {
    let is_qos =
        |c: &str| matches!(c, "besteffort" | "burstable" | "kubepods-besteffort.slice" | "kubepods-burstable.slice");
    let is_pod =
        |c: &str| c.starts_with("pod") || (c.starts_with("kubepods-") && c.contains("-pod") && c.ends_with(".slice"));
    let rest = match rest.first() {
        Some(q) if is_qos(q) => &rest[1..],
        _ => rest,
    };
    match rest {
        [pod, member, ..] if is_pod(pod) => pod_member(member),
        _ => None,
    }
}

/// The container a single cgroup path names, from its root prefix only.
pub fn container_of_path(path: &str) -> Option<ContainerRef> {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).take(5).collect();
    let found = match parts.as_slice() {
        // Docker, cgroupfs driver (the default parent `/docker`).
        ["docker", id, ..] if is_id(id) => Some((Runtime::Docker, *id)),
        // systemd driver: docker, nerdctl.
        ["system.slice", scope, ..] => wrapped(scope, "docker-", ".scope")
            .map(|id| (Runtime::Docker, id))
            .or_else(|| wrapped(scope, "nerdctl-", ".scope").map(|id| (Runtime::Containerd, id))),
        // Rootful podman: systemd and cgroupfs managers.
        ["machine.slice", scope, ..] => wrapped(scope, "libpod-", ".scope").map(|id| (Runtime::Podman, id)),
        ["libpod_parent", scope, ..] => wrapped(scope, "libpod-", "").map(|id| (Runtime::Podman, id)),
        // Kubernetes: containerd and CRI-O under the kubelet's parents.
        ["kubepods" | "kubepods.slice", rest @ ..] => kubepods(rest),
        _ => None,
    };
    found.map(|(runtime, id)| ContainerRef { runtime, id: id.to_string() })
}

/// Where a process is, from the whole text of `/proc/<pid>/cgroup`.
pub fn placement(cgroup_file: &str) -> Placement {
    let mut found: Option<ContainerRef> = None;
    for line in cgroup_file.lines() {
        // hierarchy-id:controllers:path — the path may itself contain ':'.
        let Some(path) = line.splitn(3, ':').nth(2) else { continue };
        if let Some(c) = container_of_path(path) {
            match &found {
                Some(f) if *f != c => return Placement::Ambiguous,
                _ => found = Some(c),
            }
        }
    }
    found.map_or(Placement::Host, Placement::Container)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f3f4e1a6b2c9d8e7f";
    const B: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn c(runtime: Runtime, id: &str) -> Placement {
        Placement::Container(ContainerRef { runtime, id: id.into() })
    }

    #[test]
    fn docker_cgroupfs_v1() {
        let f = format!("12:pids:/docker/{A}\n11:memory:/docker/{A}\n1:name=systemd:/docker/{A}\n0::/\n");
        assert_eq!(placement(&f), c(Runtime::Docker, A));
    }

    #[test]
    fn docker_cgroupfs_v2() {
        assert_eq!(placement(&format!("0::/docker/{A}\n")), c(Runtime::Docker, A));
    }

    #[test]
    fn docker_systemd_v1_and_v2() {
        assert_eq!(placement(&format!("0::/system.slice/docker-{A}.scope\n")), c(Runtime::Docker, A));
        let v1 = format!("4:memory:/system.slice/docker-{A}.scope\n1:name=systemd:/system.slice/docker-{A}.scope\n");
        assert_eq!(placement(&v1), c(Runtime::Docker, A));
    }

    #[test]
    fn podman_variants() {
        assert_eq!(placement(&format!("0::/machine.slice/libpod-{A}.scope\n")), c(Runtime::Podman, A));
        // Rootless podman lives in the user's delegated cgroup: not a container to rasd.
        let rootless =
            format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{A}.scope/container\n");
        assert_eq!(placement(&rootless), Placement::Host);
        assert_eq!(placement(&format!("0::/libpod_parent/libpod-{A}\n")), c(Runtime::Podman, A));
        // conmon runs beside the container and is not in it.
        assert_eq!(placement(&format!("0::/machine.slice/libpod-conmon-{A}.scope\n")), Placement::Host);
    }

    #[test]
    fn containerd_cri_and_nerdctl() {
        let sd = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/cri-containerd-{A}.scope\n"
        );
        assert_eq!(placement(&sd), c(Runtime::Containerd, A));
        let fs = format!("11:pids:/kubepods/besteffort/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/{A}\n");
        assert_eq!(placement(&fs), c(Runtime::Containerd, A));
        let guaranteed = format!("0::/kubepods/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/{A}\n");
        assert_eq!(placement(&guaranteed), c(Runtime::Containerd, A));
        assert_eq!(placement(&format!("0::/system.slice/nerdctl-{A}.scope\n")), c(Runtime::Containerd, A));
    }

    #[test]
    fn crio_variants() {
        let sd = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c3d4e_5f60.slice/crio-{A}.scope\n"
        );
        assert_eq!(placement(&sd), c(Runtime::Crio, A));
        assert_eq!(placement(&format!("0::/kubepods/besteffort/pod1b2c3d4e/crio-{A}\n")), c(Runtime::Crio, A));
        assert_eq!(placement(&format!("0::/kubepods.slice/crio-conmon-{A}.scope\n")), Placement::Host);
    }

    #[test]
    fn host_processes() {
        for f in ["0::/\n", "0::/user.slice/user-0.slice/session-1.scope\n", "0::/system.slice/docker.service\n", ""] {
            assert_eq!(placement(f), Placement::Host, "{f:?}");
        }
        // Short or upper-case ids are not container ids.
        assert_eq!(placement("0::/docker/abc123\n"), Placement::Host);
        assert_eq!(placement(&format!("0::/docker/{}\n", A.to_uppercase())), Placement::Host);
    }

    #[test]
    fn outermost_scope_wins_over_names_chosen_inside() {
        // A workload in A makes a cgroup named like B below its own.
        assert_eq!(placement(&format!("0::/docker/{A}/docker/{B}\n")), c(Runtime::Docker, A));
        assert_eq!(placement(&format!("0::/system.slice/docker-{A}.scope/docker-{B}.scope\n")), c(Runtime::Docker, A));
        assert_eq!(placement(&format!("0::/docker/{A}/kubepods/podx/{B}\n")), c(Runtime::Docker, A));
    }

    /// Every systemd user session has a delegated subtree; the user can name cgroups in it
    /// after any runtime. None of them is a container.
    #[test]
    fn names_in_a_delegated_subtree_are_not_containers() {
        let user = "/user.slice/user-1000.slice/user@1000.service/app.slice";
        for inner in [
            format!("docker/{A}"),
            format!("docker-{A}.scope"),
            format!("system.slice/docker-{A}.scope"),
            format!("machine.slice/libpod-{A}.scope"),
            format!("kubepods/besteffort/pod1/{A}"),
            format!("kubepods.slice/kubepods-pod1.slice/cri-containerd-{A}.scope"),
        ] {
            assert_eq!(placement(&format!("0::{user}/{inner}\n")), Placement::Host, "{inner}");
            // Nor below any other non-runtime parent (a custom --cgroup-parent, a service).
            assert_eq!(placement(&format!("0::/custom/{inner}\n")), Placement::Host, "{inner}");
            assert_eq!(placement(&format!("0::/system.slice/foo.service/{inner}\n")), Placement::Host, "{inner}");
        }
    }

    /// Below the kubelet's parents only a pod cgroup holds containers: another name there (a
    /// QoS slice repeated, a slice that is no pod's) names none.
    #[test]
    fn under_kubepods_only_pod_cgroups_hold_containers() {
        for path in [
            format!("/kubepods/besteffort/notapod/{A}"),
            format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort.slice/cri-containerd-{A}.scope"),
            format!("/kubepods.slice/other.slice/cri-containerd-{A}.scope"),
            format!("/kubepods.slice/kubepods-pod1.scope/cri-containerd-{A}.scope"),
            format!("/kubepods.slice/{A}"),
        ] {
            assert_eq!(placement(&format!("0::{path}\n")), Placement::Host, "{path}");
        }
        let pod = format!("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-{A}.scope\n");
        assert_eq!(placement(&pod), c(Runtime::Containerd, A));
    }

    #[test]
    fn runtime_names_round_trip_and_read_as_logged() {
        let all = [Runtime::Docker, Runtime::Podman, Runtime::Containerd, Runtime::Crio];
        assert_eq!(all.map(Runtime::as_str), ["docker", "podman", "containerd", "crio"]);
        for r in all {
            assert_eq!(Runtime::parse(r.as_str()), Some(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(Runtime::parse("lxc"), None);
        assert_eq!(Runtime::parse("Docker"), None);
        assert_eq!(ContainerRef { runtime: Runtime::Crio, id: A.into() }.to_string(), "crio:3f4e1a6b2c9d");
    }

    #[test]
    fn disagreeing_v1_hierarchies_are_ambiguous() {
        let f = format!("12:pids:/docker/{A}\n4:memory:/docker/{B}\n");
        assert_eq!(placement(&f), Placement::Ambiguous);
        // Moved into A in one hierarchy only: it names A (the pid-namespace check decides).
        let partial = format!("12:pids:/docker/{A}\n4:memory:/\n");
        assert_eq!(placement(&partial), c(Runtime::Docker, A));
    }
}
