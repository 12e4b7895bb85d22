//! Errors of the wire layer: the varlink error a peer receives ([`VarlinkError`]), the one
//! mapping from each interface's typed error enum to it ([`InterfaceError`]), and local
//! protocol failures ([`ProtoError`]).
//!
//! Every error name and parameter a peer can see is declared once, in an interface's enum
//! (made by `interface_errors!`); the IDL test holds each enum to its `.varlink` file. The
//! shorthands for the standard errors (`VarlinkError::permission_denied()`, ...) live beside
//! their enums in `api::service` and `api::protocol`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
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

/// The errors of one interface, as one enum whose variants are the IDL's `error` lines.
pub trait InterfaceError: Serialize + DeserializeOwned {
    /// The interface, e.g. `io.ras.Attestation`.
    const INTERFACE: &'static str;
    /// Each variant's name and its fields with their Rust types, in declaration order.
    const DECLARED: &'static [(&'static str, &'static [(&'static str, &'static str)])];

    /// The wire form: `INTERFACE.Variant` and the variant's fields as parameters.
    fn to_wire(&self) -> VarlinkError {
        // An externally tagged struct variant serializes as {"Variant": {fields}}.
        match serde_json::to_value(self) {
            Ok(Value::Object(outer)) if outer.len() == 1 => {
                let (variant, parameters) = outer.into_iter().next().expect("one entry");
                VarlinkError { name: format!("{}.{variant}", Self::INTERFACE), parameters }
            }
            _ => unreachable!("interface_errors! enums have struct variants only"),
        }
    }

    /// The typed error a wire error is, if it belongs to this interface.
    fn from_wire(e: &VarlinkError) -> Option<Self> {
        let variant = e.name.strip_prefix(Self::INTERFACE)?.strip_prefix('.')?;
        let mut outer = Map::new();
        outer.insert(variant.to_string(), e.parameters.clone());
        serde_json::from_value(Value::Object(outer)).ok()
    }
}

/// Declares an interface's error enum. Every variant has braces (possibly empty), so that it
/// serializes as the varlink error's parameters object.
macro_rules! interface_errors {
    (
        $(#[$meta:meta])*
        pub enum $name:ident = $iface:literal {
            $( $(#[$vmeta:meta])* $variant:ident { $( $field:ident : $fty:ty ),* $(,)? } ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        // The fields are the IDL's error parameters, documented there.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* $variant { $( $field: $fty ),* } ),*
        }

        impl $crate::error::InterfaceError for $name {
            const INTERFACE: &'static str = $iface;
            const DECLARED: &'static [(&'static str, &'static [(&'static str, &'static str)])] =
                &[ $( (stringify!($variant), &[ $( (stringify!($field), stringify!($fty)) ),* ]) ),* ];
        }

        impl From<$name> for $crate::VarlinkError {
            fn from(e: $name) -> Self {
                $crate::error::InterfaceError::to_wire(&e)
            }
        }
    };
}
pub(crate) use interface_errors;

impl VarlinkError {
    /// An error read off the wire (a client's view of a reply).
    pub fn from_reply(name: String, parameters: Value) -> Self {
        VarlinkError { name, parameters }
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
pub fn parse_params<T: DeserializeOwned>(params: Map<String, Value>) -> Result<T, VarlinkError> {
    serde_path_to_error::deserialize(Value::Object(params)).map_err(|e| {
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
    use crate::api::protocol::ProtocolError;
    use crate::api::service::ServiceError;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        nonce: String,
        count: Option<u32>,
    }

    fn bad(v: Value) -> String {
        let Value::Object(m) = v else { panic!("object") };
        let e = parse_params::<P>(m).unwrap_err();
        assert_eq!(e.name, "org.varlink.service.InvalidParameter");
        e.param_str("parameter").unwrap().to_string()
    }

    #[test]
    fn names_the_parameter_at_fault() {
        assert_eq!(bad(json!({"nonce": 5})), "nonce");
        assert_eq!(bad(json!({"nonce": "ab", "count": "x"})), "count");
        assert_eq!(bad(json!({})), "nonce");
        assert_eq!(bad(json!({"nonce": "ab", "zzz": 1})), "zzz");
    }

    #[test]
    fn typed_errors_have_exact_wire_forms_and_back() {
        let e: VarlinkError = ServiceError::PermissionDenied {}.into();
        assert_eq!((e.name.as_str(), &e.parameters), ("org.varlink.service.PermissionDenied", &json!({})));
        let e = VarlinkError::message_too_large(7);
        assert_eq!((e.name.as_str(), &e.parameters), ("io.ras.Protocol.MessageTooLarge", &json!({"limit": 7})));
        assert_eq!(ProtocolError::from_wire(&e), Some(ProtocolError::MessageTooLarge { limit: 7 }));
        assert_eq!(ServiceError::from_wire(&e), None, "another interface's error");
    }
}
