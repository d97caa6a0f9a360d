//! Disclosure: the report of an executed case (built once, then copies, each audited) and the
//! GDPR art. 15 access extract of one subscriber.

use serde_json::{json, Value};

use super::{sha_hex, LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::{Case, CaseError, State};
use crate::legal::files::RegisterError;
use crate::legal::policy::Op;
use crate::legal::register;
use crate::model::{fmt_time, Class};
use crate::report::{self, Report};
use crate::store::lookup::Scope;

impl Service {
    /// The report: built and audited once, when first asked for (the case becomes
    /// `disclosed`); later copies are the same document, each audited. The report names the
    /// operator of `serve.operator` as the communications service provider.
    pub fn report(
        &self,
        caller: &Caller,
        id: &str,
        format: &str,
    ) -> Result<(String, &'static str), LegalError> {
        let now = self.clock.now();
        let query = json!({"format": format});
        let (_, case) = self.load_case(caller, Op::CaseReport, id, &query, now, |c, _| match c
            .state
        {
            State::Executed if c.hold.is_some() => Err(CaseError::Held),
            State::Executed | State::Disclosed => Ok(()),
            s => Err(CaseError::WrongState(s.as_str(), "executed")),
        })?;
        if !matches!(format, "json" | "xml" | "html") {
            let err = LegalError::BadRequest(
                ErrorKind::RequestInvalid,
                "format is json, xml or html".into(),
            );
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

    /// GDPR art. 15: everything held about one subscriber identifier — its identity register
    /// rows (current and superseded) and its address bindings in the store.
    pub fn access_extract(
        &self,
        caller: &Caller,
        subscriber: &str,
        reference: &str,
    ) -> Result<Value, LegalError> {
        let now = self.clock.now();
        let query = json!({"subscriber": self.audit.pseudonym(subscriber), "reference": reference});
        self.admit(caller, Op::AccessExtract, Some(reference), &query)?;
        if reference.trim().is_empty() || subscriber.is_empty() {
            let err = LegalError::BadRequest(
                ErrorKind::RequestInvalid,
                "give the subscriber and the request's reference".into(),
            );
            return Err(self.refuse(caller, Op::AccessExtract, None, query, err));
        }
        let history = self.identity()?.history(subscriber)?;
        let scope = Scope::new(&self.cfg, &Class::ALL, now);
        let bindings = self.store.bindings_of(subscriber, &scope)?;
        let out = json!({
            "subscriber": subscriber,
            "generated_at": fmt_time(now),
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
