//! The varlink wire layer against the real rasd: exact errors for bad input, the connection
//! stays usable after each, and other connections are served meanwhile.

use std::time::{Duration, Instant};

use ras_tests::{nonce, Rasd, Raw};
use serde_json::json;

/// After an error, the same connection still answers a normal call.
fn still_serves(raw: &mut Raw) {
    let r = raw.call("org.varlink.service.GetInfo", json!({}));
    assert_eq!(r["parameters"]["product"], "rasd", "{r}");
}

fn error_of(v: &serde_json::Value) -> &str {
    v["error"].as_str().unwrap_or_else(|| panic!("expected an error reply, got {v}"))
}

#[test]
fn exact_errors_and_the_connection_stays_usable() {
    let r = Rasd::start(&[]);
    let mut raw = Raw::connect(&r.socket());

    // Wire bytes of one reply, exactly.
    raw.send(b"{\"method\":\"io.ras.Nope.X\"}\0");
    let mut buf = [0u8; 256];
    let n = std::io::Read::read(&mut raw.0, &mut buf).unwrap();
    assert_eq!(
        &buf[..n],
        b"{\"parameters\":{\"interface\":\"io.ras.Nope\"},\"error\":\"org.varlink.service.InterfaceNotFound\"}\0"
    );

    let v = raw.call("io.ras.Attestation.Nope", json!({}));
    assert_eq!(error_of(&v), "org.varlink.service.MethodNotFound");
    assert_eq!(v["parameters"]["method"], "io.ras.Attestation.Nope");
    still_serves(&mut raw);

    for (params, bad) in [
        (json!({"nonce": 5}), "nonce"),
        (json!({"nonce": ["00"]}), "nonce"),
        (json!({}), "nonce"),
        (json!({"nonce": "0011223344556677", "extra": true}), "extra"),
    ] {
        let v = raw.call("io.ras.Attestation.GetEvidence", params.clone());
        assert_eq!(error_of(&v), "org.varlink.service.InvalidParameter", "{params}");
        assert_eq!(v["parameters"]["parameter"], bad, "{params}");
        still_serves(&mut raw);
    }

    raw.send(b"{not json\0");
    let v = raw.recv();
    assert_eq!(error_of(&v), "io.ras.Protocol.MalformedMessage");
    still_serves(&mut raw);

    raw.send(b"[1,2,3]\0");
    assert_eq!(error_of(&raw.recv()), "io.ras.Protocol.MalformedMessage");
    still_serves(&mut raw);

    // An oversized message: 1 MiB + 1 bytes before the NUL.
    let mut big = vec![b' '; (1 << 20) + 1];
    big.push(0);
    raw.send(&big);
    let v = raw.recv();
    assert_eq!(error_of(&v), "io.ras.Protocol.MessageTooLarge");
    assert_eq!(v["parameters"]["limit"], 1 << 20);
    still_serves(&mut raw);

    // Oneway calls get no reply; the next call's reply is the next message.
    raw.send(b"{\"method\":\"org.varlink.service.GetInfo\",\"oneway\":true}\0");
    let v = raw.call("io.ras.Attestation.GetEvidence", json!({"nonce": nonce()}));
    assert!(v["parameters"]["evidence"].is_string(), "{v}");
}

#[test]
fn interface_descriptions_are_the_real_idl() {
    let r = Rasd::start(&[]);
    let mut raw = Raw::connect(&r.socket());
    let info = raw.call("org.varlink.service.GetInfo", json!(null));
    let ifaces: Vec<String> = serde_json::from_value(info["parameters"]["interfaces"].clone()).unwrap();
    assert!(ifaces.contains(&"io.ras.Attestation".to_string()) && ifaces.contains(&"io.ras.Admin".to_string()));
    for iface in ifaces {
        let d = raw.call("org.varlink.service.GetInterfaceDescription", json!({ "interface": iface }));
        let text = d["parameters"]["description"].as_str().unwrap();
        let file = ras_tests::repo_root().join(format!("proto/src/idl/{iface}.varlink"));
        assert_eq!(text, std::fs::read_to_string(file).unwrap(), "{iface}");
    }
    let v = raw.call("org.varlink.service.GetInterfaceDescription", json!({"interface": "io.ras.Nope"}));
    assert_eq!(error_of(&v), "org.varlink.service.InterfaceNotFound");
}

#[test]
fn a_stalled_connection_never_delays_another() {
    let r = Rasd::start(&[]);
    // One peer sends half a message and stalls; another sends 900 KiB and stalls mid-way.
    let mut stalled = Raw::connect(&r.socket());
    stalled.send(b"{\"method\":\"io.ras.Attestation.GetEv");
    let mut slow = Raw::connect(&r.socket());
    slow.send(&vec![b' '; 900 * 1024]);
    // Meanwhile fifty clients at once each get evidence promptly.
    let start = Instant::now();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let sock = r.socket();
            std::thread::spawn(move || {
                let mut c = Raw::connect(&sock);
                let v = c.call("io.ras.Attestation.GetEvidence", json!({"nonce": nonce()}));
                assert!(v["parameters"]["evidence"].is_string(), "{v}");
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Not a performance assertion: a generous bound that only a serialized server would miss.
    assert!(start.elapsed() < Duration::from_secs(30));
    // The stalled peers are still served when they finish.
    stalled.send(b"idence\",\"parameters\":{\"nonce\":\"0011223344556677\"}}\0");
    assert!(stalled.recv()["parameters"]["evidence"].is_string());
    slow.send(b"\0");
    assert_eq!(error_of(&slow.recv()), "io.ras.Protocol.MalformedMessage");
}

#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    let r = Rasd::start(&["--idle-timeout", "1"]);
    let mut idle = Raw::connect(&r.socket());
    idle.send(b"{\"method\":\"org.varlink.service.GetInfo\"");
    // No reply ever comes for the half message; the read ends when rasd closes the stream
    // (a read timeout, 10 s, means rasd kept it open: a failure).
    ras_tests::expect_closed(&mut idle.0, "a connection idle past --idle-timeout");
    // Others are served as usual.
    let mut fresh = Raw::connect(&r.socket());
    still_serves(&mut fresh);
}
