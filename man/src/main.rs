//! `cargo run -p ras-man [DIR]`: writes the man pages and completions (default: this crate's
//! folder, where they are committed).

fn main() -> std::io::Result<()> {
    let dir =
        std::env::args_os().nth(1).map(std::path::PathBuf::from).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    ras_man::write(&dir)?;
    eprintln!("wrote man pages and completions under {}", dir.display());
    Ok(())
}
