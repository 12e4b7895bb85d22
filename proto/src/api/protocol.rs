//! `io.ras.Protocol`: transport-level errors, for messages that are not calls at all.

use crate::error::interface_errors;
use crate::VarlinkError;

/// The interface name.
pub const INTERFACE: &str = "io.ras.Protocol";

interface_errors! {
    /// Errors about the message itself; the connection stays open after the first two.
    pub enum ProtocolError = "io.ras.Protocol" {
        /// The message grew past `limit` bytes before its NUL terminator.
        MessageTooLarge { limit: u64 },
        /// The message was not a JSON object with a string "method".
        MalformedMessage { reason: String },
        /// The connection no longer carries the identity fixed when it was made.
        PeerChanged { reason: String },
    }
}

/// Shorthands for the transport errors.
impl VarlinkError {
    /// The message was longer than the limit.
    pub fn message_too_large(limit: usize) -> Self {
        ProtocolError::MessageTooLarge { limit: limit as u64 }.into()
    }

    /// The connection's identity no longer holds; the connection closes after this reply.
    pub fn peer_changed(reason: &str) -> Self {
        ProtocolError::PeerChanged { reason: reason.into() }.into()
    }

    /// The message was not a valid varlink call.
    pub fn malformed_message(reason: &str) -> Self {
        ProtocolError::MalformedMessage { reason: reason.into() }.into()
    }
}
