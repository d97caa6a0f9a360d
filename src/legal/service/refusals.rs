//! Refusals, bounded: what the audit entry of a refusal holds, and the per-peer limit beyond
//! which refusals are counted instead of written one by one.
//!
//! A refusal is audited (DESIGN.md invariant 1), but whoever can reach the API can cause one
//! without a token, so its entry must not grow with the request nor its number with the
//! sender's patience. A request refused before authentication is audited with a summary of at
//! most [`SUMMARY_MAX`] bytes (operation, peer, size and keyed digest of the query), never the
//! query itself. Each peer (`Caller.peer`: the HTTP peer address or `uid N` of the Unix socket)
//! gets [`RefusalLimit::per_peer`] written refusals per window; further refusals in that window
//! are counted and written as one `refusals_summarised` entry once the window is over (at the
//! next refusal, at [`Service::flush_due_refusals`], or at [`Service::flush_refusals`]).
//! Callers without a peer (inside the process) are not limited.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::Service;
use crate::audit::NewEntry;
use crate::legal::auth::Caller;
use crate::legal::policy::Op;
use crate::model::{fmt_time, UnixSecs};

/// The most bytes the summary standing for a refused-before-authentication request's query
/// takes as JSON.
pub const SUMMARY_MAX: usize = 512;
/// Peers tracked at once; refusals from further peers share one window, `(other peers)`.
const PEERS_MAX: usize = 4096;
const OTHER_PEERS: &str = "(other peers)";
/// Distinct outcomes a summary counts one by one; the rest are added up as `other`.
const OUTCOMES_MAX: usize = 8;

/// How many refusals a peer gets written one by one per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalLimit {
    pub per_peer: u32,
    pub window_secs: i64,
}

impl Default for RefusalLimit {
    fn default() -> Self {
        RefusalLimit {
            per_peer: 20,
            window_secs: 60,
        }
    }
}

/// One peer's current window.
struct Window {
    start: UnixSecs,
    written: u32,
    counted: u64,
    by_outcome: BTreeMap<String, u64>,
}

/// The refusals counted (not written) in one peer's window, to be written as one entry.
pub(super) struct Counted {
    peer: String,
    start: UnixSecs,
    refusals: u64,
    by_outcome: BTreeMap<String, u64>,
}

/// The per-peer windows.
pub(super) struct RefusalLimiter {
    limit: RefusalLimit,
    peers: Mutex<HashMap<String, Window>>,
}

impl RefusalLimiter {
    pub(super) fn new(limit: RefusalLimit) -> RefusalLimiter {
        RefusalLimiter {
            limit,
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this refusal of `peer` at `now` is written one by one (`true`) or only counted.
    fn admit(&self, peer: &str, outcome: &str, now: UnixSecs) -> bool {
        let mut peers = self.peers.lock().expect("refusal limiter lock");
        let key = if peers.len() >= PEERS_MAX && !peers.contains_key(peer) {
            OTHER_PEERS
        } else {
            peer
        };
        let w = peers.entry(key.to_string()).or_insert_with(|| Window {
            start: now,
            written: 0,
            counted: 0,
            by_outcome: BTreeMap::new(),
        });
        if w.written < self.limit.per_peer {
            w.written += 1;
            return true;
        }
        w.counted += 1;
        let known = w.by_outcome.len() < OUTCOMES_MAX || w.by_outcome.contains_key(outcome);
        let bucket = if known { outcome } else { "other" };
        *w.by_outcome.entry(bucket.to_string()).or_default() += 1;
        false
    }

    /// Takes the windows that are over at `now` (every window if `now` is `None`), returning
    /// those with counted refusals.
    fn take(&self, now: Option<UnixSecs>) -> Vec<Counted> {
        let mut peers = self.peers.lock().expect("refusal limiter lock");
        let over = |w: &Window| now.is_none_or(|t| t - w.start >= self.limit.window_secs);
        let done: Vec<String> = peers
            .iter()
            .filter(|(_, w)| over(w))
            .map(|(p, _)| p.clone())
            .collect();
        done.into_iter()
            .filter_map(|peer| {
                let w = peers.remove(&peer)?;
                (w.counted > 0).then_some(Counted {
                    peer,
                    start: w.start,
                    refusals: w.counted,
                    by_outcome: w.by_outcome,
                })
            })
            .collect()
    }
}

impl Service {
    /// Writes the summaries of refusals counted in windows that are over (the daemon calls
    /// this now and then, so a peer that stops sending is still accounted for).
    pub fn flush_due_refusals(&self) {
        let due = self.refusals.take(Some(self.clock.now()));
        self.write_counted(due);
    }

    /// Writes the summaries of every refusal counted so far, window over or not (at shutdown,
    /// and before a checkpoint).
    pub fn flush_refusals(&self) {
        let all = self.refusals.take(None);
        self.write_counted(all);
    }

    fn write_counted(&self, counted: Vec<Counted>) {
        for c in counted {
            let e = NewEntry {
                actor: "refusal_limit".into(),
                role: "system".into(),
                peer: Some(c.peer),
                action: "refusals_summarised".into(),
                query: json!({"window_start": fmt_time(c.start),
                              "window_secs": self.refusals.limit.window_secs,
                              "by_outcome": c.by_outcome}),
                outcome: "summarised".into(),
                result_count: c.refusals,
                ..NewEntry::default()
            };
            self.append_refusal(e);
        }
    }

    /// Audits a refusal, bounded: a caller that did not authenticate gets a summary instead of
    /// its query, and beyond the per-peer limit the refusal is only counted. Best effort: the
    /// request is refused whether or not the entry lands.
    pub(super) fn audit_refusal(
        &self,
        caller: &Caller,
        op: Op,
        case: Option<&str>,
        query: Value,
        outcome: String,
    ) {
        let now = self.clock.now();
        self.write_counted(self.refusals.take(Some(now)));
        if let Some(peer) = &caller.peer {
            if !self.refusals.admit(peer, &outcome, now) {
                return;
            }
        }
        let query = match caller.who {
            Ok(_) => query,
            Err(_) => self.unauthenticated_summary(caller, op, &query),
        };
        let mut e = self.entry(caller, op, case, query);
        e.outcome = outcome;
        self.append_refusal(e);
    }

    /// What stands for the query of a request refused before authentication: the operation,
    /// the peer, the query's size and its digest under the audit key (so a request kept
    /// elsewhere can be matched, but the entry holds none of it). At most [`SUMMARY_MAX`] bytes.
    fn unauthenticated_summary(&self, caller: &Caller, op: Op, query: &Value) -> Value {
        let text = query.to_string();
        let peer: Option<String> = caller.peer.as_deref().map(|p| {
            p.chars()
                .take(64)
                .map(|c| if c.is_ascii_graphic() { c } else { '?' })
                .collect()
        });
        json!({"summary": {"op": op.as_str(), "peer": peer, "query_bytes": text.len(),
                           "query_keyed_digest": self.audit.pseudonym(&text)}})
    }

    fn append_refusal(&self, e: NewEntry) {
        if let Err(f) = self.audit.append(e) {
            tracing::error!(
                code = f.code(),
                "the audit entry of a refusal could not be written"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_gets_its_limit_then_is_counted_until_its_window_is_over() {
        let l = RefusalLimiter::new(RefusalLimit {
            per_peer: 2,
            window_secs: 60,
        });
        assert!(l.admit("a", "refused:x", 0));
        assert!(l.admit("a", "refused:x", 1));
        assert!(!l.admit("a", "refused:x", 2));
        assert!(!l.admit("a", "refused:y", 3));
        assert!(
            l.admit("b", "refused:x", 3),
            "another peer has its own limit"
        );
        assert!(l.take(Some(59)).is_empty(), "the window is not over");
        let due = l.take(Some(60));
        assert_eq!(due.len(), 1, "only a's window counted refusals");
        assert_eq!((due[0].peer.as_str(), due[0].refusals), ("a", 2));
        assert_eq!(
            due[0].by_outcome,
            BTreeMap::from([("refused:x".into(), 1), ("refused:y".into(), 1)])
        );
        assert!(l.admit("a", "refused:x", 61), "a new window");
    }

    #[test]
    fn outcomes_and_peers_tracked_are_bounded() {
        let l = RefusalLimiter::new(RefusalLimit {
            per_peer: 0,
            window_secs: 60,
        });
        for i in 0..20 {
            l.admit("a", &format!("refused:{i}"), 0);
        }
        for i in 0..PEERS_MAX + 10 {
            l.admit(&format!("p{i}"), "refused:x", 0);
        }
        assert!(l.peers.lock().unwrap().len() <= PEERS_MAX + 1);
        let all = l.take(None);
        let a = all.iter().find(|c| c.peer == "a").unwrap();
        assert_eq!(a.by_outcome.len(), OUTCOMES_MAX + 1);
        assert_eq!(a.by_outcome["other"], 20 - OUTCOMES_MAX as u64);
        let other = all.iter().find(|c| c.peer == OTHER_PEERS).unwrap();
        assert_eq!(other.refusals, 11);
    }
}
