//! Writing: the apply engine loaded from the store, and each batch of its changes — final
//! copies, live records, meta records and the checkpoints of the input they cover — prepared on
//! the applying thread and written as one atomic RocksDB batch.

use rocksdb::{BoundColumnFamily, IteratorMode, WriteBatch, WriteOptions};
use std::sync::Arc;

use super::engine::{Engine, Sink, Subjects};
use super::meta::{self, EngineRecord};
use super::subject;
use super::{read_err, seal, write_err, Family, Store, StoreError, StoreRead};
use crate::keyring::DataKey;
use crate::model::UnixSecs;

impl Store {
    /// Loads the live bindings and ingest state so events can be applied.
    pub fn open_engine(&mut self) -> Result<(), StoreError> {
        if self.engine.is_some() {
            return Ok(());
        }
        let e = self.load_engine()?;
        self.engine = Some(e);
        Ok(())
    }

    fn load_engine(&self) -> Result<Engine, StoreError> {
        let mut e = Engine::new(self.params);
        if let Some(key) = &self.subjects {
            e.set_subjects(Subjects {
                key: key.clone(),
                erasures: self.erasures.clone(),
            });
        }
        for item in self.db.iterator_cf(&self.live(), IteratorMode::Start) {
            let (k, v) = item.map_err(read_err)?;
            if subject::is_index_key(&k) {
                continue;
            }
            let v = match self.key_of(Family::Live)? {
                Some(key) => seal::open(&key, &k, &v, &|| "the live family".into())?,
                None => v.to_vec(),
            };
            if !e.restore_live(&k, &v) {
                return Err(StoreError::Read("undecodable live record".into()));
            }
        }
        for item in self.db.iterator_cf(&self.meta(), IteratorMode::Start) {
            let (k, v) = item.map_err(read_err)?;
            match meta::engine_record(&k, &v) {
                Some(EngineRecord::Watermark(w)) => e.restore_watermark(w),
                Some(EngineRecord::ClockMark { source, nas, mark }) => {
                    e.restore_clock_mark(source.to_string(), nas.to_string(), mark)
                }
                Some(EngineRecord::Reboot { nas, source, time }) => {
                    e.restore_reboot(nas, source, time)
                }
                Some(EngineRecord::PrefixLen(plen)) => e.restore_prefix_len(plen),
                Some(EngineRecord::NatSpan(span)) => e.restore_nat_span(span),
                None => {}
            }
        }
        Ok(e)
    }

    pub fn engine_mut(&mut self) -> &mut Engine {
        self.engine
            .as_mut()
            .expect("open_engine called before applying events")
    }

    /// Writes everything the engine changed, plus `checkpoint` (key, value), as one atomic
    /// batch. `retention_floor`: no copies are written into days older than this.
    pub fn commit(
        &mut self,
        checkpoint: Option<(&[u8], &[u8])>,
        retention_floor: UnixSecs,
    ) -> Result<usize, StoreError> {
        let mut engine = self.take_engine();
        let prepared = self.prepare(&mut engine, checkpoint.as_slice(), retention_floor);
        let n = prepared.finalised;
        let result = self.write(prepared).map(|_| n);
        // After a failed write the engine is ahead of the store: drop it, so the next
        // `open_engine` reloads what is really stored.
        if result.is_ok() {
            self.engine = Some(engine);
        }
        result
    }

    /// Takes the loaded engine out, so a writer can use the store from another thread while
    /// the engine applies the next events. Give it back with [`Store::put_engine`] only if
    /// every prepared batch was written.
    pub fn take_engine(&mut self) -> Engine {
        self.engine
            .take()
            .expect("open_engine called before applying events")
    }

    pub fn put_engine(&mut self, engine: Engine) {
        self.engine = Some(engine);
    }

    /// Collects what `engine` changed since the last batch, plus the `checkpoints` (meta key,
    /// value) of the input it covers, as one prepared batch: encoded operations only, so
    /// preparing stays cheap for the thread that applies events, and [`Store::write`] (on
    /// another thread) does the rest.
    pub fn prepare(
        &self,
        engine: &mut Engine,
        checkpoints: &[(&[u8], &[u8])],
        retention_floor: UnixSecs,
    ) -> Prepared {
        Prepared::collect(self, engine, checkpoints, retention_floor)
    }

    /// Writes a prepared batch atomically (fsynced when `sync_writes`): creates day partitions
    /// on first use and adds each family's writes sorted by key.
    pub fn write(&self, p: Prepared) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        p.meta.append_to(&mut batch, &self.meta(), false, None);
        let live_key = self.key_of(Family::Live)?;
        p.live
            .append_to(&mut batch, &self.live(), true, live_key.as_deref());
        for (day, ops) in p.parts {
            let cf = self.day_handle(day)?;
            let key = self.key_of(Family::Day(day))?;
            ops.append_to(&mut batch, &cf, true, key.as_deref());
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        self.db.write_opt(batch, &wo).map_err(write_err)
    }
}

/// One batch of writes, prepared by the applying thread and written by [`Store::write`].
#[derive(Default)]
pub struct Prepared {
    pub(super) meta: Ops,
    pub(super) live: Ops,
    pub(super) parts: Vec<(i64, Ops)>,
    /// How many bindings this batch finalises.
    pub finalised: usize,
}

impl Prepared {
    /// What `engine` changed since the last batch, plus `checkpoints`; `store` is read for the
    /// final copies that late bindings merge with. The same for every backend.
    pub(super) fn collect(
        store: &(impl StoreRead + ?Sized),
        engine: &mut Engine,
        checkpoints: &[(&[u8], &[u8])],
        retention_floor: UnixSecs,
    ) -> Prepared {
        let mut p = Prepared::default();
        // A read error here leaves the late binding as it is (the partition merge still keeps
        // the stored copy whole); it does not stop the batch.
        engine.revive_late(|k| store.final_copy(k).ok().flatten());
        p.finalised = engine.flush(&mut p, retention_floor);
        for (k, v) in checkpoints {
            p.meta.put(k, v);
        }
        p
    }

    fn part(&mut self, day: i64) -> &mut Ops {
        // Almost every batch touches one or two days: a short list beats a map.
        match self.parts.iter().position(|(d, _)| *d == day) {
            Some(i) => &mut self.parts[i].1,
            None => {
                self.parts.push((day, Ops::default()));
                &mut self.parts.last_mut().expect("just pushed").1
            }
        }
    }
}

impl Sink for Prepared {
    fn put_copy(&mut self, day: i64, key: &[u8], value: &[u8]) {
        // A merge, not a put: see `merge::facts`.
        self.part(day).merge(key, value);
    }
    fn put_live(&mut self, key: &[u8], value: &[u8]) {
        self.live.put(key, value);
    }
    fn delete_live(&mut self, key: &[u8]) {
        self.live.delete(key);
    }
    fn put_meta(&mut self, key: &[u8], value: &[u8]) {
        self.meta.put(key, value);
    }
    fn merge_coverage(&mut self, key: &[u8], bits: &[u8]) {
        self.meta.merge(key, bits);
    }
}

/// One write of a batch.
#[derive(Debug, Clone, Copy)]
pub(super) enum Op<'a> {
    Put(&'a [u8], &'a [u8]),
    Merge(&'a [u8], &'a [u8]),
    Delete(&'a [u8]),
}

#[derive(Debug, Clone, Copy)]
enum OpKind {
    Put(usize),
    Merge(usize),
    Delete,
}

/// Encoded writes for one column family in one flat buffer.
#[derive(Default)]
pub(super) struct Ops {
    data: Vec<u8>,
    /// (offset into `data`, key length, kind with value length)
    ops: Vec<(usize, usize, OpKind)>,
}

impl Ops {
    fn push(&mut self, key: &[u8], value: &[u8], kind: OpKind) {
        self.ops.push((self.data.len(), key.len(), kind));
        self.data.extend_from_slice(key);
        self.data.extend_from_slice(value);
    }
    fn put(&mut self, key: &[u8], value: &[u8]) {
        self.push(key, value, OpKind::Put(value.len()));
    }
    fn merge(&mut self, key: &[u8], value: &[u8]) {
        self.push(key, value, OpKind::Merge(value.len()));
    }
    fn delete(&mut self, key: &[u8]) {
        self.push(key, &[], OpKind::Delete);
    }

    /// The writes in the order they were made.
    pub(super) fn iter(&self) -> impl Iterator<Item = Op<'_>> {
        self.ops.iter().map(|&(off, klen, kind)| {
            let key = &self.data[off..off + klen];
            let value = |vlen: usize| &self.data[off + klen..off + klen + vlen];
            match kind {
                OpKind::Put(vlen) => Op::Put(key, value(vlen)),
                OpKind::Merge(vlen) => Op::Merge(key, value(vlen)),
                OpKind::Delete => Op::Delete(key),
            }
        })
    }

    /// Adds the writes to `batch`, values sealed with `key` (the family's) when given;
    /// `sorted` by key when asked. RocksDB's skiplist memtable
    /// keeps its insert position between inserts, so keys in order cost a fraction of keys in
    /// random order (before this, the largest single cost of ingest). The sort is stable:
    /// writes to one key keep their order.
    fn append_to(
        mut self,
        batch: &mut WriteBatch,
        cf: &Arc<BoundColumnFamily<'_>>,
        sorted: bool,
        key: Option<&DataKey>,
    ) {
        if sorted {
            let data = &self.data;
            self.ops
                .sort_by(|a, b| data[a.0..a.0 + a.1].cmp(&data[b.0..b.0 + b.1]));
        }
        let seal = |k: &[u8], v: &[u8]| match key {
            Some(key) => seal::seal(key, k, v),
            None => v.to_vec(),
        };
        for op in self.iter() {
            match op {
                Op::Put(k, v) => batch.put_cf(cf, k, seal(k, v)),
                Op::Merge(k, v) => batch.merge_cf(cf, k, seal(k, v)),
                Op::Delete(k) => batch.delete_cf(cf, k),
            }
        }
    }
}
