//! Man pages and shell completions for rasd, ras-bridge, rasctl and ras-verifier, generated from the same
//! clap definitions the binaries parse with, plus hand-written sections (FILES, ENVIRONMENT,
//! EXAMPLES, SECURITY) from `templates/`. The output is committed under `man/`; a test fails
//! when it is out of date (`cargo run -p ras-man` regenerates it).

use std::io;
use std::path::{Path, PathBuf};

use clap::{Arg, Command, CommandFactory};
use clap_complete::Shell;

/// One generated file: path relative to `man/`, and its content.
pub type File = (PathBuf, Vec<u8>);

fn template(name: &str) -> &'static str {
    match name {
        "rasd.8" => include_str!("../templates/rasd.8"),
        "ras-bridge.8" => include_str!("../templates/ras-bridge.8"),
        "rasctl.1" => include_str!("../templates/rasctl.1"),
        "ras-verifier.8" => include_str!("../templates/ras-verifier.8"),
        "rasd.toml.5" => include_str!("../templates/rasd.toml.5"),
        other => panic!("no template {other}"),
    }
}

/// Escapes text for roff.
fn roff(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('-', "\\-")
        .lines()
        .map(|l| if l.starts_with('.') { format!("\\&{l}") } else { l.into() })
        .collect::<Vec<_>>()
        .join("\n")
}

fn arg_line(a: &Arg) -> String {
    let mut s = String::new();
    if let Some(short) = a.get_short() {
        s.push_str(&format!("\\fB\\-{short}\\fR, "));
    }
    if let Some(long) = a.get_long() {
        s.push_str(&format!("\\fB\\-\\-{}\\fR", roff(long)));
    } else {
        s.push_str(&format!("\\fI{}\\fR", a.get_id()));
    }
    if a.get_action().takes_values() && a.get_long().is_some() {
        let v = a.get_value_names().and_then(|v| v.first().map(|s| s.to_string())).unwrap_or_else(|| "VALUE".into());
        s.push_str(&format!(" \\fI{}\\fR", roff(&v)));
    }
    s
}

/// The options of every subcommand, as `.SS` subsections (clap_mangen lists only the names).
fn subcommand_details(cmd: &Command, prefix: &str) -> String {
    let mut out = String::new();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("{prefix} {}", sub.get_name());
        out.push_str(&format!(".SS \"{}\"\n", roff(&name)));
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            out.push_str(&format!("{}\n", roff(&about.to_string())));
        }
        for a in
            sub.get_arguments().filter(|a| !a.is_global_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        {
            out.push_str(&format!(".TP\n{}\n", arg_line(a)));
            if let Some(h) = a.get_help() {
                out.push_str(&format!("{}\n", roff(&h.to_string())));
            }
            let defaults: Vec<String> =
                a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
            if !defaults.is_empty() {
                out.push_str(&format!("Default: {}.\n", roff(&defaults.join(", "))));
            }
        }
        out.push_str(&subcommand_details(sub, &name));
    }
    out
}

/// A man page: clap_mangen's NAME, SYNOPSIS, DESCRIPTION, OPTIONS and SUBCOMMANDS, the
/// subcommands' own options, then the template's sections.
fn page(cmd: Command, file: &str, section: &str) -> io::Result<Vec<u8>> {
    let cmd = cmd.disable_version_flag(false);
    let man = clap_mangen::Man::new(cmd.clone()).section(section).date("2026-11-25").source("ras").manual("ras");
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut buf)?;
        buf.extend_from_slice(b".SH \"SUBCOMMAND OPTIONS\"\n");
        buf.extend_from_slice(subcommand_details(&cmd, cmd.get_name()).as_bytes());
    }
    buf.extend_from_slice(template(file).as_bytes());
    Ok(tidy(&String::from_utf8_lossy(&buf), cmd.get_name()).into_bytes())
}

/// What clap_mangen writes that reads badly: a NAME line that repeats the name (an `about`
/// that starts with it), and SUBCOMMANDS entries that point to per-subcommand pages which
/// ras does not ship (every subcommand is in this page, under SUBCOMMAND OPTIONS).
fn tidy(page: &str, name: &str) -> String {
    let roff_name = roff(name);
    let page = page.replace(&format!("{roff_name} \\- {roff_name}: "), &format!("{roff_name} \\- "));
    page.lines()
        .map(|l| match l.strip_prefix(&format!("{roff_name}\\-")).and_then(|r| r.strip_suffix("(1)")) {
            Some(sub) => format!("\\fB{roff_name} {sub}\\fR"),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// rasd.toml(5): every rasd flag as a configuration key, then the template.
fn config_page() -> Vec<u8> {
    let cmd = rasd::config::Args::command();
    let mut s = String::from(".TH RASD.TOML 5 2026-11-25 ras ras\n.SH NAME\nrasd.toml \\- configuration of rasd\n");
    s.push_str(".SH DESCRIPTION\n\\fI/etc/ras/rasd.toml\\fR is TOML. Every key is a \\fBrasd\\fR(8) flag in snake_case; a flag given on the command line wins over the file. Unknown keys are errors.\n");
    s.push_str(".SH KEYS\n");
    for a in cmd.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version" | "config")) {
        let key = a.get_long().unwrap_or_default().replace('-', "_");
        let key = if key == "measure_file" { "measure_files".to_string() } else { key };
        s.push_str(&format!(".TP\n\\fB{}\\fR\n", roff(&key)));
        if let Some(h) = a.get_help() {
            s.push_str(&format!("{}\n", roff(&h.to_string())));
        }
    }
    s.push_str(template("rasd.toml.5"));
    s.into_bytes()
}

/// Every generated file.
pub fn generate() -> io::Result<Vec<File>> {
    let mut files = vec![
        (PathBuf::from("man8/rasd.8"), page(rasd::config::Args::command(), "rasd.8", "8")?),
        (PathBuf::from("man8/ras-bridge.8"), page(ras_bridge::config::Args::command(), "ras-bridge.8", "8")?),
        (PathBuf::from("man1/rasctl.1"), page(rasctl::cli::Cli::command(), "rasctl.1", "1")?),
        (PathBuf::from("man8/ras-verifier.8"), page(ras_verifier::config::Cli::command(), "ras-verifier.8", "8")?),
        (PathBuf::from("man5/rasd.toml.5"), config_page()),
    ];
    let commands: [(&str, Command); 4] = [
        ("rasd", rasd::config::Args::command()),
        ("ras-bridge", ras_bridge::config::Args::command()),
        ("rasctl", rasctl::cli::Cli::command()),
        ("ras-verifier", ras_verifier::config::Cli::command()),
    ];
    for (name, cmd) in commands {
        for (shell, path) in [
            (Shell::Bash, format!("completions/{name}.bash")),
            (Shell::Zsh, format!("completions/_{name}")),
            (Shell::Fish, format!("completions/{name}.fish")),
        ] {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd.clone(), name, &mut buf);
            files.push((PathBuf::from(path), buf));
        }
    }
    Ok(files)
}

/// Writes the generated files under `dir`.
pub fn write(dir: &Path) -> io::Result<()> {
    for (rel, content) in generate()? {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        std::fs::write(path, content)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed pages and completions are what the clap definitions generate now.
    #[test]
    fn committed_output_is_up_to_date() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stale = Vec::new();
        for (rel, content) in generate().unwrap() {
            if std::fs::read(here.join(&rel)).ok().as_deref() != Some(content.as_slice()) {
                stale.push(rel.display().to_string());
            }
        }
        assert!(stale.is_empty(), "out of date: {stale:?}; regenerate with `cargo run -p ras-man`");
    }

    /// `man -l` renders every page without warnings.
    #[test]
    fn man_renders_every_page() {
        if std::process::Command::new("man").arg("--version").output().is_err() {
            panic!("man(1) is missing: scripts/test installs man-db");
        }
        let dir = tempfile::tempdir().unwrap();
        write(dir.path()).unwrap();
        for page in ["man8/rasd.8", "man8/ras-bridge.8", "man1/rasctl.1", "man5/rasd.toml.5", "man8/ras-verifier.8"] {
            let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
            // Every page reference (\fBname\fR(n)) names a page ras ships, or a system one.
            let known = ["rasd(8)", "ras-bridge(8)", "rasctl(1)", "rasd.toml(5)", "ras-verifier(8)"];
            for r in text.split("\\fB").skip(1) {
                let Some((name, rest)) = r.split_once("\\fR(") else { continue };
                let Some(section) = rest.get(..1).filter(|s| s.chars().all(|c| c.is_ascii_digit())) else { continue };
                let reference = format!("{}({section})", name.replace("\\-", "-"));
                let system =
                    ["systemd", "sysusers.d", "tmpfiles.d", "journalctl", "systemctl", "docker", "tpm2_checkquote"];
                assert!(
                    known.contains(&reference.as_str()) || system.iter().any(|s| reference.starts_with(s)),
                    "{page}: refers to {reference}, which ras does not ship"
                );
            }
            assert!(!text.contains("rasctl\\-status(1)"), "{page}: SUBCOMMANDS points to a page that does not exist");
            let out = std::process::Command::new("man")
                .args(["-l", "--warnings", "-E", "UTF-8", "-P", "cat"])
                .arg(dir.path().join(page))
                .env("MANWIDTH", "100")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{page}: {err}");
            assert!(err.trim().is_empty(), "{page} renders with warnings: {err}");
            assert!(out.stdout.len() > 1000, "{page} is nearly empty");
        }
    }
}
