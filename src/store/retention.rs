//! Hard TTL, physical side: drops whole day partitions once every record in them is past its
//! retention period, each drop audited with partition, time range and record count. (Read-time
//! enforcement, which holds whether or not a drop has happened yet, is in the lookup scope.)
//!
//! Days a preservation order holds are kept: the caller passes the held time ranges (the store
//! knows no cases; `legal::holds` says what is held).

use serde_json::json;

use super::{PartitionInfo, Store};
use crate::audit::{AuditLog, NewEntry};
use crate::config::Config;
use crate::error::ErrorKind;
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
}

impl ExpireError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExpireError::Store(e) => e.kind(),
            ExpireError::Audit(_) => ErrorKind::AuditWriteFailed,
            ExpireError::Holds(_) => ErrorKind::LegalReadFailed,
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

/// Drops every expired partition. The audit entry for a drop is written (and synced) before the
/// partition is dropped; a drop that then fails gets a second entry saying so. `holds`: as for
/// [`expired_days`].
pub fn expire(
    store: &Store,
    audit: &mut AuditLog,
    cfg: &Config,
    now: UnixSecs,
    actor: &str,
    holds: &Held,
) -> Result<Vec<PartitionInfo>, ExpireError> {
    let mut dropped = Vec::new();
    for day in expired_days(store, cfg, now, holds)? {
        let Some(info) = store.partition_info(day)? else {
            continue;
        };
        let entry = |outcome: &str| NewEntry {
            actor: actor.to_string(),
            role: "system".into(),
            peer: None,
            action: "partition_drop".into(),
            case: None,
            legal_basis: Some("retention".into()),
            query: json!({
                "partition": info.name,
                "from": fmt_time(day * 86_400),
                "to": fmt_time((day + 1) * 86_400),
                "retention_floor": fmt_time(cfg.retention.floor(now)),
            }),
            outcome: outcome.into(),
            result_count: info.records,
            result_digest: None,
        };
        audit
            .append(entry("ok"))
            .map_err(|e| ExpireError::Audit(e.to_string()))?;
        if let Err(e) = store.drop_partition(day) {
            let _ = audit.append(entry("failed"));
            return Err(e.into());
        }
        dropped.push(info);
    }
    store.prune_reboots(cfg.retention.floor(now))?;
    Ok(dropped)
}
