//! `tdr quarantine`: what ingest rejected and why; the raw bytes only under an audited
//! reference.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;
use tdr::audit::NewEntry;
use tdr::clock::Clock;
use tdr::config::Config;

use super::{actor, audit_first, op, out_err, Failure};

#[derive(Subcommand)]
pub enum QuarantineCmd {
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

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, cmd: QuarantineCmd) -> Result<ExitCode, Failure> {
    match cmd {
        QuarantineCmd::List { json } => list(cfg, json),
        QuarantineCmd::Show {
            source,
            code,
            limit,
            raw,
            case,
        } => show(cfg, clock, source, code, limit, raw, case),
    }
}

fn list(cfg: &Config, json: bool) -> Result<ExitCode, Failure> {
    let records = tdr::ingest::quarantine::read_all(&cfg.data_dir).map_err(op("quarantine"))?;
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

fn show(
    cfg: &Config,
    clock: &Arc<dyn Clock>,
    source: Option<String>,
    code: Option<String>,
    limit: usize,
    raw: bool,
    case: Option<String>,
) -> Result<ExitCode, Failure> {
    if raw && case.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(Failure::BadInput(
            "--raw shows log bytes that may hold personal data: give --case REF".into(),
        ));
    }
    let records = tdr::ingest::quarantine::read_all(&cfg.data_dir).map_err(op("quarantine"))?;
    let selected: Vec<_> = records
        .into_iter()
        .filter(|r| source.as_ref().is_none_or(|s| &r.source == s))
        .filter(|r| code.as_ref().is_none_or(|c| &r.code == c))
        .collect();
    let shown = &selected[selected.len().saturating_sub(limit)..];
    if raw {
        audit_first(
            cfg,
            clock,
            NewEntry {
                actor: actor(),
                role: "cli".into(),
                peer: None,
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
