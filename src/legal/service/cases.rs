//! The case lifecycle: register, list, show, approve, reject and release a case, and the views
//! of a case the API and the CLI print.

use serde_json::{json, Value};

use super::{LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::{Case, CaseError, NewCase, Officer};
use crate::legal::policy::Op;
use crate::legal::register;
use crate::model::fmt_time;

impl Service {
    pub fn create_case(&self, caller: &Caller, req: NewCase) -> Result<Case, LegalError> {
        let now = self.clock.now();
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
        let year = chrono::DateTime::from_timestamp(now, 0)
            .map(|d| chrono::Datelike::year(&d))
            .unwrap_or(1970);
        let case = register::create(self.data_dir(), year, |id| {
            let mut c = Case::registered(id, req, &who.name, now);
            c.created_by_person = Some(who.person.clone());
            c
        })?;
        let mut e = self.entry(caller, Op::CaseCreate, Some(&case.id), query);
        e.legal_basis = Some(case.request_type().as_str().into());
        self.commit(e)?;
        Ok(case)
    }

    /// A case with its results: a read of disclosed data, so audited.
    pub fn get_case(&self, caller: &Caller, id: &str) -> Result<Case, LegalError> {
        let (_, case) = self.load_case(
            caller,
            Op::CaseGet,
            id,
            &Value::Null,
            self.clock.now(),
            |_, _| Ok(()),
        )?;
        let mut e = self.entry(caller, Op::CaseGet, Some(id), Value::Null);
        e.result_count = case.results.len() as u64;
        self.commit(e)?;
        Ok(case)
    }

    /// Every case without its results.
    pub fn list_cases(&self, caller: &Caller) -> Result<Vec<Value>, LegalError> {
        self.admit(caller, Op::CaseList, None, &Value::Null)?;
        let cases = register::list(self.data_dir())?;
        let out: Vec<Value> = cases.iter().map(summary).collect();
        let mut e = self.entry(caller, Op::CaseList, None, Value::Null);
        e.result_count = out.len() as u64;
        self.commit(e)?;
        Ok(out)
    }

    fn transition(
        &self,
        caller: &Caller,
        op: Op,
        id: &str,
        query: Value,
        f: impl FnOnce(&mut Case, &Officer) -> Result<(), CaseError>,
    ) -> Result<Case, LegalError> {
        let who = self.admit(caller, op, Some(id), &query)?;
        // The entry goes first: a step nobody can account for must not exist.
        let mut pending = self.entry(caller, op, Some(id), query.clone());
        pending.outcome = "requested".into();
        self.commit(pending)?;
        match register::update(self.data_dir(), id, |c| f(c, &Officer::from(&who))) {
            Ok((case, ())) => {
                let mut e = self.entry(caller, op, Some(id), query);
                e.legal_basis = Some(case.request_type().as_str().into());
                self.commit(e)?;
                Ok(case)
            }
            Err(e) => Err(self.refuse(caller, op, Some(id), query, e.into())),
        }
    }

    pub fn approve(&self, caller: &Caller, id: &str) -> Result<Case, LegalError> {
        let now = self.clock.now();
        self.transition(caller, Op::CaseApprove, id, Value::Null, |c, by| {
            c.approve(by, now)
        })
    }

    pub fn reject(&self, caller: &Caller, id: &str, reason: &str) -> Result<Case, LegalError> {
        if reason.trim().is_empty() {
            return Err(LegalError::BadRequest(
                ErrorKind::RequestInvalid,
                "a rejection gives its reason".into(),
            ));
        }
        let now = self.clock.now();
        let reason = reason.to_string();
        self.transition(
            caller,
            Op::CaseReject,
            id,
            json!({"reason": reason}),
            |c, by| c.reject(by, now, reason),
        )
    }

    pub fn release(&self, caller: &Caller, id: &str) -> Result<Case, LegalError> {
        let now = self.clock.now();
        self.transition(caller, Op::CaseRelease, id, Value::Null, |c, by| {
            c.release(by, now)
        })
    }
}

const WITHHELD: &str = "until a second legal officer releases it";

/// A case as the API and the CLI show it. The stored report is left out (it is fetched through
/// `report`, audited as a disclosure), and while a protected identity waits for its second
/// approval the held item shows neither its identity fields nor the subscriber id (in the
/// item or its evidence), to everyone, the executor included; a held access extract is
/// withheld whole.
pub fn case_view(c: &Case) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("report_json");
    }
    if c.hold.is_some() {
        for item in v["results"].as_array_mut().into_iter().flatten() {
            if item["identity"]["protected_identity"] == true {
                item["identity"] = json!({"protected_identity": true, "withheld": WITHHELD});
                item["subscriber"] = json!({"withheld": WITHHELD});
                for e in item["evidence"].as_array_mut().into_iter().flatten() {
                    if e.get("subscriber").is_some() {
                        e["subscriber"] = json!({"withheld": WITHHELD});
                    }
                }
            }
        }
        if c.extract.is_some() {
            v["extract"] = json!({"protected_identity": true, "withheld": WITHHELD});
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
