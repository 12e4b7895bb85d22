//! The varlink server core shared by rasd and ras-bridge: what a ras server does the same
//! way whatever it serves.
//!
//! # Layout
//! - [`activation`]: socket-activated fds, taken before any thread starts.
//! - [`connection`]: one connection's messages: whole frames within the idle deadline,
//!   oversized and malformed messages answered exactly, replies written within a deadline.
//! - [`service`]: the answers of `org.varlink.service`.
//! - [`logging`]: journald or stderr, with `RAS_` fields.
//! - [`lifecycle`]: readiness, watchdog, stop signals and the drain of calls in flight.
//! - `sys`: the only `unsafe`.
//!
//! Who may call what, and what a call does, is the server's own business; nothing here
//! looks at a method.

#![deny(unsafe_code)]

pub mod activation;
pub mod connection;
pub mod lifecycle;
pub mod logging;
pub mod service;
#[allow(unsafe_code)]
mod sys;
