//! `rasctl status`: the daemon's status (io.ras.Admin.GetStatus).

use std::path::Path;

use ras_proto::api::admin::GetStatus;

use crate::client::{call, runtime};
use crate::failure::Failure;
use crate::output::print_json;

pub fn run(socket: &Path, json: bool) -> Result<(), Failure> {
    let s = runtime()?.block_on(call(socket, &GetStatus {}))?;
    if json {
        print_json(&serde_json::to_value(&s).expect("status serializes"));
    } else {
        say!("rasd {} (tee {}), up {}s", s.version, s.tee, s.uptime_secs);
        say!("ak: {} mode, fingerprint {}", s.ak_mode, s.ak_fingerprint);
        say!("connections: {} open, {} calls served", s.connections, s.calls);
        say!("containers: {} registered, {} agents connected", s.containers, s.agents);
    }
    Ok(())
}
