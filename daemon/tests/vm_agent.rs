//! VM guests over AF_VSOCK, through the generic-stream harness: rasd's connection code runs on
//! in-memory streams whose peer is a VM CID, as the vsock accept loop would report it. (This
//! machine has no vsock loopback, so the transport itself is exercised only where a CID-1 bind
//! works; see the bridge tests.)

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ras_proto::api::agent::{EventKind, Respond, Serve};
use ras_proto::api::attestation::GetEvidence;
use ras_proto::api::remote::{Challenge, ContainerRef};
use ras_proto::api::service::GetInfo;
use ras_proto::client::Client;
use ras_proto::{Nonce, ProtoError};
use rasd::config::{Args, Config};
use rasd::connection::{serve, serve_stream};
use rasd::daemon::{Daemon, SocketKind};
use rasd::subject::Origin;
use serde_json::{json, Value};
use tokio::io::DuplexStream;

fn daemon(dir: &std::path::Path) -> Arc<Daemon> {
    let uid = nix::unistd::getuid().as_raw().to_string();
    let args = Args::parse_from([
        "rasd",
        "--runtime-dir",
        dir.join("run").to_str().unwrap(),
        "--state-dir",
        dir.join("state").to_str().unwrap(),
        "--remote-uid",
        &uid,
        "--challenge-timeout",
        "2000",
    ]);
    Arc::new(Daemon::open(Config::resolve(args).unwrap()).unwrap())
}

/// A connection whose kernel-reported peer is the VM guest `cid`.
fn vm_conn(d: &Arc<Daemon>, cid: u32) -> Client<DuplexStream> {
    let (client, server) = tokio::io::duplex(1 << 16);
    let d2 = d.clone();
    tokio::spawn(async move { serve_stream(server, Origin::Vm(cid), SocketKind::Vsock, d2, None).await });
    Client::new(client)
}

/// A host-socket connection from this (authorized) test process.
fn host_conn(d: &Arc<Daemon>) -> Client<tokio::net::UnixStream> {
    let (client, server) = tokio::net::UnixStream::pair().unwrap();
    // Before the client can write: every message then carries its writer's pid.
    rasd::identity::writer::enable_writer_credentials(&server).unwrap();
    tokio::spawn(serve(server, SocketKind::Host, d.clone()));
    Client::new(client)
}

fn claims_of(evidence: &str) -> Value {
    let p = ras_evidence::jws::parse(evidence).unwrap();
    serde_json::to_value(p.claims().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_agent_answers_and_the_evidence_names_its_cid() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(dir.path());

    let mut serve_conn = vm_conn(&d, 42);
    let ready = serve_conn.call(&Serve::default()).await.unwrap();
    assert_eq!((ready.kind, ready.id.as_str()), (EventKind::Ready, "vm:42"));

    // The guest's agent: an impostor CID tries first, then the guest answers.
    let agent_d = d.clone();
    let agent = tokio::spawn(async move {
        let ev = serve_conn.next::<Serve>().await.unwrap();
        assert_eq!(ev.kind, EventKind::Challenge);
        let mut other = vm_conn(&agent_d, 43);
        let refused = other.call(&Respond { id: ev.id.clone(), claims: None }).await;
        assert!(matches!(refused, Err(ProtoError::Call(e)) if e.name == "org.varlink.service.PermissionDenied"));
        let mut mine = vm_conn(&agent_d, 42);
        mine.call(&Respond { id: ev.id, claims: Some(json!({ "guest": "reported" })) }).await.unwrap();
        serve_conn
    });

    let nonce = Nonce::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let vm = |cid| Challenge { nonce: nonce.clone(), container: None, vm: Some(cid), peer: None };
    let mut host = host_conn(&d);
    let reply = host.call(&vm(42)).await.unwrap();
    let claims = claims_of(&reply.evidence);
    assert_eq!(claims["ras"]["subject"], json!({ "kind": "vm", "cid": 42 }));
    assert!(claims["ras"].get("caller").is_none(), "rasd sees no process inside a VM");
    assert_eq!(claims["ras"]["workload_claims"], json!({ "guest": "reported" }));
    let _serve_conn = agent.await.unwrap();

    // No agent for another CID; never host evidence instead.
    let err = host.call(&vm(7)).await.unwrap_err();
    assert!(matches!(err, ProtoError::Call(e) if e.name == "io.ras.Remote.NoAgent"));
    // Container and VM at once is a bad request.
    let both = Challenge { container: Some(ContainerRef { id: "x".into(), runtime: "docker".into() }), ..vm(42) };
    let err = host.call(&both).await.unwrap_err();
    assert!(matches!(err, ProtoError::Call(e) if e.name == "org.varlink.service.InvalidParameter"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vsock_port_serves_agents_only_and_a_dead_vm_agent_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(dir.path());
    let mut c = vm_conn(&d, 42);
    let nonce = Nonce::from_hex("0011223344556677").unwrap();
    let err = c.call(&GetEvidence { nonce: nonce.clone(), container: None, bind: None }).await.unwrap_err();
    assert!(matches!(err, ProtoError::Call(e) if e.name == "org.varlink.service.InterfaceNotFound"));

    let mut serve_conn = vm_conn(&d, 42);
    serve_conn.call(&Serve::default()).await.unwrap();
    let mut host = host_conn(&d);
    // Both connections are identified and the agent is attached before the race starts.
    host.call(&GetInfo {}).await.unwrap();
    while d.agents.count() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    let challenge = Challenge { nonce, container: None, vm: Some(42), peer: None };
    let (r, ()) = tokio::join!(host.call(&challenge), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(serve_conn);
    });
    assert!(matches!(&r, Err(ProtoError::Call(e)) if e.name == "io.ras.Remote.AgentGone"), "{r:?}");
    assert!(started.elapsed() < Duration::from_millis(1900), "failed at the deadline, not at once");
}
