//! Hard TTL with a fake clock: read-time enforcement at the exact boundary, partition drops
//! only once a whole day is past retention, and an audit entry for every drop.

use std::sync::Arc;

use tdr::audit::{self, AuditLog};
use tdr::clock::{Clock, FixedClock};
use tdr::config::Period;
use tdr::store::lookup::Status;
use tdr::store::retention;
use tdr::store::Store;
use tdr_testkit::ev::*;
use tdr_testkit::store::*;

#[test]
fn a_record_past_retention_is_never_returned_and_its_day_is_dropped_and_audited() {
    let (dir, cfg, store) = store_with(&[
        session("start", "2026-05-10T10:00:00Z", "alice", "s1", "192.0.2.1"),
        session("stop", "2026-05-10T11:00:00Z", "alice", "s1", "192.0.2.1"),
        session("start", "2026-05-11T10:00:00Z", "bob", "s2", "192.0.2.2"),
        session("stop", "2026-05-11T11:00:00Z", "bob", "s2", "192.0.2.2"),
        tick("2026-05-12T12:00:00Z"),
    ]);
    let at = "2026-05-10T10:30:00Z";
    // Six calendar months after `at`, the record is still inside retention…
    let edge = t("2026-11-10T10:30:00Z");
    let a = lookup(&store, &cfg, "192.0.2.1", None, at, edge);
    assert_eq!(a.status, Status::Found);
    // …one second later it is gone for every purpose, whether dropped or not.
    let b = lookup(&store, &cfg, "192.0.2.1", None, at, edge + 1);
    assert_eq!(b.status, Status::OutsideRetention);
    assert!(b.matches.is_empty());

    // Physical deletion: at edge+1 the day 2026-05-10 still has records inside retention
    // (10:30:01 … 23:59:59), so it stays; it goes once the whole day is past.
    let clock = Arc::new(FixedClock::new(edge + 1));
    let mut log = AuditLog::open(dir.path(), clock.clone()).unwrap();
    let dropped = retention::expire(&store, &mut log, &cfg, clock.now(), "test", &[]).unwrap();
    assert!(dropped.is_empty(), "{dropped:?}");
    clock.set(t("2026-11-11T00:00:00Z"));
    let dropped = retention::expire(&store, &mut log, &cfg, clock.now(), "test", &[]).unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].name, "d20260510");
    assert_eq!(dropped[0].records, 1);
    let days = store.partitions().unwrap();
    assert!(!days.contains(&tdr::model::day_of(t(at))));
    assert!(days.contains(&tdr::model::day_of(t("2026-05-11T10:00:00Z"))));
    // Bob's day is untouched and still answers.
    let c = lookup(
        &store,
        &cfg,
        "192.0.2.2",
        None,
        "2026-05-11T10:30:00Z",
        clock.now(),
    );
    assert_eq!(c.status, Status::Found);
    // The drop is in the audit log with partition, range and count, and the log verifies.
    log.checkpoint().unwrap();
    drop(log);
    let text = std::fs::read_to_string(dir.path().join("audit/audit-000001.log")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(entry["action"], "partition_drop");
    assert_eq!(entry["query"]["partition"], "d20260510");
    assert_eq!(entry["query"]["from"], "2026-05-10T00:00:00Z");
    assert_eq!(entry["query"]["to"], "2026-05-11T00:00:00Z");
    assert_eq!(entry["result_count"], 1);
    assert!(audit::verify(dir.path()).is_ok());
}

#[test]
fn per_class_retention_is_enforced_at_read_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.retention.billing = Period::Days(30);
    let mut store = Store::open(&cfg).unwrap();
    feed(
        &mut store,
        &[
            session_class(
                "start",
                "2026-10-01T10:00:00Z",
                "carol",
                "s1",
                "192.0.2.3",
                "billing",
            ),
            session_class(
                "stop",
                "2026-10-01T11:00:00Z",
                "carol",
                "s1",
                "192.0.2.3",
                "billing",
            ),
            tick("2026-10-02T12:00:00Z"),
        ],
    );
    let at = "2026-10-01T10:30:00Z";
    let inside = lookup(
        &store,
        &cfg,
        "192.0.2.3",
        None,
        at,
        t("2026-10-20T00:00:00Z"),
    );
    assert_eq!(inside.status, Status::Found);
    // 30 days later the billing record is gone, though other classes would still be kept.
    let later = lookup(
        &store,
        &cfg,
        "192.0.2.3",
        None,
        at,
        t("2026-11-05T00:00:00Z"),
    );
    assert!(later.matches.is_empty());
    assert_ne!(later.status, Status::Found);
}

#[test]
fn import_refuses_events_already_past_retention() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut store = Store::open(&cfg).unwrap();
    let file = dir.path().join("old.jsonl");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            session("start", "2025-01-01T10:00:00Z", "old", "s1", "192.0.2.9"),
            session("start", "2026-11-20T10:00:00Z", "new", "s2", "192.0.2.9"),
        ),
    )
    .unwrap();
    let clock = FixedClock::new(t("2026-11-21T00:00:00Z"));
    let mut imp = tdr::ingest::import::Importer::new(&mut store, &cfg, &clock).unwrap();
    let s = imp
        .import_file(&file, tdr::parse::Format::Events, "test")
        .unwrap();
    assert_eq!((s.accepted, s.expired), (1, 1));
}

/// A preservation order (RB 27 kap. 16 a §) keeps the partitions around its items past their
/// retention until its date, and law enforcement may read them meanwhile; once the date has
/// passed they are dropped like any other.
#[test]
fn a_preservation_hold_keeps_its_days_until_its_date() {
    use tdr::legal::case::{Case, NewCase, ScopeItem, State};
    let (dir, cfg, store) = store_with(&[
        session("start", "2026-05-10T10:00:00Z", "alice", "s1", "192.0.2.1"),
        session("stop", "2026-05-10T11:00:00Z", "alice", "s1", "192.0.2.1"),
        tick("2026-05-12T12:00:00Z"),
    ]);
    let at = "2026-05-10T10:30:00Z";
    let hold = |state: State| {
        let request = NewCase {
            request_type: "preservation".into(),
            authority: "Åklagarmyndigheten".into(),
            case_number: "AM-1-26".into(),
            decision_date: Some("2026-11-01".into()),
            order_sha256: "cd".repeat(32),
            scope: vec![ScopeItem {
                addr: Some("192.0.2.1".into()),
                at: Some(at.into()),
                ..ScopeItem::default()
            }],
            preserve_until: Some("2026-12-31".into()),
            ..NewCase::default()
        };
        assert!(request.validate().is_ok());
        tdr::legal::register::create(dir.path(), 2026, |id| {
            let mut c = Case::registered(id, request, "anna", 0);
            c.state = state;
            c
        })
        .unwrap()
    };
    // A registered (unapproved) order holds nothing.
    hold(State::Registered);
    let now = t("2026-11-20T00:00:00Z");
    assert!(tdr::legal::holds(dir.path(), now).unwrap().is_empty());
    hold(State::Approved);
    let held = tdr::legal::holds(dir.path(), now).unwrap();
    assert_eq!(held.len(), 1);

    let clock = Arc::new(FixedClock::new(now));
    let mut log = AuditLog::open(dir.path(), clock.clone()).unwrap();
    let dropped = retention::expire(&store, &mut log, &cfg, now, "test", &held).unwrap();
    assert!(dropped.is_empty(), "held: {dropped:?}");
    assert!(store
        .partitions()
        .unwrap()
        .contains(&tdr::model::day_of(t(at))));
    // Past retention, the held time answers for law enforcement only.
    assert_eq!(
        lookup(&store, &cfg, "192.0.2.1", None, at, now).status,
        Status::OutsideRetention
    );
    let mut scope = tdr::store::lookup::Scope::new(&cfg, ALL, now);
    scope.held = held;
    let a = tdr::store::lookup::Attributor {
        store: &store,
        cfg: &cfg,
    }
    .lookup("192.0.2.1".parse().unwrap(), None, t(at), &scope)
    .unwrap();
    assert_eq!(a.status, Status::Found);

    // After preserve_until the day goes.
    let later = t("2027-01-01T00:00:00Z");
    let held = tdr::legal::holds(dir.path(), later).unwrap();
    assert!(held.is_empty());
    let dropped = retention::expire(&store, &mut log, &cfg, later, "test", &held).unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].name, "d20260510");
}
