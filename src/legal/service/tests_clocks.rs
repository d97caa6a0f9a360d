//! The law's clocks through the Service, on a fake clock: a case due and then overdue across
//! Swedish holidays, the list and counts that show it, a case whose data would leave
//! retention before it is due and the one action that preserves exactly those items, and the
//! statistics of a period.

use serde_json::json;

use super::tests::{fixture, fixture_with, order, user};
use super::DueFilter;
use crate::clock::Clock;
use crate::config::Config;
use crate::legal::auth::Role;
use crate::legal::case::RequestType;
use crate::legal::{due, register};
use crate::model::parse_time;

fn t(s: &str) -> i64 {
    parse_time(s).unwrap()
}

fn ids(v: &[serde_json::Value]) -> Vec<String> {
    v.iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_law_enforcement_case_is_due_two_working_days_on_and_overdue_after_christmas() {
    let f = fixture();
    let (anna, bert) = (user("anna", Role::Legal), user("bert", Role::Legal));
    // Wednesday 23 December 2026, 15:00 in Stockholm: 24–27 December are days off.
    f.clock.set(t("2026-12-23T14:00:00Z"));
    let id = f
        .service
        .create_case(
            &anna,
            order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z"),
        )
        .unwrap()
        .id;
    let list = |filter| f.service.list_cases(&anna, filter).unwrap();
    let soon = list(Some(DueFilter::Soon));
    assert_eq!(ids(&soon), vec![id.clone()]);
    assert_eq!(soon[0]["due_day"], "2026-12-29");
    assert_eq!(soon[0]["due_basis"], "default");
    assert_eq!(soon[0]["due_status"], "due_soon");
    assert!(list(Some(DueFilter::Overdue)).is_empty());
    assert_eq!(f.entries().pop().unwrap().query, json!({"due": "overdue"}));

    // The last second of Tuesday 29 December in Stockholm is still in time.
    f.clock.set(t("2026-12-29T22:59:59Z"));
    assert!(list(Some(DueFilter::Overdue)).is_empty());
    f.clock.set(t("2026-12-29T23:00:00Z"));
    assert_eq!(ids(&list(Some(DueFilter::Overdue))), vec![id.clone()]);
    let cases = register::list(f.dir.path()).unwrap();
    assert_eq!(
        due::counts(&cases, &Config::default().due, f.clock.now()),
        (1, 0)
    );

    // Answered on the 30th: no longer waiting, and counted late.
    f.clock.set(t("2026-12-30T09:00:00Z"));
    f.service.approve(&bert, &id).unwrap();
    f.service.execute(&anna, &id, None).unwrap();
    f.service.report(&anna, &id, "json").unwrap();
    assert!(list(Some(DueFilter::Open)).is_empty());
    assert_eq!(list(None)[0]["due_status"], "answered_late");
    let auditor = user("ada", Role::Auditor);
    let s = f
        .service
        .statistics(
            &auditor,
            t("2026-12-01T00:00:00Z"),
            t("2027-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!((s.requests, s.answered, s.late, s.overdue), (1, 1, 1, 0));
    assert_eq!(s.items_by_status["found"], 1);
    assert_eq!(
        s.median_seconds_to_answer,
        Some((t("2026-12-30T09:00:00Z") - t("2026-12-23T14:00:00Z")) as f64)
    );
    assert_eq!(f.entries().pop().unwrap().result_count, 1);
    // Statistics are the auditor's; a legal officer is refused, and the refusal audited.
    let err = f.service.statistics(&anna, 0, i64::MAX / 2).unwrap_err();
    assert_eq!(err.code(), "auth.forbidden");
}

#[test]
fn an_order_deadline_sets_the_due_day_and_the_view_shows_it() {
    let f = fixture();
    let anna = user("anna", Role::Legal);
    let mut req = order("ipred", "192.0.2.10", "2026-11-20T10:30:00Z");
    req.deadline = Some("2027-03-19".into());
    let c = f.service.create_case(&anna, req).unwrap();
    let v = f.service.view(&c);
    assert_eq!(v["clocks"]["due_day"], "2027-03-19");
    assert_eq!(v["clocks"]["due_basis"], "order");
    assert_eq!(v["clocks"]["due_status"], "open");
    assert!(v["clocks"].get("retention_risk").is_none());
}

#[test]
fn a_case_whose_data_leaves_retention_before_it_is_due_preserves_exactly_those_items() {
    let f = fixture_with(Config::default());
    let (anna, bert) = (user("anna", Role::Legal), user("bert", Role::Legal));
    // An IPRED order due 1 June 2027 naming two times: the first leaves the six-month
    // retention on 20 May 2027, the second not before the case is due.
    f.clock.set(t("2027-05-10T08:00:00Z"));
    let mut req = order("ipred", "192.0.2.10", "2026-11-20T10:30:00Z");
    req.scope.push(crate::legal::case::ScopeItem {
        addr: Some("192.0.2.20".into()),
        at: Some("2027-01-15T12:00:00Z".into()),
        ..Default::default()
    });
    req.deadline = Some("2027-06-01".into());
    let case = f.service.create_case(&anna, req).unwrap();
    let clocks = &f.service.view(&case)["clocks"];
    assert_eq!(clocks["retention_risk"]["items"], json!([1]));
    assert_eq!(
        clocks["retention_risk"]["first_leaves_at"],
        "2027-05-20T10:30:00Z"
    );

    // The security team may not; the registrar may (registering is not approving).
    let err = f
        .service
        .preserve(&user("sam", Role::Security), &case.id)
        .unwrap_err();
    assert_eq!(err.code(), "auth.forbidden");
    let kept = f.service.preserve(&anna, &case.id).unwrap();
    assert_eq!(kept.request_type(), RequestType::Preservation);
    assert_eq!(kept.request.scope, vec![case.request.scope[0].clone()]);
    assert_eq!(kept.request.preserve_until.as_deref(), Some("2027-07-01"));
    assert_eq!(kept.request.case_number, case.request.case_number);
    assert_eq!(kept.preserves.as_deref(), Some(case.id.as_str()));
    let linked = f.service.get_case(&anna, &case.id).unwrap();
    assert_eq!(linked.preservation.as_deref(), Some(kept.id.as_str()));
    let entry = f
        .entries()
        .into_iter()
        .rev()
        .find(|e| e.action == "case_preserve")
        .unwrap();
    assert_eq!(entry.outcome, format!("registered:{}", kept.id));
    assert_eq!(entry.case.as_deref(), Some(case.id.as_str()));

    // Once is enough.
    let again = f.service.preserve(&anna, &case.id).unwrap_err();
    assert_eq!(again.code(), "case.wrong_state");

    // It holds nothing until a second officer approves it; then exactly its item.
    let now = f.clock.now();
    assert!(crate::legal::holds(f.dir.path(), now).unwrap().is_empty());
    f.service.approve(&bert, &kept.id).unwrap();
    let at = t("2026-11-20T10:30:00Z");
    assert_eq!(
        crate::legal::holds(f.dir.path(), now).unwrap(),
        vec![(at - 86_400, at + 86_400)]
    );
}

#[test]
fn nothing_to_preserve_is_refused_by_name() {
    let f = fixture();
    let anna = user("anna", Role::Legal);
    let id = f
        .service
        .create_case(
            &anna,
            order("law_enforcement", "192.0.2.10", "2026-11-20T10:30:00Z"),
        )
        .unwrap()
        .id;
    let err = f.service.preserve(&anna, &id).unwrap_err();
    assert_eq!(err.code(), "request.invalid");
    assert!(err.to_string().contains("leaves retention"), "{err}");
    let abuse = f
        .service
        .create_case(
            &anna,
            serde_json::from_value(json!({"request_type": "abuse", "authority": "Junet abuse",
                "case_number": "T-1", "scope": [{"addr": "192.0.2.10", "at": "2026-11-20T10:30:00Z"}]}))
            .unwrap(),
        )
        .unwrap()
        .id;
    let err = f.service.preserve(&anna, &abuse).unwrap_err();
    assert_eq!(err.code(), "case.not_for_this_type");
}
