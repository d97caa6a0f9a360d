//! The data subject's rights as cases (issue 18): a restriction placed, felt by the ISP's own
//! uses (abuse lookups, IPRED) and not by law enforcement, lifted by two persons, ended by its
//! date; a rectification that keeps the old version and lists the IPRED recipients to tell;
//! and each new type refused for the wrong role or a single officer.

use serde_json::{json, Value};

use super::tests::{fixture, order, user, Fixture};
use crate::legal::auth::{Caller, Role};
use crate::legal::case::{NewCase, State};
use crate::model::parse_time;

const CRM: &str =
    "sub-1,C1,Åsa Öberg,Storgatan 1,11455,Stockholm,19800101-1234,false,2026-01-01T00:00:00Z,\n";

/// The time sub-1 held 192.0.2.10 (the fixture's hour).
const HELD_AT: &str = "2026-11-20T10:30:00Z";

fn subject(kind: &str, subscriber: &str, extra: Value) -> NewCase {
    let mut v = json!({
        "request_type": kind,
        "authority": "the data subject",
        "case_number": "DSR-2026-7",
        "scope": [{"subscriber": subscriber}],
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn restriction(until: &str) -> NewCase {
    subject(
        "restriction",
        "sub-1",
        json!({"restrict_until": until, "notes": "the subscriber disputes an abuse report"}),
    )
}

fn anna() -> Caller {
    user("anna", Role::Legal)
}

fn bert() -> Caller {
    user("bert", Role::Legal)
}

impl Fixture {
    fn abuse(&self) -> Value {
        self.service
            .abuse_lookup(
                &user("sara", Role::Security),
                "TICKET-9",
                json!({"addr": "192.0.2.10", "at": HELD_AT}),
                "192.0.2.10".parse().unwrap(),
                None,
                parse_time(HELD_AT).unwrap(),
            )
            .unwrap()
    }

    /// A case of `kind` for 192.0.2.10, approved and executed; its one answer.
    fn answer(&self, kind: &str) -> Value {
        let id = self.approved(order(kind, "192.0.2.10", HELD_AT));
        let c = self.service.execute(&anna(), &id, None).unwrap();
        serde_json::to_value(&c.results[0]).unwrap()
    }

    /// A restriction of sub-1 until `until`, approved and executed.
    fn restricted(&self, until: &str) -> String {
        let id = self.approved(restriction(until));
        let c = self.service.execute(&anna(), &id, None).unwrap();
        assert_eq!(c.state, State::Executed);
        id
    }

    fn last_outcome(&self) -> String {
        self.entries().pop().unwrap().outcome
    }
}

#[test]
fn a_restriction_withholds_abuse_and_ipred_answers_but_not_law_enforcement_until_lifted() {
    let f = fixture();
    f.crm(CRM);
    assert_eq!(f.abuse()["status"], "found");
    let id = f.restricted("2026-12-31");
    // The placing is audited with the subscriber's pseudonym, never the identifier.
    let placed = f
        .entries()
        .into_iter()
        .rev()
        .find(|e| e.outcome == "restriction_placed")
        .expect("the restriction's entry");
    assert_eq!(placed.action, "case_execute");
    assert_eq!(placed.legal_basis.as_deref(), Some("restriction"));
    assert_eq!(placed.query["subscriber"], "pseudo-5");
    assert!(!placed.query.to_string().contains("sub-1"));

    // The security team's lookup: restricted, no pseudonym, no evidence; audited so.
    let a = f.abuse();
    assert_eq!(a["status"], "restricted", "{a}");
    assert_eq!(a["matches"], json!([]));
    assert!(!a.to_string().contains("pseudo-5") && !a.to_string().contains("sub-1"));
    assert_eq!(f.last_outcome(), "restricted");

    // An IPRED order: restricted, nobody named.
    let r = f.answer("ipred");
    assert_eq!(r["status"], "restricted", "{r}");
    assert!(r["subscriber"].is_null() && r["identity"].is_null(), "{r}");
    assert_eq!(r["evidence"], json!([]));
    for secret in ["sub-1", "Öberg", "pseudo-5"] {
        assert!(!r.to_string().contains(secret), "{secret} in {r}");
    }
    assert!(f
        .entries()
        .iter()
        .any(|e| e.action == "case_item" && e.outcome == "restricted"));

    // Law enforcement is unaffected.
    let le = f.answer("law_enforcement");
    assert_eq!(le["status"], "found");
    assert_eq!(le["subscriber"], "sub-1");
    assert_eq!(le["identity"]["name"], "Åsa Öberg");

    // The first officer asks; the restriction still holds.
    let c = f
        .service
        .lift(&anna(), &id, "the dispute is settled")
        .unwrap();
    assert!(!c.lifted());
    assert_eq!(c.steps.last().unwrap().action, "lift_requested");
    assert_eq!(f.last_outcome(), "lift_requested");
    assert_eq!(f.abuse()["status"], "restricted");
    // A second person lifts it: the own-purpose answers name again.
    let c = f.service.lift(&bert(), &id, "agreed").unwrap();
    assert!(c.lifted());
    assert_eq!(f.last_outcome(), "lifted");
    let a = f.abuse();
    assert_eq!(a["status"], "found");
    assert_eq!(a["matches"][0]["subscriber"], "pseudo-5");
    let r = f.answer("ipred");
    assert_eq!(r["status"], "found");
    assert_eq!(r["identity"]["name"], "Åsa Öberg");
    // Lifted once is lifted: nothing more to lift.
    let err = f
        .service
        .lift(&user("cecilia", Role::Legal), &id, "again")
        .unwrap_err();
    assert_eq!(err.code(), "case.wrong_state");
}

#[test]
fn the_officer_who_asked_to_lift_a_restriction_cannot_also_lift_it() {
    let f = fixture();
    let id = f.restricted("2026-12-31");
    f.service.lift(&anna(), &id, "settled").unwrap();
    let err = f.service.lift(&anna(), &id, "settled, really").unwrap_err();
    assert_eq!(err.code(), "case.four_eyes");
    assert_eq!(f.last_outcome(), "refused:case.four_eyes");
    // Another account of the same person is the same pair of eyes.
    let same_person = Caller {
        who: Ok(crate::legal::auth::Principal {
            name: "anna-2".into(),
            role: Role::Legal,
            person: "E-anna".into(),
        }),
        claimed: None,
        channel: "cli",
        peer: None,
    };
    let err = f.service.lift(&same_person, &id, "settled").unwrap_err();
    assert_eq!(err.code(), "case.four_eyes");
    assert_eq!(f.abuse()["status"], "restricted", "still in force");
    // A reason is required, and the refusal audited.
    let err = f.service.lift(&bert(), &id, "  ").unwrap_err();
    assert_eq!(err.code(), "request.invalid");
    assert_eq!(f.last_outcome(), "refused:request.invalid");
    // Only a restriction is lifted.
    let other = f.approved(order("law_enforcement", "192.0.2.10", HELD_AT));
    let err = f.service.lift(&anna(), &other, "no").unwrap_err();
    assert_eq!(err.code(), "case.not_for_this_type");
}

#[test]
fn a_restriction_ends_with_its_restrict_until_day_in_stockholm() {
    let f = fixture();
    // The fixture's clock reads 2026-11-21T10:00:00Z.
    f.restricted("2026-11-21");
    assert_eq!(f.abuse()["status"], "restricted");
    // 23:59:59 in Stockholm (UTC+1) is still the 21st.
    f.clock.set(parse_time("2026-11-21T22:59:59Z").unwrap());
    assert_eq!(f.abuse()["status"], "restricted");
    f.clock.set(parse_time("2026-11-21T23:00:00Z").unwrap());
    assert_eq!(f.abuse()["status"], "found");
}

#[test]
fn a_rectification_keeps_the_old_row_with_its_reason_and_lists_ipred_recipients_only() {
    let f = fixture();
    f.crm(CRM);
    // Disclosed to a rights holder (IPRED) and to the police (law enforcement).
    let mut ipred = order("ipred", "192.0.2.10", HELD_AT);
    ipred.applicant = Some("Rättighetshavaren AB".into());
    let ipred = f.approved(ipred);
    let le = f.approved(order("law_enforcement", "192.0.2.10", HELD_AT));
    for id in [&ipred, &le] {
        f.service.execute(&anna(), id, None).unwrap();
        f.service.report(&anna(), id, "json").unwrap();
    }
    let req = subject(
        "rectification",
        "sub-1",
        json!({"correction": {"street": "Nya gatan 2", "city": "Lund"}}),
    );
    let id = f.approved(req);
    let c = f.service.execute(&anna(), &id, None).unwrap();
    assert_eq!(c.state, State::Executed);
    let r = c.rectified.as_ref().expect("rectified");
    assert_eq!(r.fields, vec!["street".to_string(), "city".to_string()]);
    assert_eq!(r.recipients.len(), 1, "{:?}", r.recipients);
    assert_eq!(r.recipients[0].case, ipred);
    assert_eq!(r.recipients[0].recipient, "Rättighetshavaren AB");
    assert_eq!(r.recipients[0].day, "2026-11-21");
    // The register: the row corrected in place, the old version kept with the case as reason.
    let h = f.service.identity().unwrap().history("sub-1").unwrap();
    assert_eq!(h.current.len(), 1);
    assert_eq!(h.current[0].street, "Nya gatan 2");
    assert_eq!(h.current[0].city, "Lund");
    assert_eq!(
        h.current[0].name, "Åsa Öberg",
        "what was not corrected stays"
    );
    assert_eq!(
        h.current[0].valid_from,
        parse_time("2026-01-01T00:00:00Z").unwrap()
    );
    assert_eq!(h.superseded.len(), 1);
    assert_eq!(h.superseded[0].record.street, "Storgatan 1");
    assert_eq!(h.superseded[0].replaced_at, f.service.now());
    assert_eq!(
        h.superseded[0].reason.as_deref(),
        Some(format!("rättelse {id}").as_str())
    );
    // Audited as rectified, with field names and a pseudonym only.
    let e = f.entries().pop().unwrap();
    assert_eq!(e.outcome, "rectified");
    assert_eq!(e.result_count, 1);
    for secret in ["sub-1", "Nya gatan", "Lund"] {
        assert!(!e.query.to_string().contains(secret), "{secret}");
    }
    // The case view shows what was done.
    let v = f.service.view(&c);
    assert_eq!(v["rectified"]["fields"], json!(["street", "city"]));
    assert_eq!(v["rectified"]["recipients"][0]["case"], json!(ipred));
}

#[test]
fn a_rectification_without_a_row_valid_now_is_refused_and_audited() {
    let f = fixture();
    let id = f.approved(subject(
        "rectification",
        "sub-9",
        json!({"correction": {"name": "Ny Namnsson"}}),
    ));
    let err = f.service.execute(&anna(), &id, None).unwrap_err();
    assert_eq!(err.code(), "identity.no_current_row");
    assert!(!err.to_string().contains("sub-9"));
    assert_eq!(f.last_outcome(), "refused:identity.no_current_row");
    let c = f.service.get_case(&anna(), &id).unwrap();
    assert_eq!(c.state, State::Approved, "nothing changed");
}

#[test]
fn each_subject_rights_type_is_refused_for_other_roles_and_for_a_single_officer() {
    let f = fixture();
    let requests = [
        restriction("2026-12-31"),
        subject("erasure", "sub-1", json!({})),
        subject(
            "rectification",
            "sub-1",
            json!({"correction": {"name": "Ny Namnsson"}}),
        ),
    ];
    for req in requests {
        let kind = req.request_type.clone();
        for role in [Role::Security, Role::Auditor, Role::Ops, Role::Admin] {
            let who = user("eve", role);
            let err = f.service.create_case(&who, req.clone()).unwrap_err();
            assert_eq!(err.code(), "auth.forbidden", "{kind} create as {role:?}");
        }
        let id = f.service.create_case(&anna(), req.clone()).unwrap().id;
        for role in [Role::Security, Role::Auditor, Role::Ops, Role::Admin] {
            let who = user("eve", role);
            let err = f.service.approve(&who, &id).unwrap_err();
            assert_eq!(err.code(), "auth.forbidden", "{kind} approve as {role:?}");
        }
        // The registrar cannot approve their own case, so it cannot be executed.
        let err = f.service.approve(&anna(), &id).unwrap_err();
        assert_eq!(err.code(), "case.four_eyes", "{kind}");
        assert_eq!(f.last_outcome(), "refused:case.four_eyes");
        let err = f.service.execute(&anna(), &id, None).unwrap_err();
        if kind != "erasure" {
            // (Erasure's execution is the lead's; until then it refuses every call.)
            assert_eq!(err.code(), "case.wrong_state", "{kind}: not approved");
        }
        f.service.approve(&bert(), &id).unwrap();
        for role in [Role::Security, Role::Auditor, Role::Ops, Role::Admin] {
            let who = user("eve", role);
            let err = f.service.execute(&who, &id, None).unwrap_err();
            assert_eq!(err.code(), "auth.forbidden", "{kind} execute as {role:?}");
            let err = f.service.lift(&who, &id, "x").unwrap_err();
            assert_eq!(err.code(), "auth.forbidden", "{kind} lift as {role:?}");
        }
    }
    // Every refusal above is in the audit log.
    let refused = f
        .entries()
        .iter()
        .filter(|e| e.outcome == "refused:auth.forbidden")
        .count();
    assert_eq!(refused, 3 * 4 * 4);
}

#[test]
fn a_field_override_is_refused_for_a_data_subjects_case() {
    let f = fixture();
    let id = f.approved(restriction("2026-12-31"));
    let over = crate::legal::case::Override {
        fields: vec!["personal_number".into()],
        reason: "no".into(),
    };
    let err = f.service.execute(&anna(), &id, Some(over)).unwrap_err();
    assert_eq!(err.code(), "case.not_for_this_type");
    assert_eq!(f.last_outcome(), "refused:case.not_for_this_type");
}
