//! Fuzzes the reference-value file parser, `ReferenceValues::parse`: an operator's file, often
//! recorded from evidence of another machine. A file that parses renders to a file that parses
//! to the same values, with as many entries as rendered lines, and renders identically again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ras_evidence::reference::ReferenceValues;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(values) = ReferenceValues::parse(text) else { return };
    let rendered = values.render();
    assert_eq!(rendered.lines().count(), values.len());
    assert_eq!(values.is_empty(), rendered.is_empty());
    for line in rendered.lines() {
        let (_, digest) = line.rsplit_once(' ').expect("a rendered line is `NAME SHA256`");
        assert!(digest.len() == 64 && digest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{line:?}");
    }
    let again = ReferenceValues::parse(&rendered).expect("a rendered file parses");
    assert_eq!(again, values, "render then parse changed the values: {rendered:?}");
    assert_eq!(again.render(), rendered);
});
