//! What ingest left behind and what is handed to it: the quarantine (its summary carries no
//! personal data; its raw lines do, so they are shown only to a legal officer under a
//! reference; every read audited before it is answered), and files a user hands to the
//! daemon for import (admitted and audited here; [`crate::ingest::handoff`] places them in
//! the spool).

use serde_json::{json, Value};

use super::{LegalError, Service};
use crate::error::ErrorKind;
use crate::ingest::handoff::Handoff;
use crate::ingest::quarantine;
use crate::legal::auth::Caller;
use crate::legal::policy::Op;
use crate::parse::Format;

/// Which quarantine records to show.
#[derive(Debug, Clone, Default)]
pub struct QuarantineQuery {
    pub source: Option<String>,
    pub code: Option<String>,
    pub limit: usize,
    /// The raw bytes too: a legal officer's operation, under `reference`.
    pub raw: bool,
    pub reference: Option<String>,
}

fn unreadable(e: std::io::Error) -> LegalError {
    LegalError::BadRequest(
        ErrorKind::IngestReadFailed,
        format!("the quarantine could not be read: {e}"),
    )
}

impl Service {
    /// Per source: how many records, by code, from which files, over which time.
    pub fn quarantine_summary(&self, caller: &Caller) -> Result<Value, LegalError> {
        self.admit(caller, Op::QuarantineSummary, None, &Value::Null)?;
        let records = quarantine::read_all(self.data_dir()).map_err(unreadable)?;
        let summary = quarantine::summarize(&records);
        let mut e = self.entry(caller, Op::QuarantineSummary, None, Value::Null);
        e.result_count = summary.len() as u64;
        self.commit(e)?;
        Ok(json!(summary))
    }

    /// The newest `limit` records that match, with their raw bytes only under `raw` (a
    /// separate, audited operation).
    pub fn quarantine_records(
        &self,
        caller: &Caller,
        q: QuarantineQuery,
    ) -> Result<Value, LegalError> {
        let query = json!({"source": q.source, "code": q.code, "limit": q.limit, "raw": q.raw});
        let op = if q.raw {
            Op::QuarantineRaw
        } else {
            Op::QuarantineSummary
        };
        let reference = q.reference.as_deref().map(str::trim).unwrap_or("");
        self.admit(
            caller,
            op,
            (!reference.is_empty()).then_some(reference),
            &query,
        )?;
        if q.raw && reference.is_empty() {
            let err = LegalError::BadRequest(
                ErrorKind::RequestInvalid,
                "raw quarantine lines may hold personal data: give the reference (case or \
                 ticket) they are read for"
                    .into(),
            );
            return Err(self.refuse(caller, op, None, query, err));
        }
        let records = quarantine::read_all(self.data_dir()).map_err(unreadable)?;
        let selected: Vec<_> = records
            .into_iter()
            .filter(|r| q.source.as_ref().is_none_or(|s| &r.source == s))
            .filter(|r| q.code.as_ref().is_none_or(|c| &r.code == c))
            .collect();
        let shown = &selected[selected.len().saturating_sub(q.limit)..];
        let mut e = self.entry(
            caller,
            op,
            (!reference.is_empty()).then_some(reference),
            query,
        );
        e.outcome = if q.raw { "shown" } else { "ok" }.into();
        e.result_count = shown.len() as u64;
        self.commit(e)?;
        let records: Vec<Value> = shown
            .iter()
            .map(|r| {
                let mut v = json!({"time": r.time, "source": r.source, "file": r.file,
                                   "offset": r.offset, "code": r.code, "reason": r.reason});
                if let Some(why) = &r.unreadable {
                    // Sealed, and it does not open: said so, never shown as garbage.
                    v["unreadable"] = json!(why);
                } else if q.raw {
                    v["raw"] = json!(r.raw);
                }
                v
            })
            .collect();
        Ok(json!({"records": records, "older": selected.len() - shown.len()}))
    }

    /// Accepts a file of `format` named `name` for import, audited before a byte is written:
    /// where the caller is to write it in the daemon's spool.
    pub fn import_handoff(
        &self,
        caller: &Caller,
        format: Format,
        name: &str,
    ) -> Result<Handoff, LegalError> {
        let query = json!({"format": format.name(), "name": name});
        self.admit(caller, Op::Import, None, &query)?;
        let bad = |m: String| LegalError::BadRequest(ErrorKind::RequestInvalid, m);
        let refused = match &self.config().serve.spool {
            None => Err(LegalError::BadRequest(
                ErrorKind::IngestNoSpool,
                "the daemon has no spool folder (serve.spool): stop it and import, or \
                 configure a spool"
                    .into(),
            )),
            Some(_)
                if name.is_empty()
                    || name.len() > 200
                    || name.starts_with('.')
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
            {
                Err(bad(format!(
                    "the file name must be 1-200 letters, digits, '-', '_' or '.', not starting \
                     with '.': {name:?}"
                )))
            }
            Some(dir) => Ok(dir.clone()),
        };
        let dir = match refused {
            Ok(d) => d,
            Err(e) => return Err(self.refuse(caller, Op::Import, None, query, e)),
        };
        let handoff = Handoff::in_spool(&dir, format, name, self.clock.now());
        if handoff.target.exists() {
            let e = bad(format!(
                "a file named {name:?} was handed over this second already"
            ));
            return Err(self.refuse(caller, Op::Import, None, query, e));
        }
        let mut e = self.entry(caller, Op::Import, None, query);
        e.outcome = "accepted".into();
        self.commit(e)?;
        Ok(handoff)
    }

    /// Records what was handed over (its size and digest): the file is then in the spool.
    pub fn import_received(
        &self,
        caller: &Caller,
        h: &Handoff,
        bytes: u64,
        sha256: &str,
    ) -> Result<(), LegalError> {
        let name = h
            .target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let mut e = self.entry(caller, Op::Import, None, json!({"file": name}));
        e.outcome = "received".into();
        e.result_count = bytes;
        e.result_digest = Some(sha256.to_string());
        self.commit(e)?;
        Ok(())
    }
}
