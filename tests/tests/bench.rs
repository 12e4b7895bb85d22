//! The benchmark's output is read by scripts: `rasctl bench --json` must carry every field,
//! count exactly what it was asked to, and order its percentiles; `scripts/bench-report` must
//! turn results into the targets table and the chart. No timing is asserted here.

use std::process::Command;

use ras_tests::{repo_root, text, Rasd};
use serde_json::Value;

fn bench(r: &Rasd, args: &[&str]) -> Value {
    let out = r.rasctl(&[&["--json", "bench"], args].concat());
    assert_eq!(out.status.code(), Some(0), "bench {args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", text(&out.stdout)))
}

#[test]
fn bench_json_carries_every_field_for_every_local_op() {
    let r = Rasd::start(&[]);
    for op in ["ping", "evidence", "sign", "remote"] {
        let v = bench(&r, &["--op", op, "-n", "40", "-c", "2", "--warmup", "2"]);
        assert_eq!(v["op"], op, "{v}");
        assert_eq!(v["concurrency"], 2, "{v}");
        assert_eq!(v["count"], 40, "-n counts calls over all connections: {v}");
        assert_eq!(v["errors"], 0, "{v}");
        let f = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {v}"));
        assert!(f("ops_per_sec") > 0.0, "{v}");
        assert!(f("p50_us") <= f("p90_us") && f("p90_us") <= f("p99_us") && f("p99_us") <= f("max_us"), "{v}");
        if op == "sign" {
            // The signing input is a real one of this rasd's: header and payload of a JWS.
            assert!(v["input_bytes"].as_u64().unwrap() > 1000, "{v}");
        }
    }
    let v = bench(&r, &["--op", "ping", "--duration", "0.3"]);
    assert!(v["count"].as_u64().unwrap() > 0, "{v}");
}

#[test]
fn bench_refuses_what_it_cannot_measure() {
    let r = Rasd::start(&[]);
    for args in [
        &["bench", "--op", "container"][..],
        &["bench", "--op", "evidence", "--container", "abc"],
        &["bench", "--op", "evidence", "--connect", "tcp:127.0.0.1:1"],
        &["bench", "-n", "5", "--duration", "1"],
        &["bench", "--duration", "0"],
    ] {
        let out = r.rasctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
    }
    // A container no agent serves: every call fails, and bench says so instead of numbers.
    let out = r.rasctl(&["bench", "--op", "container", "--container", "0123456789ab", "-n", "3", "--warmup", "0"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("UnknownContainer"), "{}", text(&out.stderr));
}

#[test]
fn bench_report_computes_each_ratio_and_draws_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let line = |name: &str, agents: u32, c: u32, rate: f64, p50: f64, p99: f64| {
        format!(
            "{{\"name\":\"{name}\",\"agents\":{agents},\"result\":{{\"concurrency\":{c},\"count\":10,\"errors\":0,\"max_us\":{p99},\"op\":\"x\",\"ops_per_sec\":{rate},\"p50_us\":{p50},\"p90_us\":{p50},\"p99_us\":{p99},\"seconds\":1.0,\"target\":\"unix:/x\"}}}}\n"
        )
    };
    let results = [
        line("ping", 0, 1, 20000.0, 50.0, 90.0),
        line("sign", 0, 1, 60000.0, 15.0, 20.0),
        line("evidence", 0, 1, 10000.0, 100.0, 150.0),
        line("ping", 0, 2, 40000.0, 50.0, 90.0),
        line("sign", 0, 2, 120000.0, 15.0, 20.0),
        line("evidence", 0, 2, 24000.0, 80.0, 150.0),
        line("bridge-ping", 0, 1, 15000.0, 60.0, 100.0),
        line("bridge-remote", 0, 1, 5000.0, 200.0, 300.0),
        line("container", 1, 1, 5000.0, 190.0, 300.0),
        line("container", 1000, 1, 5000.0, 200.0, 450.0),
    ]
    .concat();
    let path = dir.path().join("results.jsonl");
    std::fs::write(&path, results).unwrap();
    let out = Command::new(repo_root().join("scripts/bench-report"))
        .arg(&path)
        .arg(dir.path())
        .args(["6656", "9000", "1:7000 1000:30720", "8000 9000 12000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = std::fs::read_to_string(dir.path().join("bench.md")).unwrap();
    // 24000 / (1/(1/40000+1/120000) = 30000) = 0.80, met.
    assert!(
        md.contains("| local evidence throughput, c=2 | 24000/s | 30000/s = 1/(1/ping+1/sign) | 0.80 | >= 0.8 | met |"),
        "{md}"
    );
    // 100 / (50+15) = 1.54, not met.
    assert!(
        md.contains("| local evidence p50, c=1 | 100.0 us | 65.0 us = ping+sign | 1.54 | <= 1.3 | **not met** |"),
        "{md}"
    );
    // 200 / (100+60) = 1.25.
    assert!(md.contains("| 1.25 | <= 1.5 | met |"), "{md}");
    // 190 / 100 = 1.90; p99 450 / 300 = 1.50, not met.
    assert!(md.contains("| 1.90 | <= 2 | met |"), "{md}");
    assert!(md.contains("| 1.50 | <= 1.3 | **not met** |"), "{md}");
    assert!(md.contains("| rasd RSS idle | 6.5 MiB | 8 MiB | 0.81 |"), "{md}");
    assert!(md.contains("| rasd RSS with 1,000 agents | 30.0 MiB | 32 MiB | 0.94 |"), "{md}");
    assert!(md.contains("(median of 3) | 9.0 ms | 15 ms | 0.60 |"), "{md}");
    let svg = std::fs::read_to_string(dir.path().join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    // One line per op measured: ping, sign, evidence, bridge-ping, bridge-remote, container.
    assert_eq!(svg.matches("<polyline").count(), 6, "{svg}");
}
