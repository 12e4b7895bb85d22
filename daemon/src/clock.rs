//! Wall-clock time as rasd records it: whole seconds since the epoch (evidence `iat`,
//! registrations, runtime-log entries, status).

/// Seconds since the epoch; 0 if the clock is before it.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
