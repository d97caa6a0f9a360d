//! The law's clocks on a case: when it is due, whether it is late, and whether its scope
//! reaches data that leaves retention before then. Pure rules over a case, the configuration
//! and `now` (the Service's clock); the Service, the metrics and the desk all read them here.
//!
//! A case is due at the end (Stockholm time) of its due day: the order's `deadline` where the
//! order gives one; a preservation order's `preserve_until`; otherwise the day
//! `legal.due_<type>` after the Swedish day it was registered ([`Span::after`]: working days
//! skip Swedish public holidays, and a limit ending on a day off runs to the next working day).
//! It is answered when disclosed (an access request: when its extract is handed out) or
//! rejected; a preservation order is never late — it holds until its date and then ends.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{json, Value};

use super::case::{Case, Parsed, RequestType, State};
use crate::calendar::{day_end, stockholm_day, Span};
use crate::config::{Config, DueDefaults};
use crate::model::{fmt_time, UnixSecs};

/// Where a case's due day comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The order's own deadline.
    Order,
    /// A preservation order's `preserve_until`.
    PreserveUntil,
    /// `legal.due_<type>` from the day the case was registered.
    Default,
}

/// Where a case stands against its clock at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Open, due later than the "soon" horizon.
    Open,
    /// Open, due within `legal.due_soon` of today.
    DueSoon,
    /// Open and past its due time.
    Overdue,
    /// Disclosed or rejected by its due time.
    Answered,
    /// Disclosed or rejected after its due time.
    AnsweredLate,
    /// A preservation order past its date: the hold has ended.
    Ended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::DueSoon => "due_soon",
            Status::Overdue => "overdue",
            Status::Answered => "answered",
            Status::AnsweredLate => "answered_late",
            Status::Ended => "ended",
        }
    }

    /// Whether someone still has to act on the case.
    pub fn waiting(self) -> bool {
        matches!(self, Status::Open | Status::DueSoon | Status::Overdue)
    }
}

/// A case's due day and instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub day: NaiveDate,
    /// The last second of `day` in Stockholm.
    pub at: UnixSecs,
    pub basis: Basis,
}

/// The last second of `day` in Stockholm.
pub fn end_of_day(day: NaiveDate) -> UnixSecs {
    day_end(day).map(|t| t - 1).unwrap_or(UnixSecs::MAX)
}

fn date(s: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s?, "%Y-%m-%d").ok()
}

/// The default span of a request type without a deadline of its own.
pub fn default_span(kind: RequestType, d: &DueDefaults) -> Span {
    match kind {
        RequestType::Ipred => d.ipred,
        RequestType::LawEnforcement | RequestType::Preservation => d.law_enforcement,
        RequestType::Abuse => d.abuse,
        // The data subject's rights: one month (GDPR art. 12(3)), like the access request.
        RequestType::Access
        | RequestType::Restriction
        | RequestType::Erasure
        | RequestType::Rectification => d.access,
    }
}

/// When `c` is due.
pub fn due(c: &Case, d: &DueDefaults) -> Due {
    let kind = c.request_type();
    let (day, basis) = match (
        kind,
        date(c.request.preserve_until.as_deref()),
        date(c.request.deadline.as_deref()),
    ) {
        (RequestType::Preservation, Some(until), _) => (until, Basis::PreserveUntil),
        (_, _, Some(deadline)) => (deadline, Basis::Order),
        _ => (
            default_span(kind, d).after(stockholm_day(c.created_at)),
            Basis::Default,
        ),
    };
    Due {
        day,
        at: end_of_day(day),
        basis,
    }
}

/// When the case was answered: disclosed, or rejected; a data subject's restriction,
/// erasure or rectification when it was carried out (executed).
pub fn answered_at(c: &Case) -> Option<UnixSecs> {
    let kind = c.request_type();
    match c.state {
        State::Executed if kind.subject_right() && kind != RequestType::Access => c
            .steps
            .iter()
            .find(|s| s.action == "executed")
            .map(|s| s.at),
        State::Disclosed => c.disclosed_at.or_else(|| c.steps.last().map(|s| s.at)),
        State::Rejected => c
            .steps
            .iter()
            .rev()
            .find(|s| s.action == "rejected")
            .map(|s| s.at),
        _ => None,
    }
}

/// Where `c` stands at `now`.
pub fn status(c: &Case, d: &DueDefaults, now: UnixSecs) -> Status {
    let due = due(c, d);
    if let Some(t) = answered_at(c) {
        return if t > due.at {
            Status::AnsweredLate
        } else {
            Status::Answered
        };
    }
    let preservation = c.request_type() == RequestType::Preservation;
    if now > due.at {
        return if preservation {
            Status::Ended
        } else {
            Status::Overdue
        };
    }
    if due.day <= d.soon.after(stockholm_day(now)) {
        Status::DueSoon
    } else {
        Status::Open
    }
}

/// How many waiting cases are overdue and how many are due soon (the metrics' counts).
pub fn counts<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
    d: &DueDefaults,
    now: UnixSecs,
) -> (u64, u64) {
    let (mut overdue, mut soon) = (0, 0);
    for c in cases {
        match status(c, d, now) {
            Status::Overdue => overdue += 1,
            Status::DueSoon => soon += 1,
            _ => {}
        }
    }
    (overdue, soon)
}

/// A scope item whose data leaves retention before the case is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRisk {
    /// 0-based index in the scope.
    pub item: usize,
    /// When the first of its data the case's purpose may read leaves retention.
    pub leaves_at: UnixSecs,
}

/// The items of a case not yet executed whose data (in the classes its purpose reads) leaves
/// retention after `now` but by the time the case is due. Items already past retention are not
/// listed: no hold can bring them back. Executed, disclosed and rejected cases have nothing at
/// risk (their answer is kept with them).
pub fn at_risk(c: &Case, cfg: &Config, now: UnixSecs) -> Vec<AtRisk> {
    if !matches!(c.state, State::Registered | State::Approved) {
        return Vec::new();
    }
    let kind = c.request_type();
    if kind == RequestType::Preservation || kind.subject_right() {
        return Vec::new();
    }
    let due = due(c, &cfg.due);
    let classes = kind.purpose().readable_classes();
    let mut out = Vec::new();
    for (i, item) in c.request.scope.iter().enumerate() {
        let first = match item.parse() {
            Ok(Parsed::Address(super::case::Target::Point { at, .. })) => at,
            Ok(Parsed::Address(super::case::Target::Window { from, .. }))
            | Ok(Parsed::Calls { from, .. }) => from,
            _ => continue,
        };
        let Some(leaves_at) = classes
            .iter()
            .map(|class| cfg.retention.of(*class).ends(first))
            .min()
        else {
            continue;
        };
        if now < leaves_at && leaves_at <= due.at {
            out.push(AtRisk { item: i, leaves_at });
        }
    }
    out
}

/// The clocks of a case as the API, the CLI and the desk show them.
pub fn clocks(c: &Case, cfg: &Config, now: UnixSecs) -> Value {
    let d = due(c, &cfg.due);
    let risk = at_risk(c, cfg, now);
    let mut v = json!({
        "due_day": d.day.to_string(),
        "due_at": fmt_time(d.at),
        "due_basis": d.basis,
        "due_status": status(c, &cfg.due, now).as_str(),
    });
    if !risk.is_empty() {
        v["retention_risk"] = json!({
            "items": risk.iter().map(|r| r.item + 1).collect::<Vec<_>>(),
            "first_leaves_at": fmt_time(risk.iter().map(|r| r.leaves_at).min().unwrap_or(0)),
        });
    }
    if let Some(p) = &c.preservation {
        v["preservation"] = json!(p);
    }
    if let Some(l) = &c.preserves {
        v["preserves"] = json!(l);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::case::{NewCase, ScopeItem};
    use crate::model::parse_time;

    fn t(s: &str) -> UnixSecs {
        parse_time(s).unwrap()
    }

    fn case(kind: &str, created: &str, deadline: Option<&str>) -> Case {
        let req = NewCase {
            request_type: kind.into(),
            authority: "Polismyndigheten".into(),
            case_number: "5000-K1-26".into(),
            deadline: deadline.map(Into::into),
            scope: vec![ScopeItem {
                addr: Some("192.0.2.7".into()),
                at: Some("2026-06-10T10:00:00Z".into()),
                ..ScopeItem::default()
            }],
            ..NewCase::default()
        };
        Case::registered("C-2026-0001".into(), req, "anna", t(created))
    }

    #[test]
    fn law_enforcement_is_due_two_working_days_after_it_arrives_across_christmas() {
        let d = DueDefaults::default();
        // Registered Wednesday 23 December 2026, 15:00 Stockholm: 24–27 December are off.
        let c = case("law_enforcement", "2026-12-23T14:00:00Z", None);
        let due = due(&c, &d);
        assert_eq!(due.day.to_string(), "2026-12-29");
        assert_eq!(due.basis, Basis::Default);
        assert_eq!(fmt_time(due.at), "2026-12-29T22:59:59Z");
        // "Without delay" is always soon: two working days ahead of the day it came is its due day.
        assert_eq!(status(&c, &d, t("2026-12-23T14:00:00Z")), Status::DueSoon);
        assert_eq!(status(&c, &d, t("2026-12-28T09:00:00Z")), Status::DueSoon);
        assert_eq!(status(&c, &d, t("2026-12-29T22:59:59Z")), Status::DueSoon);
        assert_eq!(status(&c, &d, t("2026-12-29T23:00:00Z")), Status::Overdue);
    }

    #[test]
    fn an_order_deadline_wins_and_a_preservation_order_ends_rather_than_runs_late() {
        let d = DueDefaults::default();
        let c = case("ipred", "2026-11-02T10:00:00Z", Some("2027-03-02"));
        assert_eq!(due(&c, &d).basis, Basis::Order);
        assert_eq!(due(&c, &d).day.to_string(), "2027-03-02");
        let mut p = case("preservation", "2026-11-02T10:00:00Z", Some("2026-11-05"));
        p.request.preserve_until = Some("2027-01-15".into());
        assert_eq!(due(&p, &d).basis, Basis::PreserveUntil);
        assert_eq!(status(&p, &d, t("2027-01-20T00:00:00Z")), Status::Ended);
    }

    #[test]
    fn an_access_request_is_due_a_month_after_it_arrives_moved_off_julafton() {
        let d = DueDefaults::default();
        let c = case("access", "2026-11-24T08:00:00Z", None);
        assert_eq!(due(&c, &d).day.to_string(), "2026-12-28");
        assert_eq!(status(&c, &d, t("2026-12-03T12:00:00Z")), Status::Open);
        // Two working days before the 28th is Tuesday 22 December (24–27 are off).
        assert_eq!(status(&c, &d, t("2026-12-21T12:00:00Z")), Status::Open);
        assert_eq!(status(&c, &d, t("2026-12-22T12:00:00Z")), Status::DueSoon);
    }

    #[test]
    fn a_data_subjects_restriction_erasure_or_rectification_is_due_in_a_month_and_answered_when_executed(
    ) {
        let d = DueDefaults::default();
        for kind in ["restriction", "erasure", "rectification"] {
            let mut c = case(kind, "2026-11-24T08:00:00Z", None);
            assert_eq!(due(&c, &d).day.to_string(), "2026-12-28", "{kind}");
            assert_eq!(status(&c, &d, t("2027-01-04T12:00:00Z")), Status::Overdue);
            c.state = State::Executed;
            c.steps.push(crate::legal::case::Step {
                action: "executed".into(),
                by: "bert".into(),
                person: None,
                at: t("2026-12-01T10:00:00Z"),
                reason: None,
            });
            assert_eq!(status(&c, &d, t("2027-01-04T12:00:00Z")), Status::Answered);
        }
    }

    #[test]
    fn answered_cases_are_late_only_when_answered_after_their_due_time() {
        let d = DueDefaults::default();
        let mut c = case("law_enforcement", "2026-12-01T08:00:00Z", None);
        // Due Thursday 3 December 2026.
        c.state = State::Disclosed;
        c.disclosed_at = Some(t("2026-12-03T20:00:00Z"));
        assert_eq!(status(&c, &d, t("2027-01-01T00:00:00Z")), Status::Answered);
        c.disclosed_at = Some(t("2026-12-03T23:00:00Z"));
        assert_eq!(
            status(&c, &d, t("2027-01-01T00:00:00Z")),
            Status::AnsweredLate
        );
        assert_eq!(counts([&c], &d, t("2027-01-01T00:00:00Z")), (0, 0));
    }

    #[test]
    fn an_item_whose_data_leaves_retention_before_the_case_is_due_is_at_risk() {
        let cfg = Config::default();
        // Six months after 2026-06-10T10:00Z is 2026-12-10T10:00Z.
        let mut c = case("ipred", "2026-12-01T08:00:00Z", None);
        c.request.scope.push(ScopeItem {
            addr: Some("192.0.2.8".into()),
            at: Some("2026-11-10T10:00:00Z".into()),
            ..ScopeItem::default()
        });
        let now = t("2026-12-03T12:00:00Z");
        assert_eq!(
            at_risk(&c, &cfg, now),
            vec![AtRisk {
                item: 0,
                leaves_at: t("2026-12-10T10:00:00Z")
            }]
        );
        // Already gone: no hold can help.
        assert!(at_risk(&c, &cfg, t("2026-12-11T00:00:00Z")).is_empty());
        // Once executed, the answer is kept with the case.
        c.state = State::Executed;
        assert!(at_risk(&c, &cfg, now).is_empty());
    }
}
