//! `org.varlink.service`: what a service serves, and the IDL of each interface. Its errors
//! are the standard ones every varlink peer understands.

use serde::{Deserialize, Serialize};

use super::method::{interface_calls, simple_method};
use crate::error::interface_errors;
use crate::VarlinkError;

/// The interface name.
pub const INTERFACE: &str = "org.varlink.service";

/// `GetInfo()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetInfo {}
simple_method!(GetInfo = "org.varlink.service.GetInfo" -> Info);

/// `GetInfo` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Who made the service.
    pub vendor: String,
    /// The product name.
    pub product: String,
    /// The product version.
    pub version: String,
    /// Where to read about it.
    pub url: String,
    /// Interfaces served on this socket.
    pub interfaces: Vec<String>,
}

/// `GetInterfaceDescription(interface)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetInterfaceDescription {
    /// The interface to describe.
    pub interface: String,
}
simple_method!(GetInterfaceDescription = "org.varlink.service.GetInterfaceDescription" -> Description);

/// `GetInterfaceDescription` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    /// The IDL text.
    pub description: String,
}

interface_calls! {
    /// A call to `org.varlink.service`.
    pub enum ServiceCall { GetInfo, GetInterfaceDescription }
}

interface_errors! {
    /// The standard errors.
    pub enum ServiceError = "org.varlink.service" {
        /// The requested interface was not found.
        InterfaceNotFound { interface: String },
        /// The requested method was not found.
        MethodNotFound { method: String },
        /// The interface defines the method, but the service does not implement it.
        MethodNotImplemented { method: String },
        /// One of the passed parameters is invalid.
        InvalidParameter { parameter: String },
        /// The caller is denied access.
        PermissionDenied {},
        /// The method streams and must be called with `more`.
        ExpectedMore {},
    }
}

/// Shorthands for the standard errors every server needs.
impl VarlinkError {
    /// The interface is not served on this socket.
    pub fn interface_not_found(interface: &str) -> Self {
        ServiceError::InterfaceNotFound { interface: interface.into() }.into()
    }

    /// The interface has no such method.
    pub fn method_not_found(method: &str) -> Self {
        ServiceError::MethodNotFound { method: method.into() }.into()
    }

    /// A parameter is missing, unknown or of the wrong type.
    pub fn invalid_parameter(parameter: &str) -> Self {
        ServiceError::InvalidParameter { parameter: parameter.into() }.into()
    }

    /// The caller's kernel identity does not allow this call.
    pub fn permission_denied() -> Self {
        ServiceError::PermissionDenied {}.into()
    }

    /// A streaming method was called without `more`.
    pub fn expected_more() -> Self {
        ServiceError::ExpectedMore {}.into()
    }
}
