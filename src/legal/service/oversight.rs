//! The auditor's view: reading, searching and verifying the audit trail, and request
//! statistics.

use std::collections::VecDeque;
use std::path::Path;

use serde_json::{json, Value};

use super::{LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::policy::Op;
use crate::legal::register;
use crate::model::{fmt_time, parse_time, UnixSecs};

pub use crate::audit::{ExpectedHead, VerifyError, VerifyReport};

/// The auditor's check on their own, without the daemon or any private key: the audit log in
/// `audit_dir` (default: the data directory's; a copy will do) against the public key in
/// `pubkey` (default: the data directory's), and, with `expect`, a head recorded earlier.
pub fn verify_audit_copy(
    data_dir: &std::path::Path,
    pubkey: Option<&std::path::Path>,
    audit_dir: Option<&std::path::Path>,
    expect: Option<&ExpectedHead>,
) -> Result<VerifyReport, VerifyError> {
    let key = match pubkey {
        Some(file) => crate::audit::load_public_key_file(file),
        None => crate::audit::load_public_key_file(&crate::audit::public_key_path(data_dir)),
    }?;
    let dir = audit_dir.map_or_else(|| crate::audit::audit_dir(data_dir), |d| d.to_path_buf());
    crate::audit::verify_audit_dir(&dir, &key, expect)
}

/// What the auditor looks for in the log. Every field given must match: actor, case and action
/// as exact text (as the entry holds it), the entry's time in `from..to` (half-open).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub case: Option<String>,
    pub action: Option<String>,
    pub from: Option<UnixSecs>,
    pub to: Option<UnixSecs>,
}

impl AuditFilter {
    /// Whether a stored entry (as [`crate::audit::read_entries`] gives it) matches.
    pub fn matches(&self, e: &Value) -> bool {
        let same = |field: &str, want: &Option<String>| {
            want.as_deref().is_none_or(|w| e[field].as_str() == Some(w))
        };
        if !(same("actor", &self.actor) && same("case", &self.case) && same("action", &self.action))
        {
            return false;
        }
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        let Some(t) = e["time"].as_str().and_then(|s| parse_time(s).ok()) else {
            return false;
        };
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|to| t < to)
    }

    /// The filter as the search's own audit entry keeps it.
    fn query(&self, offset: usize, limit: usize) -> Value {
        json!({"search": {"actor": self.actor, "case": self.case, "action": self.action,
                          "from": self.from.map(fmt_time), "to": self.to.map(fmt_time)},
               "offset": offset, "limit": limit})
    }
}

/// The most entries one search page returns.
pub const AUDIT_PAGE_MAX: usize = 500;
/// A page no deeper than this (offset + limit) is kept while the log is read once; a deeper
/// one is fetched by a second read of the span it lies in.
const SEARCH_KEEP: usize = 1_000;

/// Calls `f` with every entry whose seq is above `after`, oldest first, in one streaming pass
/// over the log; `f` returns false to stop.
fn each_entry(
    data_dir: &Path,
    after: u64,
    mut f: impl FnMut(u64, Value) -> bool,
) -> std::io::Result<()> {
    crate::audit::for_each_entry(data_dir, after, |e| match e["seq"].as_u64() {
        Some(seq) => f(seq, e),
        None => true,
    })
}

/// The entries matching `filter`, newest first, `offset` of them skipped and at most `limit`
/// (at least 1) returned, and how many matched in all. Holds one line at a time, the page, and
/// the seq of every match (8 bytes each).
fn search_log(
    data_dir: &Path,
    filter: &AuditFilter,
    offset: usize,
    limit: usize,
    keep_max: usize,
) -> std::io::Result<(Vec<Value>, u64)> {
    let limit = limit.max(1);
    let keep = offset.saturating_add(limit);
    let ring_on = keep <= keep_max;
    let mut ring: VecDeque<Value> = VecDeque::new();
    let mut seqs: Vec<u64> = Vec::new();
    each_entry(data_dir, 0, |seq, e| {
        if filter.matches(&e) {
            seqs.push(seq);
            if ring_on {
                if ring.len() == keep {
                    ring.pop_front();
                }
                ring.push_back(e);
            }
        }
        true
    })?;
    let total = seqs.len() as u64;
    if ring_on {
        return Ok((
            ring.into_iter().rev().skip(offset).take(limit).collect(),
            total,
        ));
    }
    // Newest first, so the page is the matches `end - limit .. end` counted from the oldest.
    let end = seqs.len().saturating_sub(offset);
    let wanted = &seqs[end.saturating_sub(limit)..end];
    let (Some(&first), Some(&last)) = (wanted.first(), wanted.last()) else {
        return Ok((Vec::new(), total));
    };
    let mut page = Vec::with_capacity(wanted.len());
    each_entry(data_dir, first - 1, |seq, e| {
        if wanted.binary_search(&seq).is_ok() {
            page.push(e);
        }
        seq < last
    })?;
    page.reverse();
    Ok((page, total))
}

impl Service {
    /// The audit log searched: the entries matching `filter`, newest first, `offset` skipped
    /// and at most `limit` (1..=[`AUDIT_PAGE_MAX`]) returned, and how many matched in all.
    /// The search is audited like [`Service::audit_read`], with the filter in its query.
    ///
    /// It reads the whole log once, streaming (there is no index): one line at a time, the
    /// page and the seq of every match are held.
    pub fn audit_search(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Value>, u64), LegalError> {
        let limit = limit.clamp(1, AUDIT_PAGE_MAX);
        let query = filter.query(offset, limit);
        self.admit(caller, Op::AuditRead, None, &query)?;
        let (page, total) = search_log(self.data_dir(), filter, offset, limit, SEARCH_KEEP)
            .map_err(|e| {
                LegalError::BadRequest(
                    ErrorKind::AuditReadFailed,
                    format!("the audit log could not be read: {e}"),
                )
            })?;
        let mut e = self.entry(caller, Op::AuditRead, None, query);
        e.result_count = page.len() as u64;
        self.commit(e)?;
        Ok((page, total))
    }

    pub fn audit_read(
        &self,
        caller: &Caller,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Value>, LegalError> {
        let query = json!({"after": after, "limit": limit});
        self.admit(caller, Op::AuditRead, None, &query)?;
        let entries = crate::audit::read_entries(self.data_dir(), after, limit).map_err(|e| {
            LegalError::BadRequest(
                ErrorKind::AuditReadFailed,
                format!("the audit log could not be read: {e}"),
            )
        })?;
        let mut e = self.entry(caller, Op::AuditRead, None, query);
        e.result_count = entries.len() as u64;
        self.commit(e)?;
        Ok(entries)
    }

    /// Re-walks the audit chain and its signed checkpoints and, given a head the auditor
    /// recorded earlier, checks that the log still extends it (`audit.truncated`,
    /// `audit.forked` otherwise). A broken log is an answer (`intact: false` and its code),
    /// not an error.
    pub fn audit_verify(
        &self,
        caller: &Caller,
        expect: Option<&ExpectedHead>,
    ) -> Result<Value, LegalError> {
        let query = match expect {
            Some(h) => json!({"expect_head": h.to_string()}),
            None => Value::Null,
        };
        self.admit(caller, Op::AuditVerify, None, &query)?;
        let out = match crate::audit::verify_expecting(self.data_dir(), expect) {
            Ok(r) => json!({"intact": true, "entries": r.entries, "checkpoints": r.checkpoints,
                            "head_seq": r.head_seq, "head_hash": r.head_hash,
                            "checkpointed_seq": r.checkpointed_seq,
                            "extends_head": expect.map(|h| h.to_string())}),
            Err(v) => json!({"intact": false, "code": v.code(), "file": v.file, "line": v.line,
                             "seq": v.seq, "reason": v.reason}),
        };
        let mut e = self.entry(caller, Op::AuditVerify, None, query);
        e.outcome = if out["intact"] == true {
            "intact".to_string()
        } else {
            format!("broken:{}", out["code"].as_str().unwrap_or_default())
        };
        self.commit(e)?;
        Ok(out)
    }

    /// The signed head of the audit chain, for the auditor to record off the box and later
    /// hand to `tdr audit verify --expect-head SEQ:HASH`: `{seq, hash, time, signature,
    /// public_key, key_id}`. The request's own entry is written first, so the head covers it.
    pub fn audit_head(&self, caller: &Caller) -> Result<Value, LegalError> {
        self.admit(caller, Op::AuditHead, None, &Value::Null)?;
        self.commit(self.entry(caller, Op::AuditHead, None, Value::Null))?;
        let head = self.audit.signed_head().map_err(LegalError::Audit)?;
        Ok(json!(head))
    }

    /// The statistics of the requests registered in `from..to` ([`crate::legal::stats`]):
    /// counts and durations only, audited like every read of the register.
    pub fn statistics(
        &self,
        caller: &Caller,
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<crate::legal::stats::Stats, LegalError> {
        let query = json!({"from": fmt_time(from), "to": fmt_time(to)});
        self.admit(caller, Op::Statistics, None, &query)?;
        let cases = register::list(self.data_dir())?;
        let out = crate::legal::stats::compute(&cases, from, to, &self.cfg.due, self.clock.now());
        let mut e = self.entry(caller, Op::Statistics, None, query);
        e.result_count = out.requests;
        self.commit(e)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::audit::{AuditLog, NewEntry};
    use crate::clock::FixedClock;
    use crate::config::Config;
    use crate::legal::auth::{Principal, Role};
    use crate::store::mem::MemStore;

    /// 2026-11-20T10:00:00Z.
    const T0: i64 = 1_795_168_800;
    const N: u64 = 300;
    const ACTORS: [&str; 3] = ["lena", "mo", "kim"];
    const ACTIONS: [&str; 4] = ["case_get", "case_lookup", "abuse_lookup", "case_approve"];

    fn caller(name: &str, role: Role) -> Caller {
        Caller {
            who: Ok(Principal {
                name: name.into(),
                role,
                person: format!("E-{name}"),
            }),
            claimed: None,
            channel: "desk",
            peer: Some("192.0.2.99:4000".into()),
        }
    }

    /// A real audit log of `N` entries, ten minutes apart from T0 (actors, actions and cases
    /// cycling at different periods), behind a service.
    fn logged() -> (tempfile::TempDir, Service) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(T0));
        let mut log = AuditLog::open(dir.path(), clock.clone()).unwrap();
        for i in 0..N {
            let i = i as usize;
            log.append(NewEntry {
                actor: ACTORS[i % 3].into(),
                role: "desk:legal".into(),
                peer: None,
                action: ACTIONS[i % 4].into(),
                case: (!i.is_multiple_of(5)).then(|| format!("C-{}", i % 7)),
                legal_basis: None,
                query: json!({"i": i}),
                outcome: "ok".into(),
                result_count: 1,
                result_digest: None,
            })
            .unwrap();
            clock.advance(600);
        }
        let cfg = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let store = MemStore::new(&cfg);
        let svc = Service::new(
            Arc::new(cfg),
            Arc::new(store),
            Arc::new(Mutex::new(log)),
            clock,
        );
        (dir, svc)
    }

    fn seqs(v: &[Value]) -> Vec<u64> {
        v.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
    }

    /// The page as a plain filter over the whole log would give it.
    fn expected(dir: &Path, f: &AuditFilter, offset: usize, limit: usize) -> (Vec<u64>, u64) {
        let all = crate::audit::read_entries(dir, 0, usize::MAX).unwrap();
        let mut hits: Vec<u64> = all
            .iter()
            .filter(|e| f.matches(e))
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        let total = hits.len() as u64;
        hits.reverse();
        (hits.into_iter().skip(offset).take(limit).collect(), total)
    }

    #[test]
    fn the_newest_come_first_and_pages_follow_each_other() {
        let (dir, _svc) = logged();
        let all = AuditFilter::default();
        let (p1, total) = search_log(dir.path(), &all, 0, 50, SEARCH_KEEP).unwrap();
        assert_eq!(total, N);
        assert_eq!(seqs(&p1), (251..=300).rev().collect::<Vec<_>>());
        let (p6, _) = search_log(dir.path(), &all, 250, 50, SEARCH_KEEP).unwrap();
        assert_eq!(seqs(&p6), (1..=50).rev().collect::<Vec<_>>());
        let (past, total) = search_log(dir.path(), &all, 300, 50, SEARCH_KEEP).unwrap();
        assert!(past.is_empty());
        assert_eq!(total, N);
    }

    /// A small keep (the second read for deep pages) gives the
    /// same pages as a plain filter over the whole log, for every filter field.
    #[test]
    fn filters_and_paging_match_a_plain_filter_whatever_the_depth() {
        let (dir, _svc) = logged();
        let filters = [
            AuditFilter::default(),
            AuditFilter {
                actor: Some("mo".into()),
                ..Default::default()
            },
            AuditFilter {
                actor: Some("kim".into()),
                action: Some("case_lookup".into()),
                ..Default::default()
            },
            AuditFilter {
                case: Some("C-3".into()),
                ..Default::default()
            },
            AuditFilter {
                from: Some(T0 + 100 * 600),
                to: Some(T0 + 160 * 600),
                ..Default::default()
            },
            AuditFilter {
                actor: Some("lena".into()),
                from: Some(T0 + 30 * 600 + 1),
                ..Default::default()
            },
            AuditFilter {
                actor: Some("nobody".into()),
                ..Default::default()
            },
        ];
        for f in &filters {
            let (_, total) = expected(dir.path(), f, 0, 1);
            for keep in [20, 1_000, 0] {
                for limit in [1, 9, 50] {
                    for offset in [0, 3, 17, 40, 90, total as usize, total as usize + 4] {
                        let want = expected(dir.path(), f, offset, limit);
                        let (page, got_total) =
                            search_log(dir.path(), f, offset, limit, keep).unwrap();
                        assert_eq!(
                            (seqs(&page), got_total),
                            want,
                            "{f:?} keep {keep} offset {offset} limit {limit}"
                        );
                    }
                }
            }
        }
        // The filters select what they say.
        let mo = &filters[1];
        assert_eq!(expected(dir.path(), mo, 0, 1).1, N / 3);
        let window = &filters[4];
        let (hits, total) = expected(dir.path(), window, 0, 100);
        assert_eq!(total, 60);
        assert_eq!((hits[0], hits[59]), (160, 101));
    }

    #[test]
    fn an_empty_log_has_nothing_to_find() {
        let dir = tempfile::tempdir().unwrap();
        let (page, total) = search_log(dir.path(), &AuditFilter::default(), 0, 50, 10).unwrap();
        assert!(page.is_empty());
        assert_eq!(total, 0);
    }

    /// The search is the auditor's, audited with its filter; anyone else is refused.
    #[test]
    fn the_search_is_audited_with_its_filter_and_only_the_auditor_may() {
        let (dir, svc) = logged();
        let f = AuditFilter {
            actor: Some("mo".into()),
            case: Some("C-2".into()),
            ..Default::default()
        };
        let auditor = caller("aud", Role::Auditor);
        let (page, total) = svc.audit_search(&auditor, &f, 0, 5).unwrap();
        assert_eq!(page.len(), 5);
        assert!(total > 5);
        assert!(page
            .iter()
            .all(|e| e["actor"] == "mo" && e["case"] == "C-2"));
        // Its own entry comes after what it read, with the filter and the count returned.
        let (mine, _) = svc
            .audit_search(
                &auditor,
                &AuditFilter {
                    actor: Some("aud".into()),
                    ..Default::default()
                },
                0,
                10,
            )
            .unwrap();
        assert_eq!(mine.len(), 1, "{mine:?}");
        let e = &mine[0];
        assert_eq!(e["action"], "audit_read");
        assert_eq!(e["outcome"], "ok");
        assert_eq!(e["result_count"], 5);
        assert_eq!(e["query"]["search"]["actor"], "mo");
        assert_eq!(e["query"]["search"]["case"], "C-2");
        assert_eq!(e["query"]["limit"], 5);

        let err = svc
            .audit_search(&caller("lena", Role::Legal), &f, 0, 5)
            .unwrap_err();
        assert_eq!(err.code(), "auth.forbidden");
        let refused = expected(
            dir.path(),
            &AuditFilter {
                actor: Some("lena".into()),
                action: Some("audit_read".into()),
                ..Default::default()
            },
            0,
            5,
        );
        assert_eq!(refused.1, 1, "the refusal is audited");
    }

    /// A page is at most [`AUDIT_PAGE_MAX`] entries and at least one.
    #[test]
    fn the_page_size_is_bounded() {
        let (_dir, svc) = logged();
        let auditor = caller("aud", Role::Auditor);
        let (page, _) = svc
            .audit_search(&auditor, &AuditFilter::default(), 0, 0)
            .unwrap();
        assert_eq!(page.len(), 1);
        let (page, total) = svc
            .audit_search(&auditor, &AuditFilter::default(), 0, 10_000)
            .unwrap();
        assert_eq!(page.len(), total.min(AUDIT_PAGE_MAX as u64) as usize);
    }
}
