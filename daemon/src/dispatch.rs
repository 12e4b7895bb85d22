//! The routing table: which interfaces each socket serves, the rule each method is under, and
//! the handler that runs it. A request is parsed once into a typed [`Call`]; [`crate::subject`]
//! resolves whom it is about and whether the caller may make it; then one handler runs.
//! Unknown interfaces and methods get the exact standard errors.

use ras_proto::api::admin::AdminCall;
use ras_proto::api::agent::AgentCall;
use ras_proto::api::attestation::AttestationCall;
use ras_proto::api::remote::RemoteCall;
use ras_proto::api::Call;
use ras_proto::{Request, VarlinkError};
use serde::Serialize;
use serde_json::Value;

use crate::daemon::SocketKind;
use crate::handlers::agent::AgentStream;
use crate::handlers::{admin, agent, attestation, remote};
use crate::subject::{self, CallContext};

/// What a call produces: one reply, or a stream (the agent's `Serve`).
pub enum Dispatched<'a> {
    /// A single reply.
    Reply(Result<Value, VarlinkError>),
    /// An open agent stream.
    Stream(AgentStream<'a>),
}

/// Runs one call.
pub async fn dispatch<'a>(req: &Request, ctx: &'a CallContext) -> Dispatched<'a> {
    match route(req, ctx).await {
        Ok(Routed::Value(v)) => Dispatched::Reply(Ok(v)),
        Ok(Routed::Stream(s)) => Dispatched::Stream(s),
        Err(e) => Dispatched::Reply(Err(e)),
    }
}

enum Routed<'a> {
    Value(Value),
    Stream(AgentStream<'a>),
}

fn value<'a, T: Serialize>(reply: T) -> Result<Routed<'a>, VarlinkError> {
    Ok(Routed::Value(serde_json::to_value(reply).expect("replies serialize")))
}

async fn route<'a>(req: &Request, ctx: &'a CallContext) -> Result<Routed<'a>, VarlinkError> {
    let Some((interface, _)) = req.interface_and_member() else {
        return Err(VarlinkError::interface_not_found(&req.method));
    };
    let served = ctx.socket.interfaces();
    if !served.contains(&interface) {
        return Err(VarlinkError::interface_not_found(interface));
    }
    if ctx.socket == SocketKind::Host && interface != "org.varlink.service" {
        subject::require_host_process(ctx)?;
    }
    let d = &ctx.daemon;
    match Call::parse(req)? {
        Call::Service(c) => Ok(Routed::Value(ras_server::service::answer(&c, "rasd", served)?)),

        // The caller's own evidence and log: the subject follows from the socket and the
        // caller's kernel identity.
        Call::Attestation(AttestationCall::GetEvidence(c)) => {
            let caller = subject::caller(ctx)?;
            let subject = subject::resolve(ctx, caller).await?;
            subject::check_assertion(c.container.as_deref(), &subject)?;
            value(attestation::get_evidence(d, caller, &subject, c).await?)
        }
        Call::Attestation(AttestationCall::ExtendMeasurement(c)) => {
            let caller = subject::caller(ctx)?;
            let subject = subject::resolve(ctx, caller).await?;
            value(attestation::extend_measurement(d, &subject, c).await?)
        }
        Call::Attestation(AttestationCall::GetInfo(_)) => value(attestation::get_info(d)),

        // Root and the admin group.
        Call::Admin(c) => {
            subject::authorize_admin(ctx)?;
            match c {
                AdminCall::GetStatus(_) => value(admin::get_status(d)),
                AdminCall::GetAk(_) => value(admin::get_ak(d)),
                AdminCall::CreateAkCsr(_) => value(admin::create_ak_csr(d).await?),
                AdminCall::ImportAkCertificate(c) => value(admin::import_ak_certificate(d, c)?),
                AdminCall::ListContainers(_) => value(admin::list_containers(d)),
                AdminCall::AddContainer(c) => value(admin::add_container(d, c).await?),
                AdminCall::RemoveContainer(c) => value(admin::remove_container(d, c)?),
            }
        }

        // An agent is the subject it runs in: a container, or a VM guest by its CID.
        Call::Agent(AgentCall::Serve(c)) => {
            let (identity, subject) = subject::resolve_origin(ctx).await?;
            subject::check_assertion(c.container.as_deref(), &subject)?;
            Ok(Routed::Stream(agent::serve(d, identity, &subject)?))
        }
        Call::Agent(AgentCall::Respond(c)) => {
            let (identity, subject) = subject::resolve_origin(ctx).await?;
            value(agent::respond(d, identity, &subject, c).await?)
        }

        // Admins, the remote group and the bridge; the subject is the one the verifier named.
        Call::Remote(RemoteCall::Challenge(c)) => {
            let caller = subject::authorize_remote(ctx)?;
            let subject = subject::named(d, &c).await?;
            value(remote::challenge(d, caller, &subject, c).await?)
        }
        Call::Remote(RemoteCall::GetEnrollment(_)) => {
            subject::authorize_remote(ctx)?;
            value(remote::get_enrollment(d).await?)
        }
        Call::Remote(RemoteCall::ActivateCredential(c)) => {
            subject::authorize_remote(ctx)?;
            value(remote::activate_credential(d, c).await?)
        }
    }
}
