//! One remote connection, generic over the stream type so that TCP, vsock and the tests'
//! unix sockets share every line. Each message must arrive whole within the idle timeout;
//! each forwarded call must finish within the request timeout. Anything but `io.ras.Remote`
//! (`Challenge`, and TPM enrolment's `GetEnrollment` and `ActivateCredential`) and
//! `org.varlink.service` gets an exact error, and the connection stays open.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use ras_proto::api::remote::{RemoteCall, RemoteError};
use ras_proto::api::Call;
use ras_proto::{Reply, Request, VarlinkError};
use ras_server::connection::{parse_request, Connection, Limits};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, info, info_span, warn, Instrument};

use crate::config::Config;
use crate::upstream::Upstream;

/// Where a connection comes from, for the per-source bound and for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A TCP peer's address.
    Ip(IpAddr, u16),
    /// A vsock peer's CID (kernel-assigned) and port.
    Cid(u32, u32),
}

impl Source {
    /// The bucket of the per-source bound: the address without the port.
    pub fn key(&self) -> Source {
        match *self {
            Source::Ip(ip, _) => Source::Ip(ip, 0),
            Source::Cid(cid, _) => Source::Cid(cid, 0),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Ip(ip, port) => write!(f, "tcp:{}", std::net::SocketAddr::new(*ip, *port)),
            Source::Cid(cid, port) => write!(f, "vsock:{cid}:{port}"),
        }
    }
}

/// What the bridge serves.
pub const INTERFACES: &[&str] = &["org.varlink.service", "io.ras.Protocol", "io.ras.Remote"];

/// Serves one remote connection to its end.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(stream: S, source: Source, cfg: &Config) {
    let span = info_span!("remote", peer = %source);
    serve_inner(stream, source, cfg).instrument(span).await
}

async fn serve_inner<S: AsyncRead + AsyncWrite + Unpin>(stream: S, source: Source, cfg: &Config) {
    let limits = Limits { idle_timeout: cfg.idle_timeout, max_message: cfg.max_message_size };
    let mut conn = Connection::new(stream, limits);
    let mut upstream = Upstream::default();
    while let Some(frame) = conn.next_frame().await {
        let (reply, oneway) = match parse_request(&frame) {
            Ok(req) => {
                let span = info_span!("call", method = %req.method);
                (route(&req, source, cfg, &mut upstream).instrument(span).await, req.oneway)
            }
            Err(e) => (Err(e), false),
        };
        if oneway {
            continue;
        }
        let reply = reply.unwrap_or_else(|e| Reply::from_error(&e));
        if !conn.send(&reply).await {
            return;
        }
    }
}

/// Answers locally, forwards, or refuses.
async fn route(req: &Request, source: Source, cfg: &Config, upstream: &mut Upstream) -> Result<Reply, VarlinkError> {
    let Some((interface, _)) = req.interface_and_member() else {
        return Err(VarlinkError::interface_not_found(&req.method));
    };
    if !INTERFACES.contains(&interface) {
        debug!(method = %req.method, "interface not served remotely");
        return Err(VarlinkError::interface_not_found(interface));
    }
    match Call::parse(req)? {
        Call::Service(call) => ras_server::service::answer(&call, "ras-bridge", INTERFACES).map(Reply::ok),
        Call::Remote(RemoteCall::Challenge(mut challenge)) => {
            // The bridge, not the peer, says where the call came from.
            challenge.peer = Some(source.to_string());
            let target = challenge
                .container
                .as_ref()
                .map(|c| format!("{}:{}", c.runtime, c.id))
                .unwrap_or_else(|| challenge.vm.map_or("host".into(), |cid| format!("vm:{cid}")));
            forward(&ras_proto::api::Method::to_request(&challenge), cfg, upstream, &target).await
        }
        // TPM enrolment: the verifier's one-time proof that the AK lives in this host's TPM.
        Call::Remote(RemoteCall::GetEnrollment(call)) => {
            forward(&ras_proto::api::Method::to_request(&call), cfg, upstream, "tpm").await
        }
        Call::Remote(RemoteCall::ActivateCredential(call)) => {
            forward(&ras_proto::api::Method::to_request(&call), cfg, upstream, "tpm").await
        }
        // Not reached: the interface was checked above. Refused all the same, never a panic.
        _ => Err(VarlinkError::interface_not_found(interface)),
    }
}

/// Forwarded calls in progress; shutdown waits for them.
pub static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

async fn forward(req: &Request, cfg: &Config, upstream: &mut Upstream, target: &str) -> Result<Reply, VarlinkError> {
    IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
    let call = upstream.call(&cfg.daemon, req);
    let result = tokio::time::timeout(cfg.request_timeout, call).await;
    IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    let timeout_ms = cfg.request_timeout.as_millis() as u64;
    match result {
        Err(_) => {
            // rasd may still answer this call later; on this connection that answer would be
            // read as the reply to the next call. The connection goes, and the next call gets
            // a fresh one.
            upstream.reset();
            warn!(target, timeout_ms, "forwarded call timed out; upstream connection dropped");
            Err(RemoteError::RequestTimeout { timeout_ms }.into())
        }
        Ok(Err(e)) => {
            warn!(cause = %e, "rasd unreachable");
            // The cause (ENOENT, EACCES, ...) is what the verifier's operator needs to act on.
            let reason = format!("ras-bridge cannot reach rasd at {}: {e}", cfg.daemon.display());
            Err(RemoteError::Unavailable { reason }.into())
        }
        Ok(Ok(reply)) => {
            // Routine forwards at debug; one that rasd refused at notice (info).
            match reply.error.as_deref() {
                None => debug!(target, outcome = "ok", method = %req.method, "call forwarded"),
                Some(outcome) => info!(target, outcome, method = %req.method, "call forwarded"),
            }
            Ok(reply)
        }
    }
}

#[cfg(test)]
mod tests {
    //! The generic-stream harness: a session over an in-memory duplex stream, in front of a
    //! fake rasd on a unix socket that echoes what it was sent.

    use super::*;
    use ras_proto::stream::{write_message, MessageReader};
    use serde_json::json;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use tokio::net::UnixListener;

    fn cfg(daemon: std::path::PathBuf) -> Config {
        Config {
            listen: vec![],
            daemon,
            max_connections: 4,
            max_per_source: 4,
            idle_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            max_message_size: 4096,
            log: crate::config::LogTarget::Stderr,
        }
    }

    /// A fake rasd: answers each call with its own parameters.
    async fn echo_daemon(listener: UnixListener) {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut r = MessageReader::new(s, 1 << 20);
                while let Ok(Some(frame)) = r.next_message().await {
                    let req = Request::from_frame(&frame).unwrap();
                    let reply = Reply::ok(json!({ "echo": req.parameters }));
                    write_message(r.get_mut(), &reply.to_json()).await.unwrap();
                }
            });
        }
    }

    /// The same session code over an in-memory stream and over a unix socket pair.
    #[tokio::test]
    async fn routes_locally_forwards_challenges_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("rasd.sock");
        tokio::spawn(echo_daemon(UnixListener::bind(&sock).unwrap()));

        let (client, server) = tokio::io::duplex(1 << 16);
        let cfg1 = cfg(sock.clone());
        tokio::spawn(async move { serve(server, Source::Cid(42, 1024), &cfg1).await });
        exercise(client, "vsock:42:1024").await;

        let (client, server) = tokio::net::UnixStream::pair().unwrap();
        let cfg2 = cfg(sock);
        let source = Source::Ip("192.0.2.7".parse().unwrap(), 4000);
        tokio::spawn(async move { serve(server, source, &cfg2).await });
        exercise(client, "tcp:192.0.2.7:4000").await;
    }

    async fn exercise<S: AsyncRead + AsyncWrite + Unpin>(client: S, peer: &str) {
        let mut c = ras_proto::client::Client::new(client);
        let req = Request::new("io.ras.Admin.GetStatus", json!({}));
        assert_eq!(c.send(&req).await.unwrap().error.as_deref(), Some("org.varlink.service.InterfaceNotFound"));
        let req = Request::new("org.varlink.service.GetInfo", json!({}));
        let info = c.send(&req).await.unwrap();
        assert_eq!(info.parameters["product"], "ras-bridge");
        let req = Request::new("io.ras.Remote.Challenge", json!({ "nonce": "0011223344556677", "peer": "lie" }));
        let echoed = c.send(&req).await.unwrap();
        assert_eq!(echoed.parameters["echo"]["peer"], peer, "the bridge sets the peer from the stream");
        let req = Request::new("io.ras.Remote.Challenge", json!({ "nonce": 5 }));
        let bad = c.send(&req).await.unwrap();
        assert_eq!(bad.error.as_deref(), Some("org.varlink.service.InvalidParameter"));
        assert_eq!(bad.parameters["parameter"], "nonce");
        // Oversized: an error, and the stream goes on.
        c.get_mut().write_all(&[b'x'; 5000]).await.unwrap();
        c.get_mut().write_all(b"\0").await.unwrap();
        assert_eq!(c.next_reply().await.unwrap().error.as_deref(), Some("io.ras.Protocol.MessageTooLarge"));
        let req = Request::new("org.varlink.service.GetInfo", json!({}));
        assert!(c.send(&req).await.unwrap().error.is_none());
    }

    /// A fake rasd that answers its very first call only after `delay`, and every reply
    /// carries the nonce of the call it answers.
    async fn slow_first_daemon(listener: UnixListener, delay: Duration) {
        let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        loop {
            let (s, _) = listener.accept().await.unwrap();
            let first = first.clone();
            tokio::spawn(async move {
                let mut r = MessageReader::new(s, 1 << 20);
                while let Ok(Some(frame)) = r.next_message().await {
                    let req = Request::from_frame(&frame).unwrap();
                    if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(delay).await;
                    }
                    let reply = Reply::ok(json!({ "answers": req.parameters["nonce"] }));
                    if write_message(r.get_mut(), &reply.to_json()).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// Attack: a call outlives --request-timeout; rasd's late answer must never be read as
    /// the reply to the next call on the same client connection.
    #[tokio::test]
    async fn a_late_reply_never_answers_the_next_call() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("rasd.sock");
        tokio::spawn(slow_first_daemon(UnixListener::bind(&sock).unwrap(), Duration::from_millis(600)));
        let mut config = cfg(sock);
        config.request_timeout = Duration::from_millis(200);
        let (client, server) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move { serve(server, Source::Cid(42, 1024), &config).await });
        let mut c = ras_proto::client::Client::new(client);
        let call = |nonce: &str| Request::new("io.ras.Remote.Challenge", json!({ "nonce": nonce }));
        let first = c.send(&call("1111111111111111")).await.unwrap();
        assert_eq!(first.error.as_deref(), Some("io.ras.Remote.RequestTimeout"));
        // Let the late answer arrive at the bridge before the next call.
        tokio::time::sleep(Duration::from_millis(700)).await;
        for nonce in ["2222222222222222", "3333333333333333"] {
            let r = c.send(&call(nonce)).await.unwrap();
            assert_eq!(r.error, None, "{:?}", r.parameters);
            assert_eq!(r.parameters["answers"], nonce, "each reply answers its own call");
        }
    }
}
