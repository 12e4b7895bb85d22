//! A minimal varlink client: one call at a time over any stream. `rasctl` uses it over unix
//! sockets, and the bridge over its upstream connection to rasd.

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::{parse_params, ProtoError, VarlinkError};
use crate::message::{Reply, Request};
use crate::stream::{write_message, MessageReader};
use crate::DEFAULT_MAX_MESSAGE;

/// A client connection.
pub struct Client<S> {
    reader: MessageReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        Client { reader: MessageReader::new(stream, DEFAULT_MAX_MESSAGE) }
    }

    /// Sends a request and returns the first reply (the only one unless `more` was set).
    pub async fn send(&mut self, req: &Request) -> Result<Reply, ProtoError> {
        write_message(self.reader.get_mut(), &req.to_json()).await?;
        self.next_reply().await
    }

    /// Reads the next reply of a streaming call.
    pub async fn next_reply(&mut self) -> Result<Reply, ProtoError> {
        let frame = self.reader.next_message().await?.ok_or(ProtoError::Closed)?;
        Reply::from_frame(&frame)
    }

    /// Calls `method` and deserializes a successful reply into `T`. A varlink error comes back
    /// as `ProtoError::Call`.
    pub async fn call<T: DeserializeOwned>(&mut self, method: &str, params: Value) -> Result<T, ProtoError> {
        let reply = self.send(&Request::new(method, params)).await?;
        let params = reply.into_result().map_err(ProtoError::Call)?;
        parse_params(Value::Object(params)).map_err(|e: VarlinkError| {
            ProtoError::BadReply(e.param_str("parameter").unwrap_or("parameters").to_string())
        })
    }

    /// The underlying stream.
    pub fn get_mut(&mut self) -> &mut S {
        self.reader.get_mut()
    }
}
