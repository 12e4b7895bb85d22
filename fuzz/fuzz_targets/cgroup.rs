//! Fuzzes the cgroup identity parser of rasd, which reads `/proc/<pid>/cgroup` of a peer: a
//! workload names its own cgroups (cgroup namespaces make that easy), so the paths are
//! peer-controlled.
//!
//! Invariants, each following from `rasd::identity::cgroup` as written:
//! - a container id `container_of_path` returns is 64 lowercase hex digits, found in the path;
//! - the outermost match wins: appending components below a matching path changes nothing,
//!   and a path with no match has none in its leading components either;
//! - a text none of whose lines has 64 consecutive lowercase hex digits in its path is `Host`;
//! - `placement` agrees with `container_of_path` applied to every line's path: no match is
//!   `Host`, one container named by every matching line is that container, two is neither.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rasd::identity::cgroup::{container_of_path, placement, Placement};

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// True when `s` has a run of 64 or more lowercase hex digits.
fn has_hex_run(s: &str) -> bool {
    s.as_bytes().split(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')).any(|run| run.len() >= 64)
}

/// The path field of one `hierarchy-id:controllers:path` line (the path may contain ':').
fn path_of(line: &str) -> Option<&str> {
    line.splitn(3, ':').nth(2)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    // The whole text and each line, taken as a bare path.
    for path in std::iter::once(text).chain(text.lines()) {
        if let Some(c) = container_of_path(path) {
            assert!(is_id(&c.id), "id {:?} from {path:?}", c.id);
            assert!(path.contains(c.id.as_str()), "id {:?} not in {path:?}", c.id);
            let _ = c.to_string();
            let nested = format!("{path}/{}", text.replace('\n', "/"));
            assert_eq!(container_of_path(&nested).as_ref(), Some(&c), "a nested cgroup changed {path:?}");
        } else if let Some(i) = path.rfind('/') {
            // No match in the whole path: none in any leading part of it either.
            assert_eq!(container_of_path(&path[..i]), None, "{path:?}");
        }
    }

    let p = placement(text);
    if !text.lines().filter_map(path_of).any(has_hex_run) {
        assert_eq!(p, Placement::Host, "no line has a container id, yet {p:?}: {text:?}");
    }
    let mut found = Vec::new();
    for c in text.lines().filter_map(path_of).filter_map(container_of_path) {
        if !found.contains(&c) {
            found.push(c);
        }
    }
    match (&p, found.as_slice()) {
        (Placement::Host, []) => {}
        (Placement::Container(c), [only]) => assert_eq!(c, only),
        (Placement::Host | Placement::Container(_), _) => panic!("placement {p:?}, lines name {found:?}"),
        // Any other placement (ambiguous) needs two different containers.
        (_, f) => assert!(f.len() >= 2, "placement {p:?}, lines name {found:?}"),
    }
});
