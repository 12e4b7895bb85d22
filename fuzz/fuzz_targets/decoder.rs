//! Fuzzes the varlink decoder: arbitrary bytes, split at arbitrary points, must never panic,
//! never yield a frame over the limit, and never make the decoder hold more than limit + chunk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ras_proto::codec::Decoder;
use ras_proto::{Reply, Request};

const LIMIT: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let chunk = (split as usize % 64) + 1;
    let mut d = Decoder::new(LIMIT);
    for piece in rest.chunks(chunk) {
        d.push(piece);
        while let Some(frame) = d.next_frame() {
            if let Ok(f) = frame {
                assert!(f.len() <= LIMIT);
                if let Ok(req) = Request::from_frame(&f) {
                    let _ = req.interface_and_member();
                    let _ = ras_proto::api::Call::parse(&req);
                }
                let _ = Reply::from_frame(&f);
            }
        }
        assert!(d.pending() <= LIMIT + chunk);
    }
});
