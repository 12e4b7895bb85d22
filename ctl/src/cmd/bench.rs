//! `rasctl bench`: round-trip latency of calls to rasd, printed as percentiles. Benchmarks
//! print numbers; the test suite never asserts on time.

use std::path::Path;
use std::time::{Duration, Instant};

use ras_proto::api::{method, EvidenceReply};
use ras_proto::client::Client;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::cli::BenchArgs;
use crate::client::{connect, runtime};
use crate::cmd::attest::{parse_target, Target};
use crate::cmd::evidence::fresh_nonce;
use crate::failure::{Code, Failure};
use crate::output::print_json;

pub fn run(socket: &Path, json: bool, a: BenchArgs) -> Result<(), Failure> {
    let rt = runtime()?;
    let (label, samples) = match &a.connect {
        None => {
            let client = rt.block_on(connect(socket))?;
            (method::GET_EVIDENCE.to_string(), rt.block_on(measure(client, method::GET_EVIDENCE, None, &a))?)
        }
        Some(t) => {
            let container = a.container.as_ref().map(|id| json!({ "id": id, "type": a.runtime }));
            let label = match &a.container {
                Some(id) => format!("{} container {id}", method::CHALLENGE),
                None => format!("{} host", method::CHALLENGE),
            };
            let samples = match parse_target(t)? {
                Target::Tcp(addr) => {
                    let s = rt.block_on(TcpStream::connect(&addr)).map_err(|e| unreachable(e, &addr))?;
                    s.set_nodelay(true).map_err(|e| unreachable(e, &addr))?;
                    rt.block_on(measure(Client::new(s), method::CHALLENGE, container, &a))?
                }
                Target::Unix(path) => {
                    let s = rt.block_on(UnixStream::connect(&path)).map_err(|e| unreachable(e, &path))?;
                    rt.block_on(measure(Client::new(s), method::CHALLENGE, container, &a))?
                }
                Target::Vsock(cid, port) => {
                    let addr = tokio_vsock::VsockAddr::new(cid, port);
                    let s = rt.block_on(tokio_vsock::VsockStream::connect(addr)).map_err(|e| unreachable(e, t))?;
                    rt.block_on(measure(Client::new(s), method::CHALLENGE, container, &a))?
                }
            };
            (label, samples)
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

fn unreachable(e: std::io::Error, what: &str) -> Failure {
    Failure::new(Code::Daemon, anyhow::Error::from(e).context(format!("connect to {what}")))
}

/// Times `count` calls (after `warmup`) on one connection, each with a fresh nonce.
async fn measure<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: Client<S>,
    method: &str,
    container: Option<Value>,
    a: &BenchArgs,
) -> Result<Vec<Duration>, Failure> {
    let mut samples = Vec::with_capacity(a.count as usize);
    for i in 0..a.warmup + a.count {
        let mut params = json!({ "nonce": fresh_nonce()? });
        if let Some(c) = &container {
            params["container"] = c.clone();
        }
        let start = Instant::now();
        let _: EvidenceReply = client.call(method, params).await?;
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
