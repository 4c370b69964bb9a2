//! The `headroom` binary: parse arguments, run, map errors to one line on stderr and an exit code
//! (0 ok, 1 `--check` and it does not fit, 2 bad usage or input, 3 other failure).

use clap::Parser;
use headroom::cli;

fn main() {
    // A bug must never print a Rust backtrace at a user: one line, exit 3.
    std::panic::set_hook(Box::new(|info| {
        let verbose = std::env::args().any(|a| a == "-v" || a == "--verbose");
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        // assert_eq! and friends panic with several lines; the user still gets one.
        let msg = headroom::error::one_line(msg);
        if verbose {
            eprintln!(
                "error: internal error: {msg} at {}",
                info.location().map(|l| l.to_string()).unwrap_or_default()
            );
        } else {
            eprintln!("error: internal error: {msg} (please report it; -v shows where)");
        }
        std::process::exit(3);
    }));
    // Test hook (debug builds only): exercise the panic path above from tests/cli_errors.rs.
    #[cfg(debug_assertions)]
    if std::env::var_os("HEADROOM_TEST_PANIC").is_some() {
        panic!("test panic\nwith a second line");
    }
    let args = cli::normalize_args(std::env::args());
    let parsed = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let verbose = std::env::args().any(|a| a == "-v" || a == "--verbose");
            if !e.use_stderr() || verbose {
                // --help, --version; or -v: clap's full message (tips, usage).
                let _ = e.print();
                std::process::exit(if e.use_stderr() { 2 } else { 0 });
            }
            // A usage error is one line like every other error; -v shows clap's tips and usage.
            // The first paragraph of clap's message, joined (it lists missing arguments below).
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty())
                .collect();
            eprintln!("{} (try --help)", first.join(" "));
            std::process::exit(2);
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
