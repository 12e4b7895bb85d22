//! Fuzzes rasd's parser of Docker Engine API responses, `rasd::containers::docker_api::parse_response`:
//! whatever answers on the Docker socket controls these bytes. Besides never panicking, a
//! parsed container name never keeps the leading `/` Docker puts on it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match rasd::containers::docker_api::parse_response(data) {
        Ok(inspect) => {
            assert!(!inspect.name.starts_with('/'), "name {:?} keeps its slash", inspect.name);
            assert!(data.windows(4).any(|w| w == b"\r\n\r\n"), "parsed without a header end");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
