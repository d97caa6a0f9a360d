//! Whole-store dumps for tests that compare two stores (built only for tests and with the
//! `testkit` feature: not in the product, where a dump would bypass the audit).

use std::collections::BTreeMap;

use super::binding::Facts;
use super::db::CF_LIVE;
use super::keys::{partition_day, BindingKey};
use super::{engine, meta, read_err, write_err, Store, StoreError};

/// One record of a raw dump: family, key, value.
pub type RawRecord = (String, Vec<u8>, Vec<u8>);

impl Store {
    /// What the store knows, independent of how and in which batches it was written: see
    /// [`logical_dump`]. For the crash test and `tdr-bench dump`.
    pub fn logical_dump_for_tests(&self) -> Result<Vec<String>, StoreError> {
        Ok(logical_dump(
            self.raw_dump_for_tests()?,
            meta::frame_counts(self)?,
        ))
    }

    /// Opens (creating) a store whose values are written unsealed, to measure what sealing
    /// costs (`tdr-bench build --unsealed`); tdr itself refuses such a store.
    pub fn open_unsealed_for_bench(cfg: &crate::config::Config) -> Result<Store, StoreError> {
        let path = cfg.data_dir.join("store");
        crate::fsmode::create_private_dir(&path).map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        std::fs::write(path.join(super::db::UNSEALED_MARK), b"").map_err(|e| StoreError::Open {
            path,
            reason: e.to_string(),
        })?;
        Store::open(cfg)
    }

    /// Turns a store opened with [`Store::open_unsealed_for_bench`] into what the version
    /// before encryption wrote (schema 1): CDR keys with their numbers in clear, the schema
    /// set to 1, the benchmark mark and the day and live keys gone. For the upgrade test.
    pub fn downgrade_to_schema_1_for_tests(self) -> Result<(), StoreError> {
        assert!(
            self.unsealed_for_tests(),
            "only an unsealed store can be made plain"
        );
        for day in self.partitions()? {
            let cf = self.day_handle(day)?;
            let mut batch = rocksdb::WriteBatch::default();
            let prefix = [super::cdr::TAG_CDR];
            for item in self.db.prefix_iterator_cf(&cf, prefix) {
                let (k, v) = item.map_err(read_err)?;
                if k.first() != Some(&super::cdr::TAG_CDR) {
                    break;
                }
                let c = super::cdr::decode(&v).ok_or_else(|| StoreError::Read("cdr".into()))?;
                let rest = &k[k.len() - 16..];
                for n in [&c.calling, &c.called] {
                    let n = super::cdr::normalize_number(n);
                    if n.is_empty() {
                        continue;
                    }
                    let mut plain = vec![super::cdr::TAG_CDR];
                    plain.extend_from_slice(n.as_bytes());
                    plain.push(0);
                    plain.extend_from_slice(rest);
                    batch.put_cf(&cf, plain, &v);
                }
                batch.delete_cf(&cf, &k);
            }
            self.db.write(batch).map_err(write_err)?;
        }
        self.db
            .put_cf(&self.meta(), meta::SCHEMA, 1u32.to_be_bytes())
            .map_err(write_err)?;
        let path = self.path().to_path_buf();
        let keystore = self.keys.dir().to_path_buf();
        drop(self);
        let _ = std::fs::remove_file(path.join(super::db::UNSEALED_MARK));
        for e in std::fs::read_dir(&keystore).map_err(|e| StoreError::Read(e.to_string()))? {
            let p = e.map_err(|e| StoreError::Read(e.to_string()))?.path();
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if name.starts_with("day-") || name == "live.key" {
                std::fs::remove_file(&p).map_err(|e| StoreError::Read(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Deletes every subscriber-index entry (benchmarks measure the index's bytes so, on a
    /// copy); returns how many there were.
    pub fn strip_subject_index_for_bench(&self) -> Result<u64, StoreError> {
        let mut n = 0;
        let lower = [super::subject::TAG_INDEX];
        let upper = [super::subject::TAG_INDEX + 1];
        for name in self.family_names()? {
            let Some(cf) = self.db.cf_handle(&name) else {
                continue;
            };
            let mut ro = rocksdb::ReadOptions::default();
            ro.set_total_order_seek(true);
            ro.set_iterate_upper_bound(upper.to_vec());
            let it = self.db.iterator_cf_opt(
                &cf,
                ro,
                rocksdb::IteratorMode::From(&lower, rocksdb::Direction::Forward),
            );
            for item in it {
                item.map_err(read_err)?;
                n += 1;
            }
            self.db
                .delete_range_cf(&cf, lower, upper)
                .map_err(|e| StoreError::Write(e.to_string()))?;
        }
        Ok(n)
    }

    /// The erasures in force (subject hash, tombstones).
    pub fn erasures_for_tests(
        &self,
    ) -> Vec<(super::subject::Hash16, Vec<super::subject::Tombstone>)> {
        self.erasures.all()
    }

    /// Every key and value of every family, sorted: for tests that compare two stores byte
    /// for byte.
    pub fn raw_dump_for_tests(&self) -> Result<Vec<RawRecord>, StoreError> {
        let mut names = self.family_names()?;
        names.sort();
        let mut out = Vec::new();
        for n in names {
            let Some(cf) = self.db.cf_handle(&n) else {
                continue;
            };
            let family = if n == CF_LIVE {
                Some(super::Family::Live)
            } else {
                partition_day(&n).map(super::Family::Day)
            };
            let key = match family {
                Some(f) => self.key_of(f)?,
                None => None,
            };
            let mut ro = rocksdb::ReadOptions::default();
            ro.set_total_order_seek(true);
            for item in self
                .db
                .iterator_cf_opt(&cf, ro, rocksdb::IteratorMode::Start)
            {
                let (k, v) = item.map_err(read_err)?;
                // Values as they were written: sealed values differ by their nonces.
                let v = match &key {
                    Some(key) => super::seal::open(key, &k, &v, &|| n.clone())?,
                    None => v.to_vec(),
                };
                out.push((n.clone(), k.to_vec(), v));
            }
        }
        Ok(out)
    }
}

/// Every binding (copies and live record merged, without the `complete` flag, which says only
/// whether a copy is final yet), every CDR record, and the serve frame counts; sorted. Two
/// stores fed the same records give the same dump.
pub(crate) fn logical_dump(raw: Vec<RawRecord>, frames: Vec<(String, u64)>) -> Vec<String> {
    let mut bindings: BTreeMap<BindingKey, Facts> = Default::default();
    let mut other = Vec::new();
    for (cf, k, v) in raw {
        let live = cf == CF_LIVE;
        if !live && partition_day(&cf).is_none() {
            continue;
        }
        let facts = BindingKey::decode(&k).and_then(|key| {
            let f = if live {
                engine::decode_live(key.start, &v).map(|(f, _)| f)
            } else {
                Facts::decode(key.start, &v)
            };
            f.map(|f| (key, f))
        });
        match facts {
            Some((key, mut f)) => {
                f.complete = false;
                match bindings.get_mut(&key) {
                    Some(have) => have.merge_same(&f),
                    None => {
                        bindings.insert(key, f);
                    }
                }
            }
            None => other.push(format!("record {} {}", hex::encode(&k), hex::encode(&v))),
        }
    }
    let mut out: Vec<String> = bindings
        .into_iter()
        .map(|(k, f)| format!("{k:?} {f:?}"))
        .collect();
    other.sort();
    out.extend(other);
    for (source, n) in frames {
        out.push(format!("frames {source} {n}"));
    }
    out
}
