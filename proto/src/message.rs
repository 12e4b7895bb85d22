//! The two message shapes of varlink: a call and a reply.
//!
//! A request is `{method, parameters?, more?, oneway?}` and a reply is
//! `{parameters?, continues?, error?}`. Unknown keys are ignored, and a missing or `null`
//! parameters object reads as `{}` (DESIGN §5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ProtoError, VarlinkError};

/// A method call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Fully qualified method name, `interface.Method`.
    pub method: String,
    /// The call's parameters; always an object after parsing.
    #[serde(default, deserialize_with = "object_or_null")]
    pub parameters: Map<String, Value>,
    /// The caller accepts several replies (`continues`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
    /// The caller wants no reply at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oneway: bool,
}

fn object_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

impl Request {
    /// A plain call with parameters.
    pub fn new(method: impl Into<String>, parameters: Value) -> Self {
        let parameters = match parameters {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Request { method: method.into(), parameters, more: false, oneway: false }
    }

    /// Parses one frame. Fails on invalid JSON or a missing `method`.
    pub fn from_frame(frame: &[u8]) -> Result<Self, ProtoError> {
        serde_json::from_slice(frame).map_err(ProtoError::Malformed)
    }

    /// Splits `interface.Method` at its last dot.
    pub fn interface_and_member(&self) -> Option<(&str, &str)> {
        let (i, m) = self.method.rsplit_once('.')?;
        (!i.is_empty() && !m.is_empty()).then_some((i, m))
    }

    /// Serializes for the wire, without the terminator.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a request is always serializable")
    }
}

/// One reply to a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Result or error parameters.
    #[serde(default, deserialize_with = "object_or_null")]
    pub parameters: Map<String, Value>,
    /// More replies follow for this call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continues: bool,
    /// Set when the call failed: the qualified error name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Reply {
    /// A successful reply carrying `parameters` (an object; anything else becomes `{}`).
    pub fn ok(parameters: Value) -> Self {
        let parameters = match parameters {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Reply { parameters, continues: false, error: None }
    }

    /// A successful reply of a typed result.
    pub fn of<T: Serialize>(result: &T) -> Self {
        Reply::ok(serde_json::to_value(result).expect("reply types serialize"))
    }

    /// An error reply.
    pub fn from_error(err: &VarlinkError) -> Self {
        let parameters = match &err.parameters {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        Reply { parameters, continues: false, error: Some(err.name.clone()) }
    }

    /// Parses one frame.
    pub fn from_frame(frame: &[u8]) -> Result<Self, ProtoError> {
        serde_json::from_slice(frame).map_err(ProtoError::Malformed)
    }

    /// The reply as a result: the error, if one is set.
    pub fn into_result(self) -> Result<Map<String, Value>, VarlinkError> {
        match self.error {
            Some(name) => Err(VarlinkError::from_reply(name, Value::Object(self.parameters))),
            None => Ok(self.parameters),
        }
    }

    /// Serializes for the wire, without the terminator.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a reply is always serializable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn parameters_may_be_missing_null_or_empty() {
        for raw in [
            r#"{"method":"a.B"}"#,
            r#"{"method":"a.B","parameters":null}"#,
            r#"{"method":"a.B","parameters":{}}"#,
            r#"{"method":"a.B","parameters":{},"unknown":[1,2]}"#,
        ] {
            let r = Request::from_frame(raw.as_bytes()).expect(raw);
            assert!(r.parameters.is_empty());
            assert_eq!(r.interface_and_member(), Some(("a", "B")));
        }
    }

    #[test]
    fn rejects_non_objects_and_missing_method() {
        for raw in ["", "[]", "{\"parameters\":{}}", "{\"method\":1}", "{\"method\":\"a.B\",\"parameters\":3}"] {
            assert!(Request::from_frame(raw.as_bytes()).is_err(), "{raw}");
        }
    }

    #[test]
    fn wire_bytes_of_a_reply_are_exact() {
        let r = Reply::ok(json!({"x": 1}));
        assert_eq!(r.to_json(), br#"{"parameters":{"x":1}}"#);
        let e = Reply::from_error(&VarlinkError::method_not_found("a.B"));
        assert_eq!(e.to_json(), br#"{"parameters":{"method":"a.B"},"error":"org.varlink.service.MethodNotFound"}"#);
    }

    proptest! {
        #[test]
        fn request_roundtrip(method in "[a-z]{1,8}\\.[A-Z][a-z]{0,8}", n in any::<i64>(), s in ".*", more: bool, oneway: bool) {
            let mut r = Request::new(method, json!({"n": n, "s": s}));
            r.more = more;
            r.oneway = oneway;
            let back = Request::from_frame(&r.to_json()).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Request::from_frame(&bytes);
            let _ = Reply::from_frame(&bytes);
        }
    }
}
