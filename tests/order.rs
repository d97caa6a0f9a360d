//! Out-of-order delivery (within the reorder window) and exact duplicates must give the same
//! answers as ordered, unique input: checked by comparing lookups on a grid of times.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use tdr::model::fmt_time;
use tdr::store::Store;
use tdr_testkit::ev::*;
use tdr_testkit::store::*;

const BASE: &str = "2026-11-20T00:00:00Z";
const ADDRS: [&str; 3] = ["192.0.2.1", "192.0.2.2", "2001:db8:1::/56"];

#[derive(Debug, Clone)]
struct Sess {
    addr: usize,
    sub: usize,
    start: i64,
    dur: i64,
    interims: i64,
    lost_stop: bool,
    lease: bool,
}

fn sess() -> impl Strategy<Value = Sess> {
    (
        0..3usize,
        0..4usize,
        0..20_000i64,
        1..5_000i64,
        0..4i64,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(addr, sub, start, dur, interims, lost_stop, lease)| Sess {
            addr,
            sub,
            start,
            dur,
            interims,
            lost_stop,
            lease: lease && addr != 2,
        })
}

fn events(sessions: &[Sess]) -> Vec<(i64, String)> {
    let base = t(BASE);
    let mut out = Vec::new();
    // A DHCP server never gives one client two leases of one address at once; with such
    // overlapping leases a release's delivery order decides which of them it ends (a known
    // limitation, see the issue notes), so they are not generated.
    let mut leases: Vec<(usize, usize, i64, i64)> = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        if s.lease {
            let (a, b) = (s.start, s.start + s.dur + 600);
            if leases
                .iter()
                .any(|&(addr, sub, x, y)| addr == s.addr && sub == s.sub && a <= y && x <= b)
            {
                continue;
            }
            leases.push((s.addr, s.sub, a, b));
        }
        let sub = format!("sub{}", s.sub);
        let sid = format!("s{i}");
        let addr = ADDRS[s.addr];
        let at = |off: i64| fmt_time(base + s.start + off);
        if s.lease {
            let exp = at(s.dur + 600);
            out.push((s.start, lease("assign", &at(0), &sub, addr, Some(&exp))));
            for k in 1..=s.interims {
                let off = s.dur * k / (s.interims + 1);
                out.push((
                    s.start + off,
                    lease("renew", &at(off), &sub, addr, Some(&exp)),
                ));
            }
            if !s.lost_stop {
                out.push((
                    s.start + s.dur,
                    lease("release", &at(s.dur), &sub, addr, None),
                ));
            }
        } else {
            out.push((s.start, session("start", &at(0), &sub, &sid, addr)));
            for k in 1..=s.interims {
                let off = s.dur * k / (s.interims + 1);
                out.push((
                    s.start + off,
                    session("interim", &at(off), &sub, &sid, addr),
                ));
            }
            if !s.lost_stop {
                out.push((
                    s.start + s.dur,
                    session("stop", &at(s.dur), &sub, &sid, addr),
                ));
            }
        }
    }
    out.sort_by_key(|e| e.0);
    out
}

/// Every address at every 97 s over the whole range, rendered as comparable strings.
fn answers(store: &Store, cfg: &tdr::config::Config) -> Vec<String> {
    let base = t(BASE);
    let now = t("2026-11-21T12:00:00Z");
    let mut out = Vec::new();
    for addr in ["192.0.2.1", "192.0.2.2", "2001:db8:1:0:1::1"] {
        for k in 0..(32_000 / 97) {
            let at = fmt_time(base + k * 97);
            let a = lookup(store, cfg, addr, None, &at, now);
            out.push(format!(
                "{addr} {at} {}",
                serde_json::to_string(&a).unwrap()
            ));
        }
    }
    out
}

fn run(lines: &[String]) -> (tempfile::TempDir, Vec<String>) {
    // Move the watermark far ahead so everything is final.
    let (dir, cfg, store) = store_with(&[lines, &[tick("2026-11-21T06:00:00Z")]].concat());
    let a = answers(&store, &cfg);
    (dir, a)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn shuffled_and_duplicated_input_gives_the_same_answers(
        sessions in proptest::collection::vec(sess(), 1..12),
        seed in any::<u64>(),
    ) {
        let ordered = events(&sessions);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        // Shuffle within 300 s (the window is 600 s) and duplicate about one event in five.
        let mut jittered: Vec<(i64, String)> = Vec::new();
        for (t, l) in &ordered {
            jittered.push((t + rng.gen_range(0..300), l.clone()));
            if rng.gen_bool(0.2) {
                jittered.push((t + rng.gen_range(0..300), l.clone()));
            }
        }
        jittered.sort_by_key(|e| e.0);
        let a: Vec<String> = ordered.into_iter().map(|e| e.1).collect();
        let b: Vec<String> = jittered.into_iter().map(|e| e.1).collect();
        let (_da, ra) = run(&a);
        let (_db, rb) = run(&b);
        for (x, y) in ra.iter().zip(rb.iter()) {
            prop_assert_eq!(x, y);
        }
    }
}
