//! A server's life under systemd: READY once it serves, watchdog pings from the runtime that
//! serves calls, STOPPING on SIGTERM or SIGINT, and a bounded wait for calls in flight.
//! Outside systemd (no NOTIFY_SOCKET) the notifications do nothing.

use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::sys;

/// How long a stopping server waits for calls in flight.
pub const DRAIN: Duration = Duration::from_secs(5);

/// The stop signals, caught from the moment this exists.
pub struct Lifecycle {
    term: Signal,
}

impl Lifecycle {
    /// Installs the SIGTERM handler. Call it before announcing readiness, so that a SIGTERM
    /// right after READY is not lost. Needs a tokio runtime.
    pub fn install() -> std::io::Result<Self> {
        Ok(Lifecycle { term: signal(SignalKind::terminate())? })
    }

    /// Tells systemd the server is ready, and starts the watchdog pings when systemd asks
    /// for them. The returned task is the watchdog's; abort it at stop.
    pub fn ready(&self) -> Option<JoinHandle<()>> {
        self.ready_probed(|| async { Ok(()) })
    }

    /// Like [`Lifecycle::ready`], but each watchdog ping waits for `probe` to succeed (within
    /// a quarter of the interval): a server whose accept loop or call path is stuck stops
    /// pinging, even though its timers still run, and systemd restarts it.
    pub fn ready_probed<F, Fut>(&self, probe: F) -> Option<JoinHandle<()>>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        notify(&[sd_notify::NotifyState::Ready]);
        sd_notify::watchdog_enabled().map(|interval| tokio::spawn(watchdog(interval, probe)))
    }

    /// Waits for SIGTERM or SIGINT, then tells systemd the server is stopping.
    pub async fn stopped(&mut self) {
        tokio::select! {
            _ = self.term.recv() => info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT: stopping"),
        }
        notify(&[sd_notify::NotifyState::Stopping]);
    }
}

/// Waits until `in_flight` reads zero or [`DRAIN`] has passed; warns about calls left.
pub async fn drain(in_flight: impl Fn() -> u64) {
    let deadline = tokio::time::Instant::now() + DRAIN;
    while in_flight() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = in_flight();
    if left > 0 {
        warn!(calls = left, "calls still in flight at the drain deadline");
    }
}

/// Sets the line `systemctl status` shows for the service (STATUS=); nothing outside systemd.
pub fn status(text: &str) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        notify(&[sd_notify::NotifyState::Status(text)]);
    }
}

/// Whether the process runs as root.
pub fn running_as_root() -> bool {
    sys::euid() == 0
}

fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        warn!(cause = %e, "sd_notify failed");
    }
}

/// Pings the watchdog at half its interval, from the same runtime that serves calls and only
/// after `probe` succeeded, so a wedged runtime or accept loop stops the pings.
async fn watchdog<F, Fut>(interval: Duration, probe: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut tick = tokio::time::interval(interval / 2);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match tokio::time::timeout(interval / 4, probe()).await {
            Ok(Ok(())) => notify(&[sd_notify::NotifyState::Watchdog]),
            Ok(Err(e)) => warn!(cause = %e, "watchdog probe failed; not pinging"),
            Err(_) => {
                warn!(timeout_ms = (interval / 4).as_millis() as u64, "watchdog probe got no answer; not pinging")
            }
        }
    }
}
