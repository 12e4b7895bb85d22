//! State-change notifications (revocation notification, as Keylime sends): every change of a
//! target's state is POSTed as JSON to each `--webhook` URL, in order, by one task, with a
//! bounded queue (a stuck receiver cannot grow the verifier's memory), a timeout and a few
//! retries. Only the replica that recorded the change sends it, so it is sent once.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::metrics::{Metrics, Outcome};
use crate::store::State;

/// Changes waiting to be sent.
const QUEUE: usize = 1024;
/// Per delivery attempt.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per change and URL.
const ATTEMPTS: u32 = 3;

/// One change of state.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The target.
    pub target: String,
    /// The state before.
    pub from: State,
    /// The state now.
    pub to: State,
    /// When, in ms since the epoch.
    pub time: i64,
    /// The round that changed it.
    pub round: i64,
    /// The first failed check.
    pub failed_check: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// The replica that attested.
    pub replica: String,
}

/// The sending side.
#[derive(Clone)]
pub struct Webhooks {
    tx: Option<mpsc::Sender<Change>>,
    metrics: Arc<Metrics>,
}

impl Webhooks {
    /// Starts the sender for `urls` (none: changes are only logged).
    pub fn start(urls: Vec<Uri>, metrics: Arc<Metrics>) -> Webhooks {
        if urls.is_empty() {
            return Webhooks { tx: None, metrics };
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(urls, rx, metrics.clone()));
        Webhooks { tx: Some(tx), metrics }
    }

    /// Queues a change; a full queue drops it (counted and logged).
    pub fn send(&self, change: Change) {
        let Some(tx) = &self.tx else { return };
        if let Err(e) = tx.try_send(change) {
            self.metrics.webhooks.get_or_create(&Outcome { outcome: "dropped".into() }).inc();
            warn!(
                "webhook queue full ({QUEUE} changes): dropped {:?}",
                match e {
                    mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c) => c.target,
                }
            );
        }
    }
}

/// Parses a `--webhook` URL: `http://HOST[:PORT]/PATH`.
pub fn parse_url(s: &str) -> Result<Uri, String> {
    let uri: Uri = s.parse().map_err(|e| format!("--webhook {s:?}: {e}"))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(format!(
            "--webhook {s:?}: an http://HOST[:PORT]/PATH URL (put a TLS-terminating proxy in front of an https receiver)"
        ));
    }
    Ok(uri)
}

async fn deliver(urls: Vec<Uri>, mut rx: mpsc::Receiver<Change>, metrics: Arc<Metrics>) {
    while let Some(change) = rx.recv().await {
        let body = serde_json::to_string(&change).expect("a change serializes");
        for url in &urls {
            let mut outcome = "failed";
            for attempt in 1..=ATTEMPTS {
                match tokio::time::timeout(TIMEOUT, post(url, &body)).await {
                    Ok(Ok(())) => {
                        outcome = "delivered";
                        break;
                    }
                    Ok(Err(e)) => warn!("webhook {url} (attempt {attempt}/{ATTEMPTS}): {e}"),
                    Err(_) => warn!("webhook {url} (attempt {attempt}/{ATTEMPTS}): no answer within {TIMEOUT:?}"),
                }
                if attempt < ATTEMPTS {
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                }
            }
            debug!("webhook {url}: {} {outcome}", change.target);
            metrics.webhooks.get_or_create(&Outcome { outcome: outcome.into() }).inc();
        }
    }
}

/// One POST on its own connection; any 2xx is delivery.
async fn post(url: &Uri, body: &str) -> Result<(), String> {
    let host = url.host().ok_or("no host")?;
    let port = url.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("http: {e}"))?;
    tokio::spawn(conn);
    let authority = url.authority().map_or(host.to_string(), |a| a.to_string());
    let req = Request::post(url.path_and_query().map_or("/", |p| p.as_str()))
        .header("host", authority)
        .header("content-type", "application/json")
        .header("user-agent", concat!("ras-verifier/", env!("CARGO_PKG_VERSION")))
        .body(Body::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| format!("http: {e}"))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", resp.status()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_http_urls_with_a_host() {
        assert!(super::parse_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(super::parse_url("https://example.invalid/hook").is_err());
        assert!(super::parse_url("/hook").is_err());
        assert!(super::parse_url("ftp://h/").is_err());
    }
}
