//! The verifier's nonce: 8 to 64 bytes, hex on the wire. This type owns that rule; every side
//! (rasctl, ras-bridge, rasd) holds a [`Nonce`] only once the bytes were checked.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::VarlinkError;

/// A checked nonce.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nonce(Vec<u8>);

/// Why a nonce was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NonceError {
    /// The text is not hex.
    #[error("the nonce is not hex")]
    NotHex,
    /// The bytes are fewer than [`Nonce::MIN`] or more than [`Nonce::MAX`].
    #[error("the nonce must be {} to {} bytes, got {got}", Nonce::MIN, Nonce::MAX)]
    Length {
        /// How many bytes there were (half the hex length when it was not decoded).
        got: usize,
    },
}

impl Nonce {
    /// Fewest bytes a nonce may have.
    pub const MIN: usize = 8;
    /// Most bytes a nonce may have.
    pub const MAX: usize = 64;

    /// Checks raw bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, NonceError> {
        if !(Self::MIN..=Self::MAX).contains(&bytes.len()) {
            return Err(NonceError::Length { got: bytes.len() });
        }
        Ok(Nonce(bytes))
    }

    /// Decodes and checks hex text. The length is bounded before decoding, so a huge string
    /// costs nothing.
    pub fn from_hex(text: &str) -> Result<Self, NonceError> {
        if text.len() > 2 * Self::MAX + 2 {
            return Err(NonceError::Length { got: text.len() / 2 });
        }
        let bytes = hex::decode(text).map_err(|_| NonceError::NotHex)?;
        Self::from_bytes(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The wire form.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

/// Reads a nonce parameter off the wire. Text that is not hex is a bad parameter; a bad
/// length is the interface's own `InvalidNonce`, which `invalid` builds from the bounds and
/// the length given (min, max, got).
pub(crate) fn from_param(text: &str, invalid: fn(u64, u64, u64) -> VarlinkError) -> Result<Nonce, VarlinkError> {
    Nonce::from_hex(text).map_err(|e| match e {
        NonceError::NotHex => VarlinkError::invalid_parameter("nonce"),
        NonceError::Length { got } => invalid(Nonce::MIN as u64, Nonce::MAX as u64, got as u64),
    })
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({})", self.to_hex())
    }
}

impl Serialize for Nonce {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Nonce {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Nonce::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_encodings() {
        assert_eq!(Nonce::from_hex(&"ab".repeat(8)).unwrap().as_bytes().len(), 8);
        assert_eq!(Nonce::from_hex(&"ab".repeat(64)).unwrap().as_bytes().len(), 64);
        assert_eq!(Nonce::from_hex(&"ab".repeat(7)), Err(NonceError::Length { got: 7 }));
        assert_eq!(Nonce::from_hex(&"ab".repeat(65)), Err(NonceError::Length { got: 65 }));
        assert_eq!(Nonce::from_hex(&"ab".repeat(10_000)), Err(NonceError::Length { got: 10_000 }));
        assert_eq!(Nonce::from_hex("zz"), Err(NonceError::NotHex));
        assert_eq!(Nonce::from_bytes(vec![0; 65]), Err(NonceError::Length { got: 65 }));
        let n = Nonce::from_bytes((0..32).collect()).unwrap();
        assert_eq!(Nonce::from_hex(&n.to_hex()).unwrap(), n);
        assert_eq!(serde_json::to_value(&n).unwrap(), serde_json::json!(n.to_hex()));
        assert!(serde_json::from_value::<Nonce>(serde_json::json!("00")).is_err());
    }
}
