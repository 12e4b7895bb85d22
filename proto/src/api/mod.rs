//! Typed calls of every ras interface, shared by rasd, ras-bridge and rasctl.
//!
//! One module per interface holds, for each method, a struct of its parameters (named like
//! the method) that implements [`Method`]: the qualified name, the typed reply, and the one
//! parse from a request. Each module also holds the interface's error enum and a call enum
//! over its methods; [`Call`] joins them. A server parses a request once with
//! [`Call::parse`]; a client builds the struct and sends it (`Client::call`). The IDL files
//! stay the source of truth for the wire, and the tests below hold this module to them.

pub mod admin;
pub mod agent;
pub mod attestation;
mod method;
pub mod protocol;
pub mod remote;
pub mod service;

pub use method::{Empty, Method};

use crate::{Request, VarlinkError};

/// A parsed call to any ras interface.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `org.varlink.service`
    Service(service::ServiceCall),
    /// `io.ras.Attestation`
    Attestation(attestation::AttestationCall),
    /// `io.ras.Admin`
    Admin(admin::AdminCall),
    /// `io.ras.Agent`
    Agent(agent::AgentCall),
    /// `io.ras.Remote`
    Remote(remote::RemoteCall),
}

impl Call {
    /// Parses a request: `InterfaceNotFound`, `MethodNotFound`, `InvalidParameter` (naming
    /// the parameter), an interface's `InvalidNonce`, or `ExpectedMore` when it is not a
    /// well-formed call.
    pub fn parse(req: &Request) -> Result<Call, VarlinkError> {
        let Some((interface, _)) = req.interface_and_member() else {
            return Err(VarlinkError::interface_not_found(&req.method));
        };
        let parsed = match interface {
            service::INTERFACE => service::ServiceCall::parse(req).map(|r| r.map(Call::Service)),
            attestation::INTERFACE => attestation::AttestationCall::parse(req).map(|r| r.map(Call::Attestation)),
            admin::INTERFACE => admin::AdminCall::parse(req).map(|r| r.map(Call::Admin)),
            agent::INTERFACE => agent::AgentCall::parse(req).map(|r| r.map(Call::Agent)),
            remote::INTERFACE => remote::RemoteCall::parse(req).map(|r| r.map(Call::Remote)),
            // An interface of errors only.
            protocol::INTERFACE => None,
            _ => return Err(VarlinkError::interface_not_found(interface)),
        };
        parsed.unwrap_or_else(|| Err(VarlinkError::method_not_found(&req.method)))
    }

    /// The qualified method name.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Service(c) => c.name(),
            Call::Attestation(c) => c.name(),
            Call::Admin(c) => c.name(),
            Call::Agent(c) => c.name(),
            Call::Remote(c) => c.name(),
        }
    }

    /// The request a client sends for this call.
    pub fn to_request(&self) -> Request {
        match self {
            Call::Service(c) => c.to_request(),
            Call::Attestation(c) => c.to_request(),
            Call::Admin(c) => c.to_request(),
            Call::Agent(c) => c.to_request(),
            Call::Remote(c) => c.to_request(),
        }
    }
}

#[cfg(test)]
mod tests;
