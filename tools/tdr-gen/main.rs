//! `tdr-gen`: the synthetic ISP behind tdr's end-to-end checks, independent of the tdr library.
//!
//! * `generate` simulates RADIUS/PPPoE, DHCP and CGNAT subscribers and writes the log events
//!   tdr imports (`--format events`) together with the ground truth of who held what when;
//! * `queries` turns the truth into lookup queries for `tdr lookup --batch` plus expectations;
//! * `check` judges tdr's answers against the expectations (confusion table, WRONG,
//!   UNJUSTIFIED, FALSE_NOT_FOUND and DROPPED_EVIDENCE counts; exit code 1 if any is
//!   non-zero).

mod calendar;
mod check;
mod convert;
mod emit;
mod error;
mod expect;
mod identity;
mod pool;
mod queries;
mod real;
mod sim;
mod timefmt;
mod truth;

use clap::{Parser, Subcommand};
use error::GenError;
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "tdr-gen",
    version,
    about = "Synthetic ISP logs with ground truth for tdr, and the truth checker"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Simulate an ISP: write DIR/events.jsonl, DIR/truth.jsonl and DIR/meta.json.
    Generate(sim::GenArgs),
    /// Write lookup queries for `tdr lookup --batch` and their expectations from a truth file.
    Queries(queries::QueryArgs),
    /// Compare tdr's answers with the expectations; exit 1 on WRONG, UNJUSTIFIED,
    /// FALSE_NOT_FOUND or DROPPED_EVIDENCE answers.
    Check(check::CheckArgs),
    /// Rewrite an events file as real log formats (RADIUS detail, Kea legal log, Juniper
    /// NAT, Asterisk CDR CSV).
    Convert(convert::ConvertArgs),
}

fn stdout_line(text: &str) -> Result<(), GenError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| GenError::io(std::path::Path::new("<stdout>"), e))
}

fn run(cli: Cli) -> Result<ExitCode, GenError> {
    match cli.cmd {
        Cmd::Generate(args) => {
            let summary = sim::generate(&args)?;
            stdout_line(&summary.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Queries(args) => {
            let summary = queries::queries(&args)?;
            eprintln!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Convert(args) => {
            stdout_line(&convert::convert(&args)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check(args) => {
            let report = check::check(&args)?;
            if args.json {
                stdout_line(&report.to_json().to_string())?;
            } else {
                stdout_line(report.to_text().trim_end())?;
            }
            Ok(if report.failed() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tdr-gen: {e}");
            ExitCode::from(2)
        }
    }
}
