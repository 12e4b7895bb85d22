//! `org.varlink.service`: what this socket serves, and the IDL of each interface.

use ras_proto::api::{DescriptionParams, NoParams, ServiceInfo};
use ras_proto::{idl, Request, VarlinkError};
use serde_json::{json, Value};

use super::reply;
use crate::dispatch::{interfaces, CallContext};

/// `GetInfo`: lists only the interfaces of the socket the caller is on.
pub fn get_info(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    reply(&ServiceInfo {
        vendor: "ras".into(),
        product: "rasd".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        url: "https://ras.invalid/".into(),
        interfaces: interfaces(ctx.socket).iter().map(|s| s.to_string()).collect(),
    })
}

/// `GetInterfaceDescription`: the real IDL text.
pub fn get_interface_description(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: DescriptionParams = req.params()?;
    if !interfaces(ctx.socket).contains(&p.interface.as_str()) {
        return Err(VarlinkError::interface_not_found(&p.interface));
    }
    let description = idl::description(&p.interface).ok_or_else(|| VarlinkError::interface_not_found(&p.interface))?;
    Ok(json!({ "description": description }))
}
