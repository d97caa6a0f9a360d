//! The `tdr` command line. It parses arguments, wires the modules together and maps errors to
//! exit codes; the logic lives in the library. Exit codes: 0 success (any well-formed lookup
//! answer, `not_found` included), 1 an operational failure (store, audit), 2 bad input.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde_json::json;

mod cli;

use tdr::audit::{self, AuditLog, NewEntry};
use tdr::clock::{Clock, SystemClock};
use tdr::config::Config;
use tdr::ingest::import::{ImportStats, Importer};
use tdr::legal::Purpose;
use tdr::parse::Format;
use tdr::retention;
use tdr::store::Store;

#[derive(Parser)]
#[command(
    name = "tdr",
    version,
    about = "Traffic-data retention and disclosure appliance"
)]
struct Cli {
    /// Data directory (store, audit log, keys, quarantine). Overrides the config's data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Configuration file (TOML). Without it tdr runs on its embedded defaults.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the ingest daemon: follow the configured files and the spool folder, listen for
    /// syslog, serve /metrics and /health; stop cleanly on SIGTERM or SIGINT.
    Serve {
        /// Log lines as text or as JSON objects (for journald or a log shipper).
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Import log files into the store (idempotent: a file imported twice adds nothing).
    Import {
        #[arg(long, value_parser = tdr::format_arg())]
        format: Format,
        /// Source name for the records (the quarantine is kept per source).
        #[arg(long, default_value = "import")]
        source: String,
        /// The producer's time zone (IANA name, e.g. Europe/Stockholm), for formats that
        /// write local times without a zone. Overrides the config's `local_timezone`.
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// Retention class of the records: security, billing or statutory.
        #[arg(long, default_value = "security")]
        class: String,
        /// freeswitch-cdr: the mod_cdr_csv template (`default`, `example`, or the template
        /// text itself).
        #[arg(long)]
        template: Option<String>,
        /// dhcpd-syslog: the server's lease time in seconds (its `default-lease-time`).
        #[arg(long, value_name = "SECS")]
        lease_time: Option<u32>,
        /// kea-legal: the hook's `timestamp-format` (strftime), if not Kea's default.
        #[arg(long, value_name = "STRFTIME")]
        timestamp_format: Option<String>,
        /// The files are complete (rotated): an unterminated last record is imported rather
        /// than held back as one still being written. `.gz` files are always complete.
        #[arg(long)]
        complete: bool,
        /// Files to import; `.gz` files are decompressed transparently.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Calls to or from a number over a time window. Audited before anything is shown.
    Cdrs {
        /// The number (any common notation: +46 70-123 45 67, 0046701234567, tel:+46…).
        #[arg(long)]
        number: String,
        /// Window start, RFC 3339 with UTC offset.
        #[arg(long)]
        from: String,
        /// Window end, RFC 3339 with UTC offset.
        #[arg(long)]
        to: String,
        /// The approved case whose scope names the number and window (its request type sets
        /// the purpose: law_enforcement, or abuse with pseudonyms).
        #[arg(long, value_name = "ID")]
        case: String,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What ingest rejected and why.
    Quarantine {
        #[command(subcommand)]
        cmd: QuarantineCmd,
    },
    /// Who held an address (and port) at a time. Audited before anything is shown.
    Lookup {
        /// IPv4 or IPv6 address.
        #[arg(required_unless_present = "batch", conflicts_with = "batch")]
        addr: Option<String>,
        /// Source port, needed for a shared CGNAT address.
        #[arg(long, conflicts_with = "batch")]
        port: Option<u16>,
        /// Time with UTC offset (RFC 3339), e.g. 2026-11-21T10:00:00+01:00.
        #[arg(long, required_unless_present = "batch", conflicts_with = "batch")]
        at: Option<String>,
        /// One query a line: {"addr":…,"port":…,"at":…}; prints one JSON answer a line.
        #[arg(long, value_name = "FILE")]
        batch: Option<PathBuf>,
        /// ipred or law-enforcement: `--case` is an approved case whose scope names the
        /// query; abuse (security role): `--case` is the abuse ticket.
        #[arg(long, value_enum)]
        purpose: Purpose,
        /// The case id (C-YYYY-NNNN), or for abuse the ticket reference.
        #[arg(long, value_name = "ID")]
        case: String,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drop day partitions whose data is past its retention period (audited).
    Expire,
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Check a configuration file and list every problem in it.
    CheckConfig { file: PathBuf },
    /// Users and their bearer tokens.
    User {
        #[command(subcommand)]
        cmd: cli::UserCmd,
    },
    /// The identity register (imported from the CRM).
    Identity {
        #[command(subcommand)]
        cmd: cli::IdentityCmd,
    },
    /// Legal requests: register, approve, execute, report (authenticate with TDR_TOKEN).
    Case {
        #[command(subcommand)]
        cmd: cli::CaseCmd,
    },
}

#[derive(Subcommand)]
enum QuarantineCmd {
    /// Per source: how many records were rejected, by error code, and from which files.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The rejected records: source, file, byte offset, code and reason. The raw bytes may
    /// hold personal data, so they are shown only with --raw, which is audited.
    Show {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Only this error code.
        #[arg(long)]
        code: Option<String>,
        /// At most this many records (the newest).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Include the raw bytes of each record (writes an audit entry).
        #[arg(long)]
        raw: bool,
        /// Why the raw bytes are needed (required with --raw; recorded in the audit log).
        #[arg(long, value_name = "REF")]
        case: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Re-walk the hash chain and signed checkpoints; name the first bad entry.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon tells ops what it does; one-shot commands only what went wrong.
    let (level, json) = match &cli.cmd {
        Cmd::Serve { log_format } => ("info", *log_format == LogFormat::Json),
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
    match run(cli) {
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

pub(crate) enum Failure {
    BadInput(String),
    Operational(String),
    BrokenPipe,
}

pub(crate) fn op<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Failure {
    move |e| Failure::Operational(format!("{what}: {e}"))
}

pub(crate) fn out_err(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::BrokenPipe
    } else {
        Failure::Operational(format!("cannot write output: {e}"))
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

/// Who is running this command, for the audit log.
pub(crate) fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    format!("{user} (uid {uid})")
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let cfg = load_config(&cli)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.cmd {
        Cmd::Serve { .. } => match tdr::serve::run(cfg) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e @ tdr::serve::ServeError::Start(_)) => {
                tracing::error!(error = %e, "cannot start");
                Err(Failure::Operational(e.to_string()))
            }
            Err(e) => {
                tracing::error!(error = %e, "stopped on an error");
                Err(Failure::Operational(e.to_string()))
            }
        },
        Cmd::Import {
            format,
            source,
            tz,
            class,
            template,
            lease_time,
            timestamp_format,
            complete,
            files,
        } => {
            let mut ctx = tdr::parse::Context::new(&source, clock.now());
            ctx.class = tdr::model::Class::parse(&class).ok_or_else(|| {
                Failure::BadInput(format!(
                    "--class {class:?}: expected security, billing or statutory"
                ))
            })?;
            let zone = tz.or_else(|| cfg.local_timezone.clone());
            if let Some(z) = zone {
                ctx.tz = Some(z.parse().map_err(|_| {
                    Failure::BadInput(format!("{z:?} is not an IANA time zone name"))
                })?);
            }
            ctx.template = template;
            ctx.lease_time = lease_time;
            ctx.timestamp_format = timestamp_format;
            // Refuse bad options before opening anything.
            tdr::parse::parser(format, &ctx).map_err(|e| Failure::BadInput(e.to_string()))?;
            let opts = tdr::ingest::import::ImportOptions {
                format,
                ctx,
                complete,
            };
            let mut store = Store::open(&cfg).map_err(op("store"))?;
            let mut importer =
                Importer::new(&mut store, &cfg, clock.as_ref()).map_err(op("store"))?;
            let mut total = ImportStats::default();
            for f in &files {
                let s = importer
                    .import(f, &opts)
                    .map_err(|e| Failure::Operational(format!("[{}] {e}", e.code())))?;
                total.add(&s);
            }
            println!(
                "imported {} file(s): {} accepted, {} duplicate, {} quarantined, {} expired, {} ignored{}",
                total.files,
                total.accepted,
                total.duplicate,
                total.quarantined,
                total.expired,
                total.ignored,
                if total.already_imported_bytes > 0 {
                    format!(
                        " ({} bytes already imported before)",
                        total.already_imported_bytes
                    )
                } else {
                    String::new()
                }
            );
            if total.held_back_bytes > 0 {
                println!(
                    "{} bytes at the end held back: an incomplete record (the file is still being \
                     written?); the next import picks it up, or pass --complete for a rotated file",
                    total.held_back_bytes
                );
            }
            if total.quarantined > 0 {
                println!("see what was rejected and why: tdr quarantine list");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Cdrs {
            number,
            from,
            to,
            case,
            json,
        } => cli::cdrs(&cfg, &number, &from, &to, &case, json),
        Cmd::Quarantine {
            cmd: QuarantineCmd::List { json },
        } => {
            let records =
                tdr::ingest::quarantine::read_all(&cfg.data_dir).map_err(op("quarantine"))?;
            let summary = tdr::ingest::quarantine::summarize(&records);
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", json!(summary)).map_err(out_err)?;
            } else if summary.is_empty() {
                writeln!(out, "the quarantine is empty").map_err(out_err)?;
            } else {
                for s in summary {
                    writeln!(
                        out,
                        "{}: {} record(s) from {} file(s), {} .. {}",
                        s.source,
                        s.records,
                        s.files.len(),
                        s.first.as_deref().unwrap_or("-"),
                        s.last.as_deref().unwrap_or("-")
                    )
                    .map_err(out_err)?;
                    for (code, n) in &s.by_code {
                        writeln!(out, "  {n:>8}  {code}").map_err(out_err)?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Quarantine {
            cmd:
                QuarantineCmd::Show {
                    source,
                    code,
                    limit,
                    raw,
                    case,
                },
        } => {
            if raw && case.as_deref().is_none_or(|c| c.trim().is_empty()) {
                return Err(Failure::BadInput(
                    "--raw shows log bytes that may hold personal data: give --case REF".into(),
                ));
            }
            let records =
                tdr::ingest::quarantine::read_all(&cfg.data_dir).map_err(op("quarantine"))?;
            let selected: Vec<_> = records
                .into_iter()
                .filter(|r| source.as_ref().is_none_or(|s| &r.source == s))
                .filter(|r| code.as_ref().is_none_or(|c| &r.code == c))
                .collect();
            let shown = &selected[selected.len().saturating_sub(limit)..];
            if raw {
                let mut audit =
                    AuditLog::open(&cfg.data_dir, clock.clone()).map_err(op("audit"))?;
                audit_first(
                    &mut audit,
                    NewEntry {
                        actor: actor(),
                        role: "cli".into(),
                        action: "quarantine_show_raw".into(),
                        case: case.clone(),
                        legal_basis: None,
                        query: json!({"source": source, "code": code, "limit": limit}),
                        outcome: "shown".into(),
                        result_count: shown.len() as u64,
                        result_digest: None,
                    },
                    "nothing is shown",
                )?;
                audit.checkpoint().map_err(op("audit"))?;
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for r in shown {
                writeln!(
                    out,
                    "{}  {}  {}@{}  {}: {}",
                    r.time, r.source, r.file, r.offset, r.code, r.reason
                )
                .map_err(out_err)?;
                if raw {
                    writeln!(out, "    {}", r.raw).map_err(out_err)?;
                }
            }
            if selected.len() > shown.len() {
                writeln!(
                    out,
                    "({} older record(s) not shown; raise --limit)",
                    selected.len() - shown.len()
                )
                .map_err(out_err)?;
            }
            out.flush().map_err(out_err)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Lookup {
            addr,
            port,
            at,
            batch,
            purpose,
            case,
            json,
        } => cli::lookup(
            &cfg,
            cli::LookupArgs {
                addr,
                port,
                at,
                batch,
                purpose,
                case,
                json,
            },
        ),
        Cmd::User { cmd } => cli::user(&cfg, cmd),
        Cmd::Identity { cmd } => cli::identity(&cfg, cmd),
        Cmd::Case { cmd } => cli::case(&cfg, cmd),
        Cmd::Expire => {
            let store = Store::open(&cfg).map_err(op("store"))?;
            let mut audit = AuditLog::open(&cfg.data_dir, clock.clone()).map_err(op("audit"))?;
            let dropped = retention::expire(&store, &mut audit, &cfg, clock.now(), &actor())
                .map_err(|e| Failure::Operational(format!("[{}] {e}", e.code())))?;
            audit.checkpoint().map_err(op("audit"))?;
            if dropped.is_empty() {
                println!("no partition is past its retention period");
            }
            for p in dropped {
                println!("dropped {} ({} records)", p.name, p.records);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit {
            cmd: AuditCmd::Verify,
        } => match audit::verify(&cfg.data_dir) {
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
        Cmd::CheckConfig { file } => match Config::load(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(Failure::BadInput(format!("{}: {e}", file.display()))),
        },
    }
}

pub(crate) fn write_human(out: &mut impl Write, r: &serde_json::Value) -> std::io::Result<()> {
    let status = r["status"].as_str().unwrap_or("");
    writeln!(
        out,
        "status: {status}  ({})",
        tdr::report::explain_status(status)
    )?;
    if let Some(n) = r["sharing"].as_u64() {
        writeln!(
            out,
            "  {n} subscriber address(es) share this public address at that time"
        )?;
    }
    for m in r["matches"].as_array().into_iter().flatten() {
        let s = |k: &str| m[k].as_str().unwrap_or("-").to_string();
        writeln!(out, "  subscriber   {}", s("subscriber"))?;
        writeln!(
            out,
            "  binding      {} from {}{} to {} ({})",
            s("target"),
            s("start"),
            if m["start_logged"].as_bool() == Some(true) {
                ""
            } else {
                " (first seen)"
            },
            m["end"].as_str().unwrap_or("open"),
            s("end_kind")
        )?;
        writeln!(
            out,
            "  confirmed    until {}",
            m["confirmed_until"].as_str().unwrap_or("open")
        )?;
        writeln!(out, "  source       {} (class {})", s("source"), s("class"))?;
        if m["via"].is_object() {
            writeln!(out, "  via NAT      {}", nat_block_text(&m["via"]))?;
        }
        if let Some(o) = m["origin"].as_str() {
            writeln!(out, "  origin       {o}")?;
        }
    }
    for v in r["nat_blocks"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  NAT block    {}, source {}; holder of {} unknown",
            nat_block_text(v),
            v["source"].as_str().unwrap_or("-"),
            v["inside"].as_str().unwrap_or("-"),
        )?;
    }
    for f in r["free_states"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  lease state  {} {} from {} until {}, source {}",
            f["target"].as_str().unwrap_or("-"),
            f["state"].as_str().unwrap_or("-"),
            f["from"].as_str().unwrap_or("-"),
            f["until"].as_str().unwrap_or("-"),
            f["source"].as_str().unwrap_or("-"),
        )?;
    }
    Ok(())
}

/// A port block as the human answer shows it: public address, ports, inside address, when.
fn nat_block_text(v: &serde_json::Value) -> String {
    let s = |k: &str, none: &'static str| v[k].as_str().unwrap_or(none).to_string();
    format!(
        "{} ports {} -> {} from {} to {} ({})",
        s("public", "-"),
        s("ports", "-"),
        s("inside", "-"),
        s("start", "-"),
        s("end", "open"),
        s("end_kind", "-"),
    )
}

/// Appends `entry` before anything is shown: if the audit log cannot take it, the caller shows
/// nothing (`what` says what is withheld).
fn audit_first(audit: &mut AuditLog, entry: NewEntry, what: &str) -> Result<(), Failure> {
    audit.append(entry).map(|_| ()).map_err(|e| {
        Failure::Operational(format!(
            "[{}] the audit entry could not be written, so {what}: {e}",
            e.code()
        ))
    })
}
