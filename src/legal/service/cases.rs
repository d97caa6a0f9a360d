//! The case lifecycle: register, list, show, approve, reject and release a case, and the views
//! of a case the API and the CLI print.

use serde_json::{json, Value};

use super::{LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::{Case, CaseError, NewCase, Officer, RequestType};
use crate::legal::due;
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

    /// Every case without its results, each with its clocks (`due_day`, `due_status`, ...);
    /// with `due`, only the cases it selects, the one due first first.
    pub fn list_cases(
        &self,
        caller: &Caller,
        due: Option<DueFilter>,
    ) -> Result<Vec<Value>, LegalError> {
        let query = match due {
            Some(f) => json!({"due": f.as_str()}),
            None => Value::Null,
        };
        self.admit(caller, Op::CaseList, None, &query)?;
        let now = self.clock.now();
        let mut cases = register::list(self.data_dir())?;
        if let Some(f) = due {
            cases.retain(|c| f.selects(due::status(c, &self.cfg.due, now)));
            cases.sort_by_cached_key(|c| (due::due(c, &self.cfg.due).at, c.id.clone()));
        }
        let out: Vec<Value> = cases
            .iter()
            .map(|c| {
                let mut v = summary(c);
                if let (Some(o), Value::Object(clocks)) =
                    (v.as_object_mut(), due::clocks(c, &self.cfg, now))
                {
                    o.extend(clocks);
                }
                v
            })
            .collect();
        let mut e = self.entry(caller, Op::CaseList, None, query);
        e.result_count = out.len() as u64;
        self.commit(e)?;
        Ok(out)
    }

    /// A case as the API and the CLI show it ([`case_view`]) with its clocks under `clocks`.
    pub fn view(&self, c: &Case) -> Value {
        let mut v = case_view(c);
        v["clocks"] = due::clocks(c, &self.cfg, self.clock.now());
        v
    }

    /// Registers a preservation request for the items of case `id` whose data leaves retention
    /// before the case is due (see [`due::at_risk`]): the same authority, case number, decision
    /// and order, its scope exactly those items (so its hold admits only them), kept until a
    /// month after the case's due day. Both cases name each other. Like any case it needs a
    /// second officer's approval before it holds anything. Only for orders from outside (IPRED,
    /// law enforcement); refused when nothing is at risk or a preservation exists already.
    pub fn preserve(&self, caller: &Caller, id: &str) -> Result<Case, LegalError> {
        let now = self.clock.now();
        let query = json!({"preserve": id});
        let (who, case) = self.load_case(caller, Op::CasePreserve, id, &query, now, |c, _| {
            if !matches!(
                c.request_type(),
                RequestType::Ipred | RequestType::LawEnforcement
            ) {
                return Err(CaseError::NotForThisType(
                    "a preservation request (only an IPRED or law-enforcement order's data is preserved)",
                ));
            }
            match c.preservation {
                Some(_) => Err(CaseError::WrongState(
                    "already preserved",
                    "without a preservation",
                )),
                None => Ok(()),
            }
        })?;
        // The request is on record before anything is decided or registered.
        let mut pending = self.entry(caller, Op::CasePreserve, Some(id), query.clone());
        pending.outcome = "requested".into();
        self.commit(pending)?;
        let risk = due::at_risk(&case, &self.cfg, now);
        if risk.is_empty() {
            let err = LegalError::BadRequest(
                ErrorKind::RequestInvalid,
                "nothing in the case's scope leaves retention before the case is due".into(),
            );
            return Err(self.refuse(caller, Op::CasePreserve, Some(id), query, err));
        }
        let due_day = due::due(&case, &self.cfg.due).day;
        let r = &case.request;
        let req = NewCase {
            request_type: RequestType::Preservation.as_str().into(),
            authority: r.authority.clone(),
            case_number: r.case_number.clone(),
            decision_date: r.decision_date.clone(),
            legal_force_date: None,
            deadline: None,
            order_sha256: r.order_sha256.clone(),
            notes: format!(
                "Bevarande för ärende {}: {} av dess uppgifter lämnar lagringstiden före svarsdagen {}.",
                case.id,
                risk.len(),
                due_day
            ),
            scope: risk.iter().map(|a| r.scope[a.item].clone()).collect(),
            preserve_until: Some(crate::calendar::Span::Months(1).after(due_day).to_string()),
            applicant: None,
        };
        if let Err(problems) = req.validate() {
            let err = LegalError::Case(CaseError::Invalid(problems));
            return Err(self.refuse(caller, Op::CasePreserve, Some(id), query, err));
        }
        let year = chrono::Datelike::year(&crate::calendar::stockholm_day(now));
        let linked = case.id.clone();
        let kept = register::create(self.data_dir(), year, |new_id| {
            let mut c = Case::registered(new_id, req, &who.name, now);
            c.created_by_person = Some(who.person.clone());
            c.preserves = Some(linked);
            c
        })?;
        register::update(self.data_dir(), id, |c| {
            c.preservation = Some(kept.id.clone());
            Ok(())
        })?;
        let mut e = self.entry(caller, Op::CasePreserve, Some(id), query);
        e.legal_basis = Some(RequestType::Preservation.as_str().into());
        e.result_count = kept.request.scope.len() as u64;
        e.outcome = format!("registered:{}", kept.id);
        self.commit(e)?;
        Ok(kept)
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

/// Which cases `GET /v1/cases?due=` and `tdr case list --due` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueFilter {
    /// Past their due time and not answered.
    Overdue,
    /// Overdue, or due within `legal.due_soon`.
    Soon,
    /// Every case someone still has to act on.
    Open,
}

impl DueFilter {
    pub fn parse(s: &str) -> Option<DueFilter> {
        match s {
            "overdue" => Some(DueFilter::Overdue),
            "soon" => Some(DueFilter::Soon),
            "open" => Some(DueFilter::Open),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DueFilter::Overdue => "overdue",
            DueFilter::Soon => "soon",
            DueFilter::Open => "open",
        }
    }

    fn selects(self, s: due::Status) -> bool {
        match self {
            DueFilter::Overdue => s == due::Status::Overdue,
            DueFilter::Soon => matches!(s, due::Status::Overdue | due::Status::DueSoon),
            DueFilter::Open => s.waiting(),
        }
    }
}
