//! An in-memory store for tests: the same families as RocksDB, as ordered maps, filled through
//! the same write path (the engine's prepared batches, merged with the same merge functions),
//! and read through the same [`StoreRead`] paths — so the same events give the same answers,
//! without a disk. Built only for tests and with the `testkit` feature; never a product mode.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::batch::{Op, Ops};
use super::binding::Rules;
use super::engine::{Applied, Engine, Params, Subjects};
use super::keys::partition_name;
use super::read::Visit;
use super::subject::{Erasures, Hash16, SubjectKey};
use super::testkit::{logical_dump, RawRecord};
use super::{merge, meta, Families, Family, Prepared, StoreError, SCHEMA_VERSION};
use crate::config::Config;
use crate::model::{Event, UnixSecs};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

pub struct MemStore {
    params: Params,
    meta: Map,
    live: Map,
    days: BTreeMap<i64, Map>,
    engine: Option<Engine>,
    subjects: SubjectKey,
    erasures: Erasures,
}

impl MemStore {
    /// An empty store with `cfg`'s engine settings.
    pub fn new(cfg: &Config) -> MemStore {
        let params = Params::from_config(cfg);
        // What opening a new RocksDB store writes first.
        let schema = (meta::SCHEMA.to_vec(), SCHEMA_VERSION.to_be_bytes().to_vec());
        let indexed = (meta::SUBJECT_INDEX.to_vec(), b"1".to_vec());
        // The data directory's key when a RocksDB store made one there (so both give the
        // same bytes), else a fixed one: this store is for tests only.
        let subjects = crate::keyring::KeyStore::open(&cfg.data_dir, false)
            .ok()
            .and_then(|keys| SubjectKey::load(&cfg.data_dir, &keys, false).ok())
            .unwrap_or_else(|| SubjectKey::from_bytes(&[0x5a; 32]));
        let erasures = Erasures::default();
        let mut engine = Engine::new(params);
        engine.set_subjects(Subjects {
            key: subjects.clone(),
            erasures: erasures.clone(),
        });
        MemStore {
            params,
            meta: Map::from([schema, indexed]),
            live: Map::new(),
            days: BTreeMap::new(),
            engine: Some(engine),
            subjects,
            erasures,
        }
    }

    /// Applies `events` and commits them as one batch, as an import does.
    pub fn import(&mut self, events: &[Event], retention_floor: UnixSecs) -> Vec<Applied> {
        let mut engine = self.engine.take().expect("engine kept between batches");
        let applied = events.iter().map(|ev| engine.apply(ev)).collect();
        let prepared = Prepared::collect(self, &mut engine, &[], retention_floor);
        self.write(prepared);
        self.engine = Some(engine);
        applied
    }

    /// Writes a prepared batch, as [`super::Store::write`] does.
    pub fn write(&mut self, p: Prepared) {
        apply(&mut self.meta, &p.meta, MergeFn::Bitmaps);
        apply(&mut self.live, &p.live, MergeFn::Facts);
        for (day, ops) in &p.parts {
            apply(self.days.entry(*day).or_default(), ops, MergeFn::Facts);
        }
    }

    /// Every record of every family, sorted by family name, then key (as
    /// [`super::Store::raw_dump_for_tests`]).
    pub fn raw_dump_for_tests(&self) -> Vec<RawRecord> {
        let named = |name: &str, map: &Map| -> Vec<RawRecord> {
            map.iter()
                .map(|(k, v)| (name.to_string(), k.clone(), v.clone()))
                .collect()
        };
        let mut out: Vec<RawRecord> = Vec::new();
        for (day, map) in &self.days {
            out.extend(named(&partition_name(*day), map));
        }
        out.extend(named(super::db::CF_LIVE, &self.live));
        out.extend(named(super::db::CF_META, &self.meta));
        out
    }

    /// What the store knows, as [`super::Store::logical_dump_for_tests`].
    pub fn logical_dump_for_tests(&self) -> Result<Vec<String>, StoreError> {
        Ok(logical_dump(
            self.raw_dump_for_tests(),
            meta::frame_counts(self)?,
        ))
    }

    fn family(&self, family: Family) -> Option<&Map> {
        match family {
            Family::Meta => Some(&self.meta),
            Family::Live => Some(&self.live),
            Family::Day(day) => self.days.get(&day),
        }
    }
}

#[derive(Clone, Copy)]
enum MergeFn {
    Bitmaps,
    Facts,
}

/// Applies a family's writes in order; a merge is applied at once with the family's merge
/// function (which is associative, as RocksDB is told).
fn apply(map: &mut Map, ops: &Ops, merge_fn: MergeFn) {
    for op in ops.iter() {
        match op {
            Op::Put(k, v) => {
                map.insert(k.to_vec(), v.to_vec());
            }
            Op::Delete(k) => {
                map.remove(k);
            }
            Op::Merge(k, v) => {
                let existing = map.get(k).map(Vec::as_slice);
                let merged = match merge_fn {
                    MergeFn::Bitmaps => Some(merge::or_bitmaps(existing, [v])),
                    MergeFn::Facts => merge::facts(k, existing, [v]),
                };
                match merged {
                    Some(m) => map.insert(k.to_vec(), m),
                    None => map.remove(k),
                };
            }
        }
    }
}

impl Families for MemStore {
    fn binding_rules(&self) -> Rules {
        self.params.rules
    }

    fn subject_hash(&self, subject: &str) -> Result<Hash16, StoreError> {
        Ok(self.subjects.hash(subject))
    }

    fn erasures(&self) -> Erasures {
        self.erasures.clone()
    }

    fn days(&self) -> Result<Vec<i64>, StoreError> {
        Ok(self.days.keys().copied().collect())
    }

    fn get(
        &self,
        family: Family,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StoreError> {
        match self.family(family).and_then(|m| m.get(key)) {
            Some(v) => {
                found(v);
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
        let Some(map) = self.family(family) else {
            return Ok(());
        };
        if upper.is_some_and(|u| u <= lower) {
            return Ok(());
        }
        let range = (
            Bound::Included(lower),
            upper.map_or(Bound::Unbounded, Bound::Excluded),
        );
        for (k, v) in map.range::<[u8], _>(range) {
            if !visit(k, v)? {
                break;
            }
        }
        Ok(())
    }
}

/// The in-memory store is for tests of the logic above the store; erasure is tested on
/// RocksDB, whose deletes and merges it is about.
impl super::StoreErase for MemStore {
    fn erase(&self, _: &super::Erasure) -> Result<super::Erased, StoreError> {
        Err(StoreError::Write(
            "the in-memory test store does not erase".into(),
        ))
    }
}

impl super::StoreCopy for MemStore {
    fn checkpoint(
        &self,
        _to: &std::path::Path,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        Err(StoreError::Write(
            "the in-memory test store cannot be backed up".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Class, LeaseOp, NatOp, SessionOp, Target};
    use crate::store::engine::tests::session;
    use crate::store::lookup::{Attributor, Scope};
    use crate::store::{Store, StoreRead};

    const T0: i64 = 1_795_219_200; // 2026-11-21T00:00:00Z

    fn lease(op: LeaseOp, t: i64, sub: &str, addr: &str, expires: Option<i64>) -> Event {
        Event::Lease {
            admin: false,
            ends_logged: false,
            op,
            time: t,
            subscriber: sub.into(),
            target: Target::host(addr.parse().unwrap()),
            expires,
            source: "dhcp".into(),
            class: Class::Security,
        }
    }

    fn nat(op: NatOp, t: i64, inside: &str, ports: (u16, u16)) -> Event {
        Event::NatBlock {
            op,
            time: t,
            inside: inside.parse().unwrap(),
            public: "203.0.113.5".parse().unwrap(),
            ports,
            source: "cgnat".into(),
            class: Class::Security,
        }
    }

    /// Two days of sessions, leases and CGNAT blocks, in three batches (the middle one late).
    fn batches() -> Vec<Vec<Event>> {
        let h = 3600;
        vec![
            vec![
                session(SessionOp::Start, T0 + h, "alice", "s1", "198.51.100.1"),
                session(
                    SessionOp::Interim,
                    T0 + 2 * h,
                    "alice",
                    "s1",
                    "198.51.100.1",
                ),
                session(SessionOp::Stop, T0 + 3 * h, "alice", "s1", "198.51.100.1"),
                session(SessionOp::Start, T0 + 4 * h, "bob", "s2", "198.51.100.1"),
                lease(
                    LeaseOp::Assign,
                    T0 + h,
                    "cpe-1",
                    "100.64.0.1",
                    Some(T0 + 5 * h),
                ),
                lease(
                    LeaseOp::Assign,
                    T0 + h,
                    "cpe-2",
                    "100.64.0.2",
                    Some(T0 + 5 * h),
                ),
                nat(NatOp::Alloc, T0 + h, "100.64.0.1", (1024, 2047)),
                nat(NatOp::Alloc, T0 + h, "100.64.0.2", (2048, 3071)),
            ],
            vec![
                lease(LeaseOp::Release, T0 + 3 * h, "cpe-1", "100.64.0.1", None),
                nat(NatOp::Release, T0 + 3 * h, "100.64.0.1", (1024, 2047)),
            ],
            vec![
                session(SessionOp::Stop, T0 + 30 * h, "bob", "s2", "198.51.100.1"),
                lease(
                    LeaseOp::Renew,
                    T0 + 30 * h,
                    "cpe-2",
                    "100.64.0.2",
                    Some(T0 + 40 * h),
                ),
                session(SessionOp::Start, T0 + 50 * h, "carol", "s3", "198.51.100.9"),
            ],
        ]
    }

    fn lookups(store: &dyn StoreRead, cfg: &Config) -> Vec<String> {
        let scope = Scope::new(cfg, &Class::ALL, T0 + 60 * 3600);
        let attr = Attributor { store, cfg };
        let h = 3600;
        let asks: [(&str, Option<u16>, i64); 11] = [
            ("198.51.100.1", None, T0 + 2 * h),       // alice's session
            ("198.51.100.1", None, T0 + 10 * h),      // bob's session
            ("198.51.100.1", None, T0 + 3 * h + 900), // between the two
            ("100.64.0.2", None, T0 + 2 * h),         // a lease
            ("203.0.113.5", None, T0 + 2 * h),        // CGNAT without a port
            ("203.0.113.5", Some(1500), T0 + 2 * h),  // CGNAT with a port: cpe-1
            ("203.0.113.5", Some(2500), T0 + 20 * h), // cpe-2
            ("203.0.113.5", Some(1500), T0 + 4 * h),  // released block
            ("100.64.0.2", None, T0 + 20 * h),        // a lease run out, renewed late
            ("198.51.100.77", None, T0 + 2 * h),      // nobody
            ("198.51.100.1", None, T0 - 90 * 86_400), // before anything
        ];
        asks.iter()
            .map(|(a, port, at)| {
                let ans = attr.lookup(a.parse().unwrap(), *port, *at, &scope).unwrap();
                serde_json::to_string(&ans.to_json(serde_json::json!([a, port, at]))).unwrap()
            })
            .collect()
    }

    #[test]
    fn memory_and_rocksdb_give_the_same_answers_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        cfg.sync_writes = false;
        let mut disk = Store::open(&cfg).unwrap();
        disk.open_engine().unwrap();
        let mut mem = MemStore::new(&cfg);
        for batch in batches() {
            for ev in &batch {
                disk.engine_mut().apply(ev);
            }
            disk.commit(None, 0).unwrap();
            mem.import(&batch, 0);
        }
        let on_disk = lookups(&disk, &cfg);
        assert_eq!(on_disk, lookups(&mem, &cfg));
        let statuses: Vec<&str> = on_disk
            .iter()
            .map(|a| {
                a.split("\"status\":\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .collect();
        assert!(statuses.contains(&"found"), "{statuses:?}");
        assert!(statuses.contains(&"port_required"), "{statuses:?}");
        assert!(statuses.contains(&"not_found"), "{statuses:?}");
        assert!(statuses.contains(&"inside_unknown"), "{statuses:?}");
        assert_eq!(statuses[3], "found", "the lease");
        assert_eq!(statuses[5], "found", "CGNAT with a port");
        assert_eq!(disk.raw_dump_for_tests().unwrap(), mem.raw_dump_for_tests());
        assert_eq!(
            disk.logical_dump_for_tests().unwrap(),
            mem.logical_dump_for_tests().unwrap()
        );
        assert_eq!(
            disk.partitions().unwrap(),
            StoreRead::partitions(&mem).unwrap()
        );
    }
}
