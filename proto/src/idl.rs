//! The varlink interface descriptions (IDL) of ras, exactly as `GetInterfaceDescription`
//! returns them. They live in `idl/*.varlink` so they can be read and linted as plain files.

/// `org.varlink.service`, the standard introspection interface.
pub const SERVICE: &str = include_str!("idl/org.varlink.service.varlink");
/// `io.ras.Protocol`: transport-level errors.
pub const PROTOCOL: &str = include_str!("idl/io.ras.Protocol.varlink");
/// `io.ras.Attestation`: local evidence.
pub const ATTESTATION: &str = include_str!("idl/io.ras.Attestation.varlink");
/// `io.ras.Admin`: daemon administration.
pub const ADMIN: &str = include_str!("idl/io.ras.Admin.varlink");
/// `io.ras.Agent`: the in-container agent.
pub const AGENT: &str = include_str!("idl/io.ras.Agent.varlink");
/// `io.ras.Remote`: remote challenges.
pub const REMOTE: &str = include_str!("idl/io.ras.Remote.varlink");

/// Every interface ras knows, by name.
pub const ALL: &[(&str, &str)] = &[
    ("org.varlink.service", SERVICE),
    ("io.ras.Protocol", PROTOCOL),
    ("io.ras.Attestation", ATTESTATION),
    ("io.ras.Admin", ADMIN),
    ("io.ras.Agent", AGENT),
    ("io.ras.Remote", REMOTE),
];

/// The description of a known interface.
pub fn description(interface: &str) -> Option<&'static str> {
    ALL.iter().find(|(name, _)| *name == interface).map(|(_, idl)| *idl)
}

/// The method names an interface declares, read from its IDL.
pub fn methods(interface: &str) -> Vec<&'static str> {
    description(interface)
        .map(|idl| {
            idl.lines()
                .filter_map(|l| l.strip_prefix("method "))
                .filter_map(|l| l.split('(').next())
                .map(str::trim)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_names_its_interface() {
        for (name, idl) in ALL {
            assert!(idl.lines().any(|l| l == format!("interface {name}")), "{name}");
        }
    }

    #[test]
    fn methods_are_read_from_the_idl() {
        assert_eq!(methods("org.varlink.service"), ["GetInfo", "GetInterfaceDescription"]);
        assert_eq!(methods("io.ras.Attestation"), ["GetEvidence", "ExtendMeasurement", "GetInfo"]);
        assert!(methods("io.ras.Protocol").is_empty());
        assert!(methods("nope").is_empty());
    }
}
