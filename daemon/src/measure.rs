//! Measuring a subject's configured files: host files through rasd's own root, container
//! files through the root of the container's registered init (pinned at registration), never
//! through the caller's root, which a caller can change. The reads run off the runtime.

use std::sync::Arc;

use ras_evidence::claims::Measurement;
use ras_proto::VarlinkError;

use crate::containers::registry::InitPin;
use crate::daemon::Daemon;
use crate::identity::peer::digest_in_root;
use crate::sign::signing_failed;
use crate::subject::Subject;

/// The root a subject's files are read through.
enum Root {
    Host(Arc<Daemon>),
    Container(Arc<InitPin>),
}

/// The subject's configured files, each with its sha256 or the reason it could not be read.
pub async fn measure(daemon: &Arc<Daemon>, subject: &Subject) -> Result<Vec<Measurement>, VarlinkError> {
    let (files, root) = match subject {
        Subject::Host => (daemon.config.measure_files.clone(), Root::Host(daemon.clone())),
        Subject::Container(r) => {
            (daemon.config.files_for(&r.reg.id, r.reg.name.as_deref()), Root::Container(r.pin.clone()))
        }
        // rasd cannot read a VM guest's files.
        Subject::Vm(_) => return Ok(Vec::new()),
    };
    if files.is_empty() {
        return Ok(Vec::new());
    }
    tokio::task::spawn_blocking(move || {
        let root = match &root {
            Root::Host(d) => &d.root_dir,
            Root::Container(pin) => pin.root(),
        };
        files
            .iter()
            .map(|path| {
                let (sha256, error) = match digest_in_root(root, path) {
                    Ok(d) => (d, None),
                    Err(e) => (String::new(), Some(e.to_string())),
                };
                Measurement { name: format!("file:{path}"), sha256, source: "rasd".into(), error }
            })
            .collect()
    })
    .await
    .map_err(|e| signing_failed(e.to_string()))
}
