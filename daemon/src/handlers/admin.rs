//! `io.ras.Admin`: status and AK management, for root or the admin group only. The check uses
//! the caller's kernel credentials and supplementary groups, read through the pidfd pin.

use std::sync::atomic::Ordering;

use ras_proto::api::{AkInfo, CsrReply, ImportParams, ImportReply, NoParams, Status};
use ras_proto::{Request, VarlinkError};
use serde_json::{json, Value};
use tracing::{info, warn};

use super::{identify, reply};
use crate::ak::AkError;
use crate::dispatch::CallContext;
use crate::unix_now;

/// Refuses callers that are neither root nor in the admin group.
async fn authorize(ctx: &CallContext) -> Result<(), VarlinkError> {
    let id = identify(ctx).await?;
    let admin = ctx.daemon.admin_gid;
    if id.uid == 0 || admin.is_some_and(|g| id.gid == g || id.groups.contains(&g)) {
        return Ok(());
    }
    warn!(uid = id.uid, exe = %id.exe, "admin call refused");
    Err(VarlinkError::permission_denied())
}

/// `GetStatus`.
pub async fn get_status(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    authorize(ctx).await?;
    let d = &ctx.daemon;
    reply(&Status {
        version: env!("CARGO_PKG_VERSION").into(),
        tee: d.tee.kind().into(),
        ak_mode: d.ak.mode().into(),
        ak_fingerprint: d.ak.fingerprint(),
        started_at: d.started_at,
        uptime_secs: unix_now() - d.started_at,
        connections: d.connections.load(Ordering::Relaxed),
        calls: d.calls.load(Ordering::Relaxed),
    })
}

/// `GetAk`.
pub async fn get_ak(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    authorize(ctx).await?;
    let ak = &ctx.daemon.ak;
    reply(&AkInfo { mode: ak.mode().into(), fingerprint: ak.fingerprint(), chain: ak.chain_pem() })
}

/// `CreateAkCsr`.
pub async fn create_ak_csr(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    req.params::<NoParams>()?;
    authorize(ctx).await?;
    let csr = ctx.daemon.ak.csr(ctx.daemon.tee.as_ref()).map_err(|e| ak_failed(&e))?;
    reply(&CsrReply { csr })
}

/// `ImportAkCertificate`.
pub async fn import_ak_certificate(req: &Request, ctx: &CallContext) -> Result<Value, VarlinkError> {
    let p: ImportParams = req.params()?;
    authorize(ctx).await?;
    let ak = &ctx.daemon.ak;
    match ak.import(&p.chain) {
        Ok(()) => {
            info!(mode = ak.mode(), "AK certificate chain imported");
            reply(&ImportReply { mode: ak.mode().into(), fingerprint: ak.fingerprint() })
        }
        Err(AkError::ImportRejected(reason)) => {
            warn!(%reason, "AK certificate import refused");
            Err(rejected(&reason))
        }
        Err(e) => Err(ak_failed(&e)),
    }
}

fn rejected(reason: &str) -> VarlinkError {
    VarlinkError::new("io.ras.Admin.AkImportRejected", json!({ "reason": reason }))
}

fn ak_failed(e: &AkError) -> VarlinkError {
    VarlinkError::new("io.ras.Admin.AkFailed", json!({ "reason": format!("{:#}", anyhow::Error::msg(e.to_string())) }))
}
