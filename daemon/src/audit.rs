//! The audit trail of issued evidence at the default log level, without flooding journald.
//! Every refused call is logged already; a successful call is routine and logged at debug,
//! but evidence is what a verifier will trust, so an operator must be able to see who got
//! it. The first issue for each (caller, method) in a window is logged at info, with how
//! many the last window had; the rest stay at debug. At 1,000 calls a second from one
//! caller that is one line a minute, far below journald's default rate limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one (caller, method) is quiet after an info line.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Bound on the callers remembered; beyond it the oldest windows are forgotten (and the next
/// issue to them is logged again, which errs on the side of the audit trail).
const MAX_KEYS: usize = 4096;

/// Per (caller, method): when its window began, and issues since.
#[derive(Default)]
pub struct Audit {
    windows: Mutex<HashMap<String, (Instant, u64)>>,
}

impl Audit {
    /// Counts one issue for `key`; returns `Some(issued in the last window)` when this one
    /// should be logged at info.
    pub fn issued(&self, key: &str, now: Instant) -> Option<u64> {
        let mut w = self.windows.lock().expect("audit lock");
        if let Some((start, n)) = w.get_mut(key) {
            if now.duration_since(*start) < WINDOW {
                *n += 1;
                return None;
            }
            let before = *n;
            *start = now;
            *n = 0;
            return Some(before);
        }
        if w.len() >= MAX_KEYS {
            w.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if w.len() >= MAX_KEYS {
                w.clear();
            }
        }
        w.insert(key.to_string(), (now, 0));
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_caller_and_window_with_the_count_of_the_rest() {
        let a = Audit::default();
        let t = Instant::now();
        assert_eq!(a.issued("pid 1 GetEvidence", t), Some(0));
        for _ in 0..999 {
            assert_eq!(a.issued("pid 1 GetEvidence", t + Duration::from_secs(1)), None);
        }
        assert_eq!(a.issued("pid 2 GetEvidence", t), Some(0), "another caller has its own window");
        assert_eq!(a.issued("pid 1 GetEvidence", t + WINDOW), Some(999));
    }

    #[test]
    fn the_memory_is_bounded() {
        let a = Audit::default();
        let t = Instant::now();
        for i in 0..(MAX_KEYS * 2) {
            a.issued(&format!("caller {i}"), t);
        }
        assert!(a.windows.lock().unwrap().len() <= MAX_KEYS);
    }
}
