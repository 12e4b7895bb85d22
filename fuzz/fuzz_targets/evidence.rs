//! Fuzzes the verifier's parsers on peer-controlled evidence: JWS splitting, the x5c chain and
//! the TEE report extension must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = ras_evidence::jws::parse(s) {
            let _ = p.claims();
            for c in &p.chain {
                let _ = ras_evidence::cert::report_of(c);
                let _ = ras_evidence::cert::public_key_of(c);
            }
        }
    }
    let _ = ras_evidence::report::TeeReport::from_der(data);
    let _ = ras_evidence::cert::report_of(data);
});
