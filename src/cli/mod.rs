//! The `tdr` command line: the arguments, one file per command group, and what they share —
//! the exit-code mapping and output helpers. Exit codes: 0 success (any well-formed lookup
//! answer, `not_found` included), 1 an operational failure (daemon, store, audit), 2 bad
//! input or a refusal.
//!
//! One door: every command that reads or changes personal data, users or cases is a request
//! to the running daemon over its Unix socket ([`client`]), with the user's bearer token; the
//! daemon alone opens the store, the identity register, the keys and the audit log, and
//! audits the request with the peer's uid (channel `cli`). Only `serve`, `check-config`,
//! `audit verify` (a public key and a recorded head) and `import` with the daemon stopped
//! (as the service user) run on their own.

mod admin;
mod audit;
mod backup;
mod case;
mod client;
mod config;
mod identity;
mod import;
mod lookup;
mod notice;
mod quarantine;
mod serve;
mod user;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde_json::Value;

use tdr::clock::{Clock, SystemClock};
use tdr::config::Config;

pub use self::serve::LogFormat;

#[derive(Parser)]
#[command(
    name = "tdr",
    version,
    about = "Traffic-data retention and disclosure appliance"
)]
pub struct Cli {
    /// Data directory (store, audit log, keys, quarantine). Overrides the config's data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Configuration file (TOML). Without it tdr runs on its embedded defaults.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Run the ingest daemon: follow the configured files and the spool folder, listen for
    /// syslog, serve /metrics and /health; stop cleanly on SIGTERM or SIGINT.
    Serve(serve::Args),
    /// Import log files into the store (idempotent: a file imported twice adds nothing).
    Import(import::Args),
    /// Calls to or from a number over a time window. Audited before anything is shown.
    Cdrs(lookup::CdrsArgs),
    /// What ingest rejected and why.
    Quarantine {
        #[command(subcommand)]
        cmd: quarantine::QuarantineCmd,
    },
    /// Who held an address (and port) at a time. Audited before anything is shown.
    Lookup(lookup::Args),
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        cmd: audit::AuditCmd,
    },
    /// Check a configuration file and list every problem in it.
    CheckConfig { file: PathBuf },
    /// The first administrators, created on the box by the service user.
    Admin {
        #[command(subcommand)]
        cmd: admin::AdminCmd,
    },
    /// Users and their bearer tokens (administrators; a new user needs a second admin).
    User {
        #[command(subcommand)]
        cmd: user::UserCmd,
    },
    /// The identity register (imported from the CRM).
    Identity {
        #[command(subcommand)]
        cmd: identity::IdentityCmd,
    },
    /// Legal requests: register, approve, execute, report (authenticate with TDR_TOKEN).
    Case {
        #[command(subcommand)]
        cmd: case::CaseCmd,
    },
    /// The IPRED notice to the subscriber (URL 53 h §): list, letter, release, sent.
    Notice {
        #[command(subcommand)]
        cmd: notice::NoticeCmd,
    },
    /// The compensation ledger: export a period as CSV for invoicing.
    Ledger {
        #[command(subcommand)]
        cmd: notice::LedgerCmd,
    },
    /// Backups of the sealed store and the registers (never a key): create, verify, restore.
    Backup {
        #[command(subcommand)]
        cmd: backup::BackupCmd,
    },
    /// The key store: its escrow, for safekeeping apart from the backups.
    Keys {
        #[command(subcommand)]
        cmd: backup::KeysCmd,
    },
}

/// Why a command failed, and so its exit code.
pub enum Failure {
    /// Exit 2.
    BadInput(String),
    /// Exit 1.
    Operational(String),
    /// The reader went away: nothing more to say, exit 0.
    BrokenPipe,
}

pub fn out_err(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::BrokenPipe
    } else {
        Failure::Operational(format!("cannot write output: {e}"))
    }
}

/// Runs the command and maps its outcome to the exit code, saying what went wrong.
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(code) => code,
        Err(Failure::BadInput(m)) => {
            eprintln!("tdr: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Operational(m)) => {
            eprintln!("tdr: {m}");
            ExitCode::from(1)
        }
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
    }
}

fn load_config(cli: &Cli) -> Result<Config, Failure> {
    let mut cfg = match &cli.config {
        Some(p) => Config::load(p).map_err(|e| Failure::BadInput(e.to_string()))?,
        None => Config::default(),
    };
    if let Some(d) = &cli.data_dir {
        cfg.set_data_dir(d);
    }
    Ok(cfg)
}

fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    let cfg = load_config(&cli)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if matches!(
        cli.cmd,
        Cmd::Serve(_) | Cmd::Import(_) | Cmd::Backup { .. } | Cmd::Keys { .. }
    ) {
        // The two commands that write the data directory: whatever the caller's umask, all
        // they create (RocksDB's files included) is the service user's alone.
        // SAFETY: umask only changes this process's file-creation mask.
        unsafe { libc::umask(0o077) };
    }
    match cli.cmd {
        Cmd::Serve(_) => serve::run(cfg, clock.clone()),
        Cmd::Import(args) => import::run(&cfg, &clock, args),
        Cmd::Cdrs(args) => lookup::cdrs(&cfg, args),
        Cmd::Quarantine { cmd } => quarantine::run(&cfg, cmd),
        Cmd::Lookup(args) => lookup::run(&cfg, args),
        Cmd::Admin { cmd } => admin::run(&cfg, cmd),
        Cmd::User { cmd } => user::run(&cfg, cmd),
        Cmd::Identity { cmd } => identity::run(&cfg, cmd),
        Cmd::Case { cmd } => case::run(&cfg, cmd),
        Cmd::Audit { cmd } => audit::run(&cfg, cmd),
        Cmd::Notice { cmd } => notice::run(&cfg, cmd),
        Cmd::Ledger { cmd } => notice::ledger(&cfg, cmd),
        Cmd::Backup { cmd } => backup::run(&cfg, &clock, cmd),
        Cmd::Keys { cmd } => backup::keys(&cfg, &clock, cmd),
        Cmd::CheckConfig { file } => config::check(&file),
    }
}

fn print_json(v: &Value) -> Result<ExitCode, Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_default()
    )
    .map_err(out_err)?;
    Ok(ExitCode::SUCCESS)
}
