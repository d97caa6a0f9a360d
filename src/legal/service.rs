//! The disclosure service: every operation a legal officer, security analyst or auditor can
//! ask for, the same for the HTTP API and the CLI. Each one checks the role against the policy
//! matrix, the case's state and scope, writes its audit entry, and only then returns data;
//! a refusal is audited too (invariant 1, fail-closed: no audit entry, no data).

use std::net::IpAddr;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use super::auth::{AuthError, Caller, Principal};
use super::case::{Case, CaseError, NewCase, Override, Parsed, State, Target, OVERRIDE_FIELDS};
use super::files::RegisterError;
use super::policy::Op;
use super::register::{self, CaseStoreError};
use super::Purpose;
use crate::audit::{AuditLog, NewEntry};
use crate::auditor::{AuditFailure, Auditor};
use crate::config::Config;
use crate::identity::{IdentityError, IdentityRecord, IdentityRegister};
use crate::model::{fmt_time, UnixSecs};
use crate::report::{self, DisclosedIdentity, RecordStatus, Report, ReportItem};
use crate::store::lookup::{Answer, Attributor, Scope, Status};
use crate::store::{Store, StoreError};

/// Where entries go: the daemon's group-committing [`Auditor`] or a CLI's own [`AuditLog`].
pub trait AuditSink {
    fn append(&mut self, e: NewEntry) -> Result<u64, AuditFailure>;
    fn pseudonym(&self, subscriber: &str) -> String;
}

impl AuditSink for AuditLog {
    fn append(&mut self, e: NewEntry) -> Result<u64, AuditFailure> {
        AuditLog::append(self, e)
            .map(|a| a.seq)
            .map_err(|e| AuditFailure {
                code: e.code(),
                detail: e.to_string(),
            })
    }
    fn pseudonym(&self, subscriber: &str) -> String {
        AuditLog::pseudonym(self, subscriber)
    }
}

impl AuditSink for Auditor {
    fn append(&mut self, e: NewEntry) -> Result<u64, AuditFailure> {
        self.append_blocking(e).map(|a| a.seq)
    }
    fn pseudonym(&self, subscriber: &str) -> String {
        Auditor::pseudonym(self, subscriber)
    }
}

/// Why an operation gave no data. `code()` is stable; the text names the problem and holds
/// no personal data.
#[derive(Debug, thiserror::Error)]
pub enum LegalError {
    #[error("{0}")]
    Auth(AuthError),
    #[error("the {role} role may not {op}")]
    Forbidden {
        role: &'static str,
        op: &'static str,
    },
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error("the audit entry could not be written, so nothing is returned: {}", .0.detail)]
    Audit(AuditFailure),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("{1}")]
    BadRequest(&'static str, String),
}

impl From<CaseStoreError> for LegalError {
    fn from(e: CaseStoreError) -> Self {
        match e {
            CaseStoreError::Case(c) => LegalError::Case(c),
            CaseStoreError::Register(r) => LegalError::Register(r),
        }
    }
}

impl LegalError {
    pub fn code(&self) -> &'static str {
        match self {
            LegalError::Auth(a) => a.code(),
            LegalError::Forbidden { .. } => "auth.forbidden",
            LegalError::Case(c) => c.code(),
            LegalError::Register(r) => r.code(),
            LegalError::Audit(a) => a.code,
            LegalError::Store(s) => s.code(),
            LegalError::Identity(i) => i.code(),
            LegalError::BadRequest(code, _) => code,
        }
    }
}

/// Everything an operation needs.
pub struct Env<'a> {
    pub cfg: &'a Config,
    pub store: &'a Store,
    pub audit: &'a mut dyn AuditSink,
    pub now: UnixSecs,
}

/// One address lookup as asked (kept verbatim for the audit entry) and as parsed.
#[derive(Debug, Clone)]
pub struct AddrQuery {
    pub given: Value,
    pub ip: IpAddr,
    pub port: Option<u16>,
    pub at: UnixSecs,
}

impl AddrQuery {
    /// Parses an address query as a request gives it; the error names the bad field.
    pub fn parse(addr: &str, port: Option<u16>, at: &str) -> Result<AddrQuery, String> {
        let ip = addr
            .trim()
            .parse()
            .map_err(|_| format!("addr {addr:?} is not an IPv4 or IPv6 address"))?;
        let t = crate::model::parse_time(at.trim()).map_err(|e| format!("at: {e}"))?;
        Ok(AddrQuery {
            given: json!({"addr": addr, "port": port, "at": at}),
            ip,
            port,
            at: t,
        })
    }
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

impl Env<'_> {
    fn data_dir(&self) -> &Path {
        &self.cfg.data_dir
    }

    fn entry(&self, caller: &Caller, op: Op, case: Option<&str>, query: Value) -> NewEntry {
        let (actor, role) = match &caller.who {
            Ok(p) => (p.name.clone(), p.role.as_str().to_string()),
            Err(_) => (
                caller
                    .claimed
                    .clone()
                    .unwrap_or_else(|| "unauthenticated".to_string()),
                "none".to_string(),
            ),
        };
        NewEntry {
            actor,
            role: format!("{}:{role}", caller.channel),
            action: op.as_str().into(),
            case: case.map(str::to_string),
            legal_basis: None,
            query,
            outcome: "ok".into(),
            result_count: 0,
            result_digest: None,
        }
    }

    /// Audits a refusal (best effort: the request is refused whether or not this lands).
    fn refuse(
        &mut self,
        caller: &Caller,
        op: Op,
        case: Option<&str>,
        query: Value,
        err: LegalError,
    ) -> LegalError {
        let mut e = self.entry(caller, op, case, query);
        e.outcome = format!("refused:{}", err.code());
        if let Err(f) = self.audit.append(e) {
            tracing::error!(
                code = f.code,
                "the audit entry of a refusal could not be written"
            );
        }
        err
    }

    /// Authenticates and checks the role; a refusal is audited.
    fn admit(
        &mut self,
        caller: &Caller,
        op: Op,
        case: Option<&str>,
        query: &Value,
    ) -> Result<Principal, LegalError> {
        let who = match &caller.who {
            Ok(p) => p.clone(),
            Err(a) => {
                return Err(self.refuse(caller, op, case, query.clone(), LegalError::Auth(*a)))
            }
        };
        if !op.allows(who.role) {
            let err = LegalError::Forbidden {
                role: who.role.as_str(),
                op: op.as_str(),
            };
            return Err(self.refuse(caller, op, case, query.clone(), err));
        }
        Ok(who)
    }

    /// Admits the caller, reads the case and applies `check`; any refusal is audited.
    fn load_case(
        &mut self,
        caller: &Caller,
        op: Op,
        id: &str,
        query: &Value,
        check: impl FnOnce(&Case, chrono::NaiveDate) -> Result<(), CaseError>,
    ) -> Result<(Principal, Case), LegalError> {
        let who = self.admit(caller, op, Some(id), query)?;
        let today = self.today();
        let case = register::get(self.data_dir(), id)
            .map_err(LegalError::from)
            .and_then(|c| check(&c, today).map(|()| c).map_err(LegalError::from));
        match case {
            Ok(c) => Ok((who, c)),
            Err(e) => Err(self.refuse(caller, op, Some(id), query.clone(), e)),
        }
    }

    fn commit(&mut self, e: NewEntry) -> Result<u64, LegalError> {
        self.audit.append(e).map_err(LegalError::Audit)
    }

    fn today(&self) -> chrono::NaiveDate {
        chrono::DateTime::from_timestamp(self.now, 0)
            .map(|d| d.with_timezone(&chrono_tz::Europe::Stockholm).date_naive())
            .unwrap_or_default()
    }

    // ---- cases ---------------------------------------------------------------------------

    pub fn create_case(&mut self, caller: &Caller, req: NewCase) -> Result<Case, LegalError> {
        let query = json!({"request_type": req.request_type, "authority": req.authority,
                           "case_number": req.case_number, "items": req.scope.len()});
        let who = self.admit(caller, Op::CaseCreate, None, &query)?;
        if let Err(problems) = req.validate() {
            let err = LegalError::Case(CaseError::Invalid(problems));
            return Err(self.refuse(caller, Op::CaseCreate, None, query, err));
        }
        // Audited before anything is stored: a case nobody can account for must not exist.
        let mut pending = self.entry(caller, Op::CaseCreate, None, query.clone());
        pending.outcome = "requested".into();
        self.commit(pending)?;
        let year = chrono::DateTime::from_timestamp(self.now, 0)
            .map(|d| chrono::Datelike::year(&d))
            .unwrap_or(1970);
        let now = self.now;
        let case = register::create(self.data_dir(), year, |id| {
            Case::registered(id, req, &who.name, now)
        })?;
        let mut e = self.entry(caller, Op::CaseCreate, Some(&case.id), query);
        e.legal_basis = Some(case.request_type().as_str().into());
        self.commit(e)?;
        Ok(case)
    }

    /// A case with its results: a read of disclosed data, so audited.
    pub fn get_case(&mut self, caller: &Caller, id: &str) -> Result<Case, LegalError> {
        let (_, case) = self.load_case(caller, Op::CaseGet, id, &Value::Null, |_, _| Ok(()))?;
        let mut e = self.entry(caller, Op::CaseGet, Some(id), Value::Null);
        e.result_count = case.results.len() as u64;
        self.commit(e)?;
        Ok(case)
    }

    /// Every case without its results.
    pub fn list_cases(&mut self, caller: &Caller) -> Result<Vec<Value>, LegalError> {
        self.admit(caller, Op::CaseList, None, &Value::Null)?;
        let cases = register::list(self.data_dir())?;
        let out: Vec<Value> = cases.iter().map(summary).collect();
        let mut e = self.entry(caller, Op::CaseList, None, Value::Null);
        e.result_count = out.len() as u64;
        self.commit(e)?;
        Ok(out)
    }

    fn transition(
        &mut self,
        caller: &Caller,
        op: Op,
        id: &str,
        query: Value,
        f: impl FnOnce(&mut Case, &str) -> Result<(), CaseError>,
    ) -> Result<Case, LegalError> {
        let who = self.admit(caller, op, Some(id), &query)?;
        // The entry goes first: a step nobody can account for must not exist.
        let mut pending = self.entry(caller, op, Some(id), query.clone());
        pending.outcome = "requested".into();
        self.commit(pending)?;
        match register::update(self.data_dir(), id, |c| f(c, &who.name)) {
            Ok((case, ())) => {
                let mut e = self.entry(caller, op, Some(id), query);
                e.legal_basis = Some(case.request_type().as_str().into());
                self.commit(e)?;
                Ok(case)
            }
            Err(e) => Err(self.refuse(caller, op, Some(id), query, e.into())),
        }
    }

    pub fn approve(&mut self, caller: &Caller, id: &str) -> Result<Case, LegalError> {
        let now = self.now;
        self.transition(caller, Op::CaseApprove, id, Value::Null, |c, by| {
            c.approve(by, now)
        })
    }

    pub fn reject(&mut self, caller: &Caller, id: &str, reason: &str) -> Result<Case, LegalError> {
        if reason.trim().is_empty() {
            return Err(LegalError::BadRequest(
                "request.invalid",
                "a rejection gives its reason".into(),
            ));
        }
        let now = self.now;
        let reason = reason.to_string();
        self.transition(
            caller,
            Op::CaseReject,
            id,
            json!({"reason": reason}),
            |c, by| c.reject(by, now, reason),
        )
    }

    pub fn release(&mut self, caller: &Caller, id: &str) -> Result<Case, LegalError> {
        let now = self.now;
        self.transition(caller, Op::CaseRelease, id, Value::Null, |c, by| {
            c.release(by, now)
        })
    }

    /// Runs every scope item of an approved case, joins identity where the request type may
    /// see it, and stores the answers. Each item is audited before it is kept.
    pub fn execute(
        &mut self,
        caller: &Caller,
        id: &str,
        over: Option<Override>,
    ) -> Result<Case, LegalError> {
        let query = json!({"override": over});
        let (who, case) = self.load_case(caller, Op::CaseExecute, id, &query, |c, today| {
            c.check_runnable(today)?;
            if c.state != State::Approved {
                return Err(CaseError::WrongState(c.state.as_str(), "approved"));
            }
            check_override(c.request_type(), over.as_ref())
        })?;
        let kind = case.request_type();
        if let Some(o) = &over {
            let mut e = self.entry(caller, Op::CaseExecute, Some(id), json!({"override": o}));
            e.action = "disclosure_override".into();
            e.legal_basis = Some(kind.as_str().into());
            self.commit(e)?;
        }
        let identity = if kind.purpose().reveals_subscriber_id() {
            Some(open_identity(self.data_dir())?)
        } else {
            None
        };
        let mut results = Vec::new();
        let mut seqs = Vec::new();
        let mut held = false;
        for (i, item) in case.request.scope.iter().enumerate() {
            let parsed = item
                .parse()
                .map_err(|r| LegalError::BadRequest("case.invalid", r))?;
            let mut r = self.answer_item(kind, &parsed, identity.as_ref(), over.as_ref())?;
            r.number = i as u32 + 1;
            r.asked = serde_json::to_value(item).unwrap_or(Value::Null);
            held |= r.identity.as_ref().is_some_and(|d| d.protected_identity);
            let text = serde_json::to_string(&r).unwrap_or_default();
            let mut e = self.entry(caller, Op::CaseExecute, Some(id), r.asked.clone());
            e.action = "case_item".into();
            e.legal_basis = Some(kind.as_str().into());
            e.outcome = r.status.clone();
            e.result_count = r.evidence.len() as u64;
            e.result_digest = Some(sha_hex(text.as_bytes()));
            seqs.push(self.commit(e)?);
            results.push(r);
        }
        let now = self.now;
        let (case, ()) = register::update(self.data_dir(), id, |c| {
            if c.state != State::Approved {
                return Err(CaseError::WrongState(c.state.as_str(), "approved"));
            }
            c.override_fields = over;
            c.executed(&who.name, now, results, seqs, held);
            Ok(())
        })?;
        let mut e = self.entry(caller, Op::CaseExecute, Some(id), query);
        e.legal_basis = Some(kind.as_str().into());
        e.result_count = case.results.len() as u64;
        if held {
            e.outcome = "held:protected_identity".into();
        }
        self.commit(e)?;
        Ok(case)
    }

    /// One scope item's answer, with identity joined as the request type allows.
    fn answer_item(
        &mut self,
        kind: super::case::RequestType,
        parsed: &Parsed,
        identity: Option<&IdentityRegister>,
        over: Option<&Override>,
    ) -> Result<ReportItem, LegalError> {
        let purpose = kind.purpose();
        let earliest = match parsed {
            Parsed::Address(Target::Point { at, .. }) => *at,
            Parsed::Address(Target::Window { from, .. }) | Parsed::Calls { from, .. } => *from,
        };
        let scope = self.scope_for(purpose, earliest);
        let mut item = ReportItem {
            number: 0,
            asked: Value::Null,
            at_utc: None,
            window: None,
            status: String::new(),
            record_status: RecordStatus::NoData,
            subscriber: None,
            identity: None,
            evidence: Vec::new(),
            warnings: Vec::new(),
        };
        match parsed {
            Parsed::Address(Target::Point { ip, port, at }) => {
                item.at_utc = Some(*at);
                let answer = self.attribute(*ip, *port, *at, &scope)?;
                self.fill(&mut item, answer, purpose, *at, identity, over)?;
            }
            Parsed::Address(Target::Window { ip, port, from, to }) => {
                item.window = Some((*from, *to));
                let (answer, held_at) = self.attribute_window(*ip, *port, *from, *to, &scope)?;
                // Identity is joined at a moment the subscriber is known to have held it.
                self.fill(
                    &mut item,
                    answer,
                    purpose,
                    held_at.unwrap_or(*from),
                    identity,
                    over,
                )?;
                if item.subscriber.is_some() {
                    item.warnings.push(
                        "a window: no other subscriber held the address during it; the evidence \
                         shows when this one did"
                            .into(),
                    );
                }
            }
            Parsed::Calls { number, from, to } => {
                item.window = Some((*from, *to));
                let a = crate::store::cdr::answer(self.store, &scope, number, *from, *to)?;
                item.status = a.status.to_string();
                item.evidence = render_calls(number, &a.calls, |n| {
                    if purpose.reveals_subscriber_id() {
                        n.to_string()
                    } else {
                        self.audit.pseudonym(n)
                    }
                });
                item.record_status = if a.calls.is_empty() {
                    RecordStatus::NoData
                } else {
                    RecordStatus::Complete
                };
            }
        }
        Ok(item)
    }

    /// The read scope of a purpose, with the windows of active preservation holds kept
    /// readable for law enforcement.
    /// The read scope of a purpose for times from `earliest` on. Active preservation holds are
    /// read (every case file) only when law enforcement asks for a time some class no longer
    /// retains, so ordinary lookups do not grow slower with the number of cases.
    fn scope_for(&self, purpose: Purpose, earliest: UnixSecs) -> Scope {
        let mut scope = Scope::new(self.cfg, purpose.readable_classes(), self.now);
        let past_some_retention = scope.allowed.iter().any(|c| !scope.retained(*c, earliest));
        if purpose == Purpose::LawEnforcement && past_some_retention {
            scope.held = super::holds(self.data_dir(), self.now).unwrap_or_default();
        }
        scope
    }

    fn attribute(
        &self,
        ip: IpAddr,
        port: Option<u16>,
        at: UnixSecs,
        scope: &Scope,
    ) -> Result<Answer, LegalError> {
        Ok(Attributor {
            store: self.store,
            cfg: self.cfg,
        }
        .lookup(ip, port, at, scope)?)
    }

    /// A window: answered at its start, its end and at every change of holder inside it; one
    /// subscriber throughout is `found`, anything else is the weakest status seen.
    fn attribute_window(
        &self,
        ip: IpAddr,
        port: Option<u16>,
        from: UnixSecs,
        to: UnixSecs,
        scope: &Scope,
    ) -> Result<(Answer, Option<UnixSecs>), LegalError> {
        let a = Attributor {
            store: self.store,
            cfg: self.cfg,
        };
        let mut times = a.boundaries(ip, port, from, to)?;
        times.push(from);
        times.push(to);
        times.retain(|t| (from..=to).contains(t));
        times.sort_unstable();
        times.dedup();
        let mut answers = Vec::new();
        let mut held_at = None;
        for t in times {
            let answer = a.lookup(ip, port, t, scope)?;
            if answer.status == Status::Found && held_at.is_none() {
                held_at = Some(t);
            }
            answers.push(answer);
        }
        Ok((combine(answers), held_at))
    }

    fn fill(
        &mut self,
        item: &mut ReportItem,
        answer: Answer,
        purpose: Purpose,
        at: UnixSecs,
        identity: Option<&IdentityRegister>,
        over: Option<&Override>,
    ) -> Result<(), LegalError> {
        item.status = answer.status.as_str().to_string();
        let single = {
            let mut s: Vec<&str> = answer
                .matches
                .iter()
                .map(|m| m.subscriber.as_str())
                .collect();
            s.sort_unstable();
            s.dedup();
            (s.len() == 1).then(|| s[0].to_string())
        };
        // Evidence names a subscriber only when the answer does: the candidates of an
        // ambiguous or unconfirmed answer are numbered, never identified.
        let mut candidates: Vec<&str> = Vec::new();
        for m in &answer.matches {
            let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
            v["subscriber"] = Value::String(if answer.status != Status::Found {
                let n = match candidates.iter().position(|c| *c == m.subscriber) {
                    Some(i) => i + 1,
                    None => {
                        candidates.push(&m.subscriber);
                        candidates.len()
                    }
                };
                format!("candidate {n}")
            } else if purpose.reveals_subscriber_id() {
                m.subscriber.clone()
            } else {
                self.audit.pseudonym(&m.subscriber)
            });
            item.evidence.push(v);
        }
        // What the logs show without a holder: a port block whose inside address nobody is
        // known to have held, a lease database's free state.
        for b in &answer.nat_blocks {
            item.evidence
                .push(json!({"via": b, "inside_holder": "unknown to tdr"}));
        }
        for f in &answer.free_states {
            item.evidence
                .push(json!({"target": f.target, "lease_state": f.state,
                                      "start": f.from, "end": f.until, "source": f.source}));
        }
        match answer.status {
            Status::Found => {
                let sub = single.expect("found has one subscriber");
                if !purpose.reveals_subscriber_id() {
                    item.subscriber = Some(self.audit.pseudonym(&sub));
                    item.record_status = RecordStatus::Complete;
                    return Ok(());
                }
                let rec = match identity {
                    Some(reg) => reg.at(&sub, at)?,
                    None => None,
                };
                item.subscriber = Some(sub);
                match rec {
                    Some(r) => {
                        if r.protected_identity {
                            item.warnings.push(
                                "protected identity (skyddad identitet): held for a second \
                                 approval before release"
                                    .into(),
                            );
                        }
                        item.identity = Some(disclosed(&r, purpose, over));
                        item.record_status = RecordStatus::Complete;
                    }
                    None => {
                        item.warnings.push(
                            "no identity register entry is valid at that time: the subscriber \
                             identifier is known, the customer is not"
                                .into(),
                        );
                        item.record_status = RecordStatus::Partial;
                    }
                }
            }
            Status::EndInferred => {
                item.warnings.push(
                    "the logs do not confirm the binding at that time (its end was inferred): \
                     no identity is disclosed on this alone"
                        .into(),
                );
                item.record_status = RecordStatus::Partial;
            }
            Status::Ambiguous => {
                item.warnings.push(
                    "more than one subscriber within the clock tolerance: no name may be given"
                        .into(),
                );
                item.record_status = RecordStatus::Partial;
            }
            Status::InsideUnknown => {
                item.warnings.push(
                    "the CGNAT log shows the port in use by an inside address whose holder is \
                     not in the logs tdr holds: this is not \"no subscriber\""
                        .into(),
                );
                item.record_status = RecordStatus::Partial;
            }
            _ => item.record_status = RecordStatus::NoData,
        }
        Ok(())
    }

    /// The report: built and audited once, when first asked for (the case becomes
    /// `disclosed`); later copies are the same document, each audited.
    pub fn report(
        &mut self,
        caller: &Caller,
        id: &str,
        format: &str,
        csp_id: &str,
    ) -> Result<(String, &'static str), LegalError> {
        let query = json!({"format": format});
        let (_, case) =
            self.load_case(caller, Op::CaseReport, id, &query, |c, _| match c.state {
                State::Executed if c.hold.is_some() => Err(CaseError::Held),
                State::Executed | State::Disclosed => Ok(()),
                s => Err(CaseError::WrongState(s.as_str(), "executed")),
            })?;
        if !matches!(format, "json" | "xml" | "html") {
            let err =
                LegalError::BadRequest("request.invalid", "format is json, xml or html".into());
            return Err(self.refuse(caller, Op::CaseReport, Some(id), query, err));
        }
        let kind = case.request_type();
        let (json_text, report_seq) = match (&case.report_json, case.report_seq) {
            (Some(j), Some(seq)) => {
                let mut e = self.entry(caller, Op::CaseReport, Some(id), query);
                e.action = "case_report_copy".into();
                e.legal_basis = Some(kind.as_str().into());
                e.result_count = case.results.len() as u64;
                e.result_digest = Some(sha_hex(j.as_bytes()));
                self.commit(e)?;
                (j.clone(), seq)
            }
            _ => {
                let r = Report {
                    csp_id: csp_id.to_string(),
                    request_id: case.id.clone(),
                    generated_at: self.now,
                    case: case_info(&case),
                    items: case.results.clone(),
                    approvals: case.approvals(),
                    audit_seqs: case.audit_seqs.clone(),
                };
                let text = report::json::render(&r);
                let mut e = self.entry(caller, Op::CaseReport, Some(id), query);
                e.legal_basis = Some(kind.as_str().into());
                e.outcome = "disclosed".into();
                e.result_count = r.items.len() as u64;
                e.result_digest = Some(sha_hex(text.as_bytes()));
                let seq = self.commit(e)?;
                let now = self.now;
                let stored = text.clone();
                register::update(self.data_dir(), id, |c| {
                    if c.report_json.is_none() {
                        c.report_json = Some(stored);
                        c.report_seq = Some(seq);
                        c.disclosed_at = Some(now);
                        c.state = State::Disclosed;
                    }
                    Ok(())
                })?;
                (text, seq)
            }
        };
        let sha = sha_hex(json_text.as_bytes());
        match format {
            "json" => Ok((json_text, "application/json")),
            _ => {
                let mut r: Report = serde_json::from_str(&json_text).map_err(|e| {
                    LegalError::Register(RegisterError::Read(format!("stored report: {e}")))
                })?;
                r.audit_seqs.push(report_seq);
                if format == "xml" {
                    Ok((report::xml::render(&r, &sha), "application/xml"))
                } else {
                    Ok((report::html::render(&r, &sha), "text/html; charset=utf-8"))
                }
            }
        }
    }

    /// Lookups inside an approved case's scope (an order naming a window is answered one time
    /// at a time). Every query is checked against the scope before the first one runs: a list
    /// is answered whole or not at all. `purpose`, when given, must be the case's. Each answer
    /// is audited, then handed to `each` (which returns false to stop). Answers name the
    /// network subscriber, never identity.
    pub fn case_lookups(
        &mut self,
        caller: &Caller,
        id: &str,
        queries: &[AddrQuery],
        purpose: Option<Purpose>,
        mut each: impl FnMut(Value) -> bool,
    ) -> Result<(), LegalError> {
        let first = queries
            .first()
            .map(|q| q.given.clone())
            .unwrap_or(Value::Null);
        let (_, case) = self.load_case(caller, Op::CaseLookup, id, &first, |c, today| {
            c.check_runnable(today)?;
            match purpose {
                Some(p) if p != c.request_type().purpose() => Err(CaseError::PurposeMismatch(
                    c.request_type().as_str(),
                    c.request_type().purpose().as_str(),
                )),
                _ => Ok(()),
            }
        })?;
        for q in queries {
            if let Err(e) = case.covers(q.ip, q.port, q.at) {
                return Err(self.refuse(
                    caller,
                    Op::CaseLookup,
                    Some(id),
                    q.given.clone(),
                    e.into(),
                ));
            }
        }
        let purpose = case.request_type().purpose();
        for q in queries {
            let scope = self.scope_for(purpose, q.at);
            let mut answer = self.attribute(q.ip, q.port, q.at, &scope)?;
            if !purpose.reveals_subscriber_id() {
                for m in &mut answer.matches {
                    m.subscriber = self.audit.pseudonym(&m.subscriber);
                }
            }
            let out = answer.to_json(q.given.clone());
            let mut e = self.entry(caller, Op::CaseLookup, Some(id), q.given.clone());
            e.legal_basis = Some(purpose.as_str().into());
            e.outcome = answer.status.as_str().into();
            e.result_count = answer.matches.len() as u64;
            e.result_digest = Some(sha_hex(out.to_string().as_bytes()));
            self.commit(e)?;
            if !each(out) {
                break;
            }
        }
        Ok(())
    }

    /// One lookup inside an approved case's scope; see [`Env::case_lookups`].
    pub fn case_lookup(
        &mut self,
        caller: &Caller,
        id: &str,
        q: AddrQuery,
    ) -> Result<Value, LegalError> {
        let mut out = Value::Null;
        self.case_lookups(caller, id, std::slice::from_ref(&q), None, |v| {
            out = v;
            false
        })?;
        Ok(out)
    }

    /// The calls of a number within an approved case's scope.
    pub fn case_calls(
        &mut self,
        caller: &Caller,
        id: &str,
        given: Value,
        number: &str,
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Value, LegalError> {
        let (_, case) = self.load_case(caller, Op::CaseLookup, id, &given, |c, today| {
            c.check_runnable(today)
                .and_then(|()| c.covers_calls(number, from, to))
        })?;
        let purpose = case.request_type().purpose();
        let scope = self.scope_for(purpose, from);
        let a = crate::store::cdr::answer(self.store, &scope, number, from, to)?;
        let norm = crate::store::cdr::normalize_number(number);
        let calls = render_calls(&norm, &a.calls, |n| {
            if purpose.reveals_subscriber_id() {
                n.to_string()
            } else {
                self.audit.pseudonym(n)
            }
        });
        let out = json!({"query": given, "status": a.status, "calls": calls});
        let mut e = self.entry(caller, Op::CaseLookup, Some(id), given);
        e.legal_basis = Some(purpose.as_str().into());
        e.outcome = a.status.into();
        e.result_count = calls.len() as u64;
        e.result_digest = Some(sha_hex(out.to_string().as_bytes()));
        self.commit(e)?;
        Ok(out)
    }

    /// The security team's lookup: security-class data only, a pseudonym instead of the
    /// subscriber, under an internal ticket reference.
    pub fn abuse_lookup(
        &mut self,
        caller: &Caller,
        reference: &str,
        given: Value,
        ip: IpAddr,
        port: Option<u16>,
        at: UnixSecs,
    ) -> Result<Value, LegalError> {
        self.admit(caller, Op::AbuseLookup, Some(reference), &given)?;
        if reference.trim().is_empty() {
            let err = LegalError::BadRequest(
                "request.invalid",
                "reference: name the abuse ticket".into(),
            );
            return Err(self.refuse(caller, Op::AbuseLookup, None, given, err));
        }
        let scope = self.scope_for(Purpose::Abuse, at);
        let mut answer = self.attribute(ip, port, at, &scope)?;
        for m in &mut answer.matches {
            m.subscriber = self.audit.pseudonym(&m.subscriber);
        }
        let out = answer.to_json(given.clone());
        let text = out.to_string();
        let mut e = self.entry(caller, Op::AbuseLookup, Some(reference), given);
        e.legal_basis = Some("abuse".into());
        e.outcome = answer.status.as_str().into();
        e.result_count = answer.matches.len() as u64;
        e.result_digest = Some(sha_hex(text.as_bytes()));
        self.commit(e)?;
        Ok(out)
    }

    /// GDPR art. 15: everything held about one subscriber identifier — its identity register
    /// rows (current and superseded) and its address bindings in the store.
    pub fn access_extract(
        &mut self,
        caller: &Caller,
        subscriber: &str,
        reference: &str,
    ) -> Result<Value, LegalError> {
        let query = json!({"subscriber": self.audit.pseudonym(subscriber), "reference": reference});
        self.admit(caller, Op::AccessExtract, Some(reference), &query)?;
        if reference.trim().is_empty() || subscriber.is_empty() {
            let err = LegalError::BadRequest(
                "request.invalid",
                "give the subscriber and the request's reference".into(),
            );
            return Err(self.refuse(caller, Op::AccessExtract, None, query, err));
        }
        let history = open_identity(self.data_dir())?.history(subscriber)?;
        let scope = Scope::new(self.cfg, &crate::model::Class::ALL, self.now);
        let bindings = self.store.bindings_of(subscriber, &scope)?;
        let out = json!({
            "subscriber": subscriber,
            "generated_at": fmt_time(self.now),
            "identity": history,
            "bindings": bindings,
        });
        let text = out.to_string();
        let mut e = self.entry(caller, Op::AccessExtract, Some(reference), query);
        e.legal_basis = Some("gdpr_art_15".into());
        e.result_count = bindings.len() as u64;
        e.result_digest = Some(sha_hex(text.as_bytes()));
        self.commit(e)?;
        Ok(out)
    }

    // ---- the auditor's view --------------------------------------------------------------

    pub fn audit_read(
        &mut self,
        caller: &Caller,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Value>, LegalError> {
        let query = json!({"after": after, "limit": limit});
        self.admit(caller, Op::AuditRead, None, &query)?;
        let entries = crate::audit::read_entries(self.data_dir(), after, limit).map_err(|e| {
            LegalError::BadRequest(
                "audit.read_failed",
                format!("the audit log could not be read: {e}"),
            )
        })?;
        let mut e = self.entry(caller, Op::AuditRead, None, query);
        e.result_count = entries.len() as u64;
        self.commit(e)?;
        Ok(entries)
    }

    pub fn audit_verify(&mut self, caller: &Caller) -> Result<Value, LegalError> {
        self.admit(caller, Op::AuditVerify, None, &Value::Null)?;
        let out = match crate::audit::verify(self.data_dir()) {
            Ok(r) => json!({"intact": true, "entries": r.entries, "checkpoints": r.checkpoints,
                            "head_seq": r.head_seq, "head_hash": r.head_hash,
                            "checkpointed_seq": r.checkpointed_seq}),
            Err(v) => json!({"intact": false, "code": v.code, "file": v.file, "line": v.line,
                             "seq": v.seq, "reason": v.reason}),
        };
        let mut e = self.entry(caller, Op::AuditVerify, None, Value::Null);
        e.outcome = if out["intact"] == true {
            "intact"
        } else {
            "broken"
        }
        .into();
        self.commit(e)?;
        Ok(out)
    }

    /// Requests by type and outcome registered in `from..to`, and the median time from
    /// registration to disclosure.
    pub fn statistics(
        &mut self,
        caller: &Caller,
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Value, LegalError> {
        let query = json!({"from": fmt_time(from), "to": fmt_time(to)});
        self.admit(caller, Op::Statistics, None, &query)?;
        let cases = register::list(self.data_dir())?;
        let mut by: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
            Default::default();
        let mut answer_secs = Vec::new();
        let mut n = 0;
        for c in cases.iter().filter(|c| (from..to).contains(&c.created_at)) {
            n += 1;
            let outcome = match (c.state, &c.hold) {
                (State::Executed, Some(_)) => "held",
                (s, _) => s.as_str(),
            };
            *by.entry(c.request.request_type.clone())
                .or_default()
                .entry(outcome.to_string())
                .or_default() += 1;
            if let Some(d) = c.disclosed_at {
                answer_secs.push(d - c.created_at);
            }
        }
        answer_secs.sort_unstable();
        let median = match answer_secs.len() {
            0 => None,
            l if l % 2 == 1 => Some(answer_secs[l / 2] as f64),
            l => Some((answer_secs[l / 2 - 1] + answer_secs[l / 2]) as f64 / 2.0),
        };
        let out = json!({"from": fmt_time(from), "to": fmt_time(to), "requests": n,
                         "by_type_and_outcome": by, "disclosed": answer_secs.len(),
                         "median_seconds_to_disclosure": median});
        let mut e = self.entry(caller, Op::Statistics, None, query);
        e.result_count = n;
        self.commit(e)?;
        Ok(out)
    }
}

/// Opens the identity register, waiting briefly while an import holds it.
fn open_identity(data_dir: &Path) -> Result<IdentityRegister, LegalError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match IdentityRegister::open(data_dir) {
            Ok(r) => return Ok(r),
            Err(e)
                if std::time::Instant::now() < deadline && e.code() == "identity.open_failed" =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn check_override(
    kind: super::case::RequestType,
    over: Option<&Override>,
) -> Result<(), CaseError> {
    let Some(o) = over else { return Ok(()) };
    if kind != super::case::RequestType::Ipred {
        return Err(CaseError::NotForThisType(
            "a field override (only an IPRED disclosure is limited to name and address)",
        ));
    }
    let mut problems = Vec::new();
    if o.reason.trim().is_empty() {
        problems.push(super::case::FieldProblem {
            field: "override.reason".into(),
            reason: "an override states its reason".into(),
        });
    }
    if o.fields.is_empty()
        || o.fields
            .iter()
            .any(|f| !OVERRIDE_FIELDS.contains(&f.as_str()))
    {
        problems.push(super::case::FieldProblem {
            field: "override.fields".into(),
            reason: "any of personal_number, customer_id".into(),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CaseError::Invalid(problems))
    }
}

/// The identity fields a purpose may see: IPRED name and address (more only by an audited
/// override), law enforcement everything, abuse nothing (it never gets here).
fn disclosed(r: &IdentityRecord, purpose: Purpose, over: Option<&Override>) -> DisclosedIdentity {
    let extra = |f: &str| {
        purpose == Purpose::LawEnforcement || over.is_some_and(|o| o.fields.iter().any(|x| x == f))
    };
    DisclosedIdentity {
        name: r.name.clone(),
        street: Some(r.street.clone()),
        postal_code: Some(r.postal_code.clone()),
        city: Some(r.city.clone()),
        customer_id: extra("customer_id").then(|| r.customer_id.clone()),
        personal_number: extra("personal_number").then(|| r.personal_number.clone()),
        protected_identity: r.protected_identity,
    }
}

/// Several answers over a window combined. More than one subscriber in the window, or any
/// ambiguous moment, is `ambiguous` (no name). One subscriber is `found` only when every moment
/// is found or provably nobody's (`not_found`); a moment without coverage or with an inferred
/// end weakens it. No subscriber at all gives the least certain of the empty statuses.
fn combine(answers: Vec<Answer>) -> Answer {
    let mut subjects: Vec<String> = answers
        .iter()
        .flat_map(|a| a.matches.iter().map(|m| m.subscriber.clone()))
        .collect();
    subjects.sort();
    subjects.dedup();
    let has = |s: Status| answers.iter().any(|a| a.status == s);
    // Empty statuses from least to most certain: the first present wins.
    let empties = [
        Status::NotOurAddress,
        Status::OutsideRetention,
        Status::NoDataForThisPurpose,
        Status::PortRequired,
        Status::InsideUnknown,
        Status::NoCoverage,
        Status::NotFound,
    ];
    let first_empty = empties.into_iter().find(|s| has(*s));
    let status = if subjects.len() > 1 || has(Status::Ambiguous) {
        Status::Ambiguous
    } else if subjects.len() == 1 {
        if has(Status::EndInferred) {
            Status::EndInferred
        } else {
            match first_empty {
                None | Some(Status::NotFound) => Status::Found,
                Some(s) => s,
            }
        }
    } else {
        first_empty.unwrap_or(Status::NoCoverage)
    };
    let mut matches: Vec<_> = answers.iter().flat_map(|a| a.matches.clone()).collect();
    matches.sort_by(|a, b| (&a.start, &a.subscriber).cmp(&(&b.start, &b.subscriber)));
    matches.dedup();
    let mut nat_blocks: Vec<_> = answers.iter().flat_map(|a| a.nat_blocks.clone()).collect();
    nat_blocks.dedup();
    let mut free_states: Vec<_> = answers.iter().flat_map(|a| a.free_states.clone()).collect();
    free_states.dedup();
    Answer {
        status,
        matches,
        sharing: answers.iter().find_map(|a| a.sharing),
        nat_blocks,
        free_states,
    }
}

/// Calls as a disclosure lists them; `other` maps the other party (pseudonymised for abuse).
pub fn render_calls(
    me: &str,
    calls: &[crate::model::Cdr],
    mut other: impl FnMut(&str) -> String,
) -> Vec<Value> {
    let me = crate::store::cdr::normalize_number(me);
    calls
        .iter()
        .map(|c| {
            let outgoing = crate::store::cdr::normalize_number(&c.calling) == me;
            let party = if outgoing { &c.called } else { &c.calling };
            json!({
                "direction": if outgoing { "outgoing" } else { "incoming" },
                "other_party": other(party),
                "start": fmt_time(c.start),
                "answer": c.answer.map(fmt_time),
                "end": fmt_time(c.end),
                "duration": c.duration,
                "billsec": c.billsec,
                "disposition": c.disposition,
                "call_id": c.call_id,
                "source": c.source,
                "class": c.class.as_str(),
            })
        })
        .collect()
}

fn case_info(c: &Case) -> report::CaseInfo {
    let r = &c.request;
    report::CaseInfo {
        request_type: r.request_type.clone(),
        legal_basis: c.request_type().legal_basis().into(),
        authority: r.authority.clone(),
        case_number: r.case_number.clone(),
        decision_date: r.decision_date.clone(),
        legal_force_date: r.legal_force_date.clone(),
        deadline: r.deadline.clone(),
        order_sha256: r.order_sha256.clone(),
        notes: r.notes.clone(),
        state: State::Disclosed.as_str().into(),
    }
}

/// A case as the API and the CLI show it. The stored report is left out (it is fetched through
/// `report`, audited as a disclosure), and while a protected identity waits for its second
/// approval its identity fields are withheld here too, from everyone, the executor included.
pub fn case_view(c: &Case) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("report_json");
    }
    if c.hold.is_some() {
        for item in v["results"].as_array_mut().into_iter().flatten() {
            if item["identity"]["protected_identity"] == true {
                item["identity"] = json!({"protected_identity": true,
                                          "withheld": "until a second legal officer releases it"});
            }
        }
    }
    v
}

/// A case as a list shows it: no scope contents, no results.
pub fn summary(c: &Case) -> Value {
    json!({
        "id": c.id,
        "request_type": c.request.request_type,
        "authority": c.request.authority,
        "case_number": c.request.case_number,
        "state": c.state.as_str(),
        "hold": c.hold,
        "items": c.request.scope.len(),
        "created_by": c.created_by,
        "created_at": fmt_time(c.created_at),
        "deadline": c.request.deadline,
    })
}
