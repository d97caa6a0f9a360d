//! The subscriber index and erasure on RocksDB: a subscriber's bindings come from the index
//! (keyed by a keyed hash, no clear identifier) exactly as the logs gave them — live ones,
//! final ones, copies across midnight — and an erasure deletes the own-purpose ones, leaves
//! statutory and held data, and nothing brings them back: not late events, not a re-import
//! of the same logs, not a restart.

use tdr::model::Class;
use tdr::store::lookup::Scope;
use tdr::store::{Erasure, Store, StoreErase, StoreRead};
use tdr_testkit::ev::*;
use tdr_testkit::store::*;

fn now() -> i64 {
    t("2026-12-01T00:00:00Z")
}

/// (target, start, class) of each binding the index gives for `who`.
fn held(store: &Store, cfg: &tdr::config::Config, who: &str) -> Vec<(String, String, String)> {
    let scope = Scope::new(cfg, &Class::ALL, now());
    store
        .bindings_of(who, &scope)
        .unwrap()
        .into_iter()
        .map(|b| {
            (
                b["target"].as_str().unwrap().to_string(),
                b["start"].as_str().unwrap().to_string(),
                b["class"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn alice_and_bob() -> Vec<String> {
    vec![
        // Across midnight: final copies in two partitions, one binding.
        session_class(
            "start",
            "2026-11-10T23:00:00Z",
            "alice",
            "a1",
            "192.0.2.1",
            "security",
        ),
        session_class(
            "stop",
            "2026-11-11T01:00:00Z",
            "alice",
            "a1",
            "192.0.2.1",
            "security",
        ),
        session_class(
            "start",
            "2026-11-12T10:00:00Z",
            "alice",
            "a2",
            "192.0.2.2",
            "billing",
        ),
        session_class(
            "stop",
            "2026-11-12T11:00:00Z",
            "alice",
            "a2",
            "192.0.2.2",
            "billing",
        ),
        session_class(
            "start",
            "2026-11-13T10:00:00Z",
            "alice",
            "a3",
            "192.0.2.3",
            "statutory",
        ),
        session_class(
            "stop",
            "2026-11-13T11:00:00Z",
            "alice",
            "a3",
            "192.0.2.3",
            "statutory",
        ),
        // Under a preservation hold (below).
        session_class(
            "start",
            "2026-11-14T10:00:00Z",
            "alice",
            "a4",
            "192.0.2.4",
            "security",
        ),
        session_class(
            "stop",
            "2026-11-14T11:00:00Z",
            "alice",
            "a4",
            "192.0.2.4",
            "security",
        ),
        session("start", "2026-11-12T10:00:00Z", "bob", "b1", "192.0.2.9"),
        session("stop", "2026-11-12T12:00:00Z", "bob", "b1", "192.0.2.9"),
        // Still open: a live binding.
        session_class(
            "start",
            "2026-11-30T20:00:00Z",
            "alice",
            "a5",
            "192.0.2.5",
            "security",
        ),
        cdr(
            "2026-11-12",
            "09:00:00",
            "09:01:00",
            "+46701234567",
            "+46812345678",
            "billing",
        ),
        cdr(
            "2026-11-13",
            "09:00:00",
            "09:01:00",
            "+46701234567",
            "+46812345678",
            "statutory",
        ),
        tick("2026-11-30T21:00:00Z"),
    ]
}

#[test]
fn the_index_gives_a_subscribers_bindings_live_and_final_and_holds_no_clear_id() {
    let (_dir, cfg, store) = store_with(&alice_and_bob());
    let alice = held(&store, &cfg, "alice");
    let starts: Vec<&str> = alice.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(
        starts,
        [
            "2026-11-10T23:00:00Z",
            "2026-11-12T10:00:00Z",
            "2026-11-13T10:00:00Z",
            "2026-11-14T10:00:00Z",
            "2026-11-30T20:00:00Z"
        ],
        "once each, the one across midnight too, the live one too"
    );
    assert_eq!(alice[0].0, "192.0.2.1");
    assert_eq!(alice[2].2, "statutory");
    assert_eq!(held(&store, &cfg, "bob").len(), 1);
    assert!(held(&store, &cfg, "carol").is_empty());
    // A prefix of a subscriber id is another subscriber, not a match.
    assert!(held(&store, &cfg, "alic").is_empty());
    // Index entries name nobody: their keys hold a keyed hash.
    let index: Vec<_> = store
        .raw_dump_for_tests()
        .unwrap()
        .into_iter()
        .filter(|(_, k, _)| k.first() == Some(&tdr::store::subject::TAG_INDEX))
        .collect();
    assert!(index.len() >= 6, "{}", index.len());
    for (_, k, v) in &index {
        assert!(!k.windows(5).any(|w| w == b"alice"));
        assert!(v.is_empty());
    }
}

#[test]
fn an_erasure_leaves_statutory_and_held_data_and_survives_reimport_late_data_and_restart() {
    let lines = alice_and_bob();
    let (dir, cfg, mut store) = store_with(&lines);
    let hold = (t("2026-11-14T00:00:00Z"), t("2026-11-14T23:59:59Z"));
    let erasure = Erasure {
        subject: "alice".into(),
        numbers: vec!["+46 70 123 45 67".into()],
        classes: vec![Class::Security, Class::Billing],
        up_to: t("2026-12-01T00:00:00Z"),
        holds: vec![hold],
    };
    let done = store.erase(&erasure).unwrap();
    assert_eq!(done.bindings, 3, "{done:?}"); // a1 (two copies), a2, a5 (live)
    assert_eq!(done.copies, 4, "{done:?}");
    assert_eq!(done.calls, 1, "{done:?}");
    assert_eq!(
        done.kept.get("class"),
        Some(&2),
        "the statutory session and call"
    );
    assert_eq!(done.kept.get("held"), Some(&1));
    assert_eq!(done.digest.len(), 64);
    assert!(done.partitions.contains("d20261110") && done.partitions.contains("d20261111"));

    let left = |store: &Store| -> Vec<String> {
        held(store, &cfg, "alice")
            .into_iter()
            .map(|(_, s, c)| format!("{s} {c}"))
            .collect()
    };
    let expect = [
        "2026-11-13T10:00:00Z statutory",
        "2026-11-14T10:00:00Z security",
    ];
    assert_eq!(left(&store), expect);
    assert_eq!(held(&store, &cfg, "bob").len(), 1, "nobody else's data");
    let calls = |store: &Store| {
        store
            .cdrs("+46701234567", t("2026-11-01T00:00:00Z"), now())
            .unwrap()
    };
    assert_eq!(calls(&store).len(), 1);
    assert_eq!(calls(&store)[0].class, Class::Statutory);
    // Attribution no longer finds the erased binding: its records are gone.
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.2",
        None,
        "2026-11-12T10:30:00Z",
        now(),
    );
    assert_ne!(a.status, tdr::store::lookup::Status::Found);

    // The same logs again (a re-import under another name), and late events for the live
    // session (its interim and stop): nothing comes back, not in the index, not on disk.
    feed(&mut store, &lines);
    feed(
        &mut store,
        &[
            session_class(
                "interim",
                "2026-11-30T22:00:00Z",
                "alice",
                "a5",
                "192.0.2.5",
                "security",
            ),
            session_class(
                "stop",
                "2026-11-30T23:00:00Z",
                "alice",
                "a5",
                "192.0.2.5",
                "security",
            ),
            tick("2026-12-01T06:00:00Z"),
        ],
    );
    assert_eq!(left(&store), expect);
    assert_eq!(calls(&store).len(), 1);
    let raw_with = |store: &Store, addr: &str| {
        let ip: std::net::Ipv6Addr = format!("::ffff:{addr}").parse().unwrap();
        store
            .raw_dump_for_tests()
            .unwrap()
            .into_iter()
            .filter(|(_, k, _)| k.len() > 17 && k[0] == b'B' && k[1..17] == ip.octets())
            .count()
    };
    assert_eq!(raw_with(&store, "192.0.2.2"), 0, "erased billing session");
    assert_eq!(
        raw_with(&store, "192.0.2.5"),
        0,
        "erased live session, then its stop"
    );
    assert!(raw_with(&store, "192.0.2.3") > 0, "statutory stays");

    // After a restart the erasure still holds back the same logs.
    drop(store);
    let mut store = Store::open(&cfg).unwrap();
    feed(&mut store, &lines);
    assert_eq!(left(&store), expect);
    assert_eq!(raw_with(&store, "192.0.2.1"), 0);
    // Data that starts after the erasure is kept: it was not part of it.
    feed(
        &mut store,
        &[
            session_class(
                "start",
                "2026-12-01T08:00:00Z",
                "alice",
                "a6",
                "192.0.2.6",
                "security",
            ),
            session_class(
                "stop",
                "2026-12-01T09:00:00Z",
                "alice",
                "a6",
                "192.0.2.6",
                "security",
            ),
        ],
    );
    assert_eq!(left(&store).len(), 3);
    drop(dir);
}

#[test]
fn the_housekeeping_sweep_removes_a_straggler_and_prunes_tombstones_past_retention() {
    let (_dir, cfg, store) = store_with(&alice_and_bob());
    let erasure = Erasure {
        subject: "bob".into(),
        numbers: vec![],
        classes: vec![Class::Security, Class::Billing],
        up_to: t("2026-11-20T00:00:00Z"),
        holds: vec![],
    };
    assert_eq!(store.erase(&erasure).unwrap().bindings, 1);
    // A sweep finds nothing more; tombstones stay while data of their time may come back.
    assert_eq!(store.sweep_erasures(t("2026-06-01T00:00:00Z")).unwrap(), 0);
    assert!(!store.erasures_for_tests().is_empty());
    assert!(held(&store, &cfg, "bob").is_empty());
    // Past retention of everything the tombstone covers, it goes.
    store.sweep_erasures(t("2026-11-21T00:00:00Z")).unwrap();
    assert!(store.erasures_for_tests().is_empty());
}
