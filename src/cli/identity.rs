//! `tdr identity`: the identity register, imported from the CRM by an admin through the legal
//! service (audited before it changes).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use tdr::clock::Clock;
use tdr::config::Config;

use super::{with_service, Failure};

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// Import a CRM export (CSV with a header row); all rows or none.
    Import { file: PathBuf },
}

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, cmd: IdentityCmd) -> Result<ExitCode, Failure> {
    match cmd {
        IdentityCmd::Import { file } => {
            let csv = std::fs::read(&file)
                .map_err(|e| Failure::BadInput(format!("{}: {e}", file.display())))?;
            let r = with_service(cfg, clock, |svc, who| svc.identity_import(who, &csv))?;
            println!(
                "{}: {} row(s): {} added, {} replaced (old versions kept as history), {} unchanged",
                file.display(),
                r.rows,
                r.added,
                r.replaced,
                r.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
