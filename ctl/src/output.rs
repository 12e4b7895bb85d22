//! What rasctl writes and reads: JSON lines, files and standard streams. User output, not
//! logging; verdicts are [`crate::verdict`]'s.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use crate::failure::{usage, Failure};

/// `println!` for user output: a reader that went away (`rasctl … | head`) ends rasctl
/// quietly with 141, as SIGPIPE ends C tools, instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

/// Writes one line to standard output (see [`say!`]).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{args}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("rasctl: writing standard output: {e}");
        std::process::exit(1);
    }
}

/// Prints a JSON value on one line.
pub fn print_json(v: &Value) {
    say!("{v}");
}

/// Writes `text` to `out`, or to standard output.
pub fn emit(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    match out.filter(|p| *p != Path::new("-")) {
        Some(p) => std::fs::write(p, text).with_context(|| format!("write {}", p.display())).map_err(usage),
        None => write_stdout(text.as_bytes()),
    }
}

/// Writes `bytes` to standard output as they are (no newline added).
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        // A closed pipe (`| head`) is not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(usage(e)),
        _ => Ok(()),
    }
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<String, Failure> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("read standard input")
    } else {
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
    };
    text.map_err(usage)
}
