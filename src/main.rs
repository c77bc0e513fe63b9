//! The `upstate` binary: parse the command line, run the command, map the result to an exit code.

mod cli;
mod cmd;
mod logging;

use std::process::ExitCode;

use clap::Parser;

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
