//! The `tdr` command line: the arguments, one file per command group, and what they share —
//! the exit-code mapping, the bearer token, output helpers and the legal service a legal
//! command runs on. Exit codes: 0 success (any well-formed lookup answer, `not_found`
//! included), 1 an operational failure (store, audit), 2 bad input.
//!
//! The legal commands call the same [`Service`] as the HTTP API, authenticate with the same
//! bearer token (from `TDR_TOKEN`), and are audited the same way (channel `cli`).

mod audit;
mod case;
mod config;
mod expire;
mod identity;
mod import;
mod lookup;
mod quarantine;
mod serve;
mod user;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use serde_json::Value;

use tdr::audit::{AuditLog, NewEntry};
use tdr::clock::{Clock, SystemClock};
use tdr::config::Config;
use tdr::legal::service::{Caller, LegalError};
use tdr::legal::users::Users;
use tdr::legal::Service;
use tdr::store::Store;

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
    /// Drop day partitions whose data is past its retention period (audited).
    Expire,
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        cmd: audit::AuditCmd,
    },
    /// Check a configuration file and list every problem in it.
    CheckConfig { file: PathBuf },
    /// Users and their bearer tokens.
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

pub fn op<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Failure {
    move |e| Failure::Operational(format!("{what}: {e}"))
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
    match cli.cmd {
        Cmd::Serve(_) => serve::run(cfg, clock.clone()),
        Cmd::Import(args) => import::run(&cfg, &clock, args),
        Cmd::Cdrs(args) => lookup::cdrs(&cfg, &clock, args),
        Cmd::Quarantine { cmd } => quarantine::run(&cfg, &clock, cmd),
        Cmd::Lookup(args) => lookup::run(&cfg, &clock, args),
        Cmd::User { cmd } => user::run(&cfg, &clock, cmd),
        Cmd::Identity { cmd } => identity::run(&cfg, &clock, cmd),
        Cmd::Case { cmd } => case::run(&cfg, &clock, cmd),
        Cmd::Expire => expire::run(&cfg, &clock),
        Cmd::Audit { cmd } => audit::run(&cfg, cmd),
        Cmd::CheckConfig { file } => config::check(&file),
    }
}

/// Who is running this command, for the audit log.
fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    format!("{user} (uid {uid})")
}

/// Runs `f` on a legal [`Service`] over a read-only store and this process's own audit log,
/// for the caller `TDR_TOKEN` names.
fn with_service<T>(
    cfg: &Config,
    clock: &Arc<dyn Clock>,
    f: impl FnOnce(&Service, &Caller) -> Result<T, LegalError>,
) -> Result<T, Failure> {
    let users = Users::load(&cfg.data_dir).map_err(op("users"))?;
    let token = std::env::var("TDR_TOKEN").ok();
    let caller = users.caller(token.as_deref(), "cli");
    let store = Store::open_read_only(cfg).map_err(op("store"))?;
    let audit = AuditLog::open(&cfg.data_dir, clock.clone()).map_err(op("audit"))?;
    let service = Service::new(
        Arc::new(cfg.clone()),
        Arc::new(store),
        Arc::new(Mutex::new(audit)),
        clock.clone(),
    );
    let r = f(&service, &caller);
    service
        .checkpoint()
        .map_err(|e| Failure::Operational(format!("audit: {}", e.detail)))?;
    r.map_err(failure)
}

/// The exit code is the error kind's (input problems 2, operational failures 1); the message
/// carries the stable code.
fn failure(e: LegalError) -> Failure {
    let kind = e.kind();
    let msg = if kind.is_auth() {
        format!("[{kind}] {e} (set TDR_TOKEN to your token from `tdr user add`)")
    } else {
        format!("[{kind}] {e}")
    };
    if kind.is_operational() {
        Failure::Operational(msg)
    } else {
        Failure::BadInput(msg)
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

/// Appends `entry` to the audit log (and checkpoints it) before anything is shown or changed:
/// if the log cannot take it, the caller goes no further (`what` says what is withheld).
fn audit_first(
    cfg: &Config,
    clock: &Arc<dyn Clock>,
    entry: NewEntry,
    what: &str,
) -> Result<(), Failure> {
    let mut audit = AuditLog::open(&cfg.data_dir, clock.clone()).map_err(op("audit"))?;
    audit.append(entry).map_err(|e| {
        Failure::Operational(format!(
            "[{}] the audit entry could not be written, so {what}: {e}",
            e.code()
        ))
    })?;
    audit.checkpoint().map_err(op("audit"))
}
