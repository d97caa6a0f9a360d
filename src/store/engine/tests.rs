//! The engine's tests: merging, reordering, finalising and restoring.

use super::*;
use crate::model::{LeaseOp, SessionOp};
use crate::store::binding::EndKind;
use crate::store::meta;

/// A sink that records what it was given.
#[derive(Default, PartialEq, Eq, Debug)]
pub struct VecSink {
    pub copies: std::collections::BTreeMap<(i64, Vec<u8>), Vec<u8>>,
    pub live: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    pub meta: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Sink for VecSink {
    fn put_copy(&mut self, day: i64, key: &[u8], value: &[u8]) {
        self.copies.insert((day, key.to_vec()), value.to_vec());
    }
    fn put_live(&mut self, key: &[u8], value: &[u8]) {
        self.live.insert(key.to_vec(), value.to_vec());
    }
    fn delete_live(&mut self, key: &[u8]) {
        self.live.remove(key);
    }
    fn put_meta(&mut self, key: &[u8], value: &[u8]) {
        self.meta.insert(key.to_vec(), value.to_vec());
    }
    fn merge_coverage(&mut self, key: &[u8], bits: &[u8]) {
        let e = self
            .meta
            .entry(key.to_vec())
            .or_insert_with(|| vec![0; bits.len()]);
        for (a, b) in e.iter_mut().zip(bits) {
            *a |= b;
        }
    }
}

pub fn params() -> Params {
    Params {
        rules: Rules {
            session_timeout: 7200,
            tolerance: 2,
        },
        reorder_window: 600,
        stop_wait: 2 * 86_400,
    }
}

/// A session event of NAS `bng1`, source `radius`.
pub(crate) fn session(op: SessionOp, t: i64, sub: &str, sess: &str, addr: &str) -> Event {
    Event::Session {
        op,
        time: t,
        subscriber: sub.into(),
        session: sess.into(),
        target: Target::host(addr.parse().unwrap()),
        nas: "bng1".into(),
        source: "radius".into(),
        class: Class::Security,
    }
}

/// All bindings (live and final) as (key, facts) sorted, with `complete` cleared so live
/// and final forms compare equal.
fn state(e: &mut Engine, sink: &mut VecSink) -> Vec<(BindingKey, Facts)> {
    e.flush(sink, i64::MIN / 2);
    let mut out: Vec<(BindingKey, Facts)> = Vec::new();
    for (k, v) in &sink.live {
        let key = BindingKey::decode(k).unwrap();
        let (f, _) = decode_live(key.start, v).unwrap();
        out.push((key, f));
    }
    for ((_, k), v) in &sink.copies {
        let key = BindingKey::decode(k).unwrap();
        let mut f = Facts::decode(key.start, v).unwrap();
        f.complete = false;
        if !out.iter().any(|(k2, _)| *k2 == key) {
            out.push((key, f));
        }
    }
    out.sort_by_key(|a| a.0);
    out
}

#[test]
fn start_interim_stop_make_one_binding_and_duplicates_change_nothing() {
    let mut e = Engine::new(params());
    let evs = [
        session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"),
        session(SessionOp::Interim, 1300, "u1", "s1", "192.0.2.1"),
        session(SessionOp::Stop, 1500, "u1", "s1", "192.0.2.1"),
    ];
    for ev in &evs {
        assert_eq!(e.apply(ev), Applied::Changed);
    }
    for ev in &evs {
        assert_eq!(e.apply(ev), Applied::Duplicate);
    }
    let mut sink = VecSink::default();
    let st = state(&mut e, &mut sink);
    assert_eq!(st.len(), 1);
    let f = &st[0].1;
    assert_eq!(
        (f.start, f.last_seen, f.end_logged),
        (1000, 1500, Some((1500, EndKind::Stop)))
    );
}

#[test]
fn reordered_input_gives_the_same_facts() {
    let evs = vec![
        session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"),
        session(SessionOp::Interim, 1300, "u1", "s1", "192.0.2.1"),
        session(SessionOp::Stop, 1500, "u1", "s1", "192.0.2.1"),
        session(SessionOp::Start, 1600, "u2", "s2", "192.0.2.1"),
        session(SessionOp::Start, 1700, "u3", "s3", "192.0.2.2"),
    ];
    let mut a = Engine::new(params());
    for ev in &evs {
        a.apply(ev);
    }
    let mut b = Engine::new(params());
    for ev in evs.iter().rev() {
        b.apply(ev);
    }
    let (mut sa, mut sb) = (VecSink::default(), VecSink::default());
    assert_eq!(state(&mut a, &mut sa), state(&mut b, &mut sb));
}

#[test]
fn lost_stop_is_superseded_by_the_next_holder() {
    let mut e = Engine::new(params());
    e.apply(&session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"));
    e.apply(&session(SessionOp::Interim, 1300, "u1", "s1", "192.0.2.1"));
    e.apply(&session(SessionOp::Start, 2000, "u2", "s2", "192.0.2.1"));
    let mut sink = VecSink::default();
    let st = state(&mut e, &mut sink);
    assert_eq!(st[0].1.superseded, Some(2000));
    assert_eq!(st[1].1.superseded, None);
}

#[test]
fn nas_reboot_closes_open_sessions_of_that_nas_even_when_it_arrives_first() {
    let mut e = Engine::new(params());
    e.apply(&Event::NasReboot {
        time: 5000,
        nas: "bng1".into(),
        source: "radius".into(),
        class: Class::Security,
    });
    e.apply(&session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"));
    let mut sink = VecSink::default();
    assert_eq!(state(&mut e, &mut sink)[0].1.reboot, Some(5000));
}

#[test]
fn final_bindings_are_copied_into_every_day_they_span() {
    let mut e = Engine::new(params());
    let day = 86_400;
    e.apply(&session(
        SessionOp::Start,
        day - 100,
        "u1",
        "s1",
        "192.0.2.1",
    ));
    e.apply(&session(
        SessionOp::Stop,
        2 * day + 100,
        "u1",
        "s1",
        "192.0.2.1",
    ));
    // Advance the watermark past the end plus the window.
    e.apply(&session(SessionOp::Start, 3 * day, "u9", "s9", "192.0.2.9"));
    let mut sink = VecSink::default();
    assert_eq!(e.flush(&mut sink, 0), 1);
    let days: Vec<i64> = sink.copies.keys().map(|c| c.0).collect();
    assert_eq!(days, vec![0, 1, 2]);
    assert_eq!(sink.live.len(), 1, "only the newest session is still live");
    // A retention floor skips expired days.
    let mut e = Engine::new(params());
    e.apply(&session(
        SessionOp::Start,
        day - 100,
        "u1",
        "s1",
        "192.0.2.1",
    ));
    e.apply(&session(
        SessionOp::Stop,
        2 * day + 100,
        "u1",
        "s1",
        "192.0.2.1",
    ));
    e.apply(&session(SessionOp::Start, 3 * day, "u9", "s9", "192.0.2.9"));
    let mut sink = VecSink::default();
    e.flush(&mut sink, day);
    let days: Vec<i64> = sink.copies.keys().map(|c| c.0).collect();
    assert_eq!(days, vec![1, 2]);
}

#[test]
fn restore_from_live_records_resumes_the_same_state() {
    let mut e = Engine::new(params());
    e.apply(&session(SessionOp::Start, 1000, "u1", "s1", "192.0.2.1"));
    let mut sink = VecSink::default();
    e.flush(&mut sink, 0);
    let mut r = Engine::new(params());
    for (k, v) in &sink.live {
        assert!(r.restore_live(k, v));
    }
    r.restore_watermark(1000);
    // The stop merges into the restored binding rather than starting a new one.
    assert_eq!(
        r.apply(&session(SessionOp::Stop, 1500, "u1", "s1", "192.0.2.1")),
        Applied::Changed
    );
    r.flush(&mut sink, 0);
    assert_eq!(sink.live.len(), 1);
    let (k, v) = sink.live.iter().next().unwrap();
    let key = BindingKey::decode(k).unwrap();
    let (f, s) = decode_live(key.start, v).unwrap();
    assert_eq!(
        (f.end_logged, s.as_str()),
        (Some((1500, EndKind::Stop)), "s1")
    );
}

#[test]
fn an_end_within_tolerance_of_two_starts_belongs_to_the_earlier_binding() {
    let lease = |op, t, exp: Option<i64>| Event::Lease {
        admin: false,
        ends_logged: false,
        op,
        time: t,
        subscriber: "c".into(),
        target: Target::host("192.0.2.7".parse().unwrap()),
        expires: exp,
        source: "dhcp".into(),
        class: Class::Security,
    };
    let mut e = Engine::new(params());
    e.apply(&lease(LeaseOp::Assign, 500, Some(4000)));
    e.apply(&lease(LeaseOp::Assign, 1001, Some(4600)));
    e.apply(&lease(LeaseOp::Release, 1000, None));
    let mut sink = VecSink::default();
    let st = state(&mut e, &mut sink);
    assert_eq!(st.len(), 2);
    assert_eq!(st[0].1.start, 500);
    assert_eq!(st[0].1.end_logged, Some((1000, EndKind::Release)));
    assert_eq!(st[1].1.start, 1001);
    assert_eq!(st[1].1.end_logged, None);
}

fn churn(seed: u64, n: usize) -> Vec<Event> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut evs = Vec::new();
    for i in 0..n {
        let start = rng.gen_range(0..50_000i64);
        let dur = rng.gen_range(1..9_000i64);
        let addr = format!("192.0.2.{}", rng.gen_range(0..4));
        let sub = format!("u{}", rng.gen_range(0..3));
        let sess = format!("s{i}");
        evs.push((start, session(SessionOp::Start, start, &sub, &sess, &addr)));
        if rng.gen_bool(0.5) {
            evs.push((
                start + dur / 2,
                session(SessionOp::Interim, start + dur / 2, &sub, &sess, &addr),
            ));
        }
        if rng.gen_bool(0.8) {
            evs.push((
                start + dur,
                session(SessionOp::Stop, start + dur, &sub, &sess, &addr),
            ));
        }
        if rng.gen_bool(0.05) {
            let t = start + rng.gen_range(0..dur);
            evs.push((
                t,
                Event::NasReboot {
                    time: t,
                    nas: "bng1".into(),
                    source: "radius".into(),
                    class: Class::Security,
                },
            ));
        }
    }
    evs.sort_by_key(|e| e.0);
    evs.into_iter().map(|e| e.1).collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, .. Default::default() })]
    /// A crash-resumed import flushes at other points than a clean one; the stored result
    /// must not depend on where the flushes fall.
    #[test]
    fn flush_points_do_not_change_the_stored_result(seed in 0u64..1_000_000, every_a in 1usize..40, every_b in 1usize..40) {
        let evs = churn(seed, 40);
        let run = |every: usize| {
            let mut e = Engine::new(params());
            let mut sink = VecSink::default();
            for (i, ev) in evs.iter().enumerate() {
                e.apply(ev);
                if i % every == 0 {
                    e.flush(&mut sink, 0);
                }
            }
            e.flush(&mut sink, 0);
            sink
        };
        proptest::prop_assert_eq!(run(every_a), run(every_b));
    }
}

fn on_nas(mut ev: Event, nas_name: &str) -> Event {
    if let Event::Session { nas, .. } = &mut ev {
        *nas = nas_name.into();
    }
    ev
}

#[test]
fn one_nas_backlog_after_another_nas_newer_logs_still_merges() {
    // bng1's three days are imported first; then bng2's first day, one batch at a time.
    // bng2's session must stay one binding across the flushes, not be finalised by bng1's
    // clock and split at every later Interim.
    let day = 86_400;
    let mut e = Engine::new(params());
    let mut sink = VecSink::default();
    for h in 0..72 {
        e.apply(&session(
            SessionOp::Interim,
            h * 3600,
            "u1",
            "s1",
            "192.0.2.1",
        ));
    }
    e.flush(&mut sink, 0);
    for h in 0..10 {
        let op = if h == 0 {
            SessionOp::Start
        } else {
            SessionOp::Interim
        };
        e.apply(&on_nas(
            session(op, 1000 + h * 3600, "u2", "s2", "192.0.2.2"),
            "bng2",
        ));
        e.flush(&mut sink, 0);
    }
    e.apply(&on_nas(
        session(SessionOp::Stop, 1000 + 10 * 3600, "u2", "s2", "192.0.2.2"),
        "bng2",
    ));
    let all = state(&mut e, &mut sink);
    let of_u2: Vec<_> = all.iter().filter(|(_, f)| f.subject == "u2").collect();
    assert_eq!(of_u2.len(), 1, "{of_u2:?}");
    assert_eq!(of_u2[0].1.start, 1000);
    assert_eq!(of_u2[0].1.end_logged.map(|e| e.0), Some(1000 + 10 * 3600));
    assert!(e.watermark() >= 2 * day);
}

#[test]
fn a_silent_clock_is_finalised_by_the_overall_one_after_the_lag() {
    let mut e = Engine::new(params());
    let mut sink = VecSink::default();
    // A closed session on a NAS that then falls silent (an open one is never finalised
    // before another holder's start: its end is unknown).
    e.apply(&on_nas(
        session(SessionOp::Start, 1000, "u2", "s2", "192.0.2.2"),
        "bng2",
    ));
    e.apply(&on_nas(
        session(SessionOp::Stop, 1100, "u2", "s2", "192.0.2.2"),
        "bng2",
    ));
    e.apply(&session(
        SessionOp::Interim,
        1000 + MAX_CLOCK_LAG,
        "u1",
        "s1",
        "192.0.2.1",
    ));
    e.flush(&mut sink, 0);
    assert_eq!(
        e.live_count(),
        2,
        "within the lag bng2's session stays live"
    );
    e.apply(&session(
        SessionOp::Interim,
        1000 + MAX_CLOCK_LAG + 3 * 86_400,
        "u1",
        "s1",
        "192.0.2.1",
    ));
    e.flush(&mut sink, 0);
    assert_eq!(
        e.live_count(),
        1,
        "bng2's session is finalised by the overall clock"
    );
}

#[test]
fn clock_marks_survive_a_restart() {
    let mut e = Engine::new(params());
    let mut sink = VecSink::default();
    e.apply(&on_nas(
        session(SessionOp::Start, 5000, "u2", "s2", "192.0.2.2"),
        "bng2",
    ));
    e.apply(&session(SessionOp::Start, 90_000, "u1", "s1", "192.0.2.1"));
    e.flush(&mut sink, 0);
    let mut r = Engine::new(params());
    for (k, v) in &sink.meta {
        if k.first() == Some(&meta::CLOCK_MARK) {
            let (src, nas) = std::str::from_utf8(&k[1..])
                .unwrap()
                .split_once('\0')
                .unwrap();
            r.restore_clock_mark(
                src.into(),
                nas.into(),
                i64::from_be_bytes(v[..].try_into().unwrap()),
            );
        }
    }
    r.restore_watermark(90_000);
    assert_eq!(r.mark(clock_of("radius", "bng2")), 5000);
    assert_eq!(r.mark(clock_of("radius", "bng1")), 90_000);
}
