//! Holds the typed API to the IDL files: every IDL method has its typed call and every call
//! its IDL method, a call survives the trip to a request and back, the parameters a call
//! sends are the IDL's, and each interface's error enum declares exactly the IDL's errors.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::error::InterfaceError;
use crate::{idl, Nonce};

/// `(name, [(field, type)])` of the IDL lines starting with `keyword`, with `?` and `[]` kept.
fn declared(interface: &str, keyword: &str) -> Vec<(String, Vec<(String, String)>)> {
    let text = idl::description(interface).expect("known interface");
    text.lines()
        .filter_map(|l| l.strip_prefix(keyword))
        .map(|l| {
            let (name, rest) = l.split_once('(').expect("a parameter list");
            let inner = rest.split_once(')').expect("closed").0;
            let fields = inner
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|f| {
                    let (n, t) = f.split_once(':').expect("name: type");
                    (n.trim().to_string(), t.trim().to_string())
                })
                .collect();
            (name.trim().to_string(), fields)
        })
        .collect()
}

const INTERFACES: &[(&str, &[&str])] = &[
    (service::INTERFACE, service::ServiceCall::METHODS),
    (attestation::INTERFACE, attestation::AttestationCall::METHODS),
    (admin::INTERFACE, admin::AdminCall::METHODS),
    (agent::INTERFACE, agent::AgentCall::METHODS),
    (remote::INTERFACE, remote::RemoteCall::METHODS),
];

#[test]
fn every_idl_method_has_its_typed_call_and_back() {
    for (interface, _) in idl::ALL {
        let in_idl: Vec<String> = idl::methods(interface).iter().map(|m| format!("{interface}.{m}")).collect();
        let typed: Vec<String> = INTERFACES
            .iter()
            .find(|(i, _)| i == interface)
            .map(|(_, m)| m.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(typed, in_idl, "{interface}");
        for method in in_idl {
            let mut req = Request::new(method.clone(), json!({}));
            req.more = true;
            match Call::parse(&req) {
                Ok(c) => assert_eq!(c.name(), method),
                Err(e) => assert!(
                    ["InvalidParameter"].contains(&e.short_name()),
                    "{method}: an empty call may lack parameters, nothing else: {e}"
                ),
            }
        }
    }
}

fn nonce() -> Nonce {
    Nonce::from_bytes((0..16).collect()).unwrap()
}

/// One call of every method, with every optional parameter set.
fn samples() -> Vec<Call> {
    use admin::*;
    vec![
        Call::Service(service::ServiceCall::GetInfo(service::GetInfo {})),
        Call::Service(service::ServiceCall::GetInterfaceDescription(service::GetInterfaceDescription {
            interface: "io.ras.Remote".into(),
        })),
        Call::Attestation(attestation::AttestationCall::GetEvidence(attestation::GetEvidence {
            nonce: nonce(),
            container: Some("c".into()),
            bind: Some("ab".repeat(32)),
        })),
        Call::Attestation(attestation::AttestationCall::ExtendMeasurement(attestation::ExtendMeasurement {
            domain: "d".into(),
            operation: "o".into(),
            content: "c".into(),
        })),
        Call::Attestation(attestation::AttestationCall::GetInfo(attestation::GetInfo {})),
        Call::Admin(AdminCall::GetStatus(GetStatus {})),
        Call::Admin(AdminCall::GetAk(GetAk {})),
        Call::Admin(AdminCall::CreateAkCsr(CreateAkCsr {})),
        Call::Admin(AdminCall::ImportAkCertificate(ImportAkCertificate { chain: "pem".into() })),
        Call::Admin(AdminCall::ListContainers(ListContainers {})),
        Call::Admin(AdminCall::AddContainer(AddContainer { container: "c".into(), runtime: "docker".into() })),
        Call::Admin(AdminCall::RemoveContainer(RemoveContainer { container: "c".into(), runtime: "docker".into() })),
        Call::Agent(agent::AgentCall::Serve(agent::Serve { container: Some("c".into()) })),
        Call::Agent(agent::AgentCall::Respond(agent::Respond { id: "1".into(), claims: Some(json!({"a": 1})) })),
        Call::Remote(remote::RemoteCall::Challenge(remote::Challenge {
            nonce: nonce(),
            container: Some(remote::ContainerRef { id: "c".into(), runtime: "docker".into() }),
            vm: None,
            peer: Some("tcp:192.0.2.1:9".into()),
        })),
        Call::Remote(remote::RemoteCall::GetEnrollment(remote::GetEnrollment {})),
        Call::Remote(remote::RemoteCall::ActivateCredential(remote::ActivateCredential {
            credential_blob: "AAAA".into(),
            secret: "AAAA".into(),
        })),
    ]
}

#[test]
fn calls_round_trip_and_send_the_idl_parameters() {
    let all: Vec<&str> = INTERFACES.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    let sampled: Vec<&str> = samples().iter().map(Call::name).collect();
    assert_eq!(sampled, all, "a sample of every method");
    for call in samples() {
        let req = Request::from_frame(&call.to_request().to_json()).unwrap();
        assert_eq!(Call::parse(&req).unwrap(), call, "{}", call.name());
        let (interface, member) = req.interface_and_member().unwrap();
        let params = declared(interface, "method ").into_iter().find(|(m, _)| m == member).unwrap().1;
        let mut sent: Vec<&str> = req.parameters.keys().map(String::as_str).collect();
        let mut idl: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        // Challenge samples a container, so its exclusive `vm` is not sent.
        idl.retain(|n| !(req.method == remote::Challenge::NAME && *n == "vm"));
        sent.sort_unstable();
        idl.sort_unstable();
        assert_eq!(sent, idl, "{}", req.method);
    }
}

fn idl_type(rust: &str) -> &'static str {
    match rust {
        "u64" | "i64" => "int",
        "String" => "string",
        other => panic!("no IDL type for {other}"),
    }
}

fn errors_match<E: InterfaceError>() {
    let code: Vec<(String, Vec<(String, String)>)> = E::DECLARED
        .iter()
        .map(|(n, fields)| {
            let fields =
                fields.iter().map(|(f, t)| (f.trim_start_matches("r#").to_string(), idl_type(t).to_string())).collect();
            (n.to_string(), fields)
        })
        .collect();
    assert_eq!(code, declared(E::INTERFACE, "error "), "{}", E::INTERFACE);
}

#[test]
fn each_error_enum_is_its_idl_error_list() {
    errors_match::<service::ServiceError>();
    errors_match::<protocol::ProtocolError>();
    errors_match::<attestation::AttestationError>();
    errors_match::<admin::AdminError>();
    errors_match::<agent::AgentError>();
    errors_match::<remote::RemoteError>();
    let with_errors: BTreeMap<&str, bool> =
        idl::ALL.iter().map(|(i, _)| (*i, !declared(i, "error ").is_empty())).collect();
    assert!(with_errors.values().all(|&e| e), "every interface declares errors, and each has its enum above");
}

#[test]
fn parse_errors_are_exact() {
    let err = |method: &str, params: Value| Call::parse(&Request::new(method, params)).unwrap_err();
    assert_eq!(err("nope", json!({})).name, "org.varlink.service.InterfaceNotFound");
    assert_eq!(err("io.ras.Nope.X", json!({})).name, "org.varlink.service.InterfaceNotFound");
    assert_eq!(err("io.ras.Admin.Nope", json!({})).name, "org.varlink.service.MethodNotFound");
    let short = err("io.ras.Attestation.GetEvidence", json!({"nonce": "00"}));
    assert_eq!(short.name, "io.ras.Attestation.InvalidNonce");
    assert_eq!(short.parameters, json!({"min_bytes": 8, "max_bytes": 64, "got_bytes": 1}));
    assert_eq!(err("io.ras.Remote.Challenge", json!({"nonce": "00"})).name, "io.ras.Remote.InvalidNonce");
    let e = err("io.ras.Remote.Challenge", json!({"nonce": "zz"}));
    assert_eq!((e.short_name(), e.param_str("parameter")), ("InvalidParameter", Some("nonce")));
    let both = json!({"nonce": "0011223344556677", "vm": 3, "container": {"id": "a", "type": "docker"}});
    assert_eq!(err("io.ras.Remote.Challenge", both).param_str("parameter"), Some("vm"));
    let e = err("io.ras.Attestation.GetEvidence", json!({"nonce": "0011223344556677", "zzz": 1}));
    assert_eq!(e.param_str("parameter"), Some("zzz"));
    assert_eq!(err("io.ras.Agent.Serve", json!({})).name, "org.varlink.service.ExpectedMore");
    assert_eq!(err("io.ras.Admin.GetStatus", json!({"x": 1})).param_str("parameter"), Some("x"));
    assert_eq!(err("io.ras.Protocol.X", json!({})).name, "org.varlink.service.MethodNotFound");
    let big = json!({"id": "1", "claims": {"a": "x".repeat(agent::MAX_CLAIMS)}});
    assert_eq!(err("io.ras.Agent.Respond", big).param_str("parameter"), Some("claims"));
}
