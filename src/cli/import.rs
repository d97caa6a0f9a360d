//! `tdr import`: log files into the store, idempotently (a file imported twice adds nothing).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tdr::clock::Clock;
use tdr::config::Config;
use tdr::ingest::import::{ImportStats, Importer};
use tdr::parse::Format;
use tdr::store::Store;

use super::{op, Failure};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_enum)]
    pub format: Format,
    /// Source name for the records (the quarantine is kept per source).
    #[arg(long, default_value = "import")]
    pub source: String,
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
    /// The files are complete (rotated): an unterminated last record is imported rather
    /// than held back as one still being written. `.gz` files are always complete.
    #[arg(long)]
    pub complete: bool,
    /// Files to import; `.gz` files are decompressed transparently.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, args: Args) -> Result<ExitCode, Failure> {
    let Args {
        format,
        source,
        tz,
        class,
        template,
        lease_time,
        timestamp_format,
        complete,
        files,
    } = args;
    let mut ctx = tdr::parse::Context::new(&source, clock.now());
    ctx.class = tdr::model::Class::parse(&class).ok_or_else(|| {
        Failure::BadInput(format!(
            "--class {class:?}: expected security, billing or statutory"
        ))
    })?;
    let zone = tz.or_else(|| cfg.local_timezone.clone());
    if let Some(z) = zone {
        ctx.tz = Some(
            z.parse()
                .map_err(|_| Failure::BadInput(format!("{z:?} is not an IANA time zone name")))?,
        );
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
    let mut store = Store::open(cfg).map_err(op("store"))?;
    let mut importer = Importer::new(&mut store, cfg, clock.as_ref()).map_err(op("store"))?;
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
