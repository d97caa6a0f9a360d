//! `tdr import`: log files into the store, idempotently (a file imported twice adds nothing),
//! through the one ingest pipeline. Several files are read side by side: one source's files
//! in order, different sources at once.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tdr::clock::Clock;
use tdr::config::Config;
use tdr::error::ErrorKind;
use tdr::ingest::import::{configured_jobs, import_offline, ImportJob};
use tdr::parse::{Context, Format};

use super::client::{daemon_running, failure_of, seg, Client};
use super::Failure;

#[derive(clap::Args)]
pub struct Args {
    /// The format of FILES given without one (`FORMAT=FILE` names its own).
    #[arg(long, value_parser = tdr::format_arg())]
    pub format: Option<Format>,
    /// Source name for the records (the quarantine is kept per source). Default: `import`
    /// for files of `--format`, the format's name for `FORMAT=FILE`.
    #[arg(long)]
    pub source: Option<String>,
    /// Import every file matched by the configuration's `[[file]]` sources, each with its
    /// source's name, format, class, time zone and options (rotated files included).
    #[arg(long, conflicts_with_all = ["format", "source", "files"])]
    pub sources: bool,
    /// The producer's time zone (IANA name, e.g. Europe/Stockholm), for formats that
    /// write local times without a zone. Overrides the config's `local_timezone`.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Retention class of the records: security, billing or statutory.
    #[arg(long, default_value = "security")]
    pub class: String,
    /// freeswitch-cdr: the mod_cdr_csv template (`default`, `example`, or the template
    /// text itself).
    #[arg(long)]
    pub template: Option<String>,
    /// dhcpd-syslog: the server's lease time in seconds (its `default-lease-time`).
    #[arg(long, value_name = "SECS")]
    pub lease_time: Option<u32>,
    /// kea-legal: the hook's `timestamp-format` (strftime), if not Kea's default.
    #[arg(long, value_name = "STRFTIME")]
    pub timestamp_format: Option<String>,
    /// ipfix: the exporter's numbering of natEvent: `rfc8158` (the IANA values, the
    /// default) or `draft-02` (Junos).
    #[arg(long, value_name = "NUMBERING")]
    pub nat_event_values: Option<String>,
    /// The files are complete (rotated): an unterminated last record is imported rather
    /// than held back as one still being written. `.gz` files are always complete.
    #[arg(long)]
    pub complete: bool,
    /// Sources read side by side (default: the cores available; 1 reads every file in turn).
    #[arg(long, value_name = "N")]
    pub readers: Option<usize>,
    /// Files to import (`FILE` with `--format`, or `FORMAT=FILE`); `.gz` files are
    /// decompressed transparently.
    #[arg(required_unless_present = "sources")]
    pub files: Vec<String>,
}

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, args: Args) -> Result<ExitCode, Failure> {
    let jobs = if args.sources {
        configured_jobs(cfg, clock.now(), args.complete).map_err(Failure::BadInput)?
    } else {
        let mut ctx = Context::new("import", clock.now());
        let class = &args.class;
        ctx.class = tdr::model::Class::parse(class).ok_or_else(|| {
            Failure::BadInput(format!(
                "--class {class:?}: expected security, billing or statutory"
            ))
        })?;
        if let Some(z) = args.tz.clone().or_else(|| cfg.local_timezone.clone()) {
            ctx.tz =
                Some(z.parse().map_err(|_| {
                    Failure::BadInput(format!("{z:?} is not an IANA time zone name"))
                })?);
        }
        ctx.template = args.template.clone();
        ctx.lease_time = args.lease_time;
        ctx.timestamp_format = args.timestamp_format.clone();
        if let Some(v) = &args.nat_event_values {
            ctx.nat_event_values = tdr::parse::NatEventValues::from_name(v).ok_or_else(|| {
                Failure::BadInput(format!(
                    "--nat-event-values {v:?}: expected rfc8158 or draft-02 (Junos)"
                ))
            })?;
        }
        given_jobs(&args, &ctx)?
    };
    // Refuse bad options before opening anything.
    for j in &jobs {
        tdr::parse::parser(j.format, &j.ctx).map_err(|e| Failure::BadInput(e.to_string()))?;
    }
    if daemon_running(cfg) {
        return hand_over(cfg, &args, &jobs);
    }
    service_user_only(cfg)?;
    let report = import_offline(cfg, clock.clone(), jobs, args.readers).map_err(|(code, e)| {
        let msg = format!("[{code}] {e}");
        match ErrorKind::from_code(code) {
            Some(k) if !k.is_operational() => Failure::BadInput(msg),
            _ => Failure::Operational(msg),
        }
    })?;
    if report.by_source.len() > 1 {
        for (name, s) in &report.by_source {
            println!(
                "  {name}: {} file(s), {} accepted, {} duplicate, {} quarantined, {} expired, {} ignored",
                s.files, s.accepted, s.duplicate, s.quarantined, s.expired, s.ignored
            );
        }
    }
    let total = report.total;
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

/// With the daemon running, the files go to it (it alone writes the store): each is sent
/// over the socket into its spool, audited there, and read by its follower like any spool
/// file. The daemon's spool reads each format with its defaults, so options that would
/// change how a file is read are refused rather than silently dropped.
fn hand_over(cfg: &Config, args: &Args, jobs: &[ImportJob]) -> Result<ExitCode, Failure> {
    let mut differs = Vec::new();
    if args.sources {
        differs.push("--sources (the daemon follows its configured sources itself)");
    }
    if args.source.is_some() {
        differs.push("--source");
    }
    if args.class != "security" {
        differs.push("--class");
    }
    for (given, name) in [
        (args.tz.is_some(), "--tz"),
        (args.template.is_some(), "--template"),
        (args.lease_time.is_some(), "--lease-time"),
        (args.timestamp_format.is_some(), "--timestamp-format"),
        (args.nat_event_values.is_some(), "--nat-event-values"),
    ] {
        if given {
            differs.push(name);
        }
    }
    if !differs.is_empty() {
        return Err(Failure::BadInput(format!(
            "[{}] tdr serve is running, so the files are handed to its spool, which reads \
             each format with its defaults; {} cannot be honoured there: configure a [[file]] \
             source for this producer, or stop the daemon and import as the service user",
            ErrorKind::CliNotHere.code(),
            differs.join(", ")
        )));
    }
    let client = Client::new(cfg)?;
    for j in jobs {
        let name: String = j
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = name.trim_start_matches('.');
        let path = format!("/v1/import/{}/{}", j.format.name(), seg(name));
        let a = client.upload("PUT", &path, &j.path)?;
        if !(200..300).contains(&a.status) {
            return Err(failure_of(&a));
        }
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
        println!(
            "handed {} ({} bytes, sha256 {}) to the daemon's spool as {}",
            j.path.display(),
            v["bytes"],
            v["sha256"].as_str().unwrap_or("-"),
            v["spooled"].as_str().unwrap_or("-")
        );
    }
    println!("the daemon reads them now; watch tdr_checkpoint_offset_bytes on /metrics");
    Ok(ExitCode::SUCCESS)
}

/// An import without the daemon writes the store directly: only the service user (who owns
/// the data directory) may, and it prints counts only.
pub(super) fn service_user_only(cfg: &Config) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(&cfg.data_dir) else {
        return Ok(()); // a new data directory, created as this user's
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(Failure::BadInput(format!(
            "[{}] {} belongs to uid {}, not to you (uid {me}): import as the service user, \
             or start tdr serve and import through it",
            ErrorKind::CliNotHere.code(),
            cfg.data_dir.display(),
            meta.uid()
        )));
    }
    Ok(())
}

/// The jobs of `tdr import [--format F] ITEM...`: an item is `FILE` (of `--format`) or
/// `FORMAT=FILE`; every file gets the options given on the command line. Every item without
/// a format is named at once.
fn given_jobs(args: &Args, ctx: &Context) -> Result<Vec<ImportJob>, Failure> {
    let mut jobs = Vec::with_capacity(args.files.len());
    let mut bad = Vec::new();
    for item in &args.files {
        let named = item
            .split_once('=')
            .and_then(|(f, p)| Format::from_name(f).map(|f| (f, p)));
        let (format, path, default_source) = match (named, args.format) {
            (Some((f, p)), _) => (f, p, f.name()),
            (None, Some(f)) => (f, item.as_str(), "import"),
            (None, None) => {
                bad.push(format!("{item:?}"));
                continue;
            }
        };
        let mut ctx = ctx.clone();
        ctx.source = args.source.as_deref().unwrap_or(default_source).to_string();
        jobs.push(ImportJob {
            path: PathBuf::from(path),
            format,
            ctx,
            complete: args.complete,
        });
    }
    if !bad.is_empty() {
        return Err(Failure::BadInput(format!(
            "no format for {}: give --format, or FORMAT=FILE with one of: {}",
            bad.join(", "),
            Format::ALL.map(|f| f.name()).join(", ")
        )));
    }
    Ok(jobs)
}
