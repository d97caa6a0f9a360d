//! Issue 13, "never a false nobody": `not_found` tells a legal officer the logs show nobody held
//! the address, so it is given only when the logs show it free. One test per case of the issue,
//! named after it, on real producer lines where they exist (`tests/data/`, `../shared/samples/`)
//! and on `events` input otherwise.

use tdr::parse::{parse_all, Context, Format, Tz};
use tdr::store::lookup::Status;
use tdr::store::Store;
use tdr_testkit::ev::*;
use tdr_testkit::store::*;

/// Parses `input` as the producer wrote it and commits its events in one batch.
fn feed_format(store: &mut Store, format: Format, source: &str, reference: &str, input: &str) {
    let mut ctx = Context::new(source, t(reference));
    ctx.tz = Some("Europe/Stockholm".parse::<Tz>().unwrap());
    let (events, errors) = parse_all(format, &ctx, input.as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    store.open_engine().unwrap();
    for ev in &events {
        store.engine_mut().apply(ev);
    }
    store.commit(None, i64::MIN / 2).unwrap();
}

// ---- 1. a CGNAT port whose block is logged but whose inside holder is unknown ---------------

const JUNIPER: &str = "<158>Nov 21 11:00:01 mx960-cgn1 (FPC Slot 2, PIC Slot 0) 2026-11-21 11:00:00 {CGN-SSET}[FWNAT]:ASP_NAT_PORT_BLOCK_ALLOC: 100.64.12.34 -> 203.0.113.17:20480-20735\n\
Nov 21 11:05:00 syslog-relay1 mx960-cgn1 (FPC Slot 2, PIC Slot 0) 2026-11-21 11:04:59 [FWNAT]:ASP_NAT_PORT_BLOCK_RELEASE: 100.64.12.34 -> 203.0.113.17:20480-20735\n";

#[test]
fn a_port_in_a_logged_block_whose_inside_holder_is_unknown_is_inside_unknown_with_the_block() {
    let (_d, cfg, mut store) = empty_store();
    // The CGNAT log is fed; the inside address's own assignment is not.
    feed_format(
        &mut store,
        Format::JuniperNat,
        "cgnat",
        "2026-11-22T00:00:00Z",
        JUNIPER,
    );
    // 11:00 Stockholm is 10:00 UTC.
    let now = t("2026-11-22T00:00:00Z");
    let a = lookup(
        &store,
        &cfg,
        "203.0.113.17",
        Some(20500),
        "2026-11-21T10:02:00Z",
        now,
    );
    assert_eq!(a.status, Status::InsideUnknown, "{a:?}");
    assert!(a.matches.is_empty(), "no name: {a:?}");
    assert_eq!(a.nat_blocks.len(), 1, "the block is the evidence: {a:?}");
    let b = &a.nat_blocks[0];
    assert_eq!(
        (b.public.as_str(), b.ports.as_str(), b.inside.as_str()),
        ("203.0.113.17", "20480-20735", "100.64.12.34")
    );
    assert_eq!(
        (b.start.as_str(), b.end.as_deref()),
        ("2026-11-21T10:00:00Z", Some("2026-11-21T10:04:59Z"))
    );
    assert_eq!(b.source, "cgnat");

    // Once the inside assignment is fed, the same question names its holder.
    feed(
        &mut store,
        &[session(
            "start",
            "2026-11-21T09:00:00Z",
            "erin",
            "s1",
            "100.64.12.34",
        )],
    );
    let a = lookup(
        &store,
        &cfg,
        "203.0.113.17",
        Some(20500),
        "2026-11-21T10:02:00Z",
        now,
    );
    assert_eq!(a.matches.len(), 1, "{a:?}");
    assert_eq!(a.matches[0].subscriber, "erin");
    assert!(a.nat_blocks.is_empty());
}

#[test]
fn a_port_with_no_block_is_not_found_only_while_the_cgnat_log_covers_the_time() {
    let (_d, cfg, mut store) = empty_store();
    feed(
        &mut store,
        &[
            nat(
                "alloc",
                "2026-11-21T10:00:00Z",
                "100.64.0.5",
                "203.0.113.1",
                "1024-2047",
            ),
            nat(
                "release",
                "2026-11-21T10:10:00Z",
                "100.64.0.5",
                "203.0.113.1",
                "1024-2047",
            ),
            // RADIUS keeps logging all afternoon; the CGNAT log is silent after 10:10.
            tick("2026-11-21T13:59:00Z"),
            tick("2026-11-21T14:01:00Z"),
        ],
    );
    let now = t("2026-11-22T00:00:00Z");
    let during = lookup(
        &store,
        &cfg,
        "203.0.113.1",
        Some(5000),
        "2026-11-21T10:05:00Z",
        now,
    );
    assert_eq!(during.status, Status::NotFound, "{during:?}");
    let silent = lookup(
        &store,
        &cfg,
        "203.0.113.1",
        Some(5000),
        "2026-11-21T14:00:00Z",
        now,
    );
    assert_eq!(
        silent.status,
        Status::NoCoverage,
        "RADIUS traffic says nothing about the CGNAT log: {silent:?}"
    );
}

// ---- 2. coverage from every record that shows a producer was logging -----------------------

#[test]
fn a_dhcpdiscover_and_offer_mark_coverage() {
    let (_d, cfg, mut store) = empty_store();
    // The first two lines of the real dhcpd sample: a DISCOVER and an OFFER, no ACK.
    let sample =
        std::fs::read_to_string("tests/data/dhcpd-syslog/ubuntu-dhcpd-with-hostname-and-pid.log")
            .unwrap();
    let two: String = sample.lines().take(2).map(|l| format!("{l}\n")).collect();
    assert!(
        two.contains("DHCPDISCOVER") && two.contains("DHCPOFFER"),
        "{two}"
    );
    feed_format(
        &mut store,
        Format::DhcpdSyslog,
        "dhcp",
        "2026-11-20T00:00:00Z",
        &two,
    );
    // Nov 19 18:18:07 Stockholm = 17:18:07 UTC, in the year of the reference.
    let a = lookup(
        &store,
        &cfg,
        "192.168.58.100",
        None,
        "2026-11-19T17:18:07Z",
        t("2026-11-20T00:00:00Z"),
    );
    assert_eq!(
        a.status,
        Status::NotFound,
        "offered is not held, and the server was logging: {a:?}"
    );
}

/// Two statements of the real `dhcpd.leases` sample (python-isc-dhcp-leases, debian7).
const LEASES: &str = "lease 10.0.0.15 {
  starts 4 2014/01/23 13:40:45;
  ends 4 2014/01/23 13:50:45;
  tstp 4 2014/01/23 13:50:45;
  cltt 4 2014/01/23 13:40:45;
  binding state free;
  hardware ethernet bc:f5:ac:fe:d1:7d;
  uid \"\\001\\274\\365\\254\\376\\321}\";
}
lease 10.0.0.17 {
  starts 2 2008/01/08 18:09:46;
  ends 2 2008/01/08 18:09:46;
  tstp 2 2008/01/08 18:09:46;
  binding state abandoned;
  next binding state free;
}
";

#[test]
fn a_free_lease_in_dhcpd_leases_is_not_found_with_the_state_as_evidence() {
    let (_d, cfg, mut store) = empty_store();
    feed_format(
        &mut store,
        Format::DhcpdLeases,
        "dhcpd-leases",
        "2014-01-24T06:00:00Z",
        LEASES,
    );
    let now = t("2014-02-01T00:00:00Z");
    // While the lease ran, its client held it.
    let held = lookup(&store, &cfg, "10.0.0.15", None, "2014-01-23T13:45:00Z", now);
    assert_eq!(held.status, Status::Found, "{held:?}");
    assert_eq!(held.matches[0].subscriber, "bc:f5:ac:fe:d1:7d");
    // Hours later nothing else was logged, but the lease file says the address was free.
    let free = lookup(&store, &cfg, "10.0.0.15", None, "2014-01-23T20:00:00Z", now);
    assert_eq!(free.status, Status::NotFound, "{free:?}");
    assert_eq!(free.free_states.len(), 1, "{free:?}");
    let f = &free.free_states[0];
    assert_eq!(
        (f.state.as_str(), f.from.as_str(), f.until.as_str()),
        ("free", "2014-01-23T13:50:45Z", "2014-01-24T06:00:00Z")
    );
    // After the file was last written nothing says so any more.
    let later = lookup(&store, &cfg, "10.0.0.15", None, "2014-01-25T12:00:00Z", now);
    assert_eq!(later.status, Status::NoCoverage, "{later:?}");
}

#[test]
fn an_abandoned_lease_is_never_nobody() {
    let (_d, cfg, mut store) = empty_store();
    feed_format(
        &mut store,
        Format::DhcpdLeases,
        "dhcpd-leases",
        "2008-01-09T00:00:00Z",
        LEASES,
    );
    let a = lookup(
        &store,
        &cfg,
        "10.0.0.17",
        None,
        "2008-01-08T20:00:00Z",
        t("2008-01-10T00:00:00Z"),
    );
    assert_eq!(
        a.status,
        Status::NoCoverage,
        "an unknown device used it: {a:?}"
    );
    assert_eq!(a.free_states.len(), 1);
    assert_eq!(a.free_states[0].state, "abandoned");
}

#[test]
fn a_free_state_ends_at_the_next_holders_start() {
    let (_d, cfg, mut store) = empty_store();
    feed(
        &mut store,
        &[
            r#"{"kind":"free","time":"2026-11-20T08:00:00Z","until":"2026-11-21T08:00:00Z","addr":"192.0.2.9","state":"free","source":"dhcp"}"#.to_string(),
            lease(
                "assign",
                "2026-11-20T12:00:00Z",
                "c9",
                "192.0.2.9",
                Some("2026-11-20T13:00:00Z"),
            ),
        ],
    );
    let now = t("2026-11-22T00:00:00Z");
    let before = lookup(&store, &cfg, "192.0.2.9", None, "2026-11-20T10:00:00Z", now);
    assert_eq!(before.status, Status::NotFound, "{before:?}");
    let held = lookup(&store, &cfg, "192.0.2.9", None, "2026-11-20T12:30:00Z", now);
    assert_eq!(held.status, Status::Found, "{held:?}");
    assert!(held.free_states.is_empty(), "{held:?}");
    // After the lease expired the free state no longer speaks (the next holder ended it).
    let after = lookup(&store, &cfg, "192.0.2.9", None, "2026-11-20T18:00:00Z", now);
    assert!(after.free_states.is_empty(), "{after:?}");
}

// ---- 4. an inferred end is not a release -----------------------------------------------------

const PREFIX: &str = "2001:db8:100::/56";
const IN_PREFIX: &str = "2001:db8:100:42::1";

/// Heartbeats of the RADIUS source every 10 minutes from `from` for `hours`: coverage.
fn ticks(from: &str, hours: i64) -> Vec<String> {
    let t0 = t(from);
    (0..hours * 6)
        .map(|i| tick(&tdr::model::fmt_time(t0 + i * 600)))
        .collect()
}

#[test]
fn an_inferred_end_is_not_a_release() {
    let (_d, cfg, mut store) = empty_store();
    let mut lines = vec![session(
        "start",
        "2026-11-19T10:00:00Z",
        "ulla",
        "p1",
        PREFIX,
    )];
    lines.extend(ticks("2026-11-19T10:00:00Z", 60));
    feed(&mut store, &lines);
    let now = t("2026-11-22T00:00:00Z");
    // A day after the start, with no interim and no Stop: the last holder, unconfirmed.
    let a = lookup(&store, &cfg, IN_PREFIX, None, "2026-11-20T10:00:00Z", now);
    assert_eq!(a.status, Status::EndInferred, "{a:?}");
    assert_eq!(a.matches[0].subscriber, "ulla");
    assert_eq!(
        a.matches[0].confirmed_until.as_deref(),
        Some("2026-11-19T10:00:00Z")
    );
    assert_eq!(a.matches[0].end, None);

    // Another holder's start is a logged event of the address: it ends the first session.
    feed(
        &mut store,
        &[session(
            "start",
            "2026-11-21T08:00:00Z",
            "vera",
            "p2",
            PREFIX,
        )],
    );
    // Vera's session has no interim either: after its start it is hers, unconfirmed, and
    // ulla's session ended at vera's start.
    let b = lookup(&store, &cfg, IN_PREFIX, None, "2026-11-21T09:00:00Z", now);
    assert_eq!(b.status, Status::EndInferred, "{b:?}");
    assert_eq!(b.matches.len(), 1, "{b:?}");
    assert_eq!(b.matches[0].subscriber, "vera");
    let a = lookup(&store, &cfg, IN_PREFIX, None, "2026-11-20T10:00:00Z", now);
    assert_eq!(a.status, Status::EndInferred, "{a:?}");
    assert_eq!(a.matches[0].end.as_deref(), Some("2026-11-21T08:00:00Z"));
}

#[test]
fn a_stop_days_late_closes_the_session_it_belongs_to() {
    let (_d, cfg, mut store) = empty_store();
    let mut lines = vec![session(
        "start",
        "2026-11-18T10:00:00Z",
        "ulla",
        "p1",
        PREFIX,
    )];
    lines.extend(ticks("2026-11-18T10:00:00Z", 80));
    feed(&mut store, &lines);
    // The Stop (the session ended on the 20th) arrives after three days of other logs.
    feed(
        &mut store,
        &[session(
            "stop",
            "2026-11-20T10:00:00Z",
            "ulla",
            "p1",
            PREFIX,
        )],
    );
    let now = t("2026-11-22T00:00:00Z");
    for at in [
        "2026-11-18T12:00:00Z",
        "2026-11-19T10:00:00Z",
        "2026-11-20T09:59:00Z",
    ] {
        let a = lookup(&store, &cfg, IN_PREFIX, None, at, now);
        assert_eq!(a.status, Status::Found, "{at}: {a:?}");
        assert_eq!(a.matches.len(), 1, "one binding, not two: {a:?}");
        assert_eq!(a.matches[0].end_kind.as_str(), "stop");
    }
    let after = lookup(&store, &cfg, IN_PREFIX, None, "2026-11-20T12:00:00Z", now);
    assert_eq!(after.status, Status::NotFound, "{after:?}");
}

// ---- 5. port_required from the day's sharer marks -------------------------------------------

#[test]
fn port_required_counts_the_days_sharers_from_finalised_and_live_blocks() {
    let (_d, cfg, mut store) = empty_store();
    let mut lines = Vec::new();
    // Three inside addresses used 203.0.113.9 that day: two blocks released (and finalised
    // once the CGNAT log moved on), one still open.
    for (i, inside) in ["100.64.0.1", "100.64.0.2"].iter().enumerate() {
        let ports = format!("{}-{}", 1024 + i * 1024, 2047 + i * 1024);
        lines.push(nat(
            "alloc",
            "2026-11-21T08:00:00Z",
            inside,
            "203.0.113.9",
            &ports,
        ));
        lines.push(nat(
            "release",
            "2026-11-21T09:00:00Z",
            inside,
            "203.0.113.9",
            &ports,
        ));
    }
    lines.push(nat(
        "alloc",
        "2026-11-21T10:00:00Z",
        "100.64.0.3",
        "203.0.113.9",
        "4096-5119",
    ));
    // Another public address's traffic moves the CGNAT log's clock past the releases.
    lines.push(nat(
        "alloc",
        "2026-11-21T16:00:00Z",
        "100.64.9.9",
        "203.0.113.200",
        "1024-2047",
    ));
    feed(&mut store, &lines);
    let now = t("2026-11-22T00:00:00Z");
    let a = lookup(
        &store,
        &cfg,
        "203.0.113.9",
        None,
        "2026-11-21T12:00:00Z",
        now,
    );
    assert_eq!(a.status, Status::PortRequired, "{a:?}");
    assert_eq!(a.sharing, Some(3), "{a:?}");
    assert!(a.matches.is_empty());
    // The next day only the open block's holder shares it.
    let next = lookup(
        &store,
        &cfg,
        "203.0.113.9",
        None,
        "2026-11-22T00:30:00Z",
        t("2026-11-23T00:00:00Z"),
    );
    assert_eq!(next.sharing, Some(1), "{next:?}");
}

// ---- 3. Kea lease_cmds lines in the forensic log ---------------------------------------------

#[test]
fn kea_admin_lease_lines_are_assignments_and_releases_with_the_admin_origin() {
    let (_d, cfg, mut store) = empty_store();
    // The forensic log hook's lines for `lease4-add` and `lease4-del` (Kea's
    // `command_callouts.cc`), as in tests/data/kea-legal/.
    let log = "2026-11-21 11:01:00 CET Administrator added a lease of address: 198.51.100.30 to a device with hardware address: 1a:1b:1c:1d:1e:1f for 1 days 0 hrs 0 mins 0 secs\n\
               2026-11-21 15:00:00 CET Administrator deleted the lease for address: 198.51.100.30\n";
    feed_format(
        &mut store,
        Format::KeaLegal,
        "kea",
        "2026-11-22T00:00:00Z",
        log,
    );
    let now = t("2026-11-22T00:00:00Z");
    let a = lookup(
        &store,
        &cfg,
        "198.51.100.30",
        None,
        "2026-11-21T12:00:00Z",
        now,
    );
    assert_eq!(a.status, Status::Found, "{a:?}");
    assert_eq!(a.matches[0].subscriber, "1a:1b:1c:1d:1e:1f");
    assert_eq!(a.matches[0].origin, Some("admin"));
    // The delete names no client: it ended the lease that held the address, by its address.
    assert_eq!(a.matches[0].end.as_deref(), Some("2026-11-21T14:00:00Z"));
    assert_eq!(a.matches[0].end_kind.as_str(), "release");
    let after = lookup(
        &store,
        &cfg,
        "198.51.100.30",
        None,
        "2026-11-21T14:05:00Z",
        now,
    );
    assert_eq!(after.status, Status::NotFound, "{after:?}");
}

/// Found by the ground-truth check (`--interim-secs 1800 --lost-stop 0.05`): a lost Stop's
/// tail ran on past a whole session of another subscriber on another NAS (start and Stop both
/// logged, imported first and already final), because the lookup read back only the session
/// timeout and never saw that session's start.
#[test]
fn a_tail_ends_at_another_holders_whole_session_imported_from_another_nas() {
    let (_d, cfg, mut store) = empty_store();
    let on =
        |line: String, nas: &str| line.replace(r#""nas":"bng1""#, &format!(r#""nas":"{nas}""#));
    // bng2's backlog first: bob's whole session, then hours more of bng2's logs.
    let mut bng2 = vec![
        on(
            session("start", "2026-11-30T20:30:54Z", "bob", "b1", "198.18.1.17"),
            "bng2",
        ),
        on(
            session("stop", "2026-11-30T23:33:23Z", "bob", "b1", "198.18.1.17"),
            "bng2",
        ),
    ];
    bng2.extend(
        ticks("2026-11-30T20:00:00Z", 12)
            .into_iter()
            .map(|l| on(l, "bng2")),
    );
    feed(&mut store, &bng2);
    // Then bng1's: alice's session on the same address earlier that day, Stop lost.
    let mut bng1 = vec![
        session(
            "start",
            "2026-11-30T16:38:50Z",
            "alice",
            "a1",
            "198.18.1.17",
        ),
        session(
            "interim",
            "2026-11-30T17:08:50Z",
            "alice",
            "a1",
            "198.18.1.17",
        ),
    ];
    bng1.extend(ticks("2026-11-30T16:00:00Z", 16));
    feed(&mut store, &bng1);
    let now = t("2026-12-02T00:00:00Z");
    let tail = lookup(
        &store,
        &cfg,
        "198.18.1.17",
        None,
        "2026-11-30T19:00:00Z",
        now,
    );
    assert_eq!(
        (tail.status, tail.matches[0].subscriber.as_str()),
        (Status::EndInferred, "alice"),
        "{tail:?}"
    );
    let a = lookup(
        &store,
        &cfg,
        "198.18.1.17",
        None,
        "2026-12-01T02:25:33Z",
        now,
    );
    assert_eq!(
        a.status,
        Status::NotFound,
        "bob's logged session ended alice's tail; his Stop freed the address: {a:?}"
    );
}

/// Found by the ground-truth check (`--interim-secs 1800 --lost-stop 0.05`): a lost Stop's
/// tail ran on through the same subscriber's next session on the address (its own Start and
/// Stop logged) and named them after that Stop, when the address was free.
#[test]
fn a_tail_ends_at_the_same_subscribers_next_session_on_the_address() {
    let (_d, cfg, mut store) = empty_store();
    let mut lines = vec![
        session(
            "start",
            "2026-11-30T00:16:29Z",
            "sub-388",
            "s1",
            "198.18.2.117",
        ),
        session(
            "interim",
            "2026-12-01T00:16:29Z",
            "sub-388",
            "s1",
            "198.18.2.117",
        ),
        // s1's Stop is lost; the same subscriber's next session gets the same address.
        session(
            "start",
            "2026-12-01T00:58:45Z",
            "sub-388",
            "s2",
            "198.18.2.117",
        ),
        session(
            "stop",
            "2026-12-01T06:04:21Z",
            "sub-388",
            "s2",
            "198.18.2.117",
        ),
    ];
    lines.extend(ticks("2026-11-30T00:00:00Z", 36));
    feed(&mut store, &lines);
    let now = t("2026-12-02T00:00:00Z");
    let a = lookup(
        &store,
        &cfg,
        "198.18.2.117",
        None,
        "2026-12-01T06:34:53Z",
        now,
    );
    assert_eq!(a.status, Status::NotFound, "{a:?}");
    let tail = lookup(
        &store,
        &cfg,
        "198.18.2.117",
        None,
        "2026-12-01T00:40:00Z",
        now,
    );
    assert_eq!(tail.status, Status::EndInferred, "{tail:?}");
    assert_eq!(tail.matches[0].end.as_deref(), Some("2026-12-01T00:58:45Z"));
}
