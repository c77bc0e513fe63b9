//! The `upstate` binary: parse the command line, run the command, map the result to an exit code.

mod cli;
mod cmd;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    init_logging();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return cmd::Exit::Fatal.into();
        }
    };
    let exit = runtime.block_on(cmd::dispatch(cli.command));
    // Probes that outlived their deadline must not hold the process open.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    exit.into()
}

/// Stderr with every registered secret replaced by `***`. Client libraries log what they were
/// given (async-nats prints its server URL, password included, at debug level); the fmt layer
/// writes each event in one call, so scrubbing each write covers whole lines.
struct ScrubbedStderr;

impl std::io::Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = upstate::config::secret::scrub(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Logs go to stderr, filtered by `UPSTATE_LOG` (or `RUST_LOG`), colour only on a terminal.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("UPSTATE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(|| ScrubbedStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .init();
}
