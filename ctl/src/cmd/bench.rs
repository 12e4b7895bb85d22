//! `rasctl bench`: throughput and latency percentiles of one operation at a given
//! concurrency, each caller on its own persistent connection (or thread, for `sign`).
//! Benchmarks print numbers; the test suite never asserts on time. Progress goes to stderr
//! once a run has lasted a second.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use ras_proto::api::attestation::GetEvidence;
use ras_proto::api::remote::{Challenge, ContainerRef};
use ras_proto::api::service::GetInfo;
use ras_proto::ProtoError;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

use crate::cli::{BenchArgs, BenchOp};
use crate::client::{connect, fresh_nonce, parse_target, Conn, Target};
use crate::failure::{usage, Code, Failure};
use crate::output::print_json;

/// Calls when neither `-n` nor `--duration` is given.
const DEFAULT_COUNT: u64 = 1000;
/// Signing input when rasd cannot be asked for a real one: about what it signs for the host.
const FALLBACK_INPUT: usize = 3 * 1024;

pub fn run(socket: &Path, json: bool, a: BenchArgs) -> Result<(), Failure> {
    let target = match &a.connect {
        Some(t) => parse_target(t)?,
        None => Target::Unix(socket.display().to_string()),
    };
    if a.op == BenchOp::Container && a.container.is_none() {
        return Err(usage(anyhow!("--op container needs --container ID")));
    }
    if a.op != BenchOp::Container && a.container.is_some() {
        return Err(usage(anyhow!("--container goes with --op container")));
    }
    if a.op == BenchOp::Evidence && a.connect.is_some() {
        return Err(usage(anyhow!("--op evidence asks the local rasd at --socket; use --op remote with --connect")));
    }
    let stop = match a.duration {
        Some(secs) => Stop::Deadline(Duration::from_secs_f64(secs)),
        None => Stop::Count(a.count.unwrap_or(DEFAULT_COUNT)),
    };
    let run = Arc::new(Run::new(stop));
    let progress = run.progress();
    let (label, input_bytes) = match a.op {
        BenchOp::Sign => {
            let input = signing_input(socket);
            let n = input.len();
            sign(&run, input, &a)?;
            ("sign".to_string(), Some(n))
        }
        op => {
            let workers = a.concurrency.min(std::thread::available_parallelism().map_or(2, |n| n.get() as u64));
            // One caller needs no second thread: a current-thread runtime spares it the
            // cross-thread wakeups, as a real client would.
            let mut builder = match workers {
                0 | 1 => tokio::runtime::Builder::new_current_thread(),
                n => {
                    let mut b = tokio::runtime::Builder::new_multi_thread();
                    b.worker_threads(n as usize);
                    b
                }
            };
            let rt = builder
                .enable_all()
                .build()
                .map_err(|e| Failure::new(Code::Usage, anyhow::Error::from(e).context("start runtime")))?;
            rt.block_on(calls(&run, op, &target, &a))?;
            (format!("{} {target}", op_name(op)), None)
        }
    };
    run.done.store(true, Ordering::Relaxed);
    let _ = progress.join();
    let report = run.report()?;
    if json {
        let mut v = json!({
            "op": op_name(a.op),
            "target": if a.op == BenchOp::Sign { "in-process".to_string() } else { target.to_string() },
            "concurrency": a.concurrency,
            "count": report.ok,
            "errors": report.errors,
            "seconds": round(report.wall.as_secs_f64(), 4),
            "ops_per_sec": round(report.ok as f64 / report.wall.as_secs_f64(), 1),
            "p50_us": us(report.p50),
            "p90_us": us(report.p90),
            "p99_us": us(report.p99),
            "max_us": us(report.max),
        });
        if let Some(n) = input_bytes {
            v["input_bytes"] = n.into();
        }
        print_json(&v);
    } else {
        say!(
            "{label} c={}: {} calls in {:.2} s, {:.0}/s; p50 {} µs  p90 {} µs  p99 {} µs  max {} µs; {} errors",
            a.concurrency,
            report.ok,
            report.wall.as_secs_f64(),
            report.ok as f64 / report.wall.as_secs_f64(),
            us(report.p50),
            us(report.p90),
            us(report.p99),
            us(report.max),
            report.errors
        );
    }
    if let Some(e) = &report.first_error {
        eprintln!("rasctl bench: {} calls failed; the first: {e}", report.errors);
    }
    Ok(())
}

fn op_name(op: BenchOp) -> &'static str {
    match op {
        BenchOp::Ping => "ping",
        BenchOp::Evidence => "evidence",
        BenchOp::Sign => "sign",
        BenchOp::Remote => "remote",
        BenchOp::Container => "container",
    }
}

fn us(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1e6, 1)
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// When a run ends.
#[derive(Clone, Copy)]
enum Stop {
    /// After this many measured calls in all.
    Count(u64),
    /// After this long, counted by each caller from the moment all were ready.
    Deadline(Duration),
}

/// What every caller shares: the stop rule, the counters, and the merged samples.
struct Run {
    stop: Stop,
    issued: AtomicU64,
    finished: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// Per caller: its samples and when its measured phase began and ended.
    results: Mutex<Vec<(Vec<Duration>, Instant, Instant)>>,
}

struct Report {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    wall: Duration,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
}

impl Run {
    fn new(stop: Stop) -> Run {
        Run {
            stop,
            issued: AtomicU64::new(0),
            finished: Arc::new(AtomicU64::new(0)),
            done: Arc::new(AtomicBool::new(false)),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
            results: Mutex::new(Vec::new()),
        }
    }

    /// A thread that reports progress on stderr every second, from the first second on.
    fn progress(&self) -> std::thread::JoinHandle<()> {
        let (finished, done) = (self.finished.clone(), self.done.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut last = (start, 0u64);
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let now = Instant::now();
                if now - last.0 >= Duration::from_secs(1) {
                    let n = finished.load(Ordering::Relaxed);
                    let rate = (n - last.1) as f64 / (now - last.0).as_secs_f64();
                    eprintln!("rasctl bench: {:.0} s, {n} calls, {rate:.0}/s", (now - start).as_secs_f64());
                    last = (now, n);
                }
            }
        })
    }

    /// Whether a caller that began its measured phase at `start` makes another call.
    fn next(&self, start: Instant) -> bool {
        match self.stop {
            Stop::Count(n) => self.issued.fetch_add(1, Ordering::Relaxed) < n,
            Stop::Deadline(d) => start.elapsed() < d,
        }
    }

    fn failed(&self, e: impl std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.finished.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().expect("bench lock");
        if first.is_none() {
            *first = Some(e.to_string());
        }
    }

    fn finish(&self, samples: Vec<Duration>, start: Instant) {
        self.results.lock().expect("bench lock").push((samples, start, Instant::now()));
    }

    fn report(&self) -> Result<Report, Failure> {
        let results = std::mem::take(&mut *self.results.lock().expect("bench lock"));
        let first_error = self.first_error.lock().expect("bench lock").clone();
        let errors = self.errors.load(Ordering::Relaxed);
        let begin = results.iter().map(|r| r.1).min();
        let end = results.iter().map(|r| r.2).max();
        let mut all: Vec<Duration> = results.into_iter().flat_map(|r| r.0).collect();
        let (Some(begin), Some(end), false) = (begin, end, all.is_empty()) else {
            let why = first_error.unwrap_or_else(|| "no call was made".into());
            return Err(Failure::new(Code::Attestation, anyhow!("every call failed: {why}")));
        };
        all.sort_unstable();
        let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
        Ok(Report {
            ok: all.len() as u64,
            errors,
            first_error,
            wall: (end - begin).max(Duration::from_nanos(1)),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: all[all.len() - 1],
        })
    }
}

/// Runs `concurrency` callers of `op`, each a task on its own connection, until the run
/// stops.
async fn calls(run: &Arc<Run>, op: BenchOp, target: &Target, a: &BenchArgs) -> Result<(), Failure> {
    let container = a.container.as_ref().map(|id| ContainerRef { id: id.clone(), runtime: a.runtime.clone() });
    // Everyone connects and warms up first; the measured phase starts together.
    let ready = Arc::new(tokio::sync::Barrier::new(a.concurrency as usize));
    let mut conns = Vec::new();
    for _ in 0..a.concurrency {
        conns.push(connect(target).await?);
    }
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| tokio::spawn(caller(run.clone(), op, conn, container.clone(), a.warmup, ready.clone())))
        .collect();
    for t in tasks {
        t.await.map_err(|e| Failure::new(Code::Usage, anyhow!("bench caller: {e}")))??;
    }
    Ok(())
}

async fn caller(
    run: Arc<Run>,
    op: BenchOp,
    mut conn: Conn,
    container: Option<ContainerRef>,
    warmup: u64,
    ready: Arc<tokio::sync::Barrier>,
) -> Result<(), Failure> {
    for _ in 0..warmup {
        if let Err(e) = one(op, &mut conn, &container).await {
            ready.wait().await;
            return Err(describe_first(op, e));
        }
    }
    ready.wait().await;
    let start = Instant::now();
    let mut samples = Vec::new();
    while run.next(start) {
        let t = Instant::now();
        match one(op, &mut conn, &container).await {
            Ok(()) => {
                samples.push(t.elapsed());
                run.finished.fetch_add(1, Ordering::Relaxed);
            }
            Err(ProtoError::Call(e)) => run.failed(&e.name),
            // The connection is gone: this caller stops; the others go on.
            Err(e) => {
                run.failed(&e);
                break;
            }
        }
    }
    run.finish(samples, start);
    Ok(())
}

/// One call of `op` on `conn`.
async fn one(op: BenchOp, conn: &mut Conn, container: &Option<ContainerRef>) -> Result<(), ProtoError> {
    let nonce = || fresh_nonce().map_err(|f| ProtoError::Io(std::io::Error::other(f.error.to_string())));
    match op {
        BenchOp::Ping => conn.call(&GetInfo {}).await.map(drop),
        BenchOp::Evidence => conn.call(&GetEvidence { nonce: nonce()?, container: None, bind: None }).await.map(drop),
        BenchOp::Remote | BenchOp::Container => {
            let call = Challenge { nonce: nonce()?, container: container.clone(), vm: None, peer: None };
            conn.call(&call).await.map(drop)
        }
        // Refused before any connection is made.
        BenchOp::Sign => Err(ProtoError::Io(std::io::Error::other("sign is not a call"))),
    }
}

/// A failure during warm-up ends the run, named as the call's failure.
fn describe_first(op: BenchOp, e: ProtoError) -> Failure {
    let f = Failure::from(e);
    Failure::new(f.code, f.error.context(format!("rasctl bench --op {}", op_name(op))))
}

/// The signing input of a real piece of evidence from the rasd at `socket` (header and
/// payload, as signed), or a stand-in of about that size when rasd cannot be asked.
fn signing_input(socket: &Path) -> Vec<u8> {
    let real = tokio::runtime::Builder::new_current_thread().enable_all().build().ok().and_then(|rt| {
        rt.block_on(async {
            let call = GetEvidence { nonce: fresh_nonce().ok()?, container: None, bind: None };
            crate::client::call(socket, &call).await.ok()
        })
    });
    match real.as_ref().and_then(|e| e.evidence.rsplit_once('.')) {
        Some((input, _)) => input.as_bytes().to_vec(),
        None => {
            eprintln!(
                "rasctl bench: rasd at {} did not answer; signing a {FALLBACK_INPUT}-byte stand-in input",
                socket.display()
            );
            vec![b'x'; FALLBACK_INPUT]
        }
    }
}

/// ES256 in `concurrency` threads over `input`, with a fresh P-256 key.
fn sign(run: &Run, input: Vec<u8>, a: &BenchArgs) -> Result<(), Failure> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| Failure::new(Code::Usage, anyhow!("cannot make a P-256 key")))?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| Failure::new(Code::Usage, anyhow!("cannot load the P-256 key")))?;
    let ready = std::sync::Barrier::new(a.concurrency as usize);
    std::thread::scope(|s| {
        for _ in 0..a.concurrency {
            s.spawn(|| {
                for _ in 0..a.warmup {
                    let _ = key.sign(&rng, &input);
                }
                ready.wait();
                let start = Instant::now();
                let mut samples = Vec::new();
                while run.next(start) {
                    let t = Instant::now();
                    match key.sign(&rng, &input) {
                        Ok(_) => {
                            samples.push(t.elapsed());
                            run.finished.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => run.failed("ring refused to sign"),
                    }
                }
                run.finish(samples, start);
            });
        }
    });
    Ok(())
}
