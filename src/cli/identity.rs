//! `tdr identity`: the identity register, imported from the CRM (audited before it changes).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;
use tdr::clock::Clock;
use tdr::config::Config;
use tdr::error::ErrorKind;
use tdr::identity::IdentityRegister;

use super::{audit_admin, Failure};

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// Import a CRM export (CSV with a header row); all rows or none.
    Import { file: PathBuf },
}

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, cmd: IdentityCmd) -> Result<ExitCode, Failure> {
    match cmd {
        IdentityCmd::Import { file } => {
            audit_admin(
                cfg,
                clock,
                "identity_import",
                json!({"file": file.display().to_string()}),
            )?;
            let reg = IdentityRegister::open(&cfg.data_dir)
                .map_err(|e| Failure::Operational(format!("[{}] {e}", e.code())))?;
            let r = reg
                .import_csv(&file, clock.now())
                .map_err(|e| match e.kind() {
                    ErrorKind::IdentityRejectedRows | ErrorKind::IdentityBadFile => {
                        Failure::BadInput(format!("{}: nothing imported: {e}", file.display()))
                    }
                    kind => Failure::Operational(format!("[{kind}] {e}")),
                })?;
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
