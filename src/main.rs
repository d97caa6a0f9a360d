//! The `tdr` command line: parses the arguments, sets up logging and hands over to
//! [`cli::run`], which runs the command and maps its outcome to the exit code.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // The daemon tells ops what it does; one-shot commands only what went wrong.
    let (level, json) = match &args.cmd {
        cli::Cmd::Serve(s) => ("info", s.log_format == cli::LogFormat::Json),
        _ => ("warn", false),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TDR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    cli::run(args)
}
