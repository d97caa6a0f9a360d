//! The store's data at rest: every value of a day partition is sealed with that day's key
//! (`day-YYYYMMDD` in the key store), every value of the live family with the `live` key;
//! `meta` (checkpoints, coverage, the policy, erasure tombstones: no personal data) stays
//! plain. A value is `nonce ‖ cipher text ‖ tag` with its RocksDB key as associated data, so
//! a value moved to another key or day does not open. Empty values (subscriber-index
//! entries) hold nothing and stay empty. Keys hold no clear identifier: subscribers and
//! numbers appear only as keyed hashes.
//!
//! The partitions' merge operator opens its operands, merges them
//! ([`super::merge::facts`]) and seals the result with the partition's key.
//!
//! A store written before encryption (schema 1) is sealed once, on its first read-write
//! open, by [`Store::seal_plain_store`].

use std::sync::Arc;

use rocksdb::{IteratorMode, WriteBatch, WriteOptions};

use super::keys::partition_day;
use super::{cdr, merge, meta, read_err, write_err, Store, StoreError};
use crate::keyring::{day_key_name, DataKey, KeyError};

/// Opens a sealed value of family `what` (for the error); an empty value stays empty.
pub(crate) fn open(
    key: &DataKey,
    k: &[u8],
    v: &[u8],
    what: &dyn Fn() -> String,
) -> Result<Vec<u8>, StoreError> {
    if v.is_empty() {
        return Ok(Vec::new());
    }
    key.open(k, v).ok_or_else(|| {
        StoreError::Key(KeyError::Undecryptable {
            what: format!("a record of {}", what()),
        })
    })
}

/// Seals `v` for key `k` (an empty value stays empty).
pub(crate) fn seal(key: &DataKey, k: &[u8], v: &[u8]) -> Vec<u8> {
    if v.is_empty() {
        return Vec::new();
    }
    key.seal(k, v)
}

/// The merge operator of a partition (or the live family) sealed with `key`: `None` (a
/// corruption RocksDB reports) when an operand does not open, never a merge of garbage.
pub(crate) fn sealed_merge(
    key: &Arc<DataKey>,
    k: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    let open = |v: &[u8]| -> Option<Vec<u8>> {
        if v.is_empty() {
            Some(Vec::new())
        } else {
            key.open(k, v)
        }
    };
    let existing = match existing {
        Some(v) => Some(open(v)?),
        None => None,
    };
    let ops: Vec<Vec<u8>> = operands.iter().map(open).collect::<Option<_>>()?;
    let merged = merge::facts(k, existing.as_deref(), ops.iter().map(Vec::as_slice))?;
    Some(seal(key, k, &merged))
}

impl Store {
    /// Seals a store written before encryption (schema 1): every value of the live family and
    /// the day partitions is rewritten sealed, and every CDR key's number is replaced by its
    /// keyed hash. One batch per family, synced; then every family is compacted so no table
    /// keeps a plain record; the schema moves to 2 at the end, so a crash midway starts over
    /// on plain values only (a value that already opens is left alone).
    pub(super) fn seal_plain_store(&self) -> Result<(), StoreError> {
        let hasher = self.subjects.clone().ok_or_else(|| {
            StoreError::Read("the subscriber index key is missing: cannot seal the store".into())
        })?;
        let mut names = self.family_names()?;
        names.sort();
        for name in names {
            let key = if name == super::db::CF_LIVE {
                self.live_key.clone()
            } else if let Some(day) = partition_day(&name) {
                self.keys
                    .get_or_create(&day_key_name(day))
                    .map_err(StoreError::Key)?
            } else {
                continue;
            };
            let Some(cf) = self.db.cf_handle(&name) else {
                continue;
            };
            let mut batch = WriteBatch::default();
            for item in self.db.iterator_cf(&cf, IteratorMode::Start) {
                let (k, v) = item.map_err(read_err)?;
                if v.is_empty() || key.open(&k, &v).is_some() {
                    continue;
                }
                let new_k = match cdr::plain_key_number(&k) {
                    Some((number, rest)) => {
                        batch.delete_cf(&cf, &k);
                        [cdr::prefix(&hasher.hash(number)).as_slice(), rest].concat()
                    }
                    None => k.to_vec(),
                };
                batch.put_cf(&cf, &new_k, seal(&key, &new_k, &v));
            }
            let mut wo = WriteOptions::default();
            wo.set_sync(true);
            self.db.write_opt(batch, &wo).map_err(write_err)?;
        }
        // Every family compacted, so no table keeps a plain value or key (the reopen that
        // follows writes a manifest naming only sealed tables); then the schema moves on.
        self.compact()?;
        self.db
            .put_cf(
                &self.meta(),
                meta::SCHEMA,
                super::SCHEMA_VERSION.to_be_bytes(),
            )
            .map_err(write_err)?;
        self.db.flush_wal(true).map_err(write_err)
    }
}
