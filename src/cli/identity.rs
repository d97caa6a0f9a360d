//! `tdr identity`: the identity register, imported from the CRM by an administrator through
//! the daemon (audited before it changes).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use tdr::config::Config;

use super::client::{failure_of, Client};
use super::Failure;

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// Import a CSV export of the CRM (every bad row named; nothing imported then).
    Import { file: PathBuf },
}

pub fn run(cfg: &Config, cmd: IdentityCmd) -> Result<ExitCode, Failure> {
    match cmd {
        IdentityCmd::Import { file } => {
            let client = Client::new(cfg)?;
            let a = client.upload("PUT", "/v1/identity", &file)?;
            if !(200..300).contains(&a.status) {
                return Err(match failure_of(&a) {
                    Failure::BadInput(m) => {
                        Failure::BadInput(format!("{}: nothing imported: {m}", file.display()))
                    }
                    f => f,
                });
            }
            let r: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
            println!(
                "{}: {} row(s): {} added, {} replaced (old versions kept as history), {} unchanged",
                file.display(),
                r["rows"],
                r["added"],
                r["replaced"],
                r["unchanged"]
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
