//! The raw reports of Linux configfs-tsm (`/sys/kernel/config/tsm/report/<entry>/outblob`):
//! which hardware made them, and where in each one the 64 bytes of report data are.
//!
//! A verifier never takes the report data from a separate field: it reads them out of the raw
//! report itself, at the offset the hardware vendor's layout fixes, so that the bytes it
//! compares with the AK binding are the bytes the hardware signed. Appraising that hardware
//! signature (Intel's PCK chain for a TDX quote, AMD's VCEK/VLEK for an SEV-SNP report) is not
//! done here; it is delegated to an external appraiser (see [`crate::verify::Appraiser`]).
//!
//! Every read is bounds-checked: the raw report comes from a peer, inside its AK certificate.

use thiserror::Error;

/// Bytes of report data in every provider's report (the same 64 as
/// `crate::report::REPORT_DATA_LEN`; kept here so that this parser needs nothing of `report`).
pub const REPORT_DATA_LEN: usize = 64;

/// Largest raw report: the kernel's `TSM_OUTBLOB_MAX` (32 KiB).
pub const MAX_OUTBLOB: usize = 32 * 1024;

/// TDX quote header: version, attestation key type, TEE type, two reserved fields (or QE and
/// PCE SVNs), QE vendor id and user data.
const TDX_HEADER_LEN: usize = 48;
/// `tee_type` of a TDX quote (0 is SGX).
const TDX_TEE_TYPE: u32 = 0x81;
/// The TD report body of TDX 1.0 (quote v4, and v5 with body type 2).
const TD10_BODY_LEN: usize = 584;
/// The TD report body of TDX 1.5 (quote v5 with body type 3): TDX 1.0's plus TEE_TCB_SVN_2
/// and MRSERVICETD at its end.
const TD15_BODY_LEN: usize = 648;
/// REPORTDATA within a TD report body: after TEE_TCB_SVN (16), MRSEAM and MRSIGNERSEAM (48
/// each), SEAMATTRIBUTES, TDATTRIBUTES and XFAM (8 each), MRTD, MRCONFIGID, MROWNER and
/// MROWNERCONFIG (48 each) and RTMR0-3 (48 each): 16 + 96 + 24 + 192 + 192 = 520.
const TD_BODY_REPORT_DATA: usize = 520;
/// The v5 body descriptor between header and body: type (u16) and size (u32).
const TDX_V5_DESCRIPTOR_LEN: usize = 6;

/// An SEV-SNP attestation report (AMD SEV-SNP ABI, table "ATTESTATION_REPORT structure").
const SNP_REPORT_LEN: usize = 0x4a0;
/// The largest SEV-SNP report accepted: one guest message page.
const SNP_REPORT_MAX: usize = 0x1000;
/// REPORT_DATA of an SEV-SNP report.
const SNP_REPORT_DATA: usize = 0x50;
/// SIGNATURE_ALGO of an SEV-SNP report; 1 is ECDSA P-384 with SHA-384, the only one defined.
const SNP_SIGNATURE_ALGO: usize = 0x34;
/// SEV-SNP report versions whose first 0xa0 bytes have the layout above (2 up to firmware
/// 1.55, 3 from 1.56, 5 from 1.58; later fields were added at the end, not in the middle).
const SNP_VERSIONS: std::ops::RangeInclusive<u32> = 2..=5;

/// Why a raw report cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TsmError {
    /// The provider is not one ras knows.
    #[error("configfs-tsm provider {0:?} is unknown to ras (known: tdx_guest, sev_guest, arm_cca_guest)")]
    UnknownProvider(String),
    /// The provider is known, but ras cannot locate its report data exactly.
    #[error("configfs-tsm provider {provider} is not supported: {why}")]
    Unsupported {
        /// The provider.
        provider: &'static str,
        /// Why.
        why: &'static str,
    },
    /// The raw report is larger than any provider makes.
    #[error("raw TSM report is {0} bytes, more than the kernel's limit of {MAX_OUTBLOB}")]
    TooLarge(usize),
    /// The raw report does not have the provider's layout.
    #[error("raw {provider} report is malformed: {why}")]
    Malformed {
        /// The provider.
        provider: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// The hardware behind a configfs-tsm provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Intel TDX (`tdx_guest`): the outblob is a TDX quote.
    Tdx,
    /// AMD SEV-SNP (`sev_guest`): the outblob is an SNP attestation report.
    Snp,
    /// Arm CCA (`arm_cca_guest`): the outblob is a CBOR CCA attestation token.
    Cca,
}

impl Provider {
    /// The provider named by the kernel's `provider` attribute.
    pub fn from_name(name: &str) -> Result<Provider, TsmError> {
        match name {
            "tdx_guest" => Ok(Provider::Tdx),
            "sev_guest" => Ok(Provider::Snp),
            "arm_cca_guest" => Ok(Provider::Cca),
            other => Err(TsmError::UnknownProvider(other.chars().take(64).collect())),
        }
    }

    /// The kernel's name.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Tdx => "tdx_guest",
            Provider::Snp => "sev_guest",
            Provider::Cca => "arm_cca_guest",
        }
    }

    /// What its raw report is called, for verdicts: "TDX quote", "SEV-SNP report".
    pub fn report_name(self) -> &'static str {
        match self {
            Provider::Tdx => "TDX quote",
            Provider::Snp => "SEV-SNP report",
            Provider::Cca => "CCA token",
        }
    }
}

/// What the raw report says, as far as ras reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The hardware.
    pub provider: Provider,
    /// The layout found, e.g. "TDX quote v4".
    pub format: String,
    /// The report data, read from the raw report at the layout's offset.
    pub report_data: [u8; REPORT_DATA_LEN],
    /// A TDX TD's run-time measurement registers RTMR0 to RTMR3 (SHA-384); `None` for other
    /// hardware. ras extends its runtime log into RTMR3.
    pub rtmrs: Option<[Rtmr; 4]>,
}

/// One TDX run-time measurement register (SHA-384).
pub type Rtmr = [u8; RTMR_LEN];
/// Bytes in an RTMR.
pub const RTMR_LEN: usize = 48;
/// Where the TD report body puts RTMR0; RTMR1 to RTMR3 follow, 48 bytes each (TDX 1.0 and
/// 1.5 bodies agree on every field up to `REPORTDATA`).
const TD_BODY_RTMR0: usize = 328;

/// Reads the report data out of `raw`, the outblob of `provider`.
pub fn parse(provider: &str, raw: &[u8]) -> Result<Parsed, TsmError> {
    let provider = Provider::from_name(provider)?;
    if raw.len() > MAX_OUTBLOB {
        return Err(TsmError::TooLarge(raw.len()));
    }
    let (format, report_data, rtmrs) = match provider {
        Provider::Tdx => {
            let (format, body) = tdx(raw)?;
            let short = || malformed(provider, "too short for its TD report");
            let data = report_data_at(raw, body + TD_BODY_REPORT_DATA).ok_or_else(short)?;
            let mut rtmrs = [[0u8; RTMR_LEN]; 4];
            for (i, r) in rtmrs.iter_mut().enumerate() {
                let at = body + TD_BODY_RTMR0 + i * RTMR_LEN;
                *r = raw.get(at..at + RTMR_LEN).and_then(|b| b.try_into().ok()).ok_or_else(short)?;
            }
            (format, data, Some(rtmrs))
        }
        Provider::Snp => {
            let (format, data) = snp(raw)?;
            (format, data, None)
        }
        // A CCA token is a CBOR tagged collection whose realm token is a COSE_Sign1 with the
        // challenge as claim 10. Reading it needs a CBOR and COSE parser that ras does not
        // have yet; guessing an offset would let a token bind whatever sits there.
        Provider::Cca => {
            return Err(TsmError::Unsupported {
                provider: "arm_cca_guest",
                why: "ras cannot yet read the realm challenge out of a CCA token (CBOR/COSE), and refuses to guess",
            })
        }
    };
    Ok(Parsed { provider, format, report_data, rtmrs })
}

fn malformed(provider: Provider, why: impl Into<String>) -> TsmError {
    TsmError::Malformed { provider: provider.name(), why: why.into() }
}

fn le16(raw: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(raw.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn le32(raw: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(raw.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn report_data_at(raw: &[u8], at: usize) -> Option<[u8; REPORT_DATA_LEN]> {
    raw.get(at..at.checked_add(REPORT_DATA_LEN)?)?.try_into().ok()
}

/// A TDX quote, version 4 or 5 (Intel TDX DCAP Quoting Library API, appendix "Quote Format"):
/// its layout, and where its TD report body starts (the whole body is inside `raw`).
fn tdx(raw: &[u8]) -> Result<(String, usize), TsmError> {
    let p = Provider::Tdx;
    let short = || malformed(p, format!("{} bytes is too short for a TDX quote", raw.len()));
    let version = le16(raw, 0).ok_or_else(short)?;
    let tee_type = le32(raw, 4).ok_or_else(short)?;
    if tee_type != TDX_TEE_TYPE {
        return Err(malformed(p, format!("tee_type is {tee_type:#x}, not TDX ({TDX_TEE_TYPE:#x}); 0 is an SGX quote")));
    }
    let (body_at, body_len, format) = match version {
        4 => (TDX_HEADER_LEN, TD10_BODY_LEN, "TDX quote v4".to_string()),
        5 => {
            let body_type = le16(raw, TDX_HEADER_LEN).ok_or_else(short)?;
            let size = le32(raw, TDX_HEADER_LEN + 2).ok_or_else(short)? as usize;
            let body_len = match body_type {
                2 => TD10_BODY_LEN,
                3 => TD15_BODY_LEN,
                t => return Err(malformed(p, format!("quote v5 body type {t} is not a TD report (2 or 3)"))),
            };
            if size != body_len {
                return Err(malformed(p, format!("quote v5 body type {body_type} has size {size}, not {body_len}")));
            }
            let tdx = if body_type == 2 { "1.0" } else { "1.5" };
            (TDX_HEADER_LEN + TDX_V5_DESCRIPTOR_LEN, body_len, format!("TDX quote v5 (TDX {tdx} TD report)"))
        }
        v => return Err(malformed(p, format!("quote version {v} is not supported (4 and 5 are)"))),
    };
    let sig_len_at = body_at + body_len;
    let sig_len = le32(raw, sig_len_at).ok_or_else(short)? as usize;
    // The kernel hands over exactly the quote, so its length is known: header, body, the
    // signature-data length and that many bytes.
    let end = (sig_len_at + 4).checked_add(sig_len);
    if end != Some(raw.len()) {
        return Err(malformed(
            p,
            format!(
                "{} bytes, but its signature-data length {sig_len} makes it {}",
                raw.len(),
                sig_len_at + 4 + sig_len
            ),
        ));
    }
    Ok((format, body_at))
}

/// An SEV-SNP attestation report.
fn snp(raw: &[u8]) -> Result<(String, [u8; REPORT_DATA_LEN]), TsmError> {
    let p = Provider::Snp;
    if !(SNP_REPORT_LEN..=SNP_REPORT_MAX).contains(&raw.len()) {
        return Err(malformed(p, format!("{} bytes; an SEV-SNP report has {SNP_REPORT_LEN}", raw.len())));
    }
    let version = le32(raw, 0).ok_or_else(|| malformed(p, "short"))?;
    if !SNP_VERSIONS.contains(&version) {
        return Err(malformed(p, format!("report version {version} is not supported (2 to 5 are)")));
    }
    let algo = le32(raw, SNP_SIGNATURE_ALGO).ok_or_else(|| malformed(p, "short"))?;
    if algo != 1 {
        return Err(malformed(p, format!("signature algorithm {algo} is not ECDSA P-384 with SHA-384 (1)")));
    }
    let data = report_data_at(raw, SNP_REPORT_DATA).ok_or_else(|| malformed(p, "short"))?;
    Ok((format!("SEV-SNP report v{version}"), data))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Recorded public samples; their sources are in `testdata/tsm/README.md`.
    pub(crate) const TDX_V4: &[u8] = include_bytes!("../testdata/tsm/tdx_quote_4.dat");
    const TDX_V5: &[u8] = include_bytes!("../testdata/tsm/tdx_quote_5.dat");
    pub(crate) const SNP: &[u8] = include_bytes!("../testdata/tsm/snp_report.bin");
    const SNP_MILAN: &[u8] = include_bytes!("../testdata/tsm/snp_report_milan.bin");

    fn hex64(s: &str) -> [u8; 64] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn the_recorded_tdx_quotes_give_their_report_data() {
        let p = parse("tdx_guest", TDX_V4).unwrap();
        assert_eq!(p.provider, Provider::Tdx);
        assert_eq!(p.format, "TDX quote v4");
        // The value trustee's own test expectation lists for this quote.
        assert_eq!(p.report_data, hex64("7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429"));
        let p = parse("tdx_guest", TDX_V5).unwrap();
        assert_eq!(p.format, "TDX quote v5 (TDX 1.5 TD report)");
        assert_eq!(p.report_data, hex64("6d6ab13b046cff606ac0074be13981b07b6325dba10b5facc96febf551c0c3be2b75f92fe1f88f4bb996969ad0174b4b7a70261b7b85c844f4b33a4674fd049f"));
    }

    #[test]
    fn the_recorded_tdx_quotes_give_their_rtmrs_and_snp_has_none() {
        let rtmr = |s: &str| -> Rtmr { hex::decode(s).unwrap().try_into().unwrap() };
        // Read with `xxd -s 376 -l 48` (v4: body at 48, RTMR0 at body + 328) and `-s 382` (v5:
        // the body descriptor moves it by 6); RTMR3 of both samples was never extended.
        let v4 = parse("tdx_guest", TDX_V4).unwrap().rtmrs.unwrap();
        assert_eq!(
            v4[0],
            rtmr("e940da7c2712d2790e2961e00484f4fa8e6f9eed71361655ae22699476b14f9e63867eb41edd4b480fef0c59f496b288")
        );
        assert_eq!(v4[3], [0; RTMR_LEN]);
        let v5 = parse("tdx_guest", TDX_V5).unwrap().rtmrs.unwrap();
        assert_eq!(
            v5[0],
            rtmr("9b529f3689e2e8ebb899e9abbbc3dab394d6545e8cdb28a2abb9cc2f377b83a65c01ba56b824cd3ee885df20051f5128")
        );
        assert_eq!(v5[3], [0; RTMR_LEN]);
        // RTMR3 is the 48 bytes before REPORTDATA: a value placed there is read back.
        let mut q = TDX_V4.to_vec();
        q[48 + 472..48 + 520].copy_from_slice(&[0xab; RTMR_LEN]);
        let p = parse("tdx_guest", &q).unwrap();
        assert_eq!(p.rtmrs.unwrap()[3], [0xab; RTMR_LEN]);
        assert_eq!(p.rtmrs.unwrap()[2], v4[2]);
        assert_eq!(parse("sev_guest", SNP).unwrap().rtmrs, None);
    }

    #[test]
    fn the_recorded_snp_reports_give_their_report_data() {
        let p = parse("sev_guest", SNP).unwrap();
        assert_eq!((p.provider, p.format.as_str()), (Provider::Snp, "SEV-SNP report v2"));
        assert_eq!(
            p.report_data[..32],
            hex::decode("ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2").unwrap()
        );
        assert_eq!(p.report_data[32..], [0; 32]);
        let p = parse("sev_guest", SNP_MILAN).unwrap();
        assert_eq!(p.report_data[..4], [0xd4, 0x47, 0xb5, 0x5d]);
    }

    #[test]
    fn the_report_data_is_read_where_the_layout_puts_it() {
        // Changing one byte of the report data changes what is read, and only there.
        // (In a v4 quote the signature-data length follows the report data, so only the byte
        // before is a neighbour to change.)
        for (provider, sample, at, after_too) in
            [("tdx_guest", TDX_V4, 568, false), ("tdx_guest", TDX_V5, 574, true), ("sev_guest", SNP, 0x50, true)]
        {
            let mut raw = sample.to_vec();
            let before = parse(provider, &raw).unwrap().report_data;
            raw[at + 63] ^= 0xff;
            let after = parse(provider, &raw).unwrap().report_data;
            assert_eq!(after[63], before[63] ^ 0xff, "{provider}");
            assert_eq!(after[..63], before[..63], "{provider}");
            raw[at - 1] ^= 0xff;
            if after_too {
                raw[at + 64] ^= 0xff;
            }
            assert_eq!(parse(provider, &raw).unwrap().report_data, after, "{provider}: neighbours are not report data");
        }
    }

    #[test]
    fn the_wrong_provider_or_shape_is_refused() {
        // A quote offered as an SNP report, and the reverse.
        assert!(matches!(parse("sev_guest", TDX_V4), Err(TsmError::Malformed { .. })));
        assert!(matches!(parse("tdx_guest", SNP), Err(TsmError::Malformed { .. })));
        assert!(matches!(parse("arm_cca_guest", SNP), Err(TsmError::Unsupported { .. })));
        assert!(matches!(parse("sgx", SNP), Err(TsmError::UnknownProvider(_))));
        // A truncated or padded quote; an SGX quote (tee_type 0); an unknown version.
        assert!(parse("tdx_guest", &TDX_V4[..TDX_V4.len() - 1]).is_err());
        assert!(parse("tdx_guest", &[TDX_V4, &[0]].concat()).is_err());
        let mut sgx = TDX_V4.to_vec();
        sgx[4] = 0;
        assert!(parse("tdx_guest", &sgx).unwrap_err().to_string().contains("SGX"));
        let mut v3 = TDX_V4.to_vec();
        v3[0] = 3;
        assert!(parse("tdx_guest", &v3).is_err());
        let mut snp = SNP.to_vec();
        snp[0] = 1;
        assert!(parse("sev_guest", &snp).is_err());
        assert!(parse("sev_guest", &SNP[..0x4a0 - 1]).is_err());
        assert!(matches!(parse("tdx_guest", &vec![0; MAX_OUTBLOB + 1]), Err(TsmError::TooLarge(_))));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1400), which in 0u8..4) {
            let provider = ["tdx_guest", "sev_guest", "arm_cca_guest", "other"][which as usize];
            let _ = parse(provider, &bytes);
        }

        #[test]
        fn mutated_samples_never_panic(at in 0usize..5006, byte in any::<u8>(), cut in 0usize..5006) {
            for (provider, sample) in [("tdx_guest", TDX_V4), ("tdx_guest", TDX_V5), ("sev_guest", SNP)] {
                let mut raw = sample.to_vec();
                if at < raw.len() {
                    raw[at] = byte;
                }
                raw.truncate(cut.max(1));
                let _ = parse(provider, &raw);
            }
        }
    }
}
