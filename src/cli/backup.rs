//! `tdr backup` and `tdr keys`: backups that forget on time, and the key store's escrow.
//! With the daemon running, `create` and `export` go through it (audited there); without it,
//! the service user runs them on the box (audited in the same log). `verify` needs no secret;
//! `restore` runs with the daemon stopped.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;
use tdr::clock::Clock;
use tdr::config::Config;
use tdr::error::ErrorKind;
use tdr::legal::backup::{self, BackupError};

use super::client::{daemon_running, Client};
use super::{print_json, Failure};

#[derive(Subcommand)]
pub enum BackupCmd {
    /// Make a backup in a new (or empty) folder: the sealed store, the identity register, the
    /// legal register, the audit log and the deletion certificates, with a signed manifest.
    /// Never a key: keep the key escrow (tdr keys export) and the master key elsewhere.
    /// Through the daemon when it runs (ops, admins; the folder is written by the service
    /// user), or directly by the service user when it does not.
    Create {
        /// The folder (absolute when the daemon makes it)
        dir: PathBuf,
    },
    /// Check a backup without any secret: the manifest's signature, every file's size and
    /// SHA-256, and that nothing was added.
    Verify {
        dir: PathBuf,
        /// The audit public key [default: this data directory's keys/audit-signing.pub]
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
    },
    /// Restore a backup into this data directory, which must hold no store (the daemon
    /// stopped; the service user). Days expired or shredded since the backup stay forgotten.
    Restore {
        dir: PathBuf,
        /// The key escrow (tdr keys export) when this key store lacks days the backup holds
        #[arg(long, value_name = "FILE")]
        escrow: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Write the key store's escrow into a new file: every data key, wrapped by the master
    /// key (which is never in it). Keep it off the box, apart from the backups. Through the
    /// daemon when it runs (admins), or by the service user when it does not.
    Export {
        /// The file (absolute when the daemon writes it)
        file: PathBuf,
    },
}

fn failure(e: BackupError) -> Failure {
    let msg = format!("[{}] {e}", e.code());
    if e.kind().is_operational() {
        Failure::Operational(msg)
    } else {
        Failure::BadInput(msg)
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn actor() -> String {
    // SAFETY: geteuid has no preconditions and cannot fail.
    format!("service user (uid {})", unsafe { libc::geteuid() })
}

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, cmd: BackupCmd) -> Result<ExitCode, Failure> {
    match cmd {
        BackupCmd::Create { dir } => {
            let dir = absolute(&dir);
            if daemon_running(cfg) {
                let v = Client::new(cfg)?.json(
                    "POST",
                    "/v1/backups",
                    Some(&json!({"dir": dir.to_string_lossy()})),
                )?;
                return print_json(&v);
            }
            super::import::service_user_only(cfg)?;
            let s = backup::create_offline(cfg, clock.clone(), &dir, &actor()).map_err(failure)?;
            print_json(&json!(s))
        }
        BackupCmd::Verify { dir, pubkey } => {
            match backup::verify_here(&cfg.data_dir, &dir, pubkey.as_deref()) {
                Ok((s, keyed)) => {
                    println!(
                        "backup intact: {} files, {} bytes, {} partitions, made {} by appliance {}{}",
                        s.files,
                        s.bytes,
                        s.partitions.len(),
                        s.made,
                        s.appliance,
                        if keyed {
                            ", signed by this key"
                        } else {
                            " (no public key here: checked against the key the manifest names)"
                        }
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("tdr: backup verification FAILED: [{}] {e}", e.code());
                    Ok(ExitCode::from(1))
                }
            }
        }
        BackupCmd::Restore { dir, escrow } => {
            if daemon_running(cfg) {
                return Err(Failure::BadInput(format!(
                    "[{}] the daemon is running: stop it (systemctl stop tdr) before a restore",
                    ErrorKind::BackupTargetNotEmpty.code()
                )));
            }
            super::import::service_user_only(cfg)?;
            let (r, expired) = backup::restore_offline(
                cfg,
                clock.clone(),
                &absolute(&dir),
                escrow.as_deref(),
                &actor(),
            )
            .map_err(failure)?;
            print_json(&json!({
                "partitions": r.partitions,
                "forgotten": r.forgotten,
                "expired_now": expired,
                "keys_imported": r.keys_imported,
                "parts": r.parts,
            }))
        }
    }
}

pub fn keys(cfg: &Config, clock: &Arc<dyn Clock>, cmd: KeysCmd) -> Result<ExitCode, Failure> {
    match cmd {
        KeysCmd::Export { file } => {
            let file = absolute(&file);
            if daemon_running(cfg) {
                let v = Client::new(cfg)?.json(
                    "POST",
                    "/v1/keys/export",
                    Some(&json!({"file": file.to_string_lossy()})),
                )?;
                return print_json(&v);
            }
            super::import::service_user_only(cfg)?;
            let (n, appliance) = backup::export_keys_offline(cfg, clock.clone(), &file, &actor())
                .map_err(failure)?;
            print_json(&json!({"file": file.to_string_lossy(), "keys": n, "appliance": appliance}))
        }
    }
}
