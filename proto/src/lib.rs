//! Wire layer of ras: varlink messages, the NUL-framed codec, the IDL of every interface, and
//! the typed calls, replies and errors of each method.
//!
//! # Layout
//! - [`codec`]: a pure, bounded frame decoder (bytes in, NUL-terminated messages out).
//! - [`message`]: [`Request`] and [`Reply`], the two JSON shapes on the wire.
//! - [`api`]: one module per interface: each method's parameters, reply and errors, and
//!   [`api::Call`], a request parsed once.
//! - [`nonce`]: [`Nonce`], the 8-to-64-byte rule and its encodings.
//! - [`error`]: [`VarlinkError`], the exact errors a peer sees, the one mapping from each
//!   interface's error enum to it, and [`ProtoError`].
//! - [`idl`]: the real varlink interface descriptions served by `GetInterfaceDescription`.
//! - [`stream`]: async reading and writing of messages over any tokio stream.
//! - [`client`]: a typed varlink client used by `rasctl`, `ras-bridge` and `ras-verifier`;
//!   [`endpoint`]: the addresses they connect to.
//!
//! This crate holds no I/O policy (who may call what) and no TEE code.

pub mod api;
pub mod client;
pub mod codec;
pub mod endpoint;
pub mod error;
pub mod idl;
pub mod message;
pub mod nonce;
pub mod stream;

pub use error::{ProtoError, VarlinkError};
pub use message::{Reply, Request};
pub use nonce::Nonce;

/// Largest message accepted by default, in bytes, before the NUL terminator (1 MiB).
pub const DEFAULT_MAX_MESSAGE: usize = 1 << 20;
