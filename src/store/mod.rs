//! The traffic store: what the logs say about who held an address when, kept on RocksDB in one
//! column family per UTC day (`d20261121`) holding final bindings, NAT blocks, sharer sets and
//! CDRs, a `live` family for bindings that may still change, and `meta` for checkpoints, the
//! watermark, NAS reboots, coverage and the schema version. Everything an import batch changes
//! — data and the source checkpoint — is written in one atomic batch.
//!
//! The store owns the bytes on disk and their meaning: events in (through the apply engine),
//! attribution and the other reads out, day partitions dropped. It knows no cases, roles,
//! purposes' legal grounds, HTTP or identities: callers decide who may read, and pass what the
//! store must not decide itself (the ranges preservation orders hold, a lookup's scope).
//!
//! * `db.rs` opening RocksDB, `batch.rs` writing, `meta.rs` the meta keys, `read.rs` the read
//!   traits, `scan.rs` the read paths, `partitions.rs` and `retention.rs` dropping days;
//! * `engine/` events → binding facts, `binding.rs` those facts, `keys.rs` their keys,
//!   `lookup.rs` attribution, `cdr.rs` call records.

pub mod batch;
pub mod binding;
pub mod cdr;
mod db;
pub mod engine;
mod erase;
pub mod keys;
pub mod lookup;
#[cfg(any(test, feature = "testkit"))]
pub mod mem;
mod merge;
pub mod meta;
mod partitions;
pub mod read;
pub mod retention;
mod scan;
mod seal;
pub mod subject;
#[cfg(any(test, feature = "testkit"))]
mod testkit;

use crate::error::ErrorKind;
use std::path::PathBuf;

pub use batch::Prepared;
pub use db::{MemoryUsage, PolicySeal, Store, SCHEMA_VERSION};
#[cfg(any(test, feature = "testkit"))]
pub use mem::MemStore;
pub use meta::MetaRecord;
pub use partitions::PartitionInfo;
pub use read::{Erased, Erasure, Families, Family, StoreAccess, StoreCopy, StoreErase, StoreRead};
#[cfg(any(test, feature = "testkit"))]
pub use testkit::RawRecord;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(
        "store schema version {found} is not supported (this tdr reads version {SCHEMA_VERSION})"
    )]
    Schema { found: u32 },
    #[error("write to the store failed: {0}")]
    Write(String),
    #[error("read from the store failed: {0}")]
    Read(String),
    #[error(
        "the store keeps data for {stored}, but the configuration says {configured}: \
         retention is fixed when the store is created (a longer period would make expired \
         data readable again)"
    )]
    RetentionMismatch { stored: String, configured: String },
    #[error("the store's retention policy {0}")]
    RetentionUnsigned(String),
    #[error(transparent)]
    Key(#[from] crate::keyring::KeyError),
}

impl StoreError {
    /// The error's entry in the catalogue.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Open { .. } => ErrorKind::StoreOpenFailed,
            StoreError::Schema { .. } => ErrorKind::StoreSchemaMismatch,
            StoreError::Write(m) if m.contains("No space") => ErrorKind::StoreNoSpace,
            StoreError::Write(_) => ErrorKind::StoreWriteFailed,
            StoreError::Read(_) => ErrorKind::StoreReadFailed,
            StoreError::RetentionMismatch { .. } => ErrorKind::StoreRetentionMismatch,
            StoreError::RetentionUnsigned(_) => ErrorKind::StoreRetentionUnsigned,
            StoreError::Key(e) => e.kind(),
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

fn read_err(e: rocksdb::Error) -> StoreError {
    StoreError::Read(e.to_string())
}

fn write_err(e: rocksdb::Error) -> StoreError {
    StoreError::Write(e.to_string())
}

impl Store {
    /// `tdr import`'s checkpoint key of a file ([`meta::checkpoint_key`]).
    pub fn checkpoint_key(source: &str, file_id: &[u8]) -> Vec<u8> {
        meta::checkpoint_key(source, file_id)
    }

    /// Where `tdr serve` keeps the checkpoints of `source`'s files
    /// ([`meta::file_checkpoint_prefix`]).
    pub fn file_checkpoint_prefix(source: &str) -> Vec<u8> {
        meta::file_checkpoint_prefix(source)
    }

    /// The key of `source`'s frame count ([`meta::frames_key`]).
    pub fn frames_key(source: &str) -> Vec<u8> {
        meta::frames_key(source)
    }

    /// The meta key recording that the RADIUS listener `source` committed the request
    /// `digest` at `t` ([`meta::radius_seen_key`]): written in the batch with its record.
    pub fn radius_seen_key(source: &str, t: crate::model::UnixSecs, digest: &[u8; 16]) -> Vec<u8> {
        meta::radius_seen_key(source, t, digest)
    }

    /// The requests the RADIUS listener `source` committed at or after `since`, with their
    /// times.
    pub fn radius_seen(
        &self,
        source: &str,
        since: crate::model::UnixSecs,
    ) -> Result<Vec<(crate::model::UnixSecs, [u8; 16])>, StoreError> {
        let prefix = meta::radius_seen_prefix(source);
        Ok(self
            .meta_scan(&prefix)?
            .iter()
            .filter_map(|(k, _)| meta::decode_radius_seen(&k[prefix.len()..]))
            .filter(|(t, _)| *t >= since)
            .collect())
    }

    /// Every frame count ([`meta::frames_key`]), by source.
    pub fn frame_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        meta::frame_counts(self)
    }

    /// Every meta record whose key starts with `prefix`.
    pub fn meta_scan(&self, prefix: &[u8]) -> Result<Vec<MetaRecord>, StoreError> {
        meta::scan_prefix(self, prefix)
    }

    pub fn get_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut out = None;
        self.get(Family::Meta, key, &mut |v| out = Some(v.to_vec()))?;
        Ok(out)
    }

    /// A subscriber's bindings ([`StoreRead::bindings_of`], callable without the trait in
    /// scope).
    pub fn bindings_of(
        &self,
        subscriber: &str,
        scope: &lookup::Scope,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        StoreRead::bindings_of(self, subscriber, scope)
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn every_store_error_has_its_own_kind() {
        let all = [
            StoreError::Open {
                path: "/x".into(),
                reason: "r".into(),
            },
            StoreError::Schema { found: 9 },
            StoreError::Write("IO error: No space left on device".into()),
            StoreError::Write("w".into()),
            StoreError::Read("r".into()),
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len());
        assert!(codes.iter().all(|c| c.starts_with("store.")));
    }
}
