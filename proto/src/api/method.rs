//! What every method is: [`Method`] (its name, its reply, its one parse), [`Empty`], and
//! the two macros the interface modules declare their methods and call enums with.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Request, VarlinkError};

/// One varlink method: its parameters are `Self`.
pub trait Method: Serialize + Sized {
    /// The qualified method name.
    const NAME: &'static str;
    /// The method streams replies and must be called with `more`.
    const STREAMING: bool = false;
    /// The reply's parameters (each reply's, for a streaming method).
    type Reply: Serialize + DeserializeOwned;

    /// Parses the parameters, naming the one at fault in `InvalidParameter`.
    fn from_params(params: Map<String, Value>) -> Result<Self, VarlinkError>;

    /// Parses a request already known to name this method.
    fn parse_request(req: &Request) -> Result<Self, VarlinkError> {
        let call = Self::from_params(req.parameters.clone())?;
        if Self::STREAMING && !req.more {
            return Err(VarlinkError::expected_more());
        }
        Ok(call)
    }

    /// The request a client sends.
    fn to_request(&self) -> Request {
        let mut req = Request::new(Self::NAME, serde_json::to_value(self).expect("parameters serialize"));
        req.more = Self::STREAMING;
        req
    }
}

/// The reply of a method that returns nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// Implements [`Method`] for a parameter struct that serde parses whole.
macro_rules! simple_method {
    ($ty:ident = $name:literal -> $reply:ty) => {
        impl $crate::api::method::Method for $ty {
            const NAME: &'static str = $name;
            type Reply = $reply;
            fn from_params(params: serde_json::Map<String, serde_json::Value>) -> Result<Self, $crate::VarlinkError> {
                $crate::error::parse_params(params)
            }
        }
    };
}
pub(crate) use simple_method;

/// Declares an interface's call enum: one variant per method, named and typed like the
/// method's parameter struct.
macro_rules! interface_calls {
    ($(#[$meta:meta])* pub enum $name:ident { $( $variant:ident ),* $(,)? }) => {
        $(#[$meta])*
        #[allow(missing_docs)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $variant($variant) ),*
        }

        impl $name {
            /// Every method of the interface, qualified.
            pub const METHODS: &'static [&'static str] = &[ $( <$variant as $crate::api::method::Method>::NAME ),* ];

            /// The call a request makes, or `None` when the interface has no such method.
            pub fn parse(req: &$crate::Request) -> Option<Result<Self, $crate::VarlinkError>> {
                $(
                    if req.method == <$variant as $crate::api::method::Method>::NAME {
                        return Some(<$variant as $crate::api::method::Method>::parse_request(req).map($name::$variant));
                    }
                )*
                None
            }

            /// The qualified method name.
            pub fn name(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => <$variant as $crate::api::method::Method>::NAME ),*
                }
            }

            /// The request a client sends for this call.
            pub fn to_request(&self) -> $crate::Request {
                match self {
                    $( $name::$variant(c) => $crate::api::method::Method::to_request(c) ),*
                }
            }
        }
    };
}
pub(crate) use interface_calls;
