//! The query and expectation line formats shared by `queries` (writes them) and `check`
//! (reads them). A query line is exactly what `tdr lookup --batch` reads; the expectation line
//! at the same position carries the truth around the query time, so the checker needs no
//! other file and can apply its own tolerance.

use crate::truth::EndCause;
use serde::{Deserialize, Serialize};

/// The widest tolerance the checker accepts: expectations carry every binding within this
/// many seconds of the query time (and any unlogged-end tail that may reach it: one whose end
/// the logs do not show, up to the next start of the address).
pub const MAX_TOLERANCE: i64 = 60;

/// One line of `queries.jsonl`, as `tdr lookup --batch` reads it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub addr: String,
    pub port: Option<u16>,
    pub at: String,
}

/// What kind of query it is, as far as the checker needs to know beyond the bindings.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QueryClass {
    /// An address or an address inside a delegated prefix of ours.
    Address,
    /// A CGNAT public address (with or without port).
    Cgnat,
    /// An address nobody held during the run (in or outside our address space).
    Unassigned,
    /// A time older than the retention period.
    OutsideRetention,
}

/// A real binding of the queried address (or of a CGNAT block's inside address) near the
/// query time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExpectBinding {
    pub subscriber: String,
    pub target: String,
    pub start: String,
    pub end: String,
    pub confirmed_until: String,
    pub end_cause: EndCause,
    /// Start of the next binding of the same target (by anyone), if any. (The unattributed
    /// CGNAT subscribers' inside addresses are a pool of their own, so the next binding of a
    /// logged binding's target is logged too: its start is a logged event.)
    pub next_start: Option<String>,
    /// For a binding whose end the logs do not show (lost Stop, Stop after the run): the
    /// first reboot of its NAS after its real end, a logged event that ends it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reboot_after: Option<String>,
    /// No log shows this binding (an unattributed CGNAT subscriber's inside address): nobody
    /// may be named from it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlogged: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A CGNAT port block covering the queried port near the query time, with the real
/// bindings of its inside address near the query time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExpectNat {
    pub public: String,
    pub ports: String,
    pub inside: String,
    pub start: String,
    pub end: String,
    pub end_cause: EndCause,
    /// The inside address's assignment is logged nowhere (an unattributed CGNAT subscriber):
    /// the right answer for a port in the block is `inside_unknown`, with the block.
    #[serde(default, skip_serializing_if = "is_false")]
    pub inside_unlogged: bool,
    pub holders: Vec<ExpectBinding>,
}

/// One line of `expect.jsonl`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// Position of the query (0-based line number in queries.jsonl).
    pub n: u64,
    pub query: Query,
    pub class: QueryClass,
    /// What the generator aimed at (informational): inside, boundary, gap, tail, v6,
    /// no_interim, late_stop, cgnat_no_port, cgnat_port, cgnat_unattributed, unassigned,
    /// outside_retention.
    pub intent: String,
    /// For address queries: the bindings of the address or prefix near the query time.
    pub bindings: Vec<ExpectBinding>,
    /// For CGNAT queries with a port: the port blocks near the query time.
    pub nat: Vec<ExpectNat>,
}
