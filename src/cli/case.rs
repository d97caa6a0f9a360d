//! `tdr case`: legal requests — register, approve, reject, execute, release, report, show,
//! list, the GDPR access extract and its letter, and lifting a restriction — on the legal
//! service, as the caller `TDR_TOKEN` names.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{json, Value};
use tdr::config::Config;
use tdr::legal::case::{NewCase, Override};

use super::client::{seg, Client};
use super::{out_err, print_json, Failure};

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
    /// Lift an executed restriction (GDPR art. 18(3)), four eyes: the first legal officer
    /// asks, a second person lifts it.
    Lift {
        id: String,
        /// Why the restriction ends (the dispute examined, its outcome).
        #[arg(long)]
        reason: String,
    },
    /// The disclosure report.
    Report {
        id: String,
        #[arg(long, default_value = "json", value_parser = ["json", "xml", "html", "pdf"])]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The delivery pack (a ZIP): the report as JSON, PDF/A, HTML and ETSI XML, the signed
    /// audit head covering it and how to verify it offline.
    Pack {
        id: String,
        /// The new file to write (0600; never over a file or through a symbolic link).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// One case with its steps and results.
    Show { id: String },
    /// Every case, without scope contents or results, each with its due day and status.
    List {
        /// Only what is due: `overdue`, `soon` (overdue or due within `legal.due_soon`, the
        /// default) or `open` (every case someone still has to act on), the one due first
        /// first, as a table.
        #[arg(long, num_args = 0..=1, default_missing_value = "soon",
              value_parser = ["overdue", "soon", "open"])]
        due: Option<String>,
        /// With --due: print JSON instead of the table.
        #[arg(long, requires = "due")]
        json: bool,
    },
    /// Register a preservation request for the items of a case whose data leaves retention
    /// before the case is due (linked to it; a second officer approves it).
    Preserve { id: String },
    /// GDPR art. 15: everything held about the subscriber an approved `access` case names
    /// (identity rows, current and superseded, and its address bindings); held for a
    /// protected identity until a second officer releases it.
    Extract { id: String },
    /// The answer to an access case: the letter to the subscriber (registerutdrag, in
    /// Swedish) made from its extract, as PDF/A or HTML.
    Letter {
        id: String,
        #[arg(long, default_value = "pdf", value_parser = ["pdf", "html"])]
        format: String,
        /// Write to this new file (0600; never over a file) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn read_request(file: &Path) -> Result<Value, Failure> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Failure::BadInput(format!("standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", file.display())))?
    };
    // Checked here too, so a mistake is named before anything is sent.
    serde_json::from_str::<NewCase>(&text)
        .map_err(|e| Failure::BadInput(format!("{}: not a case request: {e}", file.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::BadInput(format!("{}: not a case request: {e}", file.display())))
}

pub fn run(cfg: &Config, cmd: CaseCmd) -> Result<ExitCode, Failure> {
    let client = Client::new(cfg)?;
    let case = |id: &str, action: &str| format!("/v1/cases/{}{action}", seg(id));
    match cmd {
        CaseCmd::Create { file } => {
            let req = read_request(&file)?;
            let c = client.json("POST", "/v1/cases", Some(&req))?;
            eprintln!(
                "case {} registered; a second legal officer must approve it",
                c["id"].as_str().unwrap_or("?")
            );
            print_json(&c)
        }
        CaseCmd::Approve { id } => {
            print_json(&client.json("POST", &case(&id, "/approve"), None)?)
        }
        CaseCmd::Reject { id, reason } => print_json(&client.json(
            "POST",
            &case(&id, "/reject"),
            Some(&json!({"reason": reason})),
        )?),
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
            let c = client.json(
                "POST",
                &case(&id, "/execute"),
                Some(&json!({"override": over})),
            )?;
            if !c["hold"].is_null() {
                eprintln!(
                    "case {id}: a protected identity is in the answer; a second legal officer \
                     must release it (tdr case release {id}) before the report"
                );
            }
            print_json(&c)
        }
        CaseCmd::Release { id } => {
            print_json(&client.json("POST", &case(&id, "/release"), None)?)
        }
        CaseCmd::Lift { id, reason } => {
            let c = client.json(
                "POST",
                &case(&id, "/lift"),
                Some(&json!({"reason": reason})),
            )?;
            if c["steps"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["action"] == "lifted"))
            {
                eprintln!("case {id}: the restriction is lifted");
            } else {
                eprintln!(
                    "case {id}: lifting asked; the restriction holds until another legal \
                     officer lifts it too (tdr case lift {id} --reason ...)"
                );
            }
            print_json(&c)
        }
        CaseCmd::Report { id, format, out } => {
            let a = client.call("GET", &case(&id, &format!("/report?format={format}")), None)?;
            match out {
                Some(p) => write_new_private(&p, &a.body)?,
                None => std::io::stdout()
                    .lock()
                    .write_all(&a.body)
                    .map_err(out_err)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Pack { id, out } => {
            let a = client.call("GET", &case(&id, "/pack"), None)?;
            write_new_private(&out, &a.body)?;
            eprintln!("delivery pack of case {id} written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Show { id } => print_json(&client.json("GET", &case(&id, ""), None)?),
        CaseCmd::List { due: None, .. } => print_json(&client.json("GET", "/v1/cases", None)?),
        CaseCmd::List {
            due: Some(due),
            json,
        } => {
            let v = client.json("GET", &format!("/v1/cases?due={due}"), None)?;
            if json {
                return print_json(&v);
            }
            let cases = v["cases"].as_array().cloned().unwrap_or_default();
            let mut out = String::new();
            out.push_str(&due_table(&cases));
            std::io::stdout()
                .lock()
                .write_all(out.as_bytes())
                .map_err(out_err)?;
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Preserve { id } => {
            let c = client.json("POST", &case(&id, "/preserve"), None)?;
            eprintln!(
                "registered preservation {} for case {id}; another legal officer approves it \
                 (tdr case approve {}) before it holds anything",
                c["id"].as_str().unwrap_or("?"),
                c["id"].as_str().unwrap_or("?")
            );
            print_json(&c)
        }
        CaseCmd::Letter { id, format, out } => {
            let a = client.call("GET", &case(&id, &format!("/letter?format={format}")), None)?;
            match out {
                Some(p) => {
                    write_new_private(&p, &a.body)?;
                    eprintln!("letter of case {id} written to {}", p.display());
                }
                None => std::io::stdout()
                    .lock()
                    .write_all(&a.body)
                    .map_err(out_err)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Extract { id } => print_json(&client.json(
            "POST",
            "/v1/subscribers/access-extract",
            Some(&json!({"case": id})),
        )?),
    }
}

/// The cases of `case list --due` as a table: due day, status, case, type, authority and its
/// number, and a mark for data at risk of leaving retention; then a count.
fn due_table(cases: &[Value]) -> String {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("-").to_string();
    let mut out = format!(
        "{:<10}  {:<9}  {:<12}  {:<15}  {:<10}  {}\n",
        "DUE", "STATUS", "CASE", "TYPE", "STATE", "AUTHORITY / NUMBER"
    );
    for c in cases {
        out.push_str(&format!(
            "{:<10}  {:<9}  {:<12}  {:<15}  {:<10}  {} / {}{}\n",
            s(c, "due_day"),
            s(c, "due_status").replace("due_soon", "soon"),
            s(c, "id"),
            s(c, "request_type"),
            s(c, "state"),
            s(c, "authority"),
            s(c, "case_number"),
            if c.get("retention_risk").is_some() {
                "  [data leaves retention before it is due: tdr case preserve]"
            } else {
                ""
            }
        ));
    }
    let overdue = cases
        .iter()
        .filter(|c| c["due_status"] == "overdue")
        .count();
    out.push_str(&format!("{} cases, {overdue} overdue\n", cases.len()));
    out
}

/// Writes a report that names people into a new file only its owner can read: refused if
/// anything (a file, a symbolic link) is already at `path`.
pub(super) fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let cannot = |e: std::io::Error| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (it exists: a report is never written over a file; choose a new name)"
        } else {
            ""
        };
        Failure::Operational(format!("cannot write {}: {e}{hint}", path.display()))
    };
    let mut f = tdr::fsmode::create_new_private(path).map_err(cannot)?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(cannot)
}
