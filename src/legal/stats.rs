//! The statistics of the requests registered in a period: how many of each type from each
//! authority, how they ended (the case's outcome, and each answered item's attribution
//! status), how long they took to answer (median and 90th percentile, from registration to
//! disclosure or rejection) and how many were late. Pure: the Service hands it the cases and
//! `now`; the API, the CLI and the auditor's page show it as JSON or CSV. Counts and durations
//! only: no subscriber, address or scope item ever appears.

use std::collections::BTreeMap;

use serde::Serialize;

use super::case::{Case, State};
use super::due::{self, Status};
use crate::config::DueDefaults;
use crate::model::{fmt_time, UnixSecs};

/// One request type from one authority.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Group {
    pub request_type: String,
    pub authority: String,
    pub requests: u64,
    /// Disclosed (an access request: its extract handed out).
    pub disclosed: u64,
    pub rejected: u64,
    /// Not answered yet (registered, approved, executed or held), and preservations holding.
    pub open: u64,
    /// Answered after their due time, or still open past it.
    pub late: u64,
    pub median_seconds_to_answer: Option<f64>,
    pub p90_seconds_to_answer: Option<f64>,
    #[serde(skip)]
    answer_secs: Vec<i64>,
}

/// The whole period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub from: String,
    pub to: String,
    pub requests: u64,
    /// Per request type and outcome (`registered`, `approved`, `executed`, `held`,
    /// `disclosed`, `rejected`).
    pub by_type_and_outcome: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per request type and authority, in that order.
    pub groups: Vec<Group>,
    /// The answered items of executed and disclosed cases, by attribution status.
    pub items_by_status: BTreeMap<String, u64>,
    pub disclosed: u64,
    pub answered: u64,
    /// Answered late, or open and overdue.
    pub late: u64,
    /// Open and overdue now.
    pub overdue: u64,
    pub median_seconds_to_answer: Option<f64>,
    pub p90_seconds_to_answer: Option<f64>,
    /// From registration to disclosure only (the figure this page showed before answers
    /// included rejections).
    pub median_seconds_to_disclosure: Option<f64>,
}

/// The median of sorted values (the mean of the middle two for an even count).
pub fn median(sorted: &[i64]) -> Option<f64> {
    let l = sorted.len();
    match l {
        0 => None,
        _ if l % 2 == 1 => Some(sorted[l / 2] as f64),
        _ => Some((sorted[l / 2 - 1] + sorted[l / 2]) as f64 / 2.0),
    }
}

/// The 90th percentile of sorted values by the nearest-rank method: the smallest value that
/// at least 90 % of the values do not exceed.
pub fn p90(sorted: &[i64]) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * 9).div_ceil(10);
    Some(sorted[rank.max(1) - 1] as f64)
}

fn outcome(c: &Case) -> &'static str {
    match (c.state, &c.hold) {
        (State::Executed, Some(_)) => "held",
        (s, _) => s.as_str(),
    }
}

/// The statistics of the cases registered in `from..to`, as they stand at `now`.
pub fn compute(
    cases: &[Case],
    from: UnixSecs,
    to: UnixSecs,
    d: &DueDefaults,
    now: UnixSecs,
) -> Stats {
    let mut s = Stats {
        from: fmt_time(from),
        to: fmt_time(to),
        requests: 0,
        by_type_and_outcome: BTreeMap::new(),
        groups: Vec::new(),
        items_by_status: BTreeMap::new(),
        disclosed: 0,
        answered: 0,
        late: 0,
        overdue: 0,
        median_seconds_to_answer: None,
        p90_seconds_to_answer: None,
        median_seconds_to_disclosure: None,
    };
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    let (mut answer_secs, mut disclosure_secs) = (Vec::new(), Vec::new());
    for c in cases.iter().filter(|c| (from..to).contains(&c.created_at)) {
        s.requests += 1;
        let kind = c.request.request_type.clone();
        *s.by_type_and_outcome
            .entry(kind.clone())
            .or_default()
            .entry(outcome(c).into())
            .or_default() += 1;
        for item in &c.results {
            *s.items_by_status.entry(item.status.clone()).or_default() += 1;
        }
        let g = groups
            .entry((kind.clone(), c.request.authority.trim().to_string()))
            .or_insert_with(|| Group {
                request_type: kind,
                authority: c.request.authority.trim().to_string(),
                ..Group::default()
            });
        g.requests += 1;
        let status = due::status(c, d, now);
        let late = matches!(status, Status::AnsweredLate | Status::Overdue);
        g.late += u64::from(late);
        s.late += u64::from(late);
        s.overdue += u64::from(status == Status::Overdue);
        match c.state {
            State::Disclosed => g.disclosed += 1,
            State::Rejected => g.rejected += 1,
            _ => g.open += 1,
        }
        if let Some(t) = due::answered_at(c) {
            let secs = (t - c.created_at).max(0);
            g.answer_secs.push(secs);
            answer_secs.push(secs);
            s.answered += 1;
            if c.state == State::Disclosed {
                disclosure_secs.push(secs);
                s.disclosed += 1;
            }
        }
    }
    for mut g in groups.into_values() {
        g.answer_secs.sort_unstable();
        g.median_seconds_to_answer = median(&g.answer_secs);
        g.p90_seconds_to_answer = p90(&g.answer_secs);
        s.groups.push(g);
    }
    answer_secs.sort_unstable();
    disclosure_secs.sort_unstable();
    s.median_seconds_to_answer = median(&answer_secs);
    s.p90_seconds_to_answer = p90(&answer_secs);
    s.median_seconds_to_disclosure = median(&disclosure_secs);
    s
}

/// A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180), and with a
/// leading `=`, `+`, `-` or `@` neutralised so a spreadsheet does not run it as a formula.
pub fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

fn hours(secs: Option<f64>) -> String {
    secs.map(|s| format!("{:.1}", s / 3600.0))
        .unwrap_or_default()
}

/// The groups as CSV, one row per request type and authority and a last row `all,all` for the
/// period: `from,to,request_type,authority,requests,disclosed,rejected,open,late,
/// median_hours_to_answer,p90_hours_to_answer`.
pub fn to_csv(s: &Stats) -> String {
    let mut out = String::from(
        "from,to,request_type,authority,requests,disclosed,rejected,open,late,\
         median_hours_to_answer,p90_hours_to_answer\r\n",
    );
    let mut row = |t: &str, a: &str, g: &Group| {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\r\n",
            s.from,
            s.to,
            csv_field(t),
            csv_field(a),
            g.requests,
            g.disclosed,
            g.rejected,
            g.open,
            g.late,
            hours(g.median_seconds_to_answer),
            hours(g.p90_seconds_to_answer),
        ));
    };
    for g in &s.groups {
        row(&g.request_type, &g.authority, g);
    }
    let all = Group {
        requests: s.requests,
        disclosed: s.groups.iter().map(|g| g.disclosed).sum(),
        rejected: s.groups.iter().map(|g| g.rejected).sum(),
        open: s.groups.iter().map(|g| g.open).sum(),
        late: s.late,
        median_seconds_to_answer: s.median_seconds_to_answer,
        p90_seconds_to_answer: s.p90_seconds_to_answer,
        ..Group::default()
    };
    row("all", "all", &all);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::case::{NewCase, ScopeItem, Step};
    use crate::model::parse_time;

    fn t(s: &str) -> UnixSecs {
        parse_time(s).unwrap()
    }

    fn case(id: &str, kind: &str, authority: &str, created: &str) -> Case {
        let req = NewCase {
            request_type: kind.into(),
            authority: authority.into(),
            case_number: "1".into(),
            scope: vec![ScopeItem::default()],
            ..NewCase::default()
        };
        Case::registered(id.into(), req, "anna", t(created))
    }

    fn disclosed(mut c: Case, at: &str, statuses: &[&str]) -> Case {
        c.state = State::Disclosed;
        c.disclosed_at = Some(t(at));
        for (i, st) in statuses.iter().enumerate() {
            let mut item: crate::report::ReportItem = serde_json::from_value(serde_json::json!({
                "number": i + 1, "asked": {}, "at_utc": null, "window": null, "status": st,
                "record_status": "complete", "subscriber": null, "identity": null,
                "evidence": [], "warnings": []}))
            .unwrap();
            item.number = i as u32 + 1;
            c.results.push(item);
        }
        c
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(p90(&v), Some(9.0));
        assert_eq!(median(&v), Some(5.5));
        assert_eq!(p90(&[7]), Some(7.0));
        assert_eq!(p90(&(1..=11).collect::<Vec<_>>()), Some(10.0));
        assert_eq!(p90(&[]), None);
    }

    #[test]
    fn a_period_counts_its_own_cases_by_type_authority_outcome_time_and_lateness() {
        let d = DueDefaults::default();
        let now = t("2026-12-20T12:00:00Z");
        let polis = "Polismyndigheten";
        let cases = vec![
            // Law enforcement, Tuesday 1 December: due Thursday 3rd. Answered in 4 h.
            disclosed(
                case("C-1", "law_enforcement", polis, "2026-12-01T08:00:00Z"),
                "2026-12-01T12:00:00Z",
                &["found", "not_found"],
            ),
            // Answered on Friday 4th: late.
            disclosed(
                case("C-2", "law_enforcement", polis, "2026-12-01T09:00:00Z"),
                "2026-12-04T09:00:00Z",
                &["found"],
            ),
            // Still open on the 20th, due the 9th: overdue.
            case("C-3", "law_enforcement", polis, "2026-12-07T09:00:00Z"),
            // IPRED, rejected after a day.
            {
                let mut c = case(
                    "C-4",
                    "ipred",
                    "Patent- och marknadsdomstolen",
                    "2026-12-02T09:00:00Z",
                );
                c.state = State::Rejected;
                c.steps.push(Step {
                    action: "rejected".into(),
                    by: "bert".into(),
                    person: None,
                    at: t("2026-12-03T09:00:00Z"),
                    reason: Some("no legal force".into()),
                });
                c
            },
            // Outside the period.
            case(
                "C-5",
                "ipred",
                "Patent- och marknadsdomstolen",
                "2026-11-30T22:59:59Z",
            ),
        ];
        let s = compute(
            &cases,
            t("2026-11-30T23:00:00Z"),
            t("2026-12-31T23:00:00Z"),
            &d,
            now,
        );
        assert_eq!(s.requests, 4);
        assert_eq!(s.answered, 3);
        assert_eq!(s.disclosed, 2);
        assert_eq!((s.late, s.overdue), (2, 1));
        assert_eq!(s.items_by_status["found"], 2);
        assert_eq!(s.items_by_status["not_found"], 1);
        assert_eq!(s.by_type_and_outcome["law_enforcement"]["disclosed"], 2);
        assert_eq!(s.by_type_and_outcome["law_enforcement"]["registered"], 1);
        // Answers: 4 h, 1 d (rejection), 3 d: median 1 day, p90 3 days.
        assert_eq!(s.median_seconds_to_answer, Some(86_400.0));
        assert_eq!(s.p90_seconds_to_answer, Some(3.0 * 86_400.0));
        assert_eq!(
            s.median_seconds_to_disclosure,
            Some((4.0 * 3600.0 + 72.0 * 3600.0) / 2.0)
        );
        let le = &s.groups[0];
        assert_eq!(
            (
                le.request_type.as_str(),
                le.authority.as_str(),
                le.requests,
                le.disclosed,
                le.open,
                le.late
            ),
            ("ipred", "Patent- och marknadsdomstolen", 1, 0, 0, 0)
        );
        let csv = to_csv(&s);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "{csv}");
        assert_eq!(
            lines[2],
            "2026-11-30T23:00:00Z,2026-12-31T23:00:00Z,law_enforcement,Polismyndigheten,3,2,0,1,2,38.0,72.0"
        );
        assert!(lines[3].contains(",all,all,4,2,1,1,2,24.0,72.0"), "{csv}");
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Polis, Region Syd"), "\"Polis, Region Syd\"");
        assert_eq!(csv_field("A \"B\""), "\"A \"\"B\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("plain"), "plain");
    }
}
