//! Lookups: an address (at a moment or over a window) or a number's calls inside an approved
//! case's scope, and the security team's pseudonymous abuse lookup; with the read scope each
//! purpose gets and how a window's answers combine.

use std::net::IpAddr;

use serde_json::{json, Value};

use super::{sha_hex, LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::CaseError;
use crate::legal::policy::Op;
use crate::legal::{Asked, Purpose};
use crate::model::{fmt_time, UnixSecs};
use crate::store::lookup::{Answer, Attributor, Scope, Status};

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

impl Service {
    /// Lookups inside an approved case's scope (an order naming a window is answered one time
    /// at a time). Every query is checked against the scope before the first one runs: a list
    /// is answered whole or not at all. `purpose`, when given, must be the case's. Each answer
    /// is audited, then handed to `each` (which returns false to stop). Answers name the
    /// network subscriber, never identity.
    pub fn case_lookups(
        &self,
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
        let now = self.clock.now();
        let (_, case) = self.load_case(caller, Op::CaseLookup, id, &first, now, |c, today| {
            c.check_runnable(today, now, self.case_max_secs())?;
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
        let restricted = self.restricted_for(purpose, now)?;
        for q in queries {
            let asked = Asked::Address {
                ip: q.ip,
                port: q.port,
            };
            let scope = self.scope_for(purpose, q.at, now, asked);
            let mut answer = self.attribute(q.ip, q.port, q.at, &scope)?;
            let withheld = names_restricted(&answer, &restricted);
            if !purpose.reveals_subscriber_id() {
                for m in &mut answer.matches {
                    m.subscriber = self.audit.pseudonym(&m.subscriber);
                }
            }
            let out = if withheld {
                restricted_answer(q.given.clone())
            } else {
                answer.to_json(q.given.clone())
            };
            let mut e = self.entry(caller, Op::CaseLookup, Some(id), q.given.clone());
            e.legal_basis = Some(purpose.as_str().into());
            e.outcome = out["status"].as_str().unwrap_or_default().into();
            e.result_count = if withheld {
                0
            } else {
                answer.matches.len() as u64
            };
            e.result_digest = Some(sha_hex(out.to_string().as_bytes()));
            self.commit(e)?;
            if !each(out) {
                break;
            }
        }
        Ok(())
    }

    /// One lookup inside an approved case's scope; see [`Service::case_lookups`].
    pub fn case_lookup(
        &self,
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

    /// The calls of a number within an approved case's scope. The audit entry (and that of a
    /// refusal) holds the number's keyed hash, not the number.
    pub fn case_calls(
        &self,
        caller: &Caller,
        id: &str,
        given: Value,
        number: &str,
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Value, LegalError> {
        let now = self.clock.now();
        let audited = self.keyed_numbers(&given);
        let (_, case) = self.load_case(caller, Op::CaseLookup, id, &audited, now, |c, today| {
            c.check_runnable(today, now, self.case_max_secs())
                .and_then(|()| c.covers_calls(number, from, to))
        })?;
        let purpose = case.request_type().purpose();
        let scope = self.scope_for(purpose, from, now, Asked::Calls { number });
        let a = crate::store::cdr::answer(self.store.as_ref(), &scope, number, from, to)?;
        let norm = crate::store::cdr::normalize_number(number);
        let calls = render_calls(&norm, &a.calls, |n| {
            if purpose.reveals_subscriber_id() {
                n.to_string()
            } else {
                self.audit.pseudonym(n)
            }
        });
        let out = json!({"query": given, "status": a.status, "calls": calls});
        let mut e = self.entry(caller, Op::CaseLookup, Some(id), audited);
        e.legal_basis = Some(purpose.as_str().into());
        e.outcome = a.status.into();
        e.result_count = calls.len() as u64;
        e.result_digest = Some(sha_hex(out.to_string().as_bytes()));
        self.commit(e)?;
        Ok(out)
    }

    /// A query as its audit entry keeps it: a `number` field is replaced by `number_keyed`, the
    /// keyed hash of the normalised number under the audit key (the pseudonym an abuse answer
    /// gives that number), so the log holds no telephone number in clear.
    pub(super) fn keyed_numbers(&self, query: &Value) -> Value {
        let mut out = query.clone();
        if let Some(fields) = out.as_object_mut() {
            if let Some(Value::String(n)) = fields.remove("number") {
                let norm = crate::store::cdr::normalize_number(&n);
                fields.insert("number_keyed".into(), self.audit.pseudonym(&norm).into());
            }
        }
        out
    }

    /// The security team's lookup: security-class data only, a pseudonym instead of the
    /// subscriber, under an internal ticket reference.
    pub fn abuse_lookup(
        &self,
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
                ErrorKind::RequestInvalid,
                "reference: name the abuse ticket".into(),
            );
            return Err(self.refuse(caller, Op::AbuseLookup, None, given, err));
        }
        let now = self.clock.now();
        let scope = self.scope_for(Purpose::Abuse, at, now, Asked::Address { ip, port });
        let mut answer = self.attribute(ip, port, at, &scope)?;
        // The register is read only when the answer names someone.
        let withheld = !answer.matches.is_empty()
            && names_restricted(&answer, &self.restricted_for(Purpose::Abuse, now)?);
        for m in &mut answer.matches {
            m.subscriber = self.audit.pseudonym(&m.subscriber);
        }
        let out = if withheld {
            restricted_answer(given.clone())
        } else {
            answer.to_json(given.clone())
        };
        let text = out.to_string();
        let mut e = self.entry(caller, Op::AbuseLookup, Some(reference), given);
        e.legal_basis = Some("abuse".into());
        e.outcome = out["status"].as_str().unwrap_or_default().into();
        e.result_count = if withheld {
            0
        } else {
            answer.matches.len() as u64
        };
        e.result_digest = Some(sha_hex(text.as_bytes()));
        self.commit(e)?;
        Ok(out)
    }

    /// The read scope of a purpose for what is `asked` from `earliest` on. Past retention, law
    /// enforcement reads only what an active preservation order's item names (the address or
    /// number, within the item's time). Holds are read (every case file) only when law
    /// enforcement asks for a time some class no longer retains, so ordinary lookups do not
    /// grow slower with the number of cases.
    pub(super) fn scope_for(
        &self,
        purpose: Purpose,
        earliest: UnixSecs,
        now: UnixSecs,
        asked: Asked<'_>,
    ) -> Scope {
        let mut scope = Scope::new(&self.cfg, purpose.readable_classes(), now);
        let past_some_retention = scope.allowed.iter().any(|c| !scope.retained(*c, earliest));
        if purpose == Purpose::LawEnforcement && past_some_retention {
            scope.held = crate::legal::held_items(self.data_dir(), now, asked).unwrap_or_default();
        }
        scope
    }

    pub(super) fn attribute(
        &self,
        ip: IpAddr,
        port: Option<u16>,
        at: UnixSecs,
        scope: &Scope,
    ) -> Result<Answer, LegalError> {
        Ok(Attributor {
            store: self.store.as_ref(),
            cfg: &self.cfg,
        }
        .lookup(ip, port, at, scope)?)
    }

    /// A window: answered at its start, its end and at every change of holder inside it; one
    /// subscriber throughout is `found`, anything else is the weakest status seen.
    pub(super) fn attribute_window(
        &self,
        ip: IpAddr,
        port: Option<u16>,
        from: UnixSecs,
        to: UnixSecs,
        scope: &Scope,
    ) -> Result<(Answer, Option<UnixSecs>), LegalError> {
        let a = Attributor {
            store: self.store.as_ref(),
            cfg: &self.cfg,
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
}

/// Whether an answer names (as holder or candidate) a subscriber under a restriction.
fn names_restricted(answer: &Answer, restricted: &std::collections::HashSet<String>) -> bool {
    !restricted.is_empty()
        && answer
            .matches
            .iter()
            .any(|m| restricted.contains(&m.subscriber))
}

/// An answer withheld by a restriction of processing (GDPR art. 18): the query and the status
/// `restricted`, nothing about who held the address (no pseudonym, no evidence).
fn restricted_answer(given: Value) -> Value {
    json!({"query": given, "status": super::execute::RESTRICTED, "matches": [], "sharing": null})
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
