//! RocksDB under the store: opening (read-write or read-only), the families' options and merge
//! operators, the schema check, the raw family reads ([`Families`]) and the engine's upkeep
//! numbers (memory, disk, compaction).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rocksdb::{
    BlockBasedOptions, BoundColumnFamily, Cache, ColumnFamilyDescriptor, DBCompressionType,
    DBWithThreadMode, Direction, IteratorMode, MultiThreaded, Options, ReadOptions, SliceTransform,
};

use super::binding::Rules;
use super::engine::{Engine, Params};
use super::keys::{self, partition_day, partition_name};
use super::read::Visit;
use super::subject::{Erasures, Hash16, SubjectKey};
use super::{merge, meta, read_err, seal, write_err, Families, Family, StoreError};
use crate::config::{Config, Retention};
use crate::keyring::{day_key_name, DataKey, KeyError, KeyStore};

pub(crate) type Db = DBWithThreadMode<MultiThreaded>;

/// 2: values sealed with the day's (or the live family's) key, numbers hashed in CDR keys.
pub const SCHEMA_VERSION: u32 = 2;
pub(crate) const CF_META: &str = "meta";
pub(crate) const CF_LIVE: &str = "live";

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

pub struct Store {
    pub(super) db: Db,
    path: PathBuf,
    pub(super) params: Params,
    pub(super) sync: bool,
    /// One block cache shared by every partition, so memory stays bounded however many days.
    cache: Cache,
    /// Loaded only by writers (`open_engine`); lookups read RocksDB directly.
    pub(super) engine: Option<Engine>,
    /// The retention policy stored with the data (the configured one, equal to it, when
    /// the store has none yet).
    retention: Retention,
    /// The subscriber index's key (`None`: a read-only open of a store whose key was never
    /// made) and the erasures in force.
    pub(super) subjects: Option<SubjectKey>,
    pub(super) erasures: Erasures,
    /// The key store (day keys, the live key) and the keys in use, by day.
    pub(super) keys: Arc<KeyStore>,
    pub(super) live_key: Arc<DataKey>,
    day_keys: RwLock<HashMap<i64, Arc<DataKey>>>,
    /// Partitions of shredded keys a read-only open could not drop: hidden.
    shredded_open: Vec<String>,
    /// A benchmark's store written unsealed ([`UNSEALED_MARK`]; `testkit` builds only).
    unsealed: bool,
}

/// Signs and verifies the store's retention policy with a key the store does not hold (the
/// appliance's audit signing key): the daemon and the offline import pass one in.
pub trait PolicySeal {
    fn sign(&self, policy: &[u8]) -> Vec<u8>;
    fn verify(&self, policy: &[u8], signature: &[u8]) -> bool;
}

/// The file that marks a benchmark's store written unsealed (`tdr-bench build --unsealed`,
/// measuring what sealing costs); only a build with the `testkit` feature reads such a store.
pub(super) const UNSEALED_MARK: &str = "UNSEALED-BENCH";

/// How a partition's values are kept: sealed with its key, plain (a benchmark's unsealed
/// store), or unreadable (its key shredded; dropped right after the open).
#[derive(Clone)]
pub(super) enum Sealing {
    Key(Arc<DataKey>),
    Plain,
    Shredded,
}

pub(super) fn partition_options(cache: &Cache, sealing: Sealing) -> Options {
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
    match sealing {
        Sealing::Key(key) => o.set_merge_operator_associative("merge_facts", move |k, e, ops| {
            seal::sealed_merge(&key, k, e, ops)
        }),
        Sealing::Plain => {
            o.set_merge_operator_associative("merge_facts", |k, e, ops| merge::facts(k, e, ops))
        }
        // Its values cannot be read any more: a merge keeps the last bytes as they are.
        Sealing::Shredded => o.set_merge_operator_associative("merge_facts", |_, existing, ops| {
            ops.iter().last().or(existing).map(<[u8]>::to_vec)
        }),
    }
    o
}

/// The live family holds only the bindings that may still change (open sessions and the
/// last minutes' closed ones), rewritten on nearly every event: a small memtable keeps its
/// skiplist in cache, which is where ingest spends its time at high event rates.
fn live_options(cache: &Cache, sealing: Sealing) -> Options {
    let mut o = partition_options(cache, sealing);
    o.set_write_buffer_size(8 << 20);
    o.set_memtable_prefix_bloom_ratio(0.05);
    o
}

fn meta_options() -> Options {
    let mut o = Options::default();
    o.set_merge_operator_associative("or_bitmaps", or_merge);
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

/// RocksDB's merge operator of the `meta` family: [`merge::or_bitmaps`].
fn or_merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    Some(merge::or_bitmaps(existing, operands))
}

impl Store {
    /// Opens (creating on first use) the store under `<data_dir>/store` for reading and
    /// writing. Only one process may hold it so.
    ///
    /// A store that holds a retention policy refuses a configuration whose retention differs
    /// (`store.retention_mismatch`); its signature is checked only by [`Store::open_sealed`].
    pub fn open(cfg: &Config) -> Result<Store, StoreError> {
        Self::open_mode(cfg, false, None)
    }

    /// Opens for reading and writing like [`Store::open`], with the retention policy sealed:
    /// on the first such open the configured retention is recorded with its signature; on
    /// later ones a configuration that differs is refused (`store.retention_mismatch`, naming
    /// both) and so is a policy whose signature does not verify (`store.retention_unsigned`).
    /// The daemon and the offline import open the store this way.
    pub fn open_sealed(cfg: &Config, seal: &dyn PolicySeal) -> Result<Store, StoreError> {
        Self::open_mode(cfg, false, Some(seal))
    }

    /// Opens an existing store for reading only, beside a process that writes to it (a lookup
    /// while an import runs). It sees the data as of the moment it was opened.
    pub fn open_read_only(cfg: &Config) -> Result<Store, StoreError> {
        Self::open_mode(cfg, true, None)
    }

    fn open_mode(
        cfg: &Config,
        read_only: bool,
        seal: Option<&dyn PolicySeal>,
    ) -> Result<Store, StoreError> {
        // A store of the version before encryption (schema 1) is sealed first, in an open of
        // its own whose partitions merge as plain (their values are plain until sealed), and
        // is then opened as any store is.
        if !read_only && stored_schema(&cfg.data_dir.join("store"))? == Some(1) {
            drop(Self::open_inner(cfg, false, seal, true)?);
        }
        Self::open_inner(cfg, read_only, seal, false)
    }

    /// Opens the store; `migrating`: the one-time sealing of a schema-1 store (every family
    /// plain, no day key required, [`Store::seal_plain_store`] run before returning).
    fn open_inner(
        cfg: &Config,
        read_only: bool,
        seal: Option<&dyn PolicySeal>,
        migrating: bool,
    ) -> Result<Store, StoreError> {
        let path = cfg.data_dir.join("store");
        if read_only {
            if !path.join("CURRENT").exists() {
                return Err(StoreError::Open {
                    path,
                    reason: "no store here yet (import data first)".into(),
                });
            }
        } else {
            // Private whatever the umask: the data dir (when created here) and the store.
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&path)
                .map_err(|e| StoreError::Open {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
        }
        let opts = db_options();
        let cache = Cache::new_lru_cache(256 << 20);
        let bench_unsealed = path.join(UNSEALED_MARK).exists();
        let unsealed = bench_unsealed || migrating;
        if bench_unsealed && !cfg!(feature = "testkit") {
            return Err(StoreError::Open {
                path,
                reason: "a benchmark's store written unsealed (tdr-bench build --unsealed): \
                         tdr does not read it"
                    .into(),
            });
        }
        let sealing_of = |key: Option<Arc<DataKey>>| match key {
            _ if unsealed => Sealing::Plain,
            Some(k) => Sealing::Key(k),
            None => Sealing::Shredded,
        };
        let keys = Arc::new(KeyStore::open(&cfg.data_dir, !read_only).map_err(StoreError::Key)?);
        let live_key = if read_only {
            keys.require("live")
        } else {
            keys.get_or_create("live")
        }
        .map_err(StoreError::Key)?;
        let mut names = Db::list_cf(&opts, &path).unwrap_or_default();
        if !read_only {
            for n in [CF_META, CF_LIVE] {
                if !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
            }
        }
        // Each partition with its day's key. A partition whose key was shredded (expiry
        // shreds the key first, then drops the partition) is dropped now; one whose key is
        // missing without having been shredded is refused: its data is there, its key is
        // not (a key store from elsewhere, or not restored from escrow).
        let mut day_keys = HashMap::new();
        let (mut shredded, mut missing) = (Vec::new(), Vec::new());
        for n in &names {
            if let Some(day) = partition_day(n) {
                match keys.get(&day_key_name(day)).map_err(StoreError::Key)? {
                    Some(k) => {
                        day_keys.insert(day, k);
                    }
                    None if keys.shredded(&day_key_name(day)) => shredded.push(n.clone()),
                    None => missing.push(day_key_name(day)),
                }
            }
        }
        if !missing.is_empty() && !unsealed {
            return Err(StoreError::Key(KeyError::Missing {
                name: missing.join(", "),
                path: keys.dir().to_path_buf(),
            }));
        }
        let cfs: Vec<ColumnFamilyDescriptor> = names
            .iter()
            .map(|n| {
                let o = if n == CF_META {
                    meta_options()
                } else if n == "default" {
                    Options::default()
                } else if n == CF_LIVE {
                    live_options(&cache, sealing_of(Some(live_key.clone())))
                } else {
                    let key = partition_day(n).and_then(|d| day_keys.get(&d).cloned());
                    partition_options(&cache, sealing_of(key))
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
        let mut store = Store {
            db,
            path,
            params: Params::from_config(cfg),
            sync: cfg.sync_writes,
            cache,
            engine: None,
            retention: cfg.retention.clone(),
            subjects: None,
            erasures: Erasures::default(),
            keys,
            live_key,
            day_keys: RwLock::new(day_keys),
            shredded_open: Vec::new(),
            unsealed,
        };
        if !read_only {
            for n in &shredded {
                store.db.drop_cf(n).map_err(write_err)?;
                tracing::info!(partition = %n, "partition of a shredded day key dropped");
            }
        }
        store.shredded_open = if read_only { shredded } else { Vec::new() };
        let plain = store.check_schema(read_only)?;
        store.check_policy(&cfg.retention, read_only, seal)?;
        store.subjects = match SubjectKey::load(&cfg.data_dir, &store.keys, !read_only) {
            Ok(k) => Some(k),
            Err(_) if read_only => None,
            Err(e) => return Err(e),
        };
        store.load_erasures()?;
        if !read_only {
            store.build_subject_index()?;
            match (plain, migrating) {
                (true, true) => store.seal_plain_store()?,
                // Sealed by the open before this one, or it would not say 1 any more.
                (true, false) => return Err(StoreError::Schema { found: 1 }),
                _ => {}
            }
        }
        Ok(store)
    }

    /// Holds the configured retention against the policy stored with the data (recording it
    /// on a sealed first open). See [`Store::open_sealed`].
    fn check_policy(
        &mut self,
        configured: &Retention,
        read_only: bool,
        seal: Option<&dyn PolicySeal>,
    ) -> Result<(), StoreError> {
        let meta = self.meta();
        let stored = self.db.get_cf(&meta, meta::POLICY).map_err(read_err)?;
        let sig = self.db.get_cf(&meta, meta::POLICY_SIG).map_err(read_err)?;
        let want = meta::policy_text(configured);
        let Some(stored) = stored else {
            if let (Some(seal), false) = (seal, read_only) {
                let mut batch = rocksdb::WriteBatch::default();
                batch.put_cf(&meta, meta::POLICY, want.as_bytes());
                batch.put_cf(&meta, meta::POLICY_SIG, seal.sign(want.as_bytes()));
                let mut wo = rocksdb::WriteOptions::default();
                wo.set_sync(true);
                self.db.write_opt(batch, &wo).map_err(write_err)?;
            }
            return Ok(());
        };
        if let Some(seal) = seal {
            if !sig.is_some_and(|s| seal.verify(&stored, &s)) {
                return Err(StoreError::RetentionUnsigned(
                    "is not signed by this appliance's key: it was changed outside tdr, or \
                     the store comes from another appliance"
                        .into(),
                ));
            }
        }
        let policy = std::str::from_utf8(&stored)
            .ok()
            .and_then(meta::parse_policy)
            .ok_or_else(|| StoreError::RetentionUnsigned("cannot be read".into()))?;
        if policy != *configured {
            let show = |r: &Retention| meta::policy_text(r).trim_end().replace('\n', ", ");
            return Err(StoreError::RetentionMismatch {
                stored: show(&policy),
                configured: show(configured),
            });
        }
        drop(meta);
        self.retention = policy;
        Ok(())
    }

    /// The retention policy stored with the data: what read paths and expiry hold records
    /// to (a store opened at all has a configuration equal to it).
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// Checks the schema version; `true` for a store written before encryption (schema 1),
    /// which a read-write open then seals ([`Store::seal_plain_store`]).
    fn check_schema(&self, read_only: bool) -> Result<bool, StoreError> {
        let meta = self.meta();
        match self.db.get_cf(&meta, meta::SCHEMA).map_err(read_err)? {
            Some(v) => {
                let found = v.as_slice().try_into().map(u32::from_be_bytes).unwrap_or(0);
                match found {
                    SCHEMA_VERSION => Ok(false),
                    1 if !read_only => Ok(true),
                    _ => Err(StoreError::Schema { found }),
                }
            }
            None if read_only => Ok(false),
            None => self
                .db
                .put_cf(&meta, meta::SCHEMA, SCHEMA_VERSION.to_be_bytes())
                .map(|()| false)
                .map_err(write_err),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn rules(&self) -> Rules {
        self.params.rules
    }

    pub(super) fn meta(&self) -> Arc<BoundColumnFamily<'_>> {
        self.db
            .cf_handle(CF_META)
            .expect("meta family opened at start")
    }

    pub(super) fn live(&self) -> Arc<BoundColumnFamily<'_>> {
        self.db
            .cf_handle(CF_LIVE)
            .expect("live family opened at start")
    }

    /// The handle of a family, `None` for a day partition not created.
    fn handle(&self, family: Family) -> Option<Arc<BoundColumnFamily<'_>>> {
        match family {
            Family::Meta => Some(self.meta()),
            Family::Live => Some(self.live()),
            Family::Day(day) => self.db.cf_handle(&partition_name(day)),
        }
    }

    /// The key of a family's values (`None`: `meta`, which is plain); an error naming the
    /// key when a partition has none.
    pub(super) fn key_of(&self, family: Family) -> Result<Option<Arc<DataKey>>, StoreError> {
        match family {
            Family::Meta => Ok(None),
            _ if self.unsealed => Ok(None),
            Family::Live => Ok(Some(self.live_key.clone())),
            Family::Day(day) => {
                if let Some(k) = self
                    .day_keys
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&day)
                {
                    return Ok(Some(k.clone()));
                }
                let k = self
                    .keys
                    .require(&day_key_name(day))
                    .map_err(StoreError::Key)?;
                self.day_keys
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(day, k.clone());
                Ok(Some(k))
            }
        }
    }

    /// Whether this is a benchmark's (or a migration's) unsealed open.
    #[cfg(any(test, feature = "testkit"))]
    pub(super) fn unsealed_for_tests(&self) -> bool {
        self.unsealed
    }

    /// Forgets the key of `day` held in memory (its partition is being shredded).
    pub(super) fn forget_day_key(&self, day: i64) {
        self.day_keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&day);
    }

    /// Creates the partition of `day` (and its key) if it is not there yet, and returns its
    /// handle.
    pub(super) fn day_handle(&self, day: i64) -> Result<Arc<BoundColumnFamily<'_>>, StoreError> {
        let name = partition_name(day);
        if self.db.cf_handle(&name).is_none() {
            let key = self
                .keys
                .get_or_create(&day_key_name(day))
                .map_err(StoreError::Key)?;
            self.day_keys
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(day, key.clone());
            let sealing = if self.unsealed {
                Sealing::Plain
            } else {
                Sealing::Key(key)
            };
            self.db
                .create_cf(&name, &partition_options(&self.cache, sealing))
                .map_err(write_err)?;
        }
        self.db
            .cf_handle(&name)
            .ok_or_else(|| StoreError::Write(format!("partition {name} vanished")))
    }

    /// Every family's name, as RocksDB lists them.
    pub(super) fn family_names(&self) -> Result<Vec<String>, StoreError> {
        Db::list_cf(&Options::default(), &self.path).map_err(read_err)
    }

    /// What RocksDB holds in memory: memtables and table readers over every family, and the
    /// shared block cache.
    pub fn memory_usage(&self) -> MemoryUsage {
        let mut m = MemoryUsage {
            block_cache: self.cache.get_usage() as u64,
            ..MemoryUsage::default()
        };
        for n in self.family_names().unwrap_or_default() {
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
        for n in self.family_names()? {
            if let Some(cf) = self.db.cf_handle(&n) {
                self.db.flush_cf(&cf).map_err(write_err)?;
                self.db.compact_range_cf(&cf, None::<&[u8]>, None::<&[u8]>);
            }
        }
        Ok(())
    }
}

/// Whether every key from `lower` to `upper` has `lower`'s lookup prefix, so a scan may use
/// the partitions' prefix bloom filters.
fn within_one_prefix(lower: &[u8], upper: &[u8]) -> bool {
    let Some(prefix) = lower.get(..keys::PREFIX_LEN) else {
        return false;
    };
    // `upper` ≤ the first key past the prefix ([`keys::prefix_upper_bound`]), compared
    // without building it.
    match prefix.iter().rposition(|&b| b != 0xff) {
        None => true,
        Some(i) => {
            let past = prefix[..i].iter().copied().chain([prefix[i] + 1]);
            upper.iter().copied().cmp(past) != std::cmp::Ordering::Greater
        }
    }
}

impl Families for Store {
    fn binding_rules(&self) -> Rules {
        self.params.rules
    }

    fn subject_hash(&self, subject: &str) -> Result<Hash16, StoreError> {
        self.subjects
            .as_ref()
            .map(|k| k.hash(subject))
            .ok_or_else(|| {
                StoreError::Read(
                    "the subscriber index key is missing (keys/subject-index.key): the store \
                 was never opened for writing on this appliance"
                        .into(),
                )
            })
    }

    fn erasures(&self) -> Erasures {
        self.erasures.clone()
    }

    fn days(&self) -> Result<Vec<i64>, StoreError> {
        let mut days: Vec<i64> = self
            .family_names()?
            .iter()
            .filter(|n| !self.shredded_open.contains(n))
            .filter_map(|n| partition_day(n))
            .collect();
        days.sort_unstable();
        Ok(days)
    }

    fn get(
        &self,
        family: Family,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StoreError> {
        let Some(cf) = self.handle(family) else {
            return Ok(false);
        };
        match self.db.get_pinned_cf(&cf, key).map_err(read_err)? {
            Some(v) => {
                match self.key_of(family)? {
                    Some(dk) => found(&seal::open(&dk, key, &v, &|| family_label(family))?),
                    None => found(&v),
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn scan(
        &self,
        family: Family,
        lower: &[u8],
        upper: Option<&[u8]>,
        visit: &mut Visit<'_>,
    ) -> Result<(), StoreError> {
        let Some(cf) = self.handle(family) else {
            return Ok(());
        };
        let mut ro = ReadOptions::default();
        match upper {
            // A lookup's range within one prefix: the prefix bloom filters skip the files
            // without it.
            Some(u) if family != Family::Meta && within_one_prefix(lower, u) => {
                ro.set_prefix_same_as_start(true)
            }
            _ => ro.set_total_order_seek(true),
        }
        if let Some(u) = upper {
            ro.set_iterate_upper_bound(u.to_vec());
        }
        let dk = self.key_of(family)?;
        let it = self
            .db
            .iterator_cf_opt(&cf, ro, IteratorMode::From(lower, Direction::Forward));
        for item in it {
            let (k, v) = item.map_err(read_err)?;
            let go = match &dk {
                Some(dk) => visit(&k, &seal::open(dk, &k, &v, &|| family_label(family))?)?,
                None => visit(&k, &v)?,
            };
            if !go {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[test]
fn a_lookup_range_is_within_one_prefix() {
    let public: std::net::Ipv6Addr = "::ffff:203.0.113.5".parse().unwrap();
    let p = keys::nat_prefix(public);
    let (lower, upper) = keys::nat_port_range(public, 1, 65535);
    assert!(within_one_prefix(&lower, &upper));
    assert!(within_one_prefix(&p, &keys::prefix_upper_bound(&p)));
    let mut beyond = keys::prefix_upper_bound(&p);
    beyond.push(0);
    assert!(!within_one_prefix(&p, &beyond));
    assert!(!within_one_prefix(
        &p[..5],
        &keys::prefix_upper_bound(&p[..5])
    ));
}

/// The schema version a store at `path` records (`None`: no store yet, or none recorded),
/// read through a read-only open.
fn stored_schema(path: &Path) -> Result<Option<u32>, StoreError> {
    if !path.join("CURRENT").exists() {
        return Ok(None);
    }
    let names = Db::list_cf(&Options::default(), path).map_err(read_err)?;
    if !names.iter().any(|n| n == CF_META) {
        return Ok(None);
    }
    let cfs = names
        .iter()
        .map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
    let db =
        Db::open_cf_descriptors_read_only(&Options::default(), path, cfs, false).map_err(|e| {
            StoreError::Open {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
    let meta = db
        .cf_handle(CF_META)
        .ok_or_else(|| StoreError::Read("no meta family".into()))?;
    Ok(db
        .get_cf(&meta, meta::SCHEMA)
        .map_err(read_err)?
        .and_then(|v| v.as_slice().try_into().ok().map(u32::from_be_bytes)))
}

/// A family as errors name it.
pub(super) fn family_label(family: Family) -> String {
    match family {
        Family::Meta => CF_META.into(),
        Family::Live => CF_LIVE.into(),
        Family::Day(d) => format!("partition {}", partition_name(d)),
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
