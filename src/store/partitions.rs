//! Day partitions: which there are, what one holds, and dropping them (with the coverage of
//! their day) and the reboot records past retention. Which days to drop is decided by
//! `retention.rs`.

use rocksdb::WriteBatch;

use super::keys::{self, partition_name};
use super::{meta, read_err, write_err, Families, Family, Store, StoreError, StoreRead};
use crate::keyring::{day_key_name, Shredded};
use crate::model::{Domain, UnixSecs};

/// A day partition and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub day: i64,
    pub name: String,
    pub records: u64,
}

impl Store {
    /// The day partitions present, oldest first ([`StoreRead::partitions`], callable without
    /// the trait in scope).
    pub fn partitions(&self) -> Result<Vec<i64>, StoreError> {
        StoreRead::partitions(self)
    }

    /// Counts the records of a partition (for the deletion audit entry): bindings, port
    /// blocks, sharer sets and calls, not the subscriber index's entries (derived from them).
    pub fn partition_info(&self, day: i64) -> Result<Option<PartitionInfo>, StoreError> {
        let name = partition_name(day);
        if self.db.cf_handle(&name).is_none() {
            return Ok(None);
        }
        let mut records = 0;
        self.scan(Family::Day(day), &[], None, &mut |k, _| {
            if !super::subject::is_index_key(k) {
                records += 1;
            }
            Ok(true)
        })?;
        Ok(Some(PartitionInfo { day, name, records }))
    }

    /// The id of the key of `day` (`None`: it has none, e.g. shredded already).
    pub fn day_key_id(&self, day: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .keys
            .get(&day_key_name(day))
            .map_err(StoreError::Key)?
            .map(|k| k.id.clone()))
    }

    /// Shreds the key of `day` ([`crate::keyring::KeyStore::shred`]): from here on the
    /// partition's values cannot be opened, here or in any copy.
    pub fn shred_day(&self, day: i64) -> Result<Option<Shredded>, StoreError> {
        self.forget_day_key(day);
        self.keys.shred(&day_key_name(day)).map_err(StoreError::Key)
    }

    /// Drops a whole day partition and the coverage of that day.
    pub fn drop_partition(&self, day: i64) -> Result<(), StoreError> {
        let name = partition_name(day);
        if self.db.cf_handle(&name).is_some() {
            self.db.drop_cf(&name).map_err(write_err)?;
        }
        let cf = self.meta();
        for domain in [Domain::Address, Domain::Nat] {
            let prefix = meta::coverage_key(day, domain, "");
            self.db
                .delete_range_cf(&cf, &prefix, &keys::prefix_upper_bound(&prefix))
                .map_err(write_err)?;
        }
        Ok(())
    }

    /// Deletes the RADIUS listener `source`'s duplicate records committed before `before`.
    pub fn prune_radius_seen(&self, source: &str, before: UnixSecs) -> Result<(), StoreError> {
        let cf = self.meta();
        let from = meta::radius_seen_prefix(source);
        let mut to = from.clone();
        to.extend_from_slice(&before.to_be_bytes());
        self.db.delete_range_cf(&cf, &from, &to).map_err(write_err)
    }

    /// Deletes reboot records older than `floor` (they only matter to sessions of that time).
    pub fn prune_reboots(&self, floor: UnixSecs) -> Result<u64, StoreError> {
        let cf = self.meta();
        let mut batch = WriteBatch::default();
        let mut n = 0;
        for item in self.db.prefix_iterator_cf(&cf, [meta::REBOOT]) {
            let (k, _) = item.map_err(read_err)?;
            if k.first() != Some(&meta::REBOOT) {
                break;
            }
            if let Some((_, _, t)) = meta::decode_reboot_key(&k) {
                if t < floor {
                    batch.delete_cf(&cf, &k);
                    n += 1;
                }
            }
        }
        self.db.write(batch).map_err(write_err)?;
        Ok(n)
    }
}
