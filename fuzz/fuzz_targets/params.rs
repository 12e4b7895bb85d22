//! Fuzzes what a peer controls in a call: one varlink request frame, parsed by
//! `Request::from_frame`, then parsed once more as a typed call (`ras_proto::api::Call`, what
//! rasd's dispatch and the bridge's router take) under its own method name and under every
//! method name of every interface.
//!
//! Besides never panicking: a parsed request serializes and parses back to the same method,
//! flags and parameter names; a refused call gets one of the exact parse errors, and
//! `InvalidParameter` names a parameter; and a typed call that parsed becomes a request that
//! parses again to a call of the same method.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ras_proto::api::{admin, agent, attestation, remote, service, Call};
use ras_proto::Request;

const ERRORS: &[&str] = &[
    "org.varlink.service.InterfaceNotFound",
    "org.varlink.service.MethodNotFound",
    "org.varlink.service.InvalidParameter",
    "org.varlink.service.ExpectedMore",
    "io.ras.Attestation.InvalidNonce",
    "io.ras.Remote.InvalidNonce",
];

/// Parses `req` as a typed call and checks the outcome's shape.
fn typed(req: &Request) {
    match Call::parse(req) {
        Ok(call) => {
            assert_eq!(call.name(), req.method);
            let again = Call::parse(&call.to_request()).expect("a typed call's request parses");
            assert_eq!(again.name(), call.name());
        }
        Err(e) => {
            assert!(ERRORS.contains(&e.name.as_str()), "unexpected parse error {e}");
            if e.short_name() == "InvalidParameter" {
                assert!(e.param_str("parameter").is_some(), "InvalidParameter without a parameter name: {e}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = Request::from_frame(data) else { return };
    if let Some((interface, member)) = req.interface_and_member() {
        assert!(!interface.is_empty() && !member.is_empty());
        assert_eq!(format!("{interface}.{member}"), req.method);
    }

    // Numbers may come back as a neighbouring float, so only the shape is compared.
    let back = Request::from_frame(&req.to_json()).expect("a serialized request parses");
    assert_eq!(back.method, req.method);
    assert_eq!((back.more, back.oneway), (req.more, req.oneway));
    assert!(back.parameters.keys().eq(req.parameters.keys()));

    typed(&req);
    let methods = [
        service::ServiceCall::METHODS,
        attestation::AttestationCall::METHODS,
        admin::AdminCall::METHODS,
        agent::AgentCall::METHODS,
        remote::RemoteCall::METHODS,
    ];
    for method in methods.into_iter().flatten() {
        let mut as_method = req.clone();
        as_method.method = method.to_string();
        typed(&as_method);
    }
});
