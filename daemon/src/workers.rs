//! Connection workers: one single-threaded runtime per core, each serving the connections it
//! is handed for their whole life.
//!
//! Why not the shared multi-threaded runtime: a connection's calls are short and strictly in
//! order, and under tokio's work-stealing scheduler the task a socket wakes runs on the worker
//! that polled the socket. Two busy connections then mostly share one core: measured with two
//! persistent GetEvidence callers on two cores, one rasd worker ran 93% of the time and the
//! other 10%, and 38% of the machine sat idle. Pinning each connection to the least-loaded
//! worker puts two connections on two cores (interleaved A/B runs of `rasctl bench -c 2`:
//! GetEvidence +8%, GetInfo +12%). Nothing else changes: a connection still reads,
//! checks and answers in order, blocking reads still go to the blocking pool, and the accept
//! loops, the connection bound, signals and shutdown stay on the main runtime.

use std::future::Future;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tracing::error;

use crate::daemon::SocketKind;

/// A connection handed to a worker, with the permit that counts it against the bound.
struct Job {
    stream: StdUnixStream,
    kind: SocketKind,
    permit: OwnedSemaphorePermit,
}

struct Worker {
    jobs: mpsc::UnboundedSender<Job>,
    /// Connections this worker serves now.
    load: Arc<AtomicUsize>,
}

/// The pool; cheap to share.
pub struct Workers {
    workers: Vec<Worker>,
}

impl Workers {
    /// Starts `n` workers (at least one), each a thread with its own runtime, serving each
    /// connection it is handed with `serve` (rasd's is [`crate::connection::serve`]).
    pub fn start<F, Fut>(n: usize, serve: F) -> anyhow::Result<Workers>
    where
        F: Fn(UnixStream, SocketKind) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let mut workers = Vec::new();
        for i in 0..n.max(1) {
            let (tx, rx) = mpsc::unbounded_channel();
            let load = Arc::new(AtomicUsize::new(0));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("rasd-blocking")
                .build()
                .context("start a connection worker's runtime")?;
            let (serve, l) = (serve.clone(), load.clone());
            std::thread::Builder::new()
                .name(format!("rasd-conn-{i}"))
                .spawn(move || {
                    let local = tokio::task::LocalSet::new();
                    local.block_on(&runtime, run(rx, serve, l))
                })
                .context("start a connection worker")?;
            workers.push(Worker { jobs: tx, load });
        }
        Ok(Workers { workers })
    }

    /// Hands a connection to the worker serving the fewest (the first such on a tie). The
    /// stream leaves the caller's runtime here and joins the worker's.
    pub fn serve(&self, stream: UnixStream, kind: SocketKind, permit: OwnedSemaphorePermit) {
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => return error!(cause = %e, "cannot hand a connection to a worker; closing it"),
        };
        let w = &self.workers[least_loaded(self.workers.iter().map(|w| w.load.load(Ordering::Relaxed)))];
        w.load.fetch_add(1, Ordering::Relaxed);
        if w.jobs.send(Job { stream, kind, permit }).is_err() {
            // Only if the worker's thread died, which a panic outside a task would do.
            w.load.fetch_sub(1, Ordering::Relaxed);
            error!("a connection worker is gone; closing the connection");
        }
    }
}

/// The index of the smallest load, the first on a tie.
fn least_loaded(loads: impl Iterator<Item = usize>) -> usize {
    loads.enumerate().min_by_key(|&(i, load)| (load, i)).map_or(0, |(i, _)| i)
}

async fn run<F, Fut>(mut jobs: mpsc::UnboundedReceiver<Job>, serve: F, load: Arc<AtomicUsize>)
where
    F: Fn(UnixStream, SocketKind) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    while let Some(Job { stream, kind, permit }) = jobs.recv().await {
        let stream = match UnixStream::from_std(stream) {
            Ok(s) => s,
            Err(e) => {
                load.fetch_sub(1, Ordering::Relaxed);
                error!(cause = %e, "cannot register a connection with its worker; closing it");
                continue;
            }
        };
        let (served, l) = (serve(stream, kind), load.clone());
        tokio::task::spawn_local(async move {
            served.await;
            l.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    // No more connections come once the accept loops are gone (shutdown), but the ones here
    // keep being served: ending this runtime would drop calls in flight without a reply. The
    // main runtime drains them and the process exit ends this thread.
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::io::AsyncReadExt;
    use tokio::sync::Semaphore;

    #[test]
    fn least_loaded_takes_the_first_smallest() {
        assert_eq!(least_loaded([3, 1, 1].into_iter()), 1);
        assert_eq!(least_loaded([0, 0].into_iter()), 0);
        assert_eq!(least_loaded([2, 5, 0].into_iter()), 2);
        assert_eq!(least_loaded(std::iter::empty()), 0);
    }

    /// Two open connections are served on two threads; once the first closes, the next goes
    /// to the worker it freed; every permit comes back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn connections_spread_over_workers_and_free_them_when_closed() {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let s = seen.clone();
        let workers = Workers::start(2, move |mut stream: UnixStream, _kind| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(std::thread::current().name().unwrap_or("?").to_string());
                // Served until the peer closes.
                let _ = stream.read(&mut [0u8; 1]).await;
            }
        })
        .unwrap();
        let bound = Arc::new(Semaphore::new(8));
        let mut peers = Vec::new();
        let handoff = |peers: &mut Vec<UnixStream>| {
            let (ours, theirs) = UnixStream::pair().unwrap();
            workers.serve(ours, SocketKind::Host, bound.clone().try_acquire_owned().unwrap());
            peers.push(theirs);
        };
        let served = |n: usize| seen.lock().unwrap().len() >= n;
        handoff(&mut peers);
        handoff(&mut peers);
        eventually("two connections served", || served(2)).await;
        let mut threads = seen.lock().unwrap().clone();
        threads.sort();
        assert_eq!(threads, ["rasd-conn-0", "rasd-conn-1"]);
        drop(peers.remove(0));
        eventually("the closed connection's permit back", || bound.available_permits() == 7).await;
        handoff(&mut peers);
        eventually("a third connection served", || served(3)).await;
        // The first connection went to worker 0 (a tie goes to the first); closing it freed that one.
        assert_eq!(seen.lock().unwrap()[2], "rasd-conn-0", "the freed worker takes the next connection");
        drop(peers);
        eventually("every permit back", || bound.available_permits() == 8).await;
    }

    /// Waits for `cond`, failing after 10 s instead of hanging the test run.
    async fn eventually(what: &str, cond: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !cond() {
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
}
