//! A store in a temporary directory, fed with events in the neutral format, and lookups on it.

use std::path::Path;

use tdr::config::Config;
use tdr::model::{parse_time, Class};
use tdr::parse::format::events::parse_line;
use tdr::store::lookup::{Answer, Attributor, Scope};
use tdr::store::Store;

/// Every data class: lookups that may read everything.
pub const ALL: &[Class] = &[Class::Security, Class::Billing, Class::Statutory];

/// Unix seconds of an RFC 3339 time.
pub fn t(s: &str) -> i64 {
    parse_time(s).unwrap()
}

/// The default configuration on data directory `dir`, without fsync per batch.
pub fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        sync_writes: false,
        ..Config::default()
    }
}

/// An empty store in a new temporary directory, with its configuration ([`config`]).
pub fn empty_store() -> (tempfile::TempDir, Config, Store) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let store = Store::open(&cfg).unwrap();
    (dir, cfg, store)
}

/// A store in a new temporary directory with `lines` applied and committed in one batch.
pub fn store_with(lines: &[String]) -> (tempfile::TempDir, Config, Store) {
    let (dir, cfg, mut store) = empty_store();
    feed(&mut store, lines);
    (dir, cfg, store)
}

/// Applies event lines (JSON) and commits them in one batch.
pub fn feed(store: &mut Store, lines: &[String]) {
    store.open_engine().unwrap();
    for l in lines {
        let ev = parse_line(l.as_bytes(), "test").unwrap_or_else(|e| panic!("{e}: {l}"));
        store.engine_mut().apply(&ev);
    }
    store.commit(None, i64::MIN / 2).unwrap();
}

/// Looks `addr` (and `port`) up at `at` as of `now`, reading every class.
pub fn lookup(
    store: &Store,
    cfg: &Config,
    addr: &str,
    port: Option<u16>,
    at: &str,
    now: i64,
) -> Answer {
    lookup_classes(store, cfg, addr, port, at, now, ALL)
}

/// Looks `addr` (and `port`) up at `at` as of `now`, reading `classes` only.
pub fn lookup_classes(
    store: &Store,
    cfg: &Config,
    addr: &str,
    port: Option<u16>,
    at: &str,
    now: i64,
    classes: &[Class],
) -> Answer {
    let scope = Scope::new(cfg, classes, now);
    Attributor { store, cfg }
        .lookup(addr.parse().unwrap(), port, t(at), &scope)
        .unwrap()
}
