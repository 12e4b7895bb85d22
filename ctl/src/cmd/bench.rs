//! `rasctl bench`: round-trip latency of calls to rasd, printed as percentiles. Benchmarks
//! print numbers; the test suite never asserts on time.

use std::path::Path;
use std::time::{Duration, Instant};

use ras_proto::api::attestation::GetEvidence;
use ras_proto::api::remote::{Challenge, ContainerRef};
use ras_proto::api::Method;
use serde_json::json;

use crate::cli::BenchArgs;
use crate::client::{connect, fresh_nonce, local, parse_target, runtime, Conn};
use crate::failure::Failure;
use crate::output::print_json;

pub fn run(socket: &Path, json: bool, a: BenchArgs) -> Result<(), Failure> {
    let rt = runtime()?;
    let (label, samples) = match &a.connect {
        None => {
            let client = rt.block_on(local(socket))?;
            let call = || Ok(GetEvidence { nonce: fresh_nonce()?, container: None });
            (GetEvidence::NAME.to_string(), rt.block_on(measure(client, call, &a))?)
        }
        Some(t) => {
            let client = rt.block_on(connect(&parse_target(t)?))?;
            let container = a.container.as_ref().map(|id| ContainerRef { id: id.clone(), runtime: a.runtime.clone() });
            let label = match &a.container {
                Some(id) => format!("{} container {id}", Challenge::NAME),
                None => format!("{} host", Challenge::NAME),
            };
            let call = || Ok(Challenge { nonce: fresh_nonce()?, container: container.clone(), vm: None, peer: None });
            (label, rt.block_on(measure(client, call, &a))?)
        }
    };
    let stats = Stats::of(samples);
    if json {
        print_json(&json!({
            "method": label, "count": a.count,
            "p50_us": stats.p50.as_micros(), "p90_us": stats.p90.as_micros(),
            "p99_us": stats.p99.as_micros(), "max_us": stats.max.as_micros(),
            "calls_per_sec": stats.rate,
        }));
    } else {
        println!(
            "{label}: {} calls on one connection: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}  ({:.0} calls/s)",
            a.count, stats.p50, stats.p90, stats.p99, stats.max, stats.rate
        );
    }
    Ok(())
}

/// Times `count` calls (after `warmup`) on one connection, each made by `call` (with a fresh
/// nonce).
async fn measure<M: Method>(
    mut client: Conn,
    call: impl Fn() -> Result<M, Failure>,
    a: &BenchArgs,
) -> Result<Vec<Duration>, Failure> {
    let mut samples = Vec::with_capacity(a.count as usize);
    for i in 0..a.warmup + a.count {
        let request = call()?;
        let start = Instant::now();
        client.call(&request).await?;
        if i >= a.warmup {
            samples.push(start.elapsed());
        }
    }
    Ok(samples)
}

struct Stats {
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
    rate: f64,
}

impl Stats {
    fn of(mut s: Vec<Duration>) -> Stats {
        s.sort_unstable();
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        let total: Duration = s.iter().sum();
        Stats {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: *s.last().expect("count >= 1"),
            rate: s.len() as f64 / total.as_secs_f64(),
        }
    }
}
