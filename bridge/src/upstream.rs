//! The connection to rasd. Opened on first use, and re-opened once per call when it broke, so
//! the bridge keeps its listeners and carries on across a rasd restart.

use std::path::Path;

use ras_proto::client::Client;
use ras_proto::{ProtoError, Reply, Request};
use tokio::net::UnixStream;
use tracing::debug;

/// A lazily connected client of rasd.
#[derive(Default)]
pub struct Upstream {
    client: Option<Client<UnixStream>>,
}

impl Upstream {
    /// Drops the connection (a call on it was abandoned); the next call opens a new one.
    pub fn reset(&mut self) {
        self.client = None;
    }

    /// Sends `req` to rasd and returns its reply, reconnecting once if the old connection broke.
    pub async fn call(&mut self, daemon: &Path, req: &Request) -> Result<Reply, ProtoError> {
        for attempt in 0..2 {
            if self.client.is_none() {
                self.client = Some(Client::new(UnixStream::connect(daemon).await?));
            }
            let client = self.client.as_mut().expect("just set");
            match client.send(req).await {
                Ok(reply) => return Ok(reply),
                Err(e @ (ProtoError::Io(_) | ProtoError::Closed | ProtoError::TruncatedMessage)) if attempt == 0 => {
                    debug!(cause = %e, "rasd connection broke; reconnecting");
                    self.client = None;
                }
                Err(e) => {
                    self.client = None;
                    return Err(e);
                }
            }
        }
        unreachable!("the second attempt returns")
    }
}
