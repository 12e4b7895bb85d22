//! What each method does, one file per interface. A handler gets its typed parameters and
//! what [`crate::subject`] resolved (the caller, the subject), does the work, and returns its
//! typed reply or an exact varlink error. Who may call what is decided before a handler runs;
//! `org.varlink.service` is answered by the server core.

pub mod admin;
pub mod agent;
pub mod attestation;
pub mod remote;
