//! Fuzzes rasd's configuration file parser, `rasd::config::parse_file`, on arbitrary text:
//! `/etc/ras/rasd.toml` is operator input, and a typo must be an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match rasd::config::parse_file(text) {
        Ok(cfg) => {
            let _ = format!("{cfg:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
