//! Fuzzes what a peer controls in a call: one varlink request frame, parsed by
//! `Request::from_frame`, then its parameters read as every typed parameter struct of
//! `ras_proto::api` (the structs the daemon's and the bridge's handlers take).
//!
//! Besides never panicking: a parsed request serializes and parses back to the same method,
//! flags and parameter names; a parameter failure is always `InvalidParameter` naming a
//! parameter; and typed parameters that parsed serialize to parameters that parse again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ras_proto::api::{
    ChallengeParams, ContainerParams, DescriptionParams, EvidenceParams, ExtendParams, ImportParams, NoParams,
    RespondParams, ServeParams,
};
use ras_proto::error::parse_params;
use ras_proto::{Request, VarlinkError};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads the parameters as `T` and checks the outcome's shape.
fn typed<T: DeserializeOwned + Serialize>(req: &Request) {
    match req.params::<T>() {
        Ok(p) => {
            let value = serde_json::to_value(&p).expect("typed parameters serialize");
            assert!(value.is_object(), "typed parameters serialize to an object");
            let again: Result<T, VarlinkError> = parse_params(value);
            assert!(again.is_ok(), "serialized parameters do not parse again: {:?}", again.err());
        }
        Err(e) => {
            assert_eq!(e.name, "org.varlink.service.InvalidParameter");
            assert!(e.param_str("parameter").is_some(), "InvalidParameter without a parameter name: {e}");
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

    typed::<NoParams>(&req);
    typed::<DescriptionParams>(&req);
    typed::<EvidenceParams>(&req);
    typed::<ExtendParams>(&req);
    typed::<ContainerParams>(&req);
    typed::<ImportParams>(&req);
    typed::<ServeParams>(&req);
    typed::<RespondParams>(&req);
    typed::<ChallengeParams>(&req);
});
