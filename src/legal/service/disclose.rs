//! Disclosure: the report of an executed case (built once, then copies, each audited) and the
//! GDPR art. 15 access extract, the answer to an approved `access` case: made once, held like
//! any answer while a protected identity waits for a second officer, then handed out (each
//! copy audited).

use serde_json::{json, Value};

use super::{sha_hex, LegalError, Service};
use crate::config::Retention;
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::{Case, CaseError, Officer, Parsed, RequestType, State};
use crate::legal::files::RegisterError;
use crate::legal::policy::Op;
use crate::legal::Purpose;
use crate::legal::{recipients, register};
use crate::model::{fmt_time, Class, UnixSecs};
use crate::report::{self, Report};
use crate::store::lookup::Scope;

impl Service {
    /// The report: built and audited once, when first asked for (the case becomes
    /// `disclosed`); later copies are the same document, each audited. The report names the
    /// operator of `serve.operator` as the communications service provider. `format` is
    /// `json` (THE report), `xml` (ETSI TS 102 657), `html` or `pdf` (PDF/A-2b).
    pub fn report(
        &self,
        caller: &Caller,
        id: &str,
        format: &str,
    ) -> Result<(Vec<u8>, &'static str), LegalError> {
        let query = json!({"format": format});
        if !matches!(format, "json" | "xml" | "html" | "pdf") {
            self.admit(caller, Op::CaseReport, Some(id), &query)?;
            let err = LegalError::BadRequest(
                ErrorKind::RequestInvalid,
                "format is json, xml, html or pdf".into(),
            );
            return Err(self.refuse(caller, Op::CaseReport, Some(id), query, err));
        }
        let (json_text, r, sha) = self.disclosed(caller, id, query, "case_report_copy")?;
        Ok(match format {
            "json" => (json_text.into_bytes(), "application/json"),
            "xml" => (
                report::xml::render(&r, &sha).into_bytes(),
                "application/xml",
            ),
            "pdf" => (report::pdf::render(&r, &sha), "application/pdf"),
            _ => (
                report::html::render(&r, &sha).into_bytes(),
                "text/html; charset=utf-8",
            ),
        })
    }

    /// The delivery pack of a disclosure ([`report::pack`]): the report in every rendering,
    /// the audit head signed after this request's own entry (so it covers the lookups, the
    /// disclosure and the pack), the files to check its signature and how to verify it all
    /// offline. Asking for it discloses the case if nothing did before; each pack is audited
    /// (`case_pack`, with the report's digest). Returns the archive and its file name.
    pub fn delivery_pack(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(Vec<u8>, String), LegalError> {
        let query = json!({"format": "pack"});
        let (json_text, r, sha) = self.disclosed(caller, id, query, "case_pack")?;
        let head = self.audit.signed_head().map_err(LegalError::Audit)?;
        let xml = report::xml::render(&r, &sha);
        let html = report::html::render(&r, &sha);
        let pdf = report::pdf::render(&r, &sha);
        let contents = report::pack::Contents {
            report: &r,
            json: &json_text,
            xml: &xml,
            html: &html,
            pdf: &pdf,
            head: &head,
        };
        let zip = report::pack::zip(&contents).map_err(|e| {
            LegalError::Register(RegisterError::Read(format!("delivery pack: {e}")))
        })?;
        Ok((zip, report::pack::file_name(&r)))
    }

    /// The disclosed report of case `id`, disclosing it first if nothing has (audited as the
    /// disclosure, `case_report` / `disclosed`), otherwise audited as `copy_action`: the
    /// canonical JSON, the report with the disclosure's own audit sequence number added (as
    /// the renderings list it) and the JSON's SHA-256.
    fn disclosed(
        &self,
        caller: &Caller,
        id: &str,
        query: Value,
        copy_action: &str,
    ) -> Result<(String, Report, String), LegalError> {
        let now = self.clock.now();
        let (_, case) = self.load_case(caller, Op::CaseReport, id, &query, now, |c, _| match c
            .state
        {
            _ if c.request_type() == RequestType::Access => Err(CaseError::NotForThisType(
                "a report (an access request is answered by its access extract)",
            )),
            State::Executed if c.hold.is_some() => Err(CaseError::Held),
            State::Executed | State::Disclosed => Ok(()),
            s => Err(CaseError::WrongState(s.as_str(), "executed")),
        })?;
        let kind = case.request_type();
        let (json_text, report_seq) = match (&case.report_json, case.report_seq) {
            (Some(j), Some(seq)) => {
                let mut e = self.entry(caller, Op::CaseReport, Some(id), query);
                e.action = copy_action.into();
                e.legal_basis = Some(kind.as_str().into());
                e.result_count = case.results.len() as u64;
                e.result_digest = Some(sha_hex(j.as_bytes()));
                self.commit(e)?;
                (j.clone(), seq)
            }
            _ => {
                let r = Report {
                    csp_id: self.cfg.serve.operator.clone(),
                    request_id: case.id.clone(),
                    generated_at: now,
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
                let stored = text.clone();
                register::update(self.data_dir(), id, |c| {
                    if c.report_json.is_none() {
                        c.report_json = Some(stored);
                        c.report_seq = Some(seq);
                        c.disclosed_at = Some(now);
                        c.state = State::Disclosed;
                        self.on_disclosure(c, now);
                    }
                    Ok(())
                })?;
                (text, seq)
            }
        };
        let sha = sha_hex(json_text.as_bytes());
        let mut r: Report = serde_json::from_str(&json_text).map_err(|e| {
            LegalError::Register(RegisterError::Read(format!("stored report: {e}")))
        })?;
        r.audit_seqs.push(report_seq);
        Ok((json_text, r, sha))
    }

    /// GDPR art. 15 inside an approved `access` case: everything held about its subscriber —
    /// the identity register rows (current and superseded), the address bindings in the store
    /// (each with when it leaves retention), per class held its count, period, purposes, legal
    /// basis and retention, and the third parties it was disclosed to (`recipients`). The
    /// first call makes the extract and keeps it in the case (audited); a protected identity
    /// in any row holds it (`case.held_protected_identity`) until a second legal officer
    /// releases the case. Each extract handed out is audited with its digest.
    pub fn access_extract(&self, caller: &Caller, id: &str) -> Result<Value, LegalError> {
        let now = self.clock.now();
        let (who, case) = self.load_case(
            caller,
            Op::AccessExtract,
            id,
            &Value::Null,
            now,
            |c, today| {
                if c.request_type() != RequestType::Access {
                    return Err(CaseError::NotForThisType(
                        "an access extract (only an access request has one)",
                    ));
                }
                match c.state {
                    State::Approved => c.check_runnable(today, now, self.case_max_secs()),
                    State::Executed if c.hold.is_some() => Err(CaseError::Held),
                    State::Executed | State::Disclosed => Ok(()),
                    s => Err(CaseError::WrongState(s.as_str(), "approved")),
                }
            },
        )?;
        if case.extract.is_some() {
            return self.hand_out_extract(caller, case, now);
        }
        let subscriber = match case.request.scope.first().map(|i| i.parse()) {
            Some(Ok(Parsed::Subscriber(s))) => s,
            _ => {
                let err = CaseError::NotForThisType("an access extract without a subscriber");
                return Err(self.refuse(
                    caller,
                    Op::AccessExtract,
                    Some(id),
                    Value::Null,
                    err.into(),
                ));
            }
        };
        let query = json!({"subscriber": self.audit.pseudonym(&subscriber)});
        let history = self.identity()?.history(&subscriber)?;
        let scope = Scope::new(&self.cfg, &Class::ALL, now);
        let bindings: Vec<Value> = self
            .store
            .bindings_of(&subscriber, &scope)?
            .into_iter()
            .map(|b| with_leaves_retention(&self.cfg.retention, b, now))
            .collect();
        let classes = class_summary(&self.cfg.retention, &bindings);
        let recipients = self.recipients_of(&subscriber)?;
        let held = history
            .current
            .iter()
            .chain(history.superseded.iter().map(|s| &s.record))
            .any(|r| r.protected_identity);
        let out = json!({
            "subscriber": subscriber,
            "generated_at": fmt_time(now),
            "identity": history,
            "bindings": bindings,
            "classes": classes,
            "recipients": recipients,
        });
        let mut e = self.entry(caller, Op::AccessExtract, Some(id), query);
        e.legal_basis = Some(RequestType::Access.as_str().into());
        e.outcome = if held {
            "held:protected_identity"
        } else {
            "disclosed"
        }
        .into();
        e.result_count = bindings.len() as u64;
        e.result_digest = Some(sha_hex(out.to_string().as_bytes()));
        let seq = self.commit(e)?;
        let kept = out.clone();
        register::update(self.data_dir(), id, |c| {
            if c.state != State::Approved {
                return Err(CaseError::WrongState(c.state.as_str(), "approved"));
            }
            c.executed(&Officer::from(&who), now, Vec::new(), vec![seq], held);
            c.extract = Some(kept);
            if !held {
                c.state = State::Disclosed;
                c.disclosed_at = Some(now);
            }
            Ok(())
        })?;
        if held {
            return Err(CaseError::Held.into());
        }
        Ok(out)
    }

    /// The third parties the subscriber's data was disclosed to, from the case register
    /// ([`recipients::of`]: IPRED disclosures only, never law enforcement), each with the day,
    /// the recipient, the decision it was made on and our case.
    fn recipients_of(&self, subscriber: &str) -> Result<Vec<Value>, LegalError> {
        let cases = register::list(self.data_dir())?;
        Ok(recipients::of(&cases, subscriber)
            .into_iter()
            .map(|r| {
                let basis = cases
                    .iter()
                    .find(|c| c.id == r.case)
                    .map(|c| format!("{}, {}", c.request.authority, c.request.case_number))
                    .unwrap_or_default();
                json!({
                    "case": r.case,
                    "date": r.day,
                    "disclosed_at": fmt_time(r.disclosed_at),
                    "recipient": r.recipient,
                    "basis": basis,
                })
            })
            .collect())
    }

    /// The answer to an approved access case: the letter (*registerutdrag*, Swedish) made
    /// from its extract, to the address the identity register held when the extract was made
    /// ([`report::access`]), `format` `html` (every binding) or `pdf` (PDF/A-2b). Only once
    /// the extract exists and is not held (`case.held_protected_identity` until a second
    /// officer releases it); audited before it is returned, and the first letter or extract
    /// handed out discloses the case.
    pub fn access_letter(
        &self,
        caller: &Caller,
        id: &str,
        format: &str,
    ) -> Result<(Vec<u8>, &'static str), LegalError> {
        let now = self.clock.now();
        let op = Op::AccessLetter;
        let query = json!({"format": format});
        if !matches!(format, "html" | "pdf") {
            self.admit(caller, op, Some(id), &query)?;
            let err =
                LegalError::BadRequest(ErrorKind::RequestInvalid, "format is pdf or html".into());
            return Err(self.refuse(caller, op, Some(id), query, err));
        }
        let (_, case) = self.load_case(caller, op, id, &query, now, |c, _| {
            if c.request_type() != RequestType::Access {
                return Err(CaseError::NotForThisType(
                    "an access letter (only an access request has one)",
                ));
            }
            match c.state {
                State::Executed if c.hold.is_some() => Err(CaseError::Held),
                State::Executed | State::Disclosed if c.extract.is_some() => Ok(()),
                s => Err(CaseError::WrongState(s.as_str(), "executed")),
            }
        })?;
        let extract = case.extract.clone().unwrap_or_default();
        let subscriber = extract["subscriber"].as_str().unwrap_or_default();
        let query = json!({"format": format, "subscriber": self.audit.pseudonym(subscriber)});
        let sender = report::access::Sender {
            operator: self.cfg.serve.operator.clone(),
            address: self.cfg.notice.sender_address.clone(),
            contact: self.cfg.notice.contact.clone(),
            forwarding: self.cfg.notice.forwarding_address.clone(),
        };
        let received = Some(super::today(case.created_at).to_string());
        let Some(letter) =
            report::access::AccessLetter::from_extract(&extract, sender, &case.id, received, now)
        else {
            let err = LegalError::BadRequest(
                ErrorKind::NoticeNoAddress,
                "the identity register held no row for the subscriber: no address to write the                  letter to"
                    .into(),
            );
            return Err(self.refuse(caller, op, Some(id), query, err));
        };
        let (body, content_type) = match format {
            "pdf" => (letter.pdf(), "application/pdf"),
            _ => (letter.html().into_bytes(), "text/html; charset=utf-8"),
        };
        let first = case.state != State::Disclosed;
        let mut e = self.entry(caller, op, Some(id), query);
        e.legal_basis = Some(RequestType::Access.as_str().into());
        e.outcome = if first { "disclosed" } else { "copy" }.into();
        e.result_count = letter.bindings.len() as u64;
        e.result_digest = Some(sha_hex(&body));
        self.commit(e)?;
        if first {
            register::update(self.data_dir(), id, |c| {
                if c.state == State::Executed && c.hold.is_none() {
                    c.state = State::Disclosed;
                    c.disclosed_at = Some(now);
                }
                Ok(())
            })?;
        }
        Ok((body, content_type))
    }

    /// An extract made before (and released, if it was held): audited first, and the first
    /// one handed out discloses the case.
    fn hand_out_extract(
        &self,
        caller: &Caller,
        case: Case,
        now: crate::model::UnixSecs,
    ) -> Result<Value, LegalError> {
        let extract = case.extract.unwrap_or_default();
        let first = case.state != State::Disclosed;
        let mut e = self.entry(caller, Op::AccessExtract, Some(&case.id), Value::Null);
        e.legal_basis = Some(RequestType::Access.as_str().into());
        e.outcome = if first { "disclosed" } else { "copy" }.into();
        e.result_digest = Some(sha_hex(extract.to_string().as_bytes()));
        self.commit(e)?;
        if first {
            register::update(self.data_dir(), &case.id, |c| {
                if c.state == State::Executed && c.hold.is_none() {
                    c.state = State::Disclosed;
                    c.disclosed_at = Some(now);
                }
                Ok(())
            })?;
        }
        Ok(extract)
    }
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

/// The purposes tdr reads data for, besides the data subject's own access.
const PURPOSES: [Purpose; 3] = [Purpose::Abuse, Purpose::Ipred, Purpose::LawEnforcement];

/// The legal basis of keeping a class, as the access letter states it (Swedish).
pub(crate) fn class_legal_basis(class: Class) -> &'static str {
    match class {
        Class::Security => "GDPR art. 6.1 f – nätverks- och informationssäkerhet",
        Class::Billing => "GDPR art. 6.1 b – fakturering (avtalet)",
        Class::Statutory => "GDPR art. 6.1 c – lagring enligt LEK (2022:482) 9 kap. 19 §",
    }
}

/// When a binding leaves retention: its class's period counted from its end (from `now` while
/// it is open) — the rule `Scope::retained` applies, through the same [`Retention`] periods.
fn leaves_retention(
    retention: &Retention,
    class: Class,
    end: Option<UnixSecs>,
    now: UnixSecs,
) -> UnixSecs {
    retention.of(class).ends(end.unwrap_or(now))
}

fn binding_class(b: &Value) -> Option<Class> {
    b["class"].as_str().and_then(Class::parse)
}

/// A binding of the extract with `leaves_retention`: `{at, date}` (RFC 3339 UTC, and the day
/// in Stockholm).
fn with_leaves_retention(retention: &Retention, mut b: Value, now: UnixSecs) -> Value {
    let end = b["end"].as_str().and_then(report::parse_rfc3339);
    if let Some(class) = binding_class(&b) {
        let at = leaves_retention(retention, class, end, now);
        b["leaves_retention"] = json!({
            "at": fmt_time(at),
            "date": crate::calendar::stockholm_day(at).to_string(),
        });
    }
    b
}

/// Per class held (in `Class::ALL` order, classes without bindings left out): how many
/// bindings, the first start and the last end (or `null` while one is open), when the oldest
/// and the newest leave retention (Stockholm days), the purposes that may read the class, its
/// legal basis and its retention period.
fn class_summary(retention: &Retention, bindings: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for class in Class::ALL {
        let of: Vec<&Value> = bindings
            .iter()
            .filter(|b| binding_class(b) == Some(class))
            .collect();
        if of.is_empty() {
            continue;
        }
        let times = |key: &str| -> Vec<UnixSecs> {
            of.iter()
                .filter_map(|b| b[key].as_str().and_then(report::parse_rfc3339))
                .collect()
        };
        let leaves: Vec<UnixSecs> = of
            .iter()
            .filter_map(|b| {
                b["leaves_retention"]["at"]
                    .as_str()
                    .and_then(report::parse_rfc3339)
            })
            .collect();
        let open = of.iter().any(|b| b["end"].is_null());
        let day = |t: Option<&UnixSecs>| t.map(|t| crate::calendar::stockholm_day(*t).to_string());
        out.push(json!({
            "class": class,
            "count": of.len(),
            "first": times("start").iter().min().map(|t| fmt_time(*t)),
            "last": if open { None } else { times("end").iter().max().map(|t| fmt_time(*t)) },
            "leaves_retention_first": day(leaves.iter().min()),
            "leaves_retention_last": day(leaves.iter().max()),
            "purposes": PURPOSES
                .iter()
                .filter(|p| p.readable_classes().contains(&class))
                .map(|p| p.as_str())
                .collect::<Vec<_>>(),
            "legal_basis": class_legal_basis(class),
            "retention": retention.of(class).to_string(),
        }));
    }
    out
}
