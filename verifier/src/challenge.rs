//! Secret-release challenges without per-challenge state: a nonce is 16 random bytes, its
//! expiry (ms, big-endian) and an HMAC-SHA256 tag over both under a key every replica shares
//! through the database. Issuing one writes nothing, so `GET /v1/challenge`, which anyone may
//! call, cannot fill the database; a nonce is marked used only when evidence answering it
//! arrives, and kept until it expires, so it works once.

use ring::hmac;
use thiserror::Error;

const RANDOM: usize = 16;
/// The whole HMAC-SHA256 tag, so that `ring::hmac::verify` compares it in constant time.
const TAG: usize = 32;
/// Bytes in a challenge nonce.
pub const LEN: usize = RANDOM + 8 + TAG;
const CONTEXT: &[u8] = b"ras-verifier challenge v1\0";

/// Why a nonce is not a live challenge of this verifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChallengeError {
    /// Wrong length or a tag that does not verify: not issued here.
    #[error("the evidence's nonce is not a challenge of this verifier (GET /v1/challenge first)")]
    Foreign,
    /// Issued here, but too long ago.
    #[error("the challenge expired {0} s ago; get a fresh one (GET /v1/challenge)")]
    Expired(i64),
}

/// Issues and checks challenges.
pub struct Challenges {
    key: hmac::Key,
}

impl Challenges {
    /// With the shared key.
    pub fn new(key: &[u8]) -> Self {
        Challenges { key: hmac::Key::new(hmac::HMAC_SHA256, key) }
    }

    fn message(body: &[u8]) -> Vec<u8> {
        [CONTEXT, body].concat()
    }

    /// A fresh nonce valid until `expires_ms`.
    pub fn issue(&self, expires_ms: i64) -> Vec<u8> {
        let mut n = vec![0u8; RANDOM];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut n).expect("getrandom");
        n.extend_from_slice(&expires_ms.to_be_bytes());
        let tag = hmac::sign(&self.key, &Self::message(&n));
        n.extend_from_slice(tag.as_ref());
        n
    }

    /// The expiry of a nonce this verifier issued, if it is still live at `now_ms`.
    pub fn check(&self, nonce: &[u8], now_ms: i64) -> Result<i64, ChallengeError> {
        if nonce.len() != LEN {
            return Err(ChallengeError::Foreign);
        }
        let (body, tag) = nonce.split_at(RANDOM + 8);
        hmac::verify(&self.key, &Self::message(body), tag).map_err(|_| ChallengeError::Foreign)?;
        let expires = i64::from_be_bytes(body[RANDOM..].try_into().expect("8 bytes"));
        if expires < now_ms {
            return Err(ChallengeError::Expired((now_ms - expires) / 1000));
        }
        Ok(expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_accepted_until_it_expires_and_only_by_its_issuer() {
        let c = Challenges::new(b"k1");
        let n = c.issue(10_000);
        assert_eq!(c.check(&n, 9_999), Ok(10_000));
        assert_eq!(c.check(&n, 12_500), Err(ChallengeError::Expired(2)));
        assert_eq!(Challenges::new(b"k2").check(&n, 0), Err(ChallengeError::Foreign));
        let mut later = n.clone();
        later[RANDOM + 7] ^= 1; // a forged expiry
        assert_eq!(c.check(&later, 0), Err(ChallengeError::Foreign));
        assert_eq!(c.check(&n[..LEN - 1], 0), Err(ChallengeError::Foreign));
        assert_ne!(c.issue(10_000), n, "random part");
    }
}
