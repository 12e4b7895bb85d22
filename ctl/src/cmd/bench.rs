//! `rasctl bench`: round-trip latency of calls to rasd, printed as percentiles. Benchmarks
//! print numbers; the test suite never asserts on time.

use std::path::Path;
use std::time::{Duration, Instant};

use ras_proto::api::{method, EvidenceReply};
use serde_json::json;

use crate::cli::BenchArgs;
use crate::client::{connect, runtime};
use crate::cmd::evidence::fresh_nonce;
use crate::failure::Failure;
use crate::output::print_json;

pub fn run(socket: &Path, json: bool, a: BenchArgs) -> Result<(), Failure> {
    let rt = runtime()?;
    let samples = rt.block_on(async {
        let mut client = connect(socket).await?;
        let mut samples = Vec::with_capacity(a.count as usize);
        for i in 0..a.warmup + a.count {
            let nonce = fresh_nonce()?;
            let start = Instant::now();
            let _: EvidenceReply = client.call(method::GET_EVIDENCE, json!({ "nonce": nonce })).await?;
            if i >= a.warmup {
                samples.push(start.elapsed());
            }
        }
        Ok::<_, Failure>(samples)
    })?;
    let stats = Stats::of(samples);
    if json {
        print_json(&json!({
            "method": method::GET_EVIDENCE, "count": a.count,
            "p50_us": stats.p50.as_micros(), "p90_us": stats.p90.as_micros(),
            "p99_us": stats.p99.as_micros(), "max_us": stats.max.as_micros(),
            "calls_per_sec": stats.rate,
        }));
    } else {
        println!(
            "{}: {} calls on one connection: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}  ({:.0} calls/s)",
            method::GET_EVIDENCE,
            a.count,
            stats.p50,
            stats.p90,
            stats.p99,
            stats.max,
            stats.rate
        );
    }
    Ok(())
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
