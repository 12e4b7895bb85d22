//! Fuzzes the JWE reader, `ras_evidence::jwe::Recipient::decrypt`, on a compact JWE from
//! ras-verifier (or whoever answers in its place): header, epk and part sizes must be refused
//! with an error, never a panic, and nothing a fuzzer can make without the key decrypts.
//! Inputs that are not UTF-8 are encrypted instead, and must decrypt back to themselves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ras_evidence::jwe::{encrypt, Recipient, MAX_PLAINTEXT};

fuzz_target!(|data: &[u8]| {
    let recipient = Recipient::generate().expect("a key");
    match std::str::from_utf8(data) {
        Ok(compact) => assert!(recipient.decrypt(compact).is_err(), "decrypted without the key: {compact:?}"),
        Err(_) if data.len() <= MAX_PLAINTEXT => {
            let jwe = encrypt(data, &recipient.public_spki_der()).expect("encrypts");
            assert_eq!(recipient.decrypt(&jwe).expect("decrypts"), data);
        }
        Err(_) => {}
    }
});
