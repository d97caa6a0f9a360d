//! The auditor's view: reading and verifying the audit trail, and request statistics.

use serde_json::{json, Value};

use super::{LegalError, Service};
use crate::error::ErrorKind;
use crate::legal::auth::Caller;
use crate::legal::case::State;
use crate::legal::policy::Op;
use crate::legal::register;
use crate::model::{fmt_time, UnixSecs};

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

impl Service {
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

    /// Requests by type and outcome registered in `from..to`, and the median time from
    /// registration to disclosure.
    pub fn statistics(
        &self,
        caller: &Caller,
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Value, LegalError> {
        let query = json!({"from": fmt_time(from), "to": fmt_time(to)});
        self.admit(caller, Op::Statistics, None, &query)?;
        let cases = register::list(self.data_dir())?;
        let mut by: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
            Default::default();
        let mut answer_secs = Vec::new();
        let mut n = 0;
        for c in cases.iter().filter(|c| (from..to).contains(&c.created_at)) {
            n += 1;
            let outcome = match (c.state, &c.hold) {
                (State::Executed, Some(_)) => "held",
                (s, _) => s.as_str(),
            };
            *by.entry(c.request.request_type.clone())
                .or_default()
                .entry(outcome.to_string())
                .or_default() += 1;
            if let Some(d) = c.disclosed_at {
                answer_secs.push(d - c.created_at);
            }
        }
        answer_secs.sort_unstable();
        let median = match answer_secs.len() {
            0 => None,
            l if l % 2 == 1 => Some(answer_secs[l / 2] as f64),
            l => Some((answer_secs[l / 2 - 1] + answer_secs[l / 2]) as f64 / 2.0),
        };
        let out = json!({"from": fmt_time(from), "to": fmt_time(to), "requests": n,
                         "by_type_and_outcome": by, "disclosed": answer_secs.len(),
                         "median_seconds_to_disclosure": median});
        let mut e = self.entry(caller, Op::Statistics, None, query);
        e.result_count = n;
        self.commit(e)?;
        Ok(out)
    }
}
