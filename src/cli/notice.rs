//! `tdr notice` (the IPRED notice to the subscriber, URL 53 h §) and `tdr ledger` (the
//! compensation ledger's export), as the caller `TDR_TOKEN` names: requests to the daemon,
//! which admits and audits them.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use tdr::config::Config;

use super::case::write_new_private;
use super::client::{seg, Client};
use super::{out_err, print_json, Failure};

#[derive(Subcommand)]
pub enum NoticeCmd {
    /// The notices owed to subscribers named by IPRED disclosures: case, item, window, status.
    List {
        #[arg(long, value_parser = ["waiting", "due", "late", "sent"])]
        status: Option<String>,
    },
    /// Make a notice's letter (Swedish), addressed as the identity register holds it today.
    Letter {
        case: String,
        item: u32,
        #[arg(long, default_value = "text", value_parser = ["text", "html", "pdf"])]
        format: String,
        /// Write to this new file (mode 0600, never over an existing file or a link) instead of
        /// standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Release a protected identity's letter (another legal officer than who asked for it).
    Release { case: String, item: u32 },
    /// Record that the letter was posted.
    Sent { case: String, item: u32 },
}

#[derive(Subcommand)]
pub enum LedgerCmd {
    /// The ledger's rows of a period as CSV, for invoicing (one row per disclosure and
    /// category).
    Export {
        /// Start of the period (RFC 3339, inclusive).
        #[arg(long)]
        from: String,
        /// End of the period (RFC 3339, exclusive).
        #[arg(long)]
        to: String,
        /// Only this authority's (or court's) disclosures.
        #[arg(long)]
        authority: Option<String>,
        /// Write to this new file (mode 0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn write_out(out: Option<PathBuf>, body: &[u8]) -> Result<ExitCode, Failure> {
    match out {
        Some(p) => write_new_private(&p, body)?,
        None => std::io::stdout().lock().write_all(body).map_err(out_err)?,
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(cfg: &Config, cmd: NoticeCmd) -> Result<ExitCode, Failure> {
    let client = Client::new(cfg)?;
    let path = |case: &str, item: u32, action: &str| {
        format!("/v1/cases/{}/notices/{item}/{action}", seg(case))
    };
    match cmd {
        NoticeCmd::List { status } => {
            let q = status.map(|s| format!("?status={s}")).unwrap_or_default();
            print_json(&client.json("GET", &format!("/v1/notices{q}"), None)?)
        }
        NoticeCmd::Letter {
            case,
            item,
            format,
            out,
        } => {
            let a = client.call(
                "POST",
                &format!("{}?format={format}", path(&case, item, "letter")),
                None,
            )?;
            write_out(out, &a.body)
        }
        NoticeCmd::Release { case, item } => {
            print_json(&client.json("POST", &path(&case, item, "release"), None)?)
        }
        NoticeCmd::Sent { case, item } => {
            print_json(&client.json("POST", &path(&case, item, "sent"), None)?)
        }
    }
}

pub fn ledger(cfg: &Config, cmd: LedgerCmd) -> Result<ExitCode, Failure> {
    let client = Client::new(cfg)?;
    match cmd {
        LedgerCmd::Export {
            from,
            to,
            authority,
            out,
        } => {
            for (k, v) in [("--from", &from), ("--to", &to)] {
                tdr::model::parse_time(v.trim())
                    .map_err(|e| Failure::BadInput(format!("{k}: {e}")))?;
            }
            let mut q = format!("/v1/ledger?format=csv&from={}&to={}", seg(&from), seg(&to));
            if let Some(a) = authority {
                q.push_str(&format!("&authority={}", seg(&a)));
            }
            let a = client.call("GET", &q, None)?;
            write_out(out, &a.body)
        }
    }
}
