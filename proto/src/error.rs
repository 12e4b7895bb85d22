//! Errors of the wire layer: the varlink errors a peer receives, and local protocol failures.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use thiserror::Error;

use crate::codec::FrameError;

/// A varlink error as sent on the wire: a qualified name and its parameters.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{name} {parameters}")]
pub struct VarlinkError {
    /// Qualified error name, e.g. `org.varlink.service.MethodNotFound`.
    pub name: String,
    /// Error parameters (an object).
    pub parameters: Value,
}

/// The standard service interface, whose errors every varlink peer understands.
pub const SERVICE: &str = "org.varlink.service";
/// Our transport-level errors (framing and JSON), described by `io.ras.Protocol`.
pub const PROTOCOL: &str = "io.ras.Protocol";

impl VarlinkError {
    /// An error with an explicit name and parameters.
    pub fn new(name: impl Into<String>, parameters: Value) -> Self {
        VarlinkError { name: name.into(), parameters }
    }

    /// The interface is not served on this socket.
    pub fn interface_not_found(interface: &str) -> Self {
        Self::new(format!("{SERVICE}.InterfaceNotFound"), json!({ "interface": interface }))
    }

    /// The interface has no such method.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(format!("{SERVICE}.MethodNotFound"), json!({ "method": method }))
    }

    /// A parameter is missing, unknown or of the wrong type.
    pub fn invalid_parameter(parameter: &str) -> Self {
        Self::new(format!("{SERVICE}.InvalidParameter"), json!({ "parameter": parameter }))
    }

    /// The caller's kernel identity does not allow this call.
    pub fn permission_denied() -> Self {
        Self::new(format!("{SERVICE}.PermissionDenied"), json!({}))
    }

    /// A streaming method was called without `more`.
    pub fn expected_more() -> Self {
        Self::new(format!("{SERVICE}.ExpectedMore"), json!({}))
    }

    /// The message was longer than the limit.
    pub fn message_too_large(limit: usize) -> Self {
        Self::new(format!("{PROTOCOL}.MessageTooLarge"), json!({ "limit": limit }))
    }

    /// The connection's identity no longer holds; the connection closes after this reply.
    pub fn peer_changed(reason: &str) -> Self {
        Self::new(format!("{PROTOCOL}.PeerChanged"), json!({ "reason": reason }))
    }

    /// The message was not a valid varlink call.
    pub fn malformed_message(reason: &str) -> Self {
        Self::new(format!("{PROTOCOL}.MalformedMessage"), json!({ "reason": reason }))
    }

    /// The unqualified error name (after the last dot).
    pub fn short_name(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }

    /// A string parameter of the error, if present.
    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.parameters.get(key).and_then(Value::as_str)
    }
}

/// A local failure of the wire layer.
#[derive(Debug, Error)]
pub enum ProtoError {
    /// Reading or writing the stream failed.
    #[error("stream i/o")]
    Io(#[from] std::io::Error),
    /// A frame was too large.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A frame was not the expected JSON shape.
    #[error("malformed message: {0}")]
    Malformed(#[source] serde_json::Error),
    /// The peer closed the stream in the middle of a message.
    #[error("connection closed mid-message")]
    TruncatedMessage,
    /// The peer closed the stream while a reply was awaited.
    #[error("connection closed before the reply")]
    Closed,
    /// A reply lacked a field, or had one of the wrong type.
    #[error("unexpected reply: bad or missing field {0:?}")]
    BadReply(String),
    /// The peer replied with a varlink error.
    #[error("call failed: {0}")]
    Call(VarlinkError),
}

/// Deserializes call parameters into `T`, mapping any failure to `InvalidParameter` with the
/// name of the parameter at fault (the first path segment, or the missing/unknown field).
pub fn parse_params<T: DeserializeOwned>(params: Value) -> Result<T, VarlinkError> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().iter().next().map(|seg| seg.to_string());
        let name = match path {
            Some(p) if p != "?" && !p.is_empty() => p,
            _ => backticked(&e.inner().to_string()).unwrap_or_else(|| "parameters".into()),
        };
        VarlinkError::invalid_parameter(&name)
    })
}

/// The first backtick-quoted word of a serde message ("missing field `nonce`").
fn backticked(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        nonce: String,
        count: Option<u32>,
    }

    fn bad(v: Value) -> String {
        let e = parse_params::<P>(v).unwrap_err();
        assert_eq!(e.name, "org.varlink.service.InvalidParameter");
        e.param_str("parameter").unwrap().to_string()
    }

    #[test]
    fn names_the_parameter_at_fault() {
        assert_eq!(bad(json!({"nonce": 5})), "nonce");
        assert_eq!(bad(json!({"nonce": "ab", "count": "x"})), "count");
        assert_eq!(bad(json!({})), "nonce");
        assert_eq!(bad(json!({"nonce": "ab", "zzz": 1})), "zzz");
        assert!(parse_params::<P>(json!({"nonce": "ab"})).is_ok());
    }
}
