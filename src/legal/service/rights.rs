//! The data subject's rights as cases (GDPR art. 16 and 18): a restriction placed when its
//! approved case is executed and lifted by two officers (art. 18(3)), and a rectification of
//! the identity register that keeps the old version and lists the recipients to tell (art. 19).
//! Erasure (art. 17) is in `erasure.rs`. Every step is audited first; a refusal is audited.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::{LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::{Case, CaseError, Lift, Officer, Parsed, Rectified, RequestType, State};
use crate::legal::policy::Op;
use crate::legal::{recipients, register, Purpose};
use crate::model::UnixSecs;

/// The one subscriber a subject-rights case names.
fn subject(c: &Case) -> Result<String, CaseError> {
    match c.request.scope.first().map(|i| i.parse()) {
        Some(Ok(Parsed::Subscriber(s))) => Ok(s),
        _ => Err(CaseError::NotForThisType(
            "a data subject's case without a subscriber",
        )),
    }
}

impl Service {
    /// Loads an approved subject-rights case of type `kind` for execution (refusals audited).
    pub(super) fn load_for_execution(
        &self,
        caller: &Caller,
        id: &str,
        kind: RequestType,
        now: UnixSecs,
    ) -> Result<(crate::legal::auth::Principal, Case, String), LegalError> {
        let (who, case) = self.load_case(
            caller,
            Op::CaseExecute,
            id,
            &Value::Null,
            now,
            |c, today| {
                if c.request_type() != kind {
                    return Err(CaseError::NotForThisType("this execution"));
                }
                c.check_runnable(today, now, self.case_max_secs())?;
                if c.state != State::Approved {
                    return Err(CaseError::WrongState(c.state.as_str(), "approved"));
                }
                subject(c).map(drop)
            },
        )?;
        let sub = subject(&case)?;
        Ok((who, case, sub))
    }

    /// Places a restriction (GDPR art. 18): the case becomes `executed`, and while it is (not
    /// lifted, its `restrict_until` day not over) the ISP's own uses of the subscriber's data
    /// (abuse lookups, IPRED) answer `restricted`.
    pub(super) fn execute_restriction(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Case, LegalError> {
        let now = self.clock.now();
        let (who, case, sub) =
            self.load_for_execution(caller, id, RequestType::Restriction, now)?;
        let query = json!({"subscriber": self.audit.pseudonym(&sub),
                           "restrict_until": case.request.restrict_until});
        let mut pending = self.entry(caller, Op::CaseExecute, Some(id), query.clone());
        pending.legal_basis = Some(RequestType::Restriction.as_str().into());
        pending.outcome = "requested".into();
        let seq = self.commit(pending)?;
        let (case, ()) = register::update(self.data_dir(), id, |c| {
            if c.state != State::Approved {
                return Err(CaseError::WrongState(c.state.as_str(), "approved"));
            }
            c.executed(&Officer::from(&who), now, Vec::new(), vec![seq], false);
            Ok(())
        })
        .map_err(|e| self.refuse(caller, Op::CaseExecute, Some(id), query.clone(), e.into()))?;
        let mut e = self.entry(caller, Op::CaseExecute, Some(id), query);
        e.legal_basis = Some(RequestType::Restriction.as_str().into());
        e.outcome = "restriction_placed".into();
        self.commit(e)?;
        Ok(case)
    }

    /// Rectifies the identity register (GDPR art. 16): the row valid now is corrected, its old
    /// version kept as history with the case as reason, and the case keeps the names of the
    /// corrected fields and the recipients the data was disclosed to (art. 19).
    pub(super) fn execute_rectification(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Case, LegalError> {
        let now = self.clock.now();
        let (who, case, sub) =
            self.load_for_execution(caller, id, RequestType::Rectification, now)?;
        let Some(correction) = case.request.correction.clone() else {
            let err = CaseError::NotForThisType("a rectification without its correction");
            return Err(self.refuse(caller, Op::CaseExecute, Some(id), Value::Null, err.into()));
        };
        let query = json!({"subscriber": self.audit.pseudonym(&sub),
                           "fields": correction.names()});
        let mut pending = self.entry(caller, Op::CaseExecute, Some(id), query.clone());
        pending.legal_basis = Some(RequestType::Rectification.as_str().into());
        pending.outcome = "requested".into();
        let seq = self.commit(pending)?;
        let fields = match self.identity()?.rectify(&sub, &correction, now, id) {
            Ok(f) => f,
            Err(e) => {
                return Err(self.refuse(caller, Op::CaseExecute, Some(id), query, e.into()));
            }
        };
        let told = recipients::of(&register::list(self.data_dir())?, &sub);
        let (case, ()) = register::update(self.data_dir(), id, |c| {
            c.executed(&Officer::from(&who), now, Vec::new(), vec![seq], false);
            c.rectified = Some(Rectified {
                fields,
                recipients: told,
            });
            Ok(())
        })?;
        let mut e = self.entry(caller, Op::CaseExecute, Some(id), query);
        e.legal_basis = Some(RequestType::Rectification.as_str().into());
        e.outcome = "rectified".into();
        e.result_count = case.rectified.as_ref().map_or(0, |r| r.recipients.len()) as u64;
        self.commit(e)?;
        Ok(case)
    }

    /// Lifts a restriction (GDPR art. 18(3)), four eyes: the first legal officer's call asks
    /// for it (`lift_requested`, the restriction still in force), a second person's call lifts
    /// it. The same person twice is refused. Every step and refusal is audited.
    pub fn lift(&self, caller: &Caller, id: &str, reason: &str) -> Result<Case, LegalError> {
        let now = self.clock.now();
        let query = json!({"reason": reason});
        let who = self.admit(caller, Op::CaseLift, Some(id), &query)?;
        if reason.trim().is_empty() {
            let err = LegalError::BadRequest(
                ErrorKind::RequestInvalid,
                "reason: a lift gives its reason".into(),
            );
            return Err(self.refuse(caller, Op::CaseLift, Some(id), query, err));
        }
        let mut pending = self.entry(caller, Op::CaseLift, Some(id), query.clone());
        pending.outcome = "requested".into();
        self.commit(pending)?;
        let reason = reason.trim().to_string();
        match register::update(self.data_dir(), id, |c| {
            c.request_lift(&Officer::from(&who), now, reason)
        }) {
            Ok((case, step)) => {
                let mut e = self.entry(caller, Op::CaseLift, Some(id), query);
                e.legal_basis = Some(RequestType::Restriction.as_str().into());
                e.outcome = match step {
                    Lift::Requested => "lift_requested",
                    Lift::Lifted => "lifted",
                }
                .into();
                self.commit(e)?;
                Ok(case)
            }
            Err(e) => Err(self.refuse(caller, Op::CaseLift, Some(id), query, e.into())),
        }
    }

    /// The subscribers under a restriction in force at `now`, for a purpose a restriction
    /// limits (the ISP's own: abuse, IPRED); empty for every other purpose, so law enforcement
    /// reads no case file for it. Read once per operation.
    pub(super) fn restricted_for(
        &self,
        purpose: Purpose,
        now: UnixSecs,
    ) -> Result<HashSet<String>, LegalError> {
        if !purpose.restrictable() {
            return Ok(HashSet::new());
        }
        Ok(crate::legal::restricted_subscribers(self.data_dir(), now)?)
    }
}
