//! The upgrade from the version before encryption, on real RocksDB: a plain store (schema 1,
//! numbers in clear in CDR keys, no day keys) is sealed once on its first read-write open,
//! then answers exactly as before with nothing in clear left on disk.

use tdr::store::lookup::Status;
use tdr::store::{Store, StoreRead};
use tdr_testkit::ev::*;
use tdr_testkit::store::*;

fn clear_in(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn a_plain_store_of_the_version_before_is_sealed_once_and_answers_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut store = Store::open_unsealed_for_bench(&cfg).unwrap();
    feed(
        &mut store,
        &[
            session(
                "start",
                "2026-05-10T10:00:00Z",
                "alice-4711",
                "s1",
                "192.0.2.1",
            ),
            session(
                "stop",
                "2026-05-10T11:00:00Z",
                "alice-4711",
                "s1",
                "192.0.2.1",
            ),
            cdr(
                "2026-05-10",
                "10:00:00",
                "10:01:00",
                "+46701112233",
                "+46709998877",
                "billing",
            ),
            session(
                "start",
                "2026-05-12T10:00:00Z",
                "bob-0815",
                "s2",
                "192.0.2.2",
            ),
            tick("2026-05-12T12:00:00Z"),
        ],
    );
    store.compact().unwrap();
    store.downgrade_to_schema_1_for_tests().unwrap();
    // What the version before left on disk: ids and numbers in clear.
    let store_dir = dir.path().join("store");
    assert!(!clear_in(&store_dir, b"alice-4711").is_empty());
    assert!(!clear_in(&store_dir, b"+46701112233").is_empty());
    // A read-only open does not read it as sealed; the first read-write open seals it.
    assert!(Store::open_read_only(&cfg).is_err());
    let store = Store::open(&cfg).unwrap();
    let now = t("2026-05-12T13:00:00Z");
    let a = lookup(&store, &cfg, "192.0.2.1", None, "2026-05-10T10:30:00Z", now);
    assert_eq!(a.status, Status::Found, "{a:?}");
    assert_eq!(a.matches[0].subscriber, "alice-4711");
    let live = lookup(&store, &cfg, "192.0.2.2", None, "2026-05-12T11:00:00Z", now);
    // The live session (no interim yet): its holder, with the end inferred as before.
    assert_eq!(live.status, Status::EndInferred, "{live:?}");
    assert_eq!(live.matches[0].subscriber, "bob-0815");
    let calls = store
        .cdrs(
            "+46709998877",
            t("2026-05-10T00:00:00Z"),
            t("2026-05-11T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(calls.len(), 1);
    let bindings = store
        .bindings_of(
            "alice-4711",
            &tdr::store::lookup::Scope::new(&cfg, ALL, now),
        )
        .unwrap();
    assert_eq!(bindings.len(), 1, "{bindings:?}");
    store.compact().unwrap();
    drop(store);
    // Nothing in clear any more, and it opens again as a sealed store.
    for needle in ["alice-4711", "bob-0815", "+46701112233", "+46709998877"] {
        let found = clear_in(&store_dir, needle.as_bytes());
        assert!(found.is_empty(), "{needle} in {found:?}");
    }
    let store = Store::open(&cfg).unwrap();
    let again = lookup(&store, &cfg, "192.0.2.1", None, "2026-05-10T10:30:00Z", now);
    assert_eq!(again.matches[0].subscriber, "alice-4711");
}
