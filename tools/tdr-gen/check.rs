//! `tdr-gen check`: judges tdr's lookup answers against the expectations written by `queries`.
//! Each query gets a truth row (what really happened at that time, given the tolerance) and
//! tdr's status as column of a confusion table. Four counts fail the run (exit code 1, `pass`
//! false in the JSON); one answer may count in several:
//!
//! * WRONG — tdr answered `found` naming a subscriber who did not hold the address (or, for
//!   CGNAT, the inside address of the port block) within ± tolerance of the time; or
//!   `end_inferred` naming one who neither held it then nor was in the unlogged-end tail of
//!   their binding at that time; or `inside_unknown` naming anybody. Any name for a CGNAT
//!   address without a port, an unassigned address, a time outside retention or a port whose
//!   block's inside address's assignment is logged nowhere (unattributed) is WRONG.
//! * UNJUSTIFIED — the truth is clear and tdr did not give the answer it supports: exactly one
//!   holder, more than the tolerance away from every boundary and inside the logged part of
//!   its binding (for CGNAT with port: one port block, the time more than the tolerance inside
//!   it, and its inside address's binding so), and the status is not `found` (so
//!   `inside_unknown` for an attributed inside address whose holder is clear is UNJUSTIFIED);
//!   or one port block, the time more than the tolerance inside it, its inside address
//!   unattributed, and the status is not `inside_unknown`.
//! * FALSE_NOT_FOUND — tdr answered `not_found` ("the logs show nobody") although the truth is
//!   "held" throughout the query time ± tolerance: for an address, covered by the real
//!   holding times of its bindings together with their unlogged-end tails (so the part of a
//!   session after its last Interim up to its lost Stop, and the time after that until the
//!   next logged event of the address, count: the logs cannot exclude the last holder); for a
//!   CGNAT public address with port, covered by the lifetimes of the logged port blocks
//!   holding the port (whoever holds, or nobody's logs show holding, their inside address).
//!   "Throughout ± tolerance" rather than "somewhere within": the checker's tolerance
//!   includes the producers' clock skews, so a `not_found` that far from a logged boundary is
//!   tdr's to give.
//! * DROPPED_EVIDENCE — for a CGNAT public address with port, a logged port block held the
//!   port with the time more than the tolerance inside its lifetime, and the answer carries
//!   it neither as the `via` of a match (public, ports, inside; this covers `ambiguous` with
//!   the block among the candidates' vias) nor in `nat_blocks`; `outside_retention` and
//!   `no_data_for_this_purpose` answers are exempt (they may show nothing).
//!
//! The unlogged-end tail of a binding whose end the logs lack — a lost Stop, a Stop that
//! reaches the server only after the run, a session still open at the end of the run — runs
//! from its last logged event (`confirmed_until`: its Start or last Interim) until the next
//! logged event of the address that ends it: the start of the address's next binding, or the
//! next reboot of the session's NAS. That of a session ended by a NAS reboot runs from its
//! last Interim to the reboot. A Stop that arrives late (even days, by `Acct-Delay-Time`) is a
//! logged end: such a session has no tail, and its whole interval is the logged part.
//! Bindings no log shows (an unattributed subscriber's inside address) are never nameable.
//!
//! Answers are read as `tdr lookup --batch` writes them: `status`, `matches[].subscriber`,
//! `matches[].via` {`public`, `ports` "LO-HI", `inside`} (null for a direct match),
//! `nat_blocks[]` {`public`, `ports`, `inside`} (absent when empty), `sharing`.

use crate::error::{GenError, Result};
use crate::expect::{Expect, ExpectBinding, QueryClass, MAX_TOLERANCE};
use crate::timefmt;
use crate::truth::EndCause;
use clap::Args;
use serde::Serialize;
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
    /// Clock tolerance in seconds (tdr's ± plus the producers' clock skew; at most 60).
    #[arg(long, default_value_t = 2)]
    pub tolerance: i64,
    /// Print the table and counts as JSON.
    #[arg(long)]
    pub json: bool,
    /// How many examples of each failing count to show.
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
    /// After the last logged event of a session whose Stop was lost (or arrives only after
    /// the run), up to the next logged event of the address.
    LostStopTail,
    /// After the last Interim of a session ended by a NAS reboot, up to the reboot.
    RebootTail,
    /// After the last logged event of a session still open at the end of the run.
    OpenTail,
    /// Nobody held the address, and the logs show it.
    Gap,
    CgnatNoPort,
    /// CGNAT with port, one port block and its inside address well inside on both hops.
    CgnatPortInside,
    /// CGNAT with port, one port block, well inside it, whose inside address's assignment is
    /// logged nowhere: `inside_unknown` is due.
    CgnatPortUnattributed,
    /// CGNAT with port, anything else (boundaries, tails, no block).
    CgnatPortOther,
    OutsideRetention,
    Unassigned,
}

pub const ROWS: [Row; 13] = [
    Row::Inside,
    Row::BoundaryShared,
    Row::BoundaryEdge,
    Row::LostStopTail,
    Row::RebootTail,
    Row::OpenTail,
    Row::Gap,
    Row::CgnatNoPort,
    Row::CgnatPortInside,
    Row::CgnatPortUnattributed,
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
            Row::CgnatPortUnattributed => "cgnat_port_unattributed",
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
pub const STATUSES: [&str; 10] = [
    "found",
    "end_inferred",
    "ambiguous",
    "not_found",
    "no_coverage",
    "port_required",
    "inside_unknown",
    "outside_retention",
    "not_our_address",
    "no_data_for_this_purpose",
];
const OTHER: usize = STATUSES.len();

/// A CGNAT port block as evidence: public address, port range, inside address (addresses
/// in their canonical text form).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BlockRef {
    pub public: String,
    pub ports: String,
    pub inside: String,
}

fn canonical_addr(a: &str) -> String {
    a.parse::<IpAddr>()
        .map_or_else(|_| a.to_string(), |ip| ip.to_string())
}

fn canonical_ports(p: &str) -> String {
    let parsed = p.split_once('-').and_then(|(lo, hi)| {
        Some((
            lo.trim().parse::<u16>().ok()?,
            hi.trim().parse::<u16>().ok()?,
        ))
    });
    match parsed {
        Some((lo, hi)) => format!("{lo}-{hi}"),
        None => p.to_string(),
    }
}

impl BlockRef {
    pub fn new(public: &str, ports: &str, inside: &str) -> Self {
        BlockRef {
            public: canonical_addr(public),
            ports: canonical_ports(ports),
            inside: canonical_addr(inside),
        }
    }

    /// The block an answer's `via` or `nat_blocks` entry names, if it names one.
    fn from_answer(v: &Value) -> Option<Self> {
        Some(Self::new(
            v["public"].as_str()?,
            v["ports"].as_str()?,
            v["inside"].as_str()?,
        ))
    }
}

/// What the checker reads of one answer line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: String,
    /// The subscribers of the matches, in order.
    pub named: Vec<String>,
    /// The port blocks the matches came through (`via`), in order.
    pub vias: Vec<BlockRef>,
    /// The port blocks given as evidence without a holder (`nat_blocks`).
    pub nat_blocks: Vec<BlockRef>,
}

impl Answer {
    pub fn parse(v: &Value) -> Self {
        let matches = v["matches"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        Answer {
            status: v["status"].as_str().unwrap_or("").to_string(),
            named: matches
                .iter()
                .filter_map(|m| m["subscriber"].as_str().map(str::to_string))
                .collect(),
            vias: matches
                .iter()
                .filter_map(|m| BlockRef::from_answer(&m["via"]))
                .collect(),
            nat_blocks: v["nat_blocks"]
                .as_array()
                .map(|bs| bs.iter().filter_map(BlockRef::from_answer).collect())
                .unwrap_or_default(),
        }
    }

    /// Whether the answer shows `b` as evidence (a match's via or a `nat_blocks` entry).
    pub fn carries(&self, b: &BlockRef) -> bool {
        self.vias.contains(b) || self.nat_blocks.contains(b)
    }
}

/// The truth at a query time: its row, who may be named, and what an answer must not deny.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    pub row: Row,
    /// Subscribers holding the address within ± tolerance (a `found` may name these).
    pub holders: BTreeSet<String>,
    /// Holders plus subscribers in an unlogged-end tail (an `end_inferred` may name these).
    pub candidates: BTreeSet<String>,
    /// "Held" throughout the time ± tolerance (see the module doc): `not_found` is false.
    pub held: bool,
    /// The logged port blocks holding the port with the time more than the tolerance inside
    /// their lifetime: the answer must carry each.
    pub blocks: Vec<BlockRef>,
}

struct B {
    subscriber: String,
    start: i64,
    end: i64,
    confirmed_until: i64,
    cause: EndCause,
    next_start: Option<i64>,
    reboot_after: Option<i64>,
    unlogged: bool,
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
        reboot_after: b.reboot_after.as_deref().map(time).transpose()?,
        unlogged: b.unlogged,
    })
}

/// The unlogged-end tail of a binding: after its last logged event, up to the next logged
/// event of the address that ends it (`i64::MAX`: none).
fn tail(b: &B) -> Option<(i64, i64, Row)> {
    let cu = b.confirmed_until;
    let next = b
        .next_start
        .unwrap_or(i64::MAX)
        .min(b.reboot_after.unwrap_or(i64::MAX));
    match b.cause {
        EndCause::LostStop | EndCause::StopPending => Some((cu, next, Row::LostStopTail)),
        EndCause::NasReboot => Some((cu, b.end, Row::RebootTail)),
        EndCause::StillOpen => Some((cu, next, Row::OpenTail)),
        EndCause::Stop | EndCause::Release | EndCause::Expiry => None,
    }
}

/// Whether the closed intervals cover every second of `[lo, hi]`.
fn covers(mut spans: Vec<(i64, i64)>, lo: i64, hi: i64) -> bool {
    spans.sort_unstable();
    let mut reach = lo.saturating_sub(1);
    for (a, b) in spans {
        if a > reach.saturating_add(1) {
            break;
        }
        reach = reach.max(b);
        if reach >= hi {
            return true;
        }
    }
    false
}

/// Classifies time `t` against the bindings of one address.
fn classify_address(
    bindings: &[ExpectBinding],
    t: i64,
    tol: i64,
) -> std::result::Result<Truth, String> {
    let parsed = bindings
        .iter()
        .map(parse_binding)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // What no log shows cannot be named, nor denied by the logs.
    let bs: Vec<&B> = parsed.iter().filter(|b| !b.unlogged).collect();
    let near: Vec<&B> = bs
        .iter()
        .copied()
        .filter(|b| b.start <= t + tol && b.end >= t - tol)
        .collect();
    let holders: BTreeSet<String> = near.iter().map(|b| b.subscriber.clone()).collect();
    let mut spans: Vec<(i64, i64)> = bs.iter().map(|b| (b.start, b.end)).collect();
    let mut tails: Vec<(&B, Row)> = Vec::new();
    for b in &bs {
        let Some((lo, hi, row)) = tail(b) else {
            continue;
        };
        spans.push((lo, hi));
        if t > lo && t <= hi.saturating_add(tol) {
            tails.push((b, row));
        }
    }
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
        held: covers(spans, t - tol, t + tol),
        blocks: Vec::new(),
    })
}

/// The truth at the query of `e`.
pub fn classify(e: &Expect, tol: i64) -> std::result::Result<Truth, String> {
    let t = timefmt::parse_rfc3339(&e.query.at).ok_or("bad query time")?;
    let nobody = |row| Truth {
        row,
        holders: BTreeSet::new(),
        candidates: BTreeSet::new(),
        held: false,
        blocks: Vec::new(),
    };
    match (e.class, e.query.port) {
        (QueryClass::OutsideRetention, _) => Ok(nobody(Row::OutsideRetention)),
        (QueryClass::Unassigned, _) => Ok(nobody(Row::Unassigned)),
        (QueryClass::Cgnat, None) => Ok(nobody(Row::CgnatNoPort)),
        (QueryClass::Address, _) => classify_address(&e.bindings, t, tol),
        (QueryClass::Cgnat, Some(_)) => {
            let mut truth = nobody(Row::CgnatPortOther);
            let mut near = 0;
            let mut clean = None;
            let mut spans = Vec::new();
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
                spans.push((start, end));
                let firm = t - start > tol && end.saturating_sub(t) > tol;
                if firm {
                    truth
                        .blocks
                        .push(BlockRef::new(&blk.public, &blk.ports, &blk.inside));
                }
                if blk.inside_unlogged {
                    clean = firm.then_some(Row::CgnatPortUnattributed);
                } else {
                    let inner = classify_address(&blk.holders, t, tol)?;
                    clean = (firm && inner.row == Row::Inside).then_some(Row::CgnatPortInside);
                    truth.holders.extend(inner.holders);
                    truth.candidates.extend(inner.candidates);
                }
            }
            if let (1, Some(row)) = (near, clean) {
                truth.row = row;
            }
            truth.held = covers(spans, t - tol, t + tol);
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
    /// The blocks the answer carries (vias, then `nat_blocks`), for examples.
    pub evidence: Vec<BlockRef>,
    pub wrong: bool,
    pub unjustified: bool,
    pub false_not_found: bool,
    /// The truth's blocks the answer does not carry (DROPPED_EVIDENCE when not empty).
    pub dropped: Vec<BlockRef>,
    /// `found` (not `end_inferred`) in an unlogged-end tail, naming a real holder: right, but
    /// claims more than the logs show.
    pub found_in_tail: bool,
    /// `found` although two or more subscribers held the address within ± tolerance: not a
    /// wrong name, but a guess where `ambiguous` was due.
    pub found_shared: bool,
    /// `found` or `end_inferred` without any subscriber.
    pub empty: bool,
}

impl Verdict {
    pub fn dropped_evidence(&self) -> bool {
        !self.dropped.is_empty()
    }
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
pub fn judge(e: &Expect, answer: &Value, tol: i64) -> std::result::Result<Verdict, String> {
    if !answers_query(e, answer) {
        return Err(format!(
            "answer {} does not echo query {} (answers out of order or missing?)",
            answer["query"], e.n
        ));
    }
    let truth = classify(e, tol)?;
    let a = Answer::parse(answer);
    let status = a.status.as_str();
    let naming = matches!(status, "found" | "end_inferred");
    let allowed = if status == "found" {
        &truth.holders
    } else {
        &truth.candidates
    };
    let wrong = (naming && a.named.iter().any(|s| !allowed.contains(s)))
        || (status == "inside_unknown" && !a.named.is_empty());
    let unjustified = match truth.row {
        Row::Inside | Row::CgnatPortInside => status != "found",
        Row::CgnatPortUnattributed => status != "inside_unknown",
        _ => false,
    };
    let false_not_found = status == "not_found" && truth.held;
    let exempt = matches!(status, "outside_retention" | "no_data_for_this_purpose");
    let dropped = if exempt {
        Vec::new()
    } else {
        truth
            .blocks
            .iter()
            .filter(|b| !a.carries(b))
            .cloned()
            .collect()
    };
    let found_in_tail = status == "found"
        && !wrong
        && matches!(
            truth.row,
            Row::LostStopTail | Row::RebootTail | Row::OpenTail
        );
    let found_shared = status == "found" && truth.holders.len() >= 2;
    let empty = naming && a.named.is_empty();
    let mut evidence = a.vias.clone();
    evidence.extend(a.nat_blocks.iter().cloned());
    Ok(Verdict {
        truth,
        status: a.status,
        named: a.named,
        evidence,
        wrong,
        unjustified,
        false_not_found,
        dropped,
        found_in_tail,
        found_shared,
        empty,
    })
}

/// The failing counts: name, what it means (for the text report), JSON key.
const FAILURES: [(&str, &str, &str); 4] = [
    (
        "WRONG",
        "found/end_inferred naming a subscriber the truth does not have, or inside_unknown naming anyone",
        "wrong",
    ),
    (
        "UNJUSTIFIED",
        "not found although one subscriber held it well inside a logged binding, \
         or not inside_unknown well inside a block whose inside address is logged nowhere",
        "unjustified",
    ),
    (
        "FALSE_NOT_FOUND",
        "not_found although someone held the address, or the logs cannot exclude its last \
         holder (unlogged-end tail), or the port lay in a logged port block, throughout ± tolerance",
        "false_not_found",
    ),
    (
        "DROPPED_EVIDENCE",
        "a logged port block holding the port, well inside its lifetime, is neither a match's \
         via nor in nat_blocks",
        "dropped_evidence",
    ),
];

/// The confusion table and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tolerance: i64,
    pub queries: u64,
    /// `table[row][column]`, columns as `STATUSES` plus "other".
    pub table: Vec<[u64; STATUSES.len() + 1]>,
    pub wrong: u64,
    pub unjustified: u64,
    pub false_not_found: u64,
    pub dropped_evidence: u64,
    /// Examples of each failing count, in the order of `FAILURES`.
    pub examples: [Vec<Value>; 4],
    pub found_in_tail: u64,
    pub found_shared: u64,
    pub empty: u64,
}

impl Report {
    pub fn new(tolerance: i64) -> Self {
        Report {
            tolerance,
            queries: 0,
            table: vec![[0; STATUSES.len() + 1]; ROWS.len()],
            wrong: 0,
            unjustified: 0,
            false_not_found: 0,
            dropped_evidence: 0,
            examples: Default::default(),
            found_in_tail: 0,
            found_shared: 0,
            empty: 0,
        }
    }

    /// The failing counts, in the order of `FAILURES`.
    pub fn counts(&self) -> [u64; 4] {
        [
            self.wrong,
            self.unjustified,
            self.false_not_found,
            self.dropped_evidence,
        ]
    }

    pub fn failed(&self) -> bool {
        self.counts().iter().any(|&n| n > 0)
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
        let hits = [
            v.wrong,
            v.unjustified,
            v.false_not_found,
            v.dropped_evidence(),
        ];
        let counters = [
            &mut self.wrong,
            &mut self.unjustified,
            &mut self.false_not_found,
            &mut self.dropped_evidence,
        ];
        for (i, (hit, count)) in hits.into_iter().zip(counters).enumerate() {
            if !hit {
                continue;
            }
            *count += 1;
            if self.examples[i].len() < max_examples {
                self.examples[i].push(json!({
                    "n": e.n,
                    "query": e.query,
                    "intent": e.intent,
                    "truth_row": v.truth.row.name(),
                    "truth_holders": v.truth.holders,
                    "truth_candidates": v.truth.candidates,
                    "truth_held": v.truth.held,
                    "truth_blocks": v.truth.blocks,
                    "status": v.status,
                    "named": v.named,
                    "evidence": v.evidence,
                    "dropped": v.dropped,
                }));
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
        let mut out = json!({
            "queries": self.queries,
            "tolerance": self.tolerance,
            "columns": columns,
            "rows": rows,
        });
        let mut examples = serde_json::Map::new();
        for ((_, _, key), (n, ex)) in FAILURES
            .iter()
            .zip(self.counts().iter().zip(&self.examples))
        {
            out[*key] = json!(n);
            examples.insert((*key).to_string(), json!(ex));
        }
        out["notes"] = json!({
            "found_in_unlogged_tail": self.found_in_tail,
            "found_while_shared": self.found_shared,
            "naming_status_without_subscriber": self.empty,
        });
        out["examples"] = Value::Object(examples);
        out["pass"] = json!(!self.failed());
        out
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
            "tdr-gen check: {} queries, tolerance {} s\n{head:<w0$}",
            self.queries, self.tolerance
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
        for ((label, what, _), n) in FAILURES.iter().zip(self.counts()) {
            out.push_str(&format!("{label} {n}  ({what})\n"));
        }
        out.push_str(&format!(
            "notes (not failures): found in an unlogged-end tail {}; \
             found while 2+ subscribers within tolerance {}; \
             found/end_inferred without subscriber {}\n",
            self.found_in_tail, self.found_shared, self.empty
        ));
        for ((label, _, _), list) in FAILURES.iter().zip(&self.examples) {
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
    if !(0..=MAX_TOLERANCE).contains(&args.tolerance) {
        return Err(GenError::Usage(format!(
            "--tolerance must be between 0 and {MAX_TOLERANCE}"
        )));
    }
    let open = |p: &PathBuf| {
        File::open(p)
            .map(|f| BufReader::with_capacity(1 << 20, f).lines())
            .map_err(|e| GenError::io(p, e))
    };
    let mut expects = open(&args.expect)?;
    let mut answers = open(&args.answers)?;
    let mut report = Report::new(args.tolerance);
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
        let v = judge(&e, &a, args.tolerance)
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
            reboot_after: None,
            unlogged: false,
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

    fn at(e: &mut Expect, time: &str) {
        e.query.at = format!("2026-11-03T{time}Z");
    }

    fn answer(e: &Expect, status: &str, subs: &[&str]) -> Value {
        let matches: Vec<Value> = subs
            .iter()
            .map(|s| json!({"subscriber": s, "via": null}))
            .collect();
        json!({"query": e.query, "status": status, "matches": matches, "sharing": null})
    }

    fn verdict(e: &Expect, status: &str, subs: &[&str]) -> Verdict {
        judge(e, &answer(e, status, subs), 2).unwrap()
    }

    #[test]
    fn one_holder_well_inside() {
        let mut e = expect("198.18.0.1", None, "11:00:00", QueryClass::Address);
        e.bindings = vec![b("A", "10:00:00", "12:00:00", "12:00:00", EndCause::Stop)];
        let ok = verdict(&e, "found", &["A"]);
        assert_eq!(ok.truth.row, Row::Inside);
        assert!(!ok.wrong && !ok.unjustified && !ok.false_not_found);
        let wrong = verdict(&e, "found", &["B"]);
        assert!(wrong.wrong && !wrong.unjustified);
        for status in ["not_found", "ambiguous", "no_coverage", "end_inferred"] {
            let v = verdict(&e, status, &["A"]);
            assert!(v.unjustified && !v.wrong, "{status}");
            assert_eq!(v.false_not_found, status == "not_found", "{status}");
        }
        assert!(verdict(&e, "end_inferred", &["B"]).wrong);
        // Two seconds from the start is not "well inside" with tolerance 2.
        at(&mut e, "10:00:02");
        let v = verdict(&e, "not_found", &[]);
        assert_eq!(v.truth.row, Row::BoundaryEdge);
        assert!(!v.unjustified && v.false_not_found);
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
        // Held without a break across the handover: "nobody" is false.
        assert!(verdict(&e, "not_found", &[]).false_not_found);
        // Two seconds into B's binding: only B within tolerance, but near its start.
        at(&mut e, "11:00:03");
        let v = verdict(&e, "found", &["A"]);
        assert_eq!(v.truth.row, Row::BoundaryEdge);
        assert!(v.wrong);
    }

    #[test]
    fn lost_stop_tail_runs_to_the_next_logged_start() {
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
        assert!(!v.wrong && !v.unjustified && !v.false_not_found);
        assert!(verdict(&e, "found", &["A"]).wrong);
        // Nobody really held it, but the logs cannot show that: "nobody" is false.
        let v = verdict(&e, "not_found", &[]);
        assert!(!v.wrong && v.false_not_found);
        // Before the real end, A still held it: found is right but claims too much.
        at(&mut e, "10:06:00");
        let v = verdict(&e, "found", &["A"]);
        assert!(!v.wrong && v.found_in_tail);
        assert!(verdict(&e, "not_found", &[]).false_not_found);
        // Hours later, with no logged event of the address since: still A's tail (no
        // interim timeout ends it any more).
        at(&mut e, "23:06:00");
        let v = verdict(&e, "end_inferred", &["A"]);
        assert_eq!(v.truth.row, Row::LostStopTail);
        assert!(!v.wrong);
        assert!(verdict(&e, "not_found", &[]).false_not_found);
        // The next assignment ends the tail.
        at(&mut e, "10:30:00");
        e.bindings[0].next_start = Some("2026-11-03T10:20:00Z".to_string());
        let v = verdict(&e, "end_inferred", &["A"]);
        assert_eq!(v.truth.row, Row::Gap);
        assert!(v.wrong);
        assert!(!verdict(&e, "not_found", &[]).false_not_found);
        // Up to it (and within the tolerance after it), end_inferred may name A.
        at(&mut e, "10:19:59");
        assert!(!verdict(&e, "end_inferred", &["A"]).wrong);
        at(&mut e, "10:20:02");
        assert!(!verdict(&e, "end_inferred", &["A"]).wrong);
        // A reboot of A's NAS after the real end ends the tail too.
        e.bindings[0].next_start = None;
        e.bindings[0].reboot_after = Some("2026-11-03T10:12:00Z".to_string());
        at(&mut e, "10:11:00");
        assert!(!verdict(&e, "end_inferred", &["A"]).wrong);
        assert!(verdict(&e, "not_found", &[]).false_not_found);
        at(&mut e, "10:13:00");
        assert!(verdict(&e, "end_inferred", &["A"]).wrong);
        let v = verdict(&e, "not_found", &[]);
        assert!(!v.false_not_found && !v.wrong && !v.unjustified);
    }

    #[test]
    fn a_stop_that_never_arrived_leaves_a_tail_a_late_one_does_not() {
        // A Start-only session (no interims) whose Stop arrives after the run.
        let mut e = expect("198.18.0.1", None, "20:00:00", QueryClass::Address);
        e.bindings = vec![b(
            "A",
            "01:00:00",
            "22:00:00",
            "01:00:00",
            EndCause::StopPending,
        )];
        let v = verdict(&e, "end_inferred", &["A"]);
        assert_eq!(v.truth.row, Row::LostStopTail);
        assert!(!v.wrong && !v.unjustified);
        assert!(verdict(&e, "not_found", &[]).false_not_found);
        // The same session whose Stop arrived (late, but in the logs): found, all along.
        e.bindings[0].end_cause = EndCause::Stop;
        e.bindings[0].confirmed_until = e.bindings[0].end.clone();
        assert_eq!(verdict(&e, "found", &["A"]).truth.row, Row::Inside);
        assert!(verdict(&e, "end_inferred", &["A"]).unjustified);
        at(&mut e, "23:00:00");
        let v = verdict(&e, "not_found", &[]);
        assert_eq!(v.truth.row, Row::Gap);
        assert!(!v.false_not_found);
        assert!(verdict(&e, "end_inferred", &["A"]).wrong);
    }

    #[test]
    fn false_not_found_needs_the_whole_tolerance_window_held() {
        let mut e = expect("198.18.0.1", None, "09:59:58", QueryClass::Address);
        e.bindings = vec![b("A", "10:00:00", "12:00:00", "12:00:00", EndCause::Stop)];
        // Within the tolerance of the start, but not held throughout it: tdr may say so.
        assert!(!verdict(&e, "not_found", &[]).false_not_found);
        at(&mut e, "12:00:01");
        assert!(!verdict(&e, "not_found", &[]).false_not_found);
        at(&mut e, "11:59:58");
        assert!(verdict(&e, "not_found", &[]).false_not_found);
        // A real gap between two holders is a gap.
        e.bindings
            .push(b("B", "12:00:10", "13:00:00", "13:00:00", EndCause::Stop));
        at(&mut e, "12:00:05");
        let v = verdict(&e, "not_found", &[]);
        assert_eq!(v.truth.row, Row::Gap);
        assert!(!v.false_not_found);
        // Nobody may be named for a time nobody held it, and no "held" for unassigned.
        let u = expect("192.0.2.7", None, "11:00:00", QueryClass::Unassigned);
        assert!(!verdict(&u, "not_found", &[]).false_not_found);
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
        at(&mut e, "10:08:00");
        assert!(verdict(&e, "end_inferred", &["A"]).wrong);
        assert!(!verdict(&e, "not_found", &[]).false_not_found);
        e.bindings[0].end_cause = EndCause::StillOpen;
        e.bindings[0].end = "2026-11-03T10:09:00Z".to_string();
        let v = verdict(&e, "found", &["A"]);
        assert_eq!(v.truth.row, Row::OpenTail);
        assert!(!v.wrong);
    }

    fn block(inside: &str, start: &str, end: &str, holders: Vec<ExpectBinding>) -> ExpectNat {
        ExpectNat {
            public: "203.0.113.1".to_string(),
            ports: "1024-2047".to_string(),
            inside: inside.to_string(),
            start: format!("2026-11-03T{start}Z"),
            end: format!("2026-11-03T{end}Z"),
            end_cause: EndCause::Release,
            inside_unlogged: false,
            holders,
        }
    }

    fn holder(sub: &str, inside: &str) -> ExpectBinding {
        let mut h = b(sub, "09:59:59", "12:00:00", "12:00:00", EndCause::Stop);
        h.target = inside.to_string();
        h
    }

    /// A CGNAT port query well inside one block to 100.64.0.1, held by A.
    fn cgnat_port() -> Expect {
        let mut e = expect("203.0.113.1", Some(2000), "11:00:00", QueryClass::Cgnat);
        e.nat = vec![block(
            "100.64.0.1",
            "10:00:00",
            "12:00:00",
            vec![holder("A", "100.64.0.1")],
        )];
        e
    }

    fn via(public: &str, ports: &str, inside: &str) -> Value {
        json!({"public": public, "ports": ports, "inside": inside,
               "start": "2026-11-03T10:00:01Z", "end": "2026-11-03T12:00:01Z",
               "end_kind": "release", "source": "cgnat"})
    }

    /// An answer whose matches name `subs`, each through `via`, and with `nat_blocks`.
    fn answer_with(e: &Expect, status: &str, subs: &[&str], via: Value, blocks: &[Value]) -> Value {
        let mut a = answer(e, status, subs);
        for m in a["matches"].as_array_mut().unwrap() {
            m["via"] = via.clone();
        }
        if !blocks.is_empty() {
            a["nat_blocks"] = json!(blocks);
        }
        a
    }

    #[test]
    fn cgnat_needs_a_port_and_attributes_through_the_block() {
        let e = expect("203.0.113.1", None, "11:00:00", QueryClass::Cgnat);
        let v = verdict(&e, "port_required", &[]);
        assert_eq!(v.truth.row, Row::CgnatNoPort);
        assert!(!v.wrong && !v.unjustified && !v.dropped_evidence() && !v.false_not_found);
        assert!(verdict(&e, "found", &["A"]).wrong);

        let mut e = cgnat_port();
        let good = via("203.0.113.1", "1024-2047", "100.64.0.1");
        let v = judge(&e, &answer_with(&e, "found", &["A"], good.clone(), &[]), 2).unwrap();
        assert_eq!(v.truth.row, Row::CgnatPortInside);
        assert!(!v.wrong && !v.unjustified && !v.dropped_evidence());
        assert!(verdict(&e, "found", &["B"]).wrong);
        assert!(verdict(&e, "not_found", &[]).unjustified);
        assert!(verdict(&e, "port_required", &[]).unjustified);
        // inside_unknown where the inside address's holder is clear is unjustified.
        let a = answer_with(&e, "inside_unknown", &[], Value::Null, &[good]);
        let v = judge(&e, &a, 2).unwrap();
        assert!(v.unjustified && !v.wrong && !v.dropped_evidence());
        at(&mut e, "12:00:01");
        let v = verdict(&e, "not_found", &[]);
        assert_eq!(v.truth.row, Row::CgnatPortOther);
        assert!(!v.unjustified && !v.dropped_evidence() && !v.false_not_found);
        // After the block's release (logged), nobody holds the port.
        at(&mut e, "12:00:05");
        assert!(!verdict(&e, "not_found", &[]).false_not_found);
    }

    #[test]
    fn false_not_found_for_a_port_in_a_logged_block() {
        let mut e = cgnat_port();
        let v = verdict(&e, "not_found", &[]);
        assert!(v.false_not_found && v.dropped_evidence() && v.unjustified);
        // Whoever holds the inside address, even nobody the logs show.
        e.nat[0].holders.clear();
        assert!(verdict(&e, "not_found", &[]).false_not_found);
        // Outside the block, and only near its edge, it is not counted.
        at(&mut e, "09:59:59");
        assert!(!verdict(&e, "not_found", &[]).false_not_found);
        at(&mut e, "13:00:00");
        let v = verdict(&e, "not_found", &[]);
        assert!(!v.false_not_found && !v.dropped_evidence());
    }

    #[test]
    fn dropped_evidence_counts_a_missing_block() {
        let e = cgnat_port();
        let good = via("203.0.113.1", "1024-2047", "100.64.0.1");
        let judged = |a: Value| judge(&e, &a, 2).unwrap();
        // Carried as the via of the match, or spelt differently but the same block.
        assert!(!judged(answer_with(&e, "found", &["A"], good.clone(), &[])).dropped_evidence());
        let spelt = via("203.0.113.1", "01024-2047", "100.64.0.1");
        assert!(!judged(answer_with(&e, "found", &["A"], spelt, &[])).dropped_evidence());
        // A name without the block, or through another block, drops it.
        let v = judged(answer(&e, "found", &["A"]));
        assert!(v.dropped_evidence() && !v.wrong);
        assert_eq!(
            v.dropped,
            [BlockRef::new("203.0.113.1", "1024-2047", "100.64.0.1")]
        );
        let other = via("203.0.113.1", "2048-3071", "100.64.0.1");
        assert!(judged(answer_with(&e, "found", &["A"], other, &[])).dropped_evidence());
        // Refusals must still show it; ambiguous with the block among the vias does.
        assert!(verdict(&e, "no_coverage", &[]).dropped_evidence());
        assert!(verdict(&e, "port_required", &[]).dropped_evidence());
        let v = judged(answer_with(&e, "ambiguous", &["A", "B"], good.clone(), &[]));
        assert!(!v.dropped_evidence());
        let v = judged(answer_with(&e, "no_coverage", &[], Value::Null, &[good]));
        assert!(!v.dropped_evidence());
        // Answers that may show nothing are exempt.
        for status in ["outside_retention", "no_data_for_this_purpose"] {
            assert!(!verdict(&e, status, &[]).dropped_evidence(), "{status}");
        }
        // Within the tolerance of the block's start it is not required.
        let mut near = cgnat_port();
        at(&mut near, "10:00:02");
        assert!(!verdict(&near, "found", &["A"]).dropped_evidence());
        at(&mut near, "10:00:03");
        assert!(verdict(&near, "found", &["A"]).dropped_evidence());
    }

    #[test]
    fn inside_unknown_is_due_for_an_unattributed_block() {
        let mut e = cgnat_port();
        e.nat[0].inside = "100.66.0.9".to_string();
        e.nat[0].inside_unlogged = true;
        e.nat[0].holders = vec![holder("U", "100.66.0.9")];
        e.nat[0].holders[0].unlogged = true;
        let block = via("203.0.113.1", "1024-2047", "100.66.0.9");
        let ok = judge(
            &e,
            &answer_with(
                &e,
                "inside_unknown",
                &[],
                Value::Null,
                std::slice::from_ref(&block),
            ),
            2,
        )
        .unwrap();
        assert_eq!(ok.truth.row, Row::CgnatPortUnattributed);
        assert!(ok.truth.holders.is_empty() && ok.truth.candidates.is_empty());
        assert!(!ok.wrong && !ok.unjustified && !ok.false_not_found && !ok.dropped_evidence());
        // Without the block as evidence it is dropped.
        assert!(verdict(&e, "inside_unknown", &[]).dropped_evidence());
        // Naming anybody is wrong: the real holder (no log shows them) or anyone else.
        for status in ["found", "end_inferred", "inside_unknown"] {
            for sub in ["U", "B"] {
                let a = answer_with(&e, status, &[sub], block.clone(), &[]);
                assert!(judge(&e, &a, 2).unwrap().wrong, "{status} {sub}");
            }
        }
        // Anything else there is unjustified; not_found is also a false "nobody".
        let v = verdict(&e, "not_found", &[]);
        assert!(v.unjustified && v.false_not_found && v.dropped_evidence() && !v.wrong);
        assert!(verdict(&e, "no_coverage", &[]).unjustified);
        // Near the block's edge no answer is due, but nobody may be named.
        at(&mut e, "10:00:01");
        let v = verdict(&e, "not_found", &[]);
        assert_eq!(v.truth.row, Row::CgnatPortOther);
        assert!(!v.unjustified && !v.false_not_found && !v.dropped_evidence());
        assert!(verdict(&e, "found", &["U"]).wrong);
    }

    #[test]
    fn answers_are_parsed_with_their_evidence() {
        let e = cgnat_port();
        let mut a = answer_with(
            &e,
            "ambiguous",
            &["A", "B"],
            via("203.0.113.1", "1024-2047", "100.64.0.1"),
            &[via("203.0.113.1", "2048-3071", "100.64.0.2")],
        );
        a["matches"][1]["via"] = Value::Null;
        a["free_states"] = json!([{"target": "198.18.0.1", "state": "free"}]);
        let p = Answer::parse(&a);
        assert_eq!(p.status, "ambiguous");
        assert_eq!(p.named, ["A", "B"]);
        assert_eq!(
            p.vias,
            [BlockRef::new("203.0.113.1", "1024-2047", "100.64.0.1")]
        );
        assert_eq!(
            p.nat_blocks,
            [BlockRef::new("203.0.113.1", "2048-3071", "100.64.0.2")]
        );
        assert_eq!(Answer::parse(&json!({})), Answer::default());
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
        assert!(judge(&e, &answer(&other, "not_found", &[]), 2).is_err());
        let later = expect("198.18.0.1", None, "11:00:01", QueryClass::Address);
        assert!(judge(&e, &answer(&later, "not_found", &[]), 2).is_err());
        // The same instant written with an offset is the same query.
        let mut a = answer(&e, "not_found", &[]);
        a["query"]["at"] = json!("2026-11-03T12:00:00+01:00");
        assert!(judge(&e, &a, 2).is_ok());
    }

    #[test]
    fn report_counts_and_fails() {
        let mut e = expect("198.18.0.1", None, "11:00:00", QueryClass::Address);
        e.bindings = vec![b("A", "10:00:00", "12:00:00", "12:00:00", EndCause::Stop)];
        let mut r = Report::new(2);
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
        assert_eq!(j["false_not_found"], 0);
        assert_eq!(j["rows"][0]["row"], "inside");
        assert_eq!(j["rows"][0]["counts"]["found"], 2);
        assert!(r.to_text().contains("FAIL"));
        assert!(r.to_text().contains("WRONG 1  ("));
    }

    #[test]
    fn the_new_counts_alone_fail_the_run() {
        // A lost-stop tail answered not_found: only FALSE_NOT_FOUND.
        let mut e = expect("198.18.0.1", None, "15:00:00", QueryClass::Address);
        e.bindings = vec![b(
            "A",
            "10:00:00",
            "10:07:00",
            "10:05:00",
            EndCause::LostStop,
        )];
        let mut r = Report::new(2);
        r.add(&e, &verdict(&e, "end_inferred", &["A"]), 5);
        assert!(!r.failed());
        r.add(&e, &verdict(&e, "not_found", &[]), 5);
        assert_eq!(r.counts(), [0, 0, 1, 0]);
        assert!(r.failed());
        let j = r.to_json();
        assert_eq!(j["false_not_found"], 1);
        assert_eq!(j["pass"], false);
        assert_eq!(j["examples"]["false_not_found"][0]["truth_held"], true);
        assert!(r.to_text().contains("FALSE_NOT_FOUND 1  ("));

        // A found through the right block that leaves the block out: only DROPPED_EVIDENCE.
        let c = cgnat_port();
        let mut r = Report::new(2);
        r.add(&c, &verdict(&c, "found", &["A"]), 5);
        assert_eq!(r.counts(), [0, 0, 0, 1]);
        assert_eq!(r.to_json()["dropped_evidence"], 1);
        assert_eq!(
            r.to_json()["examples"]["dropped_evidence"][0]["dropped"][0]["ports"],
            "1024-2047"
        );
        let text = r.to_text();
        assert!(text.contains("DROPPED_EVIDENCE 1  (") && text.contains("WRONG 0  ("));
        assert!(text.ends_with("FAIL\n"));
    }
}
