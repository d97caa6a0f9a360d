//! `tdr quarantine`: what ingest rejected and why; the raw bytes only under an audited
//! reference.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use tdr::config::Config;

use super::client::{seg, Client};
use super::{out_err, Failure};

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

pub fn run(cfg: &Config, cmd: QuarantineCmd) -> Result<ExitCode, Failure> {
    let client = Client::new(cfg)?;
    match cmd {
        QuarantineCmd::List { json } => list(&client, json),
        QuarantineCmd::Show {
            source,
            code,
            limit,
            raw,
            case,
        } => show(&client, source, code, limit, raw, case),
    }
}

fn list(client: &Client, json: bool) -> Result<ExitCode, Failure> {
    let v = client.json("GET", "/v1/quarantine", None)?;
    let summary = v["sources"].as_array().cloned().unwrap_or_default();
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", v["sources"]).map_err(out_err)?;
    } else if summary.is_empty() {
        writeln!(out, "the quarantine is empty").map_err(out_err)?;
    } else {
        for s in summary {
            writeln!(
                out,
                "{}: {} record(s) from {} file(s), {} .. {}",
                s["source"].as_str().unwrap_or("-"),
                s["records"],
                s["files"].as_array().map_or(0, Vec::len),
                s["first"].as_str().unwrap_or("-"),
                s["last"].as_str().unwrap_or("-")
            )
            .map_err(out_err)?;
            for (code, n) in s["by_code"].as_object().into_iter().flatten() {
                writeln!(out, "  {n:>8}  {code}").map_err(out_err)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(
    client: &Client,
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
    let mut q = format!("/v1/quarantine/records?limit={limit}&raw={raw}");
    for (k, v) in [("source", &source), ("code", &code), ("reference", &case)] {
        if let Some(v) = v {
            q.push_str(&format!("&{k}={}", seg(v)));
        }
    }
    let v = client.json("GET", &q, None)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for r in v["records"].as_array().into_iter().flatten() {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        writeln!(
            out,
            "{}  {}  {}@{}  {}: {}",
            s("time"),
            s("source"),
            s("file"),
            r["offset"],
            s("code"),
            s("reason")
        )
        .map_err(out_err)?;
        if let Some(raw) = r["raw"].as_str() {
            writeln!(out, "    {raw}").map_err(out_err)?;
        }
    }
    let older = v["older"].as_u64().unwrap_or(0);
    if older > 0 {
        writeln!(out, "({older} older record(s) not shown; raise --limit)").map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    Ok(ExitCode::SUCCESS)
}
