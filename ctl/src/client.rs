//! Connecting to rasd. Connection failures map to exit code 3 with the socket path named.

use std::path::Path;

use anyhow::Context;
use ras_proto::client::Client;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::net::UnixStream;

use crate::failure::{Code, Failure};

/// Connects to the socket.
pub async fn connect(socket: &Path) -> Result<Client<UnixStream>, Failure> {
    let stream = UnixStream::connect(socket)
        .await
        .with_context(|| format!("connect to rasd at {}", socket.display()))
        .map_err(|e| Failure::new(Code::Daemon, e))?;
    Ok(Client::new(stream))
}

/// One call on a fresh connection.
pub async fn call<T: DeserializeOwned>(socket: &Path, method: &str, params: Value) -> Result<T, Failure> {
    let mut client = connect(socket).await?;
    Ok(client.call(method, params).await?)
}

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Code::Usage, anyhow::Error::from(e).context("start runtime")))
}
