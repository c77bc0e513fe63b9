//! The `upstate` binary: parse the command line, run the command, map the result to an exit code.

mod cli;
mod cmd;
mod logging;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: a build makes thousands of pages and reads
/// thousands of incidents through many small short-lived allocations (Tera values, strings,
/// JSON, the parse cache), and glibc's malloc and free were an eighth of a run's processor
/// time after its probes. Measured on 2 cores: a rebuild of 10,000 incidents × 200 components
/// with nothing changed 0.35-0.40 s -> 0.26-0.32 s, a cold one 3.3-3.6 s -> 3.1 s. Version 2
/// (`v2`): version 3 was as fast but a 2,000-component run peaked at 160 MB (v2: 145 MB,
/// glibc: 105-120 MB); its lazy-commit and purge options brought the memory down and the
/// speed back to glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    logging::init();
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
