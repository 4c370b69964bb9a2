//! The `headroom` binary: parse arguments, run, map errors to one line on stderr and an exit code.

use clap::Parser;
use headroom::cli;

fn main() {
    let args = cli::normalize_args(std::env::args());
    let parsed = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    match cli::run(parsed) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
