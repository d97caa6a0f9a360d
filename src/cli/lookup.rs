//! `tdr lookup` and `tdr cdrs`: who held an address at a time, or a number's calls, inside an
//! approved case's scope (or under an abuse ticket), printed as JSON or for a person.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{json, Value};
use tdr::config::Config;
use tdr::legal::service::AddrQuery;
use tdr::legal::Purpose;
use tdr::model::parse_time;

use super::client::{seg, Client};
use super::{out_err, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// IPv4 or IPv6 address.
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    pub addr: Option<String>,
    /// Source port, needed for a shared CGNAT address.
    #[arg(long, conflicts_with = "batch")]
    pub port: Option<u16>,
    /// Time with UTC offset (RFC 3339), e.g. 2026-11-21T10:00:00+01:00.
    #[arg(long, required_unless_present = "batch", conflicts_with = "batch")]
    pub at: Option<String>,
    /// One query a line: {"addr":…,"port":…,"at":…}; prints one JSON answer a line.
    #[arg(long, value_name = "FILE")]
    pub batch: Option<PathBuf>,
    /// ipred or law-enforcement: `--case` is an approved case whose scope names the
    /// query; abuse (security role): `--case` is the abuse ticket.
    #[arg(long, value_enum)]
    pub purpose: Purpose,
    /// The case id (C-YYYY-NNNN), or for abuse the ticket reference.
    #[arg(long, value_name = "ID")]
    pub case: String,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct CdrsArgs {
    /// The number (any common notation: +46 70-123 45 67, 0046701234567, tel:+46…).
    #[arg(long)]
    pub number: String,
    /// Window start, RFC 3339 with UTC offset.
    #[arg(long)]
    pub from: String,
    /// Window end, RFC 3339 with UTC offset.
    #[arg(long)]
    pub to: String,
    /// The approved case whose scope names the number and window (its request type sets
    /// the purpose: law_enforcement, or abuse with pseudonyms).
    #[arg(long, value_name = "ID")]
    pub case: String,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchQuery {
    addr: String,
    #[serde(default)]
    port: Option<u16>,
    at: String,
}

/// One query as the daemon takes it, checked here first so a typo is named with its line.
fn point(addr: &str, port: Option<u16>, at: &str) -> Result<Value, Failure> {
    AddrQuery::parse(addr, port, at).map_err(Failure::BadInput)?;
    Ok(json!({"addr": addr, "port": port, "at": at}))
}

fn read_batch(file: &Path) -> Result<Vec<Value>, Failure> {
    let f = std::fs::File::open(file)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", file.display())))?;
    let mut queries = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let bad = |e: String| Failure::BadInput(format!("{} line {}: {e}", file.display(), i + 1));
        let line = line.map_err(|e| bad(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let q: BatchQuery = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        queries.push(point(&q.addr, q.port, &q.at).map_err(|f| match f {
            Failure::BadInput(m) => bad(m),
            other => other,
        })?);
    }
    Ok(queries)
}

pub fn run(cfg: &Config, a: Args) -> Result<ExitCode, Failure> {
    if a.case.trim().is_empty() {
        return Err(Failure::BadInput("--case must name the case".into()));
    }
    let queries = match &a.batch {
        Some(file) => read_batch(file)?,
        None => vec![point(
            a.addr.as_deref().unwrap_or_default(),
            a.port,
            a.at.as_deref().unwrap_or_default(),
        )?],
    };
    let batch = a.batch.is_some();
    let client = Client::new(cfg)?;
    let answers: Vec<Value> = if a.purpose == Purpose::Abuse {
        let mut out = Vec::new();
        for mut q in queries {
            q["reference"] = json!(a.case);
            out.push(client.json("POST", "/v1/abuse/lookup", Some(&q))?);
        }
        out
    } else {
        let body = json!({"purpose": a.purpose.as_str(), "queries": queries});
        let path = format!("/v1/cases/{}/lookups", seg(&a.case));
        let v = client.json("POST", &path, Some(&body))?;
        v["answers"].as_array().cloned().unwrap_or_default()
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for r in answers {
        if batch || a.json {
            writeln!(out, "{r}").map_err(out_err)?;
        } else {
            write_human(&mut out, &r).map_err(out_err)?;
        }
    }
    out.flush().map_err(out_err)?;
    Ok(ExitCode::SUCCESS)
}

pub fn cdrs(cfg: &Config, args: CdrsArgs) -> Result<ExitCode, Failure> {
    let CdrsArgs {
        number,
        from,
        to,
        case,
        json: as_json,
    } = args;
    let f = parse_time(from.trim()).map_err(|e| Failure::BadInput(format!("--from: {e}")))?;
    let t = parse_time(to.trim()).map_err(|e| Failure::BadInput(format!("--to: {e}")))?;
    if t < f {
        return Err(Failure::BadInput("--to is before --from".into()));
    }
    let given = json!({"number": number, "from": from, "to": to});
    let v = Client::new(cfg)?.json(
        "POST",
        &format!("/v1/cases/{}/lookup", seg(&case)),
        Some(&given),
    )?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if as_json {
        writeln!(out, "{v}").map_err(out_err)?;
    } else {
        let calls = v["calls"].as_array().cloned().unwrap_or_default();
        writeln!(
            out,
            "status: {}  ({} call(s))",
            v["status"].as_str().unwrap_or(""),
            calls.len()
        )
        .map_err(out_err)?;
        for c in &calls {
            let s = |k: &str| c[k].as_str().unwrap_or("-").to_string();
            writeln!(
                out,
                "  {} .. {}  {:<8} {}  {}s  {}  (source {}, class {})",
                s("start"),
                s("end"),
                s("direction"),
                s("other_party"),
                c["duration"],
                s("disposition"),
                s("source"),
                s("class")
            )
            .map_err(out_err)?;
        }
    }
    out.flush().map_err(out_err)?;
    Ok(ExitCode::SUCCESS)
}

fn write_human(out: &mut impl Write, r: &serde_json::Value) -> std::io::Result<()> {
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
