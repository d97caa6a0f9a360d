//! Attribution end to end on a real RocksDB store: every status a lookup can give, IPv6
//! longest-prefix, CGNAT two-hop, carry-forward across days, and order independence.

use tdr::model::Class;
use tdr::store::binding::EndKind;
use tdr::store::lookup::Status;
use tdr::store::Store;
use tdr_testkit::ev::*;
use tdr_testkit::store::*;

const NOW: &str = "2026-11-21T12:00:00Z";

fn subjects(a: &tdr::store::lookup::Answer) -> Vec<&str> {
    a.matches.iter().map(|m| m.subscriber.as_str()).collect()
}

#[test]
fn found_with_logged_evidence() {
    let (_d, cfg, store) = store_with(&[
        session("start", "2026-11-20T10:00:00Z", "alice", "s1", "192.0.2.10"),
        session(
            "interim",
            "2026-11-20T10:05:00Z",
            "alice",
            "s1",
            "192.0.2.10",
        ),
        session("stop", "2026-11-20T11:00:00Z", "alice", "s1", "192.0.2.10"),
        tick("2026-11-20T12:00:00Z"),
    ]);
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T10:30:00+00:00",
        t(NOW),
    );
    assert_eq!(a.status, Status::Found);
    assert_eq!(subjects(&a), ["alice"]);
    let m = &a.matches[0];
    assert_eq!(m.start, "2026-11-20T10:00:00Z");
    assert_eq!(m.end.as_deref(), Some("2026-11-20T11:00:00Z"));
    assert_eq!(m.end_kind, EndKind::Stop);
    assert_eq!(m.source, "radius");
    assert_eq!(m.target, "192.0.2.10");
    // The same instant written with another offset is the same instant.
    let b = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T11:30:00+01:00",
        t(NOW),
    );
    assert_eq!(b.status, Status::Found);
}

#[test]
fn lost_stop_gives_end_inferred_after_the_last_interim() {
    let (_d, cfg, store) = store_with(&[
        session("start", "2026-11-20T10:00:00Z", "alice", "s1", "192.0.2.10"),
        session(
            "interim",
            "2026-11-20T10:30:00Z",
            "alice",
            "s1",
            "192.0.2.10",
        ),
        // No stop; bob gets the address later.
        session("start", "2026-11-20T13:00:00Z", "bob", "s2", "192.0.2.10"),
        session("stop", "2026-11-20T14:00:00Z", "bob", "s2", "192.0.2.10"),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let inside = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T10:20:00Z",
        t(NOW),
    );
    assert_eq!(
        (inside.status, subjects(&inside)),
        (Status::Found, vec!["alice"])
    );
    let tail = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T11:00:00Z",
        t(NOW),
    );
    assert_eq!(
        (tail.status, subjects(&tail)),
        (Status::EndInferred, vec!["alice"])
    );
    assert_eq!(tail.matches[0].end_kind, EndKind::NextAssignment);
    assert_eq!(
        tail.matches[0].confirmed_until.as_deref(),
        Some("2026-11-20T10:30:00Z")
    );
    // After the timeout (2 h after the last interim) and before bob: still alice, unconfirmed.
    // Nothing logged the address free (issue 13: an inferred end is not a release).
    let gap = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T12:45:00Z",
        t(NOW),
    );
    assert_eq!(
        (gap.status, subjects(&gap)),
        (Status::EndInferred, vec!["alice"]),
        "{gap:?}"
    );
    let bob = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T13:30:00Z",
        t(NOW),
    );
    assert_eq!((bob.status, subjects(&bob)), (Status::Found, vec!["bob"]));
}

#[test]
fn next_assignment_ends_a_lost_stop_session() {
    let (_d, cfg, store) = store_with(&[
        session("start", "2026-11-20T10:00:00Z", "alice", "s1", "192.0.2.10"),
        session(
            "interim",
            "2026-11-20T10:30:00Z",
            "alice",
            "s1",
            "192.0.2.10",
        ),
        session("start", "2026-11-20T11:00:00Z", "bob", "s2", "192.0.2.10"),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T10:45:00Z",
        t(NOW),
    );
    assert_eq!(
        (a.status, subjects(&a)),
        (Status::EndInferred, vec!["alice"])
    );
    assert_eq!(a.matches[0].end_kind, EndKind::NextAssignment);
    assert_eq!(a.matches[0].end.as_deref(), Some("2026-11-20T11:00:00Z"));
    let b = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T11:30:00Z",
        t(NOW),
    );
    assert_eq!((b.status, subjects(&b)), (Status::EndInferred, vec!["bob"]));
}

#[test]
fn nas_reboot_ends_open_sessions() {
    let (_d, cfg, store) = store_with(&[
        session("start", "2026-11-20T10:00:00Z", "alice", "s1", "192.0.2.10"),
        session(
            "interim",
            "2026-11-20T10:10:00Z",
            "alice",
            "s1",
            "192.0.2.10",
        ),
        reboot("2026-11-20T10:20:00Z"),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T10:15:00Z",
        t(NOW),
    );
    assert_eq!(a.status, Status::EndInferred);
    assert_eq!(a.matches[0].end_kind, EndKind::NasReboot);
    let after = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T10:30:00Z",
        t(NOW),
    );
    assert_eq!(after.status, Status::NotFound);
}

#[test]
fn two_holders_within_the_clock_tolerance_are_ambiguous() {
    let (_d, cfg, store) = store_with(&[
        session("start", "2026-11-20T10:00:00Z", "alice", "s1", "192.0.2.10"),
        session("stop", "2026-11-20T11:00:00Z", "alice", "s1", "192.0.2.10"),
        session("start", "2026-11-20T11:00:01Z", "bob", "s2", "192.0.2.10"),
        session("stop", "2026-11-20T12:00:00Z", "bob", "s2", "192.0.2.10"),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T11:00:00Z",
        t(NOW),
    );
    assert_eq!(a.status, Status::Ambiguous);
    assert_eq!(subjects(&a), ["alice", "bob"]);
    // 3 s later only bob's binding is within tolerance.
    let b = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-11-20T11:00:03Z",
        t(NOW),
    );
    assert_eq!((b.status, subjects(&b)), (Status::Found, vec!["bob"]));
    // The same subscriber on two overlapping bindings is one holder, not ambiguous.
    let (_d2, cfg2, store2) = store_with(&[
        session("start", "2026-11-20T10:00:00Z", "alice", "s1", "192.0.2.10"),
        session("stop", "2026-11-20T11:00:00Z", "alice", "s1", "192.0.2.10"),
        session("start", "2026-11-20T11:00:01Z", "alice", "s2", "192.0.2.10"),
        session("stop", "2026-11-20T12:00:00Z", "alice", "s2", "192.0.2.10"),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let c = lookup(
        &store2,
        &cfg2,
        "192.0.2.10",
        None,
        "2026-11-20T11:00:00Z",
        t(NOW),
    );
    assert_eq!(c.status, Status::Found);
    assert_eq!(c.matches.len(), 2);
}

#[test]
fn not_found_versus_no_coverage() {
    let (_d, cfg, store) = store_with(&[
        session("start", "2026-11-20T10:00:00Z", "alice", "s1", "192.0.2.10"),
        session("stop", "2026-11-20T11:00:00Z", "alice", "s1", "192.0.2.10"),
        tick("2026-11-20T11:10:00Z"),
        tick("2026-11-20T11:20:00Z"),
    ]);
    // Data was flowing at 11:15 and nobody held .11.
    let nf = lookup(
        &store,
        &cfg,
        "192.0.2.11",
        None,
        "2026-11-20T11:15:00Z",
        t(NOW),
    );
    assert_eq!(nf.status, Status::NotFound);
    // Nothing at all was logged around 18:00 (ingest gap).
    let nc = lookup(
        &store,
        &cfg,
        "192.0.2.11",
        None,
        "2026-11-20T18:00:00Z",
        t(NOW),
    );
    assert_eq!(nc.status, Status::NoCoverage);
    // The future is never covered.
    let fut = lookup(
        &store,
        &cfg,
        "192.0.2.10",
        None,
        "2026-12-20T18:00:00Z",
        t(NOW),
    );
    assert_eq!(fut.status, Status::NoCoverage);
}

#[test]
fn address_space_and_retention_are_checked_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.address_space = vec!["192.0.2.0/24".parse().unwrap()];
    let store = Store::open(&cfg).unwrap();
    let a = lookup(
        &store,
        &cfg,
        "198.51.100.1",
        None,
        "2026-11-20T10:00:00Z",
        t(NOW),
    );
    assert_eq!(a.status, Status::NotOurAddress);
    let b = lookup(
        &store,
        &cfg,
        "192.0.2.1",
        None,
        "2026-05-20T10:00:00Z",
        t(NOW),
    );
    assert_eq!(b.status, Status::OutsideRetention);
}

#[test]
fn ipv6_longest_delegated_prefix_wins() {
    let (_d, cfg, store) = store_with(&[
        session(
            "start",
            "2026-11-20T10:00:00Z",
            "isp-wide",
            "s1",
            "2001:db8:100::/48",
        ),
        session(
            "start",
            "2026-11-20T10:00:00Z",
            "carol",
            "s2",
            "2001:db8:100:200::/56",
        ),
        session(
            "stop",
            "2026-11-20T11:00:00Z",
            "carol",
            "s2",
            "2001:db8:100:200::/56",
        ),
        session(
            "stop",
            "2026-11-20T11:00:00Z",
            "isp-wide",
            "s1",
            "2001:db8:100::/48",
        ),
        session(
            "start",
            "2026-11-20T10:00:00Z",
            "dave",
            "s3",
            "2001:db8:900::1",
        ),
        session(
            "stop",
            "2026-11-20T11:00:00Z",
            "dave",
            "s3",
            "2001:db8:900::1",
        ),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let a = lookup(
        &store,
        &cfg,
        "2001:db8:100:2ab:1234:5678:9abc:def0",
        None,
        "2026-11-20T10:30:00Z",
        t(NOW),
    );
    assert_eq!((a.status, subjects(&a)), (Status::Found, vec!["carol"]));
    assert_eq!(a.matches[0].target, "2001:db8:100:200::/56");
    let b = lookup(
        &store,
        &cfg,
        "2001:db8:100:3ff::1",
        None,
        "2026-11-20T10:30:00Z",
        t(NOW),
    );
    assert_eq!((b.status, subjects(&b)), (Status::Found, vec!["isp-wide"]));
    let c = lookup(
        &store,
        &cfg,
        "2001:db8:900::1",
        None,
        "2026-11-20T10:30:00Z",
        t(NOW),
    );
    assert_eq!((c.status, subjects(&c)), (Status::Found, vec!["dave"]));
}

#[test]
fn cgnat_needs_a_port_and_resolves_in_two_hops() {
    let (_d, cfg, store) = store_with(&[
        session("start", "2026-11-20T09:00:00Z", "erin", "s1", "100.64.0.5"),
        session("stop", "2026-11-20T12:00:00Z", "erin", "s1", "100.64.0.5"),
        session("start", "2026-11-20T09:00:00Z", "frank", "s2", "100.64.0.6"),
        session("stop", "2026-11-20T12:00:00Z", "frank", "s2", "100.64.0.6"),
        nat(
            "alloc",
            "2026-11-20T09:00:05Z",
            "100.64.0.5",
            "203.0.113.1",
            "1024-2047",
        ),
        nat(
            "release",
            "2026-11-20T11:59:00Z",
            "100.64.0.5",
            "203.0.113.1",
            "1024-2047",
        ),
        nat(
            "alloc",
            "2026-11-20T09:00:06Z",
            "100.64.0.6",
            "203.0.113.1",
            "2048-3071",
        ),
        nat(
            "release",
            "2026-11-20T11:59:00Z",
            "100.64.0.6",
            "203.0.113.1",
            "2048-3071",
        ),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let p = lookup(
        &store,
        &cfg,
        "203.0.113.1",
        None,
        "2026-11-20T10:00:00Z",
        t(NOW),
    );
    assert_eq!(p.status, Status::PortRequired);
    assert_eq!(p.sharing, Some(2));
    assert!(p.matches.is_empty(), "no identities without a port");
    let e = lookup(
        &store,
        &cfg,
        "203.0.113.1",
        Some(1500),
        "2026-11-20T10:00:00Z",
        t(NOW),
    );
    assert_eq!((e.status, subjects(&e)), (Status::Found, vec!["erin"]));
    let via = e.matches[0].via.as_ref().unwrap();
    assert_eq!(
        (via.inside.as_str(), via.ports.as_str()),
        ("100.64.0.5", "1024-2047")
    );
    let f = lookup(
        &store,
        &cfg,
        "203.0.113.1",
        Some(2048),
        "2026-11-20T10:00:00Z",
        t(NOW),
    );
    assert_eq!((f.status, subjects(&f)), (Status::Found, vec!["frank"]));
    let none = lookup(
        &store,
        &cfg,
        "203.0.113.1",
        Some(5000),
        "2026-11-20T10:00:00Z",
        t(NOW),
    );
    // No block holds port 5000, but the CGNAT log wrote nothing within the coverage gap of
    // 10:00 (its records are at 09:00 and 11:59): it cannot show the port free then.
    assert_eq!(none.status, Status::NoCoverage, "{none:?}");
    let at_alloc = lookup(
        &store,
        &cfg,
        "203.0.113.1",
        Some(5000),
        "2026-11-20T09:05:00Z",
        t(NOW),
    );
    assert_eq!(at_alloc.status, Status::NotFound, "{at_alloc:?}");
}

#[test]
fn purpose_limits_classes() {
    let (_d, cfg, store) = store_with(&[
        session_class(
            "start",
            "2026-11-20T10:00:00Z",
            "gina",
            "s1",
            "192.0.2.20",
            "statutory",
        ),
        session_class(
            "stop",
            "2026-11-20T11:00:00Z",
            "gina",
            "s1",
            "192.0.2.20",
            "statutory",
        ),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let le = lookup(
        &store,
        &cfg,
        "192.0.2.20",
        None,
        "2026-11-20T10:30:00Z",
        t(NOW),
    );
    assert_eq!(le.status, Status::Found);
    let ipred = lookup_classes(
        &store,
        &cfg,
        "192.0.2.20",
        None,
        "2026-11-20T10:30:00Z",
        t(NOW),
        tdr::legal::Purpose::Ipred.readable_classes(),
    );
    assert_eq!(ipred.status, Status::NoDataForThisPurpose);
    assert!(ipred.matches.is_empty());
    let _ = Class::Statutory;
}

#[test]
fn leases_confirmed_until_expiry_released_early_or_taken_over() {
    let (_d, cfg, store) = store_with(&[
        lease(
            "assign",
            "2026-11-20T10:00:00Z",
            "aa:bb:cc:00:00:01",
            "192.0.2.30",
            Some("2026-11-20T11:00:00Z"),
        ),
        lease(
            "renew",
            "2026-11-20T10:30:00Z",
            "aa:bb:cc:00:00:01",
            "192.0.2.30",
            Some("2026-11-20T11:30:00Z"),
        ),
        lease(
            "release",
            "2026-11-20T11:10:00Z",
            "aa:bb:cc:00:00:01",
            "192.0.2.30",
            None,
        ),
        lease(
            "assign",
            "2026-11-20T12:00:00Z",
            "aa:bb:cc:00:00:02",
            "192.0.2.30",
            Some("2026-11-20T13:00:00Z"),
        ),
        tick("2026-11-21T00:00:00Z"),
    ]);
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.30",
        None,
        "2026-11-20T11:05:00Z",
        t(NOW),
    );
    assert_eq!(
        (a.status, subjects(&a)),
        (Status::Found, vec!["aa:bb:cc:00:00:01"])
    );
    assert_eq!(a.matches[0].end_kind, EndKind::Release);
    let gap = lookup(
        &store,
        &cfg,
        "192.0.2.30",
        None,
        "2026-11-20T11:20:00Z",
        t(NOW),
    );
    assert_eq!(gap.status, Status::NotFound);
    let b = lookup(
        &store,
        &cfg,
        "192.0.2.30",
        None,
        "2026-11-20T12:59:00Z",
        t(NOW),
    );
    assert_eq!(
        (b.status, subjects(&b)),
        (Status::Found, vec!["aa:bb:cc:00:00:02"])
    );
    assert_eq!(b.matches[0].end_kind, EndKind::LeaseExpiry);
}

#[test]
fn long_session_is_carried_across_midnights_and_survives_dropping_its_start_day() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut store = Store::open(&cfg).unwrap();
    let mut lines = vec![session(
        "start",
        "2026-11-10T22:00:00Z",
        "hank",
        "s1",
        "192.0.2.40",
    )];
    // Interims every hour for three days, then a stop.
    for h in 0..72 {
        let ts = tdr::model::fmt_time(t("2026-11-10T23:00:00Z") + h * 3600);
        lines.push(session("interim", &ts, "hank", "s1", "192.0.2.40"));
    }
    lines.push(session(
        "stop",
        "2026-11-13T23:30:00Z",
        "hank",
        "s1",
        "192.0.2.40",
    ));
    lines.push(tick("2026-11-15T00:00:00Z"));
    feed(&mut store, &lines);
    // Final copies in every day the session spans.
    let parts = store.partitions().unwrap();
    let days: Vec<String> = parts
        .iter()
        .map(|d| tdr::store::keys::partition_name(*d))
        .collect();
    for d in ["d20261110", "d20261111", "d20261112", "d20261113"] {
        assert!(days.contains(&d.to_string()), "{d} missing in {days:?}");
    }
    for at in [
        "2026-11-10T23:59:59Z",
        "2026-11-11T00:00:00Z",
        "2026-11-12T12:00:00Z",
        "2026-11-13T23:00:00Z",
    ] {
        let a = lookup(&store, &cfg, "192.0.2.40", None, at, t(NOW));
        assert_eq!(
            (a.status, subjects(&a)),
            (Status::Found, vec!["hank"]),
            "at {at}"
        );
        assert_eq!(a.matches[0].start, "2026-11-10T22:00:00Z");
    }
    // A lookup on day 3 reads only day 3's partition: dropping the start day changes nothing.
    store
        .drop_partition(tdr::model::day_of(t("2026-11-10T12:00:00Z")))
        .unwrap();
    store
        .drop_partition(tdr::model::day_of(t("2026-11-11T12:00:00Z")))
        .unwrap();
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.40",
        None,
        "2026-11-12T12:00:00Z",
        t(NOW),
    );
    assert_eq!((a.status, subjects(&a)), (Status::Found, vec!["hank"]));
    assert_eq!(a.matches[0].end.as_deref(), Some("2026-11-13T23:30:00Z"));
}

#[test]
fn open_session_is_visible_at_once_from_the_live_family() {
    let (_d, cfg, store) = store_with(&[
        session("start", "2026-11-21T11:00:00Z", "ivan", "s1", "192.0.2.50"),
        session(
            "interim",
            "2026-11-21T11:55:00Z",
            "ivan",
            "s1",
            "192.0.2.50",
        ),
    ]);
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.50",
        None,
        "2026-11-21T11:30:00Z",
        t(NOW),
    );
    assert_eq!((a.status, subjects(&a)), (Status::Found, vec!["ivan"]));
    assert_eq!(a.matches[0].end, None);
    assert_eq!(a.matches[0].end_kind, EndKind::Open);
}

#[test]
fn state_survives_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    {
        let mut store = Store::open(&cfg).unwrap();
        feed(
            &mut store,
            &[session(
                "start",
                "2026-11-20T10:00:00Z",
                "judy",
                "s1",
                "192.0.2.60",
            )],
        );
    }
    let mut store = Store::open(&cfg).unwrap();
    feed(
        &mut store,
        &[
            session("stop", "2026-11-20T11:00:00Z", "judy", "s1", "192.0.2.60"),
            tick("2026-11-21T00:00:00Z"),
        ],
    );
    let a = lookup(
        &store,
        &cfg,
        "192.0.2.60",
        None,
        "2026-11-20T10:59:00Z",
        t(NOW),
    );
    assert_eq!((a.status, a.matches.len()), (Status::Found, 1));
    assert_eq!(a.matches[0].end_kind, EndKind::Stop);
    assert!(a.matches[0].start_logged);
}

/// Regression (found by putting MikroTik's RouterOS in the ground-truth mix): a lease logged
/// without an expiry (RouterOS's `assigned`, Kea's "infinite duration") and released hours
/// later was not ended by its release, which matched it only within the clock tolerance of
/// its last sighting: a lookup after the release still named the released holder.
#[test]
fn a_lease_without_expiry_is_ended_by_its_release_hours_later() {
    let (_d, cfg, mut store) = empty_store();
    store.open_engine().unwrap();
    for l in [
        lease(
            "assign",
            "2026-11-20T08:00:00Z",
            "aa:bb:cc:00:00:07",
            "192.0.2.70",
            Some("2026-11-20T09:00:00Z"),
        ),
        lease(
            "release",
            "2026-11-20T14:00:00Z",
            "aa:bb:cc:00:00:07",
            "192.0.2.70",
            None,
        ),
        tick("2026-11-21T00:00:00Z"),
    ] {
        let mut ev = tdr::parse::format::events::parse_line(l.as_bytes(), "test").unwrap();
        // The events format asks an assignment for its expiry; these producers log none.
        if let tdr::model::Event::Lease { expires, .. } = &mut ev {
            *expires = None;
        }
        store.engine_mut().apply(&ev);
    }
    store.commit(None, i64::MIN / 2).unwrap();
    let during = lookup(
        &store,
        &cfg,
        "192.0.2.70",
        None,
        "2026-11-20T08:00:30Z",
        t(NOW),
    );
    assert_eq!(subjects(&during), vec!["aa:bb:cc:00:00:07"]);
    assert_eq!(
        during.matches[0].end.as_deref(),
        Some("2026-11-20T14:00:00Z")
    );
    assert_eq!(during.matches[0].end_kind, EndKind::Release);
    let after = lookup(
        &store,
        &cfg,
        "192.0.2.70",
        None,
        "2026-11-20T15:00:00Z",
        t(NOW),
    );
    // Nobody is named after the release (no producer logged near 15:00: no coverage).
    assert!(after.matches.is_empty(), "{:?}", after.matches);
    assert_eq!(after.status, Status::NoCoverage);
}

/// Issue 20: RouterOS logs no renewals and no lease time, only `assigned` and a `deassigned`
/// for every end. Inside a lease the client renewed silently for hours tdr answered
/// `end_inferred` (confirmed only at the `assigned`); the log shows the lease standing, so the
/// answer is `found`, with `ends_logged` as its basis. A `deassigned` ends it; a next holder's
/// `assigned` without one shows a lost line and leaves the gap unconfirmed.
#[test]
fn a_routeros_lease_is_found_until_its_deassign() {
    let lines = "\
<30>Nov 20 08:00:00 MikroTik dhcp1 assigned 192.0.2.80 for 02:5E:00:00:00:08 laptop
<30>Nov 20 08:00:00 MikroTik dhcp1 assigned 192.0.2.81 to 02:5E:00:00:00:09
<30>Nov 20 14:00:00 MikroTik dhcp1 deassigned 192.0.2.80 for 02:5E:00:00:00:08 laptop
<30>Nov 20 15:30:00 MikroTik dhcp1 assigned 192.0.2.82 for 02:5E:00:00:00:0A
<30>Nov 20 16:00:00 MikroTik dhcp1 assigned 192.0.2.81 for 02:5E:00:00:00:0B
<30>Nov 20 23:59:00 MikroTik dhcp1 assigned 192.0.2.83 for 02:5E:00:00:00:0C
";
    let mut ctx = tdr::parse::Context::new("mikrotik", t("2026-11-21T00:00:00Z"));
    ctx.tz = Some(tdr::parse::Tz::UTC);
    let (events, errors) =
        tdr::parse::parse_all(tdr::parse::Format::MikrotikDhcp, &ctx, lines.as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let (_d, cfg, mut store) = empty_store();
    store.open_engine().unwrap();
    for ev in &events {
        store.engine_mut().apply(ev);
    }
    store.commit(None, i64::MIN / 2).unwrap();
    let at = |addr: &str, when: &str| lookup(&store, &cfg, addr, None, when, t(NOW));

    // Six hours into a silently renewed lease (other lines around give coverage).
    let inside = at("192.0.2.80", "2026-11-20T13:59:00Z");
    assert_eq!(inside.status, Status::Found, "{inside:?}");
    assert_eq!(subjects(&inside), vec!["02:5e:00:00:00:08"]);
    assert!(inside.matches[0].ends_logged);
    assert_eq!(inside.matches[0].end_kind, EndKind::Release);
    // After its deassign nobody holds it.
    let after = at("192.0.2.80", "2026-11-20T15:30:00Z");
    assert!(after.matches.is_empty(), "{:?}", after.matches);
    assert_eq!(after.status, Status::NotFound);
    // An open lease is found up to the newest data.
    let open = at("192.0.2.82", "2026-11-20T23:58:00Z");
    assert_eq!(open.status, Status::Found, "{open:?}");
    assert_eq!(open.matches[0].end_kind, EndKind::Open);
    // 192.0.2.81 went to another client without a deassign: a line was lost, and between
    // the first `assigned` and the next one the first holder is a candidate, not a finding.
    let gap = at("192.0.2.81", "2026-11-20T12:00:00Z");
    assert_eq!(gap.status, Status::EndInferred, "{gap:?}");
    assert_eq!(subjects(&gap), vec!["02:5e:00:00:00:09"]);
    assert_eq!(gap.matches[0].end_kind, EndKind::NextAssignment);
    let next = at("192.0.2.81", "2026-11-20T17:00:00Z");
    assert_eq!(next.status, Status::Found);
    assert_eq!(subjects(&next), vec!["02:5e:00:00:00:0b"]);
}
