//! The CLI's legal commands: users, the identity register, cases, and the lookups that run
//! inside a case. They call the same service as the HTTP API, authenticate with the same bearer
//! token (from `TDR_TOKEN`), and are audited the same way (channel `cli`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Subcommand;
use serde_json::{json, Value};

use tdr::audit::AuditLog;
use tdr::clock::{Clock, SystemClock};
use tdr::config::Config;
use tdr::identity::IdentityRegister;
use tdr::legal::case::{NewCase, Override};
use tdr::legal::service::{AddrQuery, Caller, LegalError};
use tdr::legal::users::{Role, Users};
use tdr::legal::Purpose;
use tdr::legal::Service;
use tdr::model::parse_time;
use tdr::store::Store;

use crate::{op, out_err, write_human, Failure};

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user; prints their bearer token once (only its hash is stored).
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Revoke a user's token (the user stays listed, for the audit trail).
    Revoke { name: String },
    /// List users, their roles and whether they are revoked.
    List,
}

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// Import a CRM export (CSV with a header row); all rows or none.
    Import { file: PathBuf },
}

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
    /// GDPR art. 15: everything held about one subscriber identifier (identity rows, current
    /// and superseded, and its address bindings), under the data-subject request's reference.
    Extract {
        subscriber: String,
        #[arg(long)]
        reference: String,
    },
}

/// Runs `f` on a legal [`Service`] over a read-only store and this process's own audit log.
fn with_service<T>(
    cfg: &Config,
    f: impl FnOnce(&Service, &Caller) -> Result<T, LegalError>,
) -> Result<T, Failure> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let users = Users::load(&cfg.data_dir).map_err(op("users"))?;
    let token = std::env::var("TDR_TOKEN").ok();
    let caller = users.caller(token.as_deref(), "cli");
    let store = Store::open_read_only(cfg).map_err(op("store"))?;
    let audit = AuditLog::open(&cfg.data_dir, clock.clone()).map_err(op("audit"))?;
    let service = Service::new(
        Arc::new(cfg.clone()),
        Arc::new(store),
        Arc::new(Mutex::new(audit)),
        clock,
    );
    let r = f(&service, &caller);
    service
        .checkpoint()
        .map_err(|e| Failure::Operational(format!("audit: {}", e.detail)))?;
    r.map_err(failure)
}

/// Input problems exit 2, everything else 1; the message carries the stable code.
fn failure(e: LegalError) -> Failure {
    let code = e.code();
    let msg = if code.starts_with("auth.") {
        format!("[{code}] {e} (set TDR_TOKEN to your token from `tdr user add`)")
    } else {
        format!("[{code}] {e}")
    };
    if code.starts_with("audit.") || code.starts_with("store.") || code.ends_with("_failed") {
        Failure::Operational(msg)
    } else {
        Failure::BadInput(msg)
    }
}

fn print_json(v: &Value) -> Result<ExitCode, Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_default()
    )
    .map_err(out_err)?;
    Ok(ExitCode::SUCCESS)
}

/// Appends an administrative entry (user and register changes) before the change is made:
/// who changes who may read what must be provable too.
fn audit_admin(cfg: &Config, action: &str, query: Value) -> Result<(), Failure> {
    let mut audit = AuditLog::open(&cfg.data_dir, Arc::new(SystemClock)).map_err(op("audit"))?;
    audit
        .append(tdr::audit::NewEntry {
            actor: crate::actor(),
            role: "cli:admin".into(),
            action: action.into(),
            query,
            outcome: "requested".into(),
            ..tdr::audit::NewEntry::default()
        })
        .map_err(|e| {
            Failure::Operational(format!(
                "[{}] the audit entry could not be written, so nothing was changed: {e}",
                e.code()
            ))
        })?;
    audit.checkpoint().map_err(op("audit"))
}

pub fn user(cfg: &Config, cmd: UserCmd) -> Result<ExitCode, Failure> {
    let now = SystemClock.now();
    match cmd {
        UserCmd::Add { name, role } => {
            audit_admin(
                cfg,
                "user_add",
                json!({"user": name, "role": role.as_str()}),
            )?;
            let token = Users::add(&cfg.data_dir, &name, role, now)
                .map_err(|e| Failure::BadInput(format!("[{}] {e}", e.code())))?;
            println!("{token}");
            eprintln!(
                "user {name} added with role {}; its token (above) is not stored and cannot be \
                 shown again",
                role.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Revoke { name } => {
            audit_admin(cfg, "user_revoke", json!({"user": name}))?;
            Users::revoke(&cfg.data_dir, &name, now)
                .map_err(|e| Failure::BadInput(format!("[{}] {e}", e.code())))?;
            println!("user {name} revoked");
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::List => {
            let users = Users::load(&cfg.data_dir).map_err(op("users"))?;
            for (name, u) in &users.users {
                println!(
                    "{name}\t{}\t{}",
                    u.role.as_str(),
                    if u.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn identity(cfg: &Config, cmd: IdentityCmd) -> Result<ExitCode, Failure> {
    match cmd {
        IdentityCmd::Import { file } => {
            audit_admin(
                cfg,
                "identity_import",
                json!({"file": file.display().to_string()}),
            )?;
            let reg = IdentityRegister::open(&cfg.data_dir)
                .map_err(|e| Failure::Operational(format!("[{}] {e}", e.code())))?;
            let r = reg
                .import_csv(&file, SystemClock.now())
                .map_err(|e| match e.code() {
                    "identity.rejected_rows" | "identity.bad_file" => {
                        Failure::BadInput(format!("{}: nothing imported: {e}", file.display()))
                    }
                    c => Failure::Operational(format!("[{c}] {e}")),
                })?;
            println!(
                "{}: {} row(s): {} added, {} replaced (old versions kept as history), {} unchanged",
                file.display(),
                r.rows,
                r.added,
                r.replaced,
                r.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
    }
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

pub fn case(cfg: &Config, cmd: CaseCmd) -> Result<ExitCode, Failure> {
    match cmd {
        CaseCmd::Create { file } => {
            let req = read_request(&file)?;
            let c = with_service(cfg, |svc, who| svc.create_case(who, req))?;
            eprintln!(
                "case {} registered; a second legal officer must approve it",
                c.id
            );
            print_json(&tdr::legal::service::case_view(&c))
        }
        CaseCmd::Approve { id } => {
            let c = with_service(cfg, |svc, who| svc.approve(who, &id))?;
            print_json(&tdr::legal::service::case_view(&c))
        }
        CaseCmd::Reject { id, reason } => {
            let c = with_service(cfg, |svc, who| svc.reject(who, &id, &reason))?;
            print_json(&tdr::legal::service::case_view(&c))
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
            let c = with_service(cfg, |svc, who| svc.execute(who, &id, over))?;
            if c.hold.is_some() {
                eprintln!(
                    "case {id}: a protected identity is in the answer; a second legal officer \
                     must release it (tdr case release {id}) before the report"
                );
            }
            print_json(&tdr::legal::service::case_view(&c))
        }
        CaseCmd::Release { id } => {
            let c = with_service(cfg, |svc, who| svc.release(who, &id))?;
            print_json(&tdr::legal::service::case_view(&c))
        }
        CaseCmd::Report { id, format, out } => {
            let (text, _) = with_service(cfg, |svc, who| svc.report(who, &id, &format))?;
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
            let c = with_service(cfg, |svc, who| svc.get_case(who, &id))?;
            print_json(&tdr::legal::service::case_view(&c))
        }
        CaseCmd::List => {
            let v = with_service(cfg, |svc, who| svc.list_cases(who))?;
            print_json(&json!({"cases": v}))
        }
        CaseCmd::Extract {
            subscriber,
            reference,
        } => {
            let v = with_service(cfg, |svc, who| {
                svc.access_extract(who, &subscriber, &reference)
            })?;
            print_json(&v)
        }
    }
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

/// The arguments of `tdr lookup`.
pub struct LookupArgs {
    pub addr: Option<String>,
    pub port: Option<u16>,
    pub at: Option<String>,
    pub batch: Option<PathBuf>,
    pub purpose: Purpose,
    pub case: String,
    pub json: bool,
}

/// `tdr lookup`: inside an approved case's scope (ipred, law enforcement), or under an abuse
/// ticket (security role, pseudonyms). Every query is validated before the first runs.
pub fn lookup(cfg: &Config, a: LookupArgs) -> Result<ExitCode, Failure> {
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
    with_service(cfg, |svc, who| {
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
pub fn cdrs(
    cfg: &Config,
    number: &str,
    from: &str,
    to: &str,
    case: &str,
    as_json: bool,
) -> Result<ExitCode, Failure> {
    let f = parse_time(from.trim()).map_err(|e| Failure::BadInput(format!("--from: {e}")))?;
    let t = parse_time(to.trim()).map_err(|e| Failure::BadInput(format!("--to: {e}")))?;
    if t < f {
        return Err(Failure::BadInput("--to is before --from".into()));
    }
    let given = json!({"number": number, "from": from, "to": to});
    let v = with_service(cfg, |svc, who| {
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
