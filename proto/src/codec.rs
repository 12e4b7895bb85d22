//! Bounded NUL-framing decoder.
//!
//! Varlink messages are JSON objects terminated by a single NUL byte. The decoder is pure:
//! callers push the bytes they read and pull complete frames. A frame longer than the limit is
//! reported once as [`FrameError::TooLarge`] and its remaining bytes are discarded up to the
//! next NUL, so the stream stays usable and the peer can get an error reply. The decoder never
//! holds more than `max + chunk` bytes, whatever the peer sends.

use thiserror::Error;

/// A framing failure. Both variants leave the decoder ready for the next frame.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    /// The message grew past the limit before its terminating NUL.
    #[error("message exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
}

/// Incremental decoder of NUL-terminated frames with a size bound.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a NUL, so a slow sender costs linear time.
    scanned: usize,
    max: usize,
    /// True while the rest of an oversized frame is being dropped.
    discarding: bool,
}

impl Decoder {
    /// A decoder that accepts frames of at most `max` bytes (NUL excluded).
    pub fn new(max: usize) -> Self {
        Decoder { buf: Vec::new(), scanned: 0, max, discarding: false }
    }

    /// The frame size limit.
    pub fn limit(&self) -> usize {
        self.max
    }

    /// Bytes held that do not yet form a complete frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// True when no partial frame is buffered (a clean place for the stream to end).
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty() && !self.discarding
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Takes the next complete frame, if any. Call until it returns `None` after each push.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            let nul = self.buf[self.scanned..].iter().position(|&b| b == 0).map(|i| i + self.scanned);
            match nul {
                Some(end) => {
                    let mut frame: Vec<u8> = self.buf.drain(..=end).collect();
                    frame.pop();
                    self.scanned = 0;
                    if self.discarding {
                        // The tail of an oversized frame; its error was already reported.
                        self.discarding = false;
                        continue;
                    }
                    if frame.len() > self.max {
                        return Some(Err(FrameError::TooLarge { limit: self.max }));
                    }
                    return Some(Ok(frame));
                }
                None => {
                    self.scanned = self.buf.len();
                    if self.discarding {
                        self.buf.clear();
                        self.scanned = 0;
                        return None;
                    }
                    if self.buf.len() > self.max {
                        self.buf.clear();
                        self.scanned = 0;
                        self.discarding = true;
                        return Some(Err(FrameError::TooLarge { limit: self.max }));
                    }
                    return None;
                }
            }
        }
    }
}

/// Encodes one message: its bytes followed by the NUL terminator.
pub fn encode(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 1);
    out.extend_from_slice(json);
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain(d: &mut Decoder) -> Vec<Result<Vec<u8>, FrameError>> {
        std::iter::from_fn(|| d.next_frame()).collect()
    }

    #[test]
    fn splits_on_nul() {
        let mut d = Decoder::new(16);
        d.push(b"{}\0{\"a\":1}\0{");
        assert_eq!(drain(&mut d), vec![Ok(b"{}".to_vec()), Ok(b"{\"a\":1}".to_vec())]);
        assert_eq!(d.pending(), 1);
        assert!(!d.is_idle());
    }

    #[test]
    fn oversized_frame_is_reported_once_and_skipped() {
        let mut d = Decoder::new(4);
        d.push(b"0123456789");
        assert_eq!(drain(&mut d), vec![Err(FrameError::TooLarge { limit: 4 })]);
        d.push(b"more tail bytes");
        assert_eq!(drain(&mut d), vec![]);
        assert_eq!(d.pending(), 0, "discarded bytes are not kept");
        d.push(b"end\0ok\0");
        assert_eq!(drain(&mut d), vec![Ok(b"ok".to_vec())]);
        assert!(d.is_idle());
    }

    #[test]
    fn oversized_frame_arriving_whole() {
        let mut d = Decoder::new(2);
        d.push(b"abcdef\0xy\0");
        assert_eq!(drain(&mut d), vec![Err(FrameError::TooLarge { limit: 2 }), Ok(b"xy".to_vec())]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Any split of a stream of frames yields the same frames.
        #[test]
        fn any_chunking_roundtrips(
            frames in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..40), 0..8),
            cuts in proptest::collection::vec(0usize..400, 0..10),
        ) {
            let wire: Vec<u8> = frames.iter().flat_map(|f| encode(f)).collect();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(wire.len())).collect();
            cuts.sort_unstable();
            let mut d = Decoder::new(64);
            let mut out = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain(std::iter::once(wire.len())) {
                d.push(&wire[start..cut]);
                start = cut;
                out.extend(drain(&mut d).into_iter().map(|r| r.expect("frames fit")));
            }
            prop_assert_eq!(out, frames);
            prop_assert!(d.is_idle());
        }

        /// Arbitrary bytes never make the decoder hold more than limit + one chunk.
        #[test]
        fn memory_is_bounded(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..50)) {
            let mut d = Decoder::new(32);
            for c in &chunks {
                d.push(c);
                for f in drain(&mut d).into_iter().flatten() {
                    prop_assert!(f.len() <= 32);
                }
                prop_assert!(d.pending() <= 32 + 64);
            }
        }
    }
}
