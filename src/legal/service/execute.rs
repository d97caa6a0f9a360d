//! Running a case: every scope item of an approved case is answered, identity is joined where
//! the request type may see it (with its field limits and the audited IPRED override), and
//! each answer is audited before it is kept.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::lookups::render_calls;
use super::{sha_hex, LegalError, Service};
use crate::error::ErrorKind;
use crate::identity::{IdentityRecord, IdentityRegister};
use crate::legal::auth::Caller;
use crate::legal::case::{
    Case, CaseError, FieldProblem, Officer, Override, Parsed, RequestType, State, Target,
    OVERRIDE_FIELDS,
};
use crate::legal::policy::Op;
use crate::legal::register;
use crate::legal::{Asked, Purpose};
use crate::model::UnixSecs;
use crate::report::{DisclosedIdentity, RecordStatus, ReportItem};
use crate::store::lookup::{Answer, Status};

impl Service {
    /// Runs every scope item of an approved case, joins identity where the request type may
    /// see it, and stores the answers. Each item is audited before it is kept. A data
    /// subject's restriction, rectification or erasure is carried out instead (see
    /// `rights.rs`, `erasure.rs`); the case is returned as stored afterwards.
    pub fn execute(
        &self,
        caller: &Caller,
        id: &str,
        over: Option<Override>,
    ) -> Result<Case, LegalError> {
        // Which rule runs depends on the type alone (the rule itself admits, checks and
        // audits); an override is refused below for every type but IPRED.
        if over.is_none() {
            match register::get(self.data_dir(), id).map(|c| c.request_type()) {
                Ok(RequestType::Restriction) => return self.execute_restriction(caller, id),
                Ok(RequestType::Rectification) => return self.execute_rectification(caller, id),
                Ok(RequestType::Erasure) => {
                    self.erase_case(caller, id)?;
                    return Ok(register::get(self.data_dir(), id)?);
                }
                _ => {}
            }
        }
        let now = self.clock.now();
        let query = json!({"override": over});
        let (who, case) =
            self.load_case(caller, Op::CaseExecute, id, &query, now, |c, today| {
                c.check_runnable(today, now, self.case_max_secs())?;
                if c.request_type() == RequestType::Access {
                    return Err(CaseError::NotForThisType(
                        "execute (an access request is answered by its access extract)",
                    ));
                }
                if c.request_type().subject_right() && over.is_some() {
                    return Err(CaseError::NotForThisType(
                        "a field override (only an IPRED disclosure is limited to name and address)",
                    ));
                }
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
            Some(self.identity()?)
        } else {
            None
        };
        // Read once: the subscribers whose data the ISP's own uses may not touch now.
        let restricted = self.restricted_for(kind.purpose(), now)?;
        let mut results = Vec::new();
        let mut seqs = Vec::new();
        let mut held = false;
        for (i, item) in case.request.scope.iter().enumerate() {
            let parsed = item
                .parse()
                .map_err(|r| LegalError::BadRequest(ErrorKind::CaseInvalid, r))?;
            let mut r = self.answer_item(
                kind,
                &parsed,
                identity.as_ref(),
                over.as_ref(),
                &restricted,
                now,
            )?;
            r.number = i as u32 + 1;
            r.asked = serde_json::to_value(item).unwrap_or(Value::Null);
            held |= r.identity.as_ref().is_some_and(|d| d.protected_identity);
            let text = serde_json::to_string(&r).unwrap_or_default();
            let mut e = self.entry(
                caller,
                Op::CaseExecute,
                Some(id),
                self.keyed_numbers(&r.asked),
            );
            e.action = "case_item".into();
            e.legal_basis = Some(kind.as_str().into());
            e.outcome = r.status.clone();
            e.result_count = r.evidence.len() as u64;
            e.result_digest = Some(sha_hex(text.as_bytes()));
            seqs.push(self.commit(e)?);
            results.push(r);
        }
        let (case, ()) = register::update(self.data_dir(), id, |c| {
            if c.state != State::Approved {
                return Err(CaseError::WrongState(c.state.as_str(), "approved"));
            }
            c.override_fields = over;
            c.executed(&Officer::from(&who), now, results, seqs, held);
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

    /// One scope item's answer, with identity joined as the request type allows; an answer
    /// naming a `restricted` subscriber names nobody.
    fn answer_item(
        &self,
        kind: RequestType,
        parsed: &Parsed,
        identity: Option<&IdentityRegister>,
        over: Option<&Override>,
        restricted: &HashSet<String>,
        now: UnixSecs,
    ) -> Result<ReportItem, LegalError> {
        let purpose = kind.purpose();
        let (earliest, asked) = match parsed {
            Parsed::Address(Target::Point { ip, port, at }) => (
                *at,
                Asked::Address {
                    ip: *ip,
                    port: *port,
                },
            ),
            Parsed::Address(Target::Window { ip, port, from, .. }) => (
                *from,
                Asked::Address {
                    ip: *ip,
                    port: *port,
                },
            ),
            Parsed::Calls { number, from, .. } => (*from, Asked::Calls { number }),
            Parsed::Subscriber(_) => {
                return Err(CaseError::NotForThisType(
                    "a subscriber item outside an access request",
                )
                .into())
            }
        };
        let scope = self.scope_for(purpose, earliest, now, asked);
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
                if !restrict(&mut item, &answer, restricted) {
                    self.fill(&mut item, answer, purpose, *at, identity, over)?;
                }
            }
            Parsed::Address(Target::Window { ip, port, from, to }) => {
                item.window = Some((*from, *to));
                let (answer, held_at) = self.attribute_window(*ip, *port, *from, *to, &scope)?;
                if restrict(&mut item, &answer, restricted) {
                    return Ok(item);
                }
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
            // Refused above: an access request has no evidence of its own here.
            Parsed::Subscriber(_) => {}
            Parsed::Calls { number, from, to } => {
                item.window = Some((*from, *to));
                let a = crate::store::cdr::answer(self.store.as_ref(), &scope, number, *from, *to)?;
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

    fn fill(
        &self,
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
}

/// Replaces the answer by `restricted` when it names a subscriber under a restriction of
/// processing (GDPR art. 18): no subscriber, no identity, no pseudonym, no evidence. Whether
/// the subscriber held the address, or was one of several candidates, is not said either.
fn restrict(item: &mut ReportItem, answer: &Answer, restricted: &HashSet<String>) -> bool {
    if !answer
        .matches
        .iter()
        .any(|m| restricted.contains(&m.subscriber))
    {
        return false;
    }
    item.status = RESTRICTED.into();
    item.record_status = RecordStatus::Partial;
    item.warnings.push(
        "restricted: the data is under a restriction of processing (GDPR art. 18) and is not \
         used for this purpose"
            .into(),
    );
    true
}

/// The status of an answer withheld by a restriction of processing.
pub(super) const RESTRICTED: &str = "restricted";

fn check_override(kind: RequestType, over: Option<&Override>) -> Result<(), CaseError> {
    let Some(o) = over else { return Ok(()) };
    if kind != RequestType::Ipred {
        return Err(CaseError::NotForThisType(
            "a field override (only an IPRED disclosure is limited to name and address)",
        ));
    }
    let mut problems = Vec::new();
    if o.reason.trim().is_empty() {
        problems.push(FieldProblem {
            field: "override.reason".into(),
            reason: "an override states its reason".into(),
        });
    }
    if o.fields.is_empty()
        || o.fields
            .iter()
            .any(|f| !OVERRIDE_FIELDS.contains(&f.as_str()))
    {
        problems.push(FieldProblem {
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
