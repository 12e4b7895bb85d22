//! Black-box tests of the built `rasd` and `rasctl`, one test binary (build once, reuse).
//! Each test starts its own rasd on temp paths; nothing touches /run/ras or /var/lib/ras.

mod attacks;
mod bench;
mod boot;
mod bridge;
mod ca;
mod claims;
mod containers;
mod host;
mod identity;
mod measure;
mod operations;
mod oracle;
mod postgres;
mod protocol;
mod robustness;
mod tour;
mod tpm;
mod tsm;
mod verifier;
