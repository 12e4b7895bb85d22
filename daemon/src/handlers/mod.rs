//! Method handlers, one file per interface. Handlers take typed parameters from the request,
//! read or change daemon state, and return the reply parameters or an exact varlink error.

pub mod admin;
pub mod attestation;
pub mod service;

use ras_proto::VarlinkError;
use serde::Serialize;
use serde_json::Value;

use crate::dispatch::CallContext;
use crate::identity::Identity;

/// Serializes a reply struct.
pub fn reply<T: Serialize>(v: &T) -> Result<Value, VarlinkError> {
    Ok(serde_json::to_value(v).expect("reply types serialize"))
}

/// The caller's identity now, read off the async runtime.
pub async fn identify(ctx: &CallContext) -> Result<Identity, VarlinkError> {
    let daemon = ctx.daemon.clone();
    let peer = ctx.peer.clone();
    tokio::task::spawn_blocking(move || peer.snapshot(&daemon.exe_cache))
        .await
        .map_err(|e| attestation::peer_gone(&e.to_string()))?
        .map_err(|e| attestation::peer_gone(&format!("{:#}", anyhow::Error::from(e))))
}
