//! `rasctl container list|add|remove`: registrations (io.ras.Admin).

use std::path::Path;

use ras_proto::api::{method, AddContainerReply, ContainerInfo, ContainerList};
use serde_json::json;

use crate::cli::ContainerCommand;
use crate::client::{call, runtime};
use crate::failure::Failure;
use crate::output::print_json;

fn line(c: &ContainerInfo) -> String {
    format!(
        "{} {:<10} {:<16} pid_ns {:<12} agent {}",
        c.id,
        c.runtime,
        c.name.as_deref().unwrap_or("-"),
        c.pid_ns,
        if c.agent { "connected" } else { "none" }
    )
}

pub fn run(socket: &Path, json: bool, c: ContainerCommand) -> Result<(), Failure> {
    let rt = runtime()?;
    match c {
        ContainerCommand::List => {
            let list: ContainerList = rt.block_on(call(socket, method::LIST_CONTAINERS, json!({})))?;
            if json {
                print_json(&serde_json::to_value(&list).expect("serializes"));
            } else {
                list.containers.iter().for_each(|c| println!("{}", line(c)));
            }
        }
        ContainerCommand::Add { container, runtime } => {
            let params = json!({ "container": container, "type": runtime });
            let r: AddContainerReply = rt.block_on(call(socket, method::ADD_CONTAINER, params))?;
            if json {
                print_json(&serde_json::to_value(&r.container).expect("serializes"));
            } else {
                println!("registered {}", line(&r.container));
            }
        }
        ContainerCommand::Remove { container, runtime } => {
            let params = json!({ "container": container, "type": runtime });
            let _: serde_json::Value = rt.block_on(call(socket, method::REMOVE_CONTAINER, params))?;
            if !json {
                println!("removed {container}");
            }
        }
    }
    Ok(())
}
