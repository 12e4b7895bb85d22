//! rasctl entry point.

fn main() -> std::process::ExitCode {
    rasctl::main_with_args()
}
