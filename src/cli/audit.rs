//! `tdr audit`: the audit log's own commands.

use std::process::ExitCode;

use clap::Subcommand;
use tdr::config::Config;

use super::Failure;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Re-walk the hash chain and signed checkpoints; name the first bad entry.
    Verify,
}

pub fn run(cfg: &Config, cmd: AuditCmd) -> Result<ExitCode, Failure> {
    match cmd {
        AuditCmd::Verify => match tdr::audit::verify(&cfg.data_dir) {
            Ok(r) => {
                println!(
                    "audit log intact: {} entries, {} signed checkpoints, head seq {} hash {}",
                    r.entries, r.checkpoints, r.head_seq, r.head_hash
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("tdr: audit log verification FAILED: {e}");
                Ok(ExitCode::from(1))
            }
        },
    }
}
