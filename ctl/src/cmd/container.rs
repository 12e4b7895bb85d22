//! `rasctl container list|add|remove`: registrations (io.ras.Admin).

use std::path::Path;

use ras_proto::api::admin::{AddContainer, Container, ListContainers, RemoveContainer};

use crate::cli::ContainerCommand;
use crate::client::{call, runtime};
use crate::failure::Failure;
use crate::output::print_json;

fn line(c: &Container) -> String {
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
            let list = rt.block_on(call(socket, &ListContainers {}))?;
            if json {
                print_json(&serde_json::to_value(&list).expect("serializes"));
            } else {
                if list.containers.is_empty() {
                    eprintln!(
                        "no containers registered (register one with: rasctl container add ID|NAME --type docker)"
                    );
                }
                list.containers.iter().for_each(|c| say!("{}", line(c)));
            }
        }
        ContainerCommand::Add { container, runtime } => {
            let r = rt.block_on(call(socket, &AddContainer { container, runtime }))?;
            if json {
                print_json(&serde_json::to_value(&r.container).expect("serializes"));
            } else {
                say!("registered {}", line(&r.container));
            }
        }
        ContainerCommand::Remove { container, runtime } => {
            rt.block_on(call(socket, &RemoveContainer { container: container.clone(), runtime }))?;
            if !json {
                say!("removed {container}");
            }
        }
    }
    Ok(())
}
