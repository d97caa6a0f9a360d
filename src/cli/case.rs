//! `tdr case`: legal requests — register, approve, reject, execute, release, report, show,
//! list, and the GDPR access extract — on the legal service, as the caller `TDR_TOKEN` names.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;
use tdr::clock::Clock;
use tdr::config::Config;
use tdr::legal::case::{NewCase, Override};
use tdr::legal::service::case_view;

use super::{out_err, print_json, with_service, Failure};

#[derive(Subcommand)]
pub enum CaseCmd {
    /// Register a case from a JSON request (see README "Cases"); prints the case.
    Create {
        /// The request as JSON (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Approve a registered case (four-eyes: not its creator).
    Approve { id: String },
    /// Reject a registered case.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Run every scope item of an approved case and join identity.
    Execute {
        id: String,
        /// IPRED only: also disclose these identity fields (personal_number, customer_id);
        /// needs --reason and is audited.
        #[arg(long, value_delimiter = ',')]
        override_fields: Vec<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Second approval of an answer held for a protected identity.
    Release { id: String },
    /// The disclosure report.
    Report {
        id: String,
        #[arg(long, default_value = "json", value_parser = ["json", "xml", "html"])]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// One case with its steps and results.
    Show { id: String },
    /// Every case, without scope contents or results.
    List,
    /// GDPR art. 15: everything held about the subscriber of an approved `access` case
    /// (identity rows, current and superseded, and its address bindings).
    Extract { id: String },
}

fn read_request(file: &Path) -> Result<NewCase, Failure> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Failure::BadInput(format!("standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", file.display())))?
    };
    serde_json::from_str(&text)
        .map_err(|e| Failure::BadInput(format!("{}: not a case request: {e}", file.display())))
}

pub fn run(cfg: &Config, clock: &Arc<dyn Clock>, cmd: CaseCmd) -> Result<ExitCode, Failure> {
    match cmd {
        CaseCmd::Create { file } => {
            let req = read_request(&file)?;
            let c = with_service(cfg, clock, |svc, who| svc.create_case(who, req))?;
            eprintln!(
                "case {} registered; a second legal officer must approve it",
                c.id
            );
            print_json(&case_view(&c))
        }
        CaseCmd::Approve { id } => {
            let c = with_service(cfg, clock, |svc, who| svc.approve(who, &id))?;
            print_json(&case_view(&c))
        }
        CaseCmd::Reject { id, reason } => {
            let c = with_service(cfg, clock, |svc, who| svc.reject(who, &id, &reason))?;
            print_json(&case_view(&c))
        }
        CaseCmd::Execute {
            id,
            override_fields,
            reason,
        } => {
            let over = match (override_fields.is_empty(), reason) {
                (true, None) => None,
                (true, Some(_)) => {
                    return Err(Failure::BadInput(
                        "--reason belongs to --override-fields".into(),
                    ))
                }
                (false, r) => Some(Override {
                    fields: override_fields,
                    reason: r.unwrap_or_default(),
                }),
            };
            let c = with_service(cfg, clock, |svc, who| svc.execute(who, &id, over))?;
            if c.hold.is_some() {
                eprintln!(
                    "case {id}: a protected identity is in the answer; a second legal officer \
                     must release it (tdr case release {id}) before the report"
                );
            }
            print_json(&case_view(&c))
        }
        CaseCmd::Release { id } => {
            let c = with_service(cfg, clock, |svc, who| svc.release(who, &id))?;
            print_json(&case_view(&c))
        }
        CaseCmd::Report { id, format, out } => {
            let (text, _) = with_service(cfg, clock, |svc, who| svc.report(who, &id, &format))?;
            match out {
                Some(p) => std::fs::write(&p, text.as_bytes()).map_err(|e| {
                    Failure::Operational(format!("cannot write {}: {e}", p.display()))
                })?,
                None => std::io::stdout()
                    .lock()
                    .write_all(text.as_bytes())
                    .map_err(out_err)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Show { id } => {
            let c = with_service(cfg, clock, |svc, who| svc.get_case(who, &id))?;
            print_json(&case_view(&c))
        }
        CaseCmd::List => {
            let v = with_service(cfg, clock, |svc, who| svc.list_cases(who))?;
            print_json(&json!({"cases": v}))
        }
        CaseCmd::Extract { id } => {
            let v = with_service(cfg, clock, |svc, who| svc.access_extract(who, &id))?;
            print_json(&v)
        }
    }
}
