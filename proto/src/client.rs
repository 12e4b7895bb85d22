//! A typed varlink client: one call at a time over any stream. `rasctl` uses it over unix,
//! TCP and vsock streams, and the bridge over its upstream connection to rasd.

use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::api::Method;
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

    /// Calls a method and returns its typed reply (the first one, for a streaming method).
    /// A varlink error comes back as `ProtoError::Call`.
    pub async fn call<M: Method>(&mut self, call: &M) -> Result<M::Reply, ProtoError> {
        let reply = self.send(&call.to_request()).await?;
        typed(reply)
    }

    /// The next typed reply of streaming method `M`.
    pub async fn next<M: Method>(&mut self) -> Result<M::Reply, ProtoError> {
        let reply = self.next_reply().await?;
        typed(reply)
    }

    /// The underlying stream.
    pub fn get_mut(&mut self) -> &mut S {
        self.reader.get_mut()
    }
}

/// A reply as `T`, or its error.
fn typed<T: DeserializeOwned>(reply: Reply) -> Result<T, ProtoError> {
    let params = reply.into_result().map_err(ProtoError::Call)?;
    parse_params(params)
        .map_err(|e: VarlinkError| ProtoError::BadReply(e.param_str("parameter").unwrap_or("parameters").to_string()))
}
