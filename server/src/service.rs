//! `org.varlink.service`, answered by the server itself: what it is and which interfaces it
//! serves on this socket, and the IDL of each of those (and of no other).

use ras_proto::api::service::{Description, GetInterfaceDescription, Info, ServiceCall};
use ras_proto::{idl, VarlinkError};
use serde_json::Value;

/// Answers a call to `org.varlink.service` for `product`, which serves `interfaces` here.
pub fn answer(call: &ServiceCall, product: &str, interfaces: &[&str]) -> Result<Value, VarlinkError> {
    let value = match call {
        ServiceCall::GetInfo(_) => serde_json::to_value(Info {
            vendor: "ras".into(),
            product: product.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            url: "https://ras.invalid/".into(),
            interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
        }),
        ServiceCall::GetInterfaceDescription(GetInterfaceDescription { interface }) => {
            let description = idl::description(interface)
                .filter(|_| interfaces.contains(&interface.as_str()))
                .ok_or_else(|| VarlinkError::interface_not_found(interface))?;
            serde_json::to_value(Description { description: description.into() })
        }
    };
    Ok(value.expect("replies serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_only_what_is_served() {
        let served = ["org.varlink.service", "io.ras.Remote"];
        let ask = |i: &str| {
            answer(&ServiceCall::GetInterfaceDescription(GetInterfaceDescription { interface: i.into() }), "p", &served)
        };
        assert!(ask("io.ras.Remote").unwrap()["description"].as_str().unwrap().contains("interface io.ras.Remote"));
        assert_eq!(ask("io.ras.Admin").unwrap_err().name, "org.varlink.service.InterfaceNotFound");
        assert_eq!(ask("nope").unwrap_err().name, "org.varlink.service.InterfaceNotFound");
        let info = answer(&ServiceCall::GetInfo(Default::default()), "p", &served).unwrap();
        assert_eq!(info["product"], "p");
        assert_eq!(info["interfaces"], serde_json::json!(served));
    }
}
