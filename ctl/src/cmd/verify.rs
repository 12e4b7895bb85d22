//! `rasctl verify`: the ordered checks on evidence from a file.

use ras_evidence::ExpectedSubject;

use crate::cli::VerifyArgs;
use crate::client::{bind_arg, nonce_arg};
use crate::failure::Failure;
use crate::output::read_input;
use crate::verdict::{expectations, report};

pub fn run(json: bool, a: VerifyArgs) -> Result<(), Failure> {
    let subject = match a.container {
        Some(id) => ExpectedSubject::Container { id, runtime: a.runtime },
        None => ExpectedSubject::Host,
    };
    let mut exp = expectations(&a.policy, &nonce_arg(&a.nonce)?, subject)?;
    exp.bind = bind_arg(a.bind.as_deref(), a.bind_key.as_deref())?;
    let evidence = read_input(&a.evidence)?;
    report(None, &evidence, &exp, json)
}
