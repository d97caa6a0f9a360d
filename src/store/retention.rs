//! Hard TTL, physical side: crypto-shreds whole day partitions once every record in them is
//! past its retention period — the day's key first, then the partition — each audited with
//! partition, time range, record count and key id, and certified (a signed deletion
//! certificate kept for the auditor). (Read-time
//! enforcement, which holds whether or not a drop has happened yet, is in the lookup scope.)
//!
//! Days a preservation order holds are kept: the caller passes the held time ranges (the store
//! knows no cases; `legal::holds` says what is held).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{PartitionInfo, Store};
use crate::audit::{AuditLog, NewEntry, Sealer};
use crate::config::Config;
use crate::error::ErrorKind;
use crate::keyring::day_key_name;
use crate::model::{fmt_time, UnixSecs};

#[derive(Debug, thiserror::Error)]
pub enum ExpireError {
    #[error(transparent)]
    Store(#[from] super::StoreError),
    #[error("audit: {0}")]
    Audit(String),
    /// The preservation holds could not be read: nothing is dropped. (Raised by the caller,
    /// which reads them.)
    #[error("preservation holds unreadable: {0}")]
    Holds(String),
    /// The deletion certificate could not be signed or kept (the day is gone already).
    #[error("deletion certificate: {0}")]
    Certificate(String),
}

impl ExpireError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExpireError::Store(e) => e.kind(),
            ExpireError::Audit(_) => ErrorKind::AuditWriteFailed,
            ExpireError::Holds(_) => ErrorKind::LegalReadFailed,
            ExpireError::Certificate(_) => ErrorKind::AuditWriteFailed,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// Time ranges (first, last second, inclusive) that preservation orders hold.
pub type Held = [(UnixSecs, UnixSecs)];

/// Partitions whose whole day is older than the longest retention period at `now`, except
/// those that overlap a range in `holds`.
pub fn expired_days(
    store: &Store,
    cfg: &Config,
    now: UnixSecs,
    holds: &Held,
) -> Result<Vec<i64>, ExpireError> {
    let floor = cfg.retention.floor(now);
    Ok(store
        .partitions()?
        .into_iter()
        .filter(|day| (day + 1) * 86_400 <= floor)
        .filter(|day| {
            let (lo, hi) = (day * 86_400, (day + 1) * 86_400 - 1);
            !holds.iter().any(|(f, t)| *f <= hi && lo <= *t)
        })
        .collect())
}

/// Where the deletion certificates of expired days are kept (`<data_dir>/certificates/`).
pub fn certificates_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("certificates")
}

/// Crypto-shreds every expired partition, oldest first: for each, an audit entry
/// (`partition_drop`, outcome `shredding`, with the day's key id) is written and synced, then
/// the day's key is shredded (durably: the partition cannot be read from here on, nor from any
/// copy of it), then the partition is dropped, then a signed **deletion certificate**
/// (partition, time range, record count, the key id destroyed, times) is written to
/// `certificates/` and its digest audited (`deletion_certificate`). A step that fails gets an
/// entry saying so and stops the run; a shredded key whose partition is still there is
/// dropped at the next open. `holds`: as for [`expired_days`].
pub fn expire(
    store: &Store,
    audit: &mut AuditLog,
    cfg: &Config,
    now: UnixSecs,
    actor: &str,
    holds: &Held,
) -> Result<Vec<PartitionInfo>, ExpireError> {
    let mut dropped = Vec::new();
    let floor = cfg.retention.floor(now);
    for day in expired_days(store, cfg, now, holds)? {
        let Some(info) = store.partition_info(day)? else {
            continue;
        };
        let key_name = day_key_name(day);
        let key_id = store.day_key_id(day)?;
        // What the audit entries and the certificate both say of the day.
        let range = json!({
            "partition": info.name,
            "from": fmt_time(day * 86_400),
            "to": fmt_time((day + 1) * 86_400),
            "retention_floor": fmt_time(floor),
        });
        let mut query = range.clone();
        query["key"] = json!(key_name);
        query["key_id"] = json!(key_id);
        let entry = |action: &str, outcome: &str, digest: Option<String>| NewEntry {
            actor: actor.to_string(),
            role: "system".into(),
            peer: None,
            action: action.into(),
            case: None,
            legal_basis: Some("retention".into()),
            query: query.clone(),
            outcome: outcome.into(),
            result_count: info.records,
            result_digest: digest,
        };
        let first = audit
            .append(entry("partition_drop", "shredding", None))
            .map_err(|e| ExpireError::Audit(e.to_string()))?;
        let shredded = match store.shred_day(day) {
            Ok(s) => s,
            Err(e) => {
                let _ = audit.append(entry("partition_drop", "failed", None));
                return Err(e.into());
            }
        };
        if let Err(e) = store.drop_partition(day) {
            let _ = audit.append(entry("partition_drop", "failed", None));
            return Err(e.into());
        }
        let body = json!({
            "certificate": "tdr deletion certificate v1",
            "kind": "expiry",
            "legal_basis": "retention",
            "operator": cfg.serve.operator,
            "partition": range["partition"],
            "from": range["from"],
            "to": range["to"],
            "retention_floor": range["retention_floor"],
            "records": info.records,
            "key": {
                "name": key_name,
                "id": shredded.map(|s| s.key_id).or(key_id.clone()),
                "destroyed_at": fmt_time(now),
            },
            "dropped_at": fmt_time(now),
            "executed_by": actor,
            "audit_seq": first.seq,
        });
        let cert = certify(&cfg.data_dir, &body).map_err(ExpireError::Certificate)?;
        let digest = hex::encode(Sha256::digest(cert.as_bytes()));
        audit
            .append(entry("deletion_certificate", "signed", Some(digest)))
            .map_err(|e| ExpireError::Audit(e.to_string()))?;
        dropped.push(info);
    }
    store.prune_reboots(floor)?;
    Ok(dropped)
}

/// Signs a certificate body with the appliance's audit key (certificate context) and keeps
/// it in `certificates/<partition>.json` (0600). Returns the file's text.
fn certify(data_dir: &Path, body: &serde_json::Value) -> Result<String, String> {
    let sealer = Sealer::load(data_dir).map_err(|e| format!("signing key: {e}"))?;
    let text = serde_json::to_string(body).unwrap_or_default();
    let cert = json!({
        "body": body,
        "signature": hex::encode(sealer.certify(text.as_bytes())),
        "public_key": sealer.public_hex(),
    });
    let out = format!("{cert:#}\n");
    let dir = certificates_dir(data_dir);
    crate::fsmode::create_private_dir(&dir).map_err(|e| e.to_string())?;
    let name = body["partition"].as_str().unwrap_or("unknown");
    let path = dir.join(format!("{name}.json"));
    let _ = std::fs::remove_file(&path);
    let mut f = crate::fsmode::create_new_private(&path).map_err(|e| e.to_string())?;
    f.write_all(out.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::File::open(&dir)?.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(out)
}

/// The deletion certificates of expired days, oldest partition first.
pub fn certificates(data_dir: &Path) -> std::io::Result<Vec<serde_json::Value>> {
    let dir = certificates_dir(data_dir);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read(&f)?;
        let v = serde_json::from_slice(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", f.display()),
            )
        })?;
        out.push(v);
    }
    Ok(out)
}
