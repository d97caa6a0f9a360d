//! The IPRED notice to the subscriber (URL 53 h §) and the compensation ledger, as Service
//! operations: list the notices, make a letter (a read of the identity register, audited
//! before it is returned), release a protected identity's letter (a second legal officer),
//! record the posting, export the ledger; and the hook that makes both when a report is first
//! disclosed. The rules are in `legal::notice` and `legal::ledger`, the letter's model in
//! `report::letter`; this file joins them with the case register, the identity register and
//! the audit log.

use serde_json::{json, Value};

use super::{sha_hex, today, LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::{Case, CaseError, Officer, RequestType};
use crate::legal::ledger;
use crate::legal::notice::{self, Counts, Notice, NoticeError, Status};
use crate::legal::policy::Op;
use crate::legal::register;
use crate::model::{fmt_time, UnixSecs};
use crate::report::letter::{Letter, Recipient};

/// [`Service::clock_counts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockCounts {
    pub cases_overdue: u64,
    pub cases_due_soon: u64,
    pub notices: Counts,
}

/// A letter as made: the document, its media type, and whether its window had closed.
#[derive(Debug, Clone)]
pub struct LetterOut {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub late: bool,
}

/// A notice as lists show it: case, item, window, status; no personal data.
pub fn notice_view(case: &str, n: &Notice, now: UnixSecs) -> Value {
    json!({
        "case": case,
        "item": n.item,
        "disclosed_at": fmt_time(n.disclosed_at),
        "opens_at": fmt_time(n.opens_at),
        "closes_at": fmt_time(n.closes_at),
        "status": n.status(now).as_str(),
        "held": n.held(),
        "letters": n.letters.len(),
        "last_letter_at": n.letters.last().map(|m| fmt_time(m.mark.at)),
        "sent_at": n.sent.as_ref().map(|m| fmt_time(m.at)),
        "sent_by": n.sent.as_ref().map(|m| m.by.clone()),
    })
}

fn refusal(e: NoticeError) -> LegalError {
    LegalError::BadRequest(e.kind(), e.to_string())
}

/// The identity fields the disclosure gave out, in Swedish.
fn disclosed_fields(d: &crate::report::DisclosedIdentity) -> Vec<String> {
    let mut out = vec!["namn".to_string()];
    if d.street.is_some() || d.postal_code.is_some() || d.city.is_some() {
        out.push("postadress".into());
    }
    if d.customer_id.is_some() {
        out.push("kundnummer".into());
    }
    if d.personal_number.is_some() {
        out.push("personnummer".into());
    }
    out
}

impl Service {
    /// Fills a case's notices and ledger entries as its report is first disclosed (called
    /// under the register's lock, in the same write as the disclosure; a case that has them
    /// keeps them, so nothing is added twice).
    pub(super) fn on_disclosure(&self, c: &mut Case, now: UnixSecs) {
        let kind = c.request_type();
        if c.notices.is_empty() {
            c.notices = notice::owed(kind, &c.results, now, &self.cfg.notice);
        }
        if c.ledger.is_empty() {
            c.ledger = ledger::entries(kind, &c.results, now, &self.cfg.compensation);
        }
    }

    /// Every notice (or those of one status), oldest disclosure first. No personal data.
    pub fn notices(
        &self,
        caller: &Caller,
        status: Option<Status>,
    ) -> Result<Vec<Value>, LegalError> {
        let now = self.clock.now();
        let query = json!({"status": status.map(Status::as_str)});
        self.admit(caller, Op::NoticeList, None, &query)?;
        let mut rows: Vec<(UnixSecs, String, u32, Value)> = Vec::new();
        for c in register::list(self.data_dir())? {
            for n in &c.notices {
                if status.is_none_or(|s| n.status(now) == s) {
                    rows.push((
                        n.disclosed_at,
                        c.id.clone(),
                        n.item,
                        notice_view(&c.id, n, now),
                    ));
                }
            }
        }
        rows.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
        let out: Vec<Value> = rows.into_iter().map(|r| r.3).collect();
        let mut e = self.entry(caller, Op::NoticeList, None, query);
        e.result_count = out.len() as u64;
        self.commit(e)?;
        Ok(out)
    }

    /// What the law's clocks count now, from one read of the register: cases overdue and due
    /// soon, notices due and late. Counts only, for the metrics (not audited: no case, item
    /// or person in it).
    pub fn clock_counts(&self) -> Result<ClockCounts, LegalError> {
        let now = self.clock.now();
        let cases = register::list(self.data_dir())?;
        let (cases_overdue, cases_due_soon) = crate::legal::due::counts(&cases, &self.cfg.due, now);
        Ok(ClockCounts {
            cases_overdue,
            cases_due_soon,
            notices: Counts::of(cases.iter().flat_map(|c| c.notices.iter()), now),
        })
    }

    /// The letter of one notice, in Swedish, `format` `html` or `text`, addressed to the
    /// address the identity register holds on the day it is made. Refused before the window
    /// opens; after it closes it is still made, marked late. A protected identity's letter
    /// waits for a second legal officer's release (the first ask is recorded and audited as
    /// `held:protected_identity`) and then goes through Skatteverket's forwarding, without the
    /// person's name or address. Audited before it is returned.
    pub fn notice_letter(
        &self,
        caller: &Caller,
        id: &str,
        item: u32,
        format: &str,
    ) -> Result<LetterOut, LegalError> {
        let now = self.clock.now();
        let op = Op::NoticeLetter;
        let query = json!({"item": item, "format": format});
        let (who, case) = self.load_case(caller, op, id, &query, now, |_, _| Ok(()))?;
        let refuse = |e: LegalError| self.refuse(caller, op, Some(id), query.clone(), e);
        if !matches!(format, "html" | "text" | "pdf") {
            let e = LegalError::BadRequest(
                ErrorKind::RequestInvalid,
                "format is pdf, html or text".into(),
            );
            return Err(refuse(e));
        }
        let Some(n) = case.notices.iter().find(|n| n.item == item) else {
            return Err(refuse(refusal(NoticeError::NotFound(item))));
        };
        if now < n.opens_at {
            return Err(refuse(refusal(NoticeError::NotYetOpen(fmt_time(
                n.opens_at,
            )))));
        }
        let answered = case.results.iter().find(|r| r.number == item);
        let (Some(subscriber), Some(shown)) = (
            answered.and_then(|r| r.subscriber.clone()),
            answered.and_then(|r| r.identity.clone()),
        ) else {
            return Err(refuse(refusal(NoticeError::NotFound(item))));
        };
        let query = json!({"item": item, "format": format,
                           "subscriber": self.audit.pseudonym(&subscriber)});
        // The register as it is today: the address valid now, else the last one it holds.
        let reg = self.identity()?;
        let rec = match reg.at(&subscriber, now)? {
            Some(r) => Some((r, false)),
            None => reg
                .history(&subscriber)?
                .current
                .into_iter()
                .filter(|r| r.valid_from <= now)
                .max_by_key(|r| r.valid_from)
                .map(|r| (r, true)),
        };
        let protected = n.protected || rec.as_ref().is_some_and(|(r, _)| r.protected_identity);
        if protected && n.released.is_none() {
            let mut e = self.entry(caller, op, Some(id), query);
            e.legal_basis = Some(RequestType::Ipred.as_str().into());
            e.outcome = "held:protected_identity".into();
            self.commit(e)?;
            let by = Officer::from(&who);
            register::update(self.data_dir(), id, |c| {
                if let Some(n) = c.notices.iter_mut().find(|n| n.item == item) {
                    n.request(&by, now);
                }
                Ok(())
            })?;
            return Err(refusal(NoticeError::Held));
        }
        let Some((rec, last_known)) = rec else {
            return Err(refuse(refusal(NoticeError::NoAddress(
                "the identity register holds no row for the subscriber: no address to write to",
            ))));
        };
        let recipient = if protected {
            if rec.personal_number.trim().is_empty() {
                return Err(refuse(refusal(NoticeError::NoAddress(
                    "protected identity without a personal identity number: Skatteverket's \
                     forwarding needs one",
                ))));
            }
            Recipient::Forwarded {
                personal_number: rec.personal_number.clone(),
                forward_to: self.cfg.notice.forwarding_address.clone(),
            }
        } else {
            Recipient::Address {
                name: rec.name.clone(),
                street: rec.street.clone(),
                postal_code: rec.postal_code.clone(),
                city: rec.city.clone(),
                last_known,
            }
        };
        let asked = answered.map(|r| r.asked.clone()).unwrap_or_default();
        let late = now > n.closes_at;
        let letter = Letter {
            operator: self.cfg.serve.operator.clone(),
            operator_address: self.cfg.notice.sender_address.clone(),
            contact: self.cfg.notice.contact.clone(),
            date: today(now).to_string(),
            recipient,
            address: asked["addr"].as_str().unwrap_or("").to_string(),
            port: asked["port"].as_u64().and_then(|p| u16::try_from(p).ok()),
            at: answered
                .and_then(|r| r.at_utc.or(r.window.map(|w| w.0)))
                .map(crate::report::html::stockholm_text)
                .unwrap_or_default(),
            disclosed: disclosed_fields(&shown),
            disclosed_on: today(n.disclosed_at).to_string(),
            court: case.request.authority.clone(),
            court_case: case.request.case_number.clone(),
            reference: format!("{}/{item}", case.id),
            late,
        };
        let (body, content_type) = match format {
            "html" => (letter.html().into_bytes(), "text/html; charset=utf-8"),
            "pdf" => (letter.pdf(now), "application/pdf"),
            _ => (letter.text().into_bytes(), "text/plain; charset=utf-8"),
        };
        let sha = sha_hex(&body);
        let mut e = self.entry(caller, op, Some(id), query);
        e.legal_basis = Some(RequestType::Ipred.as_str().into());
        e.outcome = if late { "made:late" } else { "made" }.into();
        e.result_count = 1;
        e.result_digest = Some(sha.clone());
        self.commit(e)?;
        let by = Officer::from(&who);
        register::update(self.data_dir(), id, |c| {
            if let Some(n) = c.notices.iter_mut().find(|n| n.item == item) {
                n.protected |= protected;
                n.made(&by, now, late, sha);
            }
            Ok(())
        })?;
        Ok(LetterOut {
            body,
            content_type,
            late,
        })
    }

    /// The second legal officer's release of a protected identity's letter (another person
    /// than the one who asked for it).
    pub fn notice_release(
        &self,
        caller: &Caller,
        id: &str,
        item: u32,
    ) -> Result<Value, LegalError> {
        let now = self.clock.now();
        self.notice_step(caller, Op::NoticeRelease, id, item, |n, by| {
            n.release(by, now)
        })
    }

    /// Records that the letter was posted, and by whom (once; a letter must have been made).
    pub fn notice_sent(&self, caller: &Caller, id: &str, item: u32) -> Result<Value, LegalError> {
        let now = self.clock.now();
        self.notice_step(caller, Op::NoticeSent, id, item, |n, by| {
            n.mark_sent(by, now)
        })
    }

    /// A change to one notice: audited as asked, made under the register's lock, audited as
    /// done; a refusal is audited.
    fn notice_step(
        &self,
        caller: &Caller,
        op: Op,
        id: &str,
        item: u32,
        f: impl FnOnce(&mut Notice, &Officer) -> Result<(), NoticeError>,
    ) -> Result<Value, LegalError> {
        let now = self.clock.now();
        let query = json!({"item": item});
        let who = self.admit(caller, op, Some(id), &query)?;
        let mut pending = self.entry(caller, op, Some(id), query.clone());
        pending.outcome = "requested".into();
        self.commit(pending)?;
        let mut failed = None;
        let done = register::update(self.data_dir(), id, |c| {
            let Some(n) = c.notices.iter_mut().find(|n| n.item == item) else {
                failed = Some(NoticeError::NotFound(item));
                return Err(CaseError::WrongState("without this notice", "with it"));
            };
            if let Err(e) = f(n, &Officer::from(&who)) {
                failed = Some(e);
                return Err(CaseError::WrongState("unchanged", "changed"));
            }
            Ok(notice_view(&c.id, n, now))
        });
        match (done, failed) {
            (_, Some(e)) => Err(self.refuse(caller, op, Some(id), query, refusal(e))),
            (Err(e), None) => Err(self.refuse(caller, op, Some(id), query, e.into())),
            (Ok((_, v)), None) => {
                let mut e = self.entry(caller, op, Some(id), query);
                e.legal_basis = Some(RequestType::Ipred.as_str().into());
                self.commit(e)?;
                Ok(v)
            }
        }
    }

    /// The ledger's rows disclosed in `[from, to)` (either end open when `None`), of one
    /// authority when given (exact name, case and spaces at the ends ignored), oldest first.
    pub fn ledger(
        &self,
        caller: &Caller,
        from: Option<UnixSecs>,
        to: Option<UnixSecs>,
        authority: Option<&str>,
    ) -> Result<Vec<ledger::Row>, LegalError> {
        let query = json!({"from": from.map(fmt_time), "to": to.map(fmt_time),
                           "authority": authority});
        self.admit(caller, Op::LedgerExport, None, &query)?;
        let wanted = authority.map(|a| a.trim().to_lowercase());
        let mut rows = Vec::new();
        for c in register::list(self.data_dir())? {
            let name = c.request.authority.trim().to_lowercase();
            if wanted.as_ref().is_some_and(|w| *w != name) {
                continue;
            }
            for e in &c.ledger {
                let t = e.disclosed_at;
                if from.is_some_and(|f| t < f) || to.is_some_and(|x| t >= x) {
                    continue;
                }
                rows.push(ledger::Row {
                    case: c.id.clone(),
                    request_type: c.request.request_type.clone(),
                    authority: c.request.authority.clone(),
                    case_number: c.request.case_number.clone(),
                    entry: e.clone(),
                });
            }
        }
        rows.sort_by(|a, b| (a.entry.disclosed_at, &a.case).cmp(&(b.entry.disclosed_at, &b.case)));
        let mut e = self.entry(caller, Op::LedgerExport, None, query);
        e.result_count = rows.len() as u64;
        e.result_digest = Some(sha_hex(ledger::csv(&rows).as_bytes()));
        self.commit(e)?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::config::{Config, NoticeSettings, Payer, Rate};
    use crate::legal::auth::{Caller, Principal, Role};
    use crate::legal::case::NewCase;
    use crate::legal::notice::Status;
    use crate::legal::register;
    use crate::legal::service::tests::{fixture_with, Fixture};
    use crate::model::parse_time;

    fn t(s: &str) -> i64 {
        parse_time(s).unwrap()
    }

    fn who(name: &str, person: &str, role: Role) -> Caller {
        Caller {
            who: Ok(Principal {
                name: name.into(),
                role,
                person: person.into(),
            }),
            claimed: None,
            channel: "cli",
            peer: None,
        }
    }

    fn anna() -> Caller {
        who("anna", "E-anna", Role::Legal)
    }

    fn bert() -> Caller {
        who("bert", "E-bert", Role::Legal)
    }

    fn order(kind: &str, authority: &str, scope: serde_json::Value) -> NewCase {
        serde_json::from_value(json!({
            "request_type": kind,
            "authority": authority,
            "case_number": "PMÄ 1234-26",
            "decision_date": "2026-11-19",
            "legal_force_date": "2026-11-19",
            "order_sha256": "ab".repeat(32),
            "scope": scope,
        }))
        .unwrap()
    }

    fn at(addr: &str) -> serde_json::Value {
        json!([{"addr": addr, "port": 40000, "at": "2026-11-20T10:30:00Z"}])
    }

    const HEADER: &str = "subscriber,customer_id,name,street,postal_code,city,personal_number,\
                          protected_identity,valid_from,valid_to";

    fn service_with_rates() -> Fixture {
        fixture_with(Config {
            notice: NoticeSettings {
                contact: "kundservice@example.se".into(),
                ..NoticeSettings::default()
            },
            compensation: vec![
                Rate {
                    category: "subscriber".into(),
                    payer: Payer::Authority,
                    amount_ore: 12_550,
                },
                Rate {
                    category: "subscriber".into(),
                    payer: Payer::RightsHolder,
                    amount_ore: 40_000,
                },
            ],
            ..Config::default()
        })
    }

    impl Fixture {
        fn register_rows(&self, rows: &str) {
            let csv = format!("{HEADER}\n{rows}");
            self.service
                .identity_import(&who("ada", "E-ada", Role::Admin), csv.as_bytes())
                .unwrap();
        }

        /// Registered by anna, approved by bert, executed and reported by anna (released by
        /// bert first when a protected identity holds it): the report's first disclosure.
        fn disclosed(&self, req: NewCase) -> String {
            let id = self.service.create_case(&anna(), req).unwrap().id;
            self.service.approve(&bert(), &id).unwrap();
            let c = self.service.execute(&anna(), &id, None).unwrap();
            if c.hold.is_some() {
                self.service.release(&bert(), &id).unwrap();
            }
            self.service.report(&anna(), &id, "json").unwrap();
            id
        }

        fn last(&self) -> crate::audit::NewEntry {
            self.audit.entries.lock().unwrap().last().unwrap().clone()
        }
    }

    #[test]
    fn the_notice_waits_opens_and_closes_and_the_letter_goes_to_the_address_of_its_day() {
        let f = service_with_rates();
        // The subscriber moves on 15 December, between the disclosure and the letter.
        f.register_rows(
            "sub-1,C1,Anna Andersson,Gamla gatan 1,111 11,Stockholm,19800101-1234,false,\
             2026-01-01T00:00:00Z,2026-12-15T00:00:00Z\n\
             sub-1,C1,Anna Andersson,Nya vägen 9,222 22,Lund,19800101-1234,false,\
             2026-12-15T00:00:00Z,\n",
        );
        let id = f.disclosed(order(
            "ipred",
            "Patent- och marknadsdomstolen",
            json!([{"addr": "192.0.2.10", "at": "2026-11-20T10:30:00Z"}]),
        ));
        // Disclosed 2026-11-21 11:00 Stockholm: the window is 21 December to 21 February.
        let list = f.service.notices(&anna(), None).unwrap();
        assert_eq!(list.len(), 1);
        let row = &list[0];
        assert_eq!(row["case"], id.as_str());
        assert_eq!(row["item"], 1);
        assert_eq!(row["status"], "waiting");
        assert_eq!(row["opens_at"], "2026-12-21T10:00:00Z");
        assert_eq!(row["closes_at"], "2027-02-21T10:00:00Z");
        assert!(!row.to_string().contains("Anna"), "no personal data: {row}");
        assert_eq!(f.last().action, "notice_list");

        let err = f
            .service
            .notice_letter(&anna(), &id, 1, "text")
            .unwrap_err();
        assert_eq!(err.code(), "notice.not_yet_open");
        assert_eq!(f.last().outcome, "refused:notice.not_yet_open");

        f.clock.set(t("2027-01-10T09:00:00Z"));
        let due = f.service.notices(&anna(), Some(Status::Due)).unwrap();
        assert_eq!(due.len(), 1);
        assert!(f
            .service
            .notices(&anna(), Some(Status::Waiting))
            .unwrap()
            .is_empty());
        let letter = f.service.notice_letter(&anna(), &id, 1, "text").unwrap();
        assert!(!letter.late);
        let text = &String::from_utf8(letter.body.clone()).unwrap();
        for needle in [
            "Anna Andersson\nNya vägen 9\n222 22 Lund\n",
            "2027-01-10",
            "Patent- och marknadsdomstolen",
            "PMÄ 1234-26",
            "IP-adressen 192.0.2.10",
            "Den 2026-11-21 lämnade vi",
            "namn och postadress",
            "53 h §",
            "kundservice@example.se",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
        assert!(!text.contains("Gamla gatan"), "the old address: {text}");
        let e = f.last();
        assert_eq!(
            (e.action.as_str(), e.outcome.as_str()),
            ("notice_letter", "made")
        );
        assert_eq!(e.legal_basis.as_deref(), Some("ipred"));
        assert_eq!(
            e.result_digest.as_deref(),
            Some(super::sha_hex(text.as_bytes()).as_str())
        );
        assert!(!e.query.to_string().contains("sub-1"), "a pseudonym only");
        let html = f.service.notice_letter(&anna(), &id, 1, "html").unwrap();
        assert!(
            html.body.starts_with(b"<!DOCTYPE html>") && html.content_type.starts_with("text/html")
        );

        // Posted, by bert; once.
        let v = f.service.notice_sent(&bert(), &id, 1).unwrap();
        assert_eq!(
            (v["status"].as_str(), v["sent_by"].as_str()),
            (Some("sent"), Some("bert"))
        );
        let actions: Vec<(String, String)> = f
            .audit
            .entries
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take(2)
            .map(|e| (e.action.clone(), e.outcome.clone()))
            .collect();
        assert_eq!(
            actions,
            [
                ("notice_sent".into(), "ok".into()),
                ("notice_sent".into(), "requested".into())
            ]
        );
        let err = f.service.notice_sent(&anna(), &id, 1).unwrap_err();
        assert_eq!(err.code(), "notice.wrong_state");
        assert_eq!(f.last().outcome, "refused:notice.wrong_state");
        f.clock.set(t("2027-06-01T00:00:00Z"));
        assert_eq!(
            f.service.notices(&anna(), None).unwrap()[0]["status"],
            "sent"
        );
        let c = register::get(f.dir.path(), &id).unwrap();
        assert_eq!(c.notices[0].letters.len(), 2);
        assert_eq!(c.notices[0].sent.as_ref().unwrap().person, "E-bert");
        assert_eq!(
            f.service.clock_counts().unwrap().notices,
            Default::default()
        );
    }

    #[test]
    fn a_notice_not_sent_in_time_is_late_and_its_letter_is_marked_late() {
        let f = service_with_rates();
        f.register_rows(
            "sub-1,C1,Anna A,Gatan 1,111 11,Ort,19800101-1234,false,2026-01-01T00:00:00Z,\n",
        );
        let id = f.disclosed(order(
            "ipred",
            "Patent- och marknadsdomstolen",
            at("192.0.2.10"),
        ));
        f.clock.set(t("2027-02-21T10:00:00Z"));
        assert_eq!(
            f.service.notices(&anna(), None).unwrap()[0]["status"],
            "due"
        );
        let counts = f.service.clock_counts().unwrap().notices;
        assert_eq!((counts.due, counts.late), (1, 0));
        f.clock.advance(1);
        assert_eq!(
            f.service.notices(&anna(), None).unwrap()[0]["status"],
            "late"
        );
        assert_eq!(f.service.clock_counts().unwrap().notices.late, 1);
        let letter = f.service.notice_letter(&anna(), &id, 1, "text").unwrap();
        assert!(letter.late);
        let text = String::from_utf8(letter.body.clone()).unwrap();
        assert!(text.contains("och port 40000"), "{text}");
        assert_eq!(f.last().outcome, "made:late");
        assert!(register::get(f.dir.path(), &id).unwrap().notices[0].letters[0].late);
        // No such item, no such case.
        assert_eq!(
            f.service
                .notice_letter(&anna(), &id, 2, "text")
                .unwrap_err()
                .code(),
            "notice.not_found"
        );
        assert_eq!(
            f.service
                .notice_letter(&anna(), &id, 1, "docx")
                .unwrap_err()
                .code(),
            "request.invalid"
        );
        assert_eq!(
            f.service
                .notice_sent(&anna(), "C-2026-9999", 1)
                .unwrap_err()
                .code(),
            "case.not_found"
        );
    }

    #[test]
    fn a_protected_identity_is_held_for_another_officer_and_forwarded_without_its_address() {
        let f = service_with_rates();
        f.register_rows(
            "sub-1,C1,Hemlig Hansson,Dolda gatan 7,111 11,Ort,19800101-1234,true,\
             2026-01-01T00:00:00Z,\n",
        );
        let id = f.disclosed(order(
            "ipred",
            "Patent- och marknadsdomstolen",
            at("192.0.2.10"),
        ));
        f.clock.set(t("2027-01-10T09:00:00Z"));
        assert_eq!(f.service.notices(&anna(), None).unwrap()[0]["held"], true);
        let err = f
            .service
            .notice_letter(&anna(), &id, 1, "text")
            .unwrap_err();
        assert_eq!(err.code(), "notice.held_protected_identity");
        assert_eq!(f.last().outcome, "held:protected_identity");
        // Releasing first needs an ask; anna asked, so anna (under any user name) may not.
        let anna2 = who("anna-2", "E-anna", Role::Legal);
        let err = f.service.notice_release(&anna2, &id, 1).unwrap_err();
        assert_eq!(err.code(), "notice.four_eyes");
        assert_eq!(f.last().outcome, "refused:notice.four_eyes");
        f.service.notice_release(&bert(), &id, 1).unwrap();
        assert_eq!(f.last().action, "notice_release");
        let err = f.service.notice_release(&bert(), &id, 1).unwrap_err();
        assert_eq!(err.code(), "notice.wrong_state", "released once");
        let letter = f.service.notice_letter(&anna(), &id, 1, "text").unwrap();
        let text = &String::from_utf8(letter.body.clone()).unwrap();
        assert!(text.contains("Personnummer: 19800101-1234\n"), "{text}");
        assert!(
            text.contains("Skatteverket\nBox 2820\n403 20 Göteborg\n"),
            "{text}"
        );
        for secret in ["Hemlig", "Hansson", "Dolda gatan", "111 11"] {
            assert!(!text.contains(secret), "{secret} in\n{text}");
        }
        let html = f
            .service
            .notice_letter(&anna(), &id, 1, "html")
            .unwrap()
            .body;
        let html = String::from_utf8(html).unwrap();
        assert!(!html.contains("Dolda gatan") && html.contains("Box 2820"));
        // The PDF of the same letter: PDF/A, and still no trace of the person's address.
        let pdf = f.service.notice_letter(&anna(), &id, 1, "pdf").unwrap();
        assert_eq!(pdf.content_type, "application/pdf");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("letter.pdf");
        std::fs::write(&file, &pdf.body).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext (Debian package poppler-utils)");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Box 2820") && text.contains("Personnummer"),
            "{text}"
        );
        for secret in ["Hemlig", "Dolda gatan", "111 11"] {
            assert!(!text.contains(secret), "{secret} in the PDF:\n{text}");
        }
    }

    #[test]
    fn an_identity_protected_after_the_disclosure_is_held_too() {
        let f = service_with_rates();
        f.register_rows(
            "sub-1,C1,Anna A,Gatan 1,111 11,Ort,19800101-1234,false,2026-01-01T00:00:00Z,\
             2026-12-01T00:00:00Z\n\
             sub-1,C1,Anna A,Gatan 1,111 11,Ort,19800101-1234,true,2026-12-01T00:00:00Z,\n",
        );
        let id = f.disclosed(order(
            "ipred",
            "Patent- och marknadsdomstolen",
            at("192.0.2.10"),
        ));
        f.clock.set(t("2027-01-10T09:00:00Z"));
        assert!(!register::get(f.dir.path(), &id).unwrap().notices[0].protected);
        let err = f
            .service
            .notice_letter(&anna(), &id, 1, "text")
            .unwrap_err();
        assert_eq!(err.code(), "notice.held_protected_identity");
        assert!(register::get(f.dir.path(), &id).unwrap().notices[0].protected);
        f.service.notice_release(&bert(), &id, 1).unwrap();
        let text = f
            .service
            .notice_letter(&bert(), &id, 1, "text")
            .unwrap()
            .body;
        let text = String::from_utf8(text).unwrap();
        assert!(
            !text.contains("Gatan 1") && text.contains("Box 2820"),
            "{text}"
        );
    }

    #[test]
    fn law_enforcement_gets_no_notice_and_each_disclosure_one_ledger_entry_per_category() {
        let f = service_with_rates();
        f.register_rows(
            "sub-1,C1,Anna A,Gatan 1,111 11,Ort,19800101-1234,false,2026-01-01T00:00:00Z,\n",
        );
        let le = f.disclosed(order(
            "law_enforcement",
            "Polismyndigheten",
            at("192.0.2.10"),
        ));
        // Nobody held 192.0.2.99: nothing disclosed, nothing charged.
        let empty = f.disclosed(order(
            "law_enforcement",
            "Polismyndigheten",
            at("192.0.2.99"),
        ));
        f.clock.advance(86_400);
        let ipred = f.disclosed(order(
            "ipred",
            "Patent- och marknadsdomstolen",
            at("192.0.2.10"),
        ));
        for id in [&le, &empty] {
            assert!(register::get(f.dir.path(), id).unwrap().notices.is_empty());
        }
        f.clock.set(t("2027-01-10T09:00:00Z"));
        let all = f.service.notices(&anna(), None).unwrap();
        assert_eq!(all.len(), 1, "only the IPRED disclosure: {all:?}");
        assert_eq!(all[0]["case"], ipred.as_str());
        assert_eq!(
            f.service
                .notice_letter(&anna(), &le, 1, "text")
                .unwrap_err()
                .code(),
            "notice.not_found"
        );
        // A copy of the report adds nothing.
        f.service.report(&bert(), &le, "xml").unwrap();
        f.service.report(&bert(), &le, "json").unwrap();
        assert_eq!(register::get(f.dir.path(), &le).unwrap().ledger.len(), 1);
        assert!(register::get(f.dir.path(), &empty)
            .unwrap()
            .ledger
            .is_empty());

        let rows = f.service.ledger(&anna(), None, None, None).unwrap();
        assert_eq!(rows.len(), 2);
        let csv = crate::legal::ledger::csv(&rows);
        assert_eq!(
            csv,
            format!(
                "disclosed_at,case,request_type,authority,case_number,category,payer,items,\
                 amount_sek,currency\r\n\
                 2026-11-21T10:00:00Z,{le},law_enforcement,Polismyndigheten,PMÄ 1234-26,\
                 subscriber,authority,1,125.50,SEK\r\n\
                 2026-11-22T10:00:00Z,{ipred},ipred,Patent- och marknadsdomstolen,PMÄ 1234-26,\
                 subscriber,rights_holder,1,400.00,SEK\r\n"
            )
        );
        let e = f.last();
        assert_eq!((e.action.as_str(), e.result_count), ("ledger_export", 2));
        // Per authority, and per period: [from, to).
        let police = f
            .service
            .ledger(&anna(), None, None, Some(" polismyndigheten "))
            .unwrap();
        assert_eq!(police.len(), 1);
        assert_eq!(police[0].case, le);
        let day2 = f
            .service
            .ledger(
                &anna(),
                Some(t("2026-11-22T00:00:00Z")),
                Some(t("2026-11-23T00:00:00Z")),
                None,
            )
            .unwrap();
        assert_eq!(
            day2.iter().map(|r| r.case.as_str()).collect::<Vec<_>>(),
            [ipred.as_str()]
        );
        let none = f
            .service
            .ledger(&anna(), None, Some(t("2026-11-21T10:00:00Z")), None)
            .unwrap();
        assert!(none.is_empty(), "the end is exclusive");
    }

    #[test]
    fn every_notice_and_ledger_operation_is_for_legal_officers_only() {
        let f = service_with_rates();
        for role in [Role::Security, Role::Auditor, Role::Ops, Role::Admin] {
            let c = who("someone", "E-x", role);
            let errs = [
                f.service.notices(&c, None).map(drop).unwrap_err(),
                f.service
                    .notice_letter(&c, "C-2026-0001", 1, "text")
                    .map(drop)
                    .unwrap_err(),
                f.service
                    .notice_release(&c, "C-2026-0001", 1)
                    .map(drop)
                    .unwrap_err(),
                f.service
                    .notice_sent(&c, "C-2026-0001", 1)
                    .map(drop)
                    .unwrap_err(),
                f.service
                    .ledger(&c, None, None, None)
                    .map(drop)
                    .unwrap_err(),
            ];
            for e in errs {
                assert_eq!(e.code(), "auth.forbidden", "{role:?}");
            }
        }
        let refused: Vec<String> = f
            .audit
            .entries
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.outcome == "refused:auth.forbidden")
            .map(|e| e.action.clone())
            .collect();
        assert_eq!(refused.len(), 20);
        for action in [
            "notice_list",
            "notice_letter",
            "notice_release",
            "notice_sent",
            "ledger_export",
        ] {
            assert_eq!(
                refused.iter().filter(|a| *a == action).count(),
                4,
                "{action}"
            );
        }
    }
}
