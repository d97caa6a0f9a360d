//! The traffic store on RocksDB: one column family per UTC day (`d20261121`) holding final
//! bindings and NAT blocks, a `live` family for bindings that may still change, and `meta` for
//! checkpoints, the watermark, NAS reboots, coverage and the schema version. Everything an
//! import batch changes — data and the source checkpoint — is written in one atomic batch.
//!
//! The store knows nothing of cases or roles: callers decide who may read.

pub mod binding;
pub mod cdr;
pub mod engine;
pub mod keys;
pub mod lookup;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::WriteBatch;
use rocksdb::{
    BlockBasedOptions, BoundColumnFamily, Cache, ColumnFamilyDescriptor, DBCompressionType,
    DBWithThreadMode, Direction, IteratorMode, MultiThreaded, Options, ReadOptions, SliceTransform,
    WriteOptions,
};

use crate::config::Config;
use crate::model::{day_of, Domain, UnixSecs};
use binding::{Facts, Rules};
use engine::{Engine, Params, Sink};
use keys::{partition_day, partition_name, BindingKey};

type Db = DBWithThreadMode<MultiThreaded>;

pub const SCHEMA_VERSION: u32 = 1;
const CF_META: &str = "meta";
const CF_LIVE: &str = "live";
const META_SCHEMA: &[u8] = b"schema";
const META_CHECKPOINT: u8 = b'C';
/// `tdr serve` file checkpoints: 'F' ‖ source ‖ 0 ‖ device ‖ inode.
const META_FILE: u8 = b'F';
/// Frames committed per source by `tdr serve`: 'N' ‖ source.
const META_FRAMES: u8 = b'N';

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
}

fn read_err(e: rocksdb::Error) -> StoreError {
    StoreError::Read(e.to_string())
}

fn write_err(e: rocksdb::Error) -> StoreError {
    StoreError::Write(e.to_string())
}

type KeyValue = (Box<[u8]>, Box<[u8]>);

/// One record of [`Store::raw_dump_for_tests`]: family, key, value.
pub type RawRecord = (String, Vec<u8>, Vec<u8>);

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Open { .. } => "store.open_failed",
            StoreError::Schema { .. } => "store.schema_mismatch",
            StoreError::Write(m) if m.contains("No space") => "store.no_space",
            StoreError::Write(_) => "store.write_failed",
            StoreError::Read(_) => "store.read_failed",
        }
    }
}

/// RocksDB's memory, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryUsage {
    pub memtables: u64,
    pub block_cache: u64,
    pub table_readers: u64,
}

impl std::fmt::Display for MemoryUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        write!(
            f,
            "memtables {:.0} MiB, block cache {:.0} MiB, table readers {:.0} MiB",
            mib(self.memtables),
            mib(self.block_cache),
            mib(self.table_readers)
        )
    }
}

/// A day partition and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub day: i64,
    pub name: String,
    pub records: u64,
}

pub struct Store {
    db: Db,
    path: PathBuf,
    params: Params,
    sync: bool,
    /// One block cache shared by every partition, so memory stays bounded however many days.
    cache: Cache,
    /// Loaded only by writers (`open_engine`); lookups read RocksDB directly.
    engine: Option<Engine>,
}

fn partition_options(cache: &Cache) -> Options {
    let mut o = Options::default();
    let mut t = BlockBasedOptions::default();
    t.set_block_size(16 * 1024);
    t.set_bloom_filter(10.0, false);
    t.set_whole_key_filtering(false);
    t.set_block_cache(cache);
    t.set_cache_index_and_filter_blocks(true);
    t.set_pin_l0_filter_and_index_blocks_in_cache(true);
    t.set_format_version(5);
    o.set_block_based_table_factory(&t);
    o.set_prefix_extractor(SliceTransform::create_fixed_prefix(keys::PREFIX_LEN));
    // Every day partition that receives a write has a memtable, and old days keep receiving a
    // trickle of final copies (bindings that span midnight): so no memtable bloom filter
    // (allocated up front) and small arena blocks, or a month of partitions costs hundreds of
    // MiB of mostly empty memtables.
    o.set_arena_block_size(1 << 20);
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_bottommost_compression_type(DBCompressionType::Zstd);
    o.set_write_buffer_size(64 << 20);
    o.set_level_compaction_dynamic_level_bytes(true);
    o.set_merge_operator_associative("merge_facts", facts_merge);
    o
}

/// The live family holds only the bindings that may still change (open sessions and the
/// last minutes' closed ones), rewritten on nearly every event: a small memtable keeps its
/// skiplist in cache, which is where ingest spends its time at high event rates.
fn live_options(cache: &Cache) -> Options {
    let mut o = partition_options(cache);
    o.set_write_buffer_size(8 << 20);
    o.set_memtable_prefix_bloom_ratio(0.05);
    o
}

fn db_options() -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.increase_parallelism(2);
    o.set_max_background_jobs(2);
    // All memtables together, across the day partitions, stay under this.
    o.set_db_write_buffer_size(256 << 20);
    o.set_max_total_wal_size(512 << 20);
    o.set_keep_log_file_num(5);
    o.set_max_open_files(512);
    o
}

impl Store {
    /// Opens (creating on first use) the store under `<data_dir>/store` for reading and
    /// writing. Only one process may hold it so.
    pub fn open(cfg: &Config) -> Result<Store, StoreError> {
        Self::open_mode(cfg, false)
    }

    /// Opens an existing store for reading only, beside a process that writes to it (a lookup
    /// while an import runs). It sees the data as of the moment it was opened.
    pub fn open_read_only(cfg: &Config) -> Result<Store, StoreError> {
        Self::open_mode(cfg, true)
    }

    fn open_mode(cfg: &Config, read_only: bool) -> Result<Store, StoreError> {
        let path = cfg.data_dir.join("store");
        if read_only {
            if !path.join("CURRENT").exists() {
                return Err(StoreError::Open {
                    path,
                    reason: "no store here yet (import data first)".into(),
                });
            }
        } else {
            std::fs::create_dir_all(&path).map_err(|e| StoreError::Open {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        }
        let opts = db_options();
        let cache = Cache::new_lru_cache(256 << 20);
        let mut names = Db::list_cf(&opts, &path).unwrap_or_default();
        if !read_only {
            for n in [CF_META, CF_LIVE] {
                if !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
            }
        }
        let cfs: Vec<ColumnFamilyDescriptor> = names
            .iter()
            .map(|n| {
                let o = if n == CF_META {
                    meta_options()
                } else if n == "default" {
                    Options::default()
                } else if n == CF_LIVE {
                    live_options(&cache)
                } else {
                    partition_options(&cache)
                };
                ColumnFamilyDescriptor::new(n, o)
            })
            .collect();
        let opened = if read_only {
            Db::open_cf_descriptors_read_only(&opts, &path, cfs, false)
        } else {
            Db::open_cf_descriptors(&opts, &path, cfs)
        };
        let db = opened.map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let store = Store {
            db,
            path,
            params: Params {
                rules: Rules {
                    session_timeout: cfg.session_timeout_secs,
                    tolerance: cfg.tolerance_secs,
                },
                reorder_window: cfg.reorder_window_secs,
                stop_wait: cfg.stop_wait_secs,
            },
            sync: cfg.sync_writes,
            cache,
            engine: None,
        };
        store.check_schema(read_only)?;
        Ok(store)
    }

    fn check_schema(&self, read_only: bool) -> Result<(), StoreError> {
        let meta = self.meta();
        match self.db.get_cf(&meta, META_SCHEMA).map_err(read_err)? {
            Some(v) => {
                let found = v.as_slice().try_into().map(u32::from_be_bytes).unwrap_or(0);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema { found });
                }
                Ok(())
            }
            None if read_only => Ok(()),
            None => self
                .db
                .put_cf(&meta, META_SCHEMA, SCHEMA_VERSION.to_be_bytes())
                .map_err(write_err),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn rules(&self) -> Rules {
        self.params.rules
    }

    fn meta(&self) -> Arc<BoundColumnFamily<'_>> {
        self.db
            .cf_handle(CF_META)
            .expect("meta family opened at start")
    }

    fn live(&self) -> Arc<BoundColumnFamily<'_>> {
        self.db
            .cf_handle(CF_LIVE)
            .expect("live family opened at start")
    }

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
        let read = |r: Result<KeyValue, rocksdb::Error>| r.map_err(read_err);
        for item in self.db.iterator_cf(&self.live(), IteratorMode::Start) {
            let (k, v) = read(item)?;
            if !e.restore_live(&k, &v) {
                return Err(StoreError::Read("undecodable live record".into()));
            }
        }
        let meta = self.meta();
        for item in self.db.iterator_cf(&meta, IteratorMode::Start) {
            let (k, v) = read(item)?;
            match k.first() {
                Some(&b'W') if k.len() == 1 => {
                    if let Ok(b) = <[u8; 8]>::try_from(&v[..]) {
                        e.restore_watermark(i64::from_be_bytes(b));
                    }
                }
                Some(&engine::META_CLOCK_MARK) => {
                    let names = std::str::from_utf8(&k[1..])
                        .ok()
                        .and_then(|n| n.split_once('\0'));
                    if let (Some((source, nas)), Ok(b)) = (names, <[u8; 8]>::try_from(&v[..])) {
                        e.restore_clock_mark(
                            source.to_string(),
                            nas.to_string(),
                            i64::from_be_bytes(b),
                        );
                    }
                }
                Some(&engine::META_REBOOT) => {
                    if let Some((nas, t)) = engine::decode_reboot_key(&k) {
                        e.restore_reboot(nas, t);
                    }
                }
                Some(&engine::META_PLEN) if k.len() == 2 => e.restore_prefix_len(k[1]),
                Some(&b'Z') if &k[..] == engine::META_NAT_SPAN => {
                    if let Ok(b) = <[u8; 2]>::try_from(&v[..]) {
                        e.restore_nat_span(u16::from_be_bytes(b));
                    }
                }
                _ => {}
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
    /// value) of the input it covers, as one prepared batch: encoded operations only, so preparing stays cheap for the thread that
    /// applies events, and [`Store::write`] (on another thread) does the rest.
    pub fn prepare(
        &self,
        engine: &mut Engine,
        checkpoints: &[(&[u8], &[u8])],
        retention_floor: UnixSecs,
    ) -> Prepared {
        let mut p = Prepared::default();
        // A read error here leaves the late binding as it is (the partition merge still keeps
        // the stored copy whole); it does not stop the batch.
        engine.revive_late(|k| self.final_copy(k).ok().flatten());
        p.finalised = engine.flush(&mut p, retention_floor);
        for (k, v) in checkpoints {
            p.meta.put(k, v);
        }
        p
    }

    /// Writes a prepared batch atomically (fsynced when `sync_writes`): creates day partitions
    /// on first use and adds each family's writes sorted by key.
    pub fn write(&self, p: Prepared) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        p.meta.append_to(&mut batch, &self.meta(), false);
        p.live.append_to(&mut batch, &self.live(), true);
        for (day, ops) in p.parts {
            let name = partition_name(day);
            if self.db.cf_handle(&name).is_none() {
                self.db
                    .create_cf(&name, &partition_options(&self.cache))
                    .map_err(write_err)?;
            }
            let cf = self
                .db
                .cf_handle(&name)
                .ok_or_else(|| StoreError::Write(format!("partition {name} vanished")))?;
            ops.append_to(&mut batch, &cf, true);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        self.db.write_opt(batch, &wo).map_err(write_err)
    }

    // ---- checkpoints ------------------------------------------------------------------------

    pub fn checkpoint_key(source: &str, file_id: &[u8]) -> Vec<u8> {
        let mut k = vec![META_CHECKPOINT];
        k.extend_from_slice(source.as_bytes());
        k.push(0);
        k.extend_from_slice(file_id);
        k
    }

    /// Where `tdr serve` keeps the checkpoints of source `source`'s files (followed by the
    /// file's device and inode).
    pub fn file_checkpoint_prefix(source: &str) -> Vec<u8> {
        let mut k = vec![META_FILE];
        k.extend_from_slice(source.as_bytes());
        k.push(0);
        k
    }

    /// The count of frames (records) of `source` committed so far by `tdr serve`.
    pub fn frames_key(source: &str) -> Vec<u8> {
        let mut k = vec![META_FRAMES];
        k.extend_from_slice(source.as_bytes());
        k
    }

    /// Every frame count (`frames_key`), by source.
    pub fn frame_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(self
            .meta_scan(&[META_FRAMES])?
            .into_iter()
            .filter_map(|(k, v)| {
                let n = u64::from_be_bytes(<[u8; 8]>::try_from(&v[..]).ok()?);
                Some((String::from_utf8_lossy(&k[1..]).into_owned(), n))
            })
            .collect())
    }

    /// Every meta record whose key starts with `prefix`.
    pub fn meta_scan(&self, prefix: &[u8]) -> Result<Vec<MetaRecord>, StoreError> {
        let mut ro = ReadOptions::default();
        ro.set_total_order_seek(true);
        let mut out = Vec::new();
        for item in self.db.iterator_cf_opt(
            &self.meta(),
            ro,
            IteratorMode::From(prefix, Direction::Forward),
        ) {
            let (k, v) = item.map_err(read_err)?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    pub fn get_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(&self.meta(), key).map_err(read_err)
    }

    // ---- reads ------------------------------------------------------------------------------

    /// The newest event time the store has applied (`None` when empty).
    pub fn watermark(&self) -> Result<Option<UnixSecs>, StoreError> {
        Ok(self
            .get_meta(engine::META_WATERMARK)?
            .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok())
            .map(i64::from_be_bytes))
    }

    /// The widest NAT port block seen (last port − first port), which bounds where a block
    /// holding a given port can start.
    pub fn max_nat_span(&self) -> Result<u16, StoreError> {
        Ok(self
            .get_meta(engine::META_NAT_SPAN)?
            .and_then(|v| <[u8; 2]>::try_from(&v[..]).ok())
            .map(u16::from_be_bytes)
            .unwrap_or(u16::MAX))
    }

    /// IPv6 prefix lengths that bindings have been seen with, longest first.
    pub fn prefix_lens(&self) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .prefix_iterator_cf(&self.meta(), [engine::META_PLEN])
        {
            let (k, _) = item.map_err(read_err)?;
            if k.first() != Some(&engine::META_PLEN) {
                break;
            }
            if k.len() == 2 {
                out.push(k[1]);
            }
        }
        out.sort_unstable_by(|a, b| b.cmp(a));
        Ok(out)
    }

    /// Per-source minute bitmaps of the UTC day `day`, of one domain (address assignments or
    /// NAT).
    pub fn coverage_of_day(
        &self,
        day: i64,
        domain: Domain,
    ) -> Result<Vec<(String, [u64; 23])>, StoreError> {
        let prefix = engine::coverage_key(day, domain, "");
        let mut out = Vec::new();
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(keys::prefix_upper_bound(&prefix));
        let it = self.db.iterator_cf_opt(
            &self.meta(),
            ro,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        for item in it {
            let (k, v) = item.map_err(read_err)?;
            let source = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let mut bits = [0u64; 23];
            for (i, c) in v.chunks_exact(8).take(23).enumerate() {
                bits[i] = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            }
            out.push((source, bits));
        }
        Ok(out)
    }

    /// Whether any source of `domain` logged a record (of any kind: an assignment, a
    /// DHCPDISCOVER, a NAT session line) within `gap` seconds of `t`.
    pub fn covered(&self, t: UnixSecs, gap: i64, domain: Domain) -> Result<bool, StoreError> {
        let (from, to) = (t - gap, t + gap);
        for day in day_of(from)..=day_of(to) {
            for (_, bits) in self.coverage_of_day(day, domain)? {
                let lo = (from.max(day * 86_400) - day * 86_400) / 60;
                let hi = (to.min(day * 86_400 + 86_399) - day * 86_400) / 60;
                if (lo..=hi).any(|m| bits[(m / 64) as usize] & (1 << (m % 64)) != 0) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Every binding stored under `prefix` (an 18-byte lookup prefix) that may matter between
    /// `from` and `to`: live ones and final copies in the day partitions of that range.
    /// Copies of one binding in several partitions are returned once.
    pub fn candidates(
        &self,
        prefix: &[u8],
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Vec<(BindingKey, Facts)>, StoreError> {
        self.candidates_in(prefix, &keys::prefix_upper_bound(prefix), from, to)
    }

    /// Like [`Store::candidates`], for the keys from `lower` (inclusive) to `upper`
    /// (exclusive), which share one lookup prefix (a NAT port range of one public address).
    pub fn candidates_in(
        &self,
        lower: &[u8],
        upper: &[u8],
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Vec<(BindingKey, Facts)>, StoreError> {
        let mut out: Vec<(BindingKey, Facts)> = Vec::new();
        self.visit_candidates(lower, upper, from, to, |key, facts| {
            out.push((key, facts));
            true
        })?;
        // A binding may be seen several times: a final copy in each day it spans, and a live
        // record with the same key when late events reopened it (a file imported after newer
        // ones). Copies of one binding are merged: each adds what it knows, none can cut
        // another short.
        out.sort_by_key(|(k, _)| *k);
        let mut merged: Vec<(BindingKey, Facts)> = Vec::with_capacity(out.len());
        for (k, f) in out {
            match merged.last_mut() {
                Some((lk, lf)) if *lk == k => lf.merge_same(&f),
                _ => merged.push((k, f)),
            }
        }
        Ok(merged)
    }

    /// Calls `f` with (inside address, class code) of every sharer of `public` in the
    /// partition of `day` — every port block that touched that day — sorted by address, then
    /// class. One read. Returns whether the day has a sharer set at all.
    pub fn visit_nat_sharers(
        &self,
        public: std::net::Ipv6Addr,
        day: i64,
        mut f: impl FnMut(std::net::Ipv6Addr, crate::model::Class),
    ) -> Result<bool, StoreError> {
        let Some(cf) = self.db.cf_handle(&partition_name(day)) else {
            return Ok(false);
        };
        let Some(v) = self
            .db
            .get_pinned_cf(&cf, keys::sharer_key(public))
            .map_err(read_err)?
        else {
            return Ok(false);
        };
        if !v.len().is_multiple_of(keys::SHARER_RECORD) {
            return Err(StoreError::Read("undecodable sharer set".into()));
        }
        for r in v.chunks_exact(keys::SHARER_RECORD) {
            let a: [u8; 16] = r[..16].try_into().unwrap_or([0; 16]);
            let class = crate::model::Class::from_code(r[16])
                .ok_or_else(|| StoreError::Read("sharer of an unknown class".into()))?;
            f(std::net::Ipv6Addr::from(a), class);
        }
        Ok(true)
    }

    /// The port blocks of `public` still live (open, or closed within the last minutes).
    pub fn live_nat_blocks(
        &self,
        public: std::net::Ipv6Addr,
    ) -> Result<Vec<(BindingKey, Facts)>, StoreError> {
        let prefix = keys::nat_prefix(public);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(keys::prefix_upper_bound(&prefix));
        ro.set_prefix_same_as_start(true);
        let mut out = Vec::new();
        for item in self.db.iterator_cf_opt(
            &self.live(),
            ro,
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (k, v) = item.map_err(read_err)?;
            let key = BindingKey::decode(&k)
                .ok_or_else(|| StoreError::Read("undecodable binding key".into()))?;
            let (facts, _) = engine::decode_live(key.start, &v)
                .ok_or_else(|| StoreError::Read("undecodable binding record".into()))?;
            out.push((key, facts));
        }
        Ok(out)
    }

    /// The final copy of binding `key` in the partition of its start day, if there is one.
    pub fn final_copy(&self, key: &BindingKey) -> Result<Option<Facts>, StoreError> {
        let Some(cf) = self.db.cf_handle(&partition_name(day_of(key.start))) else {
            return Ok(None);
        };
        match self.db.get_cf(&cf, key.encode()).map_err(read_err)? {
            Some(v) => Facts::decode(key.start, &v)
                .map(Some)
                .ok_or_else(|| StoreError::Read("undecodable binding record".into())),
            None => Ok(None),
        }
    }

    /// Calls `f` for every binding stored between `lower` and `upper` that may matter between
    /// `from` and `to` (live ones first, then final copies day by day; a binding spanning
    /// several days is seen once per copy) until `f` returns false.
    pub fn visit_candidates(
        &self,
        lower: &[u8],
        upper: &[u8],
        from: UnixSecs,
        to: UnixSecs,
        mut f: impl FnMut(BindingKey, Facts) -> bool,
    ) -> Result<(), StoreError> {
        let mut scan = |cf: &Arc<BoundColumnFamily<'_>>, live: bool| -> Result<bool, StoreError> {
            let mut ro = ReadOptions::default();
            ro.set_iterate_upper_bound(upper.to_vec());
            ro.set_prefix_same_as_start(true);
            let it = self
                .db
                .iterator_cf_opt(cf, ro, IteratorMode::From(lower, Direction::Forward));
            for item in it {
                let (k, v) = item.map_err(read_err)?;
                let Some(key) = BindingKey::decode(&k) else {
                    continue;
                };
                if key.start > to {
                    // Address bindings sort by start within the prefix; NAT blocks by first
                    // port, then start.
                    if key.tag == keys::TAG_BINDING {
                        break;
                    }
                    continue;
                }
                let facts = if live {
                    engine::decode_live(key.start, &v).map(|(f, _)| f)
                } else {
                    Facts::decode(key.start, &v)
                };
                let Some(facts) = facts else {
                    return Err(StoreError::Read("undecodable binding record".into()));
                };
                if !f(key, facts) {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        if !scan(&self.live(), true)? {
            return Ok(());
        }
        for day in day_of(from)..=day_of(to) {
            if let Some(cf) = self.db.cf_handle(&partition_name(day)) {
                if !scan(&cf, false)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The CDRs involving `number` (as caller or callee; normalised with
    /// [`cdr::normalize_number`]) that overlap `from..=to`, oldest first. Calls are found in
    /// the day partitions of their start, from the day before `from` (a call running across
    /// midnight) to the day of `to`.
    pub fn cdrs(
        &self,
        number: &str,
        from: UnixSecs,
        to: UnixSecs,
    ) -> Result<Vec<crate::model::Cdr>, StoreError> {
        let prefix = cdr::prefix(&cdr::normalize_number(number));
        let mut upper = prefix.clone();
        if let Some(last) = upper.last_mut() {
            *last = 1; // the prefix ends in a 0 separator
        }
        let mut out = Vec::new();
        for day in day_of(from) - 1..=day_of(to) {
            let Some(cf) = self.db.cf_handle(&partition_name(day)) else {
                continue;
            };
            let mut ro = ReadOptions::default();
            ro.set_total_order_seek(true);
            ro.set_iterate_upper_bound(upper.clone());
            let it =
                self.db
                    .iterator_cf_opt(&cf, ro, IteratorMode::From(&prefix, Direction::Forward));
            for item in it {
                let (k, v) = item.map_err(read_err)?;
                match cdr::key_start(&k, prefix.len()) {
                    Some(start) if start > to => break,
                    Some(_) => {}
                    None => continue,
                }
                let c = cdr::decode(&v)
                    .ok_or_else(|| StoreError::Read("undecodable CDR record".into()))?;
                if c.end >= from && c.start <= to {
                    out.push(c);
                }
            }
        }
        out.sort_by(|a, b| (a.start, &a.call_id).cmp(&(b.start, &b.call_id)));
        Ok(out)
    }

    /// Every address binding of `subscriber` that `scope` still retains (all classes the scope
    /// allows), oldest first, as a data-subject access extract lists them. A full scan: it is
    /// for the rare GDPR art. 15 request, not for lookups.
    pub fn bindings_of(
        &self,
        subscriber: &str,
        scope: &lookup::Scope,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let rules = self.rules();
        let horizon = self.watermark()?.unwrap_or(i64::MIN);
        let mut found: std::collections::BTreeMap<BindingKey, Facts> = Default::default();
        let mut cfs: Vec<(String, bool)> = vec![(CF_LIVE.to_string(), true)];
        cfs.extend(
            self.partitions()?
                .into_iter()
                .map(|d| (partition_name(d), false)),
        );
        for (name, live) in cfs {
            let Some(cf) = self.db.cf_handle(&name) else {
                continue;
            };
            let mut ro = ReadOptions::default();
            ro.set_total_order_seek(true);
            for item in self.db.iterator_cf_opt(&cf, ro, IteratorMode::Start) {
                let (k, v) = item.map_err(read_err)?;
                let Some(key) = BindingKey::decode(&k) else {
                    continue;
                };
                if key.tag != keys::TAG_BINDING {
                    continue;
                }
                let facts = if live {
                    engine::decode_live(key.start, &v).map(|(f, _)| f)
                } else {
                    Facts::decode(key.start, &v)
                };
                let Some(f) = facts else { continue };
                if f.subject != subscriber || !scope.allowed.contains(&f.class) {
                    continue;
                }
                match found.get_mut(&key) {
                    Some(have) => have.merge_same(&f),
                    None => {
                        found.insert(key, f);
                    }
                }
            }
        }
        let mut out: Vec<(i64, serde_json::Value)> = found
            .into_iter()
            .filter_map(|(key, f)| {
                let ev = f.evidence(&rules, horizon);
                let last = ev.end.unwrap_or(scope.now);
                scope.retained(f.class, last).then(|| {
                    let v4 = key.addr.to_ipv4_mapped().is_some();
                    let target = crate::model::Target {
                        addr: key.addr,
                        plen: key.plen_or_lo as u8,
                        v4,
                    };
                    (
                        ev.start,
                        serde_json::json!({
                            "target": target.to_string(),
                            "start": crate::model::fmt_time(ev.start),
                            "end": ev.end.map(crate::model::fmt_time),
                            "end_kind": ev.end_kind,
                            "source": f.source,
                            "class": f.class,
                        }),
                    )
                })
            })
            .collect();
        out.sort_by_key(|(t, _)| *t);
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }

    // ---- partitions & retention ---------------------------------------------------------------

    /// The day partitions present, oldest first.
    pub fn partitions(&self) -> Result<Vec<i64>, StoreError> {
        let names = Db::list_cf(&Options::default(), &self.path).map_err(read_err)?;
        let mut days: Vec<i64> = names.iter().filter_map(|n| partition_day(n)).collect();
        days.sort_unstable();
        Ok(days)
    }

    /// Counts the records of a partition (for the deletion audit entry).
    pub fn partition_info(&self, day: i64) -> Result<Option<PartitionInfo>, StoreError> {
        let name = partition_name(day);
        let Some(cf) = self.db.cf_handle(&name) else {
            return Ok(None);
        };
        let mut ro = ReadOptions::default();
        ro.set_total_order_seek(true);
        let mut records = 0;
        for item in self.db.iterator_cf_opt(&cf, ro, IteratorMode::Start) {
            item.map_err(read_err)?;
            records += 1;
        }
        Ok(Some(PartitionInfo { day, name, records }))
    }

    /// Drops a whole day partition and the coverage of that day.
    pub fn drop_partition(&self, day: i64) -> Result<(), StoreError> {
        let name = partition_name(day);
        if self.db.cf_handle(&name).is_some() {
            self.db.drop_cf(&name).map_err(write_err)?;
        }
        let meta = self.meta();
        for domain in [Domain::Address, Domain::Nat] {
            let prefix = engine::coverage_key(day, domain, "");
            self.db
                .delete_range_cf(&meta, &prefix, &keys::prefix_upper_bound(&prefix))
                .map_err(write_err)?;
        }
        Ok(())
    }

    /// Deletes reboot records older than `floor` (they only matter to sessions of that time).
    pub fn prune_reboots(&self, floor: UnixSecs) -> Result<u64, StoreError> {
        let meta = self.meta();
        let mut batch = WriteBatch::default();
        let mut n = 0;
        for item in self.db.prefix_iterator_cf(&meta, [engine::META_REBOOT]) {
            let (k, _) = item.map_err(read_err)?;
            if k.first() != Some(&engine::META_REBOOT) {
                break;
            }
            if let Some((_, t)) = engine::decode_reboot_key(&k) {
                if t < floor {
                    batch.delete_cf(&meta, &k);
                    n += 1;
                }
            }
        }
        self.db.write(batch).map_err(write_err)?;
        Ok(n)
    }

    /// What RocksDB holds in memory: memtables and table readers over every family, and the
    /// shared block cache.
    pub fn memory_usage(&self) -> MemoryUsage {
        let mut m = MemoryUsage {
            block_cache: self.cache.get_usage() as u64,
            ..MemoryUsage::default()
        };
        let names = Db::list_cf(&Options::default(), &self.path).unwrap_or_default();
        for n in names {
            if let Some(cf) = self.db.cf_handle(&n) {
                let prop = |p: &str| self.db.property_int_value_cf(&cf, p).ok().flatten();
                m.memtables += prop("rocksdb.cur-size-all-mem-tables").unwrap_or(0);
                m.table_readers += prop("rocksdb.estimate-table-readers-mem").unwrap_or(0);
            }
        }
        m
    }

    /// Bytes of SST files on disk, all families.
    pub fn disk_bytes(&self) -> u64 {
        dir_size(&self.path)
    }

    /// Flushes memtables and compacts every family (benchmarks and tests measure the settled
    /// size with it).
    pub fn compact(&self) -> Result<(), StoreError> {
        let names = Db::list_cf(&Options::default(), &self.path).map_err(read_err)?;
        for n in names {
            if let Some(cf) = self.db.cf_handle(&n) {
                self.db.flush_cf(&cf).map_err(write_err)?;
                self.db.compact_range_cf(&cf, None::<&[u8]>, None::<&[u8]>);
            }
        }
        Ok(())
    }
}

impl Store {
    /// Every key and value of every family, sorted: for tests that compare two stores
    /// byte for byte. Not reachable from the CLI or the API (it would bypass the audit).
    /// What the store knows, independent of how and in which batches it was written: every
    /// binding (copies and live record merged, without the `complete` flag, which says only
    /// whether a copy is final yet), every CDR record, and the serve frame counts; sorted. Two
    /// stores fed the same records give the same dump. For the crash test; not reachable from
    /// the CLI or the API (it would bypass the audit).
    #[doc(hidden)]
    pub fn logical_dump_for_tests(&self) -> Result<Vec<String>, StoreError> {
        let mut bindings: std::collections::BTreeMap<BindingKey, Facts> = Default::default();
        let mut other = Vec::new();
        for (cf, k, v) in self.raw_dump_for_tests()? {
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
        for (source, n) in self.frame_counts()? {
            out.push(format!("frames {source} {n}"));
        }
        Ok(out)
    }

    #[doc(hidden)]
    pub fn raw_dump_for_tests(&self) -> Result<Vec<RawRecord>, StoreError> {
        let mut names = Db::list_cf(&Options::default(), &self.path).map_err(read_err)?;
        names.sort();
        let mut out = Vec::new();
        for n in names {
            let Some(cf) = self.db.cf_handle(&n) else {
                continue;
            };
            let mut ro = ReadOptions::default();
            ro.set_total_order_seek(true);
            for item in self.db.iterator_cf_opt(&cf, ro, IteratorMode::Start) {
                let (k, v) = item.map_err(read_err)?;
                out.push((n.clone(), k.to_vec(), v.to_vec()));
            }
        }
        Ok(out)
    }
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A meta record: key and value.
pub type MetaRecord = (Vec<u8>, Vec<u8>);

/// One batch of writes, prepared by the applying thread and written by [`Store::write`].
#[derive(Default)]
pub struct Prepared {
    meta: Ops,
    live: Ops,
    parts: Vec<(i64, Ops)>,
    /// How many bindings this batch finalises.
    pub finalised: usize,
}

impl Prepared {
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
        // A merge, not a put: see `facts_merge`.
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

#[derive(Debug, Clone, Copy)]
enum OpKind {
    Put(usize),
    Merge(usize),
    Delete,
}

/// Encoded writes for one column family in one flat buffer.
#[derive(Default)]
struct Ops {
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

    /// Adds the writes to `batch`; `sorted` by key when asked. RocksDB's skiplist memtable
    /// keeps its insert position between inserts, so keys in order cost a fraction of keys in
    /// random order (before this, the largest single cost of ingest). The sort is stable:
    /// writes to one key keep their order.
    fn append_to(mut self, batch: &mut WriteBatch, cf: &Arc<BoundColumnFamily<'_>>, sorted: bool) {
        let data = &self.data;
        if sorted {
            self.ops
                .sort_by(|a, b| data[a.0..a.0 + a.1].cmp(&data[b.0..b.0 + b.1]));
        }
        for &(off, klen, kind) in &self.ops {
            let key = &data[off..off + klen];
            let value = |vlen: usize| &data[off + klen..off + klen + vlen];
            match kind {
                OpKind::Put(vlen) => batch.put_cf(cf, key, value(vlen)),
                OpKind::Merge(vlen) => batch.merge_cf(cf, key, value(vlen)),
                OpKind::Delete => batch.delete_cf(cf, key),
            }
        }
    }
}

/// Merge operator of the `meta` family: coverage bitmaps are ORed together, so coverage is
/// order-independent and a late event can only add minutes.
fn or_merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    let mut acc: Vec<u8> = existing.map(<[u8]>::to_vec).unwrap_or_default();
    for op in operands {
        if acc.len() < op.len() {
            acc.resize(op.len(), 0);
        }
        for (a, b) in acc.iter_mut().zip(op) {
            *a |= b;
        }
    }
    Some(acc)
}

/// Merge operator of the day partitions: copies of one final binding are merged
/// ([`Facts::merge_same`]), so a copy written later from fewer facts (late events) adds to the
/// stored binding instead of replacing it. Sharer sets are unions. Other values (CDRs) keep
/// the last write, as a put would.
fn facts_merge(
    key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    if keys::is_sharer_key(key) {
        return Some(keys::union_sharers(existing.into_iter().chain(operands)));
    }
    let start = BindingKey::decode(key).map(|k| k.start);
    let mut acc: Option<Vec<u8>> = existing.map(<[u8]>::to_vec);
    for op in operands {
        let merged = match (&acc, start) {
            (Some(prev), Some(s)) => match (Facts::decode(s, prev), Facts::decode(s, op)) {
                (Some(mut a), Some(b)) => {
                    a.merge_same(&b);
                    let mut out = Vec::with_capacity(prev.len().max(op.len()));
                    a.encode(&mut out);
                    Some(out)
                }
                _ => None,
            },
            _ => None,
        };
        acc = Some(merged.unwrap_or_else(|| op.to_vec()));
    }
    acc
}

fn meta_options() -> Options {
    let mut o = Options::default();
    o.set_merge_operator_associative("or_bitmaps", or_merge);
    o
}
