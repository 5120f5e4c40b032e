//! The `asyncapex` binary.

fn main() -> std::process::ExitCode {
    asyncapex_cli::run(std::env::args_os())
}
