//! `tdr lookup` and `tdr cdrs`: who held an address at a time, or a number's calls, inside an
//! approved case's scope (or under an abuse ticket), printed as JSON or for a person.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};
use tdr::clock::Clock;
use tdr::config::Config;
use tdr::legal::service::AddrQuery;
use tdr::legal::Purpose;
use tdr::model::parse_time;

use super::{out_err, with_service, Failure};

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

fn read_batch(file: &Path) -> Result<Vec<AddrQuery>, Failure> {
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
        queries.push(AddrQuery::parse(&q.addr, q.port, &q.at).map_err(bad)?);
    }
    Ok(queries)
}

/// `tdr lookup`: inside an approved case's scope (ipred, law enforcement), or under an abuse
/// ticket (security role, pseudonyms). Every query is validated before the first runs.
pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, a: Args) -> Result<ExitCode, Failure> {
    if a.case.trim().is_empty() {
        return Err(Failure::BadInput("--case must name the case".into()));
    }
    let queries = match &a.batch {
        Some(file) => read_batch(file)?,
        None => vec![AddrQuery::parse(
            a.addr.as_deref().unwrap_or_default(),
            a.port,
            a.at.as_deref().unwrap_or_default(),
        )
        .map_err(Failure::BadInput)?],
    };
    let batch = a.batch.is_some();
    with_service(cfg, clock, |svc, who| {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        // Each answer leaves as soon as it is audited; a closed pipe stops the batch.
        let mut print = |r: Value| {
            let w = if batch || a.json {
                writeln!(out, "{r}")
            } else {
                write_human(&mut out, &r)
            };
            w.and_then(|()| out.flush()).is_ok()
        };
        if a.purpose == Purpose::Abuse {
            for q in queries {
                let r = svc.abuse_lookup(who, &a.case, q.given, q.ip, q.port, q.at)?;
                if !print(r) {
                    break;
                }
            }
            Ok(())
        } else {
            svc.case_lookups(who, &a.case, &queries, Some(a.purpose), print)
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `tdr cdrs`: the calls of a number inside an approved case's scope.
pub fn cdrs(cfg: &Config, clock: &Arc<dyn Clock>, args: CdrsArgs) -> Result<ExitCode, Failure> {
    let CdrsArgs {
        number,
        from,
        to,
        case,
        json: as_json,
    } = args;
    let (number, from, to, case) = (&number, &from, &to, &case);
    let f = parse_time(from.trim()).map_err(|e| Failure::BadInput(format!("--from: {e}")))?;
    let t = parse_time(to.trim()).map_err(|e| Failure::BadInput(format!("--to: {e}")))?;
    if t < f {
        return Err(Failure::BadInput("--to is before --from".into()));
    }
    let given = json!({"number": number, "from": from, "to": to});
    let v = with_service(cfg, clock, |svc, who| {
        svc.case_calls(who, case, given, number, f, t)
    })?;
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
