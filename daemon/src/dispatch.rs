//! The routing table: which interfaces each socket serves, and which handler runs each method.
//! Unknown interfaces and methods get the exact standard errors.

use std::sync::Arc;

use ras_proto::api::method;
use ras_proto::{Request, VarlinkError};
use serde_json::Value;

use crate::handlers::agent::AgentStream;
use crate::handlers::{self, admin, agent, attestation, remote, service};
use crate::identity::Peer;
use crate::{Daemon, SocketKind};

/// Who is at the other end of a connection, as the kernel says.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A local process, pinned by a pidfd.
    Process(Arc<Peer>),
    /// A VM guest, by the vsock CID the kernel assigned it.
    Vm(u32),
}

/// What a handler knows about its call.
pub struct CallContext {
    /// Shared daemon state.
    pub daemon: Arc<Daemon>,
    /// The connection's peer.
    pub origin: Origin,
    /// The socket the call came in on.
    pub socket: SocketKind,
}

/// Interfaces served on each socket, as `GetInfo` lists them. The container socket serves
/// only container-scoped interfaces.
pub fn interfaces(socket: SocketKind) -> &'static [&'static str] {
    match socket {
        SocketKind::Host => {
            &["org.varlink.service", "io.ras.Protocol", "io.ras.Attestation", "io.ras.Admin", "io.ras.Remote"]
        }
        SocketKind::Container => &["org.varlink.service", "io.ras.Protocol", "io.ras.Attestation", "io.ras.Agent"],
        SocketKind::Vsock => &["org.varlink.service", "io.ras.Protocol", "io.ras.Agent"],
    }
}

/// What a call produces: one reply, or a stream (the agent's `Serve`).
pub enum Dispatched<'a> {
    /// A single reply.
    Reply(Result<Value, VarlinkError>),
    /// An open agent stream.
    Stream(AgentStream<'a>),
}

/// Runs one call.
pub async fn dispatch<'a>(req: &Request, ctx: &'a CallContext) -> Dispatched<'a> {
    if req.method == method::AGENT_SERVE && interfaces(ctx.socket).contains(&"io.ras.Agent") {
        return match agent::serve(req, ctx).await {
            Ok(stream) => Dispatched::Stream(stream),
            Err(e) => Dispatched::Reply(Err(e)),
        };
    }
    Dispatched::Reply(call(req, ctx).await)
}

async fn call(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let Some((interface, _)) = req.interface_and_member() else {
        return Err(VarlinkError::interface_not_found(&req.method));
    };
    if !interfaces(ctx.socket).contains(&interface) {
        return Err(VarlinkError::interface_not_found(interface));
    }
    // The host socket serves host processes only, whatever the interface: a process in a
    // container (or in no known container but outside the host's pid namespace or root) gets
    // neither host evidence nor admin calls nor remote challenges there.
    if ctx.socket == SocketKind::Host && interface != "org.varlink.service" {
        handlers::require_host_process(ctx)?;
    }
    match req.method.as_str() {
        method::SERVICE_GET_INFO => service::get_info(req, ctx),
        method::SERVICE_GET_DESCRIPTION => service::get_interface_description(req, ctx),
        method::GET_EVIDENCE => attestation::get_evidence(req, ctx).await,
        method::GET_INFO => attestation::get_info(req, ctx),
        method::GET_STATUS => admin::get_status(req, ctx).await,
        method::GET_AK => admin::get_ak(req, ctx).await,
        method::CREATE_AK_CSR => admin::create_ak_csr(req, ctx).await,
        method::IMPORT_AK_CERTIFICATE => admin::import_ak_certificate(req, ctx).await,
        method::LIST_CONTAINERS => admin::list_containers(req, ctx).await,
        method::ADD_CONTAINER => admin::add_container(req, ctx).await,
        method::REMOVE_CONTAINER => admin::remove_container(req, ctx).await,
        method::EXTEND_MEASUREMENT => attestation::extend_measurement(req, ctx).await,
        method::AGENT_RESPOND => agent::respond(req, ctx).await,
        method::CHALLENGE => remote::challenge(req, ctx).await,
        _ => Err(VarlinkError::method_not_found(&req.method)),
    }
}
