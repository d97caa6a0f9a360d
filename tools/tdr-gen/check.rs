//! `tdr-gen check`: judges tdr's lookup answers against the expectations written by `queries`.
//! Each query gets a truth row (what really happened at that time, given the tolerance) and
//! tdr's status as column of a confusion table. Two counts fail the run:
//!
//! * WRONG — tdr answered `found` naming a subscriber who did not hold the address (or, for
//!   CGNAT, the inside address of the port block) within ± tolerance of the time; or
//!   `end_inferred` naming one who neither held it then nor was in the unlogged-end tail of
//!   their binding (lost Stop, NAS reboot, still open) at that time. Any name for a CGNAT
//!   address without a port, an unassigned address or a time outside retention is WRONG.
//! * UNJUSTIFIED — the truth had exactly one holder, more than the tolerance away from every
//!   boundary and inside the logged part of its binding (not in an unlogged-end tail), and
//!   tdr answered anything other than `found`.

use crate::error::{GenError, Result};
use crate::expect::{Expect, ExpectBinding, QueryClass, MAX_TOLERANCE};
use crate::timefmt;
use crate::truth::EndCause;
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::PathBuf;

/// Options of `tdr-gen check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// expect.jsonl written by `queries`.
    #[arg(long)]
    pub expect: PathBuf,
    /// tdr's answers (`tdr lookup --batch` output), one per query, same order.
    #[arg(long)]
    pub answers: PathBuf,
    /// Clock tolerance in seconds (tdr's ±; at most 60).
    #[arg(long, default_value_t = 2)]
    pub tolerance: i64,
    /// tdr's interim timeout in seconds (how long after the last Interim an unlogged end is
    /// inferred).
    #[arg(long, default_value_t = 7200)]
    pub interim_timeout: i64,
    /// Print the table and counts as JSON.
    #[arg(long)]
    pub json: bool,
    /// How many WRONG and UNJUSTIFIED examples to show.
    #[arg(long, default_value_t = 10)]
    pub examples: usize,
}

/// What the truth says at the query time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Row {
    /// Exactly one holder, more than the tolerance inside the logged part of its binding.
    Inside,
    /// Two or more subscribers held the address within ± tolerance.
    BoundaryShared,
    /// One subscriber within ± tolerance, near its start or end.
    BoundaryEdge,
    /// After the last Interim of a session whose Stop was lost, before the inferred end.
    LostStopTail,
    /// After the last Interim of a session ended by a NAS reboot, up to the reboot.
    RebootTail,
    /// After the last Interim of a session still open at the end of the run.
    OpenTail,
    /// Nobody held the address.
    Gap,
    CgnatNoPort,
    /// CGNAT with port, one port block and its inside address well inside on both hops.
    CgnatPortInside,
    /// CGNAT with port, anything else (boundaries, tails, no block).
    CgnatPortOther,
    OutsideRetention,
    Unassigned,
}

pub const ROWS: [Row; 12] = [
    Row::Inside,
    Row::BoundaryShared,
    Row::BoundaryEdge,
    Row::LostStopTail,
    Row::RebootTail,
    Row::OpenTail,
    Row::Gap,
    Row::CgnatNoPort,
    Row::CgnatPortInside,
    Row::CgnatPortOther,
    Row::OutsideRetention,
    Row::Unassigned,
];

impl Row {
    pub fn name(self) -> &'static str {
        match self {
            Row::Inside => "inside",
            Row::BoundaryShared => "boundary_shared",
            Row::BoundaryEdge => "boundary_edge",
            Row::LostStopTail => "lost_stop_tail",
            Row::RebootTail => "reboot_tail",
            Row::OpenTail => "open_tail",
            Row::Gap => "gap",
            Row::CgnatNoPort => "cgnat_no_port",
            Row::CgnatPortInside => "cgnat_port_inside",
            Row::CgnatPortOther => "cgnat_port_other",
            Row::OutsideRetention => "outside_retention",
            Row::Unassigned => "unassigned",
        }
    }

    fn index(self) -> usize {
        ROWS.iter().position(|&r| r == self).unwrap_or(0)
    }
}

/// tdr's statuses, the columns of the table; anything else counts as "other".
pub const STATUSES: [&str; 8] = [
    "found",
    "end_inferred",
    "ambiguous",
    "not_found",
    "no_coverage",
    "port_required",
    "outside_retention",
    "not_our_address",
];
const OTHER: usize = STATUSES.len();

/// The truth at a query time: its row and who may be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    pub row: Row,
    /// Subscribers holding the address within ± tolerance (a `found` may name these).
    pub holders: BTreeSet<String>,
    /// Holders plus subscribers in an unlogged-end tail (an `end_inferred` may name these).
    pub candidates: BTreeSet<String>,
}

struct B {
    subscriber: String,
    start: i64,
    end: i64,
    confirmed_until: i64,
    cause: EndCause,
    next_start: Option<i64>,
}

fn parse_binding(b: &ExpectBinding) -> std::result::Result<B, String> {
    let time = |s: &str| timefmt::parse_rfc3339(s).ok_or_else(|| format!("bad time {s:?}"));
    Ok(B {
        subscriber: b.subscriber.clone(),
        start: time(&b.start)?,
        end: time(&b.end)?,
        confirmed_until: time(&b.confirmed_until)?,
        cause: b.end_cause,
        next_start: b.next_start.as_deref().map(time).transpose()?,
    })
}

/// The unlogged-end tail of a binding: after its last logged event, up to where tdr may
/// infer its end.
fn tail(b: &B, timeout: i64) -> Option<(i64, i64, Row)> {
    let cu = b.confirmed_until;
    match b.cause {
        EndCause::LostStop => Some((
            cu,
            b.next_start.unwrap_or(i64::MAX).min(cu + timeout),
            Row::LostStopTail,
        )),
        EndCause::NasReboot => Some((cu, b.end, Row::RebootTail)),
        EndCause::StillOpen => Some((
            cu,
            b.next_start.unwrap_or(i64::MAX).min(cu + timeout),
            Row::OpenTail,
        )),
        _ => None,
    }
}

/// Classifies time `t` against the bindings of one address.
fn classify_address(
    bindings: &[ExpectBinding],
    t: i64,
    tol: i64,
    timeout: i64,
) -> std::result::Result<Truth, String> {
    let bs = bindings
        .iter()
        .map(parse_binding)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let near: Vec<&B> = bs
        .iter()
        .filter(|b| b.start <= t + tol && b.end >= t - tol)
        .collect();
    let holders: BTreeSet<String> = near.iter().map(|b| b.subscriber.clone()).collect();
    let tails: Vec<(&B, Row)> = bs
        .iter()
        .filter_map(|b| {
            let (lo, hi, row) = tail(b, timeout)?;
            (t > lo && t <= hi + tol).then_some((b, row))
        })
        .collect();
    let mut candidates = holders.clone();
    candidates.extend(tails.iter().map(|(b, _)| b.subscriber.clone()));
    let row = if holders.len() >= 2 {
        Row::BoundaryShared
    } else if near
        .iter()
        .any(|b| t - b.start > tol && b.confirmed_until - t > tol)
    {
        Row::Inside
    } else if let Some((_, row)) = tails.first() {
        *row
    } else if holders.len() == 1 {
        Row::BoundaryEdge
    } else {
        Row::Gap
    };
    Ok(Truth {
        row,
        holders,
        candidates,
    })
}

/// The truth at the query of `e`.
pub fn classify(e: &Expect, tol: i64, timeout: i64) -> std::result::Result<Truth, String> {
    let t = timefmt::parse_rfc3339(&e.query.at).ok_or("bad query time")?;
    let nobody = |row| Truth {
        row,
        holders: BTreeSet::new(),
        candidates: BTreeSet::new(),
    };
    match (e.class, e.query.port) {
        (QueryClass::OutsideRetention, _) => Ok(nobody(Row::OutsideRetention)),
        (QueryClass::Unassigned, _) => Ok(nobody(Row::Unassigned)),
        (QueryClass::Cgnat, None) => Ok(nobody(Row::CgnatNoPort)),
        (QueryClass::Address, _) => classify_address(&e.bindings, t, tol, timeout),
        (QueryClass::Cgnat, Some(_)) => {
            let mut truth = nobody(Row::CgnatPortOther);
            let mut near = 0;
            let mut clean = false;
            for blk in &e.nat {
                let start = timefmt::parse_rfc3339(&blk.start).ok_or("bad block start")?;
                let end = if blk.end_cause == EndCause::StillOpen {
                    i64::MAX
                } else {
                    timefmt::parse_rfc3339(&blk.end).ok_or("bad block end")?
                };
                if start > t + tol || end < t - tol {
                    continue;
                }
                near += 1;
                let inner = classify_address(&blk.holders, t, tol, timeout)?;
                clean = t - start > tol && end.saturating_sub(t) > tol && inner.row == Row::Inside;
                truth.holders.extend(inner.holders);
                truth.candidates.extend(inner.candidates);
            }
            if near == 1 && clean {
                truth.row = Row::CgnatPortInside;
            }
            Ok(truth)
        }
    }
}

/// The judgement of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub truth: Truth,
    pub status: String,
    pub named: Vec<String>,
    pub wrong: bool,
    pub unjustified: bool,
    /// `found` (not `end_inferred`) in an unlogged-end tail, naming a real holder: right, but
    /// claims more than the logs show.
    pub found_in_tail: bool,
    /// `found` although two or more subscribers held the address within ± tolerance: not a
    /// wrong name, but a guess where `ambiguous` was due.
    pub found_shared: bool,
    /// `found` or `end_inferred` without any subscriber.
    pub empty: bool,
}

fn same_addr(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Checks that `answer` answers `e`'s query (tdr echoes the query).
fn answers_query(e: &Expect, answer: &Value) -> bool {
    let q = &answer["query"];
    let addr_ok = q["addr"]
        .as_str()
        .is_some_and(|a| same_addr(a, &e.query.addr));
    let port_ok = match e.query.port {
        Some(p) => q["port"].as_u64() == Some(u64::from(p)),
        None => q["port"].is_null(),
    };
    let at_ok =
        q["at"].as_str().and_then(timefmt::parse_rfc3339) == timefmt::parse_rfc3339(&e.query.at);
    addr_ok && port_ok && at_ok
}

/// Judges one answer line against its expectation.
pub fn judge(
    e: &Expect,
    answer: &Value,
    tol: i64,
    timeout: i64,
) -> std::result::Result<Verdict, String> {
    if !answers_query(e, answer) {
        return Err(format!(
            "answer {} does not echo query {} (answers out of order or missing?)",
            answer["query"], e.n
        ));
    }
    let truth = classify(e, tol, timeout)?;
    let status = answer["status"].as_str().unwrap_or("").to_string();
    let named: Vec<String> = answer["matches"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["subscriber"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let naming = matches!(status.as_str(), "found" | "end_inferred");
    let allowed = if status == "found" {
        &truth.holders
    } else {
        &truth.candidates
    };
    let wrong = naming && named.iter().any(|s| !allowed.contains(s));
    let unjustified = matches!(truth.row, Row::Inside | Row::CgnatPortInside) && status != "found";
    let found_in_tail = status == "found"
        && !wrong
        && matches!(
            truth.row,
            Row::LostStopTail | Row::RebootTail | Row::OpenTail
        );
    let found_shared = status == "found" && truth.holders.len() >= 2;
    let empty = naming && named.is_empty();
    Ok(Verdict {
        truth,
        status,
        named,
        wrong,
        unjustified,
        found_in_tail,
        found_shared,
        empty,
    })
}

/// The confusion table and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tolerance: i64,
    pub interim_timeout: i64,
    pub queries: u64,
    /// `table[row][column]`, columns as `STATUSES` plus "other".
    pub table: Vec<[u64; STATUSES.len() + 1]>,
    pub wrong: u64,
    pub unjustified: u64,
    pub found_in_tail: u64,
    pub found_shared: u64,
    pub empty: u64,
    pub wrong_examples: Vec<Value>,
    pub unjustified_examples: Vec<Value>,
}

impl Report {
    pub fn new(tolerance: i64, interim_timeout: i64) -> Self {
        Report {
            tolerance,
            interim_timeout,
            queries: 0,
            table: vec![[0; STATUSES.len() + 1]; ROWS.len()],
            wrong: 0,
            unjustified: 0,
            found_in_tail: 0,
            found_shared: 0,
            empty: 0,
            wrong_examples: Vec::new(),
            unjustified_examples: Vec::new(),
        }
    }

    pub fn failed(&self) -> bool {
        self.wrong > 0 || self.unjustified > 0
    }

    pub fn add(&mut self, e: &Expect, v: &Verdict, max_examples: usize) {
        self.queries += 1;
        let col = STATUSES
            .iter()
            .position(|s| *s == v.status)
            .unwrap_or(OTHER);
        self.table[v.truth.row.index()][col] += 1;
        self.found_in_tail += u64::from(v.found_in_tail);
        self.found_shared += u64::from(v.found_shared);
        self.empty += u64::from(v.empty);
        let example = || {
            json!({
                "n": e.n,
                "query": e.query,
                "intent": e.intent,
                "truth_row": v.truth.row.name(),
                "truth_holders": v.truth.holders,
                "truth_candidates": v.truth.candidates,
                "status": v.status,
                "named": v.named,
            })
        };
        if v.wrong {
            self.wrong += 1;
            if self.wrong_examples.len() < max_examples {
                self.wrong_examples.push(example());
            }
        }
        if v.unjustified {
            self.unjustified += 1;
            if self.unjustified_examples.len() < max_examples {
                self.unjustified_examples.push(example());
            }
        }
    }

    pub fn to_json(&self) -> Value {
        let mut columns: Vec<&str> = STATUSES.to_vec();
        columns.push("other");
        let rows: Vec<Value> = ROWS
            .iter()
            .zip(&self.table)
            .map(|(row, counts)| {
                let mut m = serde_json::Map::new();
                for (c, n) in columns.iter().zip(counts) {
                    m.insert((*c).to_string(), json!(n));
                }
                json!({"row": row.name(), "total": counts.iter().sum::<u64>(), "counts": m})
            })
            .collect();
        json!({
            "queries": self.queries,
            "tolerance": self.tolerance,
            "interim_timeout": self.interim_timeout,
            "columns": columns,
            "rows": rows,
            "wrong": self.wrong,
            "unjustified": self.unjustified,
            "notes": {
                "found_in_unlogged_tail": self.found_in_tail,
                "found_while_shared": self.found_shared,
                "naming_status_without_subscriber": self.empty,
            },
            "examples": {
                "wrong": self.wrong_examples,
                "unjustified": self.unjustified_examples,
            },
            "pass": !self.failed(),
        })
    }

    pub fn to_text(&self) -> String {
        let mut columns: Vec<&str> = STATUSES.to_vec();
        columns.push("other");
        columns.push("total");
        let head = "truth \\ tdr";
        let w0 = ROWS
            .iter()
            .map(|r| r.name().len())
            .max()
            .unwrap_or(0)
            .max(head.len());
        let mut out = format!(
            "tdr-gen check: {} queries, tolerance {} s, interim timeout {} s\n{head:<w0$}",
            self.queries, self.tolerance, self.interim_timeout
        );
        for c in &columns {
            out.push_str(&format!(" {c:>w$}", w = c.len().max(6)));
        }
        out.push('\n');
        for (row, counts) in ROWS.iter().zip(&self.table) {
            out.push_str(&format!("{:<w0$}", row.name()));
            let total: u64 = counts.iter().sum();
            for (c, n) in columns.iter().zip(counts.iter().chain([&total])) {
                out.push_str(&format!(" {n:>w$}", w = c.len().max(6)));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "WRONG {}  (found/end_inferred naming a subscriber the truth does not have)\n\
             UNJUSTIFIED {}  (not found although one subscriber held it well inside a logged binding)\n\
             notes (not failures): found in an unlogged-end tail {}; \
             found while 2+ subscribers within tolerance {}; \
             found/end_inferred without subscriber {}\n",
            self.wrong, self.unjustified, self.found_in_tail, self.found_shared, self.empty
        ));
        for (label, list) in [
            ("WRONG", &self.wrong_examples),
            ("UNJUSTIFIED", &self.unjustified_examples),
        ] {
            for ex in list {
                out.push_str(&format!("{label}: {ex}\n"));
            }
        }
        out.push_str(if self.failed() { "FAIL\n" } else { "PASS\n" });
        out
    }
}

/// `tdr-gen check`: reads both files in step and builds the report.
pub fn check(args: &CheckArgs) -> Result<Report> {
    if !(0..=MAX_TOLERANCE).contains(&args.tolerance) || args.interim_timeout < 0 {
        return Err(GenError::Usage(format!(
            "--tolerance must be between 0 and {MAX_TOLERANCE}, --interim-timeout not negative"
        )));
    }
    let open = |p: &PathBuf| {
        File::open(p)
            .map(|f| BufReader::with_capacity(1 << 20, f).lines())
            .map_err(|e| GenError::io(p, e))
    };
    let mut expects = open(&args.expect)?;
    let mut answers = open(&args.answers)?;
    let mut report = Report::new(args.tolerance, args.interim_timeout);
    let mut line = 0u64;
    loop {
        line += 1;
        let e = expects
            .next()
            .transpose()
            .map_err(|e| GenError::io(&args.expect, e))?;
        let a = answers
            .next()
            .transpose()
            .map_err(|e| GenError::io(&args.answers, e))?;
        let (e, a) = match (e, a) {
            (None, None) => break,
            (Some(_), None) => {
                return Err(GenError::input(
                    &args.answers,
                    line,
                    "fewer answers than queries",
                ))
            }
            (None, Some(_)) => {
                return Err(GenError::input(
                    &args.answers,
                    line,
                    "more answers than queries",
                ))
            }
            (Some(e), Some(a)) => (e, a),
        };
        let e: Expect = serde_json::from_str(&e)
            .map_err(|err| GenError::input(&args.expect, line, err.to_string()))?;
        let a: Value = serde_json::from_str(&a)
            .map_err(|err| GenError::input(&args.answers, line, err.to_string()))?;
        let v = judge(&e, &a, args.tolerance, args.interim_timeout)
            .map_err(|err| GenError::input(&args.answers, line, err))?;
        report.add(&e, &v, args.examples);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::{ExpectNat, Query};

    fn b(sub: &str, start: &str, end: &str, cu: &str, cause: EndCause) -> ExpectBinding {
        ExpectBinding {
            subscriber: sub.to_string(),
            target: "198.18.0.1".to_string(),
            start: format!("2026-11-03T{start}Z"),
            end: format!("2026-11-03T{end}Z"),
            confirmed_until: format!("2026-11-03T{cu}Z"),
            end_cause: cause,
            next_start: None,
        }
    }

    fn expect(addr: &str, port: Option<u16>, at: &str, class: QueryClass) -> Expect {
        Expect {
            n: 0,
            query: Query {
                addr: addr.to_string(),
                port,
                at: format!("2026-11-03T{at}Z"),
            },
            class,
            intent: "test".to_string(),
            bindings: Vec::new(),
            nat: Vec::new(),
        }
    }

    fn answer(e: &Expect, status: &str, subs: &[&str]) -> Value {
        let matches: Vec<Value> = subs.iter().map(|s| json!({"subscriber": s})).collect();
        json!({"query": e.query, "status": status, "matches": matches, "sharing": null})
    }

    fn verdict(e: &Expect, status: &str, subs: &[&str]) -> Verdict {
        judge(e, &answer(e, status, subs), 2, 7200).unwrap()
    }

    #[test]
    fn one_holder_well_inside() {
        let mut e = expect("198.18.0.1", None, "11:00:00", QueryClass::Address);
        e.bindings = vec![b("A", "10:00:00", "12:00:00", "12:00:00", EndCause::Stop)];
        let ok = verdict(&e, "found", &["A"]);
        assert_eq!(ok.truth.row, Row::Inside);
        assert!(!ok.wrong && !ok.unjustified);
        let wrong = verdict(&e, "found", &["B"]);
        assert!(wrong.wrong && !wrong.unjustified);
        for status in ["not_found", "ambiguous", "no_coverage", "end_inferred"] {
            let v = verdict(&e, status, &["A"]);
            assert!(v.unjustified && !v.wrong, "{status}");
        }
        assert!(verdict(&e, "end_inferred", &["B"]).wrong);
        // Two seconds from the start is not "well inside" with tolerance 2.
        e.query.at = "2026-11-03T10:00:02Z".to_string();
        let v = verdict(&e, "not_found", &[]);
        assert_eq!(v.truth.row, Row::BoundaryEdge);
        assert!(!v.unjustified);
    }

    #[test]
    fn ambiguous_near_a_handover_is_justified() {
        let mut e = expect("198.18.0.1", None, "11:00:00", QueryClass::Address);
        e.bindings = vec![
            b("A", "10:00:00", "11:00:00", "11:00:00", EndCause::Stop),
            b("B", "11:00:01", "12:00:00", "12:00:00", EndCause::Stop),
        ];
        let v = verdict(&e, "ambiguous", &["A", "B"]);
        assert_eq!(v.truth.row, Row::BoundaryShared);
        assert!(!v.wrong && !v.unjustified);
        let guess = verdict(&e, "found", &["B"]);
        assert!(!guess.wrong && guess.found_shared);
        assert!(verdict(&e, "found", &["C"]).wrong);
        // Two seconds into B's binding: only B within tolerance, but near its start.
        e.query.at = "2026-11-03T11:00:03Z".to_string();
        let v = verdict(&e, "found", &["A"]);
        assert_eq!(v.truth.row, Row::BoundaryEdge);
        assert!(v.wrong);
    }

    #[test]
    fn lost_stop_tail_allows_end_inferred_not_found() {
        let mut e = expect("198.18.0.1", None, "10:30:00", QueryClass::Address);
        e.bindings = vec![b(
            "A",
            "10:00:00",
            "10:07:00",
            "10:05:00",
            EndCause::LostStop,
        )];
        let v = verdict(&e, "end_inferred", &["A"]);
        assert_eq!(v.truth.row, Row::LostStopTail);
        assert!(!v.wrong && !v.unjustified);
        assert!(verdict(&e, "found", &["A"]).wrong);
        assert!(!verdict(&e, "not_found", &[]).wrong);
        // Before the real end, A still held it: found is right but claims too much.
        e.query.at = "2026-11-03T10:06:00Z".to_string();
        let v = verdict(&e, "found", &["A"]);
        assert!(!v.wrong && v.found_in_tail);
        // Past the interim timeout: a gap, no name allowed.
        e.query.at = "2026-11-03T12:06:00Z".to_string();
        let v = verdict(&e, "end_inferred", &["A"]);
        assert_eq!(v.truth.row, Row::Gap);
        assert!(v.wrong);
        // The next assignment ends the tail.
        e.query.at = "2026-11-03T10:30:00Z".to_string();
        e.bindings[0].next_start = Some("2026-11-03T10:20:00Z".to_string());
        assert!(verdict(&e, "end_inferred", &["A"]).wrong);
    }

    #[test]
    fn reboot_tail_and_open_tail() {
        let mut e = expect("198.18.0.1", None, "10:06:00", QueryClass::Address);
        e.bindings = vec![b(
            "A",
            "10:00:00",
            "10:07:00",
            "10:05:00",
            EndCause::NasReboot,
        )];
        let v = verdict(&e, "end_inferred", &["A"]);
        assert_eq!(v.truth.row, Row::RebootTail);
        assert!(!v.wrong);
        e.query.at = "2026-11-03T10:08:00Z".to_string();
        assert!(verdict(&e, "end_inferred", &["A"]).wrong);
        e.bindings[0].end_cause = EndCause::StillOpen;
        e.bindings[0].end = "2026-11-03T10:09:00Z".to_string();
        let v = verdict(&e, "found", &["A"]);
        assert_eq!(v.truth.row, Row::OpenTail);
        assert!(!v.wrong);
    }

    #[test]
    fn cgnat_needs_a_port_and_attributes_through_the_block() {
        let e = expect("203.0.113.1", None, "11:00:00", QueryClass::Cgnat);
        let v = verdict(&e, "port_required", &[]);
        assert_eq!(v.truth.row, Row::CgnatNoPort);
        assert!(!v.wrong && !v.unjustified);
        assert!(verdict(&e, "found", &["A"]).wrong);

        let mut e = expect("203.0.113.1", Some(2000), "11:00:00", QueryClass::Cgnat);
        let mut holder = b("A", "09:59:59", "12:00:00", "12:00:00", EndCause::Stop);
        holder.target = "100.64.0.1".to_string();
        e.nat = vec![ExpectNat {
            public: "203.0.113.1".to_string(),
            ports: "1024-2047".to_string(),
            inside: "100.64.0.1".to_string(),
            start: "2026-11-03T10:00:00Z".to_string(),
            end: "2026-11-03T12:00:00Z".to_string(),
            end_cause: EndCause::Release,
            holders: vec![holder],
        }];
        let v = verdict(&e, "found", &["A"]);
        assert_eq!(v.truth.row, Row::CgnatPortInside);
        assert!(!v.wrong && !v.unjustified);
        assert!(verdict(&e, "found", &["B"]).wrong);
        assert!(verdict(&e, "not_found", &[]).unjustified);
        assert!(verdict(&e, "port_required", &[]).unjustified);
        e.query.at = "2026-11-03T12:00:01Z".to_string();
        let v = verdict(&e, "not_found", &[]);
        assert_eq!(v.truth.row, Row::CgnatPortOther);
        assert!(!v.unjustified);
    }

    #[test]
    fn nobody_may_be_named_for_unassigned_or_expired() {
        for class in [QueryClass::Unassigned, QueryClass::OutsideRetention] {
            let e = expect("192.0.2.7", None, "11:00:00", class);
            assert!(verdict(&e, "found", &["A"]).wrong);
            let v = verdict(&e, "not_our_address", &[]);
            assert!(!v.wrong && !v.unjustified);
        }
    }

    #[test]
    fn misaligned_answers_are_an_error() {
        let e = expect("198.18.0.1", None, "11:00:00", QueryClass::Address);
        let other = expect("198.18.0.2", None, "11:00:00", QueryClass::Address);
        assert!(judge(&e, &answer(&other, "not_found", &[]), 2, 7200).is_err());
        let later = expect("198.18.0.1", None, "11:00:01", QueryClass::Address);
        assert!(judge(&e, &answer(&later, "not_found", &[]), 2, 7200).is_err());
        // The same instant written with an offset is the same query.
        let mut a = answer(&e, "not_found", &[]);
        a["query"]["at"] = json!("2026-11-03T12:00:00+01:00");
        assert!(judge(&e, &a, 2, 7200).is_ok());
    }

    #[test]
    fn report_counts_and_fails() {
        let mut e = expect("198.18.0.1", None, "11:00:00", QueryClass::Address);
        e.bindings = vec![b("A", "10:00:00", "12:00:00", "12:00:00", EndCause::Stop)];
        let mut r = Report::new(2, 7200);
        r.add(&e, &verdict(&e, "found", &["A"]), 5);
        assert!(!r.failed());
        r.add(&e, &verdict(&e, "bogus", &[]), 5);
        r.add(&e, &verdict(&e, "found", &["B"]), 5);
        assert!(r.failed());
        assert_eq!((r.wrong, r.unjustified, r.queries), (1, 1, 3));
        assert_eq!(r.table[Row::Inside.index()][0], 2);
        assert_eq!(r.table[Row::Inside.index()][OTHER], 1);
        let j = r.to_json();
        assert_eq!(j["wrong"], 1);
        assert_eq!(j["rows"][0]["row"], "inside");
        assert_eq!(j["rows"][0]["counts"]["found"], 2);
        assert!(r.to_text().contains("FAIL"));
    }
}
