//! `tdr serve`: runs the daemon until SIGTERM or SIGINT.

use std::process::ExitCode;
use std::sync::Arc;

use tdr::clock::Clock;
use tdr::config::Config;

use super::Failure;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// Log lines as text or as JSON objects (for journald or a log shipper).
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

pub fn run(cfg: Config, clock: Arc<dyn Clock>) -> Result<ExitCode, Failure> {
    match tdr::serve::run(cfg, clock) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e @ tdr::serve::ServeError::Start(_)) => {
            tracing::error!(error = %e, "cannot start");
            Err(Failure::Operational(e.to_string()))
        }
        Err(e) => {
            tracing::error!(error = %e, "stopped on an error");
            Err(Failure::Operational(e.to_string()))
        }
    }
}
