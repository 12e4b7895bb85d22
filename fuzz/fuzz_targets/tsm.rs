//! Fuzzes the reader of raw configfs-tsm reports, `ras_evidence::tsm::parse`: a TDX quote or
//! SEV-SNP report from a peer's AK certificate. The first byte chooses the provider, the rest
//! is the raw report. Besides never panicking, a report that parses must have its report data
//! exactly where its layout says (EVIDENCE §3): quote offset 568 (v4) or 574 (v5), SNP 0x50.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ras_evidence::tsm::{parse, Provider};

fuzz_target!(|data: &[u8]| {
    let Some((&which, raw)) = data.split_first() else { return };
    let provider = ["tdx_guest", "sev_guest", "arm_cca_guest", "other"][(which % 4) as usize];
    let Ok(parsed) = parse(provider, raw) else { return };
    let at = match parsed.provider {
        Provider::Tdx if raw[0] == 4 => 568,
        Provider::Tdx => 574,
        Provider::Snp => 0x50,
        Provider::Cca => panic!("CCA tokens are refused, never parsed"),
    };
    assert_eq!(&parsed.report_data[..], &raw[at..at + 64], "{}", parsed.format);
});
