//! rasd, the ras host daemon.
//!
//! # Layout
//! A call goes down this list: it arrives at a [`listener`], which hands the connection to
//! one of the [`workers`] (a runtime per core), is read by its [`connection`]
//! (framing and deadlines are the server core's, `ras-server`), is routed by [`dispatch`],
//! which asks [`subject`] whom it is about and whether it is allowed, and is done by one of
//! the [`handlers`], which [`measure`] files and [`sign`] evidence.
//! - [`config`]: flags over `/etc/ras/rasd.toml`, resolved once; [`daemon`]: the shared state.
//! - [`identity`]: the caller's kernel identity (SO_PEERCRED, pidfd, /proc), fixed at connect
//!   and checked per request.
//! - [`subject`]: from that identity and the socket to whom evidence is about, and the
//!   authorization rules.
//! - [`containers`]: registering containers (their registry and the Docker API client).
//! - [`agents`]: in-container and VM agents, forwarded challenges and health checks.
//! - [`runtime_log`]: runtime measurement logs; [`quota`]: per-container bounds.
//! - [`tee`]: TEE backends; [`ak`]: the attestation key; [`keys`]: P-256 key material.
//! - [`state`]: crash-safe files; [`clock`]: seconds since the epoch.
//! - `sys`: the only place with `unsafe`.

#![deny(unsafe_code)]

pub mod agents;
pub mod ak;
pub mod audit;
pub mod clock;
pub mod config;
pub mod connection;
pub mod containers;
pub mod daemon;
pub mod dispatch;
pub mod handlers;
pub mod identity;
pub mod keys;
pub mod listener;
pub mod measure;
pub mod quota;
pub mod runtime_log;
pub mod sign;
pub mod state;
pub mod subject;
#[allow(unsafe_code)]
mod sys;
pub mod tee;
pub mod workers;
