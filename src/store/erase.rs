//! Erasure (GDPR art. 17) of a subscriber's own-purpose records, and the subscriber index's
//! upkeep: the erasures loaded at open and swept again by the daemon's housekeeping, and the
//! index built once for a store made before it existed. See [`super::subject`].

use std::collections::{BTreeMap, BTreeSet};

use rocksdb::{IteratorMode, WriteBatch, WriteOptions};
use sha2::{Digest, Sha256};

use super::keys::{self, partition_name, BindingKey, TAG_BINDING};
use super::read::{Erased, Erasure, StoreErase};
use super::scan::indexed_copies;
use super::subject::{self, mask_of, Hash16, Tombstone};
use super::{cdr, engine, meta, read_err, write_err, Families, Family, Store, StoreError};
use crate::model::{day_of, UnixSecs};

impl Store {
    /// Loads the erasures kept in `meta`.
    pub(super) fn load_erasures(&self) -> Result<(), StoreError> {
        for (key, value) in meta::scan_prefix(self, &[meta::ERASURE])? {
            let h: Hash16 = key
                .get(1..17)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StoreError::Read("undecodable erasure key".into()))?;
            let t = subject::decode_tombstones(&value)
                .ok_or_else(|| StoreError::Read("undecodable erasure".into()))?;
            self.erasures.set(h, t);
        }
        Ok(())
    }

    /// Writes the subscriber-index entries of every binding stored before the index existed
    /// (once: `meta::SUBJECT_INDEX` records that it is done). A new store has nothing to index.
    pub(super) fn build_subject_index(&self) -> Result<(), StoreError> {
        let meta_cf = self.meta();
        if self
            .db
            .get_cf(&meta_cf, meta::SUBJECT_INDEX)
            .map_err(read_err)?
            .is_some()
        {
            return Ok(());
        }
        let Some(key) = self.subjects.clone() else {
            return Ok(());
        };
        let mut written = 0u64;
        let families =
            std::iter::once(Family::Live).chain(self.days()?.into_iter().map(Family::Day));
        for family in families {
            let Some(cf) = (match family {
                Family::Live => Some(self.live()),
                Family::Day(d) => self.db.cf_handle(&partition_name(d)),
                Family::Meta => None,
            }) else {
                continue;
            };
            let mut batch = WriteBatch::default();
            for item in self.db.iterator_cf(&cf, IteratorMode::Start) {
                let (k, v) = item.map_err(read_err)?;
                let Some(bk) = BindingKey::decode(&k).filter(|b| b.tag == TAG_BINDING) else {
                    continue;
                };
                let facts = if family == Family::Live {
                    engine::decode_live(bk.start, &v).map(|(f, _)| f)
                } else {
                    super::binding::Facts::decode(bk.start, &v)
                };
                if let Some(f) = facts.filter(|f| !f.subject.is_empty()) {
                    batch.put_cf(&cf, subject::index_key(&key.hash(&f.subject), &bk), b"");
                    written += 1;
                }
            }
            self.db.write(batch).map_err(write_err)?;
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db
            .put_cf_opt(&meta_cf, meta::SUBJECT_INDEX, b"1", &wo)
            .map_err(write_err)?;
        if written > 0 {
            tracing::info!(
                entries = written,
                "subscriber index built for existing bindings"
            );
        }
        Ok(())
    }

    /// Records a subject's tombstone (in memory first, so the engine writes nothing more of
    /// it, then durably in `meta`).
    fn add_tombstone(&self, h: Hash16, t: Tombstone) -> Result<(), StoreError> {
        let list = self.erasures.add(h, t);
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db
            .put_cf_opt(
                &self.meta(),
                subject::erasure_key(&h),
                subject::encode_tombstones(&list),
                &wo,
            )
            .map_err(write_err)
    }

    /// Deletes every stored copy (and its index entry) of the bindings of `h` its tombstones
    /// cover; `subscriber`, when known, is checked against each record. Adds what it did to
    /// `out` and the deleted keys to `deleted`.
    fn sweep_subject(
        &self,
        h: &Hash16,
        subscriber: Option<&str>,
        out: &mut Erased,
        deleted: &mut BTreeSet<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let rules = self.params.rules;
        let mut batch = WriteBatch::default();
        let mut erased_keys = BTreeSet::new();
        let mut kept: BTreeMap<BindingKey, &'static str> = BTreeMap::new();
        let tombstones = self
            .erasures
            .all()
            .into_iter()
            .find(|(x, _)| x == h)
            .map(|(_, t)| t)
            .unwrap_or_default();
        for (family, key, f) in indexed_copies(self, h)? {
            if subscriber.is_some_and(|s| s != f.subject) {
                continue;
            }
            let end = match family {
                Family::Live => UnixSecs::MAX,
                _ => f.span_end(&rules).unwrap_or(f.start),
            };
            if !tombstones.iter().any(|t| t.covers(f.class, f.start, end)) {
                let why = if tombstones
                    .iter()
                    .all(|t| t.mask & (1 << f.class.code()) == 0)
                {
                    "class"
                } else if tombstones.iter().all(|t| f.start > t.up_to) {
                    "later"
                } else {
                    "held"
                };
                kept.insert(key, why);
                continue;
            }
            let Some(cf) = (match family {
                Family::Live => Some(self.live()),
                Family::Day(d) => self.db.cf_handle(&partition_name(d)),
                Family::Meta => None,
            }) else {
                continue;
            };
            let k = key.encode();
            batch.delete_cf(&cf, &k);
            batch.delete_cf(&cf, subject::index_key(h, &key));
            out.copies += 1;
            if let Family::Day(d) = family {
                out.partitions.insert(partition_name(d));
            }
            erased_keys.insert(key);
            deleted.insert(k);
            out.first = Some(out.first.map_or(f.start, |x: UnixSecs| x.min(f.start)));
            out.last = Some(out.last.map_or(f.start, |x: UnixSecs| x.max(f.start)));
        }
        out.bindings += erased_keys.len() as u64;
        for (key, why) in kept {
            if !erased_keys.contains(&key) {
                *out.kept.entry(why.to_string()).or_default() += 1;
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo).map_err(write_err)
    }

    /// Deletes the calls of `number` that `t` covers, in every partition, under both of
    /// their numbers' keys.
    fn erase_calls(
        &self,
        number: &str,
        t: &Tombstone,
        out: &mut Erased,
        deleted: &mut BTreeSet<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let prefix = cdr::prefix(&self.subject_hash(number)?);
        let upper = keys::prefix_upper_bound(&prefix);
        let mut batch = WriteBatch::default();
        for day in self.days()? {
            let Some(cf) = self.db.cf_handle(&partition_name(day)) else {
                continue;
            };
            let mut calls = Vec::new();
            self.scan(Family::Day(day), &prefix, Some(&upper), &mut |_, v| {
                calls.push(
                    cdr::decode(v)
                        .ok_or_else(|| StoreError::Read("undecodable CDR record".into()))?,
                );
                Ok(true)
            })?;
            for c in calls {
                if !t.covers(c.class, c.start, c.end) {
                    if t.mask & (1 << c.class.code()) == 0 {
                        *out.kept.entry("class".into()).or_default() += 1;
                    } else if c.start <= t.up_to {
                        *out.kept.entry("held".into()).or_default() += 1;
                    }
                    continue;
                }
                let Some(hasher) = &self.subjects else {
                    return Err(StoreError::Read(
                        "the subscriber index key is missing".into(),
                    ));
                };
                for (k, _) in cdr::entries(&c, &|n| hasher.hash(n)) {
                    if day_of(c.start) == day {
                        batch.delete_cf(&cf, &k);
                        deleted.insert(k);
                    }
                }
                out.calls += 1;
                out.partitions.insert(partition_name(day));
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo).map_err(write_err)
    }

    /// The daemon's housekeeping: drops the tombstones nothing can come back under any more
    /// (older than the retention floor), and sweeps the bindings of the others again, so a
    /// batch that was being written while an erasure ran leaves nothing behind. Returns the
    /// copies deleted.
    pub fn sweep_erasures(&self, floor: UnixSecs) -> Result<u64, StoreError> {
        let meta_cf = self.meta();
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        for (h, left) in self.erasures.prune(floor) {
            let k = subject::erasure_key(&h);
            if left.is_empty() {
                self.db.delete_cf_opt(&meta_cf, &k, &wo)
            } else {
                self.db
                    .put_cf_opt(&meta_cf, &k, subject::encode_tombstones(&left), &wo)
            }
            .map_err(write_err)?;
        }
        let mut out = Erased::default();
        let mut deleted = BTreeSet::new();
        for (h, _) in self.erasures.all() {
            self.sweep_subject(&h, None, &mut out, &mut deleted)?;
        }
        Ok(out.copies)
    }
}

impl StoreErase for Store {
    fn erase(&self, e: &Erasure) -> Result<Erased, StoreError> {
        let key = self.subjects.clone().ok_or_else(|| {
            StoreError::Write("the subscriber index key is missing: cannot erase".into())
        })?;
        let t = Tombstone {
            up_to: e.up_to,
            mask: mask_of(&e.classes),
            holds: e.holds.clone(),
        };
        let h = key.hash(&e.subject);
        let numbers: Vec<String> = e
            .numbers
            .iter()
            .map(|n| cdr::normalize_number(n))
            .filter(|n| !n.is_empty())
            .collect();
        // Tombstones first: from here on the engine writes none of these records again.
        self.add_tombstone(h, t.clone())?;
        for n in &numbers {
            self.add_tombstone(key.hash(n), t.clone())?;
        }
        let mut out = Erased::default();
        let mut deleted = BTreeSet::new();
        self.sweep_subject(&h, Some(&e.subject), &mut out, &mut deleted)?;
        for n in &numbers {
            self.erase_calls(n, &t, &mut out, &mut deleted)?;
        }
        let mut sha = Sha256::new();
        for k in &deleted {
            sha.update((k.len() as u32).to_be_bytes());
            sha.update(k);
        }
        out.digest = hex::encode(sha.finalize());
        Ok(out)
    }
}

impl super::StoreCopy for Store {
    /// A RocksDB checkpoint of the store at `to` (hard links where the file system allows,
    /// memtables flushed first): consistent, and as sealed as the store.
    fn checkpoint(
        &self,
        to: &std::path::Path,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)
            .and_then(|c| c.create_checkpoint(to))
            .map_err(write_err)?;
        let mut out = Vec::new();
        for day in self.days()? {
            out.push((partition_name(day), self.day_key_id(day)?));
        }
        Ok(out)
    }
}
